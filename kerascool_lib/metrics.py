"""Measures computed on NumPy arrays after a run: confusion counts, class means, and how tightly
features cluster by class.

- :func:`confusion_matrix`: counts of true class ``i`` predicted as ``j``.
- :func:`class_means`: the mean feature vector of each class (where a center loss's centers go).
- :func:`feature_variance`: the intra-class variance, the total variance and their ratio
  (0: every class collapsed onto one point; 1: the classes are not separated at all).

Labels are checked: class indices, integers in ``[0, num_classes)``; a float such as ``1.7``, a
negative or too large index raises ``ValueError`` naming the argument and the bad value, never
a silently truncated or wrapped count.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from kerascool_lib import _checks

__all__ = ["confusion_matrix", "class_means", "feature_variance", "FeatureVariance"]


def confusion_matrix(y_true, y_pred, num_classes: int = 10) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j``.

    ``y_pred`` may be labels ``(N,)`` or class scores ``(N, C)`` (argmax is taken). Labels must
    be class indices in ``[0, num_classes)``: ``1.7`` or ``-1`` raise ``ValueError``.

    Example:

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2).tolist()
    [[1, 0], [1, 1]]
    """
    _checks.integer(num_classes, "num_classes", 2)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        y_pred = y_pred.argmax(axis=-1)
    y_true = _checks.labels(np.ravel(y_true), "y_true", num_classes)
    y_pred = _checks.labels(np.ravel(y_pred), "y_pred", num_classes)
    if y_true.shape != y_pred.shape:
        raise _checks.fail("y_pred", "one entry per sample of `y_true`", f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def _check_features_labels(features, labels):
    features = np.asarray(features)
    labels = np.asarray(labels)
    if features.ndim != 2 or not np.issubdtype(features.dtype, np.number) or not len(features):
        raise _checks.fail(
            "features", "a non-empty 2-D array of numbers (samples, dim)",
            f"features of shape {features.shape} and dtype {features.dtype}",
        )
    if np.ndim(labels) not in (1, 2) or len(labels) != len(features):
        raise _checks.fail(
            "labels", f"of shape ({len(features)},) or ({len(features)}, 1), one class index per row of `features`",
            f"labels of shape {labels.shape}",
        )
    labels = _checks.labels(labels, "labels")
    return features.astype("float64"), labels.astype("int64")


def class_means(features, labels, num_classes: int | None = None) -> np.ndarray:
    """The mean feature vector of each class, shape ``(num_classes, dim)``.

    What the centers of :class:`kerascool_lib.losses.CenterLoss` track. A class with no sample gets a row of NaN.

    Args:
        features: array ``(samples, dim)``.
        labels: class indices, ``(samples,)`` or ``(samples, 1)``.
        num_classes: the number of rows; default ``max(labels) + 1``.

    Example:

    >>> class_means([[0.0, 1.0], [2.0, 3.0], [5.0, 5.0]], [0, 0, 2])
    array([[ 1.,  2.],
           [nan, nan],
           [ 5.,  5.]])
    """
    features, labels = _check_features_labels(features, labels)
    k = int(labels.max()) + 1
    if num_classes is not None:
        num_classes = _checks.integer(num_classes, "num_classes", 1)
        if num_classes < k:
            raise _checks.fail("num_classes", "greater than every label", f"num_classes={num_classes} with a label {k - 1}")
        k = num_classes
    sums = np.zeros((k, features.shape[1]))
    np.add.at(sums, labels, features)
    counts = np.bincount(labels, minlength=k)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


class FeatureVariance(NamedTuple):
    """What :func:`feature_variance` returns; a named tuple, so it also unpacks in order.

    Its fields: ``intra``, the mean squared distance of a feature vector to the mean of its
    class; ``total``, the mean squared distance of a feature vector to the mean of all
    features; ``ratio``, ``intra / total``, in [0, 1]: the share of the variance left within
    the classes.

    Example:

    >>> intra, total, ratio = feature_variance([[0.0], [2.0]], [0, 1])
    >>> intra, total, ratio
    (0.0, 1.0, 0.0)
    """

    intra: float
    total: float
    ratio: float


def feature_variance(features, labels) -> FeatureVariance:
    """Intra-class variance, total variance, and their ratio, for features grouped by label.

    With ``μ`` the mean of all features and ``μ_y`` the mean of class ``y``:
    ``intra = mean_i ‖f_i − μ_{y_i}‖²`` and ``total = mean_i ‖f_i − μ‖²``. The ratio does not
    change when the features are scaled, so runs with features of different sizes compare
    fairly: 0 means each class sits on one point, 1 means the classes share one mean. (The
    total splits exactly into intra-class plus between-class variance.)

    Args:
        features: array ``(samples, dim)``.
        labels: class indices, ``(samples,)`` or ``(samples, 1)``.

    Example:

    >>> f = [[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [12.0, 0.0]]
    >>> v = feature_variance(f, [0, 0, 1, 1])
    >>> v.intra, v.total, round(v.ratio, 4)
    (1.0, 26.0, 0.0385)
    """
    features, labels = _check_features_labels(features, labels)
    means = class_means(features, labels)
    intra = float(np.mean(np.sum((features - means[labels]) ** 2, axis=1)))
    total = float(np.mean(np.sum((features - features.mean(axis=0)) ** 2, axis=1)))
    if total == 0.0:
        raise _checks.fail(
            "features", "rows that are not all equal (a total variance of 0 leaves the ratio undefined)",
            "features with every row equal",
        )
    return FeatureVariance(intra, total, intra / total)
