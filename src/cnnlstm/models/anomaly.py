"""CNN-LSTM anomaly detectors: a point the model cannot explain is an anomaly.

* :class:`CNNLSTMForecastDetector` — causal 1-D convolutions read the local shape, an LSTM
  learns what normally comes next, a linear head predicts the next ``horizon`` steps after every
  step (Malhotra et al. 2015, "Long Short Term Memory Networks for Anomaly Detection in Time
  Series", ESANN, with a convolutional front end). The score of a step is its prediction error,
  averaged over the ``horizon`` forecasts that cover it, optionally Gaussian-normalised per
  channel (z-scores of the error against the validation errors). It streams: ``step`` takes one
  sample and costs the same however long the series.
* :class:`CNNLSTMAutoencoder` — convolutions and an LSTM encode a window into one vector, an LSTM
  decodes it back (Malhotra et al. 2016, "LSTM-based Encoder-Decoder for Multi-sensor Anomaly
  Detection"); a step's score is its reconstruction error averaged over the overlapping windows
  that hold it (the ``stride`` between windows matters: 1 gives each step ``window`` votes).
* :class:`ConvLSTMForecastDetector` — the forecasting detector for channels laid out on a grid:
  each step's channels form a frame, a ConvLSTM (Shi et al. 2015) reads the frames in time.

All map a normalised series ``(T, C)`` to one score per step with :meth:`~AnomalyDetector.score_series`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlstm._validation import check_bool, check_dropout, check_positive_int
from cnnlstm.models._registry import register_model, with_defaults
from cnnlstm.nn.convlstm import ConvLSTM
from cnnlstm.nn.lstm import LSTM

__all__ = [
    "AnomalyDetector",
    "CNNLSTMAutoencoder",
    "CNNLSTMForecastDetector",
    "ConvLSTMForecastDetector",
    "ForecastingDetector",
]


class AnomalyDetector(nn.Module):
    """What the anomaly task and the stream need of a detector.

    * ``training_pair(x)``: ``(prediction, target)`` for a batch of windows ``(B, T, C)``; the
      loss is their mean squared difference.
    * ``series_errors(x)``: signed errors ``(T, C)`` (truth minus model) of one whole series
      ``(T, C)``, one per step.
    * :meth:`scores_from_errors`: errors ``(T, C)`` → scores ``(T,)``: the mean over channels of
      the squared error, or of the squared z-score against :meth:`fit_error_stats`' statistics
      when ``gaussian`` is on. The statistics are buffers, so checkpoints and exports keep them.
    """

    in_channels: int
    error_mean: Tensor
    error_std: Tensor

    def _init_detector(self, in_channels: int, gaussian: bool) -> None:
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.gaussian = check_bool("gaussian", gaussian)
        self.register_buffer("error_mean", torch.zeros(self.in_channels))
        self.register_buffer("error_std", torch.ones(self.in_channels))

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 3 or x.shape[2] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects series (B, T, C) with C={self.in_channels}; "
                f"received {tuple(x.shape)}"
            )

    def training_pair(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError  # pragma: no cover

    def series_errors(self, x: Tensor, *, stride: int = 1, batch_size: int = 256) -> Tensor:
        raise NotImplementedError  # pragma: no cover

    @torch.no_grad()
    def fit_error_stats(self, errors: Tensor) -> None:
        """Per-channel mean and standard deviation of validation ``errors`` ``(N, C)``."""
        errors = errors.reshape(-1, self.in_channels).float()
        self.error_mean.copy_(errors.mean(0))
        self.error_std.copy_(errors.std(0, unbiased=False).clamp(min=1e-6))

    def scores_from_errors(self, errors: Tensor) -> Tensor:
        """Errors ``(..., C)`` → scores ``(...)`` (see the class)."""
        if self.gaussian:
            errors = (errors - self.error_mean) / self.error_std
        return errors.square().mean(-1)

    @torch.no_grad()
    def score_series(self, x: Tensor, *, stride: int = 1, batch_size: int = 256) -> Tensor:
        """One score per step ``(T,)`` of a normalised series ``(T, C)``; higher is more anomalous."""
        return self.scores_from_errors(self.series_errors(x, stride=stride, batch_size=batch_size))


def _causal_convs(in_channels: int, channels: Sequence[int], kernel_size: int) -> nn.ModuleList:
    convs, previous = [], in_channels
    for c in channels:
        convs.append(nn.Conv1d(previous, check_positive_int("conv_channels", c), kernel_size))
        previous = c
    return nn.ModuleList(convs)


class ForecastingDetector(AnomalyDetector):
    """A detector that forecasts the next ``horizon`` steps after every step.

    Subclasses set ``horizon`` and implement :meth:`forward_sequence` ``(B, T, C)`` →
    ``(B, T, horizon, C)``; training and scoring (a step's error against the mean of the
    ``horizon`` forecasts made for it) are shared.
    """

    horizon: int

    def forward_sequence(self, x: Tensor) -> Tensor:
        raise NotImplementedError  # pragma: no cover

    def output_steps(self, input_steps: int) -> int:
        return self.horizon

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_sequence(x)[:, -1]

    def training_pair(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Every forecast inside the window against the steps it predicts."""
        h = self.horizon
        if x.shape[1] <= h:
            raise ValueError(
                f"windows of {x.shape[1]} steps are too short for horizon={h}; use a longer window"
            )
        forecasts = self.forward_sequence(x[:, :-1])  # (B, T-1, h, C): forecast after steps 0..T-2
        preds, targets = [], []
        for j in range(h):  # the forecast j+1 steps ahead, made after step t, predicts step t+j+1
            preds.append(forecasts[:, : x.shape[1] - 1 - j, j])
            targets.append(x[:, j + 1 :])
        return torch.cat(preds, 1), torch.cat(targets, 1)

    def series_errors(self, x: Tensor, *, stride: int = 1, batch_size: int = 256) -> Tensor:
        """Signed errors ``(T, C)``: step ``t``'s truth minus the mean of its ``horizon`` forecasts
        (fewer near the start); step 0, which nothing predicts, copies step 1's error."""
        forecasts = self.forward_sequence(x[None])[0]  # (T, h, C)
        total = torch.zeros_like(x)
        count = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
        for j in range(self.horizon):
            n = x.shape[0] - 1 - j
            if n <= 0:
                break
            total[j + 1 :] += x[j + 1 :] - forecasts[:n, j]
            count[j + 1 :] += 1
        errors = total / count.clamp(min=1)
        errors[0] = errors[1]
        return errors


