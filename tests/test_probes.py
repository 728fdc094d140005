"""Unit tests of kerascool_lib.probes on tiny models: exact and structural.

``sub_model`` shares the model's layer objects and gives bit for bit the values the model
computes inside (the rest of the model applied to the probe's output reproduces ``model(x)``
exactly); it refuses a layer called twice. ``Record`` keeps the statistic of the last call in
every mode (eager, ``predict``, ``evaluate``, ``fit``), equal to NumPy's, honours a mask, and
survives a ``.keras`` round trip. ``activation_statistics`` against hand-computed values;
``ActivationStats`` against the statistics of a sub-model run by hand after ``fit``. The JAX
backend runs the same checks in a subprocess. Bad input: the table in ``tests/test_bad_input.py``.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import layers as L
from keras import ops

from kerascool_lib import probes
from kerascool_lib.probes import ActivationStats, Record, activation_statistics, sub_model

ROOT = pathlib.Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 6)).astype("float32")
Y = (np.arange(12) % 3).astype("int32")


def _np(t):
    return ops.convert_to_numpy(t)


def tiny(record=True):
    keras.utils.set_random_seed(0)
    x_in = keras.Input((6,), name="x")
    h = L.Dense(5, activation="relu", name="h")(x_in)
    if record:
        h = Record("nonzero_fraction", name="rec")(h)
    h = L.Dropout(0.5, name="drop")(h)
    out = L.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(x_in, out, name="tiny")
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


def check_sub_model_exact():
    model = tiny(record=False)
    probe = sub_model(model, ["h", "drop"])
    assert sorted(probe.output.keys()) == ["drop", "h"]
    assert probe.get_layer("h") is model.get_layer("h")
    values = probe(X)
    np.testing.assert_array_equal(_np(values["h"]), _np(values["drop"]))  # Dropout off in inference
    tail = _np(model.get_layer("out")(values["drop"]))
    np.testing.assert_array_equal(tail, _np(model(X)))  # bit for bit
    predicted = probe.predict(X, verbose=0)
    assert isinstance(predicted, dict) and predicted["h"].shape == (12, 5)
    np.testing.assert_allclose(predicted["h"], np.maximum(X @ _np(model.get_layer("h").kernel) + _np(model.get_layer("h").bias), 0),
                               rtol=1e-5, atol=1e-6)
    # trained weights are shared: after fit, the probe sees them
    model.fit(X, Y, epochs=1, verbose=0)
    np.testing.assert_array_equal(_np(probe(X)["h"]), _np(model.get_layer("h")(X)))
    # a Sequential model, one name as a string
    seq = keras.Sequential([keras.Input((6,)), L.Dense(4, name="a"), L.Dense(2, name="b")])
    np.testing.assert_array_equal(_np(sub_model(seq, "a")(X)["a"]), _np(seq.get_layer("a")(X)))


def check_shared_layer_refused():
    x_in = keras.Input((4,))
    shared = L.Dense(4, name="shared")
    h1 = shared(x_in)
    h2 = shared(h1)
    model = keras.Model(x_in, h2)
    assert shared.output is h1  # the silent trap sub_model refuses
    with pytest.raises(ValueError, match=r"`layer_names` must be names of layers called once .* Received: layer_names=\['shared'\]; 'shared' is called 2 times"):
        sub_model(model, "shared")


def check_record_every_mode():
    model = tiny()
    rec = model.get_layer("rec")
    h = model.get_layer("h")

    def expected(x):
        return (np.maximum(x @ _np(h.kernel) + _np(h.bias), 0) != 0).mean(axis=0)

    model(X[:5])  # eager call
    np.testing.assert_allclose(_np(rec.value), expected(X[:5]), atol=1e-7)
    assert int(_np(rec.count)) == 1
    model.predict(X, batch_size=8, verbose=0)  # two batches: the last one (4 rows) is kept
    np.testing.assert_allclose(_np(rec.value), expected(X[8:]), atol=1e-7)
    assert int(_np(rec.count)) == 3
    model.evaluate(X, Y, batch_size=12, verbose=0)
    np.testing.assert_allclose(_np(rec.value), expected(X), atol=1e-7)
    assert int(_np(rec.count)) == 4
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            m = self.model  # through self.model: on JAX this writes the step's state back first
            seen.append(_np(m.get_layer("rec").value).copy())

    probe = Probe()
    before = (_np(h.kernel).copy(), _np(h.bias).copy())
    model.fit(X, Y, batch_size=12, epochs=1, shuffle=False, verbose=0, callbacks=[probe])
    # the value recorded in the step is the one of the weights *before* the step's update
    np.testing.assert_allclose(seen[0], (np.maximum(X @ before[0] + before[1], 0) != 0).mean(0), atol=1e-7)
    assert int(_np(rec.count)) == 5
    assert rec.trainable_weights == [] and [w.name for w in rec.non_trainable_weights] == ["value", "count"]


def check_record_mask_and_stats():
    x = np.array([[[1.0, 2.0], [3.0, 0.0], [9.0, 9.0]]], "float32")  # (1, 3, 2)
    mask = np.array([[True, True, False]])
    for statistic, want in [("mean", [2.0, 1.0]), ("mean_square", [5.0, 2.0]), ("nonzero_fraction", [1.0, 0.5])]:
        rec = Record(statistic)
        out = rec(x, mask=mask)
        np.testing.assert_array_equal(_np(out), x)
        np.testing.assert_allclose(_np(rec.value), want, rtol=1e-6)
        assert rec.compute_mask(x, mask) is mask


def check_activation_stats():
    model = tiny(record=False)
    stats = ActivationStats(X, ["h"], batch_size=5)
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[stats])
    assert stats.history["epoch"] == [0, 1, 2]
    by_hand = activation_statistics(_np(sub_model(model, "h")(X)["h"]))
    for key in ("dead", "zero", "norm"):
        assert len(stats.history[f"h/{key}"]) == 3
        np.testing.assert_allclose(stats.history[f"h/{key}"][-1], by_hand[key], rtol=1e-6)
    logged = ActivationStats(X, "h", log=True)
    history = model.fit(X, Y, epochs=1, verbose=0, callbacks=[logged])
    assert history.history["h/dead"] == logged.history["h/dead"][1:]


def test_sub_model_exact():
    check_sub_model_exact()


def test_shared_layer_refused():
    check_shared_layer_refused()


def test_record_every_mode():
    check_record_every_mode()


def test_record_mask_and_stats():
    check_record_mask_and_stats()


def test_activation_stats():
    check_activation_stats()


def test_activation_statistics_closed_form():
    conv = np.zeros((2, 2, 2, 3))
    conv[0, 0, 0, 1] = 3.0
    conv[1, 1, 1, 1] = 4.0
    conv[1, 0, 1, 2] = -1.0  # negative counts as zero for a ReLU threshold of 0
    got = activation_statistics(conv)
    assert got == pytest.approx({"dead": 2 / 3, "zero": 22 / 24, "norm": (3.0 + 17**0.5) / 2}, rel=1e-15)
    assert activation_statistics(conv, threshold=-2.0)["dead"] == 0.0


def test_record_saves_and_loads(tmp_path):
    model = tiny()
    model(X)
    path = tmp_path / "m.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored.get_layer("rec")) is Record and restored.get_layer("rec").statistic == "nonzero_fraction"
    np.testing.assert_array_equal(_np(restored(X)), _np(model(X)))
    np.testing.assert_array_equal(_np(restored.get_layer("rec").value), _np(model.get_layer("rec").value))


def test_public_names():
    assert probes.__all__ == ["sub_model", "Record", "activation_statistics", "ActivationStats"]


@pytest.mark.jax_subprocess
def test_same_checks_on_jax():
    """The exact checks above, again on the JAX backend (set at import) in a subprocess."""
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import keras
        assert keras.backend.backend() == "jax"
        import test_probes as t
        t.check_sub_model_exact()
        t.check_shared_layer_refused()
        t.check_record_every_mode()
        t.check_record_mask_and_stats()
        t.check_activation_stats()
        print("jax ok")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT / "tests")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "jax ok" in proc.stdout, proc.stderr[-3000:]
