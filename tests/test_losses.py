"""kerascool_lib.losses: the center-loss layer and the feature-variance helpers.

The loss is checked against a hand computation in NumPy, the moving-average update against the
formula of Wen et al. (2016), and training against what it must do: centers that move towards
the class means, a loss weight that a callback changes inside the compiled step, and a model
that saves and loads without ``custom_objects``.
"""

import json
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib import losses as kcl
from kerascool_lib import metrics
from kerascool_lib.callbacks import VariableScheduler

try:
    import fcntl
except ImportError:  # Windows: each xdist worker runs its own subprocess
    fcntl = None

ROOT = pathlib.Path(__file__).resolve().parent.parent

RNG = np.random.default_rng(0)
F = RNG.normal(size=(12, 2)).astype("float32")
Y = np.array([0, 1, 2] * 4)


def _np(x):
    return ops.convert_to_numpy(x)


def _hand_loss(features, labels, centers, lamb):
    diff = features - centers[np.asarray(labels).reshape(-1)]
    return lamb * np.mean(0.5 * np.sum(diff**2, axis=1))


def _hand_update(features, labels, centers, alpha):
    new = centers.astype("float64").copy()
    labels = np.asarray(labels).reshape(-1)
    for j in range(len(centers)):
        members = features[labels == j]
        delta = np.sum(centers[j] - members, axis=0) / (1 + len(members))
        new[j] = centers[j] - alpha * delta
    return new


def _layer(alpha=None, lamb=0.5, seed=1):
    layer = kcl.CenterLoss(3, lamb=lamb, alpha=alpha,
                           centers_initializer=keras.initializers.RandomNormal(seed=seed))
    layer.build([(None, 2), (None,)])
    return layer


# ── the layer, called directly ────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("labels", [Y, Y.reshape(-1, 1), Y.astype("float32")], ids=["(N,)", "(N,1)", "float"])
@pytest.mark.parametrize("alpha", [None, 0.5])
def test_added_loss_equals_the_hand_computed_value(labels, alpha):
    layer = _layer(alpha)
    centers = _np(layer.centers).copy()
    out = layer([F, labels], training=True)
    np.testing.assert_array_equal(_np(out), F)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(_np(layer.losses[0])), _hand_loss(F, Y, centers, 0.5), rtol=1e-6)


@pytest.mark.parametrize("labels", [Y, Y.reshape(-1, 1)], ids=["(N,)", "(N,1)"])
def test_moving_average_update_follows_wen_et_al(labels):
    layer = _layer(alpha=0.3)
    before = _np(layer.centers).copy()
    layer([F, labels], training=True)
    np.testing.assert_allclose(_np(layer.centers), _hand_update(F, Y, before, 0.3), rtol=1e-5, atol=1e-6)


