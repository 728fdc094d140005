"""Progress bars for your own loops: Keras's ``Progbar`` showing exact weighted means.

``keras.utils.Progbar`` averages the values you pass it, weighting each by how far the bar
moved (``current`` minus the previous ``current``): count samples on the bar and the average
is a sample-weighted mean; count steps and it is a mean over steps, in which a short last batch
weighs as much as a full one. And on its final update, Keras 3's bar shows the *last* value
passed, not the average (Keras 2 showed the average), because ``fit`` passes it running means
that are already averaged. A loop that passes per-batch values therefore ends its epoch on a
line that shows the last batch's loss.

:class:`MeanProgbar` keeps the averages itself, weighted as you say (by default, like the
bar, by how far it moved; or by a ``weight`` you give, such as the batch size while the bar
counts steps), hands them to a ``keras.utils.Progbar`` as values to show as they are, and so
shows the exact weighted mean on every line, the last included. :meth:`MeanProgbar.result`
returns the same means, for a history.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import keras
import numpy as np

from kerascool_lib import _checks

__all__ = ["MeanProgbar"]


def _as_float(value, name: str) -> float:
    """``value`` (a number, a NumPy scalar or a backend's 0-d tensor) as a Python float."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise _checks.fail(f"values[{name!r}]", "a single number (a float, a NumPy scalar or a 0-d tensor)",
                           f"values[{name!r}]={value!r:.80}")
    if not isinstance(value, numbers.Real):
        try:
            array = np.asarray(keras.ops.convert_to_numpy(value))
        except Exception:
            array = None
        if array is None or array.ndim != 0 or array.dtype.kind not in "iuf":
            raise _checks.fail(f"values[{name!r}]", "a single number (a float, a NumPy scalar or a 0-d tensor)",
                               f"values[{name!r}]={value!r:.80}")
        value = array
    return float(value)


