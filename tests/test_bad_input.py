"""Bad input to every public name of kerascool_lib: a clear error naming the argument, the
value received and what was expected. One test per case.

Most arguments are checked by the same few checks of ``kerascool_lib._checks`` ("an integer
>= 1", "True or False", ...). So each public name's arguments are described once, in ``SIGS``:
the call with good values, and for each argument its *kind* (``INT_MIN_1``, ``BOOL``, ...).
A kind lists bad values and the exact message each must raise, built from the argument's name;
one test case is generated per (name, argument, bad value). The checks themselves are tested
once per kind in ``tests/test_checks.py``. ``ROWS`` holds the hand-written cases: messages that
belong to one argument only (a shape, a file, a missing pair).

Every public name (each module's ``__all__``) must have at least one case here, or be listed
in ``NO_INPUT`` with the reason it takes no input; ``test_every_public_name_is_covered`` fails
otherwise, listing the names, so a new public function cannot arrive without its cases.
"""

import dataclasses
import importlib
import math
import pathlib
import pkgutil
import re
from collections.abc import Callable

import keras
import numpy as np
import pytest

import kerascool_lib
from kerascool_lib import (
    bench,
    data,
    distribute,
    experiments,
    feeding,
    metrics,
    models,
    monitors,
    pairs,
    plots,
    probes,
    progress,
    runtime,
    schedules,
    show_source,
    spectral,
    surgery,
    targetless,
    tied,
    widgets,
)
from kerascool_lib import losses as kcl
from kerascool_lib.ema import ExponentialMovingAverage, warmup_decay
from kerascool_lib.callbacks import (
    EvaluateAndKeepBest,
    LinearWarmupCallback,
    VariableScheduler,
)
from kerascool_lib.schedules import LinearWarmup
from kerascool_lib.weights import save_weights_atomically, swapped_weights
from kerascool_lib.layers import ScaledL2Normalization, SplitVector

#: Every public module of the package (a new module is covered without editing this file).
MODULES = sorted(m.name for m in pkgutil.iter_modules(kerascool_lib.__path__) if not m.name.startswith("_"))

#: Public names that take no input, with the reason.
NO_INPUT = {
    "data.MNIST_SHA256": "a constant",
    "data.MnistIntegrityError": "an exception type, raised by the cases of load_mnist",
    "data.MnistNotFoundError": "an exception type, raised by the cases of load_mnist",
    "runtime.PROFILES": "a constant",
    "runtime.describe_devices": "takes no arguments",
    "runtime.RUN_CARD_MIME": "a constant",
    "models.CNN_RECIPE": "a constant",
    "models.MLP_RECIPE": "a constant",
    "models.MLP_FAST_RECIPE": "a constant",
    "metrics.FeatureVariance": "a named tuple that feature_variance returns (its cases)",
    "plots.STYLE": "a constant",
    "callbacks.LearningRateRecorder": "takes no arguments",
    "distribute.num_replicas": "takes no arguments",
}

CPU = {"type": "CPU", "name": "cpu", "compute_capability": None}
IMAGES = np.zeros((4, 784), np.float32)
LABELS = np.arange(4)


def _run(profile="smoke"):
    return runtime.Run(runtime.PROFILES[profile], 0, [CPU], "float32", False, {})


_MODEL = []


def _model():
    """A tiny model (4 weight arrays), built once, for the callbacks' cases."""
    if not _MODEL:
        inputs = keras.Input((4,))
        _MODEL.append(keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(3)(inputs))))
    return _MODEL[0]


_VAL = (np.zeros((4, 4)), np.zeros(4))


def _OK(y_true, y_pred):
    return 0.0


_EXP = []


def _exp():
    """A two-variant, two-seed experiment (metric "m"), made once, for the cases below."""
    if not _EXP:
        _EXP.append(experiments.Experiment([experiments.Trial(v, s, {"m": float(s)}) for s in (0, 1) for v in ("a", "b")]))
    return _EXP[0]


def _npz(tmp, **arrays):
    path = pathlib.Path(tmp) / "broken.npz"
    np.savez(path, **arrays)
    return path


def _bytes(tmp, content):
    path = pathlib.Path(tmp) / "broken.npz"
    path.write_bytes(content)
    return path


# ── kinds of argument: bad values and the message each must raise ─────────────────────────────


@dataclasses.dataclass(frozen=True)
class Bad:
    """A bad value and its exact message, a template of ``name``, ``value`` and ``type`` (the
    value's type name). ``value`` may be a function of nothing, for objects made per test."""

    label: str
    value: object
    message: str
    error: type = ValueError

    def make(self):
        return self.value() if callable(self.value) and not isinstance(self.value, type) else self.value


def _must(expected, received="{name}={value!r}"):
    return "`{name}` must be " + expected.replace("{", "{{").replace("}", "}}") + ". Received: " + received


def INT(minimum):
    """``_checks.integer(value, name, minimum)``."""
    m = _must(f"an integer >= {minimum}")
    return (Bad(f"{minimum - 1}", minimum - 1, m), Bad("a float", 2.5, m), Bad("a bool", True, m), Bad("a string", "1", m))


INT_MIN_0, INT_MIN_1, INT_MIN_2 = INT(0), INT(1), INT(2)
BOOL = tuple(Bad(label, v, _must("True or False")) for label, v in (("a string", "yes"), ("an int", 1), ("None", None)))
VERBOSE = tuple(Bad(label, v, _must("0 or 1")) for label, v in (("2", 2), ("a bool", True), ("a float", 1.0)))
LOG_NAME = tuple(
    Bad(label, v, _must("a non-empty string without surrounding spaces, used as the key in `logs` and `history`"))
    for label, v in (("empty", ""), ("with spaces", " e "), ("a number", 3))
)
FINITE_POSITIVE = tuple(
    Bad(label, v, _must("a finite positive number"))
    for label, v in (("zero", 0.0), ("negative", -1), ("inf", math.inf), ("nan", math.nan), ("a string", "1e-3"))
)
POSITIVE = tuple(Bad(label, v, _must("a positive number")) for label, v in (("zero", 0), ("negative", -0.1), ("a string", "1"), ("a bool", True)))
AXIS = tuple(
    Bad(label, v, _must("a non-zero integer (a feature axis; 0 is the batch axis)"))
    for label, v in (("the batch axis", 0), ("a float", 1.5), ("a bool", True))
)
WEIGHTS_PATH = tuple(
    Bad(label, v, _must("a path ending in '.weights.h5' (Keras's weights format)"))
    for label, v in (("a .keras file", "best.keras"), ("a .h5 file", "best.h5"), ("a number", 3))
)
MODEL = tuple(Bad(label, v, _must("a keras.Model", "{name}={value!r:.80} of type {type}")) for label, v in (("a string", "net"), ("None", None)))
BUILT_MODEL = MODEL + (
    Bad("unbuilt", lambda: keras.Sequential([keras.layers.Dense(2)], name="unbuilt"),
        _must("a built keras.Model (call it on data, or give it an Input)", "{name}='unbuilt', not built")),
)
PATH = tuple(
    Bad(label, v, _must("a str or os.PathLike pointing to an .npz file or a folder", "{name}={value!r} of type {type}"), TypeError)
    for label, v in (("an int", 42), ("a float", 3.5))
)


def INTERVAL(low, high, *, low_open=False, high_open=False):
    """``_checks.number(value, name, low, high, ...)``: values just outside, and a string."""
    m = _must(f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}")
    bad = [Bad("at the open low end" if low_open else "below", low if low_open else low - 0.1, m)]
    if math.isfinite(high):
        bad.append(Bad("at the open high end" if high_open else "above", high if high_open else high + 0.5, m))
    return tuple(bad) + (Bad("a string", "0.5", m),)


def ONE_OF(*choices):
    m = _must(f"one of {sorted(choices, key=repr)}")
    return (Bad("unknown", "unknown", m), Bad("None", None, m))


def FUNCTION(expected):
    return tuple(Bad(label, v, _must(expected)) for label, v in (("a string", "f1"), ("a list", [0.1, 0.2])))


def INSTANCE(expected):
    return tuple(Bad(label, v, _must(expected, "{name}={value!r:.80} of type {type}")) for label, v in (("a float", 0.1), ("None", None)))


def POSITIVE_INTS(count=None):
    expected = "two positive integers" if count == 2 else "a non-empty sequence of positive integers"
    values = [("empty", ()), ("a zero", (8, 0)), ("an int", 32), ("a bool", (True, 8))]
    if count == 2:
        values.append(("one number", (8,)))
    return tuple(Bad(label, v, _must(expected)) for label, v in values)


def CLASS_LABELS(num_classes=None):
    """``_checks.labels`` on three labels (the good companion arguments hold three samples)."""
    bound = "inf" if num_classes is None else num_classes
    out = [("a fraction", [0, 1.5, 1], "1.5"), ("negative", [0, -1, 1], "-1"), ("nan", [0, math.nan, 1], "nan")]
    if num_classes is not None:
        out.append(("too large", [0, num_classes, 1], str(num_classes)))
    return tuple(
        Bad(label, v, _must(f"class indices, integers in [0, {bound})", "{name}[1]=" + shown + " (1 of 3 out of range)"))
        for label, v, shown in out
    )


# ── each public name's arguments, described once ──────────────────────────────────────────────


@dataclasses.dataclass(frozen=True)
class Sig:
    """A public name, a call with good arguments (``call(tmp, **bad)`` overrides one of them),
    and each checked argument's kind. ``via`` names a method, for the test's id."""

    name: str
    call: Callable
    args: dict
    via: str = ""


