"""Unit tests of kerascool_lib.layers on tiny synthetic data.

Both layers go through the same contract: build, call against NumPy, output shape, config round
trip, training, and a ``.keras`` round trip without ``custom_objects``. ``ScaledL2Normalization``
also: the regularizer's penalty equals the closed form (in ``model.losses`` and in the loss),
a constraint holds after training, a frozen scale does not move, mixed precision. Bad input:
the table in ``tests/test_bad_input.py``, one test per case.
"""

import warnings

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib import layers
from kerascool_lib.layers import ScaledL2Normalization, SplitVector

from _toys import needs_float64

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 6)).astype("float32")


def _numpy(t):
    return ops.convert_to_numpy(t)


def _constant(value):
    return keras.initializers.Constant(value)


def test_the_module_exports_the_two_layers():
    assert layers.__all__ == ["ScaledL2Normalization", "SplitVector"]


# ── ScaledL2Normalization ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_scaled_l2_normalization_matches_numpy(axis):
    x = RNG.normal(size=(3, 4, 5)).astype("float32")
    out = _numpy(ScaledL2Normalization(axis=axis, scale_initializer=_constant(2.5))(x))
    expected = 2.5 * x / np.linalg.norm(x, axis=axis, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=axis), 2.5, rtol=1e-5)


def test_scaled_l2_normalization_maps_a_zero_vector_to_zero_not_nan():
    out = _numpy(ScaledL2Normalization()(np.zeros((2, 3), "float32")))
    assert np.array_equal(out, np.zeros((2, 3)))


def test_scaled_l2_normalization_shapes_and_weight():
    layer = ScaledL2Normalization()
    y = layer(keras.Input((7,)))
    assert y.shape == (None, 7)
    assert layer.compute_output_shape((None, 7)) == (None, 7)
    assert [w.path for w in layer.weights] == [f"{layer.name}/scale"]
    assert layer.scale.shape == (1,) and float(_numpy(layer.scale)[0]) == 1.0  # default: ones


def test_scaled_l2_normalization_rejects_the_batch_axis_at_build():
    with pytest.raises(ValueError, match=r"got `axis=3` for inputs of rank 2"):
        ScaledL2Normalization(axis=3)(np.ones((2, 3), "float32"))


def _regularized_model(l2=0.01, scale=3.0):
    inputs = keras.Input((6,))
    norm = ScaledL2Normalization(scale_initializer=_constant(scale),
                                 scale_regularizer=keras.regularizers.L2(l2), name="norm")
    outputs = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False, trainable=False)(norm(inputs))
    return keras.Model(inputs, outputs), norm


def test_regularizer_penalty_is_in_model_losses_and_in_the_loss():
    model, norm = _regularized_model(l2=0.01, scale=3.0)
    assert len(model.losses) == 1
    assert float(_numpy(model.losses[0])) == pytest.approx(0.01 * 3.0**2, rel=1e-6)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    y = np.zeros((16, 1), "float32")
    mse = float(np.mean(_numpy(model(X)) ** 2))
    assert model.evaluate(X, y, verbose=0) == pytest.approx(mse + 0.09, rel=1e-5)


def test_regularizer_shrinks_the_scale_when_it_is_the_only_loss():
    model, norm = _regularized_model(l2=0.5, scale=2.0)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=lambda y, p: ops.mean(p) * 0.0)
    model.fit(X, np.zeros((16, 1)), epochs=1, batch_size=16, verbose=0)
    # one SGD step on 0.5 * s**2: s <- s - 0.1 * s = 1.8
    assert float(_numpy(norm.scale)[0]) == pytest.approx(1.8, rel=1e-6)


def _sum_of(x):
    """A frozen Dense(1) with a kernel of ones: the sum of the features."""
    return keras.layers.Dense(1, kernel_initializer="ones", use_bias=False, trainable=False)(x)


