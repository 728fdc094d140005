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

#: The targets the book set for its reference CNN (``kc.models.cnn`` + ``CNN_RECIPE``), checked in the summary.
TARGETS = {
    "cnn_time_ratio": 0.10,  # time to 99.0%, one-epoch reference CNN / keras.io convnet, medians over seeds
    "cnn_one_epoch_accuracy": 0.990,  # after one epoch, on every seed
    "cnn_one_epoch_worst": 0.9905,  # ... and the worst seed at least this
    "cnn_utilization": 0.50,  # training FLOP/s / matmul FLOP/s
}
#: The timing protocol race.py follows now (race.PROTOCOL; records without one are protocol 1).
PROTOCOL = 2


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
            # per CPU second of training over per CPU second of the matmul (recorded since protocol 2)
            "cpu_utilization": _median(e.get("cpu_utilization") for e in steady),
            "cpu_per_wall": _median(e["cpu_per_wall"] for e in eps),
            "min_cpu_per_wall": min(e["cpu_per_wall"] for e in eps),
        }
    protocol = info.get("settings", {}).get("protocol", 1)
    for row in rows.values():
        base = rows.get(row["baseline"]) if row["baseline"] else None
        # protocol 1 timed the keras.io convnet with a validation pass and on other images: no ratio to it
        comparable = base is not None and base["target"] == row["target"] and (
            protocol >= PROTOCOL or row["baseline"] != "keras_io_convnet")
        mine, theirs = row["median_time_to_target"], base and base["median_time_to_target"]
        row["time_ratio"] = mine / theirs if comparable and _finite(mine) and _finite(theirs) else None
        mine, theirs = row["median_cpu_seconds_to_target"], base and base["median_cpu_seconds_to_target"]
        row["cpu_time_ratio"] = mine / theirs if comparable and _finite(mine) and _finite(theirs) else None
    checks = []
    one, sched = rows.get("kc_cnn_1_epoch"), rows.get("kc_cnn_schedule")
    if one:
        n = len(one["final_accuracy"])
        checks.append(_check("time to 99.0%: the one-epoch reference CNN / the keras.io convnet (medians)",
                             one["time_ratio"], TARGETS["cnn_time_ratio"], "<=", "ratio",
                             None if protocol >= PROTOCOL else "not comparable: timed under the earlier protocol"))
        passed = sum(a >= TARGETS["cnn_one_epoch_accuracy"] for a in one["final_accuracy"])
        checks.append(_check("seeds at >= 99.0% test accuracy after one epoch", passed, n, ">=", "count"))
        checks.append(_check("the worst seed's test accuracy after one epoch", min(one["final_accuracy"]),
                             TARGETS["cnn_one_epoch_worst"], ">=", "share"))
    cores = info.get("cores") or 1
    # Training keeps two quiet cores about 75-85% busy (CPU s / wall s ~1.5-1.7 on 2 cores)
    contended = [k for k, r in rows.items() if r["cpu_per_wall"] < 0.6 * cores]
    if sched:  # the steady epochs: the 2nd and 3rd of the cpu schedule
        starved = "not measured: the runs were contended" if "kc_cnn_schedule" in contended else None
        checks.append(_check("utilization of the matmul rate, steady epochs (wall seconds)",
                             None if starved else sched["utilization"], TARGETS["cnn_utilization"], ">=", "share",
                             starved))
        checks.append(_check("the same per CPU second (less sensitive to load)", sched["cpu_utilization"],
                             TARGETS["cnn_utilization"], ">=", "share"))
    loads = [x for r in runs for x in (r.get("load_before"), r.get("load_after")) if x]
    load = {"start": info.get("load_average"),
            "one_minute_min": min(x[0] for x in loads) if loads else None,
            "one_minute_max": max(x[0] for x in loads) if loads else None}
    return {"machine": info, "protocol": protocol, "rows": rows, "checks": checks, "contended": contended,
            "load": load}


def _finite(x) -> bool:
    return x is not None and x != math.inf


def _check(what, value, target, op, kind, why_none=None):
    """One target's verdict: ``kind`` is "ratio" (``0.135x``), "share" (``99.05%``) or "count"."""
    met = value is not None and (value <= target if op == "<=" else value >= target)
    fmt = {"ratio": "{:.3f}x", "share": "{:.2%}" if target > 0.9 else "{:.0%}", "count": "{:.0f}"}[kind]
    if value is None:
        margin = why_none or "no measurement"
    elif met:
        margin = "met"
    elif kind == "ratio":  # how much faster the reference would have to be
        margin = f"{value / target:.2f} times the target: {1 - target / value:.0%} less time needed"
    elif kind == "share":
        margin = f"{abs(value - target) * 100:.2g} points short"
    else:
        margin = f"{target - value:.0f} short"
    shown = "n/a" if value is None else fmt.format(value)
    if kind == "count" and value is not None:
        shown = f"{value:.0f} of {target:.0f}"
    return {"what": what, "value": value, "target": target, "op": op, "met": met, "margin": margin,
            "shown": shown, "target_shown": f"{target:.0f} of {target:.0f}" if kind == "count" else fmt.format(target)}


def markdown(summary: dict) -> str:
    """The summary as Markdown tables (what summary.md holds and the appendix shows)."""
    m, load = summary["machine"], summary.get("load", {})
    loads = ""
    if load.get("one_minute_min") is not None:
        loads = (f" Load average (1 min) {load['one_minute_min']:.2f}-{load['one_minute_max']:.2f} "
                 f"before and after the runs.")
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores{', GPU ' + ', '.join(m['gpus']) if m['gpus'] else ''}; "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}; {m['date']}.{loads}",
    ]
    if summary.get("protocol", 1) < PROTOCOL:
        lines += ["", "Timed under the earlier protocol: the keras.io convnet trained on 54,000 images and its "
                  "epochs included a validation pass over 6,000 more, so no time ratio to it is given."]
    lines += [
        "",
        "| contender | seeds | test accuracy after epoch 1 | at the end (epochs) | time to target, median | "
        "vs baseline: wall (CPU s) | s / epoch | utilization: wall (per CPU s) | CPU s / wall s |",
        "|---|---|---|---|---|---|---|---|---|",
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
        if r["cpu_time_ratio"] is not None:
            ratio += f" ({r['cpu_time_ratio']:.3f}x)"
        per_cpu = "" if r["cpu_utilization"] is None else f" ({r['cpu_utilization']:.0%} per CPU s)"
        lines.append(
            f"| {r['title']} | {','.join(map(str, r['seeds']))} | {acc1} | {final} "
            f"({','.join(map(str, r['epochs']))}) | {ttt} to {r['target']:.1%} | {ratio} | "
            f"{r['median_epoch_seconds']:.2f} | {r['utilization']:.0%} of {r['matmul_rate'] / 1e9:.0f} GFLOP/s"
            f"{per_cpu} | {r['cpu_per_wall']:.2f} |"
        )
    lines += ["", "| the book's target | measured | target | met | short by |", "|---|---|---|---|---|"]
    for c in summary["checks"]:
        lines.append(f"| {c['what']} | {c['shown']} | {c['op']} {c['target_shown']} | "
                     f"{'yes' if c['met'] else 'n/a' if c['value'] is None else '**no**'} | "
                     f"{'—' if c['met'] else c['margin']} |")
    if summary["contended"]:
        lines += ["", f"Contended runs (median CPU s / wall s below 0.6 x cores): {', '.join(summary['contended'])}: "
                  "other programs took the CPU, so their seconds and their utilization say little about this "
                  "machine; ratios of runs taken side by side still compare the contenders."]
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
