"""Spectral normalization: divide a layer's kernel by its largest singular value before use.

The reusable part of the book's chapter *Constraints and spectral normalization*, for Keras 3
on any backend (the math goes through ``keras.ops``):

- :class:`SpectrallyNormalized`: a wrapper that runs its inner layer (``Dense``, ``Conv*``,
  ``Embedding``) with the kernel ``W / σ(W)`` in place of ``W``. ``σ`` is estimated by power
  iteration from a vector ``u`` kept as a non-trainable weight and updated only in training; the
  gradient flows through ``σ``. Right on TensorFlow and JAX, in ``fit`` and in ``predict``.
- :func:`singular_values` and :func:`spectral_norms`: the singular values (by SVD) of every
  kernel a model uses, the normalized one for a wrapped layer, to check and to plot.

A weight constraint (``kernel_constraint=``) is the other way to keep weights in bounds: the
optimizer projects the *stored* weight after each update. Spectral normalization instead keeps
the stored weight free and normalizes the weight *used* in the forward pass, the "事前处理" of
Su Jianlin's post https://kexue.fm/archives/6311 (Miyato et al., 2018).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks

__all__ = ["SpectrallyNormalized", "singular_values", "spectral_norms"]


def _kernel_of(layer):
    """The variable a layer multiplies its inputs by: ``kernel``, else ``embeddings``."""
    for attr in ("kernel", "embeddings"):
        if isinstance(getattr(layer, attr, None), keras.Variable):
            return getattr(layer, attr)
    return None


def _l2_normalize(x, epsilon):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x)), epsilon))


def _power_iteration(matrix, u, iterations, epsilon):
    """``(u, sigma)`` after ``iterations`` steps from ``u``; ``matrix`` is (fan_in, units)."""
    for _ in range(iterations):
        v = _l2_normalize(ops.matmul(matrix, u), epsilon)  # (fan_in,)
        u = _l2_normalize(ops.matmul(ops.transpose(matrix), v), epsilon)  # (units,)
    u, v = ops.stop_gradient(u), ops.stop_gradient(v)
    return u, ops.sum(v * ops.matmul(matrix, u))  # sigma = vᵀ W u


@keras.saving.register_keras_serializable(package="kerascool_lib")
class SpectrallyNormalized(keras.layers.Wrapper):
    """Run a layer with its kernel divided by the kernel's spectral norm: ``W / σ(W)``.

    The largest singular value ``σ`` of the kernel (reshaped to ``(fan_in, units)``) bounds how
    much the layer can stretch any input difference; after the division it is 1, so a network
    of such layers and 1-Lipschitz activations (ReLU) has a Lipschitz constant of at most 1.
    ``σ`` is estimated by power iteration: a unit vector ``u`` (a non-trainable weight of shape
    ``(units,)``) is refined ``power_iterations`` times at each call, ``v = Wu/‖Wu‖``,
    ``u = Wᵀv/‖Wᵀv‖``, ``σ = vᵀWu``. Calls with ``training=True`` (``fit``) store the new ``u``,
    so one iteration per step is enough once training is under way; other calls (``predict``,
    ``evaluate``) use the same estimate and store nothing. The stored kernel is never
    modified: the inner layer is run with ``W / σ`` substituted for its kernel (through
    ``keras.StatelessScope``), and the gradient flows through ``σ`` as in the paper.

    Unlike ``keras.layers.SpectralNormalization``, which writes ``W / σ`` into the kernel
    variable during training (an assignment the JAX trainer drops for a trainable variable, so
    on JAX its ``predict`` uses the unnormalized kernel), this wrapper computes the same outputs
    on TensorFlow and JAX. It is meant for layers without state of their own besides weights
    (``Dense``, ``Conv*``, ``Embedding``); a layer that assigns its variables in ``call``
    (``BatchNormalization``) would have the assignments discarded.

    Dtypes: ``σ`` and ``u`` are computed in the kernel's variable dtype (float32 under
    ``"mixed_float16"``); the output has the inner layer's dtype.

    Args:
        layer: the layer to wrap, with a ``kernel`` or an ``embeddings`` weight; or its config
            (``keras.layers.serialize(layer)``), in which case it is built with this wrapper's
            ``dtype``, if one is given.
        power_iterations: power-iteration steps per call, an integer >= 1.
        epsilon: a lower bound on squared norms in the iteration, so a zero kernel gives no NaN.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``).

    Raises:
        ValueError: for a ``layer`` that is not a layer (or a layer config), a bad
            ``power_iterations`` or ``epsilon``, or, at build time, a layer with no kernel.

    Example:

    >>> import numpy as np
    >>> keras.utils.set_random_seed(0)
    >>> dense = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=5.0), name="dense")
    >>> sn = SpectrallyNormalized(dense, power_iterations=20, name="sn")
    >>> x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    >>> tuple(sn(x).shape)
    (4, 3)
    >>> [w.path for w in sn.weights]
    ['sn/u', 'sn/dense/kernel', 'sn/dense/bias']
    >>> sigma_stored = np.linalg.norm(ops.convert_to_numpy(dense.kernel), 2)
    >>> bool(sigma_stored > 5), round(float(np.linalg.norm(sn.normalized_kernel(), 2)), 4)
    (True, 1.0)
    >>> u = ops.convert_to_numpy(sn.u).copy()
    >>> _ = sn(x, training=True)  # only training calls store the new u
    >>> bool(np.array_equal(u, ops.convert_to_numpy(sn.u)))
    False
    """

    def __init__(self, layer, power_iterations: int = 1, epsilon: float = 1e-12, **kwargs):
        if isinstance(layer, dict):
            config = dict(layer)
            if "dtype" in kwargs and isinstance(config.get("config"), dict):
                config["config"] = {**config["config"], "dtype": kwargs["dtype"]}
            try:
                layer = keras.layers.deserialize(config)
            except (ValueError, TypeError, KeyError) as exc:
                raise _checks.fail("layer", "a Keras layer or its config", value=layer) from exc
        _checks.instance(layer, "layer", keras.layers.Layer, "a Keras layer with a kernel (Dense, Conv, Embedding) or its config")
        super().__init__(layer, **kwargs)
        self.power_iterations = _checks.integer(power_iterations, "power_iterations", 1)
        self.epsilon = _checks.positive_number(epsilon, "epsilon")
        self.autocast = False  # read the kernel in its own dtype; the inner layer casts for itself
        self.supports_masking = True

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = _kernel_of(self.layer)
        if kernel is None:
            raise ValueError(
                f"`layer` must have a `kernel` or an `embeddings` weight to normalize. "
                f"Received: layer={type(self.layer).__name__} with weights {[w.name for w in self.layer.weights]}"
            )
        self._kernel_shape = tuple(kernel.shape)
        self.u = self.add_weight(
            name="u",
            shape=(self._kernel_shape[-1],),
            initializer=keras.initializers.RandomNormal(),
            trainable=False,
            dtype=kernel.dtype,
        )
        self.u.assign(_l2_normalize(self.u, self.epsilon))
        self.built = True

    def _normalized(self):
        """``(new_u, W / sigma)`` from the current kernel and ``u``, in the kernel's dtype."""
        kernel = _kernel_of(self.layer)
        w = ops.cast(kernel.value, kernel.dtype)
        matrix = ops.reshape(w, (-1, self._kernel_shape[-1]))
        u, sigma = _power_iteration(matrix, ops.cast(self.u.value, kernel.dtype), self.power_iterations,
                                    ops.cast(self.epsilon, kernel.dtype))
        return u, w / sigma

    def call(self, inputs, training=None):
        u, w_sn = self._normalized()
        kernel = _kernel_of(self.layer)
        mapping = [(v, w_sn if v is kernel else v.value) for v in self.layer.variables]
        with keras.StatelessScope(state_mapping=mapping):  # the post's "移花接木", without rebinding
            outputs = self.layer(inputs)
        if training:
            self.u.assign(u)
        return outputs

    def normalized_kernel(self):
        """The kernel the forward pass uses now, ``W / σ``, as a NumPy array (nothing stored)."""
        return ops.convert_to_numpy(self._normalized()[1])

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations, "epsilon": self.epsilon}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the wrapper from :meth:`get_config` (the caller's dict is left unchanged)."""
        config = dict(config)  # keras.layers.Wrapper.from_config pops "layer" from the caller's dict
        layer = keras.saving.deserialize_keras_object(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)


def _kernels(model):
    if isinstance(model, keras.layers.Layer) and not isinstance(model, keras.Model):
        layers = [model]
    else:
        _checks.model(model, built=True)
        layers = model.layers
    found = {}
    for layer in layers:
        if isinstance(layer, SpectrallyNormalized):
            if layer.built:
                found[layer.name] = layer.normalized_kernel()
        elif (kernel := _kernel_of(layer)) is not None and len(kernel.shape) >= 2:
            found[layer.name] = ops.convert_to_numpy(kernel)
    return found


def singular_values(model) -> dict[str, np.ndarray]:
    """The singular values, largest first, of each kernel a model uses, by SVD.

    Every top-level layer with a ``kernel`` (or ``embeddings``) of rank >= 2 counts, its kernel
    reshaped to ``(fan_in, units)``; for a :class:`SpectrallyNormalized` layer it is the kernel
    its forward pass uses, ``W / σ`` (the stored ``W`` is not normalized).

    Args:
        model: a built ``keras.Model``, or one layer.

    Returns:
        ``{layer name: 1-D float64 array}``, in the order of ``model.layers``.

    Raises:
        ValueError: if ``model`` is not a built model nor a layer.

    Example:

    >>> dense = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant([[3.0, 0.0], [0.0, 4.0]]), name="dense")
    >>> model = keras.Sequential([keras.Input((2,)), dense])
    >>> {name: s.tolist() for name, s in singular_values(model).items()}
    {'dense': [4.0, 3.0]}
    """
    return {
        name: np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]).astype("float64"), compute_uv=False)
        for name, kernel in _kernels(model).items()
    }


def spectral_norms(model) -> dict[str, float]:
    """The largest singular value of each kernel a model uses (see :func:`singular_values`).

    For a stack of ``Dense`` layers and 1-Lipschitz activations (ReLU), the product of these
    numbers bounds how much the model can change its output for a change of its input (in L2).

    Args:
        model: a built ``keras.Model``, or one layer.

    Returns:
        ``{layer name: float}``.

    Raises:
        ValueError: if ``model`` is not a built model nor a layer.

    Example:

    >>> dense = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant([[3.0, 0.0], [0.0, 4.0]]), name="dense")
    >>> spectral_norms(keras.Sequential([keras.Input((2,)), dense]))
    {'dense': 4.0}
    """
    return {name: float(values[0]) for name, values in singular_values(model).items()}
