"""Named variants run over seeds, and the tables a chapter draws from them.

A claim such as "warmup helps" rests on a few training runs per variant, each with its own
seed. :func:`run_variants` runs them paired by seed and interleaved (seed 0 of every variant,
then seed 1, ...), so a slow spell of the machine or a lucky seed hits every variant alike.
It returns an :class:`Experiment`: the :class:`Trial` of each run, and from them a
:class:`Summary` per metric (mean, min-max, and, against a baseline, the paired differences
and the wins out of N), a stepper over the runs, and a JSON file to keep the results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import math
import numbers
import os
import pathlib
import tempfile
import time
from collections.abc import Callable, Mapping

import numpy as np

from kerascool_lib import _checks, widgets

__all__ = ["run_variants", "Experiment", "Trial", "Summary"]

_FORMAT = "kerascool_lib.experiments/1"


def _scalar(value) -> float | None:
    """``value`` as a float if it is a real number (Python, NumPy or a backend's 0-d tensor)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "shape") and hasattr(value, "dtype") and tuple(value.shape) == ():
        import keras

        try:
            array = np.asarray(keras.ops.convert_to_numpy(value))
        except Exception:  # not a tensor Keras knows: not a metric
            return None
        if array.dtype.kind in "iuf":
            return float(array)
    return None


def _history(value, where: str) -> dict[str, list[float]]:
    """A keras ``History`` or a dict of per-epoch lists, as ``{key: [float, ...]}``."""
    if hasattr(value, "history") and isinstance(value.history, Mapping):
        value = value.history
    if not isinstance(value, Mapping):
        raise _checks.fail(where, "a keras History or a dict of per-epoch lists", f"{where} of type {type(value).__name__}")
    history = {}
    for key, epochs in value.items():
        try:
            history[str(key)] = [float(v) for v in np.asarray(epochs, dtype="float64").reshape(-1)]
        except (TypeError, ValueError):
            raise _checks.fail(
                f"{where}[{key!r}]", "a list of numbers, one per epoch", f"{where}[{key!r}]={epochs!r:.80}"
            ) from None
    return history


def _number(value: float, digits: int = 4) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if value != 0 and math.isfinite(value) and not 1e-3 <= abs(value) < 1e6:
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


@dataclasses.dataclass
class Trial:
    """One run: a variant trained (or measured) with one seed.

    Args:
        variant: the variant's name.
        seed: the seed set before the run.
        metrics: the run's numbers, ``{name: float}``.
        history: per-epoch values, ``{name: [float, ...]}`` (empty when the run returned none).
        extras: anything else the run returned (arrays for a plot, a model).
        seconds: the run's wall time.

    Example:

    >>> Trial("warmup", 0, {"test_accuracy": 0.98}).metrics
    {'test_accuracy': 0.98}
    """

    variant: str
    seed: int
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    history: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    extras: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        if not isinstance(self.variant, str) or not self.variant:
            raise _checks.fail("variant", "a non-empty string", value=self.variant)
        self.seed = _checks.integer(self.seed, "seed", 0)
        if not isinstance(self.metrics, Mapping):
            raise _checks.fail("metrics", "a dict {name: number}", value=self.metrics)
        metrics = {}
        for key, value in self.metrics.items():
            number = _scalar(value)
            if not isinstance(key, str) or number is None:
                raise _checks.fail("metrics", "a dict {name: number}", f"metrics[{key!r}]={value!r:.80}")
            metrics[key] = number
        self.metrics = metrics
        self.history = _history(self.history, "history")
        if not isinstance(self.extras, Mapping):
            raise _checks.fail("extras", "a dict", value=self.extras)
        self.extras = dict(self.extras)
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, numbers.Real) or not self.seconds >= 0:
            raise _checks.fail("seconds", "a number >= 0", value=self.seconds)
        self.seconds = float(self.seconds)


def _check_variants(variants) -> dict[str, Callable]:
    if not isinstance(variants, Mapping) or not variants:
        raise _checks.fail("variants", "a non-empty dict {name: fn}, fn(seed) returning a dict", f"variants={variants!r:.80}")
    for name, fn in variants.items():
        if not isinstance(name, str) or not name:
            raise _checks.fail("variants", "a dict whose keys are non-empty strings", f"key {name!r}")
        if not callable(fn):
            raise _checks.fail(f"variants[{name!r}]", "a function fn(seed) returning a dict", f"variants[{name!r}]={fn!r:.80}")
    return dict(variants)


