"""Convolutional LSTM (Shi et al. 2015) over sequences of feature maps.

The fully connected products of the LSTM become convolutions, so the state keeps the input's
spatial layout. With ``*`` a convolution and ``∘`` the Hadamard product (paper, eq. 3)::

    i_t = σ(W_xi * X_t + W_hi * H_{t-1} + W_ci ∘ C_{t-1} + b_i)
    f_t = σ(W_xf * X_t + W_hf * H_{t-1} + W_cf ∘ C_{t-1} + b_f)
    C_t = f_t ∘ C_{t-1} + i_t ∘ tanh(W_xc * X_t + W_hc * H_{t-1} + b_c)
    o_t = σ(W_xo * X_t + W_ho * H_{t-1} + W_co ∘ C_t + b_o)
    H_t = o_t ∘ tanh(C_t)

The peephole terms (``W_c· ∘ C``) are optional (``peephole=True``); without them this is the
convolutional form of :class:`cnnlstm.nn.LSTM`, with the same gate order (i, f, g, o) and
parameter names (``weight_ih``, ``weight_hh``), which :meth:`ConvLSTM.from_lstm` relies on.

Two execution paths compute the same function (tested equal):

* ``"fused"`` — one convolution over ``[X_t, H_{t-1}]`` per step with the concatenated kernel;
* ``"split"`` — the input-to-state convolutions for all ``T`` steps in one batched call, then one
  state-to-state convolution per step.

``impl="auto"`` picks the faster one for the device (``benchmarks/convlstm_speed.py`` measures
both against a plain reference). ``channels_last=True`` runs the steps in the channels-last layout
(NHWC), which tensor-core convolutions on GPUs prefer in bf16/fp16. On a GPU the remaining cost
of small maps is kernel launches; ``torch.compile(model, mode="reduce-overhead")`` (``cnnlstm fit
--compile=reduce-overhead``) captures the steps in CUDA graphs and fuses the gate arithmetic.

References:
    Shi, Chen, Wang, Yeung, Wong & Woo, "Convolutional LSTM Network: A Machine Learning Approach
    for Precipitation Nowcasting", NeurIPS 2015.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlstm._validation import (
    check_choice,
    check_dropout,
    check_positive_int,
    per_layer,
    to_tuple,
)
from cnnlstm.nn.lstm import LSTM

__all__ = ["ConvLSTM", "ConvLSTM1d", "ConvLSTMCell", "flatten_state", "unflatten_state"]

State = tuple[Tensor, Tensor]
Impl = Literal["auto", "fused", "split"]
Norm = Literal["layer", "group"] | None

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def flatten_state(state: Sequence[State]) -> tuple[Tensor, ...]:
    """A stack's list of ``(h, c)`` as one flat tuple ``(h_1, c_1, h_2, c_2, ...)``.

    The flat form is what a streaming ``step`` carries and what an exported step graph takes
    as separate inputs; :func:`unflatten_state` is its inverse.

    Example:
        >>> h, c = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
        >>> len(flatten_state([(h, c), (h, c)]))
        4
    """
    return tuple(t for pair in state for t in pair)


def unflatten_state(flat: Sequence[Tensor]) -> list[State]:
    """The flat tuple ``(h_1, c_1, h_2, c_2, ...)`` as a stack's list of ``(h, c)``.

    Example:
        >>> state = unflatten_state(flatten_state([(torch.zeros(1), torch.ones(1))]))
        >>> [(float(h), float(c)) for h, c in state]
        [(0.0, 1.0)]
    """
    if len(flat) % 2:
        raise ValueError(
            f"a flat ConvLSTM state holds (h, c) pairs, an even number of tensors; received {len(flat)}"
        )
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step over ``(B, C, *spatial)`` feature maps; the state keeps the spatial size.

    Args:
        in_channels: channels of ``X_t``.
        hidden_channels: channels of ``H_t`` and ``C_t``.
        kernel_size: odd kernel size (int or one per spatial dim); padding keeps the size ("same").
        spatial_dims: 1 for ``(B, C, L)``, 2 for ``(B, C, H, W)``.
        bias: learn a gate bias ``b`` of shape ``(4 * hidden_channels,)``.
        forget_bias: initial value of the forget-gate bias (1.0 as in Jozefowicz et al. 2015 and
            Keras' ``unit_forget_bias``); the other biases start at 0.
        peephole: add the paper's peephole terms ``W_ci ∘ C_{t-1}``, ``W_cf ∘ C_{t-1}``, ``W_co ∘ C_t``.
        peephole_size: spatial size of the peephole weights. ``None`` (default) learns one weight
            per channel, broadcast over space, so the layer accepts any input size; the paper's
            full per-position weights need the spatial size here, e.g. ``(64, 64)``.
        dilation: dilation of both convolutions (int or one per spatial dim).
        norm: ``None``; ``"layer"`` normalises each gate's pre-activation over its channels and
            positions (GroupNorm with one group per gate); ``"group"`` uses ``norm_groups`` groups
            per gate.
        norm_groups: groups per gate for ``norm="group"``; must divide ``hidden_channels``.

    Example:
        >>> cell = ConvLSTMCell(in_channels=3, hidden_channels=8, kernel_size=3)
        >>> h, c = cell(torch.randn(2, 3, 16, 16))
        >>> h.shape
        torch.Size([2, 8, 16, 16])
    """

    def __init__(
        self,
        *,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | Sequence[int] = 3,
        spatial_dims: int = 2,
        bias: bool = True,
        forget_bias: float = 1.0,
        peephole: bool = False,
        peephole_size: Sequence[int] | None = None,
        dilation: int | Sequence[int] = 1,
        norm: Norm = None,
        norm_groups: int = 4,
    ) -> None:
        super().__init__()
        self.spatial_dims = check_choice("spatial_dims", spatial_dims, (1, 2, 3))
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = check_positive_int("hidden_channels", hidden_channels)
        self.kernel_size = to_tuple("kernel_size", kernel_size, spatial_dims)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(
                f"kernel_size must be odd so that 'same' padding keeps the state's size; "
                f"received kernel_size={kernel_size!r}"
            )
        self.dilation = to_tuple("dilation", dilation, spatial_dims)
        pairs = zip(self.kernel_size, self.dilation, strict=True)
        self.padding = tuple(d * (k - 1) // 2 for k, d in pairs)
        self.bias = bool(bias)
        self.forget_bias = float(forget_bias)
        self.peephole = bool(peephole)
        self.norm_kind = check_choice("norm", norm, (None, "layer", "group"))

        gates = 4 * self.hidden_channels
        self.weight_ih = nn.Parameter(torch.empty(gates, self.in_channels, *self.kernel_size))
        self.weight_hh = nn.Parameter(torch.empty(gates, self.hidden_channels, *self.kernel_size))
        self.bias_ih = nn.Parameter(torch.empty(gates)) if self.bias else None

        if self.peephole:
            self._init_peephole(peephole_size)
        self.norm = self._gate_norm(norm_groups)
        self.reset_parameters()

    def _init_peephole(self, peephole_size: Sequence[int] | None) -> None:
        """The peephole weights: one per channel (broadcast over space) or per position."""
        if peephole_size is None:
            shape: tuple[int, ...] = (self.hidden_channels,) + (1,) * self.spatial_dims
        else:
            shape = (self.hidden_channels, *to_tuple("peephole_size", peephole_size, self.spatial_dims))
        self.peephole_shape = shape
        self.weight_ci = nn.Parameter(torch.zeros(shape))
        self.weight_cf = nn.Parameter(torch.zeros(shape))
        self.weight_co = nn.Parameter(torch.zeros(shape))

    def _gate_norm(self, norm_groups: int) -> nn.GroupNorm | None:
        """GroupNorm over the gates' pre-activations: one group per gate (``"layer"``) or more."""
        if self.norm_kind is None:
            return None
        per_gate = 1 if self.norm_kind == "layer" else check_positive_int("norm_groups", norm_groups)
        if self.hidden_channels % per_gate:
            raise ValueError(
                f"norm_groups must divide hidden_channels={self.hidden_channels}; "
                f"received norm_groups={norm_groups!r}"
            )
        return nn.GroupNorm(4 * per_gate, 4 * self.hidden_channels)

    def reset_parameters(self) -> None:
        # PyTorch's default convolution initialisation (kaiming-uniform, a=sqrt(5)) per weight.
        for w in (self.weight_ih, self.weight_hh):
            nn.init.kaiming_uniform_(w, a=5**0.5)
        if self.bias_ih is not None:
            nn.init.zeros_(self.bias_ih)
            with torch.no_grad():
                self.bias_ih[self.hidden_channels : 2 * self.hidden_channels].fill_(self.forget_bias)
        if self.peephole:
            for w in (self.weight_ci, self.weight_cf, self.weight_co):
                nn.init.zeros_(w)
        if self.norm is not None:
            self.norm.reset_parameters()

    # -- the pieces of one step ------------------------------------------------------------------
    def conv(self, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        return _CONV[self.spatial_dims](x, weight, bias, 1, self.padding, self.dilation)

    def conv_bias(self) -> Tensor | None:
        """The gate bias when it can ride in the convolution (no normalisation), else ``None``."""
        return self.bias_ih if self.norm is None else None

    def fused_weight(self) -> Tensor:
        """The kernel of one convolution over ``[X_t, H_{t-1}]``: ``(4H, C_in + H, *k)``."""
        return torch.cat([self.weight_ih, self.weight_hh], dim=1)

    def input_gates(self, x: Tensor) -> Tensor:
        """Input-to-state part of the gates, plus :meth:`conv_bias`, for many steps at once.

        ``(N, C_in, *S) -> (N, 4H, *S)``.
        """
        return self.conv(x, self.weight_ih, self.conv_bias())

    def recurrent_gates(self, h: Tensor) -> Tensor:
        """State-to-state part of the gates: ``(B, H, *S) -> (B, 4H, *S)``."""
        return self.conv(h, self.weight_hh)

    def update(self, gates: Tensor, c: Tensor) -> State:
        """Finish a step from the summed convolutions ``(B, 4H, *S)`` and ``C_{t-1}``.

        ``gates`` already hold :meth:`conv_bias`; with normalisation the bias is added after it.
        """
        if self.norm is not None:
            gates = self.norm(gates)
            if self.bias_ih is not None:
                gates = gates + self.bias_ih.view(-1, *([1] * self.spatial_dims))
        i_pre, f_pre, g_pre, o_pre = gates.chunk(4, dim=1)
        if self.peephole:
            i_pre = i_pre + self.weight_ci * c
            f_pre = f_pre + self.weight_cf * c
        input_gate = torch.sigmoid(i_pre)
        forget_gate = torch.sigmoid(f_pre)
        candidate = torch.tanh(g_pre)
        c_next = forget_gate * c + input_gate * candidate
        if self.peephole:
            o_pre = o_pre + self.weight_co * c_next
        h_next = torch.sigmoid(o_pre) * torch.tanh(c_next)
        return h_next, c_next

    def init_state(self, x: Tensor) -> State:
        """Zero ``(h, c)`` for an input ``x`` of shape ``(B, C_in, *S)``."""
        zeros = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])
        return zeros, zeros

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """One step: ``x`` ``(B, C_in, *S)``, ``state`` ``(h, c)`` each ``(B, H, *S)``."""
        if x.dim() != self.spatial_dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"ConvLSTMCell expects x of shape (B, {self.in_channels}, *spatial) with "
                f"{self.spatial_dims} spatial dims; received {tuple(x.shape)}"
            )
        h, c = self.init_state(x) if state is None else state
        gates = self.conv(torch.cat([x, h], dim=1), self.fused_weight(), self.conv_bias())
        return self.update(gates, c)

    def extra_repr(self) -> str:
        parts = [
            f"in_channels={self.in_channels}",
            f"hidden_channels={self.hidden_channels}",
            f"kernel_size={self.kernel_size}",
        ]
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={self.dilation}")
        if self.peephole:
            parts.append("peephole=True")
        return ", ".join(parts)


