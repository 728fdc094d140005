"""Argument checks shared by the library: each raises ``ValueError`` naming the argument,
what was expected and the value received, in the style of Keras's own messages:

    `name` must be <what>. Received: name=<value>
"""

from __future__ import annotations

import math
import numbers
import os
import pathlib

import numpy as np

WEIGHTS_SUFFIX = ".weights.h5"


def fail(name: str, expected: str, received: str | None = None, value=None, *, error=ValueError) -> Exception:
    """The library's one message format: "`name` must be <expected>. Received: <received>".

    ``received`` defaults to ``name=<repr of value>``; ``error`` is the exception type (a
    ``TypeError`` where Python itself would raise one). Returns the exception, to ``raise``.
    """
    shown = received if received is not None else f"{name}={value!r}"
    return error(f"`{name}` must be {expected}. Received: {shown}")


def _typed(name, value) -> str:
    return f"{name}={value!r:.80} of type {type(value).__name__}"


def instance(value, name: str, types, expected: str, *, error=ValueError):
    """``value``, if it is an instance of ``types``; the message shows the value and its type."""
    if not isinstance(value, types):
        raise fail(name, expected, _typed(name, value), error=error)
    return value


def function(value, name: str, expected: str):
    """``value``, if it is callable; ``expected`` says which function, e.g. "a function f(x)"."""
    if not callable(value):
        raise fail(name, expected, value=value)
    return value


def integer(value, name: str, minimum: int | None = None) -> int:
    """``value`` as an int, if it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (
        minimum is not None and value < minimum
    ):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise fail(name, f"an integer{bound}", value=value)
    return int(value)


def optional_integer(value, name: str, minimum: int | None = None) -> int | None:
    """Like :func:`integer`, but None passes through."""
    return None if value is None else integer(value, name, minimum)


def number(value, name: str, low: float, high: float, *, low_open=False, high_open=False) -> float:
    """``value`` as a float, if it is a real number within the interval given."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise fail(name, f"a number in {interval}", value=value)
    return float(value)


def positive_number(value, name: str) -> float:
    """``value`` as a float, if it is a real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise fail(name, "a positive number", value=value)
    return float(value)


def finite_positive(value, name: str) -> float:
    """``value`` as a float, if it is a finite real number > 0 (a rate: not inf or nan)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (value > 0 and math.isfinite(value)):
        raise fail(name, "a finite positive number", value=value)
    return float(value)


def one_of(value, name: str, choices) -> object:
    """``value``, if it is one of ``choices``."""
    if isinstance(value, bool) and not any(c is value for c in choices) or value not in choices:
        raise fail(name, f"one of {sorted(choices, key=repr)}", value=value)
    return value


def positive_integers(value, name: str, count: int | None = None) -> tuple[int, ...]:
    """``value`` as a tuple of ints >= 1: a non-empty sequence, or exactly ``count`` of them."""
    ok = isinstance(value, (tuple, list)) and (len(value) == count if count is not None else len(value) > 0)
    if not ok or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in value):
        what = f"{_COUNTS.get(count, count)} positive integers" if count is not None else "a non-empty sequence of positive integers"
        raise fail(name, what, value=value)
    return tuple(int(v) for v in value)


_COUNTS = {1: "one", 2: "two", 3: "three"}


