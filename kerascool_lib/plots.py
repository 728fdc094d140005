"""The figures several chapters need, in one consistent style.

Each function draws into a new (or given) matplotlib figure and returns it; none of them
changes matplotlib's global settings: the book's style is applied inside a context.
:func:`subplots` gives a chapter's own figures the same style; :func:`history_panels` draws
the training curves of variants over seeds (an ``experiments.Experiment``), and
:func:`feature_scatter` a 2-D feature space coloured by class.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import numpy as np

from kerascool_lib import _checks
from kerascool_lib.metrics import confusion_matrix

__all__ = [
    "STYLE",
    "subplots",
    "plot_history",
    "history_panels",
    "digit_grid",
    "feature_scatter",
    "plot_confusion_matrix",
]

#: matplotlib rcParams applied (locally) to every figure of the book.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "image.cmap": "gray_r",
}


@contextlib.contextmanager
def _style():
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        yield plt


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``plt.subplots`` in the book's style: light grid, no top or right spine.

    The axes are made inside the book's :data:`STYLE` (applied in a context, so matplotlib's
    global settings stay as they were) and their grid and spines are set explicitly, so a
    chapter draws into them without calling ``ax.grid(alpha=0.3)`` by hand. What the chapter
    adds later (a legend, a colorbar) follows the global settings.

    Args:
        nrows, ncols: the grid of axes.
        **kwargs: passed to ``plt.subplots`` (``figsize``, ``sharex``, ``squeeze``, ...).

    Returns:
        ``(fig, axes)``, as ``plt.subplots`` returns them.

    Example:

    >>> fig, axes = subplots(1, 2, figsize=(8, 3))
    >>> axes.shape, axes[0].spines["top"].get_visible(), axes[0].xaxis._major_tick_kw["gridOn"]
    ((2,), False, True)
    """
    _checks.integer(nrows, "nrows", 1)
    _checks.integer(ncols, "ncols", 1)
    with _style() as plt:
        fig, axes = plt.subplots(nrows, ncols, **kwargs)
        for ax in np.atleast_1d(axes).flat:
            ax.grid(True, alpha=STYLE["grid.alpha"])
            ax.spines["top"].set_visible(False)
            ax.spines["right"].set_visible(False)
    return fig, axes


def _as_history(h, name):
    if hasattr(h, "history") and isinstance(h.history, Mapping):
        h = h.history
    if not isinstance(h, Mapping):
        raise ValueError(
            f"`histories[{name!r}]` must be a keras History or a dict of per-epoch lists. "
            f"Received: {type(h).__name__}"
        )
    return h


