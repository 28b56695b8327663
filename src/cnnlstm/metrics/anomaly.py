"""Anomaly-detection metrics: one score per time step against 0/1 labels per time step.

The field's evaluation is easy to flatter, so every function here is written from its published
definition and says which it is:

* :func:`auc_roc`, :func:`auc_pr` — point-wise, threshold-free (scikit-learn's ROC-AUC and average
  precision).
* :func:`point_f1` — the best point-wise F1 over all thresholds.
* :func:`point_adjusted_f1` — the best F1 after *point adjustment* (a labelled segment counts as
  found when any one of its points is flagged). It flatters any detector, a random one included;
  report it only beside the threshold-free metrics and a random-score row.
* :func:`range_precision_recall`, :func:`range_f1` — range-based precision and recall of Tatbul et
  al. 2018, "Precision and Recall for Time Series" (NeurIPS), with flat positional bias and
  reciprocal cardinality; :func:`best_range_f1` is its best F1 over thresholds.
* :func:`vus` — VUS-ROC and VUS-PR of Paparrizos et al. 2022, "Volume Under the Surface: a new
  accuracy evaluation measure for time-series anomaly detection" (VLDB), as used by TSB-AD: range
  AUCs with labels softened by a buffer of ``0 .. window`` points, averaged over the buffer sizes.

Everything takes 1-D arrays ``(T,)``: ``labels`` of 0/1 (at least one of each for the
threshold-free metrics), ``scores`` of finite floats where higher means more anomalous.

Example:
    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1, 0, 0, 0, 0])
    >>> range_precision_recall(labels, np.array([0, 0, 0, 1, 1, 0, 0, 0]))
    (0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cnnlstm._validation import check_choice, check_non_negative_int, check_positive_int

__all__ = [
    "METRICS",
    "anomaly_metrics",
    "auc_pr",
    "auc_roc",
    "best_range_f1",
    "point_adjust",
    "point_adjusted_f1",
    "point_f1",
    "range_f1",
    "range_precision_recall",
    "segments",
    "vus",
]

METRICS = ("vus_pr", "vus_roc", "auc_pr", "auc_roc", "range_f1", "point_f1", "point_adjusted_f1")
"""The metrics :func:`anomaly_metrics` reports, in the order tables print them."""


def _labels(labels: ArrayLike, *, both: bool = True) -> NDArray[np.int64]:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D (T,); received shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (normal) or 1 (anomaly); received other values")
    if both and (y.min(initial=1) != 0 or y.max(initial=0) != 1):
        raise ValueError(
            "labels must contain both normal (0) and anomalous (1) points for this metric; "
            f"received {int(y.sum())} anomalous of {y.size}"
        )
    return y.astype(np.int64)


def _scores(scores: ArrayLike, length: int) -> NDArray[np.float64]:
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (length,):
        raise ValueError(f"scores must have the labels' shape ({length},); received shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite; received NaN or infinite values")
    return s


def segments(mask: ArrayLike) -> NDArray[np.int64]:
    """The runs of ones of a 0/1 array as rows ``(start, end)``, ``end`` inclusive; shape ``(N, 2)``.

    Example:
        >>> segments([0, 1, 1, 0, 1]).tolist()
        [[1, 2], [4, 4]]
    """
    m = np.asarray(mask).astype(bool).astype(np.int8)
    edges = np.diff(np.concatenate([[0], m, [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return np.stack([starts, ends], axis=1).astype(np.int64)


# --- point-wise ------------------------------------------------------------------------------


def auc_roc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Point-wise area under the ROC curve (scikit-learn's ``roc_auc_score``).

    Example:
        >>> auc_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        0.75
    """
    y = _labels(labels)
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, _scores(scores, y.size)))


def auc_pr(labels: ArrayLike, scores: ArrayLike) -> float:
    """Point-wise area under the precision-recall curve, as average precision (scikit-learn).

    Example:
        >>> round(auc_pr([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
        0.8333
    """
    y = _labels(labels)
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, _scores(scores, y.size)))


def _f1(precision: NDArray[np.float64], recall: NDArray[np.float64]) -> NDArray[np.float64]:
    total = precision + recall
    return np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1.0), 0.0)