def test_constraint_holds_after_training():
    inputs = keras.Input((6,))
    norm = ScaledL2Normalization(scale_constraint=keras.constraints.NonNeg(), name="norm")
    model = keras.Model(inputs, _sum_of(norm(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    target = -10.0 * np.ones((16, 1), "float32")  # positive inputs: only a negative scale fits
    model.fit(np.abs(X), target, epochs=3, batch_size=8, verbose=0)
    assert float(_numpy(norm.scale)[0]) == 0.0


def test_without_the_constraint_the_same_training_makes_the_scale_negative():
    """The control for the test above: it shows the constraint, not the data, holds s at 0."""
    inputs = keras.Input((6,))
    norm = ScaledL2Normalization(name="norm")
    model = keras.Model(inputs, _sum_of(norm(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(np.abs(X), -10.0 * np.ones((16, 1), "float32"), epochs=3, batch_size=8, verbose=0)
    assert float(_numpy(norm.scale)[0]) < 0.0


@pytest.mark.parametrize("trainable_scale", [True, False])
def test_frozen_scale_does_not_move_and_trainable_scale_does(trainable_scale):
    inputs = keras.Input((6,))
    norm = ScaledL2Normalization(trainable_scale=trainable_scale, name="norm")
    model = keras.Model(inputs, keras.layers.Dense(3)(norm(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    model.fit(X, np.arange(16) % 3, epochs=3, batch_size=4, verbose=0)
    moved = float(_numpy(norm.scale)[0]) != 1.0
    assert moved == trainable_scale
    assert any(w is norm.scale for w in model.trainable_weights) == trainable_scale
    assert any(w is norm.scale for w in model.non_trainable_weights) == (not trainable_scale)


def test_frozen_regularized_scale_adds_no_penalty():
    layer = ScaledL2Normalization(scale_regularizer="l2", trainable_scale=False)
    layer(X)
    assert layer.losses == []


def test_layer_trainable_false_freezes_the_scale_too():
    layer = ScaledL2Normalization(trainable=False)
    layer(X)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1


def test_scaled_l2_normalization_config_round_trip():
    layer = ScaledL2Normalization(axis=1, epsilon=1e-6, scale_initializer=_constant(4.0),
                                  scale_regularizer=keras.regularizers.L2(0.2),
                                  scale_constraint=keras.constraints.NonNeg(), trainable_scale=False,
                                  name="n")
    config = layer.get_config()
    assert config["axis"] == 1 and config["epsilon"] == 1e-6 and config["trainable_scale"] is False
    clone = ScaledL2Normalization.from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.scale_regularizer, keras.regularizers.L2) and clone.scale_regularizer.l2 == pytest.approx(0.2)
    assert isinstance(clone.scale_constraint, keras.constraints.NonNeg)
    clone(X)
    assert float(_numpy(clone.scale)[0]) == 4.0


def test_scaled_l2_normalization_accepts_names_of_keras_objects():
    layer = ScaledL2Normalization(scale_initializer="zeros", scale_regularizer="l2", scale_constraint="non_neg")
    layer(X)
    assert float(_numpy(layer.scale)[0]) == 0.0
    assert isinstance(layer.scale_regularizer, keras.regularizers.L2)
    assert isinstance(layer.scale_constraint, keras.constraints.NonNeg)


@needs_float64
@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager", "jit_compile"])
def test_scaled_l2_normalization_in_float64_computes_in_float64(jit_compile):
    """It used to compute in float32 whatever its dtype: off by 3.6e-8 from the float64 math."""
    # float32 values, as `predict` feeds float64 arrays as float32: the math is still float64
    x = RNG.normal(size=(4, 9)).astype("float32").astype("float64")
    layer = ScaledL2Normalization(scale_initializer=_constant(1.3), epsilon=1e-30, dtype="float64")
    model = keras.Sequential([keras.Input((9,), dtype="float64"), layer])
    model.compile(jit_compile=jit_compile)
    out = model.predict(x, verbose=0) if jit_compile else _numpy(layer(x))
    assert out.dtype == np.float64 and layer.scale.dtype == "float64"
    scale = float(_numpy(layer.scale)[0])  # Keras's Constant(1.3) is 1.3 rounded to float32
    np.testing.assert_allclose(out, scale * x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-13, atol=0)


def _no_mask_warning(caught):
    return not [w for w in caught if "does not support masking" in str(w.message)]


def test_scaled_l2_normalization_along_the_masked_axis_ignores_the_padding():
    """axis=1 normalizes over the steps: the padded steps must not count (they come out 0)."""
    tokens = keras.Input((None,), dtype="int32")
    keras.utils.set_random_seed(0)
    embed = keras.layers.Embedding(10, 3, mask_zero=True)
    norm = ScaledL2Normalization(axis=1)
    model = keras.Model(tokens, norm(embed(tokens)))
    padded = np.array([[1, 2, 3, 0, 0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out_padded, out_alone = model(padded), model(padded[:, :3])
    assert _no_mask_warning(caught)
    np.testing.assert_allclose(_numpy(out_padded)[:, :3], _numpy(out_alone), rtol=1e-6)
    np.testing.assert_array_equal(_numpy(out_padded)[:, 3:], 0.0)
    np.testing.assert_allclose(np.linalg.norm(_numpy(out_padded), axis=1), 1.0, rtol=1e-6)
    mask = embed.compute_mask(padded)
    np.testing.assert_array_equal(_numpy(norm.compute_mask(embed(padded), mask)), _numpy(mask))


def test_scaled_l2_normalization_under_mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = ScaledL2Normalization(scale_initializer=_constant(2.0))
        big = np.full((2, 1000), 300.0, "float32")  # sum of squares 9e7: overflows float16
        out = layer(big)
        assert layer.scale.dtype == "float32" and out.dtype == "float16"
        np.testing.assert_allclose(_numpy(out).astype("float32"), 2.0 / np.sqrt(1000), rtol=1e-3)
    finally:
        keras.mixed_precision.set_global_policy("float32")


# ── SplitVector ───────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("width, halves", [(2, (1, 1)), (6, (3, 3)), (7, (3, 4)), (9, (4, 5))])
def test_split_vector_halves_and_odd_widths(width, halves):
    first, second = SplitVector()(keras.Input((width,)))
    assert (first.shape, second.shape) == ((None, halves[0]), (None, halves[1]))
    x = np.arange(2 * width, dtype="float32").reshape(2, width)
    a, b = (_numpy(t) for t in SplitVector()(x))
    np.testing.assert_array_equal(a, x[:, : width // 2])
    np.testing.assert_array_equal(b, x[:, width // 2:])


def test_split_vector_on_another_axis():
    x = np.arange(2 * 5 * 3, dtype="float32").reshape(2, 5, 3)
    layer = SplitVector(axis=1)
    a, b = (_numpy(t) for t in layer(x))
    np.testing.assert_array_equal(a, x[:, :2])
    np.testing.assert_array_equal(b, x[:, 2:])
    assert layer.compute_output_shape((None, 5, 3)) == [(None, 2, 3), (None, 3, 3)]


def test_split_vector_declared_shapes_agree_with_the_traced_ones():
    """compute_output_shape is trusted blindly by Keras 3: check it against call's real output."""
    for shape in [(None, 7), (None, 4, 9), (3, 10)]:
        layer = SplitVector()
        declared = layer.compute_output_shape(shape)
        traced = [t.shape for t in keras.layers.Layer.compute_output_spec(layer, keras.KerasTensor(shape))]
        assert [tuple(s) for s in traced] == declared


def test_split_vector_refuses_a_width_below_two_or_unknown():
    with pytest.raises(ValueError, match=r"known width of at least 2 .* Received: input shape \(None, 1\)"):
        SplitVector()(keras.Input((1,)))
    with pytest.raises(ValueError, match=r"Received: input shape \(None, None\)"):
        SplitVector()(keras.Input((None,)))


def test_split_vector_has_no_weights_and_round_trips_its_config():
    layer = SplitVector(axis=2, name="split")
    assert layer.get_config()["axis"] == 2
    clone = SplitVector.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(np.ones((1, 2, 4)))
    assert clone.weights == []


def test_split_vector_feeds_two_named_outputs_that_train():
    inputs = keras.Input((6,))
    left, right = SplitVector()(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, {"cls": keras.layers.Dense(3, activation="softmax", name="cls")(left),
                                 "reg": keras.layers.Dense(1, name="reg")(right)})
    model.compile(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"})
    history = model.fit(X, {"cls": np.arange(16) % 3, "reg": X[:, :1]}, epochs=2, verbose=0)
    assert {"loss", "cls_loss", "reg_loss"} <= set(history.history)


@pytest.mark.parametrize("head", ["GlobalAveragePooling1D", "LSTM"])
def test_split_vector_keeps_the_mask_for_the_layers_after_it(head):
    """It used to drop the mask (Keras warned "does not support masking"), so a pooling or an
    LSTM after it averaged or ran over the padding: padded and unpadded inputs differed."""
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None,), dtype="int32")
    left, right = SplitVector()(keras.layers.Embedding(10, 6, mask_zero=True)(tokens))
    heads = [getattr(keras.layers, head)(*([] if head == "GlobalAveragePooling1D" else [2]))(h) for h in (left, right)]
    model = keras.Model(tokens, heads)
    padded = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out_padded = [_numpy(t) for t in model(padded)]
        SplitVector()(keras.layers.Embedding(10, 6, mask_zero=True)(padded))  # eager too
    assert _no_mask_warning(caught), [str(w.message) for w in caught]
    for row, length in enumerate([3, 2]):
        out_alone = [_numpy(t) for t in model(padded[row:row + 1, :length])]
        for a, b in zip(out_padded, out_alone):
            np.testing.assert_allclose(a[row], b[0], rtol=1e-5, atol=1e-6)


def test_split_vector_masks_each_half():
    embed = keras.layers.Embedding(10, 4, mask_zero=True)
    tokens = np.array([[1, 2, 3, 0, 0]])
    mask = _numpy(embed.compute_mask(tokens))
    features = embed(tokens)
    assert SplitVector().compute_mask(features, None) is None
    first, second = SplitVector().compute_mask(features, embed.compute_mask(tokens))  # on the features
    np.testing.assert_array_equal(_numpy(first), mask)
    np.testing.assert_array_equal(_numpy(second), mask)
    first, second = SplitVector(axis=1).compute_mask(features, embed.compute_mask(tokens))  # on the steps
    np.testing.assert_array_equal(_numpy(first), mask[:, :2])
    np.testing.assert_array_equal(_numpy(second), mask[:, 2:])
    symbolic = keras.layers.Embedding(10, 4, mask_zero=True)(keras.Input((5,), dtype="int32"))
    assert [t.shape for t in SplitVector(axis=1)(symbolic)] == [(None, 2, 4), (None, 3, 4)]


def test_both_layers_state_their_masking():
    assert ScaledL2Normalization().supports_masking and SplitVector().supports_masking


# ── saving: both layers, no custom_objects, safe mode ─────────────────────────────────────────


def test_a_model_with_both_layers_round_trips_through_a_keras_file(tmp_path):
    inputs = keras.Input((6,))
    left, right = SplitVector(name="split")(keras.layers.Dense(8)(inputs))
    norm = ScaledL2Normalization(scale_initializer=_constant(5.0), scale_regularizer=keras.regularizers.L2(1e-3),
                                 scale_constraint=keras.constraints.NonNeg(), name="norm")
    out = keras.layers.Concatenate()([keras.layers.Dense(3)(norm(left)), keras.layers.Dense(2)(right)])
    model = keras.Model(inputs, out)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.zeros((16, 5)), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects, safe_mode=True
    assert type(restored.get_layer("norm")) is ScaledL2Normalization
    assert type(restored.get_layer("split")) is SplitVector
    np.testing.assert_array_equal(model.predict(X, verbose=0), restored.predict(X, verbose=0))
    assert float(_numpy(restored.get_layer("norm").scale)[0]) == float(_numpy(norm.scale)[0])
    assert isinstance(restored.get_layer("norm").scale_constraint, keras.constraints.NonNeg)


def test_both_layers_are_registered_under_the_kerascool_package():
    assert keras.saving.get_registered_name(ScaledL2Normalization) == "kerascool_lib>ScaledL2Normalization"
    assert keras.saving.get_registered_name(SplitVector) == "kerascool_lib>SplitVector"