def _with(defaults, function):
    return lambda t, **kw: function(**{**defaults, **kw})


SIGS = [
    Sig("data.load_mnist", lambda t, **kw: data.load_mnist(**kw), {"path": PATH}),
    Sig("data.locate_mnist", lambda t, **kw: data.locate_mnist(**kw), {"path": PATH}),
    Sig("data.take", _with({"x": IMAGES, "y": LABELS, "n": 2}, data.take), {"n": INT_MIN_1, "seed": INT_MIN_0}),
    Sig("data.train_val_split", _with({"x": IMAGES, "y": LABELS, "val_size": 1}, data.train_val_split), {"seed": INT_MIN_0}),
    Sig("data.mnist_splits", _with({}, data.mnist_splits), {
        "layout": ONE_OF("flat", "image"), "train_size": INT_MIN_1, "test_size": INT_MIN_1,
        "val_size": INT_MIN_0, "seed": INT_MIN_0}),
    Sig("data.make_dataset", _with({"x": IMAGES, "y": LABELS}, data.make_dataset), {"batch_size": INT_MIN_1, "seed": INT_MIN_0}),
    Sig("runtime.setup", _with({"profile": "smoke", "verbose": False}, runtime.setup), {"seed": INT_MIN_0}),
    Sig("runtime.Profile", _with({"name": "tiny", "train_size": 10, "val_size": 0, "test_size": None, "description": "x"}, runtime.Profile),
        {"train_size": INT_MIN_1, "val_size": INT_MIN_0, "test_size": INT_MIN_1}),
    Sig("models.mlp", _with({}, models.mlp), {"hidden": POSITIVE_INTS(), "dropout": INTERVAL(0, 1, high_open=True), "num_classes": INT_MIN_1}),
    Sig("models.cnn", _with({}, models.cnn), {"filters": POSITIVE_INTS(2), "dense": INT_MIN_1, "num_classes": INT_MIN_1, "batch_norm": BOOL}),
    Sig("models.Recipe", _with({}, models.Recipe), {
        "batch_size": INT_MIN_1, "epochs": INT_MIN_1, "peak_lr": POSITIVE,
        "schedule": ONE_OF("constant", "one_cycle"), "warmup_fraction": INTERVAL(0, 1, high_open=True)}),
    Sig("models.Recipe", _with({"train_size": 1000}, lambda **kw: models.CNN_RECIPE.compile(kw.pop("model", _model()), **kw)),
        {"model": MODEL}, via="compile"),
    Sig("models.Recipe", _with({}, models.CNN_RECIPE.steps_per_epoch), {"train_size": INT_MIN_1}, via="steps_per_epoch"),
    Sig("models.Recipe", _with({"train_size": 1000}, models.CNN_RECIPE.learning_rate), {"epochs": INT_MIN_1}, via="learning_rate"),
    Sig("schedules.one_cycle", _with({"peak_lr": 0.1, "total_steps": 10}, schedules.one_cycle), {
        "peak_lr": POSITIVE, "total_steps": INT_MIN_1,
        "warmup_fraction": INTERVAL(0, 1, high_open=True), "start_factor": INTERVAL(0, 1, low_open=True)}),
    Sig("schedules.LinearWarmup", _with({"peak_learning_rate": 1e-3, "warmup_steps": 10}, LinearWarmup),
        {"peak_learning_rate": FINITE_POSITIVE, "warmup_steps": INT_MIN_1}),
    Sig("weights.save_weights_atomically", lambda t, **kw: save_weights_atomically(**{"model": _model(), "filepath": t / "a.weights.h5", **kw}),
        {"model": MODEL, "filepath": WEIGHTS_PATH}),
    Sig("weights.swapped_weights", lambda t, **kw: swapped_weights(**{"model": _model(), "weights": _model().get_weights(), **kw}).__enter__(),
        {"model": BUILT_MODEL}),
    Sig("callbacks.EvaluateAndKeepBest", _with({"validation_data": _VAL, "metric": _OK, "name": "v"}, EvaluateAndKeepBest), {
        "metric": FUNCTION("a function metric(y_true, y_pred) -> float"), "name": LOG_NAME, "mode": ONE_OF("max", "min"),
        "filepath": WEIGHTS_PATH, "min_delta": INTERVAL(0, math.inf), "restore_best_weights": BOOL,
        "batch_size": INT_MIN_1, "verbose": VERBOSE}),
    Sig("callbacks.LinearWarmupCallback",
        lambda t, **kw: LinearWarmupCallback(**{"peak_learning_rate": 1e-3, "warmup_steps": None if "warmup_epochs" in kw else 10, **kw}),
        {"peak_learning_rate": FINITE_POSITIVE, "warmup_steps": INT_MIN_1, "warmup_epochs": FINITE_POSITIVE, "verbose": VERBOSE}),
    Sig("callbacks.VariableScheduler", lambda t, **kw: VariableScheduler(**{"variable": keras.Variable(0.1), "schedule": _OK, **kw}), {
        "variable": INSTANCE("a keras.Variable, e.g. keras.Variable(0.1, trainable=False)"),
        "schedule": FUNCTION("a function of the epoch or step index"), "per": ONE_OF("epoch", "step"),
        "name": LOG_NAME, "verbose": VERBOSE}),
    Sig("layers.ScaledL2Normalization", _with({}, ScaledL2Normalization), {"axis": AXIS, "epsilon": POSITIVE, "trainable_scale": BOOL}),
    Sig("layers.SplitVector", _with({}, SplitVector), {"axis": AXIS}),
    Sig("losses.CenterLoss", _with({"num_classes": 3}, kcl.CenterLoss), {
        "num_classes": INT_MIN_1, "lamb": INTERVAL(0, math.inf, high_open=True), "alpha": INTERVAL(0, 1, low_open=True)}),
    Sig("metrics.confusion_matrix", _with({"y_true": [0, 1, 1], "y_pred": [0, 1, 0]}, metrics.confusion_matrix),
        {"y_true": CLASS_LABELS(10), "y_pred": CLASS_LABELS(10), "num_classes": INT_MIN_2}),
    Sig("metrics.class_means", _with({"features": np.eye(3), "labels": [0, 1, 2]}, metrics.class_means), {"labels": CLASS_LABELS(), "num_classes": INT_MIN_1}),
    Sig("metrics.feature_variance", _with({"features": np.eye(3), "labels": [0, 1, 2]}, metrics.feature_variance), {"labels": CLASS_LABELS()}),
    Sig("bench.forward_flops", _with({}, bench.forward_flops), {"model": BUILT_MODEL}),
    Sig("bench.training_flops", _with({"model": _model(), "samples": 10}, bench.training_flops), {
        "model": BUILT_MODEL, "samples": INT_MIN_1, "backward_factor": INTERVAL(0, math.inf, high_open=True)}),
    Sig("bench.matmul_rate", _with({"size": 64, "repeats": 1}, bench.matmul_rate), {"size": INT(16), "repeats": INT_MIN_1}),
    Sig("bench.EpochClock", _with({"x_eval": np.zeros((4, 4)), "y_eval": np.zeros(4)}, bench.EpochClock), {
        "target": INTERVAL(0, 1, low_open=True), "stop_at_target": BOOL, "batch_size": INT_MIN_1}),
    Sig("plots.digit_grid", _with({"images": IMAGES}, plots.digit_grid), {"ncols": INT_MIN_1, "max_images": INT_MIN_1}),
    Sig("distribute.simulate_devices", _with({}, distribute.simulate_devices), {"count": INT_MIN_1}),
    Sig("distribute.sync_batch_norm", _with({}, distribute.sync_batch_norm), {"model": MODEL}),
]


def _generated():
    for sig in SIGS:
        for arg, kind in sig.args.items():
            for bad in kind:
                via = f".{sig.via}" if sig.via else ""
                yield pytest.param(sig, arg, bad, id=f"{sig.name}{via}: {arg}={bad.label}")


# ── hand-written cases: messages of one argument's own ─────────────────────────────────────────

