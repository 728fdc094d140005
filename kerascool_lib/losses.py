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

__all__ = ["CenterLoss"]


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
      the batch. The loss of a step uses the centers from before its update.

    ``lamb`` is a non-trainable scalar weight of the layer, not a Python float: assign it
    (``layer.lamb.assign(0.1)``, or with :class:`~kerascool_lib.callbacks.VariableScheduler`)
    and the compiled training step uses the new value at once, on every backend.

    Labels are class indices, of shape ``(batch,)`` or ``(batch, 1)``, integer or float.

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

    def call(self, inputs, training=None):
        features, labels = inputs
        if not training:
            return features
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        # In the weights' dtype (float32 under mixed precision too): squared distances of
        # large features would overflow float16.
        dtype = self.centers.dtype
        centers = ops.convert_to_tensor(self.centers)  # the value before this step's update
        diff = ops.cast(features, dtype) - ops.take(centers, labels, axis=0)  # f_i − c_{y_i}
        loss = ops.mean(0.5 * ops.sum(ops.square(diff), axis=-1))
        self.add_loss(ops.cast(self.lamb, dtype) * loss)
        if self.alpha is not None:
            # Wen et al., eq. 4: Δc_j = Σ_{y_i = j} (c_j − f_i) / (1 + n_j); c_j ← c_j − α Δc_j.
            one_hot = ops.one_hot(labels, self.num_classes, dtype=dtype)  # (batch, K)
            counts = ops.sum(one_hot, axis=0)[:, None]  # n_j, (K, 1)
            summed = ops.matmul(ops.transpose(one_hot), ops.stop_gradient(diff))  # Σ (f_i − c_j)
            delta = -summed / (1.0 + counts)
            self.centers.assign(centers - self.alpha * delta)
        return features

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
