"""Unit tests of kerascool_lib.experiments: the run order and seeds of run_variants, the
summary's numbers against NumPy by hand, the JSON round trip and atomic save, the stepper.
(Bad input to every public name: tests/test_bad_input.py.)"""

import json
import math
import os
import re

import ipywidgets
import keras
import numpy as np
import pytest

from kerascool_lib import experiments, plots
from kerascool_lib.experiments import Experiment, Summary, Trial, run_variants


def _draw(seed):
    """A result that depends only on the seed set before the call (NumPy's global generator)."""
    return {"score": np.random.uniform(), "seed_seen": seed}


def test_run_order_is_seed_major_and_each_call_gets_its_seed():
    calls = []

    def variant(name):
        def fn(seed):
            calls.append((seed, name))
            return {"x": float(seed)}
        return fn

    exp = run_variants({"b": variant("b"), "a": variant("a"), "c": variant("c")}, [5, 2], verbose=0)
    expected = [(5, "b"), (5, "a"), (5, "c"), (2, "b"), (2, "a"), (2, "c")]
    assert calls == expected
    assert [(t.seed, t.variant) for t in exp.trials] == expected
    assert exp.variants == ["b", "a", "c"] and exp.seeds == [5, 2]
    np.testing.assert_array_equal(exp.values("x")["a"], [5.0, 2.0])  # ordered as .seeds


def test_the_seed_is_set_before_every_call():
    exp = run_variants({"p": _draw, "q": _draw}, [0, 7], verbose=0)
    for seed in (0, 7):
        np.random.seed(seed)
        expected = np.random.uniform()
        assert exp.trial("p", seed).metrics["score"] == expected
        assert exp.trial("q", seed).metrics["score"] == expected  # same seed, same draw
    assert exp.trial("p", 0).metrics["score"] != exp.trial("p", 7).metrics["score"]


def test_metrics_history_and_extras_are_sorted_out():
    class FakeHistory:
        history = {"loss": [2, 1.5], "val_accuracy": np.array([0.1, 0.2], np.float32)}

    features = np.ones((3, 2))

    def fn(seed):
        return {"acc": np.float32(0.5), "n": 3, "tensor": keras.ops.convert_to_tensor(2.5),
                "history": FakeHistory(), "features": features, "flag": True, "name": "x"}

    (trial,) = run_variants({"v": fn}, [1], verbose=0).trials
    assert trial.metrics == {"acc": 0.5, "n": 3.0, "tensor": 2.5}
    assert all(type(v) is float for v in trial.metrics.values())
    assert trial.history == {"loss": [2.0, 1.5], "val_accuracy": [pytest.approx(0.1), pytest.approx(0.2)]}
    assert trial.extras["features"] is features and trial.extras["flag"] is True and trial.extras["name"] == "x"
    assert trial.variant == "v" and trial.seed == 1 and trial.seconds >= 0


def test_verbose_prints_one_line_per_trial(capsys):
    run_variants({"warmup": lambda s: {"test_accuracy": 0.98125, "loss": 0.12344}, "no": lambda s: {}}, [0, 1])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert re.fullmatch(r"seed 0 · warmup · test_accuracy 0\.9812 · loss 0\.1234 · \d+\.\d s", lines[0]), lines[0]
    assert re.fullmatch(r"seed 1 · no     · \d+\.\d s", lines[3]), lines[3]
    run_variants({"a": lambda s: {"x": 1.0}}, [0], verbose=0)
    assert capsys.readouterr().out == ""


def test_a_tiny_keras_model_trains_identically_for_the_same_seed():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32)

    def train(seed, units):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(0.5),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
        loss, acc = model.evaluate(x, y, verbose=0)
        return {"loss": loss, "accuracy": acc, "history": history, "kernel": model.get_weights()[0]}

    variants = {"small": lambda s: train(s, 3), "wide": lambda s: train(s, 8)}
    first = run_variants(variants, [0, 1], verbose=0)
    again = run_variants(variants, [1], verbose=0)
    assert first.trial("wide", 1).metrics == again.trial("wide", 1).metrics  # bit-identical
    np.testing.assert_array_equal(first.trial("wide", 1).extras["kernel"], again.trial("wide", 1).extras["kernel"])
    assert first.trial("wide", 1).history == again.trial("wide", 1).history
    assert not np.array_equal(first.trial("wide", 0).extras["kernel"], first.trial("wide", 1).extras["kernel"])
    assert list(first.trial("small", 0).history) == ["accuracy", "loss"] and len(first.trial("small", 0).history["loss"]) == 2
    fig = plots.history_panels(first, metrics=["loss", "accuracy"])
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2 * (2 + 1)  # 2 variants x (2 seeds + mean)


