"""Convolutional GRU (Ballas et al. 2016) over sequences of feature maps.

The GRU's products become convolutions (paper, eq. 4–7; ``*`` a convolution, ``∘`` the
Hadamard product)::

    z_t = σ(W_z * X_t + U_z * H_{t-1} + b_z)            update gate
    r_t = σ(W_r * X_t + U_r * H_{t-1} + b_r)            reset gate
    H̃_t = tanh(W * X_t + U * (r_t ∘ H_{t-1}) + b)      candidate
    H_t = (1 − z_t) ∘ H_{t-1} + z_t ∘ H̃_t

The reset gate multiplies the state before the candidate's convolution, as in the paper (torch's
``nn.GRU`` multiplies after the product instead). Weights are stored in torch's gate order
``(r, z, n)``: ``weight_ih`` ``(3H, C_in, *k)``, ``weight_hh`` ``(3H, H, *k)``, ``bias_ih`` ``(3H,)``.
One state tensor per layer instead of ConvLSTM's two, so it is lighter by a quarter of the
recurrent convolutions.

References:
    Ballas, Yao, Pal & Courville, "Delving Deeper into Convolutional Networks for Learning Video
    Representations", ICLR 2016.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlstm._validation import check_choice, check_dropout, check_positive_int, per_layer, to_tuple
from cnnlstm.nn._conv_geometry import conv_nd
from cnnlstm.nn._recurrence import check_lengths, recurrent_dropout_mask, step_masks, zoneout

__all__ = ["ConvGRU", "ConvGRUCell"]


class ConvGRUCell(nn.Module):
    """One ConvGRU step over ``(B, C, *spatial)`` maps; ``"same"`` padding keeps the size.

    Args:
        in_channels: channels of ``X_t``.
        hidden_channels: channels of ``H_t``.
        kernel_size: kernel size (int or one per spatial dim; even sizes pad as Keras does).
        spatial_dims: 1, 2 or 3.
        dilation: dilation of both convolutions.
        bias: learn the gate biases ``(3 * hidden_channels,)``.
        recurrent_dropout, zoneout: as in :class:`cnnlstm.nn.ConvLSTMCell` (applied by the stack;
            zoneout also by :meth:`forward`).

    Example:
        >>> cell = ConvGRUCell(in_channels=3, hidden_channels=8, kernel_size=3)
        >>> cell(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
    """

    def __init__(
        self,
        *,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | Sequence[int] = 3,
        spatial_dims: int = 2,
        dilation: int | Sequence[int] = 1,
        bias: bool = True,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
    ) -> None:
        super().__init__()
        self.spatial_dims = check_choice("spatial_dims", spatial_dims, (1, 2, 3))
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = check_positive_int("hidden_channels", hidden_channels)
        self.kernel_size = to_tuple("kernel_size", kernel_size, spatial_dims)
        self.dilation = to_tuple("dilation", dilation, spatial_dims)
        self.recurrent_dropout = check_dropout(recurrent_dropout, "recurrent_dropout")
        self.zoneout = check_dropout(zoneout, "zoneout")
        gates = 3 * self.hidden_channels
        self.weight_ih = nn.Parameter(torch.empty(gates, self.in_channels, *self.kernel_size))
        self.weight_hh = nn.Parameter(torch.empty(gates, self.hidden_channels, *self.kernel_size))
        self.bias_ih = nn.Parameter(torch.zeros(gates)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in (self.weight_ih, self.weight_hh):
            nn.init.kaiming_uniform_(w, a=5**0.5)
        if self.bias_ih is not None:
            nn.init.zeros_(self.bias_ih)

    def conv(self, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        ones = (1,) * self.spatial_dims
        return conv_nd(x, weight, bias, stride=ones, dilation=self.dilation, padding="same")

    def input_gates(self, x: Tensor) -> Tensor:
        """``W * X + b`` of the three gates for many steps at once: ``(N, C_in, *S) -> (N, 3H, *S)``."""
        return self.conv(x, self.weight_ih, self.bias_ih)

    def update(self, gates_x: Tensor, h: Tensor, h_in: Tensor | None = None) -> Tensor:
        """The new state from :meth:`input_gates` ``(B, 3H, *S)`` and ``H_{t-1}``.

        ``h_in`` is the state the recurrent convolutions read (``h`` with recurrent dropout).
        """
        h_in = h if h_in is None else h_in
        hidden = self.hidden_channels
        r_x, z_x, n_x = gates_x.split(hidden, dim=1)
        r_h, z_h = self.conv(h_in, self.weight_hh[: 2 * hidden]).split(hidden, dim=1)
        reset = torch.sigmoid(r_x + r_h)
        update = torch.sigmoid(z_x + z_h)
        candidate = torch.tanh(n_x + self.conv(reset * h_in, self.weight_hh[2 * hidden :]))
        return h + update * (candidate - h)  # (1 − z) ∘ H_{t-1} + z ∘ H̃_t

    def fused_step(self, x: Tensor, h: Tensor, h_in: Tensor | None = None) -> Tensor:
        """The same step as :meth:`update` from the input ``X_t`` itself: one convolution over
        ``[X_t, H]`` for both gates and one over ``[X_t, r ∘ H]`` for the candidate."""
        h_in = h if h_in is None else h_in
        hidden = self.hidden_channels
        bias_rz = None if self.bias_ih is None else self.bias_ih[: 2 * hidden]
        bias_n = None if self.bias_ih is None else self.bias_ih[2 * hidden :]
        weight_rz = torch.cat([self.weight_ih[: 2 * hidden], self.weight_hh[: 2 * hidden]], dim=1)
        weight_n = torch.cat([self.weight_ih[2 * hidden :], self.weight_hh[2 * hidden :]], dim=1)
        reset, update = torch.sigmoid(self.conv(torch.cat([x, h_in], dim=1), weight_rz, bias_rz)).chunk(
            2, dim=1
        )
        candidate = torch.tanh(self.conv(torch.cat([x, reset * h_in], dim=1), weight_n, bias_n))
        return h + update * (candidate - h)

    def init_state(self, x: Tensor) -> Tensor:
        """Zero ``H`` for an input ``x`` ``(B, C_in, *S)``."""
        return x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        """One step: ``x`` ``(B, C_in, *S)``, ``h`` ``(B, H, *S)`` (zeros when omitted) → ``H_t``."""
        if x.dim() != self.spatial_dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"ConvGRUCell expects x of shape (B, {self.in_channels}, *spatial) with "
                f"{self.spatial_dims} spatial dims; received {tuple(x.shape)}"
            )
        h = self.init_state(x) if h is None else h
        return zoneout(h, self.update(self.input_gates(x), h), self.zoneout, self.training)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, hidden_channels={self.hidden_channels}, "
            f"kernel_size={self.kernel_size}"
        )


class _ConvGRUNd(nn.Module):
    """Stacked ConvGRU over ``(B, T, C, *spatial)``; see :class:`ConvGRU`."""

    spatial_dims: int = 2

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int | list[int],
        kernel_size: int | Sequence[int] | list[Any] = 3,
        num_layers: int | None = None,
        *,
        dilation: int | Sequence[int] | list[Any] = 1,
        bias: bool = True,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        return_sequences: bool = True,
        return_all_layers: bool = False,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        self.impl = check_choice("impl", impl, ("auto", "fused", "split"))
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
        self.return_sequences = bool(return_sequences)
        self.return_all_layers = bool(return_all_layers)
        self.cells = nn.ModuleList(
            ConvGRUCell(
                in_channels=self.hidden_channels[layer - 1] if layer else self.in_channels,
                hidden_channels=self.hidden_channels[layer],
                kernel_size=kernels[layer],
                dilation=dilations[layer],
                spatial_dims=self.spatial_dims,
                bias=bias,
                recurrent_dropout=recurrent_dropout,
                zoneout=zoneout,
            )
            for layer in range(self.num_layers)
        )

    def cell(self, index: int) -> ConvGRUCell:
        return cast(ConvGRUCell, self.cells[index])

    def resolved_impl(self, x: Tensor) -> str:
        """``impl``, or for ``"auto"`` the path measured faster on ``x``'s device
        (``benchmarks/cell_speed.py``): ``"fused"`` (one convolution over ``[X_t, H]`` per step)
        on CPU, ``"split"`` (the input convolutions of all steps in one call) elsewhere."""
        if self.impl != "auto":
            return str(self.impl)
        return "fused" if x.device.type == "cpu" else "split"

    @property
    def out_channels(self) -> int:
        return self.hidden_channels[-1]

    def zero_state(
        self, batch_size: int, spatial_size: Sequence[int], *, device: torch.device | str | None = None
    ) -> list[Tensor]:
        """Zero ``H`` of every layer, for maps of ``spatial_size``.

        Example:
            >>> [tuple(h.shape) for h in ConvGRU(3, [4, 8]).zero_state(2, (5, 6))]
            [(2, 4, 5, 6), (2, 8, 5, 6)]
        """
        return [torch.zeros(batch_size, h, *spatial_size, device=device) for h in self.hidden_channels]

    @staticmethod
    def flat_state(state: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """The state as one flat tuple of tensors (what a streaming step carries)."""
        return tuple(state)

    @staticmethod
    def unflat_state(flat: Sequence[Tensor]) -> list[Tensor]:
        return list(flat)

    def forward(
        self, x: Tensor, state: list[Tensor] | None = None, *, lengths: Tensor | None = None
    ) -> tuple[Any, list[Tensor]]:
        """Run the stack over ``x`` ``(B, T, C, *S)``.

        Returns ``output`` — ``(B, T, H_last, *S)``, ``(B, H_last, *S)`` with
        ``return_sequences=False``, or a list of every layer's with ``return_all_layers=True`` —
        and the final ``H`` of every layer. ``lengths`` as in :class:`cnnlstm.nn.ConvLSTM`.
        """
        if x.dim() != self.spatial_dims + 3 or x.shape[2] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects input (B, T, C, *spatial) with C={self.in_channels} and "
                f"{self.spatial_dims} spatial dims; received {tuple(x.shape)}"
            )
        batch, steps = x.shape[:2]
        if state is not None:
            expected = [tuple(s.shape) for s in self.zero_state(batch, x.shape[3:])]
            if [tuple(s.shape) for s in state] != expected:
                raise ValueError(
                    f"state must be one H per layer of shapes {expected}; received {[tuple(s.shape) for s in state]}"
                )
        lengths = check_lengths(lengths, batch, steps, x.device)
        masks = step_masks(lengths, steps, self.spatial_dims, x.dtype)
        finals: list[Tensor] = []
        layer_outputs: list[Tensor] = []
        layer_input = x
        for layer in range(self.num_layers):
            cell = self.cell(layer)
            h = cell.init_state(x[:, 0]) if state is None else state[layer]
            drop = recurrent_dropout_mask(h, cell.recurrent_dropout, self.training)
            fused = self.resolved_impl(x) == "fused"
            if fused:
                steps_in = layer_input.unbind(1)
            else:  # input convolutions of all steps at once, time-major: contiguous step slices
                time_major = layer_input.transpose(0, 1).flatten(0, 1)
                steps_in = cell.input_gates(time_major).unflatten(0, (steps, batch)).unbind(0)
            outputs = []
            for x_t, m in zip(steps_in, masks, strict=True):
                h_in = None if drop is None else h * drop
                h_new = cell.fused_step(x_t, h, h_in) if fused else cell.update(x_t, h, h_in)
                h_new = zoneout(h, h_new, cell.zoneout, self.training)
                if m is None:
                    h = h_new
                    outputs.append(h)
                else:  # past a sample's length: state frozen, output zero
                    h = m * h_new + (1 - m) * h
                    outputs.append(h_new * m)
            finals.append(h)
            layer_input = torch.stack(outputs, dim=1)
            layer_outputs.append(layer_input)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, p=self.dropout, training=True)
        if not self.return_sequences:
            layer_outputs = list(finals)
        if self.return_all_layers:
            return layer_outputs, finals
        return layer_outputs[-1], finals


_DOC = """Stacked ConvGRU (Ballas et al. 2016) over {layout}, batch first.

    Args:
        in_channels: channels ``C`` of every input frame.
        hidden_channels: channels of each layer's state; an int, or a list with one per layer.
        kernel_size, dilation: an int or tuple, or a list with one per layer.
        num_layers: stacked layers; defaults to the length of the per-layer lists, else 1.
        bias: learn the gate biases.
        dropout: dropout on the outputs of every layer but the last, in training only.
        recurrent_dropout: one dropout mask per sequence on the state read by the recurrent
            convolutions; zoneout: as in :class:`cnnlstm.nn.ConvLSTM`.
        return_sequences, return_all_layers: as in :class:`cnnlstm.nn.ConvLSTM`.
        impl: ``"fused"``, ``"split"`` or ``"auto"`` (the measured-faster path for the device),
            as in :class:`cnnlstm.nn.ConvLSTM`; both compute the same function.

    Call arguments:
        x: {shape}; state: optional list of ``H`` per layer; lengths: optional ``(B,)``.

    Returns:
        ``(output, state)``: ``output`` ``(B, T, hidden_channels[-1], {spatial})`` and the list of
        final states, one ``(B, hidden_channels[layer], {spatial})`` per layer.

    Example:
        >>> layer = {name}(3, [16, 32], kernel_size=[5, 3])
        >>> out, state = layer(torch.randn(2, 10, 3, {example}))
        >>> out.shape, len(state)
        (torch.Size([2, 10, 32, {example}]), 2)
    """


class ConvGRU(_ConvGRUNd):
    spatial_dims = 2
    __doc__ = _DOC.format(
        layout="frames ``(B, T, C, H, W)``",
        shape="``(B, T, C, H, W)``",
        spatial="H, W",
        name="ConvGRU",
        example="8, 8",
    )


class ConvGRU1d(_ConvGRUNd):
    spatial_dims = 1
    __doc__ = _DOC.format(
        layout="1-D signals ``(B, T, C, L)``",
        shape="``(B, T, C, L)``",
        spatial="L",
        name="ConvGRU1d",
        example="8",
    )
