"""Unit tests of kerascool_lib.bench: FLOP counts on known models, the matmul rate, the epoch clock."""

import keras
import numpy as np
import pytest

from kerascool_lib import bench, models


def test_forward_flops_of_a_known_small_cnn():
    inputs = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)  # 8*8 positions x 3*3*3*4 MACs
    x = keras.layers.MaxPooling2D()(x)  # not counted
    x = keras.layers.Conv2D(6, 3, padding="same", groups=2)(x)  # 4*4 x 3*3*2*6
    x = keras.layers.BatchNormalization()(x)  # not counted
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(5)(x)  # 96*5
    model = keras.Model(inputs, outputs)
    macs = 8 * 8 * 27 * 4 + 4 * 4 * 3 * 3 * 2 * 6 + 96 * 5
    assert bench.forward_flops(model) == 2 * macs
    assert bench.training_flops(model, samples=7) == 3 * 2 * macs * 7
    assert bench.training_flops(model, backward_factor=0) == 2 * macs


def test_forward_flops_walks_nested_models_and_counts_the_reference_models():
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    outer = keras.Sequential([keras.Input((8,)), inner, keras.layers.Dense(2)])
    assert bench.forward_flops(outer) == 2 * (8 * 4 + 4 * 2)
    assert bench.forward_flops(models.mlp()) == 2 * (784 * 512 + 512 * 256 + 256 * 10)
    # conv_1 24x24x32 x 5*5*1, conv_2 10x10x64 x 3*3*32, dense 5*5*64 x 128, logits 128 x 10
    assert bench.forward_flops(models.cnn()) == 2 * (24 * 24 * 32 * 25 + 10 * 10 * 64 * 288 + 1600 * 128 + 1280)


def test_matmul_rate_is_a_positive_rate():
    rate = bench.matmul_rate(size=128, repeats=2)
    assert 1e7 < rate < 1e15


def _tiny():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.tile(np.eye(4, dtype="float32"), (8, 1))
    y = np.tile(np.array([0, 1, 0, 1]), 8)
    return model, x, y


def test_epoch_clock_records_each_epoch_and_times_evaluation_apart():
    model, x, y = _tiny()
    clock = bench.EpochClock(x, y, target=1.0)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[clock])
    assert [r["epoch"] for r in clock.records] == [1, 2, 3]
    cumulative = np.cumsum([r["train_seconds"] for r in clock.records])
    np.testing.assert_allclose([r["cumulative_seconds"] for r in clock.records], cumulative)
    assert all(r["eval_seconds"] > 0 and r["cpu_per_wall"] >= 0 for r in clock.records)
    final = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    assert clock.records[-1]["accuracy"] == pytest.approx(final)


def test_epoch_clock_stops_at_the_target():
    model, x, y = _tiny()
    clock = bench.EpochClock(x, y, target=0.75, stop_at_target=True)
    model.fit(x, y, epochs=30, verbose=0, callbacks=[clock])
    reached = [r["accuracy"] >= 0.75 for r in clock.records]
    assert reached[-1] and not any(reached[:-1])  # stopped at the first epoch on target
    last = clock.records[-1]
    assert clock.time_to_target == last["cumulative_seconds"] == last["time_to_target"]
    assert all(r["time_to_target"] is None for r in clock.records[:-1])


def test_epoch_clock_needs_an_accuracy_metric():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = np.eye(4, dtype="float32"), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"EpochClock needs an accuracy metric"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[bench.EpochClock(x, y)])
    # its bad arguments are cases of tests/test_bad_input.py
