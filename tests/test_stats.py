"""The book's execution statistics: every chapter's stored run card, the smoke runs recorded
by the test command, the committed snapshot, and the page generated from them."""

import json
import os
import time

import pytest

from chapters import ROOT, chapter_paths, read

from kerascool_lib import _stats

CHAPTERS = chapter_paths()
DOCNAMES = [p.relative_to(ROOT).with_suffix("").as_posix() for p in CHAPTERS]


def _out(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


HEADER = (
    "── run card ─────\ndevice      CPU: x86_64 (2 cores)\n"
    "backend     tensorflow · Python 3.11.7 · TensorFlow 2.21.0 · Keras 3.15.1\n"
    "profile     cpu — stored\nseed        0 · precision float32 · jit_compile False\n"
)
FOOTER = (
    "── run card (end) ─────\ndevice      CPU: x86_64 (2 cores)\n"
    "profile     cpu · wall time 12.5 s\nresult      test_accuracy 0.9912 · ece 0.0132\n"
)


def _nb(*texts, stamp="2026-11-23T18:23:58.158538Z"):
    cells = [{"cell_type": "code", "metadata": {"execution": {"iopub.execute_input": stamp}}, "outputs": [_out(t)]} for t in texts]
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# T"}] + cells}


@pytest.mark.parametrize("path", CHAPTERS, ids=DOCNAMES)
def test_every_chapter_has_statistics_of_its_stored_run(path):
    """The page needs, per chapter: the profile, the wall time and the headline metric."""
    record = _stats.run_record(read(path))
    assert record["profile"] == "cpu"
    assert record["wall_time_s"] > 0
    assert record["metrics"], "run.finish() printed a headline metric"
    assert all(float(v) == float(v) for v in record["metrics"].values())
    assert record["executed"] and record["executed"].startswith("20")
    assert "TensorFlow" in record["versions"] and "Keras" in record["versions"]


def test_the_snapshot_has_a_smoke_time_for_every_chapter():
    """Adding a chapter means saving a new snapshot from a full test run (``make stats``)."""
    snapshot = _stats.snapshot_test_run(ROOT)
    assert snapshot is not None, f"{_stats.SNAPSHOT} is missing: run `make test`, then `make stats`"
    missing = [d for d in DOCNAMES if d not in snapshot["chapters"]]
    assert missing == [], "chapters without a recorded smoke run: run `make test`, then `make stats`"


def test_run_record_reads_header_footer_metrics_and_date():
    record = _stats.run_record(_nb(HEADER, "training...\n", FOOTER))
    assert record == {
        "profile": "cpu",
        "device": "CPU: x86_64 (2 cores)",
        "versions": "tensorflow · Python 3.11.7 · TensorFlow 2.21.0 · Keras 3.15.1",
        "wall_time_s": 12.5,
        "metrics": {"test_accuracy": "0.9912", "ece": "0.0132"},
        "executed": "2026-11-23T18:23:58.158538Z",
    }


@pytest.mark.parametrize(
    "texts, message",
    [
        ((FOOTER,), "no run card header"),
        ((HEADER,), "no run card footer"),
        ((HEADER, FOOTER.replace("wall time 12.5 s", "wall time ?")), "footer is incomplete"),
    ],
    ids=["no header", "no footer", "no wall time"],
)
def test_run_record_names_what_is_missing(texts, message):
    with pytest.raises(ValueError, match=message):
        _stats.run_record(_nb(*texts))


def _full_run(root, failed=(), exitstatus=0, started=None):
    started = time.time() - 5 if started is None else started
    _stats.record_test_run(root, started, 61.0, tests=100, failed=list(failed), exitstatus=exitstatus)
    return started


def test_a_full_test_run_keeps_only_the_smoke_records_it_wrote(tmp_path):
    old = _stats.record_smoke_run(tmp_path, "chapters/a/old", 3.0)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    _full_run(tmp_path)
    _stats.record_smoke_run(tmp_path, "chapters/a/new", 12.34)
    run = _stats.local_test_run(tmp_path)
    assert run["chapters"] == {"chapters/a/new": 12.3}
    assert run["seconds"] == 61.0 and run["tests"] == 100 and run["failed"] == 0


def test_no_local_run_and_no_snapshot(tmp_path):
    assert _stats.local_test_run(tmp_path) is None
    assert _stats.latest_test_run(tmp_path) is None
    text = _stats.statistics_markdown(tmp_path, [("chapters/a/b", "B", _stats.run_record(_nb(HEADER, FOOTER)))])
    assert "no full test run is recorded yet" in text and "| not run | — |" in text


def test_save_snapshot_and_the_newest_run_wins(tmp_path):
    _full_run(tmp_path, started=time.time() - 100)
    _stats.record_smoke_run(tmp_path, "chapters/a/b", 20.0)
    path = _stats.save_snapshot(tmp_path, ["chapters/a/b"])
    assert path == tmp_path / _stats.SNAPSHOT
    assert json.loads(path.read_text())["chapters"] == {"chapters/a/b": 20.0}
    (tmp_path / _stats.LOCAL_DIR / "test-run.json").unlink()  # a fresh clone: only the snapshot
    assert "snapshot" in _stats.latest_test_run(tmp_path)["source"]
    _full_run(tmp_path)  # a newer local run
    assert "checkout" in _stats.latest_test_run(tmp_path)["source"]


@pytest.mark.parametrize(
    "failed, exitstatus, smoke, message",
    [
        (["tests/test_x.py::test_y"], 1, ["chapters/a/b"], r"failed: tests/test_x.py::test_y"),
        ([], 2, ["chapters/a/b"], r"exit status 2; failed: none reported"),
        ([], 0, [], r"no smoke time for: chapters/a/b"),
    ],
    ids=["a test failed", "interrupted", "a chapter did not run"],
)
def test_save_snapshot_refuses_an_incomplete_run(tmp_path, failed, exitstatus, smoke, message):
    _full_run(tmp_path, failed=failed, exitstatus=exitstatus)
    for chapter in smoke:
        _stats.record_smoke_run(tmp_path, chapter, 1.0)
    with pytest.raises(ValueError, match=message):
        _stats.save_snapshot(tmp_path, ["chapters/a/b"])
    assert not (tmp_path / _stats.SNAPSHOT).exists()


def test_save_snapshot_accepts_a_run_whose_only_failure_was_the_missing_snapshot(tmp_path):
    _full_run(tmp_path, failed=[_stats.SNAPSHOT_TEST], exitstatus=1)
    _stats.record_smoke_run(tmp_path, "chapters/a/b", 1.0)
    _stats.save_snapshot(tmp_path, ["chapters/a/b"])
    text = _stats.statistics_markdown(tmp_path, [("chapters/a/b", "B", _stats.run_record(_nb(HEADER, FOOTER)))])
    assert "all passed but the check that this snapshot exists" in text


def test_no_test_run_is_recorded_without_a_finished_run(tmp_path):
    with pytest.raises(ValueError, match="No full test run is recorded"):
        _stats.save_snapshot(tmp_path, [])


def test_the_page_flags_what_is_over_budget(tmp_path):
    _stats.record_test_run(tmp_path, time.time() - 5, 25 * 60.0, tests=10, failed=[], exitstatus=0)
    _stats.record_smoke_run(tmp_path, "chapters/a/fast", 44.9)
    _stats.record_smoke_run(tmp_path, "chapters/a/slow", 45.1)
    record = _stats.run_record(_nb(HEADER, FOOTER))
    text = _stats.statistics_markdown(tmp_path, [("chapters/a/fast", "Fast", record), ("chapters/a/slow", "Slow", record)])
    rows = [line for line in text.splitlines() if line.startswith("| {doc}")]
    assert rows[0].endswith("| 44.9 s | yes |") and rows[1].endswith("| 45.1 s | **no** |")
    assert "{doc}`Fast </chapters/a/fast>`" in rows[0]
    assert "test accuracy 0.9912, ece 0.0132" in rows[0]
    assert "25 min 00 s: **over** the 20 min 00 s budget" in text
    assert "1 chapter(s) over the 45 s smoke budget" in text
    assert "2 chapters, 25 s of wall time" in text


@pytest.mark.parametrize(
    "chapter, seconds, message",
    [
        ("chapters/a/b.ipynb", 1.0, r"`chapter` must be a docname .* Received: 'chapters/a/b.ipynb'"),
        ("a/b", 1.0, r"Received: 'a/b'"),
        ("chapters/a/b", -1.0, r"`seconds` must be a non-negative number. Received: -1.0"),
        ("chapters/a/b", True, r"Received: True"),
    ],
)
def test_record_smoke_run_refuses_bad_input(tmp_path, chapter, seconds, message):
    with pytest.raises(ValueError, match=message):
        _stats.record_smoke_run(tmp_path, chapter, seconds)


def test_cpu_model_reads_cpuinfo_and_falls_back_to_platform(tmp_path, monkeypatch):
    import pathlib
    import platform

    real = pathlib.Path.read_text
    cpuinfo = "processor\t: 0\nvendor_id\t: Test\nmodel name\t: Test CPU 9000 @ 3.0GHz\nflags\t: fpu\n"
    monkeypatch.setattr(pathlib.Path, "read_text",
                        lambda self, *a, **k: cpuinfo if str(self) == "/proc/cpuinfo" else real(self, *a, **k))
    assert _stats.cpu_model() == "Test CPU 9000 @ 3.0GHz"
    assert _stats.machine().startswith("Test CPU 9000 @ 3.0GHz, ") and _stats.machine().endswith(platform.system())

    def unreadable(self, *a, **k):
        if str(self) == "/proc/cpuinfo":
            raise OSError("no such file")
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "read_text", unreadable)
    monkeypatch.setattr(platform, "processor", lambda: "")
    assert _stats.cpu_model() == platform.machine()