def _check_seeds(seeds) -> list[int]:
    expected = "a non-empty list of distinct integers in [0, 2**32)"
    if isinstance(seeds, (str, bytes, Mapping)) or not hasattr(seeds, "__iter__"):
        raise _checks.fail("seeds", expected, value=seeds)
    seeds = list(seeds)
    bad = [
        s for s in seeds
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or not 0 <= s < 2**32
    ]
    if not seeds or bad or len(set(seeds)) != len(seeds):
        raise _checks.fail("seeds", expected, value=seeds)
    return [int(s) for s in seeds]


def run_variants(variants: Mapping[str, Callable], seeds, *, verbose: int = 1) -> Experiment:
    """Run every variant once per seed, paired by seed and interleaved, and keep the results.

    For each seed (the outer loop) and each variant in the order given (the inner loop), it
    calls ``keras.utils.set_random_seed(seed)`` (Python, NumPy and the backend's generators),
    then ``fn(seed)``, and times the call. Running seed-major spreads any drift of the
    machine's speed or load over all variants, and gives each variant the same seeds, so the
    differences can be paired seed by seed. ``fn`` builds and trains its own model (build it
    inside ``fn``, after the seed is set, or the initial weights do not depend on it) and
    returns a dict:

    - a number (Python, NumPy or a backend's 0-d tensor; not a bool) is a metric of the run;
    - the key ``"history"`` (a keras ``History``, or a dict of per-epoch lists) is its history;
    - anything else (feature arrays for a plot, the model itself) goes to ``Trial.extras``.

    Args:
        variants: ``{name: fn}``, run in this order; ``fn(seed)`` returns a dict as above.
        seeds: distinct non-negative integers, e.g. ``range(seed, seed + repeats)``.
        verbose: 1 prints a line per run (its metrics and wall time), 0 nothing.

    Returns:
        An :class:`Experiment` holding one :class:`Trial` per (seed, variant), in run order.

    Raises:
        ValueError: for an empty or non-dict ``variants``, a variant that is not callable,
            ``seeds`` empty, repeated or not non-negative integers, ``verbose`` not 0 or 1, and
            a variant returning something other than a dict (naming the variant and seed).

    Example:

    >>> def noisy(shift):
    ...     return lambda seed: {"score": shift + np.random.uniform()}  # the seed is set
    >>> exp = run_variants({"base": noisy(0.0), "better": noisy(0.5)}, [0, 1, 2], verbose=0)
    >>> [(t.seed, t.variant) for t in exp.trials[:3]]
    [(0, 'base'), (0, 'better'), (1, 'base')]
    >>> exp.summary("score", baseline="base").row("better")["wins"]
    3
    """
    import keras

    variants = _check_variants(variants)
    seeds = _check_seeds(seeds)
    verbose = _checks.verbose(verbose)
    width = max(len(name) for name in variants)
    trials = []
    for seed in seeds:
        for name, fn in variants.items():
            keras.utils.set_random_seed(seed)
            start = time.perf_counter()
            result = fn(seed)
            seconds = time.perf_counter() - start
            where = f"variants[{name!r}]({seed})"
            if not isinstance(result, Mapping):
                raise _checks.fail(
                    where, "a dict of metrics, 'history' and extras",
                    f"{type(result).__name__} from variant {name!r} at seed {seed}: {result!r:.80}",
                )
            metrics, history, extras = {}, {}, {}
            for key, value in result.items():
                if not isinstance(key, str):
                    raise _checks.fail(where, "a dict with string keys", f"key {key!r} from variant {name!r} at seed {seed}")
                number = _scalar(value)
                if key == "history":
                    history = _history(value, f"{where}['history']")
                elif number is not None:
                    metrics[key] = number
                else:
                    extras[key] = value
            trials.append(Trial(name, seed, metrics, history, extras, seconds))
            if verbose:
                shown = "".join(f" · {k} {_number(v)}" for k, v in metrics.items())
                print(f"seed {seed} · {name:{width}}{shown} · {seconds:.1f} s", flush=True)
    return Experiment(trials)


