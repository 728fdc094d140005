"""The backend comparison (benchmarks/backends.py) and the EMA cost (ema_cost.py) on tiny slices.

The real runs take many minutes; these run each kind of job in this process, on the current
backend, with a few steps, check the summaries on made-up records, and check that the stored
results are the summaries of their own records.
"""

import json
import pathlib
import subprocess
import sys

import keras
import pytest

import backends
import race

HERE = pathlib.Path(__file__).resolve().parent


def test_each_job_runs_on_a_tiny_slice():
    backend = keras.backend.backend()
    spec = {"backend": backend, "seed": 0, "quick": True}
    steps = backends.JOBS["steps"]({**spec, "model": "mlp", "steps": 2, "jit_compile": "auto"})
    assert steps["step_seconds"] > 0 and steps["jit_compile"] == (backend == "jax")
    trained = backends.JOBS["train"]({**spec, "model": "mlp"})
    assert len(trained["epochs"]) == 4 and trained["steps_per_epoch"] == 2 and trained["target"] == 0.98
    convs = backends.JOBS["convs"]({**spec, "batch": 4, "repeats": 1})
    layouts = {"NHWC", "NCHW"} if backend == "jax" else {"NHWC"}
    assert {k.split(", ")[1] for k in convs["ms"]} == layouts and len(convs["ms"]) == 9 * len(layouts)
    assert {k.split(", ")[2] for k in convs["ms"]} == {"forward", "input gradient", "kernel gradient"}


def _train(model, backend, seed, steady, ttt):
    return {"job": "train", "model": model, "backend": backend, "seed": seed, "target": 0.99,
            "steady_epoch_seconds": steady, "first_epoch_seconds": 2 * steady, "time_to_target": ttt,
            "accuracy_epoch_1": 0.99, "jit_compile": backend == "jax", "epochs": [{"cpu_per_wall": 1.5}]}


def test_the_summary_pairs_the_backends_by_seed():
    records = [_train("cnn", "tensorflow", 0, 10.0, 20.0), _train("cnn", "jax", 0, 40.0, 60.0),
               _train("cnn", "tensorflow", 1, 12.0, 24.0), _train("cnn", "jax", 1, 36.0, None),
               {"job": "steps", "name": "a", "backend": "jax", "step_seconds": 0.002, "cpu_per_wall": 1.0},
               {"job": "steps", "name": "a", "backend": "jax", "step_seconds": 0.004, "cpu_per_wall": 1.2},
               {"job": "convs", "backend": "jax", "ms": {"c": 3.0}}, {"job": "convs", "backend": "jax", "ms": {"c": 5.0}}]
    s = backends.summarize(records)
    assert s["cnn"]["seeds"] == [0, 1]
    assert s["cnn"]["jax / tensorflow, steady_epoch_seconds"]["by_seed"] == [4.0, 3.0]
    assert s["cnn"]["jax / tensorflow, steady_epoch_seconds"]["median"] == 3.5
    assert s["cnn"]["jax / tensorflow, time_to_target"]["by_seed"] == [3.0]  # a missed target has no ratio
    assert s["cnn"]["tensorflow"]["jit_compile"] is False and s["cnn"]["jax"]["jit_compile"] is True
    assert s["steps"]["a"]["median_step_ms"] == pytest.approx(3.0) and s["steps"]["a"]["runs"] == 2
    assert s["convs"] == {"jax": {"c": 4.0}}


def test_the_parent_runs_every_job_alternating_the_backends_and_writes_one_file(tmp_path, monkeypatch, capsys):
    launched = []

    def fake_launch(spec, env_extra=None):  # what a worker returns, without starting one
        launched.append((spec["job"], spec["backend"], dict(env_extra or {})))
        record = {**spec, "load_after": [1.0, 1.0, 1.0], "env": env_extra or {}}
        if spec["job"] == "train":
            return {**_train(spec["model"], spec["backend"], spec["seed"], 1.0, 2.0), **record}
        if spec["job"] == "steps":
            return {**record, "step_seconds": 0.01, "cpu_per_wall": 1.5}
        return {**record, "ms": {"conv_1, NHWC, forward": 1.0}}

    monkeypatch.setattr(backends, "launch", fake_launch)
    assert backends.main(["--seeds", "0", "1", "--out", str(tmp_path)]) == 0
    trains = [b for job, b, _ in launched if job == "train"]
    assert trains == ["tensorflow", "jax"] * 2 + ["jax", "tensorflow"] * 2  # the order flips from seed to seed
    steps = [(b, env) for job, b, env in launched if job == "steps"]
    assert len(steps) == 2 * len(backends.STEP_VARIANTS)
    assert ("jax", {"XLA_FLAGS": "--xla_cpu_use_thunk_runtime=false"}) in steps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backends.json"], "the partial records are removed"
    result = json.loads((tmp_path / "backends.json").read_text())
    assert result["summary"]["cnn"]["seeds"] == [0, 1] and len(result["records"]) == len(launched)
    assert result["machine"]["load_average_end"] is not None and "written:" in capsys.readouterr().out
    launched.clear()  # run the convolutions again: the other jobs' records are kept from the stored file
    assert backends.main(["--seeds", "0", "1", "--out", str(tmp_path), "--skip", "train", "steps"]) == 0
    assert {job for job, _, _ in launched} == {"convs"}
    again = json.loads((tmp_path / "backends.json").read_text())
    assert again["settings"]["kept_from_an_earlier_run"] == ["steps", "train"]
    assert again["settings"]["earlier_run"]["date"] == result["machine"]["date"]
    assert len(again["records"]) == len(result["records"]) and again["summary"]["cnn"] == result["summary"]["cnn"]


def test_the_command_line_help_runs():
    out = subprocess.run([sys.executable, str(HERE / "backends.py"), "--help"], capture_output=True, text=True,
                         check=True, cwd=HERE.parent)
    assert "--quick" in out.stdout and "--skip" in out.stdout


@pytest.mark.parametrize("name, module", [("backends.json", "backends"), ("ema_cost.json", "ema_cost")])
def test_the_stored_results_are_what_their_records_give(name, module):
    """The appendix shows the stored summaries: they must be the summaries of the stored records."""
    summarize = __import__(module).summarize
    stored = sorted(race.RESULTS.glob(f"*/{name}"))
    for path in stored:
        result = json.loads(path.read_text())
        assert race.machine_slug(result["machine"]["cpu"], result["machine"]["cores"]) == path.parent.name
        assert json.loads(json.dumps(summarize(result["records"]))) == result["summary"], path
