"""The benchmark harness (benchmarks/race.py, kerascool_lib/_race.py) on a tiny slice, so it never rots.

The real race is `make bench` (minutes, not part of the test suite); this runs every contender
for one epoch on 300 images and checks what the race writes: the JSON lines, the summary and
its checks, the table and the plot, all into a temporary folder.
"""

import json
import math
import subprocess
import sys

from chapters import ROOT

from kerascool_lib import _race


def test_the_race_runs_every_contender_and_writes_its_results(tmp_path):
    summary = _race.race(tmp_path, train_size=300, test_size=200, max_epochs=1, seeds_baseline=(0,),
                         seeds_reference=(0,), matmul_size=128, log=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.jsonl", "race.png", "summary.json", "summary.md"]
    records = _race.read_records(tmp_path / "race.jsonl")
    assert records[0]["type"] == "machine" and records[0]["keras"] and records[0]["cores"] >= 1
    runs = [r for r in records if r["type"] == "run"]
    keys = [c.key for c in _race.contenders()]
    assert [r["recipe"] for r in runs] == keys  # one seed: every contender once, in order
    for run in runs:
        assert run["epochs"] == 1 and run["flops_per_epoch"] > 0 and run["matmul_rate"] > 0
        assert 0 <= run["final_accuracy"] <= 1
    by_key = {r["recipe"]: r for r in runs}
    assert 300 <= by_key["keras_io_convnet"]["train_samples"] <= 301  # 10% of 334 split off inside fit
    assert by_key["kc_cnn_1_epoch"]["train_samples"] == 300
    epochs = [r for r in records if r["type"] == "epoch"]
    assert {"train_seconds", "eval_seconds", "cpu_per_wall", "accuracy", "cumulative_seconds",
            "time_to_target", "utilization"} <= set(epochs[0])
    assert json.loads((tmp_path / "summary.json").read_text())["rows"].keys() == summary["rows"].keys()
    assert {c["what"] for c in summary["checks"]} >= {"CNN accuracy after one epoch (worst seed)"}
    table = (tmp_path / "summary.md").read_text()
    assert "| keras.io Simple MNIST convnet (baseline) |" in table and "| target | measured | goal | met | by how much |" in table


def test_summary_medians_ratios_and_misses():
    def run(key, seed, ttt, baseline=None):
        return {"type": "run", "recipe": key, "title": key, "group": "CNN", "seed": seed, "baseline": baseline,
                "target": 0.99, "batch_size": 1, "params": 1, "train_samples": 1, "accuracy_epoch_1": 0.99,
                "final_accuracy": 0.99, "epochs": 1, "epochs_to_target": None if ttt is None else 1, "time_to_target": ttt,
                "flops_per_epoch": 10, "matmul_rate": 100.0}

    def epoch(key, seed, seconds, epoch=1):
        return {"type": "epoch", "recipe": key, "seed": seed, "epoch": epoch, "train_seconds": seconds,
                "cpu_per_wall": 2.0, "utilization": 10 / seconds / 100.0, "accuracy": 0.99, "cumulative_seconds": seconds}

    records = [{"type": "machine", "cores": 2, "cpu": "x", "gpus": [], "tensorflow": "t", "keras": "k",
                "python": "p", "date": "d"}]
    for seed, (b, r) in enumerate([(40.0, 5.0), (60.0, 4.0), (50.0, None)]):
        records += [epoch("base", seed, b), run("base", seed, b), epoch("kc_cnn_1_epoch", seed, 4.0),
                    run("kc_cnn_1_epoch", seed, r, baseline="base")]
    s = _race.summarize(records)
    assert s["rows"]["base"]["median_time_to_target"] == 50.0
    assert s["rows"]["kc_cnn_1_epoch"]["median_time_to_target"] == 5.0  # the miss counts as slowest
    assert s["rows"]["kc_cnn_1_epoch"]["time_ratio"] == 0.1
    assert s["rows"]["kc_cnn_1_epoch"]["cpu_time_ratio"] == 0.08  # CPU s: 2 x 4.0 vs 2 x 50.0
    assert s["rows"]["kc_cnn_1_epoch"]["utilization"] == 0.025
    assert s["contended"] == []
    checks = {c["what"]: c for c in s["checks"]}
    assert checks["CNN time to 99.0% / keras.io convnet's (median)"]["met"]
    assert not checks["CNN utilization of the matmul rate (median epoch)"]["met"]
    for r in (records[-1], records[-5]):  # two of three missed
        r["time_to_target"] = r["epochs_to_target"] = None
    assert _race.summarize(records)["rows"]["kc_cnn_1_epoch"]["median_time_to_target"] is None
    assert "missed (2 of 3 missed)" in _race.markdown(_race.summarize(records))
    assert math.isfinite(s["rows"]["base"]["cpu_per_wall"])


def test_the_command_line_help_runs():
    out = subprocess.run([sys.executable, "-c", "import runpy, sys; sys.argv = ['race.py', '--help']; "
                          f"runpy.run_path({str(ROOT / 'benchmarks' / 'race.py')!r}, run_name='__main__')"],
                         capture_output=True, text=True, check=True)
    assert "--quick" in out.stdout and "--summarize" in out.stdout


def test_a_race_that_fails_half_way_leaves_the_stored_results_untouched(tmp_path, monkeypatch):
    out = tmp_path / "results"
    out.mkdir()
    stored = {name: f"stored {name}\n" for name in _race.RESULT_FILES}
    for name, text in stored.items():
        (out / name).write_text(text)
    calls = []

    def failing_run_one(c, seed, arrays, matmul_size=2048):
        calls.append(c.key)
        if len(calls) == 2:
            raise KeyboardInterrupt  # e.g. Ctrl-C during the second contender
        run = {"type": "run", "recipe": c.key, "final_accuracy": 0.5, "epochs": 1, "time_to_target": None}
        return run, [{"type": "epoch", "recipe": c.key, "seed": seed, "cpu_per_wall": 1.0}]

    monkeypatch.setattr(_race, "run_one", failing_run_one)
    monkeypatch.setattr(_race, "_data", lambda train_size, test_size: {})
    try:
        _race.race(out, log=lambda line: None)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interruption must propagate")
    assert len(calls) == 2
    assert {p.name: p.read_text() for p in out.iterdir()} == stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"], "no staging folder left behind"


def test_each_machine_gets_its_own_results_folder():
    assert _race.machine_slug("AMD EPYC", 2) == "amd-epyc-2-cores"
    assert _race.machine_slug("Intel(R) Xeon(R) Processor", 2) == "intel-xeon-2-cores"
    assert _race.machine_slug("Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", 8) == "intel-core-i7-1165g7-2-80ghz-8-cores"
    assert _race.machine_slug("", 4) == "cpu-4-cores"
    assert _race.RESULTS == ROOT / "benchmarks" / "results"
    stored = sorted(p.parent.name for p in _race.RESULTS.glob("*/summary.json"))
    assert stored and all(name.endswith("-cores") for name in stored), stored
    for name in stored:  # each folder holds one machine's race, named after that machine
        records = _race.read_records(_race.RESULTS / name / "race.jsonl")
        assert _race.machine_slug(records[0]["cpu"], records[0]["cores"]) == name
        assert sorted(p.name for p in (_race.RESULTS / name).iterdir()) == sorted(_race.RESULT_FILES)


def test_a_partial_race_must_name_its_own_folder(capsys):
    import pytest

    with pytest.raises(SystemExit) as info:
        _race.main(["--quick"])
    assert info.value.code == 2
    assert "a partial race (--quick, --only, --train-size, --test-size, --max-epochs) needs --out DIR" in capsys.readouterr().err
