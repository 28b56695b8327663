"""The forecasting detector scored online, one sample of one stream at a time, at a small constant cost.

:meth:`CNNLSTMForecastDetector.step <cnnlstm.models.anomaly.CNNLSTMForecastDetector.step>` is
the general step (any batch, any device, exportable, a state tuple in and out). One stream needs
less, and at batch 1 the cost is almost all per-operation overhead (Python, dispatch), so
:class:`OnlineScorer` computes the same numbers on the CPU with NumPy (about a third of torch's
per-call overhead on vectors this small) and with as few operations as it can, none of which
allocates:

* every weight copied once, every intermediate written into a preallocated buffer; each input
  vector ends in a constant 1 and each weight matrix in its bias row, so a layer is one product;
* each causal convolution one product over a ring buffer of its last ``kernel_size`` inputs; the
  ring is never shifted: the taps of the weight are rotated instead, one copy per ring position;
* each LSTM layer one product of ``[x_t, h_{t-1}, 1]`` with the stacked ``[W_ih | W_hh | b]``,
  whose input, forget and output columns are halved so that one ``tanh`` gives every gate
  (``sigmoid(a) = (1 + tanh(a / 2)) / 2``), and reordered so that ``c`` sits beside the
  candidate and ``[f, i] * [c, g]`` is one product;
* the score one matrix-vector product: the last ``horizon`` forecasts, the new sample and a
  constant 1 sit in one vector ``v``, and a matrix made once per (ring slot, number of forecasts)
  maps ``v`` to the per-channel error, z-scored when the model is ``gaussian``; the score is the
  mean square of that, as :meth:`~cnnlstm.models.anomaly.AnomalyDetector.scores_from_errors`.

Its scores equal ``model.score_series`` to float rounding (tested). The weights are read when
the scorer is built: build a new one after the model changes.

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

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from cnnlstm.models.anomaly import CNNLSTMForecastDetector

__all__ = ["OnlineScorer"]

Array = NDArray[np.floating]


class OnlineScorer:
    """One stream's online scores (see the module).

    Args:
        model: the detector; read once (weights and error statistics copied), left unchanged.
        mean, std: per-channel statistics; raw samples are normalised as ``(x - mean) / std``.
            Default: samples are already normalised.

    :meth:`step` takes one raw sample ``(C,)`` (a NumPy array, a CPU tensor or a sequence) and
    returns its score (``None`` for the first sample after a reset, which nothing predicted).
    Computation is in the model's floating-point type.
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
        self.dtype = torch.empty(0, dtype=model.head.weight.dtype).numpy().dtype
        self.channels, self.horizon, self.kernel_size = model.in_channels, model.horizon, model.kernel_size
        self.residual = model.residual
        with torch.no_grad():
            self._input_transform(mean, std)
            self._conv_plan(model)
            self._lstm_plan(model)
            self._score_plan(model)
        self.reset()

    def _array(self, t: Tensor | Sequence[float]) -> Array:
        if isinstance(t, Tensor):
            return t.detach().cpu().double().numpy().astype(self.dtype)
        return np.asarray(t, dtype=self.dtype)

    def _input_transform(
        self, mean: Sequence[float] | Tensor | None, std: Sequence[float] | Tensor | None
    ) -> None:
        self.scale = np.ones(self.channels, dtype=self.dtype)
        self.shift = np.zeros(self.channels, dtype=self.dtype)
        if mean is not None and std is not None:
            self.scale = (1.0 / self._array(std).reshape(-1)).astype(self.dtype)
            self.shift = (-self._array(mean).reshape(-1) * self.scale).astype(self.dtype)

    def _with_bias(self, weight_t: Tensor, bias: Tensor | None) -> Array:
        """``(in, out)`` weight and ``(out,)`` bias → ``(in + 1, out)``: the bias as a last row."""
        row = torch.zeros(1, weight_t.shape[1], dtype=weight_t.dtype) if bias is None else bias.detach()[None]
        return self._array(torch.cat([weight_t.detach().cpu(), row.cpu()], 0))

    def _conv_plan(self, model: CNNLSTMForecastDetector) -> None:
        """Per convolution a ring ``[k rows of C_in, 1]`` and, per ring position ``p``, the weight
        ``(k * C_in + 1, C_out)`` whose rows for ring row ``q`` hold tap ``(q - p - 1) mod k``:
        after the newest input is written at ``p``, ring row ``p + 1`` (mod k) is the oldest."""
        k = self.kernel_size
        convs = [conv for conv in model.convs if isinstance(conv, nn.Conv1d)]
        self.rings = [np.zeros(k * conv.in_channels + 1, dtype=self.dtype) for conv in convs]
        self.ring_rows = [
            [ring[: k * conv.in_channels].reshape(k, conv.in_channels)[p] for p in range(k)]
            for ring, conv in zip(self.rings, convs, strict=True)
        ]
        self.conv_weights: list[list[Array]] = []
        for conv in convs:
            taps = conv.weight.detach().permute(2, 1, 0)  # (k, C_in, C_out)
            self.conv_weights.append(
                [
                    self._with_bias(
                        taps[[(q - p - 1) % k for q in range(k)]].reshape(-1, conv.out_channels), conv.bias
                    )
                    for p in range(k)
                ]
            )

    def _lstm_plan(self, model: CNNLSTMForecastDetector) -> None:
        """Per layer ``xh = [x_t, h_{t-1}, 1]`` and ``z = [c | g, f, i, o]``: the weight's gate
        columns reordered from torch's i, f, g, o to g, f, i, o, so that ``[f, i] * [c, g]`` is
        one product and the new ``c`` the sum of its halves."""
        lstm = model.lstm
        hidden = lstm.hidden_size
        order = torch.cat(
            [
                torch.arange(2 * hidden, 3 * hidden),
                torch.arange(hidden, 2 * hidden),
                torch.arange(hidden),
                torch.arange(3 * hidden, 4 * hidden),
            ]
        )  # g, f, i, o
        halve = torch.full((4 * hidden,), 0.5, dtype=torch.float64)
        halve[:hidden] = 1.0  # g: tanh; f, i, o: sigmoid(a) = (1 + tanh(a / 2)) / 2
        self.lstm_weights, self.xh, self.lstm_inputs, self.lstm_hidden, self.z = [], [], [], [], []
        for layer in range(lstm.num_layers):
            w_ih, w_hh, b_ih, b_hh, _ = lstm._weights(layer, "")
            bias = torch.zeros(4 * hidden, dtype=torch.float64)
            for b in (b_ih, b_hh):
                if b is not None:
                    bias = bias + b.detach().cpu().double()
            weight = torch.cat([w_ih, w_hh], 1).detach().cpu().double().t()  # (in + H, 4H)
            self.lstm_weights.append(self._with_bias(weight[:, order] * halve, bias[order] * halve))
            inputs = int(w_ih.shape[1])
            xh = np.zeros(inputs + hidden + 1, dtype=self.dtype)
            self.xh.append(xh)
            self.lstm_inputs.append(xh[:inputs])
            self.lstm_hidden.append(xh[inputs : inputs + hidden])
            self.z.append(np.zeros(5 * hidden, dtype=self.dtype))
        self.gate_scale = self._array(halve)
        self.gate_shift = self._array(1.0 - halve)
        self.product, self.tanh_c = np.zeros(2 * hidden, dtype=self.dtype), np.zeros(hidden, dtype=self.dtype)
        self.hidden = hidden
        last = self.xh[-1]
        self.head_input = last[last.size - hidden - 1 :]  # [h_t, 1]
        self.head_weight = self._with_bias(model.head.weight.detach().cpu().t(), model.head.bias)

    def _score_plan(self, model: CNNLSTMForecastDetector) -> None:
        """``v = [forecasts made at steps with t mod h = 0 .. h-1 (each (h, C)), x_t (C), 1]`` and
        ``z = M[t mod h][n - 1] @ v`` the error of step ``t`` from its ``n`` forecasts."""
        h, c = self.horizon, self.channels
        self.v = np.zeros(h * h * c + c + 1, dtype=self.dtype)
        self.forecasts = [self.v[s * h * c : (s + 1) * h * c] for s in range(h)]
        self.forecast_views = [f.reshape(h, c) for f in self.forecasts]
        self.x = self.v[h * h * c : h * h * c + c]
        scale, shift = torch.ones(c, dtype=torch.float64), torch.zeros(c, dtype=torch.float64)
        if model.gaussian:
            std = model.error_std.detach().double().cpu()
            scale, shift = 1.0 / std, -model.error_mean.detach().double().cpu() / std
        rows = torch.arange(c)
        self.score_maps: list[list[Array]] = []
        for s in range(h):
            maps = []
            for n in range(1, h + 1):
                m = torch.zeros(c, self.v.size, dtype=torch.float64)
                for j in range(n):  # the forecast j + 1 steps ahead, made at step t - 1 - j
                    slot = (s - 1 - j) % h
                    m[rows, slot * h * c + j * c + rows] = -scale / n
                m[rows, h * h * c + rows] = scale
                m[:, -1] = shift
                maps.append(self._array(m))
            self.score_maps.append(maps)
        self.error = np.zeros(c, dtype=self.dtype)

    def reset(self) -> None:
        """Zero the state: the next sample is the first of a new stream."""
        for a in (*self.rings, *self.xh, self.v):
            a.fill(0.0)
            a[-1] = 1.0  # the constant that multiplies the bias rows
        for z in self.z:
            z.fill(0.0)
        self.t = 0

    def buffers(self) -> list[Array]:
        """The state carried between steps (rings, ``[x, h, 1]`` and ``[c | gates]`` per layer, forecasts)."""
        return [*self.rings, *self.xh, *self.z, self.v]

    def step(self, sample: Array | Tensor | Sequence[float]) -> float | None:
        """One raw sample ``(C,)`` → its score; ``None`` for the first sample."""
        if not isinstance(sample, np.ndarray):
            sample = sample.detach().cpu().numpy() if isinstance(sample, Tensor) else np.asarray(sample)
        t, h = self.t, self.horizon
        p = t % self.kernel_size
        x = self.x
        np.multiply(sample, self.scale, out=x)
        np.add(x, self.shift, out=x)
        rings = self.rings
        if rings:
            self.ring_rows[0][p][:] = x
            last = len(rings) - 1
            for n, ring in enumerate(rings):
                dest = self.lstm_inputs[0] if n == last else self.ring_rows[n + 1][p]
                np.dot(ring, self.conv_weights[n][p], out=dest)
                np.maximum(dest, 0.0, out=dest)
        else:
            self.lstm_inputs[0][:] = x
        product, tanh_c, hidden = self.product, self.tanh_c, self.hidden
        h_c, h_2, h_4 = hidden, 2 * hidden, 4 * hidden
        for layer, (xh, z) in enumerate(zip(self.xh, self.z, strict=True)):
            if layer:
                self.lstm_inputs[layer][:] = self.lstm_hidden[layer - 1]
            gates = z[h_c:]
            np.dot(xh, self.lstm_weights[layer], out=gates)
            np.tanh(gates, out=gates)
            np.multiply(gates, self.gate_scale, out=gates)
            np.add(gates, self.gate_shift, out=gates)  # g = tanh, f, i, o = sigmoid
            np.multiply(z[h_2 : h_2 + h_2], z[:h_2], out=product)  # [f * c, i * g]
            c = z[:h_c]
            np.add(product[:h_c], product[h_c:], out=c)
            np.tanh(c, out=tanh_c)
            np.multiply(z[h_4:], tanh_c, out=self.lstm_hidden[layer])
        score = None
        slot = t % h
        if t:  # before this step's forecast overwrites the slot of step t - h
            error = np.dot(self.score_maps[slot][min(t, h) - 1], self.v, out=self.error)
            score = float(np.dot(error, error)) / self.channels
        np.dot(self.head_input, self.head_weight, out=self.forecasts[slot])
        if self.residual:
            view = self.forecast_views[slot]
            np.add(view, x, out=view)
        self.t = t + 1
        return score
