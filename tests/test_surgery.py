"""Unit tests of kerascool_lib.surgery on tiny models: exact and structural.

For every cut: ``back(front(x))`` equals ``model(x)`` bit for bit, both halves hold the very
layer objects (and variables) of the model, and their parameter counts add up. Sequential,
functional with a skip connection and a two-way branch, two inputs, ``keras.ops`` nodes. Every
error is checked by its message. ``replace_layer`` and ``insert_after`` keep the untouched
layers' variables (same objects, same values). The JAX backend runs the same checks in a
subprocess. Bad input: the table in ``tests/test_bad_input.py``.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import layers as L
from keras import ops

from kerascool_lib import surgery
from kerascool_lib.surgery import insert_after, replace_layer, split_model

ROOT = pathlib.Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(0)
X_IMG = RNG.normal(size=(6, 8, 8, 1)).astype("float32")
X_VEC = RNG.normal(size=(6, 5)).astype("float32")


def _np(t):
    return ops.convert_to_numpy(t)


def residual():
    """conv → (conv → relu) + skip → relu, a two-way branch concatenated, BN, pool, dense."""
    keras.utils.set_random_seed(0)
    i = keras.Input((8, 8, 1), name="img")
    c1 = L.Conv2D(4, 3, padding="same", activation="relu", name="c1")(i)
    r = L.Activation("relu", name="r_act")(L.Conv2D(4, 3, padding="same", name="r_conv")(c1))
    a = L.Activation("relu", name="act")(L.Add(name="add")([c1, r]))
    b = L.Concatenate(name="cat")([L.Conv2D(2, 1, name="b1")(a), L.Conv2D(2, 3, padding="same", name="b2")(a)])
    f = L.GlobalAveragePooling2D(name="gap")(L.BatchNormalization(name="bn")(b))
    return keras.Model(i, L.Dense(3, name="out")(f), name="res")


def sequential():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((5,), name="x"), L.Dense(4, activation="relu", name="h1"),
                             L.Dropout(0.5, name="drop"), L.Dense(3, name="h2"), L.Dense(2, name="h3")], name="seq")


def two_inputs():
    keras.utils.set_random_seed(0)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    side = L.Dense(2, name="side")(a)
    h = L.Dense(4, name="h")(L.Concatenate(name="cat")([a, b]))
    z = ops.relu(h) * 2.0  # a keras.ops node: not in model.layers
    return keras.Model([a, b], L.Dense(1, name="o")(L.Concatenate(name="cat2")([z, side])), name="two")


def check_split(model, at, x):
    front, back = split_model(model, at)
    assert np.array_equal(_np(back(front(x))), _np(model(x))), f"cut at {at}"
    ids = {id(v) for v in model.weights}
    assert all(id(v) in ids for v in front.weights + back.weights), "the halves share the model's variables"
    assert front.count_params() + back.count_params() == model.count_params()
    assert back.input.name == f"{model.get_layer(at).name}_output"
    assert tuple(back.input.shape) == tuple(front.output.shape)
    for layer in back.layers[1:]:  # the model's own layers (a cut after the last one: an Identity)
        assert (len(back.layers) == 2 and type(layer) is keras.layers.Identity) or layer is model.get_layer(layer.name)
    return front, back


def check_all_cuts():
    model = residual()
    for at in ["c1", "add", "act", "cat", "bn", "gap", "out"]:
        check_split(model, at, X_IMG)
    seq = sequential()
    for at in ["h1", "drop", "h2", "h3"]:
        check_split(seq, at, X_VEC)
    two = two_inputs()
    xs = [X_VEC[:, :3], X_VEC[:, 3:]]
    front, back = split_model(two, "cat2")
    assert np.array_equal(_np(back(front(xs))), _np(two(xs)))
    assert front.count_params() + back.count_params() == two.count_params()


def check_surgery_keeps_weights():
    model = residual()
    before = {v.path: _np(v).copy() for v in model.weights}
    head = keras.Sequential([L.Dense(2, name="bottleneck"), L.Dense(3, name="new_out")], name="head")
    swapped = replace_layer(model, "out", head)
    assert [l.name for l in swapped.layers][-1] == "head" and "out" not in [l.name for l in swapped.layers]
    for layer in model.layers[1:]:  # the InputLayer is new: clone_model always makes new inputs
        if layer.name != "out":
            assert swapped.get_layer(layer.name) is layer
    front, _ = split_model(model, "gap")
    assert np.array_equal(_np(swapped(X_IMG)), _np(head(front(X_IMG))))
    longer = insert_after(model, "gap", L.Dropout(0.5, name="drop"))
    assert [l.name for l in longer.layers][-2:] == ["drop", "out"]
    assert np.array_equal(_np(longer(X_IMG)), _np(model(X_IMG)))  # Dropout is the identity at inference
    assert all(np.array_equal(_np(v), before[v.path]) for v in model.weights)
    seq = sequential()
    seq_long = insert_after(seq, "h2", L.Activation("linear", name="lin"))
    assert isinstance(seq_long, keras.Sequential)
    assert [l.name for l in seq_long.layers] == ["h1", "drop", "h2", "lin", "h3"]
    assert np.array_equal(_np(seq_long(X_VEC)), _np(seq(X_VEC)))
    seq_new = replace_layer(seq, "h3", L.Dense(7, name="wide"))
    assert seq_new.output_shape == (None, 7) and seq_new.get_layer("h1") is seq.get_layer("h1")


def test_the_module_exports_three_functions():
    assert surgery.__all__ == ["split_model", "replace_layer", "insert_after"]


def test_every_cut_is_exact_and_shares_the_layers():
    check_all_cuts()


def test_replace_and_insert_keep_the_untouched_weights():
    check_surgery_keeps_weights()


def test_training_the_back_trains_the_model():
    model = residual()
    front, back = split_model(model, "act")
    back.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    kernel = _np(model.get_layer("out").kernel).copy()
    back.fit(_np(front(X_IMG)), np.ones((6, 3), "float32"), epochs=1, verbose=0)
    assert not np.array_equal(_np(model.get_layer("out").kernel), kernel)
    assert np.array_equal(_np(back(front(X_IMG))), _np(model(X_IMG)))


def test_the_back_saves_and_loads(tmp_path):
    model = residual()
    front, back = split_model(model, "act")
    back.save(tmp_path / "back.keras")
    restored = keras.saving.load_model(tmp_path / "back.keras")
    features = _np(front(X_IMG))
    assert np.array_equal(_np(restored(features)), _np(back(features)))


def test_cutting_after_the_last_layer_gives_an_identity_back():
    model = residual()
    front, back = split_model(model, "out")
    assert np.array_equal(_np(back(front(X_IMG))), _np(model(X_IMG))) and back.count_params() == 0


@pytest.mark.parametrize("at, message", [
    ("r_conv", r"Received: at='r_conv'; the outputs of \['c1'\] also reach the layers after it"),
    ("r_act", r"Received: at='r_act'; the outputs of \['c1'\] also reach the layers after it"),
    ("b1", r"Received: at='b1'; the outputs of \['act'\] also reach"),
    ("Add", r"`at` must be the name of a layer of model 'res'. Received: at='Add'; close names: \['add'\]"),
    ("nothing", r"Received: at='nothing'; its layers: \['img', 'c1'"),
    ("img", r"`at` must be a layer after the model's inputs, not an input layer. Received: at='img'"),
    (3, r"`at` must be a layer name \(str\) or a layer. Received: at=3 of type int"),
])
def test_bad_cuts_name_the_layer_and_the_crossing_tensors(at, message):
    with pytest.raises(ValueError, match=message):
        split_model(residual(), at)


def test_a_second_input_passing_by_the_cut_is_named():
    with pytest.raises(ValueError, match=r"at='h'; the outputs of \['a'\] also reach the layers after it"):
        split_model(two_inputs(), "h")


def test_a_shared_layer_cannot_be_the_cut():
    i = keras.Input((4,))
    shared = L.Dense(4, name="shared")
    model = keras.Model(i, L.Dense(1, name="o")(shared(shared(i))))
    with pytest.raises(ValueError, match=r"`at` must be a layer called exactly once in the model. Received: at='shared', called 2 times"):
        split_model(model, "shared")
    with pytest.raises(ValueError, match=r"`name` must be a layer called exactly once"):
        insert_after(model, "shared", L.Dropout(0.1))


def test_a_layer_of_another_model_is_refused():
    with pytest.raises(ValueError, match=r"`at` must be a layer of model 'res'. Received: at=<layer 'h1'>, which is not in it"):
        split_model(residual(), sequential().get_layer("h1"))


def test_a_layer_object_works_like_its_name():
    model = residual()
    front, _ = split_model(model, model.get_layer("act"))
    assert front.output.shape == (None, 8, 8, 4)


def test_unbuilt_and_non_models_are_refused():
    with pytest.raises(ValueError, match=r"`model` must be a built keras.Model"):
        split_model(keras.Sequential([L.Dense(2)], name="unbuilt"), "dense")
    with pytest.raises(ValueError, match=r"`model` must be a keras.Model"):
        split_model("model", "dense")


def test_new_layer_must_be_a_new_layer():
    model = residual()
    with pytest.raises(ValueError, match=r"`new_layer` must be a keras.layers.Layer"):
        replace_layer(model, "out", "dense")
    with pytest.raises(ValueError, match=r"`new_layer` must be a layer that is not already in the model. Received: new_layer=<layer 'gap'>"):
        insert_after(model, "act", model.get_layer("gap"))
    with pytest.raises(ValueError, match=r"`name` must be a layer after the model's inputs"):
        replace_layer(model, "img", L.Dense(2))


@pytest.mark.jax_subprocess
def test_same_checks_on_jax():
    """The exact checks above, again on the JAX backend (set at import) in a subprocess."""
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import keras
        assert keras.backend.backend() == "jax"
        import test_surgery as t
        t.check_all_cuts()
        t.check_surgery_keeps_weights()
        print("jax ok")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT / "tests")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "jax ok" in proc.stdout, proc.stderr[-3000:]
