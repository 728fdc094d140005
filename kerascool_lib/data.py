"""MNIST for the book: verified loading, splits, shapes and input pipelines.

Every chapter trains on MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0). This module
finds the arrays without a network where it can, checks every copy it reads against the
known SHA-256 of each array, and turns them into what a model wants.

Where :func:`load_mnist` looks, in order:

1. the ``path`` argument, else the ``KERASCOOL_DATA`` environment variable (a file, or a
   folder holding ``mnist.npz``);
2. the repository's own ``data/mnist.npz`` (present in a clone of the book);
3. Keras's download cache, ``~/.keras/datasets/mnist.npz`` (or ``$KERAS_HOME``);
4. ``keras.datasets.mnist.load_data()``, which downloads (the path readers on Colab take).

Archives are read with ``allow_pickle=False``: a file that would need unpickling is refused.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import zipfile
from typing import NamedTuple

import numpy as np

from kerascool_lib import _checks

__all__ = [
    "MNIST_SHA256",
    "array_sha256",
    "MnistIntegrityError",
    "MnistNotFoundError",
    "Splits",
    "load_mnist",
    "locate_mnist",
    "mnist_splits",
    "to_float",
    "to_images",
    "to_flat",
    "train_val_split",
    "take",
    "make_dataset",
]

#: SHA-256 of the raw bytes of each array (``np.ascontiguousarray(a).tobytes()``). They do
#: not depend on how the archive was zipped, so Keras's own download matches them too.
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}
_REPO_COPY = pathlib.Path(__file__).resolve().parent.parent / "data" / "mnist.npz"
_VERIFIED: dict[tuple[str, int, int], tuple] = {}


class MnistIntegrityError(ValueError):
    """A copy of MNIST was found but is not the real data set (corrupted, truncated or altered)."""


class MnistNotFoundError(FileNotFoundError):
    """No copy of MNIST could be found on disk and the download failed."""


def array_sha256(array) -> str:
    """The SHA-256 of an array's raw bytes, as :data:`MNIST_SHA256` records them.

    It depends only on the values, dtype and order of the elements, not on how (or whether)
    the archive holding the array was compressed.

    Example:

    >>> array_sha256(np.zeros(3, dtype=np.uint8))[:16]
    '709e80c88487a241'
    """
    array = np.asarray(array)
    if array.dtype == object:
        raise _checks.fail(
            "array", "an array of numbers (an object array's bytes are memory addresses)",
            f"array of dtype object, shape {array.shape}", error=TypeError,
        )
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _verify(arrays: dict, where: str, hint: str) -> tuple:
    """Check shape, dtype and SHA-256 of every array; return them in Keras's nesting."""
    for name, expected in MNIST_SHA256.items():
        array = np.asarray(arrays[name])
        if array.shape != _SHAPES[name] or array.dtype != np.uint8 or array_sha256(array) != expected:
            raise MnistIntegrityError(
                f"{where}: array '{name}' does not match the real MNIST (shape {array.shape}, "
                f"dtype {array.dtype}; expected shape {_SHAPES[name]}, uint8, and "
                f"sha256 {expected[:12]}...). {hint}"
            )
    return ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]))


