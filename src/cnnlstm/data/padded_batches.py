"""Batches of zero-padded series cut to their longest series, so that no batch carries dead steps.

A data set of unequal-length series is padded at the end to its longest series (PLAID: 100–1344
steps, mean 324, padded to 1344), so a batch of random series is mostly padding: work for every
layer and, for a model that does not mask it, data that is none. :func:`collate_trimmed` stacks
samples ``(x (T, C), y, length)`` as the default collate does and then drops the steps past the
batch's longest ``length``. A batch of series that all fill ``T`` (every batch of an
equal-length set) comes back as the default collate gives it, the same tensors to the bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch.utils.data import default_collate

__all__ = ["collate_trimmed"]


def collate_trimmed(samples: Sequence[Any]) -> Any:
    """Collate ``(x (T, C), y, length)`` samples into ``(x (B, T', C), y (B,), lengths (B,))``, ``T' = max(lengths)``.

    Samples of another form (no length, or ``x`` without a time axis) are collated unchanged.

    Example:
        >>> import torch
        >>> samples = [(torch.ones(6, 2), 0, 3), (torch.ones(6, 2), 1, 4)]
        >>> x, y, lengths = collate_trimmed(samples)
        >>> tuple(x.shape), lengths.tolist()
        ((2, 4, 2), [3, 4])
    """
    batch = default_collate(list(samples))
    if not isinstance(batch, (list, tuple)) or len(batch) != 3:
        return batch
    x, y, lengths = batch
    if x.dim() < 2 or lengths.dim() != 1 or len(lengths) != len(x) or not len(x):
        return batch
    longest = int(lengths.max())
    if longest >= x.shape[1]:
        return batch
    return [x[:, :longest].contiguous(), y, lengths]
