"""Unit tests of kerascool_lib.models: shapes, arguments, the schedule's closed form, learning, determinism."""


import keras
import numpy as np
import pytest

from kerascool_lib import data, models


def test_mlp_is_the_posts_mlp():
    m = models.mlp()
    assert [l.units for l in m.layers if isinstance(l, keras.layers.Dense)] == [512, 256, 10]
    assert [l.rate for l in m.layers if isinstance(l, keras.layers.Dropout)] == [0.2, 0.2]
    assert m.count_params() == 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10
    assert not any(isinstance(l, keras.layers.Dropout) for l in models.mlp(dropout=0).layers)


def test_cnn_shapes_and_named_layers():
    m = models.cnn()
    assert m.get_layer("conv_1").output.shape == (None, 24, 24, 32)
    assert m.get_layer("pool_1").output.shape == (None, 12, 12, 32)
    assert m.get_layer("pool_2").output.shape == (None, 5, 5, 64)
    assert m.output_shape == (None, 10)
    # pooling comes before BatchNorm and ReLU: they run on a quarter of the activations
    names = [l.name for l in m.layers]
    assert names.index("pool_1") < names.index("norm_1") < names.index("relu_1") < names.index("conv_2")
    assert m.get_layer("norm_1").momentum == 0.9 and m.get_layer("conv_1").use_bias is False


def test_cnn_without_batch_norm_is_the_earlier_reference_cnn():
    m = models.cnn(filters=(24, 48), batch_norm=False)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in m.layers)
    assert m.get_layer("conv_1").use_bias is True and m.count_params() == 166058
    with pytest.raises(ValueError, match=r"`batch_norm` must be True or False. Received: batch_norm='yes'"):
        models.cnn(batch_norm="yes")


def test_fast_mlp_recipe_trains_the_posts_mlp_on_a_one_cycle():
    assert models.MLP_FAST_RECIPE.schedule == "one_cycle"
    assert models.MLP_FAST_RECIPE.epochs < models.MLP_RECIPE.epochs
    m = models.mlp()
    models.MLP_FAST_RECIPE.compile(m, train_size=1000)
    assert float(m.optimizer.learning_rate) == pytest.approx(models.MLP_FAST_RECIPE.peak_lr * 0.1)


@pytest.mark.parametrize("build", [models.mlp, models.cnn])
def test_outputs_stay_float32_under_mixed_precision(build):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        m = build()
        x = np.zeros((2,) + m.input_shape[1:], "float32")
        out = m(x)
        assert m.get_layer("logits").compute_dtype == "float16"
        assert str(out.dtype) in ("float32", "<dtype: 'float32'>")
        np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-3)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_recipe_compiles_and_schedules():
    m = models.cnn()
    models.CNN_RECIPE.compile(m, train_size=1000, epochs=2)
    lr = m.optimizer.learning_rate  # the schedule's current value
    assert float(lr) == pytest.approx(models.CNN_RECIPE.peak_lr * 0.1)
    assert models.MLP_RECIPE.learning_rate(1000) == 1e-3
    with pytest.raises(ValueError, match=r"`model` must be a keras.Model. Received: model='cnn' of type str"):
        models.CNN_RECIPE.compile("cnn", 1000)
    with pytest.raises(ValueError, match=r"Received: train_size=0"):
        models.CNN_RECIPE.steps_per_epoch(0)


def _smoke_train(seed):
    keras.utils.set_random_seed(seed)
    d = data.mnist_splits("image", train_size=1500, val_size=500, test_size=500, seed=0)
    m = models.cnn()
    models.CNN_RECIPE.compile(m, len(d.x_train), epochs=2)
    h = m.fit(d.x_train, d.y_train, batch_size=models.CNN_RECIPE.batch_size, epochs=2,
              validation_data=(d.x_val, d.y_val), verbose=0)
    return h.history, m.evaluate(d.x_test, d.y_test, verbose=0, return_dict=True)


def test_cnn_recipe_learns_and_is_deterministic_on_cpu():
    h1, test1 = _smoke_train(seed=0)
    h2, test2 = _smoke_train(seed=0)
    assert test1["accuracy"] > 0.7, test1  # 1,500 images, 2 epochs: far above chance (0.1)
    assert h1["loss"][1] < h1["loss"][0]
    assert h1 == h2 and test1 == test2  # same seed, same numbers, to the last bit
