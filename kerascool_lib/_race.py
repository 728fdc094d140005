"""The benchmark race behind the book's Benchmarks appendix (maintenance code, not public API).

    python benchmarks/race.py                 # the stored run: benchmarks/results/<machine>/
    python benchmarks/race.py --quick --out /tmp/race   # a tiny slice, seconds

Each *contender* is a model and the recipe that trains it. Runs alternate (seed 0 of every
contender, then seed 1, ...) in one process on the same in-memory float32 arrays through
``model.fit``, so slow phases of a shared machine hit every contender alike. After each epoch
:class:`kerascool_lib.bench.EpochClock` evaluates on the 10,000 test images outside the timed
span. Results go to ``race.jsonl`` (one line per epoch and per run), ``summary.json``,
``summary.md`` and ``race.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
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

from kerascool_lib import _machine

#: The targets of issue #8, checked in the summary.
TARGETS = {
    "cnn_time_ratio": 0.12,  # reference CNN's time to 99.0% / keras.io convnet's, medians
    "cnn_one_epoch_accuracy": 0.990,  # after one epoch, every seed
    "cnn_schedule_accuracy": 0.993,  # end of the cpu profile's schedule, every seed
    "cnn_utilization": 0.50,  # training FLOP/s / matmul FLOP/s
}


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
    validation_split: float | None = None  # keras.io's recipe: split inside fit
    stop_at_target: bool = False
    baseline: str | None = None  # the contender's key this one is compared with
    group: str = "CNN"


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
                  validation_split=0.1, stop_at_target=True),
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


def machine() -> dict:
    """Where the race ran: CPU model, cores, versions, date."""
    import keras
    import tensorflow as tf

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
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


#: Where ``make bench`` stores its results: one folder per machine, named by :func:`machine_slug`.
RESULTS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def machine_slug(cpu: str, cores: int) -> str:
    """A folder name for a machine's results: the CPU model in lower case, its words joined by
    hyphens, then the core count. ``machine_slug("AMD EPYC", 2) == "amd-epyc-2-cores"``."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"\((r|tm)\)", "", cpu.lower()))
    words = [w for w in words if w not in {"processor", "cpu"}] or ["cpu"]
    return "-".join(words + [str(int(cores)), "cores"])


def _data(train_size, test_size):
    """The arrays every contender trains on, from one verified copy of MNIST."""
    from kerascool_lib import data

    (x_all, y_all), (x_test, y_test) = data.load_mnist()
    x_all = data.to_images(data.to_float(x_all))
    x_test = data.to_images(data.to_float(x_test))
    if test_size is not None:
        x_test, y_test = data.take(x_test, y_test, test_size, seed=0)
    out = {"test": (x_test, y_test)}
    for layout in ("image", "flat"):
        s = data.mnist_splits(layout, train_size=train_size, val_size=5000, seed=0)
        out[layout] = (s.x_train, s.y_train)
    if train_size is not None:  # keras.io splits 10% off inside fit: give it enough to keep train_size
        x_all, y_all = data.take(x_all, y_all, min(60000, math.ceil(train_size / 0.9)), seed=0)
    out["keras_io"] = (x_all, y_all)
    return out


