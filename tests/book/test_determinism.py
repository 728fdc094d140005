"""Determinism on CPU: the same seed gives the same numbers, end to end through a chapter.

(The shared CNN recipe is checked bit for bit in test_models.py.)
"""

import re

import pytest

papermill = pytest.importorskip("papermill", reason="papermill is not installed: pip install -e '.[test]'")

from nbfiles import ROOT, read  # noqa: E402

CHAPTER = ROOT / "chapters" / "layers" / "lambda_training_phase.ipynb"
TIMING = re.compile(r"\d+m?s/step|\b\d+s\b|\b\d+(?:\.\d+)? s\b")


def _numbers(path):
    """Each cell's whole stdout, timings masked (the kernel may split a stream differently)."""
    cells = []
    for cell in read(path).cells:
        text = "".join(o["text"] for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")
        cells.append(TIMING.sub("<time>", text).splitlines())
    return cells


def test_a_chapter_gives_the_same_metrics_twice_with_the_same_seed(tmp_path):
    runs = []
    for i in range(2):
        out = tmp_path / f"run{i}.ipynb"
        papermill.execute_notebook(str(CHAPTER), str(out), parameters={"profile": "smoke", "seed": 0},
                                   kernel_name="python3", cwd=str(CHAPTER.parent), progress_bar=False)
        runs.append(_numbers(out))
    assert any("test acc" in line or "test_accuracy" in line for cell in runs[0] for line in cell), "the chapter reports its metrics"
    assert runs[0] == runs[1]