def _read_verified(path: pathlib.Path) -> tuple:
    """Read ``path`` as an npz archive of MNIST and check every array; cached per file state."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = _read_and_verify(path)
    # copies: a caller that edits its arrays in place must not alter the verified cache
    return tuple(tuple(a.copy() for a in pair) for pair in _VERIFIED[key])


def _read_and_verify(path: pathlib.Path) -> tuple:
    hint = (
        f"Delete or replace {path} (a fresh copy: `git checkout -- data/mnist.npz` in a clone "
        "of the book, or let keras.datasets.mnist.load_data() download it)."
    )
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = sorted(set(MNIST_SHA256) - set(archive.files))
            if missing:
                raise MnistIntegrityError(
                    f"{path} is not an MNIST archive: arrays {missing} are missing "
                    f"(found {sorted(archive.files)}). {hint}"
                )
            arrays = {name: archive[name] for name in MNIST_SHA256}
    except MnistIntegrityError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        raise MnistIntegrityError(
            f"{path} could not be read as an .npz archive ({type(exc).__name__}: {exc}); "
            f"it is corrupted or truncated. {hint}"
        ) from exc
    return _verify(arrays, str(path), hint)


def _keras_cache() -> pathlib.Path:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "datasets" / "mnist.npz"


def _check_path(path):
    if path is not None:
        _checks.instance(path, "path", (str, os.PathLike), "a str or os.PathLike pointing to an .npz file or a folder", error=TypeError)


def _candidates(path) -> list[tuple[str, pathlib.Path]]:
    _check_path(path)
    explicit = path if path is not None else os.environ.get("KERASCOOL_DATA")
    if explicit:
        p = pathlib.Path(explicit).expanduser()
        if p.is_dir():
            p = p / "mnist.npz"
        source = "path argument" if path is not None else "KERASCOOL_DATA"
        return [(source, p)]
    return [("repository copy", _REPO_COPY), ("Keras cache", _keras_cache())]


def locate_mnist(path: str | os.PathLike | None = None) -> tuple[str, pathlib.Path | None]:
    """Which copy :func:`load_mnist` would read: ``(source, path)``, without reading it.

    ``source`` is ``"path argument"``, ``"KERASCOOL_DATA"``, ``"repository copy"`` or
    ``"Keras cache"``; ``"download"`` with path None when no copy is on disk. An explicit
    place that holds no file gives its source with path None (``load_mnist`` would raise).

    Example:

    >>> source, where = locate_mnist()
    >>> source in ("repository copy", "Keras cache", "KERASCOOL_DATA", "download")
    True
    """
    candidates = _candidates(path)
    for source, candidate in candidates:
        if candidate.is_file():
            return source, candidate
    if path is not None or os.environ.get("KERASCOOL_DATA"):
        return candidates[0][0], None
    return "download", None


def load_mnist(path: str | os.PathLike | None = None, *, download: bool = True):
    """Load MNIST as Keras does: ``(x_train, y_train), (x_test, y_test)``, all ``uint8``.

    The first copy found (see the module docstring for the order) is verified against
    :data:`MNIST_SHA256` before it is returned; a copy that does not match raises
    :class:`MnistIntegrityError` naming the file, rather than being silently used or skipped.
    When ``path`` (or ``KERASCOOL_DATA``) is given, only that file is considered.

    Args:
        path: an ``.npz`` file, or a folder holding ``mnist.npz``. Default: search.
        download: if no copy is on disk, fall back to ``keras.datasets.mnist.load_data()``.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` with shapes ``(60000, 28, 28)``,
        ``(60000,)``, ``(10000, 28, 28)``, ``(10000,)``.

    Raises:
        MnistIntegrityError: a copy was found but is corrupted, truncated or altered.
        MnistNotFoundError: no copy on disk and the download was disabled or failed.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    >>> x_train.shape, x_train.dtype, y_test.shape
    ((60000, 28, 28), dtype('uint8'), (10000,))
    >>> int(y_train[:5].sum())  # labels 5, 0, 4, 1, 9
    19
    """
    source, found = locate_mnist(path)
    if found is not None:
        return _read_verified(found)
    looked = "; ".join(f"{where}: {p}" for where, p in _candidates(path))
    if source != "download":
        raise MnistNotFoundError(
            f"No MNIST archive at the requested place ({looked}). Point `path` or "
            "KERASCOOL_DATA at the book's data/mnist.npz, or unset it to search the default places."
        )
    if download:
        import keras

        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as exc:  # the download's errors vary with the network stack
            raise MnistNotFoundError(
                f"MNIST is not on disk (looked at {looked}) and the download failed "
                f"({type(exc).__name__}: {exc}). Offline, clone the book (it ships "
                "data/mnist.npz) or set KERASCOOL_DATA to a copy of mnist.npz."
            ) from exc
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        return _verify(
            arrays,
            "keras.datasets.mnist.load_data()",
            f"Delete Keras's cached copy ({_keras_cache()}) and download again.",
        )
    raise MnistNotFoundError(
        f"MNIST is not on disk (looked at {looked}) and download=False. Clone the book "
        "(it ships data/mnist.npz), set KERASCOOL_DATA, or allow the download."
    )


def _check_images(x, name="x"):
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise _checks.fail(name, "a non-empty batch of images, shape (N, 28, 28), (N, 28, 28, 1) or (N, 784)", f"{name}.shape={x.shape}")
    if int(np.prod(x.shape[1:])) != 784:
        raise _checks.fail(name, "a batch of 28x28 images, shape (N, 28, 28), (N, 28, 28, 1) or (N, 784)", f"{name}.shape={x.shape}")
    return x


def to_float(x) -> np.ndarray:
    """Scale ``uint8`` pixels to ``float32`` in ``[0, 1]``, keeping the shape.

    Example:

    >>> to_float(np.array([[0, 51, 255]], dtype=np.uint8))
    array([[0. , 0.2, 1. ]], dtype=float32)
    """
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise _checks.fail("x", "uint8 pixels in [0, 255] (as load_mnist returns them)", f"x.dtype={x.dtype}", error=TypeError)
    return x.astype(np.float32) / np.float32(255.0)


def to_images(x) -> np.ndarray:
    """Reshape a batch of digits to ``(N, 28, 28, 1)``, the layout of a Conv2D model.

    Example:

    >>> to_images(np.zeros((3, 784), dtype=np.float32)).shape
    (3, 28, 28, 1)
    """
    x = _check_images(x)
    return x.reshape(x.shape[0], 28, 28, 1)


def to_flat(x) -> np.ndarray:
    """Reshape a batch of digits to ``(N, 784)``, the layout of an MLP.

    Example:

    >>> to_flat(np.zeros((3, 28, 28), dtype=np.uint8)).shape
    (3, 784)
    """
    x = _check_images(x)
    return x.reshape(x.shape[0], 784)


def _check_pair(x, y):
    x, y = np.asarray(x), np.asarray(y)
    _checks.sample_count({"x": x, "y": y}, "y", "an array with one row per sample of `x` (the same number of samples)", minimum=0)
    return x, y


def take(x, y, n: int, *, seed: int = 0):
    """A class-balanced, deterministic subset of ``n`` samples (for the smoke profile).

    Samples are drawn round-robin over the classes in an order fixed by ``seed``, so every
    digit is represented even in a tiny slice and the same ``seed`` always gives the same
    subset. Returns ``x`` and ``y`` unchanged when ``n >= len(x)``.

    Example:

    >>> y = np.repeat(np.arange(10), 100)
    >>> x = np.arange(1000)
    >>> xs, ys = take(x, y, 50, seed=0)
    >>> xs.shape, np.bincount(ys).tolist()
    ((50,), [5, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    """
    x, y = _check_pair(x, y)
    n = _checks.integer(n, "n", 1)
    seed = _checks.integer(seed, "seed", 0)
    if n >= len(y):
        return x, y
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    labels = y[order]
    # rank of each sample within its class, in the shuffled order
    rank = np.empty(len(y), dtype=np.int64)
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        rank[where] = np.arange(len(where))
    chosen = order[np.lexsort((labels, rank))[:n]]
    chosen = np.sort(chosen)
    return x[chosen], y[chosen]


def train_val_split(x, y, val_size: int | float = 5000, *, seed: int = 0):
    """Split off a deterministic, class-stratified validation set.

    Args:
        x, y: the training arrays.
        val_size: number of validation samples, or a fraction in ``(0, 1)``.
        seed: the same seed gives the same split.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``.

    Example:

    >>> y = np.repeat(np.arange(10), 100)
    >>> (xt, yt), (xv, yv) = train_val_split(np.arange(1000), y, 0.2, seed=1)
    >>> len(xt), len(xv), np.bincount(yv).tolist()
    (800, 200, [20, 20, 20, 20, 20, 20, 20, 20, 20, 20])
    """
    x, y = _check_pair(x, y)
    seed = _checks.integer(seed, "seed", 0)
    n = len(y)
    if isinstance(val_size, float) and not isinstance(val_size, bool):
        if not 0.0 < val_size < 1.0:
            raise _checks.fail("val_size", "a fraction in (0, 1) or an integer >= 1", value=val_size)
        val_size = int(round(val_size * n))
    val_size = _checks.integer(val_size, "val_size", 1)
    if val_size >= n:
        raise _checks.fail("val_size", f"< {n}, to leave some training samples", value=val_size)
    val_idx, _ = take(np.arange(n), y, val_size, seed=seed)
    mask = np.zeros(n, dtype=bool)
    mask[val_idx] = True
    return (x[~mask], y[~mask]), (x[mask], y[mask])


class Splits(NamedTuple):
    """MNIST ready for a model: float inputs in ``[0, 1]`` and integer labels.

    What :func:`mnist_splits` returns; a named tuple, so it also unpacks in order.

    Example:

    >>> d = mnist_splits("flat", train_size=100, val_size=20, test_size=50)
    >>> x_train, y_train, x_val, y_val, x_test, y_test = d
    >>> d.x_val.shape, len(y_test)
    ((20, 784), 50)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __repr__(self):
        return (
            f"Splits(train={self.x_train.shape}, val={self.x_val.shape}, "
            f"test={self.x_test.shape}, dtype={self.x_train.dtype})"
        )


_LAYOUTS = {"image": to_images, "flat": to_flat}


def mnist_splits(
    layout: str = "image",
    *,
    train_size: int | None = None,
    val_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    profile=None,
    path=None,
) -> Splits:
    """Train / validation / test arrays in one call, scaled to ``float32`` in ``[0, 1]``.

    The validation set is split off the 60,000 training images (stratified, fixed by
    ``seed``); the 10,000 test images are never touched by training or model selection.
    ``train_size``/``test_size`` take class-balanced slices (the smoke profile's small runs).

    Args:
        layout: ``"image"`` for ``(N, 28, 28, 1)`` or ``"flat"`` for ``(N, 784)``.
        train_size: keep this many training samples (after the validation split); all if None.
        val_size: validation samples taken from the training set (default 5000); 0 for none.
        test_size: keep this many test samples; all if None.
        seed: fixes the split and the slices.
        profile: a :class:`~kerascool_lib.runtime.Profile` (e.g. ``run.profile``) whose
            sizes fill in the three sizes above that are left as None.
        path: passed to :func:`load_mnist`.

    Example:

    >>> d = mnist_splits("flat", train_size=1000, val_size=200, test_size=500)
    >>> d.x_train.shape, d.x_val.shape, d.x_test.shape, d.y_train.dtype
    ((1000, 784), (200, 784), (500, 784), dtype('uint8'))
    >>> from kerascool_lib.runtime import PROFILES
    >>> mnist_splits(profile=PROFILES["smoke"])
    Splits(train=(2000, 28, 28, 1), val=(500, 28, 28, 1), test=(1000, 28, 28, 1), dtype=float32)
    """
    _checks.one_of(layout, "layout", _LAYOUTS)
    if profile is not None:
        if not all(hasattr(profile, a) for a in ("train_size", "val_size", "test_size")):
            raise _checks.fail("profile", "a runtime.Profile such as run.profile", value=profile)
        train_size = profile.train_size if train_size is None else train_size
        val_size = profile.val_size if val_size is None else val_size
        test_size = profile.test_size if test_size is None else test_size
    val_size = 5000 if val_size is None else _checks.integer(val_size, "val_size", 0)
    train_size = _checks.optional_integer(train_size, "train_size", 1)
    test_size = _checks.optional_integer(test_size, "test_size", 1)
    seed = _checks.integer(seed, "seed", 0)
    (x_train, y_train), (x_test, y_test) = load_mnist(path)
    if val_size:
        (x_train, y_train), (x_val, y_val) = train_val_split(x_train, y_train, val_size, seed=seed)
    else:
        x_val, y_val = x_train[:0], y_train[:0]
    if train_size is not None:
        x_train, y_train = take(x_train, y_train, train_size, seed=seed)
    if test_size is not None:
        x_test, y_test = take(x_test, y_test, test_size, seed=seed)
    shape = _LAYOUTS[layout]

    def prep(x):
        x = to_float(x)
        return shape(x) if len(x) else x.reshape((0,) + ((28, 28, 1) if layout == "image" else (784,)))

    return Splits(prep(x_train), y_train, prep(x_val), y_val, prep(x_test), y_test)


def make_dataset(
    x,
    y=None,
    *,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
):
    """A fast ``tf.data`` pipeline over in-memory arrays: shuffled per epoch, batched, prefetched.

    Use it for training loops that want a ``tf.data.Dataset`` (``model.fit`` also accepts the
    NumPy arrays directly). Shuffling reshuffles every epoch with a fixed ``seed``, so runs
    are repeatable.

    Args:
        x: inputs, e.g. ``Splits.x_train``.
        y: labels, or None for an input-only dataset.
        batch_size: samples per batch (>= 1).
        shuffle: shuffle the whole set every epoch.
        seed: the shuffling seed.
        drop_remainder: drop the last, smaller batch.

    Example:

    >>> ds = make_dataset(np.zeros((10, 784), "float32"), np.arange(10), batch_size=4)
    >>> [tuple(xb.shape) for xb, yb in ds]
    [(4, 784), (4, 784), (2, 784)]
    """
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError(
            "kc.data.make_dataset builds a tf.data pipeline, which needs TensorFlow (on any Keras "
            "backend): pip install tensorflow. model.fit also takes the NumPy arrays directly."
        ) from None

    batch_size = _checks.integer(batch_size, "batch_size", 1)
    seed = _checks.integer(seed, "seed", 0)
    x = np.asarray(x)
    if y is None:
        ds = tf.data.Dataset.from_tensor_slices(x)
    else:
        x, y = _check_pair(x, y)
        ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)
