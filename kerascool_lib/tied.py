"""Tied weights: one kernel used forward and, transposed, backward.

The reusable part of the book's *Tied weights* chapter, for Keras 3 on any backend (the math
goes through ``keras.ops``):

- :class:`TiedDense`: a ``Dense`` layer that can also be called *in reverse*. ``layer(x)`` is
  ``activation(x W + b)``; ``layer(h, reverse=True)`` is ``reverse_activation(h Wᵀ + c)``, with
  the same kernel ``W`` transposed and a bias ``c`` of its own. Called once forward and once in
  reverse, it is a tied autoencoder (the decoder's kernel is the encoder's, transposed), with
  half the kernel parameters of an untied one.

Why the tie lives *inside one layer*: in Keras 3 a layer that receives another layer in its
``__init__`` (the design of Su Jianlin's ``EmbeddingDense``, post 6985) trains correctly if it
reads the other layer's variable in ``call``, but it cannot be saved or cloned (``get_config``
cannot serialize a layer object, and a copy of it would create a second kernel on reload). One
layer that owns the kernel and is called twice is a *shared layer*, which Keras saves once and
reconnects twice: after ``keras.saving.load_model`` (safe mode on, no ``custom_objects``) the
model still has one kernel variable, used by both calls. This is the pattern of Keras's own
``keras.layers.ReversibleEmbedding``, the tied input/output embedding of language models.
"""

from __future__ import annotations

import keras
from keras import ops

from kerascool_lib import _checks

__all__ = ["TiedDense"]


