"""The figures several chapters need, in one consistent style.

Each function draws into a new (or given) matplotlib figure and returns it; none of them
changes matplotlib's global settings: the book's style is applied inside a context.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import numpy as np

from kerascool_lib import _checks
from kerascool_lib.metrics import confusion_matrix

__all__ = ["STYLE", "plot_history", "digit_grid", "plot_confusion_matrix"]

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
