"""The layer contract: every public ``keras.layers.Layer`` of kerascool_lib passes the same checks.

The layers are found by walking the ``__all__`` of the library's public modules, so a new layer
is checked as soon as it is exported, and fails until it has a recipe in ``RECIPES`` below
(constructor arguments, sample inputs, a float64 NumPy reference of its math, how it treats a
mask). Each check is its own test id, ``test_contract[<Layer>-<check>]``:

- ``build``: called on the sample inputs, the layer is built and its weights are created;
- ``output_shape``: ``compute_output_shape`` (which Keras trusts without checking) agrees with
  the shapes of ``call`` traced on symbolic tensors and of an eager call, list outputs too;
- ``config``: ``get_config`` → ``from_config`` gives an equal config, and equal outputs after
  ``set_weights``;
- ``saving``: a model holding the layer saved to ``.keras`` and loaded in a fresh process with
  ``safe_mode=True`` and no ``custom_objects`` predicts the same and has the same weights;
- ``mixed_float16``: the output has the dtype the layer documents, and is finite;
- ``float64``: with ``dtype="float64"`` the layer computes in float64: its outputs (and its
  added loss) equal a float64 NumPy reference to ~1e-12;
- ``train_step``: one ``fit`` step in a tiny model changes the trainable weights and keeps the
  outputs finite;
- ``jit_compile``: a step with ``jit_compile=True`` gives the weights and predictions of the same
  step run eagerly, to tolerance;
- ``masking``: after ``Embedding(mask_zero=True)`` (or ``Masking``), Keras warns of no destroyed
  mask, ``compute_mask`` returns the mask, and padded inputs give the outputs of unpadded
  ones on the real positions (mask-consuming built-in layers after it included).

``test_contract_on_jax[<Layer>-<check>]`` runs every check but ``saving`` again on Keras's JAX
backend (float64 there needs ``jax_enable_x64``; it runs last, after turning it on). A process
is slow to start, so the fresh processes are two per test run, each for every layer: one loads
the saved models, one runs the JAX checks; under pytest-xdist the first worker to need one runs
it and the others read its results. Run as a script, this file runs the checks in its own
backend and prints their results as JSON:
``KERAS_BACKEND=jax python tests/test_layer_contract.py --checks SplitVector CenterLoss``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pathlib
import pkgutil
import subprocess
import sys
import warnings
from typing import Callable

try:
    import fcntl
except ImportError:  # Windows: each xdist worker runs its own subprocess
    fcntl = None

import keras
import numpy as np
import pytest
from keras import ops

import kerascool_lib
from _toys import float64_available, needs_float64

ROOT = pathlib.Path(__file__).resolve().parent.parent
MASK_WARNING = "does not support masking"


# ── the layers, found by introspection ────────────────────────────────────────────────────────


def public_layers() -> dict[str, type]:
    """Every ``keras.layers.Layer`` subclass in the ``__all__`` of a public library module."""
    found = {}
    modules = [kerascool_lib] + [
        importlib.import_module(f"kerascool_lib.{info.name}")
        for info in pkgutil.iter_modules(kerascool_lib.__path__)
        if not info.name.startswith("_")
    ]
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer) and not issubclass(obj, keras.Model):  # models have their own tests
                found[obj.__name__] = obj
    return dict(sorted(found.items()))


# ── recipes: how to make and feed each layer ──────────────────────────────────────────────────


@dataclasses.dataclass
class Recipe:
    kwargs: dict  # constructor arguments
    inputs: Callable  # rng -> sample inputs: an array, or a list of arrays
    reference: Callable  # (layer, float64 inputs) -> the outputs, computed in float64 NumPy
    masking: Callable  # layer -> None, asserts the layer's stated masking behaviour
    reference_loss: Callable | None = None  # (layer, float64 inputs) -> the loss it adds
    call_kwargs: dict = dataclasses.field(default_factory=dict)  # e.g. training=True
    mixed_dtype: str = "float16"  # the output dtype under "mixed_float16", as documented
    unused: tuple = ()  # trainable weights the recipe's call does not use (no gradient)


def _sequence_masking(layer, n_outputs):
    """Embedding(mask_zero=True) -> layer -> per output GlobalAveragePooling1D (uses the mask).

    The layer propagates the mask: no warning, ``compute_mask`` returns it, and the padded
    batch gives the unpadded outputs on the real steps, pooled outputs included.
    """
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None,), dtype="int32")
    embed = keras.layers.Embedding(10, 6, mask_zero=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = _as_list(layer(embed(tokens)))
        pooled = [keras.layers.GlobalAveragePooling1D()(o) for o in outputs]
        model = keras.Model(tokens, outputs + pooled)
        padded = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
        out_padded = [_np(t) for t in model(padded)]
        mask = embed.compute_mask(padded)
        masks = _as_list(layer.compute_mask(embed(padded), mask))
    assert not [w for w in caught if MASK_WARNING in str(w.message)], [str(w.message) for w in caught]
    assert len(masks) == n_outputs
    for m in masks:
        np.testing.assert_array_equal(_np(m), _np(mask))
    for row, length in enumerate([3, 2]):
        out_alone = [_np(t) for t in model(padded[row:row + 1, :length])]
        for k in range(n_outputs):
            np.testing.assert_allclose(out_padded[k][row, :length], out_alone[k][0], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out_padded[n_outputs + k][row], out_alone[n_outputs + k][0], rtol=1e-5, atol=1e-6)


def _center_loss_masking(layer):
    """Masking -> CenterLoss: masked rows pass through with their mask and add no loss."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(4, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1])
    padded_f = np.concatenate([features, np.zeros((3, 3), "float32")])
    padded_y = np.concatenate([labels, [0, 2, 1]])
    masking = keras.layers.Masking(0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out_alone = _np(layer([features, labels], training=True))
        loss_alone = float(_np(layer.losses[0]))
        masked = masking(padded_f)
        out_padded = _np(layer([masked, padded_y], training=True))
        loss_padded = float(_np(layer.losses[0]))
        mask = masking.compute_mask(padded_f)
        out_mask = layer.compute_mask([masked, padded_y], [mask, None])
        f_in, y_in = keras.Input((3,)), keras.Input((), dtype="int32")
        layer([keras.layers.Masking(0.0)(f_in), y_in])
    assert not [w for w in caught if MASK_WARNING in str(w.message)], [str(w.message) for w in caught]
    np.testing.assert_array_equal(_np(out_mask), _np(mask))
    np.testing.assert_array_equal(out_padded[:4], out_alone)
    np.testing.assert_allclose(loss_padded, loss_alone, rtol=1e-6)


def _reconstruction_reference_loss(layer, inputs):
    t, p = inputs
    p = np.clip(p, keras.config.epsilon(), 1 - keras.config.epsilon())
    return layer.weight * np.mean(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p), axis=-1))