def _get(module, value, name, kind):
    """``module.get(value)``, with an error that names the argument."""
    message = f"`{name}` must be a Keras {kind}, its name or its config. Received: {name}={value!r}"
    try:
        obj = module.get(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(message) from exc
    if value is not None and obj is None:
        raise ValueError(message)
    return obj


@keras.saving.register_keras_serializable(package="kerascool_lib")
class TiedDense(keras.layers.Layer):
    """A ``Dense`` layer whose transposed kernel also maps back: ``layer(h, reverse=True)``.

    Forward, ``layer(x)`` computes ``activation(x @ W + b)`` with a kernel ``W`` of shape
    ``(input_dim, units)``, made in ``build`` from the last axis of the first input, exactly as
    ``keras.layers.Dense``. In reverse, ``layer(h, reverse=True)`` takes ``h`` with ``units``
    features and computes ``reverse_activation(h @ Wᵀ + c)``, ``input_dim`` features, where
    ``Wᵀ`` is read from the *variable* ``W`` at every call (never a copy made once) and ``c`` is
    a bias of its own. Both directions therefore train the one kernel: its gradient is the sum
    of the two directions' gradients.

    Use it twice in a model, once each way, for a tied autoencoder::

        tied = TiedDense(64, activation="relu", reverse_activation="sigmoid")
        code = tied(images)                      # encoder: x W + b
        reconstruction = tied(code, reverse=True)  # decoder: h Wᵀ + c, the same W

    The model then has three weights (``kernel``, ``bias``, ``reverse_bias``) where the untied
    ``Dense`` + ``Dense`` has four, and ``input_dim * units`` fewer parameters. A model holding
    the layer saves to ``.keras`` and loads back with the tie intact (one kernel variable).

    The first call must be a forward one: it builds the kernel from the input's last axis. A
    reverse call needs inputs with ``units`` features.

    Dtypes: computes in the layer's ``compute_dtype`` (``dtype="float64"``: float64 throughout;
    under ``"mixed_float16"`` the float32 kernel is cast to float16 for the matmul, as in
    ``Dense``). Masking: a mask passes through unchanged, in both directions.

    Args:
        units: the number of output features of the forward direction (the code size).
        activation: activation of the forward direction (default: none, linear).
        reverse_activation: activation of the reverse direction (default: none, linear).
        use_bias: whether each direction adds its bias (``bias`` forward, ``reverse_bias`` in
            reverse).
        kernel_initializer: initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of both biases (default ``"zeros"``).
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ``trainable``).

    Returns:
        Called forward, a tensor of shape ``(..., units)``; called with ``reverse=True``, a
        tensor of shape ``(..., input_dim)``.

    Raises:
        ValueError: a bad argument (a message naming it), a reverse call before any forward
            call, or a reverse call on inputs whose last axis is not ``units``.

    Example:

    >>> import numpy as np
    >>> inputs = keras.Input((6,))
    >>> tied = TiedDense(2, activation="relu", reverse_activation="sigmoid", name="tied")
    >>> model = keras.Model(inputs, tied(tied(inputs), reverse=True))
    >>> model.output.shape, [w.path for w in model.weights]
    ((None, 6), ['tied/kernel', 'tied/bias', 'tied/reverse_bias'])
    >>> x = np.ones((1, 6), "float32")
    >>> h = ops.relu(x @ ops.convert_to_numpy(tied.kernel))  # the forward direction, by hand
    >>> by_hand = ops.sigmoid(h @ ops.transpose(tied.kernel))  # Wᵀ, and zero reverse bias
    >>> bool(np.allclose(ops.convert_to_numpy(model(x)), ops.convert_to_numpy(by_hand)))
    True
    """

    def __init__(
        self,
        units: int,
        activation=None,
        reverse_activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _checks.integer(units, "units", minimum=1)
        self.activation = _get(keras.activations, activation, "activation", "activation")
        self.reverse_activation = _get(keras.activations, reverse_activation, "reverse_activation", "activation")
        self.use_bias = _checks.boolean(use_bias, "use_bias")
        self.kernel_initializer = _get(keras.initializers, kernel_initializer, "kernel_initializer", "initializer")
        self.bias_initializer = _get(keras.initializers, bias_initializer, "bias_initializer", "initializer")
        for name in ("kernel_initializer", "bias_initializer"):
            if getattr(self, name) is None:
                raise _checks.fail(name, "a Keras initializer, its name or its config", value=None)
        self.supports_masking = True

    def __call__(self, *args, **kwargs):
        if kwargs.get("reverse") and not self.built:  # before Keras builds it from the wrong axis
            self._check_reverse(None)
        return super().__call__(*args, **kwargs)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"TiedDense needs a known last axis on its first (forward) call to build its "
                f"kernel. Received: input shape {tuple(input_shape)}"
            )
        self.input_dim = int(input_dim)
        self.kernel = self.add_weight(
            name="kernel", shape=(self.input_dim, self.units), initializer=self.kernel_initializer
        )
        self.bias = self.reverse_bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            self.reverse_bias = self.add_weight(
                name="reverse_bias", shape=(self.input_dim,), initializer=self.bias_initializer
            )

    def _check_reverse(self, shape):
        if not self.built:
            raise ValueError(
                "TiedDense must be called forward once (which builds its kernel) before it is "
                "called with `reverse=True`."
            )
        if shape is not None and shape[-1] is not None and shape[-1] != self.units:
            raise ValueError(
                f"A reverse call of TiedDense takes inputs with `units`={self.units} features. "
                f"Received: inputs of shape {tuple(shape)}"
            )

    def call(self, inputs, reverse=False):
        inputs = ops.cast(inputs, self.compute_dtype)
        if not reverse:
            outputs = ops.matmul(inputs, self.kernel)
            bias, activation = self.bias, self.activation
        else:
            self._check_reverse(inputs.shape)
            outputs = ops.matmul(inputs, ops.transpose(self.kernel))  # read the variable, every call
            bias, activation = self.reverse_bias, self.reverse_activation
        if bias is not None:
            outputs = outputs + bias
        return activation(outputs)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        """The forward direction's output shape (see ``compute_output_spec`` for both)."""
        return (*tuple(input_shape)[:-1], self.units)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            self._check_reverse(inputs.shape)
            shape = (*tuple(inputs.shape)[:-1], self.input_dim)
        else:
            shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "reverse_activation": keras.activations.serialize(self.reverse_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
