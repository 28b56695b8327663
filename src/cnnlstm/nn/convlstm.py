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
from cnnlstm.nn._conv_geometry import Padding, check_padding, conv_nd, output_size
from cnnlstm.nn._recurrence import (
    check_lengths,
    recurrent_dropout_mask,
    reverse_padded,
    step_masks,
    zoneout,
)
from cnnlstm.nn.lstm import LSTM

__all__ = ["ConvLSTM", "ConvLSTM1d", "ConvLSTM3d", "ConvLSTMCell", "flatten_state", "unflatten_state"]

State = tuple[Tensor, Tensor]
Impl = Literal["auto", "fused", "split"]
Norm = Literal["layer", "group", "layer_split"] | None


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
    """One ConvLSTM step over ``(B, C, *spatial)`` feature maps.

    The input convolution takes ``stride``, ``padding`` and ``dilation``; the recurrent one is
    always stride 1 with ``"same"`` padding (as in Keras), so the state keeps the size of the
    input convolution's output (the input's size with the defaults).

    Args:
        in_channels: channels of ``X_t``.
        hidden_channels: channels of ``H_t`` and ``C_t``.
        kernel_size: kernel size (int or one per spatial dim); even sizes pad as Keras does.
        spatial_dims: 1 for ``(B, C, L)``, 2 for ``(B, C, H, W)``, 3 for ``(B, C, D, H, W)``.
        stride: stride of the input convolution (int or one per spatial dim).
        padding: padding of the input convolution: ``"same"`` (Keras' rule: ``ceil(size /
            stride)`` outputs, the odd position padded after), ``"valid"``, or an int per side.
        dilation: dilation (int or one per spatial dim).
        dilation_rule: ``"both"`` dilates the input and the recurrent convolution; ``"keras"``
            only the input one, as Keras' ``ConvLSTM*D(dilation_rate=...)`` does.
        bias: learn a gate bias ``b`` of shape ``(4 * hidden_channels,)``.
        forget_bias: initial value of the forget-gate bias (1.0 as in Jozefowicz et al. 2015 and
            Keras' ``unit_forget_bias``); the other biases start at 0.
        peephole: add the paper's peephole terms ``W_ci ∘ C_{t-1}``, ``W_cf ∘ C_{t-1}``, ``W_co ∘ C_t``.
        peephole_size: spatial size of the peephole weights. ``None`` (default) learns one weight
            per channel, broadcast over space, so the layer accepts any input size; the paper's
            full per-position weights need the spatial size here, e.g. ``(64, 64)``.
        norm: ``None``; ``"layer"`` normalises each gate's pre-activation over its channels and
            positions (GroupNorm with one group per gate); ``"group"`` uses ``norm_groups`` groups
            per gate; ``"layer_split"`` is OpenSTL's: one LayerNorm over the input convolution's
            ``4H`` channels and positions and another over the recurrent one's, before their sum.
        norm_groups: groups per gate for ``norm="group"``; must divide ``hidden_channels``.
        norm_size: with ``norm="layer_split"``, the state's spatial size to learn OpenSTL's
            per-position LayerNorm affine (``nn.LayerNorm([4H, *norm_size])``); ``None`` learns one
            scale and shift per channel and accepts any size.
        recurrent_dropout: variational dropout of the hidden state fed to the recurrent
            convolution, one mask per sequence (applied by the stacks, in training only).
        zoneout: zoneout probability of ``H`` and ``C`` (applied by the stacks and :meth:`forward`).

    Example:
        >>> cell = ConvLSTMCell(in_channels=3, hidden_channels=8, kernel_size=3)
        >>> h, c = cell(torch.randn(2, 3, 16, 16))
        >>> h.shape
        torch.Size([2, 8, 16, 16])
        >>> ConvLSTMCell(in_channels=3, hidden_channels=8, kernel_size=4, stride=2)(torch.randn(2, 3, 15, 16))[0].shape
        torch.Size([2, 8, 8, 8])
    """

    def __init__(
        self,
        *,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | Sequence[int] = 3,
        spatial_dims: int = 2,
        stride: int | Sequence[int] = 1,
        padding: Padding = "same",
        dilation: int | Sequence[int] = 1,
        dilation_rule: str = "both",
        bias: bool = True,
        forget_bias: float = 1.0,
        peephole: bool = False,
        peephole_size: Sequence[int] | None = None,
        norm: Norm = None,
        norm_groups: int = 4,
        norm_size: Sequence[int] | None = None,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
    ) -> None:
        super().__init__()
        self.spatial_dims = check_choice("spatial_dims", spatial_dims, (1, 2, 3))
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = check_positive_int("hidden_channels", hidden_channels)
        self.kernel_size = to_tuple("kernel_size", kernel_size, spatial_dims)
        self.stride = to_tuple("stride", stride, spatial_dims)
        self.padding = check_padding(padding, spatial_dims)
        self.dilation = to_tuple("dilation", dilation, spatial_dims)
        self.dilation_rule = check_choice("dilation_rule", dilation_rule, ("both", "keras"))
        self.recurrent_dilation = self.dilation if self.dilation_rule == "both" else (1,) * spatial_dims
        if any(s > 1 for s in self.stride) and any(d > 1 for d in self.dilation):
            raise ValueError(
                f"stride > 1 and dilation > 1 cannot be combined (as in Keras); received "
                f"stride={stride!r}, dilation={dilation!r}"
            )
        self.bias = bool(bias)
        self.forget_bias = float(forget_bias)
        self.peephole = bool(peephole)
        self.norm_kind = check_choice("norm", norm, (None, "layer", "group", "layer_split"))
        self.recurrent_dropout = check_dropout(recurrent_dropout, "recurrent_dropout")
        self.zoneout = check_dropout(zoneout, "zoneout")

        gates = 4 * self.hidden_channels
        self.weight_ih = nn.Parameter(torch.empty(gates, self.in_channels, *self.kernel_size))
        self.weight_hh = nn.Parameter(torch.empty(gates, self.hidden_channels, *self.kernel_size))
        self.bias_ih = nn.Parameter(torch.empty(gates)) if self.bias else None

        if self.peephole:
            self._init_peephole(peephole_size)
        self.norm: nn.Module | None = None
        self.norm_h: nn.Module | None = None
        if self.norm_kind == "layer_split":
            self.norm, self.norm_h = (
                _split_norm(gates, norm_size, spatial_dims),
                _split_norm(gates, norm_size, spatial_dims),
            )
        else:
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
        for norm in (self.norm, self.norm_h):
            if norm is not None:
                cast(Any, norm).reset_parameters()

    # -- geometry ----------------------------------------------------------------------------------
    @property
    def fusable(self) -> bool:
        """Whether one convolution over ``[X_t, H_{t-1}]`` computes both parts of the gates: the
        input convolution has the recurrent one's geometry and no separate normalisation."""
        same = self.padding == "same" or self.padding == tuple(
            d * (k - 1) // 2 for k, d in zip(self.kernel_size, self.dilation, strict=True)
        )
        return (
            all(s == 1 for s in self.stride)
            and same
            and all(k % 2 for k in self.kernel_size)
            and self.dilation == self.recurrent_dilation
            and self.norm_kind != "layer_split"
        )

    def state_size(self, input_size: Sequence[int]) -> tuple[int, ...]:
        """Spatial size of the state for inputs of spatial size ``input_size``.

        Example:
            >>> ConvLSTMCell(in_channels=1, hidden_channels=2, kernel_size=3, padding="valid").state_size((8, 9))
            (6, 7)
        """
        return output_size(input_size, self.kernel_size, self.stride, self.dilation, self.padding)

    # -- the pieces of one step ------------------------------------------------------------------
    def conv(self, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        """The recurrent convolution's geometry (stride 1, ``"same"``); also the fused one."""
        ones = (1,) * self.spatial_dims
        return conv_nd(x, weight, bias, stride=ones, dilation=self.recurrent_dilation, padding="same")

    def conv_bias(self) -> Tensor | None:
        """The gate bias when it can ride in the convolution (no normalisation), else ``None``."""
        return self.bias_ih if self.norm is None else None

    def fused_weight(self) -> Tensor:
        """The kernel of one convolution over ``[X_t, H_{t-1}]``: ``(4H, C_in + H, *k)``."""
        return torch.cat([self.weight_ih, self.weight_hh], dim=1)

    def input_gates(self, x: Tensor) -> Tensor:
        """Input-to-state part of the gates, plus :meth:`conv_bias`, for many steps at once.

        ``(N, C_in, *S) -> (N, 4H, *S')`` with ``S' = state_size(S)``.
        """
        return conv_nd(
            x,
            self.weight_ih,
            self.conv_bias(),
            stride=self.stride,
            dilation=self.dilation,
            padding=self.padding,
        )

    def recurrent_gates(self, h: Tensor) -> Tensor:
        """State-to-state part of the gates: ``(B, H, *S) -> (B, 4H, *S)``."""
        return self.conv(h, self.weight_hh)

    def _bias_view(self) -> Tensor:
        return cast(Tensor, self.bias_ih).view(-1, *([1] * self.spatial_dims))

    def gates_from_sum(self, summed: Tensor) -> Tensor:
        """Pre-activations from ``W_x * X + W_h * H`` (+ :meth:`conv_bias`): normalised, biased."""
        if self.norm is not None:
            summed = self.norm(summed)
            if self.bias_ih is not None:
                summed = summed + self._bias_view()
        return summed

    def gates_from_parts(self, gates_x: Tensor, gates_h: Tensor) -> Tensor:
        """Pre-activations from :meth:`input_gates` and :meth:`recurrent_gates`."""
        if self.norm_h is None:
            return self.gates_from_sum(gates_x + gates_h)
        gates = cast(nn.Module, self.norm)(gates_x) + self.norm_h(gates_h)
        return gates + self._bias_view() if self.bias_ih is not None else gates

    def update(self, gates: Tensor, c: Tensor) -> State:
        """Finish a step from the pre-activations ``(B, 4H, *S)`` (gate order i, f, g, o) and ``C_{t-1}``."""
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

    def zone(self, previous: State, new: State) -> State:
        """Zoneout of ``(h, c)`` (identity when ``zoneout == 0``)."""
        return (
            zoneout(previous[0], new[0], self.zoneout, self.training),
            zoneout(previous[1], new[1], self.zoneout, self.training),
        )

    def init_state(self, x: Tensor) -> State:
        """Zero ``(h, c)`` for an input ``x`` of shape ``(B, C_in, *S)``."""
        zeros = x.new_zeros(x.shape[0], self.hidden_channels, *self.state_size(x.shape[2:]))
        return zeros, zeros

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """One step: ``x`` ``(B, C_in, *S)``, ``state`` ``(h, c)`` each ``(B, H, *S')``.

        Recurrent dropout needs a mask per sequence, so only the stacks apply it.
        """
        if x.dim() != self.spatial_dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"ConvLSTMCell expects x of shape (B, {self.in_channels}, *spatial) with "
                f"{self.spatial_dims} spatial dims; received {tuple(x.shape)}"
            )
        h, c = self.init_state(x) if state is None else state
        if self.fusable:
            gates = self.gates_from_sum(
                self.conv(torch.cat([x, h], dim=1), self.fused_weight(), self.conv_bias())
            )
        else:
            gates = self.gates_from_parts(self.input_gates(x), self.recurrent_gates(h))
        return self.zone((h, c), self.update(gates, c))

    def extra_repr(self) -> str:
        parts = [
            f"in_channels={self.in_channels}",
            f"hidden_channels={self.hidden_channels}",
            f"kernel_size={self.kernel_size}",
        ]
        if any(s != 1 for s in self.stride):
            parts.append(f"stride={self.stride}")
        if self.padding != "same":
            parts.append(f"padding={self.padding!r}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={self.dilation}, dilation_rule={self.dilation_rule!r}")
        if self.peephole:
            parts.append("peephole=True")
        if self.norm_kind is not None:
            parts.append(f"norm={self.norm_kind!r}")
        if self.recurrent_dropout:
            parts.append(f"recurrent_dropout={self.recurrent_dropout}")
        if self.zoneout:
            parts.append(f"zoneout={self.zoneout}")
        return ", ".join(parts)