def boolean(value, name: str) -> bool:
    """``value``, if it is True or False (not 0/1, not a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise fail(name, "True or False", value=value)
    return bool(value)


def verbose(value, name: str = "verbose") -> int:
    """``value`` as an int, if it is 0 or 1."""
    if isinstance(value, (bool, float)) or value not in (0, 1):
        raise fail(name, "0 or 1", value=value)
    return int(value)


def log_name(value, name: str = "name") -> str:
    """``value``, if it can be a key in ``logs`` and ``history``."""
    if not isinstance(value, str) or not value or value.strip() != value:
        raise fail(name, "a non-empty string without surrounding spaces, used as the key in `logs` and `history`", value=value)
    return value


def model(value, name: str = "model", *, built: bool = False):
    """``value``, if it is a ``keras.Model`` (and built, if ``built``)."""
    import keras

    instance(value, name, keras.Model, "a keras.Model")
    if built and not value.built:
        raise fail(name, "a built keras.Model (call it on data, or give it an Input)", f"{name}={value.name!r}, not built")
    return value


def weights_path(value, name: str = "filepath") -> pathlib.Path:
    """``value`` as a Path, if it is a path ending in ``.weights.h5``."""
    if not isinstance(value, (str, os.PathLike)) or not str(value).endswith(WEIGHTS_SUFFIX):
        raise fail(name, f"a path ending in '{WEIGHTS_SUFFIX}' (Keras's weights format)", value=value)
    return pathlib.Path(value)


def labels(values, name: str = "labels", num_classes: int | None = None) -> np.ndarray:
    """``values`` as a 1-D int64 array, if every entry is a class index in ``[0, num_classes)``.

    Integral floats (``1.0``) pass, as Keras feeds labels as floats; ``1.7``, ``-1``, NaN and
    an index ``>= num_classes`` do not. The error names the first bad value and where it is.
    A ``(samples, 1)`` column is flattened.
    """
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise fail(name, "a 1-D array of class indices (samples,) or (samples, 1)", f"{name} of shape {array.shape}")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise fail(name, "class indices (integers)", f"{name} of dtype {array.dtype}")
    allowed = f"[0, {num_classes})" if num_classes is not None else "[0, inf)"
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(array) | (array != np.round(array)) | (array < 0)
        if num_classes is not None:
            bad |= array >= num_classes
    if bad.any():
        where = int(np.argmax(bad))
        raise fail(
            name, f"class indices, integers in {allowed}",
            f"{name}[{where}]={array[where].item()!r} ({int(bad.sum())} of {array.size} out of range)",
        )
    return array.astype(np.int64)


def _leaves(value, path: str):
    """``(path, leaf)`` of a nest of lists, tuples and dicts, as ``fit`` reads ``x`` and ``y``."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)) and any(hasattr(v, "shape") or isinstance(v, (dict, list, tuple)) for v in value):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:  # an array, or a list of numbers (one array)
        yield path, value


def sample_count(structures: dict, name: str, expected: str | None = None, *, minimum: int = 1) -> int:
    """The number of samples (rows) shared by every array of ``structures``.

    ``structures`` maps a label to what ``fit`` would take as ``x`` or ``y``: an array, or lists,
    tuples and dicts of arrays, nested (``{"x": [images, labels], "y": y}``). Every array must
    have a first axis, all of the same length, at least ``minimum``. The error lists the shape
    of every array, by its place: ``Received: x[0].shape=(56, 4), x[1].shape=(50,), y.shape=(56,)``.
    """
    shapes = []
    for label, value in structures.items():
        for path, leaf in _leaves(value, label):
            shape = getattr(leaf, "shape", None)
            if shape is None:
                try:
                    shape = np.shape(leaf)
                except (TypeError, ValueError):  # ragged lists
                    shape = None
            shapes.append((path, None if shape is None else tuple(shape), leaf))
    counts = {s[0] if s else None for _, s, _ in shapes}
    if len(counts) == 1 and None not in counts and (n := next(iter(counts))) is not None and n >= minimum:
        return int(n)
    described = ", ".join(
        f"{path}.shape={shape}" if shape else f"{path}={leaf!r:.40} of type {type(leaf).__name__}"
        for path, shape, leaf in shapes
    ) or "no arrays"
    if expected is None:
        expected = (
            "arrays, or lists, tuples or dicts of arrays (as `fit` takes them), all with one common, "
            f"{'non-zero ' if minimum >= 1 else ''}number of samples"
        )
    raise fail(name, expected, described)
