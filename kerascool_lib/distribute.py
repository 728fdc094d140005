"""Data parallelism on TensorFlow and JAX: one model, copied on several devices, one global batch.

The reusable part of the book's appendix *Scaling out*:

- :func:`simulate_devices`: split the host CPU into several devices, to try data-parallel code
  on a laptop (or in tests) before a multi-GPU machine or a TPU.
- :func:`data_parallel`: a ``with`` block in which models are built, compiled and trained on
  several devices: ``tf.distribute.MirroredStrategy`` on TensorFlow,
  ``keras.distribution.DataParallel`` on JAX.
- :func:`num_replicas`: the number of copies whose losses Keras averages: what a hand-written
  ``compute_loss`` must divide its total by (TensorFlow), and 1 where nothing needs dividing.
- :func:`sum_over_replicas`: a value summed over the copies, for a layer that updates its own
  state in ``call`` from the batch (running statistics, moving-average centers).
- :func:`sync_batch_norm`: BatchNormalization with statistics of the global batch (TensorFlow).

Why the last three exist. JAX runs one program over the global batch, so every mean is
already global. TensorFlow's ``MirroredStrategy`` runs the training step once per device, on
that device's share of the batch, then sums the gradients. Keras divides the losses it knows
(the compiled loss, ``add_loss`` terms) by the number of replicas, so that the summed gradient
is the gradient of the global mean. A term added by hand in an overridden ``compute_loss``
is not divided, and a variable a layer assigns in ``call`` holds only one device's half
batch unless the layer sums over the replicas first.
"""

from __future__ import annotations

import contextlib
import logging
import os

import keras
import numpy as np

from kerascool_lib import _checks

__all__ = ["simulate_devices", "data_parallel", "num_replicas", "sum_over_replicas", "sync_batch_norm"]


def _tf():
    import tensorflow as tf

    return tf


def simulate_devices(count: int = 2) -> list[str]:
    """Split the host CPU into ``count`` devices for the Keras backend; return their names.

    Call it first, before the backend computes anything (in a notebook: the first code cell
    after the imports, before :func:`kerascool_lib.runtime.setup` or any model): a backend fixes its
    devices when it starts. The devices share the same CPU cores, so code runs on them as it
    would on ``count`` GPUs, but not faster: they are for checking that a distributed run
    computes what a single-device run computes.

    - TensorFlow: ``count`` logical CPU devices
      (``tf.config.set_logical_device_configuration``), for ``tf.distribute`` strategies.
    - JAX: ``count`` host devices (the ``jax_num_cpu_devices`` option, or the
      ``--xla_force_host_platform_device_count`` flag on older JAX), for
      ``keras.distribution``.

    Calling it again with the same ``count`` (re-running a notebook cell) is harmless.

    Args:
        count: the number of devices, an integer >= 1.

    Returns:
        The CPU devices' names, as :func:`data_parallel` takes them: ``["/device:CPU:0", ...]``
        on TensorFlow, ``["cpu:0", ...]`` on JAX.

    Raises:
        ValueError: a bad ``count``.
        RuntimeError: the backend already started with another number of CPU devices (the
            message says to call it first, in a fresh process).

    Example:

    >>> len(simulate_devices(1))  # one device: what the backend has anyway
    1
    >>> _ = keras.ops.ones(2)  # the backend has computed something: its devices are fixed
    >>> simulate_devices(3)
    Traceback (most recent call last):
        ...
    RuntimeError: simulate_devices(3) must run before the backend starts ...
    """
    count = _checks.integer(count, "count", 1)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        tf = _tf()
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError:
            pass  # already started: fine if it has `count` devices, checked below
        names = [d.name for d in tf.config.list_logical_devices("CPU")]
    elif backend == "jax":
        import jax

        try:
            jax.config.update("jax_num_cpu_devices", count)
        except AttributeError:  # JAX older than the option: the XLA flag, read when JAX starts
            flags = os.environ.get("XLA_FLAGS", "").split()
            flags = [f for f in flags if not f.startswith("--xla_force_host_platform_device_count")]
            os.environ["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={count}"])
        except RuntimeError:
            pass  # already started: checked below
        names = [f"cpu:{d.id}" for d in jax.devices("cpu")]
    else:
        raise _checks.fail("backend", "'tensorflow' or 'jax'", f"KERAS_BACKEND={backend!r}")
    if len(names) != count:
        raise RuntimeError(
            f"simulate_devices({count}) must run before the backend starts (before any model, "
            f"tensor or kc.setup(); in a notebook, in its first code cell, after a kernel restart). "
            f"Received: the {backend} backend already runs on {len(names)} CPU device(s)"
        )
    return names


