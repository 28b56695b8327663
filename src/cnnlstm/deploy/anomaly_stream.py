"""Online anomaly detection: one new sample (all channels) in, its score and alarm state out.

:class:`AnomalyStream` wraps a streaming forecasting detector
(:class:`~cnnlstm.models.anomaly.CNNLSTMForecastDetector`, ``step_output == "forecast"``): each
sample is normalised with the training statistics, compared with the forecasts made for it
1 .. ``horizon`` steps earlier, and fed to the model's ``step``, which forecasts the next steps.
The cost per sample is one recurrent step, however long the stream; the score equals the offline
score of the same step (``model.score_series``; the first sample, which nothing predicted, gets
no score). The alarm comes from a fixed threshold, or from SPOT, which keeps adapting.

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
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._validation import check_positive_int
from cnnlstm.metrics.thresholds import SPOT

__all__ = ["AnomalyStream", "StreamResult"]


@dataclass(frozen=True)
class StreamResult:
    """One pushed sample: its index, its score (None for the first) and whether it is an alarm."""

    step: int
    score: float | None
    alarm: bool


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
        """Forget everything seen: the next sample is the first of a new stream."""
        self.state: Any = self.model.init_state(1)  # type: ignore[operator]
        self.forecasts: deque[Tensor] = deque(maxlen=self.horizon)  # newest first: made 1, 2 ... steps ago
        self.recent: deque[float] = deque(maxlen=self.smoothing)
        self.steps = 0

    @torch.no_grad()
    def push(self, sample: Tensor | Sequence[float]) -> StreamResult:
        """Score one raw sample ``(C,)``; then forecast the next steps from it."""
        x = torch.as_tensor(sample, dtype=torch.float32).reshape(1, -1)
        if self.mean is not None and self.std is not None:
            x = (x - self.mean) / self.std
        score = None
        if self.forecasts:
            predicted = torch.stack([f[0, j] for j, f in enumerate(self.forecasts)]).mean(0)  # (C,)
            raw = float(self.model.scores_from_errors(x[0] - predicted))  # type: ignore[operator]
            if not self.recent:  # the offline score of step 0 copies step 1's: pad with it
                self.recent.extend([raw] * (self.smoothing - 1))
            self.recent.append(raw)
            score = sum(self.recent) / len(self.recent)
        forecast, self.state = self.model.step(x, self.state)  # type: ignore[operator]
        self.forecasts.appendleft(forecast)
        alarm = False
        if score is not None and self.threshold is not None:
            alarm = (
                self.threshold.update(score) if isinstance(self.threshold, SPOT) else score > self.threshold
            )
        result = StreamResult(self.steps, score, bool(alarm))
        self.steps += 1
        return result
