"""The wheel readers install (``pip install kerascool-lib``) is the library and nothing else:
no module of the book's machinery (book/, benchmarks/), no requirement on the book's tool
chain, and ``import kerascool_lib`` needs nothing beyond the declared dependencies.

The wheel is built from a copy of the working tree (nothing is written into the repository).
Instead of a fresh virtual environment (minutes: TensorFlow alone is hundreds of megabytes),
the import check runs the wheel's own files in a Python where every module of the book's tool
chain is blocked, then maps each module the import loaded to its distribution and checks that
it is a declared dependency or one of theirs: the same verdict, in seconds.
"""

import email.parser
import importlib.metadata
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from book import execute

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: The book's tool chain (and the book's own code): the library must never need any of it.
#: (Anything else it imports must come from its declared dependencies: checked by owner.)
BOOK_MODULES = ("book", "benchmarks", "race", "race_summary", "backends", "levers", "ema_cost", "sphinx", "docutils", "jupyter_book", "myst_nb",
                "myst_parser", "sphinx_book_theme", "yaml", "nbformat", "nbclient", "papermill", "nbval",
                "playwright", "jupyter_cache")
BOOK_DISTRIBUTIONS = {"sphinx", "jupyter-book", "myst-nb", "myst-parser", "playwright", "nbval", "papermill",
                      "pyyaml", "nbformat", "nbclient", "pytest", "ipykernel", "sphinxcontrib-bibtex"}


def _setuptools_is_new_enough() -> bool:
    """pyproject.toml's [build-system] asks for setuptools>=77 (its SPDX licence field)."""
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return False
    return major >= 77


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "_build", "node_modules", "*.egg-info", "__pycache__", "build", "dist",
        ".ipynb_checkpoints", ".pytest_cache"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(base / "dist"), str(source)]
    if _setuptools_is_new_enough():  # offline: build with this environment's setuptools
        command[4:4] = ["--no-build-isolation", "--no-index"]
    # else pip fetches [build-system]'s setuptools into an isolated environment (or its cache)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=base)
    assert result.returncode == 0, f"the wheel did not build:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    (path,) = (base / "dist").glob("kerascool_lib-*.whl")
    return path


def _metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(z.read(name).decode())


