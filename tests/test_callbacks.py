"""Unit tests of kerascool_lib.callbacks on tiny synthetic data.

Atomic saving (a failure injected during the write, between write and rename, and a process
killed between them), weight swaps that restore the originals on exceptions, the evaluator's
logs and best weights, the warmup schedule and callback against their closed form, and
variables set mid-training proven to change the compiled step's gradient. Bad input: the table
in ``tests/test_bad_input.py``, one test per case.
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

from kerascool_lib import callbacks
from kerascool_lib.callbacks import (
    EvaluateAndKeepBest,
    LearningRateRecorder,
    LinearWarmup,
    LinearWarmupCallback,
    VariableScheduler,
    save_weights_atomically,
    swapped_weights,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent


# ── helpers ───────────────────────────────────────────────────────────────────────────────────


class FailingSave(keras.layers.Layer):
    """An identity layer whose weight saving raises when ``fail`` is set: a crash mid-write."""

    fail = False

    def call(self, x):
        return x

    def save_own_variables(self, store):
        if FailingSave.fail:
            raise OSError("disk full (simulated)")
        super().save_own_variables(store)


def two_layer_model(width=3, out=2, failing=False, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(width, name="first")(inputs)
    if failing:
        x = FailingSave(name="failing")(x)
    outputs = keras.layers.Dense(out, name="second")(x)
    return keras.Model(inputs, outputs)


def weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def loaded(path, **kwargs):
    model = two_layer_model(**kwargs, seed=123)
    model.load_weights(path)
    return model.get_weights()


def toy_classification(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, y


def classifier(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def worst_class_accuracy(y_true, y_pred):
    hit = y_pred.argmax(axis=1) == y_true
    return float(min(hit[y_true == c].mean() for c in np.unique(y_true)))


class WeightsPerEpoch(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def lr_probe(learning_rate, jit_compile=False):
    """A zero Dense(1) on x = 1 with loss mean(y_pred): each SGD update equals the step's rate."""
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype="float32")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(learning_rate), lambda y, p: ops.mean(p),
                  jit_compile=jit_compile, auto_scale_loss=False)
    return model


