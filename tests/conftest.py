"""Shared fixtures (the environment is set in the root conftest.py)."""

import dataclasses
import fcntl
import json
import pathlib
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Screenshots and other files a person may want to look at after the run (git-ignored).
ARTIFACTS = ROOT / "_build" / "test-artifacts"


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@dataclasses.dataclass(frozen=True)
class BookBuild:
    """One ``jupyter-book build`` of the repository, shared by the tests of a session."""

    returncode: int
    output: str  # the tail of stdout and stderr
    html: pathlib.Path

    def check(self):
        assert self.returncode == 0, f"the book build failed:\n{self.output}"
        return self.html


def build_book(destination: pathlib.Path) -> BookBuild:
    """Build the book from the working tree into ``destination``, warnings as errors."""
    jb = pathlib.Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(destination),
         "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True, timeout=900,
    )
    return BookBuild(result.returncode, result.stdout[-6000:] + result.stderr[-6000:],
                     destination / "_build" / "html")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, request) -> BookBuild:
    """The book, built once per test session even across pytest-xdist workers: the first
    worker to ask builds it into the session's shared temporary folder, under a file lock,
    and the others wait for it and reuse it."""
    base = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # an xdist worker: share with the others
        base = base.parent
    folder = base / "book"
    with open(base / "book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = base / "book.json"
        if done.exists():
            state = json.loads(done.read_text())
            return BookBuild(state["returncode"], state["output"], pathlib.Path(state["html"]))
        build = build_book(folder)
        done.write_text(json.dumps({"returncode": build.returncode, "output": build.output,
                                    "html": str(build.html)}))
        return build


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
