"""Losses without targets: a layer that adds a reconstruction loss, and a guard against no loss.

The reusable parts of the book's chapter *Losses without targets*, for Keras 3 on any backend:

- :class:`ReconstructionLoss`: a layer called on ``[target, reconstruction]`` that returns the
  reconstruction unchanged and adds ``weight * error(target, reconstruction)`` to the model's
  loss with ``self.add_loss``. Placed in a functional autoencoder, it lets the model train with
  ``compile(optimizer=...)`` and ``fit(x, None)``: the loss is computed from tensors of the
  graph, not from ``(y_true, y_pred)``. It replaces the Keras 2 idiom
  ``model.add_loss(K.mean((x - x_in) ** 2))``, which on a Keras 3 functional model raises a
  ``NotImplementedError`` with an empty message.
- :class:`RequireLoss`: a callback that makes "compiled with no loss at all" an error on every
  backend. TensorFlow already refuses such a model ("No loss to compute"), but on JAX Keras
  runs it: ``fit`` reports ``loss: 0.0`` every step and no weight moves.

Why the guard is a callback and not a check run before ``fit``: the loss ``fit`` reports for
its first batch is the loss the compiled step really minimized, whatever its source (a loss in
``compile``, ``add_loss`` in any layer, an overridden ``compute_loss`` or ``train_step``). A
callback reads it from ``logs`` at no cost and with no side effect, where a check before
``fit`` would have to re-implement Keras's loss collection and run an extra training-mode
forward pass (which moves ``BatchNormalization`` statistics and other state updated in
``call``).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks
from kerascool_lib.distribute import _add_loss

__all__ = ["ReconstructionLoss", "RequireLoss"]

#: The errors :class:`ReconstructionLoss` computes, by name.
KINDS = ("mse", "binary_crossentropy")


@keras.saving.register_keras_serializable(package="kerascool_lib")
class ReconstructionLoss(keras.layers.Layer):
    """Add the error between a target and its reconstruction to the loss; pass the reconstruction.

    Called on ``[target, reconstruction]`` (two tensors of the same shape), the layer returns
    ``reconstruction`` unchanged and adds to the model's loss

        ``weight * mean over the batch (and positions) of error(target, reconstruction)``

    where the error of one position is the mean over the last axis of

    - ``"mse"``: ``(reconstruction - target)²``;
    - ``"binary_crossentropy"``: ``-(t log p + (1 - t) log(1 - p))`` with ``p`` the
      reconstruction clipped to ``[ε, 1 - ε]`` (``ε = keras.config.epsilon()``), for targets and
      reconstructions in [0, 1] (a sigmoid decoder), as ``keras.losses.binary_crossentropy``.

    The loss is added at *every* call, training or not, so ``model.evaluate(x)`` reports the
    reconstruction error of the current weights; ``predict`` ignores it. Because the target
    comes in as an input of the graph (usually the model's own input), the model is compiled
    without a loss and trained without targets: ``compile(optimizer="adam")``, ``fit(x, None)``
    (or ``fit(x)``). Any tensors of the graph can be compared: an intermediate layer's output
    with another's, the input with a decoder's output.

    ``weight`` is a Python float, fixed when the training step is traced (to change it
    mid-training, hold it in a variable in a layer of your own instead).

    Masking: if the reconstruction carries a mask (shape ``reconstruction.shape[:-1]``), it
    passes through with the output, and masked positions are left out of the mean.

    Dtypes: the output is the reconstruction in the layer's ``compute_dtype``; the loss is
    computed in the layer's variable dtype (float32 under ``"mixed_float16"``, float64 with
    ``dtype="float64"``).

    Args:
        kind: the error, ``"mse"`` (default) or ``"binary_crossentropy"``.
        weight: the loss weight, a finite number >= 0 (default 1.0).
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``).

    Returns:
        The reconstruction, unchanged (in the layer's compute dtype).

    Raises:
        ValueError: a bad argument (a message naming it), a call on anything but a pair
            ``[target, reconstruction]``, or a pair whose known shapes differ.

    Example:

    >>> import numpy as np
    >>> target = np.array([[0.0, 1.0], [1.0, 1.0]], "float32")
    >>> reconstruction = np.array([[0.5, 1.0], [1.0, 0.0]], "float32")
    >>> layer = ReconstructionLoss()
    >>> out = layer([target, reconstruction])
    >>> bool(np.array_equal(ops.convert_to_numpy(out), reconstruction))
    True
    >>> float(ops.convert_to_numpy(layer.losses[0]))  # mean of [0.25, 0, 0, 1]
    0.3125

    An autoencoder trained without targets:

    >>> x_in = keras.Input((4,))
    >>> code = keras.layers.Dense(2, activation="relu")(x_in)
    >>> decoded = keras.layers.Dense(4, activation="sigmoid")(code)
    >>> model = keras.Model(x_in, ReconstructionLoss(name="reconstruction")([x_in, decoded]))
    >>> model.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).uniform(size=(16, 4)).astype("float32")
    >>> history = model.fit(x, None, epochs=2, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['loss'], 2)
    >>> error = np.mean((model.predict(x, verbose=0) - x) ** 2)
    >>> bool(np.isclose(model.evaluate(x, verbose=0), error, rtol=1e-5))
    True
    """

    def __init__(self, kind: str = "mse", weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.kind = _checks.one_of(kind, "kind", KINDS)
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) or not (
            0 <= weight < float("inf")
        ):
            raise _checks.fail("weight", "a finite number >= 0", value=weight)
        self.weight = float(weight)
        self.supports_masking = True

    @staticmethod
    def _pair(values, shapes=False):
        """``values`` if they are a pair (of shapes, when ``shapes``), else the error."""
        ok = isinstance(values, (list, tuple)) and len(values) == 2
        if ok and shapes:
            ok = all(isinstance(s, (list, tuple)) for s in values)
        if not ok:
            raise ValueError(
                "ReconstructionLoss must be called on a pair [target, reconstruction]. "
                f"Received: {'input shapes' if shapes else 'inputs'} {values!r:.120}"
            )
        return values

    def build(self, input_shape):
        target, reconstruction = (tuple(s) for s in self._pair(input_shape, shapes=True))
        if len(target) != len(reconstruction) or any(
            a is not None and b is not None and a != b for a, b in zip(target, reconstruction)
        ):
            raise ValueError(
                "ReconstructionLoss needs a target and a reconstruction of the same shape. "
                f"Received: target shape={target}, reconstruction shape={reconstruction}"
            )

    def _error(self, target, reconstruction):
        """The error of each position: the mean over the last axis (a sum over the static width:
        ``ops.mean`` on JAX averages float64 values in float32)."""
        width = float(reconstruction.shape[-1])
        if self.kind == "mse":
            return ops.sum(ops.square(reconstruction - target), axis=-1) / width
        eps = keras.config.epsilon()
        p = ops.clip(reconstruction, eps, 1.0 - eps)
        return -ops.sum(target * ops.log(p) + (1.0 - target) * ops.log(1.0 - p), axis=-1) / width

    def call(self, inputs, mask=None):
        target, reconstruction = self._pair(inputs)
        error = self._error(ops.cast(target, self.dtype), ops.cast(reconstruction, self.dtype))
        mask = mask[1] if isinstance(mask, (list, tuple)) else None
        if mask is None:
            loss = ops.sum(error) / ops.sum(ops.ones_like(error))
        else:
            weights = ops.cast(mask, self.dtype)
            loss = ops.sum(error * weights) / ops.maximum(ops.sum(weights), 1.0)
        _add_loss(self, self.weight * loss)  # self.add_loss, safe under a TensorFlow strategy
        return reconstruction

    def compute_mask(self, inputs, mask=None):
        return mask[1] if isinstance(mask, (list, tuple)) else None

    def compute_output_shape(self, input_shape):
        return tuple(self._pair(input_shape, shapes=True)[1])

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "weight": self.weight}


class RequireLoss(keras.callbacks.Callback):
    """Stop ``fit`` with an error when the model has no loss to minimize.

    A model compiled without a loss trains only if something else adds one: a layer that
    calls ``self.add_loss`` in ``call`` (such as :class:`ReconstructionLoss`), or an
    overridden ``compute_loss``. When nothing does, the TensorFlow backend raises
    ``ValueError: No loss to compute``, but on JAX ``fit`` runs: it reports ``loss: 0.0`` at
    every step and no weight moves. Pass this callback to ``fit`` and that case raises on every
    backend, after the first batch.

    After the first training batch of each ``fit``, the callback reads ``logs[monitor]`` (the
    loss of that batch, as the compiled step computed it) and raises a ``ValueError`` if it is
    exactly ``0.0`` and the model was compiled with no loss (``model.loss is None``), or if the
    logs hold no ``monitor`` key at all (the guard cannot see the loss). Later batches and a
    model compiled with a loss are not checked, so the callback costs nothing after the first
    step. The one step it lets run had a zero gradient: it changed no weight (unless the
    optimizer decays weights on its own).

    A model whose own loss is exactly 0.0 on its first batch (say, a loss weight of 0 while
    warming up) is refused too: do not use the callback there.

    Args:
        monitor: the key of the loss in ``logs`` (default ``"loss"``; a custom ``train_step``
            may name it otherwise).

    Raises:
        ValueError: a bad ``monitor``; in ``fit``, a first batch with no loss (see above).

    Example:

    >>> import numpy as np
    >>> x_in = keras.Input((4,))
    >>> decoded = keras.layers.Dense(4, activation="sigmoid")(x_in)
    >>> x = np.ones((8, 4), "float32")
    >>> with_loss = keras.Model(x_in, ReconstructionLoss()([x_in, decoded]))
    >>> with_loss.compile(optimizer="adam")
    >>> _ = with_loss.fit(x, None, epochs=1, verbose=0, callbacks=[RequireLoss()])  # trains

    The same model without the loss layer (the JAX backend would train it at loss 0.0):

    >>> no_loss = keras.Model(x_in, decoded)
    >>> no_loss.compile(optimizer="adam")
    >>> no_loss.fit(x, None, epochs=1, verbose=0, callbacks=[RequireLoss()])
    Traceback (most recent call last):
        ...
    ValueError: ...
    """

    def __init__(self, monitor: str = "loss"):
        super().__init__()
        self.monitor = _checks.log_name(monitor, "monitor")
        self._checked = False

    def on_train_begin(self, logs=None):
        self._checked = False

    def on_train_batch_end(self, batch, logs=None):
        if self._checked:
            return
        self._checked = True
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"RequireLoss watches `monitor`={self.monitor!r}, but the logs of the first "
                f"training batch have no such key (keys: {sorted(logs)}), so it cannot tell "
                "whether the model minimizes anything. Pass the key your training step logs "
                "its loss under."
            )
        value = float(np.asarray(logs[self.monitor]).reshape(()))
        if value == 0.0 and getattr(self.model, "loss", None) is None:
            raise ValueError(
                f"The model trained at {self.monitor} 0.0 on its first batch and was compiled "
                "with no loss: it has nothing to minimize, and no weight moves (Keras on JAX "
                "runs such a model without an error; on TensorFlow it raises 'No loss to "
                "compute'). Give compile() a loss, add one inside a layer's call() with "
                "self.add_loss(...) (e.g. kerascool_lib.targetless.ReconstructionLoss), or "
                "override the model's compute_loss(). Model.add_loss(tensor) on a functional "
                "model is not implemented in Keras 3."
            )