_STRATEGIES: dict = {}  # the MirroredStrategy of each set of devices, made once per process


@contextlib.contextmanager
def data_parallel(devices=None):
    """A ``with`` block whose models train data-parallel on ``devices``.

    Build, compile and train the model inside the block (``fit`` may also run after it on
    TensorFlow). Each training step splits the *global* batch (``fit``'s ``batch_size``)
    evenly between the devices, each device computes the gradient of its share on its own
    copy of the weights, and the gradients are summed, so every copy takes the same step:
    with the same initial weights and batches, the result equals a one-device run to float
    rounding, which training amplifies as it amplifies any change in the order of a sum (a
    global batch divisible by the number of devices keeps the shares equal).

    - TensorFlow: ``tf.distribute.MirroredStrategy(devices)``, made once per process and set
      of devices (a second strategy over the same devices can fail with "Shape mismatch in the
      collective instance"); models built in the block hold ``MirroredVariable`` weights. On
      a TPU, use ``tf.distribute.TPUStrategy`` instead. Inside the block TensorFlow's INFO
      messages are silenced (it logs one per all-reduce it builds).
    - JAX: ``keras.distribution.DataParallel(devices=devices)``, the current distribution
      inside the block (weights replicated, batches sharded on the first axis).

    Args:
        devices: device names (from :func:`simulate_devices`, or e.g. ``["/gpu:0", "/gpu:1"]``
            on TensorFlow, ``keras.distribution.list_devices()`` on JAX), or None for all the
            backend's devices (its GPUs, or TPU cores on JAX; else one CPU on TensorFlow, every
            host device on JAX).

    Returns:
        A context manager yielding the ``tf.distribute.Strategy`` or the
        ``keras.distribution.DataParallel`` in force.

    Raises:
        ValueError: ``devices`` is not None or a non-empty list of names.

    Example:

    >>> import numpy as np
    >>> with data_parallel() as where:
    ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     model.compile("sgd", "mse")
    ...     _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, verbose=0)
    ...     replicas = num_replicas()
    >>> replicas  # one CPU device here
    1
    """
    if devices is not None and (
        isinstance(devices, (str, bytes)) or not isinstance(devices, (list, tuple)) or not devices
    ):
        raise _checks.fail("devices", "None or a non-empty list of device names", value=devices)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        key = None if devices is None else tuple(devices)
        tf_logger = logging.getLogger("tensorflow")
        level = tf_logger.level
        tf_logger.setLevel(max(level, logging.WARNING))  # not one INFO line per all-reduce traced
        try:
            if key not in _STRATEGIES:  # one per process and set of devices: a second one's
                _STRATEGIES[key] = _tf().distribute.MirroredStrategy(None if key is None else list(key))
            with _STRATEGIES[key].scope():  # collective ops would clash with the first one's
                yield _STRATEGIES[key]
        finally:
            tf_logger.setLevel(level)
    elif backend == "jax":
        distribution = keras.distribution.DataParallel(devices=None if devices is None else list(devices))
        with distribution.scope():
            yield distribution
    else:
        raise _checks.fail("backend", "'tensorflow' or 'jax'", f"KERAS_BACKEND={backend!r}")


def num_replicas() -> int:
    """The number of model copies whose losses Keras averages: divide a hand-made loss by it.

    On TensorFlow, the ``num_replicas_in_sync`` of the strategy in force (1 outside any
    strategy); on JAX and other backends 1, since their step computes over the global batch.

    Under ``MirroredStrategy`` each replica's ``compute_loss`` returns its share of the
    total, the replicas' gradients are *summed*, and Keras multiplies the ``loss`` it logs
    back by this number. So a model that overrides ``compute_loss`` should compute every term
    as a mean over its own samples (``super().compute_loss(...)`` is already divided: multiply
    it back), feed its metric trackers those values, and return ``total / num_replicas()``.

    Returns:
        An integer >= 1.

    Example:

    >>> num_replicas()
    1
    """
    if keras.backend.backend() == "tensorflow":
        return int(_tf().distribute.get_strategy().num_replicas_in_sync)
    return 1