def _experiment(values):
    """An Experiment with metric "m" = values[variant][i] on seed 10 + i."""
    n = len(next(iter(values.values())))
    return Experiment([Trial(v, 10 + i, {"m": values[v][i]}) for i in range(n) for v in values])


BASE = [0.90, 0.80, 0.70, 0.60]
NEW = [0.95, 0.80, 0.65, 0.70]   # better on 2 seeds, tied on 1, worse on 1


def test_summary_matches_numpy_by_hand():
    s = _experiment({"base": BASE, "new": NEW}).summary("m", baseline="base", scale=100)
    base, new = np.array(BASE) * 100, np.array(NEW) * 100
    row = s.row("base")
    assert set(row) == {"n", "mean", "min", "max"}
    assert row["n"] == 4 and row["mean"] == pytest.approx(75.0) and row["min"] == pytest.approx(60.0) and row["max"] == pytest.approx(90.0)
    row = s.row("new")
    assert row["mean"] == pytest.approx(new.mean()) and row["min"] == pytest.approx(65.0) and row["max"] == pytest.approx(95.0)
    assert row["diff_mean"] == pytest.approx(2.5)       # (5 + 0 - 5 + 10) / 4
    assert row["diff_min"] == pytest.approx(-5.0) and row["diff_max"] == pytest.approx(10.0)
    assert (row["wins"], row["ties"]) == (2, 1)
    assert row["diff_mean"] == pytest.approx(new.mean() - base.mean())


def test_wins_follow_higher_is_better():
    lower = _experiment({"base": BASE, "new": NEW}).summary("m", baseline="base", higher_is_better=False)
    assert (lower.row("new")["wins"], lower.row("new")["ties"]) == (1, 1)
    assert lower.row("new")["diff_mean"] == pytest.approx(0.025)  # differences keep their sign
    both = _experiment({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]}).summary("m", baseline="a")
    assert (both.row("b")["wins"], both.row("b")["ties"]) == (0, 3)


def test_no_baseline_no_differences_and_single_seed():
    s = _experiment({"a": [0.5], "b": [0.25]}).summary("m")
    assert s.row("b") == {"n": 1, "mean": 0.25, "min": 0.25, "max": 0.25}


def test_text_and_html_tables_and_describe():
    s = _experiment({"no warmup": BASE, "warmup": NEW}).summary("m", baseline="no warmup", scale=100, digits=2, unit="pp")
    lines = str(s).splitlines()
    assert lines[0] == "m × 100 (pp) over 4 seeds; differences paired by seed vs no warmup (higher is better)"
    assert lines[1].split() == ["variant", "n", "mean", "min", "max", "diff", "mean", "diff", "min", "diff", "max", "wins", "ties"]
    assert lines[2].split() == ["no", "warmup", "4", "75.00", "60.00", "90.00", "baseline"]
    assert lines[3].split() == ["warmup", "4", "77.50", "65.00", "95.00", "+2.50", "-5.00", "+10.00", "2/4", "1/4"]
    assert len({len(line) for line in lines[1:] if not line.endswith("baseline")}) == 1  # fixed width
    table = s._repr_html_()
    assert table.startswith("<table>") and table.endswith("</table>") and "<script" not in table and "class=" not in table
    assert table.count("<tr>") == 3 and "<td>warmup</td>" in table and ">+10.00</td>" in table
    assert s.describe("warmup") == (
        "warmup vs no warmup: mean difference +2.50 pp (min -5.00, max +10.00); better on 2 of 4 seeds, equal on 1"
    )
    one = _experiment({"a": [0.5], "b": [0.75]}).summary("m", baseline="a", digits=1)
    assert one.describe("b") == "b vs a: mean difference +0.2 (min +0.2, max +0.2); better on 1 of 1 seed"
    assert "&lt;b&gt;" in _experiment({"<b>": [1.0]}).summary("m")._repr_html_()


def test_values_and_trial_errors_name_what_exists():
    exp = Experiment([Trial("a", 0, {"m": 1.0, "k": 2.0}), Trial("b", 0, {"m": 3.0})])
    with pytest.raises(ValueError, match=re.escape("`metric` must be a metric every trial returned, one of ['m']. Received: metric='k' (missing from variant 'b', seed 0)")):
        exp.values("k")
    with pytest.raises(ValueError, match=re.escape("`variant` must be one of ['a', 'b']. Received: variant='c'")):
        exp.trial("c", 0)
    assert exp.trial("b", 0).metrics == {"m": 3.0}
    assert exp.histories() == {"a": [{}], "b": [{}]}


