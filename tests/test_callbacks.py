"""Unit tests of kerascool_lib.callbacks on tiny synthetic data.

The evaluator's logs and best weights, the warmup callback against the schedule and its closed
form, and variables set mid-training proven to change the compiled step's gradient. Bad input:
the table in ``tests/test_bad_input.py``, one test per case.
"""

import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from _toys import (
    FailingSave,
    two_layer_model,
    weights_equal,
    loaded,
    toy_classification,
    classifier,
    worst_class_accuracy,
    WeightsPerEpoch,
    lr_probe,
    KernelTrace,
)
from kerascool_lib import callbacks, weights
from kerascool_lib.weights import save_weights_atomically, swapped_weights
from kerascool_lib.callbacks import (
    EvaluateAndKeepBest,
    LearningRateRecorder,
    LinearWarmupCallback,
    VariableScheduler,
)
from kerascool_lib.schedules import LinearWarmup

ROOT = pathlib.Path(__file__).resolve().parent.parent


# ── EvaluateAndKeepBest ───────────────────────────────────────────────────────────────────────


def test_evaluator_logs_the_metric_and_keeps_the_best_weights(tmp_path):
    x, y = toy_classification()
    model = classifier()
    keep = EvaluateAndKeepBest((x, y), worst_class_accuracy, "val_worst", filepath=tmp_path / "best.weights.h5")
    trace = WeightsPerEpoch()
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=0, callbacks=[keep, trace])
    # the logged value is the metric of that epoch's weights, recomputed here
    recomputed = []
    for w in trace.weights:
        with swapped_weights(model, w):
            recomputed.append(worst_class_accuracy(y, model.predict(x, verbose=0)))
    assert history.history["val_worst"] == keep.history == pytest.approx(recomputed)
    best_epoch = int(np.argmax(keep.history))  # the first of equal values wins
    assert keep.best == max(keep.history) and keep.best_epoch == best_epoch
    assert weights_equal(keep.best_weights, trace.weights[best_epoch])
    assert weights_equal(loaded_classifier(tmp_path / "best.weights.h5"), trace.weights[best_epoch])
    assert weights_equal(model.get_weights(), trace.weights[-1]), "restore_best_weights=False"


def loaded_classifier(path):
    model = classifier(seed=99)
    model.load_weights(path)
    return model.get_weights()


def test_later_callbacks_can_monitor_the_logged_metric(tmp_path):
    x, y = toy_classification()
    model = classifier()
    keep = EvaluateAndKeepBest((x, y), worst_class_accuracy, "val_worst", filepath=tmp_path / "ours.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "builtin.weights.h5", monitor="val_worst", mode="max",
                                                 save_best_only=True, save_weights_only=True)
    stop = keras.callbacks.EarlyStopping(monitor="val_worst", mode="max", patience=100)
    model.fit(x, y, epochs=5, batch_size=32, verbose=0, callbacks=[keep, checkpoint, stop])
    assert checkpoint.best == keep.best and stop.best == keep.best
    assert weights_equal(loaded_classifier(tmp_path / "ours.weights.h5"), loaded_classifier(tmp_path / "builtin.weights.h5"))


def test_evaluator_mode_min_and_restore_best_weights():
    x, y = toy_classification()
    model = classifier()

    def error_rate(y_true, y_pred):
        return float(np.mean(y_pred.argmax(axis=1) != y_true))

    keep = EvaluateAndKeepBest((x, y), error_rate, "val_error", mode="min", restore_best_weights=True)
    trace = WeightsPerEpoch()
    model.fit(x, y, epochs=5, batch_size=32, verbose=0, callbacks=[keep, trace])
    assert keep.best == min(keep.history) and keep.best_epoch == int(np.argmin(keep.history))
    assert weights_equal(model.get_weights(), trace.weights[keep.best_epoch])


def test_evaluator_skips_nan_and_respects_min_delta():
    keep = EvaluateAndKeepBest((np.zeros((2, 1)), np.zeros(2)), lambda y, p: 0.0, "v", min_delta=0.1)
    assert keep._is_improvement(0.5)
    keep.best = 0.5
    assert not keep._is_improvement(float("nan"))
    assert not keep._is_improvement(0.55) and keep._is_improvement(0.61)


def test_evaluator_logs_nan_without_keeping_it(capsys):
    x, y = toy_classification()
    model = classifier()
    keep = EvaluateAndKeepBest((x, y), lambda y_true, y_pred: float("nan"), "val_nan", restore_best_weights=True, verbose=1)
    before = model.get_weights()
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[keep])
    assert np.isnan(history.history["val_nan"]).all() and keep.best is None and keep.best_weights is None
    assert "Epoch 2: val_nan = nan (no finite value yet)" in capsys.readouterr().out
    assert not weights_equal(model.get_weights(), before), "nothing to restore: the trained weights stay"


