"""From scores to alarms: unsupervised thresholds, and alarms as intervals.

* :func:`quantile_threshold` — a high quantile of scores on normal (validation) data.
* :class:`SPOT` — streaming peaks-over-threshold (Siffer et al. 2017, "Anomaly Detection in
  Streams with Extreme Value Theory", KDD): the tail of the scores above a high initial
  threshold is fitted with a generalised Pareto distribution, and the alarm threshold is the
  score exceeded with probability ``risk``; each new score over the initial threshold (and under
  the alarm threshold) joins the tail and the fit is updated, so the threshold adapts as data
  streams in. Alarms never enter the tail.
* :func:`alarm_intervals` — runs of alarms as ``(start, end, peak, peak_score)``.

Example:
    >>> import numpy as np
    >>> calibration = np.random.default_rng(0).exponential(size=2000)
    >>> spot = SPOT(risk=1e-3).fit(calibration)
    >>> 5.0 < spot.threshold < 10.0  # the exponential's 1 - 1e-3 quantile is 6.9
    True
    >>> spot.update(50.0), spot.update(0.5)
    (True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cnnlstm._validation import check_positive_int

__all__ = ["SPOT", "Alarm", "alarm_intervals", "fit_gpd", "quantile_threshold"]


def quantile_threshold(scores: ArrayLike, quantile: float = 0.99) -> float:
    """The ``quantile`` of ``scores`` (normal data): a score above it raises an alarm.

    Example:
        >>> quantile_threshold(np.arange(101.0), 0.9)
        90.0
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1); received quantile={quantile!r}")
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0 or not np.isfinite(s).all():
        raise ValueError("scores must be a non-empty array of finite values")
    return float(np.quantile(s, quantile))


