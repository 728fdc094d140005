"""The book's tests: its build, its extension and tools, its chapters as files and as runs.

They need the book's tool chain (``pip install -e ".[test]"``); each module skips, saying
what is missing, where a part of it is absent (e.g. ``make colab-check``, which has nbval and
papermill but no Jupyter Book). Nothing is imported here at module level but the standard
library and pytest, so that collecting this folder never fails.
"""

import dataclasses
import fcntl
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: No doctests here (collecting this file as a module would clash with tests/conftest.py).
collect_ignore = ["conftest.py"]


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
    and the others wait for it and reuse it. ``KERASCOOL_BOOK_HTML=_build/html`` reuses a
    build made before instead (``make book``), for quick runs of one test while editing it."""
    if os.environ.get("KERASCOOL_BOOK_HTML"):  # e.g. _build/html from `make book`, while working on a test
        return BookBuild(0, "", pathlib.Path(os.environ["KERASCOOL_BOOK_HTML"]).resolve())
    if importlib.util.find_spec("jupyter_book") is None:
        pytest.skip("Jupyter Book is not installed (the book's tool chain): pip install -e '.[test]'")
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
