"""benchmarks/anomaly.py's streaming comparison and benchmarks/anomaly_spot.py, on tiny settings."""

from __future__ import annotations

import numpy as np
import pytest

from tests._benchmarks import benchmark_fixture

anomaly = benchmark_fixture("anomaly")


spot = benchmark_fixture("anomaly_spot")


def test_stream_speed_reads_each_presets_detector_and_window(anomaly):
    kwargs, window = anomaly._preset_detector("anomaly-yahoo")
    assert window == 48 and kwargs["hidden_size"] == 32
    found = anomaly.stream_speed("anomaly-mitdb", channels=2, steps=10, rounds=2)
    assert found["window"] == 128 and found["model_kwargs"]["gaussian"] is True
    assert found["stream_ms_per_sample"] > 0 and found["speedup"] > 0 and found["speedup_vs_fused_lstm"] > 0
    assert "| anomaly-mitdb | 128 | 2 |" in anomaly.stream_table([found])


def test_spot_study_simulates_and_dspot_alarms_on_a_jump(spot):
    (row,) = spot.simulate([100], [0.98], 1e-3, seeds=5)
    assert row["n_times_risk"] == pytest.approx(0.1) and 0 < row["mean_false_alarm"] < 1
    rng = np.random.default_rng(0)
    scores = rng.exponential(size=200)
    scores[150] = 100.0
    alarms = spot.dspot_alarms(rng.exponential(size=300), scores, depth=10, risk=1e-3, level=0.98)
    assert alarms.shape == (200,) and alarms[150]
