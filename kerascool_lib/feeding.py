"""Process-safe data feeding: one augmentation, fed by a ``PyDataset``, a generator or ``tf.data``.

- :func:`random_shifts`: shift each image by a random number of pixels (NumPy).
- :class:`AugmentedMnist`: a ``keras.utils.PyDataset`` whose batch ``i`` of epoch ``e`` depends
  only on ``(seed, e, i)``: the per-epoch shuffle and each batch's random shifts come from their
  own seeded generators, so the batches do not depend on the number of workers, on threads
  versus processes, or on the order in which the workers finish.
- :func:`generator` and :func:`tf_data`: the same batches as a plain Python generator and as a
  ``tf.data`` pipeline (TensorFlow only), for comparison.
- :func:`build_before_fit`: build a model on one batch read in the main process, so that ``fit``
  does not take a batch from the workers' queue before the first epoch (on JAX it does, and the
  read-ahead batches then spill into the epochs: some samples twice, some not at all).
- :class:`IndexLog`: a thread-safe record of the sample ids a model saw, epoch by epoch, and
  :func:`trained_ids`, which fills one from a probe model's training steps.
"""

from __future__ import annotations

import threading
import time

import keras
import numpy as np

from kerascool_lib import _checks

__all__ = ["random_shifts", "AugmentedMnist", "generator", "tf_data", "build_before_fit", "IndexLog", "trained_ids"]


