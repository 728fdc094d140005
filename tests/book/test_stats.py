"""The book's execution statistics (book.stats): every chapter's stored run card, the smoke
runs recorded by the test command, the committed snapshot, and the page generated from them."""

import json
import os
import pathlib
import time

import pytest

pytest.importorskip("yaml", reason="the book's tool chain is not installed: pip install -e '.[test]'")

from book import stats, toc  # noqa: E402
from kerascool_lib.runtime import RUN_CARD_MIME, read_run_card  # noqa: E402

ROOT = toc.ROOT
CHAPTERS = toc.chapters(ROOT)
DOCNAMES = [toc.docname(p, ROOT) for p in CHAPTERS]

START = {"card": "start", "profile": "cpu", "device": "CPU: Test CPU (2 cores)", "cpu": "Test CPU",
         "backend": "tensorflow", "versions": {"python": "3.11.7", "tensorflow": "2.21.0", "keras": "3.15.1",
                                                "backend": "tensorflow"},
         "seed": 0, "precision": "float32", "jit_compile": False}
END = {"card": "end", "profile": "cpu", "device": "CPU: Test CPU (2 cores)", "backend": "tensorflow",
       "wall_time_s": 12.5, "metrics": {"test_accuracy": 0.99123, "ece": 0.0132}}


def _nb(*records, title="# T", stamp="2026-11-23T18:23:58.158538Z"):
    """A notebook whose code cells each displayed one run card record (as ``kc.setup`` and
    ``run.finish`` do), or printed a line (a string)."""
    def output(record):
        if isinstance(record, str):
            return {"output_type": "stream", "name": "stdout", "text": record}
        return {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "run card", RUN_CARD_MIME: record}}

    cells = [{"cell_type": "code", "metadata": {"execution": {"iopub.execute_input": stamp}}, "outputs": [output(r)]}
             for r in records]
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": title}] + cells}


CARD = read_run_card(_nb(START, "training...\n", END))


@pytest.mark.parametrize("path", CHAPTERS, ids=DOCNAMES)
def test_every_chapter_has_statistics_of_its_stored_run(path):
    """The page needs, per chapter: the title, the profile, the wall time and the headline metric."""
    docname, title, card = stats.chapter_row(toc.docname(path, ROOT), path)
    assert title and not title.startswith("#")
    assert card["profile"] == "cpu"
    assert card["wall_time_s"] > 0
    assert card["metrics"], "run.finish() recorded a headline metric"
    assert all(isinstance(v, float) and v == v for v in card["metrics"].values())
    assert card["executed"] and card["executed"].startswith("20")
    assert "Keras" in stats.versions_text(card) and card["backend"] in stats.versions_text(card)


def test_the_snapshot_has_a_smoke_time_for_every_chapter():
    """Adding a chapter means saving a new snapshot from a full test run (``make stats``)."""
    snapshot = stats.snapshot_test_run(ROOT)
    assert snapshot is not None, f"{stats.SNAPSHOT} is missing: run `make test`, then `make stats`"
    missing = [f"{d} ({b})" for d in DOCNAMES for b in stats.BACKENDS if b not in snapshot["chapters"].get(d, {})]
    assert missing == [], "chapters without a recorded smoke run: run `make test`, then `make stats`"


def test_the_test_a_snapshot_may_fail_is_the_one_above():
    here = pathlib.Path(__file__).resolve().relative_to(ROOT).as_posix()
    assert stats.SNAPSHOT_TEST == f"{here}::{test_the_snapshot_has_a_smoke_time_for_every_chapter.__name__}"


def test_chapter_row_reads_the_title_and_the_run_card(tmp_path):
    path = tmp_path / "c.ipynb"
    path.write_text(json.dumps(_nb(START, END, title="# A chapter\n\nIts promise.")))
    docname, title, card = stats.chapter_row("chapters/a/c", path)
    assert (docname, title) == ("chapters/a/c", "A chapter")
    assert card["wall_time_s"] == 12.5 and card["metrics"] == {"test_accuracy": 0.99123, "ece": 0.0132}
    assert card["executed"] == "2026-11-23T18:23:58.158538Z"
    assert stats.versions_text(card) == "tensorflow · Python 3.11.7 · TensorFlow 2.21.0 · Keras 3.15.1"
    path.write_text(json.dumps(_nb(START, "no run.finish\n")))
    with pytest.raises(ValueError, match=r"no run card end record \(run\.finish\)"):
        stats.chapter_row("chapters/a/c", path)


