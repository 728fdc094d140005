"""Unit tests of kerascool_lib.widgets: the stepper's structure, its browser-side link, and
the widget state it leaves for the static book. (tests/test_browser.py drives it in Chromium.)"""

import io

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from ipywidgets.embed import embed_data

from kerascool_lib.widgets import stepper


def _png(color=0.0):
    buffer = io.BytesIO()
    plt.imsave(buffer, np.full((4, 4), color), format="png", vmin=0, vmax=1)
    return buffer.getvalue()


def test_stepper_is_a_slider_linked_to_tabs_in_the_browser():
    box = stepper(["<b>a</b>", "<b>b</b>", "<b>c</b>"], ["epoch 1", "epoch 2", "epoch 3"], description="epoch")
    slider, tabs = box.children
    assert isinstance(box, ipywidgets.VBox) and "kc-stepper" in box._dom_classes
    assert isinstance(slider, ipywidgets.SelectionSlider) and isinstance(tabs, ipywidgets.Tab)
    assert slider.options == ("epoch 1", "epoch 2", "epoch 3") and slider.description == "epoch"
    assert [tabs.get_title(i) for i in range(3)] == ["epoch 1", "epoch 2", "epoch 3"]
    assert slider.index == 0 and tabs.selected_index == 0
    # a two-way link that lives in the front end (jslink), not a Python observer (link/observe)
    assert type(box.link) is ipywidgets.widgets.widget_link.Link
    assert box.link.source == (slider, "index") and box.link.target == (tabs, "selected_index")
    slider.index = 2  # no kernel-side link: only the front end moves the tabs
    assert tabs.selected_index == 0


def test_the_stored_widget_state_holds_the_link_and_the_panels():
    """What the in-place execution stores, and the static book renders from."""
    box = stepper([_png(0.0), _png(1.0)], ["0", "1"])
    slider, tabs = box.children
    state = embed_data(views=[box])["manager_state"]["state"]
    link = state[box.link.model_id]["state"]
    assert state[box.link.model_id]["model_name"] == "LinkModel"
    assert link["source"] == [f"IPY_MODEL_{slider.model_id}", "index"]
    assert link["target"] == [f"IPY_MODEL_{tabs.model_id}", "selected_index"]
    children = state[tabs.model_id]["state"]["children"]
    assert children == [f"IPY_MODEL_{c.model_id}" for c in tabs.children]
    assert all(state[c.model_id]["model_name"] == "ImageModel" for c in tabs.children)
    assert all(state[c.model_id].get("buffers") for c in tabs.children), "the PNG bytes are stored"


def test_panels_may_be_figures_png_bytes_html_or_widgets():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    number = fig.number
    own = ipywidgets.Label("mine")
    png = _png()
    box = stepper([fig, png, "<i>html</i>", own], ["fig", "png", "html", "widget"])
    figure, image, html, widget = box.children[1].children
    assert isinstance(figure, ipywidgets.Image) and figure.format == "png"
    assert figure.value[:8] == b"\x89PNG\r\n\x1a\n" and len(figure.value) > 1000
    assert not plt.fignum_exists(number), "the figure is closed, so it is not shown twice"
    assert image.value == png and isinstance(html, ipywidgets.HTML) and html.value == "<i>html</i>"
    assert widget is own

# Bad input to stepper: tests/test_bad_input.py (the table of every public name).
