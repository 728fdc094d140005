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
#: and doctests, and every chapter (under nbval on TensorFlow, under papermill elsewhere, both
#: comparing the checked cells with the stored outputs), run on both; the rest does not depend
#: on the backend.
TENSORFLOW_PASS_ONLY = {
    "nbval": "nbval: on this backend every chapter runs under papermill, which compares its checked cells too",
    "jax_subprocess": "it runs the library's checks on JAX in a subprocess; this pass runs them in-process (float64 ones need jax_enable_x64: the TensorFlow pass keeps those)",
    "tests/book": "a check of the book's files, build or pages, which do not depend on the backend",
    "benchmarks": "the benchmarks' harness tests do not depend on the backend",
    "tests/distributed": "it starts its own TensorFlow and JAX workers, whatever the pass's backend",
}
#: Every chapter under papermill: the one test of tests/book/ that runs on every backend.
PAPERMILL = "tests/book/test_notebooks_papermill.py"
#: What the TensorFlow pass of ``make test`` leaves to the JAX pass, and why: each chapter runs
#: once per backend, under nbval on TensorFlow and under papermill on JAX; both compare the
#: checked cells with the stored run. (A ``pytest`` run on its own, outside ``make test``, runs
#: both on TensorFlow.)
LEFT_TO_THE_JAX_PASS = {
    PAPERMILL: (
        "papermill runs every chapter in the JAX pass of `make test`; in this pass nbval runs it, "
        "checked cells included"
    ),
    # tests that repeat the library's checks on JAX in a subprocess, which the JAX pass runs
    # in-process; those marked ``jax_subprocess(float64=True)`` stay: they check float64 on JAX,
    # which needs ``jax_enable_x64`` (off in the JAX pass)
    "jax_subprocess": "the JAX pass of `make test` runs these checks in-process on JAX",
}


def _path(item) -> str:
    return item.path.relative_to(item.config.rootpath).as_posix()


def _left_to_the_jax_pass(item) -> str | None:
    path = _path(item)
    if path in LEFT_TO_THE_JAX_PASS:
        return LEFT_TO_THE_JAX_PASS[path]
    marker = item.get_closest_marker("jax_subprocess")
    if marker and not marker.kwargs.get("float64"):
        return LEFT_TO_THE_JAX_PASS["jax_subprocess"]
    return None


def _why_tensorflow_pass_only(item) -> str | None:
    path = _path(item)
    if path.endswith(".ipynb"):
        return TENSORFLOW_PASS_ONLY["nbval"]
    if item.get_closest_marker("jax_subprocess"):
        return TENSORFLOW_PASS_ONLY["jax_subprocess"]
    if path.startswith("tests/book/") and path != PAPERMILL:
        return TENSORFLOW_PASS_ONLY["tests/book"]
    if path.startswith("benchmarks/"):
        return TENSORFLOW_PASS_ONLY["benchmarks"]
    if path.startswith("tests/distributed/"):
        return TENSORFLOW_PASS_ONLY["tests/distributed"]
    return None


if importlib.util.find_spec("xdist") is not None:  # pytest refuses a hook of a plugin it lacks

    def pytest_xdist_make_scheduler(config, log):
        """``--dist loadfile``, except that the papermill tests go to workers one by one: each runs
        a whole chapter, and kept together they would run one after another on one worker."""
        if config.getvalue("dist") != "loadfile":
            return None
        from xdist.scheduler import LoadFileScheduling

        class ChaptersOneByOne(LoadFileScheduling):
            def _split_scope(self, nodeid):
                return nodeid if nodeid.startswith(f"{PAPERMILL}::") else super()._split_scope(nodeid)

        return ChaptersOneByOne(config, log)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "jax_subprocess(float64=False): a test that runs the library's checks on JAX in a subprocess: TensorFlow "
        "pass only, and left to the JAX pass by `make test` unless it checks float64 (float64=True)",
    )


def pytest_collection_modifyitems(config, items):
    """On a backend other than TensorFlow, skip what :data:`TENSORFLOW_PASS_ONLY` names, saying why."""
    import keras

    if keras.backend.backend() == "tensorflow":
        if os.environ.get("KERASCOOL_TEST_COMMAND"):  # `make test`: a JAX pass follows
            for item in items:
                why = _left_to_the_jax_pass(item)
                if why:
                    item.add_marker(pytest.mark.skip(reason=f"JAX pass: {why}"))
        return
    for item in items:
        why = _why_tensorflow_pass_only(item)
        if why:
            item.add_marker(pytest.mark.skip(reason=f"TensorFlow pass only: {why}"))
