"""Unit tests of kerascool_lib.data: verified loading, the search order, splits, pipelines."""

import pathlib
import shutil
import zipfile

import numpy as np
import pytest

from kerascool_lib import data

REPO_COPY = pathlib.Path(data.__file__).resolve().parent.parent / "data" / "mnist.npz"
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


@pytest.fixture
def no_defaults(tmp_path, monkeypatch):
    """No repository copy, an empty Keras cache, no KERASCOOL_DATA."""
    monkeypatch.setattr(data, "_REPO_COPY", tmp_path / "absent" / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("KERASCOOL_DATA", raising=False)
    data._VERIFIED.clear()
    return tmp_path


def _write_archive(path, **overrides):
    (x_train, y_train), (x_test, y_test) = data.load_mnist(REPO_COPY)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez_compressed(path, **arrays)
    return path


def test_the_shipped_copy_is_the_real_mnist(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    for name, array in zip(["x_train", "y_train", "x_test", "y_test"], [x_train, y_train, x_test, y_test]):
        assert data.array_sha256(array) == data.MNIST_SHA256[name]


def test_explicit_path_and_folder_and_env(tmp_path, monkeypatch):
    copy = tmp_path / "mnist.npz"
    shutil.copy(REPO_COPY, copy)
    assert data.load_mnist(copy)[1][0].shape == (10000, 28, 28)
    assert data.load_mnist(str(tmp_path))[0][1].shape == (60000,)
    monkeypatch.setenv("KERASCOOL_DATA", str(tmp_path))
    assert data._candidates(None) == [("KERASCOOL_DATA", copy)]
    assert data.load_mnist()[0][0].shape == (60000, 28, 28)


def test_search_order_prefers_the_repository_copy(monkeypatch):
    monkeypatch.delenv("KERASCOOL_DATA", raising=False)
    sources = [source for source, _ in data._candidates(None)]
    assert sources == ["repository copy", "Keras cache"]


def test_keras_cache_is_used_when_no_repository_copy(no_defaults):
    cache = no_defaults / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    shutil.copy(REPO_COPY, cache / "mnist.npz")
    assert data.load_mnist()[0][0].shape == (60000, 28, 28)


def test_download_path_is_taken_last_and_its_failure_is_explained(no_defaults, monkeypatch):
    import keras

    calls = []

    def offline():
        calls.append(1)
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(data.MnistNotFoundError, match="download failed.*network is unreachable") as info:
        data.load_mnist()
    assert calls == [1]
    assert "absent/mnist.npz" in str(info.value) and "keras_home" in str(info.value)


def test_download_result_is_verified_and_returned(no_defaults, monkeypatch, mnist):
    import keras

    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: mnist)
    (x_train, _), (_, y_test) = data.load_mnist()
    assert x_train is mnist[0][0] and y_test is mnist[1][1]


def test_download_of_wrong_arrays_is_refused(no_defaults, monkeypatch):
    import keras

    fake = ((np.zeros((60000, 28, 28), np.uint8), np.zeros(60000, np.uint8)),
            (np.zeros((10000, 28, 28), np.uint8), np.zeros(10000, np.uint8)))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    with pytest.raises(data.MnistIntegrityError, match=r"load_data\(\): array 'x_train' does not match"):
        data.load_mnist()


def test_download_false_offline(no_defaults):
    with pytest.raises(data.MnistNotFoundError, match="download=False"):
        data.load_mnist(download=False)


def test_missing_explicit_path(tmp_path):
    with pytest.raises(data.MnistNotFoundError, match=r"path argument: .*nowhere\.npz"):
        data.load_mnist(tmp_path / "nowhere.npz")


def test_altered_array_is_named(tmp_path):
    (x_train, _), _ = data.load_mnist(REPO_COPY)
    bad = x_train.copy()
    bad[0, 0, 0] ^= 1
    path = _write_archive(tmp_path / "mnist.npz", x_train=bad)
    with pytest.raises(data.MnistIntegrityError, match=r"array 'x_train' does not match the real MNIST"):
        data.load_mnist(path)


def test_truncated_archive_is_detected(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(REPO_COPY.read_bytes()[: REPO_COPY.stat().st_size // 2])
    with pytest.raises(data.MnistIntegrityError, match="corrupted or truncated"):
        data.load_mnist(path)


def test_corrupted_bytes_are_detected(tmp_path):
    raw = bytearray(REPO_COPY.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = bytes(64)
    path = tmp_path / "mnist.npz"
    path.write_bytes(bytes(raw))
    with pytest.raises(data.MnistIntegrityError, match=str(path)):
        data.load_mnist(path)


def test_missing_array_is_named(tmp_path):
    path = _write_archive(tmp_path / "mnist.npz", y_test=None)
    with pytest.raises(data.MnistIntegrityError, match=r"arrays \['y_test'\] are missing"):
        data.load_mnist(path)


def test_pickled_archive_is_refused(tmp_path):
    path = tmp_path / "mnist.npz"
    obj = np.empty(1, dtype=object)
    obj[0] = {"not": "data"}
    np.savez(path, x_train=obj, y_train=obj, x_test=obj, y_test=obj)
    with pytest.raises(data.MnistIntegrityError, match="could not be read"):
        data.load_mnist(path)


def test_not_a_zip_file(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("hello")
    with pytest.raises(data.MnistIntegrityError, match="corrupted or truncated"):
        data.load_mnist(path)
    assert not zipfile.is_zipfile(path)


def test_corrupted_repository_copy_is_not_silently_skipped(no_defaults, monkeypatch):
    bad = no_defaults / "repo" / "mnist.npz"
    bad.parent.mkdir()
    bad.write_bytes(b"PK\x03\x04 broken")
    monkeypatch.setattr(data, "_REPO_COPY", bad)
    with pytest.raises(data.MnistIntegrityError, match="repo/mnist.npz"):
        data.load_mnist()


def test_to_float():
    out = data.to_float(np.array([0, 255], np.uint8))
    assert out.dtype == np.float32 and out.tolist() == [0.0, 1.0]
    with pytest.raises(TypeError, match=r"Received: x.dtype=float64"):
        data.to_float(np.zeros(3))


@pytest.mark.parametrize(
    "shape, fn, expected",
    [((2, 28, 28), data.to_images, (2, 28, 28, 1)), ((2, 784), data.to_images, (2, 28, 28, 1)),
     ((2, 28, 28, 1), data.to_flat, (2, 784)), ((2, 28, 28), data.to_flat, (2, 784))],
)
def test_layouts(shape, fn, expected):
    assert fn(np.zeros(shape)).shape == expected


def test_take_is_balanced_and_deterministic(mnist):
    (x, y), _ = mnist
    xs, ys = data.take(x, y, 1000, seed=3)
    assert np.bincount(ys).tolist() == [100] * 10
    xs2, ys2 = data.take(x, y, 1000, seed=3)
    assert np.array_equal(xs, xs2) and np.array_equal(ys, ys2)
    assert not np.array_equal(data.take(x, y, 1000, seed=4)[1], ys) or not np.array_equal(
        data.take(x, y, 1000, seed=4)[0], xs
    )
    assert data.take(x, y, 10**6)[0] is x


def test_train_val_split(mnist):
    (x, y), _ = mnist
    (xt, yt), (xv, yv) = data.train_val_split(x, y, 5000, seed=0)
    assert len(xt) == 55000 and len(xv) == 5000
    assert np.bincount(yv).tolist() == [500] * 10
    # disjoint and complete: the images' sums partition the original total
    assert int(xt.sum(dtype=np.int64) + xv.sum(dtype=np.int64)) == int(x.sum(dtype=np.int64))
    (xt2, _), (xv2, _) = data.train_val_split(x, y, 5000, seed=0)
    assert np.array_equal(xv, xv2)


def test_mnist_splits_shapes_and_scale():
    d = data.mnist_splits("image", train_size=500, val_size=100, test_size=200, seed=1)
    assert d.x_train.shape == (500, 28, 28, 1) and d.x_val.shape == (100, 28, 28, 1)
    assert d.x_test.shape == (200, 28, 28, 1)
    assert d.x_train.dtype == np.float32 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert isinstance(d, data.Splits) and "train=(500, 28, 28, 1)" in repr(d)
    assert tuple(d)[1] is d.y_train  # unpacks in order: x_train, y_train, x_val, ...
    flat = data.mnist_splits("flat", val_size=0, test_size=10)
    assert flat.x_train.shape == (60000, 784) and flat.x_val.shape == (0, 784)


def test_make_dataset_batches_and_shuffles_deterministically():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    ds = data.make_dataset(x, y, batch_size=4, shuffle=True, seed=7)
    first = np.concatenate([yb.numpy() for _, yb in ds])
    again = np.concatenate([yb.numpy() for _, yb in data.make_dataset(x, y, batch_size=4, shuffle=True, seed=7)])
    assert sorted(first.tolist()) == list(range(10))
    assert first.tolist() == again.tolist()
    assert [len(b) for b in data.make_dataset(x, batch_size=4, drop_remainder=True)] == [4, 4]


def test_callers_cannot_alter_the_verified_cache():
    (x_train, _), _ = data.load_mnist()
    x_train[:] = 0
    (fresh, _), _ = data.load_mnist()
    assert data.array_sha256(fresh) == data.MNIST_SHA256["x_train"]


def test_locate_mnist(tmp_path, no_defaults):
    assert data.locate_mnist() == ("download", None)
    copy = tmp_path / "m.npz"
    shutil.copy(REPO_COPY, copy)
    assert data.locate_mnist(copy) == ("path argument", copy)
    assert data.locate_mnist(tmp_path / "none.npz") == ("path argument", None)


def test_mnist_splits_takes_sizes_from_a_profile():
    from kerascool_lib.runtime import PROFILES

    d = data.mnist_splits("flat", profile=PROFILES["smoke"], test_size=300)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (2000, 500, 300)
    with pytest.raises(ValueError, match=r"`profile` must be a runtime.Profile .* Received: profile='smoke'"):
        data.mnist_splits(profile="smoke")
