"""Weight EMA: an exponential moving average of a model's weights, kept beside the optimizer.

- :class:`ExponentialMovingAverage`: a callback that keeps shadow copies of the trainable
  weights, updates them after every optimizer step, lends them to the model inside a ``with``
  block (restored on exit, also after an exception), evaluates them on validation data at
  every epoch and saves them as a ``.weights.h5`` file of their own.
- :func:`warmup_decay`: the decay it uses at a given step, ``min(decay, (1 + t) / (10 + t))``.

The optimizers' built-in ``use_ema=True`` keeps the same average, but ``fit`` then writes it
into the model at the end (so the next ``fit`` continues from the average, not from where the
optimizer was), and ``keras.callbacks.SwapEMAWeights`` can leave the average in the model after
``predict`` or an exception. This callback never changes the optimizer's trajectory: the model
holds its raw weights except inside :meth:`ExponentialMovingAverage.swapped`.
"""

from __future__ import annotations

import contextlib
import os

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks
from kerascool_lib.weights import save_weights_atomically, swapped_weights

__all__ = ["ExponentialMovingAverage", "warmup_decay"]


def warmup_decay(step: int, decay: float) -> float:
    """The decay of the average after optimizer step ``step``: ``min(decay, (1 + step) / (10 + step))``.

    This is ``tf.train.ExponentialMovingAverage``'s ``num_updates`` rule. Early in training the
    weights move fast and the first ones are random: a fixed decay of 0.999 would keep 37% of
    the initial weights after 1,000 steps. The warm-up decay starts at 2/11 and rises
    towards 1, so the average covers roughly the last tenth of the steps done so far, until it
    reaches ``decay`` (after 8,990 steps for 0.999, 890 for 0.99).

    Args:
        step: the optimizer step just taken, counted from 1 (``optimizer.iterations`` after it).
        decay: the final decay, in ``[0, 1)``.

    Returns:
        The decay as a Python float.

    Example:

    >>> [round(warmup_decay(t, 0.99), 4) for t in (1, 10, 100, 10_000)]
    [0.1818, 0.55, 0.9182, 0.99]
    """
    step = _checks.integer(step, "step", 1)
    decay = _checks.number(decay, "decay", 0, 1, high_open=True)
    return min(decay, (1.0 + step) / (10.0 + step))


def _average(d, shadows, weights):
    """The new shadow values, in ``keras.ops`` (backend-neutral)."""
    return [ops.add(ops.multiply(d, s), ops.multiply(1.0 - d, w)) for s, w in zip(shadows, weights)]