def _split_norm(channels: int, norm_size: Sequence[int] | None, spatial_dims: int) -> nn.Module:
    """OpenSTL's LayerNorm over ``(4H, *S)``: per-position affine with ``norm_size``, else per channel."""
    if norm_size is None:
        return nn.GroupNorm(1, channels)
    return nn.LayerNorm([channels, *to_tuple("norm_size", norm_size, spatial_dims)])


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
        stride: int | Sequence[int] | list[Any] = 1,
        padding: Padding | list[Any] = "same",
        dilation: int | Sequence[int] | list[Any] = 1,
        dilation_rule: str = "both",
        bias: bool = True,
        forget_bias: float = 1.0,
        peephole: bool = False,
        peephole_size: Sequence[int] | None = None,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        norm: Norm = None,
        norm_groups: int = 4,
        norm_size: Sequence[int] | None = None,
        return_sequences: bool = True,
        return_all_layers: bool = False,
        impl: Impl = "auto",
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if num_layers is None:
            lists = [
                v for v in (hidden_channels, kernel_size, dilation, stride, padding) if isinstance(v, list)
            ]
            num_layers = len(lists[0]) if lists else 1
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = [
            check_positive_int("hidden_channels", h)
            for h in per_layer("hidden_channels", hidden_channels, self.num_layers)
        ]
        geometry = {
            "kernel_size": per_layer("kernel_size", kernel_size, self.num_layers),
            "stride": per_layer("stride", stride, self.num_layers),
            "padding": per_layer("padding", padding, self.num_layers),
            "dilation": per_layer("dilation", dilation, self.num_layers),
        }
        self.dropout = check_dropout(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        self.return_sequences = bool(return_sequences)
        self.return_all_layers = bool(return_all_layers)
        self.impl: Impl = check_choice("impl", impl, ("auto", "fused", "split"))
        self.channels_last = bool(channels_last)
        if self.channels_last and self.spatial_dims != 2:
            raise ValueError(
                f"channels_last needs 2-D maps; {type(self).__name__} has {self.spatial_dims}-D ones"
            )

        shared = dict(
            spatial_dims=self.spatial_dims,
            dilation_rule=dilation_rule,
            bias=bias,
            forget_bias=forget_bias,
            peephole=peephole,
            peephole_size=peephole_size,
            norm=norm,
            norm_groups=norm_groups,
            norm_size=norm_size,
            recurrent_dropout=recurrent_dropout,
            zoneout=zoneout,
        )
        # cells[layer * D + direction], the order of torch.nn.LSTM's state rows.
        self.cells = nn.ModuleList(self._make_cells(geometry, shared))

    def _make_cells(self, geometry: dict[str, list[Any]], shared: dict[str, Any]) -> list[ConvLSTMCell]:
        """One cell per layer and direction; layer ``k > 0`` reads layer ``k - 1``'s (concatenated) output."""
        cells = []
        for layer in range(self.num_layers):
            below = self.hidden_channels[layer - 1] * self.num_directions if layer else self.in_channels
            for _ in range(self.num_directions):
                cells.append(
                    ConvLSTMCell(
                        in_channels=below,
                        hidden_channels=self.hidden_channels[layer],
                        **{name: values[layer] for name, values in geometry.items()},
                        **shared,
                    )
                )
        return cells

    def cell(self, index: int) -> ConvLSTMCell:
        """The cell of state row ``index`` (``layer * D + direction``)."""
        return cast(ConvLSTMCell, self.cells[index])

    def state_sizes(self, spatial_size: Sequence[int]) -> list[tuple[int, ...]]:
        """Spatial size of each layer's state for inputs of ``spatial_size`` (strides and
        ``"valid"`` padding shrink them layer by layer)."""
        sizes, size = [], tuple(spatial_size)
        for layer in range(self.num_layers):
            size = self.cell(layer * self.num_directions).state_size(size)
            sizes.append(size)
        return sizes

    def zero_state(
        self, batch_size: int, spatial_size: Sequence[int], *, device: torch.device | str | None = None
    ) -> list[State]:
        """Zero ``(h, c)`` for every layer and direction, for inputs of ``spatial_size`` (e.g. ``(H, W)``).

        Example:
            >>> [tuple(h.shape) for h, _ in ConvLSTM(3, [4, 8]).zero_state(2, (5, 6))]
            [(2, 4, 5, 6), (2, 8, 5, 6)]
        """
        state = []
        sizes = self.state_sizes(spatial_size)
        for index in range(len(self.cells)):
            size = sizes[index // self.num_directions]
            zeros = torch.zeros(batch_size, self.cell(index).hidden_channels, *size, device=device)
            state.append((zeros, torch.zeros_like(zeros)))
        return state

    @staticmethod
    def flat_state(state: Sequence[State]) -> tuple[Tensor, ...]:
        """The state as one flat tuple of tensors (what a streaming step carries)."""
        return flatten_state(state)

    @staticmethod
    def unflat_state(flat: Sequence[Tensor]) -> list[State]:
        """The inverse of :meth:`flat_state`."""
        return unflatten_state(flat)

    @property
    def out_channels(self) -> int:
        """Channels of the output: ``D * hidden_channels[-1]``."""
        return self.hidden_channels[-1] * self.num_directions

    def resolved_impl(self, x: Tensor) -> str:
        """The execution path used for ``x``: ``impl`` unless it is ``"auto"``.

        Cells whose input convolution differs from the recurrent one (stride, padding, Keras'
        dilation rule, even kernels, ``norm="layer_split"``) always take the split path.
        """
        if self.impl != "auto":
            return self.impl
        # Measured (benchmarks/convlstm_speed.py): on CPU one convolution over [x, h] per step is
        # fastest under oneDNN; on accelerators the batched input convolution wins.
        return "fused" if x.device.type == "cpu" else "split"

    def forward(
        self, x: Tensor, state: list[State] | None = None, *, lengths: Tensor | None = None
    ) -> tuple[Any, list[State]]:
        """Run the stack over ``x`` ``(B, T, C, *S)``.

        Returns ``output`` — ``(B, T, D * H_last, *S')``, or ``(B, D * H_last, *S')`` with
        ``return_sequences=False``; a list with one such tensor per layer with
        ``return_all_layers=True`` — and the final ``(h, c)`` of every layer and direction, a list
        indexed ``layer * D + direction``, which can be passed back as ``state``. ``lengths``
        ``(B,)``: steps past a sample's length freeze its state and output zeros (as
        :class:`cnnlstm.nn.LSTM`); the final state is the one after its last valid step.
        """
        expected_dims = self.spatial_dims + 3
        if x.dim() != expected_dims or x.shape[2] != self.in_channels:
            spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[self.spatial_dims]
            raise ValueError(
                f"{type(self).__name__} expects input (B, T, C, {spatial}) with C={self.in_channels}; "
                f"received {tuple(x.shape)}"
            )
        batch, steps, spatial_size = x.shape[0], x.shape[1], tuple(x.shape[3:])
        if state is not None:
            self._check_state(state, batch, spatial_size)
        lengths = check_lengths(lengths, batch, steps, x.device)
        impl = self.resolved_impl(x)
        finals: list[State] = []
        layer_outputs: list[Tensor] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                idx = layer * self.num_directions + direction
                cell = self.cell(idx)
                seq = layer_input if direction == 0 else reverse_padded(layer_input, lengths)
                init = None if state is None else state[idx]
                cell_impl = impl if cell.fusable else "split"
                out, final = _run_cell(cell, seq, init, cell_impl, self.channels_last, lengths)
                outputs.append(out if direction == 0 else reverse_padded(out, lengths))
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
            layer_outputs.append(layer_input)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, p=self.dropout, training=True)
        if not self.return_sequences:
            d = self.num_directions
            layer_outputs = [
                torch.cat([h for h, _ in finals[layer * d : (layer + 1) * d]], dim=1)
                for layer in range(self.num_layers)
            ]
        if self.return_all_layers:
            return layer_outputs, finals
        return layer_outputs[-1], finals

    def _check_state(self, state: list[State], batch: int, spatial_size: tuple[int, ...]) -> None:
        n_states = self.num_layers * self.num_directions
        if len(state) != n_states:
            raise ValueError(
                f"state must hold one (h, c) per layer and direction ({n_states}); received {len(state)}"
            )
        sizes = self.state_sizes(spatial_size)
        for idx, (h, c) in enumerate(state):
            expected = (batch, self.cell(idx).hidden_channels, *sizes[idx // self.num_directions])
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
    cell: ConvLSTMCell,
    x: Tensor,
    state: State | None,
    impl: str,
    channels_last: bool = False,
    lengths: Tensor | None = None,
) -> tuple[Tensor, State]:
    """Run one cell over ``x`` ``(B, T, C, *S)``; returns ``(B, T, H, *S')`` and the final state."""
    h, c = cell.init_state(x[:, 0]) if state is None else state
    if channels_last:  # every frame NHWC: the convolutions return NHWC and the gate arithmetic keeps it
        x = x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)  # memory (B, T, H, W, C)
        h = h.contiguous(memory_format=torch.channels_last)
        c = c.contiguous(memory_format=torch.channels_last)
    drop = recurrent_dropout_mask(h, cell.recurrent_dropout, cell.training)  # one mask per sequence
    masks = step_masks(lengths, x.shape[1], cell.spatial_dims, x.dtype)
    outputs = []
    # Steps are taken with unbind(1), not x[:, t]: the backward of unbind stacks the step
    # gradients once, where T separate selects would each allocate and fill a full-size zero grad.
    if impl == "split":
        # Input-to-state convolutions of all steps in one call: (B*T, C, *S) -> (B, T, 4H, *S').
        steps_in = cell.input_gates(x.flatten(0, 1)).unflatten(0, (x.shape[0], x.shape[1])).unbind(1)
    else:
        weight, bias = cell.fused_weight(), cell.conv_bias()
        steps_in = x.unbind(1)
    for x_t, m in zip(steps_in, masks, strict=True):
        h_in = h if drop is None else h * drop
        if impl == "split":
            gates = cell.gates_from_parts(x_t, cell.recurrent_gates(h_in))  # x_t: input gates, bias included
        else:
            joint = torch.cat([x_t, h_in], dim=1)  # [X_t, H_{t-1}]: (B, C_in + H, *S)
            gates = cell.gates_from_sum(cell.conv(joint, weight, bias))
        h_new, c_new = cell.zone((h, c), cell.update(gates, c))
        if m is None:
            h, c = h_new, c_new
            outputs.append(h)
        else:  # m (B, 1, *1): 1 keeps the update, 0 freezes the state past the sample's length
            h = m * h_new + (1 - m) * h
            c = m * c_new + (1 - m) * c
            outputs.append(h_new * m)
    return torch.stack(outputs, dim=1), (h, c)


_CONVLSTM_DOC = """Stacked ConvLSTM (Shi et al. 2015) over {layout}, batch first, like :class:`torch.nn.LSTM`.

    Args:
        in_channels: channels ``C`` of every input frame.
        hidden_channels: channels of each layer's state; an int, or a list with one per layer.
        kernel_size: kernel size; an int or tuple, or a list with one per layer.
        num_layers: number of stacked layers; defaults to the length of the per-layer lists, else 1.
        stride, padding, dilation: of each layer's input convolution (``padding``: ``"same"``
            with Keras' rule, ``"valid"`` or an int); a value, or a list with one per layer.
        dilation_rule: ``"both"`` (default) or ``"keras"`` (dilate only the input convolution).
        bias, forget_bias, peephole, peephole_size, norm, norm_groups, norm_size: see
            :class:`ConvLSTMCell` (``norm="layer_split"`` is OpenSTL's layer norm).
        bidirectional: also run every layer over the reversed sequence; outputs are concatenated
            along channels (forward first).
        dropout: dropout on the outputs of every layer but the last, in training only.
        recurrent_dropout: variational dropout on the hidden state entering the recurrent
            convolution, one mask per sequence and direction reused at every step (Keras' option).
        zoneout: zoneout probability of every layer's ``h`` and ``c`` (Krueger et al. 2017).
        return_sequences: ``False`` returns only the final hidden state of the last layer
            (both directions' final states concatenated when bidirectional).
        return_all_layers: return a list with every layer's output, not only the last
            (ndrplz/ConvLSTM_pytorch's option).
        impl: ``"fused"``, ``"split"`` or ``"auto"`` (the measured-faster path for the device).
        channels_last: run the steps in the channels-last (NHWC) layout; 2-D maps only.

    Call arguments:
        x: {shape}.
        lengths: keyword only, optional ``(B,)`` valid lengths of a padded batch: steps past a
            sample's length leave its state unchanged and output zeros, and the backward
            direction starts at its last valid step, as in :class:`cnnlstm.nn.LSTM`.
        state: optional list of ``(h, c)``, one per layer and direction (index ``layer * D + d``),
            each ``(B, hidden_channels[layer], {spatial})``, e.g. the state returned by an
            earlier call to continue a sequence. Zeros when omitted.

    Returns:
        ``(output, state)``: ``output`` is ``(B, T, D * hidden_channels[-1], {spatial})`` or, with
        ``return_sequences=False``, ``(B, D * hidden_channels[-1], {spatial})`` (maps shrink with
        strides or ``"valid"`` padding), or a list of every layer's output with
        ``return_all_layers=True``; ``state`` is the list of final ``(h, c)`` described above.

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


class ConvLSTM3d(_ConvLSTMNd):
    spatial_dims = 3
    __doc__ = _CONVLSTM_DOC.format(
        layout="volumes ``(B, T, C, D, H, W)``",
        shape="``(B, T, C, D, H, W)``",
        spatial="D, H, W",
        name="ConvLSTM3d",
        example="4, 6, 6",
    )
