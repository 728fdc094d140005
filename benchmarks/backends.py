"""TensorFlow against JAX on this machine: the reference CNN and the posts' MLP, side by side.

    python benchmarks/backends.py                 # writes benchmarks/results/<machine>/backends.json
    python benchmarks/backends.py --quick --out /tmp/backends   # a tiny slice: checks the harness

A process holds one Keras backend, so every measurement is a fresh subprocess with
``KERAS_BACKEND`` set, and the two backends alternate (TensorFlow first for even seeds, JAX
first for odd ones) so that a slow phase of a shared machine hits both alike. Each backend
keeps Keras's default ``jit_compile="auto"``: no XLA for TensorFlow on a CPU (its own kernels,
oneDNN on x86), XLA for JAX. The race's protocol (``race.py``): the same 55,000 training
images, no validation inside a timed epoch, the 10,000 test images evaluated outside the
timed span, the first epoch (tracing and compiling) counted in the time to the target.

- ``train``: ``kc.models.cnn`` + ``CNN_RECIPE`` for one epoch (time to 99.0%), then one more,
  already compiled epoch (the steady epoch time); ``kc.models.mlp`` + ``MLP_FAST_RECIPE`` for
  its 4 epochs (time to 98.0%; steady epochs are the 2nd to 4th).
- ``steps``: per-step time of short fits (3 epochs of a few dozen steps, the last two timed):
  the MLP on JAX without ``jit_compile`` (what ``jit_compile=False`` costs), and the CNN's step
  under variants that locate JAX's gap: TensorFlow without oneDNN, TensorFlow with XLA, and
  JAX with XLA's CPU flags.
- ``convs``: the CNN's two convolutions and two max-poolings alone (batch 128), per backend:
  the forward pass and the gradients, each timed on its own; on JAX in the NCHW layout too.

Only ratios taken side by side mean anything on a shared machine: each record keeps the CPU
seconds per wall second and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from race import RESULTS, command_line, load_average, machine, machine_slug, write_result

HERE = pathlib.Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax")

#: The step-time variants: (name, backend, extra environment, jit_compile or "auto", model).
STEP_VARIANTS = (
    ("mlp, TensorFlow (default)", "tensorflow", {}, "auto", "mlp"),
    ("mlp, JAX (default: XLA)", "jax", {}, "auto", "mlp"),
    ("mlp, JAX, jit_compile=False", "jax", {}, False, "mlp"),
    ("cnn, TensorFlow (default: oneDNN, no XLA)", "tensorflow", {}, "auto", "cnn"),
    ("cnn, TensorFlow without oneDNN", "tensorflow", {"TF_ENABLE_ONEDNN_OPTS": "0"}, "auto", "cnn"),
    ("cnn, TensorFlow with XLA (jit_compile=True)", "tensorflow", {}, True, "cnn"),
    ("cnn, JAX (default: XLA)", "jax", {}, "auto", "cnn"),
    ("cnn, JAX, XLA without the thunk runtime", "jax", {"XLA_FLAGS": "--xla_cpu_use_thunk_runtime=false"}, "auto",
     "cnn"),
    ("cnn, JAX, XLA with oneDNN", "jax", {"XLA_FLAGS": "--xla_cpu_use_onednn=true"}, "auto", "cnn"),
    ("cnn, JAX, XLA without XNNPACK", "jax", {"XLA_FLAGS": "--xla_cpu_use_xnnpack=false"}, "auto", "cnn"),
)


# ---------------------------------------------------------------- in the worker process


def _splits(layout, quick, train_size=None):
    import kerascool_lib as kc

    if quick:
        return kc.mnist_splits(layout, train_size=train_size or 256, val_size=0, test_size=200, seed=0)
    return kc.mnist_splits(layout, train_size=train_size, val_size=5000, seed=0)


def _fit_clock(model, x, y, x_test, y_test, batch_size, epochs, target=None, stop=False):
    from kerascool_lib import bench

    clock = bench.EpochClock(x_test, y_test, target=target, stop_at_target=stop)
    model.fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=[clock], verbose=0)
    return clock


def job_train(spec):
    """The reference CNN (1 epoch, then 1 compiled epoch) or the MLP's fast recipe (4 epochs)."""
    import keras

    import kerascool_lib as kc

    keras.utils.set_random_seed(spec["seed"])
    cnn = spec["model"] == "cnn"
    d = _splits("image" if cnn else "flat", spec["quick"])
    recipe = kc.models.CNN_RECIPE if cnn else kc.models.MLP_FAST_RECIPE
    epochs = 1 if cnn else recipe.epochs
    model = kc.models.cnn() if cnn else kc.models.mlp()
    recipe.compile(model, len(d.x_train), epochs=epochs)  # jit_compile="auto": the backend's default
    target = 0.99 if cnn else 0.98
    clock = _fit_clock(model, d.x_train, d.y_train, d.x_test, d.y_test, recipe.batch_size, epochs, target)
    records = clock.records
    if cnn:  # one more epoch, compiled already: the steady epoch time
        records = records + _fit_clock(model, d.x_train, d.y_train, d.x_test, d.y_test, recipe.batch_size, 1).records
    steady = [r["train_seconds"] for r in records[1:]]
    return {"time_to_target": clock.time_to_target, "target": target,
            "accuracy_epoch_1": records[0]["accuracy"], "first_epoch_seconds": records[0]["train_seconds"],
            "steady_epoch_seconds": statistics.median(steady), "epochs": records,
            "steps_per_epoch": recipe.steps_per_epoch(len(d.x_train)), "jit_compile": bool(model.jit_compile)}


