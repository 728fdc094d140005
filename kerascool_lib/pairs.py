"""Pairs for siamese networks: balanced same/different pairs, a contrastive loss on distances,
and the accuracy of a distance threshold.

A siamese network runs *one* encoder on two inputs and compares the two embeddings by a
distance. The reusable parts of the book's *Sharing and cloning* chapter:

- :func:`make_pairs`: ``n`` pairs drawn from labelled samples, a chosen fraction of them of the
  same class, reproducible from a seed.
- :class:`ContrastiveLoss`: the loss of Hadsell, Chopra and LeCun (2006) on a predicted
  distance: pull same-class pairs together, push different-class pairs at least ``margin``
  apart. Registered with ``keras.saving.register_keras_serializable(package="kerascool_lib")``.
- :func:`best_threshold` and :func:`pair_accuracy`: call a pair "same" when its distance is
  below a threshold; pick the threshold on validation pairs, then score test pairs with it.

The loss goes through ``keras.ops`` (any backend); the pair functions are NumPy.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks

__all__ = ["make_pairs", "ContrastiveLoss", "best_threshold", "pair_accuracy"]


def make_pairs(x, y, n: int, *, positive_fraction: float = 0.5, seed: int = 0):
    """``n`` pairs of samples of ``x``, a fraction ``positive_fraction`` of them of one class.

    A same-class pair takes a sample at random, among the classes with at least two samples,
    and a *different* sample of its class; a different-class pair takes a sample at random and
    one of any other class. ``round(n * positive_fraction)`` pairs are same-class (halves
    round up), the rest different-class, in a shuffled order. The draw depends only on
    ``seed`` (a ``numpy.random.default_rng``; the global generators are not touched).

    Args:
        x: samples, an array (or list) whose first axis indexes them (images, vectors, labels).
        y: ``(samples,)`` class indices of ``x``.
        n: the number of pairs, >= 1.
        positive_fraction: the share of same-class pairs, in ``[0, 1]``.
        seed: the draw's seed, an integer >= 0.

    Returns:
        ``(x_a, x_b, same)``: two arrays of ``n`` samples each, ``x_a[i]`` paired with
        ``x_b[i]``, and ``same``, ``(n,)`` float32, 1.0 for a same-class pair, 0.0 otherwise.

    Raises:
        ValueError: for ``x`` and ``y`` of different lengths, labels that are not class
            indices, ``n`` < 1, a fraction outside ``[0, 1]``, a negative seed, or when the
            pairs asked for cannot be drawn (no class with two samples, a single class).

    Example:

    >>> labels = np.array([0, 0, 1, 1, 2, 2])
    >>> a, b, same = make_pairs(labels, labels, 8, seed=0)  # x = the labels themselves
    >>> int(same.sum()), bool(np.all((a == b) == (same == 1)))
    (4, True)
    """
    _checks.sample_count({"x": x, "y": y}, "x", "an array with one sample per label of `y`", minimum=2)
    y = _checks.labels(y, "y")
    n = _checks.integer(n, "n", 1)
    positive_fraction = _checks.number(positive_fraction, "positive_fraction", 0.0, 1.0)
    seed = _checks.integer(seed, "seed", 0)
    n_same = int(np.floor(n * positive_fraction + 0.5))
    classes, counts = np.unique(y, return_counts=True)
    if n_same and counts.max() < 2:
        raise _checks.fail("y", "labels with at least one class of two or more samples, to draw same-class pairs",
                           f"{len(y)} labels, each class once")
    if n - n_same and len(classes) < 2:
        raise _checks.fail("y", "labels of at least two classes, to draw different-class pairs",
                           f"every label is {classes[0]}")
    rng = np.random.default_rng(seed)
    order = np.argsort(y, kind="stable")  # the samples grouped by class
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.searchsorted(classes, y)  # each sample's class, as a position in `classes`
    rank = np.empty(len(y), dtype=np.int64)
    rank[order] = np.arange(len(y)) - np.repeat(start, counts)  # each sample's place in its class

    eligible = np.flatnonzero(counts[slot] >= 2)
    a_same = eligible[rng.integers(0, max(len(eligible), 1), n_same)]
    size = counts[slot[a_same]]
    step = 1 + (rng.random(n_same) * (size - 1)).astype(np.int64)  # 1 .. size-1: never itself
    b_same = order[start[slot[a_same]] + (rank[a_same] + step) % size]

    a_diff = rng.integers(0, len(y), n - n_same)
    own = slot[a_diff]
    k = (rng.random(n - n_same) * (len(y) - counts[own])).astype(np.int64)  # among the others
    b_diff = order[np.where(k < start[own], k, k + counts[own])]

    a, b = np.concatenate([a_same, a_diff]), np.concatenate([b_same, b_diff])
    same = np.concatenate([np.ones(n_same, "float32"), np.zeros(n - n_same, "float32")])
    shuffle = rng.permutation(n)
    x = np.asarray(x)
    return x[a[shuffle]], x[b[shuffle]], same[shuffle]


@keras.saving.register_keras_serializable(package="kerascool_lib")
class ContrastiveLoss(keras.losses.Loss):
    """The contrastive loss on a predicted distance: close for the same class, apart otherwise.

    For a pair with target ``same`` (1 for the same class, 0 otherwise) and predicted distance
    ``d >= 0`` between its two embeddings, the loss is

        same * d**2 + (1 - same) * max(margin - d, 0)**2

    (Hadsell, Chopra and LeCun, 2006, without their factor 1/2): a same-class pair costs its
    squared distance, a different-class pair costs only while it is closer than ``margin``, so
    the embedding is not pushed apart without end. The model's output is the distance itself;
    ``y_true`` may be ``(batch,)`` or shaped like ``y_pred``.

    Args:
        margin: the distance beyond which different-class pairs cost nothing, a finite
            positive number.
        reduction, name, dtype: as for any ``keras.losses.Loss``.

    Raises:
        ValueError: for a margin that is not a finite positive number.

    Example:

    >>> loss = ContrastiveLoss(margin=1.0, reduction=None)
    >>> [round(float(v), 4) for v in loss([1.0, 0.0, 0.0], [0.5, 0.5, 2.0])]
    [0.25, 0.25, 0.0]
    """

    def __init__(self, margin: float = 1.0, reduction="sum_over_batch_size", name="contrastive_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = _checks.finite_positive(margin, "margin")

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        same = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
        apart = ops.relu(self.margin - y_pred)
        return same * ops.square(y_pred) + (1.0 - same) * ops.square(apart)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def _pairs_scored(distances, same):
    """``distances`` and ``same`` as 1-D arrays of one length, checked."""
    d = np.asarray(distances)
    d = d[:, 0] if d.ndim == 2 and d.shape[1] == 1 else d
    if d.ndim != 1 or not len(d) or d.dtype.kind not in "iuf" or not np.all(np.isfinite(d)):
        raise _checks.fail("distances", "a non-empty 1-D array of finite numbers, one per pair",
                           f"distances of shape {d.shape}, dtype {d.dtype}")
    s = np.asarray(same)
    s = s[:, 0] if s.ndim == 2 and s.shape[1] == 1 else s
    if s.shape != d.shape or s.dtype.kind not in "biuf" or not np.all((s == 0) | (s == 1)):
        raise _checks.fail("same", "a 0/1 array with one entry per distance",
                           f"same of shape {s.shape}, dtype {s.dtype} for {len(d)} distances")
    return d.astype("float64"), s.astype(bool)


def pair_accuracy(distances, same, threshold: float) -> float:
    """The share of pairs that the rule "same class iff distance < threshold" gets right.

    Args:
        distances: ``(pairs,)`` or ``(pairs, 1)`` distances, e.g. a siamese model's predictions.
        same: ``(pairs,)`` targets, 1 for a same-class pair, 0 otherwise.
        threshold: a finite number; a pair is called "same" when its distance is below it.

    Returns:
        The accuracy, a float in ``[0, 1]``.

    Raises:
        ValueError: for distances that are empty or not finite, targets that are not 0/1 or
            not one per distance, or a threshold that is not a finite number.

    Example:

    >>> pair_accuracy([0.1, 0.4, 0.9, 1.3], [1, 0, 0, 0], threshold=0.5)
    0.75
    """
    d, s = _pairs_scored(distances, same)
    threshold = _checks.number(threshold, "threshold", -np.inf, np.inf, low_open=True, high_open=True)
    return float(np.mean((d < threshold) == s))


def best_threshold(distances, same) -> float:
    """The threshold of :func:`pair_accuracy` that scores best on these pairs.

    Pick it on validation pairs, then score test pairs with it: a threshold picked on the test
    pairs would flatter the test accuracy. Every cut between two consecutive distinct distances
    is tried (and the cuts below and above all of them); the best is returned as the midpoint
    of its gap, the lowest such cut when several tie.

    Args:
        distances: ``(pairs,)`` or ``(pairs, 1)`` distances.
        same: ``(pairs,)`` targets, 1 for a same-class pair, 0 otherwise.

    Returns:
        The threshold, a float.

    Raises:
        ValueError: as :func:`pair_accuracy` for ``distances`` and ``same``.

    Example:

    >>> best_threshold([0.1, 0.4, 0.9, 1.3], [1, 1, 0, 0])
    0.65
    >>> pair_accuracy([0.1, 0.4, 0.9, 1.3], [1, 1, 0, 0], 0.65)
    1.0
    """
    d, s = _pairs_scored(distances, same)
    order = np.argsort(d, kind="stable")
    d, s = d[order], s[order]
    # cut k calls the k smallest distances "same": right on the same pairs among them and on
    # the different pairs after them
    right = np.concatenate([[0], np.cumsum(s)]) + np.concatenate([[np.sum(~s)], np.sum(~s) - np.cumsum(~s)])
    cuttable = np.concatenate([[True], d[1:] > d[:-1], [True]])  # no cut between equal distances
    k = int(np.argmax(np.where(cuttable, right, -1)))
    if k == 0:
        return float(d[0])
    if k == len(d):
        return float(np.nextafter(d[-1], np.inf))
    return float((d[k - 1] + d[k]) / 2)