def _profile_loglik(theta: NDArray[np.float64], peaks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Grimshaw's profile log-likelihood of a GPD per ``theta = xi / sigma`` (divided by n):
    with ``u = mean(log(1 + theta y))``, the best ``xi`` is ``u`` and ``sigma = u / theta``."""
    u = np.log1p(theta[:, None] * peaks[None, :]).mean(axis=1)
    return -np.log(u / theta) - u - 1.0


def fit_gpd(peaks: NDArray[np.float64]) -> tuple[float, float]:
    """Shape ``xi`` and scale ``sigma`` of a generalised Pareto distribution fitted to ``peaks``
    (excesses over a threshold, all > 0) by maximum likelihood, through Grimshaw's reduction to
    one parameter (as SPOT does): a grid over ``theta = xi / sigma`` on both sides of 0, refined
    by a bounded search, against the exponential (``xi = 0``). The method of moments for fewer
    than 10 peaks.

    Example:
        >>> from scipy.stats import genpareto
        >>> xi, sigma = fit_gpd(genpareto.rvs(0.3, scale=1.0, size=4000, random_state=1))
        >>> round(xi, 1), round(sigma, 1)
        (0.3, 1.0)
    """
    y = np.asarray(peaks, dtype=np.float64)
    mean, var = float(y.mean()), float(y.var())
    if var <= 0 or y.size < 10:
        if var <= 0:
            return 0.0, max(mean, 1e-12)
        return 0.5 * (1 - mean**2 / var), 0.5 * mean * (mean**2 / var + 1)
    from scipy.optimize import minimize_scalar

    low = -1.0 / y.max() * (1 - 1e-9)  # 1 + theta y > 0 for every peak
    grid = np.concatenate([low * np.geomspace(1.0, 1e-6, 60), np.geomspace(1e-6, 1e3, 90) / mean])
    values = _profile_loglik(grid, y)
    best = int(np.argmax(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    refined = minimize_scalar(
        lambda t: -_profile_loglik(np.array([t]), y)[0], bounds=(lo, hi), method="bounded"
    )
    theta = float(refined.x) if -refined.fun > values[best] else float(grid[best])
    exponential = -np.log(mean) - 1.0  # xi = 0: sigma = mean
    if max(values[best], -refined.fun) <= exponential:
        return 0.0, mean
    xi = float(np.log1p(theta * y).mean())
    return xi, xi / theta


class SPOT:
    """Streaming peaks-over-threshold (see the module).

    Args:
        risk: probability ``q`` that a normal score exceeds the alarm threshold.
        level: quantile of the calibration scores used as the initial threshold ``t``.

    After :meth:`fit` on calibration scores, :attr:`threshold` is
    ``t + sigma / xi * ((q n / N_t) ** -xi - 1)`` (``t - sigma log(q n / N_t)`` when ``xi = 0``),
    with ``n`` scores seen and ``N_t`` of them above ``t``; :meth:`update` takes one score and
    says whether it is an alarm.
    """

    def __init__(self, *, risk: float = 1e-3, level: float = 0.98) -> None:
        if not 0.0 < risk < 1.0:
            raise ValueError(f"risk must be in (0, 1); received risk={risk!r}")
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1); received level={level!r}")
        self.risk, self.level = float(risk), float(level)
        self.initial = math.nan
        self.threshold = math.nan
        self.peaks: list[float] = []
        self.seen = 0

    def fit(self, scores: ArrayLike) -> SPOT:
        """Calibrate on ``scores`` (normal data): the initial threshold, the tail, the alarm threshold."""
        s = np.asarray(scores, dtype=np.float64)
        if s.size < 20 or not np.isfinite(s).all():
            raise ValueError(f"SPOT needs at least 20 finite calibration scores; received {s.size}")
        self.initial = float(np.quantile(s, self.level))
        self.peaks = (s[s > self.initial] - self.initial).tolist()
        self.seen = int(s.size)
        self._refit()
        return self

    def _refit(self) -> None:
        if not self.peaks:  # no score above the initial threshold: alarm above it
            self.threshold = self.initial
            return
        xi, sigma = fit_gpd(np.asarray(self.peaks))
        ratio = self.risk * self.seen / len(self.peaks)
        if abs(xi) < 1e-8:
            self.threshold = self.initial - sigma * math.log(ratio)
        else:
            self.threshold = self.initial + sigma / xi * (ratio ** (-xi) - 1)

    def update(self, score: float) -> bool:
        """Whether ``score`` is an alarm; a score in the tail but under the threshold refits it."""
        if math.isnan(self.threshold):
            raise RuntimeError("SPOT.update before fit: calibrate on normal scores first")
        if score > self.threshold:
            return True
        self.seen += 1
        if score > self.initial:
            self.peaks.append(float(score) - self.initial)
            self._refit()
        return False

    def run(self, scores: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """:meth:`update` over ``scores``: the alarms and the threshold in force at each step."""
        s = np.asarray(scores, dtype=np.float64)
        alarms = np.zeros(s.size, dtype=bool)
        thresholds = np.zeros(s.size)
        for i, value in enumerate(s):
            thresholds[i] = self.threshold
            alarms[i] = self.update(float(value))
        return alarms, thresholds


@dataclass(frozen=True)
class Alarm:
    """One alarm interval: steps ``start`` .. ``end`` (inclusive), its highest score and where."""

    start: int
    end: int
    peak: int
    peak_score: float


def alarm_intervals(alarms: ArrayLike, scores: ArrayLike, *, min_gap: int = 1) -> list[Alarm]:
    """Runs of ``alarms`` (0/1 per step) as :class:`Alarm` intervals; runs closer than ``min_gap``
    steps apart are merged (``min_gap=1``: only touching runs).

    Example:
        >>> alarm_intervals([0, 1, 1, 0, 0, 1], [0.0, 2.0, 3.0, 0.1, 0.2, 5.0])
        [Alarm(start=1, end=2, peak=2, peak_score=3.0), Alarm(start=5, end=5, peak=5, peak_score=5.0)]
    """
    a = np.asarray(alarms).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    gap = check_positive_int("min_gap", min_gap)
    edges = np.diff(np.concatenate([[0], a.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist()
    merged: list[list[int]] = []
    for first, last in zip(starts, ends, strict=True):
        if merged and first - merged[-1][1] <= gap:
            merged[-1][1] = last
        else:
            merged.append([first, last])
    out = []
    for first, last in merged:
        peak = first + int(np.argmax(s[first : last + 1]))
        out.append(Alarm(first, last, peak, float(s[peak])))
    return out