def _reconstruction_masking(layer):
    """Masking -> ReconstructionLoss: the reconstruction's mask passes through, masked rows add no loss."""
    rng = np.random.default_rng(1)
    target = rng.uniform(size=(4, 3)).astype("float32")
    recon = rng.uniform(0.05, 0.95, size=(4, 3)).astype("float32")
    pad = np.zeros((3, 3), "float32")
    masking = keras.layers.Masking(0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out_alone = _np(layer([target, recon]))
        loss_alone = float(_np(layer.losses[0]))
        padded = np.concatenate([recon, pad])
        masked = masking(padded)
        mask = masking.compute_mask(padded)
        out_padded = _np(layer([np.concatenate([target, pad + 0.5]), masked]))
        loss_padded = float(_np(layer.losses[0]))
        out_mask = layer.compute_mask([target, masked], [None, mask])
    assert not [w for w in caught if MASK_WARNING in str(w.message)], [str(w.message) for w in caught]
    np.testing.assert_array_equal(_np(out_mask), _np(mask))
    np.testing.assert_array_equal(out_padded[:4], out_alone)
    np.testing.assert_allclose(loss_padded, loss_alone, rtol=1e-6)


def _scaled_l2_reference(layer, x):
    scale = float(_np(layer.scale)[0])
    return scale * x / np.sqrt(np.maximum(np.sum(x**2, axis=layer.axis, keepdims=True), layer.epsilon))


def _center_loss_reference_loss(layer, inputs):
    features, labels = inputs
    centers = _np(layer.centers).astype("float64")
    diff = features - centers[np.asarray(labels).reshape(-1).astype(int)]
    return float(_np(layer.lamb)) * np.mean(0.5 * np.sum(diff**2, axis=1))


RECIPES: dict[str, Recipe] = {
    "ScaledL2Normalization": Recipe(
        kwargs={"scale_initializer": keras.initializers.Constant(1.7)},
        inputs=lambda rng: rng.normal(size=(4, 6)).astype("float32"),
        reference=_scaled_l2_reference,
        masking=lambda layer: _sequence_masking(layer, 1),
    ),
    "SplitVector": Recipe(
        kwargs={},
        inputs=lambda rng: rng.normal(size=(4, 7)).astype("float32"),
        reference=lambda layer, x: [x[:, :3], x[:, 3:]],
        masking=lambda layer: _sequence_masking(layer, 2),
    ),
    "TiedDense": Recipe(  # the forward direction; the reverse one is in tests/test_tied.py
        # sigmoid, not tanh: Keras's own ops.tanh computes float64 inputs in float32 on JAX
        kwargs={"units": 3, "activation": "sigmoid", "bias_initializer": keras.initializers.Constant(0.1)},
        inputs=lambda rng: rng.normal(size=(4, 6)).astype("float32"),
        reference=lambda layer, x: 1.0 / (1.0 + np.exp(-(x @ _np(layer.kernel) + _np(layer.bias)))),
        masking=lambda layer: _sequence_masking(layer, 1),
        unused=("reverse_bias",),  # used by reverse calls only
    ),
    "TrackMean": Recipe(
        kwargs={"fn": "squared_norm"},
        inputs=lambda rng: rng.normal(size=(4, 6)).astype("float32"),
        reference=lambda layer, x: x,  # an exact identity
        masking=lambda layer: _sequence_masking(layer, 1),
    ),
    "Record": Recipe(
        kwargs={"statistic": "mean_square"},
        inputs=lambda rng: rng.normal(size=(4, 6)).astype("float32"),
        reference=lambda layer, x: x,  # passes its input through; layer.value == mean(x**2, axis=0)
        masking=lambda layer: _sequence_masking(layer, 1),
    ),
    "ReconstructionLoss": Recipe(
        kwargs={"kind": "binary_crossentropy", "weight": 0.5},
        inputs=lambda rng: [rng.uniform(size=(4, 6)).astype("float32"), rng.uniform(0.05, 0.95, size=(4, 6)).astype("float32")],
        reference=lambda layer, inputs: inputs[1],  # the reconstruction passes through
        reference_loss=_reconstruction_reference_loss,
        masking=_reconstruction_masking,
    ),
    "CenterLoss": Recipe(
        kwargs={"num_classes": 3, "lamb": 0.5, "centers_initializer": keras.initializers.RandomNormal(seed=3)},
        inputs=lambda rng: [rng.normal(size=(4, 3)).astype("float32"), np.array([0, 1, 2, 1])],
        reference=lambda layer, inputs: inputs[0],  # the features pass through
        reference_loss=_center_loss_reference_loss,
        call_kwargs={"training": True},
        masking=_center_loss_masking,
    ),
    "SpectrallyNormalized": Recipe(  # the inner layer as a config, so each _make gets its own
        kwargs={"layer": {"module": "keras.layers", "class_name": "Dense", "config": {
                    "units": 3, "activation": "sigmoid", "name": "inner",
                    "kernel_initializer": {"class_name": "RandomNormal", "config": {"stddev": 2.0, "seed": 1}},
                    "bias_initializer": {"class_name": "Constant", "config": {"value": 0.1}}}},
                "power_iterations": 1},
        inputs=lambda rng: rng.normal(size=(4, 6)).astype("float32"),
        # one power-iteration step from the stored u: v = Wu/|Wu|, u' = W'v/|W'v|, sigma = v'Wu'
        reference=lambda layer, x: (lambda w, b, u: (lambda v: (lambda u1: 1.0 / (1.0 + np.exp(
            -(x @ (w / (v @ w @ u1)) + b))))(w.T @ v / np.linalg.norm(w.T @ v)))(w @ u / np.linalg.norm(w @ u)))(
            *(_np(t).astype("float64") for t in (layer.layer.kernel, layer.layer.bias, layer.u))),
        masking=lambda layer: _sequence_masking(layer, 1),
    ),
}


# ── helpers ───────────────────────────────────────────────────────────────────────────────────


def _np(x):
    return ops.convert_to_numpy(x)


def _as_list(x):
    """A layer's (or model's) outputs as a list; one shape tuple, or tensor, becomes ``[x]``."""
    return list(x) if isinstance(x, list) else [x]


def _recipe(name) -> Recipe:
    if name not in RECIPES:
        pytest.fail(
            f"{name} is a public layer of kerascool_lib without a recipe for the layer contract: "
            f"add one to RECIPES in tests/test_layer_contract.py (constructor kwargs, sample "
            f"inputs, a float64 NumPy reference, its masking check)",
            pytrace=False,
        )
    return RECIPES[name]


def _make(name, **extra):
    keras.utils.set_random_seed(0)
    return public_layers()[name](**_recipe(name).kwargs, **extra)


def _sample(name, dtype="float32"):
    """The recipe's inputs, with the float arrays in ``dtype`` (integer labels unchanged)."""
    inputs = _recipe(name).inputs(np.random.default_rng(0))
    cast = [a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a for a in _as_list(inputs)]
    return cast if isinstance(inputs, list) else cast[0]


def _shapes(inputs, batch=None):
    shapes = [(batch,) + a.shape[1:] for a in _as_list(inputs)]
    return shapes if isinstance(inputs, list) else shapes[0]


def _symbolic(inputs):
    specs = [keras.KerasTensor((None,) + a.shape[1:], dtype=str(a.dtype)) for a in _as_list(inputs)]
    return specs if isinstance(inputs, list) else specs[0]


def _tiny_model(name):
    """Inputs -> Dense (on the first input) -> the layer -> a Dense(1) head per output."""
    layer = _make(name)
    sample = _sample(name)
    ins = [keras.Input(a.shape[1:], dtype="float32" if a.dtype.kind == "f" else "int32") for a in _as_list(sample)]
    first = keras.layers.Dense(ins[0].shape[-1], name="before")(ins[0])
    outputs = _as_list(layer([first] + ins[1:] if isinstance(sample, list) else first))
    heads = [keras.layers.Dense(1, name=f"head{i}")(o) for i, o in enumerate(outputs)]
    model = keras.Model(ins if isinstance(sample, list) else ins[0], heads)
    targets = [np.zeros((len(_as_list(sample)[0]), 1), "float32") for _ in heads]
    return model, layer, sample, targets


def _fit_one_step(model, sample, targets, **compile_kwargs):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=["mse"] * len(targets), **compile_kwargs)
    history = model.fit(sample, targets, batch_size=len(targets[0]), epochs=1, verbose=0)
    return history.history["loss"][0]


