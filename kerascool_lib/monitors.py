"""Monitors: any internal tensor's running mean in the progress bar and in ``history``.

The reusable part of the book's *Metrics of anything* chapter. Keras 2 let you append a tensor
to ``model.metrics_tensors``; Keras 3 reports only metric objects, and the obvious port, a
``keras.metrics.Mean`` updated inside a layer's ``call``, works on TensorFlow but crashes on JAX
(its metric variables are not part of the forward pass's state: keras-team/keras#21639). The
two pieces here split the work so that every backend runs the same code:

- :class:`TrackMean`: a pass-through layer. Each call writes the sum and the count of
  ``fn(inputs)``'s values for the batch into two non-trainable weights, which JAX carries out
  of the forward pass like ``BatchNormalization``'s statistics.
- :class:`Monitored`: a functional ``keras.Model`` that owns one ``keras.metrics.Mean`` per
  :class:`TrackMean` layer (named like the layer) and adds each batch to it in
  ``compute_loss``, the one step method in which layer weights and metric variables are both
  available on every backend. So the value is shown by ``fit``, ``evaluate`` and validation
  (``val_<name>``), and reset at each epoch like any metric.

Both are registered with ``keras.saving.register_keras_serializable(package="kerascool_lib")``.
"""

from __future__ import annotations

import keras
from keras import ops

from kerascool_lib import _checks
from kerascool_lib.distribute import _on_read_weight

__all__ = ["TrackMean", "Monitored"]

_PACKAGE = "kerascool_lib"


def _per_sample(x):
    """``x`` flattened to ``(batch, -1)`` (a scalar or vector becomes one value per row)."""
    if len(x.shape) == 0:
        return ops.reshape(x, (1, 1))
    return ops.reshape(x, (ops.shape(x)[0], -1))


