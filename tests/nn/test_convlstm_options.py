"""ConvLSTM options against plain loops of the published equations written here.

The reference pads and convolves with ``F.pad`` + ``F.conv*d(padding=0)`` from the rule Keras
documents for ``"same"`` (``ceil(n / s)`` outputs, the extra position padded after), so it does
not share the layer's padding code.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlstm.nn import LSTM, ConvLSTM, ConvLSTM1d, ConvLSTM3d

ATOL = 1e-5
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def pad_input(x, kernel, stride, dilation, padding):
    """``x`` (N, C, *S) padded for a convolution with padding 'same' / 'valid' / int."""
    dims = x.dim() - 2
    if padding == "valid":
        return x
    pads = []
    for i in range(dims):
        n = x.shape[2 + i]
        if padding == "same":
            out = math.ceil(n / stride[i])
            total = max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((padding, padding))
    return F.pad(x, [p for pair in reversed(pads) for p in pair])


def reference_step(cell, x_t, h, c, *, recurrent_mask=None, norms=None):
    """Shi et al.'s equations (no peepholes) with the cell's weights and geometry."""
    dims = x_t.dim() - 2
    k, s, d = cell.kernel_size, cell.stride, cell.dilation
    d_h = d if cell.dilation_rule == "both" else (1,) * dims
    conv = CONV[dims]
    padding = cell.padding if isinstance(cell.padding, str) else cell.padding[0]
    gx = conv(pad_input(x_t, k, s, d, padding), cell.weight_ih, None, s, 0, d)
    h_in = h if recurrent_mask is None else h * recurrent_mask
    gh = conv(pad_input(h_in, k, (1,) * dims, d_h, "same"), cell.weight_hh, None, 1, 0, d_h)
    if norms is not None:
        gx, gh = norms[0](gx), norms[1](gh)
    pre = gx + gh + cell.bias_ih.view(-1, *([1] * dims))
    i, f, g, o = pre.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def reference_run(cell, x, **kwargs):
    b = x.shape[0]
    size = cell.state_size(x.shape[3:])
    h = c = torch.zeros(b, cell.hidden_channels, *size)
    outs = []
    for t in range(x.shape[1]):
        h, c = reference_step(cell, x[:, t], h, c, **kwargs)
        outs.append(h)
    return torch.stack(outs, 1), (h, c)


GEOMETRIES = [
    dict(kernel_size=4, padding="same"),  # even kernel: one more position padded after
    dict(kernel_size=(2, 3), padding="same", stride=2),
    dict(kernel_size=3, padding="valid"),
    dict(kernel_size=3, padding=2, stride=(1, 2)),
    dict(kernel_size=3, dilation=2, dilation_rule="keras"),
    dict(kernel_size=3, dilation=(2, 1), dilation_rule="both"),
    dict(kernel_size=4, stride=3, padding="valid"),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "-".join(f"{k}={v}" for k, v in g.items()))
def test_geometry_matches_reference_loop(geometry):
    torch.manual_seed(0)
    layer = ConvLSTM(2, 3, **geometry).eval()
    torch.nn.init.normal_(layer.cell(0).bias_ih, std=0.5)
    x = torch.randn(2, 4, 2, 9, 10)
    out, [(h, c)] = layer(x)
    ref_out, (ref_h, ref_c) = reference_run(layer.cell(0), x)
    assert out.shape == ref_out.shape
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close((h, c), (ref_h, ref_c), atol=ATOL, rtol=0)


def test_same_padding_with_stride_gives_ceil_sizes_and_stacks_shrink_layer_by_layer():
    layer = ConvLSTM(1, [2, 3], kernel_size=3, stride=[2, 1], padding=["same", "valid"])
    out, state = layer(torch.randn(1, 2, 1, 17, 12))
    assert out.shape == (1, 2, 3, 7, 4)  # 17 -> 9 -> 7, 12 -> 6 -> 4
    assert [tuple(h.shape[-2:]) for h, _ in state] == [(9, 6), (7, 4)]
    assert [tuple(h.shape) for h, _ in layer.zero_state(1, (17, 12))] == [tuple(h.shape) for h, _ in state]


@pytest.mark.parametrize("cls, size", [(ConvLSTM1d, (11,)), (ConvLSTM3d, (3, 5, 4))])
def test_1d_and_3d_strided_even_kernels_match_reference_loop(cls, size):
    torch.manual_seed(1)
    layer = cls(2, 3, kernel_size=2, stride=2).eval()
    x = torch.randn(2, 3, 2, *size)
    out, _ = layer(x)
    torch.testing.assert_close(out, reference_run(layer.cell(0), x)[0], atol=ATOL, rtol=0)


def test_convlstm3d_from_lstm_matches_torch_lstm_on_a_single_voxel():
    torch.manual_seed(2)
    ref = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    conv = ConvLSTM3d.from_lstm(ref)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(conv(x[..., None, None, None])[0][..., 0, 0, 0], ref(x)[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_match_lstm_semantics_on_a_1x1_grid(bidirectional):
    """From an LSTM, a ConvLSTM with lengths computes exactly what our LSTM with lengths does."""
    torch.manual_seed(3)
    lstm = LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional).eval()
    conv = ConvLSTM.from_lstm(lstm).eval()
    x = torch.randn(3, 6, 3)
    lengths = torch.tensor([6, 2, 4])
    ref_out, (ref_h, ref_c) = lstm(x, lengths=lengths)
    out, state = conv(x[..., None, None], lengths=lengths)
    torch.testing.assert_close(out[..., 0, 0], ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.stack([h for h, _ in state])[..., 0, 0], ref_h, atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.stack([c for _, c in state])[..., 0, 0], ref_c, atol=ATOL, rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_equal_running_each_sample_on_its_valid_steps(bidirectional):
    torch.manual_seed(4)
    layer = ConvLSTM(2, [3, 3], kernel_size=3, bidirectional=bidirectional, stride=[2, 1]).eval()
    x = torch.randn(3, 5, 2, 8, 8)
    lengths = torch.tensor([2, 5, 3])
    out, state = layer(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, alone_state = layer(x[b : b + 1, :n])
        torch.testing.assert_close(out[b : b + 1, :n], alone, atol=ATOL, rtol=0)
        assert torch.count_nonzero(out[b, n:]) == 0  # outputs past the length are zeros
        for (h, c), (h1, c1) in zip(state, alone_state, strict=True):
            torch.testing.assert_close((h[b : b + 1], c[b : b + 1]), (h1, c1), atol=ATOL, rtol=0)


def test_lengths_with_return_sequences_false_give_the_state_at_each_last_valid_step():
    torch.manual_seed(5)
    layer = ConvLSTM(1, 2, return_sequences=False).eval()
    x = torch.randn(2, 4, 1, 5, 5)
    last, _ = layer(x, lengths=torch.tensor([4, 1]))
    torch.testing.assert_close(last[1:], layer(x[1:, :1])[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize("impl", ["fused", "split"])
def test_recurrent_dropout_uses_one_mask_for_the_whole_sequence(impl):
    torch.manual_seed(6)
    layer = ConvLSTM(2, 3, recurrent_dropout=0.5, impl=impl).train()
    x = torch.randn(2, 5, 2, 6, 6)
    torch.manual_seed(7)
    out, _ = layer(x)
    torch.manual_seed(7)
    mask = F.dropout(torch.ones(2, 3, 6, 6), p=0.5, training=True)  # drawn once, before step 1
    ref, _ = reference_run(layer.cell(0), x, recurrent_mask=mask)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    no_drop, _ = reference_run(layer.cell(0), x)
    assert (out - no_drop).abs().max() > 1e-3  # the mask did act
    torch.testing.assert_close(layer.eval()(x)[0], no_drop, atol=ATOL, rtol=0)  # and is off in eval


def test_zoneout_keeps_units_with_a_fresh_mask_per_step_and_averages_in_eval():
    torch.manual_seed(8)
    layer = ConvLSTM(2, 3, zoneout=0.3).train()
    cell = layer.cell(0)
    x = torch.randn(2, 4, 2, 5, 5)

    def run(draw):
        h = c = torch.zeros(2, 3, 5, 5)
        outs = []
        for t in range(x.shape[1]):
            h_new, c_new = reference_step(cell, x[:, t], h, c)
            kh, kc = draw(h_new), draw(c_new)
            h, c = kh * h + (1 - kh) * h_new, kc * c + (1 - kc) * c_new
            outs.append(h)
        return torch.stack(outs, 1)

    torch.manual_seed(9)
    out, _ = layer(x)
    torch.manual_seed(9)
    torch.testing.assert_close(out, run(lambda t: (torch.rand_like(t) < 0.3).float()), atol=ATOL, rtol=0)
    out_eval, _ = layer.eval()(x)
    torch.testing.assert_close(out_eval, run(lambda t: torch.full_like(t, 0.3)), atol=ATOL, rtol=0)


def test_return_all_layers_returns_every_layer_output():
    torch.manual_seed(10)
    layer = ConvLSTM(2, [3, 4], return_all_layers=True).eval()
    x = torch.randn(2, 3, 2, 6, 6)
    outs, _ = layer(x)
    assert [o.shape[2] for o in outs] == [3, 4]
    first = ConvLSTM(2, 3).eval()
    first.cells[0].load_state_dict(layer.cells[0].state_dict())
    torch.testing.assert_close(outs[0], first(x)[0])
    layer.return_all_layers = False
    torch.testing.assert_close(outs[1], layer(x)[0])
    layer.return_all_layers, layer.return_sequences = True, False
    lasts, state = layer(x)
    torch.testing.assert_close(lasts, [h for h, _ in state])


@pytest.mark.parametrize("per_position", [True, False])
def test_layer_split_norm_matches_openstl_equations(per_position):
    """OpenSTL's ConvLSTM cell: LayerNorm([4H, H, W]) on each convolution, then the gates."""
    torch.manual_seed(11)
    kwargs = dict(norm_size=(6, 6)) if per_position else {}
    layer = ConvLSTM(2, 3, norm="layer_split", **kwargs).eval()
    cell = layer.cell(0)
    for p in cell.parameters():
        torch.nn.init.normal_(p, std=0.3)
    if per_position:
        norm_x, norm_h = torch.nn.LayerNorm([12, 6, 6]), torch.nn.LayerNorm([12, 6, 6])
        norm_x.load_state_dict(cell.norm.state_dict())
        norm_h.load_state_dict(cell.norm_h.state_dict())
    else:  # one affine per channel over the LayerNorm of (4H, H, W)

        def per_channel(module):
            return lambda g: (
                F.layer_norm(g, g.shape[1:]) * module.weight.view(-1, 1, 1) + module.bias.view(-1, 1, 1)
            )

        norm_x, norm_h = per_channel(cell.norm), per_channel(cell.norm_h)
    x = torch.randn(2, 4, 2, 6, 6)
    out, _ = layer(x)
    torch.testing.assert_close(out, reference_run(cell, x, norms=(norm_x, norm_h))[0], atol=ATOL, rtol=0)