class CNNLSTMForecastDetector(ForecastingDetector):
    """Causal convolutions, an LSTM and a linear head predicting the next ``horizon`` steps.

    Args:
        in_channels: channels ``C`` of the series.
        conv_channels: output channels of each causal convolution (``()``: none).
        kernel_size: length of every convolution; each sees the ``kernel_size - 1`` steps before.
        hidden_size: LSTM features.
        num_layers: LSTM layers.
        horizon: steps predicted after each step; a step's error averages its ``horizon`` forecasts.
        dropout: dropout between LSTM layers and before the head.
        gaussian: score errors as z-scores per channel (see :class:`AnomalyDetector`).
        residual: predict the change from the last step (the forecast is the last sample plus the
            head's output), which carries over to levels and trends the training part never reached.

    Shapes: ``forward`` ``(B, T, C)`` → the forecast after the last step ``(B, horizon, C)``;
    :meth:`forward_sequence` → the forecast after every step ``(B, T, horizon, C)``.

    Example:
        >>> model = CNNLSTMForecastDetector(in_channels=2, horizon=3)
        >>> model(torch.randn(4, 50, 2)).shape
        torch.Size([4, 3, 2])
        >>> model.score_series(torch.randn(100, 2)).shape
        torch.Size([100])
    """

    step_output = "forecast"

    def __init__(
        self,
        *,
        in_channels: int = 1,
        conv_channels: Sequence[int] = (32, 32),
        kernel_size: int = 5,
        hidden_size: int = 64,
        num_layers: int = 1,
        horizon: int = 1,
        dropout: float = 0.0,
        gaussian: bool = False,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self._init_detector(in_channels, gaussian)
        self.residual = check_bool("residual", residual)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.horizon = check_positive_int("horizon", horizon)
        self.convs = _causal_convs(self.in_channels, conv_channels, self.kernel_size)
        features = conv_channels[-1] if len(conv_channels) else self.in_channels
        self.lstm = LSTM(
            features,
            hidden_size,
            check_positive_int("num_layers", num_layers),
            batch_first=True,
            dropout=dropout,
        )
        self.drop = nn.Dropout(check_dropout(dropout))
        self.head = nn.Linear(hidden_size, self.horizon * self.in_channels)

    def forward_sequence(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """The forecast after every step: ``(B, T, C)`` → ``(B, T, horizon, C)``."""
        self._check_input(x)
        z = x.transpose(1, 2)  # (B, C, T)
        for conv in self.convs:
            z = F.relu(conv(F.pad(z, (self.kernel_size - 1, 0))))  # causal: left padding only
        out, _ = self.lstm(z.transpose(1, 2), state)  # (B, T, H)
        forecast = self.head(self.drop(out)).unflatten(-1, (self.horizon, self.in_channels))
        return forecast + x[:, :, None] if self.residual else forecast  # (B, T, h, C)

    # -- streaming: one sample at a time; the state is a tuple of tensors (exportable) -------------
    def init_state(self, batch_size: int, device: torch.device | None = None, **_: Any) -> tuple[Tensor, ...]:
        """Zeros: the last ``kernel_size - 1`` inputs of each convolution, then the LSTM's ``(h, c)``."""
        buffers = [
            torch.zeros(batch_size, int(conv.in_channels), self.kernel_size - 1, device=device)
            for conv in self.convs
            if isinstance(conv, nn.Conv1d)
        ]
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        return (*buffers, torch.zeros(shape, device=device), torch.zeros(shape, device=device))

    def step(self, sample: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One sample ``(B, C)`` → the forecast after it ``(B, horizon, C)`` and the new state.

        After samples ``x[:, 0] ... x[:, t]`` the forecast equals ``model(x[:, : t + 1])``.

        Example:
            >>> model = CNNLSTMForecastDetector(in_channels=3, horizon=2).eval()
            >>> state = model.init_state(1)
            >>> for sample in torch.randn(5, 1, 3):
            ...     forecast, state = model.step(sample, state)
            >>> forecast.shape
            torch.Size([1, 2, 3])
        """
        self._check_input(sample[:, None])
        z = sample[:, :, None]  # (B, C, 1)
        buffers = []
        for conv, buffer in zip(self.convs, state[: len(self.convs)], strict=True):
            window = torch.cat([buffer, z], dim=2)  # (B, C_in, kernel_size)
            buffers.append(window[:, :, 1:])
            z = F.relu(conv(window))  # (B, C_out, 1)
        h, c = state[-2], state[-1]
        out, (h, c) = self.lstm(z.transpose(1, 2), (h, c))
        forecast = self.head(self.drop(out[:, -1])).unflatten(-1, (self.horizon, self.in_channels))
        if self.residual:
            forecast = forecast + sample[:, None]
        return forecast, (*buffers, h, c)


class ConvLSTMForecastDetector(ForecastingDetector):
    """A ConvLSTM forecaster for channels laid out on a grid (sensors in rows and columns, say).

    Each step's ``C = H * W`` channels form one ``(1, H, W)`` frame; a stacked ConvLSTM (Shi et
    al. 2015) reads the frames in time, so a channel's forecast sees its neighbours' recent past,
    and a 1×1 convolution predicts the next ``horizon`` frames after every step. Scoring is the
    forecasting detector's (:class:`ForecastingDetector`).

    Args:
        in_channels: channels ``C`` of the series.
        grid: ``(H, W)`` with ``H * W == C``, channels in row-major order; default ``(1, C)``.
        hidden_channels: state channels of each ConvLSTM layer.
        kernel_size: the ConvLSTM's (odd) kernel.
        horizon: steps predicted after each step.
        gaussian: score errors as z-scores per channel (see :class:`AnomalyDetector`).
        residual: predict the change from the last step.

    Shapes: ``forward`` ``(B, T, C)`` → ``(B, horizon, C)``; :meth:`forward_sequence` →
    ``(B, T, horizon, C)``.

    Example:
        >>> model = ConvLSTMForecastDetector(in_channels=6, grid=(2, 3), hidden_channels=(4,), horizon=2)
        >>> model(torch.randn(3, 20, 6)).shape
        torch.Size([3, 2, 6])
        >>> model.score_series(torch.randn(30, 6)).shape
        torch.Size([30])
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        grid: Sequence[int] | None = None,
        hidden_channels: Sequence[int] = (16, 16),
        kernel_size: int = 3,
        horizon: int = 1,
        gaussian: bool = False,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self._init_detector(in_channels, gaussian)
        self.grid = (
            (1, self.in_channels) if grid is None else tuple(check_positive_int("grid", g) for g in grid)
        )
        if len(self.grid) != 2 or self.grid[0] * self.grid[1] != self.in_channels:
            raise ValueError(
                f"grid must be (H, W) with H * W = in_channels = {self.in_channels}; received grid={grid!r}"
            )
        self.horizon = check_positive_int("horizon", horizon)
        self.residual = check_bool("residual", residual)
        hidden = [check_positive_int("hidden_channels", c) for c in hidden_channels]
        if not hidden:
            raise ValueError("hidden_channels needs at least one layer; received ()")
        self.convlstm = ConvLSTM(1, hidden, check_positive_int("kernel_size", kernel_size))
        self.head = nn.Conv2d(hidden[-1], self.horizon, 1)

    def forward_sequence(self, x: Tensor) -> Tensor:
        """The forecast after every step: ``(B, T, C)`` → ``(B, T, horizon, C)``."""
        self._check_input(x)
        b, t, c = x.shape
        frames = x.reshape(b, t, 1, *self.grid)
        out, _ = self.convlstm(frames)  # (B, T, hidden, H, W)
        forecast = self.head(out.flatten(0, 1)).reshape(b, t, self.horizon, c)
        return forecast + x[:, :, None] if self.residual else forecast


class CNNLSTMAutoencoder(AnomalyDetector):
    """Convolutions and an LSTM encode a window to one vector; an LSTM decodes the window back.

    Args:
        in_channels: channels ``C`` of the series.
        window: steps of the windows scored (``series_errors`` slides windows of this length).
        conv_channels: output channels of each ``same``-padded convolution of the encoder.
        kernel_size: odd length of the convolutions.
        hidden_size: features of the encoder and decoder LSTMs and of the code.
        gaussian: score errors as z-scores per channel (see :class:`AnomalyDetector`).

    Shapes: ``(B, T, C)`` → the reconstruction ``(B, T, C)``.

    Example:
        >>> model = CNNLSTMAutoencoder(in_channels=2, window=16)
        >>> model(torch.randn(4, 16, 2)).shape
        torch.Size([4, 16, 2])
        >>> model.score_series(torch.randn(40, 2), stride=4).shape
        torch.Size([40])
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        window: int = 64,
        conv_channels: Sequence[int] = (32,),
        kernel_size: int = 5,
        hidden_size: int = 64,
        gaussian: bool = False,
    ) -> None:
        super().__init__()
        self._init_detector(in_channels, gaussian)
        self.window = check_positive_int("window", window)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd; received kernel_size={kernel_size}")
        convs, previous = [], self.in_channels
        for c in conv_channels:
            convs.append(
                nn.Conv1d(previous, check_positive_int("conv_channels", c), self.kernel_size, padding="same")
            )
            previous = c
        self.convs = nn.ModuleList(convs)
        hidden = check_positive_int("hidden_size", hidden_size)
        self.encoder = LSTM(previous, hidden, batch_first=True)
        self.decoder = LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, self.in_channels)

    def output_steps(self, input_steps: int) -> int:
        return input_steps

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        z = x.transpose(1, 2)
        for conv in self.convs:
            z = F.relu(conv(z))
        _, (h, _) = self.encoder(z.transpose(1, 2))
        code = h[-1][:, None].expand(-1, x.shape[1], -1)  # (B, T, H): the code at every step
        out, _ = self.decoder(code)
        return self.head(out)

    def training_pair(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self(x), x

    def series_errors(self, x: Tensor, *, stride: int = 1, batch_size: int = 256) -> Tensor:
        """Signed errors ``(T, C)``, each step's mean over the windows (every ``stride`` steps, and
        one ending at the last step) that hold it; a stride above the window is capped to it, so
        that every step is scored."""
        length, w = x.shape[0], min(self.window, x.shape[0])
        starts = list(range(0, length - w + 1, min(check_positive_int("stride", stride), w)))
        if starts[-1] != length - w:
            starts.append(length - w)
        total = torch.zeros_like(x)
        count = torch.zeros(length, 1, dtype=x.dtype, device=x.device)
        for i in range(0, len(starts), batch_size):
            chunk = starts[i : i + batch_size]
            windows = torch.stack([x[s : s + w] for s in chunk])
            errors = windows - self(windows)
            for s, e in zip(chunk, errors, strict=True):
                total[s : s + w] += e
                count[s : s + w] += 1
        return total / count


_SERIES: dict[str, Any] = dict(task="anomaly", modality="series")


@register_model(
    **_SERIES, input_size=(128, 1), test_input_size=(12, 2), shape_kwargs={"in_channels": -1}, streams=True
)
def cnn_lstm_forecast(**kwargs: Any) -> CNNLSTMForecastDetector:
    """CNN-LSTM forecasting detector: 2 causal convolutions of 32 (kernel 5), LSTM 64, next step."""
    return with_defaults(
        CNNLSTMForecastDetector, dict(conv_channels=(32, 32), kernel_size=5, hidden_size=64), kwargs
    )


@register_model(**_SERIES, input_size=(12, 2), shape_kwargs={"in_channels": -1}, streams=True)
def cnn_lstm_forecast_tiny(**kwargs: Any) -> CNNLSTMForecastDetector:
    """Tiny forecasting detector for tests: one causal convolution of 8 (kernel 3), LSTM 8, 2 steps ahead."""
    return with_defaults(
        CNNLSTMForecastDetector, dict(conv_channels=(8,), kernel_size=3, hidden_size=8, horizon=2), kwargs
    )


@register_model(**_SERIES, input_size=(128, 4), test_input_size=(12, 4), shape_kwargs={"in_channels": -1})
def convlstm_forecast(**kwargs: Any) -> ConvLSTMForecastDetector:
    """ConvLSTM forecasting detector for channels on a grid (``grid=(H, W)``): ConvLSTM 16, 16 (kernel 3)."""
    return with_defaults(ConvLSTMForecastDetector, dict(hidden_channels=(16, 16), kernel_size=3), kwargs)


@register_model(**_SERIES, input_size=(6, 4), shape_kwargs={"in_channels": -1})
def convlstm_forecast_tiny(**kwargs: Any) -> ConvLSTMForecastDetector:
    """Tiny ConvLSTM forecasting detector for tests: one ConvLSTM layer of 4 (kernel 3), 2 steps ahead."""
    return with_defaults(
        ConvLSTMForecastDetector, dict(hidden_channels=(4,), kernel_size=3, horizon=2), kwargs
    )


@register_model(
    **_SERIES, input_size=(128, 1), test_input_size=(12, 2), shape_kwargs={"in_channels": -1, "window": 0}
)
def cnn_lstm_autoencoder(**kwargs: Any) -> CNNLSTMAutoencoder:
    """CNN-LSTM autoencoder detector: a convolution of 32 (kernel 5), LSTM encoder and decoder of 64."""
    return with_defaults(CNNLSTMAutoencoder, dict(conv_channels=(32,), kernel_size=5, hidden_size=64), kwargs)


@register_model(**_SERIES, input_size=(12, 2), shape_kwargs={"in_channels": -1, "window": 0})
def cnn_lstm_autoencoder_tiny(**kwargs: Any) -> CNNLSTMAutoencoder:
    """Tiny autoencoder detector for tests: a convolution of 8 (kernel 3), LSTMs of 8."""
    return with_defaults(CNNLSTMAutoencoder, dict(conv_channels=(8,), kernel_size=3, hidden_size=8), kwargs)