def test_evaluator_restore_failure_keeps_the_current_weights():
    x, y = toy_classification()
    model = classifier()
    keep = EvaluateAndKeepBest((x, y), worst_class_accuracy, "val_worst", restore_best_weights=True)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keep])
    current = model.get_weights()
    keep.best_weights = current[:-1] + [np.zeros((7,), "float32")]  # the last array has the wrong shape
    with pytest.raises(ValueError):
        keep.on_train_end()
    assert weights_equal(model.get_weights(), current)


def test_evaluator_refuses_to_overwrite_a_logged_key():
    x, y = toy_classification()
    keep = EvaluateAndKeepBest((x, y), worst_class_accuracy, "accuracy")
    with pytest.raises(ValueError, match=r"`name` must not be a key .* Received: name='accuracy'"):
        classifier().fit(x, y, epochs=1, verbose=0, callbacks=[keep])


def test_evaluator_refuses_a_metric_that_returns_no_number():
    x, y = toy_classification()
    keep = EvaluateAndKeepBest((x, y), lambda y_true, y_pred: "good", "val_words")
    with pytest.raises(ValueError, match=r"`metric` must return a single number. Received: metric\(y_true, y_pred\)='good'"):
        classifier().fit(x, y, epochs=1, verbose=0, callbacks=[keep])


