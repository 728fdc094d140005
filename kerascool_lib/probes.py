"""Probes: read what happens inside a model, as data, on any backend.

The reusable part of the book's *Intermediate tensors* chapter, for Keras 3 on TensorFlow and
JAX:

- :func:`sub_model`: a model with the same inputs whose outputs are inner layers' outputs, by
  name (Keras 2's ``Model(x_in, y)``), refusing a layer called more than once, whose
  ``layer.output`` is silently its *first* call's.
- :class:`Record`: a pass-through layer that keeps a per-feature statistic of the tensor it
  sees in a non-trainable variable, so a value computed inside ``call`` can be read after
  ``fit``, ``evaluate``, ``predict`` or a plain call (instead of a tensor stashed on ``self``,
  which is a stale or symbolic tensor after a compiled step).
- :func:`activation_statistics` and :class:`ActivationStats`: dead units, zero fraction and the
  mean norm of layers' activations, on a fixed probe batch after every epoch.

To read a per-sample value computed inside your own layer, return it as an extra output (the
way ``MultiHeadAttention(return_attention_scores=True)`` does) and build a model or a
``keras.Function`` on it; :class:`Record` is for a summary that training itself should keep.
"""

from __future__ import annotations

import difflib

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks
from kerascool_lib.distribute import _on_read_weight

__all__ = ["sub_model", "Record", "activation_statistics", "ActivationStats"]


def _layer_names(layer_names, model) -> list[str]:
    if isinstance(layer_names, str):
        layer_names = [layer_names]
    if not isinstance(layer_names, (list, tuple)) or not layer_names or not all(isinstance(n, str) for n in layer_names):
        raise _checks.fail("layer_names", "a layer name or a non-empty list of layer names", value=layer_names)
    known = [layer.name for layer in model.layers]
    lower = {n.lower(): n for n in known}  # case-insensitive hints: "Dense" finds "dense"
    for name in layer_names:
        if name not in known:
            close = [lower[n] for n in difflib.get_close_matches(name.lower(), list(lower), n=5, cutoff=0.5)]
            hint = f"close names: {close}" if close else f"its layers: {known[:12]}{' ...' if len(known) > 12 else ''}"
            raise _checks.fail("layer_names", f"names of layers of model {model.name!r}",
                               f"layer_names={layer_names!r}; no layer {name!r}, {hint}")
    return list(dict.fromkeys(layer_names))


def sub_model(model: keras.Model, layer_names, *, name: str | None = None) -> keras.Model:
    """A model from ``model``'s inputs to the outputs of its layers ``layer_names``, by name.

    The sub-model is built from the same layer objects (it shares their weights, trained or
    not), so ``sub_model(model, "dense")(x)["dense"]`` is exactly the value ``model(x)``
    computes at that layer, in inference mode (Dropout off, BatchNorm on its moving statistics).
    Its outputs are a dict ``{layer name: tensor}``: ``predict`` returns a dict of arrays.

    A layer called more than once in the graph (a shared layer) is refused: in Keras 3
    ``layer.output`` is then its *first* call's output, with no error (Keras 2 raised one).
    Build ``keras.Model(model.inputs, tensor)`` from the tensor of the call you mean instead.

    Args:
        model: a built functional or Sequential model (started with ``keras.Input``).
        layer_names: a layer name, or a list of them.
        name: the sub-model's name (default: ``"<model name>_probe"``).

    Returns:
        A ``keras.Model`` with ``model.inputs`` as inputs and a dict of the layers' outputs.

    Raises:
        ValueError: ``model`` is not a built model, a name is unknown (close names are
            suggested), or a layer was called more than once.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", name="h"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> probe = sub_model(model, ["h"])
    >>> {k: tuple(v.shape) for k, v in probe(np.ones((5, 4), "float32")).items()}
    {'h': (5, 3)}
    >>> probe.get_layer("h") is model.get_layer("h")
    True
    """
    _checks.model(model)
    if not model.built or not getattr(model, "inputs", None):
        raise _checks.fail("model", "a built model started with keras.Input", f"model={model.name!r}, without inputs")
    names = _layer_names(layer_names, model)
    outputs = {}
    for layer_name in names:
        layer = model.get_layer(layer_name)
        calls = len(layer._inbound_nodes)
        if calls > 1:
            raise _checks.fail(
                "layer_names",
                "names of layers called once (`layer.output` of a shared layer is its first call's output)",
                f"layer_names={names!r}; {layer_name!r} is called {calls} times (build keras.Model(model.input, tensor) "
                "from the tensor of the call you mean)",
            )
        outputs[layer_name] = layer.output
    if isinstance(model, keras.Sequential):  # Sequential.input raises; one input, by construction
        inputs = model.inputs[0]
    else:
        inputs = model.input  # the input structure the model was built with (a tensor, list or dict)
    return keras.Model(inputs, outputs, name=name or f"{model.name}_probe")


