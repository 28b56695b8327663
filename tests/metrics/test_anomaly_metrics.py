"""Anomaly metrics on hand-checked cases and against brute-force versions of their definitions.

The cross-check against TSB-AD and prts (run in a throwaway environment) is
benchmarks/anomaly_metrics_check.py, recorded in docs/anomaly.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnlstm.metrics import (
    METRICS,
    anomaly_metrics,
    best_range_f1,
    point_adjust,
    point_adjusted_f1,
    point_f1,
    range_f1,
    range_precision_recall,
    segments,
    vus,
)


def test_segments_include_both_ends_of_the_series():
    assert segments([1, 1, 0, 0, 1]).tolist() == [[0, 1], [4, 4]]
    assert segments([0, 0]).shape == (0, 2)


@pytest.mark.parametrize(
    ("labels", "pred", "expected"),
    [
        # one range, half covered by one prediction, which is half inside it
        ([0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 0], (0.5, 0.5)),
        # a range split over two predictions: overlap 2/4 times cardinality 1/2
        ([0, 1, 1, 1, 1, 0], [0, 1, 0, 0, 1, 0], (1.0, 0.25)),
        # two ranges, only the first found whole; one prediction exactly on it
        ([1, 1, 0, 0, 1, 1], [1, 1, 0, 0, 0, 0], (1.0, 0.5)),
        # nothing predicted
        ([0, 1, 1, 0], [0, 0, 0, 0], (0.0, 0.0)),
        # one prediction spanning two ranges and the gap: precision 4/5 x 1/2
        ([1, 1, 0, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0, 0], (0.8 * 0.5, 1.0)),
    ],
)
def test_range_precision_recall_by_hand(labels, pred, expected):
    assert range_precision_recall(labels, pred) == pytest.approx(expected)


def test_range_recall_alpha_rewards_existence():
    # a 4-point range touched at one point: overlap 1/4; alpha=0.5 -> 0.5 * 1 + 0.5 * 0.25
    _, recall = range_precision_recall([0, 1, 1, 1, 1], [0, 0, 0, 1, 0], alpha=0.5)
    assert recall == pytest.approx(0.625)


def test_range_f1_equals_point_f1_on_single_point_ranges():
    rng = np.random.default_rng(0)
    labels = np.zeros(200, dtype=int)
    labels[rng.choice(np.arange(0, 200, 2), 15, replace=False)] = 1  # isolated points
    pred = np.zeros(200, dtype=int)
    pred[np.arange(0, 200, 2)[rng.random(100) < 0.3]] = 1  # isolated points
    tp = (labels & pred).sum()
    precision, recall = tp / pred.sum(), tp / labels.sum()
    assert range_f1(labels, pred) == pytest.approx(2 * precision * recall / (precision + recall))


def test_point_adjust_and_its_f1_against_brute_force():
    rng = np.random.default_rng(1)
    labels = np.zeros(300, dtype=int)
    labels[50:80] = labels[200:204] = 1
    scores = rng.random(300)
    best = 0.0
    for t in np.unique(scores):
        adjusted = point_adjust(labels, scores >= t)
        tp = (adjusted & labels).sum()
        if tp:
            p, r = tp / adjusted.sum(), tp / labels.sum()
            best = max(best, 2 * p * r / (p + r))
    assert point_adjusted_f1(labels, scores) == pytest.approx(best)


def test_point_adjustment_flatters_a_random_score():
    """The issue's point: a random score looks good point-adjusted and poor otherwise."""
    rng = np.random.default_rng(0)
    labels = np.zeros(3000, dtype=int)
    labels[1000:1150] = 1
    scores = rng.random(3000)
    assert point_adjusted_f1(labels, scores) > 0.8
    assert point_f1(labels, scores) < 0.2
    assert vus(labels, scores, window=20)["vus_pr"] < 0.2


def test_point_f1_by_hand():
    # thresholds: >=0.8 gives P=1 R=1/2 (F1 2/3); >=0.35 gives P=1, R=1 -> but 0.4 is normal and above
    # 0.35: P=2/3, R=1 -> F1 0.8
    assert point_f1([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.8, abs=1e-9)


def test_vus_of_a_perfect_and_an_inverted_score():
    labels = np.zeros(400, dtype=int)
    labels[100:120] = labels[300:305] = 1
    perfect = vus(labels, labels.astype(float), window=0)
    assert perfect == pytest.approx({"vus_roc": 1.0, "vus_pr": 1.0})
    inverted = vus(labels, 1.0 - labels, window=0)
    assert inverted["vus_roc"] < 0.05 and inverted["vus_pr"] < 0.1


def test_vus_buffer_rewards_a_near_miss():
    """A detector a few points late gains from the buffer; with no buffer it gets little."""
    labels = np.zeros(500, dtype=int)
    labels[200:210] = 1
    late = np.zeros(500)
    late[212:218] = 1.0
    assert vus(labels, late, window=20)["vus_pr"] > vus(labels, late, window=0)["vus_pr"] + 0.1


def test_vus_window_zero_on_point_labels_matches_hand_computation():
    # T=4, one labelled point at 2; scores rank it second: thresholds (4 of them) flag 1, 2, 3, 4 points.
    labels = np.array([0, 0, 1, 0])
    scores = np.array([0.1, 0.9, 0.5, 0.2])
    # tpr: 0, 1, 1, 1 ; fpr: 1/3, 1/3, 2/3, 1 ; precision: 0, 1/2, 1/3, 1/4
    tpr = np.array([0, 0, 1, 1, 1, 1])
    fpr = np.array([0, 1 / 3, 1 / 3, 2 / 3, 1, 1])
    roc = np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2)
    pr = 1 * 0.5  # recall steps from 0 to 1 at the second threshold, precision 1/2 there
    assert vus(labels, scores, window=0, thresholds=4) == pytest.approx({"vus_roc": roc, "vus_pr": pr})


def test_best_range_f1_finds_the_separating_threshold():
    assert best_range_f1([0, 0, 1, 1, 0], [0.0, 0.1, 0.9, 0.8, 0.2]) == 1.0


def test_anomaly_metrics_reports_every_metric_in_order():
    labels = np.zeros(100, dtype=int)
    labels[40:50] = 1
    scores = np.random.default_rng(0).random(100) + labels
    out = anomaly_metrics(labels, scores, window=10)
    assert tuple(out) == METRICS and all(0.0 <= v <= 1.0 for v in out.values())
    assert anomaly_metrics(labels, scores, window=10, metrics=["auc_roc"]) == {"auc_roc": out["auc_roc"]}


@pytest.mark.parametrize(
    ("labels", "scores", "match"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], "both normal"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "0 .normal. or 1"),
        ([0, 1, 0], [0.1, np.nan, 0.3], "finite"),
        ([0, 1, 0], [0.1, 0.2], "shape"),
    ],
)
def test_bad_inputs_raise_clear_errors(labels, scores, match):
    with pytest.raises(ValueError, match=match):
        anomaly_metrics(labels, scores, window=1)