# (public name, case, call taking a tmp folder, exception, regex the message must match)
ROWS = [
    # data.load_mnist / locate_mnist
    ("data.load_mnist", "path does not exist", lambda t: data.load_mnist(pathlib.Path(t) / "none.npz"), data.MnistNotFoundError, r"No MNIST archive at the requested place \(path argument: .*none\.npz\)"),
    ("data.load_mnist", "file is not a zip archive", lambda t: data.load_mnist(_bytes(t, b"hello")), data.MnistIntegrityError, r"broken\.npz could not be read as an \.npz archive .* corrupted or truncated"),
    ("data.load_mnist", "archive lacks arrays", lambda t: data.load_mnist(_npz(t, x_train=np.zeros(1))), data.MnistIntegrityError, r"not an MNIST archive: arrays \['x_test', 'y_test', 'y_train'\] are missing"),
    ("data.load_mnist", "archive needs unpickling", lambda t: data.load_mnist(_npz(t, **{k: np.array([None]) for k in data.MNIST_SHA256})), data.MnistIntegrityError, r"could not be read .*Object arrays cannot be loaded when allow_pickle=False"),
    ("data.load_mnist", "arrays of the wrong shape", lambda t: data.load_mnist(_npz(t, **{k: np.zeros(3, np.uint8) for k in data.MNIST_SHA256})), data.MnistIntegrityError, r"array 'x_train' does not match the real MNIST \(shape \(3,\), dtype uint8; expected shape \(60000, 28, 28\)"),
    ("data.array_sha256", "object array", lambda t: data.array_sha256([None, {}]), TypeError, r"`array` must be an array of numbers .* Received: array of dtype object, shape \(2,\)"),
    # data shapes
    ("data.to_float", "float pixels", lambda t: data.to_float(np.zeros(3)), TypeError, r"`x` must be uint8 pixels .* Received: x.dtype=float64"),
    ("data.to_images", "27x27 images", lambda t: data.to_images(np.zeros((2, 27, 27))), ValueError, r"`x` must be a batch of 28x28 images.* Received: x.shape=\(2, 27, 27\)"),
    ("data.to_images", "one flat image without batch axis", lambda t: data.to_images(np.zeros(784)), ValueError, r"`x` must be a non-empty batch of images.* Received: x.shape=\(784,\)"),
    ("data.to_flat", "empty batch", lambda t: data.to_flat(np.zeros((0, 784))), ValueError, r"non-empty batch .* Received: x.shape=\(0, 784\)"),
    ("data.to_flat", "785 features", lambda t: data.to_flat(np.zeros((2, 785))), ValueError, r"Received: x.shape=\(2, 785\)"),
    # data.take / train_val_split / mnist_splits / make_dataset
    ("data.take", "x and y lengths differ", lambda t: data.take(IMAGES, LABELS[:3], 2), ValueError, r"`y` must be an array with one row per sample of `x` \(the same number of samples\). Received: x.shape=\(4, 784\), y.shape=\(3,\)"),
    ("data.train_val_split", "val_size = 0", lambda t: data.train_val_split(IMAGES, LABELS, 0), ValueError, r"`val_size` must be an integer >= 1. Received: val_size=0"),
    ("data.train_val_split", "fraction above 1", lambda t: data.train_val_split(IMAGES, LABELS, 1.5), ValueError, r"`val_size` must be a fraction in \(0, 1\) or an integer >= 1. Received: val_size=1.5"),
    ("data.train_val_split", "takes every sample", lambda t: data.train_val_split(IMAGES, LABELS, 4), ValueError, r"`val_size` must be < 4, to leave some training samples. Received: val_size=4"),
    ("data.train_val_split", "val_size a string", lambda t: data.train_val_split(IMAGES, LABELS, "a"), ValueError, r"Received: val_size='a'"),
    ("data.mnist_splits", "profile given by name", lambda t: data.mnist_splits(profile="smoke"), ValueError, r"`profile` must be a runtime.Profile such as run.profile. Received: profile='smoke'"),
    ("data.make_dataset", "batch_size None", lambda t: data.make_dataset(IMAGES, LABELS, batch_size=None), ValueError, r"Received: batch_size=None"),
    ("data.make_dataset", "x and y lengths differ", lambda t: data.make_dataset(IMAGES, LABELS[:2]), ValueError, r"Received: x.shape=\(4, 784\), y.shape=\(2,\)"),
    ("data.Splits", "missing arrays", lambda t: data.Splits(IMAGES, LABELS), TypeError, r"missing 4 required positional arguments: 'x_val', 'y_val', 'x_test', and 'y_test'"),
    # runtime
    ("runtime.resolve_profile", "unknown profile", lambda t: runtime.resolve_profile("fast", {}, False), ValueError, r"`profile` must be one of \['cpu', 'full', 'smoke'\]. Received: profile='fast'"),
    ("runtime.resolve_profile", "unknown KERASCOOL_PROFILE", lambda t: runtime.resolve_profile(None, {"KERASCOOL_PROFILE": "gpu"}, False), ValueError, r"`KERASCOOL_PROFILE` must be one of \['cpu', 'full', 'smoke'\]. Received: KERASCOOL_PROFILE='gpu'"),
    ("runtime.resolve_profile", "profile not a string", lambda t: runtime.resolve_profile(3, {}, False), ValueError, r"`profile` must be one of .* or None. Received: profile=3"),
    ("runtime.resolve_profile", "env not a mapping", lambda t: runtime.resolve_profile(None, ["smoke"], False), ValueError, r"`env` must be a mapping such as os.environ. Received: env=\['smoke'\]"),
    ("runtime.choose_precision", "devices a string", lambda t: runtime.choose_precision("GPU"), ValueError, r"`devices` must be a list of dicts as describe_devices\(\) returns. Received: 'GPU'"),
    ("runtime.choose_precision", "unknown device type", lambda t: runtime.choose_precision([{"type": "NPU"}]), ValueError, r"'type' in \('CPU', 'GPU', 'TPU'\). Received: \{'type': 'NPU'\}"),
    ("runtime.choose_precision", "entry not a dict", lambda t: runtime.choose_precision([None]), ValueError, r"`devices` entries must be dicts .* Received: None"),
    ("runtime.choose_jit_compile", "devices a string", lambda t: runtime.choose_jit_compile("CPU"), ValueError, r"`devices` must be a list of dicts"),
    ("runtime.choose_jit_compile", "unknown device type", lambda t: runtime.choose_jit_compile([{"type": "QPU"}]), ValueError, r"Received: \{'type': 'QPU'\}"),
    ("runtime.choose_jit_compile", "unknown backend", lambda t: runtime.choose_jit_compile([], "numpy"), ValueError, r"`backend` must be one of"),
    ("runtime.setup", "unknown profile", lambda t: runtime.setup("tiny", verbose=False), ValueError, r"`profile` must be one of \['cpu', 'full', 'smoke'\]. Received: profile='tiny'"),
    ("runtime.setup", "unknown precision", lambda t: runtime.setup("smoke", precision="float8", verbose=False), ValueError, r"`precision` must be a Keras dtype policy .* Received: precision='float8'"),
    ("runtime.Profile", "empty name", lambda t: runtime.Profile("", None, 0, None, "x"), ValueError, r"`name` must be a non-empty string. Received: name=''"),
    ("runtime.Run", "pick misses a profile", lambda t: _run().pick(smoke=1, cpu=2), ValueError, r"Run.pick\(\) needs one value for each of \['cpu', 'full', 'smoke'\]. Received: \['cpu', 'smoke'\] \(missing \['full'\], unknown \[\]\)"),
    ("runtime.Run", "pick has an unknown profile", lambda t: _run().pick(smoke=1, cpu=2, full=3, gpu=4), ValueError, r"unknown \['gpu'\]"),
    ("runtime.Run", "finish without a metric", lambda t: _run().finish(), ValueError, r"Run.finish\(\) needs the headline metric"),
    ("runtime.Run", "finish with a non-number", lambda t: _run().finish(acc="high"), ValueError, r"Run.finish\(\) metrics must be numbers. Received: acc='high'"),
    ("runtime.Run", "finish with a bool", lambda t: _run().finish(acc=True), ValueError, r"Received: acc=True"),
    ("runtime.Run", "path is empty", lambda t: _run().path(""), ValueError, r"`name` must be a relative file name inside the run folder. Received: name=''"),
    ("runtime.Run", "path is absolute", lambda t: _run().path("/etc/passwd"), ValueError, r"Received: name='/etc/passwd'"),
    ("runtime.Run", "path escapes the folder", lambda t: _run().path("../x.txt"), ValueError, r"Received: name='../x.txt'"),
    ("runtime.Run", "path not a string", lambda t: _run().path(3), ValueError, r"Received: name=3"),
    # models
    # plots
    ("plots.plot_history", "empty dict", lambda t: plots.plot_history({}), ValueError, r"`histories` must be a History, a dict of per-epoch lists, or a non-empty dict of them. Received: \{\}"),
    ("plots.plot_history", "metric not recorded", lambda t: plots.plot_history({"loss": [1.0]}, metrics=["auc"]), ValueError, r"`metrics` \['auc'\] not found in the history of run '' ?; it has \['loss'\]"),
    ("plots.plot_history", "a run that is not a history", lambda t: plots.plot_history({"run": 3}), ValueError, r"`histories\['run'\]` must be a keras History or a dict of per-epoch lists. Received: int"),
    ("plots.digit_grid", "27x27 images", lambda t: plots.digit_grid(np.zeros((3, 27, 27))), ValueError, r"`images` must be a non-empty batch of 28x28 digits.* Received: images.shape=\(3, 27, 27\)"),
    ("plots.digit_grid", "no images", lambda t: plots.digit_grid(np.zeros((0, 784))), ValueError, r"Received: images.shape=\(0, 784\)"),
    ("plots.digit_grid", "too few labels", lambda t: plots.digit_grid(IMAGES, labels=[1]), ValueError, r"`labels` must have one label per image. Received: labels.shape=\(1,\) for 4 images"),
    ("plots.digit_grid", "too few predictions", lambda t: plots.digit_grid(IMAGES, predictions=[1, 2]), ValueError, r"`predictions` must have one entry per image. Received: predictions.shape=\(2,\) for 4 images"),
    ("metrics.confusion_matrix", "lengths differ", lambda t: metrics.confusion_matrix([0, 1], [0]), ValueError, r"Received: y_true.shape=\(2,\), y_pred.shape=\(1,\)"),
    ("plots.plot_confusion_matrix", "lengths differ", lambda t: plots.plot_confusion_matrix([0, 1, 2], [0]), ValueError, r"Received: y_true.shape=\(3,\), y_pred.shape=\(1,\)"),
    # source
    ("source.show_source", "not a function", lambda t: show_source(3), ValueError, r"`obj` must be a Python function, class or method defined in a source file. Received: 3 \(int\)"),
    ("source.show_source", "a built-in", lambda t: show_source(len), ValueError, r"Received: <built-in function len> \(builtin_function_or_method\)"),
    # widgets
    ("widgets.stepper", "no panels", lambda t: widgets.stepper([], []), ValueError, r"`panels` must be a non-empty sequence\. Received: panels=\[\]"),
    ("widgets.stepper", "panels a string", lambda t: widgets.stepper("<b>x</b>", ["x"]), ValueError, r"`panels` must be a non-empty sequence\. Received: panels='<b>x</b>'"),
    ("widgets.stepper", "labels a string", lambda t: widgets.stepper(["a", "b"], "ab"), ValueError, r"`labels` must be a sequence of strings\. Received: labels='ab'"),
    ("widgets.stepper", "too few labels", lambda t: widgets.stepper(["a", "b"], ["a"]), ValueError, r"`labels` must have one label per panel\. Received: 1 labels for 2 panels"),
    ("widgets.stepper", "repeated labels", lambda t: widgets.stepper(["a", "b"], ["a", "a"]), ValueError, r"`labels` must be distinct, non-empty strings\. Received: labels=\['a', 'a'\]"),
    ("widgets.stepper", "a label not a string", lambda t: widgets.stepper(["a", "b"], ["a", 2]), ValueError, r"Received: labels=\['a', 2\]"),
    ("widgets.stepper", "an empty label", lambda t: widgets.stepper(["a"], [""]), ValueError, r"Received: labels=\[''\]"),
    ("widgets.stepper", "description not a string", lambda t: widgets.stepper(["a"], ["a"], description=3), ValueError, r"`description` must be a string\. Received: description=3"),
    ("widgets.stepper", "bytes that are not PNG", lambda t: widgets.stepper([b"GIF89a..."], ["a"]), ValueError, r"`panels\[0\]` must be PNG bytes when it is bytes\. Received: 9 bytes starting with b'GIF89a\.\.'"),
    ("widgets.stepper", "an array as a panel", lambda t: widgets.stepper(["a", np.zeros(3)], ["a", "b"]), ValueError, r"`panels\[1\]` must be a matplotlib Figure, PNG bytes, an HTML string or an ipywidget\. Received: ndarray"),
    # callbacks
    ("weights.swapped_weights", "weights of the wrong shapes", lambda t: swapped_weights(_model(), [np.zeros(3)]).__enter__(), ValueError, r"`weights` must be a list of arrays with the shapes of model.get_weights\(\), 4 arrays. Received: 1 arrays of shapes \[\(3,\)\]"),
    ("weights.swapped_weights", "weights file missing", lambda t: swapped_weights(_model(), t / "none.weights.h5").__enter__(), ValueError, r"`weights` must be an existing weights file. Received: weights=.*none\.weights\.h5"),
    ("weights.swapped_weights", "weights is a number", lambda t: swapped_weights(_model(), 1.5).__enter__(), ValueError, r"`weights` must be a list of arrays .* Received: weights=1.5"),
    ("callbacks.EvaluateAndKeepBest", "validation_data is one array", lambda t: EvaluateAndKeepBest(np.zeros((4, 4)), _OK, "v"), ValueError, r"`validation_data` must be a tuple \(x_val, y_val\) of arrays \(or of lists, tuples or dicts of arrays, as `fit` takes them\), a tf.data.Dataset or a keras.utils.PyDataset of \(x, y\) batches. Received: validation_data of type ndarray"),
    ("callbacks.EvaluateAndKeepBest", "validation_data with three items", lambda t: EvaluateAndKeepBest((1, 2, 3), _OK, "v"), ValueError, r"Received: validation_data of type tuple with 3 items"),
    ("callbacks.EvaluateAndKeepBest", "validation_data of unequal lengths", lambda t: EvaluateAndKeepBest((np.zeros((4, 2)), np.zeros(3)), _OK, "v"), ValueError, r"must be arrays, .* one common, non-zero number of samples. Received: x_val.shape=\(4, 2\), y_val.shape=\(3,\)"),
    ("callbacks.EvaluateAndKeepBest", "two inputs of different lengths", lambda t: EvaluateAndKeepBest(([np.zeros((56, 4)), np.zeros((50, 1))], np.zeros(56)), _OK, "v"), ValueError, r"Received: x_val\[0\].shape=\(56, 4\), x_val\[1\].shape=\(50, 1\), y_val.shape=\(56,\)"),
    ("callbacks.EvaluateAndKeepBest", "a dict of targets with a short one", lambda t: EvaluateAndKeepBest((np.zeros((8, 4)), {"cls": np.zeros(8), "aux": np.zeros((7, 1))}), _OK, "v"), ValueError, r"Received: x_val.shape=\(8, 4\), y_val\['aux'\].shape=\(7, 1\), y_val\['cls'\].shape=\(8,\)"),
    ("callbacks.EvaluateAndKeepBest", "an infinite dataset", lambda t: EvaluateAndKeepBest(__import__("tensorflow").data.Dataset.from_tensors((np.zeros((2, 4)), np.zeros(2))).repeat(), _OK, "v"), ValueError, r"`validation_data` must be a finite dataset \(every epoch predicts all of it\). Received: validation_data, an infinite"),
    ("runtime.read_run_card", "not a notebook", lambda t: runtime.read_run_card([1, 2]), ValueError, r"`nb` must be a notebook: a dict with a list of 'cells'. Received: list"),
    ("runtime.read_run_card", "no run card", lambda t: runtime.read_run_card({"cells": []}), ValueError, r"no run card start record \(kc.setup\)"),
    ("schedules.join_schedules", "one schedule", lambda t: schedules.join_schedules([LinearWarmup(1e-3, 2)], []), ValueError, r"`schedules` must be a list of at least two schedules"),
    ("schedules.join_schedules", "boundaries not increasing", lambda t: schedules.join_schedules([0.1, 0.2, 0.3], [5, 5]), ValueError, r"`boundaries` must be strictly increasing. Received: boundaries=\[5, 5\]"),
    ("schedules.JoinedSchedule", "one boundary too many", lambda t: schedules.JoinedSchedule([0.1, 0.2], [1, 2]), ValueError, r"`boundaries` must be a list of 1 step\(s\), one fewer than the schedules"),
    ("callbacks.LinearWarmupCallback", "both lengths given", lambda t: LinearWarmupCallback(1e-3, 10, warmup_epochs=1), ValueError, r"Pass exactly one of `warmup_steps` and `warmup_epochs`. Received: warmup_steps=10, warmup_epochs=1"),
    ("callbacks.LinearWarmupCallback", "no length given", lambda t: LinearWarmupCallback(1e-3), ValueError, r"Received: warmup_steps=None, warmup_epochs=None"),
    # layers
    ("layers.ScaledL2Normalization", "axis beyond the rank", lambda t: ScaledL2Normalization(axis=3)(keras.Input((4,))), ValueError, r"got `axis=3` for inputs of rank 2: the axis must be a feature axis in \[-1, 1\]"),
    ("layers.ScaledL2Normalization", "initializer None", lambda t: ScaledL2Normalization(scale_initializer=None), ValueError, r"`scale_initializer` must be a Keras initializer, its name or its config. Received: scale_initializer=None"),
    ("layers.ScaledL2Normalization", "initializer unknown", lambda t: ScaledL2Normalization(scale_initializer="nope"), ValueError, r"Received: scale_initializer='nope'"),
    ("layers.ScaledL2Normalization", "regularizer unknown", lambda t: ScaledL2Normalization(scale_regularizer="nope"), ValueError, r"`scale_regularizer` must be a Keras regularizer, its name or its config. Received: scale_regularizer='nope'"),
    ("layers.ScaledL2Normalization", "constraint a number", lambda t: ScaledL2Normalization(scale_constraint=3), ValueError, r"`scale_constraint` must be a Keras constraint, its name or its config. Received: scale_constraint=3"),
    ("layers.SplitVector", "width 1", lambda t: SplitVector()(keras.Input((1,))), ValueError, r"needs a known width of at least 2 on axis -1 to cut it in two. Received: input shape \(None, 1\)"),
    ("layers.SplitVector", "unknown width", lambda t: SplitVector()(keras.Input((None,))), ValueError, r"Received: input shape \(None, None\)"),
    # losses
    ("losses.CenterLoss", "initializer unknown", lambda t: kcl.CenterLoss(3, centers_initializer="nope"), ValueError, r"`centers_initializer` must be a Keras initializer or its name. Received: centers_initializer='nope'"),
    ("losses.CenterLoss", "called on one tensor", lambda t: kcl.CenterLoss(3)(keras.Input((2,))), ValueError, r"must be called on a list \[features, labels\]"),
    ("losses.CenterLoss", "features of rank 3", lambda t: kcl.CenterLoss(3)([keras.Input((2, 2)), keras.Input(())]), ValueError, r"expects features of shape \(batch, dim\) with a known dim. Received: features shape=\(None, 2, 2\)"),
    ("losses.CenterLoss", "labels of width 3", lambda t: kcl.CenterLoss(3)([keras.Input((2,)), keras.Input((3,))]), ValueError, r"expects labels of shape \(batch,\) or \(batch, 1\), class indices. Received: labels shape=\(None, 3\)"),
    ("metrics.feature_variance", "features 1-D", lambda t: metrics.feature_variance(np.zeros(5), np.zeros(5)), ValueError, r"`features` must be a non-empty 2-D array"),
    ("metrics.feature_variance", "labels too short", lambda t: metrics.feature_variance(np.ones((12, 2)), np.zeros(5)), ValueError, r"`labels` must be of shape \(12,\) or \(12, 1\), one class index per row of `features`. Received: labels of shape \(5,\)"),
    ("metrics.feature_variance", "all features equal", lambda t: metrics.feature_variance(np.ones((4, 2)), [0, 0, 1, 1]), ValueError, r"`features` must be rows that are not all equal \(a total variance of 0 leaves the ratio undefined\)"),
    ("metrics.class_means", "num_classes too small", lambda t: metrics.class_means(np.eye(3), [0, 1, 2], num_classes=2), ValueError, r"`num_classes` must be greater than every label. Received: num_classes=2 with a label 2"),
    # bench
    ("bench.EpochClock", "too few labels", lambda t: bench.EpochClock(np.zeros((4, 4)), np.zeros(2)), ValueError, r"`y_eval` must be one label per input \(4\). Received: x_eval.shape=\(4, 4\), y_eval.shape=\(2,\)"),
    ("bench.EpochClock", "no inputs", lambda t: bench.EpochClock(np.zeros((0, 4)), np.zeros(0)), ValueError, r"`x_eval` must be a non-empty batch of inputs.* Received: x_eval.shape=\(0, 4\)"),
    ("bench.EpochClock", "stop without a target", lambda t: bench.EpochClock(np.zeros((4, 4)), np.zeros(4), stop_at_target=True), ValueError, r"`target` must be a number when stop_at_target=True. Received: target=None"),
    # experiments, and the plots of several runs
    ("experiments.run_variants", "variants empty", lambda t: experiments.run_variants({}, [0]), ValueError, r"`variants` must be a non-empty dict \{name: fn\}, fn\(seed\) returning a dict\. Received: variants=\{\}"),
    ("experiments.run_variants", "variants a list", lambda t: experiments.run_variants([lambda s: {}], [0]), ValueError, r"`variants` must be a non-empty dict .* Received: variants=\[<function"),
    ("experiments.run_variants", "a variant not callable", lambda t: experiments.run_variants({"a": 3}, [0]), ValueError, r"`variants\['a'\]` must be a function fn\(seed\) returning a dict\. Received: variants\['a'\]=3"),
    ("experiments.run_variants", "a name not a string", lambda t: experiments.run_variants({1: lambda s: {}}, [0]), ValueError, r"`variants` must be a dict whose keys are non-empty strings\. Received: key 1"),
    ("experiments.run_variants", "seeds empty", lambda t: experiments.run_variants({"a": lambda s: {}}, []), ValueError, r"`seeds` must be a non-empty list of distinct integers in \[0, 2\*\*32\)\. Received: seeds=\[\]"),
    ("experiments.run_variants", "a negative seed", lambda t: experiments.run_variants({"a": lambda s: {}}, [0, -1]), ValueError, r"`seeds` must be .* Received: seeds=\[0, -1\]"),
    ("experiments.run_variants", "a repeated seed", lambda t: experiments.run_variants({"a": lambda s: {}}, [1, 1]), ValueError, r"Received: seeds=\[1, 1\]"),
    ("experiments.run_variants", "a float seed", lambda t: experiments.run_variants({"a": lambda s: {}}, [0.5]), ValueError, r"Received: seeds=\[0\.5\]"),
    ("experiments.run_variants", "seeds an int", lambda t: experiments.run_variants({"a": lambda s: {}}, 3), ValueError, r"Received: seeds=3"),
    ("experiments.run_variants", "verbose = 2", lambda t: experiments.run_variants({"a": lambda s: {}}, [0], verbose=2), ValueError, r"`verbose` must be 0 or 1\. Received: verbose=2"),
    ("experiments.run_variants", "a variant returns a float", lambda t: experiments.run_variants({"a": lambda s: 0.5}, [3], verbose=0), ValueError, r"`variants\['a'\]\(3\)` must be a dict of metrics, 'history' and extras\. Received: float from variant 'a' at seed 3: 0\.5"),
    ("experiments.run_variants", "history not a history", lambda t: experiments.run_variants({"a": lambda s: {"history": 3}}, [4], verbose=0), ValueError, r"`variants\['a'\]\(4\)\['history'\]` must be a keras History or a dict of per-epoch lists\. Received: .* of type int"),
    ("experiments.run_variants", "history of strings", lambda t: experiments.run_variants({"a": lambda s: {"history": {"loss": ["x"]}}}, [0], verbose=0), ValueError, r"`variants\['a'\]\(0\)\['history'\]\['loss'\]` must be a list of numbers, one per epoch\. Received: .*=\['x'\]"),
    ("experiments.Trial", "empty variant", lambda t: experiments.Trial("", 0), ValueError, r"`variant` must be a non-empty string\. Received: variant=''"),
    ("experiments.Trial", "negative seed", lambda t: experiments.Trial("a", -1), ValueError, r"`seed` must be an integer >= 0\. Received: seed=-1"),
    ("experiments.Trial", "a metric not a number", lambda t: experiments.Trial("a", 0, {"m": "high"}), ValueError, r"`metrics` must be a dict \{name: number\}\. Received: metrics\['m'\]='high'"),
    ("experiments.Trial", "negative seconds", lambda t: experiments.Trial("a", 0, seconds=-1), ValueError, r"`seconds` must be a number >= 0\. Received: seconds=-1"),
    ("experiments.Experiment", "no trials", lambda t: experiments.Experiment([]), ValueError, r"`trials` must be a non-empty list of Trial\. Received: trials=\[\]"),
    ("experiments.Experiment", "a pair missing", lambda t: experiments.Experiment([experiments.Trial("a", 0), experiments.Trial("b", 1)]), ValueError, r"`trials` must be one Trial per \(variant, seed\) pair, every pair present\. Received: 2 trials \(2 distinct pairs\) for 2 variants x 2 seeds"),
    ("experiments.Experiment", "values of an unknown metric", lambda t: _exp().values("acc"), ValueError, r"`metric` must be a metric every trial returned, one of \['m'\]\. Received: metric='acc'"),
    ("experiments.Experiment", "trial of an unknown seed", lambda t: _exp().trial("a", 7), ValueError, r"`seed` must be one of \[0, 1\]\. Received: seed=7"),
    ("experiments.Experiment", "summary of an unknown baseline", lambda t: _exp().summary("m", baseline="z"), ValueError, r"`baseline` must be one of \['a', 'b'\]\. Received: baseline='z'"),
    ("experiments.Experiment", "from_dict of something else", lambda t: experiments.Experiment.from_dict({"trials": []}), ValueError, r"`d` must be a dict made by Experiment\.to_dict\(\) \(format 'kerascool_lib\.experiments/1'\)\. Received: d=\{'trials': \[\]\}"),
    ("experiments.Experiment", "save to a number", lambda t: _exp().save(3), ValueError, r"`path` must be a str or os\.PathLike\. Received: path=3"),
    ("experiments.Experiment", "load a missing file", lambda t: experiments.Experiment.load(pathlib.Path(t) / "none.json"), FileNotFoundError, r"none\.json"),
    ("experiments.Experiment", "stepper panel not callable", lambda t: _exp().stepper("fig"), ValueError, r"`panel` must be a function panel\(trial\) returning a figure, PNG bytes, HTML or a widget\. Received: panel='fig'"),
    ("experiments.Experiment", "stepper labels repeat", lambda t: _exp().stepper(str, label=lambda trial: trial.variant), ValueError, r"`labels` must be distinct, non-empty strings"),
    ("experiments.Summary", "scale = 0", lambda t: experiments.Summary("m", {"a": [1.0]}, scale=0), ValueError, r"`scale` must be a finite positive number\. Received: scale=0"),
    ("experiments.Summary", "higher_is_better = 1", lambda t: experiments.Summary("m", {"a": [1.0]}, higher_is_better=1), ValueError, r"`higher_is_better` must be True or False\. Received: higher_is_better=1"),
    ("experiments.Summary", "digits negative", lambda t: experiments.Summary("m", {"a": [1.0]}, digits=-1), ValueError, r"`digits` must be an integer >= 0\. Received: digits=-1"),
    ("experiments.Summary", "unit None", lambda t: experiments.Summary("m", {"a": [1.0]}, unit=None), ValueError, r"`unit` must be a string\. Received: unit=None"),
    ("experiments.Summary", "lengths differ", lambda t: experiments.Summary("m", {"a": [1.0], "b": [1.0, 2.0]}), ValueError, r"`values` must be one value per seed for every variant\. Received: lengths \[1, 2\]"),
    ("experiments.Summary", "no values", lambda t: experiments.Summary("m", {"a": []}), ValueError, r"`values` must be a dict \{name: 1-D array of numbers\}\. Received: values\['a'\]=\[\]"),
    ("experiments.Summary", "describe without a baseline", lambda t: experiments.Summary("m", {"a": [1.0], "b": [2.0]}).describe("b"), ValueError, r"`baseline` must be a variant \(given to summary\(\)\) for describe\(\) to compare with\. Received: baseline=None"),
    ("experiments.Summary", "describe the baseline", lambda t: experiments.Summary("m", {"a": [1.0], "b": [2.0]}, baseline="a").describe("a"), ValueError, r"`variant` must be one of \['b'\]\. Received: variant='a'"),
    ("plots.subplots", "nrows = 0", lambda t: plots.subplots(0), ValueError, r"`nrows` must be an integer >= 1\. Received: nrows=0"),
    ("plots.subplots", "ncols a float", lambda t: plots.subplots(1, 2.0), ValueError, r"`ncols` must be an integer >= 1\. Received: ncols=2\.0"),
    ("plots.feature_scatter", "3-D features", lambda t: plots.feature_scatter(np.zeros((4, 3)), [0, 1, 2, 3]), ValueError, r"`features` must be a non-empty \(n, 2\) array of numbers\. Received: features of shape \(4, 3\), dtype float64"),
    ("plots.feature_scatter", "negative label", lambda t: plots.feature_scatter(np.zeros((2, 2)), [0, -1]), ValueError, r"`labels` must be class indices, integers in \[0, inf\)\. Received: labels\[1\]=-1"),
    ("plots.feature_scatter", "too few labels", lambda t: plots.feature_scatter(np.zeros((3, 2)), [0, 1]), ValueError, r"`labels` must be one label per point\. Received: 2 labels for 3 points"),
    ("plots.feature_scatter", "centers of shape (10,)", lambda t: plots.feature_scatter(np.zeros((2, 2)), [0, 1], centers=np.zeros(10)), ValueError, r"`centers` must be None or a \(classes, 2\) array of numbers\. Received: centers of shape \(10,\), dtype float64"),
    ("plots.feature_scatter", "max_points = 0", lambda t: plots.feature_scatter(np.zeros((2, 2)), [0, 1], max_points=0), ValueError, r"`max_points` must be an integer >= 1\. Received: max_points=0"),
    ("plots.feature_scatter", "ax not an Axes", lambda t: plots.feature_scatter(np.zeros((2, 2)), [0, 1], ax="left"), ValueError, r"`ax` must be None or a matplotlib Axes\. Received: ax='left'"),
    ("plots.history_panels", "empty dict", lambda t: plots.history_panels({}), ValueError, r"`histories` must be an Experiment or a non-empty dict \{variant: \[history of each seed, \.\.\.\]\}\. Received: histories=\{\}"),
    ("plots.history_panels", "a run that is not a history", lambda t: plots.history_panels({"a": [3]}), ValueError, r"`histories\['a'\]\[0\]` must be a keras History or a dict of per-epoch lists\. Received: histories\['a'\]\[0\] of type int"),
    ("plots.history_panels", "metric not recorded", lambda t: plots.history_panels({"a": [{"loss": [1.0]}]}, metrics=["auc"]), ValueError, r"`metrics` must be keys of every history\. Received: metrics=\['auc'\]; the history of 'a' #0 has no \['auc'\] \(it has \['loss'\]\)"),
    ("plots.history_panels", "metrics empty", lambda t: plots.history_panels({"a": [{"loss": [1.0]}]}, metrics=[]), ValueError, r"`metrics` must be a non-empty list of history keys\. Received: metrics=\[\]"),
    # pairs
    ("pairs.make_pairs", "x and y of different lengths", lambda t: pairs.make_pairs(np.zeros((5, 2)), [0, 1, 0, 1], 4), ValueError, r"`x` must be an array with one sample per label of `y`. Received: x.shape=\(5, 2\), y.shape=\(4,\)"),
    ("pairs.make_pairs", "n zero", lambda t: pairs.make_pairs(np.arange(4), [0, 0, 1, 1], 0), ValueError, r"`n` must be an integer >= 1. Received: n=0"),
    ("pairs.make_pairs", "fraction above 1", lambda t: pairs.make_pairs(np.arange(4), [0, 0, 1, 1], 4, positive_fraction=1.5), ValueError, r"`positive_fraction` must be a number in \[0, 1\]. Received: positive_fraction=1.5"),
    ("pairs.make_pairs", "seed negative", lambda t: pairs.make_pairs(np.arange(4), [0, 0, 1, 1], 4, seed=-1), ValueError, r"`seed` must be an integer >= 0. Received: seed=-1"),
    ("pairs.make_pairs", "labels not class indices", lambda t: pairs.make_pairs(np.arange(4), [0, 0.5, 1, 1], 4), ValueError, r"`y` must be class indices, integers in \[0, inf\). Received: y\[1\]=0.5"),
    ("pairs.make_pairs", "no class twice", lambda t: pairs.make_pairs(np.arange(3), [0, 1, 2], 4), ValueError, r"`y` must be labels with at least one class of two or more samples, to draw same-class pairs. Received: 3 labels, each class once"),
    ("pairs.make_pairs", "one class only", lambda t: pairs.make_pairs(np.arange(3), [1, 1, 1], 4), ValueError, r"`y` must be labels of at least two classes, to draw different-class pairs. Received: every label is 1"),
    ("pairs.ContrastiveLoss", "margin zero", lambda t: pairs.ContrastiveLoss(margin=0), ValueError, r"`margin` must be a finite positive number. Received: margin=0"),
    ("pairs.ContrastiveLoss", "margin infinite", lambda t: pairs.ContrastiveLoss(margin=float("inf")), ValueError, r"`margin` must be a finite positive number. Received: margin=inf"),
    ("pairs.pair_accuracy", "threshold nan", lambda t: pairs.pair_accuracy([0.1], [1], float("nan")), ValueError, r"`threshold` must be a number in \(-inf, inf\). Received: threshold=nan"),
    ("pairs.pair_accuracy", "targets not 0/1", lambda t: pairs.pair_accuracy([0.1, 0.2], [1, 2], 0.5), ValueError, r"`same` must be a 0/1 array with one entry per distance. Received: same of shape \(2,\), dtype int64 for 2 distances"),
    ("pairs.pair_accuracy", "targets too short", lambda t: pairs.pair_accuracy([0.1, 0.2], [1], 0.5), ValueError, r"`same` must be a 0/1 array with one entry per distance. Received: same of shape \(1,\), dtype int64 for 2 distances"),
    ("pairs.best_threshold", "distances not finite", lambda t: pairs.best_threshold([0.1, np.inf], [1, 0]), ValueError, r"`distances` must be a non-empty 1-D array of finite numbers, one per pair. Received: distances of shape \(2,\), dtype float64"),
    ("pairs.best_threshold", "no pairs", lambda t: pairs.best_threshold([], []), ValueError, r"`distances` must be a non-empty 1-D array of finite numbers, one per pair. Received: distances of shape \(0,\), dtype float64"),
    # tied
    ("tied.TiedDense", "units 0", lambda t: tied.TiedDense(0), ValueError, r"`units` must be an integer >= 1\. Received: units=0"),
    ("tied.TiedDense", "units a float", lambda t: tied.TiedDense(2.5), ValueError, r"`units` must be an integer >= 1\. Received: units=2\.5"),
    ("tied.TiedDense", "unknown activation", lambda t: tied.TiedDense(2, activation="nope"), ValueError, r"`activation` must be a Keras activation, its name or its config\. Received: activation='nope'"),
    ("tied.TiedDense", "unknown reverse_activation", lambda t: tied.TiedDense(2, reverse_activation="nope"), ValueError, r"`reverse_activation` must be a Keras activation, its name or its config\. Received: reverse_activation='nope'"),
    ("tied.TiedDense", "use_bias not a bool", lambda t: tied.TiedDense(2, use_bias=1), ValueError, r"`use_bias` must be True or False\. Received: use_bias=1"),
    ("tied.TiedDense", "kernel_initializer None", lambda t: tied.TiedDense(2, kernel_initializer=None), ValueError, r"`kernel_initializer` must be a Keras initializer, its name or its config\. Received: kernel_initializer=None"),
    ("tied.TiedDense", "reverse call before a forward call", lambda t: tied.TiedDense(2)(np.ones((1, 2), "float32"), reverse=True), ValueError, r"must be called forward once"),
    # surgery
    ("surgery.split_model", "model not a model", lambda t: surgery.split_model("model", "h"), ValueError, r"`model` must be a keras.Model. Received: model='model' of type str"),
    ("surgery.split_model", "unknown layer name", lambda t: surgery.split_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h"), keras.layers.Dense(2, name="out")], name="tiny"), "H"), ValueError, r"`at` must be the name of a layer of model 'tiny'. Received: at='H'; close names: \['h'\]"),
    ("surgery.split_model", "at not a name", lambda t: surgery.split_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h")], name="tiny"), 1), ValueError, r"`at` must be a layer name \(str\) or a layer. Received: at=1 of type int"),
    ("surgery.replace_layer", "new_layer not a layer", lambda t: surgery.replace_layer(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h"), keras.layers.Dense(2, name="out")], name="tiny"), "out", "dense"), ValueError, r"`new_layer` must be a keras.layers.Layer. Received: new_layer='dense' of type str"),
    ("surgery.insert_after", "unknown layer name", lambda t: surgery.insert_after(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h"), keras.layers.Dense(2, name="out")], name="tiny"), "hh", keras.layers.Dropout(0.1)), ValueError, r"`name` must be the name of a layer of model 'tiny'. Received: name='hh'; close names: \['h'\]"),
    # losses.CenterLoss: labels that are not class indices
    ("losses.CenterLoss", "label 7 of 3 classes", lambda t: kcl.CenterLoss(3)([np.zeros((2, 2), "float32"), np.array([0, 7])], training=True), ValueError, r"`labels` must be class indices, integers in \[0, 3\)\. Received: labels\[1\]=7 \(1 of 2 out of range\)"),
    ("losses.CenterLoss", "label -1", lambda t: kcl.CenterLoss(3)([np.zeros((2, 2), "float32"), np.array([-1, 0])], training=True), ValueError, r"`labels` must be class indices, integers in \[0, 3\)\. Received: labels\[0\]=-1 "),
    ("losses.CenterLoss", "label 1.7", lambda t: kcl.CenterLoss(3)([np.zeros((2, 2), "float32"), np.array([0.0, 1.7], "float32")], training=True), ValueError, r"`labels` must be class indices, integers in \[0, 3\)\. Received: labels\[1\]=1\.70*"),
    # monitors
    ("monitors.TrackMean", "unknown statistic name", lambda t: monitors.TrackMean("variance"), ValueError, r"`fn` must be one of \['mean', 'norm', 'squared_norm', 'zero_fraction'\] or a callable\. Received: fn='variance'"),
    ("monitors.TrackMean", "fn neither a name nor callable", lambda t: monitors.TrackMean(3), ValueError, r"`fn` must be one of .* or a callable\. Received: fn=3"),
    ("monitors.Monitored", "a graph with no TrackMean layer", lambda t: monitors.Monitored(i := keras.Input((2,)), keras.layers.Dense(1)(i)), ValueError, r"`outputs` must be a graph holding at least one `TrackMean` layer\. Received: no TrackMean layer"),
    ("monitors.Monitored", "a TrackMean named like the loss", lambda t: monitors.Monitored(i := keras.Input((2,)), monitors.TrackMean(name="loss")(i)), ValueError, r"`outputs` must be TrackMean layers with distinct names\. Received: names \['loss'\]"),
    # distribute
    ("distribute.data_parallel", "devices a string", lambda t: distribute.data_parallel("cpu:0").__enter__(), ValueError, r"`devices` must be None or a non-empty list of device names\. Received: devices='cpu:0'"),
    ("distribute.data_parallel", "devices empty", lambda t: distribute.data_parallel([]).__enter__(), ValueError, r"`devices` must be None or a non-empty list of device names\. Received: devices=\[\]"),
    ("distribute.sum_over_replicas", "a string", lambda t: distribute.sum_over_replicas("1"), ValueError, r"`value` must be a tensor \(or an array or a number\)\. Received: value of type str"),
    # targetless
    ("targetless.ReconstructionLoss", "kind unknown", lambda t: targetless.ReconstructionLoss("l1"), ValueError, r"`kind` must be one of \['binary_crossentropy', 'mse'\]\. Received: kind='l1'"),
    ("targetless.ReconstructionLoss", "weight negative", lambda t: targetless.ReconstructionLoss(weight=-1.0), ValueError, r"`weight` must be a finite number >= 0\. Received: weight=-1\.0"),
    ("targetless.ReconstructionLoss", "weight infinite", lambda t: targetless.ReconstructionLoss(weight=float("inf")), ValueError, r"`weight` must be a finite number >= 0\. Received: weight=inf"),
    ("targetless.ReconstructionLoss", "weight a bool", lambda t: targetless.ReconstructionLoss(weight=True), ValueError, r"`weight` must be a finite number >= 0\. Received: weight=True"),
    ("targetless.ReconstructionLoss", "called on one tensor", lambda t: targetless.ReconstructionLoss()(keras.Input((4,))), ValueError, r"must be called on a pair \[target, reconstruction\]"),
    ("targetless.ReconstructionLoss", "shapes differ", lambda t: targetless.ReconstructionLoss()([keras.Input((4,)), keras.Input((5,))]), ValueError, r"same shape\. Received: target shape=\(None, 4\), reconstruction shape=\(None, 5\)"),
    ("targetless.RequireLoss", "monitor empty", lambda t: targetless.RequireLoss(monitor=""), ValueError, r"`monitor` must be a non-empty string without surrounding spaces, used as the key in `logs` and `history`\. Received: monitor=''"),
    ("targetless.RequireLoss", "monitor not a string", lambda t: targetless.RequireLoss(monitor=1), ValueError, r"`monitor` must be a non-empty string.*Received: monitor=1"),
    # progress
    ("progress.MeanProgbar", "target zero", lambda t: progress.MeanProgbar(0), ValueError, r"`target` must be an integer >= 1. Received: target=0"),
    ("progress.MeanProgbar", "target a float", lambda t: progress.MeanProgbar(10.0), ValueError, r"`target` must be an integer >= 1. Received: target=10.0"),
    ("progress.MeanProgbar", "verbose 3", lambda t: progress.MeanProgbar(10, verbose=3), ValueError, r"`verbose` must be 0, 1 or 2. Received: verbose=3"),
    ("progress.MeanProgbar", "verbose True", lambda t: progress.MeanProgbar(10, verbose=True), ValueError, r"`verbose` must be 0, 1 or 2. Received: verbose=True"),
    ("progress.MeanProgbar", "width zero", lambda t: progress.MeanProgbar(10, width=0), ValueError, r"`width` must be an integer >= 1. Received: width=0"),
    ("progress.MeanProgbar", "interval negative", lambda t: progress.MeanProgbar(10, interval=-1), ValueError, r"`interval` must be a number of seconds >= 0. Received: interval=-1"),
    ("progress.MeanProgbar", "stateful_metrics a string", lambda t: progress.MeanProgbar(10, stateful_metrics="loss"), ValueError, r"`stateful_metrics` must be a list of names \(non-empty strings\). Received: stateful_metrics='loss'"),
    ("progress.MeanProgbar", "unit_name empty", lambda t: progress.MeanProgbar(10, unit_name=""), ValueError, r"`unit_name` must be a non-empty string. Received: unit_name=''"),
    ("progress.MeanProgbar", "add n zero", lambda t: progress.MeanProgbar(10, verbose=0).add(0), ValueError, r"`n` must be an integer >= 1. Received: n=0"),
    ("progress.MeanProgbar", "add weight zero", lambda t: progress.MeanProgbar(10, verbose=0).add(1, {"loss": 1.0}, weight=0), ValueError, r"`weight` must be a finite number > 0. Received: weight=0"),
    ("progress.MeanProgbar", "add a vector value", lambda t: progress.MeanProgbar(10, verbose=0).add(1, {"loss": [1.0, 2.0]}), ValueError, r"`values\['loss'\]` must be a single number \(a float, a NumPy scalar or a 0-d tensor\). Received: values\['loss'\]=\[1.0, 2.0\]"),
    ("progress.MeanProgbar", "add values a number", lambda t: progress.MeanProgbar(10, verbose=0).add(1, 0.5), ValueError, r"`values` must be a dict \{name: number\} or a list of \(name, number\) pairs. Received: values=0.5"),
    ("progress.MeanProgbar", "update backwards", lambda t: (lambda b: (b.add(5), b.update(3)))(progress.MeanProgbar(10, verbose=0)), ValueError, r"`current` must be an integer >= 6. Received: current=3"),
    # probes
    ("probes.sub_model", "model not a model", lambda t: probes.sub_model("model", "h"), ValueError, r"`model` must be a keras.Model. Received: model='model' of type str"),
    ("probes.sub_model", "unknown layer name", lambda t: probes.sub_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h")], name="tiny"), "H"), ValueError, r"`layer_names` must be names of layers of model 'tiny'. Received: layer_names=\['H'\]; no layer 'H', close names: \['h'\]"),
    ("probes.sub_model", "empty list of names", lambda t: probes.sub_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="h")]), []), ValueError, r"`layer_names` must be a layer name or a non-empty list of layer names. Received: layer_names=\[\]"),
    ("probes.sub_model", "a layer called twice", lambda t: (lambda i, d: probes.sub_model(keras.Model(i, d(d(i))), "shared"))(keras.Input((4,)), keras.layers.Dense(4, name="shared")), ValueError, r"`layer_names` must be names of layers called once \(`layer.output` of a shared layer is its first call's output\). Received: layer_names=\['shared'\]; 'shared' is called 2 times"),
    ("probes.Record", "unknown statistic", lambda t: probes.Record("median"), ValueError, r"`statistic` must be one of \['mean', 'mean_square', 'nonzero_fraction'\]. Received: statistic='median'"),
    ("probes.Record", "input of rank 1", lambda t: probes.Record()(np.ones((3,), "float32")), ValueError, r"`Record` needs inputs of rank >= 2 with a known last axis \(the features\). Received: input_shape=\(3,\)"),
    ("probes.activation_statistics", "a 1-D array", lambda t: probes.activation_statistics(np.ones(5)), ValueError, r"`activations` must be an array \(samples, ..., units\) with at least one sample and unit. Received: activations of shape \(5,\)"),
    ("probes.activation_statistics", "threshold not a number", lambda t: probes.activation_statistics(np.ones((2, 3)), threshold="0"), ValueError, r"`threshold` must be a number in \[-inf, inf\]. Received: threshold='0'"),
    ("probes.ActivationStats", "x not an array", lambda t: probes.ActivationStats([1, 2], "h"), ValueError, r"`x` must be the probe inputs: an array \(or list of arrays\) with at least one sample. Received: x=\[1, 2\]"),
    ("probes.ActivationStats", "layer_names not names", lambda t: probes.ActivationStats(np.ones((2, 3)), 3), ValueError, r"`layer_names` must be a layer name or a non-empty list of layer names. Received: layer_names=3"),
    ("probes.ActivationStats", "batch_size 0", lambda t: probes.ActivationStats(np.ones((2, 3)), "h", batch_size=0), ValueError, r"`batch_size` must be an integer >= 1. Received: batch_size=0"),
    ("probes.ActivationStats", "log not a bool", lambda t: probes.ActivationStats(np.ones((2, 3)), "h", log=1), ValueError, r"`log` must be True or False. Received: log=1"),
    # spectral
    ("spectral.SpectrallyNormalized", "power_iterations 0", lambda t: spectral.SpectrallyNormalized(keras.layers.Dense(2), power_iterations=0), ValueError, r"`power_iterations` must be an integer >= 1\. Received: power_iterations=0"),
    ("spectral.SpectrallyNormalized", "power_iterations a float", lambda t: spectral.SpectrallyNormalized(keras.layers.Dense(2), power_iterations=1.5), ValueError, r"`power_iterations` must be an integer >= 1\. Received: power_iterations=1\.5"),
    ("spectral.SpectrallyNormalized", "epsilon 0", lambda t: spectral.SpectrallyNormalized(keras.layers.Dense(2), epsilon=0), ValueError, r"`epsilon` must be a positive number\. Received: epsilon=0"),
    ("spectral.SpectrallyNormalized", "layer a string", lambda t: spectral.SpectrallyNormalized("dense"), ValueError, r"`layer` must be a Keras layer with a kernel \(Dense, Conv, Embedding\) or its config\. Received: layer='dense' of type str"),
    ("spectral.SpectrallyNormalized", "layer an unknown config", lambda t: spectral.SpectrallyNormalized({"class_name": "Nope", "config": {}}), ValueError, r"`layer` must be a Keras layer or its config\. Received: layer=\{'class_name': 'Nope'"),
    ("spectral.SpectrallyNormalized", "layer without a kernel", lambda t: spectral.SpectrallyNormalized(keras.layers.LayerNormalization())(np.ones((1, 3), "float32")), ValueError, r"`layer` must have a `kernel` or an `embeddings` weight to normalize\. Received: layer=LayerNormalization"),
    ("spectral.singular_values", "not a model", lambda t: spectral.singular_values("model"), ValueError, r"`model` must be a keras\.Model\. Received: model='model' of type str"),
    ("spectral.spectral_norms", "an unbuilt model", lambda t: spectral.spectral_norms(keras.Sequential([keras.layers.Dense(2)])), ValueError, r"`model` must be a built keras\.Model"),
    # feeding
    ("feeding.random_shifts", "images without a batch axis", lambda t: feeding.random_shifts(np.zeros((28, 28)), np.random.default_rng(0)), ValueError, r"`images` must be an array of shape"),
    ("feeding.random_shifts", "negative max_shift", lambda t: feeding.random_shifts(np.zeros((1, 28, 28)), np.random.default_rng(0), max_shift=-1), ValueError, r"`max_shift` must be an integer >= 0"),
    ("feeding.random_shifts", "an int seed instead of a Generator", lambda t: feeding.random_shifts(np.zeros((1, 28, 28)), 0), ValueError, r"`rng` must be a numpy.random.Generator"),
    ("feeding.AugmentedMnist", "labels shorter than images", lambda t: feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(7)), ValueError, r"`y` must be as long as x"),
    ("feeding.AugmentedMnist", "zero batch_size", lambda t: feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8), batch_size=0), ValueError, r"`batch_size` must be an integer >= 1"),
    ("feeding.AugmentedMnist", "negative delay", lambda t: feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8), delay=-1.0), ValueError, r"`delay` must be a number >= 0"),
    ("feeding.AugmentedMnist", "batch index past the end", lambda t: feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8), batch_size=4).batch(0, 2), ValueError, r"`index` must be an integer in \[0, 2\)"),
    ("feeding.generator", "zero epochs", lambda t: next(feeding.generator(feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8)), 0)), ValueError, r"`epochs` must be an integer >= 1"),
    ("feeding.tf_data", "zero parallel_calls", lambda t: feeding.tf_data(feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8)), 1, parallel_calls=0), ValueError, r"`parallel_calls` must be an integer >= 1"),
    ("feeding.IndexLog", "zero samples", lambda t: feeding.IndexLog(0), ValueError, r"`num_samples` must be an integer >= 1"),
    ("feeding.IndexLog", "an id out of range", lambda t: (lambda log: (log.new_epoch(), log.record([5])))(feeding.IndexLog(4)), ValueError, r"`ids` must be integers in \[0, 4\)"),
    ("feeding.IndexLog", "batches of an epoch not recorded", lambda t: feeding.IndexLog(4).batches(0), ValueError, r"`epoch` must be an integer in \[0, 0\)"),
    ("feeding.build_before_fit", "an uncompiled model", lambda t: feeding.build_before_fit(keras.Sequential([keras.layers.Dense(2)]), feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8))), ValueError, r"`model` must be a compiled keras\.Model"),
    ("feeding.build_before_fit", "arrays instead of a PyDataset", lambda t: feeding.build_before_fit((lambda m: (m.compile("sgd", "mse"), m)[1])(keras.Sequential([keras.layers.Dense(2)])), np.zeros((8, 28, 28))), ValueError, r"`dataset` must be a keras\.utils\.PyDataset"),
    ("feeding.trained_ids", "a dataset without ids", lambda t: feeding.trained_ids(feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8))), ValueError, r"`dataset` must be an AugmentedMnist with with_ids=True"),
    ("feeding.trained_ids", "build_first not a bool", lambda t: feeding.trained_ids(feeding.AugmentedMnist(np.zeros((8, 28, 28)), np.arange(8), with_ids=True), build_first=1), ValueError, r"`build_first` must be True or False"),
    # ema
    ("ema.ExponentialMovingAverage", "decay of 1", lambda t: ExponentialMovingAverage(decay=1.0), ValueError, r"`decay` must be a number in \[0, 1\)\. Received: decay=1\.0"),
    ("ema.ExponentialMovingAverage", "warmup not a bool", lambda t: ExponentialMovingAverage(warmup=1), ValueError, r"`warmup` must be True or False\. Received: warmup=1"),
    ("ema.ExponentialMovingAverage", "validation_data not a pair", lambda t: ExponentialMovingAverage(validation_data=np.zeros((4, 2))), ValueError, r"`validation_data` must be a tuple \(x_val, y_val\) of arrays, or None\. Received: validation_data=array"),
    ("ema.ExponentialMovingAverage", "validation_data of unequal lengths", lambda t: ExponentialMovingAverage(validation_data=(np.zeros((4, 2)), np.zeros(3))), ValueError, r"`validation_data` must be .*Received: x_val\.shape=\(4, 2\), y_val\.shape=\(3,\)"),
    ("ema.ExponentialMovingAverage", "batch_size 0", lambda t: ExponentialMovingAverage(batch_size=0), ValueError, r"`batch_size` must be an integer >= 1\. Received: batch_size=0"),
    ("ema.ExponentialMovingAverage", "swapped before any fit", lambda t: ExponentialMovingAverage().swapped(), ValueError, r"`ExponentialMovingAverage` must have an average to use.*Received: no shadows yet"),
    ("ema.ExponentialMovingAverage", "save_weights to a path without .weights.h5", lambda t: ExponentialMovingAverage().save_weights(t / "a.h5"), ValueError, r"`filepath` must be a path ending in '\.weights\.h5' \(Keras's weights format\)\. Received: filepath="),
    ("ema.ExponentialMovingAverage", "load_weights from a missing file", lambda t: ExponentialMovingAverage().load_weights(t / "none.weights.h5", _model()), ValueError, r"`filepath` must be an existing weights file\. Received: filepath=.*none\.weights\.h5"),
    ("ema.ExponentialMovingAverage", "load_weights without a model", lambda t: (_model().save_weights(t / "a.weights.h5"), ExponentialMovingAverage().load_weights(t / "a.weights.h5")), ValueError, r"`model` must be a keras\.Model when the average was never used in fit\. Received: model=None"),
    ("ema.ExponentialMovingAverage", "load_weights into an unbuilt model", lambda t: (_model().save_weights(t / "a.weights.h5"), ExponentialMovingAverage().load_weights(t / "a.weights.h5", keras.Sequential([keras.layers.Dense(2)]))), ValueError, r"`model` must be a built keras\.Model"),
    ("ema.warmup_decay", "step 0", lambda t: warmup_decay(0, 0.999), ValueError, r"`step` must be an integer >= 1\. Received: step=0"),
    ("ema.warmup_decay", "decay of 1", lambda t: warmup_decay(10, 1.0), ValueError, r"`decay` must be a number in \[0, 1\)\. Received: decay=1\.0"),
]


