"""Losses that need more than ``(y_true, y_pred)``: the center loss, and how to measure it.

The reusable parts of the book's chapter *Layers that carry their own loss*, for Keras 3 on any
backend:

- :class:`CenterLoss`: a layer that takes ``[features, labels]``, returns the features
  unchanged and, while training, adds the center loss of Wen et al. (2016),
  ``lamb * mean_i ½‖f_i − c_{y_i}‖²``, with ``self.add_loss``. The layer owns the class centers
  and the weight ``lamb`` (so a callback can change it mid-training on every backend), and
  updates the centers either by gradient or by the paper's moving-average rule.

How tightly features cluster by class (what the center loss changes) is measured by
:func:`kerascool_lib.metrics.feature_variance` and :func:`kerascool_lib.metrics.class_means`.

Why a layer, and not a loss function? A Keras loss sees only ``y_true`` and ``y_pred``; the
center loss also needs the features and the centers. Keras 2 code often stashed the features
in ``call`` (``self.inputs = inputs``) and read them in a bound-method loss; that leaks a
tensor out of the traced step and a model compiled with it cannot be loaded back. A layer that
receives the labels as a second input sees everything it needs in ``call``, owns its state,
and saves with the model.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks
from kerascool_lib.distribute import _add_loss, sum_over_replicas

__all__ = ["CenterLoss"]


def _concrete(values):
    """``values`` as a NumPy array when they are known now (an eager call), else None.

    Inside a ``tf.function`` or under ``jax.jit`` the labels are symbolic: None.
    """
    if isinstance(values, (np.ndarray, np.generic)):
        return values
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return values.numpy() if tf.executing_eagerly() and hasattr(values, "numpy") else None
    if backend == "jax":
        import jax

        return None if isinstance(values, jax.core.Tracer) else np.asarray(values)
    return None  # other backends: the NaN of the compiled path still flags a bad label


def _check_lamb(value, name="lamb"):
    return _checks.number(value, name, 0.0, float("inf"), high_open=True)


def _check_alpha(value):
    if value is None:
        return None
    return _checks.number(value, "alpha", 0.0, 1.0, low_open=True)


@keras.saving.register_keras_serializable(package="kerascool_lib")
class CenterLoss(keras.layers.Layer):
    """Pull each feature vector towards the center of its class (Wen et al., 2016).

    Called on ``[features, labels]``, the layer returns ``features`` unchanged. While
    training (``training=True``, as in ``fit``), it adds to the model's loss

        ``lamb * mean over the batch of ½ ‖f_i − c_{y_i}‖²``

    where ``c_k`` is the center of class ``k``, a row of the ``(num_classes, dim)`` weight
    ``centers`` the layer owns. Outside training (``predict``, ``evaluate``, a direct call) it
    adds nothing and changes nothing, so a model that ends with it (or an inference model
    built without the labels input) predicts as if it were not there.

    The centers move in one of two ways:

    - ``alpha=None`` (the default): ``centers`` is a trainable weight, learned by the
      optimizer from the gradient of the loss, as in Su Jianlin's Keras 2 post;
    - ``alpha`` in (0, 1]: ``centers`` is non-trainable and updated in ``call`` by the rule of
      Wen et al. (their eq. 4): for each class ``j`` in the batch,
      ``c_j ← c_j − alpha · Σ_{i: y_i=j} (c_j − f_i) / (1 + n_j)``, with ``n_j`` its count in
      the batch. The loss of a step uses the centers from before its update. Under a
      TensorFlow strategy the sums are taken over all replicas
      (:func:`kerascool_lib.distribute.sum_over_replicas`), so every copy of the centers
      moves alike.

    ``lamb`` is a non-trainable scalar weight of the layer, not a Python float: assign it
    (``layer.lamb.assign(0.1)``, or with :class:`~kerascool_lib.callbacks.VariableScheduler`)
    and the compiled training step uses the new value at once, on every backend.

    Labels are class indices, of shape ``(batch,)`` or ``(batch, 1)``, integer or float
    (``1.0``), each in ``[0, num_classes)``. A bad label (``num_classes`` or more, negative, a
    fraction like ``1.7``, NaN) is never silently turned into another class (unchecked, a
    gather would clamp it to the last class under XLA, wrap ``-1`` to the last class, truncate
    ``1.7`` to 1, or give NaN on JAX). It is caught in a training call, in one of two ways:

    - **eagerly** (the layer called on concrete values, outside a compiled function, as in
      the example below or ``fit(..., run_eagerly=True)``): a ``ValueError`` that names
      ``labels``, the first bad value and the allowed range;
    - **inside a compiled step** (``fit`` as a TensorFlow graph, with ``jit_compile=True``, or
      under ``jax.jit``), where the values are not known when Python runs and a Python error is
      impossible: the center loss of the whole batch is NaN (so is the loss ``fit`` reports),
      the centers are not updated, and the batch adds no gradient to them. Pass
      ``keras.callbacks.TerminateOnNaN()`` to ``fit`` to stop at that batch. A NaN is the one
      failure signal every backend carries out of compiled code (TensorFlow's run-time asserts
      do not exist under JAX).

    Masking: the features' mask (from a ``Masking`` layer before the layer, shape ``(batch,)``)
    passes through with the features (``compute_mask`` returns it), and a masked sample is left
    out of the loss and of the moving-average update. Its label is still checked.

    Dtypes: the output is the features, in the layer's ``compute_dtype``; the loss and the
    centers are computed in the centers' dtype, the variable dtype (float32 under
    ``"mixed_float16"``, where squared distances would overflow float16; float64 with
    ``dtype="float64"``).

    Args:
        num_classes: the number of classes (rows of ``centers``).
        lamb: the loss weight λ >= 0 (0 adds a zero loss; the centers still move).
        alpha: None to learn the centers by gradient, or the moving-average rate in (0, 1].
        centers_initializer: initializer of ``centers`` (default ``"zeros"``).

    Example:

    >>> features = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]], dtype="float32")
    >>> labels = np.array([0, 0, 1])
    >>> layer = CenterLoss(num_classes=2, lamb=0.5, alpha=0.5)
    >>> out = layer([features, labels], training=True)
    >>> np.array_equal(ops.convert_to_numpy(out), features)  # the features pass through unchanged
    True
    >>> float(ops.convert_to_numpy(layer.losses[0]))  # 0.5 * mean(½·[1, 9, 4]) with all centers at 0
    1.1666666269302368
    >>> ops.convert_to_numpy(layer.centers).tolist()  # class 0: 0.5 * 4 / 3; class 1: 0.5 * 2 / 2
    [[0.6666666865348816, 0.0], [0.0, 0.5]]
    >>> _ = layer([features, labels], training=False)  # inference: no loss, no update
    >>> layer.losses, ops.convert_to_numpy(layer.centers).tolist()[1]
    ([], [0.0, 0.5])

    A label out of range, called eagerly:

    >>> layer([features, np.array([0, 2, 1])], training=True)
    Traceback (most recent call last):
        ...
    ValueError: ...`labels` must be class indices, integers in [0, 2). Received: labels[1]=2 (1 of 3 out of range)...

    In a model, the labels are a second input used only for training; the inference model
    shares the layers and needs no labels:

    >>> x_in = keras.Input((4,))
    >>> y_in = keras.Input((), dtype="int32")
    >>> f = keras.layers.Dense(2)(x_in)
    >>> classify = keras.layers.Dense(3)
    >>> train_model = keras.Model([x_in, y_in], classify(CenterLoss(3, lamb=0.1)([f, y_in])))
    >>> predict_model = keras.Model(x_in, classify(f))
    >>> train_model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x, y = np.ones((8, 4)), np.arange(8) % 3
    >>> _ = train_model.fit([x, y], y, epochs=1, verbose=0)
    >>> predict_model.predict(x, verbose=0).shape
    (8, 3)
    """

    def __init__(self, num_classes, lamb=0.01, alpha=None, centers_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _checks.integer(num_classes, "num_classes", 1)
        self.initial_lamb = _check_lamb(lamb)
        self.alpha = _check_alpha(alpha)
        try:
            self.centers_initializer = keras.initializers.get(centers_initializer)
        except ValueError as err:
            raise ValueError(
                "`centers_initializer` must be a Keras initializer or its name. "
                f"Received: centers_initializer={centers_initializer!r}"
            ) from err
        self.supports_masking = True

    @staticmethod
    def _split_shapes(input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            raise ValueError(
                "CenterLoss must be called on a list [features, labels]. "
                f"Received: input_shape={input_shape!r}"
            )
        return tuple(input_shape[0]), tuple(input_shape[1])

    def build(self, input_shape):
        f_shape, y_shape = self._split_shapes(input_shape)
        if len(f_shape) != 2 or f_shape[-1] is None:
            raise ValueError(
                "CenterLoss expects features of shape (batch, dim) with a known dim. "
                f"Received: features shape={f_shape}"
            )
        if len(y_shape) not in (1, 2) or (len(y_shape) == 2 and y_shape[-1] not in (1, None)):
            raise ValueError(
                "CenterLoss expects labels of shape (batch,) or (batch, 1), class indices. "
                f"Received: labels shape={y_shape}"
            )
        self.dim = int(f_shape[-1])
        self.centers = self.add_weight(
            name="centers",
            shape=(self.num_classes, self.dim),
            initializer=self.centers_initializer,
            trainable=self.alpha is None,
            autocast=False,  # read as float32 in call, also under mixed precision
        )
        self.lamb = self.add_weight(
            name="lamb",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_lamb),
            trainable=False,
            autocast=False,
        )

    def call(self, inputs, training=None, mask=None):
        features, labels = inputs
        if not training:
            return features
        known = _concrete(labels)
        if known is not None:  # an eager call: a clear error now
            _checks.labels(known, "labels", self.num_classes)
        labels = ops.reshape(labels, (-1,))
        # Compiled, the values are unknown: flag a bad label, gather with a safe index, and
        # make the batch's loss NaN below (see the class docstring).
        invalid = ops.logical_or(labels < 0, labels >= self.num_classes)
        if "float" in keras.backend.standardize_dtype(labels.dtype):
            invalid = ops.logical_or(invalid, ops.not_equal(labels, ops.floor(labels)))  # 1.7, NaN
        bad = ops.any(invalid)
        labels = ops.cast(ops.where(invalid, ops.zeros_like(labels), labels), "int32")
        # In the weights' dtype (float32 under mixed precision too): squared distances of
        # large features would overflow float16.
        dtype = self.centers.dtype
        centers = ops.convert_to_tensor(self.centers)  # the value before this step's update
        diff = ops.cast(features, dtype) - ops.take(centers, labels, axis=0)  # f_i − c_{y_i}
        per_sample = 0.5 * ops.sum(ops.square(diff), axis=-1)
        weight = self._sample_weight(mask, dtype)
        if weight is None:  # not ops.mean: on JAX it averages float64 in float32 (Keras 3.15)
            loss = ops.sum(per_sample) / ops.cast(ops.shape(per_sample)[0], dtype)
        else:
            loss = ops.sum(weight * per_sample) / ops.maximum(ops.sum(weight), 1.0)
        loss = ops.where(bad, ops.cast(float("nan"), dtype), loss)
        if self.alpha is not None:
            # Wen et al., eq. 4: Δc_j = Σ_{y_i = j} (c_j − f_i) / (1 + n_j); c_j ← c_j − α Δc_j.
            one_hot = ops.one_hot(labels, self.num_classes, dtype=dtype)  # (batch, K)
            if weight is not None:
                one_hot = one_hot * weight[:, None]  # a masked sample counts for no class
            # over the whole batch, also when a TensorFlow strategy splits it between replicas
            counts = sum_over_replicas(ops.sum(one_hot, axis=0)[:, None])  # n_j, (K, 1)
            summed = sum_over_replicas(ops.matmul(ops.transpose(one_hot), ops.stop_gradient(diff)))  # Σ (f_i − c_j)
            bad_anywhere = sum_over_replicas(ops.cast(bad, dtype)) > 0
            delta = -summed / (1.0 + counts)
            self.centers.assign(ops.where(bad_anywhere, centers, centers - self.alpha * delta))
        _add_loss(self, ops.cast(self.lamb, dtype) * loss)  # after the exchange between replicas
        return features

    @staticmethod
    def _sample_weight(mask, dtype):
        """The features' mask as a ``(batch,)`` weight of 0s and 1s, or None."""
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        if mask is None:
            return None
        return ops.cast(ops.reshape(mask, (-1,)), dtype)

    def compute_mask(self, inputs, mask=None):
        # The output is the features: it keeps their mask (the labels' mask has no output).
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def compute_output_shape(self, input_shape):
        return self._split_shapes(input_shape)[0]

    def get_config(self):
        lamb = self.initial_lamb
        if self.built:
            lamb = float(ops.convert_to_numpy(self.lamb))
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "lamb": lamb,
            "alpha": self.alpha,
            "centers_initializer": keras.initializers.serialize(self.centers_initializer),
        }
