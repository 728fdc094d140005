"""Bad input to every public name of kerascool_lib: a clear error naming the argument, the
value received and what was expected. One test per case, from one table.

Cases: 185 (checked by ``test_the_case_count_in_this_docstring_is_true``).

Every public name (each module's ``__all__``) must have at least one case here, or be listed
in ``NO_INPUT`` with the reason it takes no input; ``test_every_public_name_is_covered`` fails
otherwise, so a new public function cannot arrive without its bad-input cases.
"""

import importlib
import pathlib
import pkgutil
import re

import keras
import numpy as np
import pytest

import kerascool_lib
from kerascool_lib import bench, data, metrics, models, plots, runtime, schedules, show_source, widgets
from kerascool_lib import losses as kcl
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


def _npz(tmp, **arrays):
    path = pathlib.Path(tmp) / "broken.npz"
    np.savez(path, **arrays)
    return path


def _bytes(tmp, content):
    path = pathlib.Path(tmp) / "broken.npz"
    path.write_bytes(content)
    return path


# (public name, case, call taking a tmp folder, exception, regex the message must match)
CASES = [
    # data.load_mnist / locate_mnist
    ("data.load_mnist", "path is not path-like", lambda t: data.load_mnist(42), TypeError, r"`path` must be a str or os.PathLike .* Received: path=42 of type int"),
    ("data.load_mnist", "path does not exist", lambda t: data.load_mnist(pathlib.Path(t) / "none.npz"), data.MnistNotFoundError, r"No MNIST archive at the requested place \(path argument: .*none\.npz\)"),
    ("data.load_mnist", "file is not a zip archive", lambda t: data.load_mnist(_bytes(t, b"hello")), data.MnistIntegrityError, r"broken\.npz could not be read as an \.npz archive .* corrupted or truncated"),
    ("data.load_mnist", "archive lacks arrays", lambda t: data.load_mnist(_npz(t, x_train=np.zeros(1))), data.MnistIntegrityError, r"not an MNIST archive: arrays \['x_test', 'y_test', 'y_train'\] are missing"),
    ("data.load_mnist", "archive needs unpickling", lambda t: data.load_mnist(_npz(t, **{k: np.array([None]) for k in data.MNIST_SHA256})), data.MnistIntegrityError, r"could not be read .*Object arrays cannot be loaded when allow_pickle=False"),
    ("data.load_mnist", "arrays of the wrong shape", lambda t: data.load_mnist(_npz(t, **{k: np.zeros(3, np.uint8) for k in data.MNIST_SHA256})), data.MnistIntegrityError, r"array 'x_train' does not match the real MNIST \(shape \(3,\), dtype uint8; expected shape \(60000, 28, 28\)"),
    ("data.locate_mnist", "path is not path-like", lambda t: data.locate_mnist(3.5), TypeError, r"`path` must be a str or os.PathLike .* Received: path=3.5"),
    ("data.array_sha256", "object array", lambda t: data.array_sha256([None, {}]), TypeError, r"`array` must hold numbers .* Received: array of dtype object, shape \(2,\)"),
    # data shapes
    ("data.to_float", "float pixels", lambda t: data.to_float(np.zeros(3)), TypeError, r"`x` must be uint8 pixels .* Received: x.dtype=float64"),
    ("data.to_images", "27x27 images", lambda t: data.to_images(np.zeros((2, 27, 27))), ValueError, r"`x` must hold 28x28 images.* Received: x.shape=\(2, 27, 27\)"),
    ("data.to_images", "one flat image without batch axis", lambda t: data.to_images(np.zeros(784)), ValueError, r"`x` must be a non-empty batch of images.* Received: x.shape=\(784,\)"),
    ("data.to_flat", "empty batch", lambda t: data.to_flat(np.zeros((0, 784))), ValueError, r"non-empty batch .* Received: x.shape=\(0, 784\)"),
    ("data.to_flat", "785 features", lambda t: data.to_flat(np.zeros((2, 785))), ValueError, r"Received: x.shape=\(2, 785\)"),
    # data.take / train_val_split / mnist_splits / make_dataset
    ("data.take", "n = 0", lambda t: data.take(IMAGES, LABELS, 0), ValueError, r"`n` must be an integer >= 1. Received: n=0"),
    ("data.take", "n negative", lambda t: data.take(IMAGES, LABELS, -1), ValueError, r"Received: n=-1"),
    ("data.take", "n a float", lambda t: data.take(IMAGES, LABELS, 2.5), ValueError, r"Received: n=2.5"),
    ("data.take", "n a bool", lambda t: data.take(IMAGES, LABELS, True), ValueError, r"Received: n=True"),
    ("data.take", "x and y lengths differ", lambda t: data.take(IMAGES, LABELS[:3], 2), ValueError, r"same number of samples. Received: x.shape=\(4, 784\), y.shape=\(3,\)"),
    ("data.take", "negative seed", lambda t: data.take(IMAGES, LABELS, 2, seed=-1), ValueError, r"`seed` must be an integer >= 0. Received: seed=-1"),
    ("data.train_val_split", "val_size = 0", lambda t: data.train_val_split(IMAGES, LABELS, 0), ValueError, r"`val_size` must be an integer >= 1. Received: val_size=0"),
    ("data.train_val_split", "fraction above 1", lambda t: data.train_val_split(IMAGES, LABELS, 1.5), ValueError, r"`val_size` as a fraction must be in \(0, 1\). Received: val_size=1.5"),
    ("data.train_val_split", "takes every sample", lambda t: data.train_val_split(IMAGES, LABELS, 4), ValueError, r"`val_size` must leave some training samples: it must be < 4. Received: val_size=4"),
    ("data.train_val_split", "val_size a string", lambda t: data.train_val_split(IMAGES, LABELS, "a"), ValueError, r"Received: val_size='a'"),
    ("data.train_val_split", "seed a string", lambda t: data.train_val_split(IMAGES, LABELS, 1, seed="0"), ValueError, r"`seed` must be an integer >= 0. Received: seed='0'"),
    ("data.mnist_splits", "unknown layout", lambda t: data.mnist_splits("nchw"), ValueError, r"`layout` must be one of \['flat', 'image'\]. Received: layout='nchw'"),
    ("data.mnist_splits", "train_size = 0", lambda t: data.mnist_splits(train_size=0), ValueError, r"`train_size` must be an integer >= 1. Received: train_size=0"),
    ("data.mnist_splits", "test_size negative", lambda t: data.mnist_splits(test_size=-5), ValueError, r"`test_size` must be an integer >= 1. Received: test_size=-5"),
    ("data.mnist_splits", "val_size negative", lambda t: data.mnist_splits(val_size=-1), ValueError, r"`val_size` must be an integer >= 0. Received: val_size=-1"),
    ("data.mnist_splits", "profile given by name", lambda t: data.mnist_splits(profile="smoke"), ValueError, r"`profile` must be a runtime.Profile such as run.profile. Received: profile='smoke'"),
    ("data.make_dataset", "batch_size = 0", lambda t: data.make_dataset(IMAGES, LABELS, batch_size=0), ValueError, r"`batch_size` must be an integer >= 1. Received: batch_size=0"),
    ("data.make_dataset", "batch_size a float", lambda t: data.make_dataset(IMAGES, LABELS, batch_size=2.0), ValueError, r"Received: batch_size=2.0"),
    ("data.make_dataset", "batch_size None", lambda t: data.make_dataset(IMAGES, LABELS, batch_size=None), ValueError, r"Received: batch_size=None"),
    ("data.make_dataset", "x and y lengths differ", lambda t: data.make_dataset(IMAGES, LABELS[:2]), ValueError, r"Received: x.shape=\(4, 784\), y.shape=\(2,\)"),
    ("data.make_dataset", "negative seed", lambda t: data.make_dataset(IMAGES, LABELS, shuffle=True, seed=-2), ValueError, r"`seed` must be an integer >= 0. Received: seed=-2"),
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
    ("runtime.setup", "negative seed", lambda t: runtime.setup("smoke", seed=-1, verbose=False), ValueError, r"`seed` must be an integer >= 0. Received: seed=-1"),
    ("runtime.setup", "float seed", lambda t: runtime.setup("smoke", seed=1.5, verbose=False), ValueError, r"Received: seed=1.5"),
    ("runtime.setup", "bool seed", lambda t: runtime.setup("smoke", seed=True, verbose=False), ValueError, r"Received: seed=True"),
    ("runtime.setup", "unknown profile", lambda t: runtime.setup("tiny", verbose=False), ValueError, r"`profile` must be one of \['cpu', 'full', 'smoke'\]. Received: profile='tiny'"),
    ("runtime.setup", "unknown precision", lambda t: runtime.setup("smoke", precision="float8", verbose=False), ValueError, r"`precision` must be a Keras dtype policy .* Received: precision='float8'"),
    ("runtime.Profile", "empty name", lambda t: runtime.Profile("", None, 0, None, "x"), ValueError, r"`name` must be a non-empty string. Received: name=''"),
    ("runtime.Profile", "train_size = 0", lambda t: runtime.Profile("tiny", 0, 10, None, "x"), ValueError, r"`train_size` must be an integer >= 1. Received: train_size=0"),
    ("runtime.Profile", "negative val_size", lambda t: runtime.Profile("tiny", 10, -1, None, "x"), ValueError, r"`val_size` must be an integer >= 0. Received: val_size=-1"),
    ("runtime.Profile", "test_size a float", lambda t: runtime.Profile("tiny", 10, 0, 0.5, "x"), ValueError, r"`test_size` must be an integer >= 1. Received: test_size=0.5"),
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
    ("models.mlp", "no hidden layers", lambda t: models.mlp(hidden=()), ValueError, r"`hidden` must be a non-empty sequence of positive integers. Received: hidden=\(\)"),
    ("models.mlp", "a zero-width layer", lambda t: models.mlp(hidden=(512, 0)), ValueError, r"Received: hidden=\(512, 0\)"),
    ("models.mlp", "dropout 1", lambda t: models.mlp(dropout=1.0), ValueError, r"`dropout` must be a number in \[0, 1\). Received: dropout=1.0"),
    ("models.mlp", "dropout negative", lambda t: models.mlp(dropout=-0.1), ValueError, r"Received: dropout=-0.1"),
    ("models.mlp", "no classes", lambda t: models.mlp(num_classes=0), ValueError, r"`num_classes` must be an integer >= 1. Received: num_classes=0"),
    ("models.cnn", "one filter count", lambda t: models.cnn(filters=(8,)), ValueError, r"`filters` must be two positive integers. Received: filters=\(8,\)"),
    ("models.cnn", "negative filters", lambda t: models.cnn(filters=(8, -1)), ValueError, r"Received: filters=\(8, -1\)"),
    ("models.cnn", "filters an int", lambda t: models.cnn(filters=32), ValueError, r"`filters` must be two positive integers. Received: filters=32"),
    ("models.cnn", "batch_norm a string", lambda t: models.cnn(batch_norm="yes"), ValueError, r"`batch_norm` must be True or False. Received: batch_norm='yes'"),
    ("models.cnn", "dense = 0", lambda t: models.cnn(dense=0), ValueError, r"`dense` must be an integer >= 1. Received: dense=0"),
    ("models.cnn", "classes a float", lambda t: models.cnn(num_classes=10.0), ValueError, r"`num_classes` must be an integer >= 1. Received: num_classes=10.0"),
    ("schedules.one_cycle", "peak_lr = 0", lambda t: schedules.one_cycle(0, 10), ValueError, r"`peak_lr` must be a positive number. Received: peak_lr=0"),
    ("schedules.one_cycle", "total_steps = 0", lambda t: schedules.one_cycle(0.1, 0), ValueError, r"`total_steps` must be an integer >= 1. Received: total_steps=0"),
    ("schedules.one_cycle", "warmup_fraction 1", lambda t: schedules.one_cycle(0.1, 10, 1.0), ValueError, r"`warmup_fraction` must be a number in \[0, 1\). Received: warmup_fraction=1.0"),
    ("schedules.one_cycle", "start_factor 0", lambda t: schedules.one_cycle(0.1, 10, 0.2, 0.0), ValueError, r"`start_factor` must be a number in \(0, 1\]. Received: start_factor=0.0"),
    ("models.Recipe", "batch_size = 0", lambda t: models.Recipe(batch_size=0), ValueError, r"`batch_size` must be an integer >= 1. Received: batch_size=0"),
    ("models.Recipe", "negative epochs", lambda t: models.Recipe(epochs=-1), ValueError, r"`epochs` must be an integer >= 1. Received: epochs=-1"),
    ("models.Recipe", "negative peak_lr", lambda t: models.Recipe(peak_lr=-0.1), ValueError, r"`peak_lr` must be a positive number. Received: peak_lr=-0.1"),
    ("models.Recipe", "unknown schedule", lambda t: models.Recipe(schedule="cosine"), ValueError, r"`schedule` must be one of \['constant', 'one_cycle'\]. Received: schedule='cosine'"),
    ("models.Recipe", "warmup_fraction 2", lambda t: models.Recipe(warmup_fraction=2), ValueError, r"`warmup_fraction` must be a number in \[0, 1\). Received: warmup_fraction=2"),
    ("models.Recipe", "compile a non-model", lambda t: models.CNN_RECIPE.compile("cnn", 1000), ValueError, r"`model` must be a keras.Model. Received: model='cnn' of type str"),
    ("models.Recipe", "steps for no samples", lambda t: models.CNN_RECIPE.steps_per_epoch(0), ValueError, r"`train_size` must be an integer >= 1. Received: train_size=0"),
    ("models.Recipe", "learning rate for 0 epochs", lambda t: models.CNN_RECIPE.learning_rate(1000, epochs=0), ValueError, r"`epochs` must be an integer >= 1. Received: epochs=0"),
    # plots
    ("plots.plot_history", "empty dict", lambda t: plots.plot_history({}), ValueError, r"`histories` must be a History, a dict of per-epoch lists, or a non-empty dict of them. Received: \{\}"),
    ("plots.plot_history", "metric not recorded", lambda t: plots.plot_history({"loss": [1.0]}, metrics=["auc"]), ValueError, r"`metrics` \['auc'\] not found in the history of run '' ?; it has \['loss'\]"),
    ("plots.plot_history", "a run that is not a history", lambda t: plots.plot_history({"run": 3}), ValueError, r"`histories\['run'\]` must be a keras History or a dict of per-epoch lists. Received: int"),
    ("plots.digit_grid", "27x27 images", lambda t: plots.digit_grid(np.zeros((3, 27, 27))), ValueError, r"`images` must be a non-empty batch of 28x28 digits.* Received: images.shape=\(3, 27, 27\)"),
    ("plots.digit_grid", "no images", lambda t: plots.digit_grid(np.zeros((0, 784))), ValueError, r"Received: images.shape=\(0, 784\)"),
    ("plots.digit_grid", "ncols = 0", lambda t: plots.digit_grid(IMAGES, ncols=0), ValueError, r"`ncols` must be an integer >= 1. Received: ncols=0"),
    ("plots.digit_grid", "max_images = 0", lambda t: plots.digit_grid(IMAGES, max_images=0), ValueError, r"`max_images` must be an integer >= 1. Received: max_images=0"),
    ("plots.digit_grid", "too few labels", lambda t: plots.digit_grid(IMAGES, labels=[1]), ValueError, r"`labels` must have one label per image. Received: labels.shape=\(1,\) for 4 images"),
    ("plots.digit_grid", "too few predictions", lambda t: plots.digit_grid(IMAGES, predictions=[1, 2]), ValueError, r"`predictions` must have one entry per image. Received: predictions.shape=\(2,\) for 4 images"),
    ("metrics.confusion_matrix", "lengths differ", lambda t: metrics.confusion_matrix([0, 1], [0]), ValueError, r"Received: y_true.shape=\(2,\), y_pred.shape=\(1,\)"),
    ("metrics.confusion_matrix", "label out of range", lambda t: metrics.confusion_matrix([0, 10], [0, 1]), ValueError, r"`y_true` must be class indices, integers in \[0, 10\). Received: y_true\[1\]=10"),
    ("metrics.confusion_matrix", "negative prediction", lambda t: metrics.confusion_matrix([0, 1], [-1, 1]), ValueError, r"`y_pred` must be class indices, integers in \[0, 10\). Received: y_pred\[0\]=-1"),
    ("metrics.confusion_matrix", "one class", lambda t: metrics.confusion_matrix([0], [0], num_classes=1), ValueError, r"`num_classes` must be an integer >= 2. Received: num_classes=1"),
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
    ("weights.save_weights_atomically", "model is not a keras.Model", lambda t: save_weights_atomically("net", t / "a.weights.h5"), ValueError, r"`model` must be a keras.Model. Received: model='net' of type str"),
    ("weights.save_weights_atomically", "filepath without .weights.h5", lambda t: save_weights_atomically(_model(), t / "best.h5"), ValueError, r"`filepath` must be a path ending in '\.weights\.h5' .* Received: filepath=.*best\.h5"),
    ("weights.save_weights_atomically", "filepath is not a path", lambda t: save_weights_atomically(_model(), 3), ValueError, r"Received: filepath=3"),
    ("weights.swapped_weights", "model is not a keras.Model", lambda t: swapped_weights(None, []).__enter__(), ValueError, r"`model` must be a keras.Model. Received: model=None of type NoneType"),
    ("weights.swapped_weights", "weights of the wrong shapes", lambda t: swapped_weights(_model(), [np.zeros(3)]).__enter__(), ValueError, r"`weights` must be a list of arrays with the shapes of model.get_weights\(\), 4 arrays. Received: 1 arrays of shapes \[\(3,\)\]"),
    ("weights.swapped_weights", "weights file missing", lambda t: swapped_weights(_model(), t / "none.weights.h5").__enter__(), ValueError, r"`weights` must be an existing weights file. Received: weights=.*none\.weights\.h5"),
    ("weights.swapped_weights", "weights is a number", lambda t: swapped_weights(_model(), 1.5).__enter__(), ValueError, r"`weights` must be a list of arrays .* Received: weights=1.5"),
    ("callbacks.EvaluateAndKeepBest", "validation_data is one array", lambda t: EvaluateAndKeepBest(np.zeros((4, 4)), _OK, "v"), ValueError, r"`validation_data` must be a tuple \(x_val, y_val\) of arrays. Received: validation_data of type ndarray"),
    ("callbacks.EvaluateAndKeepBest", "validation_data with three items", lambda t: EvaluateAndKeepBest((1, 2, 3), _OK, "v"), ValueError, r"Received: validation_data of type tuple with 3 items"),
    ("callbacks.EvaluateAndKeepBest", "validation_data of unequal lengths", lambda t: EvaluateAndKeepBest((np.zeros((4, 2)), np.zeros(3)), _OK, "v"), ValueError, r"Received: len\(x_val\)=4, len\(y_val\)=3"),
    ("callbacks.EvaluateAndKeepBest", "metric is not callable", lambda t: EvaluateAndKeepBest(_VAL, "f1", "v"), ValueError, r"`metric` must be a function metric\(y_true, y_pred\) -> float. Received: metric='f1'"),
    ("callbacks.EvaluateAndKeepBest", "empty name", lambda t: EvaluateAndKeepBest(_VAL, _OK, ""), ValueError, r"`name` must be a non-empty string .* Received: name=''"),
    ("callbacks.EvaluateAndKeepBest", "unknown mode", lambda t: EvaluateAndKeepBest(_VAL, _OK, "v", mode="auto"), ValueError, r"`mode` must be one of \['max', 'min'\]. Received: mode='auto'"),
    ("callbacks.EvaluateAndKeepBest", "filepath without .weights.h5", lambda t: EvaluateAndKeepBest(_VAL, _OK, "v", filepath="best.keras"), ValueError, r"`filepath` must be a path ending in '\.weights\.h5' .* Received: filepath='best.keras'"),
    ("callbacks.EvaluateAndKeepBest", "negative min_delta", lambda t: EvaluateAndKeepBest(_VAL, _OK, "v", min_delta=-0.1), ValueError, r"`min_delta` must be a number in \[0, inf\]. Received: min_delta=-0.1"),
    ("callbacks.EvaluateAndKeepBest", "restore_best_weights not a bool", lambda t: EvaluateAndKeepBest(_VAL, _OK, "v", restore_best_weights="yes"), ValueError, r"`restore_best_weights` must be True or False. Received: restore_best_weights='yes'"),
    ("callbacks.EvaluateAndKeepBest", "batch_size zero", lambda t: EvaluateAndKeepBest(_VAL, _OK, "v", batch_size=0), ValueError, r"`batch_size` must be an integer >= 1. Received: batch_size=0"),
    ("callbacks.EvaluateAndKeepBest", "verbose 2", lambda t: EvaluateAndKeepBest(_VAL, _OK, "v", verbose=2), ValueError, r"`verbose` must be 0 or 1. Received: verbose=2"),
    ("schedules.LinearWarmup", "peak_learning_rate zero", lambda t: LinearWarmup(0.0, 10), ValueError, r"`peak_learning_rate` must be a finite positive number. Received: peak_learning_rate=0.0"),
    ("schedules.LinearWarmup", "peak_learning_rate infinite", lambda t: LinearWarmup(float("inf"), 10), ValueError, r"`peak_learning_rate` must be a finite positive number. Received: peak_learning_rate=inf"),
    ("schedules.LinearWarmup", "warmup_steps zero", lambda t: LinearWarmup(1e-3, 0), ValueError, r"`warmup_steps` must be an integer >= 1. Received: warmup_steps=0"),
    ("schedules.LinearWarmup", "warmup_steps a float", lambda t: LinearWarmup(1e-3, 2.5), ValueError, r"Received: warmup_steps=2.5"),
    ("runtime.read_run_card", "not a notebook", lambda t: runtime.read_run_card([1, 2]), ValueError, r"`nb` must be a notebook: a dict with a list of 'cells'. Received: list"),
    ("runtime.read_run_card", "no run card", lambda t: runtime.read_run_card({"cells": []}), ValueError, r"no run card start record \(kc.setup\)"),
    ("schedules.join_schedules", "one schedule", lambda t: schedules.join_schedules([LinearWarmup(1e-3, 2)], []), ValueError, r"`schedules` must be a list of at least two schedules"),
    ("schedules.join_schedules", "boundaries not increasing", lambda t: schedules.join_schedules([0.1, 0.2, 0.3], [5, 5]), ValueError, r"`boundaries` must be strictly increasing. Received: boundaries=\[5, 5\]"),
    ("schedules.JoinedSchedule", "one boundary too many", lambda t: schedules.JoinedSchedule([0.1, 0.2], [1, 2]), ValueError, r"`boundaries` must be a list of 1 step\(s\), one fewer than the schedules"),
    ("callbacks.LinearWarmupCallback", "both lengths given", lambda t: LinearWarmupCallback(1e-3, 10, warmup_epochs=1), ValueError, r"Pass exactly one of `warmup_steps` and `warmup_epochs`. Received: warmup_steps=10, warmup_epochs=1"),
    ("callbacks.LinearWarmupCallback", "no length given", lambda t: LinearWarmupCallback(1e-3), ValueError, r"Received: warmup_steps=None, warmup_epochs=None"),
    ("callbacks.LinearWarmupCallback", "warmup_epochs negative", lambda t: LinearWarmupCallback(1e-3, warmup_epochs=-1), ValueError, r"`warmup_epochs` must be a finite positive number. Received: warmup_epochs=-1"),
    ("callbacks.LinearWarmupCallback", "peak_learning_rate a string", lambda t: LinearWarmupCallback("1e-3", 10), ValueError, r"`peak_learning_rate` must be a finite positive number. Received: peak_learning_rate='1e-3'"),
    ("callbacks.VariableScheduler", "variable is a float", lambda t: VariableScheduler(0.1, lambda i: 0.1), ValueError, r"`variable` must be a keras.Variable, .* Received: variable=0.1 of type float"),
    ("callbacks.VariableScheduler", "schedule is a list", lambda t: VariableScheduler(keras.Variable(0.1), [0.1, 0.2]), ValueError, r"`schedule` must be a function of the epoch or step index. Received: schedule=\[0.1, 0.2\]"),
    ("callbacks.VariableScheduler", "per is 'batch'", lambda t: VariableScheduler(keras.Variable(0.1), lambda i: 0.1, per="batch"), ValueError, r"`per` must be one of \['epoch', 'step'\]. Received: per='batch'"),
    ("callbacks.VariableScheduler", "name with spaces", lambda t: VariableScheduler(keras.Variable(0.1), lambda i: 0.1, name=" e "), ValueError, r"`name` must be a non-empty string without surrounding spaces.* Received: name=' e '"),
    # layers
    ("layers.ScaledL2Normalization", "axis is the batch axis", lambda t: ScaledL2Normalization(axis=0), ValueError, r"`axis` must be a non-zero integer \(a feature axis; 0 is the batch axis\). Received: axis=0"),
    ("layers.ScaledL2Normalization", "axis a float", lambda t: ScaledL2Normalization(axis=1.5), ValueError, r"Received: axis=1.5"),
    ("layers.ScaledL2Normalization", "axis beyond the rank", lambda t: ScaledL2Normalization(axis=3)(keras.Input((4,))), ValueError, r"got `axis=3` for inputs of rank 2: the axis must be a feature axis in \[-1, 1\]"),
    ("layers.ScaledL2Normalization", "epsilon zero", lambda t: ScaledL2Normalization(epsilon=0), ValueError, r"`epsilon` must be a positive number. Received: epsilon=0"),
    ("layers.ScaledL2Normalization", "initializer None", lambda t: ScaledL2Normalization(scale_initializer=None), ValueError, r"`scale_initializer` must be a Keras initializer, its name or its config. Received: scale_initializer=None"),
    ("layers.ScaledL2Normalization", "initializer unknown", lambda t: ScaledL2Normalization(scale_initializer="nope"), ValueError, r"Received: scale_initializer='nope'"),
    ("layers.ScaledL2Normalization", "regularizer unknown", lambda t: ScaledL2Normalization(scale_regularizer="nope"), ValueError, r"`scale_regularizer` must be a Keras regularizer, its name or its config. Received: scale_regularizer='nope'"),
    ("layers.ScaledL2Normalization", "constraint a number", lambda t: ScaledL2Normalization(scale_constraint=3), ValueError, r"`scale_constraint` must be a Keras constraint, its name or its config. Received: scale_constraint=3"),
    ("layers.ScaledL2Normalization", "trainable_scale an int", lambda t: ScaledL2Normalization(trainable_scale=1), ValueError, r"`trainable_scale` must be True or False. Received: trainable_scale=1"),
    ("layers.SplitVector", "axis a bool", lambda t: SplitVector(axis=True), ValueError, r"`axis` must be a non-zero integer .* Received: axis=True"),
    ("layers.SplitVector", "width 1", lambda t: SplitVector()(keras.Input((1,))), ValueError, r"needs a known width of at least 2 on axis -1 to cut it in two. Received: input shape \(None, 1\)"),
    ("layers.SplitVector", "unknown width", lambda t: SplitVector()(keras.Input((None,))), ValueError, r"Received: input shape \(None, None\)"),
    # losses
    ("losses.CenterLoss", "num_classes zero", lambda t: kcl.CenterLoss(0), ValueError, r"`num_classes` must be an integer >= 1. Received: num_classes=0"),
    ("losses.CenterLoss", "num_classes a float", lambda t: kcl.CenterLoss(2.5), ValueError, r"`num_classes` must be an integer >= 1. Received: num_classes=2.5"),
    ("losses.CenterLoss", "lamb negative", lambda t: kcl.CenterLoss(3, lamb=-0.1), ValueError, r"`lamb` must be a number in \[0, inf\). Received: lamb=-0.1"),
    ("losses.CenterLoss", "lamb a string", lambda t: kcl.CenterLoss(3, lamb="0.1"), ValueError, r"Received: lamb='0.1'"),
    ("losses.CenterLoss", "alpha zero", lambda t: kcl.CenterLoss(3, alpha=0.0), ValueError, r"`alpha` must be a number in \(0, 1\]. Received: alpha=0.0"),
    ("losses.CenterLoss", "alpha above 1", lambda t: kcl.CenterLoss(3, alpha=1.5), ValueError, r"Received: alpha=1.5"),
    ("losses.CenterLoss", "initializer unknown", lambda t: kcl.CenterLoss(3, centers_initializer="nope"), ValueError, r"`centers_initializer` must be a Keras initializer or its name. Received: centers_initializer='nope'"),
    ("losses.CenterLoss", "called on one tensor", lambda t: kcl.CenterLoss(3)(keras.Input((2,))), ValueError, r"must be called on a list \[features, labels\]"),
    ("losses.CenterLoss", "features of rank 3", lambda t: kcl.CenterLoss(3)([keras.Input((2, 2)), keras.Input(())]), ValueError, r"expects features of shape \(batch, dim\) with a known dim. Received: features shape=\(None, 2, 2\)"),
    ("losses.CenterLoss", "labels of width 3", lambda t: kcl.CenterLoss(3)([keras.Input((2,)), keras.Input((3,))]), ValueError, r"expects labels of shape \(batch,\) or \(batch, 1\), class indices. Received: labels shape=\(None, 3\)"),
    ("metrics.feature_variance", "features 1-D", lambda t: metrics.feature_variance(np.zeros(5), np.zeros(5)), ValueError, r"`features` must be a non-empty 2-D array"),
    ("metrics.feature_variance", "labels too short", lambda t: metrics.feature_variance(np.ones((12, 2)), np.zeros(5)), ValueError, r"`labels` must have shape \(12,\) or \(12, 1\)"),
    ("metrics.feature_variance", "negative labels", lambda t: metrics.feature_variance(np.eye(3), [-1, 0, 1]), ValueError, r"`labels` must be class indices, integers in \[0, inf\). Received: labels\[0\]=-1"),
    ("metrics.feature_variance", "all features equal", lambda t: metrics.feature_variance(np.ones((4, 2)), [0, 0, 1, 1]), ValueError, r"`features` must not all be equal"),
    ("metrics.class_means", "num_classes too small", lambda t: metrics.class_means(np.eye(3), [0, 1, 2], num_classes=2), ValueError, r"`num_classes` must exceed every label. Received: num_classes=2 with a label 2"),
    ("metrics.class_means", "fractional labels", lambda t: metrics.class_means(np.eye(3), [0.5, 1, 2]), ValueError, r"`labels` must be class indices"),
    # bench
    ("bench.forward_flops", "not a model", lambda t: bench.forward_flops("cnn"), ValueError, r"`model` must be a keras.Model. Received: model='cnn' of type str"),
    ("bench.forward_flops", "unbuilt model", lambda t: bench.forward_flops(keras.Sequential([keras.layers.Dense(2)])), ValueError, r"`model` must be built \(call it once or give it an Input\)"),
    ("bench.training_flops", "samples zero", lambda t: bench.training_flops(models.mlp(), samples=0), ValueError, r"`samples` must be an integer >= 1. Received: samples=0"),
    ("bench.training_flops", "backward_factor negative", lambda t: bench.training_flops(models.mlp(), 10, backward_factor=-1), ValueError, r"`backward_factor` must be a number in \[0, inf\). Received: backward_factor=-1"),
    ("bench.matmul_rate", "size below 16", lambda t: bench.matmul_rate(size=8), ValueError, r"`size` must be an integer >= 16. Received: size=8"),
    ("bench.matmul_rate", "repeats zero", lambda t: bench.matmul_rate(size=64, repeats=0), ValueError, r"`repeats` must be an integer >= 1. Received: repeats=0"),
    ("bench.EpochClock", "target as a percentage", lambda t: bench.EpochClock(np.zeros((4, 4)), np.zeros(4), target=99), ValueError, r"`target` must be a number in \(0, 1\]. Received: target=99"),
    ("bench.EpochClock", "too few labels", lambda t: bench.EpochClock(np.zeros((4, 4)), np.zeros(2)), ValueError, r"`y_eval` must hold one label per input \(4\)"),
    ("bench.EpochClock", "no inputs", lambda t: bench.EpochClock(np.zeros((0, 4)), np.zeros(0)), ValueError, r"`x_eval` must be a non-empty batch of inputs. Received: x_eval with shape \(0, 4\)"),
    ("bench.EpochClock", "stop_at_target a string", lambda t: bench.EpochClock(np.zeros((4, 4)), np.zeros(4), stop_at_target="yes"), ValueError, r"`stop_at_target` must be True or False. Received: stop_at_target='yes'"),
    ("bench.EpochClock", "stop without a target", lambda t: bench.EpochClock(np.zeros((4, 4)), np.zeros(4), stop_at_target=True), ValueError, r"`stop_at_target=True` needs a `target`. Received: target=None"),
]


def public_names():
    names = set()
    for mod in MODULES:
        module = importlib.import_module(f"kerascool_lib.{mod}")
        names.update(f"{mod}.{name}" for name in module.__all__)
    return names


@pytest.mark.parametrize(
    "name, call, exc, pattern",
    [case[:1] + case[2:] for case in CASES],
    ids=[f"{c[0]}: {c[1]}" for c in CASES],
)
def test_bad_input_is_refused_with_a_clear_message(name, call, exc, pattern, tmp_path):
    with pytest.raises(exc) as info:
        call(tmp_path)
    assert re.search(pattern, str(info.value)), f"{name}: message was {str(info.value)!r}"


def test_every_public_name_is_covered():
    covered = {case[0] for case in CASES} | set(NO_INPUT)
    assert sorted(public_names() - covered) == [], "public names without a bad-input case"
    assert sorted(covered - public_names()) == [], "cases for names that are not public"


def test_the_case_count_in_this_docstring_is_true():
    stated = int(re.search(r"Cases: (\d+)", __doc__).group(1))
    assert stated == len(CASES)


def test_case_ids_are_unique():
    ids = [f"{c[0]}: {c[1]}" for c in CASES]
    assert len(ids) == len(set(ids))