def sum_over_replicas(value):
    """``value`` summed over the replicas of a TensorFlow strategy; ``value`` itself elsewhere.

    For a layer that updates its own state in ``call`` from the batch it sees: under
    ``MirroredStrategy`` each replica sees its share of the batch, so a statistic of "the
    batch" must add up the replicas' sums and counts before dividing (then every replica
    assigns the same value, and the weights stay equal on all devices). On JAX, and outside a
    strategy, the batch is already whole and the value is returned as it is.

    Args:
        value: a tensor (computed inside the training, test or predict step).

    Returns:
        A tensor of the same shape and dtype.

    Raises:
        ValueError: ``value`` is not a tensor, an array or a number.

    Example:

    >>> import numpy as np
    >>> np.asarray(sum_over_replicas(keras.ops.ones(3))).tolist()  # one replica: unchanged
    [1.0, 1.0, 1.0]
    """
    if isinstance(value, (str, bytes, bool)) or not (
        keras.ops.is_tensor(value) or isinstance(value, (np.ndarray, np.number, int, float))
    ):
        raise _checks.fail("value", "a tensor (or an array or a number)", f"value of type {type(value).__name__}")
    if keras.backend.backend() == "tensorflow":
        tf = _tf()
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            return context.all_reduce(tf.distribute.ReduceOp.SUM, keras.ops.convert_to_tensor(value))
    return value


def _on_read_weight(layer, name: str, aggregation: str, shape=()):
    """A non-trainable float weight of ``layer`` (zeros, in its variable dtype) for a statistic
    that ``call`` assigns from the batch. Under a TensorFlow strategy each replica writes its own
    copy (no exchange inside the step) and a read outside the step gives the ``"sum"`` or
    ``"mean"`` over the replicas, as a metric's variables do; elsewhere a plain weight."""
    with keras.name_scope(layer.name, caller=layer):
        variable = keras.Variable(
            keras.initializers.Zeros(), shape=shape, dtype=layer.variable_dtype, trainable=False,
            autocast=False, aggregation=aggregation, synchronization="on_read", name=name,
        )
    return variable


def _add_loss(layer, loss):
    """``layer.add_loss(loss)``, dropping what ``layer`` listed for another replica.

    Keras keeps ``add_loss`` losses in a list per layer, shared by the replicas of a TensorFlow
    strategy, which trace the step in turn and switch at each exchange between them
    (:func:`sum_over_replicas`, ``BatchNormalization(synchronized=True)``). A replica that
    resumes after an exchange then finds the other replica's loss in the list beside its
    own. The library's layers add one loss per call, so anything listed before is not this
    replica's (a layer called twice in one step would keep only its second loss, under a
    strategy). Losses added by *other* layers before an exchange can still be lost: put layers
    that exchange values (the center loss with ``alpha``) before those that add losses.
    """
    if num_replicas() > 1 and hasattr(layer, "_losses"):
        layer._losses.clear()
    layer.add_loss(loss)


def sync_batch_norm(model: keras.Model) -> keras.Model:
    """Make ``model``'s BatchNormalization layers normalize by the global batch on TensorFlow.

    Keras's ``BatchNormalization`` computes its training statistics (mean, variance) over the
    batch the replica sees: under ``MirroredStrategy`` that is the device's share, so a
    2-device run normalizes each half by its own statistics and differs from a one-device
    run. With ``synchronized=True`` the replicas sum their moments first. This sets that flag
    on every ``BatchNormalization`` layer of ``model`` (nested models included), before the
    first training step. On JAX it changes nothing (the flag exists on TensorFlow only, and a
    JAX step sees the global batch anyway).

    Args:
        model: a Keras model (built or not).

    Returns:
        ``model``, changed in place.

    Raises:
        ValueError: ``model`` is not a ``keras.Model``.

    Example:

    >>> net = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    >>> norm = sync_batch_norm(net).layers[0]
    >>> norm.synchronized == (keras.backend.backend() == "tensorflow")
    True
    """
    _checks.model(model)
    if keras.backend.backend() == "tensorflow":
        for layer in model._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
    return model