def _full_run(root, failed=(), exitstatus=0, started=None, backends=stats.BACKENDS, command="make-test-1"):
    """Record one test command: a pass per backend, the first with ``failed`` and ``exitstatus``."""
    started = time.time() - 5 if started is None else started
    for i, backend in enumerate(backends):
        stats.record_test_run(root, started + i, 61.0, tests=100, failed=list(failed) if i == 0 else [],
                              exitstatus=exitstatus if i == 0 else 0, backend=backend, command=command)
    return started


def _smoke(root, chapter, seconds, backends=stats.BACKENDS):
    for backend in backends:
        stats.record_smoke_run(root, chapter, seconds, backend)


def test_a_full_test_run_keeps_only_the_smoke_records_it_wrote(tmp_path):
    old = stats.record_smoke_run(tmp_path, "chapters/a/old", 3.0)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    _full_run(tmp_path)
    stats.record_smoke_run(tmp_path, "chapters/a/new", 12.34)
    stats.record_smoke_run(tmp_path, "chapters/a/new", 20.0, "jax")
    run = stats.local_test_run(tmp_path)
    assert run["chapters"] == {"chapters/a/new": {"tensorflow": 12.3, "jax": 20.0}}
    assert run["seconds"] == 122.0 and run["tests"] == 200 and run["failed"] == 0
    assert list(run["passes"]) == ["tensorflow", "jax"] and run["passes"]["jax"]["seconds"] == 61.0


def test_passes_of_another_test_command_are_not_combined(tmp_path):
    _full_run(tmp_path, started=time.time() - 100, command="older")
    _full_run(tmp_path, backends=("jax",), command="newer")  # e.g. one pass run again by hand
    run = stats.local_test_run(tmp_path)
    assert list(run["passes"]) == ["jax"] and run["tests"] == 100


def test_no_local_run_and_no_snapshot(tmp_path):
    assert stats.local_test_run(tmp_path) is None
    assert stats.latest_test_run(tmp_path) is None
    text = stats.statistics_markdown(tmp_path, [("chapters/a/b", "B", CARD)])
    assert "no full test run is recorded yet" in text and "| not run | not run | — | — |" in text


def test_save_snapshot_and_the_newest_run_wins(tmp_path):
    _full_run(tmp_path, started=time.time() - 100)
    _smoke(tmp_path, "chapters/a/b", 20.0)
    path = stats.save_snapshot(tmp_path, ["chapters/a/b"])
    assert path == tmp_path / stats.SNAPSHOT
    assert json.loads(path.read_text())["chapters"] == {"chapters/a/b": {"tensorflow": 20.0, "jax": 20.0}}
    for record in (tmp_path / stats.LOCAL_DIR).glob("test-run-*.json"):
        record.unlink()  # a fresh clone: only the snapshot
    assert "snapshot" in stats.latest_test_run(tmp_path)["source"]
    _full_run(tmp_path, command="make-test-2")  # a newer local run
    assert "checkout" in stats.latest_test_run(tmp_path)["source"]


@pytest.mark.parametrize(
    "failed, exitstatus, smoke, backends, message",
    [
        (["tests/test_x.py::test_y"], 1, ["chapters/a/b"], stats.BACKENDS, r"failed: tests/test_x.py::test_y"),
        ([], 2, ["chapters/a/b"], stats.BACKENDS, r"exit status 2; failed: none reported"),
        ([], 0, [], stats.BACKENDS, r"no smoke time for: chapters/a/b \(tensorflow\), chapters/a/b \(jax\)"),
        ([], 0, ["chapters/a/b"], ("tensorflow",), r"no pass on: jax"),
    ],
    ids=["a test failed", "interrupted", "a chapter did not run", "one backend only"],
)
def test_save_snapshot_refuses_an_incomplete_run(tmp_path, failed, exitstatus, smoke, backends, message):
    _full_run(tmp_path, failed=failed, exitstatus=exitstatus, backends=backends)
    for chapter in smoke:
        _smoke(tmp_path, chapter, 1.0, backends)
    with pytest.raises(ValueError, match=message):
        stats.save_snapshot(tmp_path, ["chapters/a/b"])
    assert not (tmp_path / stats.SNAPSHOT).exists()


