"""Thresholds and alarms: SPOT against the distributions it models, intervals by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import genpareto

from cnnlstm.metrics import SPOT, Alarm, alarm_intervals, fit_gpd, moving_median_scores, quantile_threshold


@pytest.mark.parametrize("shape", [-0.3, 0.0, 0.2, 0.5])
def test_fit_gpd_is_the_maximum_likelihood_fit_of_scipy(shape):
    peaks = genpareto.rvs(shape, scale=2.0, size=3000, random_state=np.random.default_rng(0))
    xi, sigma = fit_gpd(peaks)
    ref_xi, _, ref_sigma = genpareto.fit(peaks, floc=0.0)
    assert xi == pytest.approx(ref_xi, abs=0.01) and sigma == pytest.approx(ref_sigma, rel=0.01)
    assert xi == pytest.approx(shape, abs=0.06) and sigma == pytest.approx(2.0, rel=0.08)


def test_spot_threshold_matches_the_true_quantile_of_an_exponential():
    scores = np.random.default_rng(1).exponential(size=10000)
    spot = SPOT(risk=1e-3, level=0.98).fit(scores)
    assert spot.threshold == pytest.approx(-math.log(1e-3), rel=0.08)
    # and it keeps the promised false-alarm rate on fresh normal data
    alarms, _ = spot.run(np.random.default_rng(2).exponential(size=5000))
    assert alarms.mean() < 3e-3


def test_spot_adapts_as_a_heavier_tail_streams_in_and_alarms_stay_out_of_the_tail():
    calibration = np.random.default_rng(3).exponential(size=2000)
    fresh = np.random.default_rng(4).exponential(size=3000)
    same, heavier = SPOT(risk=1e-3).fit(calibration), SPOT(risk=1e-3).fit(calibration)
    before, peaks = same.threshold, len(same.peaks)
    assert same.update(before * 10) and len(same.peaks) == peaks  # an alarm never joins the tail
    same.run(fresh)
    heavier.run(fresh * 1.3)
    assert heavier.threshold > same.threshold * 1.05


def test_spot_refuses_too_little_calibration_and_use_before_fit():
    with pytest.raises(ValueError, match="at least 20"):
        SPOT().fit(np.ones(5))
    with pytest.raises(RuntimeError, match="before fit"):
        SPOT().update(1.0)
    with pytest.raises(ValueError, match="risk"):
        SPOT(risk=0.0)


def test_quantile_threshold():
    assert quantile_threshold(np.arange(11.0), 0.5) == 5.0
    with pytest.raises(ValueError, match="quantile"):
        quantile_threshold([1.0], 1.0)


def test_alarm_intervals_merge_close_runs_and_report_the_peak():
    alarms = [0, 1, 0, 1, 0, 0, 0, 1, 1]
    scores = [0, 1, 0, 4, 0, 0, 0, 2, 3]
    assert alarm_intervals(alarms, scores) == [Alarm(1, 1, 1, 1.0), Alarm(3, 3, 3, 4.0), Alarm(7, 8, 8, 3.0)]
    assert alarm_intervals(alarms, scores, min_gap=2) == [Alarm(1, 3, 3, 4.0), Alarm(7, 8, 8, 3.0)]
    assert alarm_intervals([0, 0], [0, 0]) == []


def test_moving_median_scores_a_spike_and_ignores_a_level():
    x = np.full((50, 2), 3.0)
    x[20, 1] = 13.0
    scores = moving_median_scores(x, window=5)
    assert scores[20] == pytest.approx(5.0) and np.delete(scores, 20).max() == 0.0