class _ConvLSTMNd(nn.Module):
    """Stacked, optionally bidirectional ConvLSTM over ``(B, T, C, *spatial)``; see :class:`ConvLSTM`."""

    spatial_dims: int = 2

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int | list[int],
        kernel_size: int | Sequence[int] | list[Any] = 3,
        num_layers: int | None = None,
        *,
        bias: bool = True,
        forget_bias: float = 1.0,
        peephole: bool = False,
        peephole_size: Sequence[int] | None = None,
        dilation: int | Sequence[int] | list[Any] = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        norm: Norm = None,
        norm_groups: int = 4,
        return_sequences: bool = True,
        impl: Impl = "auto",
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if num_layers is None:
            lists = [v for v in (hidden_channels, kernel_size, dilation) if isinstance(v, list)]
            num_layers = len(lists[0]) if lists else 1
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = [
            check_positive_int("hidden_channels", h)
            for h in per_layer("hidden_channels", hidden_channels, self.num_layers)
        ]
        kernels = per_layer("kernel_size", kernel_size, self.num_layers)
        dilations = per_layer("dilation", dilation, self.num_layers)
        self.dropout = check_dropout(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        self.return_sequences = bool(return_sequences)
        self.impl: Impl = check_choice("impl", impl, ("auto", "fused", "split"))
        self.channels_last = bool(channels_last)
        if self.channels_last and self.spatial_dims != 2:
            raise ValueError(
                f"channels_last needs 2-D maps; {type(self).__name__} has {self.spatial_dims}-D ones"
            )

        shared = dict(
            spatial_dims=self.spatial_dims,
            bias=bias,
            forget_bias=forget_bias,
            peephole=peephole,
            peephole_size=peephole_size,
            norm=norm,
            norm_groups=norm_groups,
        )
        # cells[layer * D + direction], the order of torch.nn.LSTM's state rows.
        self.cells = nn.ModuleList(self._make_cells(kernels, dilations, shared))

    def _make_cells(
        self, kernels: list[Any], dilations: list[Any], shared: dict[str, Any]
    ) -> list[ConvLSTMCell]:
        """One cell per layer and direction; layer ``k > 0`` reads layer ``k - 1``'s (concatenated) output."""
        cells = []
        for layer in range(self.num_layers):
            below = self.hidden_channels[layer - 1] * self.num_directions if layer else self.in_channels
            for _ in range(self.num_directions):
                cells.append(
                    ConvLSTMCell(
                        in_channels=below,
                        hidden_channels=self.hidden_channels[layer],
                        kernel_size=kernels[layer],
                        dilation=dilations[layer],
                        **shared,
                    )
                )
        return cells

    def cell(self, index: int) -> ConvLSTMCell:
        """The cell of state row ``index`` (``layer * D + direction``)."""
        return cast(ConvLSTMCell, self.cells[index])

    def zero_state(
        self, batch_size: int, spatial_size: Sequence[int], *, device: torch.device | str | None = None
    ) -> list[State]:
        """Zero ``(h, c)`` for every layer and direction, for maps of ``spatial_size`` (e.g. ``(H, W)``).

        Example:
            >>> [tuple(h.shape) for h, _ in ConvLSTM(3, [4, 8]).zero_state(2, (5, 6))]
            [(2, 4, 5, 6), (2, 8, 5, 6)]
        """
        state = []
        for index in range(len(self.cells)):
            zeros = torch.zeros(batch_size, self.cell(index).hidden_channels, *spatial_size, device=device)
            state.append((zeros, torch.zeros_like(zeros)))
        return state

    @property
    def out_channels(self) -> int:
        """Channels of the output: ``D * hidden_channels[-1]``."""
        return self.hidden_channels[-1] * self.num_directions

    def resolved_impl(self, x: Tensor) -> str:
        """The execution path used for ``x``: ``impl`` unless it is ``"auto"``."""
        if self.impl != "auto":
            return self.impl
        # Measured (benchmarks/convlstm_speed.py): on CPU one convolution over [x, h] per step is
        # fastest under oneDNN; on accelerators the batched input convolution wins.
        return "fused" if x.device.type == "cpu" else "split"

    def forward(self, x: Tensor, state: list[State] | None = None) -> tuple[Tensor, list[State]]:
        """Run the stack over ``x`` ``(B, T, C, *S)``.

        Returns ``output`` — ``(B, T, D * H_last, *S)``, or ``(B, D * H_last, *S)`` with
        ``return_sequences=False`` — and the final ``(h, c)`` of every layer and direction, a list
        indexed ``layer * D + direction``, which can be passed back as ``state``.
        """
        expected_dims = self.spatial_dims + 3
        if x.dim() != expected_dims or x.shape[2] != self.in_channels:
            spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[self.spatial_dims]
            raise ValueError(
                f"{type(self).__name__} expects input (B, T, C, {spatial}) with C={self.in_channels}; "
                f"received {tuple(x.shape)}"
            )
        batch, spatial_size = x.shape[0], tuple(x.shape[3:])
        if state is not None:
            self._check_state(state, batch, spatial_size)
        impl = self.resolved_impl(x)
        finals: list[State] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                idx = layer * self.num_directions + direction
                cell = self.cell(idx)
                seq = layer_input if direction == 0 else layer_input.flip(1)
                init = None if state is None else state[idx]
                out, final = _run_cell(cell, seq, init, impl, self.channels_last)
                outputs.append(out if direction == 0 else out.flip(1))
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, p=self.dropout, training=True)
        if self.return_sequences:
            return layer_input, finals
        last = finals[-self.num_directions :]
        return torch.cat([h for h, _ in last], dim=1), finals

    def _check_state(self, state: list[State], batch: int, spatial_size: tuple[int, ...]) -> None:
        n_states = self.num_layers * self.num_directions
        if len(state) != n_states:
            raise ValueError(
                f"state must hold one (h, c) per layer and direction ({n_states}); received {len(state)}"
            )
        for idx, (h, c) in enumerate(state):
            expected = (batch, self.cell(idx).hidden_channels, *spatial_size)
            if tuple(h.shape) != expected or tuple(c.shape) != expected:
                raise ValueError(
                    f"state[{idx}] must be (h, c) of shape {expected}; "
                    f"received {tuple(h.shape)} and {tuple(c.shape)}"
                )

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM | LSTM) -> _ConvLSTMNd:
        """A ConvLSTM with 1×1 kernels computing exactly what ``lstm`` computes at every position.

        ``lstm`` is a :class:`torch.nn.LSTM` or :class:`cnnlstm.nn.LSTM` (no projections). On a
        1×1 grid the output equals the LSTM's; on larger grids the LSTM runs at every position.
        The ConvLSTM is batch first whatever ``lstm.batch_first`` says, and its parameters have
        ``lstm``'s device and dtype.

        Example:
            >>> lstm = torch.nn.LSTM(4, 8, num_layers=2)
            >>> conv = ConvLSTM.from_lstm(lstm)
            >>> out, _ = conv(torch.randn(2, 5, 4, 1, 1))
            >>> out.shape
            torch.Size([2, 5, 8, 1, 1])
        """
        if getattr(lstm, "proj_size", 0):
            raise ValueError(
                f"from_lstm does not support LSTMs with projections; received proj_size={lstm.proj_size}"
            )
        for attr in ("input_size", "hidden_size", "num_layers", "bidirectional", "bias"):
            if not hasattr(lstm, attr):
                raise ValueError(
                    f"from_lstm expects torch.nn.LSTM or cnnlstm.nn.LSTM; received {type(lstm).__name__}"
                )
        conv = cls(
            lstm.input_size,
            lstm.hidden_size,
            kernel_size=1,
            num_layers=lstm.num_layers,
            bias=lstm.bias,
            bidirectional=lstm.bidirectional,
            dropout=float(lstm.dropout),
        )
        # The LSTM's device and dtype before the copy: copying a float64 weight into the default
        # float32 parameters would round it.
        reference = next(lstm.parameters())
        conv.to(device=reference.device, dtype=reference.dtype)
        ones = (1,) * cls.spatial_dims
        suffixes = ("", "_reverse") if lstm.bidirectional else ("",)
        with torch.no_grad():
            for layer in range(lstm.num_layers):
                for direction, suffix in enumerate(suffixes):
                    cell = conv.cell(layer * conv.num_directions + direction)
                    name = f"l{layer}{suffix}"
                    w_ih = getattr(lstm, f"weight_ih_{name}")
                    w_hh = getattr(lstm, f"weight_hh_{name}")
                    cell.weight_ih.copy_(w_ih.reshape(*w_ih.shape, *ones))
                    cell.weight_hh.copy_(w_hh.reshape(*w_hh.shape, *ones))
                    if cell.bias_ih is not None:
                        bias = getattr(lstm, f"bias_ih_{name}") + getattr(lstm, f"bias_hh_{name}")
                        cell.bias_ih.copy_(bias)
        return conv

    def extra_repr(self) -> str:
        parts = [
            f"in_channels={self.in_channels}",
            f"hidden_channels={self.hidden_channels}",
            f"num_layers={self.num_layers}",
        ]
        if self.bidirectional:
            parts.append("bidirectional=True")
        if not self.return_sequences:
            parts.append("return_sequences=False")
        if self.impl != "auto":
            parts.append(f"impl={self.impl!r}")
        if self.channels_last:
            parts.append("channels_last=True")
        return ", ".join(parts)