def test_a_failed_run_is_saved_only_when_asked_and_the_page_says_so(tmp_path):
    _full_run(tmp_path, failed=["tests/test_x.py::test_y"], exitstatus=1)
    _smoke(tmp_path, "chapters/a/b", 1.0)
    with pytest.raises(ValueError, match="failed"):
        stats.save_snapshot(tmp_path, ["chapters/a/b"])
    stats.save_snapshot(tmp_path, ["chapters/a/b"], allow_failed=True)
    for record in (tmp_path / stats.LOCAL_DIR).glob("test-run-*.json"):
        record.unlink()
    assert "**1 failed**" in stats.statistics_markdown(tmp_path, [("chapters/a/b", "B", CARD)])


def test_save_snapshot_accepts_a_run_whose_only_failure_was_the_missing_snapshot(tmp_path):
    _full_run(tmp_path, failed=[stats.SNAPSHOT_TEST], exitstatus=1)
    _smoke(tmp_path, "chapters/a/b", 1.0)
    stats.save_snapshot(tmp_path, ["chapters/a/b"])
    text = stats.statistics_markdown(tmp_path, [("chapters/a/b", "B", CARD)])
    assert "all passed but the check that this snapshot exists" in text


def test_no_test_run_is_recorded_without_a_finished_run(tmp_path):
    with pytest.raises(ValueError, match="No full test run is recorded"):
        stats.save_snapshot(tmp_path, [])


def test_the_page_flags_what_is_over_budget(tmp_path):
    for i, (backend, seconds) in enumerate([("tensorflow", 15 * 60.0), ("jax", 10 * 60.0)]):
        stats.record_test_run(tmp_path, time.time() - 5 + i, seconds, tests=10, failed=[], exitstatus=0,
                              backend=backend, command="c")
    stats.record_smoke_run(tmp_path, "chapters/a/fast", 44.9)
    stats.record_smoke_run(tmp_path, "chapters/a/fast", 30.0, "jax")
    stats.record_smoke_run(tmp_path, "chapters/a/slow", 20.0)
    stats.record_smoke_run(tmp_path, "chapters/a/slow", 45.1, "jax")
    slow_cpu = {**CARD, "wall_time_s": 300.1}
    text = stats.statistics_markdown(tmp_path, [("chapters/a/fast", "Fast", CARD), ("chapters/a/slow", "Slow", slow_cpu)])
    rows = [line for line in text.splitlines() if line.startswith("| {doc}")]
    assert rows[0].endswith("| 44.9 s | 30.0 s | yes | TensorFlow, JAX |")
    assert rows[1].endswith("| 20.0 s | 45.1 s | **no** | TensorFlow, JAX |")
    assert "| cpu, TensorFlow | 12.5 s | yes |" in rows[0] and "| 300.1 s | **no** |" in rows[1]
    assert "{doc}`Fast </chapters/a/fast>`" in rows[0]
    assert "test accuracy 0.9912, ece 0.0132" in rows[0]  # as the run card shows them (4 digits)
    assert "| Smoke, TensorFlow | Smoke, JAX |" in text
    assert "25 min 00 s (TensorFlow 15 min 00 s (10 tests); JAX 10 min 00 s (10 tests)): **over** the 20 min 00 s budget" in text
    assert "1 chapter(s) over the 45 s smoke budget" in text
    assert "2 chapters, 5 min 13 s of wall time" in text and "1 chapter(s) over the 5 min budget" in text
    assert stats.over_cpu_budget([("chapters/a/fast", "Fast", CARD), ("chapters/a/slow", "Slow", slow_cpu)]) == ["chapters/a/slow"]


def test_a_chapter_checked_on_one_backend_only_says_so(tmp_path):
    _full_run(tmp_path)
    stats.record_smoke_run(tmp_path, "chapters/a/b", 10.0)  # its JAX run failed: nothing recorded
    text = stats.statistics_markdown(tmp_path, [("chapters/a/b", "B", CARD)])
    assert "| 10.0 s | not run | yes | TensorFlow |" in text


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
        stats.record_smoke_run(tmp_path, chapter, seconds)


def test_record_smoke_run_refuses_an_unknown_backend(tmp_path):
    with pytest.raises(ValueError, match=r"`backend` must be one of .* Received: 'numpy'"):
        stats.record_smoke_run(tmp_path, "chapters/a/b", 1.0, "numpy")


