"""Unit tests of kerascool_lib.plots and kerascool_lib.source."""

import matplotlib
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