# ── Record ────────────────────────────────────────────────────────────────────────────────────

_STATISTICS = ("mean", "mean_square", "nonzero_fraction")


@keras.saving.register_keras_serializable(package="kerascool_lib")
class Record(keras.layers.Layer):
    """Pass the input through unchanged; keep a per-feature statistic of it in a variable.

    Each call computes ``statistic`` of its input over every axis but the last (one number per
    feature or channel) and **assigns** it to the non-trainable variable ``value``; ``count``
    counts the calls recorded. The assignment is part of the computation, so it happens in
    every mode: in ``fit``'s compiled step (the last training batch's value), ``evaluate``,
    ``predict`` (the last batch) and an eager call, on TensorFlow and JAX alike. (On JAX,
    ``fit`` keeps the variables' values in its own state and writes them back when a callback
    reads ``self.model``: inside a callback, reach the layer through ``self.model``.) A tensor stashed on ``self`` inside ``call`` instead would hold a symbolic tensor
    or a JAX tracer of the traced step, or the value of an older eager call.

    Use it on a value that only exists inside a layer's ``call``: create it in your layer's
    ``__init__`` (``self.record = Record()``) and call it in ``call`` on the value; or put it
    between two layers of a model. Masked positions (a ``mask`` from ``Embedding(mask_zero=True)``
    or ``Masking``) are left out of the statistic; the mask passes through.

    Args:
        statistic: ``"mean"``, ``"mean_square"`` or ``"nonzero_fraction"`` (the share of
            entries that are not zero: the active share after a ReLU).
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``).

    Attributes:
        value: the statistic of the last call, shape ``(features,)``, in the variable dtype
            (float32 under mixed precision). Under a TensorFlow strategy, the mean of the
            replicas' statistics (the whole batch's when it splits evenly and has no mask).
        count: the number of calls recorded (an int32 variable).

    Example:

    >>> record = Record(name="record")
    >>> y = record(np.array([[1.0, 2.0], [3.0, 6.0]], "float32"))
    >>> ops.convert_to_numpy(record.value).tolist(), int(ops.convert_to_numpy(record.count))
    ([2.0, 4.0], 1)
    >>> [w.path for w in record.non_trainable_weights], record.trainable_weights
    (['record/value', 'record/count'], [])
    """

    def __init__(self, statistic: str = "mean", **kwargs):
        super().__init__(**kwargs)
        self.statistic = _checks.one_of(statistic, "statistic", _STATISTICS)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "`Record` needs inputs of rank >= 2 with a known last axis (the features). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        # each replica of a TensorFlow strategy writes its share's statistic; read outside the
        # step, the mean over the replicas (the whole batch's, for equal shares and no mask)
        self.value = _on_read_weight(self, "value", "mean", shape=(input_shape[-1],))
        self.count = self.add_weight(name="count", shape=(), initializer="zeros", dtype="int32", trainable=False)

    def call(self, inputs, mask=None):
        x = ops.cast(inputs, self.value.dtype)
        if self.statistic == "mean_square":
            x = ops.square(x)
        elif self.statistic == "nonzero_fraction":
            x = ops.cast(ops.not_equal(x, 0), x.dtype)
        axes = tuple(range(len(x.shape) - 1))
        if mask is None:
            stat = ops.mean(x, axis=axes)
        else:
            weight = ops.cast(mask, x.dtype)
            while len(weight.shape) < len(x.shape):
                weight = ops.expand_dims(weight, -1)
            weight = ops.broadcast_to(weight, ops.shape(x))
            stat = ops.sum(x * weight, axis=axes) / ops.maximum(ops.sum(weight, axis=axes), 1.0)
        self.value.assign(stat)
        self.count.assign(self.count + 1)
        return inputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "statistic": self.statistic}


# ── activation statistics ─────────────────────────────────────────────────────────────────────

STATISTICS = ("dead", "zero", "norm")