def test_the_wheel_holds_the_library_modules_only(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    modules = sorted(n for n in names if not re.match(r"kerascool_lib-[^/]+\.dist-info/", n))
    assert all(n.startswith("kerascool_lib/") for n in modules), modules
    assert modules == sorted(f"kerascool_lib/{p.name}" for p in (ROOT / "kerascool_lib").glob("*.py"))
    for gone in ("_sphinx", "_stats", "_race", "_book"):
        assert f"kerascool_lib/{gone}.py" not in modules


def test_the_wheel_requires_nothing_of_the_book(wheel):
    """What `pip install kerascool-lib` installs: the library's own dependencies. (The book's
    environments are extras, ``[book]``, ``[test]``, ``[colab]``: asked for by name only.)"""
    requirements = [Requirement(r) for r in _metadata(wheel).get_all("Requires-Dist")]
    unconditional = {canonicalize_name(r.name) for r in requirements if not r.marker or "extra" not in str(r.marker)}
    assert {"keras", "numpy"} <= unconditional
    assert "tensorflow" not in unconditional and "jax" not in unconditional  # a backend is an extra
    extras = {str(r.marker).split('"')[1] for r in requirements if r.marker and "extra" in str(r.marker)}
    assert {"tensorflow", "jax"} <= extras
    assert not BOOK_DISTRIBUTIONS & unconditional, BOOK_DISTRIBUTIONS & unconditional


def _dependency_closure(requirements, extra: str = "") -> set[str]:
    """The distributions the requirements pull in, as installed here (markers evaluated, with
    the one ``extra`` asked for, e.g. ``kerascool-lib[tensorflow]``; none for ``""``)."""
    environment = default_environment()
    seen, todo = set(), [r for r in requirements
                         if not r.marker or any(r.marker.evaluate({**environment, "extra": e}) for e in {"", extra})]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in dist.requires or []:
            sub = Requirement(text)
            if not sub.marker or sub.marker.evaluate({**environment, "extra": ""}):
                todo.append(sub)
    return seen


IMPORT_CHECK = textwrap.dedent("""\
    import importlib.abc, json, sys

    BLOCKED, REPORT = set(sys.argv[1].split(",")), sys.argv[2]


    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"{name} is blocked: not a dependency of kerascool-lib", name=name)


    sys.meta_path.insert(0, Blocked())
    # the declared dependencies first, with whatever they import themselves when installed (e.g.
    # TensorFlow imports SciPy and JAX if present): only what kerascool_lib adds is checked
    import ipywidgets, keras, matplotlib.pyplot, numpy
    before = set(sys.modules)
    import kerascool_lib

    for name in kerascool_lib.__all__:
        getattr(kerascool_lib, name)
    loaded = {name: getattr(sys.modules[name], "__file__", None) for name in set(sys.modules) - before}
    with open(REPORT, "w") as f:
        json.dump({"file": kerascool_lib.__file__, "loaded": {k: v for k, v in loaded.items() if v}}, f)
""")


def _owners() -> dict[str, str]:
    """Every installed file (its normalized absolute path), mapped to the distribution that
    installed it."""
    owners = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for file in dist.files or []:
            owners[os.path.normpath(os.path.abspath(dist.locate_file(file)))] = name
    return owners


def test_importing_the_wheel_needs_only_its_declared_dependencies(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-c", IMPORT_CHECK, ",".join(BOOK_MODULES), str(report)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "", "importing kerascool_lib printed something"
    noise = [line for line in result.stderr.splitlines() if not execute.TF_LOG_LINE.match(line)]
    assert noise == [], "importing kerascool_lib wrote to stderr (beyond TensorFlow's start-up log)"
    found = json.loads(report.read_text())
    assert pathlib.Path(found["file"]).is_relative_to(site), "the wheel's files were imported, not the checkout's"
    # Keras here runs on TensorFlow: the reader installed kerascool-lib[tensorflow]
    allowed = _dependency_closure([Requirement(r) for r in _metadata(wheel).get_all("Requires-Dist")], "tensorflow")
    paths = sysconfig.get_paths()
    inside = [os.path.normpath(p) + os.sep for p in (site, paths["stdlib"], paths["platstdlib"])]
    # in a virtual environment platstdlib is the environment's lib/pythonX.Y, which holds site-packages
    installed = tuple(os.path.normpath(paths[k]) + os.sep for k in ("purelib", "platlib"))
    owners = _owners()
    outside = {}
    for module, file in found["loaded"].items():
        path = os.path.normpath(os.path.abspath(file))
        if path.startswith(tuple(inside)) and not path.startswith(installed):  # the wheel's own files, or the standard library
            continue
        owner = owners.get(path)
        if owner not in allowed:
            outside[module] = owner or path
    assert outside == {}, f"modules imported from outside the declared dependencies: {outside}"


JAX_READER = textwrap.dedent("""\
    import importlib.abc, sys

    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "tensorflow":
                raise ModuleNotFoundError(f"{name} is blocked: a JAX reader need not install it", name=name)

    sys.meta_path.insert(0, Blocked())
    import keras
    import numpy as np

    import kerascool_lib as kc

    assert keras.backend.backend() == "jax"
    run = kc.setup("smoke", verbose=False)
    splits = kc.data.mnist_splits("flat", train_size=256, val_size=64, test_size=64)
    model = kc.models.mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=run.jit_compile)
    model.fit(splits.x_train, splits.y_train, batch_size=64, epochs=1, verbose=0,
              callbacks=[kc.ema.ExponentialMovingAverage(decay=0.9)])
    try:
        kc.data.make_dataset(splits.x_train, splits.y_train)
    except ImportError as err:
        assert "TensorFlow" in str(err), err
    else:
        raise AssertionError("make_dataset built a tf.data pipeline without TensorFlow")
    assert "tensorflow" not in sys.modules
    print("jax reader ok", run.jit_compile, run.versions.get("tensorflow"))
""")


def test_a_jax_reader_needs_no_tensorflow(tmp_path):
    """A reader on JAX installs ``kerascool-lib[jax]``: no TensorFlow. With TensorFlow blocked,
    the library imports, sets up a run, loads MNIST, trains with a library callback, and its one
    TensorFlow-only helper says what it needs."""
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", JAX_READER], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "jax reader ok True None", result.stdout