def point_f1(labels: ArrayLike, scores: ArrayLike) -> float:
    """The best point-wise F1 over every threshold ``score >= t``.

    Example:
        >>> round(point_f1([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
        0.8
    """
    y = _labels(labels)
    s = _scores(scores, y.size)
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, s)
    return float(_f1(precision, recall).max())


def point_adjust(labels: ArrayLike, predictions: ArrayLike) -> NDArray[np.int64]:
    """Point adjustment: every labelled segment with at least one flagged point is flagged whole.

    Example:
        >>> point_adjust([0, 1, 1, 1, 0], [0, 0, 1, 0, 1]).tolist()
        [0, 1, 1, 1, 1]
    """
    y = _labels(labels, both=False)
    pred = np.asarray(predictions).astype(bool).astype(np.int64)
    out = pred.copy()
    for start, end in segments(y):
        if pred[start : end + 1].any():
            out[start : end + 1] = 1
    return out


def point_adjusted_f1(labels: ArrayLike, scores: ArrayLike) -> float:
    """The best F1 over thresholds after :func:`point_adjust` (flatters any detector; see the module).

    Computed exactly: the adjusted true positives at threshold ``t`` are the points of every
    segment whose maximum score is ``>= t``.

    Example:
        >>> point_adjusted_f1([0, 1, 1, 1, 0, 0], [0.0, 0.1, 0.9, 0.2, 0.3, 0.0])
        1.0
    """
    y = _labels(labels)
    s = _scores(scores, y.size)
    # Each segment behaves as one point carrying its maximum score and weighing its length.
    seg = segments(y)
    seg_max = np.array([s[a : b + 1].max() for a, b in seg])
    seg_len = (seg[:, 1] - seg[:, 0] + 1).astype(np.float64)
    normal = s[y == 0]
    thresholds = np.unique(np.concatenate([seg_max, normal]))
    tp = (seg_len[None, :] * (seg_max[None, :] >= thresholds[:, None])).sum(axis=1)
    fp = (normal[None, :] >= thresholds[:, None]).sum(axis=1) if normal.size * thresholds.size < 5e7 else None
    if fp is None:  # large series: count with a sort instead of a (thresholds x points) table
        fp = normal.size - np.searchsorted(np.sort(normal), thresholds, side="left")
    predicted = tp + fp
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = tp / y.sum()
    return float(_f1(precision, recall).max())


# --- range-based precision and recall (Tatbul et al. 2018) -----------------------------------


