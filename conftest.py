"""pytest at the repository root: notebooks and doctests run in the smoke profile.

Notebook kernels started by nbval and papermill inherit this environment.

Where the book's tool chain is installed (``pip install -e ".[test]"``), a run of the whole
suite (``make test``: no paths given, so pytest uses ``testpaths``) is recorded for the book's
*Execution statistics* page by :mod:`book.pytest_plugin`. With only the library and pytest
installed, nothing of the book is imported.
"""

import importlib.util
import os

import pytest

os.environ.setdefault("KERASCOOL_PROFILE", "smoke")

if importlib.util.find_spec("jupyter_book") is not None:
    pytest_plugins = ["book.pytest_plugin"]


#: What a pass on a Keras backend other than TensorFlow leaves to the TensorFlow pass, and why.
#: ``make test`` runs the whole suite once per backend (``KERAS_BACKEND``): the library's tests
#: and doctests and every chapter's papermill run (which also compares the checked cells with
#: the stored outputs) run on both; the rest does not depend on the backend.
TENSORFLOW_PASS_ONLY = {
    "nbval": "nbval: on this backend every chapter runs under papermill, which compares its checked cells too",
    "jax_subprocess": "its JAX checks run in a JAX subprocess in the TensorFlow pass; this pass runs the library's tests on JAX in-process",
    "tests/book": "a check of the book's files, build or pages, which do not depend on the backend",
    "benchmarks": "the benchmarks' harness tests do not depend on the backend",
    "tests/distributed": "it starts its own TensorFlow and JAX workers, whatever the pass's backend",
}
#: The one test of tests/book/ that runs on every backend.
EVERY_BACKEND = ("tests/book/test_notebooks_papermill.py",)


def _why_tensorflow_pass_only(item) -> str | None:
    path = item.path.relative_to(item.config.rootpath).as_posix()
    if path.endswith(".ipynb"):
        return TENSORFLOW_PASS_ONLY["nbval"]
    if item.get_closest_marker("jax_subprocess"):
        return TENSORFLOW_PASS_ONLY["jax_subprocess"]
    if path.startswith("tests/book/") and not path.startswith(EVERY_BACKEND):
        return TENSORFLOW_PASS_ONLY["tests/book"]
    if path.startswith("benchmarks/"):
        return TENSORFLOW_PASS_ONLY["benchmarks"]
    if path.startswith("tests/distributed/"):
        return TENSORFLOW_PASS_ONLY["tests/distributed"]
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "jax_subprocess: a test that runs JAX checks in a subprocess (TensorFlow pass only)")


def pytest_collection_modifyitems(config, items):
    """On a backend other than TensorFlow, skip what :data:`TENSORFLOW_PASS_ONLY` names, saying why."""
    import keras

    if keras.backend.backend() == "tensorflow":
        return
    for item in items:
        why = _why_tensorflow_pass_only(item)
        if why:
            item.add_marker(pytest.mark.skip(reason=f"TensorFlow pass only: {why}"))
