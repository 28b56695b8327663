"""What every recurrent stack of ``cnnlstm.nn`` does around its cell: lengths, dropout, zoneout.

* ``lengths`` ``(B,)``: steps past a sample's length leave its state unchanged and output zeros,
  the semantics of :class:`cnnlstm.nn.LSTM` (and of a packed sequence in ``torch.nn.LSTM``).
* recurrent (variational) dropout, Gal & Ghahramani 2016 as in Keras' ``recurrent_dropout``: one
  mask per sequence on the hidden state fed to the recurrent convolution, reused at every step.
* zoneout, Krueger et al. 2017: in training each unit keeps its previous value with probability
  ``z`` (a fresh mask per step); in evaluation the expectation ``z·prev + (1 − z)·new``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnlstm.nn.lstm import _reverse_padded

__all__ = ["check_lengths", "recurrent_dropout_mask", "reverse_padded", "step_masks", "zoneout"]


def check_lengths(lengths: Tensor | None, batch: int, steps: int, device: torch.device) -> Tensor | None:
    """``lengths`` as a tensor on ``device``, checked to be ``(B,)`` with values in ``[1, T]``.

    Example:
        >>> check_lengths(torch.tensor([3, 1]), 2, 3, torch.device("cpu")).tolist()
        [3, 1]
    """
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},); received {tuple(lengths.shape)}")
    if bool((lengths < 1).any()) or bool((lengths > steps).any()):
        raise ValueError(f"lengths must lie in [1, {steps}]; received {lengths.tolist()}")
    return lengths


def step_masks(
    lengths: Tensor | None, steps: int, spatial_dims: int, dtype: torch.dtype
) -> list[Tensor | None]:
    """Per step, ``(B, 1, *[1] * spatial_dims)`` with 1 where the step is valid; ``None`` without lengths."""
    if lengths is None:
        return [None] * steps
    valid = torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]  # (B, T)
    return list(valid.to(dtype).view(*valid.shape, *([1] * (spatial_dims + 1))).unbind(1))


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of ``x`` ``(B, T, ...)`` within its valid length; padding stays put.

    Example:
        >>> reverse_padded(torch.arange(4.0).view(1, 4), torch.tensor([3])).tolist()
        [[2.0, 1.0, 0.0, 3.0]]
    """
    return _reverse_padded(x, lengths)


def recurrent_dropout_mask(h: Tensor, p: float, training: bool) -> Tensor | None:
    """An inverted-dropout mask shaped like ``h`` (zeros and ``1 / (1 − p)``), or ``None`` when off."""
    if not training or p <= 0.0:
        return None
    return F.dropout(torch.ones_like(h), p=p, training=True)


def zoneout(previous: Tensor, new: Tensor, z: float, training: bool) -> Tensor:
    """Zoneout of one state tensor (see the module docstring); ``new`` itself when ``z == 0``."""
    if z <= 0.0:
        return new
    if not training:
        return z * previous + (1.0 - z) * new
    keep = (torch.rand_like(new) < z).to(new.dtype)
    return keep * previous + (1.0 - keep) * new