class Experiment:
    """The trials of :func:`run_variants`: every variant, once per seed.

    Args:
        trials: :class:`Trial` objects, one per (variant, seed) pair, all pairs present. The
            variants and seeds are ordered as they first appear.

    Raises:
        ValueError: if ``trials`` is empty, holds something else than trials, or misses or
            repeats a (variant, seed) pair.

    Example:

    >>> exp = Experiment([Trial("a", 0, {"acc": 0.9}), Trial("b", 0, {"acc": 0.8})])
    >>> exp.variants, exp.seeds, exp.values("acc")["b"]
    (['a', 'b'], [0], array([0.8]))
    """

    def __init__(self, trials):
        if not isinstance(trials, (list, tuple)) or not trials or not all(isinstance(t, Trial) for t in trials):
            raise _checks.fail("trials", "a non-empty list of Trial", f"trials={trials!r:.80}")
        self.trials = list(trials)
        self.variants = list(dict.fromkeys(t.variant for t in trials))
        self.seeds = list(dict.fromkeys(t.seed for t in trials))
        self._index = {(t.variant, t.seed): t for t in trials}
        if len(self._index) != len(trials) or len(trials) != len(self.variants) * len(self.seeds):
            raise _checks.fail(
                "trials", "one Trial per (variant, seed) pair, every pair present",
                f"{len(trials)} trials ({len(self._index)} distinct pairs) for {len(self.variants)} "
                f"variants x {len(self.seeds)} seeds",
            )

    def __repr__(self):
        return f"Experiment(variants={self.variants}, seeds={self.seeds}, {len(self.trials)} trials)"

    def trial(self, variant: str, seed: int) -> Trial:
        """The :class:`Trial` of ``variant`` with ``seed``."""
        _checks.one_of(variant, "variant", self.variants)
        _checks.one_of(seed, "seed", self.seeds)
        return self._index[(variant, seed)]

    def values(self, metric: str) -> dict[str, np.ndarray]:
        """``{variant: array of the metric, one value per seed in the order of .seeds}``."""
        common = [m for m in self.trials[0].metrics if all(m in t.metrics for t in self.trials)]
        if metric not in common:
            missing = [t for t in self.trials if metric not in t.metrics] if isinstance(metric, str) else []
            detail = f" (missing from variant {missing[0].variant!r}, seed {missing[0].seed})" if 0 < len(missing) < len(self.trials) else ""
            raise _checks.fail("metric", f"a metric every trial returned, one of {common}", f"metric={metric!r}{detail}")
        return {v: np.array([self._index[(v, s)].metrics[metric] for s in self.seeds]) for v in self.variants}

    def histories(self) -> dict[str, list[dict]]:
        """``{variant: [history dict of each seed, in the order of .seeds]}``, for plots."""
        return {v: [self._index[(v, s)].history for s in self.seeds] for v in self.variants}

    def summary(self, metric: str, *, baseline=None, higher_is_better=True, scale=1.0, digits=4, unit="") -> Summary:
        """A :class:`Summary` of ``metric`` over the seeds; see :class:`Summary` for the args."""
        return Summary(
            metric, self.values(metric), baseline=baseline, higher_is_better=higher_is_better,
            scale=scale, digits=digits, unit=unit,
        )

    def to_dict(self) -> dict:
        """A JSON-able dict of every trial; extras that JSON cannot hold are left out."""
        trials = []
        for t in self.trials:
            extras = {}
            for key, value in t.extras.items():
                try:
                    extras[key] = json.loads(json.dumps(value))
                except (TypeError, ValueError, OverflowError, RecursionError):
                    pass
            trials.append({
                "variant": t.variant, "seed": t.seed, "metrics": dict(t.metrics),
                "history": {k: list(v) for k, v in t.history.items()}, "extras": extras, "seconds": t.seconds,
            })
        return {"format": _FORMAT, "trials": trials}

    @classmethod
    def from_dict(cls, d) -> Experiment:
        """The experiment :meth:`to_dict` described."""
        if not isinstance(d, Mapping) or d.get("format") != _FORMAT or not isinstance(d.get("trials"), list):
            raise _checks.fail("d", f"a dict made by Experiment.to_dict() (format {_FORMAT!r})", f"d={d!r:.80}")
        fields = {f.name for f in dataclasses.fields(Trial)}
        trials = []
        for i, t in enumerate(d["trials"]):
            if not isinstance(t, Mapping) or not {"variant", "seed"} <= set(t) or not set(t) <= fields:
                raise _checks.fail(f"d['trials'][{i}]", f"a dict with keys among {sorted(fields)}", f"{t!r:.80}")
            trials.append(Trial(**t))
        return cls(trials)

    def save(self, path) -> pathlib.Path:
        """Write :meth:`to_dict` as JSON to ``path``, atomically: a reader (or a crash) never
        sees a half-written file, as the old file is replaced only once the new one is whole."""
        if not isinstance(path, (str, os.PathLike)):
            raise _checks.fail("path", "a str or os.PathLike", value=path)
        path = pathlib.Path(path)
        data = self.to_dict()
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return path

    @classmethod
    def load(cls, path) -> Experiment:
        """The experiment :meth:`save` wrote to ``path``."""
        if not isinstance(path, (str, os.PathLike)):
            raise _checks.fail("path", "a str or os.PathLike", value=path)
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def stepper(self, panel: Callable, *, label: Callable | None = None, description: str = ""):
        """A kernel-free :func:`kerascool_lib.widgets.stepper` with one panel per trial.

        Args:
            panel: ``panel(trial)`` returns what the stepper shows: a matplotlib figure, PNG
                bytes, an HTML string or a widget.
            label: ``label(trial)`` returns the panel's label; by default
                ``"<variant> · seed <seed>"``.
            description: the slider's label.

        Returns:
            The stepper's ``ipywidgets.VBox``, its panels in run order.
        """
        if not callable(panel):
            raise _checks.fail("panel", "a function panel(trial) returning a figure, PNG bytes, HTML or a widget", value=panel)
        if label is not None and not callable(label):
            raise _checks.fail("label", "None or a function label(trial) returning a string", value=label)
        labels = [label(t) if label else f"{t.variant} · seed {t.seed}" for t in self.trials]
        return widgets.stepper([panel(t) for t in self.trials], labels, description=description)


