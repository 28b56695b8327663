"""PredRNN's spatiotemporal LSTM (Wang et al. 2017) with the zig-zag memory flow.

Each cell keeps ConvLSTM's temporal memory ``C`` and adds a spatiotemporal memory ``M`` that
travels up the stack within a step and from the top layer to the bottom one between steps (the
zig-zag). For layer ``l`` at step ``t``, with ``X`` the layer's input (the frame for ``l = 1``,
``H^{l-1}_t`` above it) and ``M = M^{l-1}_t`` (``M^L_{t-1}`` for ``l = 1``), the paper's eq. 3::

    g  = tanh(W_xg * X + W_hg * H^l_{t-1} + b_g)
    i  = σ(W_xi * X + W_hi * H^l_{t-1} + b_i)
    f  = σ(W_xf * X + W_hf * H^l_{t-1} + b_f)
    C^l_t = f ∘ C^l_{t-1} + i ∘ g
    g' = tanh(W'_xg * X + W_mg * M + b'_g)
    i' = σ(W'_xi * X + W_mi * M + b'_i)
    f' = σ(W'_xf * X + W_mf * M + b'_f)
    M^l_t = f' ∘ M + i' ∘ g'
    o  = σ(W_xo * X + W_ho * H^l_{t-1} + W_co * C^l_t + W_mo * M^l_t + b_o)
    H^l_t = o ∘ tanh(W_1×1 * [C^l_t, M^l_t])

Weights, as OpenSTL lays them out: ``weight_x`` ``(7H, C_in, *k)`` for
``(i, f, g, i', f', g', o)``, ``weight_h`` ``(4H, H, *k)`` for ``(i, f, g, o)``, ``weight_m``
``(3H, H, *k)`` for ``(i', f', g')``, ``weight_o`` ``(H, 2H, *k)`` over ``[C, M]`` and
``weight_last`` ``(H, 2H, 1…)``; one bias ``(7H,)`` with the forget biases starting at 1.

PredRNN-V2 (Wang et al. 2022) adds a decoupling loss that keeps the increments of ``C`` and
``M`` (``i ∘ g`` and ``i' ∘ g'``) apart: :meth:`STLSTM.forward` returns it with
``return_decoupling=True`` when the stack has a ``decoupling_adapter``.

References:
    Wang, Long, Wang, Gao & Yu, "PredRNN: Recurrent Neural Networks for Predictive Learning using
    Spatiotemporal LSTMs", NeurIPS 2017.
    Wang, Wu, Zhang, Long, Wang, Yu & Long, "PredRNN: A Recurrent Neural Network for
    Spatiotemporal Predictive Learning", TPAMI 2022 (PredRNN-V2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlstm._validation import check_choice, check_positive_int, per_layer, to_tuple
from cnnlstm.nn._conv_geometry import conv_nd

__all__ = ["STLSTM", "STLSTMCell"]

# (h, c) of every layer, and the spatiotemporal memory M that zig-zags through them
STState = tuple[list[tuple[Tensor, Tensor]], Tensor]


class STLSTMCell(nn.Module):
    """One spatiotemporal LSTM step (see the module docstring) over ``(B, C, *spatial)`` maps.

    Args:
        in_channels: channels of the layer's input ``X``.
        hidden_channels: channels of ``H``, ``C`` and ``M``.
        kernel_size: kernel size (int or one per spatial dim), ``"same"`` padding.
        spatial_dims: 1, 2 or 3.
        forget_bias: initial bias of both forget gates.

    Example:
        >>> cell = STLSTMCell(in_channels=3, hidden_channels=8)
        >>> h, c, m, delta_c, delta_m = cell(torch.randn(2, 3, 8, 8))
        >>> h.shape, m.shape
        (torch.Size([2, 8, 8, 8]), torch.Size([2, 8, 8, 8]))
    """

    def __init__(
        self,
        *,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | Sequence[int] = 3,
        spatial_dims: int = 2,
        forget_bias: float = 1.0,
    ) -> None:
        super().__init__()
        self.spatial_dims = check_choice("spatial_dims", spatial_dims, (1, 2, 3))
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = hid = check_positive_int("hidden_channels", hidden_channels)
        self.kernel_size = k = to_tuple("kernel_size", kernel_size, spatial_dims)
        self.forget_bias = float(forget_bias)
        self.weight_x = nn.Parameter(torch.empty(7 * hid, self.in_channels, *k))
        self.weight_h = nn.Parameter(torch.empty(4 * hid, hid, *k))
        self.weight_m = nn.Parameter(torch.empty(3 * hid, hid, *k))
        self.weight_o = nn.Parameter(torch.empty(hid, 2 * hid, *k))
        self.weight_last = nn.Parameter(torch.empty(hid, 2 * hid, *([1] * spatial_dims)))
        self.bias = nn.Parameter(torch.zeros(7 * hid))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in (self.weight_x, self.weight_h, self.weight_m, self.weight_o, self.weight_last):
            nn.init.kaiming_uniform_(w, a=5**0.5)
        hid = self.hidden_channels
        with torch.no_grad():
            self.bias.zero_()
            self.bias[hid : 2 * hid].fill_(self.forget_bias)  # f
            self.bias[4 * hid : 5 * hid].fill_(self.forget_bias)  # f'

    def conv(self, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        ones = (1,) * self.spatial_dims
        return conv_nd(x, weight, bias, stride=ones, dilation=ones, padding="same")

    def input_gates(self, x: Tensor) -> Tensor:
        """``W_x * X + b`` of the seven gates for many steps at once: ``(N, C_in, *S) -> (N, 7H, *S)``."""
        return self.conv(x, self.weight_x, self.bias)

    def update(
        self, gates_x: Tensor, h: Tensor, c: Tensor, m: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(H, C, M, ΔC, ΔM)`` of the step from :meth:`input_gates` and the previous states."""
        hid = self.hidden_channels
        i_x, f_x, g_x, i_xm, f_xm, g_xm, o_x = gates_x.split(hid, dim=1)
        i_h, f_h, g_h, o_h = self.conv(h, self.weight_h).split(hid, dim=1)
        i_m, f_m, g_m = self.conv(m, self.weight_m).split(hid, dim=1)
        delta_c = torch.sigmoid(i_x + i_h) * torch.tanh(g_x + g_h)
        c_new = torch.sigmoid(f_x + f_h) * c + delta_c
        delta_m = torch.sigmoid(i_xm + i_m) * torch.tanh(g_xm + g_m)
        m_new = torch.sigmoid(f_xm + f_m) * m + delta_m
        memory = torch.cat([c_new, m_new], dim=1)
        o = torch.sigmoid(o_x + o_h + self.conv(memory, self.weight_o))
        h_new = o * torch.tanh(self.conv(memory, self.weight_last))
        return h_new, c_new, m_new, delta_c, delta_m

    def init_state(self, x: Tensor) -> Tensor:
        """A zero map ``(B, H, *S)`` for an input ``x`` ``(B, C_in, *S)``."""
        return x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])

    def forward(
        self, x: Tensor, h: Tensor | None = None, c: Tensor | None = None, m: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """One step; missing states are zeros. Returns ``(H, C, M, ΔC, ΔM)``."""
        if x.dim() != self.spatial_dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"STLSTMCell expects x of shape (B, {self.in_channels}, *spatial) with "
                f"{self.spatial_dims} spatial dims; received {tuple(x.shape)}"
            )
        zeros = self.init_state(x)
        return self.update(
            self.input_gates(x),
            zeros if h is None else h,
            zeros if c is None else c,
            zeros if m is None else m,
        )

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, hidden_channels={self.hidden_channels}, "
            f"kernel_size={self.kernel_size}"
        )