class KernelTrace(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.values = [0.0]

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(float(self.model.layers[-1].kernel.numpy()[0, 0]))

    @property
    def updates(self):
        return -np.diff(self.values)


# ── save_weights_atomically ───────────────────────────────────────────────────────────────────


def test_atomic_save_round_trip_leaves_only_the_file(tmp_path):
    model = two_layer_model()
    path = save_weights_atomically(model, tmp_path / "sub" / "best.weights.h5")
    assert path == tmp_path / "sub" / "best.weights.h5"
    assert [p.name for p in path.parent.iterdir()] == ["best.weights.h5"]
    assert weights_equal(loaded(path), model.get_weights())


def test_a_plain_save_that_fails_midway_destroys_the_previous_file(tmp_path):
    """Why the atomic save exists: Keras truncates the target first."""
    model = two_layer_model(failing=True)
    path = tmp_path / "best.weights.h5"
    model.save_weights(path)
    FailingSave.fail = True
    try:
        with pytest.raises(OSError, match="disk full"):
            model.save_weights(path)
    finally:
        FailingSave.fail = False
    with pytest.raises(ValueError):
        loaded(path, failing=True)


def test_a_failure_during_the_write_keeps_the_previous_file_intact(tmp_path):
    model = two_layer_model(failing=True)
    path = save_weights_atomically(model, tmp_path / "best.weights.h5")
    before, first = path.read_bytes(), model.get_weights()
    model.set_weights([w + 1 for w in first])
    FailingSave.fail = True
    try:
        with pytest.raises(OSError, match="disk full"):
            save_weights_atomically(model, path)
    finally:
        FailingSave.fail = False
    assert path.read_bytes() == before
    assert weights_equal(loaded(path, failing=True), first)
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"], "temporary file removed"


def test_a_failure_between_write_and_rename_keeps_the_previous_file_intact(tmp_path, monkeypatch):
    model = two_layer_model()
    path = save_weights_atomically(model, tmp_path / "best.weights.h5")
    before, first = path.read_bytes(), model.get_weights()
    model.set_weights([w + 1 for w in first])

    def crash(src, dst):
        assert pathlib.Path(src).is_file() and pathlib.Path(src).stat().st_size > 0, "written before the rename"
        raise OSError("crash between write and rename (simulated)")

    monkeypatch.setattr(callbacks.os, "replace", crash)
    with pytest.raises(OSError, match="between write and rename"):
        save_weights_atomically(model, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert weights_equal(loaded(path), first)
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"]


def test_a_process_killed_between_write_and_rename_leaves_the_previous_file_loadable(tmp_path):
    child = textwrap.dedent(
        """
        import os, signal, sys
        import keras, numpy as np
        from kerascool_lib import callbacks
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(2, name="second")(keras.layers.Dense(3, name="first")(inputs)))
        model.set_weights([np.full(w.shape, 1.0, "float32") for w in model.get_weights()])
        path = sys.argv[1]
        callbacks.save_weights_atomically(model, path)
        model.set_weights([np.full(w.shape, 2.0, "float32") for w in model.get_weights()])
        callbacks.os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
        callbacks.save_weights_atomically(model, path)
        print("not reached")
        """
    )
    path = tmp_path / "best.weights.h5"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    proc = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert "not reached" not in proc.stdout
    weights = loaded(path)
    assert all(np.all(w == 1.0) for w in weights), "the previous (first) save is intact"
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "best.weights.h5")
    assert len(leftovers) == 1 and re.fullmatch(r"\.best\.\d+\.[0-9a-f]{8}\.tmp\.weights\.h5", leftovers[0])


# ── swapped_weights ───────────────────────────────────────────────────────────────────────────


def test_swapped_weights_swaps_then_restores(tmp_path):
    model = two_layer_model()
    original = model.get_weights()
    other = [w + 1 for w in original]
    with swapped_weights(model, other) as inside:
        assert inside is model and weights_equal(model.get_weights(), other)
    assert weights_equal(model.get_weights(), original)
    path = save_weights_atomically(two_layer_model(seed=7), tmp_path / "other.weights.h5")
    with swapped_weights(model, path):
        assert weights_equal(model.get_weights(), two_layer_model(seed=7).get_weights())
    assert weights_equal(model.get_weights(), original)


def test_swapped_weights_from_a_file_restores_the_optimizer_state_too(tmp_path):
    x, y = toy_classification()
    model = classifier()
    model.fit(x, y, epochs=1, verbose=0)
    path = save_weights_atomically(model, tmp_path / "epoch1.weights.h5")  # holds Adam's moments too
    model.fit(x, y, epochs=1, verbose=0)
    weights = model.get_weights()
    optimizer_state = [ops.convert_to_numpy(v) for v in model.optimizer.variables]
    with swapped_weights(model, path):
        loaded_state = [ops.convert_to_numpy(v) for v in model.optimizer.variables]
        assert not weights_equal(loaded_state, optimizer_state), "load_weights also loaded the optimizer"
    assert weights_equal(model.get_weights(), weights)
    assert weights_equal([ops.convert_to_numpy(v) for v in model.optimizer.variables], optimizer_state)


def test_swapped_weights_restores_when_the_block_raises():
    model = two_layer_model()
    original = model.get_weights()
    with pytest.raises(RuntimeError, match="inside"):
        with swapped_weights(model, [w * 0 for w in original]):
            raise RuntimeError("inside the block")
    assert weights_equal(model.get_weights(), original)


def test_swapped_weights_restores_when_loading_fails_halfway(tmp_path):
    wider = save_weights_atomically(two_layer_model(out=5, seed=3), tmp_path / "wider.weights.h5")
    model = two_layer_model()
    original = model.get_weights()
    with pytest.raises(ValueError):
        with swapped_weights(model, wider):  # "first" loads, then "second" does not fit
            pytest.fail("the block must not run")
    assert weights_equal(model.get_weights(), original)


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

    monkeypatch.setattr(callbacks.os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[keep])  # improves again, the save fails
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"]


# ── LinearWarmup and LinearWarmupCallback ─────────────────────────────────────────────────────


def test_linear_warmup_closed_form():
    peak, warm = 3e-3, 7
    plain = LinearWarmup(peak, warm)
    decay = keras.optimizers.schedules.CosineDecay(peak, decay_steps=20)
    joined = LinearWarmup(peak, warm, after=decay)
    for t in range(0, 40):
        expected = peak * min(t + 1, warm) / warm
        assert float(plain(t)) == pytest.approx(expected, rel=1e-6), t
        after = peak * 0.5 * (1 + np.cos(np.pi * min(t - warm, 20) / 20)) if t >= warm else expected
        assert float(joined(t)) == pytest.approx(after, rel=1e-5, abs=1e-9), t


def test_linear_warmup_serializes_and_the_model_reloads_in_safe_mode(tmp_path):
    schedule = LinearWarmup(1e-2, 5, after=keras.optimizers.schedules.ExponentialDecay(1e-2, 3, 0.5))
    clone = LinearWarmup.from_config(schedule.get_config())
    assert [float(clone(t)) for t in range(12)] == [float(schedule(t)) for t in range(12)]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedule), "mse")
    model.fit(np.ones((6, 2)), np.ones((6, 1)), batch_size=2, verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")  # safe_mode=True (the default)
    assert isinstance(restored.optimizer.learning_rate, type(model.optimizer.learning_rate))
    restored_schedule = restored.optimizer._learning_rate
    assert isinstance(restored_schedule, LinearWarmup) and isinstance(restored_schedule.after, keras.optimizers.schedules.ExponentialDecay)
    assert int(restored.optimizer.iterations.numpy()) == 3
    assert float(restored.optimizer.learning_rate) == float(schedule(3))


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