def activation_statistics(activations, *, threshold: float = 0.0) -> dict:
    """Dead units, zero fraction and mean norm of one layer's activations on a batch.

    Args:
        activations: an array ``(samples, ..., units)``: a Dense layer's ``(N, units)`` or a
            convolution's ``(N, H, W, channels)``.
        threshold: an activation ``<= threshold`` counts as zero (0 for a ReLU).

    Returns:
        Three floats in a dict, ``"dead"``, the share of units (last axis) that are zero for every
        sample and position, the ReLU units no gradient reaches; ``"zero"``, the share of all
        activations that are zero; ``"norm"``, the mean over samples of each sample's L2 norm
        (computed in float64).

    Example:

    >>> activation_statistics(np.array([[0.0, 3.0, 0.0], [0.0, 4.0, 1.0]]))
    {'dead': 0.3333333333333333, 'zero': 0.5, 'norm': 3.5615528128088303}
    """
    a = np.asarray(activations, dtype=np.float64)
    if a.ndim < 2 or a.shape[0] < 1 or a.shape[-1] < 1:
        raise _checks.fail("activations", "an array (samples, ..., units) with at least one sample and unit",
                           f"activations of shape {a.shape}")
    threshold = _checks.number(threshold, "threshold", -np.inf, np.inf)
    zero = a <= threshold
    dead = zero.reshape(-1, a.shape[-1]).all(axis=0)
    norms = np.sqrt(np.sum(a.reshape(a.shape[0], -1) ** 2, axis=1))
    return {"dead": float(dead.mean()), "zero": float(zero.mean()), "norm": float(norms.mean())}


class ActivationStats(keras.callbacks.Callback):
    """Record :func:`activation_statistics` of some layers on a fixed probe batch, each epoch.

    Before training (epoch 0) and after every epoch it runs a :func:`sub_model` of the layers on
    the same probe images, in inference mode, and appends each statistic to ``history`` under
    ``"<layer>/<statistic>"``. The probe is fixed, so the curves show the network changing, not
    the batches. It costs one forward pass over the probe per epoch: a few hundred samples is
    plenty. With ``log=True`` the values after each epoch also go into ``logs``, hence into the
    ``History`` that ``fit`` returns (and the progress bar).

    Args:
        x: the probe inputs, as the model takes them (an array, or a list of arrays).
        layer_names: the layers to watch (a name or a list of names; each called once).
        threshold: an activation ``<= threshold`` counts as zero.
        batch_size: batch size of the probe's forward pass.
        log: also write the values into ``logs`` at the end of each epoch.

    Attributes:
        history: ``{"epoch": [0, 1, ...], "<layer>/<statistic>": [...]}``, epoch 0 before training.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu", name="h"),
    ...                           keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> stats = ActivationStats(np.ones((8, 3), "float32"), "h")
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0, callbacks=[stats])
    >>> sorted(stats.history), stats.history["epoch"]
    (['epoch', 'h/dead', 'h/norm', 'h/zero'], [0, 1, 2])
    """

    def __init__(self, x, layer_names, *, threshold: float = 0.0, batch_size: int = 256, log: bool = False):
        super().__init__()
        first = x[0] if isinstance(x, (list, tuple)) and x else x
        if not hasattr(first, "shape") or len(getattr(first, "shape", ())) < 1 or first.shape[0] < 1:
            raise _checks.fail("x", "the probe inputs: an array (or list of arrays) with at least one sample", f"x={x!r:.60}")
        if isinstance(layer_names, str):
            layer_names = [layer_names]
        if not isinstance(layer_names, (list, tuple)) or not layer_names or not all(isinstance(n, str) for n in layer_names):
            raise _checks.fail("layer_names", "a layer name or a non-empty list of layer names", value=layer_names)
        self.x = x
        self.layer_names = list(layer_names)
        self.threshold = _checks.number(threshold, "threshold", -np.inf, np.inf)
        self.batch_size = _checks.integer(batch_size, "batch_size", 1)
        self.log = _checks.boolean(log, "log")
        self.history: dict[str, list] = {}
        self._probe = self._probe_of = None
        self._epoch = 0

    def _measure(self, epoch, logs=None):
        _ = self.model  # property access with an effect: on JAX, writes the trained values back into the variables
        values = self._probe.predict(self.x, batch_size=self.batch_size, verbose=0)
        self.history.setdefault("epoch", []).append(epoch)
        for layer_name in self.layer_names:
            for stat, number in activation_statistics(values[layer_name], threshold=self.threshold).items():
                key = f"{layer_name}/{stat}"
                self.history.setdefault(key, []).append(number)
                if logs is not None and self.log:
                    logs[key] = number

    def on_train_begin(self, logs=None):
        if self._probe is None or self._probe_of is not self.model:
            self._probe, self._probe_of = sub_model(self.model, self.layer_names), self.model
        if not self.history:
            self._measure(0)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = self.history["epoch"][-1] + 1
        self._measure(self._epoch, logs)