class Summary:
    """A metric over seeds, per variant, and against a baseline, paired seed by seed.

    Each row holds ``n`` (the seeds), ``mean``, ``min`` and ``max`` of ``value * scale``.
    With a ``baseline``, every other row also holds the differences to the baseline on the
    same seed (``diff_mean``, ``diff_min``, ``diff_max``, scaled too), and how many seeds it
    ``wins`` (strictly better, by ``higher_is_better``) and ``ties`` out of ``n``. Report them
    together: a mean difference that one lucky seed makes shows as a wide min-max and few wins.

    Args:
        metric: the metric's name, for the titles.
        values: ``{variant: values, one per seed}``, all the same length, seeds in the same order.
        baseline: the variant the others are compared with, or None.
        higher_is_better: whether a larger value wins (accuracy) or a smaller one (loss).
        scale: a factor for display: 100 shows accuracies in percent.
        digits: decimals shown.
        unit: appended to the numbers in :meth:`describe`, and shown in the titles, e.g. "pp".

    Example:

    >>> s = Summary("acc", {"base": [0.90, 0.92], "new": [0.93, 0.92]}, baseline="base",
    ...             scale=100, digits=2, unit="pp")
    >>> s.row("new")["wins"], s.row("new")["ties"], round(s.row("new")["diff_mean"], 6)
    (1, 1, 1.5)
    >>> s.describe("new")
    'new vs base: mean difference +1.50 pp (min +0.00, max +3.00); better on 1 of 2 seeds, equal on 1'
    """

    def __init__(self, metric: str, values, *, baseline=None, higher_is_better=True, scale=1.0, digits=4, unit=""):
        _checks.log_name(metric, "metric")
        if not isinstance(values, Mapping) or not values:
            raise _checks.fail("values", "a non-empty dict {variant: values per seed}", f"values={values!r:.80}")
        arrays = {}
        for name, v in values.items():
            array = np.asarray(v)
            if not isinstance(name, str) or array.ndim != 1 or not array.size or array.dtype.kind not in "iuf":
                raise _checks.fail("values", "a dict {name: 1-D array of numbers}", f"values[{name!r}]={v!r:.80}")
            arrays[name] = array.astype("float64")
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) != 1:
            raise _checks.fail("values", "one value per seed for every variant", f"lengths {[len(a) for a in arrays.values()]}")
        if baseline is not None:
            _checks.one_of(baseline, "baseline", list(arrays))
        self.metric, self.baseline = metric, baseline
        self.higher_is_better = _checks.boolean(higher_is_better, "higher_is_better")
        self.scale = _checks.finite_positive(scale, "scale")
        self.digits = _checks.integer(digits, "digits", 0)
        if not isinstance(unit, str):
            raise _checks.fail("unit", "a string", value=unit)
        self.unit = unit
        self._rows = {}
        for name, a in arrays.items():
            row = {"n": len(a), "mean": float(np.mean(a * self.scale)),
                   "min": float(np.min(a * self.scale)), "max": float(np.max(a * self.scale))}
            if baseline is not None and name != baseline:
                b = arrays[baseline]
                d = (a - b) * self.scale
                better = a > b if self.higher_is_better else a < b
                row.update(diff_mean=float(np.mean(d)), diff_min=float(np.min(d)), diff_max=float(np.max(d)),
                           wins=int(np.sum(better)), ties=int(np.sum(a == b)))
            self._rows[name] = row

    def row(self, variant: str) -> dict:
        """The row of ``variant``: ``n, mean, min, max`` (and the ``diff_*, wins, ties``)."""
        _checks.one_of(variant, "variant", list(self._rows))
        return dict(self._rows[variant])

    def _title(self) -> str:
        scaled = f" × {_number(self.scale)}" if self.scale != 1 else ""
        unit = f" ({self.unit})" if self.unit else ""
        n = next(iter(self._rows.values()))["n"]
        title = f"{self.metric}{scaled}{unit} over {n} seed{'s' if n != 1 else ''}"
        if self.baseline is not None:
            title += (f"; differences paired by seed vs {self.baseline} "
                      f"({'higher' if self.higher_is_better else 'lower'} is better)")
        return title

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        f, s = f".{self.digits}f", f"+.{self.digits}f"
        header = ["variant", "n", "mean", "min", "max"]
        if self.baseline is not None:
            header += ["diff mean", "diff min", "diff max", "wins", "ties"]
        body = []
        for name, r in self._rows.items():
            cells = [name, str(r["n"]), format(r["mean"], f), format(r["min"], f), format(r["max"], f)]
            if self.baseline is not None:
                if name == self.baseline:
                    cells += ["baseline", "", "", "", ""]
                else:
                    cells += [format(r["diff_mean"], s), format(r["diff_min"], s), format(r["diff_max"], s),
                              f"{r['wins']}/{r['n']}", f"{r['ties']}/{r['n']}"]
            body.append(cells)
        return header, body

    def __str__(self):
        header, body = self._cells()
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        lines = [self._title()]
        for row in [header, *body]:
            lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        header, body = self._cells()
        right = ' style="text-align: right"'
        head = "".join(f"<th{'' if i == 0 else right}>{html.escape(c)}</th>" for i, c in enumerate(header))
        rows = "".join(
            "<tr>" + "".join(f"<td{'' if i == 0 else right}>{html.escape(c)}</td>" for i, c in enumerate(row)) + "</tr>"
            for row in body
        )
        return (f"<table><caption>{html.escape(self._title())}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")

    def describe(self, variant: str) -> str:
        """One sentence on ``variant`` against the baseline, for a chapter to print."""
        if self.baseline is None:
            raise _checks.fail("baseline", "a variant (given to summary()) for describe() to compare with", "baseline=None")
        _checks.one_of(variant, "variant", [v for v in self._rows if v != self.baseline])
        r, s = self._rows[variant], f"+.{self.digits}f"
        unit = f" {self.unit}" if self.unit else ""
        text = (f"{variant} vs {self.baseline}: mean difference {r['diff_mean']:{s}}{unit} "
                f"(min {r['diff_min']:{s}}, max {r['diff_max']:{s}}); "
                f"better on {r['wins']} of {r['n']} seed{'s' if r['n'] != 1 else ''}")
        return text + (f", equal on {r['ties']}" if r["ties"] else "")
