"""kerascool_lib.ema: the closed form step by step, equality with the optimizer's use_ema,
restore on exception, save/load, and the same checks on JAX (in a subprocess)."""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib.ema import ExponentialMovingAverage, warmup_decay

ROOT = pathlib.Path(__file__).resolve().parent.parent


def tiny_model(use_ema=False, momentum=0.9, batch_norm=False):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, activation="tanh")(inputs)
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(keras.optimizers.Adam(0.05, use_ema=use_ema, ema_momentum=momentum), "mse")
    return model


def data(n=32):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


class RecordWeights(keras.callbacks.Callback):
    """The trainable weights after every step (put it before the EMA in the list: same values)."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_begin(self, logs=None):
        self.initial = [ops.convert_to_numpy(w) for w in self.model.trainable_variables]

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([ops.convert_to_numpy(w) for w in self.model.trainable_variables])


def closed_form(initial, steps, decay, warmup, first_step=1):
    ema = [w.astype("float64") for w in initial]
    for t, weights in enumerate(steps, start=first_step):
        d = warmup_decay(t, decay) if warmup else (0.0 if t == 1 else decay)
        ema = [d * e + (1 - d) * w for e, w in zip(ema, weights)]
    return ema


def shadows(ema):
    return [ops.convert_to_numpy(s) for s in ema.shadows]


def check_closed_form_step_by_step(warmup):
    model, (x, y) = tiny_model(), data()
    record, ema = RecordWeights(), ExponentialMovingAverage(0.9, warmup=warmup)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[record, ema])  # 8 steps
    assert len(record.steps) == 8
    for got, want in zip(shadows(ema), closed_form(record.initial, record.steps, 0.9, warmup)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # a second fit continues the count from optimizer.iterations (9, 10, ...)
    before, record2 = shadows(ema), RecordWeights()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[record2, ema])
    for got, want in zip(shadows(ema), closed_form(before, record2.steps, 0.9, warmup, first_step=9)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("warmup", [True, False])
def test_closed_form_step_by_step(warmup):
    check_closed_form_step_by_step(warmup)


def check_equals_optimizer_use_ema():
    x, y = data()
    builtin = tiny_model(use_ema=True, momentum=0.9)
    builtin.fit(x, y, batch_size=8, epochs=2, verbose=0)  # fit writes the average into the model
    ours, ema = tiny_model(), ExponentialMovingAverage(0.9, warmup=False)
    ours.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[ema])
    for got, want in zip(shadows(ema), builtin.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    with ema.swapped() as model:
        for got, want in zip(model.get_weights(), builtin.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_equals_optimizer_use_ema_on_the_same_run():
    check_equals_optimizer_use_ema()


def check_trajectory_untouched_and_restore_on_exception():
    x, y = data()
    plain = tiny_model(batch_norm=True)
    plain.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model, ema = tiny_model(batch_norm=True), ExponentialMovingAverage(0.5, validation_data=(x, y))
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[ema])
    assert sorted(history.history) == ["loss", "val_ema_loss"]
    for a, b in zip(model.get_weights(), plain.get_weights()):
        assert np.array_equal(a, b), "the callback (and its evaluation) does not change the trajectory"
    raw = model.get_weights()
    optimizer_state = [ops.convert_to_numpy(v) for v in model.optimizer.variables]
    averaged = ema.averaged_weights()
    trainable_ids = {id(w) for w in model.trainable_variables}
    for w, a, r in zip(model.weights, averaged, raw):  # BatchNorm statistics are the model's own
        assert (not np.array_equal(a, r)) if id(w) in trainable_ids else np.array_equal(a, r)
    with pytest.raises(RuntimeError, match="inside"):
        with ema.swapped():
            assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), averaged))
            raise RuntimeError("inside")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), raw))
    assert all(np.array_equal(ops.convert_to_numpy(v), s) for v, s in zip(model.optimizer.variables, optimizer_state))


def test_trajectory_untouched_and_restore_on_exception():
    check_trajectory_untouched_and_restore_on_exception()


def check_save_and_load(tmp_path):
    x, y = data()
    model, ema = tiny_model(), ExponentialMovingAverage(0.5)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ema])
    path = ema.save_weights(pathlib.Path(tmp_path) / "ema.weights.h5")
    inference = tiny_model()
    inference.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(inference.get_weights(), ema.averaged_weights()))
    raw = model.get_weights()
    fresh = ExponentialMovingAverage(0.5)
    fresh.load_weights(path, model)
    assert all(np.array_equal(a, b) for a, b in zip(shadows(fresh), shadows(ema)))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), raw)), "the model keeps its raw weights"


def test_save_and_load(tmp_path):
    check_save_and_load(tmp_path)


def test_refuses_another_model_and_steps_per_execution():
    x, y = data()
    model, ema = tiny_model(), ExponentialMovingAverage()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ema])
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"`model` must be the model whose weights this average holds"):
        other.fit(x, np.zeros((32, 2)), verbose=0, callbacks=[ema])
    spe = tiny_model()
    spe.compile("sgd", "mse", steps_per_execution=2)
    with pytest.raises(ValueError, match=r"steps_per_execution=1.*Received: steps_per_execution=2"):
        spe.fit(x, y, verbose=0, callbacks=[ExponentialMovingAverage()])
    with pytest.raises(ValueError, match=r"must have an average to use"):
        ExponentialMovingAverage().swapped()


def test_warmup_decay_values():
    assert warmup_decay(1, 0.999) == 2 / 11
    assert warmup_decay(8989, 0.999) < 0.999 and warmup_decay(8990, 0.999) == 0.999  # (10d - 1) / (1 - d) steps
    assert warmup_decay(10**6, 0.999) == 0.999


@pytest.mark.jax_subprocess
def test_scenarios_on_jax(tmp_path):
    """The scenarios above on the JAX backend, where the callback must sync the step's state
    before reading the weights (an assign to a variable the step does not own is not lost: the
    shadows are never read inside the compiled step)."""
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import keras
        assert keras.backend.backend() == "jax"
        import test_ema as t
        t.check_closed_form_step_by_step(True)
        t.check_equals_optimizer_use_ema()
        t.check_trajectory_untouched_and_restore_on_exception()
        t.check_save_and_load(sys.argv[2])
        print("jax ok")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT / "tests"), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=400)
    assert proc.returncode == 0 and "jax ok" in proc.stdout, proc.stderr[-3000:]
