"""Unit tests of kerascool_lib.metrics against NumPy, and its label checks: a label that is not a
class index raises, never a silently truncated or wrapped count. Other bad input: the table in
``tests/test_bad_input.py``."""

import numpy as np
import pytest

from kerascool_lib import metrics


def test_confusion_matrix_counts():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 2, 0, 2])
    cm = metrics.confusion_matrix(y, p, num_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert cm.sum() == len(y) and np.trace(cm) == int((y == p).sum())


def test_class_means_and_feature_variance_against_numpy():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(200, 3)) + np.repeat(np.eye(3) * 4, [70, 70, 60], axis=0)
    y = np.repeat([0, 1, 2], [70, 70, 60])
    means = np.stack([f[y == k].mean(0) for k in range(3)])
    np.testing.assert_allclose(metrics.class_means(f, y), means)
    np.testing.assert_allclose(metrics.class_means(f, y.reshape(-1, 1), num_classes=4)[:3], means)
    assert np.isnan(metrics.class_means(f, y, num_classes=4)[3]).all()
    v = metrics.feature_variance(f, y)
    assert isinstance(v, metrics.FeatureVariance) and tuple(v) == (v.intra, v.total, v.ratio)
    intra = np.mean([np.sum((f[i] - means[y[i]]) ** 2) for i in range(len(f))])
    total = np.sum(np.var(f, axis=0))
    between = np.sum([np.mean(y == k) * np.sum((means[k] - f.mean(0)) ** 2) for k in range(3)])
    assert v.intra == pytest.approx(intra) and v.total == pytest.approx(total)
    assert v.total == pytest.approx(v.intra + between)  # the decomposition the docstring states
    assert v.ratio == pytest.approx(intra / total)
    assert metrics.feature_variance(f * 10, y).ratio == pytest.approx(v.ratio)  # scale-free
    assert metrics.feature_variance(means[y], y).ratio == pytest.approx(0.0)


def test_confusion_matrix_takes_class_scores_and_integral_float_labels():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert metrics.confusion_matrix(np.array([0.0, 1.0, 1.0]), scores, num_classes=2).tolist() == [[1, 0], [1, 1]]


@pytest.mark.parametrize(
    "y_true, message",
    [
        ([0.5, 1.7], r"`y_true` must be class indices, integers in \[0, 10\). Received: y_true\[0\]=0.5"),
        ([1, -1], r"`y_true` must be class indices, integers in \[0, 10\). Received: y_true\[1\]=-1"),
        ([1, 10], r"Received: y_true\[1\]=10 \(1 of 2 out of range\)"),
        ([1, float("nan")], r"Received: y_true\[1\]=nan"),
    ],
)
def test_labels_that_are_not_class_indices_raise_instead_of_being_truncated(y_true, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(y_true, [0, 1])


@pytest.mark.parametrize("labels", [[0, 1.7, 2], [0, -1, 2], [0, 1, np.inf]])
def test_class_means_refuse_labels_that_are_not_class_indices(labels):
    with pytest.raises(ValueError, match=r"`labels` must be class indices"):
        metrics.class_means(np.eye(3), labels)