def plot_history(histories, metrics: Sequence[str] = ("loss", "accuracy"), *, title=None):
    """Training curves: one panel per metric, solid for training and dashed for validation.

    Args:
        histories: a ``keras.callbacks.History`` (what ``fit`` returns), a dict of
            per-epoch lists, or a dict ``{run name: History or dict}`` to compare runs.
        metrics: the keys to plot; ``val_<key>`` is drawn too when present.
        title: an optional figure title.

    Returns:
        The matplotlib ``Figure``.

    Example:

    >>> fig = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, metrics=["loss"])
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['train', 'validation']
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    if hasattr(histories, "history") or (
        isinstance(histories, Mapping)
        and histories
        and all(isinstance(v, (list, tuple, np.ndarray)) for v in histories.values())
    ):
        runs = {"": _as_history(histories, "")}
    elif isinstance(histories, Mapping) and histories:
        runs = {str(k): _as_history(v, k) for k, v in histories.items()}
    else:
        raise ValueError(
            "`histories` must be a History, a dict of per-epoch lists, or a non-empty dict of "
            f"them. Received: {histories!r}"
        )
    for name, h in runs.items():
        absent = [m for m in metrics if m not in h]
        if absent:
            raise ValueError(
                f"`metrics` {absent} not found in the history of run {name!r}; "
                f"it has {sorted(h)}"
            )
    with _style() as plt:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, metric in zip(axes[0], metrics):
            for i, (name, h) in enumerate(runs.items()):
                color = colors[i % len(colors)]
                epochs = np.arange(1, len(h[metric]) + 1)
                prefix = f"{name} · " if name else ""
                ax.plot(epochs, h[metric], color=color, label=f"{prefix}train")
                if f"val_{metric}" in h:
                    ax.plot(epochs, h[f"val_{metric}"], color=color, ls="--", label=f"{prefix}validation")
            ax.set_xlabel("epoch")
            ax.set_title(metric)
            if len(epochs) < 12:
                ax.set_xticks(epochs)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def digit_grid(images, labels=None, predictions=None, *, ncols: int = 10, max_images: int = 40):
    """A grid of digits, each titled with its label (and prediction: red when wrong).

    Args:
        images: ``(N, 28, 28)``, ``(N, 28, 28, 1)`` or ``(N, 784)``, uint8 or float.
        labels: optional true labels ``(N,)``.
        predictions: optional predicted labels ``(N,)`` or class scores ``(N, C)``.
        ncols: digits per row.
        max_images: draw at most this many.

    Returns:
        The matplotlib ``Figure``.

    Example:

    >>> fig = digit_grid(np.zeros((3, 784)), labels=[1, 2, 3], predictions=[1, 2, 4], ncols=3)
    >>> [ax.get_title() for ax in fig.axes]
    ['1', '2', '3→4']
    """
    images = np.asarray(images)
    if images.ndim < 2 or images.shape[0] == 0 or int(np.prod(images.shape[1:])) != 784:
        raise ValueError(
            "`images` must be a non-empty batch of 28x28 digits, shape (N, 28, 28), "
            f"(N, 28, 28, 1) or (N, 784). Received: images.shape={images.shape}"
        )
    _checks.integer(ncols, "ncols", 1)
    _checks.integer(max_images, "max_images", 1)
    n = min(len(images), max_images)
    images = images[:n].reshape(n, 28, 28)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[:1] != (len(images) if len(labels) == n else len(labels),) or len(labels) < n:
            raise ValueError(
                f"`labels` must have one label per image. Received: labels.shape={labels.shape} "
                f"for {n} images"
            )
    if predictions is not None:
        predictions = np.asarray(predictions)
        if predictions.ndim == 2:
            predictions = predictions.argmax(axis=-1)
        if len(predictions) < n:
            raise ValueError(
                f"`predictions` must have one entry per image. Received: "
                f"predictions.shape={predictions.shape} for {n} images"
            )
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    with _style() as plt:
        fig, axes = plt.subplots(nrows, ncols, figsize=(0.9 * ncols, 1.05 * nrows), squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i >= n:
                ax.remove()
                continue
            ax.imshow(images[i], cmap="gray_r")
            title, color = "", "black"
            if labels is not None:
                title = str(int(labels[i]))
            if predictions is not None:
                p = int(predictions[i])
                if labels is None:
                    title = str(p)
                elif p != int(labels[i]):
                    title, color = f"{title}→{p}", "crimson"
            ax.set_title(title, color=color, fontsize=9, pad=2)
        fig.tight_layout(pad=0.2)
    return fig


def feature_scatter(features, labels, *, centers=None, ax=None, title=None, max_points: int = 5000, seed: int = 0):
    """Points of a 2-D feature space, one colour per class, with the class centers if given.

    Colours follow ``tab10`` (class ``k`` in colour ``k``), the legend lists the classes
    drawn, and ``centers[k]`` is drawn as a black-edged cross of class ``k``'s colour. Above
    ``max_points`` points, a random subset is drawn, the same for the same ``seed`` (NumPy's
    global generator is not touched).

    Args:
        features: ``(n, 2)`` features, e.g. a model's 2-D embedding of the test images.
        labels: ``(n,)`` class indices.
        centers: optional ``(classes, 2)`` centers, row ``k`` for class ``k``.
        ax: an axes to draw into; by default a new figure.
        title: the axes' title.
        max_points: the most points drawn.
        seed: the subset's seed.

    Returns:
        The matplotlib ``Figure``.

    Example:

    >>> fig = feature_scatter([[0, 0], [1, 1], [2, 0]], [0, 1, 1], centers=[[0, 0], [1.5, 0.5]])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['0', '1']
    """
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] != 2 or not len(features) or features.dtype.kind not in "iuf":
        raise _checks.fail("features", "a non-empty (n, 2) array of numbers", f"features of shape {features.shape}, dtype {features.dtype}")
    labels = _checks.labels(labels, "labels")
    if len(labels) != len(features):
        raise _checks.fail("labels", "one label per point", f"{len(labels)} labels for {len(features)} points")
    if centers is not None:
        centers = np.asarray(centers)
        if centers.ndim != 2 or centers.shape[1] != 2 or not len(centers) or centers.dtype.kind not in "iuf":
            raise _checks.fail("centers", "None or a (classes, 2) array of numbers", f"centers of shape {centers.shape}, dtype {centers.dtype}")
    if ax is not None and not (hasattr(ax, "scatter") and hasattr(ax, "figure")):
        raise _checks.fail("ax", "None or a matplotlib Axes", value=ax)
    _checks.integer(max_points, "max_points", 1)
    _checks.integer(seed, "seed", 0)
    if len(features) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(features), max_points, replace=False))
        features, labels = features[keep], labels[keep]
    with _style() as plt:
        if ax is None:
            fig, ax = plt.subplots(figsize=(5.6, 4.6))
        fig = ax.figure
        colors = plt.get_cmap("tab10").colors
        for k in np.unique(labels):
            points = features[labels == k]
            ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.5, color=colors[k % 10], label=str(k), rasterized=True)
        if centers is not None:
            ax.scatter(centers[:, 0], centers[:, 1], marker="X", s=110, color=[colors[k % 10] for k in range(len(centers))],
                       edgecolors="black", linewidths=1.2, zorder=3)
        ax.set_xlabel("feature 1")
        ax.set_ylabel("feature 2")
        if title:
            ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=4, title="class")
        fig.tight_layout()
    return fig


def history_panels(histories, metrics: Sequence[str] = ("loss", "val_accuracy"), *, title=None):
    """Training curves of variants over seeds: one panel per metric, one colour per variant.

    Each seed's run is a thin line and the mean over seeds a thick one (over the epochs every
    seed reached, when runs stopped early), so the spread between seeds shows next to the
    difference between variants.

    Args:
        histories: an ``experiments.Experiment`` (anything with a ``histories()`` method), or
            a dict ``{variant: [history of each seed, ...]}``, each a keras ``History`` or a
            dict of per-epoch lists.
        metrics: the history keys to plot, one panel each.
        title: an optional figure title.

    Returns:
        The matplotlib ``Figure``.

    Example:

    >>> fig = history_panels({"a": [{"loss": [1.0, 0.5]}, {"loss": [0.9, 0.7]}]}, metrics="loss")
    >>> [(line.get_label(), line.get_linewidth()) for line in fig.axes[0].lines][-1]
    ('a', 2.2)
    """
    if hasattr(histories, "histories") and callable(histories.histories):
        histories = histories.histories()
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, Sequence) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise _checks.fail("metrics", "a non-empty list of history keys", value=metrics)
    if not isinstance(histories, Mapping) or not histories or not all(
        isinstance(v, Sequence) and not isinstance(v, str) and len(v) for v in histories.values()
    ):
        raise _checks.fail(
            "histories", "an Experiment or a non-empty dict {variant: [history of each seed, ...]}",
            f"histories={histories!r:.80}",
        )
    runs = {}
    for name, hs in histories.items():
        runs[str(name)] = []
        for i, h in enumerate(hs):
            h = h.history if hasattr(h, "history") and isinstance(h.history, Mapping) else h
            if not isinstance(h, Mapping):
                raise _checks.fail(
                    f"histories[{name!r}][{i}]", "a keras History or a dict of per-epoch lists",
                    f"histories[{name!r}][{i}] of type {type(h).__name__}",
                )
            runs[str(name)].append(h)
    for name, hs in runs.items():
        for i, h in enumerate(hs):
            absent = [m for m in metrics if m not in h or not len(h[m])]
            if absent:
                raise _checks.fail(
                    "metrics", "keys of every history",
                    f"metrics={list(metrics)}; the history of {name!r} #{i} has no {absent} (it has {sorted(h)})",
                )
    with _style() as plt:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
        for ax, metric in zip(axes[0], metrics):
            for i, (name, hs) in enumerate(runs.items()):
                color = f"C{i % 10}"
                curves = [np.asarray(h[metric], dtype="float64") for h in hs]
                if len(curves) > 1:
                    for curve in curves:
                        ax.plot(np.arange(1, len(curve) + 1), curve, color=color, lw=0.8, alpha=0.35)
                common = min(len(c) for c in curves)
                mean = np.mean([c[:common] for c in curves], axis=0)
                ax.plot(np.arange(1, common + 1), mean, color=color, lw=2.2, label=name)
            ax.set_xlabel("epoch")
            ax.set_title(metric)
            ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        axes[0][0].legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, *, num_classes: int = 10, title: str | None = None):
    """The confusion matrix as a heat map, counts written in the cells, errors highlighted.

    The diagonal (correct predictions) is drawn in grey so that the off-diagonal mistakes
    stand out in colour.

    Example:

    >>> fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2)
    >>> fig.axes[0].get_xlabel()
    'predicted'
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    errors = cm.astype(float).copy()
    np.fill_diagonal(errors, np.nan)
    with _style() as plt:
        fig, ax = plt.subplots(figsize=(4.8, 4.2))
        ax.grid(False)
        ax.imshow(np.where(np.eye(num_classes, dtype=bool), 1.0, np.nan), cmap="Greys", vmin=0, vmax=4)
        im = ax.imshow(errors, cmap="Reds", vmin=0, vmax=max(1.0, np.nanmax(errors) if errors.size > 1 else 1.0))
        for i in range(num_classes):
            for j in range(num_classes):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(num_classes))
        ax.set_yticks(range(num_classes))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        acc = np.trace(cm) / max(1, cm.sum())
        ax.set_title(title or f"accuracy {acc:.2%} · {cm.sum() - np.trace(cm)} errors")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="errors")
        fig.tight_layout()
    return fig
