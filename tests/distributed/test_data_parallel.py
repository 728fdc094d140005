"""Every piece of kerascool_lib that trains computes the same on 2 devices as on 1, on TF and JAX.

``_worker.py`` (beside this file) runs in a fresh process per backend, so the backend of this
pytest process does not matter: it splits the CPU into two devices, trains each run of its
``RUNS`` on one device and then data-parallel on two (``MirroredStrategy`` on TensorFlow,
``keras.distribution.DataParallel`` on JAX) from the same initial weights, on the same batches
in the same order, with the same global batch of 32, and reports the differences.

``PIECES`` below is the table: each public piece of the library, the run that trains it and
the numbers it owns (name prefixes: its weights, the logs and records it writes). A piece
passes when every number it owns agrees within ``TOLERANCE``. A public layer, model, callback,
learning-rate schedule, loss or dataset class missing from the table fails
``test_every_training_class_is_in_the_table``.

The two devices share the machine's cores: these tests check numbers, not speed.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import pathlib
import pkgutil
import subprocess
import sys

import keras
import pytest

import kerascool_lib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BACKENDS = ["tf", "jax"]

#: |one device - two devices| <= TOLERANCE * max(|one device|, 1), for every number compared:
#: float32 rounding of sums taken in another order (the largest seen: 3.4e-6, the CNN's
#: kernels on TensorFlow 2.21 after 8 steps; 3.8e-5, the CNN's dense kernel on Colab's JAX
#: 0.8.1). Before the library's fixes for TensorFlow, the moving-average centers differed by
#: 0.27, the other weights by up to 0.015; a loss term counted once per replica, by 0.038.
TOLERANCE = 1e-4

#: public name -> (the worker's run that trains it, prefixes of the numbers it owns)
PIECES = {
    # layers and models
    "layers.ScaledL2Normalization": ("every_layer", ["weights/scaled_l2/"]),
    "layers.SplitVector": ("every_layer", ["weights/logits/", "metrics/class_means"]),  # no weights: what follows it
    "losses.CenterLoss": ("every_layer", ["weights/centers_avg/", "weights/centers_grad/"]),  # moving average, gradient
    "tied.TiedDense": ("every_layer", ["weights/tied/"]),  # forward and reverse
    "spectral.SpectrallyNormalized": ("every_layer", ["weights/spectral/"]),
    "spectral.spectral_norms": ("every_layer", ["metrics/spectral_norms"]),
    "monitors.TrackMean": ("every_layer", ["weights/h_norm/"]),
    "monitors.Monitored": ("every_layer", ["history/h_norm", "history/val_h_norm", "evaluate/h_norm"]),
    "probes.Record": ("every_layer", ["weights/record/"]),
    "probes.sub_model": ("every_layer", ["metrics/class_means", "metrics/feature_variance"]),
    "targetless.ReconstructionLoss": ("every_layer", ["weights/tied/reverse_bias", "history/loss", "evaluate/loss"]),
    "models.mlp": ("siamese_and_surgery", ["siamese/"]),
    "models.cnn": ("reference_cnn", ["cnn/"]),
    "models.Recipe": ("reference_cnn", ["cnn/", "cnn_history/"]),  # CNN_RECIPE.compile
    "distribute.sync_batch_norm": ("reference_cnn", ["cnn/norm_1/", "cnn/norm_2/"]),
    "distribute.num_replicas": ("compute_loss_control", ["divided/", "divided_history/"]),
    "pairs.ContrastiveLoss": ("siamese_and_surgery", ["siamese/", "siamese_history/"]),
    # callbacks
    "callbacks.EvaluateAndKeepBest": ("every_layer", ["keep/", "history/val_custom_acc"]),  # saves, restores the best
    "callbacks.LinearWarmupCallback": ("siamese_and_surgery", ["warmup/learning_rates"]),
    "callbacks.LearningRateRecorder": ("every_layer", ["recorder/"]),
    "callbacks.VariableScheduler": ("every_layer", ["scheduler/", "history/lamb", "weights/centers_grad/lamb"]),
    "ema.ExponentialMovingAverage": ("every_layer", ["ema/", "history/val_ema_"]),
    "probes.ActivationStats": ("every_layer", ["stats/"]),
    "bench.EpochClock": ("every_layer", ["clock/accuracy"]),
    "targetless.RequireLoss": ("every_layer", ["history/loss"]),  # it lets the run train
    # learning-rate schedules
    "schedules.LinearWarmup": ("every_layer", ["recorder/learning_rates"]),
    "schedules.JoinedSchedule": ("every_layer", ["recorder/learning_rates"]),
    "schedules.join_schedules": ("every_layer", ["recorder/learning_rates"]),
    "schedules.one_cycle": ("reference_cnn", ["cnn_history/"]),  # CNN_RECIPE's schedule
    # data, metrics and model surgery
    "feeding.AugmentedMnist": ("reference_cnn", ["cnn_history/", "cnn/"]),
    "metrics.confusion_matrix": ("every_layer", ["metrics/confusion_matrix"]),
    "metrics.class_means": ("every_layer", ["metrics/class_means"]),
    "metrics.feature_variance": ("every_layer", ["metrics/feature_variance"]),
    "pairs.best_threshold": ("siamese_and_surgery", ["pair_scores/threshold"]),
    "pairs.pair_accuracy": ("siamese_and_surgery", ["pair_scores/accuracy"]),
    "surgery.split_model": ("siamese_and_surgery", ["surgery/back_of_front"]),
    "surgery.insert_after": ("siamese_and_surgery", ["surgery/extra/", "surgery_history/"]),
    "surgery.replace_layer": ("siamese_and_surgery", ["surgery/new_logits/", "surgery_history/"]),
}

#: The base classes of what trains: a public subclass of any of them must be in PIECES.
TRAINING_KINDS = (
    keras.layers.Layer,  # models too
    keras.callbacks.Callback,
    keras.optimizers.schedules.LearningRateSchedule,
    keras.losses.Loss,
    keras.utils.PyDataset,
)


def public_training_classes() -> list[str]:
    """``module.Name`` of every class in a public module's ``__all__`` that is one of TRAINING_KINDS."""
    found = []
    for info in pkgutil.iter_modules(kerascool_lib.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"kerascool_lib.{info.name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, TRAINING_KINDS):
                found.append(f"{info.name}.{name}")
    return sorted(found)


# ── the workers: one process per backend, both started at the first test that needs one ──────

_REPORTS: dict = {}


def _start(backend):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERASCOOL_PROFILE": "smoke",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("KERAS_BACKEND", None)  # the worker sets its own
    return subprocess.Popen([sys.executable, str(HERE / "_worker.py"), backend], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def report(backend) -> dict:
    """The worker's report for ``backend`` ("tf" or "jax"); the workers run side by side."""
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed: the data-parallel checks on Keras's JAX backend need `pip install jax`")
    if backend not in _REPORTS:
        wanted = [b for b in BACKENDS if b not in _REPORTS and (b != "jax" or importlib.util.find_spec("jax"))]
        procs = {b: _start(b) for b in wanted}
        for b, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=1800)
            lines = [line for line in stdout.splitlines() if line.startswith("DISTRIBUTED ")]
            _REPORTS[b] = json.loads(lines[-1][len("DISTRIBUTED "):]) if lines else {
                "error": f"exit {proc.returncode}\n{stdout[-3000:]}\n{stderr[-3000:]}"}
    result = _REPORTS[backend]
    assert "error" not in result, result["error"]
    return result


def _numbers(result, run, prefixes=("",)):
    entry = result["runs"][run]
    assert "error" not in entry, f"the run {run!r} failed:\n{entry['error']}"
    return {k: v for k, v in entry["diffs"].items() if any(k.startswith(p) for p in prefixes)}


def _assert_equal(numbers, what):
    assert numbers, f"{what}: no numbers were compared"
    broken = {k: v for k, v in numbers.items() if "error" in v}
    assert not broken, f"{what}: {broken}"
    off = {k: v["rel"] for k, v in numbers.items() if v["rel"] > TOLERANCE}
    assert not off, f"{what}: 1 and 2 devices differ by more than {TOLERANCE} (relative): {off}"


# ── the tests ────────────────────────────────────────────────────────────────────────────────


def test_every_training_class_is_in_the_table():
    missing = sorted(set(public_training_classes()) - set(PIECES))
    assert not missing, (
        f"public pieces of kerascool_lib that train but are not checked on 2 devices: {missing}. "
        "Train them in a run of tests/distributed/_worker.py and add them to PIECES.")


def test_the_table_names_public_pieces():
    for name in PIECES:
        module, _, attr = name.partition(".")
        assert attr in importlib.import_module(f"kerascool_lib.{module}").__all__, name


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("piece", sorted(PIECES))
def test_piece_is_the_same_on_two_devices(piece, backend):
    run, prefixes = PIECES[piece]
    _assert_equal(_numbers(report(backend), run, prefixes), f"{piece} on {backend}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_number_of_every_run_is_the_same(backend):
    result = report(backend)
    assert result["devices"] == (["/device:CPU:0", "/device:CPU:1"] if backend == "tf" else ["cpu:0", "cpu:1"])
    for run in result["runs"]:
        numbers = _numbers(result, run)
        if run == "compute_loss_control":  # the naive model differs on TensorFlow: see below
            numbers = {k: v for k, v in numbers.items() if k.startswith("divided")}
        _assert_equal(numbers, f"{run} on {backend}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_checks_see_a_real_difference(backend):
    """The control: a term added in compute_loss without dividing it by num_replicas() counts
    once per replica on TensorFlow (so these checks can fail); JAX computes it once."""
    numbers = _numbers(report(backend), "compute_loss_control", ("naive/",))
    worst = max(v["rel"] for v in numbers.values())
    if backend == "tf":
        assert worst > 100 * TOLERANCE, numbers
    else:
        assert worst <= TOLERANCE, numbers


def test_the_workers_fit_their_budget():
    """Both workers together: under 2 minutes of 2 cores (CPU seconds, imports included)."""
    cpu = {b: report(b)["cpu_seconds"] for b in BACKENDS if b != "jax" or importlib.util.find_spec("jax")}
    assert sum(cpu.values()) < 240, cpu
