"""kerascool_lib.tied: one kernel, used forward and transposed; the tie survives training,
saving, loading and cloning."""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib.tied import TiedDense

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _np(t):
    return ops.convert_to_numpy(t)


def _autoencoder(units=3, features=6):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((features,))
    tied = TiedDense(units, activation="relu", reverse_activation="sigmoid", name="tied")
    model = keras.Model(inputs, tied(tied(inputs), reverse=True))
    return model, tied


def _data(n=32, features=6):
    return np.random.default_rng(0).uniform(size=(n, features)).astype("float32")


def test_forward_and_reverse_match_numpy():
    model, tied = _autoencoder()
    for w in (tied.bias, tied.reverse_bias):
        w.assign(np.random.default_rng(1).normal(size=w.shape))
    x = _data(4)
    kernel, b, c = _np(tied.kernel), _np(tied.bias), _np(tied.reverse_bias)
    h = np.maximum(x @ kernel + b, 0.0)
    expected = 1.0 / (1.0 + np.exp(-(h @ kernel.T + c)))
    np.testing.assert_allclose(_np(model(x)), expected, rtol=1e-5, atol=1e-6)
    assert model.output.shape == (None, 6)
    assert tied(keras.Input((5, 6))).shape == (None, 5, 3)


def test_one_kernel_variable_trained_by_both_directions():
    model, tied = _autoencoder()
    assert [w.path for w in model.trainable_weights] == ["tied/kernel", "tied/bias", "tied/reverse_bias"]
    assert model.count_params() == 6 * 3 + 3 + 6
    kernel_before = _np(tied.kernel).copy()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    x = _data()
    model.fit(x, x, batch_size=32, epochs=1, verbose=0)
    assert model.trainable_weights[0] is tied.kernel  # the same object, not a copy
    assert not np.array_equal(_np(tied.kernel), kernel_before)
    # the decoder used the trained kernel: the output equals the formula with the new W
    kernel, b, c = (_np(w) for w in model.trainable_weights)
    expected = 1.0 / (1.0 + np.exp(-(np.maximum(x @ kernel + b, 0.0) @ kernel.T + c)))
    np.testing.assert_allclose(_np(model(x)), expected, rtol=1e-5, atol=1e-6)


def test_gradient_is_the_sum_of_both_directions():
    """Linear, no bias: d/dW of sum(x W Wᵀ) equals the sum of the two directions' terms."""
    keras.utils.set_random_seed(0)
    tied = TiedDense(2, use_bias=False)
    x = _data(3, 4)
    tied(x)
    w = _np(tied.kernel).astype("float64")
    ones = np.ones((3, 4))
    expected = x.T @ ones @ w + ones.T @ x @ w  # forward term + reverse term
    grad = _gradient(tied, x)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)


def _gradient(tied, x):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = ops.sum(tied(tied(x), reverse=True))
        return _np(tape.gradient(loss, tied.kernel))
    if backend == "jax":
        import jax

        def loss(kernel):
            return ops.sum(ops.matmul(ops.matmul(x, kernel), ops.transpose(kernel)))

        return np.asarray(jax.grad(loss)(tied.kernel.value))
    pytest.skip(f"no gradient helper for {backend}")


def test_save_and_load_in_safe_mode_keeps_the_tie(tmp_path):
    model, _ = _autoencoder()
    model.compile(optimizer="adam", loss="mse")
    x = _data()
    model.fit(x, x, epochs=1, verbose=0)
    path = tmp_path / "tied.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert len(loaded.weights) == 3
    assert len([w for w in loaded.weights if w.path.endswith("kernel")]) == 1
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))
    # training the loaded model still moves the one kernel both directions read
    loaded.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    loaded.fit(x, x, epochs=1, verbose=0)
    kernel, b, c = (_np(w) for w in loaded.trainable_weights)
    expected = 1.0 / (1.0 + np.exp(-(np.maximum(x @ kernel + b, 0.0) @ kernel.T + c)))
    np.testing.assert_allclose(_np(loaded(x)), expected, rtol=1e-5, atol=1e-6)


def test_clone_and_config_keep_the_tie():
    model, tied = _autoencoder()
    clone = keras.models.clone_model(model)
    assert len(clone.weights) == 3
    assert not any(a is b for a, b in zip(clone.weights, model.weights))
    clone.set_weights(model.get_weights())
    x = _data(4)
    np.testing.assert_array_equal(_np(clone(x)), _np(model(x)))
    config = tied.get_config()
    assert config["units"] == 3 and config["reverse_activation"] == "sigmoid"
    assert TiedDense.from_config(config).get_config() == config


def test_reverse_errors():
    with pytest.raises(ValueError, match="called forward once"):
        TiedDense(3)(np.ones((1, 3), "float32"), reverse=True)
    model, tied = _autoencoder()
    with pytest.raises(ValueError, match="`units`=3"):
        tied(np.ones((1, 4), "float32"), reverse=True)


def test_mask_passes_through():
    embed = keras.layers.Embedding(10, 4, mask_zero=True)
    tokens = np.array([[3, 5, 0]])
    tied = TiedDense(2)
    mask = embed.compute_mask(tokens)
    np.testing.assert_array_equal(_np(tied.compute_mask(tied(embed(tokens)), mask)), _np(mask))


@pytest.mark.jax_subprocess
def test_on_jax_in_a_subprocess(tmp_path):
    script = textwrap.dedent(
        """
        import sys, numpy as np, keras
        sys.path.insert(0, %r)
        import test_tied as t
        assert keras.backend.backend() == "jax"
        t.test_forward_and_reverse_match_numpy()
        t.test_one_kernel_variable_trained_by_both_directions()
        t.test_gradient_is_the_sum_of_both_directions()
        t.test_save_and_load_in_safe_mode_keeps_the_tie(__import__("pathlib").Path(%r))
        print("jax ok")
        """
        % (str(ROOT / "tests"), str(tmp_path))
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax ok" in result.stdout
