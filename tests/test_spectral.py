"""kerascool_lib.spectral: the kernel used is W / sigma(W); u moves only in training; the stored
kernel is never touched; TF and JAX agree; save/load keeps it."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib.spectral import SpectrallyNormalized, singular_values, spectral_norms

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The same tiny case runs here and in the JAX subprocess: fixed weights, SGD(0) steps.
CASE = textwrap.dedent(
    """
    import json, keras, numpy as np
    from keras import ops
    from kerascool_lib.spectral import SpectrallyNormalized, spectral_norms

    def case():
        rng = np.random.default_rng(0)
        kernel = rng.normal(scale=3.0, size=(5, 4)).astype("float32")
        bias = rng.normal(size=(4,)).astype("float32")
        u0 = rng.normal(size=(4,)).astype("float32")
        x = rng.normal(size=(16, 5)).astype("float32")
        keras.utils.set_random_seed(0)
        inputs = keras.Input((5,))
        sn = SpectrallyNormalized(keras.layers.Dense(4, name="dense"), power_iterations=5, name="sn")
        model = keras.Model(inputs, sn(inputs))
        sn.layer.kernel.assign(kernel); sn.layer.bias.assign(bias); sn.u.assign(u0 / np.linalg.norm(u0))
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
        before = model.predict(x, verbose=0)
        u_after_predict = ops.convert_to_numpy(sn.u).copy()
        model.fit(x, np.zeros((16, 4), "float32"), batch_size=4, epochs=1, verbose=0)  # 4 steps
        return {"before": before.tolist(), "after": model.predict(x, verbose=0).tolist(),
                "u_after_predict": u_after_predict.tolist(), "u_after_fit": ops.convert_to_numpy(sn.u).tolist(),
                "u0": (u0 / np.linalg.norm(u0)).tolist(), "kernel": kernel.tolist(), "bias": bias.tolist(),
                "stored_kernel_after_fit": ops.convert_to_numpy(sn.layer.kernel).tolist(),
                "sigma": spectral_norms(model)["sn"], "x": x.tolist()}
    """
)
namespace: dict = {}
exec(CASE, namespace)  # noqa: S102 -- our own source, shared with the subprocess


def _np(t):
    return ops.convert_to_numpy(t)


def test_forward_uses_the_kernel_divided_by_its_largest_singular_value():
    keras.utils.set_random_seed(0)
    dense = keras.layers.Dense(6, kernel_initializer=keras.initializers.RandomNormal(stddev=4.0, seed=1))
    sn = SpectrallyNormalized(dense, power_iterations=50)
    x = np.random.default_rng(0).normal(size=(8, 10)).astype("float32")
    out = _np(sn(x))
    kernel, bias = _np(dense.kernel), _np(dense.bias)
    sigma_svd = np.linalg.svd(kernel, compute_uv=False)[0]
    assert sigma_svd > 10  # the stored kernel is far from normalized ...
    np.testing.assert_allclose(out, x @ (kernel / sigma_svd) + bias, rtol=1e-4, atol=1e-5)
    assert abs(spectral_norms(sn)[sn.name] - 1.0) < 1e-4  # ... the kernel used is
    values = singular_values(sn)[sn.name]
    np.testing.assert_allclose(values, np.linalg.svd(kernel, compute_uv=False) / sigma_svd, rtol=1e-4)


def test_u_moves_only_in_training_and_the_stored_kernel_never_changes():
    result = namespace["case"]()
    assert result["u_after_predict"] == result["u0"]  # predict stores nothing (bit for bit)
    assert result["u_after_fit"] != result["u0"]
    assert result["stored_kernel_after_fit"] == result["kernel"]  # SGD(0): untouched, not normalized
    kernel = np.array(result["kernel"], "float64")
    sigma_svd = np.linalg.svd(kernel, compute_uv=False)[0]
    # after 4 steps x 5 iterations the estimate has converged: predict uses W / sigma_true
    expected = np.array(result["x"]) @ (kernel / sigma_svd) + np.array(result["bias"])
    np.testing.assert_allclose(result["after"], expected, rtol=1e-3, atol=1e-3)
    assert abs(result["sigma"] - 1.0) < 1e-3


@pytest.mark.jax_subprocess
def test_the_same_on_jax_in_a_subprocess():
    here = namespace["case"]()
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    script = CASE + "\nprint('RESULT ' + json.dumps(case()))\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stderr[-3000:]
    jax = json.loads(lines[-1][len("RESULT "):])
    assert jax["u_after_predict"] == jax["u0"]
    assert jax["stored_kernel_after_fit"] == jax["kernel"]
    for key in ("before", "after", "u_after_fit"):
        np.testing.assert_allclose(jax[key], here[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert abs(jax["sigma"] - 1.0) < 1e-3


def test_gradient_flows_through_sigma():
    """Scaling the stored kernel by 3 changes nothing in the output: d out / d scale = 0."""
    keras.utils.set_random_seed(0)
    sn = SpectrallyNormalized(keras.layers.Dense(3, use_bias=False), power_iterations=30)
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    out = _np(sn(x))
    sn.layer.kernel.assign(sn.layer.kernel * 3.0)
    np.testing.assert_allclose(_np(sn(x)), out, rtol=1e-5, atol=1e-6)


def test_save_and_load_keep_u_and_predictions(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    sn = SpectrallyNormalized(keras.layers.Dense(4), power_iterations=3, name="sn")
    model = keras.Model(inputs, keras.layers.Dense(2)(sn(inputs)))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 5)).astype("float32")
    model.fit(x, np.zeros((32, 2), "float32"), batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")  # safe mode, no custom_objects
    restored = loaded.get_layer("sn")
    assert type(restored) is SpectrallyNormalized and restored.power_iterations == 3
    np.testing.assert_array_equal(_np(restored.u), _np(sn.u))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_conv_kernel_is_reshaped_to_fan_in_by_units():
    keras.utils.set_random_seed(0)
    conv = keras.layers.Conv2D(3, 2, name="conv")
    model = keras.Sequential([keras.Input((5, 5, 2)), conv, keras.layers.Flatten(), keras.layers.Dense(2, name="d")])
    values = singular_values(model)
    assert list(values) == ["conv", "d"]
    np.testing.assert_allclose(values["conv"], np.linalg.svd(_np(conv.kernel).reshape(8, 3), compute_uv=False), rtol=1e-6)
    assert spectral_norms(model)["d"] == pytest.approx(float(values["d"][0]))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"`power_iterations` must be an integer >= 1\. Received: power_iterations=0"):
        SpectrallyNormalized(keras.layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match=r"`layer` must be a Keras layer"):
        SpectrallyNormalized("dense")
    with pytest.raises(ValueError, match=r"`layer` must have a `kernel` or an `embeddings` weight"):
        SpectrallyNormalized(keras.layers.LayerNormalization())(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match=r"`model` must be a keras\.Model"):
        singular_values("model")
