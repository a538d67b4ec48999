"""Limits that people trust: quantised sensors, slowly drifting sensors, no-delay file scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aion.solutions.process.alarms import AlarmPolicy, smooth_scores
from aion.solutions.process.detectors import RobustZDetector
from aion.solutions.process.detectors.base import robust_center_scale, slow_sensor_widening, swing_counts
from aion.solutions.process.frame import SensorFrame
from aion.solutions.process.model import TrainConfig, train


def test_quantised_sensor_scale_is_not_collapsed() -> None:
    rng = np.random.default_rng(0)
    flow = np.where(rng.random(2000) < 0.7, 32.0, rng.choice([31.0, 33.0], 2000))  # mostly one count
    noise = rng.normal(size=2000)
    _, scale = robust_center_scale(np.column_stack([flow, noise]))
    assert scale[0] > 0.3  # the MAD alone would be 0 here: every other count a "huge" event
    assert 0.9 < scale[1] < 1.1  # Gaussian noise keeps its sigma
    det = RobustZDetector().fit(np.column_stack([flow, noise]))
    assert det.score(np.array([[33.0, 0.0]]))[0] < 3.5 < det.score(np.array([[28.0, 0.0]]))[0]


def test_slow_sensor_limits_widen_and_noisy_ones_do_not() -> None:
    rng = np.random.default_rng(1)
    n = 600
    warming = np.linspace(20.0, 26.0, n) + 0.05 * rng.normal(size=n)  # one slow excursion
    cycling = np.sin(np.arange(n) / 8.0) + 0.1 * rng.normal(size=n)  # many swings
    X = np.column_stack([warming, cycling, rng.normal(size=n)])
    c, s = robust_center_scale(X)
    assert swing_counts((X - c) / s)[0] <= 1 and swing_counts((X - c) / s)[1] > 10
    w = slow_sensor_widening(X, c, s)
    assert w[0] >= 5.0 and w[1] == 1.0 and w[2] == 1.0
    # the warm-up continues a little after the normal period: no alarm; a step on the noise is one
    later = np.column_stack(
        [26.5 + 0.05 * rng.normal(size=300), np.sin(np.arange(300) / 8.0), rng.normal(size=300)]
    )
    later[200:, 2] += 8.0
    frame = SensorFrame(np.vstack([X, later]), ["temp", "cycle", "flow"])
    res = train(frame, (0, n), TrainConfig(detector="robust_z")).score(frame)
    assert not res.alarm_mask[n : n + 200].any()
    assert res.alarm_mask[n + 210 : n + 300].mean() > 0.9
    assert res.alarms[-1].contributions[0]["sensor"] == "flow"


def test_centred_smoothing_has_no_delay() -> None:
    s = np.zeros(200)
    s[100:150] = 5.0
    assert smooth_scores(s, 10)[100] < 1.0 < smooth_scores(s, 10, centered=True)[100]
    live = AlarmPolicy(smooth=10, min_duration=5, threshold=2.0)
    files = AlarmPolicy(smooth=10, min_duration=5, threshold=2.0, centered=True)
    assert live.alarms(s)[0].start >= 103 and abs(files.alarms(s)[0].start - 100) <= 2
    assert files.alarms(s)[0].end <= live.alarms(s)[0].end


def test_noisy_quantised_sensor_is_not_taken_for_a_slow_one() -> None:
    rng = np.random.default_rng(3)
    n = 400
    counts = np.where(rng.random(n) < 0.8, 32.0, rng.choice([31.0, 33.0], n))  # flow: mostly one count
    ramp = np.linspace(20.0, 22.0, n) + 0.02 * rng.normal(size=n)  # a warm-up: really slow
    X = np.column_stack([counts, ramp])
    X = np.asarray(pd.DataFrame(X).rolling(10, min_periods=1).mean())  # as the model smooths inputs
    c, s = robust_center_scale(X)
    assert s[0] > X[:, 0].std()  # the quantisation floor makes the scale exceed the spread
    w = slow_sensor_widening(X, c, s)
    assert w[0] == 1.0 and w[1] >= 5.0
    # so a drop of the averaged flow by half a count (a valve partly closed) still stands out
    det = RobustZDetector().fit(X)
    assert det.score(np.array([[31.5, 21.0]]))[0] > 1.5 * np.quantile(det.score(X), 0.99)