def random_shifts(images, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Shift each image by whole pixels, independently along both axes, filling with zeros.

    Args:
        images: array of shape ``(N, H, W)`` or ``(N, H, W, C)``.
        rng: a ``numpy.random.Generator``; the shifts are drawn from it.
        max_shift: the largest shift, in pixels; each shift is uniform in
            ``[-max_shift, max_shift]``. 0 returns a copy.

    Returns:
        An array of the same shape and dtype; pixel values are only moved (or zeroed).

    Raises:
        ValueError: if ``images`` has fewer than 3 dimensions, ``rng`` is not a Generator or
            ``max_shift`` is not an integer >= 0.

    Example:

    >>> x = np.zeros((1, 5, 5), "float32"); x[0, 2, 2] = 1.0
    >>> y = random_shifts(x, np.random.default_rng(0), max_shift=1)
    >>> y.shape, y.dtype, float(y.sum())
    ((1, 5, 5), dtype('float32'), 1.0)
    """
    images = np.asarray(images)
    if images.ndim < 3:
        raise _checks.fail("images", "an array of shape (N, H, W) or (N, H, W, C)", f"images.shape={images.shape}")
    _checks.instance(rng, "rng", np.random.Generator, "a numpy.random.Generator")
    max_shift = _checks.integer(max_shift, "max_shift", 0)
    out = np.zeros_like(images)
    if max_shift == 0:
        out[...] = images
        return out
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    h, w = images.shape[1:3]
    for k, (dy, dx) in enumerate(shifts):
        out[k, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            images[k, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


class AugmentedMnist(keras.utils.PyDataset):
    """Batches of randomly shifted images, reproducible whatever the workers do.

    Batch ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)`` (:meth:`batch`): the
    epoch's permutation comes from ``np.random.default_rng([seed, e])`` and the batch's shifts
    from ``np.random.default_rng([seed, e, i])``. No generator is shared between calls, so two
    threads, two processes or one worker produce the same batches. ``on_epoch_end`` (run by
    Keras in the main process, with no worker running) only increments the epoch counter;
    worker processes get the new value because Keras starts a new pool each epoch. ``fit``
    also calls ``on_epoch_end`` once before its first epoch, so its epoch ``k`` reads the
    dataset's epoch ``k + 1``: any epoch's shuffle is as good as another.

    Args:
        x: images, ``(N, 28, 28)`` or ``(N, 28, 28, 1)``, any numeric dtype.
        y: labels, length ``N``.
        batch_size: samples per batch (the last batch may be smaller).
        seed: integer seed of the shuffles and shifts.
        max_shift: largest random shift in pixels (0: no augmentation).
        shuffle: reshuffle the samples every epoch.
        with_ids: return ``({"image": x, "id": ids}, y)`` instead of ``(x, y)``, to count which
            samples a model saw (see :class:`IndexLog`).
        delay: seconds to sleep in every batch, standing in for reading files from disk.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` of ``PyDataset``.

    Raises:
        ValueError: on a bad argument.

    Example:

    >>> x, y = np.zeros((10, 28, 28), "uint8"), np.arange(10)
    >>> ds = AugmentedMnist(x, y, batch_size=4, seed=0, workers=2)
    >>> len(ds), ds[2][0].shape, ds[0][0].dtype
    (3, (2, 28, 28, 1), dtype('float32'))
    >>> bool(np.array_equal(ds[1][1], AugmentedMnist(x, y, 4, seed=0)[1][1]))
    True
    """

    def __init__(self, x, y, batch_size: int = 128, seed: int = 0, max_shift: int = 2, shuffle: bool = True,
                 with_ids: bool = False, delay: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 1):
            raise _checks.fail("x", "an array of shape (N, H, W) or (N, H, W, 1)", f"x.shape={x.shape}")
        if len(y) != len(x):
            raise _checks.fail("y", "as long as x", f"len(y)={len(y)}, len(x)={len(x)}")
        self.x = x.reshape(x.shape[:3])
        self.y = y
        self.batch_size = _checks.integer(batch_size, "batch_size", 1)
        self.seed = _checks.integer(seed, "seed", 0)
        self.max_shift = _checks.integer(max_shift, "max_shift", 0)
        self.shuffle = _checks.instance(shuffle, "shuffle", bool, "a bool")
        self.with_ids = _checks.instance(with_ids, "with_ids", bool, "a bool")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not delay >= 0:
            raise _checks.fail("delay", "a number >= 0", value=delay)
        self.delay = float(delay)
        self.epoch = 0

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        """The sample ids of ``epoch`` in the order they are batched."""
        if not self.shuffle:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x))

    def batch(self, epoch: int, index: int):
        """Batch ``index`` of ``epoch``, as ``__getitem__`` returns it; a pure function."""
        epoch = _checks.integer(epoch, "epoch", 0)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self):
            raise _checks.fail("index", f"an integer in [0, {len(self)})", value=index)
        ids = self.order(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, epoch, int(index)])
        images = random_shifts(self.x[ids], rng, self.max_shift).astype("float32")
        if np.issubdtype(self.x.dtype, np.integer):
            images /= 255.0
        if self.delay:
            time.sleep(self.delay)
        images = images[..., None]
        if self.with_ids:
            return {"image": images, "id": ids.astype("int32")}, self.y[ids]
        return images, self.y[ids]

    def __getitem__(self, index):
        return self.batch(self.epoch, index)

    def on_epoch_end(self):
        self.epoch += 1


def generator(dataset: AugmentedMnist, epochs: int):
    """The dataset's batches, epoch after epoch, from a plain generator (single-threaded).

    Pass it to ``fit(generator(ds, epochs), steps_per_epoch=len(ds), epochs=epochs)``.

    Example:

    >>> ds = AugmentedMnist(np.zeros((10, 28, 28), "uint8"), np.arange(10), batch_size=4)
    >>> sum(1 for _ in generator(ds, epochs=2))
    6
    """
    _checks.instance(dataset, "dataset", AugmentedMnist, "an AugmentedMnist")
    epochs = _checks.integer(epochs, "epochs", 1)
    for epoch in range(epochs):
        for index in range(len(dataset)):
            yield dataset.batch(epoch, index)


def tf_data(dataset: AugmentedMnist, epochs: int, parallel_calls: int = 1):
    """The dataset's batches as a ``tf.data.Dataset`` (TensorFlow must be installed).

    Each batch is made by :meth:`AugmentedMnist.batch` inside ``tf.numpy_function``, with
    ``parallel_calls`` batches in flight (``deterministic=True`` keeps the order). The static
    shapes lost by ``numpy_function`` are set back, as ``fit`` needs them.

    Args:
        dataset: the :class:`AugmentedMnist` to read (``with_ids=False``).
        epochs: how many epochs of batches to produce.
        parallel_calls: batches computed in parallel (``num_parallel_calls``).

    Example:

    >>> ds = AugmentedMnist(np.zeros((10, 28, 28), "uint8"), np.arange(10), batch_size=4)
    >>> [tuple(x.shape) for x, y in tf_data(ds, epochs=1)]
    [(4, 28, 28, 1), (4, 28, 28, 1), (2, 28, 28, 1)]
    """
    import tensorflow as tf

    _checks.instance(dataset, "dataset", AugmentedMnist, "an AugmentedMnist")
    if dataset.with_ids:
        raise _checks.fail("dataset", "an AugmentedMnist with with_ids=False", "with_ids=True")
    epochs = _checks.integer(epochs, "epochs", 1)
    parallel_calls = _checks.integer(parallel_calls, "parallel_calls", 1)
    n, y_dtype = len(dataset), dataset.y.dtype

    def make(epoch, index):
        images, labels = dataset.batch(int(epoch), int(index))
        return images, labels

    def load(epoch, index):
        images, labels = tf.numpy_function(make, [epoch, index], [tf.float32, tf.as_dtype(y_dtype)])
        images.set_shape([None, *dataset.x.shape[1:3], 1])
        labels.set_shape([None])
        return images, labels

    pairs = tf.data.Dataset.range(epochs).flat_map(
        lambda e: tf.data.Dataset.range(n).map(lambda i: (e, i)))
    return pairs.map(load, num_parallel_calls=parallel_calls, deterministic=True).prefetch(2)


def build_before_fit(model, dataset):
    """Build a compiled model, its loss and its metrics on ``dataset[0]``, read in this process.

    A ``PyDataset`` with workers starts filling a queue of batches as soon as Keras asks for
    the first one. On JAX (and on TensorFlow inside a ``tf.distribute`` strategy), ``fit``
    builds an unbuilt model from the first batch of its input, before the first epoch; the
    batches the workers read ahead meanwhile are kept and served at the start of the next
    epoch, and so on: every epoch then ends with batches of the next pass, some samples are
    trained on twice and others not at all. A model that is already built makes ``fit`` skip
    that read. The model, its loss and its metrics are computed once on the batch, eagerly: the
    weights do not change.

    Args:
        model: a compiled ``keras.Model``.
        dataset: a ``keras.utils.PyDataset``; its batch 0 is read here, outside the workers.

    Returns:
        ``model``, built.

    Raises:
        ValueError: if ``model`` is not a compiled ``keras.Model`` or ``dataset`` is not a
            ``PyDataset`` with at least one batch.

    Example:

    >>> ds = AugmentedMnist(np.zeros((8, 28, 28), "uint8"), np.arange(8), batch_size=4)
    >>> model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
    >>> model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> build_before_fit(model, ds).built
    True
    """
    _checks.model(model, "model")
    if not getattr(model, "compiled", False):
        raise _checks.fail("model", "a compiled keras.Model (call model.compile first)", f"model={model.name!r}, not compiled")
    _checks.instance(dataset, "dataset", keras.utils.PyDataset, "a keras.utils.PyDataset")
    if not dataset.num_batches:
        raise _checks.fail("dataset", "a PyDataset with at least one batch", f"num_batches={dataset.num_batches}")
    batch = dataset[0]
    if isinstance(batch, list):
        batch = tuple(batch)
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
    y_pred = model(x, training=False)  # eagerly: no step is traced or compiled, nothing is trained
    model.compute_loss(x, y, y_pred, sample_weight, training=False)
    model.compute_metrics(x, y, y_pred, sample_weight)  # fit resets the metrics it updates
    return model


class IndexLog:
    """A thread-safe record of sample ids, epoch by epoch, to check what a model saw.

    Call :meth:`new_epoch` at the start of each epoch and :meth:`record` with each batch's ids;
    :meth:`counts` then says how many times each sample appeared in each epoch.

    Example:

    >>> log = IndexLog(4)
    >>> log.new_epoch(); log.record([2, 0]); log.record([1, 3])
    >>> log.counts().tolist(), log.exactly_once(), [b.tolist() for b in log.batches(0)]
    ([[1, 1, 1, 1]], True, [[2, 0], [1, 3]])
    """

    def __init__(self, num_samples: int):
        self.num_samples = _checks.integer(num_samples, "num_samples", 1)
        self._lock = threading.Lock()
        self._epochs: list[list[np.ndarray]] = []

    def new_epoch(self) -> None:
        """Start a new epoch; later :meth:`record` calls count towards it."""
        with self._lock:
            self._epochs.append([])

    def record(self, ids) -> None:
        """Add the ids of one batch to the current epoch."""
        ids = np.asarray(ids).reshape(-1)
        if not np.issubdtype(ids.dtype, np.integer) or ids.size and (ids.min() < 0 or ids.max() >= self.num_samples):
            raise _checks.fail("ids", f"integers in [0, {self.num_samples})", value=ids)
        with self._lock:
            if not self._epochs:
                raise _checks.fail("record", "called after new_epoch()", "no epoch started")
            self._epochs[-1].append(ids.copy())

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The ids of each batch of ``epoch`` (negative counts from the end), in the order recorded."""
        with self._lock:
            if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) \
                    or not -len(self._epochs) <= epoch < len(self._epochs):
                raise _checks.fail("epoch", f"an integer in [{-len(self._epochs)}, {len(self._epochs)})", value=epoch)
            return [ids.copy() for ids in self._epochs[epoch]]

    def counts(self) -> np.ndarray:
        """An ``(epochs, num_samples)`` array: how often each sample was recorded in each epoch."""
        with self._lock:
            return np.array([np.bincount(np.concatenate(e) if e else np.zeros(0, int), minlength=self.num_samples)
                             for e in self._epochs]).reshape(len(self._epochs), self.num_samples)

    def exactly_once(self) -> bool:
        """True if at least one epoch was recorded and every sample appeared once in every epoch."""
        counts = self.counts()
        return bool(counts.size and (counts == 1).all())


class _RecordIds(keras.layers.Layer):
    """Passes its input through; in training steps, writes it to an :class:`IndexLog`."""

    def __init__(self, log, **kwargs):
        super().__init__(**kwargs)
        self.log = log

    def call(self, ids, training=None):
        if training:
            self.log.record(keras.ops.convert_to_numpy(ids))
        return ids


def trained_ids(dataset: AugmentedMnist, epochs: int = 2, build_first: bool = True, shuffle: bool = True) -> IndexLog:
    """Fit a tiny probe model on ``dataset`` and log the sample ids its training steps received.

    Counting calls of ``__getitem__`` misleads: Keras reads batches it never trains on (to
    learn the shapes, to build the model, to fill its queue ahead). So the count is made inside
    the model: the dataset hands out its sample ids (``with_ids=True``) as a second input, a
    layer records them in every training step (the model runs eagerly for that), and a callback
    starts a new epoch in the log at each epoch. The model is a softmax regression; the
    recording layer is joined to its output (times zero), so that it runs in every step.

    Args:
        dataset: an :class:`AugmentedMnist` with ``with_ids=True`` and integer labels from 0,
            its workers as you want them.
        epochs: epochs to train.
        build_first: build the model with :func:`build_before_fit` before ``fit``; False lets
            ``fit`` build it from the first batch it gets, as it does by default.
        shuffle: ``fit``'s ``shuffle``: the order of the batches in each epoch is random.

    Returns:
        An :class:`IndexLog` with one epoch per training epoch.

    Raises:
        ValueError: if ``dataset`` is not an :class:`AugmentedMnist` with ``with_ids=True``, or
            on a bad ``epochs``, ``build_first`` or ``shuffle``.

    Example:

    >>> x, y = np.zeros((10, 28, 28), "uint8"), np.arange(10)
    >>> log = trained_ids(AugmentedMnist(x, y, batch_size=4, with_ids=True, workers=2), epochs=2)
    >>> log.counts().shape, log.exactly_once()
    ((2, 10), True)
    """
    _checks.instance(dataset, "dataset", AugmentedMnist, "an AugmentedMnist")
    if not dataset.with_ids:
        raise _checks.fail("dataset", "an AugmentedMnist with with_ids=True", "with_ids=False")
    epochs = _checks.integer(epochs, "epochs", 1)
    build_first = _checks.boolean(build_first, "build_first")
    shuffle = _checks.boolean(shuffle, "shuffle")
    log = IndexLog(len(dataset.x))
    image = keras.Input((*dataset.x.shape[1:3], 1), name="image")
    ids = keras.Input((), dtype="int32", name="id")
    classes = int(np.max(dataset.y)) + 1
    probs = keras.layers.Dense(classes, activation="softmax")(keras.layers.Flatten()(image))
    seen = _RecordIds(log)(ids)
    out = keras.layers.Lambda(lambda t: t[0] + 0.0 * keras.ops.cast(keras.ops.expand_dims(t[1], -1), t[0].dtype))([probs, seen])
    model = keras.Model({"image": image, "id": ids}, out)
    model.compile("sgd", "sparse_categorical_crossentropy", run_eagerly=True)
    if build_first:
        build_before_fit(model, dataset)
    new_epoch = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: log.new_epoch())
    model.fit(dataset, epochs=epochs, shuffle=shuffle, callbacks=[new_epoch], verbose=0)
    return log
