"""Nowcasting scores against counts computed here with numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlstm.tasks.nowcasting_metrics import (
    NowcastScores,
    balanced_mse_mae,
    check_balance,
    skill_scores,
    step_weights,
)


def test_scores_match_numpy_contingency_counts_over_batches():
    rng = np.random.default_rng(0)
    pred, target = rng.random((5, 3, 1, 6, 6)), rng.random((5, 3, 1, 6, 6))
    metric = NowcastScores(horizon=3, to_rain_rate=lambda x: 40 * x, thresholds=(2.0, 20.0))
    for a, b in ((slice(0, 2), slice(0, 2)), (slice(2, 5), slice(2, 5))):  # two updates
        metric.update(torch.from_numpy(pred[a]), torch.from_numpy(target[b]))
    out = metric.compute()
    for i, thr in enumerate((2.0, 20.0)):
        p, o = 40 * pred >= thr, 40 * target >= thr
        for k in range(3):
            tp = (p & o)[:, k].sum()
            fn = (~p & o)[:, k].sum()
            fp = (p & ~o)[:, k].sum()
            tn = (~p & ~o)[:, k].sum()
            assert out["csi"][i, k] == tp / (tp + fn + fp)
            assert out["pod"][i, k] == tp / (tp + fn)
            assert out["far"][i, k] == fp / (tp + fp)
            hss = 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
            np.testing.assert_allclose(out["hss"][i, k], hss, rtol=1e-12)
    rate = 40 * target
    weight = np.select([rate >= 30, rate >= 10, rate >= 5, rate >= 2], [30, 10, 5, 2], 1)
    np.testing.assert_allclose(
        out["b_mse"], (weight * (pred - target) ** 2).mean(axis=(0, 2, 3, 4)), rtol=1e-12
    )
    np.testing.assert_allclose(
        out["b_mae"], (weight * abs(pred - target)).mean(axis=(0, 2, 3, 4)), rtol=1e-12
    )


def test_perfect_and_empty_forecasts():
    s = skill_scores(*(torch.tensor(v) for v in (10.0, 0.0, 0.0, 90.0)))
    assert [float(s[k]) for k in ("csi", "pod", "far", "hss")] == [1.0, 1.0, 0.0, 1.0]
    none = skill_scores(*(torch.tensor(v) for v in (0.0, 0.0, 0.0, 100.0)))
    assert all(torch.isnan(none[k]) for k in ("csi", "pod", "far"))


def test_balanced_loss_matches_numpy_weights_and_errors():
    rng = np.random.default_rng(1)
    pred, target = rng.random((2, 3, 1, 5, 5)), rng.random((2, 3, 1, 5, 5))
    edges, weights = (0.3, 0.5, 0.9), (1.0, 2.0, 5.0, 30.0)
    loss = balanced_mse_mae(
        torch.from_numpy(pred), torch.from_numpy(target), edges=edges, weights=weights, l1_weight=0.5
    )
    weight = np.select([target >= 0.9, target >= 0.5, target >= 0.3], [30.0, 5.0, 2.0], 1.0)
    expected = (weight * (pred - target) ** 2).mean() + 0.5 * (weight * abs(pred - target)).mean()
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)
    # a value exactly on an edge takes the heavier weight, as the scores' thresholds do (>=)
    assert step_weights(torch.tensor([0.3, 0.5]), edges, weights).tolist() == [2.0, 5.0]


def test_balanced_loss_arguments_are_checked():
    with pytest.raises(ValueError, match="balance_edges must be increasing"):
        check_balance((0.5, 0.3), (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="balance_weights must be 3 positive numbers"):
        check_balance((0.3, 0.5), (1.0, 2.0))