def job_steps(spec):
    """Per-step time of 3 short epochs (the last two timed), under the variant's settings."""
    import keras

    import kerascool_lib as kc

    keras.utils.set_random_seed(spec["seed"])
    cnn = spec["model"] == "cnn"
    steps, batch = spec["steps"], 128
    d = _splits("image" if cnn else "flat", spec["quick"], train_size=steps * batch)
    model = kc.models.cnn() if cnn else kc.models.mlp()
    recipe = kc.models.CNN_RECIPE if cnn else kc.models.MLP_FAST_RECIPE
    recipe.compile(model, len(d.x_train), epochs=3, jit_compile=spec["jit_compile"])
    started = time.perf_counter()
    clock = _fit_clock(model, d.x_train, d.y_train, d.x_test[:200], d.y_test[:200], batch, 3)
    per_step = [r["train_seconds"] / steps for r in clock.records[1:]]
    return {"step_seconds": statistics.median(per_step), "first_epoch_seconds": clock.records[0]["train_seconds"],
            "cpu_per_wall": statistics.median(r["cpu_per_wall"] for r in clock.records[1:]),
            "jit_compile": bool(model.jit_compile), "wall_seconds": time.perf_counter() - started}


def job_convs(spec):
    """The CNN's two convolutions and two max-poolings alone (batch ``spec["batch"]``): ms per
    call of the forward pass, of the gradient with respect to the input (not for conv_1: its
    input is the data) and, for the convolutions, with respect to the kernel, each compiled on
    its own."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    layers = {"conv_1 5x5x1->32 on 28x28": ((28, 28, 1), (5, 5, 1, 32), False),
              "conv_2 3x3x32->64 on 12x12": ((12, 12, 32), (3, 3, 32, 64), True),
              "pool_1 2x2 max on 24x24x32": ((24, 24, 32), None, True),
              "pool_2 2x2 max on 10x10x64": ((10, 10, 64), None, True)}
    formats = ["channels_last"] + (["channels_first"] if backend == "jax" else [])
    rng = np.random.default_rng(0)
    out = {}
    for name, (shape, kshape, input_grad) in layers.items():
        for fmt in formats:
            x = rng.standard_normal((spec["batch"], *shape), dtype=np.float32)
            if fmt == "channels_first":
                x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            w = rng.standard_normal(kshape or (1,), dtype=np.float32) * 0.1
            parts = ("forward",) + ("input gradient",) * input_grad + ("kernel gradient",) * (kshape is not None)
            for part in parts:
                call = _conv_fn(backend, fmt, part, pool=kshape is None)
                call(x, w)  # compile / warm up
                times = []
                for _ in range(spec["repeats"]):
                    start = time.perf_counter()
                    call(x, w)
                    times.append(time.perf_counter() - start)
                out[f"{name}, {'NHWC' if fmt == 'channels_last' else 'NCHW'}, {part}"] = 1e3 * statistics.median(times)
    return {"ms": out}


def _conv_fn(backend, data_format, part, pool=False):
    """A compiled function of ``(x, w)`` returning one number (so that nothing large is copied
    out): the sum of relu(conv(x, w)) (with ``pool``: of max_pool(x) * w, a 2x2 max-pooling),
    or the sum of its gradient with respect to x or w."""
    import keras

    def loss(x, w):
        if pool:
            return keras.ops.sum(keras.ops.max_pool(x, 2, 2, data_format=data_format) * w)
        return keras.ops.sum(keras.ops.relu(keras.ops.conv(x, w, padding="valid", data_format=data_format)))

    wrt = {"input gradient": 0, "kernel gradient": 1}.get(part)
    if backend == "jax":
        import jax

        grad = jax.grad(loss, argnums=wrt) if wrt is not None else None
        fn = jax.jit(loss if wrt is None else lambda x, w: keras.ops.sum(grad(x, w)))
        return lambda x, w: float(fn(x, w))
    import tensorflow as tf

    @tf.function
    def fn(x, w):
        if wrt is None:
            return loss(x, w)
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            value = loss(x, w)
        return tf.reduce_sum(tape.gradient(value, [x, w][wrt]))

    return lambda x, w: float(fn(tf.constant(x), tf.constant(w)))


JOBS = {"train": job_train, "steps": job_steps, "convs": job_convs}


def worker(spec: dict) -> dict:
    import keras

    assert keras.backend.backend() == spec["backend"], (keras.backend.backend(), spec["backend"])
    cpu, started, load_before = time.process_time(), time.perf_counter(), load_average()
    result = JOBS[spec["job"]](spec)
    wall = time.perf_counter() - started
    return {**spec, **result, "backend_version": _backend_version(spec["backend"]), "load_before": load_before,
            "load_after": load_average(), "process_cpu_per_wall": (time.process_time() - cpu) / wall}


def _backend_version(backend):
    module = __import__(backend)
    return module.__version__


# ---------------------------------------------------------------- in the parent process


def launch(spec: dict, env_extra=None) -> dict:
    """Run one job in a fresh process on ``spec["backend"]``; return its record."""
    env = {**os.environ, "KERAS_BACKEND": spec["backend"], "TF_CPP_MIN_LOG_LEVEL": "2", **(env_extra or {})}
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "result.json"
        done = subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve()), "--worker", json.dumps(spec),
                               "--result", str(out)], env=env, capture_output=True, text=True, cwd=HERE.parent)
        if done.returncode != 0:
            raise RuntimeError(f"{spec} failed:\n{done.stderr[-3000:]}")
        record = json.loads(out.read_text())
    record["env"] = env_extra or {}
    return record


def summarize(records: list[dict]) -> dict:
    """Medians per backend and the JAX / TensorFlow ratios, paired by seed."""
    out = {}
    train = [r for r in records if r["job"] == "train"]
    for model in dict.fromkeys(r["model"] for r in train):
        mine = {b: {r["seed"]: r for r in train if r["model"] == model and r["backend"] == b} for b in BACKENDS}
        seeds = sorted(set(mine["tensorflow"]) & set(mine["jax"]))
        row = {}
        for b in BACKENDS:
            rs = [mine[b][s] for s in seeds]
            ttt = [r["time_to_target"] for r in rs]
            row[b] = {"steady_epoch_seconds": statistics.median(r["steady_epoch_seconds"] for r in rs),
                      "first_epoch_seconds": statistics.median(r["first_epoch_seconds"] for r in rs),
                      "time_to_target": ttt, "accuracy_epoch_1": [r["accuracy_epoch_1"] for r in rs],
                      "jit_compile": rs[0]["jit_compile"],
                      "cpu_per_wall": statistics.median(e["cpu_per_wall"] for r in rs for e in r["epochs"])}
        for key in ("steady_epoch_seconds", "first_epoch_seconds", "time_to_target"):
            ratios = [mine["jax"][s][key] / mine["tensorflow"][s][key] for s in seeds
                      if mine["jax"][s][key] and mine["tensorflow"][s][key]]
            row[f"jax / tensorflow, {key}"] = {"median": statistics.median(ratios) if ratios else None,
                                               "by_seed": ratios}
        row["seeds"], row["target"] = seeds, next(r["target"] for r in train if r["model"] == model)
        out[model] = row
    steps = [r for r in records if r["job"] == "steps"]
    out["steps"] = {name: {"median_step_ms": 1e3 * statistics.median(r["step_seconds"] for r in rs),
                           "cpu_per_wall": statistics.median(r["cpu_per_wall"] for r in rs), "runs": len(rs)}
                    for name in dict.fromkeys(r["name"] for r in steps)
                    for rs in [[r for r in steps if r["name"] == name]]}
    convs = [r for r in records if r["job"] == "convs"]
    out["convs"] = {b: {k: statistics.median(r["ms"][k] for r in rs) for k in rs[0]["ms"]}
                    for b in BACKENDS for rs in [[r for r in convs if r["backend"] == b]] if rs}
    return out


def main(argv=None) -> int:
    parser = command_line(__doc__, "tiny slices, one seed: checks the harness")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(JOBS),
                        help="job kinds not to run again: their records are kept from the stored backends.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        record = worker(json.loads(args.worker))
        pathlib.Path(args.result).write_text(json.dumps(record))
        return 0
    info = machine()
    out = pathlib.Path(args.out) if args.out else RESULTS / machine_slug(info["cpu"], info["cores"])
    seeds = [0] if args.quick else args.seeds
    quick = args.quick
    steps, repeats = (3, 3) if quick else (40, 2)
    kept, kept_from = [], None
    if args.skip and (out / "backends.json").is_file():
        stored = json.loads((out / "backends.json").read_text())
        kept = [r for r in stored["records"] if r["job"] in args.skip]
        kept_from = {key: stored["machine"].get(key) for key in ("date", "load_average", "load_average_end")}
    records = []

    partial = out / ".backends.partial.jsonl"  # every record so far: a crash late in the run loses nothing
    out.mkdir(parents=True, exist_ok=True)
    partial.write_text("")

    def run(spec, env=None):
        record = launch({**spec, "quick": quick}, env)
        records.append(record)
        with partial.open("a") as f:
            f.write(json.dumps(record) + "\n")
        what = record.get("name") or (f"{record['model']} seed {record['seed']}" if "model" in record else "")
        brief = {k: record[k] for k in ("time_to_target", "steady_epoch_seconds", "step_seconds", "ms")
                 if k in record}
        print(f"{record['backend']:10} {record['job']:5} {what}: {brief} load {record['load_after']}", flush=True)

    if "train" not in args.skip:
        for i, seed in enumerate(seeds):
            for model in ("mlp",) if quick else ("cnn", "mlp"):
                for backend in BACKENDS[::1 if i % 2 == 0 else -1]:
                    run({"job": "train", "backend": backend, "model": model, "seed": seed})
    for rep in range(1 if quick else repeats):
        if "steps" not in args.skip:
            variants = STEP_VARIANTS[:3] if quick else STEP_VARIANTS[::1 if rep % 2 == 0 else -1]  # none always first
            for name, backend, env, jit, model in variants:
                run({"job": "steps", "name": name, "backend": backend, "jit_compile": jit, "model": model,
                     "steps": steps, "seed": 0}, env)
        if "convs" not in args.skip:
            for backend in BACKENDS[::1 if rep % 2 == 0 else -1]:
                run({"job": "convs", "backend": backend, "batch": 128, "repeats": 5 if quick else 30})
    info["load_average_end"] = load_average()
    records = kept + records
    result = {"machine": info, "settings": {"seeds": seeds, "quick": quick, "steps": steps, "repeats": repeats,
                                            "kept_from_an_earlier_run": sorted({r["job"] for r in kept}),
                                            "earlier_run": kept_from},
              "summary": summarize(records), "records": records}
    write_result(out, "backends.json", result)
    partial.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
