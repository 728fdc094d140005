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
    assert records[0]["settings"]["protocol"] == race.PROTOCOL == race_summary.PROTOCOL == summary["protocol"]
    runs = [r for r in records if r["type"] == "run"]
    keys = [c.key for c in race.contenders()]
    assert [r["recipe"] for r in runs] == keys  # one seed: every contender once, in order
    for run in runs:
        assert run["epochs"] == 1 and run["flops_per_epoch"] > 0 and run["matmul_rate"] > 0
        assert 0 <= run["final_accuracy"] <= 1
        assert run["train_samples"] == 300, "one protocol: every contender trains on the same images"
        assert len(run["load_before"]) == len(run["load_after"]) == 3 and run["jit_compile"] is False
    epochs = [r for r in records if r["type"] == "epoch"]
    assert {"train_seconds", "eval_seconds", "cpu_per_wall", "accuracy", "cumulative_seconds",
            "time_to_target", "utilization"} <= set(epochs[0])
    assert json.loads((tmp_path / "summary.json").read_text())["rows"].keys() == summary["rows"].keys()
    assert {c["what"] for c in summary["checks"]} >= {"the worst seed's test accuracy after one epoch"}
    assert summary["load"]["one_minute_min"] is not None
    table = (tmp_path / "summary.md").read_text()
    assert table == race_summary.markdown(summary) + "\n"
    assert "| keras.io Simple MNIST convnet (baseline) |" in table and "| the book's target | measured |" in table


def _records(protocol=2, cpu_per_wall=2.0):
    def run(key, seed, ttt, accuracy, baseline=None):
        return {"type": "run", "recipe": key, "title": key, "group": "CNN", "seed": seed, "baseline": baseline,
                "target": 0.99, "batch_size": 1, "params": 1, "train_samples": 1, "accuracy_epoch_1": accuracy,
                "final_accuracy": accuracy, "epochs": 1, "epochs_to_target": None if ttt is None else 1,
                "time_to_target": ttt, "flops_per_epoch": 10, "matmul_rate": 100.0,
                "load_before": [1.0, 1.0, 1.0], "load_after": [seed + 2.0, 1.0, 1.0]}

    def epoch(key, seed, seconds, epoch=1, cpu_per_wall=2.0):
        return {"type": "epoch", "recipe": key, "seed": seed, "epoch": epoch, "train_seconds": seconds,
                "cpu_per_wall": cpu_per_wall, "utilization": 10 / seconds / 100.0, "accuracy": 0.99,
                "cumulative_seconds": seconds, "cpu_utilization": 0.3}

    settings = {"protocol": protocol} if protocol > 1 else {}  # protocol 1 races stored no protocol
    records = [{"type": "machine", "cores": 2, "cpu": "x", "gpus": [], "tensorflow": "t", "keras": "k",
                "python": "p", "date": "d", "settings": settings}]
    for seed, (b, r, acc) in enumerate([(40.0, 5.0, 0.9921), (60.0, 4.0, 0.9903), (50.0, None, 0.9899)]):
        records += [epoch("keras_io_convnet", seed, b), run("keras_io_convnet", seed, b, 0.99),
                    epoch("kc_cnn_1_epoch", seed, 4.0), run("kc_cnn_1_epoch", seed, r, acc, baseline="keras_io_convnet"),
                    epoch("kc_cnn_schedule", seed, 5.0, 1, cpu_per_wall), epoch("kc_cnn_schedule", seed, 0.04, 2, cpu_per_wall),
                    run("kc_cnn_schedule", seed, None, 0.993)]
    return records


def test_summary_medians_ratios_and_misses():
    records = _records()
    s = race_summary.summarize(records)
    assert s["rows"]["keras_io_convnet"]["median_time_to_target"] == 50.0
    assert s["rows"]["kc_cnn_1_epoch"]["median_time_to_target"] == 5.0  # the miss counts as slowest
    assert s["rows"]["kc_cnn_1_epoch"]["time_ratio"] == 0.1
    assert s["rows"]["kc_cnn_1_epoch"]["cpu_time_ratio"] == 0.08  # CPU s: 2 x 4.0 vs 2 x 50.0
    assert s["rows"]["kc_cnn_1_epoch"]["utilization"] == 0.025
    assert s["contended"] == [] and s["load"]["one_minute_min"] == 1.0 and s["load"]["one_minute_max"] == 4.0
    checks = {c["what"]: c for c in s["checks"]}
    assert checks["time to 99.0%: the one-epoch reference CNN / the keras.io convnet (medians)"]["met"]
    seeds = checks["seeds at >= 99.0% test accuracy after one epoch"]
    assert not seeds["met"] and seeds["shown"] == "2 of 3" and seeds["margin"] == "1 short"
    worst = checks["the worst seed's test accuracy after one epoch"]
    assert not worst["met"] and worst["shown"] == "98.99%" and worst["margin"] == "0.06 points short"
    assert checks["utilization of the matmul rate, steady epochs (wall seconds)"]["shown"] == "250%"  # made up
    assert checks["the same per CPU second (less sensitive to load)"]["margin"] == "20 points short"
    for r in [r for r in records if r["type"] == "run" and r["recipe"] == "kc_cnn_1_epoch"][:1]:  # 2 of 3 missed
        r["time_to_target"] = r["epochs_to_target"] = None
    assert race_summary.summarize(records)["rows"]["kc_cnn_1_epoch"]["median_time_to_target"] is None
    assert "missed (2 of 3 missed)" in race_summary.markdown(race_summary.summarize(records))
    assert math.isfinite(s["rows"]["keras_io_convnet"]["cpu_per_wall"])


def test_a_contended_race_gives_no_utilization_in_wall_seconds():
    s = race_summary.summarize(_records(cpu_per_wall=0.5))
    checks = {c["what"]: c for c in s["checks"]}
    assert s["contended"] == ["kc_cnn_schedule"]
    assert checks["utilization of the matmul rate, steady epochs (wall seconds)"]["value"] is None
    assert checks["the same per CPU second (less sensitive to load)"]["value"] == 0.3
    assert "Contended runs" in race_summary.markdown(s)


def test_a_missed_ratio_says_how_much_less_time_it_needs():
    check = race_summary._check("ratio", 0.135, 0.10, "<=", "ratio")
    assert not check["met"] and check["shown"] == "0.135x"
    assert check["margin"] == "1.35 times the target: 26% less time needed"


def test_races_timed_under_the_earlier_protocol_give_no_ratio_to_the_keras_io_convnet():
    s = race_summary.summarize(_records(protocol=1))
    assert s["protocol"] == 1 and s["rows"]["kc_cnn_1_epoch"]["time_ratio"] is None
    check = s["checks"][0]
    assert check["value"] is None and not check["met"] and "earlier protocol" in check["margin"]
    table = race_summary.markdown(s)
    assert "Timed under the earlier protocol" in table and "| n/a | <= 0.100x | n/a |" in table


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
