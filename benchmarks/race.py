"""The benchmark race behind the book's Benchmarks appendix (``make bench``).

    python benchmarks/race.py                       # the stored run: benchmarks/results/<machine>/
    python benchmarks/race.py --quick --out /tmp/race   # a tiny slice, seconds: checks the harness
    python benchmarks/race.py --help                # seeds, slices, --only CONTENDER...

Each *contender* is a model and the recipe that trains it. One timing protocol for all of them
(:data:`PROTOCOL`): the same in-memory float32 training arrays (55,000 images), no validation
pass inside a timed epoch, the test evaluation (10,000 images) outside the timed span
(:class:`kerascool_lib.bench.EpochClock`), and the first epoch, which traces the training step,
counted in the time to the target. Runs alternate (seed 0 of every contender, then seed 1, ...)
in one process through ``model.fit``, so slow phases of a shared machine hit every contender
alike; the load average is recorded before and after each run. Results go to ``race.jsonl``
(one line per epoch and per run), ``summary.json``, ``summary.md`` and ``race.png``
(:mod:`race_summary`). It uses the library's public API (``kerascool_lib.data``, ``models``,
``bench``) like any other program.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from race_summary import markdown, plot, read_records, summarize

@dataclasses.dataclass(frozen=True)
class Contender:
    """One row of the race: how to build, compile and fit a model, and what it races to."""

    key: str
    title: str
    build: Callable
    compile: Callable  # (model, train_size, epochs) -> None
    batch_size: int
    epochs: int
    target: float
    seeds: tuple
    layout: str = "image"
    one_hot: bool = False
    stop_at_target: bool = False
    baseline: str | None = None  # the contender's key this one is compared with
    group: str = "CNN"


#: The timing protocol of the stored races (``settings["protocol"]`` in race.jsonl). Races stored
#: before it was numbered (protocol 1) trained the keras.io convnet on 54,000 images with its
#: ``validation_split=0.1`` pass over 6,000 more inside each timed epoch, while the reference
#: CNN trained on 55,000 with none: their time ratio is not comparable with protocol 2's.
PROTOCOL = 2
PROTOCOL_TEXT = ("every contender trains on the same 55,000 images with no validation pass inside the timed "
                 "epoch; the 10,000 test images are evaluated after each epoch, outside the timed span; the "
                 "first epoch (tracing) counts")


def keras_io_convnet():
    """The keras.io example "Simple MNIST convnet" (fchollet), exactly as published."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="keras_io_convnet")


def _keras_io_compile(model, train_size, epochs):
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])