def run_one(c: Contender, seed: int, arrays: dict, matmul_size: int = 2048) -> tuple[dict, list[dict]]:
    """Train contender ``c`` with ``seed``; return its run record and its epoch records."""
    import keras

    from kerascool_lib import bench

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    rate = bench.matmul_rate(size=matmul_size)
    if c.validation_split is not None:
        x, y = arrays["keras_io"]
        trained = len(x) - int(len(x) * c.validation_split)
    else:
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
    fit_kwargs = {"validation_split": c.validation_split} if c.validation_split else {}
    started = time.perf_counter()
    model.fit(x, y, batch_size=c.batch_size, epochs=c.epochs, callbacks=[clock], verbose=0, **fit_kwargs)
    wall = time.perf_counter() - started
    flops = bench.training_flops(model, trained)
    epochs = [{"type": "epoch", "recipe": c.key, "seed": seed, **r,
               "utilization": flops / r["train_seconds"] / rate} for r in clock.records]
    record = {
        "type": "run", "recipe": c.key, "title": c.title, "group": c.group, "seed": seed,
        "baseline": c.baseline, "target": c.target, "batch_size": c.batch_size,
        "train_samples": trained, "test_samples": len(x_test), "epochs": len(clock.records),
        "flops_per_epoch": flops, "matmul_rate": rate, "params": model.count_params(),
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
                        "matmul_size": matmul_size}
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
                        f"{statistics.median(e['cpu_per_wall'] for e in epochs):.2f}")
    finally:
        tf_logger.setLevel(level)
    return _write_results(out_dir, records)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(records: list[dict]) -> dict:
    """Medians per contender, the ratios to its baseline and the targets' verdicts."""
    info = next(r for r in records if r["type"] == "machine")
    runs = [r for r in records if r["type"] == "run"]
    epochs = [r for r in records if r["type"] == "epoch"]
    rows = {}
    for key in dict.fromkeys(r["recipe"] for r in runs):
        mine = [r for r in runs if r["recipe"] == key]
        eps = [e for e in epochs if e["recipe"] == key]
        # steady-state speed: epochs after the first (which also traces the step) when there are any
        steady = [e for e in eps if e["epoch"] > 1] or eps
        missed = sum(r["time_to_target"] is None for r in mine)
        ttt = [r["time_to_target"] for r in mine]
        # CPU seconds to the target: less sensitive than wall time to other programs' load
        cpu_ttt = []
        for r in mine:
            run_eps = [e for e in eps if e["seed"] == r["seed"]]
            cpu_ttt.append(None if r["epochs_to_target"] is None else sum(
                e["train_seconds"] * e["cpu_per_wall"] for e in run_eps if e["epoch"] <= r["epochs_to_target"]))
        rows[key] = {
            "title": mine[0]["title"], "group": mine[0]["group"], "baseline": mine[0]["baseline"],
            "target": mine[0]["target"], "seeds": [r["seed"] for r in mine],
            "batch_size": mine[0]["batch_size"], "params": mine[0]["params"],
            "train_samples": mine[0]["train_samples"],
            "accuracy_epoch_1": [r["accuracy_epoch_1"] for r in mine],
            "final_accuracy": [r["final_accuracy"] for r in mine],
            "epochs": [r["epochs"] for r in mine],
            "epochs_to_target": [r["epochs_to_target"] for r in mine],
            "time_to_target": ttt,
            # a seed that missed counts as infinitely slow: the median is None if most missed
            "median_time_to_target": None if missed * 2 >= len(mine) + 1 else
            statistics.median([math.inf if t is None else t for t in ttt]),
            "cpu_seconds_to_target": cpu_ttt,
            "median_cpu_seconds_to_target": None if missed * 2 >= len(mine) + 1 else
            statistics.median([math.inf if t is None else t for t in cpu_ttt]),
            "median_epoch_seconds": _median(e["train_seconds"] for e in steady),
            "flops_per_epoch": mine[0]["flops_per_epoch"],
            "matmul_rate": _median(r["matmul_rate"] for r in mine),
            "utilization": _median(e["utilization"] for e in steady),
            "cpu_per_wall": _median(e["cpu_per_wall"] for e in eps),
            "min_cpu_per_wall": min(e["cpu_per_wall"] for e in eps),
        }
    for row in rows.values():
        base = rows.get(row["baseline"]) if row["baseline"] else None
        row["time_ratio"] = (
            row["median_time_to_target"] / base["median_time_to_target"]
            if base and row["median_time_to_target"] not in (None, math.inf) and base["median_time_to_target"]
            not in (None, math.inf) and base["target"] == row["target"] else None
        )
    for row in rows.values():
        base = rows.get(row["baseline"]) if row["baseline"] else None
        mine_cpu, base_cpu = row["median_cpu_seconds_to_target"], base and base["median_cpu_seconds_to_target"]
        row["cpu_time_ratio"] = (
            mine_cpu / base_cpu if base and base["target"] == row["target"]
            and mine_cpu not in (None, math.inf) and base_cpu not in (None, math.inf) else None
        )
    checks = []
    one, sched = rows.get("kc_cnn_1_epoch"), rows.get("kc_cnn_schedule")
    if one:
        checks.append(_check("CNN time to 99.0% / keras.io convnet's (median)", one["time_ratio"],
                             TARGETS["cnn_time_ratio"], "<=", "{:.3f}x"))
        checks.append(_check("the same in CPU seconds (less sensitive to load; for information)",
                             one["cpu_time_ratio"], TARGETS["cnn_time_ratio"], "<=", "{:.3f}x"))
        checks.append(_check("CNN accuracy after one epoch (worst seed)", min(one["final_accuracy"]),
                             TARGETS["cnn_one_epoch_accuracy"], ">=", "{:.2%}"))
        checks.append(_check("CNN utilization of the matmul rate (median epoch)", one["utilization"],
                             TARGETS["cnn_utilization"], ">=", "{:.0%}"))
    if sched:
        checks.append(_check("CNN accuracy at the end of the cpu schedule (worst seed)",
                             min(sched["final_accuracy"]), TARGETS["cnn_schedule_accuracy"], ">=", "{:.2%}"))
        checks.append(_check("CNN utilization, steady epochs of the cpu schedule", sched["utilization"],
                             TARGETS["cnn_utilization"], ">=", "{:.0%}"))
    cores = info.get("cores") or 1
    # Training keeps two quiet cores about 75-85% busy (CPU s / wall s ~1.5-1.7 on 2 cores)
    contended = [k for k, r in rows.items() if r["cpu_per_wall"] < 0.6 * cores]
    return {"machine": info, "rows": rows, "checks": checks, "contended": contended}


