"""Keras weight arrays carried over: ours against numpy versions of Keras' ConvLSTM and LSTM.

The numpy layers follow Keras 3's ``ConvLSTMCell``/``LSTMCell`` with channels-last data: the
kernel split into i, f, c, o blocks along its last axis, the input convolution with the layer's
strides, padding and dilation (TensorFlow's "same": the extra position padded after), the
recurrent one with stride 1, "same" and no dilation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlstm.nn.keras_weights import convlstm_from_keras, load_keras_convlstm, lstm_from_keras


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_conv(x, kernel, strides, padding, dilation):
    """Channels-last cross-correlation: ``x`` (B, *S, C), ``kernel`` (*k, C, F)."""
    dims = x.ndim - 2
    ks = kernel.shape[:dims]
    pads = [(0, 0)]
    for i in range(dims):
        n = x.shape[1 + i]
        if padding == "same":
            out = -(-n // strides[i])
            total = max((out - 1) * strides[i] + (ks[i] - 1) * dilation[i] + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    x = np.pad(x, [*pads, (0, 0)])
    size = [(x.shape[1 + i] - dilation[i] * (ks[i] - 1) - 1) // strides[i] + 1 for i in range(dims)]
    out = np.zeros((x.shape[0], *size, kernel.shape[-1]))
    for offset in np.ndindex(*ks):
        window = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, s, n in zip(offset, dilation, strides, size, strict=True)
        )
        out += x[(slice(None), *window, slice(None))] @ kernel[offset]
    return out


def keras_convlstm(x, kernel, recurrent_kernel, bias, strides, padding, dilation):
    """Keras' ConvLSTM over ``x`` (B, T, *S, C); returns the sequence of h (B, T, *S', F)."""
    dims = x.ndim - 3
    filters = kernel.shape[-1] // 4
    h = c = None
    outs = []
    for t in range(x.shape[1]):
        xc = np_conv(x[:, t], kernel, strides, padding, dilation) + bias
        if h is None:
            h = c = np.zeros((*xc.shape[:-1], filters))
        hc = np_conv(h, recurrent_kernel, (1,) * dims, "same", (1,) * dims)
        x_i, x_f, x_c, x_o = np.split(xc, 4, axis=-1)
        h_i, h_f, h_c, h_o = np.split(hc, 4, axis=-1)
        i, f, o = sigmoid(x_i + h_i), sigmoid(x_f + h_f), sigmoid(x_o + h_o)
        c = f * c + i * np.tanh(x_c + h_c)
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1)


CASES = [
    ((9,), dict(kernel=3, strides=1, padding="valid", dilation=1)),
    ((10,), dict(kernel=4, strides=2, padding="same", dilation=1)),
    ((7, 8), dict(kernel=3, strides=1, padding="same", dilation=1)),
    ((7, 8), dict(kernel=2, strides=2, padding="same", dilation=1)),
    ((9, 9), dict(kernel=3, strides=1, padding="valid", dilation=2)),
    ((9, 9), dict(kernel=3, strides=1, padding="same", dilation=2)),
    ((4, 5, 6), dict(kernel=2, strides=1, padding="same", dilation=1)),
]


@pytest.mark.parametrize("size, geometry", CASES, ids=lambda c: str(c))
def test_convlstm_from_keras_arrays_matches_keras_equations(size, geometry):
    rng = np.random.default_rng(0)
    dims, c_in, filters = len(size), 2, 3
    ks = (geometry["kernel"],) * dims
    kernel = rng.normal(0, 0.4, (*ks, c_in, 4 * filters))
    recurrent = rng.normal(0, 0.4, (*ks, filters, 4 * filters))
    bias = rng.normal(0, 0.4, 4 * filters)
    x = rng.normal(0, 1, (2, 4, *size, c_in))  # Keras' channels_last (B, T, *S, C)
    strides, dilation = (geometry["strides"],) * dims, (geometry["dilation"],) * dims
    expected = keras_convlstm(x, kernel, recurrent, bias, strides, geometry["padding"], dilation)

    layer = convlstm_from_keras(
        kernel, recurrent, bias, strides=strides, padding=geometry["padding"], dilation_rate=dilation
    )
    ours, _ = layer(torch.from_numpy(np.moveaxis(x, -1, 2)))  # (B, T, C, *S)
    np.testing.assert_allclose(np.moveaxis(ours.detach().numpy(), 2, -1), expected, atol=1e-10, rtol=0)


def test_keras_lstm_arrays_match_keras_equations():
    rng = np.random.default_rng(1)
    kernel, recurrent, bias = rng.normal(0, 0.5, (3, 8)), rng.normal(0, 0.5, (2, 8)), rng.normal(0, 0.5, 8)
    x = rng.normal(0, 1, (2, 5, 3))
    h = c = np.zeros((2, 2))
    expected = []
    for t in range(5):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        expected.append(h)
    ours, _ = lstm_from_keras(kernel, recurrent, bias)(torch.from_numpy(x))
    np.testing.assert_allclose(ours.detach().numpy(), np.stack(expected, 1), atol=1e-10, rtol=0)


def test_keras_arrays_of_the_wrong_shape_are_refused_with_the_expected_shape():
    layer = convlstm_from_keras(np.zeros((3, 3, 2, 8)), np.zeros((3, 3, 2, 8)), np.zeros(8))
    with pytest.raises(ValueError, match=r"needs \(3, 3, 2, 8\)"):
        load_keras_convlstm(layer.cell(0), np.zeros((3, 3, 1, 8)), np.zeros((3, 3, 2, 8)), np.zeros(8))
    with pytest.raises(ValueError, match="4 gates"):
        convlstm_from_keras(np.zeros((3, 3, 2, 6)), np.zeros((3, 3, 2, 6)))
    with pytest.raises(ValueError, match="pass bias exactly"):
        load_keras_convlstm(layer.cell(0), np.zeros((3, 3, 2, 8)), np.zeros((3, 3, 2, 8)))
