"""The benchmark race's results: medians per contender, ratios to the baselines, the targets'
verdicts (:func:`summarize`), as the Markdown table the Benchmarks appendix shows
(:func:`markdown`, stored as ``summary.md``) and as a plot (:func:`plot`, ``race.png``).

Pure functions of the race's records (``race.jsonl``, :func:`read_records`): ``python
benchmarks/race.py --summarize --out DIR`` rebuilds a folder's summary from its records.
"""

from __future__ import annotations

import json
import math
import pathlib
import statistics

import numpy as np

#: The targets the book set for its reference CNN, checked in the summary.
TARGETS = {
    "cnn_time_ratio": 0.12,  # reference CNN's time to 99.0% / keras.io convnet's, medians
    "cnn_one_epoch_accuracy": 0.990,  # after one epoch, every seed
    "cnn_schedule_accuracy": 0.993,  # end of the cpu profile's schedule, every seed
    "cnn_utilization": 0.50,  # training FLOP/s / matmul FLOP/s
}


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