def _check(what, value, target, op, fmt):
    met = value is not None and (value <= target if op == "<=" else value >= target)
    if value is None:
        margin = "no measurement"
    elif fmt.endswith("x"):  # a ratio: how many percent slower or faster than the goal
        margin = f"{abs(value / target - 1):.0%} {'under' if value <= target else 'over'} the goal"
    else:  # a share: percentage points
        margin = f"{abs(value - target) * 100:.2g} points {'above' if value >= target else 'below'} the goal"
    return {"what": what, "value": value, "target": target, "op": op, "met": met, "margin": margin,
            "shown": "n/a" if value is None else fmt.format(value), "target_shown": fmt.format(target)}


def markdown(summary: dict) -> str:
    """The summary as a Markdown table (what summary.md holds and the appendix shows)."""
    m = summary["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores{', GPU ' + ', '.join(m['gpus']) if m['gpus'] else ''}; "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}; {m['date']}.",
        "",
        "| recipe | seeds | batch | accuracy after epoch 1 | final accuracy (epochs) | time to target, median | "
        "vs baseline | CPU s to target (vs baseline) | s / epoch | GFLOP / epoch | utilization | CPU s / wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["rows"].values():
        acc1 = " ".join(f"{a:.2%}" for a in r["accuracy_epoch_1"])
        final = " ".join(f"{a:.2%}" for a in r["final_accuracy"])
        ttt = r["median_time_to_target"]
        ttt = "missed" if ttt in (None, math.inf) else f"{ttt:.1f} s"
        missed = sum(t is None for t in r["time_to_target"])
        if missed:
            ttt += f" ({missed} of {len(r['seeds'])} missed)"
        ratio = "—" if r["time_ratio"] is None else f"{r['time_ratio']:.3f}x"
        cpu = r["median_cpu_seconds_to_target"]
        cpu = "missed" if cpu in (None, math.inf) else f"{cpu:.1f}"
        if r["cpu_time_ratio"] is not None:
            cpu += f" ({r['cpu_time_ratio']:.3f}x)"
        lines.append(
            f"| {r['title']} | {','.join(map(str, r['seeds']))} | {r['batch_size']} | {acc1} | {final} "
            f"({','.join(map(str, r['epochs']))}) | {ttt} to {r['target']:.1%} | {ratio} | {cpu} | "
            f"{r['median_epoch_seconds']:.2f} | {r['flops_per_epoch'] / 1e9:.0f} | {r['utilization']:.0%} of "
            f"{r['matmul_rate'] / 1e9:.0f} GFLOP/s | {r['cpu_per_wall']:.2f} |"
        )
    lines += ["", "| target | measured | goal | met | by how much |", "|---|---|---|---|---|"]
    for c in summary["checks"]:
        lines.append(f"| {c['what']} | {c['shown']} | {c['op']} {c['target_shown']} | "
                     f"{'yes' if c['met'] else '**no**'} | {c['margin']} |")
    if summary["contended"]:
        lines += ["", f"Contended runs (median CPU s / wall s below 0.6 x cores): {', '.join(summary['contended'])}; "
                  "their times are not measurements."]
    return "\n".join(lines)


def plot(records: list[dict], path=None):
    """Test accuracy against training seconds, one line per recipe and seed; CNNs and MLPs apart."""
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: works headless and leaves the backend alone

    runs = [r for r in records if r["type"] == "run"]
    groups = list(dict.fromkeys(r["group"] for r in runs))
    fig = Figure(figsize=(6.2 * len(groups), 4.2))
    axes = fig.subplots(1, len(groups), squeeze=False)
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    keys = list(dict.fromkeys(r["recipe"] for r in runs))
    for ax, group in zip(axes[0], groups):
        targets = set()
        for run in (r for r in runs if r["group"] == group):
            color = colors[keys.index(run["recipe"]) % len(colors)]
            eps = [e for e in records if e["type"] == "epoch" and e["recipe"] == run["recipe"] and e["seed"] == run["seed"]]
            xs = [0.0] + [e["cumulative_seconds"] for e in eps]
            ys = [np.nan] + [100 * e["accuracy"] for e in eps]
            first = run["seed"] == min(r["seed"] for r in runs if r["recipe"] == run["recipe"])
            ax.plot(xs, ys, "-o", ms=3, lw=1.2, color=color, alpha=0.8, label=run["title"] if first else None)
            targets.add(run["target"])
        for t in sorted(targets):
            ax.axhline(100 * t, color="0.5", lw=0.8, ls="--")
        accs = [100 * e["accuracy"] for e in records if e["type"] == "epoch" and
                next(r for r in runs if r["recipe"] == e["recipe"])["group"] == group]
        low = min(min(accs), 100 * min(targets) - 1) - 0.2
        ax.set(xlabel="training seconds (test evaluation excluded)", ylabel="test accuracy (%)",
               title=f"{group}: test accuracy against training time", ylim=(max(low, 90), 100))
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def read_records(path) -> list[dict]:
    """The records of a race.jsonl file."""
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]


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
    partial = args.quick or args.only or any(
        getattr(args, name) is not None for name in ("train_size", "test_size", "max_epochs"))
    if args.out is None:
        if partial and not args.summarize:
            parser.error("a partial race (--quick, --only, --train-size, --test-size, --max-epochs) needs "
                         "--out DIR: benchmarks/results/ holds full races only")
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
