"""Tiny models and callbacks the library's tests share (not a test module)."""

import keras
import numpy as np
import pytest
from keras import ops


def float64_available() -> bool:
    """Whether the Keras backend computes in float64: JAX does only with ``jax_enable_x64``."""
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


#: For a test of float64 math: skipped on JAX without ``jax_enable_x64`` (its default), where the
#: layer contract's JAX subprocess checks float64 with it turned on.
needs_float64 = pytest.mark.skipif(
    not float64_available(),
    reason="JAX computes in float64 only with jax_enable_x64 (off by default); the TensorFlow pass "
           "checks float64 on JAX in a subprocess with it turned on",
)


class FailingSave(keras.layers.Layer):
    """An identity layer whose weight saving raises when ``fail`` is set: a crash mid-write."""

    fail = False

    def call(self, x):
        return x

    def save_own_variables(self, store):
        if FailingSave.fail:
            raise OSError("disk full (simulated)")
        super().save_own_variables(store)


def two_layer_model(width=3, out=2, failing=False, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(width, name="first")(inputs)
    if failing:
        x = FailingSave(name="failing")(x)
    outputs = keras.layers.Dense(out, name="second")(x)
    return keras.Model(inputs, outputs)


def weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def loaded(path, **kwargs):
    model = two_layer_model(**kwargs, seed=123)
    model.load_weights(path)
    return model.get_weights()


def toy_classification(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, y


def classifier(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def worst_class_accuracy(y_true, y_pred):
    hit = y_pred.argmax(axis=1) == y_true
    return float(min(hit[y_true == c].mean() for c in np.unique(y_true)))


class WeightsPerEpoch(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def lr_probe(learning_rate, jit_compile=False):
    """A zero Dense(1) on x = 1 with loss mean(y_pred): each SGD update equals the step's rate."""
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype="float32")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(learning_rate), lambda y, p: ops.mean(p),
                  jit_compile=jit_compile, auto_scale_loss=False)
    return model


class KernelTrace(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.values = [0.0]

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(float(self.model.layers[-1].kernel.numpy()[0, 0]))

    @property
    def updates(self):
        return -np.diff(self.values)
