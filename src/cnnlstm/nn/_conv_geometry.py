"""Padding and output sizes of the recurrent cells' convolutions, with Keras' ``"same"`` rule.

``"same"`` follows TensorFlow/Keras: the output has ``ceil(size / stride)`` positions and the
padding it needs, ``max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)``, goes half
before and the rest after, so an even kernel pads one more position after than before.
``"valid"`` pads nothing; an int pads that many positions on both sides (torch's convention).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor

from cnnlstm._validation import to_tuple

__all__ = ["Padding", "check_padding", "conv_nd", "output_size", "same_pads"]

# "same", "valid", or explicit symmetric padding per spatial dimension
Padding = str | int | Sequence[int]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def check_padding(padding: Padding, spatial_dims: int) -> str | tuple[int, ...]:
    """``"same"``, ``"valid"``, or a tuple of non-negative ints, one per spatial dim.

    Example:
        >>> check_padding(2, 2), check_padding("valid", 2)
        ((2, 2), 'valid')
    """
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid' or an int >= 0; received padding={padding!r}")
        return padding
    if isinstance(padding, int) and not isinstance(padding, bool) and padding == 0:
        return (0,) * spatial_dims
    if isinstance(padding, Sequence) and all(p == 0 for p in padding) and len(padding) == spatial_dims:
        return (0,) * spatial_dims
    return to_tuple("padding", padding, spatial_dims)


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Padding ``(before, after)`` of ``"same"`` along one dimension of ``size`` positions.

    Example:
        >>> same_pads(8, 4, 1, 1), same_pads(9, 3, 2, 1)
        ((1, 2), (1, 1))
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def output_size(
    size: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    padding: str | tuple[int, ...],
) -> tuple[int, ...]:
    """Spatial size of a convolution's output for an input of ``size``.

    Example:
        >>> output_size((16, 15), (3, 3), (2, 2), (1, 1), "same"), output_size((16,), (4,), (1,), (1,), "valid")
        ((8, 8), (13,))
    """
    dims = []
    for i, n in enumerate(size):
        if padding == "same":
            dims.append(-(-n // stride[i]))
            continue
        pad = 0 if isinstance(padding, str) else 2 * padding[i]
        dims.append((n + pad - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1)
    if any(d < 1 for d in dims):
        raise ValueError(
            f"maps of size {tuple(size)} are too small for kernel {tuple(kernel)} with stride "
            f"{tuple(stride)}, dilation {tuple(dilation)} and padding {padding!r}; use larger maps or "
            "padding='same'"
        )
    return tuple(dims)


def conv_nd(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    *,
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: str | tuple[int, ...],
) -> Tensor:
    """A 1-, 2- or 3-D convolution of ``x`` ``(N, C, *S)`` with Keras' ``"same"`` padding rule.

    Example:
        >>> import torch
        >>> conv_nd(torch.ones(1, 1, 8), torch.ones(1, 1, 4), None, stride=(1,), dilation=(1,), padding="same").shape
        torch.Size([1, 1, 8])
    """
    dims = x.dim() - 2
    kernel = tuple(weight.shape[2:])
    conv = _CONV[dims]
    if padding == "valid":
        return conv(x, weight, bias, stride, 0, dilation)
    if padding != "same":
        return conv(x, weight, bias, stride, padding, dilation)
    pads = [same_pads(x.shape[2 + i], kernel[i], stride[i], dilation[i]) for i in range(dims)]
    if all(before == after for before, after in pads):
        return conv(x, weight, bias, stride, tuple(before for before, _ in pads), dilation)
    flat = [p for before_after in reversed(pads) for p in before_after]  # F.pad: last dim first
    return conv(F.pad(x, flat), weight, bias, stride, 0, dilation)
