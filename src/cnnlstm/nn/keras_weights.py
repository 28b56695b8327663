"""Carry Keras' ``ConvLSTM1D/2D/3D`` and ``LSTM`` weights over, from their arrays (no Keras import).

Keras stores a recurrent layer's weights as ``layer.get_weights()`` returns them:

* ``kernel``: ``ConvLSTM{n}D`` ``(*k, C_in, 4F)`` (spatial dims first, "HWIO"); ``LSTM``
  ``(C_in, 4U)``;
* ``recurrent_kernel``: ``(*k, F, 4F)``; ``LSTM`` ``(U, 4U)``;
* ``bias``: ``(4F,)`` (absent with ``use_bias=False``).

The gate blocks along the last axis are in Keras' order i, f, c, o, which is ours (i, f, g, o),
so only the layouts change: convolution kernels become ``(4F, C_in, *k)``, matrices are
transposed. Keras computes cross-correlations as torch does, so no kernel is flipped. Keras'
default activations (``tanh``, ``recurrent_activation="sigmoid"``) are the only ones ours
compute. Keras' ``ConvLSTM*D`` default to ``padding="valid"`` and ``data_format="channels_last"``:
build ours with the same padding (:func:`convlstm_from_keras` does) and move the channels of the
input ``(B, T, *S, C)`` to ``(B, T, C, *S)``.

Example:
    >>> import numpy as np
    >>> kernel = np.zeros((3, 3, 2, 16), np.float32)  # ConvLSTM2D(filters=4, kernel_size=3) on 2 channels
    >>> layer = convlstm_from_keras(kernel, np.zeros((3, 3, 4, 16), np.float32), np.zeros(16, np.float32))
    >>> type(layer).__name__, layer(torch.zeros(1, 5, 2, 8, 8))[0].shape
    ('ConvLSTM', torch.Size([1, 5, 4, 6, 6]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm.nn.convlstm import ConvLSTM, ConvLSTM1d, ConvLSTM3d, ConvLSTMCell, _ConvLSTMNd
from cnnlstm.nn.lstm import LSTM

__all__ = ["convlstm_from_keras", "load_keras_convlstm", "load_keras_lstm", "lstm_from_keras"]

_CLASSES: dict[int, type[_ConvLSTMNd]] = {1: ConvLSTM1d, 2: ConvLSTM, 3: ConvLSTM3d}


def _as_tensor(name: str, array: Any, ndim: int) -> Tensor:
    tensor = torch.as_tensor(array)
    if tensor.dim() != ndim or not tensor.is_floating_point():
        raise ValueError(
            f"{name} must be a floating-point array with {ndim} dimensions; received shape "
            f"{tuple(tensor.shape)} of {tensor.dtype}"
        )
    return tensor


def _conv_kernel_to_torch(kernel: Tensor) -> Tensor:
    """``(*k, C_in, C_out)`` → ``(C_out, C_in, *k)``."""
    dims = kernel.dim() - 2
    return kernel.permute(dims + 1, dims, *range(dims))


def load_keras_convlstm(cell: ConvLSTMCell, kernel: Any, recurrent_kernel: Any, bias: Any = None) -> None:
    """Copy one Keras ``ConvLSTM{n}D`` layer's arrays into ``cell`` (shapes in the module docstring).

    ``cell`` must have the Keras layer's sizes and no peepholes or normalisation; ``bias`` is
    required exactly when ``cell`` has one.
    """
    dims = cell.spatial_dims
    w_ih = _conv_kernel_to_torch(_as_tensor("kernel", kernel, dims + 2))
    w_hh = _conv_kernel_to_torch(_as_tensor("recurrent_kernel", recurrent_kernel, dims + 2))
    for name, value, param in (("kernel", w_ih, cell.weight_ih), ("recurrent_kernel", w_hh, cell.weight_hh)):
        if value.shape != param.shape:
            expected = (*param.shape[2:], param.shape[1], param.shape[0])
            raise ValueError(
                f"Keras {name} of shape {tuple(value.permute(*range(2, dims + 2), 1, 0).shape)} does not fit "
                f"this cell, which needs {expected}; build the layer with the Keras layer's filters, "
                "kernel_size and input channels"
            )
    if cell.peephole or cell.norm is not None:
        raise ValueError("Keras' ConvLSTM has no peepholes or normalisation; build the cell without them")
    if (bias is None) != (cell.bias_ih is None):
        raise ValueError("pass bias exactly when the cell has one (Keras use_bias=True <-> bias=True)")
    with torch.no_grad():
        cell.weight_ih.copy_(w_ih)
        cell.weight_hh.copy_(w_hh)
        if cell.bias_ih is not None:
            b = _as_tensor("bias", bias, 1)
            if b.shape != cell.bias_ih.shape:
                raise ValueError(
                    f"Keras bias must have shape {tuple(cell.bias_ih.shape)}; received {tuple(b.shape)}"
                )
            cell.bias_ih.copy_(b)


def convlstm_from_keras(
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any = None,
    *,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    dilation_rate: int | Sequence[int] = 1,
    return_sequences: bool = True,
) -> _ConvLSTMNd:
    """A one-layer ConvLSTM (1-, 2- or 3-D from the kernel's rank) with a Keras layer's weights.

    The keyword arguments are the Keras layer's own (Keras' defaults); dilation follows Keras'
    rule (``dilation_rule="keras"``: only the input convolution is dilated). Stack several
    layers by calling this once per Keras layer and feeding each the previous one's output.
    """
    k = torch.as_tensor(kernel)
    dims = k.dim() - 2
    if dims not in _CLASSES:
        raise ValueError(
            f"a Keras ConvLSTM kernel has 3, 4 or 5 dimensions (*k, C_in, 4F); received shape {tuple(k.shape)}"
        )
    if k.shape[-1] % 4:
        raise ValueError(f"the kernel's last dimension holds 4 gates x filters; received {k.shape[-1]}")
    layer = _CLASSES[dims](
        int(k.shape[-2]),
        int(k.shape[-1]) // 4,
        kernel_size=tuple(int(s) for s in k.shape[:dims]),
        stride=strides,
        padding=padding,
        dilation=dilation_rate,
        dilation_rule="keras",
        bias=bias is not None,
        return_sequences=return_sequences,
    )
    layer.to(k.dtype)
    load_keras_convlstm(layer.cell(0), kernel, recurrent_kernel, bias)
    return layer


def load_keras_lstm(
    lstm: LSTM | nn.LSTM, kernel: Any, recurrent_kernel: Any, bias: Any = None, *, layer: int = 0
) -> None:
    """Copy a Keras ``LSTM`` layer's arrays into layer ``layer`` of ``lstm`` (forward direction).

    Keras has one bias per gate; it goes to ``bias_ih`` and ``bias_hh`` is zeroed.
    """
    w_ih = _as_tensor("kernel", kernel, 2).t()
    w_hh = _as_tensor("recurrent_kernel", recurrent_kernel, 2).t()
    if not hasattr(lstm, f"weight_ih_l{layer}"):
        raise ValueError(f"the LSTM has no layer {layer}; it has {lstm.num_layers}")
    weights = {name: getattr(lstm, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh")}
    biases = [getattr(lstm, f"{name}_l{layer}", None) for name in ("bias_ih", "bias_hh")]
    for name, value in (("weight_ih", w_ih), ("weight_hh", w_hh)):
        if value.shape != weights[name].shape:
            raise ValueError(
                f"Keras weights of shape {tuple(value.t().shape)} do not fit {name}_l{layer} of shape "
                f"{tuple(weights[name].shape)} (transposed); build the LSTM with the Keras layer's units"
            )
    if (bias is None) != (biases[0] is None):
        raise ValueError("pass bias exactly when the LSTM has biases (Keras use_bias=True <-> bias=True)")
    with torch.no_grad():
        weights["weight_ih"].copy_(w_ih)
        weights["weight_hh"].copy_(w_hh)
        if biases[0] is not None and biases[1] is not None:
            biases[0].copy_(_as_tensor("bias", bias, 1))
            biases[1].zero_()


def lstm_from_keras(kernel: Any, recurrent_kernel: Any, bias: Any = None) -> LSTM:
    """A batch-first one-layer :class:`cnnlstm.nn.LSTM` with a Keras ``LSTM`` layer's weights.

    Example:
        >>> import numpy as np
        >>> lstm = lstm_from_keras(np.zeros((3, 8), np.float32), np.zeros((2, 8), np.float32), np.zeros(8, np.float32))
        >>> lstm(torch.zeros(1, 4, 3))[0].shape
        torch.Size([1, 4, 2])
    """
    k = _as_tensor("kernel", kernel, 2)
    if k.shape[1] % 4:
        raise ValueError(f"the kernel's last dimension holds 4 gates x units; received {k.shape[1]}")
    lstm = LSTM(int(k.shape[0]), int(k.shape[1]) // 4, bias=bias is not None, batch_first=True, dtype=k.dtype)
    load_keras_lstm(lstm, kernel, recurrent_kernel, bias)
    return lstm