def public_names():
    names = set()
    for mod in MODULES:
        module = importlib.import_module(f"kerascool_lib.{mod}")
        names.update(f"{mod}.{name}" for name in module.__all__)
    return names


@pytest.mark.parametrize("sig, arg, bad", list(_generated()))
def test_bad_argument_is_refused_with_its_kinds_message(sig, arg, bad, tmp_path):
    value = bad.make()
    expected = bad.message.format(name=arg, value=value, type=type(value).__name__)
    with pytest.raises(bad.error) as info:
        sig.call(tmp_path, **{arg: value})
    assert str(info.value) == expected, f"{sig.name}({arg}={value!r})"


@pytest.mark.parametrize(
    "name, call, exc, pattern",
    [row[:1] + row[2:] for row in ROWS],
    ids=[f"{row[0]}: {row[1]}" for row in ROWS],
)
def test_bad_input_is_refused_with_a_clear_message(name, call, exc, pattern, tmp_path):
    with pytest.raises(exc) as info:
        call(tmp_path)
    assert re.search(pattern, str(info.value)), f"{name}: message was {str(info.value)!r}"


def test_every_public_name_is_covered():
    covered = {sig.name for sig in SIGS} | {row[0] for row in ROWS} | set(NO_INPUT)
    missing = sorted(public_names() - covered)
    assert not missing, (
        f"{len(missing)} public name(s) without a bad-input case or a NO_INPUT reason:\n"
        + "".join(f"  - {name}\n" for name in missing)
        + "Describe their arguments in SIGS (with kinds such as INT_MIN_1, BOOL), add a row to "
        "ROWS for a message of their own, or list them in NO_INPUT with the reason."
    )
    stale = sorted(covered - public_names())
    assert not stale, "cases for names that are not public (renamed or removed?):\n" + "".join(f"  - {n}\n" for n in stale)


def test_case_ids_are_unique():
    ids = [p.id for p in _generated()] + [f"{row[0]}: {row[1]}" for row in ROWS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