def contenders(seeds_baseline=(0, 1, 2), seeds_reference=(0, 1, 2, 3, 4), max_epochs=None):
    """The race's rows: two CNN baselines-vs-reference pairs and the MLP pair."""
    from kerascool_lib import models

    cap = (lambda n: n) if max_epochs is None else (lambda n: min(n, max_epochs))
    cnn_recipe, mlp_recipe, fast_mlp = models.CNN_RECIPE, models.MLP_RECIPE, models.MLP_FAST_RECIPE
    return [
        Contender("keras_io_convnet", "keras.io Simple MNIST convnet (baseline)", keras_io_convnet,
                  _keras_io_compile, 128, cap(15), 0.99, tuple(seeds_baseline), one_hot=True,
                  stop_at_target=True),
        Contender("kc_cnn_1_epoch", "kc.models.cnn + CNN_RECIPE, 1 epoch", models.cnn,
                  lambda m, n, e: cnn_recipe.compile(m, n, epochs=e), cnn_recipe.batch_size, 1,
                  0.99, tuple(seeds_reference), baseline="keras_io_convnet"),
        Contender("kc_cnn_schedule", f"kc.models.cnn + CNN_RECIPE, {cnn_recipe.epochs} epochs (cpu profile)",
                  models.cnn, lambda m, n, e: cnn_recipe.compile(m, n, epochs=e), cnn_recipe.batch_size,
                  cap(cnn_recipe.epochs), 0.993, tuple(seeds_reference), baseline="keras_io_convnet"),
        Contender("posts_mlp", "the posts' MLP + MLP_RECIPE (baseline)", models.mlp,
                  lambda m, n, e: mlp_recipe.compile(m, n, epochs=e), mlp_recipe.batch_size,
                  cap(mlp_recipe.epochs), 0.98, tuple(seeds_baseline), layout="flat",
                  stop_at_target=True, group="MLP"),
        Contender("kc_mlp_fast", f"kc.models.mlp + MLP_FAST_RECIPE, {fast_mlp.epochs} epoch(s)", models.mlp,
                  lambda m, n, e: fast_mlp.compile(m, n, epochs=e), fast_mlp.batch_size,
                  cap(fast_mlp.epochs), 0.98, tuple(seeds_baseline), layout="flat",
                  baseline="posts_mlp", group="MLP"),
    ]


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (None where the system does not say)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine() -> dict:
    """Where the race ran: CPU model, cores, versions, date, load average."""
    import keras
    import tensorflow as tf

    from kerascool_lib import _machine  # the CPU model and cores, as the run card names them

    cpu = _machine.cpu_model()
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "cpu": cpu,
        "cores": _machine.cores(),
        "gpus": gpus,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "backend": keras.backend.backend(),
        "load_average": load_average(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


#: Where ``make bench`` stores its results: one folder per machine, named by :func:`machine_slug`.
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def machine_slug(cpu: str, cores: int) -> str:
    """A folder name for a machine's results: the CPU model in lower case, its words joined by
    hyphens, then the core count. ``machine_slug("AMD EPYC", 2) == "amd-epyc-2-cores"``."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"\((r|tm)\)", "", cpu.lower()))
    words = [w for w in words if w not in {"processor", "cpu"}] or ["cpu"]
    return "-".join(words + [str(int(cores)), "cores"])


def _data(train_size, test_size):
    """The arrays every contender trains on, from one verified copy of MNIST."""
    from kerascool_lib import data

    _, (x_test, y_test) = data.load_mnist()
    x_test = data.to_images(data.to_float(x_test))
    if test_size is not None:
        x_test, y_test = data.take(x_test, y_test, test_size, seed=0)
    out = {"test": (x_test, y_test)}
    for layout in ("image", "flat"):  # the same 55,000 images (or slice) for every contender
        s = data.mnist_splits(layout, train_size=train_size, val_size=5000, seed=0)
        out[layout] = (s.x_train, s.y_train)
    return out


def run_one(c: Contender, seed: int, arrays: dict, matmul_size: int = 2048) -> tuple[dict, list[dict]]:
    """Train contender ``c`` with ``seed``; return its run record and its epoch records."""
    import keras

    from kerascool_lib import bench

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    load_before = load_average()
    cpu, wall = time.process_time(), time.perf_counter()
    rate = bench.matmul_rate(size=matmul_size)
    # the CPU the matmul got: with the epochs' own, it makes a utilization per CPU second, less load-sensitive
    matmul_cpu_per_wall = (time.process_time() - cpu) / (time.perf_counter() - wall)
    x, y = arrays[c.layout]
    trained = len(x)
    x_test, y_test = arrays["test"]
    if c.layout == "flat":
        x_test = x_test.reshape(len(x_test), -1)
    if c.one_hot:
        y, y_test = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(y_test, 10)
    model = c.build()
    c.compile(model, trained, c.epochs)
    clock = bench.EpochClock(x_test, y_test, target=c.target, stop_at_target=c.stop_at_target)
    started = time.perf_counter()
    # no validation inside fit: the clock's test evaluation, outside the timed span, is every contender's
    model.fit(x, y, batch_size=c.batch_size, epochs=c.epochs, callbacks=[clock], verbose=0)
    wall = time.perf_counter() - started
    flops = bench.training_flops(model, trained)
    epochs = [{"type": "epoch", "recipe": c.key, "seed": seed, **r,
               "utilization": flops / r["train_seconds"] / rate,
               "cpu_utilization": flops / (r["train_seconds"] * r["cpu_per_wall"]) / (rate / matmul_cpu_per_wall)}
              for r in clock.records]
    record = {
        "type": "run", "recipe": c.key, "title": c.title, "group": c.group, "seed": seed,
        "baseline": c.baseline, "target": c.target, "batch_size": c.batch_size,
        "train_samples": trained, "test_samples": len(x_test), "epochs": len(clock.records),
        "flops_per_epoch": flops, "matmul_rate": rate, "matmul_cpu_per_wall": matmul_cpu_per_wall,
        "params": model.count_params(),
        "jit_compile": bool(model.jit_compile), "load_before": load_before, "load_after": load_average(),
        "accuracy_epoch_1": clock.records[0]["accuracy"], "final_accuracy": clock.records[-1]["accuracy"],
        "time_to_target": clock.time_to_target, "wall_seconds": wall,
        "epochs_to_target": next((r["epoch"] for r in clock.records if r["time_to_target"] is not None), None),
    }
    return record, epochs


def race(out_dir, *, train_size=None, test_size=None, max_epochs=None, seeds_baseline=(0, 1, 2),
         seeds_reference=(0, 1, 2, 3, 4), matmul_size=2048, only=None, log=print) -> dict:
    """Run every contender, alternating by seed; write race.jsonl, summary.json/.md, race.png.

    The files are written into a temporary folder beside ``out_dir`` and moved into it only
    when the whole race has finished: a race that fails or is interrupted half-way leaves
    the results already in ``out_dir`` (the committed ones, for ``make bench``) as they were.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _staging(out_dir) as staged:
        return _race_into(staged, train_size=train_size, test_size=test_size, max_epochs=max_epochs,
                          seeds_baseline=seeds_baseline, seeds_reference=seeds_reference,
                          matmul_size=matmul_size, only=only, log=log)


def command_line(doc: str, quick: str) -> argparse.ArgumentParser:
    """The other benchmarks' command line: their docstring, ``--out`` and ``--quick``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="results folder (default: benchmarks/results/<this machine>/)")
    parser.add_argument("--quick", action="store_true", help=quick)
    return parser


def write_result(out_dir, name: str, result: dict) -> pathlib.Path:
    """Write another benchmark's ``result`` (its records and ``"summary"``) to ``out_dir/name``
    in one step (a temporary file, then a rename), and print the summary and the path."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(path)
    print(json.dumps(result["summary"], indent=1))
    print("written:", path)
    return path


#: What a race writes, all or nothing.
RESULT_FILES = ("race.jsonl", "summary.json", "summary.md", "race.png")


@contextlib.contextmanager
def _staging(out_dir: pathlib.Path):
    """A temporary folder beside ``out_dir`` whose result files replace those in ``out_dir``
    (each with an atomic ``os.replace``) if the block finishes, and are discarded if it raises."""
    staged = pathlib.Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-"))
    try:
        yield staged
        missing = [n for n in RESULT_FILES if not (staged / n).is_file()]
        if missing:
            raise RuntimeError(f"the race wrote no {', '.join(missing)}: {out_dir} left unchanged")
        for name in RESULT_FILES:
            os.replace(staged / name, out_dir / name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _write_results(out_dir: pathlib.Path, records: list[dict]) -> dict:
    summary = summarize(records)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out_dir / "summary.md").write_text(markdown(summary) + "\n")
    plot(records, out_dir / "race.png")
    return summary


def _race_into(out_dir, *, train_size, test_size, max_epochs, seeds_baseline, seeds_reference, matmul_size,
               only, log) -> dict:
    rows = [c for c in contenders(seeds_baseline, seeds_reference, max_epochs) if only is None or c.key in only]
    import tensorflow as tf

    arrays = _data(train_size, test_size)
    info = machine()
    # Building many models in one process makes tf.function warn about retracing: expected here.
    tf_logger, level = tf.get_logger(), tf.get_logger().level
    tf_logger.setLevel("ERROR")
    info["settings"] = {"train_size": train_size, "test_size": test_size, "max_epochs": max_epochs,
                        "matmul_size": matmul_size, "protocol": PROTOCOL, "protocol_text": PROTOCOL_TEXT}
    jsonl = out_dir / "race.jsonl"
    records = [{"type": "machine", **info}]
    try:
        with jsonl.open("w") as f:
            f.write(json.dumps(records[0]) + "\n")
            for seed in sorted({s for c in rows for s in c.seeds}):
                for c in rows:
                    if seed not in c.seeds:
                        continue
                    run, epochs = run_one(c, seed, arrays, matmul_size)
                    for r in epochs + [run]:
                        f.write(json.dumps(r) + "\n")
                    f.flush()
                    records += epochs + [run]
                    ttt = "missed" if run["time_to_target"] is None else f"{run['time_to_target']:.1f} s"
                    log(f"{c.key:18s} seed {seed}: acc {run['final_accuracy']:.4f} after {run['epochs']} epoch(s), "
                        f"time to {c.target:.1%} {ttt}, cpu/wall "
                        f"{statistics.median(e['cpu_per_wall'] for e in epochs):.2f}, load {run.get('load_after')}")
    finally:
        tf_logger.setLevel(level)
    return _write_results(out_dir, records)




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="the results folder (default: benchmarks/results/<this machine>/, "
                                      "e.g. benchmarks/results/amd-epyc-2-cores/)")
    parser.add_argument("--quick", action="store_true", help="a tiny slice, one epoch, one seed: checks the harness")
    parser.add_argument("--train-size", type=int)
    parser.add_argument("--test-size", type=int)
    parser.add_argument("--max-epochs", type=int)
    parser.add_argument("--seeds-baseline", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seeds-reference", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--only", nargs="+", help="contender keys to run")
    parser.add_argument("--summarize", action="store_true",
                        help="only rebuild summary.json/.md and race.png from OUT/race.jsonl")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no start-up logs
    partial = args.quick or args.only or any(
        getattr(args, name) is not None for name in ("train_size", "test_size", "max_epochs"))
    if args.out is None:
        if partial and not args.summarize:
            parser.error("a partial race (--quick, --only, --train-size, --test-size, --max-epochs) needs "
                         "--out DIR: benchmarks/results/ holds full races only")
        from kerascool_lib import _machine

        args.out = str(RESULTS / machine_slug(_machine.cpu_model(), _machine.cores()))
    if args.summarize:
        out = pathlib.Path(args.out)
        records = read_records(out / "race.jsonl")
        with _staging(out) as staged:
            shutil.copyfile(out / "race.jsonl", staged / "race.jsonl")
            summary = _write_results(staged, records)
        print(markdown(summary))
        return 0
    kwargs = {}
    if args.quick:
        kwargs = {"train_size": 300, "test_size": 200, "max_epochs": 1, "seeds_baseline": (0,),
                  "seeds_reference": (0,), "matmul_size": 256}
    for name in ("train_size", "test_size", "max_epochs"):
        if getattr(args, name) is not None:
            kwargs[name] = getattr(args, name)
    if not args.quick:
        kwargs.setdefault("seeds_baseline", tuple(args.seeds_baseline))
        kwargs.setdefault("seeds_reference", tuple(args.seeds_reference))
    summary = race(args.out, only=args.only, **kwargs)
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
