"""Tests of kerascool_lib.feeding: exactly-once feeding, determinism, augmentation, JAX."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerascool_lib import feeding

N, BATCH = 96, 16


def _data():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(N, 28, 28), dtype="uint8"), np.arange(N) % 10


WORKERS = [dict(workers=1), dict(workers=2), dict(workers=2, use_multiprocessing=True)]
WORKER_IDS = ["1 worker", "2 threads", "2 processes"]


@pytest.mark.parametrize("kwargs", WORKERS, ids=WORKER_IDS)
def test_every_sample_once_per_epoch(kwargs):
    x, y = _data()
    ds = feeding.AugmentedMnist(x[:90], y[:90], BATCH, seed=1, with_ids=True, **kwargs)  # a last batch of 10
    log = feeding.trained_ids(ds, epochs=2)
    assert log.counts().shape == (2, 90)
    assert log.exactly_once()
    assert [len(b) for b in log.batches(-1)].count(10) == 1


@pytest.mark.parametrize("kwargs", WORKERS[1:], ids=WORKER_IDS[1:])
def test_workers_hand_the_batches_over_in_order(kwargs):
    """Without fit's shuffle and the dataset's, epoch after epoch the model gets batches 0, 1, ..."""
    x, y = _data()
    ds = feeding.AugmentedMnist(x, y, BATCH, seed=1, shuffle=False, with_ids=True, **kwargs)
    log = feeding.trained_ids(ds, epochs=2, shuffle=False)
    for epoch in (0, 1):
        assert [int(b[0]) // BATCH for b in log.batches(epoch)] == list(range(N // BATCH))


def test_build_before_fit_builds_without_training():
    x, y = _data()
    ds = feeding.AugmentedMnist(x, y, BATCH, seed=0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    assert feeding.build_before_fit(model, ds) is model
    assert model.optimizer.iterations.numpy() == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    plain = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    plain.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    feeding.build_before_fit(plain, _Weighted(x, y, BATCH))  # [x, y, sample_weight], a list
    assert plain.built and plain.optimizer.iterations.numpy() == 0


class _Weighted(feeding.AugmentedMnist):
    def __getitem__(self, index):
        images, labels = super().__getitem__(index)
        return [images, labels, np.ones(len(labels))]


def test_index_log_keeps_the_batches_in_order():
    log = feeding.IndexLog(6)
    log.new_epoch(); log.record([4, 5]); log.record(np.array([0, 1]))
    log.new_epoch(); log.record([2])
    assert [b.tolist() for b in log.batches(0)] == [[4, 5], [0, 1]]
    assert [b.tolist() for b in log.batches(-1)] == [[2]]
    assert log.counts().tolist() == [[1, 1, 0, 0, 1, 1], [0, 0, 1, 0, 0, 0]]
    assert not log.exactly_once() and not feeding.IndexLog(3).exactly_once()
    with pytest.raises(ValueError, match="`epoch` must be an integer in"):
        log.batches(2)


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


@pytest.mark.jax_subprocess
def test_pydataset_in_fit_on_jax():
    """On JAX, fit reads one batch through the workers to build an unbuilt model; built first,
    every sample is trained on once per epoch with 2 threads and with 2 processes."""
    code = textwrap.dedent("""
        import numpy as np, keras
        from kerascool_lib import feeding
        assert keras.backend.backend() == "jax"
        x = np.random.default_rng(0).integers(0, 256, (400, 28, 28), dtype="uint8"); y = np.arange(400) % 10
        ds = feeding.AugmentedMnist(x[:64], y[:64], 16, seed=0, workers=2)
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        h = model.fit(ds, epochs=2, verbose=0)
        print("OK", len(h.history["loss"]), ds.epoch >= 2)
        for workers in (dict(workers=2), dict(workers=2, use_multiprocessing=True)):
            ds = feeding.AugmentedMnist(x, y, 16, seed=0, with_ids=True, **workers)  # 25 batches > the queue's 10
            print("ONCE", feeding.trained_ids(ds, epochs=2).exactly_once())
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "OK 2 True" in out.stdout
    assert out.stdout.count("ONCE True") == 2, out.stdout