#: The named statistics of :class:`TrackMean`: per-sample values of a batch tensor.
STATISTICS = {
    "mean": lambda x: ops.mean(_per_sample(x), axis=-1),
    "squared_norm": lambda x: ops.sum(ops.square(_per_sample(x)), axis=-1),
    "norm": lambda x: ops.sqrt(ops.sum(ops.square(_per_sample(x)), axis=-1)),
    "zero_fraction": lambda x: ops.mean(ops.cast(ops.equal(_per_sample(x), 0), x.dtype), axis=-1),
}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TrackMean(keras.layers.Layer):
    """Passes its input through unchanged and records a statistic of it for a metric.

    At each call the layer computes ``values = fn(inputs)`` and writes ``sum(values)`` and the
    number of values into its two non-trainable weights ``batch_total`` and ``batch_count``
    (assigned, not accumulated: they hold the last batch). A :class:`Monitored` model turns
    them into a metric named like the layer, averaged over the epoch's values (an average per
    *sample* for a per-sample ``fn``, whatever the batch sizes). Inside a plain
    ``keras.Model`` the layer is a harmless identity and no metric appears.

    Only the last call of the step is reported: do not share one ``TrackMean`` between two
    branches. The statistic includes masked (padded) steps; the mask itself is passed on.
    Under a TensorFlow strategy each replica writes its share of the batch, and the two
    weights, synchronized on read like a metric's variables, read as the whole batch's sum and
    count outside the step; the metric is the one a single device reports.

    Args:
        fn: the statistic, computed on the whole batch tensor: one of ``"squared_norm"`` (the
            default: ``sum(x**2)`` over every axis but the batch axis, one value per sample),
            ``"norm"``, ``"mean"``, ``"zero_fraction"`` (the share of exact zeros, e.g. dead
            ReLU units), or a callable ``f(x) -> tensor``, all of whose values are averaged (a
            function registered with ``keras.saving.register_keras_serializable`` also saves).
        **kwargs: ``keras.layers.Layer`` arguments; ``name`` is also the metric's name.

    Raises:
        ValueError: if ``fn`` is neither a known name nor callable.

    Example:

    >>> import numpy as np
    >>> layer = TrackMean("squared_norm", name="h_norm")
    >>> x = np.array([[3.0, 4.0], [1.0, 0.0]], "float32")
    >>> bool(np.array_equal(keras.ops.convert_to_numpy(layer(x)), x))
    True
    >>> float(layer.batch_total.numpy()), float(layer.batch_count.numpy())
    (26.0, 2.0)
    """

    def __init__(self, fn="squared_norm", **kwargs):
        super().__init__(**kwargs)
        if isinstance(fn, str):
            if fn not in STATISTICS:
                raise _checks.fail("fn", f"one of {sorted(STATISTICS)} or a callable", value=fn)
            self._fn = STATISTICS[fn]
        elif isinstance(fn, dict):  # a serialized registered function (from get_config)
            self._fn = keras.saving.deserialize_keras_object(fn)
        else:
            self._fn = _checks.function(fn, "fn", f"one of {sorted(STATISTICS)} or a callable")
        self.fn = fn
        self.supports_masking = True

    def build(self, input_shape):
        # Under a TensorFlow strategy each replica writes its share of the batch; read outside
        # the step, the weights hold the sum over the replicas: the whole batch's.
        self.batch_total = _on_read_weight(self, "batch_total", "sum")
        self.batch_count = _on_read_weight(self, "batch_count", "sum")

    def call(self, inputs):
        values = self._fn(inputs)
        dtype = self.batch_total.dtype
        self.batch_total.assign(ops.sum(ops.cast(values, dtype)))
        self.batch_count.assign(ops.cast(ops.size(values), dtype))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        fn = self.fn if isinstance(self.fn, (str, dict)) else keras.saving.serialize_keras_object(self.fn)
        return {**super().get_config(), "fn": fn}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Monitored(keras.Model):
    """A functional model that reports every :class:`TrackMean` layer's value as a metric.

    Build it like ``keras.Model(inputs, outputs)``. It creates one ``keras.metrics.Mean`` per
    :class:`TrackMean` layer in the graph, named like the layer, in ``__init__`` (never in a
    step function), lists them in ``metrics`` so that Keras resets them at each epoch, and in
    ``compute_loss`` adds the layer's last batch (``batch_total``, ``batch_count``) to them. The
    progress bar, ``history``, ``evaluate(return_dict=True)`` and validation (``val_<name>``)
    then show the running mean of each statistic, on TensorFlow and JAX alike.

    To monitor an existing functional model, rebuild it around the same graph:
    ``Monitored(model.inputs, model.outputs)`` (the layers, and their weights, are shared).

    Args:
        inputs: the graph's inputs, as for a functional ``keras.Model``.
        outputs: the graph's outputs; it must hold at least one :class:`TrackMean` layer.
        name: and the other keyword arguments of a functional ``keras.Model``.

    Raises:
        ValueError: if the graph holds no :class:`TrackMean` layer, or two metrics would
            share a name.

    Example:

    >>> import numpy as np
    >>> inputs = keras.Input((3,))
    >>> hidden = TrackMean("squared_norm", name="h_norm")(keras.layers.Dense(4)(inputs))
    >>> model = Monitored(inputs, keras.layers.Dense(1)(hidden))
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    >>> sorted(model.fit(x, y, verbose=0).history)
    ['h_norm', 'loss']
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tracked = [layer for layer in self._flatten_layers(include_self=False) if isinstance(layer, TrackMean)]
        if not self._tracked:
            raise _checks.fail(
                "outputs", "a graph holding at least one `TrackMean` layer", "no TrackMean layer"
            )
        names = [layer.name for layer in self._tracked]
        clashes = sorted({n for n in names if names.count(n) > 1 or n in ("loss", "compile_metrics")})
        if clashes:
            raise _checks.fail("outputs", "TrackMean layers with distinct names", f"names {clashes}")
        self.monitor_trackers = [keras.metrics.Mean(name=name) for name in names]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Add each :class:`TrackMean` layer's last batch to its metric, then compute the loss
        as ``keras.Model.compute_loss`` does."""
        # Under a TensorFlow strategy this runs once per replica: each adds its own share of
        # the batch (unscaled values, weighed by its count), and the trackers sum the replicas.
        for layer, tracker in zip(self._tracked, self.monitor_trackers):
            count = ops.maximum(layer.batch_count, 1.0)  # never 0/0, even before the first call
            tracker.update_state(layer.batch_total / count, sample_weight=layer.batch_count)
        # Keras's loss, already divided by the number of replicas (distribute.num_replicas()),
        # as the training step expects: nothing is added to it here.
        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
