"""Unit tests of kerascool_lib._checks: each kind of check once, with its exact message.

The public names that use these checks are tested argument by argument in
``tests/test_bad_input.py``; here each check's own behaviour is pinned: what passes (and what it
returns) and the one message format ``"`name` must be <expected>. Received: <received>"``.
"""

import math
import pathlib

import keras
import numpy as np
import pytest

from kerascool_lib import _checks


def message(call):
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value)


def test_fail_is_the_one_format():
    assert str(_checks.fail("n", "an integer", value=2.5)) == "`n` must be an integer. Received: n=2.5"
    assert str(_checks.fail("x", "2-D", "x.shape=(3,)")) == "`x` must be 2-D. Received: x.shape=(3,)"
    assert type(_checks.fail("x", "a path", value=1, error=TypeError)) is TypeError


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: _checks.integer(0, "n", 1), "`n` must be an integer >= 1. Received: n=0"),
        (lambda: _checks.integer(True, "n"), "`n` must be an integer. Received: n=True"),
        (lambda: _checks.optional_integer(2.5, "n", 0), "`n` must be an integer >= 0. Received: n=2.5"),
        (lambda: _checks.number(1.0, "p", 0, 1, high_open=True), "`p` must be a number in [0, 1). Received: p=1.0"),
        (lambda: _checks.number(0, "p", 0, math.inf, low_open=True), "`p` must be a number in (0, inf]. Received: p=0"),
        (lambda: _checks.positive_number(-1, "lr"), "`lr` must be a positive number. Received: lr=-1"),
        (lambda: _checks.finite_positive(math.inf, "lr"), "`lr` must be a finite positive number. Received: lr=inf"),
        (lambda: _checks.one_of(True, "per", (1, 2)), "`per` must be one of [1, 2]. Received: per=True"),
        (lambda: _checks.boolean(1, "flag"), "`flag` must be True or False. Received: flag=1"),
        (lambda: _checks.verbose(2.0), "`verbose` must be 0 or 1. Received: verbose=2.0"),
        (lambda: _checks.log_name(" v "), "`name` must be a non-empty string without surrounding spaces, used as the key in `logs` and `history`. Received: name=' v '"),
        (lambda: _checks.model("net"), "`model` must be a keras.Model. Received: model='net' of type str"),
        (lambda: _checks.model(keras.Sequential([keras.layers.Dense(1)], name="s"), built=True),
         "`model` must be a built keras.Model (call it on data, or give it an Input). Received: model='s', not built"),
        (lambda: _checks.instance(0.1, "v", keras.Variable, "a keras.Variable"), "`v` must be a keras.Variable. Received: v=0.1 of type float"),
        (lambda: _checks.function("f1", "metric", "a function f(y, p)"), "`metric` must be a function f(y, p). Received: metric='f1'"),
        (lambda: _checks.positive_integers((8, 0), "filters", count=2), "`filters` must be two positive integers. Received: filters=(8, 0)"),
        (lambda: _checks.positive_integers((), "hidden"), "`hidden` must be a non-empty sequence of positive integers. Received: hidden=()"),
        (lambda: _checks.weights_path("best.h5"), "`filepath` must be a path ending in '.weights.h5' (Keras's weights format). Received: filepath='best.h5'"),
        (lambda: _checks.labels([0, 1.5, -1], "y", 3), "`y` must be class indices, integers in [0, 3). Received: y[1]=1.5 (2 of 3 out of range)"),
        (lambda: _checks.labels(np.zeros((2, 2)), "y"), "`y` must be a 1-D array of class indices (samples,) or (samples, 1). Received: y of shape (2, 2)"),
        (lambda: _checks.labels(["a"], "y"), "`y` must be class indices (integers). Received: y of dtype <U1"),
        (lambda: _checks.sample_count({"x": [np.zeros((5, 2)), np.zeros((4, 1))], "y": {"b": np.zeros(5), "a": 3}}, "data"),
         "`data` must be arrays, or lists, tuples or dicts of arrays (as `fit` takes them), all with one common, "
         "non-zero number of samples. Received: x[0].shape=(5, 2), x[1].shape=(4, 1), y['a']=3 of type int, y['b'].shape=(5,)"),
        (lambda: _checks.sample_count({"x": np.zeros((0, 2))}, "x", "a non-empty batch"), "`x` must be a non-empty batch. Received: x.shape=(0, 2)"),
    ],
    ids=lambda v: "" if callable(v) else v.split(" must")[0].strip("`"),
)
def test_each_check_raises_its_exact_message(call, expected):
    assert message(call) == (ValueError, expected)


def test_the_checks_return_the_value_they_accept(tmp_path):
    assert _checks.integer(np.int64(3), "n", 1) == 3 and type(_checks.integer(np.int64(3), "n")) is int
    assert _checks.optional_integer(None, "n") is None
    assert _checks.number(1, "p", 0, 1) == 1.0 and _checks.positive_number(2, "p") == 2.0
    assert _checks.boolean(np.bool_(True), "b") is True and _checks.verbose(1) == 1
    assert _checks.positive_integers([3, 4], "h") == (3, 4)
    assert _checks.weights_path(tmp_path / "a.weights.h5") == pathlib.Path(tmp_path / "a.weights.h5")
    assert _checks.labels([[1.0], [2.0]], "y").tolist() == [1, 2]
    # fit's structures: nested lists and dicts of arrays, a list of numbers as one array
    assert _checks.sample_count({"x": {"a": np.zeros((3, 2)), "b": [np.zeros(3)]}, "y": [0, 1, 2]}, "d") == 3
    assert _checks.sample_count({"x": np.zeros((0, 2)), "y": np.zeros(0)}, "d", minimum=0) == 0
    assert _checks.function(len, "f", "a function") is len
    assert _checks.instance(3, "n", int, "an int") == 3
