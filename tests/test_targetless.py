"""kerascool_lib.targetless: a reconstruction loss added by a layer (models trained with
``fit(x, None)``), and the guard that makes "no loss at all" an error on TF and JAX."""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib.targetless import ReconstructionLoss, RequireLoss

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _np(t):
    return ops.convert_to_numpy(t)


def _data(n=32, features=6, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, features)).astype("float32")


def _autoencoder(with_loss=True, kind="mse", seed=0, features=6):
    keras.utils.set_random_seed(seed)
    x_in = keras.Input((features,))
    code = keras.layers.Dense(3, activation="relu", name="encoder")(x_in)
    decoded = keras.layers.Dense(features, activation="sigmoid", name="decoder")(code)
    out = ReconstructionLoss(kind, name="reconstruction")([x_in, decoded]) if with_loss else decoded
    return keras.Model(x_in, out)


def _forward(weights, x):
    """The autoencoder's output in NumPy from its weights: sigmoid(relu(x W1 + b1) W2 + b2)."""
    w1, b1, w2, b2 = (w.astype("float64") for w in weights)
    return 1.0 / (1.0 + np.exp(-(np.maximum(x @ w1 + b1, 0.0) @ w2 + b2)))


def test_passes_the_reconstruction_and_adds_the_mean_squared_error():
    target, reconstruction = _data(5), _data(5, seed=1)
    layer = ReconstructionLoss()
    out = layer([target, reconstruction])
    assert np.array_equal(_np(out), reconstruction)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(_np(layer.losses[0]), np.mean((reconstruction - target) ** 2), rtol=1e-6)
    layer([target, target])  # each call replaces the loss of the previous one
    assert len(layer.losses) == 1 and float(_np(layer.losses[0])) == 0.0


def test_binary_crossentropy_and_weight():
    target, reconstruction = _data(5), _data(5, seed=1)
    layer = ReconstructionLoss("binary_crossentropy", weight=0.5)
    layer([target, reconstruction], training=False)  # added outside training too
    t, p = target.astype("float64"), reconstruction.astype("float64")
    expected = 0.5 * np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)))
    np.testing.assert_allclose(_np(layer.losses[0]), expected, rtol=1e-5)
    keras_bce = _np(keras.losses.binary_crossentropy(target, reconstruction))
    np.testing.assert_allclose(_np(layer.losses[0]), 0.5 * keras_bce.mean(), rtol=1e-5)
    zero = ReconstructionLoss(weight=0)
    zero([target, reconstruction])
    assert float(_np(zero.losses[0])) == 0.0


def test_masked_positions_are_left_out_and_the_mask_passes():
    rng = np.random.default_rng(2)
    target = rng.uniform(size=(2, 5, 3)).astype("float32")
    reconstruction = rng.uniform(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)
    layer = ReconstructionLoss()
    layer([target, reconstruction], mask=[None, mask])
    per_position = np.mean((reconstruction - target) ** 2, axis=-1)
    np.testing.assert_allclose(_np(layer.losses[0]), per_position[mask].mean(), rtol=1e-6)
    assert np.array_equal(_np(layer.compute_mask([target, reconstruction], [None, mask])), mask)
    assert layer.compute_mask([target, reconstruction], None) is None


def test_fit_without_targets_reports_the_closed_form_error_of_the_same_weights():
    """One full-batch step: the loss fit reports is computed with the weights before the step."""
    model = _autoencoder()
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    x = _data()
    before = [_np(w).copy() for w in model.weights]
    history = model.fit(x, None, batch_size=len(x), epochs=1, verbose=0)
    assert list(history.history) == ["loss"]
    closed_form = np.mean((_forward(before, x) - x) ** 2)
    np.testing.assert_allclose(history.history["loss"][0], closed_form, rtol=1e-5)
    assert not np.array_equal(_np(model.weights[0]), before[0])  # the step trained
    after = [_np(w) for w in model.weights]
    np.testing.assert_allclose(model.evaluate(x, verbose=0), np.mean((_forward(after, x) - x) ** 2), rtol=1e-5)
    assert model.fit(x, epochs=1, verbose=0).history["loss"][0] > 0  # fit(x) is fit(x, None)


def test_the_layer_trains_like_compile_mse_with_fit_x_x():
    x = _data(64)
    layer_model = _autoencoder()
    layer_model.compile(optimizer=keras.optimizers.Adam(0.01))
    compiled = _autoencoder(with_loss=False)
    compiled.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    for a, b in zip(layer_model.weights, compiled.weights):
        assert np.array_equal(_np(a), _np(b))  # same seed, same initial weights
    h1 = layer_model.fit(x, None, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
    h2 = compiled.fit(x, x, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-5)


def test_shapes_config_and_saving(tmp_path):
    model = _autoencoder(kind="binary_crossentropy")
    model.compile(optimizer="adam")
    x = _data()
    model.fit(x, None, epochs=1, verbose=0)
    layer = model.get_layer("reconstruction")
    assert layer.compute_output_shape([(None, 6), (None, 6)]) == (None, 6)
    assert model.output.shape == (None, 6) and model.trainable_weights and not layer.weights
    assert layer.get_config()["kind"] == "binary_crossentropy" and layer.get_config()["weight"] == 1.0
    clone = ReconstructionLoss.from_config(layer.get_config())
    assert (clone.kind, clone.weight) == (layer.kind, layer.weight)
    path = tmp_path / "autoencoder.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored.get_layer("reconstruction")) is ReconstructionLoss
    assert np.array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))
    assert model.evaluate(x, verbose=0) == restored.evaluate(x, verbose=0)
    restored.fit(x, None, epochs=1, verbose=0)  # the loss layer came back: fit needs no compile