# ── the checks (one function each; the JAX subprocess calls the same ones) ────────────────────


def check_build(name):
    layer = _make(name)
    out = layer(_sample(name), **_recipe(name).call_kwargs)
    assert layer.built
    assert all(np.all(np.isfinite(_np(o))) for o in _as_list(out))
    assert all(w.path.startswith(layer.name + "/") for w in layer.weights)


def check_output_shape(name):
    layer = _make(name)
    sample = _sample(name)
    eager = [tuple(o.shape) for o in _as_list(layer(sample, **_recipe(name).call_kwargs))]
    declared = _as_list(layer.compute_output_shape(_shapes(sample)))
    declared_now = _as_list(layer.compute_output_shape(_shapes(sample, len(_as_list(sample)[0]))))
    # Trace `call` itself (Layer.compute_output_spec would trust compute_output_shape).
    traced = _as_list(keras.Operation.compute_output_spec(layer, _symbolic(sample)))
    assert [tuple(t.shape) for t in traced] == [tuple(s) for s in declared]
    assert eager == [tuple(s) for s in declared_now]
    functional = _as_list(_make(name)(_symbolic(sample)))
    assert [tuple(t.shape) for t in functional] == [tuple(s) for s in declared]


def check_config(name):
    layer = _make(name)
    sample = _sample(name)
    call_kwargs = _recipe(name).call_kwargs
    out = [_np(o) for o in _as_list(layer(sample, **call_kwargs))]
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone.build(_shapes(sample))
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    for a, b in zip(out, [_np(o) for o in _as_list(clone(sample, **call_kwargs))]):
        np.testing.assert_array_equal(a, b)


