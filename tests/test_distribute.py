"""Unit tests of kerascool_lib.distribute in this process (one device), on its backend.

The 2-device behaviour (every library piece trained on 1 and on 2 simulated devices, on
TensorFlow and JAX, in fresh processes) is tested in ``tests/distributed/``. Here: what the
helpers do on one device (nothing changes), what they refuse, and the two private helpers the
library's layers use. Bad input: the rows in ``tests/test_bad_input.py``.
"""

import keras
import numpy as np
import pytest
from keras import ops

from kerascool_lib import distribute
from kerascool_lib.distribute import data_parallel, num_replicas, simulate_devices, sum_over_replicas, sync_batch_norm


def test_the_module_exports_its_names():
    assert distribute.__all__ == ["simulate_devices", "data_parallel", "num_replicas", "sum_over_replicas", "sync_batch_norm"]


def test_simulate_devices_once_the_backend_runs():
    _ = ops.ones(1)  # started: one CPU device in this process
    assert len(simulate_devices(1)) == 1  # what it has: harmless
    with pytest.raises(RuntimeError, match=r"simulate_devices\(2\) must run before the backend starts .* already runs on 1 CPU device"):
        simulate_devices(2)


def test_one_device_outside_and_inside_data_parallel():
    assert num_replicas() == 1
    with data_parallel() as where:
        assert num_replicas() == 1
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", "mse")
        model.fit(np.ones((8, 3)), np.ones((8, 2)), batch_size=4, verbose=0)
    if keras.backend.backend() == "jax":
        assert isinstance(where, keras.distribution.DataParallel)
        assert keras.distribution.distribution() is None  # the block restores the distribution
    else:
        import tensorflow as tf

        assert isinstance(where, tf.distribute.MirroredStrategy)
        with data_parallel() as again:
            assert again is where  # one strategy per set of devices and process


def test_sum_over_replicas_is_the_value_itself_on_one_replica():
    x = ops.convert_to_tensor(np.array([1.0, 2.0], "float32"))
    np.testing.assert_array_equal(ops.convert_to_numpy(sum_over_replicas(x)), [1.0, 2.0])
    assert float(sum_over_replicas(3.0)) == 3.0


def test_sync_batch_norm_marks_every_batch_norm_also_in_nested_models():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="inner_bn")], name="inner")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="outer_bn")(inner(inputs)))
    assert sync_batch_norm(model) is model
    on_tf = keras.backend.backend() == "tensorflow"
    assert [model.get_layer("outer_bn").synchronized, inner.get_layer("inner_bn").synchronized] == [on_tf, on_tf]
    out = model(np.random.default_rng(0).normal(size=(6, 4)).astype("float32"), training=True)
    assert out.shape == (6, 4)


def test_on_read_weight_is_a_non_trainable_weight_of_the_layer():
    layer = keras.layers.Dense(2, name="probe")
    layer.total = distribute._on_read_weight(layer, "total", "sum", shape=(3,))
    assert layer.total.path == "probe/total"
    assert (layer.total.trainable, layer.total.aggregation, layer.total.synchronization) == (False, "sum", "on_read")
    assert any(w is layer.total for w in layer.non_trainable_weights)
    np.testing.assert_array_equal(layer.total.numpy(), [0.0, 0.0, 0.0])


def test_add_loss_on_one_replica_keeps_the_losses_of_earlier_calls():
    class TwoLosses(keras.layers.Layer):
        def call(self, x):
            distribute._add_loss(self, ops.sum(x))
            distribute._add_loss(self, 2 * ops.sum(x))
            return x

    layer = TwoLosses()
    layer(np.ones((2, 2), "float32"))
    assert [float(ops.convert_to_numpy(v)) for v in layer.losses] == [4.0, 8.0]
