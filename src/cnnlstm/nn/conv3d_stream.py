"""Run a :class:`~cnnlstm.nn.Conv3dStem` one frame at a time, exactly as on the whole clip.

A Conv3d with "same" padding along time is not causal: its output at step ``τ`` reads frame
``τ + r`` (``r = kernel_t // 2``), and at the clip's end it reads zero padding instead. So after
``T`` frames the stem's output on ``x[:, :, :T]`` has a *final* part, which later frames cannot
change, and a short *provisional* tail, computed with the end padding and recomputed when the next
frame arrives. :class:`Conv3dStemStream` keeps, for every block, its last ``2r`` final inputs and
the final convolution outputs of a temporal pooling group not yet complete, so each frame costs
about one convolution step per block for the final part plus the provisional tail (at most
``r + pool_t - 1`` steps per block), however many frames came before.

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
    recent: tuple[Tensor, ...] = ()  # the last 2r final inputs, oldest first
    pending: tuple[Tensor, ...] = ()  # final conv outputs of the pooling group not yet complete


@dataclass(frozen=True)
class StemStreamState:
    """The buffers of every block (a bounded number of tensors each)."""

    blocks: tuple[_BlockState, ...]


class _Block:
    """One Conv3d → [BatchNorm3d] → ReLU → MaxPool3d block, evaluated over chosen output steps."""

    def __init__(self, conv: nn.Conv3d, norm: nn.Module | None, pool: tuple[int, int, int]) -> None:
        self.conv, self.norm = conv, norm
        self.radius = conv.kernel_size[0] // 2
        self.pool_t, self.pool_hw = pool[0], pool[1:]

    def conv_steps(self, window: Tensor) -> Tensor:
        """``(B, C, n + 2r, H, W)`` inputs → ``(B, C', n, H', W')`` outputs after norm, ReLU, spatial pool."""
        out = F.conv3d(window, self.conv.weight, self.conv.bias, 1, (0, *self.conv.padding[1:]))
        if self.norm is not None:
            out = self.norm(out)
        out = F.relu(out)
        return F.max_pool3d(out, (1, *self.pool_hw), (1, *self.pool_hw))

    def step(
        self, state: _BlockState, new_final: Tensor | None, tail: list[Tensor]
    ) -> tuple[_BlockState, Tensor | None, list[Tensor]]:
        """Take the block's next final input (or none) and its provisional tail; return the same for its output."""
        r, p = self.radius, self.pool_t
        count, recent, pending = state.count, state.recent, state.pending
        out_final = None
        if new_final is not None:
            count += 1
            recent = (*recent, new_final)
            if count > r:  # conv output τ = count - 1 - r now reads only final inputs
                tau = count - 1 - r
                window = [torch.zeros_like(new_final)] * max(0, r - tau) + list(recent[-(2 * r + 1) :])
                v = self.conv_steps(torch.stack(window, dim=2))[:, :, 0]
                pending = (*pending, v)
                if len(pending) == p:
                    out_final, pending = torch.stack(pending, dim=0).amax(dim=0), ()
            recent = recent[-2 * r :] if r else ()
        # Provisional conv outputs: τ from the first non-final one to the last one a pool group uses.
        length = count + len(tail)
        first, stop = max(count - r, 0), p * (length // p)
        out_tail: list[Tensor] = []
        if first < stop:
            like = tail[0] if tail else recent[-1] if recent else new_final
            zero = torch.zeros_like(like)
            known = list(recent) + list(tail)  # inputs count - len(recent) ... length - 1
            offset = count - len(recent)

            def inp(i: int) -> Tensor:
                return known[i - offset] if 0 <= i < length else zero

            window = torch.stack([inp(i) for i in range(first - r, stop + r)], dim=2)
            provisional = list(self.conv_steps(window).unbind(2))
            values = list(pending) + provisional  # conv outputs from the current group's start
            out_tail = [torch.stack(values[i : i + p], 0).amax(0) for i in range(0, len(values) - p + 1, p)]
        return _BlockState(count, recent, pending), out_final, out_tail


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

    def step(self, frame: Tensor, state: StemStreamState | None) -> tuple[Tensor | None, list[Tensor], StemStreamState]:
        """One frame ``(B, C, H, W)`` → ``(new final output, provisional tail, state)``.

        The stem's output on all frames so far, ``(B, C', T', H', W')`` along ``T'``, is the final
        outputs of all earlier calls, then this call's final output (``None`` when none became
        final), then the provisional tail (a list of ``(B, C', H', W')``).
        """
        state = self.init_state() if state is None else state
        final: Tensor | None = frame
        tail: list[Tensor] = []
        blocks = []
        for block, block_state in zip(self.blocks, state.blocks):
            block_state, final, tail = block.step(block_state, final, tail)
            blocks.append(block_state)
        return final, tail, StemStreamState(tuple(blocks))
