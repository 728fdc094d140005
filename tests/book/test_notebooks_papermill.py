"""Every chapter runs under papermill with smoke parameters, into a temporary folder.

This is how a reader would parameterise a chapter. The test also proves the chapter is
idempotent: its checked cells (``# NBVAL_CHECK_OUTPUT`` or the ``nbval-check-output`` tag) print exactly what the stored run
printed, and running it changes nothing in the repository (no stray files, the notebook
itself untouched). The kernel runs on the test process's Keras backend (``KERAS_BACKEND``).
``make test`` runs every chapter once per backend: here in its JAX pass, under nbval in its
TensorFlow pass (``conftest.py``); a ``pytest`` run of its own runs both.
"""

import subprocess
import time

import pytest

papermill = pytest.importorskip("papermill", reason="papermill is not installed: pip install -e '.[test]'")

from nbfiles import CHAPTERS, IDS, ROOT, cell_text, is_checked, read  # noqa: E402

from book import stats, toc  # noqa: E402
from kerascool_lib.runtime import read_run_card  # noqa: E402


def _repo_state():
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored=no", "chapters", "data"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    return out.stdout if out.returncode == 0 else None


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_chapter_runs_with_smoke_parameters(path, tmp_path, request):
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
    card = read_run_card(nb)
    assert card["start"]["profile"] == card["end"]["profile"] == "smoke", card
    stored = {c.source: cell_text(c) for c in read(path).cells if is_checked(c)}
    fresh = {c.source: cell_text(c) for c in nb.cells if c.source in stored}
    assert stored and fresh == stored, "checked cells must print what the stored run printed"
    assert path.read_bytes() == source, "papermill must not touch the chapter"
    assert _repo_state() == before, "running a chapter left files behind in the repository"
    # for the book's Execution statistics page (git-ignored _build/exec-stats/), where the book
    # is built: book.pytest_plugin is loaded there (not in `make colab-check`)
    if request.config.pluginmanager.has_plugin("book.pytest_plugin"):
        import keras

        stats.record_smoke_run(ROOT, toc.docname(path, ROOT), seconds, keras.backend.backend())
