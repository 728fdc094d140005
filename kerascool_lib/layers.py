"""Custom layers: a layer with a weight of its own, and a layer with several outputs.

The reusable parts of the book's *Layers* chapters, for Keras 3 on any backend (the math goes
through ``keras.ops``):

- :class:`ScaledL2Normalization`: divide each vector by its L2 norm, then multiply by a
  learned scalar. The scale is one ``add_weight`` whose initializer, regularizer, constraint
  and trainability are the layer's arguments. Put before a classifier whose weight vectors are
  also unit-norm, it turns the logits into scaled cosines, and the scale becomes the softmax's
  temperature, which the network learns (the ``Normal`` layer of Su Jianlin's post 6575).
- :class:`SplitVector`: cut the last axis into two halves, ``d // 2`` and ``d - d // 2``, and
  return them as a list, so two branches of a model can read different parts of one feature
  vector (the ``SplitVector`` layer of post 5765).

Both compute in the layer's ``compute_dtype`` (``dtype="float64"`` gives float64 math) and carry
a Keras mask through (``supports_masking``, ``compute_mask``): after
``Embedding(..., mask_zero=True)`` the layers after them still see which steps are padding.

Both are registered with ``keras.saving.register_keras_serializable(package="kerascool_lib")`` and
have a ``get_config``, so a model holding them saves to ``.keras`` and loads back with
``keras.saving.load_model`` without ``custom_objects`` and with safe mode on.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

from kerascool_lib import _checks

__all__ = ["ScaledL2Normalization", "SplitVector"]


# ── argument checks ───────────────────────────────────────────────────────────────────────────


def _check_axis(axis, name="axis"):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or axis == 0:
        raise ValueError(
            f"`{name}` must be a non-zero integer (a feature axis; 0 is the batch axis). "
            f"Received: {name}={axis!r}"
        )
    return int(axis)


def _check_bool(value, name):
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


def _get(module, value, name, kind):
    """``module.get(value)``, with an error that names the argument."""
    try:
        obj = module.get(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"`{name}` must be a Keras {kind}, its name or its config. Received: {name}={value!r}"
        ) from exc
    if value is not None and obj is None:
        raise ValueError(
            f"`{name}` must be a Keras {kind}, its name or its config. Received: {name}={value!r}"
        )
    return obj


def _working_dtype(compute_dtype):
    """The dtype to compute in: the compute dtype, but float32 for a half-precision one."""
    dtype = keras.backend.standardize_dtype(compute_dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def _expand_to(mask, rank):
    """A ``(batch, steps)`` mask with trailing axes of size 1, to broadcast over the inputs."""
    for _ in range(rank - len(mask.shape)):
        mask = ops.expand_dims(mask, -1)
    return mask


def _resolve_axis(axis, rank, who):
    if not -rank < axis < rank or axis % rank == 0:
        raise ValueError(
            f"{who} got `axis={axis}` for inputs of rank {rank}: the axis must be a feature axis "
            f"in [-{rank - 1}, {rank - 1}] other than 0 (the batch axis)."
        )
    return axis % rank


# ── ScaledL2Normalization ─────────────────────────────────────────────────────────────────────


@keras.saving.register_keras_serializable(package="kerascool_lib")
class ScaledL2Normalization(keras.layers.Layer):
    """L2-normalize along an axis, then multiply by a learned scalar: ``s * x / ‖x‖``.

    Every output vector has norm ``|s|``: the layer keeps the direction of its input and lets
    the network choose one length for all of them. Followed by a ``Dense`` layer whose kernel
    columns are unit vectors (``kernel_constraint=keras.constraints.UnitNorm(axis=0)``, no bias),
    the logits are ``s · cos θ_k``, cosines between the feature and each class's weight vector,
    so ``s`` acts as the inverse temperature of the softmax. A fixed ``s = 1`` keeps every logit
    in ``[-1, 1]``, and the softmax cannot become confident; a trainable ``s`` grows until it
    can (Wang et al., *NormFace*, 2017). This is the ``Normal`` layer of Su Jianlin's post
    https://kexue.fm/archives/6575, with its scale's options exposed.

    The scale is one weight of shape ``(1,)``, made in ``build`` by ``add_weight`` with the
    initializer, regularizer, constraint and trainability given here. A regularizer's penalty
    appears in ``layer.losses`` (and ``model.losses``) and is added to the training loss, as
    long as the scale is trainable (Keras 3 skips the regularizers of frozen weights); a
    constraint is applied by the optimizer after each update.

    Dtypes: the layer computes in its ``compute_dtype`` (``dtype="float64"``: float64 throughout,
    the scale and ``epsilon`` included), except under a float16 or bfloat16 policy
    (``"mixed_float16"``), where the norm is computed in float32 (a float16 sum of squares
    overflows above 65504) and the output is cast back to the compute dtype; the scale is a
    float32 weight there, read without rounding it to float16.

    Masking: the mask passes through unchanged (``compute_mask`` returns it). Masked positions
    are left out of the norm and come out as zeros, so normalizing along the masked axis
    (``axis=1`` after an ``Embedding(mask_zero=True)``) uses the real steps only, and the real
    steps' outputs do not depend on the padding.

    Args:
        axis: the axis to normalize along (default: the last). Not 0, the batch axis.
        epsilon: a lower bound on the squared norm, so an all-zero vector gives zeros, not NaN.
        scale_initializer: initializer of the scale (default ``"ones"``; the post used zeros).
        scale_regularizer: optional regularizer of the scale, e.g. ``keras.regularizers.L2(1e-3)``.
        scale_constraint: optional constraint of the scale, e.g. ``keras.constraints.NonNeg()``.
        trainable_scale: whether the optimizer trains the scale. ``False`` freezes it at its
            initial value (it then counts in ``non_trainable_weights``).
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ``trainable``).

    Example:

    >>> import numpy as np
    >>> layer = ScaledL2Normalization(scale_initializer=keras.initializers.Constant(2.0), name="norm")
    >>> ops.convert_to_numpy(layer(np.array([[3.0, 4.0], [0.0, 0.0]], "float32"))).tolist()
    [[1.2000000476837158, 1.600000023841858], [0.0, 0.0]]
    >>> [w.path for w in layer.trainable_weights], layer.compute_output_shape((None, 2))
    (['norm/scale'], (None, 2))

    With a regularizer, the penalty ``0.01 · s²`` is in ``layer.losses``:

    >>> layer = ScaledL2Normalization(
    ...     scale_initializer=keras.initializers.Constant(3.0),
    ...     scale_regularizer=keras.regularizers.L2(0.01))
    >>> _ = layer(np.ones((1, 4), "float32"))
    >>> [round(float(loss), 6) for loss in layer.losses]
    [0.09]

    A frozen scale is not trainable, and Keras 3 adds no penalty for it (a constant):

    >>> frozen = ScaledL2Normalization(
    ...     scale_regularizer=keras.regularizers.L2(0.01), trainable_scale=False)
    >>> _ = frozen(np.ones((1, 4), "float32"))
    >>> len(frozen.trainable_weights), len(frozen.non_trainable_weights), frozen.losses
    (0, 1, [])
    """

    def __init__(
        self,
        axis: int = -1,
        epsilon: float = 1e-12,
        scale_initializer="ones",
        scale_regularizer=None,
        scale_constraint=None,
        trainable_scale: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis)
        self.epsilon = _checks.positive_number(epsilon, "epsilon")
        self.scale_initializer = _get(keras.initializers, scale_initializer, "scale_initializer", "initializer")
        if self.scale_initializer is None:
            raise ValueError(
                "`scale_initializer` must be a Keras initializer, its name or its config. "
                "Received: scale_initializer=None"
            )
        self.scale_regularizer = _get(keras.regularizers, scale_regularizer, "scale_regularizer", "regularizer")
        self.scale_constraint = _get(keras.constraints, scale_constraint, "scale_constraint", "constraint")
        self.trainable_scale = _check_bool(trainable_scale, "trainable_scale")
        self.supports_masking = True

    def build(self, input_shape):
        self._axis = _resolve_axis(self.axis, len(input_shape), "ScaledL2Normalization")
        self.scale = self.add_weight(
            name="scale",
            shape=(1,),
            initializer=self.scale_initializer,
            regularizer=self.scale_regularizer,
            constraint=self.scale_constraint,
            trainable=self.trainable_scale,
            autocast=False,  # read in full precision under mixed precision; cast in `call`
        )

    def call(self, inputs, mask=None):
        dtype = _working_dtype(self.compute_dtype)
        x = ops.cast(inputs, dtype)
        if mask is not None:  # padding neither counts in the norm nor comes out non-zero
            x = x * ops.cast(_expand_to(mask, len(x.shape)), dtype)
        squared_norm = ops.sum(ops.square(x), axis=self._axis, keepdims=True)
        unit = x * ops.rsqrt(ops.maximum(squared_norm, ops.cast(self.epsilon, dtype)))
        return ops.cast(unit * ops.cast(self.scale, dtype), self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "scale_initializer": keras.initializers.serialize(self.scale_initializer),
            "scale_regularizer": keras.regularizers.serialize(self.scale_regularizer),
            "scale_constraint": keras.constraints.serialize(self.scale_constraint),
            "trainable_scale": self.trainable_scale,
        }


# ── SplitVector ───────────────────────────────────────────────────────────────────────────────


@keras.saving.register_keras_serializable(package="kerascool_lib")
class SplitVector(keras.layers.Layer):
    """Cut an axis into two halves and return both: a layer with two outputs.

    For an axis of width ``d`` the outputs have widths ``d // 2`` and ``d - d // 2`` (an odd
    width gives the extra unit to the second half). Call it like any layer and unpack the
    list: ``first, second = SplitVector()(features)``. Each half can then feed its own branch
    of a model: one classifies, the other reconstructs, say. This is the ``SplitVector`` layer
    of Su Jianlin's post https://kexue.fm/archives/5765.

    ``compute_output_shape`` returns a list of two shapes, one per output. Keras 3 does not
    need it (it infers the outputs by tracing ``call`` on symbolic tensors), but when a layer
    defines it Keras trusts it without checking, so it must agree with ``call``.

    Dtypes: the halves are slices of the input, in the layer's ``compute_dtype``.

    Masking: each half gets a mask (``compute_mask`` returns a list of two). Split along the
    feature axis (the default), both halves keep the input's mask, so an ``LSTM`` or a
    ``GlobalAveragePooling1D`` after either half skips the padding; split along a masked axis
    (``axis=1`` of ``(batch, steps, features)``), the mask is cut with the steps.

    Args:
        axis: the axis to split (default: the last). Not 0, the batch axis. Its width must be
            known when the layer is built and at least 2.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``).

    Example:

    >>> import numpy as np
    >>> first, second = SplitVector()(keras.Input((7,)))
    >>> first.shape, second.shape
    ((None, 3), (None, 4))
    >>> [ops.convert_to_numpy(h).tolist() for h in SplitVector()(np.arange(6.0).reshape(1, 6))]
    [[[0.0, 1.0, 2.0]], [[3.0, 4.0, 5.0]]]
    >>> SplitVector(axis=1).compute_output_shape((None, 5, 2))
    [(None, 2, 2), (None, 3, 2)]

    After an ``Embedding(mask_zero=True)``, both halves carry the mask of the padded steps:

    >>> tokens = np.array([[3, 5, 0]])
    >>> embed = keras.layers.Embedding(10, 4, mask_zero=True)
    >>> mask = embed.compute_mask(tokens)
    >>> [ops.convert_to_numpy(m).tolist() for m in SplitVector().compute_mask(embed(tokens), mask)]
    [[[True, True, False]], [[True, True, False]]]
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis)
        self.supports_masking = True

    def _halves(self, input_shape):
        input_shape = tuple(input_shape)
        axis = _resolve_axis(self.axis, len(input_shape), "SplitVector")
        width = input_shape[axis]
        if width is None or width < 2:
            raise ValueError(
                f"SplitVector needs a known width of at least 2 on axis {self.axis} to cut it in "
                f"two. Received: input shape {input_shape}"
            )
        return axis, width // 2, width

    def build(self, input_shape):
        self._halves(input_shape)

    def call(self, inputs):
        axis, cut, width = self._halves(inputs.shape)
        index = [slice(None)] * len(inputs.shape)
        first, second = list(index), list(index)
        first[axis], second[axis] = slice(0, cut), slice(cut, width)
        return [inputs[tuple(first)], inputs[tuple(second)]]

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        axis, cut, width = self._halves(inputs.shape)
        if axis >= len(mask.shape):  # a feature axis: both halves have every step's mask
            return [mask, mask]
        index = [slice(None)] * len(mask.shape)
        first, second = list(index), list(index)
        first[axis], second[axis] = slice(0, cut), slice(cut, width)
        return [mask[tuple(first)], mask[tuple(second)]]

    def compute_output_shape(self, input_shape):
        axis, cut, width = self._halves(input_shape)
        shape = list(input_shape)
        first, second = list(shape), list(shape)
        first[axis], second[axis] = cut, width - cut
        return [tuple(first), tuple(second)]

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