class MeanProgbar:
    """A ``keras.utils.Progbar`` whose averaged values are exact weighted means, last line included.

    Each :meth:`add` moves the bar ``n`` units (steps or samples, as ``unit_name`` says) and
    records ``values``, ``{name: value}``. A value is averaged over the calls with the weight
    ``weight`` (default ``n``, which is how ``Progbar`` itself weighs), unless its name is in
    ``stateful_metrics``: then the bar shows, and :meth:`result` returns, the last value, as
    for a value that is already a running mean (what ``train_on_batch`` returns on Keras 3.13,
    or a metric's ``result()``). The means are accumulated in float64 and passed to the inner
    ``Progbar`` as stateful values, so what it prints is exactly the mean (to its 4 digits).

    The bar finishes when it reaches ``target`` (its final line: for ``verbose=2`` the only
    one). With ``target=None`` (length unknown), call :meth:`close` at the end; calling it after
    the bar has finished does nothing.

    Args:
        target: the number of units (steps or samples) in the loop, or None if unknown.
        verbose: 0 silent, 1 a bar redrawn in place, 2 one line when the bar finishes.
        width: the bar's width in characters.
        interval: the least time in seconds between two redraws (``verbose=1``).
        stateful_metrics: names whose values are shown as they are, not averaged.
        unit_name: the unit shown in the time per unit, e.g. ``"step"`` or ``"sample"``.

    Raises:
        ValueError: for a ``target`` that is not None or an integer >= 1, ``verbose`` not 0, 1
            or 2, a ``width`` below 1, a negative ``interval``, ``stateful_metrics`` that is not
            a list of names, or ``unit_name`` not a non-empty string; and in :meth:`add` for
            ``n`` below 1, a ``weight`` that is not a finite number > 0, or a value that is
            not a single number.

    Example:

    Batches of 4, 4 and 2 samples with mean losses 1.0, 2.0 and 4.0; the bar counts steps:

    >>> bar = MeanProgbar(3, verbose=0)
    >>> for size, loss in [(4, 1.0), (4, 2.0), (2, 4.0)]:
    ...     bar.add(1, {"loss": loss}, weight=size)
    >>> bar.result()  # (4 * 1 + 4 * 2 + 2 * 4) / 10
    {'loss': 2.0}
    >>> bar.seen, bar.finished
    (3, True)
    """

    def __init__(self, target, *, verbose=1, width=20, interval=0.05, stateful_metrics=None, unit_name="step"):
        self.target = _checks.optional_integer(target, "target", 1)
        if isinstance(verbose, (bool, float)) or verbose not in (0, 1, 2):
            raise _checks.fail("verbose", "0, 1 or 2", value=verbose)
        self.verbose = int(verbose)
        width = _checks.integer(width, "width", 1)
        if isinstance(interval, bool) or not isinstance(interval, numbers.Real) or not interval >= 0:
            raise _checks.fail("interval", "a number of seconds >= 0", value=interval)
        if stateful_metrics is None:
            stateful_metrics = ()
        if isinstance(stateful_metrics, str) or not isinstance(stateful_metrics, (list, tuple, set, frozenset)) or not all(
            isinstance(s, str) and s for s in stateful_metrics
        ):
            raise _checks.fail("stateful_metrics", "a list of names (non-empty strings)", value=stateful_metrics)
        if not isinstance(unit_name, str) or not unit_name:
            raise _checks.fail("unit_name", "a non-empty string", value=unit_name)
        self.stateful_metrics = frozenset(stateful_metrics)
        self.seen = 0
        self.finished = False
        self._sums: dict[str, list[float]] = {}  # name -> [weighted sum, total weight]; or [last, 1]
        # Every value reaches the inner bar as a mean already, so it must show it as it is: its
        # `stateful_metrics` (a set on Keras 3.13 and 3.15) gets each name before the name's
        # first update (a name not in it would be averaged again).
        self._bar = keras.utils.Progbar(self.target, width=width, verbose=self.verbose,
                                        interval=float(interval), stateful_metrics=[], unit_name=unit_name)

    def add(self, n=1, values=None, *, weight=None):
        """Move the bar ``n`` units and record ``values`` with weight ``weight`` (default ``n``).

        Args:
            n: how far the bar moves, an integer >= 1 (1 for a step, the batch size for samples).
            values: ``{name: number}`` or a list of ``(name, number)`` pairs, or None.
            weight: the weight of these values in the means, a finite number > 0; None: ``n``.

        Returns:
            None. The bar redraws (``verbose=1``) or, at ``target``, prints its final line.
        """
        n = _checks.integer(n, "n", 1)
        if weight is None:
            weight = float(n)
        elif isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not (
            weight > 0 and math.isfinite(weight)
        ):
            raise _checks.fail("weight", "a finite number > 0", value=weight)
        pairs = self._pairs(values)
        for name, value in pairs:
            if name in self.stateful_metrics:
                self._sums[name] = [value, 1.0]
            elif name in self._sums:
                self._sums[name][0] += float(weight) * value
                self._sums[name][1] += float(weight)
            else:
                self._sums[name] = [float(weight) * value, float(weight)]
        self.seen += n
        self._show(finalize=None)

    def update(self, current, values=None, *, weight=None):
        """Move the bar *to* ``current`` (more than ``seen``), like ``Progbar.update``; see :meth:`add`."""
        current = _checks.integer(current, "current", self.seen + 1)
        self.add(current - self.seen, values, weight=weight)

    def close(self):
        """Finish the bar now: print its final line (for ``target=None``, with ``seen`` as the total)."""
        if self.finished or self.seen == 0:
            self.finished = True
            return
        if self.target is None:  # Keras 3.13's verbose=2 line needs a target
            self._bar.target = self.seen
        self._show(finalize=True)

    def result(self) -> dict[str, float]:
        """The means so far, ``{name: mean}`` (the last value for a stateful name), in first-seen order."""
        return {name: total / count for name, (total, count) in self._sums.items()}

    def _pairs(self, values) -> list[tuple[str, float]]:
        if values is None:
            return []
        if isinstance(values, Mapping):
            items = list(values.items())
        elif isinstance(values, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in values):
            items = [tuple(p) for p in values]
        else:
            raise _checks.fail("values", "a dict {name: number} or a list of (name, number) pairs", f"values={values!r:.80}")
        pairs = []
        for name, value in items:
            if not isinstance(name, str) or not name:
                raise _checks.fail("values", "a dict {name: number} with non-empty string names", f"name {name!r}")
            pairs.append((name, _as_float(value, name)))
        return pairs

    def _show(self, finalize):
        means = list(self.result().items())
        self._bar.stateful_metrics.update(name for name, _ in means)
        if finalize is None:
            finalize = self.target is not None and self.seen >= self.target
        self._bar.update(self.seen, means, finalize=finalize)
        self.finished = bool(finalize)
