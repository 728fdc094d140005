"""Learning-rate schedules: warmup, one-cycle, and joining schedules one after another.

- :class:`LinearWarmup`: a linear ramp to a peak rate that the first step already uses.
- :func:`join_schedules`: follow one schedule, then another from a given step (warmup, then
  decay), in the way optax composes schedules.
- :func:`one_cycle`: the reference recipe's warmup-then-cosine schedule, Keras's built-in
  ``CosineDecay`` with its warmup arguments.

All of them are ``keras.optimizers.schedules.LearningRateSchedule`` objects: the optimizer
evaluates them inside each compiled step from its step counter, so they work with
``steps_per_execution``, resume from a checkpoint and are saved with the model.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerascool_lib import _checks

__all__ = ["LinearWarmup", "JoinedSchedule", "join_schedules", "one_cycle"]


def _warmup_value(peak: float, warmup_steps: int, step: int) -> np.float32:
    """The warmup rate at ``step``, rounded exactly as LinearWarmup's float32 ops round it."""
    f32 = np.float32
    return f32(peak) * f32(min(step + 1, warmup_steps)) / f32(warmup_steps)


@keras.saving.register_keras_serializable(package="kerascool_lib")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Ramp the learning rate up linearly for ``warmup_steps`` steps, then hold it.

    At optimizer step ``t`` (counted from 0) the rate is

    - ``peak_learning_rate * (t + 1) / warmup_steps`` while ``t < warmup_steps``: the first
      step already trains, at ``peak / warmup_steps``, and step ``warmup_steps - 1`` reaches the
      peak;
    - then ``peak_learning_rate``. To decay afterwards, join it with another schedule:
      ``join_schedules([LinearWarmup(peak, n), CosineDecay(peak, m)], boundaries=[n])``.

    This is the per-batch warmup of the source post, moved from a callback into the optimizer:
    it is evaluated inside each compiled step from ``optimizer.iterations``, so it works with
    ``steps_per_execution``, resumes correctly from a checkpoint and is saved with the model.
    Keras's ``CosineDecay(warmup_target=..., warmup_steps=...)`` warms up too, but starts at
    ``initial_learning_rate`` (0 for a ramp from zero), so its first step does not train.

    Args:
        peak_learning_rate: the rate reached at the end of warmup.
        warmup_steps: optimizer steps of the ramp.
        name: the schedule's name.

    Example:

    >>> warmup = LinearWarmup(1e-3, warmup_steps=4)
    >>> [round(float(warmup(step)), 6) for step in range(6)]
    [0.00025, 0.0005, 0.00075, 0.001, 0.001, 0.001]
    """

    def __init__(self, peak_learning_rate, warmup_steps, name="LinearWarmup"):
        super().__init__()
        self.peak_learning_rate = _checks.finite_positive(peak_learning_rate, "peak_learning_rate")
        self.warmup_steps = _checks.integer(warmup_steps, "warmup_steps", 1)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = ops.cast(self.warmup_steps, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        return peak * ops.minimum(step + 1.0, warmup) / warmup

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps, "name": self.name}


@keras.saving.register_keras_serializable(package="kerascool_lib")
class JoinedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Schedules one after another: what :func:`join_schedules` returns (see there).

    Each schedule sees the steps counted from its own start; a number stands for a constant rate.

    Example:

    >>> s = JoinedSchedule([0.1, keras.optimizers.schedules.PolynomialDecay(0.2, 2, 0.0)], [3])
    >>> [round(float(s(step)), 4) for step in range(6)]
    [0.1, 0.1, 0.1, 0.2, 0.1, 0.0]
    """

    def __init__(self, schedules, boundaries, name="JoinedSchedule"):
        super().__init__()
        if isinstance(schedules, (str, bytes)) or not hasattr(schedules, "__len__") or len(schedules) < 2:
            raise _checks.fail("schedules", "a list of at least two schedules", value=schedules)
        for i, s in enumerate(schedules):
            if not (callable(s) or isinstance(s, (int, float))) or isinstance(s, bool):
                raise _checks.fail(f"schedules[{i}]", "a LearningRateSchedule, a function of the step or a number", value=s)
        if isinstance(boundaries, (str, bytes)) or not hasattr(boundaries, "__len__") or len(boundaries) != len(schedules) - 1:
            raise _checks.fail(
                "boundaries", f"a list of {len(schedules) - 1} step(s), one fewer than the schedules", value=boundaries
            )
        boundaries = [_checks.integer(b, f"boundaries[{i}]", 1) for i, b in enumerate(boundaries)]
        if any(b <= a for a, b in zip(boundaries, boundaries[1:])):
            raise _checks.fail("boundaries", "strictly increasing", value=boundaries)
        self.schedules = list(schedules)
        self.boundaries = boundaries
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        starts = [0, *self.boundaries]
        rate = None
        for start, schedule in zip(starts, self.schedules):
            local = ops.maximum(step - float(start), 0.0)
            value = ops.cast(schedule(local) if callable(schedule) else schedule, "float32")
            rate = value if rate is None else ops.where(step >= float(start), value, rate)
        return rate

    def get_config(self):
        serialize = keras.optimizers.schedules.serialize
        return {
            "schedules": [s if isinstance(s, (int, float)) else serialize(s) for s in self.schedules],
            "boundaries": self.boundaries,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        deserialize = keras.optimizers.schedules.deserialize
        config["schedules"] = [s if isinstance(s, (int, float)) else deserialize(s) for s in config["schedules"]]
        return cls(**config)


def join_schedules(schedules, boundaries) -> JoinedSchedule:
    """Follow ``schedules[0]`` until step ``boundaries[0]``, then ``schedules[1]``, and so on.

    The way optax composes schedules (``optax.join_schedules``): a warmup-then-decay schedule is
    a ramp joined to a decay, not a new class. Each schedule sees the steps counted from its own
    start, so a ``CosineDecay(peak, m)`` placed after a 10-step warmup starts at the peak on
    step 10. The result is a ``LearningRateSchedule``: evaluated inside the compiled step,
    saved with the model (the parts must be serializable schedules or numbers).

    Args:
        schedules: ``LearningRateSchedule`` objects (or plain numbers), at least two.
        boundaries: the steps where each next schedule takes over, strictly increasing,
            one fewer than ``schedules``.

    Returns:
        A :class:`JoinedSchedule`.

    Example:

    >>> decay = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=1, decay_rate=0.5)
    >>> s = join_schedules([LinearWarmup(1e-3, warmup_steps=2), decay], boundaries=[2])
    >>> [round(float(s(step)), 6) for step in range(5)]
    [0.0005, 0.001, 0.001, 0.0005, 0.00025]
    """
    return JoinedSchedule(schedules, boundaries)


def one_cycle(
    peak_lr: float, total_steps: int, warmup_fraction: float = 0.2, start_factor: float = 0.1
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Warm up linearly from ``start_factor * peak_lr`` to ``peak_lr``, then cosine-decay to 0.

    A built-in :class:`keras.optimizers.schedules.CosineDecay` with its warmup arguments: the
    warmup lets a high peak rate start safely, the decay settles the weights at the end.

    Args:
        peak_lr: the highest learning rate, reached at the end of warmup.
        total_steps: optimizer steps in the whole run (epochs x steps per epoch).
        warmup_fraction: the share of ``total_steps`` spent warming up, in ``[0, 1)``.
        start_factor: the first step's rate as a fraction of ``peak_lr``.

    Example:

    >>> s = one_cycle(1e-2, total_steps=100, warmup_fraction=0.2)
    >>> [round(float(s(step)), 5) for step in (0, 10, 20, 60, 100)]
    [0.001, 0.0055, 0.01, 0.005, 0.0]
    """
    _checks.positive_number(peak_lr, "peak_lr")
    _checks.integer(total_steps, "total_steps", 1)
    warmup_fraction = _checks.number(warmup_fraction, "warmup_fraction", 0, 1, high_open=True)
    _checks.number(start_factor, "start_factor", 0, 1, low_open=True)
    warmup = int(round(warmup_fraction * total_steps))
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(float(peak_lr), total_steps, alpha=0.0)
    return keras.optimizers.schedules.CosineDecay(
        float(peak_lr) * start_factor,
        decay_steps=max(1, total_steps - warmup),
        alpha=0.0,
        warmup_target=float(peak_lr),
        warmup_steps=warmup,
    )
