"""Argument checks shared by the library: each raises ``ValueError`` naming the argument,
what was expected and the value received, in the style of Keras's own messages."""

from __future__ import annotations

import numbers


def integer(value, name: str, minimum: int | None = None) -> int:
    """``value`` as an int, if it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (
        minimum is not None and value < minimum
    ):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"`{name}` must be an integer{bound}. Received: {name}={value!r}")
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
        raise ValueError(f"`{name}` must be a number in {interval}. Received: {name}={value!r}")
    return float(value)


def positive_number(value, name: str) -> float:
    """``value`` as a float, if it is a real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
    return float(value)


def one_of(value, name: str, choices) -> object:
    """``value``, if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}. Received: {name}={value!r}")
    return value
