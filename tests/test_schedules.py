"""Unit tests of kerascool_lib.schedules against their closed forms; saving and safe-mode loading.
Bad input: the table in ``tests/test_bad_input.py``."""

import math

import keras
import numpy as np
import pytest

from kerascool_lib.schedules import JoinedSchedule, LinearWarmup, join_schedules, one_cycle


def test_linear_warmup_closed_form():
    peak, warm = 3e-3, 7
    plain = LinearWarmup(peak, warm)
    for t in range(0, 40):
        assert float(plain(t)) == pytest.approx(peak * min(t + 1, warm) / warm, rel=1e-6), t


def test_warmup_joined_to_a_cosine_decay_follows_the_closed_form():
    peak, warm = 3e-3, 7
    joined = join_schedules([LinearWarmup(peak, warm), keras.optimizers.schedules.CosineDecay(peak, decay_steps=20)], [warm])
    for t in range(0, 40):
        expected = peak * min(t + 1, warm) / warm if t < warm else peak * 0.5 * (1 + np.cos(np.pi * min(t - warm, 20) / 20))
        assert float(joined(t)) == pytest.approx(expected, rel=1e-5, abs=1e-9), t


def test_join_of_three_counts_each_schedules_steps_from_its_own_start():
    s = join_schedules([0.1, keras.optimizers.schedules.PolynomialDecay(0.2, 4, 0.0), 0.01], boundaries=[3, 7])
    expected = [0.1] * 3 + [0.2 - 0.05 * k for k in range(4)] + [0.01] * 3
    np.testing.assert_allclose([float(s(t)) for t in range(10)], expected, rtol=1e-6)


def test_joined_schedule_serializes_and_the_model_reloads_in_safe_mode(tmp_path):
    schedule = join_schedules([LinearWarmup(1e-2, 5), keras.optimizers.schedules.ExponentialDecay(1e-2, 3, 0.5)], [5])
    clone = JoinedSchedule.from_config(schedule.get_config())
    assert [float(clone(t)) for t in range(12)] == [float(schedule(t)) for t in range(12)]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedule), "mse")
    model.fit(np.ones((6, 2)), np.ones((6, 1)), batch_size=2, verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")  # safe_mode=True (the default)
    restored_schedule = restored.optimizer._learning_rate
    assert isinstance(restored_schedule, JoinedSchedule)
    assert isinstance(restored_schedule.schedules[0], LinearWarmup)
    assert isinstance(restored_schedule.schedules[1], keras.optimizers.schedules.ExponentialDecay)
    assert int(restored.optimizer.iterations.numpy()) == 3
    assert float(restored.optimizer.learning_rate) == float(schedule(3))


def test_one_cycle_warms_up_then_decays_to_zero():
    s = one_cycle(1e-2, total_steps=100, warmup_fraction=0.2, start_factor=0.1)
    rates = np.array([float(s(t)) for t in range(101)])
    assert rates[0] == pytest.approx(1e-3) and rates[20] == pytest.approx(1e-2)
    assert np.all(np.diff(rates[:21]) > 0) and np.all(np.diff(rates[20:]) <= 1e-12)
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)
    assert float(one_cycle(1e-2, 10, warmup_fraction=0.0)(0)) == pytest.approx(1e-2)


def test_one_cycle_closed_form():
    peak, total, frac = 0.01, 200, 0.25
    s = one_cycle(peak, total, frac, start_factor=0.1)
    warm = 50
    for step in [0, 10, 25, 50, 80, 125, 199, 200]:
        if step <= warm:
            expected = 0.1 * peak + (peak - 0.1 * peak) * step / warm
        else:
            expected = peak * 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
        assert float(s(step)) == pytest.approx(expected, rel=1e-5, abs=1e-9), step
    no_warmup = one_cycle(0.01, 100, 0.0)
    assert float(no_warmup(0)) == pytest.approx(0.01)
