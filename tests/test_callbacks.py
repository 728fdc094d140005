"""Unit tests of kerascool_lib.callbacks on tiny synthetic data.

The evaluator's logs and best weights, the warmup callback against the schedule and its closed
form, and variables set mid-training proven to change the compiled step's gradient. Bad input:
the table in ``tests/test_bad_input.py``, one test per case.
"""

import errno
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


# ── EvaluateAndKeepBest: what fit accepts, interruptions, a full disk ─────────────────────────
# The check_* functions are backend-neutral; the TF tests call them here and
# test_evaluator_scenarios_on_jax runs them again in a JAX subprocess.


class Batches(keras.utils.PyDataset):
    """A PyDataset of (x, y) batches of a structure of arrays."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.y) // self.batch_size)

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return keras.tree.map_structure(lambda a: a[part], self.x), self.y[part]


def two_input_classifier(dict_inputs=False, seed=0):
    """A model of two inputs, like the book's center-loss training model ([images, labels])."""
    keras.utils.set_random_seed(seed)
    a, b = keras.Input((4,), name="a"), keras.Input((1,), name="b")
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b} if dict_inputs else [a, b], outputs)
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    return model


def two_output_classifier(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = {"cls": keras.layers.Dense(3, activation="softmax", name="cls")(hidden),
               "aux": keras.layers.Dense(1, name="aux")(hidden)}
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.05), {"cls": "sparse_categorical_crossentropy", "aux": "mse"})
    return model


def check_several_inputs_and_outputs(tmp_path):
    x, y = toy_classification(n=56)
    xb = (x[:, :1] > 0).astype("float32")
    seen = []

    def recorded(y_true, y_pred):
        seen.append((y_true, y_pred))
        return worst_class_accuracy(y_true, y_pred)

    def assert_last_value_is_the_metric_of_the_final_weights(model, keep, inputs):
        # restore_best_weights=False: the model ends with the last epoch's weights
        expected = worst_class_accuracy(y, model.predict(inputs, verbose=0))
        assert keep.history[-1] == pytest.approx(expected)

    # a list of inputs, a dict of inputs, as arrays
    for dict_inputs in (False, True):
        model = two_input_classifier(dict_inputs)
        inputs = {"a": x, "b": xb} if dict_inputs else [x, xb]
        keep = EvaluateAndKeepBest((inputs, y), recorded, "val_worst", filepath=tmp_path / "best.weights.h5")
        history = model.fit(inputs, y, epochs=2, batch_size=16, verbose=0, callbacks=[keep])
        assert history.history["val_worst"] == keep.history and len(keep.history) == 2
        y_true, y_pred = seen[-1]
        assert np.array_equal(y_true, y) and y_pred.shape == (56, 3)
        assert_last_value_is_the_metric_of_the_final_weights(model, keep, inputs)

    # a PyDataset and a tf.data.Dataset of (x, y) batches: y_true is concatenated in order
    import tensorflow as tf  # tf.data also feeds JAX models

    for data in (Batches([x, xb], y, 16), tf.data.Dataset.from_tensor_slices(((x, xb), y)).batch(16)):
        model = two_input_classifier()
        keep = EvaluateAndKeepBest(data, recorded, "val_worst")
        model.fit([x, xb], y, epochs=2, batch_size=16, verbose=0, callbacks=[keep])
        y_true, y_pred = seen[-1]
        assert np.array_equal(y_true, y) and y_pred.shape == (56, 3)
        assert_last_value_is_the_metric_of_the_final_weights(model, keep, [x, xb])

    # several outputs: a dict of targets; the metric gets dicts of the same keys
    aux = x[:, :1].copy()
    model = two_output_classifier()

    def of_the_class_head(y_true, y_pred):
        seen.append((y_true, y_pred))
        return worst_class_accuracy(y_true["cls"], y_pred["cls"])

    keep = EvaluateAndKeepBest((x, {"cls": y, "aux": aux}), of_the_class_head, "val_worst")
    model.fit(x, {"cls": y, "aux": aux}, epochs=2, batch_size=16, verbose=0, callbacks=[keep])
    y_true, y_pred = seen[-1]
    assert sorted(y_true) == sorted(y_pred) == ["aux", "cls"]
    assert np.array_equal(y_true["cls"], y) and y_pred["cls"].shape == (56, 3) and y_pred["aux"].shape == (56, 1)


def test_evaluator_takes_what_fit_takes_several_inputs_outputs_and_datasets(tmp_path):
    check_several_inputs_and_outputs(tmp_path)