def test_machine_reads_cpuinfo_and_falls_back_to_platform(monkeypatch):
    import platform

    from kerascool_lib import _machine

    real = pathlib.Path.read_text
    cpuinfo = "processor\t: 0\nvendor_id\t: Test\nmodel name\t: Test CPU 9000 @ 3.0GHz\nflags\t: fpu\n"
    monkeypatch.setattr(pathlib.Path, "read_text",
                        lambda self, *a, **k: cpuinfo if str(self) == "/proc/cpuinfo" else real(self, *a, **k))
    assert stats.machine() == f"Test CPU 9000 @ 3.0GHz, {os.cpu_count()} cores, {platform.system()}"

    def unreadable(self, *a, **k):
        if str(self) == "/proc/cpuinfo":
            raise OSError("no such file")
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "read_text", unreadable)
    monkeypatch.setattr(platform, "processor", lambda: "")
    assert _machine.cpu_model() == platform.machine()
    assert stats.machine().startswith(f"{platform.machine()}, ")


def test_show_prints_the_table_of_every_chapter(capsys, monkeypatch):
    monkeypatch.setattr(stats, "chapter_row", lambda docname, path: (docname, docname.rsplit("/", 1)[1], CARD))
    assert stats.main(["show"]) == 0
    table = capsys.readouterr().out
    for docname in DOCNAMES:
        assert f"</{docname}>`" in table


def test_only_a_run_of_the_whole_suite_is_recorded():
    import types

    from book import pytest_plugin

    def config(args_source=pytest.Config.ArgsSource.TESTPATHS, **changed):
        option = dict(collectonly=False, keyword="", markexpr="", deselect=[], ignore=[], ignore_glob=[],
                      exitfirst=False, maxfail=0)
        return types.SimpleNamespace(args_source=args_source, option=types.SimpleNamespace(**{**option, **changed}))

    assert pytest_plugin.is_whole_suite(config())
    assert not pytest_plugin.is_whole_suite(config(pytest.Config.ArgsSource.ARGS))  # paths given
    for partial in [dict(collectonly=True), dict(keyword="stats"), dict(markexpr="slow"), dict(deselect=["x"]),
                    dict(ignore=["tests/book"]), dict(exitfirst=True, maxfail=1), dict(maxfail=3)]:
        assert not pytest_plugin.is_whole_suite(config(**partial)), partial


def test_nbval_cells_add_up_to_a_chapter_smoke_time_recorded_only_when_every_cell_passed(tmp_path, monkeypatch):
    import types

    from book import pytest_plugin

    def report(nodeid, when, duration, outcome="passed"):
        return types.SimpleNamespace(nodeid=nodeid, when=when, duration=duration, passed=outcome == "passed",
                                     failed=outcome == "failed", skipped=outcome == "skipped")

    good, bad, skipped = (f"chapters/part/{n}.ipynb" for n in ("good", "bad", "skipped"))
    for path in (good, bad, skipped):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    monkeypatch.setattr(pytest_plugin, "_NBVAL", {})
    monkeypatch.setattr(pytest_plugin, "_FAILED", [])
    reports = [report(f"{good}::Cell 0", "setup", 4.0), report(f"{good}::Cell 0", "call", 1.5),
               report(f"{good}::Cell 1", "call", 2.25), report(f"{good}::Cell 1", "teardown", 0.25),
               report(f"{bad}::Cell 0", "call", 1.0), report(f"{bad}::Cell 1", "call", 1.0, "failed"),
               report(f"{skipped}::Cell 0", "setup", 0.0, "skipped"),
               report("tests/test_x.py::test_y", "call", 9.0)]
    for r in reports:
        pytest_plugin.pytest_runtest_logreport(r)
    pytest_plugin._record_nbval_runs(types.SimpleNamespace(rootpath=tmp_path))
    import keras

    records = sorted((tmp_path / stats.LOCAL_DIR / "smoke" / keras.backend.backend()).glob("*.json"))
    assert [json.loads(p.read_text())["chapter"] for p in records] == ["chapters/part/good"]
    assert json.loads(records[0].read_text())["seconds"] == 8.0
    assert pytest_plugin._FAILED == [f"{bad}::Cell 1"]
