"""book.execute (`make execute`): executing a chapter in place stores clean outputs, or changes nothing."""

import pathlib
import subprocess
import sys

import pytest

REASON = "the book's tool chain is not installed: pip install -e '.[book]'"
nbformat = pytest.importorskip("nbformat", reason=REASON)
pytest.importorskip("nbclient", reason=REASON)
pytest.importorskip("ipykernel", reason=REASON)

from book import execute  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _notebook(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_strip_runtime_logs_keeps_real_stderr():
    nb = _notebook("x")
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1795455347.633749    3637 port.cc:153] oneDNN custom operations are on.\n"
            "E0000 00:00:1795455349.452570    3637 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
            "2026-12-01 23:16:26.897496: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:31] Could not find cuda\n"
            "UserWarning: something a reader should see\n")),
        nbformat.v4.new_output("stream", name="stderr", text="I0000 00:00:1.5    1 a.cc:1] only noise\n"),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 00:00:1.5    1 a.cc:1] stdout is kept\n"),
    ]
    assert execute.strip_runtime_logs(nb) == 5
    assert [o.text for o in nb.cells[0].outputs] == [
        "UserWarning: something a reader should see\n", "I0000 00:00:1.5    1 a.cc:1] stdout is kept\n"]


def test_execute_in_place_stores_outputs_in_the_profile(tmp_path):
    path = tmp_path / "ok.ipynb"
    nbformat.write(_notebook("import os; print(os.environ['KERASCOOL_PROFILE'])"), path)
    path.chmod(0o644)
    execute.execute_in_place(path, profile="smoke", timeout=120)
    assert path.stat().st_mode & 0o777 == 0o644, "the notebook keeps its permissions"
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].outputs[0].text == "smoke\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.ipynb"], "no temporary file left"


def test_a_failing_run_leaves_the_notebook_untouched(tmp_path):
    path = tmp_path / "fails.ipynb"
    nbformat.write(_notebook("print('stored before')", "raise RuntimeError('boom')"), path)
    before = path.read_bytes()
    with pytest.raises(Exception, match="boom"):
        execute.execute_in_place(path, profile="smoke", timeout=120)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fails.ipynb"]


def test_refuses_a_notebook_with_papermills_injected_cell(tmp_path):
    nb = _notebook("profile = 'smoke'")
    nb.cells[0].metadata["tags"] = ["injected-parameters"]
    path = tmp_path / "injected.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="injected-parameters"):
        execute.execute_in_place(path)


def test_the_command_line_executes_each_notebook_given(tmp_path):
    paths = []
    for name in ("a", "b"):
        paths.append(tmp_path / f"{name}.ipynb")
        nbformat.write(_notebook(f"print('{name}', __import__('os').environ['KERASCOOL_PROFILE'])"), paths[-1])
    out = subprocess.run([sys.executable, "-m", "book.execute", "--profile", "smoke", "--timeout", "120", *map(str, paths)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "== executing" in out.stdout
    assert [nbformat.read(p, as_version=4).cells[0].outputs[0].text for p in paths] == ["a smoke\n", "b smoke\n"]