def test_require_loss_lets_a_model_with_a_loss_train():
    model = _autoencoder()
    model.compile(optimizer="adam")
    guard = RequireLoss()
    model.fit(_data(), None, batch_size=8, epochs=2, verbose=0, callbacks=[guard])
    assert guard.monitor == "loss"
    # compiled with a loss, a first-batch loss of exactly 0.0 is a real one: not refused
    keras.utils.set_random_seed(0)
    zeros = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="zeros", use_bias=False)])
    zeros.compile(optimizer="sgd", loss="mse")
    history = zeros.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0, callbacks=[RequireLoss()])
    assert history.history["loss"] == [0.0]


def test_require_loss_refuses_a_model_with_no_loss():
    model = _autoencoder(with_loss=False)
    model.compile(optimizer="adam")
    # TensorFlow raises its own "No loss to compute" first; JAX runs the step and the guard raises
    with pytest.raises(ValueError, match="No loss to compute|compiled with no loss"):
        model.fit(_data(), None, epochs=1, verbose=0, callbacks=[RequireLoss()])
    # the callback's own rule, on any backend: a first batch at loss 0.0 with no compiled loss
    guard = RequireLoss()
    guard.set_model(model)
    guard.on_train_begin()
    with pytest.raises(ValueError, match=r"trained at loss 0\.0 on its first batch and was compiled with no loss"):
        guard.on_train_batch_end(0, {"loss": np.float32(0.0)})
    guard.on_train_batch_end(1, {"loss": 0.0})  # only the first batch is checked
    guard.on_train_begin()  # each fit checks its own first batch
    guard.on_train_batch_end(0, {"loss": 0.25})
    with pytest.raises(ValueError, match=r"watches `monitor`='total'.*keys: \['loss'\]"):
        fresh = RequireLoss(monitor="total")
        fresh.set_model(model)
        fresh.on_train_batch_end(0, {"loss": 0.25})


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "l1"}, r"`kind` must be one of \['binary_crossentropy', 'mse'\]\. Received: kind='l1'"),
    ({"weight": -1.0}, r"`weight` must be a finite number >= 0\. Received: weight=-1\.0"),
    ({"weight": float("inf")}, r"`weight` must be a finite number >= 0\. Received: weight=inf"),
    ({"weight": True}, r"`weight` must be a finite number >= 0\. Received: weight=True"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReconstructionLoss(**kwargs)


def test_bad_calls_and_monitor():
    with pytest.raises(ValueError, match=r"must be called on a pair \[target, reconstruction\]"):
        ReconstructionLoss()(keras.Input((4,)))
    with pytest.raises(ValueError, match=r"same shape\. Received: target shape=\(None, 4\), reconstruction shape=\(None, 5\)"):
        ReconstructionLoss()([keras.Input((4,)), keras.Input((5,))])
    with pytest.raises(ValueError, match=r"`monitor` must be a non-empty string"):
        RequireLoss(monitor="")


JAX_SCRIPT = textwrap.dedent("""
    import numpy as np, keras
    from keras import ops
    from kerascool_lib.targetless import ReconstructionLoss, RequireLoss
    assert keras.backend.backend() == "jax"
    x = np.random.default_rng(0).uniform(size=(32, 6)).astype("float32")

    def autoencoder(with_loss):
        keras.utils.set_random_seed(0)
        x_in = keras.Input((6,))
        dec = keras.layers.Dense(6, activation="sigmoid")(keras.layers.Dense(3, activation="relu")(x_in))
        model = keras.Model(x_in, ReconstructionLoss()([x_in, dec]) if with_loss else dec)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        return model

    # the trap: no loss at all, and JAX trains at loss 0.0 without moving a weight
    silent = autoencoder(False)
    before = [ops.convert_to_numpy(w).copy() for w in silent.weights]
    history = silent.fit(x, None, batch_size=8, epochs=2, verbose=0)
    assert history.history["loss"] == [0.0, 0.0], history.history
    assert all(np.array_equal(a, ops.convert_to_numpy(b)) for a, b in zip(before, silent.weights))
    try:
        silent.fit(x, None, epochs=1, verbose=0, callbacks=[RequireLoss()])
        raise SystemExit("RequireLoss did not raise")
    except ValueError as err:
        assert "compiled with no loss" in str(err), err

    # the loss layer on JAX: fit's first full-batch loss is the closed form of the same weights
    model = autoencoder(True)
    w1, b1, w2, b2 = (ops.convert_to_numpy(w).astype("float64") for w in model.weights)
    closed = np.mean((1 / (1 + np.exp(-(np.maximum(x @ w1 + b1, 0) @ w2 + b2))) - x) ** 2)
    history = model.fit(x, None, batch_size=32, epochs=1, verbose=0, callbacks=[RequireLoss()])
    assert np.isclose(history.history["loss"][0], closed, rtol=1e-5), (history.history, closed)
    assert np.isclose(model.evaluate(x, verbose=0), np.mean((model.predict(x, verbose=0) - x) ** 2), rtol=1e-5)
    print("ok")
""")


@pytest.mark.jax_subprocess
def test_on_jax_the_trap_the_guard_and_the_closed_form():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", JAX_SCRIPT], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the JAX backend's trap; other backends run it in a JAX subprocess")
def test_in_process_on_jax_the_trap_the_guard_and_the_closed_form(capsys):
    exec(JAX_SCRIPT, {})
    assert capsys.readouterr().out.strip().endswith("ok")