def check_mixed_float16(name):
    layer = _make(name, dtype="mixed_float16")
    out = _as_list(layer(_sample(name), **_recipe(name).call_kwargs))
    for o in out:
        assert keras.backend.standardize_dtype(o.dtype) == _recipe(name).mixed_dtype, f"output of dtype {o.dtype}"
        assert np.all(np.isfinite(_np(o).astype("float32")))
    assert all(np.isfinite(float(_np(loss))) for loss in layer.losses)


def check_float64(name):
    recipe = _recipe(name)
    layer = _make(name, dtype="float64")
    sample = _sample(name, "float64")
    out = _as_list(layer(sample, **recipe.call_kwargs))
    weights = {w.path: keras.backend.standardize_dtype(w.dtype) for w in layer.weights}
    assert all(dtype == "float64" for dtype in weights.values() if "float" in dtype), weights  # counters may be ints
    expected = _as_list(recipe.reference(layer, sample))
    assert len(out) == len(expected)
    for o, e in zip(out, expected):
        assert keras.backend.standardize_dtype(o.dtype) == "float64", f"output of dtype {o.dtype}"
        np.testing.assert_allclose(_np(o), e, rtol=1e-12, atol=1e-14)
    if recipe.reference_loss is not None:
        # the reference reads the centers after a moving-average update: use alpha=None recipes
        (loss,) = layer.losses
        assert keras.backend.standardize_dtype(loss.dtype) == "float64", f"loss of dtype {loss.dtype}"
        np.testing.assert_allclose(float(_np(loss)), recipe.reference_loss(layer, sample), rtol=1e-12)


