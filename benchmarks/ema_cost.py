"""The per-step cost of weight EMA: no EMA vs the optimizer's ``use_ema`` vs ``kc.ema``'s callback.

    python benchmarks/ema_cost.py                  # writes benchmarks/results/<machine>/ema_cost.json
    python benchmarks/ema_cost.py --quick --out /tmp/ema   # a few steps: checks the harness

For each model (the reference CNN and the posts' MLP) and each seed, the three variants run one
after another (interleaved A/B/C, the order rotated from seed to seed so that none always runs
first), each a fresh model trained with ``model.fit`` on the same in-memory MNIST slice. The
first epoch (tracing and compilation) is not timed; each later epoch's wall time, and the
process's CPU time, divided by its steps is a per-step time (the CPU time is less sensitive to
other programs on a shared machine). The result per variant is the median over those epochs; the ratios
to "none" and to ``use_ema`` are paired by seed. The CPU seconds per wall second of every timed
epoch are stored too: on 2 cores, values well below 1.5 mean other programs took the CPU and
the times are noisy.
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerascool_lib as kc  # noqa: E402
from kerascool_lib import ema  # noqa: E402
from race import RESULTS, command_line, machine, machine_slug, write_result  # noqa: E402  (the race's machine folder)

VARIANTS = ("none", "use_ema", "kc.ema")


class StepClock(keras.callbacks.Callback):
    """Wall and CPU seconds per step of each epoch after the first."""

    def __init__(self):
        super().__init__()
        self.per_step, self.cpu_per_step, self.cpu_per_wall = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._steps, self._wall, self._cpu = 0, time.perf_counter(), time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1

    def on_epoch_end(self, epoch, logs=None):
        wall, cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu
        if epoch > 0:
            self.per_step.append(wall / self._steps)
            self.cpu_per_step.append(cpu / self._steps)
            self.cpu_per_wall.append(cpu / wall)


def one_run(kind, variant, seed, x, y, epochs, batch_size):
    keras.utils.set_random_seed(seed)
    model = kc.models.cnn() if kind == "cnn" else kc.models.mlp()
    model.compile(keras.optimizers.Adam(1e-3, use_ema=variant == "use_ema", ema_momentum=0.99),
                  "sparse_categorical_crossentropy")
    clock = StepClock()
    callbacks = [clock] + ([ema.ExponentialMovingAverage(0.99)] if variant == "kc.ema" else [])
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=callbacks)
    return clock


def summarize(records):
    out = {}
    for kind in sorted({r["model"] for r in records}):
        rows = {v: {r["seed"]: r for r in records if r["model"] == kind and r["variant"] == v} for v in VARIANTS}
        seeds = sorted(rows["none"])
        entry = {v: {"median_step_ms": 1e3 * statistics.median(rows[v][s]["step_seconds"] for s in seeds),
                     "median_cpu_step_ms": 1e3 * statistics.median(rows[v][s]["cpu_step_seconds"] for s in seeds),
                     "cpu_per_wall_min": min(min(rows[v][s]["cpu_per_wall"]) for s in seeds)} for v in VARIANTS}
        for a, b in (("use_ema", "none"), ("kc.ema", "none"), ("kc.ema", "use_ema")):
            for clock, key in (("", "step_seconds"), ("cpu ", "cpu_step_seconds")):
                ratios = [rows[a][s][key] / rows[b][s][key] for s in seeds]
                entry[f"{clock}{a} / {b}"] = {"mean": statistics.fmean(ratios), "min": min(ratios), "max": max(ratios),
                                              "by_seed": ratios}
        out[kind] = entry
    return out


def main(argv=None) -> int:
    parser = command_line(__doc__, "a few steps per epoch, one seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    info = machine()
    out = pathlib.Path(args.out) if args.out else RESULTS / machine_slug(info["cpu"], info["cores"])
    seeds = [0] if args.quick else args.seeds
    batch_size, epochs = 128, 4
    steps = {"cnn": 4, "mlp": 4} if args.quick else {"cnn": 40, "mlp": 120}
    records = []
    for kind, layout in (("cnn", "image"), ("mlp", "flat")):
        data = kc.mnist_splits(layout, train_size=steps[kind] * batch_size, val_size=0, test_size=100, seed=0)
        for i, seed in enumerate(seeds):
            order = VARIANTS[i % 3:] + VARIANTS[:i % 3]
            for variant in order:
                clock = one_run(kind, variant, seed, data.x_train, data.y_train, epochs, batch_size)
                step = statistics.median(clock.per_step)
                records.append({"model": kind, "variant": variant, "seed": seed, "step_seconds": step,
                                "cpu_step_seconds": statistics.median(clock.cpu_per_step),
                                "epoch_step_seconds": clock.per_step, "epoch_cpu_step_seconds": clock.cpu_per_step,
                                "cpu_per_wall": clock.cpu_per_wall})
                print(f"{kind} seed {seed} {variant:8} {1e3 * step:7.2f} ms/step, "
                      f"{1e3 * records[-1]['cpu_step_seconds']:7.2f} CPU ms/step "
                      f"(cpu/wall {min(clock.cpu_per_wall):.2f})", flush=True)
    result = {"machine": info, "settings": {"seeds": seeds, "batch_size": batch_size, "epochs": epochs,
                                            "timed_epochs": epochs - 1, "steps_per_epoch": steps,
                                            "optimizer": "Adam(1e-3)", "decay": 0.99},
              "summary": summarize(records), "records": records}
    write_result(out, "ema_cost.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
