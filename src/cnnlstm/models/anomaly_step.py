"""The forecasting detector scored online, one sample of one stream at a time, at a small constant cost.

:meth:`CNNLSTMForecastDetector.step <cnnlstm.models.anomaly.CNNLSTMForecastDetector.step>` is
the general step (any batch, exportable, a state tuple in and out). One stream needs less, and
at batch 1 pays mostly for Python and operator dispatch, so :class:`OnlineScorer` computes the
same numbers with as few operations as it can, none of which allocates:

* every weight copied (detached) once, every intermediate written into a preallocated buffer;
* each causal convolution one matrix product over a ring buffer of its last ``kernel_size``
  inputs; the ring is never shifted: the taps of the weight are rotated instead, one copy of the
  weight per ring position, made once;
* each LSTM layer one product of ``[x_t, h_{t-1}]`` with the stacked ``[W_ih | W_hh]`` and the
  summed biases, then the gate equations in place;
* the score one matrix-vector product: the last ``horizon`` forecasts, the new sample and a
  constant 1 sit in one vector ``v``, and a matrix made once per (ring slot, number of forecasts)
  maps ``v`` to the per-channel error, z-scored when the model is ``gaussian``; the score is the
  mean square of that, as :meth:`~cnnlstm.models.anomaly.AnomalyDetector.scores_from_errors`.

Its scores equal ``model.score_series`` (tested to float rounding). The weights are read when the
scorer is built: build a new one after the model changes.

Example:
    >>> from cnnlstm.models import create_model
    >>> model = create_model("cnn_lstm_forecast_tiny", in_channels=2, horizon=3).eval()
    >>> scorer = OnlineScorer(model)
    >>> x = torch.randn(20, 2)
    >>> scores = [scorer.step(sample) for sample in x]
    >>> scores[0] is None  # nothing predicted the first sample
    True
    >>> offline = model.score_series(x)
    >>> all(abs(s - float(o)) <= 1e-4 * (1 + abs(float(o))) for s, o in zip(scores[1:], offline[1:]))
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from cnnlstm.models.anomaly import CNNLSTMForecastDetector

__all__ = ["OnlineScorer"]


class OnlineScorer:
    """One stream's online scores (see the module).

    Args:
        model: the detector; read once (weights and error statistics copied), left unchanged.
        mean, std: per-channel statistics; raw samples are normalised as ``(x - mean) / std``.
            Default: samples are already normalised.

    :meth:`step` takes one sample ``(C,)`` and returns its score (``None`` for the first sample
    after a reset, which nothing predicted).
    """

    def __init__(
        self,
        model: CNNLSTMForecastDetector,
        *,
        mean: Sequence[float] | Tensor | None = None,
        std: Sequence[float] | Tensor | None = None,
    ) -> None:
        if not isinstance(model, CNNLSTMForecastDetector):
            raise TypeError(f"OnlineScorer needs a CNNLSTMForecastDetector; received {type(model).__name__}")
        weight = model.head.weight
        self.device, self.dtype = weight.device, weight.dtype
        self.channels, self.horizon, self.kernel_size = model.in_channels, model.horizon, model.kernel_size
        self.residual = model.residual
        with torch.no_grad():
            self._input_transform(mean, std)
            self._conv_plan(model)
            self._lstm_plan(model)
            self._score_plan(model)
        self.reset()

    def _zeros(self, *shape: int) -> Tensor:
        return torch.zeros(shape, device=self.device, dtype=self.dtype)

    def _input_transform(
        self, mean: Sequence[float] | Tensor | None, std: Sequence[float] | Tensor | None
    ) -> None:
        self.scale, self.shift = self._zeros(1, self.channels) + 1, self._zeros(1, self.channels)
        if mean is not None and std is not None:
            self.scale = 1.0 / torch.as_tensor(std, device=self.device, dtype=self.dtype).reshape(1, -1)
            self.shift = (
                -torch.as_tensor(mean, device=self.device, dtype=self.dtype).reshape(1, -1) * self.scale
            )

    def _conv_plan(self, model: CNNLSTMForecastDetector) -> None:
        """Per convolution a ring ``(k, C_in)`` and, per ring position ``p``, the weight
        ``(k * C_in, C_out)`` whose rows for ring row ``q`` hold tap ``(q - p - 1) mod k``: after
        the newest input is written at ``p``, ring row ``p + 1`` (mod k) is the oldest."""
        k = self.kernel_size
        convs = [conv for conv in model.convs if isinstance(conv, nn.Conv1d)]
        self.rings = [self._zeros(k, conv.in_channels) for conv in convs]
        self.ring_rows = [[ring[p : p + 1] for p in range(k)] for ring in self.rings]  # (1, C_in) each
        self.ring_flat = [ring.view(1, -1) for ring in self.rings]
        self.conv_weights: list[list[Tensor]] = []
        for conv in convs:
            taps = conv.weight.detach().permute(2, 1, 0)  # (k, C_in, C_out)
            self.conv_weights.append(
                [
                    taps[[(q - p - 1) % k for q in range(k)]].reshape(-1, conv.out_channels).contiguous()
                    for p in range(k)
                ]
            )
        self.conv_biases = [
            conv.bias.detach().clone() if conv.bias is not None else self._zeros(conv.out_channels)
            for conv in convs
        ]

    def _lstm_plan(self, model: CNNLSTMForecastDetector) -> None:
        lstm = model.lstm
        hidden = self.hidden = lstm.hidden_size
        self.lstm_weights, self.lstm_biases, self.xh, self.cells = [], [], [], []
        for layer in range(lstm.num_layers):
            w_ih, w_hh, b_ih, b_hh, _ = lstm._weights(layer, "")
            self.lstm_weights.append(torch.cat([w_ih, w_hh], 1).detach().t().contiguous())  # (in + H, 4H)
            bias = self._zeros(4 * hidden)
            for b in (b_ih, b_hh):
                if b is not None:
                    bias = bias + b.detach()
            self.lstm_biases.append(bias)
            self.xh.append(self._zeros(1, int(w_ih.shape[1]) + hidden))  # [x_t, h_{t-1}]
            self.cells.append(self._zeros(1, hidden))
        self.gates, self.sig = self._zeros(1, 4 * hidden), self._zeros(1, 4 * hidden)
        self.candidate, self.tanh_c = self._zeros(1, hidden), self._zeros(1, hidden)
        self.gate_i, self.gate_f, _, self.gate_o = self.sig.chunk(4, dim=1)
        self.gate_g = self.gates[:, 2 * hidden : 3 * hidden]
        self.lstm_inputs = [xh[:, : xh.shape[1] - hidden] for xh in self.xh]
        self.lstm_hidden = [xh[:, xh.shape[1] - hidden :] for xh in self.xh]
        self.head_weight = model.head.weight.detach().t().contiguous()  # (H, horizon * C)
        self.head_bias = model.head.bias.detach().clone()

    def _score_plan(self, model: CNNLSTMForecastDetector) -> None:
        """``v = [forecasts made at steps with t mod h = 0 .. h-1 (each (h, C)), x_t (C), 1]`` and
        ``z = M[t mod h][n - 1] @ v`` the error of step ``t`` from its ``n`` forecasts."""
        h, c = self.horizon, self.channels
        self.v = self._zeros(h * h * c + c + 1)
        self.v[-1] = 1.0
        self.forecasts = [self.v[s * h * c : (s + 1) * h * c].view(1, h * c) for s in range(h)]
        self.forecast_views = [f.view(h, c) for f in self.forecasts]
        self.x = self.v[h * h * c : h * h * c + c]
        self.x_row = self.x.view(1, c)
        scale, shift = torch.ones(c, dtype=torch.float64), torch.zeros(c, dtype=torch.float64)
        if model.gaussian:
            std = model.error_std.detach().double().cpu()
            scale, shift = 1.0 / std, -model.error_mean.detach().double().cpu() / std
        self.score_maps: list[list[Tensor]] = []
        for s in range(h):
            maps = []
            for n in range(1, h + 1):
                m = torch.zeros(c, self.v.numel(), dtype=torch.float64)
                rows = torch.arange(c)
                for j in range(n):  # the forecast j + 1 steps ahead, made at step t - 1 - j
                    slot = (s - 1 - j) % h
                    m[rows, slot * h * c + j * c + rows] = -scale / n
                m[rows, h * h * c + rows] = scale
                m[:, -1] = shift
                maps.append(m.to(device=self.device, dtype=self.dtype))
            self.score_maps.append(maps)
        self.error = self._zeros(c)

    def reset(self) -> None:
        """Zero the state: the next sample is the first of a new stream."""
        with torch.no_grad():
            for t in (*self.rings, *self.xh, *self.cells):
                t.zero_()
            self.v[:-1].zero_()
        self.t = 0

    def buffers(self) -> list[Tensor]:
        """The state carried between steps (rings, ``[x, h]`` and ``c`` per layer, forecasts)."""
        return [*self.rings, *self.xh, *self.cells, self.v]

    def step(self, sample: Tensor) -> float | None:
        """One raw sample ``(C,)`` (no gradient) → its score; ``None`` for the first sample."""
        t, h, k = self.t, self.horizon, self.kernel_size
        p = t % k
        if self.rings:
            x = torch.addcmul(self.shift, sample, self.scale, out=self.ring_rows[0][p])
            self.x.copy_(x[0])
            last = len(self.rings) - 1
            for n, ring in enumerate(self.ring_flat):
                dest = self.lstm_inputs[0] if n == last else self.ring_rows[n + 1][p]
                torch.addmm(self.conv_biases[n], ring, self.conv_weights[n][p], out=dest).relu_()
        else:
            x = torch.addcmul(self.shift, sample, self.scale, out=self.x_row)
            self.lstm_inputs[0].copy_(x)
        for layer, (xh, c) in enumerate(zip(self.xh, self.cells, strict=True)):
            if layer:
                self.lstm_inputs[layer].copy_(self.lstm_hidden[layer - 1])
            torch.addmm(self.lstm_biases[layer], xh, self.lstm_weights[layer], out=self.gates)
            torch.sigmoid(self.gates, out=self.sig)
            torch.tanh(self.gate_g, out=self.candidate)
            c.mul_(self.gate_f).addcmul_(self.gate_i, self.candidate)
            torch.tanh(c, out=self.tanh_c)
            torch.mul(self.gate_o, self.tanh_c, out=self.lstm_hidden[layer])
        score = None
        slot = t % h
        if t:  # before this step's forecast overwrites the slot of step t - h
            error = torch.mv(self.score_maps[slot][min(t, h) - 1], self.v, out=self.error)
            score = float(torch.dot(error, error)) / self.channels
        torch.addmm(self.head_bias, self.lstm_hidden[-1], self.head_weight, out=self.forecasts[slot])
        if self.residual:
            self.forecast_views[slot].add_(self.x)
        self.t = t + 1
        return score
