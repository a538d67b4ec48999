"""Alarm logic: calibration to a false-alarm target, hysteresis, minimum duration, explanations."""

from __future__ import annotations

import numpy as np
import pytest

from aion.solutions.process.alarms import Alarm, AlarmPolicy
from aion.solutions.process.errors import ProcessError
from aion.solutions.process.explain import explain_alarm


def test_calibration_hits_the_target_on_normal_scores() -> None:
    rng = np.random.default_rng(1)
    normal = rng.exponential(size=20_000)
    for far in (0.01, 0.05):
        p = AlarmPolicy(target_far=far, smooth=1, min_duration=1).calibrate(normal)
        fresh = rng.exponential(size=20_000)
        assert abs(np.mean(fresh > p.threshold) - far) < far * 0.3


def test_hysteresis_keeps_one_alarm_through_dips() -> None:
    p = AlarmPolicy(smooth=1, hysteresis=0.5, min_duration=1, threshold=1.0)
    s = np.array([0, 1.5, 0.8, 1.2, 0.7, 0.4, 0.2, 1.3, 0])
    assert [(a.start, a.end) for a in p.alarms(s)] == [(1, 5), (7, 8)]
    no_h = AlarmPolicy(smooth=1, hysteresis=1.0, min_duration=1, threshold=1.0)
    assert len(no_h.alarms(s)) == 3


def test_minimum_duration_and_smoothing_remove_blips() -> None:
    s = np.zeros(100)
    s[10] = 50.0  # one-row spike
    s[50:70] = 2.0  # sustained excursion
    p = AlarmPolicy(smooth=5, hysteresis=0.8, min_duration=8, threshold=1.5)
    alarms = p.alarms(s)
    assert len(alarms) == 1
    assert 50 <= alarms[0].start <= 55 and alarms[0].end >= 68


def test_on_delay_passes_intense_short_excursions_only() -> None:
    s = np.zeros(300)
    s[20] = 500.0  # one bad reading, however large: never an alarm
    s[60:80] = 1.3  # 20 rows just over the limit: shorter than the on-delay
    s[120:140] = 3.0  # 20 rows at three times the limit: intense
    s[200:240] = 1.3  # 40 rows just over the limit: long enough
    p = AlarmPolicy(smooth=4, hysteresis=1.0, min_duration=30, threshold=1.0)
    spans = [(a.start, a.end) for a in p.alarms(s)]
    assert len(spans) == 2
    assert 120 <= spans[0][0] <= 124 and 200 <= spans[1][0] <= 204
    strict = AlarmPolicy(smooth=4, hysteresis=1.0, min_duration=30, threshold=1.0, short_area=2.0)
    assert [a.start >= 200 for a in strict.alarms(s)] == [True]


def test_lower_target_never_raises_more_alarms() -> None:
    rng = np.random.default_rng(2)
    normal = rng.normal(size=5000) ** 2
    test = np.r_[rng.normal(size=3000) ** 2, 12 + rng.normal(size=200)]
    base = AlarmPolicy(smooth=3, min_duration=3)
    loose = base.with_target(0.05, normal).mask(test).sum()
    strict = base.with_target(0.001, normal).mask(test).sum()
    assert strict <= loose
    assert base.with_target(0.001, normal).mask(test)[-150:].mean() > 0.9


def test_policy_rejects_bad_values() -> None:
    with pytest.raises(ProcessError, match="target_far"):
        AlarmPolicy(target_far=0.9)
    with pytest.raises(ProcessError, match="threshold"):
        AlarmPolicy().mask(np.zeros(3))


def test_explanation_ranks_the_driving_sensor_in_two_languages() -> None:
    contrib = np.tile([0.1, 0.7, 0.2], (10, 1))
    values = np.tile([0.0, -5.0, 1.0], (10, 1))
    a = explain_alarm(
        Alarm(2, 8, 3.0), contrib, values, ["flow", "pressure", "temp"], np.zeros(3), np.ones(3)
    )
    assert [c["sensor"] for c in a.contributions] == ["pressure", "temp", "flow"]
    assert a.contributions[0]["direction"] == "low"
    assert "pressure" in a.message_en and "lower" in a.message_en
    assert "낮음" in a.message_ko
    assert a.to_dict()["duration"] == 6
