"""Online anomaly detection: one new sample (all channels) in, its score and alarm state out.

:class:`AnomalyStream` wraps a streaming forecasting detector
(:class:`~cnnlstm.models.anomaly.CNNLSTMForecastDetector`, ``step_output == "forecast"``): each
sample is normalised with the training statistics, compared with the forecasts made for it
1 .. ``horizon`` steps earlier, and stepped through the model, which forecasts the next steps.
The arithmetic is :class:`~cnnlstm.models.anomaly_step.OnlineScorer`'s: the model's step in NumPy
with precomputed weights and preallocated buffers, a few dozen small operations per sample
however long the stream. The score equals the offline score of the same step (``model.score_series``;
the first sample, which nothing predicted, gets no score). The alarm comes from a fixed
threshold, or from SPOT, which keeps adapting.

Example:
    >>> from cnnlstm import create_model
    >>> model = create_model("cnn_lstm_forecast_tiny", in_channels=2)
    >>> stream = AnomalyStream(model, threshold=5.0)
    >>> for sample in torch.randn(4, 2):
    ...     result = stream.push(sample)
    >>> result.step, result.score is not None, result.alarm in (True, False)
    (3, True, True)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from cnnlstm._validation import check_positive_int
from cnnlstm.metrics.thresholds import SPOT
from cnnlstm.models.anomaly_step import OnlineScorer

__all__ = ["AnomalyStream", "StreamResult"]


@dataclass(frozen=True)
class StreamResult:
    """One pushed sample: its index, its score (None for the first) and whether it is an alarm."""

    step: int
    score: float | None
    alarm: bool


def _as_array(sample: Tensor | Sequence[float] | np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``sample`` as a NumPy array, without a copy where it can (the common cases first)."""
    if isinstance(sample, np.ndarray):
        return sample
    if isinstance(sample, Tensor):
        try:
            return sample.numpy()  # a CPU tensor without gradient: shares memory
        except RuntimeError:
            return sample.detach().cpu().numpy()
    return np.asarray(sample, dtype=dtype)


class AnomalyStream:
    """Score samples one at a time (see the module).

    Args:
        model: a forecasting detector with ``init_state``, ``step``, ``horizon`` and
            ``scores_from_errors``; put in eval mode.
        mean, std: per-channel statistics of the training data (the data module's
            ``preprocessing()``); samples are raw values, normalised here. Default: none.
        threshold: a fixed score threshold, or a fitted :class:`~cnnlstm.metrics.SPOT` (updated
            with every score), or None (no alarms).
        smoothing: scores averaged over this many trailing steps, as ``AnomalyTask(smoothing=)``.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        threshold: float | SPOT | None = None,
        smoothing: int = 1,
    ) -> None:
        if getattr(model, "step_output", None) != "forecast":
            raise TypeError(
                f"{type(model).__name__} cannot stream anomaly scores: it needs step() forecasts "
                "(step_output='forecast'), as cnn_lstm_forecast has"
            )
        self.model = model.eval()
        self.mean = None if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        self.std = None if std is None else torch.as_tensor(std, dtype=torch.float32)
        self.threshold = threshold
        self.smoothing = check_positive_int("smoothing", smoothing)
        self.horizon = int(model.horizon)  # type: ignore[arg-type]
        self.reset()

    def reset(self) -> None:
        """Forget everything seen: the next sample is the first of a new stream. The model's weights
        and error statistics are read here (and at construction): reset after changing them
        (training, ``fit_error_stats``)."""
        self.scorer = OnlineScorer(self.model, mean=self.mean, std=self.std)  # type: ignore[arg-type]
        self.recent: deque[float] = deque(maxlen=self.smoothing)
        self.steps = 0

    def push(self, sample: Tensor | Sequence[float] | np.ndarray) -> StreamResult:
        """Score one raw sample ``(C,)``; then forecast the next steps from it."""
        scorer = self.scorer
        x = _as_array(sample, scorer.dtype)
        if x.size != scorer.channels:
            raise ValueError(
                f"AnomalyStream expects one sample of {scorer.channels} channels; received shape {x.shape}"
            )
        score = scorer.step(x if x.ndim == 1 else x.reshape(-1))
        if score is not None and self.smoothing > 1:
            recent = self.recent
            if not recent:  # the offline score of step 0 copies step 1's: pad with it
                recent.extend([score] * (self.smoothing - 1))
            recent.append(score)
            score = sum(recent) / len(recent)
        alarm = False
        threshold = self.threshold
        if score is not None and threshold is not None:
            alarm = threshold.update(score) if isinstance(threshold, SPOT) else score > threshold
        step, self.steps = self.steps, self.steps + 1
        return StreamResult(step, score, bool(alarm))