def test_alpha_one_with_a_single_sample_per_class_moves_halfway():
    layer = _layer(alpha=1.0)
    before = _np(layer.centers).copy()
    layer([F[:3], Y[:3]], training=True)  # one sample per class: c ← c − (c − f) / 2
    np.testing.assert_allclose(_np(layer.centers), (before + F[:3]) / 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("training", [False, None])
@pytest.mark.parametrize("alpha", [None, 0.5])
def test_no_loss_and_no_update_outside_training(training, alpha):
    layer = _layer(alpha)
    before = _np(layer.centers).copy()
    out = layer([F, Y], training=training)
    np.testing.assert_array_equal(_np(out), F)
    assert layer.losses == []
    np.testing.assert_array_equal(_np(layer.centers), before)


def test_mixed_precision_computes_the_loss_and_update_in_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = kcl.CenterLoss(3, lamb=0.5, alpha=0.5)
        out = layer([F * 100, Y], training=True)  # squared distances near 1e4 and beyond
        assert keras.backend.standardize_dtype(out.dtype) == "bfloat16" and layer.centers.dtype == "float32"
        loss = layer.losses[0]
        assert keras.backend.standardize_dtype(loss.dtype) == "float32"
        features = _np(ops.cast(out, "float32"))
        np.testing.assert_allclose(float(_np(loss)), _hand_loss(features, Y, np.zeros((3, 2)), 0.5), rtol=1e-6)
        np.testing.assert_allclose(_np(layer.centers), _hand_update(features, Y, np.zeros((3, 2)), 0.5), rtol=1e-5)
        x, y = _blobs(100)
        train, _, center = _models(alpha=0.5)
        history = train.fit([x, y], y, batch_size=50, epochs=2, verbose=0).history
        assert np.all(np.isfinite(history["loss"])) and np.abs(_np(center.centers)).max() > 0
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_centers_are_trainable_only_when_learned_by_gradient():
    assert [w.name for w in _layer(None).trainable_weights] == ["centers"]
    assert _layer(0.5).trainable_weights == []
    assert sorted(w.name for w in _layer(0.5).non_trainable_weights) == ["centers", "lamb"]


def test_zero_lambda_adds_a_zero_loss():
    layer = _layer(lamb=0.0)
    layer([F, Y], training=True)
    assert float(_np(layer.losses[0])) == 0.0


def test_output_shape_and_functional_shapes():
    layer = kcl.CenterLoss(10)
    assert layer.compute_output_shape([(None, 2), (None,)]) == (None, 2)
    out = layer([keras.Input((2,)), keras.Input((1,), dtype="int32")])
    assert tuple(out.shape) == (None, 2)


# ── in a model: fit, schedules, saving ────────────────────────────────────────────────────────


def _blobs(n=600, seed=0):
    """Three Gaussian blobs in 4-D: separable, with class means far from the origin."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    means = np.array([[3.0, 0, 0, 1], [0, 3.0, 1, 0], [-3.0, -3.0, 0, 0]])
    return (means[y] + rng.normal(size=(n, 4))).astype("float32"), y


def _models(alpha=None, lamb=0.5, seed=0):
    keras.utils.set_random_seed(seed)
    x_in = keras.Input((4,), name="x")
    y_in = keras.Input((), dtype="int32", name="label")
    f = keras.layers.Dense(2, name="features")(x_in)
    center = kcl.CenterLoss(3, lamb=lamb, alpha=alpha, name="center_loss")
    classify = keras.layers.Dense(3, name="logits")
    train = keras.Model([x_in, y_in], classify(center([f, y_in])))
    infer = keras.Model(x_in, classify(f))
    train.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return train, infer, center


def _features(infer, x):
    return keras.Model(infer.input, infer.get_layer("features").output).predict(x, verbose=0)


@pytest.mark.parametrize("alpha", [None, 0.5], ids=["gradient", "moving-average"])
def test_centers_move_towards_the_class_means_during_fit(alpha):
    x, y = _blobs()
    train, infer, center = _models(alpha)
    before = _np(center.centers).copy()
    train.fit([x, y], y, batch_size=50, epochs=6, verbose=0)
    after = _np(center.centers)
    means = metrics.class_means(_features(infer, x), y)
    assert np.abs(after - before).max() > 0.1, "the centers did not move"
    dist_before = np.linalg.norm(before - means, axis=1)
    dist_after = np.linalg.norm(after - means, axis=1)
    assert np.all(dist_after < dist_before), (dist_before, dist_after)
    if alpha is not None:  # the moving average tracks the means closely
        assert np.all(dist_after < 0.25 * np.linalg.norm(means, axis=1)), (dist_after, means)


def test_fit_loss_is_cross_entropy_plus_center_loss():
    """With a zero learning rate and no center update, the loss fit reports is the sum of the
    cross-entropy and lamb times the center loss, both computed by hand."""
    x, y = _blobs(90)
    keras.utils.set_random_seed(0)
    train, infer, center = _models(alpha=None, lamb=0.7)
    center.centers.assign(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], dtype="float32"))
    train.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = train.fit([x, y], y, batch_size=90, epochs=1, verbose=0).history["loss"][0]
    logits = infer.predict(x, verbose=0)
    features = _features(infer, x)
    log_p = logits - np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1, keepdims=True)) - logits.max(1, keepdims=True)
    ce = -np.mean(log_p[np.arange(len(y)), y])
    expected = ce + _hand_loss(features, y, _np(center.centers), 0.7)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    # evaluate runs with training=False: the center loss is not added
    np.testing.assert_allclose(train.evaluate([x, y], y, verbose=0), ce, rtol=1e-5)


def test_lambda_assigned_by_a_callback_takes_effect_inside_the_compiled_step():
    """SGD with learning rate 0 leaves the features fixed, so the reported loss changes only
    through lamb: epoch 0 with lamb = 0 reports the cross-entropy alone, epoch 1 adds 2 × the
    center loss."""
    x, y = _blobs(60)
    train, infer, center = _models(alpha=None, lamb=0.0)
    train.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ce = train.evaluate([x, y], y, verbose=0)
    features = _features(infer, x)
    scheduler = VariableScheduler(center.lamb, lambda epoch: [0.0, 2.0][epoch], name="lamb")
    history = train.fit([x, y], y, batch_size=60, epochs=2, verbose=0, callbacks=[scheduler]).history
    assert history["lamb"] == [0.0, 2.0]
    np.testing.assert_allclose(history["loss"][0], ce, rtol=1e-5)
    np.testing.assert_allclose(history["loss"][1], ce + _hand_loss(features, y, _np(center.centers), 2.0), rtol=1e-5)


@pytest.mark.parametrize("alpha", [None, 0.5], ids=["gradient", "moving-average"])
def test_save_and_load_without_custom_objects(alpha, tmp_path):
    x, y = _blobs(100)
    train, infer, center = _models(alpha, lamb=0.25)
    train.fit([x, y], y, batch_size=50, epochs=1, verbose=0)
    center.lamb.assign(0.125)
    path = tmp_path / "center.keras"
    train.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects: the layer is registered
    layer = restored.get_layer("center_loss")
    assert isinstance(layer, kcl.CenterLoss) and layer.alpha == alpha
    np.testing.assert_array_equal(_np(layer.centers), _np(center.centers))
    assert float(_np(layer.lamb)) == 0.125
    # the inference model rebuilt from the restored layers predicts exactly as the original
    restored_infer = keras.Model(restored.get_layer("x").output,
                                 restored.get_layer("logits")(restored.get_layer("features").output))
    np.testing.assert_array_equal(restored_infer.predict(x, verbose=0), infer.predict(x, verbose=0))
    np.testing.assert_array_equal(restored.predict([x, y], verbose=0), train.predict([x, y], verbose=0))
    restored.fit([x, y], y, epochs=1, verbose=0)  # and it trains on, compiled as saved


def test_get_config_round_trip():
    layer = kcl.CenterLoss(7, lamb=0.3, alpha=0.2, centers_initializer="ones", name="c")
    config = layer.get_config()
    assert {k: config[k] for k in ("num_classes", "lamb", "alpha", "name")} == {
        "num_classes": 7, "lamb": 0.3, "alpha": 0.2, "name": "c"}
    clone = kcl.CenterLoss.from_config(config)
    assert clone.get_config() == config
    clone.build([(None, 3), (None,)])
    np.testing.assert_array_equal(_np(clone.centers), np.ones((7, 3)))
    clone.lamb.assign(0.9)  # the config reports the value in force
    assert clone.get_config()["lamb"] == pytest.approx(0.9)
    revived = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(revived, kcl.CenterLoss) and revived.num_classes == 7


# ── bad labels: a clear error eagerly, a NaN loss (and no update) inside a compiled step ───────
#
# Before: label 7 of 3 classes gave a gather error not naming `labels` (TF eager), the last
# class (TF XLA: loss 201.0) or NaN weights (JAX); -1 wrapped to the last class and 1.7 was
# truncated to 1, silently, on both backends.

BAD_LABELS = {"7 of 3 classes": 7.0, "-1": -1.0, "1.7": 1.7}
BAD_MESSAGE = r"`labels` must be class indices, integers in \[0, 3\)\. Received: labels\[5\]={}"


def check_eager_error(bad):
    """Called on concrete values, the layer raises a ValueError naming `labels` and the value."""
    labels = Y.astype("float32")
    labels[5] = bad
    layer = _layer(alpha=0.5)
    before = _np(layer.centers).copy()
    with pytest.raises(ValueError, match=BAD_MESSAGE.format(re.escape(repr(np.float32(bad).item())))):
        layer([F, labels], training=True)
    np.testing.assert_array_equal(_np(layer.centers), before)


class _Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses, self.centers = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))
        # through self.model, which syncs the variables from JAX's training state
        self.centers.append(_np(self.model.get_layer("center_loss").centers).copy())


def check_compiled_nan(bad, alpha=0.5, **compile_kwargs):
    """In a compiled step, the batch with the bad label reports a NaN loss, moves no center
    and puts no NaN in any weight; TerminateOnNaN stops the fit right after it."""
    x, y = _blobs(12)
    labels = y.astype("float32")
    labels[5] = bad  # in the second of three batches
    keras.utils.set_random_seed(0)
    x_in, y_in = keras.Input((4,)), keras.Input((), dtype="float32")  # float: 1.7 reaches the layer
    center = kcl.CenterLoss(3, lamb=0.5, alpha=alpha, name="center_loss",
                            centers_initializer=keras.initializers.RandomNormal(seed=1))
    model = keras.Model([x_in, y_in], keras.layers.Dense(3)(center([keras.layers.Dense(2)(x_in), y_in])))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  **compile_kwargs)
    record = _Record()
    model.fit([x, labels], y, batch_size=4, epochs=1, shuffle=False, verbose=0,
              callbacks=[record, keras.callbacks.TerminateOnNaN()])
    assert len(record.losses) == 2, f"ran {len(record.losses)} batches: {record.losses}"
    assert np.isfinite(record.losses[0]) and np.isnan(record.losses[1]), record.losses
    np.testing.assert_array_equal(record.centers[1], record.centers[0])
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


@pytest.mark.parametrize("bad", BAD_LABELS.values(), ids=list(BAD_LABELS))
def test_bad_label_raises_eagerly_naming_labels(bad):
    check_eager_error(bad)


@pytest.mark.parametrize("bad", BAD_LABELS.values(), ids=list(BAD_LABELS))
def test_bad_label_makes_the_loss_nan_under_jit_compile(bad):
    check_compiled_nan(bad, jit_compile=True)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a TensorFlow graph; test_bad_label_on_jax covers JAX")
def test_bad_label_makes_the_loss_nan_in_a_tf_graph_with_learned_centers():
    check_compiled_nan(7.0, alpha=None, jit_compile=False)


def test_bad_label_in_a_run_eagerly_fit_raises():
    with pytest.raises(ValueError, match=r"`labels` must be class indices"):
        check_compiled_nan(-1.0, run_eagerly=True)


def test_integral_float_labels_are_accepted_in_a_compiled_step():
    x, y = _blobs(12)
    train, _, _ = _models(alpha=0.5)
    train.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)
    history = train.fit([x, y.astype("float32")], y, batch_size=4, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


JAX_CASES = [f"{mode}-{case}" for mode in ("eager", "jit") for case in BAD_LABELS]


@pytest.fixture(scope="session")
def bad_labels_on_jax(tmp_path_factory):
    """Every JAX_CASES case, run in one subprocess on Keras's JAX backend (once per test run,
    shared by the pytest-xdist workers through a file)."""

    def produce():
        env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, __file__, "--bad-labels"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("BAD-LABELS ")]
        if not lines:
            return {case: f"no result: exit {proc.returncode}\n{proc.stderr[-3000:]}" for case in JAX_CASES}
        return json.loads(lines[-1][len("BAD-LABELS "):])

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None or fcntl is None:
        return produce()
    path = tmp_path_factory.getbasetemp().parent / f"bad-labels-jax-{run}.json"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            path.write_text(json.dumps(produce()))
        return json.loads(path.read_text())


@pytest.mark.jax_subprocess
@pytest.mark.parametrize("case", JAX_CASES)
def test_bad_label_on_jax(case, bad_labels_on_jax):
    assert bad_labels_on_jax[case] == "ok", bad_labels_on_jax[case]


def _jax_cases():
    results = {}
    for mode, check in [("eager", check_eager_error), ("jit", check_compiled_nan)]:
        for case, bad in BAD_LABELS.items():
            try:
                check(bad)
                results[f"{mode}-{case}"] = "ok"
            except BaseException as exc:  # noqa: BLE001 -- reported to the parent test
                results[f"{mode}-{case}"] = f"{type(exc).__name__}: {exc}"[:2000]
    print("BAD-LABELS " + json.dumps(results), flush=True)


# ── masking: a masked sample is left out of the loss and of the update ────────────────────────


@pytest.mark.parametrize("alpha", [None, 0.5])
def test_masked_samples_add_no_loss_and_move_no_center(alpha):
    padded_f = np.concatenate([F, np.zeros((3, 2), "float32")])
    padded_y = np.concatenate([Y, [0, 0, 2]])
    alone, padded = _layer(alpha), _layer(alpha)
    alone([F, Y], training=True)
    out = padded([keras.layers.Masking(0.0)(padded_f), padded_y], training=True)
    np.testing.assert_array_equal(_np(out), padded_f)
    np.testing.assert_allclose(float(_np(padded.losses[0])), float(_np(alone.losses[0])), rtol=1e-6)
    np.testing.assert_allclose(_np(padded.centers), _np(alone.centers), rtol=1e-6)


# Bad arguments: the cases of CenterLoss are in
# tests/test_bad_input.py, with those of every other public name.


if __name__ == "__main__" and sys.argv[1:] == ["--bad-labels"]:
    _jax_cases()
