"""Tests of kerascool_lib.feeding: exactly-once feeding, determinism, augmentation, JAX."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib import feeding

N, BATCH = 96, 16


def _data():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(N, 28, 28), dtype="uint8"), np.arange(N) % 10


class _Record(keras.layers.Layer):
    def __init__(self, log, **kwargs):
        super().__init__(**kwargs)
        self.log = log

    def call(self, ids, training=None):
        if training:
            self.log.record(ops.convert_to_numpy(ids))
        return ids


def _fit_and_count(epochs=2, **kwargs):
    x, y = _data()
    log = feeding.IndexLog(N)
    ds = feeding.AugmentedMnist(x, y, BATCH, seed=1, with_ids=True, **kwargs)
    image, ids = keras.Input((28, 28, 1), name="image"), keras.Input((), dtype="int64", name="id")
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(image))
    rec = _Record(log)(ids)  # on the output's path (times zero), so it runs in every step
    out = keras.layers.Lambda(lambda t: t[0] + 0.0 * ops.cast(ops.expand_dims(t[1], -1), t[0].dtype))([out, rec])
    model = keras.Model({"image": image, "id": ids}, out)
    model.compile("sgd", "sparse_categorical_crossentropy", run_eagerly=True)
    begin = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: log.new_epoch())
    model.fit(ds, epochs=epochs, callbacks=[begin], verbose=0)
    return log


@pytest.mark.parametrize("kwargs", [dict(workers=1), dict(workers=2), dict(workers=2, use_multiprocessing=True)],
                         ids=["1 worker", "2 threads", "2 processes"])
def test_every_sample_once_per_epoch(kwargs):
    log = _fit_and_count(**kwargs)
    counts = log.counts()
    assert counts.shape == (2, N)
    assert log.exactly_once()


def test_batches_do_not_depend_on_workers_or_call_order():
    x, y = _data()
    a = feeding.AugmentedMnist(x, y, BATCH, seed=3, workers=1)
    b = feeding.AugmentedMnist(x, y, BATCH, seed=3, workers=2, use_multiprocessing=True)
    for epoch in (0, 1):
        forward = [a.batch(epoch, i) for i in range(len(a))]
        backward = [b.batch(epoch, i) for i in reversed(range(len(b)))][::-1]
        for (xa, ya), (xb, yb) in zip(forward, backward):
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(a.batch(0, 0)[0], a.batch(1, 0)[0])  # reshuffled and re-augmented
    a.on_epoch_end()
    assert np.array_equal(a[0][0], b.batch(1, 0)[0])


def test_generator_and_tf_data_give_the_same_batches():
    x, y = _data()
    ds = feeding.AugmentedMnist(x, y, BATCH, seed=5)
    from_gen = list(feeding.generator(ds, 2))
    from_tf = [(np.asarray(a), np.asarray(b)) for a, b in feeding.tf_data(ds, 2, parallel_calls=2)]
    assert len(from_gen) == len(from_tf) == 2 * len(ds)
    for (xg, yg), (xt, yt) in zip(from_gen, from_tf):
        assert np.array_equal(xg, xt) and np.array_equal(yg, yt)


def test_augmentation_shape_dtype_range():
    x, y = _data()
    images, labels = feeding.AugmentedMnist(x, y, BATCH, seed=0, max_shift=3)[0]
    assert images.shape == (BATCH, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    plain, _ = feeding.AugmentedMnist(x, y, BATCH, seed=0, max_shift=0)[0]
    assert np.array_equal(plain[..., 0], x[feeding.AugmentedMnist(x, y, BATCH, seed=0).order(0)[:BATCH]] / np.float32(255))
    one = np.zeros((50, 9, 9), "float32")
    one[:, 4, 4] = 1.0
    shifted = feeding.random_shifts(one, np.random.default_rng(0), max_shift=2)
    assert (shifted.sum(axis=(1, 2)) == 1.0).all()  # a centred pixel stays inside
    rows, cols = np.nonzero(shifted.sum(axis=0))
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6


def test_pydataset_in_fit_on_jax():
    code = textwrap.dedent("""
        import numpy as np, keras
        from keras import ops
        from kerascool_lib import feeding
        assert keras.backend.backend() == "jax"
        x = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype="uint8"); y = np.arange(64) % 10
        ds = feeding.AugmentedMnist(x, y, 16, seed=0, workers=2)
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        h = model.fit(ds, epochs=2, verbose=0)
        print("OK", len(h.history["loss"]), ds.epoch >= 2)
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "OK 2 True" in out.stdout
