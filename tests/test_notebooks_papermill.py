"""Every chapter runs under papermill with smoke parameters, into a temporary folder.

This is how a reader would parameterise a chapter. The test also proves the chapter is
idempotent: its checked cells (``# NBVAL_CHECK_OUTPUT``) print exactly what the stored run
printed, and running it changes nothing in the repository (no stray files, the notebook
itself untouched). With nbval's run of the same chapter, every chapter runs twice per test
session in its own folder.
"""

import subprocess
import time

import papermill
import pytest

from chapters import CHECK_MARK, ROOT, cell_text, chapter_paths, read

from kerascool_lib import _stats

CHAPTERS = chapter_paths()


def _repo_state():
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored=no", "chapters", "data"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    return out.stdout if out.returncode == 0 else None


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.relative_to(ROOT).as_posix() for p in CHAPTERS])
def test_chapter_runs_with_smoke_parameters(path, tmp_path):
    before, source = _repo_state(), path.read_bytes()
    out = tmp_path / path.name
    started = time.perf_counter()
    papermill.execute_notebook(
        str(path), str(out), parameters={"profile": "smoke", "seed": 0},
        kernel_name="python3", cwd=str(path.parent), progress_bar=False,
    )
    seconds = time.perf_counter() - started
    nb = read(out)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "profile = \"smoke\"" in injected[0].source
    footer = cell_text(nb.cells[-1])
    assert "profile     smoke" in footer, footer
    stored = {c.source: cell_text(c) for c in read(path).cells if c.cell_type == "code" and CHECK_MARK.search(c.source)}
    fresh = {c.source: cell_text(c) for c in nb.cells if c.source in stored}
    assert stored and fresh == stored, "checked cells must print what the stored run printed"
    assert path.read_bytes() == source, "papermill must not touch the chapter"
    assert _repo_state() == before, "running a chapter left files behind in the repository"
    # for the book's Execution statistics page (git-ignored _build/exec-stats/)
    _stats.record_smoke_run(ROOT, path.relative_to(ROOT).with_suffix("").as_posix(), seconds)
