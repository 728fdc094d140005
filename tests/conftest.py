"""Shared fixtures (the environment is set in the root conftest.py).

Nothing here needs more than the library and pytest: the book's tests are in ``tests/book/``
(with their fixtures, e.g. the book build shared by a session, in ``tests/book/conftest.py``).
Where the book's tool chain is not installed at all (``pip install kerascool-lib pytest``),
that folder is skipped as a whole, saying why; where a part of it is missing (``make
colab-check``), each of its modules skips on what it needs.
"""

import importlib.util
import pathlib
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Screenshots and other files a person may want to look at after the run (git-ignored).
ARTIFACTS = ROOT / "_build" / "test-artifacts"
#: The book's tests.
BOOK_TESTS = ROOT / "tests" / "book"
#: conftest.py files hold no doctests; collecting them as modules would import two files
#: named conftest.py as one module.
collect_ignore = ["conftest.py"]


class _WithoutTheBookToolChain(pytest.Directory):
    """``tests/book/`` where the book's tool chain is absent: one skip, with the reason."""

    def collect(self):
        pytest.skip("the book's tool chain is not installed (PyYAML, nbformat, Sphinx, Jupyter Book, ...), "
                    "so the book's tests do not run: pip install -e '.[test]'")


def pytest_collect_directory(path, parent):
    if path == BOOK_TESTS and importlib.util.find_spec("yaml") is None:  # book.toc reads _toc.yml with it
        return _WithoutTheBookToolChain.from_parent(parent, path=path)
    return None


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def artifacts() -> pathlib.Path:
    """Where a test leaves files for a person to look at (listed at the end of the run)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def pytest_sessionstart(session):
    session.config._kc_started = time.time()


def pytest_terminal_summary(terminalreporter, config):
    """List the artifacts this run wrote (the browser tests' screenshots)."""
    started = getattr(config, "_kc_started", None)
    if started is None or hasattr(config, "workerinput") or not ARTIFACTS.is_dir():
        return
    fresh = sorted(p for p in ARTIFACTS.rglob("*") if p.is_file() and p.stat().st_mtime >= started)
    if fresh:
        terminalreporter.section("test artifacts")
        for path in fresh:
            terminalreporter.write_line(str(path))