@pytest.mark.parametrize(
    "validation_data, received",
    [
        (([np.zeros((56, 4)), np.zeros((50, 1))], np.zeros(56)), r"x_val\[0\].shape=\(56, 4\), x_val\[1\].shape=\(50, 1\), y_val.shape=\(56,\)"),
        (({"a": np.zeros((8, 4)), "b": np.zeros((8, 1))}, {"cls": np.zeros(8), "aux": np.zeros((7, 1))}),
         r"x_val\['a'\].shape=\(8, 4\), x_val\['b'\].shape=\(8, 1\), y_val\['aux'\].shape=\(7, 1\), y_val\['cls'\].shape=\(8,\)"),
    ],
    ids=["a list of inputs", "dicts of inputs and targets"],
)
def test_evaluator_names_the_arrays_of_a_real_mismatch(validation_data, received):
    with pytest.raises(ValueError, match=r"`validation_data` must be arrays, .* one common, non-zero number of samples. Received: " + received):
        EvaluateAndKeepBest(validation_data, worst_class_accuracy, "v")


class Interrupt(keras.callbacks.Callback):
    """Ctrl-C in the middle of an epoch: raise KeyboardInterrupt after a given batch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch, self.last_weights = (epoch, batch), None, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.last_weights = self.model.get_weights()  # the weights of the last trained step
            raise KeyboardInterrupt


def check_interrupted_fit_leaves_a_consistent_best(tmp_path, restore_best_weights):
    x, y = toy_classification()
    model = classifier()
    path = tmp_path / "best.weights.h5"
    keep = EvaluateAndKeepBest((x, y), worst_class_accuracy, "val_worst", filepath=path,
                               restore_best_weights=restore_best_weights)
    trace, interrupt = WeightsPerEpoch(), Interrupt(epoch=2, batch=1)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[keep, trace, interrupt])
    assert len(keep.history) == 2 and keep.best_epoch == int(np.argmax(keep.history))
    assert weights_equal(keep.best_weights, trace.weights[keep.best_epoch])
    assert weights_equal(loaded_classifier(path), keep.best_weights), "the file is the best epoch's"
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"], "no temporary file"
    # fit never reached on_train_end: the model holds the last step's weights, whole
    assert weights_equal(model.get_weights(), interrupt.last_weights)
    assert not weights_equal(interrupt.last_weights, keep.best_weights)


@pytest.mark.parametrize("restore_best_weights", [False, True])
def test_an_interrupted_fit_leaves_the_best_file_and_best_weights_consistent(tmp_path, restore_best_weights):
    check_interrupted_fit_leaves_a_consistent_best(tmp_path, restore_best_weights)


def check_a_full_disk_stops_fit_and_keeps_the_previous_best(tmp_path):
    x, y = toy_classification()
    model = classifier()
    path = tmp_path / "best.weights.h5"
    calls = []

    def improves_every_epoch(y_true, y_pred):
        calls.append(1)
        return float(len(calls))

    save = model.save_weights

    def disk_fills_up_on_the_second_save(filepath, *args, **kwargs):
        if not pathlib.Path(path).exists():
            return save(filepath, *args, **kwargs)
        pathlib.Path(filepath).write_bytes(b"\x89HDF\r\n\x1a\n truncated")  # a half-written file
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    model.save_weights = disk_fills_up_on_the_second_save
    keep = EvaluateAndKeepBest((x, y), improves_every_epoch, "val_count", filepath=path)
    trace = WeightsPerEpoch()
    with pytest.raises(OSError, match=r"could not save weights to '.*best\.weights\.h5' \(the previous file is intact\): \[Errno 28\] ") as info:
        model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[keep, trace])
    assert info.value.errno == errno.ENOSPC
    assert keep.history == [1.0, 2.0], "the failed save stopped fit in epoch 2"
    assert (keep.best, keep.best_epoch) == (1.0, 0), "best describes the file, not the unsaved epoch"
    assert weights_equal(keep.best_weights, trace.weights[0])
    assert weights_equal(loaded_classifier(path), trace.weights[0])
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"], "no temporary file"


def test_a_full_disk_stops_fit_and_keeps_the_previous_best_consistent(tmp_path):
    check_a_full_disk_stops_fit_and_keeps_the_previous_best(tmp_path)


@pytest.mark.jax_subprocess
def test_evaluator_scenarios_on_jax(tmp_path):
    """The scenarios above, where a model trains, again on the JAX backend (set at import)."""
    script = textwrap.dedent(
        """
        import pathlib, sys, tempfile
        sys.path.insert(0, sys.argv[1])
        import keras
        assert keras.backend.backend() == "jax"
        import test_callbacks as t
        def folder():
            return pathlib.Path(tempfile.mkdtemp(dir=sys.argv[2]))
        t.check_several_inputs_and_outputs(folder())
        t.check_interrupted_fit_leaves_a_consistent_best(folder(), True)
        t.check_a_full_disk_stops_fit_and_keeps_the_previous_best(folder())
        print("jax ok")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT / "tests"), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=400)
    assert proc.returncode == 0 and "jax ok" in proc.stdout, proc.stderr[-3000:]


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
