"""The benchmark race (benchmarks/race.py, race_summary.py) on a tiny slice, so it never rots.

The real race is `make bench` (minutes, not part of the test suite); this runs every contender
for one epoch on 300 images and checks what the race writes: the JSON lines, the summary and
its checks, the table and the plot, all into a temporary folder. It needs only the library.
"""

import ast
import inspect
import json
import math
import pathlib
import subprocess
import sys

import pytest

import race
import race_summary

HERE = pathlib.Path(__file__).resolve().parent


def test_the_race_runs_every_contender_and_writes_its_results(tmp_path):
    summary = race.race(tmp_path, train_size=300, test_size=200, max_epochs=1, seeds_baseline=(0,),
                        seeds_reference=(0,), matmul_size=128, log=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.jsonl", "race.png", "summary.json", "summary.md"]
    records = race_summary.read_records(tmp_path / "race.jsonl")
    assert records[0]["type"] == "machine" and records[0]["keras"] and records[0]["cores"] >= 1
    runs = [r for r in records if r["type"] == "run"]
    keys = [c.key for c in race.contenders()]
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
    assert table == race_summary.markdown(summary) + "\n"
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
    s = race_summary.summarize(records)
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
    assert race_summary.summarize(records)["rows"]["kc_cnn_1_epoch"]["median_time_to_target"] is None
    assert "missed (2 of 3 missed)" in race_summary.markdown(race_summary.summarize(records))
    assert math.isfinite(s["rows"]["base"]["cpu_per_wall"])


def test_the_command_line_help_runs():
    out = subprocess.run([sys.executable, str(HERE / "race.py"), "--help"], capture_output=True, text=True,
                         check=True, cwd=HERE.parent)
    assert "--quick" in out.stdout and "--summarize" in out.stdout


def test_a_race_that_fails_half_way_leaves_the_stored_results_untouched(tmp_path, monkeypatch):
    out = tmp_path / "results"
    out.mkdir()
    stored = {name: f"stored {name}\n" for name in race.RESULT_FILES}
    for name, text in stored.items():
        (out / name).write_text(text)
    calls = []

    def failing_run_one(c, seed, arrays, matmul_size=2048):
        calls.append(c.key)
        if len(calls) == 2:
            raise KeyboardInterrupt  # e.g. Ctrl-C during the second contender
        run = {"type": "run", "recipe": c.key, "final_accuracy": 0.5, "epochs": 1, "time_to_target": None}
        return run, [{"type": "epoch", "recipe": c.key, "seed": seed, "cpu_per_wall": 1.0}]

    monkeypatch.setattr(race, "run_one", failing_run_one)
    monkeypatch.setattr(race, "_data", lambda train_size, test_size: {})
    with pytest.raises(KeyboardInterrupt):
        race.race(out, log=lambda line: None)
    assert len(calls) == 2
    assert {p.name: p.read_text() for p in out.iterdir()} == stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"], "no staging folder left behind"


def test_each_machine_gets_its_own_results_folder():
    assert race.machine_slug("AMD EPYC", 2) == "amd-epyc-2-cores"
    assert race.machine_slug("Intel(R) Xeon(R) Processor", 2) == "intel-xeon-2-cores"
    assert race.machine_slug("Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", 8) == "intel-core-i7-1165g7-2-80ghz-8-cores"
    assert race.machine_slug("", 4) == "cpu-4-cores"
    assert race.RESULTS == HERE / "results"
    stored = sorted(p.parent.name for p in race.RESULTS.glob("*/summary.json"))
    assert stored and all(name.endswith("-cores") for name in stored), stored
    for name in stored:  # each folder holds one machine's race, named after that machine
        records = race_summary.read_records(race.RESULTS / name / "race.jsonl")
        assert race.machine_slug(records[0]["cpu"], records[0]["cores"]) == name
        # the race's files, plus the results of other benchmarks of the same machine (ema_cost.json)
        assert set(race.RESULT_FILES) <= {p.name for p in (race.RESULTS / name).iterdir()}


def test_the_stored_summaries_are_what_their_records_give():
    """The appendix shows the stored summary.md and summary.json: they must be the summary of
    the stored race.jsonl, as the current code computes it."""
    for folder in sorted(p.parent for p in race.RESULTS.glob("*/race.jsonl")):
        summary = race_summary.summarize(race_summary.read_records(folder / "race.jsonl"))
        assert json.loads((folder / "summary.json").read_text()) == json.loads(json.dumps(summary)), folder.name
        assert (folder / "summary.md").read_text() == race_summary.markdown(summary) + "\n", folder.name


def test_a_partial_race_must_name_its_own_folder(capsys):
    with pytest.raises(SystemExit) as info:
        race.main(["--quick"])
    assert info.value.code == 2
    assert "a partial race (--quick, --only, --train-size, --test-size, --max-epochs) needs --out DIR" in capsys.readouterr().err


def test_the_appendix_shows_the_races_keras_io_convnet():
    """The Benchmarks appendix defines the keras.io baseline in a cell of its own (it imports
    nothing from here): it must be the function the race trains, statement for statement."""
    nb = json.loads((HERE.parent / "chapters" / "appendix" / "benchmarks.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]

    def definition(tree):
        return next(ast.dump(node) for node in ast.walk(tree)
                    if isinstance(node, ast.FunctionDef) and node.name == "keras_io_convnet")

    shown = next(definition(ast.parse(c)) for c in cells if "def keras_io_convnet" in c)
    assert shown == definition(ast.parse(inspect.getsource(race.keras_io_convnet)))