def _overlaps(ranges: NDArray[np.int64], other: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
    """For each range ``(start, end)``: points of it inside ``other`` (a 0/1 array), and the number
    of ``other``'s runs it touches."""
    covered = np.concatenate([[0], np.cumsum(other)])
    inside = covered[ranges[:, 1] + 1] - covered[ranges[:, 0]]
    run_starts = np.concatenate([[0], np.cumsum(np.diff(np.concatenate([[0], other])) == 1)])
    starts_within = run_starts[ranges[:, 1] + 1] - run_starts[ranges[:, 0] + 1]
    # a run that began before the range and reaches into it
    carried = (other[ranges[:, 0]] == 1).astype(np.int64)
    return inside, starts_within + carried


def _range_score(ranges: NDArray[np.int64], other: NDArray[np.int64], alpha: float) -> float:
    """Mean over ``ranges`` of ``alpha`` x existence + (1 - alpha) x cardinality x overlap (flat bias)."""
    if len(ranges) == 0:
        return 0.0
    inside, touched = _overlaps(ranges, other)
    length = ranges[:, 1] - ranges[:, 0] + 1
    cardinality = np.where(touched > 1, 1.0 / np.maximum(touched, 1), 1.0)
    overlap = cardinality * inside / length
    existence = (inside > 0).astype(np.float64)
    return float(np.mean(alpha * existence + (1 - alpha) * overlap))


def range_precision_recall(
    labels: ArrayLike, predictions: ArrayLike, *, alpha: float = 0.0
) -> tuple[float, float]:
    """Range-based (precision, recall) of 0/1 ``predictions`` (Tatbul et al. 2018).

    Recall averages over labelled ranges ``R_i``: ``alpha`` x [R_i overlaps a prediction] +
    ``(1 - alpha)`` x γ x |R_i ∩ P| / |R_i|, where γ = 1 / (number of predicted ranges touching
    R_i) when that number is above one (reciprocal cardinality), else 1. Precision is the same
    with the roles swapped and ``alpha = 0``. Flat positional bias throughout. No predicted range
    gives precision 0.

    Example (one labelled range split across two predicted ranges):
        >>> range_precision_recall([0, 1, 1, 1, 1, 0], [0, 1, 0, 0, 1, 0])
        (1.0, 0.25)
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]; received alpha={alpha!r}")
    y = _labels(labels, both=False)
    pred = np.asarray(predictions).astype(bool).astype(np.int64)
    if pred.shape != y.shape:
        raise ValueError(f"predictions must have the labels' shape {y.shape}; received {pred.shape}")
    recall = _range_score(segments(y), pred, alpha)
    precision = _range_score(segments(pred), y, 0.0)
    return precision, recall


def range_f1(labels: ArrayLike, predictions: ArrayLike, *, alpha: float = 0.0) -> float:
    """Harmonic mean of :func:`range_precision_recall`.

    Example:
        >>> range_f1([0, 1, 1, 1, 1, 0], [0, 1, 0, 0, 1, 0])
        0.4
    """
    precision, recall = range_precision_recall(labels, predictions, alpha=alpha)
    return float(_f1(np.array(precision), np.array(recall)))


def best_range_f1(
    labels: ArrayLike, scores: ArrayLike, *, alpha: float = 0.2, thresholds: int = 100
) -> float:
    """The best :func:`range_f1` over the predictions ``score > t`` at ``thresholds`` thresholds
    evenly spaced from the lowest to the highest score (TSB-AD's R-based-F1: ``alpha=0.2``).

    Example:
        >>> best_range_f1([0, 0, 1, 1, 0], [0.0, 0.1, 0.9, 0.8, 0.2])
        1.0
    """
    y = _labels(labels)
    s = _scores(scores, y.size)
    count = check_positive_int("thresholds", thresholds)
    return max(range_f1(y, s > t, alpha=alpha) for t in np.linspace(s.min(), s.max(), count))


# --- VUS (Paparrizos et al. 2022) ------------------------------------------------------------


def _soft_labels(labels: NDArray[np.int64], ranges: NDArray[np.int64], buffer: int) -> NDArray[np.float64]:
    """Labels with ``buffer // 2`` points either side of each range set to ``sqrt(1 - d / buffer)``
    at distance ``d`` from it, capped at 1 (TSB-AD's ``sequencing``)."""
    soft = labels.astype(np.float64)
    n = labels.size
    half = buffer // 2
    if half == 0:
        return soft
    for start, end in ranges:
        after = np.arange(end + 1, min(end + 1 + half, n))
        soft[after] += np.sqrt(1 - (after - end) / buffer)
        before = np.arange(max(start - half, 0), start)
        soft[before] += np.sqrt(1 - (start - before) / buffer)
    return np.minimum(soft, 1.0)


def _grown_ranges(ranges: NDArray[np.int64], buffer: int, length: int) -> NDArray[np.int64]:
    """The ranges widened by ``buffer // 2`` points on each side, overlapping ones merged."""
    half = buffer // 2
    grown = np.stack([np.maximum(ranges[:, 0] - half, 0), np.minimum(ranges[:, 1] + half, length - 1)], 1)
    merged = [list(grown[0])]
    for start, end in grown[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.asarray(merged, dtype=np.int64)


def _range_curves(
    labels: NDArray[np.int64],
    ranges: NDArray[np.int64],
    pred: NDArray[np.bool_],
    flagged_before: NDArray[np.int64],
    buffer: int,
) -> tuple[float, float]:
    """Range AUC-ROC and range AUC-PR at one buffer size, for the predictions ``pred`` ``(K, T)``
    of the K thresholds; ``flagged_before[k, t]`` counts the flags of row ``k`` before ``t``."""
    soft = _soft_labels(labels, ranges, buffer)
    grown = _grown_ranges(ranges, buffer, labels.size)
    existence = ((flagged_before[:, grown[:, 1] + 1] - flagged_before[:, grown[:, 0]]) > 0).mean(axis=1)
    tp = pred @ soft  # soft true positives (a labelled point counts 1)
    hard = float(labels.sum())
    # Positives: the labelled points plus half the soft weight of the flagged buffer points, so that
    # the true-positive rate stays <= 1 (TSB-AD's P_new = (P + N_labels) / 2).
    positives = hard + (tp - pred @ labels.astype(np.float64)) / 2
    flagged = flagged_before[:, -1].astype(np.float64)
    tpr = np.minimum(tp / positives, 1.0) * existence
    fpr = (flagged - tp) / (labels.size - positives)
    precision = tp / flagged
    tpr = np.concatenate([[0.0], tpr, [1.0]])
    fpr = np.concatenate([[0.0], fpr, [1.0]])
    precision = np.concatenate([[1.0], precision])
    roc = float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2))
    pr = float(np.dot(tpr[1:-1] - tpr[:-2], precision[1:]))
    return roc, pr


def vus(
    labels: ArrayLike, scores: ArrayLike, *, window: int = 100, thresholds: int = 250
) -> dict[str, float]:
    """VUS-ROC and VUS-PR (Paparrizos et al. 2022): range AUCs averaged over buffers ``0 .. window``.

    At buffer ``b`` each labelled range is widened by ``b // 2`` points on both sides with soft
    labels ``sqrt(1 - d / b)`` at distance ``d``. At each threshold the true positives are the
    soft labels of the flagged points; the positives are the labelled points plus half the soft
    weight of the flagged buffer points; the true-positive rate is their ratio (at most 1) times
    the fraction of widened (and merged) ranges holding a flag (existence); precision is the true
    positives over the flagged points. The ROC and PR areas come from ``thresholds`` thresholds at
    evenly spaced ranks of the sorted scores (trapezoids for ROC, steps for PR); VUS is their mean
    over the ``window + 1`` buffers. This is TSB-AD's ``RangeAUC_volume_opt`` (version "opt"),
    cross-checked in ``docs/anomaly.md``; ``window=0`` gives the range AUCs without buffer.

    Example:
        >>> labels = np.zeros(50, dtype=int); labels[20:25] = 1
        >>> perfect = vus(labels, labels + 0.0, window=4)
        >>> perfect["vus_roc"] > 0.99, perfect["vus_pr"] > 0.99
        (True, True)
    """
    y = _labels(labels)
    s = _scores(scores, y.size)
    window = check_non_negative_int("window", window)
    count = check_positive_int("thresholds", thresholds)
    ranked = np.sort(s)[::-1]
    levels = ranked[np.linspace(0, s.size - 1, count).astype(int)]
    pred = s[None, :] >= levels[:, None]  # (K, T)
    flagged_before = np.concatenate([np.zeros((count, 1), np.int64), np.cumsum(pred, axis=1)], axis=1)
    ranges = segments(y)
    curves = np.array([_range_curves(y, ranges, pred, flagged_before, b) for b in range(window + 1)])
    return {"vus_roc": float(curves[:, 0].mean()), "vus_pr": float(curves[:, 1].mean())}


def anomaly_metrics(
    labels: ArrayLike,
    scores: ArrayLike,
    *,
    window: int = 100,
    metrics: Sequence[str] = METRICS,
) -> dict[str, float]:
    """Every metric of :data:`METRICS` (or the chosen ``metrics``) of one series' scores.

    ``window`` is VUS's largest buffer (TSB-AD uses the series' main period).

    Example:
        >>> labels = np.zeros(60, dtype=int); labels[30:36] = 1
        >>> scores = np.random.default_rng(0).random(60) + 2 * labels
        >>> {k: round(v, 2) for k, v in anomaly_metrics(labels, scores, window=6).items()}["auc_roc"]
        1.0
    """
    for name in metrics:
        check_choice("metrics", name, METRICS)
    y = _labels(labels)
    s = _scores(scores, y.size)
    out: dict[str, float] = {}
    if {"vus_pr", "vus_roc"} & set(metrics):
        out.update(vus(y, s, window=window))
    functions = {
        "auc_pr": auc_pr,
        "auc_roc": auc_roc,
        "range_f1": best_range_f1,
        "point_f1": point_f1,
        "point_adjusted_f1": point_adjusted_f1,
    }
    for name, fn in functions.items():
        if name in metrics:
            out[name] = fn(y, s)
    return {name: out[name] for name in metrics}
