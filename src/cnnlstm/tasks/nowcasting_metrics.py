"""Precipitation nowcasting scores per lead time: CSI, POD, FAR, HSS at rain-rate thresholds,
and HKO-7's balanced MSE and MAE.

At a threshold ``r`` a pixel is "rain" where its rain rate is at least ``r``; over all pixels of a
lead time, hits ``TP`` (predicted and observed), misses ``FN``, false alarms ``FP`` and correct
negatives ``TN`` give (Shi et al. 2015; 2017)::

    CSI = TP / (TP + FN + FP)          POD = TP / (TP + FN)          FAR = FP / (TP + FP)
    HSS = 2 (TP·TN − FN·FP) / ((TP + FN)(FN + TN) + (TP + FP)(FP + TN))

Counts are summed over the whole evaluation set before the ratios (as HKO-7 does), and a ratio
whose denominator is 0 is NaN. Balanced MSE/MAE weight each pixel's error (on the [0, 1] pixel
scale) by the observed rain rate: 1 below 2 mm/h, 2 below 5, 5 below 10, 10 below 30, 30 from 30
mm/h (HKO-7), averaged over pixels.

The metric takes frames in [0, 1] and a ``to_rain_rate`` function of them (the data's encoding,
e.g. :func:`cnnlstm.data.radar_echoes.pixel_to_rain_rate` of ``255 × frame``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torchmetrics import Metric

__all__ = [
    "BALANCE_EDGES",
    "BALANCE_WEIGHTS",
    "NowcastScores",
    "THRESHOLDS",
    "balanced_mse_mae",
    "check_balance",
    "skill_scores",
    "step_weights",
]

THRESHOLDS = (0.5, 2.0, 5.0, 10.0, 30.0)  # mm/h, HKO-7's
BALANCE_EDGES = (2.0, 5.0, 10.0, 30.0)
BALANCE_WEIGHTS = (1.0, 2.0, 5.0, 10.0, 30.0)


def skill_scores(tp: Tensor, fn: Tensor, fp: Tensor, tn: Tensor) -> dict[str, Tensor]:
    """CSI, POD, FAR and HSS from contingency counts (any matching shapes); NaN where undefined.

    Example:
        >>> s = skill_scores(torch.tensor(6.0), torch.tensor(2.0), torch.tensor(2.0), torch.tensor(90.0))
        >>> [round(float(s[k]), 3) for k in ("csi", "pod", "far", "hss")]
        [0.6, 0.75, 0.25, 0.728]
    """

    def ratio(num: Tensor, den: Tensor) -> Tensor:
        return torch.where(den > 0, num / den.clamp(min=1e-30), torch.full_like(num, float("nan")))

    return {
        "csi": ratio(tp, tp + fn + fp),
        "pod": ratio(tp, tp + fn),
        "far": ratio(fp, tp + fp),
        "hss": ratio(2 * (tp * tn - fn * fp), (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)),
    }


def step_weights(values: Tensor, edges: Sequence[float], weights: Sequence[float]) -> Tensor:
    """``weights[i]`` where ``values`` lie in ``[edges[i - 1], edges[i])`` (``weights[0]`` below the
    first edge, ``weights[-1]`` from the last): HKO-7's balancing weights, elementwise.

    Example:
        >>> step_weights(torch.tensor([0.0, 2.0, 4.9, 40.0]), (2.0, 5.0), (1.0, 2.0, 5.0)).tolist()
        [1.0, 2.0, 2.0, 5.0]
    """
    bounds = torch.tensor(edges, dtype=values.dtype, device=values.device)
    table = torch.tensor(weights, dtype=values.dtype, device=values.device)
    return table[torch.bucketize(values, bounds, right=True)]


def check_balance(
    edges: Sequence[float], weights: Sequence[float]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Check balancing ``edges`` (increasing) and ``weights`` (one more, positive); return them as tuples."""
    edges_t, weights_t = tuple(float(e) for e in edges), tuple(float(w) for w in weights)
    if not edges_t or any(b <= a for a, b in zip(edges_t[:-1], edges_t[1:], strict=True)):
        raise ValueError(f"balance_edges must be increasing numbers; received balance_edges={list(edges)!r}")
    if len(weights_t) != len(edges_t) + 1 or any(w <= 0 for w in weights_t):
        raise ValueError(
            f"balance_weights must be {len(edges_t) + 1} positive numbers (one more than balance_edges); "
            f"received balance_weights={list(weights)!r}"
        )
    return edges_t, weights_t


