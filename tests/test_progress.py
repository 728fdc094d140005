"""Unit tests of kerascool_lib.progress: MeanProgbar against the closed-form weighted mean.

What the bar prints is captured from stdout; timings are never compared. Bad input: the table
in ``tests/test_bad_input.py``.
"""

import contextlib
import io
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerascool_lib import progress
from kerascool_lib.progress import MeanProgbar

ROOT = pathlib.Path(__file__).resolve().parent.parent
SIZES = [128, 128, 128, 16]  # a short last batch
LOSSES = [0.9, 0.5, 0.3, 2.0]


def _printed(fn):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn()
    return buf.getvalue()


def _shown(text, name):
    """The values of ``name`` on each drawn line (the text after each carriage return or newline)."""
    return [float(v) for v in re.findall(rf"{name}: (-?[0-9.]+(?:e[-+]?\d+)?)", text)]


def test_the_module_exports_one_class():
    assert progress.__all__ == ["MeanProgbar"]


def test_means_are_weighted_by_the_weight_given():
    bar = MeanProgbar(len(SIZES), verbose=0)
    for size, loss in zip(SIZES, LOSSES):
        bar.add(1, {"loss": loss}, weight=size)
    assert bar.result() == {"loss": pytest.approx(np.average(LOSSES, weights=SIZES), rel=1e-15)}
    assert bar.seen == 4 and bar.finished


def test_by_default_the_weight_is_how_far_the_bar_moved():
    bar = MeanProgbar(sum(SIZES), verbose=0, unit_name="sample")
    for size, loss in zip(SIZES, LOSSES):
        bar.add(size, [("loss", loss)])
    assert bar.result()["loss"] == pytest.approx(np.average(LOSSES, weights=SIZES), rel=1e-15)


def test_the_final_line_shows_the_mean_where_progbar_shows_the_last_value():
    def ours():
        bar = MeanProgbar(len(SIZES), verbose=1, interval=0)
        for size, loss in zip(SIZES, LOSSES):
            bar.add(1, {"loss": loss}, weight=size)

    def keras_bar():
        bar = keras.utils.Progbar(sum(SIZES), verbose=1, interval=0)
        seen = 0
        for size, loss in zip(SIZES, LOSSES):
            seen += size
            bar.update(seen, [("loss", loss)])

    weighted = np.average(LOSSES, weights=SIZES)
    shown = _shown(_printed(ours), "loss")
    expected = [np.average(LOSSES[:k], weights=SIZES[:k]) for k in range(1, 5)]
    assert shown == [float(f"{e:.4f}") for e in expected]
    assert shown[-1] == round(weighted, 4)
    built_in = _shown(_printed(keras_bar), "loss")
    assert built_in[:3] == shown[:3]  # the same sample-weighted means while running...
    assert built_in[-1] == LOSSES[-1]  # ...but Keras 3 ends on the last value


def test_stateful_names_show_the_last_value():
    bar = MeanProgbar(3, verbose=0, stateful_metrics=["lr"])
    for i in range(3):
        bar.add(1, {"loss": float(i), "lr": 10.0 * i})
    assert bar.result() == {"loss": 1.0, "lr": 20.0}


def test_backend_tensors_and_numpy_scalars_are_numbers():
    bar = MeanProgbar(2, verbose=0)
    bar.add(1, {"a": keras.ops.convert_to_tensor(1.5), "b": np.float32(2.0)})
    bar.add(1, {"a": np.array(2.5), "b": 4})
    assert bar.result() == {"a": 2.0, "b": 3.0}


def test_verbose_2_prints_one_line_at_the_end():
    def loop():
        bar = MeanProgbar(5, verbose=2)
        for i in range(5):
            bar.add(1, {"x": float(i)})

    text = _printed(loop)
    assert text.count("\n") == 1 and "\r" not in text and text.startswith("5/5 - ")
    assert _shown(text, "x") == [2.0]


def test_unknown_length_closes_once_with_the_count_seen():
    def loop():
        bar = MeanProgbar(None, verbose=2, unit_name="sample")
        bar.add(4, {"loss": 1.0})
        bar.add(2, {"loss": 4.0})
        assert not bar.finished
        bar.close()
        bar.close()  # a second close prints nothing

    text = _printed(loop)
    assert text.count("\n") == 1 and text.startswith("6/6 - ") and "/sample" in text
    assert _shown(text, "loss") == [2.0]


def test_update_moves_to_a_position_like_progbar():
    bar = MeanProgbar(10, verbose=0, unit_name="sample")
    bar.update(4, {"loss": 1.0})
    bar.update(10, {"loss": 4.0})
    assert bar.result()["loss"] == pytest.approx(0.4 * 1.0 + 0.6 * 4.0) and bar.finished


def test_silent_bar_prints_nothing():
    assert _printed(lambda: [MeanProgbar(2, verbose=0).add(2, {"x": 1.0})]) == ""


@pytest.mark.jax_subprocess
def test_on_jax(tmp_path):
    pytest.importorskip("jax")
    script = r"""
import keras, numpy as np
from kerascool_lib.progress import MeanProgbar
assert keras.backend.backend() == "jax"
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
bar = MeanProgbar(2, verbose=0)
losses = []
for xb in (x[:6], x[6:]):
    loss = keras.ops.mean(keras.ops.square(model(xb)))  # a 0-d jax array
    losses.append(float(loss))
    bar.add(1, {"loss": loss}, weight=len(xb))
assert abs(bar.result()["loss"] - np.average(losses, weights=[6, 4])) < 1e-12
print("jax ok")
"""
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "jax ok" in proc.stdout, proc.stderr[-3000:]
