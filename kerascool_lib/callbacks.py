"""Callbacks: evaluate anything and keep the best, warm up per batch, record the learning rate,
change any variable mid-training.

The reusable parts of the book's *Callbacks* chapters, for Keras 3 on any backend:

- :class:`EvaluateAndKeepBest`: compute any Python metric on validation data after each epoch,
  log it (so ``History``, ``EarlyStopping`` and ``ModelCheckpoint`` can use it) and keep the
  best weights, saved with :func:`kerascool_lib.weights.save_weights_atomically`.
- :class:`LinearWarmupCallback`: the post's per-batch warmup (the schedule version is
  :class:`kerascool_lib.schedules.LinearWarmup`).
- :class:`LearningRateRecorder`: the learning rate each optimizer step used.
- :class:`VariableScheduler`: set any ``keras.Variable`` (a loss weight) on a schedule, per epoch
  or per step.

A rule for every backend: state that the compiled training step reads (a loss weight) must
belong to the model, as a weight or an attribute of the model or of one of its layers, or to its
optimizer. TensorFlow also reads a global ``keras.Variable`` at run time, but JAX captures it as
a constant when it traces the step, so assigning it later changes nothing, silently.
:class:`VariableScheduler` therefore refuses a variable the model does not own.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks
from kerascool_lib.schedules import _warmup_value
from kerascool_lib.weights import save_weights_atomically

__all__ = [
    "EvaluateAndKeepBest",
    "LinearWarmupCallback",
    "LearningRateRecorder",
    "VariableScheduler",
]


def _check_steps_per_execution(model, who):
    spe = getattr(model, "steps_per_execution", 1)
    if spe != 1:
        raise ValueError(
            f"{who} acts once per batch, but the model was compiled with "
            f"steps_per_execution={spe}, which runs several optimizer steps per batch "
            "callback. Compile with steps_per_execution=1, or use a LearningRateSchedule, "
            "which is evaluated inside every step."
        )


def _as_number(raw) -> float | None:
    """``raw`` as a Python float if it is a single real number (a NumPy or backend scalar
    included), else None. Strings and booleans are not numbers here."""
    if isinstance(raw, (str, bytes, bool, np.bool_)) or raw is None:
        return None
    try:
        array = np.asarray(raw)
    except (TypeError, ValueError, RuntimeError):  # objects NumPy cannot convert
        return None
    if array.size != 1 or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        return None
    return float(array.reshape(()))


def _is_tf_dataset(value) -> bool:
    tf = sys.modules.get("tensorflow")  # a tf.data.Dataset means TensorFlow is imported already
    return tf is not None and isinstance(value, tf.data.Dataset)


def _as_arrays(structure):
    """NumPy copies of every array of ``x`` or ``y`` (a list of numbers becomes one array)."""
    if isinstance(structure, dict):
        return {k: _as_arrays(v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)) and any(
        hasattr(v, "shape") or isinstance(v, (dict, list, tuple)) for v in structure
    ):
        return type(structure)(_as_arrays(v) for v in structure)
    return np.asarray(structure)


def _concatenate(batches):
    """One structure of arrays from a list of same-structured batches (``keras.tree``)."""
    return keras.tree.map_structure(lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *batches)


def _num_batches(dataset) -> int | None:
    """A PyDataset's number of batches (``num_batches``, else ``len``); None if infinite."""
    try:
        n = getattr(dataset, "num_batches", None)
        if n is None and hasattr(dataset, "__len__"):
            n = len(dataset)
    except NotImplementedError:
        n = len(dataset) if hasattr(dataset, "__len__") else None
    return n


