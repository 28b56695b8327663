"""BatchNorm over the valid steps of padded series: padding never enters the batch statistics."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cnnlstm._validation import check_positive_int

__all__ = ["MaskedBatchNorm1d"]


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` whose batch statistics count the valid steps of ``(B, C, T)`` maps only.

    A batch of zero-padded series holds steps that are no data. Plain BatchNorm averages them
    into its batch mean and variance (and so into its running statistics): the more padding a
    batch has, the more its statistics are those of the padding, and a series' output in training
    depends on how long the other series of its batch are. With ``mask`` ``(B, 1, T)`` or
    ``(B, T)`` (true or 1 at the valid steps), the mean and the (biased) variance that normalise
    the batch, and the running statistics updated from them (unbiased variance, as BatchNorm),
    are taken over the valid steps of every series; what lies at the padded steps, even inf or
    NaN, changes no valid output and no gradient (the padded steps are normalised as zeros; their
    outputs carry no meaning).

    Without a mask, and in eval mode with running statistics (where normalising is per element
    and nothing is averaged over the batch), it is ``nn.BatchNorm1d`` itself, to the bit; its
    parameters and buffers have BatchNorm's names, so checkpoints load either way.

    Mixed precision: a bf16 or fp16 input (autocast's convolutions give one) is normalised with
    statistics taken in float32, as BatchNorm's own kernels do; the output has the input's dtype,
    and the running statistics stay float32.

    Args:
        num_features: ``C``.
        eps, momentum, affine, track_running_stats: as ``nn.BatchNorm1d`` (``momentum=None``: a
            cumulative average).

    Call arguments:
        x: ``(B, C, T)`` (or ``(B, C)``, without a mask).
        mask: optional ``(B, 1, T)`` or ``(B, T)`` valid-step mask (bool or 0/1).

    Example:
        >>> bn = MaskedBatchNorm1d(num_features=4)
        >>> x, mask = torch.randn(2, 4, 6), torch.tensor([[1] * 6, [1] * 3 + [0] * 3]).bool()
        >>> y = bn(x, mask)
        >>> x[1, :, 3:] = 1e6  # the padding of series 1: its valid outputs do not change
        >>> torch.allclose(bn(x, mask)[..., :3], y[..., :3], atol=1e-6)
        True
    """

    def __init__(
        self,
        *,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__(
            check_positive_int("num_features", num_features),
            eps=eps,
            momentum=momentum,
            affine=affine,
            track_running_stats=track_running_stats,
        )

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, C, T)`` (and a valid-step mask) → ``(B, C, T)``."""
        uses_batch_stats = self.training or not self.track_running_stats
        if mask is None or not uses_batch_stats:
            return super().forward(x)
        if x.dim() != 3:
            raise ValueError(f"a mask needs maps (B, C, T); received x of shape {tuple(x.shape)}")
        valid = mask.reshape(x.shape[0], 1, x.shape[2]).bool()  # (B, 1, T)
        count = valid.sum() * 1.0
        if self.training and not torch.compiler.is_compiling() and count < 2:
            raise ValueError(
                f"BatchNorm needs more than one valid value per channel in training; the batch has {int(count)}"
            )
        # Statistics in float32 at least, as BatchNorm's kernels accumulate a bf16/fp16 input
        # (autocast's convolutions hand one over): in bf16 the mean and variance would carry
        # bf16's rounding (2^-9 relative) into every output and into the running statistics.
        stats_x = x.to(torch.promote_types(x.dtype, torch.float32))
        zero = torch.zeros((), dtype=stats_x.dtype, device=x.device)
        kept = torch.where(valid, stats_x, zero)
        mean = kept.sum(dim=(0, 2)) / count  # (C,)
        centred = torch.where(valid, stats_x - mean[:, None], zero)
        var = centred.square().sum(dim=(0, 2)) / count  # biased, as BatchNorm normalises
        if self.training and self.track_running_stats:
            self._update_running_stats(mean, var * count / (count - 1))
        out = (kept - mean[:, None]) * torch.rsqrt(var + self.eps)[:, None]  # padding: as zeros
        if self.affine:
            out = out * self.weight[:, None] + self.bias[:, None]
        return out.to(x.dtype)  # the input's dtype, as BatchNorm returns

    def _update_running_stats(self, mean: Tensor, unbiased_var: Tensor) -> None:
        """BatchNorm's update: an exponential (or, with ``momentum=None``, cumulative) average."""
        assert self.num_batches_tracked is not None and self.running_mean is not None
        assert self.running_var is not None  # all three exist: track_running_stats holds
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
            self.running_var.mul_(1 - factor).add_(unbiased_var.detach(), alpha=factor)