class STLSTM(nn.Module):
    """Stacked spatiotemporal LSTM (PredRNN) over frames ``(B, T, C, H, W)`` with the zig-zag ``M``.

    Args:
        in_channels: channels ``C`` of the input frames.
        hidden_channels: channels of every layer; ``M`` passes between layers, so all are equal
            (an int, or a list of equal ints).
        kernel_size: an int or tuple, or a list with one per layer.
        num_layers: stacked layers; defaults to the length of the per-layer lists, else 1.
        forget_bias: initial bias of the forget gates.
        decoupling_adapter: learn PredRNN-V2's 1×1 adapter for the decoupling loss.
        impl: the bottom layer's input convolutions ``"per_step"`` or ``"batched"`` over all
            steps in one call; ``"auto"``: per step on CPU, batched elsewhere (measured in
            ``benchmarks/cell_speed.py``). Both compute the same function.

    Call arguments:
        x: ``(B, T, C, H, W)``.
        state: optional ``([(h, c) per layer], m)`` from an earlier call; zeros when omitted.
        return_decoupling: also return the mean decoupling loss of PredRNN-V2 (needs the adapter):
            ``|cos(adapter(ΔC), adapter(ΔM))|`` over positions, averaged over channels, layers,
            steps and the batch.

    Returns:
        ``(output, state)`` — output ``(B, T, H, H_map, W_map)`` is the top layer's ``H`` at every
        step — and the loss as a third item with ``return_decoupling=True``.

    Example:
        >>> layer = STLSTM(3, [8, 8])
        >>> out, (pairs, m) = layer(torch.randn(2, 5, 3, 8, 8))
        >>> out.shape, len(pairs), m.shape
        (torch.Size([2, 5, 8, 8, 8]), 2, torch.Size([2, 8, 8, 8]))
    """

    spatial_dims = 2

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int | list[int],
        kernel_size: int | Sequence[int] | list[Any] = 3,
        num_layers: int | None = None,
        *,
        forget_bias: float = 1.0,
        decoupling_adapter: bool = False,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        self.impl = check_choice("impl", impl, ("auto", "per_step", "batched"))
        if num_layers is None:
            lists = [v for v in (hidden_channels, kernel_size) if isinstance(v, list)]
            num_layers = len(lists[0]) if lists else 1
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.in_channels = check_positive_int("in_channels", in_channels)
        hidden = [
            check_positive_int("hidden_channels", h)
            for h in per_layer("hidden_channels", hidden_channels, self.num_layers)
        ]
        if len(set(hidden)) != 1:
            raise ValueError(
                f"the spatiotemporal memory passes between layers, so every layer needs the same "
                f"hidden_channels; received hidden_channels={hidden_channels!r}"
            )
        self.hidden_channels = hidden
        kernels = per_layer("kernel_size", kernel_size, self.num_layers)
        self.cells = nn.ModuleList(
            STLSTMCell(
                in_channels=hidden[0] if layer else self.in_channels,
                hidden_channels=hidden[0],
                kernel_size=kernels[layer],
                spatial_dims=self.spatial_dims,
                forget_bias=forget_bias,
            )
            for layer in range(self.num_layers)
        )
        self.adapter = nn.Conv2d(hidden[0], hidden[0], 1, bias=False) if decoupling_adapter else None

    def cell(self, index: int) -> STLSTMCell:
        return cast(STLSTMCell, self.cells[index])

    @property
    def out_channels(self) -> int:
        return self.hidden_channels[-1]

    def zero_state(
        self, batch_size: int, spatial_size: Sequence[int], *, device: torch.device | str | None = None
    ) -> STState:
        """Zero ``([(h, c) per layer], m)`` for maps of ``spatial_size``."""

        def zeros() -> Tensor:
            return torch.zeros(batch_size, self.hidden_channels[0], *spatial_size, device=device)

        return [(zeros(), zeros()) for _ in range(self.num_layers)], zeros()

    @staticmethod
    def flat_state(state: STState) -> tuple[Tensor, ...]:
        """``(h_1, c_1, ..., h_L, c_L, m)``: the state as one flat tuple of tensors."""
        pairs, m = state
        return (*[t for pair in pairs for t in pair], m)

    @staticmethod
    def unflat_state(flat: Sequence[Tensor]) -> STState:
        """The inverse of :meth:`flat_state`."""
        if len(flat) % 2 != 1:
            raise ValueError(f"a flat STLSTM state is (h, c) pairs and m, an odd count; received {len(flat)}")
        return [(flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2)], flat[-1]

    def forward(self, x: Tensor, state: STState | None = None, *, return_decoupling: bool = False) -> Any:
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ValueError(
                f"STLSTM expects frames (B, T, C, H, W) with C={self.in_channels}; received {tuple(x.shape)}"
            )
        if return_decoupling and self.adapter is None:
            raise ValueError("return_decoupling needs STLSTM(..., decoupling_adapter=True)")
        batch, steps = x.shape[:2]
        pairs, m = self.zero_state(batch, x.shape[3:], device=x.device) if state is None else state
        if len(pairs) != self.num_layers:
            raise ValueError(
                f"state must hold one (h, c) per layer ({self.num_layers}); received {len(pairs)}"
            )
        pairs = [(h.to(x.dtype), c.to(x.dtype)) for h, c in pairs]
        m = m.to(x.dtype)
        impl = self.impl if self.impl != "auto" else ("per_step" if x.device.type == "cpu" else "batched")
        if impl == "per_step":
            bottom: list[Tensor | None] = [None] * steps
        else:  # the bottom layer's input convolutions for all steps at once, time-major: (T, B, 7H, H, W)
            time_major = x.transpose(0, 1).flatten(0, 1)
            bottom = list(self.cell(0).input_gates(time_major).unflatten(0, (steps, batch)).unbind(0))
        outputs, decouple = [], []
        for x_t, gates_t in zip(x.unbind(1), bottom, strict=True):
            new_pairs = []
            below = x_t
            for layer in range(self.num_layers):
                cell = self.cell(layer)
                h, c = pairs[layer]
                gates = gates_t if layer == 0 and gates_t is not None else cell.input_gates(below)
                h, c, m, delta_c, delta_m = cell.update(gates, h, c, m)  # m zig-zags upwards
                new_pairs.append((h, c))
                below = h
                if return_decoupling:
                    decouple.append(self._decoupling(delta_c, delta_m))
            pairs = new_pairs
            outputs.append(below)
        out = torch.stack(outputs, dim=1)
        if return_decoupling:
            return out, (pairs, m), torch.stack(decouple).mean()
        return out, (pairs, m)

    def _decoupling(self, delta_c: Tensor, delta_m: Tensor) -> Tensor:
        """Mean ``|cos|`` between the adapted increments over positions (PredRNN-V2, eq. 6)."""
        adapter = cast(nn.Conv2d, self.adapter)
        a = F.normalize(adapter(delta_c).flatten(2), dim=2)
        b = F.normalize(adapter(delta_m).flatten(2), dim=2)
        return torch.cosine_similarity(a, b, dim=2).abs().mean()