class _ValidationData:
    """What ``fit`` accepts as validation data, predicted in full: ``(x, y)`` of arrays (or lists,
    tuples and dicts of arrays), a ``tf.data.Dataset`` or a ``keras.utils.PyDataset`` of
    ``(x, y)`` batches. ``predict(model, batch_size)`` returns ``(y_true, y_pred)``."""

    EXPECTED = (
        "a tuple (x_val, y_val) of arrays (or of lists, tuples or dicts of arrays, as `fit` takes "
        "them), a tf.data.Dataset or a keras.utils.PyDataset of (x, y) batches"
    )

    def __init__(self, value, name="validation_data"):
        self.name = name
        self.batches = None
        if _is_tf_dataset(value) or isinstance(value, keras.utils.PyDataset):
            if _is_tf_dataset(value):
                finite = int(value.cardinality()) != sys.modules["tensorflow"].data.INFINITE_CARDINALITY
            else:
                finite = _num_batches(value) is not None
            if not finite:
                raise _checks.fail(name, "a finite dataset (every epoch predicts all of it)", f"{name}, an infinite {type(value).__name__}")
            self.batches = value
            self.x = self.y = None
            return
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            items = f" with {len(value)} items" if isinstance(value, (tuple, list)) else ""
            raise _checks.fail(name, self.EXPECTED, f"{name} of type {type(value).__name__}{items}")
        x, y = (_as_arrays(v) for v in value)
        self.count = _checks.sample_count({"x_val": x, "y_val": y}, name)
        self.x, self.y = x, y

    def _batches(self):
        if _is_tf_dataset(self.batches):
            yield from self.batches.as_numpy_iterator()
        else:
            for i in range(_num_batches(self.batches)):
                yield self.batches[i]

    def predict(self, model, batch_size):
        if self.batches is None:
            return self.y, model.predict(self.x, batch_size=batch_size, verbose=0)
        y_true, y_pred = [], []
        for batch in self._batches():
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise _checks.fail(
                    self.name, "a dataset of (x, y) batches (sample weights are not used by the metric)",
                    f"a batch of type {type(batch).__name__}"
                    + (f" with {len(batch)} items" if isinstance(batch, (tuple, list)) else ""),
                )
            x, y = batch
            y_true.append(_as_arrays(y))
            y_pred.append(keras.tree.map_structure(np.asarray, model.predict_on_batch(x)))
        if not y_true:
            raise _checks.fail(self.name, "a dataset with at least one batch", "no batches")
        return _concatenate(y_true), _concatenate(y_pred)


def _optimizer_step(model) -> int:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return 0
    return int(ops.convert_to_numpy(optimizer.iterations))


# ── evaluate anything, keep the best ─────────────────────────────────────────────────────────