def _run_cell(
    cell: ConvLSTMCell, x: Tensor, state: State | None, impl: str, channels_last: bool = False
) -> tuple[Tensor, State]:
    """Run one cell over ``x`` ``(B, T, C, *S)``; returns ``(B, T, H, *S)`` and the final state."""
    h, c = cell.init_state(x[:, 0]) if state is None else state
    if channels_last:  # every frame NHWC: the convolutions return NHWC and the gate arithmetic keeps it
        x = x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)  # memory (B, T, H, W, C)
        h = h.contiguous(memory_format=torch.channels_last)
        c = c.contiguous(memory_format=torch.channels_last)
    outputs = []
    # Steps are taken with unbind(1), not x[:, t]: the backward of unbind stacks the step
    # gradients once, where T separate selects would each allocate and fill a full-size zero grad.
    if impl == "split":
        # Input-to-state convolutions of all steps in one call: (B*T, C, *S) -> (B, T, 4H, *S).
        gates_x = cell.input_gates(x.flatten(0, 1)).unflatten(0, (x.shape[0], x.shape[1]))  # bias included
        for gates_x_t in gates_x.unbind(1):
            h, c = cell.update(gates_x_t + cell.recurrent_gates(h), c)
            outputs.append(h)
    else:
        weight, bias = cell.fused_weight(), cell.conv_bias()
        for x_t in x.unbind(1):
            joint = torch.cat([x_t, h], dim=1)  # [X_t, H_{t-1}]: (B, C_in + H, *S)
            h, c = cell.update(cell.conv(joint, weight, bias), c)
            outputs.append(h)
    return torch.stack(outputs, dim=1), (h, c)