def check_train_step(name):
    model, layer, sample, targets = _tiny_model(name)
    unused = {f"{layer.name}/{w}" for w in _recipe(name).unused}
    watched = [w for w in layer.trainable_weights if w.path not in unused] or model.trainable_weights
    before = [_np(w).copy() for w in watched]
    loss = _fit_one_step(model, sample, targets)
    assert np.isfinite(loss), loss
    still = [w.path for b, w in zip(before, watched) if np.array_equal(b, _np(w))]
    assert not still, f"trainable weights that did not move: {still}"
    assert all(np.all(np.isfinite(p)) for p in _as_list(model.predict(sample, verbose=0)))


def check_jit_compile(name):
    eager_model, _, sample, targets = _tiny_model(name)
    jit_model, _, _, _ = _tiny_model(name)
    jit_model.set_weights(eager_model.get_weights())
    eager_loss = _fit_one_step(eager_model, sample, targets, run_eagerly=True)
    jit_loss = _fit_one_step(jit_model, sample, targets, jit_compile=True)
    np.testing.assert_allclose(jit_loss, eager_loss, rtol=1e-5)
    for a, b in zip(eager_model.get_weights(), jit_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(_as_list(eager_model.predict(sample, verbose=0)), _as_list(jit_model.predict(sample, verbose=0))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def check_masking(name):
    _recipe(name).masking(_make(name))


def save_for_a_fresh_process(name, folder):
    """The first half of the ``saving`` check: train a step, save the model and what to expect."""
    model, _, sample, targets = _tiny_model(name)
    _fit_one_step(model, sample, targets)
    path = pathlib.Path(folder) / f"{name}.keras"
    model.save(path)
    expected = _as_list(model.predict(sample, verbose=0))
    arrays = {f"input{i}": a for i, a in enumerate(_as_list(sample))}
    arrays.update({f"output{i}": a for i, a in enumerate(expected)})
    arrays.update({f"weight{i}": w for i, w in enumerate(model.get_weights())})
    np.savez(path.with_suffix(".npz"), **arrays)
    return path


def load_in_this_process(name, path):
    """The fresh process's half of ``check_saving``: load with safe mode, compare."""
    path = pathlib.Path(path)
    arrays = np.load(path.with_suffix(".npz"))
    model = keras.saving.load_model(path, safe_mode=True)  # no custom_objects
    assert any(type(layer) is public_layers()[name] for layer in model.layers), [type(x) for x in model.layers]
    inputs = [arrays[k] for k in sorted(k for k in arrays if k.startswith("input"))]
    outputs = _as_list(model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0))
    for i, out in enumerate(outputs):
        np.testing.assert_array_equal(out, arrays[f"output{i}"])
    weights = model.get_weights()
    assert len(weights) == len([k for k in arrays if k.startswith("weight")])
    for i, w in enumerate(weights):
        np.testing.assert_array_equal(w, arrays[f"weight{i}"])


CHECKS = {
    "build": check_build,
    "output_shape": check_output_shape,
    "config": check_config,
    "saving": None,  # in a fresh process: see saved_and_loaded
    "mixed_float16": check_mixed_float16,
    "float64": check_float64,
    "train_step": check_train_step,
    "jit_compile": check_jit_compile,
    "masking": check_masking,
}
#: On JAX (a subprocess): every check but saving; float64 last, as it turns on JAX's x64.
JAX_CHECKS = [check for check in CHECKS if check not in ("saving", "float64")] + ["float64"]
LAYERS = list(public_layers())


# ── the checks that need a fresh process: one for all layers, shared by the xdist workers ──────


def _once_per_run(key, produce, tmp_path_factory):
    """``produce()`` once per test run: under pytest-xdist the first worker to ask runs it and
    leaves the result in a file the other workers read (a subprocess is slow: run it once)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None or fcntl is None:
        return produce()
    path = tmp_path_factory.getbasetemp().parent / f"{key}-{run}.json"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            path.write_text(json.dumps(produce()))
        return json.loads(path.read_text())


@pytest.fixture(scope="session")
def saved_and_loaded(tmp_path_factory):
    """Each layer's model saved here, then loaded and compared in one fresh TF process."""

    def produce():
        folder = tmp_path_factory.mktemp("contract-saving")
        results, args = {}, []
        for name in LAYERS:
            if name in RECIPES:
                results[name] = _outcome(lambda: args.append(f"{name}={save_for_a_fresh_process(name, folder)}"))
        loaded = _run_script(["--load", *args], keras.backend.backend())
        return {name: results[name] if results[name] != "ok" else loaded.get(name, "not run") for name in results}

    return _once_per_run("contract-saving", produce, tmp_path_factory)


@pytest.fixture(scope="session")
def on_jax(tmp_path_factory):
    """Every layer's JAX_CHECKS, run in one subprocess on Keras's JAX backend."""
    names = [name for name in LAYERS if name in RECIPES]
    return _once_per_run("contract-jax", lambda: _run_script(["--checks", *names], "jax"), tmp_path_factory)


# ── the tests ─────────────────────────────────────────────────────────────────────────────────


def test_the_contract_finds_the_library_layers():
    assert {"ScaledL2Normalization", "SplitVector", "CenterLoss", "TiedDense"} <= set(LAYERS)
    stale = set(RECIPES) - set(LAYERS)
    assert not stale, f"recipes for layers the library no longer exports: {sorted(stale)}"


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("name", LAYERS)
def test_contract(name, check, request):
    _recipe(name)
    if check == "float64" and not float64_available():
        pytest.skip(needs_float64.kwargs["reason"])
    if check == "saving":
        result = request.getfixturevalue("saved_and_loaded")[name]
        assert result == "ok", result
    else:
        CHECKS[check](name)


@pytest.mark.jax_subprocess(float64=True)
@pytest.mark.parametrize("check", JAX_CHECKS)
@pytest.mark.parametrize("name", LAYERS)
def test_contract_on_jax(name, check, request):
    _recipe(name)
    result = request.getfixturevalue("on_jax")[name][check]
    assert result == "ok", result


# ── running checks in a fresh process ─────────────────────────────────────────────────────────


def _run_script(args, backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("CONTRACT ")]
    assert lines, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("CONTRACT "):])


def _main(argv):
    """``--load NAME=PATH ...``: the fresh process of the saving check. ``--checks NAME ...``:
    JAX_CHECKS for each layer, float64 last (on JAX it needs x64, turned on for the rest of
    the process)."""
    mode, args = argv[0], argv[1:]
    if mode == "--load":
        results = {}
        for arg in args:
            name, path = arg.split("=", 1)
            results[name] = _outcome(lambda: load_in_this_process(name, path))
    else:
        results = {name: {} for name in args}
        for check in JAX_CHECKS:
            if check == "float64" and keras.backend.backend() == "jax":
                import jax

                jax.config.update("jax_enable_x64", True)  # JAX's float64 is off by default
            for name in args:
                results[name][check] = _outcome(lambda: CHECKS[check](name))
    print("CONTRACT " + json.dumps(results), flush=True)


def _outcome(fn):
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 -- reported to the parent test, which fails
        return f"{type(exc).__name__}: {exc}"[:2000]
    return "ok"


if __name__ == "__main__":
    _main(sys.argv[1:])