def test_save_load_round_trip(tmp_path):
    def fn(seed):
        return {"acc": 0.5 + seed / 10, "history": {"loss": [1.0, 0.5 - seed]}, "note": f"seed {seed}",
                "table": {"a": [1, 2]}, "features": np.zeros(2), "model": object(), "nan": math.nan}

    exp = run_variants({"x": fn, "y": fn}, [0, 3], verbose=0)
    path = exp.save(tmp_path / "results.json")
    json.loads(path.read_text().replace("NaN", "null"))  # plain JSON, apart from NaN
    loaded = Experiment.load(path)
    assert loaded.variants == ["x", "y"] and loaded.seeds == [0, 3]
    for a, b in zip(exp.trials, loaded.trials):
        assert (a.variant, a.seed, a.history, a.seconds) == (b.variant, b.seed, b.history, b.seconds)
        assert a.metrics["acc"] == b.metrics["acc"] and math.isnan(b.metrics["nan"])
        assert b.extras == {"note": a.extras["note"], "table": {"a": [1, 2]}}  # arrays, objects dropped
    assert json.dumps(Experiment.from_dict(exp.to_dict()).to_dict()) == json.dumps(exp.to_dict())  # NaN != NaN
    assert [f.name for f in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    path.write_text("old")

    def broken_dump(data, f, **kwargs):
        f.write('{"format": "half')
        raise OSError("disk full")

    monkeypatch.setattr(experiments.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        _experiment({"a": [1.0]}).save(path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["results.json"], "the temporary file is removed"


def test_stepper_has_one_panel_per_trial_in_run_order():
    exp = _experiment({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    box = exp.stepper(lambda t: f"<b>{t.metrics['m']}</b>", description="run")
    slider, tabs = box.children
    assert slider.options == ("a · seed 10", "b · seed 10", "a · seed 11", "b · seed 11")
    assert [c.value for c in tabs.children] == ["<b>1.0</b>", "<b>3.0</b>", "<b>2.0</b>", "<b>4.0</b>"]
    assert slider.description == "run"
    box = exp.stepper(lambda t: ipywidgets.Label(t.variant), label=lambda t: f"{t.seed}/{t.variant}")
    assert box.children[0].options == ("10/a", "10/b", "11/a", "11/b")


E = _experiment({"a": [1.0, 2.0], "b": [3.0, 4.0]})


@pytest.mark.parametrize("call, message", [
    (lambda: run_variants({}, [0]), "`variants` must be a non-empty dict {name: fn}, fn(seed) returning a dict. Received: variants={}"),
    (lambda: run_variants([_draw], [0]), "`variants` must be a non-empty dict {name: fn}, fn(seed) returning a dict. Received: variants=[<function _draw"),
    (lambda: run_variants({"a": 3}, [0]), "`variants['a']` must be a function fn(seed) returning a dict. Received: variants['a']=3"),
    (lambda: run_variants({1: _draw}, [0]), "`variants` must be a dict whose keys are non-empty strings. Received: key 1"),
    (lambda: run_variants({"a": _draw}, []), "`seeds` must be a non-empty list of distinct integers in [0, 2**32). Received: seeds=[]"),
    (lambda: run_variants({"a": _draw}, [0, -1]), "`seeds` must be a non-empty list of distinct integers in [0, 2**32). Received: seeds=[0, -1]"),
    (lambda: run_variants({"a": _draw}, [1, 1]), "Received: seeds=[1, 1]"),
    (lambda: run_variants({"a": _draw}, [0.5]), "Received: seeds=[0.5]"),
    (lambda: run_variants({"a": _draw}, 3), "Received: seeds=3"),
    (lambda: run_variants({"a": _draw}, [2**32]), "Received: seeds=[4294967296]"),
    (lambda: run_variants({"a": _draw}, [0], verbose=2), "`verbose` must be 0 or 1. Received: verbose=2"),
    (lambda: run_variants({"a": _draw, "b": lambda s: 0.5}, [0], verbose=0), "`variants['b'](0)` must be a dict of metrics, 'history' and extras. Received: float from variant 'b' at seed 0: 0.5"),
    (lambda: run_variants({"a": lambda s: {"history": 3}}, [4], verbose=0), "`variants['a'](4)['history']` must be a keras History or a dict of per-epoch lists. Received: variants['a'](4)['history'] of type int"),
    (lambda: run_variants({"a": lambda s: {"history": {"loss": ["x"]}}}, [0], verbose=0), "`variants['a'](0)['history']['loss']` must be a list of numbers, one per epoch. Received: variants['a'](0)['history']['loss']=['x']"),
    (lambda: run_variants({"a": lambda s: {1: 2.0}}, [0], verbose=0), "`variants['a'](0)` must be a dict with string keys. Received: key 1 from variant 'a' at seed 0"),
    (lambda: Trial("", 0), "`variant` must be a non-empty string. Received: variant=''"),
    (lambda: Trial("a", -1), "`seed` must be an integer >= 0. Received: seed=-1"),
    (lambda: Trial("a", 0, {"m": "high"}), "`metrics` must be a dict {name: number}. Received: metrics['m']='high'"),
    (lambda: Trial("a", 0, seconds=-1), "`seconds` must be a number >= 0. Received: seconds=-1"),
    (lambda: Experiment([]), "`trials` must be a non-empty list of Trial. Received: trials=[]"),
    (lambda: Experiment([Trial("a", 0), Trial("a", 0)]), "`trials` must be one Trial per (variant, seed) pair, every pair present. Received: 2 trials (1 distinct pairs) for 1 variants x 1 seeds"),
    (lambda: Experiment([Trial("a", 0), Trial("b", 1)]), "Received: 2 trials (2 distinct pairs) for 2 variants x 2 seeds"),
    (lambda: E.values("acc"), "`metric` must be a metric every trial returned, one of ['m']. Received: metric='acc'"),
    (lambda: E.trial("a", 12), "`seed` must be one of [10, 11]. Received: seed=12"),
    (lambda: E.summary("m", baseline="z"), "`baseline` must be one of ['a', 'b']. Received: baseline='z'"),
    (lambda: E.summary("m", higher_is_better=1), "`higher_is_better` must be True or False. Received: higher_is_better=1"),
    (lambda: E.summary("m", scale=0), "`scale` must be a finite positive number. Received: scale=0"),
    (lambda: E.summary("m", digits=-1), "`digits` must be an integer >= 0. Received: digits=-1"),
    (lambda: E.summary("m", unit=None), "`unit` must be a string. Received: unit=None"),
    (lambda: E.summary("m").describe("b"), "`baseline` must be a variant (given to summary()) for describe() to compare with. Received: baseline=None"),
    (lambda: E.summary("m", baseline="a").describe("a"), "`variant` must be one of ['b']. Received: variant='a'"),
    (lambda: E.summary("m").row("c"), "`variant` must be one of ['a', 'b']. Received: variant='c'"),
    (lambda: Summary("m", {"a": [1.0], "b": [1.0, 2.0]}), "`values` must be one value per seed for every variant. Received: lengths [1, 2]"),
    (lambda: Summary("m", {"a": []}), "`values` must be a dict {name: 1-D array of numbers}. Received: values['a']=[]"),
    (lambda: Summary("", {"a": [1.0]}), "`metric` must be a non-empty string"),
    (lambda: Experiment.from_dict({"trials": []}), "`d` must be a dict made by Experiment.to_dict() (format 'kerascool_lib.experiments/1'). Received: d={'trials': []}"),
    (lambda: Experiment.from_dict({"format": "kerascool_lib.experiments/1", "trials": [{"variant": "a", "seed": 0, "color": 1}]}), "`d['trials'][0]` must be a dict with keys among ['extras', 'history', 'metrics', 'seconds', 'seed', 'variant']"),
    (lambda: E.save(3), "`path` must be a str or os.PathLike. Received: path=3"),
    (lambda: Experiment.load(None), "`path` must be a str or os.PathLike. Received: path=None"),
    (lambda: E.stepper("fig"), "`panel` must be a function panel(trial) returning a figure, PNG bytes, HTML or a widget. Received: panel='fig'"),
    (lambda: E.stepper(str, label="x"), "`label` must be None or a function label(trial) returning a string. Received: label='x'"),
    (lambda: E.stepper(str, label=lambda t: t.variant), "`labels` must be distinct, non-empty strings"),
])
def test_bad_input_is_refused_with_the_exact_message(call, message):
    with pytest.raises(ValueError) as info:
        call()
    text = str(info.value)
    assert text.startswith(message) if message.startswith("`") else text.endswith(message), text
