"""Fold time into the batch so a per-frame module runs on all ``B·T`` frames in one call."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["TimeDistributed", "fold_time", "unfold_time"]


def fold_time(x: Tensor) -> Tensor:
    """``(B, T, *rest) -> (B·T, *rest)``; frames of one sample stay adjacent."""
    return x.flatten(0, 1)


def unfold_time(x: Tensor, batch_size: int) -> Tensor:
    """``(B·T, *rest) -> (B, T, *rest)``, the inverse of :func:`fold_time`."""
    return x.unflatten(0, (batch_size, -1))


class TimeDistributed(nn.Module):
    """Apply ``module`` to every time step of ``(B, T, *rest)`` as one batched call.

    Example:
        >>> frame_net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        >>> TimeDistributed(frame_net)(torch.randn(2, 5, 3, 32, 32)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 3:
            raise ValueError(
                f"TimeDistributed expects (B, T, ...) with at least 3 dims; received {tuple(x.shape)}"
            )
        return unfold_time(self.module(fold_time(x)), x.shape[0])
