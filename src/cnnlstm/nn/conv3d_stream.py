"""Run a :class:`~cnnlstm.nn.Conv3dStem` one frame at a time, exactly as on the whole clip.

A Conv3d with "same" padding along time is not causal: its output at step ``τ`` reads frame
``τ + r`` (``r = kernel_t // 2``), and at the clip's end it reads zero padding instead. So after
``T`` frames the stem's output on ``x[:, :, :T]`` has a *final* part, which later frames cannot
change, and a short *provisional* tail, computed with the end padding and recomputed when the
next frame arrives. :class:`Conv3dStemStream` keeps, for every block, the partial convolution sums
of the ``2r`` outputs its final inputs reach but do not complete, and the final outputs of a
temporal pooling group not yet complete. Each input step is convolved once, when it arrives (a
final input) or on every frame while it is provisional (at most a few steps per block), so the
work per frame is bounded however many frames came before.

The max-pooling of a block factors into a spatial pooling of every step and a max over the
``pool_t`` steps of a group; both are exact.

Example:
    >>> stem = Conv3dStem(in_channels=3, channels=(4, 8)).eval()
    >>> stream, state, finals = Conv3dStemStream(stem), None, []
    >>> clip = torch.randn(1, 3, 9, 16, 16)
    >>> for t in range(9):
    ...     final, tail, state = stream.step(clip[:, :, t], state)
    ...     finals += [] if final is None else [final]
    >>> whole = stem(clip)  # (1, 8, 2, 4, 4): step 0 is final, step 1 read the end padding
    >>> len(finals), len(tail), torch.allclose(torch.stack(finals + tail, 2), whole, atol=1e-6)
    (1, 1, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlstm.nn.encoders import Conv3dStem

__all__ = ["Conv3dStemStream", "StemStreamState"]


@dataclass(frozen=True)
class _BlockState:
    count: int = 0  # final inputs seen
    partial: tuple[Tensor, ...] = ()  # conv sums over final inputs of outputs count - r ... count + r - 1
    pending: tuple[Tensor, ...] = ()  # final conv outputs of the pooling group not yet complete


@dataclass(frozen=True)
class StemStreamState:
    """The buffers of every block (a bounded number of tensors each)."""

    blocks: tuple[_BlockState, ...]


class _Block:
    """One Conv3d → [BatchNorm3d] → ReLU → MaxPool3d block, fed one input step at a time.

    The convolution is linear, so output ``τ`` is the sum over its inputs ``u_i`` (``|i - τ| ≤ r``)
    of the kernel's time slice ``W[:, :, τ - i + r]`` applied to ``u_i``. Each input is convolved
    once with all ``k_t`` slices (one 2-D convolution with ``k_t`` times the output channels, the
    cost of one output step) and its parts are added to the sums of the outputs it reaches; an
    output whose inputs are all final is complete. Provisional outputs add the tail inputs' parts
    to those sums; the end padding adds nothing.
    """

    def __init__(self, conv: nn.Conv3d, norm: nn.Module | None, pool: tuple[int, int, int]) -> None:
        self.conv, self.norm = conv, norm
        self.radius = conv.kernel_size[0] // 2
        self.pool_t, self.pool_hw = pool[0], pool[1:]

    def parts(self, inputs: list[Tensor]) -> Tensor:
        """``n`` inputs ``(B, C, H, W)`` → their parts ``(n, k_t, B, C', H, W)``; part ``k`` goes to
        output ``i + r - k`` of input ``i``."""
        weight = self.conv.weight  # (C', C, k_t, kh, kw)
        out_ch, kt = weight.shape[0], weight.shape[2]
        slices = weight.permute(2, 0, 1, 3, 4).flatten(0, 1)  # (k_t·C', C, kh, kw)
        x = torch.stack(inputs).flatten(0, 1)  # (n·B, C, H, W)
        y = F.conv2d(x, slices, None, 1, self.conv.padding[1:])  # (n·B, k_t·C', H, W)
        return y.unflatten(1, (kt, out_ch)).unflatten(0, (len(inputs), -1)).transpose(1, 2)

    def finish(self, sums: Tensor) -> Tensor:
        """Conv sums ``(N, C', H, W)`` → outputs after bias, norm, ReLU and the spatial pooling."""
        if self.conv.bias is not None:
            sums = sums + self.conv.bias.view(-1, 1, 1)
        out = sums[:, :, None]  # (N, C', 1, H, W): the norm and pooling modules are 3-D
        if self.norm is not None:
            out = self.norm(out)
        return F.max_pool3d(F.relu(out), (1, *self.pool_hw), (1, *self.pool_hw))[:, :, 0]

    def step(
        self, state: _BlockState, new_final: Tensor | None, tail: list[Tensor]
    ) -> tuple[_BlockState, Tensor | None, list[Tensor]]:
        """Take the block's next final input (or none) and its provisional tail; return the same for
        its output."""
        out_final = None
        if new_final is not None:
            state, out_final = self._take_final(state, new_final)
        return state, out_final, self._provisional(state, tail)

    def _take_final(self, state: _BlockState, new_final: Tensor) -> tuple[_BlockState, Tensor | None]:
        """Add a final input to the partial sums; return the new state, and a pooled output if one
        is complete."""
        r, count, pending = self.radius, state.count, state.pending
        new_parts = self.parts([new_final])[0]  # (k_t, B, C', H, W); part k → output count + r - k
        partial = state.partial or (torch.zeros_like(new_parts[0]),) * (2 * r)
        # sums of outputs count - r ... count + r: the old ones, a new empty one, plus this input
        sums = [(partial[j] if j < 2 * r else 0) + new_parts[2 * r - j] for j in range(2 * r + 1)]
        out_final = None
        if count >= r:  # output count - r now has all its inputs
            pending = (*pending, self.finish(sums[0]))
            if len(pending) == self.pool_t:
                out_final, pending = torch.stack(pending).amax(0), ()
        return _BlockState(count + 1, tuple(sums[1:]), pending), out_final

    def _provisional(self, state: _BlockState, tail: list[Tensor]) -> list[Tensor]:
        """Pooled outputs of the provisional conv outputs: τ from the first non-final one to the
        last one a complete pooling group uses, each summing the final inputs' partial sum and the
        tail inputs that reach it."""
        r, p, count, partial = self.radius, self.pool_t, state.count, state.partial
        length = count + len(tail)
        first, stop = max(count - r, 0), p * (length // p)
        if first >= stop:
            return []
        tail_parts = self.parts(tail) if tail else None
        sums = []
        for tau in range(first, stop):
            j = tau - (count - r)  # index into partial
            total = partial[j] if j < len(partial) else torch.zeros(())
            for i in range(max(count, tau - r), min(length, tau + r + 1)):  # tail inputs reaching τ
                assert tail_parts is not None  # i >= count only when there is a tail
                total = total + tail_parts[i - count, i + r - tau]
            sums.append(total)
        finished = self.finish(torch.stack(sums).flatten(0, 1)).unflatten(0, (len(sums), -1))
        values = list(state.pending) + list(finished)
        return [torch.stack(values[i : i + p]).amax(0) for i in range(0, len(values) - p + 1, p)]


class Conv3dStemStream:
    """Frame-by-frame evaluation of a :class:`Conv3dStem` in eval mode; see the module docstring.

    Args:
        stem: the stem whose weights are used (read on every call, so it follows training).
    """

    def __init__(self, stem: Conv3dStem) -> None:
        modules = list(stem.features)
        self.blocks: list[_Block] = []
        for i, module in enumerate(modules):
            if isinstance(module, nn.Conv3d):
                norm = modules[i + 1] if isinstance(modules[i + 1], nn.BatchNorm3d) else None
                self.blocks.append(_Block(module, norm, stem.pool))

    def init_state(self) -> StemStreamState:
        return StemStreamState(tuple(_BlockState() for _ in self.blocks))

    def step(
        self, frame: Tensor, state: StemStreamState | None
    ) -> tuple[Tensor | None, list[Tensor], StemStreamState]:
        """One frame ``(B, C, H, W)`` → ``(new final output, provisional tail, state)``.

        The stem's output on all frames so far, ``(B, C', T', H', W')`` along ``T'``, is the final
        outputs of all earlier calls, then this call's final output (``None`` when none became
        final), then the provisional tail (a list of ``(B, C', H', W')``).
        """
        state = self.init_state() if state is None else state
        final: Tensor | None = frame
        tail: list[Tensor] = []
        blocks = []
        for block, block_state in zip(self.blocks, state.blocks, strict=True):
            block_state, final, tail = block.step(block_state, final, tail)
            blocks.append(block_state)
        return final, tail, StemStreamState(tuple(blocks))
