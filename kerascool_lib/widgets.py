"""Controls over precomputed results that work without a kernel.

A chapter computes its results once (a figure per epoch, per run, per digit) and shows them
behind a control. The control is linked to what it shows *in the browser*, with
``ipywidgets.jslink``, not through a Python callback, so it keeps working where no kernel
runs: in the static book (whose widget state the in-place execution stored), as well as in
Jupyter and on Colab.

Only ipywidgets APIs present in both 7.x (Colab ships 7.7) and 8.x are used: ``Tab`` with
``set_title`` and ``selected_index``, ``SelectionSlider`` and its ``index``, ``Image``,
``HTML``, ``VBox``, ``Layout`` and ``jslink``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ipywidgets

__all__ = ["stepper"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _as_panel(panel, index: int) -> ipywidgets.Widget:
    """One panel as a widget: figures and PNG bytes become ``Image``, strings ``HTML``."""
    if isinstance(panel, ipywidgets.Widget):
        return panel
    if isinstance(panel, str):
        return ipywidgets.HTML(value=panel)
    if hasattr(panel, "savefig") and hasattr(panel, "canvas"):  # a matplotlib Figure
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        panel.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(panel)
        panel = buffer.getvalue()
    if isinstance(panel, (bytes, bytearray)):
        if not bytes(panel[:8]) == _PNG_SIGNATURE:
            raise ValueError(
                f"`panels[{index}]` must be PNG bytes when it is bytes. "
                f"Received: {len(panel)} bytes starting with {bytes(panel[:8])!r}"
            )
        return ipywidgets.Image(
            value=bytes(panel), format="png", layout=ipywidgets.Layout(max_width="100%", height="auto")
        )
    raise ValueError(
        f"`panels[{index}]` must be a matplotlib Figure, PNG bytes, an HTML string or an "
        f"ipywidget. Received: {type(panel).__name__}"
    )


def stepper(panels: Sequence, labels: Sequence[str], *, description: str = "") -> ipywidgets.VBox:
    """Show one of several precomputed panels, chosen with a slider or a tab.

    The panels sit in the tabs of an ``ipywidgets.Tab`` titled with ``labels``; a
    ``SelectionSlider`` above them steps through the same labels. The slider's ``index`` is
    linked to the tabs' ``selected_index`` with ``jslink``, in both directions and in the
    browser, so dragging the slider or clicking a tab works in the static book, in Jupyter
    and on Colab, with or without a running kernel. Use it to step through epochs, switch
    between stored runs or choose a digit.

    Matplotlib figures are rendered to PNG (as the notebook would show them) and closed, so
    they are not displayed a second time below the widget. The whole content is stored in
    the notebook's widget state: keep panels to a few dozen images of modest size.

    Args:
        panels: one entry per step: a matplotlib ``Figure``, PNG bytes, a string of HTML,
            or any ipywidget.
        labels: one distinct, non-empty string per panel; shown as tab titles and as the
            slider's readout.
        description: the slider's label, e.g. ``"epoch"``.

    Returns:
        An ``ipywidgets.VBox`` whose children are the slider and the tabs, with the CSS class
        ``kc-stepper``; the link between them is kept as its ``link`` attribute.

    Example:

    >>> box = stepper(["<b>loss 0.9</b>", "<b>loss 0.4</b>"], ["epoch 1", "epoch 2"], description="epoch")
    >>> slider, tabs = box.children
    >>> [tabs.get_title(i) for i in range(len(tabs.children))], tabs.selected_index
    (['epoch 1', 'epoch 2'], 0)
    >>> slider.options, slider.index
    (('epoch 1', 'epoch 2'), 0)
    >>> box.link.source == (slider, "index") and box.link.target == (tabs, "selected_index")
    True
    """
    if isinstance(panels, (str, bytes)) or not isinstance(panels, Sequence) or not len(panels):
        raise ValueError(f"`panels` must be a non-empty sequence. Received: panels={panels!r:.80}")
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise ValueError(f"`labels` must be a sequence of strings. Received: labels={labels!r:.80}")
    labels = list(labels)
    if len(labels) != len(panels):
        raise ValueError(
            f"`labels` must have one label per panel. Received: {len(labels)} labels for "
            f"{len(panels)} panels"
        )
    bad = [label for label in labels if not isinstance(label, str) or not label]
    if bad or len(set(labels)) != len(labels):
        raise ValueError(f"`labels` must be distinct, non-empty strings. Received: labels={labels!r}")
    if not isinstance(description, str):
        raise ValueError(f"`description` must be a string. Received: description={description!r}")

    children = [_as_panel(panel, i) for i, panel in enumerate(panels)]
    tabs = ipywidgets.Tab(children=children)
    for i, label in enumerate(labels):
        tabs.set_title(i, label)
    tabs.selected_index = 0
    slider = ipywidgets.SelectionSlider(
        options=labels,
        index=0,
        description=description,
        continuous_update=True,
        readout=True,
        style={"description_width": "initial"},
        layout=ipywidgets.Layout(width="min(100%, 36em)"),
    )
    box = ipywidgets.VBox([slider, tabs])
    box.add_class("kc-stepper")
    box.link = ipywidgets.jslink((slider, "index"), (tabs, "selected_index"))
    return box