STREAMED = [
    dict(kernel_size=4, stride=2),
    dict(padding="valid", num_layers=2, hidden_channels=[3, 3]),
    dict(dilation=2, dilation_rule="keras"),
    dict(zoneout=0.2, norm="layer_split"),
    dict(recurrent_dropout=0.4, peephole=True),
]


@pytest.mark.parametrize("options", STREAMED, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_step_by_step_with_carried_state_equals_the_forward(options):
    torch.manual_seed(12)
    kwargs = dict(hidden_channels=3) | options
    layer = ConvLSTM(2, **kwargs).eval()
    x = torch.randn(2, 5, 2, 9, 9)
    out, final = layer(x)
    state = None
    for t in range(5):
        step, state = layer(x[:, t : t + 1], state)
        torch.testing.assert_close(step[:, 0], out[:, t], atol=ATOL, rtol=0)
    torch.testing.assert_close(state, final, atol=ATOL, rtol=0)


def test_fused_and_split_agree_with_every_option_that_allows_fusing():
    torch.manual_seed(13)
    layer = ConvLSTM(2, [3, 3], dilation=2, padding=2, zoneout=0.1, peephole=True, norm="layer").eval()
    assert all(cell.fusable for cell in layer.cells)
    x = torch.randn(2, 4, 2, 7, 7)
    layer.impl = "fused"
    fused = layer(x, lengths=torch.tensor([4, 2]))[0]
    layer.impl = "split"
    torch.testing.assert_close(fused, layer(x, lengths=torch.tensor([4, 2]))[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "lengths, match",
    [
        (torch.tensor([1]), r"lengths must have shape \(2,\)"),
        (torch.tensor([0, 3]), r"lengths must lie in \[1, 3\]"),
    ],
)
def test_bad_lengths_raise(lengths, match):
    with pytest.raises(ValueError, match=match):
        ConvLSTM(1, 2)(torch.randn(2, 3, 1, 4, 4), lengths=lengths)


def test_maps_too_small_for_valid_padding_raise_a_clear_error():
    with pytest.raises(ValueError, match=r"maps of size \(2, 2\) are too small"):
        ConvLSTM(1, 2, kernel_size=3, padding="valid")(torch.randn(1, 2, 1, 2, 2))