def _compile(shadows, variables):
    """A function ``update(d)`` assigning the new averages: one compiled call on TensorFlow and
    JAX (about one dispatch per step instead of four per weight), eager ``keras.ops`` elsewhere."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(autograph=False)
        def update(d):
            for shadow, new in zip(shadows, _average(d, shadows, variables)):
                shadow.assign(new)

        return update
    if backend == "jax":
        import jax

        average = jax.jit(_average)

        def update(d):
            values = average(d, [s.value for s in shadows], [v.value for v in variables])
            for shadow, new in zip(shadows, values):
                shadow.assign(new)

        return update

    def update(d):
        for shadow, new in zip(shadows, _average(d, shadows, variables)):
            shadow.assign(new)

    return update


class ExponentialMovingAverage(keras.callbacks.Callback):
    """Keep an exponential moving average of the trainable weights; lend it to the model on demand.

    After every optimizer step ``t`` of ``fit`` it updates one shadow variable per trainable
    weight ``w``: ``ema = d * ema + (1 - d) * w``, with ``d = warmup_decay(t, decay)``, or, with
    ``warmup=False``, ``d = 0`` at the first step (the shadow copies the weights) and ``decay``
    after it, which is the rule of the optimizers' ``use_ema=True``, so the two averages agree to
    float tolerance. ``t`` is ``optimizer.iterations``, which is saved with the model, so a run
    resumed from a checkpoint continues the warm-up where it was. The shadows are created from
    the model's weights at the first ``fit`` (or by :meth:`load_weights`).

    The update runs in the callback, outside the compiled training step, and the optimizer never
    sees the shadows: its trajectory is the same as without the callback. Inside
    ``with ema.swapped():`` the model carries the average (non-trainable weights, such as
    BatchNorm's statistics, are the model's own: they are not averaged); on exit, also after an
    exception, the raw weights and the optimizer's state are back
    (:func:`kerascool_lib.weights.swapped_weights`). With ``validation_data`` it also evaluates
    the average at the end of every epoch, inside that block, and logs ``val_ema_<metric>``
    next to ``fit``'s ``val_<metric>``.

    Which decay: the average spans about ``1 / (1 - decay)`` steps (1,000 for 0.999). Pick a
    span of a fraction of an epoch to a few epochs: 0.999 for runs of tens of thousands of
    steps, 0.99 for a few thousand; in shorter runs the warm-up decides anyway. Caveats: it holds
    one copy of the trainable weights (memory); it acts once per batch, so the model must be
    compiled with ``steps_per_execution=1``; on JAX, reading the weights after each step makes
    Keras write the step's state back into the model's variables (a copy per step). The shadows
    are plain variables of the callback, never read inside the compiled step, so the same code
    works on TensorFlow and JAX.

    Args:
        decay: the decay of the average, in ``[0, 1)``.
        warmup: use :func:`warmup_decay` (True) or the ``use_ema`` rule (False).
        validation_data: ``(x_val, y_val)`` to evaluate the average on after each epoch, or None.
        batch_size: the batch size of that evaluation.

    Attributes:
        shadows: the shadow variables, one per trainable weight, in ``model.trainable_variables``
            order (empty before the first ``fit``).

    Example:

    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> ema = ExponentialMovingAverage(decay=0.5, warmup=False)
    >>> model.set_weights([np.zeros((1, 1))])
    >>> _ = model.fit(np.ones((2, 1)), np.ones((2, 1)), batch_size=1, verbose=0, callbacks=[ema])
    >>> raw = model.get_weights()[0].item()  # 0 -> 0.2 -> 0.36
    >>> with ema.swapped():  # 0.2 at step 1 (copied), then 0.5 * 0.2 + 0.5 * 0.36
    ...     round(model.get_weights()[0].item(), 4)
    0.28
    >>> model.get_weights()[0].item() == raw  # the raw weights are back
    True
    """

    def __init__(self, decay: float = 0.999, *, warmup: bool = True, validation_data=None, batch_size: int = 256):
        super().__init__()
        self.decay = _checks.number(decay, "decay", 0, 1, high_open=True)
        self.warmup = _checks.boolean(warmup, "warmup")
        if validation_data is not None and (not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2):
            raise _checks.fail("validation_data", "a tuple (x_val, y_val) of arrays, or None", value=validation_data)
        if validation_data is not None:
            _checks.sample_count({"x_val": validation_data[0], "y_val": validation_data[1]}, "validation_data")
        self.validation_data = validation_data
        self.batch_size = _checks.integer(batch_size, "batch_size", 1)
        self.shadows: list = []
        self._step = 0
        self._compiled = None

    # ── the shadows ──────────────────────────────────────────────────────────────────────────

    def _trainable(self, model):
        if not model.built:
            raise _checks.fail("model", "a built keras.Model (call it on data, or give it an Input)", f"model={model.name!r}, not built")
        return list(model.trainable_variables)

    def _create_shadows(self, model):
        self.shadows = [
            keras.Variable(ops.convert_to_numpy(w), dtype=w.dtype, trainable=False, name=f"ema_{i}")
            for i, w in enumerate(self._trainable(model))
        ]

    def _check_shadows(self, model):
        expected = [tuple(w.shape) for w in self._trainable(model)]
        received = [tuple(s.shape) for s in self.shadows]
        if expected != received:
            raise _checks.fail(
                "model", f"the model whose weights this average holds: {len(received)} trainable weights of shapes {received[:4]}",
                f"a model with {len(expected)} trainable weights of shapes {expected[:4]}",
            )

    def set_model(self, model):
        super().set_model(model)
        if self.shadows:
            self._check_shadows(model)

    def on_train_begin(self, logs=None):
        model = self.model
        spe = getattr(model, "steps_per_execution", 1)
        if spe != 1:
            raise ValueError(
                "`model` must be compiled with steps_per_execution=1: ExponentialMovingAverage updates the "
                f"average once per batch. Received: steps_per_execution={spe}"
            )
        if not self.shadows:
            self._create_shadows(model)
        self._check_shadows(model)
        self._variables = self._trainable(model)
        self._compiled = None
        self._step = int(ops.convert_to_numpy(model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        _ = self.model  # on JAX this writes the step's state back into the variables
        self._step += 1
        if self.warmup:
            d = warmup_decay(self._step, self.decay)
        else:
            d = 0.0 if self._step == 1 else self.decay
        self._update(np.float32(d))

    def _update(self, d):
        """``ema = d * ema + (1 - d) * w`` for every shadow, as one compiled call where possible."""
        if self._compiled is None:
            self._compiled = _compile(self.shadows, self._variables)
        self._compiled(d)

    def on_epoch_end(self, epoch, logs=None):
        if self.validation_data is None or logs is None:
            return
        x, y = self.validation_data
        with self.swapped() as model:
            results = model.evaluate(x, y, batch_size=self.batch_size, verbose=0, return_dict=True)
        for name, value in results.items():
            logs[f"val_ema_{name}"] = float(value)

    # ── using the average ───────────────────────────────────────────────────────────────────

    def _model_or_fail(self):
        model = getattr(self, "_model", None)
        if model is None or not self.shadows:
            raise ValueError(
                "`ExponentialMovingAverage` must have an average to use: pass it to `fit` (callbacks=[ema]) "
                "or call `ema.load_weights(path, model)` first. Received: no shadows yet"
            )
        return self.model

    def averaged_weights(self) -> list:
        """The model's weights with the average in place of each trainable weight, as NumPy arrays.

        Returns:
            A list in ``model.weights`` order, as ``model.get_weights()`` returns it; the
            non-trainable weights (BatchNorm statistics) are the model's current ones.
        """
        model = self._model_or_fail()
        by_id = {id(w): s for w, s in zip(self._trainable(model), self.shadows)}
        return [ops.convert_to_numpy(by_id.get(id(w), w)) for w in model.weights]

    def swapped(self):
        """A context manager: inside, the model carries the average; on exit its own weights.

        The optimizer's state is restored too, also when the block raises.

        Returns:
            ``kerascool_lib.weights.swapped_weights(model, self.averaged_weights())``, which
            yields the model.
        """
        model = self._model_or_fail()
        return swapped_weights(model, self.averaged_weights())

    def save_weights(self, filepath: str | os.PathLike):
        """Save the averaged model as a ``.weights.h5`` file (atomically), e.g. next to the raw one.

        ``model.load_weights(filepath)`` then gives a model for inference with the average, and
        :meth:`load_weights` reads it back into the shadows to resume training.

        Args:
            filepath: a path ending in ``.weights.h5``.

        Returns:
            ``filepath`` as a ``pathlib.Path``.
        """
        path = _checks.weights_path(filepath)
        with self.swapped() as model:
            return save_weights_atomically(model, path)

    def load_weights(self, filepath: str | os.PathLike, model: keras.Model | None = None):
        """Set the shadows from a file written by :meth:`save_weights` (or any weights file of the model).

        The model's own weights and optimizer state are left as they were; the warm-up
        continues from ``model.optimizer.iterations`` at the next ``fit``.

        Args:
            filepath: an existing ``.weights.h5`` file of the same architecture.
            model: the model the average belongs to; default: the model of the last ``fit``.
        """
        path = _checks.weights_path(filepath)
        if not path.is_file():
            raise _checks.fail("filepath", "an existing weights file", value=str(path))
        if model is None:
            model = getattr(self, "_model", None)
            if model is None:
                raise _checks.fail("model", "a keras.Model when the average was never used in fit", value=None)
        _checks.model(model, built=True)
        if not self.shadows:
            self._create_shadows(model)
        self.set_model(model)  # checks that the shadows fit the model
        with swapped_weights(model, path):
            values = [ops.convert_to_numpy(w) for w in self._trainable(model)]
        for shadow, value in zip(self.shadows, values):
            shadow.assign(value)