def balanced_mse_mae(
    pred: Tensor,
    target: Tensor,
    *,
    edges: Sequence[float],
    weights: Sequence[float] = BALANCE_WEIGHTS,
    l1_weight: float = 1.0,
) -> Tensor:
    """HKO-7's training loss (Shi et al. 2017): balanced MSE + ``l1_weight`` × balanced MAE.

    Each pixel's squared and absolute errors are weighted by :func:`step_weights` of its
    *observed* value, so the rare heavy rain counts as much as the plentiful light rain, and
    averaged over all pixels. ``edges`` are on the frames' own scale: for HKO-7 pixels / 255 the
    rain rates 2, 5, 10, 30 mm/h are ``rain_rate_to_pixel(r) / 255`` (0.540, 0.631, 0.700, 0.809).

    Example:
        >>> pred, target = torch.zeros(1, 1, 1, 1, 2), torch.tensor([0.2, 0.8]).view(1, 1, 1, 1, 2)
        >>> round(float(balanced_mse_mae(pred, target, edges=(0.5,), weights=(1.0, 10.0))), 4)
        7.32
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred, target = pred.float(), target.float()
        weight = step_weights(target, edges, weights)
        diff = pred - target
        return (weight * diff.square()).mean() + l1_weight * (weight * diff.abs()).mean()


class NowcastScores(Metric):
    """Contingency counts per threshold and lead time, and balanced errors per lead time.

    Args:
        horizon: lead times (frames) of every update.
        to_rain_rate: frames in [0, 1] → rain rate in mm/h (elementwise, on tensors).
        thresholds: rain rates in mm/h.

    ``update(pred, target)``: ``(B, horizon, C, H, W)`` in [0, 1]. ``compute()``: ``csi``, ``pod``,
    ``far``, ``hss`` ``(len(thresholds), horizon)`` and ``b_mse``, ``b_mae`` ``(horizon,)``.

    Example:
        >>> metric = NowcastScores(horizon=2, to_rain_rate=lambda x: 40 * x, thresholds=(0.5, 10.0))
        >>> metric.update(torch.full((1, 2, 1, 4, 4), 0.2), torch.full((1, 2, 1, 4, 4), 0.2))
        >>> metric.compute()["csi"].tolist()
        [[1.0, 1.0], [nan, nan]]
    """

    full_state_update = False
    hits: Tensor
    misses: Tensor
    false_alarms: Tensor
    correct_negatives: Tensor
    sum_b_mse: Tensor
    sum_b_mae: Tensor
    pixels: Tensor

    def __init__(
        self,
        *,
        horizon: int,
        to_rain_rate: Callable[[Tensor], Tensor],
        thresholds: Sequence[float] = THRESHOLDS,
    ) -> None:
        super().__init__()
        self.horizon = int(horizon)
        self.to_rain_rate = to_rain_rate
        self.thresholds = tuple(float(t) for t in thresholds)
        shape = (len(self.thresholds), self.horizon)
        for name in ("hits", "misses", "false_alarms", "correct_negatives"):
            self.add_state(name, default=torch.zeros(shape, dtype=torch.float64), dist_reduce_fx="sum")
        for name in ("sum_b_mse", "sum_b_mae"):
            self.add_state(name, default=torch.zeros(self.horizon, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("pixels", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor) -> None:
        if pred.shape != target.shape or pred.dim() != 5 or pred.shape[1] != self.horizon:
            raise ValueError(
                f"NowcastScores(horizon={self.horizon}) takes pred and target (B, {self.horizon}, C, H, W); "
                f"received {tuple(pred.shape)} and {tuple(target.shape)}"
            )
        pred, target = pred.detach().double().clamp(0, 1), target.detach().double()
        rain_pred, rain_obs = self.to_rain_rate(pred), self.to_rain_rate(target)
        dims = (0, 2, 3, 4)  # all but the lead time
        for i, threshold in enumerate(self.thresholds):
            p, o = rain_pred >= threshold, rain_obs >= threshold
            self.hits[i] += (p & o).sum(dims)
            self.misses[i] += (~p & o).sum(dims)
            self.false_alarms[i] += (p & ~o).sum(dims)
            self.correct_negatives[i] += (~p & ~o).sum(dims)
        weight = step_weights(rain_obs, BALANCE_EDGES, BALANCE_WEIGHTS)
        diff = pred - target
        self.sum_b_mse += (weight * diff.square()).sum(dims)
        self.sum_b_mae += (weight * diff.abs()).sum(dims)
        self.pixels += target[:, 0].numel()

    def compute(self) -> dict[str, Tensor]:
        scores = skill_scores(self.hits, self.misses, self.false_alarms, self.correct_negatives)
        pixels = self.pixels.clamp(min=1)
        return {**scores, "b_mse": self.sum_b_mse / pixels, "b_mae": self.sum_b_mae / pixels}