class EvaluateAndKeepBest(keras.callbacks.Callback):
    """Compute any metric on validation data after each epoch; log it and keep the best weights.

    ``ModelCheckpoint`` and ``EarlyStopping`` can only watch what ``fit`` logs, i.e. metrics
    written as tensor operations averaged over batches. This callback predicts the validation
    set at the end of each epoch and calls ``metric(y_true, y_pred)`` on the NumPy arrays, so the
    metric can be anything: macro-F1, the accuracy of the worst class, BLEU, a call into
    another library. The value is written into ``logs[name]``, so ``History`` records it and
    callbacks placed *after* this one in the ``callbacks`` list (``ModelCheckpoint``,
    ``EarlyStopping``, ``ReduceLROnPlateau``) can monitor it with ``mode="max"`` or ``"min"``.

    When the value improves on the best so far (strictly, by more than ``min_delta``; the first
    finite value always counts), the callback copies the weights into ``best_weights`` (memory)
    and, if ``filepath`` is given, saves them with :func:`kerascool_lib.weights.save_weights_atomically`, so a crash
    mid-save never destroys the previous best file. With ``restore_best_weights=True`` the model
    ends ``fit`` with the best weights. The best value is kept across several ``fit`` calls, as
    ``ModelCheckpoint`` does. If saving fails (a full disk), the error stops ``fit``, naming the
    file, and ``best``, ``best_epoch`` and ``best_weights`` keep describing the previous best,
    which is still the file on disk.

    The validation data can be anything ``fit`` takes, for models with several inputs or outputs
    too: ``(x_val, y_val)`` where each is an array or a list, tuple or dict of arrays (all with
    the same number of samples), a ``tf.data.Dataset`` or a ``keras.utils.PyDataset`` yielding
    ``(x, y)`` batches (predicted batch by batch; sample weights are refused, as the metric
    would ignore them). The metric receives ``y_true`` in the structure given (the batches'
    targets concatenated, for a dataset) and ``y_pred`` as ``model.predict`` returns it.

    Args:
        validation_data: ``(x_val, y_val)``, a ``tf.data.Dataset`` or a ``PyDataset``, as above.
        metric: a function ``metric(y_true, y_pred) -> float`` of NumPy arrays (or of their
            lists or dicts, for several outputs); ``y_pred`` is what ``model.predict`` returns.
        name: the key of the value in ``logs`` and ``history``, e.g. ``"val_macro_f1"``.
        mode: ``"max"`` if higher is better, ``"min"`` if lower is better.
        filepath: optional path ending in ``.weights.h5`` where the best weights are saved.
        restore_best_weights: put the best weights back into the model when ``fit`` ends.
        min_delta: the smallest change that counts as an improvement.
        batch_size: batch size of the validation predictions.
        verbose: 1 prints one line per epoch.

    Attributes:
        history: the metric's value after each epoch.
        best: the best value so far (None before the first epoch).
        best_epoch: the index (from 0) of the epoch that gave ``best``.
        best_weights: a copy of the weights of that epoch, as ``model.get_weights()``.

    Example:

    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int64")
    >>> def balanced_accuracy(y_true, y_pred):
    ...     hit = y_pred.argmax(axis=1) == y_true
    ...     return min(hit[y_true == c].mean() for c in (0, 1))
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> keep = EvaluateAndKeepBest((x, y), balanced_accuracy, "val_balanced_acc")
    >>> history = model.fit(x, y, epochs=3, verbose=0, callbacks=[keep])
    >>> history.history["val_balanced_acc"] == keep.history, keep.best == max(keep.history)
    (True, True)

    A model with two inputs, validated on a dict of inputs (a list works too):

    >>> a, b = keras.Input((4,), name="a"), keras.Input((1,), name="b")
    >>> two = keras.Model({"a": a, "b": b}, keras.layers.Dense(2, activation="softmax")(
    ...     keras.layers.Concatenate()([a, b])))
    >>> two.compile("adam", "sparse_categorical_crossentropy")
    >>> inputs = {"a": x, "b": np.ones((64, 1), "float32")}
    >>> keep = EvaluateAndKeepBest((inputs, y), balanced_accuracy, "val_balanced_acc")
    >>> _ = two.fit(inputs, y, epochs=2, verbose=0, callbacks=[keep])
    >>> len(keep.history)
    2
    """

    def __init__(
        self,
        validation_data,
        metric: Callable,
        name: str,
        *,
        mode: str = "max",
        filepath: str | os.PathLike | None = None,
        restore_best_weights: bool = False,
        min_delta: float = 0.0,
        batch_size: int = 256,
        verbose: int = 0,
    ):
        super().__init__()
        self._validation = _ValidationData(validation_data)
        _checks.function(metric, "metric", "a function metric(y_true, y_pred) -> float")
        _checks.one_of(mode, "mode", ("max", "min"))
        _checks.number(min_delta, "min_delta", 0, math.inf)
        _checks.boolean(restore_best_weights, "restore_best_weights")
        self.x_val, self.y_val = self._validation.x, self._validation.y  # None for datasets
        self.metric = metric
        self.name = _checks.log_name(name)
        self.mode = mode
        self.filepath = None if filepath is None else _checks.weights_path(filepath)
        self.restore_best_weights = restore_best_weights
        self.min_delta = float(min_delta)
        self.batch_size = _checks.integer(batch_size, "batch_size", 1)
        self.verbose = _checks.verbose(verbose)
        self.history: list[float] = []
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_weights: list | None = None

    def _is_improvement(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        y_true, y_pred = self._validation.predict(model, self.batch_size)
        raw = self.metric(y_true, y_pred)
        value = _as_number(raw)
        if value is None:
            raise ValueError(
                f"`metric` must return a single number. Received: metric(y_true, y_pred)={raw!r}"
            )
        if logs is not None:
            if self.name in logs:
                raise ValueError(
                    f"`name` must not be a key that fit or an earlier callback already logs "
                    f"({sorted(logs)}). Received: name={self.name!r}"
                )
            logs[self.name] = value
        self.history.append(value)
        improved = self._is_improvement(value)
        if improved:
            weights = model.get_weights()
            if self.filepath is not None:
                # a failed save propagates and stops fit; best, best_epoch and best_weights
                # then still describe the file on disk, which save_weights_atomically kept
                save_weights_atomically(model, self.filepath)
            self.best, self.best_epoch, self.best_weights = value, epoch, weights
        if self.verbose:
            if improved:
                where = f", saved to {self.filepath.name}" if self.filepath else ""
                note = f"improved{where}"
            elif self.best is None:
                note = "no finite value yet"
            else:
                note = f"best {self.best:.5f} at epoch {self.best_epoch + 1}"
            print(f"Epoch {epoch + 1}: {self.name} = {value:.5f} ({note})")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            model = self.model
            original = model.get_weights()
            try:
                model.set_weights(self.best_weights)
            except BaseException:
                model.set_weights(original)
                raise
            if self.verbose:
                print(f"Restored the weights of epoch {self.best_epoch + 1} ({self.name} = {self.best:.5f})")


# ── warmup and learning-rate records ──────────────────────────────────────────────────────────


class LinearWarmupCallback(keras.callbacks.Callback):
    """Set the learning rate before every batch: a linear ramp to ``peak_learning_rate``.

    The source post's warmup, written for Keras 3. Before optimizer step ``t`` (counted from 0,
    continuing from ``optimizer.iterations`` when ``fit`` starts) it sets
    ``optimizer.learning_rate = peak * (t + 1) / warmup_steps`` while ``t < warmup_steps``;
    afterwards it leaves the rate alone (at the peak, unless another callback changes it).
    The rates equal :class:`kerascool_lib.schedules.LinearWarmup`'s to the last bit. Prefer that schedule, which lives
    inside the compiled step; use this callback when the optimizer's rate must stay settable,
    e.g. to hand over to ``LearningRateScheduler`` or ``ReduceLROnPlateau`` after warmup.

    Keras 3 differences from the post: ``self.params`` holds only ``verbose``, ``epochs`` and
    ``steps`` (no ``samples`` or ``batch_size``), ``K.set_value`` and ``optimizer.lr`` are gone
    (assign ``optimizer.learning_rate``), and the hook is ``on_train_batch_begin``.

    Args:
        peak_learning_rate: the rate reached at the end of warmup.
        warmup_steps: optimizer steps of the ramp; give this or ``warmup_epochs``.
        warmup_epochs: the ramp's length in epochs, converted with ``self.params["steps"]``
            (known when the training data has a length).
        verbose: 1 prints the rate when warmup ends.

    Example:

    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.5), "mse")
    >>> warmup, record = LinearWarmupCallback(1e-3, warmup_epochs=1), LearningRateRecorder()
    >>> _ = model.fit(np.ones((40, 1)), np.ones((40, 1)), batch_size=10, epochs=2, verbose=0,
    ...               callbacks=[warmup, record])
    >>> [round(lr, 6) for lr in record.learning_rates]
    [0.00025, 0.0005, 0.00075, 0.001, 0.001, 0.001, 0.001, 0.001]
    """

    def __init__(self, peak_learning_rate, warmup_steps=None, *, warmup_epochs=None, verbose=0):
        super().__init__()
        self.peak_learning_rate = _checks.finite_positive(peak_learning_rate, "peak_learning_rate")
        if (warmup_steps is None) == (warmup_epochs is None):
            raise ValueError(
                "Pass exactly one of `warmup_steps` and `warmup_epochs`. "
                f"Received: warmup_steps={warmup_steps!r}, warmup_epochs={warmup_epochs!r}"
            )
        self.warmup_steps = None if warmup_steps is None else _checks.integer(warmup_steps, "warmup_steps", 1)
        self.warmup_epochs = None if warmup_epochs is None else _checks.finite_positive(warmup_epochs, "warmup_epochs")
        self.verbose = _checks.verbose(verbose)
        self._step = 0
        self._total = None

    def on_train_begin(self, logs=None):
        model = self.model
        _check_steps_per_execution(model, "LinearWarmupCallback")
        if self.warmup_epochs is not None:
            steps = (self.params or {}).get("steps")
            if not steps:
                raise ValueError(
                    "`warmup_epochs` needs the number of steps per epoch, which fit only knows "
                    "for data of known length; pass `warmup_steps` instead. "
                    f"Received: params['steps']={steps!r}"
                )
            self._total = max(1, int(round(self.warmup_epochs * steps)))
        else:
            self._total = self.warmup_steps
        self._step = _optimizer_step(model)

    def on_train_batch_begin(self, batch, logs=None):
        if self._step < self._total:
            optimizer = self.model.optimizer
            optimizer.learning_rate = float(_warmup_value(self.peak_learning_rate, self._total, self._step))
            if self.verbose and self._step == self._total - 1:
                print(f"\nWarmup ends at step {self._step}: learning rate {self.peak_learning_rate:g}")
        self._step += 1


class LearningRateRecorder(keras.callbacks.Callback):
    """Record the learning rate each optimizer step uses, and the step's number.

    Before every batch it reads ``optimizer.learning_rate`` (a schedule is evaluated at the
    current ``optimizer.iterations``) and ``optimizer.iterations``. Put it *after* any callback
    that sets the rate before a batch (:class:`LinearWarmupCallback`), since callbacks run in
    list order. It reads two numbers from the device per step: fine for plots and tests, a
    small cost in long GPU runs.

    Attributes:
        steps: the optimizer step of each batch.
        learning_rates: the learning rate used at that step.

    Example:

    >>> from kerascool_lib.schedules import LinearWarmup
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(LinearWarmup(0.1, warmup_steps=2)), "mse")
    >>> record = LearningRateRecorder()
    >>> _ = model.fit(np.ones((3, 1)), np.ones((3, 1)), batch_size=1, verbose=0, callbacks=[record])
    >>> record.steps, [round(lr, 6) for lr in record.learning_rates]
    ([0, 1, 2], [0.05, 0.1, 0.1])
    """

    def __init__(self):
        super().__init__()
        self.steps: list[int] = []
        self.learning_rates: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.steps.append(int(ops.convert_to_numpy(optimizer.iterations)))
        self.learning_rates.append(float(ops.convert_to_numpy(optimizer.learning_rate)))


# ── hyper-parameters that change mid-training ─────────────────────────────────────────────────


class VariableScheduler(keras.callbacks.Callback):
    """Set a ``keras.Variable`` from a schedule, before every epoch or every step.

    ``LearningRateScheduler`` does this for the learning rate; this callback does it for any
    variable the training step reads, typically a loss weight: the ``e`` of a mixed loss
    ``(1 - e) * CE(y, p) + e * CE(uniform, p)``, or the ``lambda`` of a center loss. Before epoch
    ``i`` (``per="epoch"``) or optimizer step ``t`` (``per="step"``, counted from
    ``optimizer.iterations``) it assigns ``schedule(i)`` or ``schedule(t)``; the compiled step
    reads the new value at once, without recompiling. The value in force is written into
    ``logs[name]`` at the end of each epoch, so it appears in ``history``.

    The variable must belong to the model: a weight (``add_weight``), or an attribute of the
    model or of one of its layers (``model.e = keras.Variable(...)`` before ``fit``), or an
    optimizer variable. Otherwise ``fit`` raises ``ValueError``: on TensorFlow an unowned
    variable would work, but on JAX the compiled step would keep the value it was traced with and
    ignore every assignment, silently. (The callback also goes through ``self.model`` before
    assigning, which on JAX writes the step's state back into the variables, so the assignment is
    the one the next step sees.)

    Args:
        variable: the ``keras.Variable`` to set.
        schedule: a function of the epoch (or step) index, from 0, returning a number.
        per: ``"epoch"`` or ``"step"``.
        name: the key in ``logs`` and ``history``; default: the variable's name.
        verbose: 1 prints each change of value.

    Attributes:
        values: the value assigned at each epoch (or step).

    Example:

    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.e = keras.Variable(0.0, trainable=False, name="e")  # owned by the model
    >>> model.compile("sgd", lambda y, p: model.e * ops.mean(ops.square(y - p)))
    >>> scheduler = VariableScheduler(model.e, lambda epoch: 1.0 if epoch < 2 else 0.5)
    >>> history = model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[scheduler])
    >>> history.history["e"]
    [1.0, 1.0, 0.5]
    """

    def __init__(self, variable, schedule: Callable, *, per: str = "epoch", name: str | None = None, verbose: int = 0):
        super().__init__()
        _checks.instance(variable, "variable", keras.Variable, "a keras.Variable, e.g. keras.Variable(0.1, trainable=False)")
        _checks.function(schedule, "schedule", "a function of the epoch or step index")
        _checks.one_of(per, "per", ("epoch", "step"))
        self.variable = variable
        self.schedule = schedule
        self.per = per
        self.name = _checks.log_name(variable.name if name is None else name)
        self.verbose = _checks.verbose(verbose)
        self.values: list[float] = []
        self._step = 0

    def on_train_begin(self, logs=None):
        model = self.model
        owned = list(model.variables)
        if getattr(model, "optimizer", None) is not None:
            owned += list(model.optimizer.variables)
        if not any(v is self.variable for v in owned):
            raise ValueError(
                "`variable` must belong to the model being trained (a weight, or an attribute of "
                "the model or of one of its layers, set before fit), so that every backend reads "
                "its current value inside the compiled training step; on JAX an unowned variable "
                "is frozen at its first value. Attach it, e.g. `model.loss_weight = variable`. "
                f"Received: variable={self.variable.path!r}, which is not among the model's "
                "variables"
            )
        if self.per == "step":
            _check_steps_per_execution(model, "VariableScheduler(per='step')")
            self._step = _optimizer_step(model)

    def _set(self, index):
        raw = self.schedule(index)
        value = _as_number(raw)
        if value is None or not math.isfinite(value):
            raise ValueError(
                f"`schedule` must return a finite number. Received: schedule({index})={raw!r}"
            )
        _ = self.model  # property access with an effect: on JAX, writes the running state back into the variables first
        changed = not self.values or value != self.values[-1]
        self.variable.assign(value)
        if self.verbose and changed:
            print(f"{self.name} = {value:g} from {self.per} {index}")
        self.values.append(value)

    def on_epoch_begin(self, epoch, logs=None):
        if self.per == "epoch":
            self._set(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per == "step":
            self._set(self._step)
            self._step += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = float(ops.convert_to_numpy(self.variable))
