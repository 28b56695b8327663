"""LSTM written from the textbook equations, interchangeable with :class:`torch.nn.LSTM`.

For each time step, with ``[h_{t-1}, x_t]`` the concatenation of the previous hidden state and
the input::

    i_t  = σ(W_i · [h_{t-1}, x_t] + b_i)        input gate
    f_t  = σ(W_f · [h_{t-1}, x_t] + b_f)        forget gate
    c̃_t  = tanh(W_c · [h_{t-1}, x_t] + b_c)     candidate cell state
    o_t  = σ(W_o · [h_{t-1}, x_t] + b_o)        output gate
    c_t  = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
    h_t  = o_t ⊙ tanh(c_t)
    h_t  = W_hr · (o_t ⊙ tanh(c_t))              with a projection (proj_size > 0)

``W_g · [h, x]`` is stored split as ``W_hh[g] · h + W_ih[g] · x`` and ``b_g`` as
``b_ih[g] + b_hh[g]``, exactly the parameters of :class:`torch.nn.LSTM` (gate order
i, f, g = c̃, o; ``W_hr`` is ``weight_hr_l{k}``), so state dicts load both ways. The input part of every gate is computed for all
time steps in one matrix product; the recurrence is the loop over time above.

References:
    Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 1997.
    Gers, Schmidhuber & Cummins, "Learning to Forget", 2000 (the forget gate).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from cnnlstm._validation import check_dropout, check_non_negative_int, check_positive_int

__all__ = ["LSTM", "LSTMCell", "lstm_step"]

State = tuple[Tensor, Tensor]
# weight_ih, weight_hh, bias_ih, bias_hh, weight_hr of one layer and direction
_LayerWeights = tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]


def lstm_step(
    gates_x: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    weight_hr: Tensor | None = None,
) -> State:
    """One LSTM time step from the equations.

    Args:
        gates_x: the input part of the four gates, ``W_ih · x_t + b_ih``, shape ``(B, 4H)``.
        h: previous hidden state ``(B, P)``, with ``P = H`` or the projection size.
        c: previous cell state ``(B, H)``.
        weight_hh: recurrent weights ``(4H, P)``, gate order i, f, g, o.
        bias_hh: recurrent bias ``(4H,)`` or ``None``.
        weight_hr: projection ``(P, H)`` applied to the new hidden state, or ``None``.

    Returns:
        ``(h_t, c_t)``: ``(B, P)`` and ``(B, H)``.

    Example:
        >>> h, c = lstm_step(torch.zeros(2, 12), torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(12, 3), None)
        >>> h.shape, c.shape
        (torch.Size([2, 3]), torch.Size([2, 3]))
    """
    # The gates and states in the weights' dtype: under autocast the products come back in bf16
    # (or fp16), and without biases to promote them the cell state would then be accumulated
    # step after step in bf16. In the weights' own dtype the conversions do nothing.
    gates = gates_x.to(weight_hh.dtype) + h @ weight_hh.t()
    if bias_hh is not None:
        gates = gates + bias_hh
    i_pre, f_pre, g_pre, o_pre = gates.chunk(4, dim=-1)
    input_gate = torch.sigmoid(i_pre)
    forget_gate = torch.sigmoid(f_pre)
    candidate = torch.tanh(g_pre)
    output_gate = torch.sigmoid(o_pre)
    c_next = forget_gate * c + input_gate * candidate
    h_next = output_gate * torch.tanh(c_next)
    if weight_hr is not None:
        h_next = (h_next @ weight_hr.t()).to(c_next.dtype)
    return h_next, c_next


def _init_uniform(params: list[nn.Parameter], hidden_size: int) -> None:
    # The same initialisation as torch.nn.LSTM: U(-1/sqrt(H), 1/sqrt(H)) for every tensor.
    bound = 1.0 / math.sqrt(hidden_size)
    for p in params:
        nn.init.uniform_(p, -bound, bound)


class LSTMCell(nn.Module):
    """One LSTM step, a drop-in for :class:`torch.nn.LSTMCell` (same signature, parameters, outputs).

    Args:
        input_size: features of ``x_t``.
        hidden_size: features of ``h_t`` and ``c_t``.
        bias: learn ``b_ih`` and ``b_hh``.
        device, dtype: where and in which floating-point type the parameters are created.

    Call arguments:
        input: ``(B, input_size)`` or unbatched ``(input_size,)``.
        hx: optional ``(h, c)``, each ``(B, hidden_size)``; zeros when omitted.

    Returns:
        ``(h_t, c_t)``, each ``(B, hidden_size)``.

    Example:
        >>> cell = LSTMCell(8, 16)
        >>> h, c = cell(torch.randn(4, 8))
        >>> h.shape
        torch.Size([4, 16])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.bias = bool(bias)
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **factory))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(list(self.parameters()), self.hidden_size)

    def forward(self, input: Tensor, hx: State | None = None) -> State:
        x = input
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
        if x.dim() != 2 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"LSTMCell expects input of shape (B, {self.input_size}) or ({self.input_size},); "
                f"received {tuple(x.shape)}"
            )
        if hx is None:  # in the weights' dtype, which the state keeps under autocast
            zeros = x.new_zeros(x.shape[0], self.hidden_size, dtype=self.weight_hh.dtype)
            h, c = zeros, zeros
        else:
            h, c = hx
            if unbatched:
                h, c = h.unsqueeze(0), c.unsqueeze(0)
        gates_x = x @ self.weight_ih.t()
        if self.bias_ih is not None:
            gates_x = gates_x + self.bias_ih
        h, c = lstm_step(gates_x, h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            return h.squeeze(0), c.squeeze(0)
        return h, c

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class LSTM(nn.Module):
    """Multi-layer LSTM from the equations, a drop-in for :class:`torch.nn.LSTM`.

    The constructor takes torch's arguments in torch's order with torch's defaults (time-major
    ``batch_first=False`` included). Parameters are named and shaped like torch's
    (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``weight_hr_l0`` with a
    projection, ``..._reverse`` for the backward direction), so
    ``lstm.load_state_dict(torch_lstm.state_dict())`` works both ways.

    Args:
        input_size: features per time step of the input.
        hidden_size: features of the cell state (and of the hidden state without a projection).
        num_layers: stacked layers; layer ``k > 0`` reads layer ``k - 1``'s output.
        bias: learn the biases.
        batch_first: input and output are ``(B, T, F)`` when True, ``(T, B, F)`` when False (the
            default, as in torch). States are always ``(L * D, B, ...)`` as in torch.
        dropout: dropout on the outputs of every layer but the last, in training only.
        bidirectional: run a second LSTM over the reversed sequence and concatenate.
        proj_size: when ``> 0``, ``h_t = W_hr · (o_t ⊙ tanh(c_t))`` with ``W_hr``
            ``(proj_size, hidden_size)``; hidden states and outputs have ``proj_size`` features.
        device, dtype: where and in which floating-point type the parameters are created.

    Call arguments:
        input: ``(T, B, input_size)``, ``(B, T, input_size)`` (batch_first), unbatched
            ``(T, input_size)``, or a :class:`~torch.nn.utils.rnn.PackedSequence`.
        hx: optional ``(h_0, c_0)``: ``(L * D, B, P)`` and ``(L * D, B, hidden_size)`` with
            ``P = proj_size or hidden_size``; zeros when omitted.
        lengths: keyword only, an extension over torch: ``(B,)`` valid lengths of a padded batch.
            Steps past a sample's length leave its state unchanged and output zeros, and the
            backward direction starts at the sample's last valid step, exactly as with a packed
            sequence.

    Returns:
        ``output`` ``(T, B, D * P)`` (``(B, T, D * P)`` when batch_first; a PackedSequence for
        packed input) and ``(h_n, c_n)``: ``(L * D, B, P)`` and ``(L * D, B, hidden_size)``, the
        state after each sample's last valid step.

    Example:
        >>> lstm = LSTM(8, 16, num_layers=2, bidirectional=True, batch_first=True)
        >>> out, (h_n, c_n) = lstm(torch.randn(4, 10, 8))
        >>> out.shape, h_n.shape
        (torch.Size([4, 10, 32]), torch.Size([4, 4, 16]))
        >>> out, (h_n, c_n) = LSTM(8, 16, proj_size=4)(torch.randn(10, 4, 8))  # time-major
        >>> out.shape, h_n.shape, c_n.shape
        (torch.Size([10, 4, 4]), torch.Size([1, 4, 4]), torch.Size([1, 4, 16]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.dropout = check_dropout(dropout)
        self.proj_size = check_non_negative_int("proj_size", proj_size)
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size must be smaller than hidden_size={hidden_size} (0 disables the projection); "
                f"received proj_size={proj_size}"
            )
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        for layer in range(self.num_layers):
            for suffix in self._direction_suffixes():
                self._register_layer(layer, suffix, factory)
        self.reset_parameters()

    @property
    def real_hidden_size(self) -> int:
        """Features of the hidden state: ``proj_size`` with a projection, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

    def _register_layer(self, layer: int, suffix: str, factory: dict[str, Any]) -> None:
        # The order of torch's _flat_weights_names, so state dicts list the same keys in the same order.
        gates, hidden = 4 * self.hidden_size, self.real_hidden_size
        layer_input = self.input_size if layer == 0 else hidden * self.num_directions
        shapes: dict[str, tuple[int, ...]] = {"weight_ih": (gates, layer_input), "weight_hh": (gates, hidden)}
        if self.bias:
            shapes.update(bias_ih=(gates,), bias_hh=(gates,))
        if self.proj_size:
            shapes["weight_hr"] = (self.proj_size, self.hidden_size)
        for kind, shape in shapes.items():
            self.register_parameter(f"{kind}_l{layer}{suffix}", nn.Parameter(torch.empty(shape, **factory)))

    def _direction_suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self) -> None:
        _init_uniform(list(self.parameters()), self.hidden_size)

    def flatten_parameters(self) -> None:
        """No-op, for code written against :class:`torch.nn.LSTM` (cuDNN weight packing)."""

    def _weights(self, layer: int, suffix: str) -> _LayerWeights:
        name = f"l{layer}{suffix}"
        return (
            getattr(self, f"weight_ih_{name}"),
            getattr(self, f"weight_hh_{name}"),
            getattr(self, f"bias_ih_{name}") if self.bias else None,
            getattr(self, f"bias_hh_{name}") if self.bias else None,
            getattr(self, f"weight_hr_{name}") if self.proj_size else None,
        )

    def forward(
        self,
        input: Tensor | PackedSequence,
        hx: State | None = None,
        *,
        lengths: Tensor | None = None,
    ) -> tuple[Tensor | PackedSequence, State]:
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError("pass either a PackedSequence or lengths, not both")
            # Unpacking restores the caller's batch order; states are in that order too (as in torch).
            padded, packed_lengths = pad_packed_sequence(input, batch_first=True)
            out, (h_n, c_n) = self._forward_padded(padded, hx, packed_lengths)
            packed_out = pack_padded_sequence(out, packed_lengths, batch_first=True, enforce_sorted=False)
            return packed_out, (h_n, c_n)

        x = input
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0 if self.batch_first else 1)
            if hx is not None:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            layout = "(B, T, F)" if self.batch_first else "(T, B, F)"
            raise ValueError(
                f"LSTM expects input {layout} with F={self.input_size}, or unbatched (T, F); "
                f"received {tuple(x.shape)}"
            )
        if not self.batch_first:
            x = x.transpose(0, 1)
        out, (h_n, c_n) = self._forward_padded(x, hx, lengths)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            out = out.squeeze(0 if self.batch_first else 1)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return out, (h_n, c_n)

    def _initial_state(self, x: Tensor, hx: State | None) -> State:
        n_states, batch = self.num_layers * self.num_directions, x.shape[0]
        h_shape = (n_states, batch, self.real_hidden_size)
        c_shape = (n_states, batch, self.hidden_size)
        if hx is None:  # in the weights' dtype, which the state keeps under autocast (see lstm_step)
            dtype = self._weights(0, "")[1].dtype  # weight_hh_l0
            return x.new_zeros(h_shape, dtype=dtype), x.new_zeros(c_shape, dtype=dtype)
        h0, c0 = hx
        if tuple(h0.shape) != h_shape or tuple(c0.shape) != c_shape:
            raise ValueError(
                f"LSTM state must be (h_0, c_0) of shapes {h_shape} and {c_shape}; "
                f"received {tuple(h0.shape)} and {tuple(c0.shape)}"
            )
        return h0, c0

    def _forward_padded(self, x: Tensor, hx: State | None, lengths: Tensor | None) -> tuple[Tensor, State]:
        """Batch-first core: ``x`` ``(B, T, F)``, optional lengths ``(B,)``."""
        batch, steps, _ = x.shape
        h0, c0 = self._initial_state(x, hx)
        mask: Tensor | None = None  # bool (B, T, 1)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
            if lengths.shape != (batch,):
                raise ValueError(f"lengths must have shape ({batch},); received {tuple(lengths.shape)}")
            if bool((lengths < 1).any()) or bool((lengths > steps).any()):
                raise ValueError(f"lengths must lie in [1, {steps}]; received {lengths.tolist()}")
            if bool((lengths == steps).all()):
                # No padding: the masked recurrence would give the same numbers at twice the
                # operations per step, so the unmasked one runs.
                lengths = None
            else:
                # mask[b, t] = True where step t is valid for sample b: (B, T, 1)
                mask = (torch.arange(steps, device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1)

        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._direction_suffixes()):
                idx = layer * self.num_directions + direction
                seq = layer_input if direction == 0 else _reverse_padded(layer_input, lengths)
                out, h, c = _run_direction(seq, h0[idx], c0[idx], mask, *self._weights(layer, suffix))
                outputs.append(out if direction == 0 else _reverse_padded(out, lengths))
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = nn.functional.dropout(layer_input, p=self.dropout, training=True)
        return layer_input, (torch.stack(h_n), torch.stack(c_n))

    def extra_repr(self) -> str:
        # torch.nn.LSTM's wording, so the two print the same.
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.proj_size:
            parts.append(f"proj_size={self.proj_size}")
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if not self.bias:
            parts.append("bias=False")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.bidirectional:
            parts.append("bidirectional=True")
        return ", ".join(parts)


