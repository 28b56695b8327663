"""Nowcasting scores against counts computed here with numpy."""

from __future__ import annotations

import numpy as np
import torch

from cnnlstm.tasks.nowcasting_metrics import NowcastScores, skill_scores


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
