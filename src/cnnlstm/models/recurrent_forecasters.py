"""Next-frame forecasters on the recurrent cells built after ConvLSTM: ConvGRU and PredRNN.

* :class:`ConvGRUForecaster` — a ConvGRU stack (Ballas et al. 2016) reading each frame and
  predicting the next, a lighter recurrent baseline (one state per layer instead of two).
* :class:`PredRNNForecaster` — PredRNN (Wang et al. 2017): spatiotemporal LSTM layers whose
  memory ``M`` zig-zags through the stack, with PredRNN-V2's decoupling loss (Wang et al. 2022)
  as an option (``decoupling > 0``; the forecasting task adds it to the training loss).

Both are :class:`~cnnlstm.models.forecasting.NextFrameForecaster` s: frames ``(B, T_in, C, H,
W)`` in [0, 1], ``(B, future_frames, C, H, W)`` out, patching, scheduled sampling and streaming
as the ConvLSTM forecasters.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._validation import check_non_negative_float
from cnnlstm.models._registry import register_model, with_defaults
from cnnlstm.models.forecasting import NextFrameForecaster
from cnnlstm.nn import STLSTM, ConvGRU

__all__ = ["ConvGRUForecaster", "PredRNNForecaster"]


class ConvGRUForecaster(NextFrameForecaster):
    """One ConvGRU stack predicting the next frame from each frame.

    Args:
        in_channels, hidden_channels, kernel_size, patch_size, future_frames, output: as in
            :class:`~cnnlstm.models.forecasting.ConvLSTMSingleStack`.

    Example:
        >>> model = ConvGRUForecaster(hidden_channels=(8, 8), patch_size=4)
        >>> model(torch.rand(2, 10, 1, 32, 32), future_frames=5).shape
        torch.Size([2, 5, 1, 32, 32])
    """

    def make_stack(self) -> nn.Module:
        return ConvGRU(self.patched_channels, self.hidden_channels, self.kernels)


class PredRNNForecaster(NextFrameForecaster):
    """PredRNN: stacked spatiotemporal LSTMs with the zig-zag memory, predicting the next frame.

    Args:
        in_channels, hidden_channels, kernel_size, patch_size, future_frames, output: as in
            :class:`~cnnlstm.models.forecasting.ConvLSTMSingleStack`; every layer has the same
            ``hidden_channels`` (the memory passes between them).
        decoupling: weight of PredRNN-V2's decoupling loss (0 disables it and its adapter). In
            training, :attr:`auxiliary_loss` holds ``decoupling ×`` the mean loss of the last
            forward, which :class:`~cnnlstm.tasks.ForecastingTask` adds to the frame loss.

    Example:
        >>> model = PredRNNForecaster(hidden_channels=(8, 8), patch_size=4)
        >>> model(torch.rand(2, 10, 1, 32, 32)).shape
        torch.Size([2, 10, 1, 32, 32])
    """

    def __init__(self, *, decoupling: float = 0.0, **kwargs: Any) -> None:
        self.decoupling = check_non_negative_float("decoupling", decoupling)
        super().__init__(**kwargs)
        self.auxiliary_loss: Tensor | None = None
        self._decoupling_terms: list[Tensor] = []

    def make_stack(self) -> nn.Module:
        return STLSTM(
            self.patched_channels,
            list(self.hidden_channels),
            self.kernels,
            decoupling_adapter=self.decoupling > 0,
        )

    def run_stack(self, frames: Tensor, states: Any) -> tuple[Tensor, Any]:
        if not (self.training and self.decoupling > 0):
            return super().run_stack(frames, states)
        out, states, loss = self.stack(frames, states, return_decoupling=True)
        self._decoupling_terms.append(loss * frames.shape[1])  # weighted by steps: a mean over all
        return out, states

    def forward(self, x: Tensor, future_frames: int | None = None, **kwargs: Any) -> Tensor:
        self._decoupling_terms = []
        out = super().forward(x, future_frames, **kwargs)
        if self._decoupling_terms:
            steps = x.shape[1] + out.shape[1] - 1
            self.auxiliary_loss = self.decoupling * torch.stack(self._decoupling_terms).sum() / steps
        else:
            self.auxiliary_loss = None
        self._decoupling_terms = []
        return out


_FRAMES: dict[str, Any] = dict(
    task="forecasting", modality="frames", shape_kwargs={"in_channels": 1}, streams=True
)


@register_model(**_FRAMES, input_size=(10, 1, 64, 64), test_input_size=(4, 1, 16, 16))
def convgru_forecaster(**kwargs: Any) -> ConvGRUForecaster:
    """ConvGRU next-frame forecaster: 4 layers of 128, 5×5, 4×4 patches (OpenSTL's ConvLSTM-S sizes)."""
    return with_defaults(
        ConvGRUForecaster, dict(hidden_channels=(128,) * 4, kernel_size=5, patch_size=4), kwargs
    )


@register_model(**_FRAMES, input_size=(4, 1, 16, 16))
def convgru_forecaster_tiny(**kwargs: Any) -> ConvGRUForecaster:
    """Tiny ConvGRU forecaster for tests (1 layer of 8, 3×3, 2×2 patches: exports stay quick)."""
    return with_defaults(ConvGRUForecaster, dict(hidden_channels=(8,), kernel_size=3, patch_size=2), kwargs)


@register_model(**_FRAMES, input_size=(10, 1, 64, 64), test_input_size=(4, 1, 16, 16))
def predrnn_forecaster(**kwargs: Any) -> PredRNNForecaster:
    """PredRNN as in OpenSTL's Moving MNIST setting: 4 layers of 128, 5×5, 4×4 patches."""
    return with_defaults(
        PredRNNForecaster, dict(hidden_channels=(128,) * 4, kernel_size=5, patch_size=4), kwargs
    )


@register_model(**_FRAMES, input_size=(4, 1, 16, 16))
def predrnn_forecaster_tiny(**kwargs: Any) -> PredRNNForecaster:
    """Tiny PredRNN for tests (1 layer of 8, 3×3, 2×2 patches: its export is the suite's slowest)."""
    return with_defaults(PredRNNForecaster, dict(hidden_channels=(8,), kernel_size=3, patch_size=2), kwargs)
