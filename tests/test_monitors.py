"""Unit tests of kerascool_lib.monitors on tiny synthetic data, on TensorFlow and (subprocess) JAX.

The value a ``Monitored`` model reports for a ``TrackMean`` layer must equal the statistic
computed by hand in NumPy on the same weights: in ``evaluate`` (with a batch size that does not
divide the data), in validation, and in ``fit`` with a learning rate of 0 (so the weights are
the same in every step). Also: the layer is an exact identity, the tracker resets each epoch,
``.keras`` round trip, a plain ``keras.Model`` reports nothing. Bad input: the rows in
``tests/test_bad_input.py``.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib import monitors
from kerascool_lib.monitors import Monitored, TrackMean

ROOT = pathlib.Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 6)).astype("float32")
Y = RNG.normal(size=(30, 1)).astype("float32")


def tiny(fns=("squared_norm",), lr=0.0):
    """6 -> Dense(4, relu) -> a TrackMean per statistic -> Dense(1); the model and the hidden sub-model."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    tracked = hidden
    for fn in fns:
        tracked = TrackMean(fn, name=f"h_{fn}")(tracked)
    model = Monitored(inputs, keras.layers.Dense(1, name="out")(tracked))
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model, keras.Model(inputs, hidden)


BY_HAND = {
    "squared_norm": lambda h: np.mean(np.sum(h**2, axis=1)),
    "norm": lambda h: np.mean(np.sqrt(np.sum(h**2, axis=1))),
    "mean": lambda h: np.mean(h),
    "zero_fraction": lambda h: np.mean(h == 0),
}


def check_evaluate_fit_and_validation():
    model, hidden = tiny(sorted(BY_HAND))
    h = ops.convert_to_numpy(hidden(X)).astype("float64")
    result = model.evaluate(X, Y, batch_size=7, verbose=0, return_dict=True)  # batches 7,7,7,7,2
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X, Y)).history
    names = [f"h_{fn}" for fn in BY_HAND]
    assert sorted(history) == sorted(["loss", "val_loss"] + names + [f"val_{n}" for n in names])
    for fn, by_hand in BY_HAND.items():
        expected = by_hand(h)
        np.testing.assert_allclose(result[f"h_{fn}"], expected, rtol=1e-5, atol=1e-7)
        # lr=0: every epoch sees the same weights, so train and validation equal the by-hand value
        np.testing.assert_allclose(history[f"h_{fn}"], [expected] * 2, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(history[f"val_h_{fn}"], [expected] * 2, rtol=1e-5, atol=1e-7)


def check_trained_weights_and_saving(folder):
    model, hidden = tiny(lr=0.1)
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X, Y)).history
    expected = BY_HAND["squared_norm"](ops.convert_to_numpy(hidden(X)).astype("float64"))
    np.testing.assert_allclose(history["val_h_squared_norm"][-1], expected, rtol=1e-5)
    path = pathlib.Path(folder) / "monitored.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects, safe mode
    assert type(restored) is Monitored and [m.name for m in restored.metrics] == ["loss", "h_squared_norm"]
    np.testing.assert_array_equal(model.predict(X, verbose=0), restored.predict(X, verbose=0))
    again = restored.evaluate(X, Y, verbose=0, return_dict=True)
    np.testing.assert_allclose(again["h_squared_norm"], expected, rtol=1e-5)


def test_the_module_exports_its_two_names():
    assert monitors.__all__ == ["TrackMean", "Monitored"]


def test_reported_values_equal_numpy_in_evaluate_fit_and_validation():
    check_evaluate_fit_and_validation()


def test_trained_model_reports_the_by_hand_value_and_round_trips(tmp_path):
    check_trained_weights_and_saving(tmp_path)


def test_the_layer_is_an_exact_identity_and_stores_the_last_batch():
    layer = TrackMean("norm", name="n")
    out = ops.convert_to_numpy(layer(X))
    assert np.array_equal(out, X)
    assert float(layer.batch_count.numpy()) == 30.0
    np.testing.assert_allclose(float(layer.batch_total.numpy()), np.sum(np.linalg.norm(X, axis=1)), rtol=1e-5)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_a_callable_statistic_averages_all_its_values():
    layer = TrackMean(lambda x: ops.abs(x), name="abs")
    layer(X)
    np.testing.assert_allclose(float(layer.batch_total.numpy()) / float(layer.batch_count.numpy()),
                               np.mean(np.abs(X)), rtol=1e-5)
    assert float(layer.batch_count.numpy()) == X.size


def test_the_tracker_is_reset_at_each_epoch():
    model, _ = tiny(lr=0.0)
    first = model.fit(X, Y, batch_size=8, epochs=1, verbose=0).history["h_squared_norm"][0]
    second = model.fit(X, Y, batch_size=8, epochs=1, verbose=0).history["h_squared_norm"][0]
    assert first == pytest.approx(second, rel=1e-6)  # not accumulated across fits or epochs


def test_a_plain_model_with_the_layer_reports_nothing():
    inputs = keras.Input((6,))
    plain = keras.Model(inputs, keras.layers.Dense(1)(TrackMean(name="h")(inputs)))
    plain.compile(optimizer="sgd", loss="mse")
    assert sorted(plain.fit(X, Y, verbose=0).history) == ["loss"]


def test_config_round_trip():
    layer = TrackMean("zero_fraction", name="dead")
    clone = TrackMean.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and clone.fn == "zero_fraction"


def test_rebuilding_an_existing_model_shares_its_layers():
    inputs = keras.Input((6,))
    base = keras.Model(inputs, keras.layers.Dense(1)(TrackMean(name="h")(keras.layers.Dense(3)(inputs))))
    monitored = Monitored(base.inputs, base.outputs)
    assert [id(w) for w in monitored.weights] == [id(w) for w in base.weights]


@pytest.mark.jax_subprocess
def test_on_jax(tmp_path):
    """The same checks on the JAX backend, where a metric updated in a layer's call crashes."""
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import keras
        assert keras.backend.backend() == "jax"
        import test_monitors as t
        t.check_evaluate_fit_and_validation()
        print("jax ok")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT / "tests"), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "jax ok" in proc.stdout, proc.stderr[-3000:]
