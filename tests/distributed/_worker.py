"""Train every piece of kerascool_lib on 1 and on 2 simulated devices of one backend; print JSON.

``python tests/distributed/_worker.py tf`` (or ``jax``) sets the backend, splits the CPU into
two devices (:func:`kerascool_lib.distribute.simulate_devices`, before the backend starts),
then runs each of the ``RUNS`` below twice in this process, with the same initial weights (set
from a NumPy RNG), the same data in the same order (``shuffle=False``, or a PyDataset whose
batches are a pure function of the seed) and the same global batch:

- on 1 device: outside any distribution (TensorFlow's default strategy; no JAX distribution);
- on 2 devices: inside :func:`kerascool_lib.distribute.data_parallel` (``MirroredStrategy``
  on TensorFlow, ``keras.distribution.DataParallel`` on JAX), model built, compiled and
  trained in the block.

A run returns named arrays (weights, history, what the callbacks recorded); the last line
printed is ``DISTRIBUTED {json}``: per run, each name's largest absolute and relative
difference between the two runs (or the error), and the seconds each took. The test
``tests/distributed/test_data_parallel.py`` maps every public piece of the library to the
names it owns. Importing this file has no effect (pytest collects it for doctests).
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sys
import tempfile
import time
import traceback

GLOBAL_BATCH = 32  # 16 per device on 2 devices
TRAIN, VAL = 256, 64


def _arrays(prefix, values):
    """``{prefix/name: array}`` for a dict of numbers, lists or arrays."""
    import numpy as np

    return {f"{prefix}/{k}": np.asarray(v, dtype="float64") for k, v in values.items()}


def _weights(prefix, model):
    import keras

    return {f"{prefix}/{w.path}": keras.ops.convert_to_numpy(w).astype("float64") for w in model.weights}


def _init(model, seed):
    """Set every weight from a NumPy RNG (BatchNorm variances positive), the same on each run."""
    import numpy as np

    rng = np.random.default_rng(seed)
    values = []
    for w in model.weights:
        shape = tuple(w.shape)
        if "variance" in w.path:
            values.append(np.ones(shape, w.dtype))
        elif "int" in str(w.dtype):
            values.append(np.zeros(shape, w.dtype))
        else:
            values.append((0.3 * rng.standard_normal(shape)).astype(w.dtype))
    model.set_weights(values)


def _data():
    import kerascool_lib as kc

    return kc.data.mnist_splits("flat", train_size=TRAIN, val_size=VAL, test_size=VAL, seed=0)


# ── the runs: each builds, trains and measures inside `where` (a context manager) ───────────────


def run_layers(where, data, folder):
    """One model holding every library layer, trained with every per-epoch and per-step callback.

    The CenterLoss with the moving-average rule exchanges values between the replicas in its
    call; every layer that adds a loss comes after it in the graph (see distribute._add_loss).
    """
    import keras
    import numpy as np

    import kerascool_lib as kc

    x, y, xv, yv = data.x_train, data.y_train, data.x_val, data.y_val
    out = {}
    with where:
        keras.utils.set_random_seed(0)
        pixels = keras.Input((784,), name="pixels")
        label = keras.Input((), dtype="int32", name="label")
        h = keras.layers.Dense(32, activation="relu", name="dense_in")(pixels)
        h = kc.spectral.SpectrallyNormalized(keras.layers.Dense(32, activation="relu", name="inner"), name="spectral")(h)
        h = kc.monitors.TrackMean("squared_norm", name="h_norm")(h)
        h = kc.probes.Record("mean_square", name="record")(h)
        tied = kc.tied.TiedDense(16, activation="tanh", name="tied")
        code = tied(h)
        code = kc.losses.CenterLoss(10, lamb=0.1, alpha=0.5, name="centers_avg")([code, label])
        first, second = kc.layers.SplitVector(name="split")(code)
        first = kc.layers.ScaledL2Normalization(name="scaled_l2")(first)
        second = kc.losses.CenterLoss(10, lamb=0.1, name="centers_grad")([second, label])
        recon = kc.targetless.ReconstructionLoss("mse", weight=0.5, name="reconstruction")([h, tied(code, reverse=True)])
        joined = keras.layers.Concatenate(name="joined")([first, second, recon])
        logits = keras.layers.Dense(10, name="logits")(joined)
        model = kc.monitors.Monitored([pixels, label], logits, name="every_layer")
        warmup_then_decay = kc.schedules.join_schedules(
            [kc.schedules.LinearWarmup(3e-3, 4), keras.optimizers.schedules.CosineDecay(3e-3, 12)], [4])
        model.compile(keras.optimizers.Adam(warmup_then_decay),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        _init(model, 1)
        val = ([xv, yv], yv)
        callbacks = {
            "scheduler": kc.callbacks.VariableScheduler(model.get_layer("centers_grad").lamb,
                                                        lambda step: 0.1 if step < 6 else 0.05, per="step"),
            "recorder": kc.callbacks.LearningRateRecorder(),
            "ema": kc.ema.ExponentialMovingAverage(0.9, validation_data=val, batch_size=GLOBAL_BATCH),
            "keep": kc.callbacks.EvaluateAndKeepBest(
                val, lambda t, p: float(np.mean(np.argmax(p, -1) == t)), "val_custom_acc",
                filepath=folder / "best.weights.h5", restore_best_weights=True, batch_size=GLOBAL_BATCH),
            "stats": kc.probes.ActivationStats([xv, yv], ["dense_in", "joined"], batch_size=GLOBAL_BATCH),
            "clock": kc.bench.EpochClock([xv, yv], yv, batch_size=GLOBAL_BATCH),
            "require": kc.targetless.RequireLoss(),
        }
        history = model.fit([x, y], y, batch_size=GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0,
                            validation_data=val, callbacks=list(callbacks.values()))
        out.update(_weights("weights", model))
        out.update(_arrays("history", history.history))
        out.update(_arrays("evaluate", model.evaluate([xv, yv], yv, batch_size=GLOBAL_BATCH, verbose=0, return_dict=True)))
        cb = callbacks
        out.update(_arrays("scheduler", {"values": cb["scheduler"].values}))
        out.update(_arrays("recorder", {"steps": cb["recorder"].steps, "learning_rates": cb["recorder"].learning_rates}))
        out.update({f"ema/{i}": w for i, w in enumerate(cb["ema"].averaged_weights())})
        out.update(_arrays("keep", {"history": cb["keep"].history, "best_epoch": cb["keep"].best_epoch}))
        out.update(_arrays("stats", cb["stats"].history))
        out.update(_arrays("clock", {"accuracy": [r["accuracy"] for r in cb["clock"].records]}))
        features = keras.ops.convert_to_numpy(kc.probes.sub_model(model, ["joined"])([xv, yv])["joined"])
        predicted = np.argmax(model.predict([xv, yv], batch_size=GLOBAL_BATCH, verbose=0), -1)
        out.update(_arrays("metrics", {
            "confusion_matrix": kc.metrics.confusion_matrix(yv, predicted),
            "class_means": kc.metrics.class_means(features, yv, 10),
            "feature_variance": list(kc.metrics.feature_variance(features, yv)),
            "spectral_norms": list(kc.spectral.spectral_norms(model).values()),
        }))
    return out


def run_cnn(where, data, folder):
    """The reference CNN (BatchNorm on the global batch) and its recipe, fed by a PyDataset."""
    import keras

    import kerascool_lib as kc

    out = {}
    with where:
        keras.utils.set_random_seed(0)
        model = kc.distribute.sync_batch_norm(kc.models.cnn(filters=(8, 16), dense=32))
        kc.models.CNN_RECIPE.compile(model, train_size=TRAIN, epochs=1)
        _init(model, 2)
        batches = kc.feeding.AugmentedMnist(data.x_train.reshape(-1, 28, 28), data.y_train, batch_size=GLOBAL_BATCH, seed=0)
        history = model.fit(batches, epochs=1, shuffle=False, verbose=0)  # shuffle=True would reorder the batches
        out.update(_weights("cnn", model))
        out.update(_arrays("cnn_history", history.history))
    return out


def run_siamese_and_surgery(where, data, folder):
    """A siamese MLP on pairs with the contrastive loss, warmed up by the per-batch callback;
    then its embedding cut, extended and retrained as a classifier (model surgery)."""
    import keras
    import numpy as np

    import kerascool_lib as kc

    a, b, same = kc.pairs.make_pairs(data.x_train, data.y_train, TRAIN, seed=0)
    va, vb, vsame = kc.pairs.make_pairs(data.x_val, data.y_val, VAL, seed=1)
    out = {}
    with where:
        keras.utils.set_random_seed(0)
        embed = kc.models.mlp(hidden=(32,), dropout=0.0, num_classes=8, name="embed")
        left, right = keras.Input((784,), name="left"), keras.Input((784,), name="right")
        distance = keras.layers.Lambda(
            lambda t: keras.ops.sqrt(keras.ops.sum(keras.ops.square(t[0] - t[1]), -1, keepdims=True) + 1e-9),
            output_shape=(1,), name="distance")([embed(left), embed(right)])
        model = keras.Model([left, right], distance, name="siamese")
        model.compile(keras.optimizers.Adam(1e-3), kc.pairs.ContrastiveLoss(margin=1.0))
        _init(model, 4)
        warmup, recorder = kc.callbacks.LinearWarmupCallback(1e-2, warmup_steps=6), kc.callbacks.LearningRateRecorder()
        history = model.fit([a, b], same, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0,
                            callbacks=[warmup, recorder])
        distances = model.predict([va, vb], batch_size=GLOBAL_BATCH, verbose=0)
        threshold = kc.pairs.best_threshold(distances, vsame)
        out.update(_weights("siamese", model))
        out.update(_arrays("siamese_history", history.history))
        out.update(_arrays("warmup", {"learning_rates": recorder.learning_rates}))
        out.update(_arrays("pair_scores", {"threshold": threshold,
                                           "accuracy": kc.pairs.pair_accuracy(distances, vsame, threshold)}))
        # surgery on the trained embedding: cut it, insert a layer, replace the head, retrain
        front, back = kc.surgery.split_model(embed, "dense_1")
        out["surgery/back_of_front"] = keras.ops.convert_to_numpy(back(front(data.x_val))).astype("float64")
        longer = kc.surgery.insert_after(embed, "dense_1", keras.layers.Dense(32, activation="relu", name="extra"))
        rebuilt = kc.surgery.replace_layer(longer, "logits", keras.layers.Dense(10, name="new_logits"))
        rng = np.random.default_rng(3)
        for name in ("extra", "new_logits"):
            layer = rebuilt.get_layer(name)
            layer.set_weights([(0.1 * rng.standard_normal(w.shape)).astype("float32") for w in layer.get_weights()])
        rebuilt.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
        history = rebuilt.fit(data.x_train, data.y_train, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
        out.update(_weights("surgery", rebuilt))
        out.update(_arrays("surgery_history", history.history))
    return out


def run_compute_loss(where, data, folder):
    """The control: a term added by hand in ``compute_loss``, as written naively and divided by
    :func:`kerascool_lib.distribute.num_replicas` (TensorFlow counts the naive one per replica)."""
    import keras
    from keras import ops

    import kerascool_lib as kc

    class WithPenalty(keras.Model):
        def __init__(self, divide, **kwargs):
            super().__init__(**kwargs)
            self.divide = divide

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training)  # divided by Keras
            penalty = 0.5 * ops.mean(ops.square(y_pred))  # a mean over this replica's samples
            return loss + (penalty / kc.distribute.num_replicas() if self.divide else penalty)

    out = {}
    with where:
        for divide, name in ((False, "naive"), (True, "divided")):
            keras.utils.set_random_seed(0)
            inputs = keras.Input((784,))
            model = WithPenalty(divide, inputs=inputs, outputs=keras.layers.Dense(10, name="logits")(inputs), name=name)
            model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            _init(model, 5)
            history = model.fit(data.x_train, data.y_train, batch_size=GLOBAL_BATCH, shuffle=False, verbose=0)
            out.update(_weights(name, model))
            out.update(_arrays(f"{name}_history", history.history))
    return out


RUNS = {"every_layer": run_layers, "reference_cnn": run_cnn, "siamese_and_surgery": run_siamese_and_surgery,
        "compute_loss_control": run_compute_loss}


# ── compare ─────────────────────────────────────────────────────────────────────────────────────


def compare(one: dict, two: dict) -> dict:
    """Per name: the largest ``|a - b|`` and the largest ``|a - b| / max(|a|, 1)``."""
    import numpy as np

    if sorted(one) != sorted(two):
        return {"error": f"different names: {sorted(set(one) ^ set(two))[:10]}"}
    diffs = {}
    for name in one:
        a, b = np.asarray(one[name], "float64"), np.asarray(two[name], "float64")
        if a.shape != b.shape:
            diffs[name] = {"error": f"shapes {a.shape} and {b.shape}"}
            continue
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            diffs[name] = {"error": "not finite"}
            continue
        gap = np.abs(a - b)
        diffs[name] = {"abs": float(gap.max(initial=0.0)),
                       "rel": float((gap / np.maximum(np.abs(a), 1.0)).max(initial=0.0))}
    return diffs


def main(backend: str) -> dict:
    started = time.perf_counter()  # after Python's start-up
    os.environ["KERAS_BACKEND"] = {"tf": "tensorflow", "tensorflow": "tensorflow", "jax": "jax"}[backend]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERASCOOL_PROFILE", "smoke")
    import keras

    import kerascool_lib as kc

    devices = kc.distribute.simulate_devices(2)
    data = _data()
    report = {"backend": keras.backend.backend(), "devices": devices, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in RUNS.items():
            entry = {}
            try:
                results = []
                for count, where in ((1, contextlib.nullcontext()), (2, kc.distribute.data_parallel(devices))):
                    wall, cpu = time.perf_counter(), time.process_time()
                    results.append(run(where, data, pathlib.Path(tmp)))
                    entry[f"seconds_{count}"] = round(time.perf_counter() - wall, 2)
                    entry[f"cpu_seconds_{count}"] = round(time.process_time() - cpu, 2)
                entry["diffs"] = compare(*results)
            except Exception:  # noqa: BLE001 -- reported to the test, which fails on it
                entry["error"] = traceback.format_exc()[-3000:]
            report["runs"][name] = entry
    report["seconds"] = round(time.perf_counter() - started, 2)
    report["cpu_seconds"] = round(time.process_time(), 2)  # of this process, imports included
    return report


if __name__ == "__main__":
    print("DISTRIBUTED " + json.dumps(main(sys.argv[1])), flush=True)