_CONVLSTM_DOC = """Stacked ConvLSTM (Shi et al. 2015) over {layout}, batch first, like :class:`torch.nn.LSTM`.

    Args:
        in_channels: channels ``C`` of every input frame.
        hidden_channels: channels of each layer's state; an int, or a list with one per layer.
        kernel_size: odd kernel size; an int or tuple, or a list with one per layer.
        num_layers: number of stacked layers; defaults to the length of the per-layer lists, else 1.
        bias, forget_bias, peephole, peephole_size, norm, norm_groups: see :class:`ConvLSTMCell`.
        dilation: int or tuple, or a list with one per layer.
        bidirectional: also run every layer over the reversed sequence; outputs are concatenated
            along channels (forward first).
        dropout: dropout on the outputs of every layer but the last, in training only.
        return_sequences: ``False`` returns only the final hidden state of the last layer
            (both directions' final states concatenated when bidirectional).
        impl: ``"fused"``, ``"split"`` or ``"auto"`` (the measured-faster path for the device).
        channels_last: run the steps in the channels-last (NHWC) layout; 2-D maps only.

    Call arguments:
        x: {shape}.
        state: optional list of ``(h, c)``, one per layer and direction (index ``layer * D + d``),
            each ``(B, hidden_channels[layer], {spatial})``, e.g. the state returned by an
            earlier call to continue a sequence. Zeros when omitted.

    Returns:
        ``(output, state)``: ``output`` is ``(B, T, D * hidden_channels[-1], {spatial})`` or, with
        ``return_sequences=False``, ``(B, D * hidden_channels[-1], {spatial})``; ``state`` is the
        list of final ``(h, c)`` described above.

    Example:
        >>> layer = {name}(3, [16, 32], kernel_size=[5, 3])
        >>> out, state = layer(torch.randn(2, 10, 3, {example}))
        >>> out.shape, len(state)
        (torch.Size([2, 10, 32, {example}]), 2)
    """


class ConvLSTM(_ConvLSTMNd):
    spatial_dims = 2
    __doc__ = _CONVLSTM_DOC.format(
        layout="frames ``(B, T, C, H, W)``",
        shape="``(B, T, C, H, W)``",
        spatial="H, W",
        name="ConvLSTM",
        example="16, 16",
    )


class ConvLSTM1d(_ConvLSTMNd):
    spatial_dims = 1
    __doc__ = _CONVLSTM_DOC.format(
        layout="1-D signals ``(B, T, C, L)``",
        shape="``(B, T, C, L)``",
        spatial="L",
        name="ConvLSTM1d",
        example="16",
    )