def _run_direction(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    mask: Tensor | None,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    weight_hr: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One direction of one layer over ``x`` ``(B, T, F)``; returns outputs ``(B, T, P)``, h, c.

    ``mask`` ``(B, T, 1)`` is True at the valid steps (``None``: all are valid).
    """
    # Input part of every gate for all steps in one product: (B, T, 4H).
    gates_x = x @ weight_ih.t()
    if bias_ih is not None:
        gates_x = gates_x + bias_ih
    if torch.is_autocast_enabled(x.device.type):
        # Mixed precision: the one large product above ran in autocast's dtype; the recurrence runs
        # in the weights' dtype with autocast off. Under autocast each step's small h @ W_hh would be
        # cast to bf16 and back, which costs more than the product saves (benchmarks/cpu_precision.py),
        # and the state would be rounded to bf16 at every step.
        with torch.autocast(x.device.type, enabled=False):
            return _recur(gates_x.to(weight_hh.dtype), h, c, mask, weight_hh, bias_hh, weight_hr)
    return _recur(gates_x, h, c, mask, weight_hh, bias_hh, weight_hr)


def _recur(
    gates_x: Tensor,
    h: Tensor,
    c: Tensor,
    mask: Tensor | None,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    weight_hr: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The recurrence of :func:`_run_direction` over the input gates ``(B, T, 4H)``."""
    outputs = []
    # unbind(1) rather than gates_x[:, t]: one stacked gradient in backward instead of T
    # full-size zero tensors.
    step_masks = mask.unbind(1) if mask is not None else [None] * gates_x.shape[1]
    for gates_x_t, m in zip(gates_x.unbind(1), step_masks, strict=True):
        h_new, c_new = lstm_step(gates_x_t, h, c, weight_hh, bias_hh, weight_hr)
        if m is not None:
            # m (B, 1): True keeps the update, False freezes the state past the sample's length.
            # One selection per state: what m * new + (1 - m) * old gives (finite values), in
            # one operation instead of five, with the same gradients.
            h = torch.where(m, h_new, h)
            c = torch.where(m, c_new, c)
            outputs.append(torch.where(m, h_new, 0.0))
        else:
            h, c = h_new, c_new
            outputs.append(h)
    return torch.stack(outputs, dim=1), h, c


def _reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of ``x`` ``(B, T, ...)`` within its valid length; padding stays put."""
    if lengths is None:
        return x.flip(1)
    steps = x.shape[1]
    t = torch.arange(steps, device=x.device)[None, :]  # (1, T)
    rev = lengths[:, None] - 1 - t  # (B, T): source index for each target index
    index = torch.where(rev >= 0, rev, t)  # positions past the length map to themselves
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)
