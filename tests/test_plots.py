"""Unit tests of kerascool_lib.plots and kerascool_lib.source."""

import matplotlib
import matplotlib.pyplot
import numpy as np
import pytest

from kerascool_lib import plots, show_source


def test_plot_history_single_and_compared_runs():
    fig = plots.plot_history({"loss": [1.0, 0.5, 0.3], "accuracy": [0.5, 0.8, 0.9], "val_loss": [1, 1, 1]})
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1

    class FakeHistory:
        history = {"loss": [1.0, 0.9], "accuracy": [0.1, 0.2]}

    fig = plots.plot_history({"a": FakeHistory(), "b": {"loss": [2, 1], "accuracy": [0, 1]}}, title="t")
    assert [l.get_label() for l in fig.axes[0].lines] == ["a · train", "b · train"]
    assert fig._suptitle.get_text() == "t"


def test_digit_grid_marks_errors():
    fig = plots.digit_grid(np.zeros((4, 28, 28, 1)), labels=[1, 2, 3, 4], predictions=np.eye(10)[[1, 2, 0, 4]], ncols=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["1", "2", "3→0", "4"]
    assert matplotlib.colors.to_hex(fig.axes[2].title.get_color()) == matplotlib.colors.to_hex("crimson")
    assert len(plots.digit_grid(np.zeros((50, 784))).axes) == 40


def test_confusion_matrix_plot_titles_accuracy_and_errors():
    fig = plots.plot_confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], num_classes=3)
    assert fig.axes[0].get_title() == "accuracy 66.67% · 2 errors"


def test_figures_use_the_book_style():
    assert plots.STYLE["axes.spines.top"] is False
    fig = plots.plot_history({"loss": [1, 0.5]}, metrics="loss")
    ax = fig.axes[0]
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()


def test_plotting_leaves_global_style_alone():
    before = dict(matplotlib.rcParams)
    plots.plot_history({"loss": [1, 0.5]}, metrics="loss")
    assert dict(matplotlib.rcParams) == before


def test_show_source(capsys):
    assert show_source(plots.digit_grid) is None
    out = capsys.readouterr().out
    assert out.startswith("```python\ndef digit_grid(") and out.rstrip().endswith("```")
    with pytest.raises(ValueError, match=r"`obj` must be a Python function, class or method .* Received: 3"):
        show_source(3)


def test_subplots_styles_the_axes_and_leaves_global_style_alone():
    before = dict(matplotlib.rcParams)
    fig, axes = plots.subplots(2, 3, figsize=(6, 4), sharex=True)
    assert dict(matplotlib.rcParams) == before
    assert axes.shape == (2, 3) and fig.get_size_inches().tolist() == [6.0, 4.0]
    for ax in axes.flat:
        ax.plot([0, 1], [0, 2])
    fig.canvas.draw()  # ticks (and their grid lines) are made at draw time, after the context
    for ax in axes.flat:
        assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
        assert ax.spines["left"].get_visible()
        lines = ax.get_xgridlines() + ax.get_ygridlines()
        assert lines and all(line.get_visible() and line.get_alpha() == 0.3 for line in lines)
    fig, ax = plots.subplots()
    assert isinstance(ax, matplotlib.axes.Axes)
    fig, ax = matplotlib.pyplot.subplots()  # a figure outside subplots: matplotlib's defaults
    fig.canvas.draw()
    assert ax.spines["top"].get_visible() and not any(line.get_visible() for line in ax.get_xgridlines())


def test_feature_scatter_colours_classes_and_marks_centers():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 30)
    features = rng.normal(size=(300, 2)) + labels[:, None]
    centers = np.arange(20.0).reshape(10, 2)
    fig = plots.feature_scatter(features, labels, centers=centers, title="λ = 0.1")
    ax = fig.axes[0]
    assert ax.get_title() == "λ = 0.1"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(k) for k in range(10)]
    *classes, marks = ax.collections
    tab10 = matplotlib.colormaps["tab10"].colors
    for k, points in enumerate(classes):
        np.testing.assert_array_equal(points.get_offsets(), features[labels == k])
        np.testing.assert_allclose(points.get_facecolor()[0, :3], tab10[k])
    np.testing.assert_array_equal(marks.get_offsets(), centers)
    np.testing.assert_allclose(marks.get_edgecolor()[:, :3], 0.0)  # black edges
    np.testing.assert_allclose(marks.get_facecolor()[:, :3], tab10)


def test_feature_scatter_subsamples_reproducibly_into_a_given_axes():
    features = np.arange(200.0).reshape(100, 2)
    labels = np.arange(100) % 3
    state = np.random.get_state()[1].copy()
    _, ax = matplotlib.pyplot.subplots()
    fig = plots.feature_scatter(features, labels, ax=ax, max_points=10, seed=3)
    assert fig is ax.figure
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(drawn) == 10
    keep = np.sort(np.random.default_rng(3).choice(100, 10, replace=False))
    np.testing.assert_array_equal(np.sort(drawn[:, 0]), np.sort(features[keep, 0]))
    again = plots.feature_scatter(features, labels, max_points=10, seed=3).axes[0]
    np.testing.assert_array_equal(np.concatenate([c.get_offsets() for c in again.collections]), drawn)
    assert np.array_equal(np.random.get_state()[1], state), "NumPy's global generator is untouched"


def test_history_panels_thin_seeds_thick_means():
    class FakeHistory:
        history = {"loss": [3.0, 2.0, 1.0], "val_accuracy": [0.5, 0.6, 0.7]}

    runs = {
        "a": [{"loss": [1.0, 0.5], "val_accuracy": [0.2, 0.4]}, {"loss": [3.0, 1.5], "val_accuracy": [0.4, 0.8]}],
        "b": [FakeHistory()],
    }
    fig = plots.history_panels(runs, title="t")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "val_accuracy"] and fig._suptitle.get_text() == "t"
    loss = fig.axes[0].lines
    assert len(loss) == 2 + 1 + 1  # a: 2 seeds + mean; b: one seed, its mean only
    thin, thick = [l for l in loss if l.get_linewidth() < 1], [l for l in loss if l.get_linewidth() > 2]
    assert len(thin) == 2 and [l.get_label() for l in thick] == ["a", "b"]
    np.testing.assert_allclose(thick[0].get_ydata(), [2.0, 1.0])  # the mean of the seeds, by hand
    np.testing.assert_allclose(thick[1].get_xdata(), [1, 2, 3])
    assert thin[0].get_color() == thick[0].get_color() != thick[1].get_color()
    np.testing.assert_allclose(fig.axes[1].lines[2].get_ydata(), [0.3, 0.6])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b"]


def test_history_panels_takes_anything_with_histories_and_uses_common_epochs():
    class Duck:
        def histories(self):
            return {"x": [{"loss": [4.0, 2.0, 1.0]}, {"loss": [2.0, 1.0]}]}

    fig = plots.history_panels(Duck(), metrics="loss")
    np.testing.assert_allclose(fig.axes[0].lines[-1].get_ydata(), [3.0, 1.5])  # the 2 epochs both reached


def test_plots_imports_nothing_above_it():
    import ast
    import pathlib

    tree = ast.parse(pathlib.Path(plots.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module for a in n.names}
    assert not [name for name in imported if "experiments" in name or "widgets" in name]