def test_evaluator_failed_save_leaves_the_previous_best(tmp_path, monkeypatch):
    x, y = toy_classification()
    model = classifier()
    path = tmp_path / "best.weights.h5"
    calls = []

    def improves_every_epoch(y_true, y_pred):
        calls.append(1)
        return float(len(calls))

    keep = EvaluateAndKeepBest((x, y), improves_every_epoch, "val_count", filepath=path)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keep])
    before = path.read_bytes()

    def power_cut(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(weights.os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[keep])  # improves again, the save fails
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"]


# ── LinearWarmup and LinearWarmupCallback ─────────────────────────────────────────────────────


@pytest.mark.parametrize("jit_compile", [False, True])
def test_callback_and_schedule_give_identical_rates_and_updates(jit_compile):
    peak, warm, n, batch = 1e-3, 11, 48, 4  # 12 steps per epoch, warmup ends mid-epoch
    rates, updates = {}, {}
    for kind in ("callback", "schedule"):
        model = lr_probe(0.5 if kind == "callback" else LinearWarmup(peak, warm), jit_compile)
        record, trace = LearningRateRecorder(), KernelTrace()
        extra = [LinearWarmupCallback(peak, warm)] if kind == "callback" else []
        model.fit(np.ones((n, 1)), np.zeros((n, 1)), batch_size=batch, epochs=2, verbose=0, callbacks=extra + [record, trace])
        rates[kind], updates[kind] = np.array(record.learning_rates), trace.updates
        assert record.steps == list(range(2 * n // batch))
    expected = [peak * min(t + 1, warm) / warm for t in range(2 * n // batch)]
    assert np.array_equal(rates["callback"], rates["schedule"]), "bitwise identical"
    np.testing.assert_allclose(rates["schedule"], expected, rtol=1e-6)
    for kind in rates:  # the rate the compiled step really used
        np.testing.assert_allclose(updates[kind], rates[kind], rtol=1e-5)


def test_warmup_epochs_uses_the_steps_per_epoch_and_resumes_from_the_optimizer_step():
    model = lr_probe(0.5)
    warmup, record = LinearWarmupCallback(1e-3, warmup_epochs=2), LearningRateRecorder()
    model.fit(np.ones((40, 1)), np.zeros((40, 1)), batch_size=10, epochs=1, verbose=0, callbacks=[warmup, record])
    model.fit(np.ones((40, 1)), np.zeros((40, 1)), batch_size=10, epochs=2, verbose=0, callbacks=[warmup, record])
    expected = [1e-3 * min(k + 1, 8) / 8 for k in range(12)]  # the post's formula, 4 steps per epoch
    assert record.steps == list(range(12))
    np.testing.assert_allclose(record.learning_rates, expected, rtol=1e-6)


def test_warmup_epochs_needs_a_known_number_of_steps():
    def batches():
        for _ in range(3):
            yield np.ones((2, 1)), np.zeros((2, 1))

    model = lr_probe(0.5)
    with pytest.raises(ValueError, match=r"`warmup_epochs` needs the number of steps per epoch.*Received: params\['steps'\]=None"):
        model.fit(batches(), epochs=1, shuffle=False, verbose=0, callbacks=[LinearWarmupCallback(1e-3, warmup_epochs=1)])


def test_per_batch_callbacks_refuse_steps_per_execution():
    model = lr_probe(0.5)
    model.compile(keras.optimizers.SGD(0.5), "mse", steps_per_execution=2)
    with pytest.raises(ValueError, match=r"steps_per_execution=2"):
        model.fit(np.ones((4, 1)), np.zeros((4, 1)), batch_size=1, verbose=0, callbacks=[LinearWarmupCallback(1e-3, 2)])


def test_warmup_callback_cannot_drive_an_optimizer_built_with_a_schedule():
    model = lr_probe(LinearWarmup(1e-3, 2))
    with pytest.raises(TypeError, match="not settable"):
        model.fit(np.ones((2, 1)), np.zeros((2, 1)), batch_size=1, verbose=0, callbacks=[LinearWarmupCallback(1e-3, 2)])


def test_recorder_sees_learning_rate_scheduler_per_epoch():
    model = lr_probe(0.1)
    record, trace = LearningRateRecorder(), KernelTrace()
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-2 if epoch < 2 else 1e-3)
    history = model.fit(np.ones((6, 1)), np.zeros((6, 1)), batch_size=2, epochs=3, verbose=0, callbacks=[scheduler, record, trace])
    assert record.steps == list(range(9))
    np.testing.assert_allclose(record.learning_rates, [1e-2] * 6 + [1e-3] * 3, rtol=1e-6)
    np.testing.assert_allclose(trace.updates, record.learning_rates, rtol=1e-5)
    np.testing.assert_allclose(history.history["learning_rate"], [1e-2, 1e-2, 1e-3], rtol=1e-6)


# ── VariableScheduler ─────────────────────────────────────────────────────────────────────────


class WeightHolder(keras.layers.Layer):
    """An identity layer that owns a non-trainable scalar weight ``e``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.e = self.add_weight(shape=(), initializer=keras.initializers.Constant(0.1), trainable=False, name="e", dtype="float32")

    def call(self, x):
        return x


def weighted_probe(owner="model", jit_compile=False):
    """loss = e * mean(y_pred) on a zero Dense(1), x = 1, SGD(1): each update equals e."""
    inputs = keras.Input((1,))
    x = inputs
    if owner == "layer":
        holder = WeightHolder(name="holder")
        x = holder(x)
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype="float32")(x)
    model = keras.Model(inputs, outputs)
    if owner == "layer":
        e = holder.e
    else:
        e = keras.Variable(0.1, trainable=False, dtype="float32", name="e")
    if owner == "model":
        model.e = e
    model.compile(keras.optimizers.SGD(1.0), lambda y, p: e * ops.mean(p), jit_compile=jit_compile, auto_scale_loss=False)
    return model, e


@pytest.mark.parametrize("owner", ["model", "layer"])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_variable_set_per_step_changes_the_compiled_step_at_once(owner, jit_compile):
    model, e = weighted_probe(owner, jit_compile)
    scheduler = VariableScheduler(e, lambda step: 0.1 if step < 5 else 0.01, per="step")
    # no other callback touches the model mid-epoch: on JAX the scheduler itself must sync it
    history = model.fit(np.ones((8, 1)), np.zeros((8, 1)), batch_size=1, epochs=1, verbose=0, callbacks=[scheduler])
    kernel = float(ops.convert_to_numpy(model.layers[-1].kernel)[0, 0])
    assert kernel == pytest.approx(-(5 * 0.1 + 3 * 0.01), rel=1e-5)  # the sum of the 8 updates
    assert scheduler.values == [0.1] * 5 + [0.01] * 3
    assert history.history["e"] == [pytest.approx(0.01)]


def test_variable_set_per_epoch_and_logged():
    model, e = weighted_probe()
    scheduler, trace = VariableScheduler(e, lambda epoch: [0.3, 0.2, 0.05][epoch], name="loss_weight"), KernelTrace()
    history = model.fit(np.ones((4, 1)), np.zeros((4, 1)), batch_size=2, epochs=3, verbose=0, callbacks=[scheduler, trace])
    np.testing.assert_allclose(trace.updates, [0.3, 0.3, 0.2, 0.2, 0.05, 0.05], rtol=1e-5)
    np.testing.assert_allclose(history.history["loss_weight"], [0.3, 0.2, 0.05], rtol=1e-6)


def test_variable_the_model_does_not_own_is_refused():
    model, e = weighted_probe(owner=None)
    with pytest.raises(ValueError, match=r"`variable` must belong to the model being trained.*Received: variable='e'"):
        model.fit(np.ones((2, 1)), np.zeros((2, 1)), verbose=0, callbacks=[VariableScheduler(e, lambda i: 0.5)])


@pytest.mark.parametrize("bad", [float("nan"), "0.1", None])
def test_variable_schedule_must_return_a_finite_number(bad):
    model, e = weighted_probe()
    with pytest.raises(ValueError, match=r"`schedule` must return a finite number. Received: schedule\(0\)="):
        model.fit(np.ones((2, 1)), np.zeros((2, 1)), verbose=0, callbacks=[VariableScheduler(e, lambda i: bad)])


# Bad input to every public name: the table in tests/test_bad_input.py.
# No unsafe loading anywhere in the library: tests/test_safety.py.
