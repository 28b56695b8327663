"""ConvGRU and PredRNN's spatiotemporal LSTM against plain loops of the papers' equations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlstm.nn import STLSTM, ConvGRU, ConvGRU1d

ATOL = 1e-5


def conv(x, w):
    return F.conv2d(x, w, None, 1, w.shape[-1] // 2)


def reference_convgru(layer, x):
    """Ballas et al. eq. 4-7, layer by layer; gate order of the weights (r, z, n)."""
    for cell in layer.cells:
        hid = cell.hidden_channels
        w_r, w_z, w_n = cell.weight_ih.split(hid)
        u_r, u_z, u_n = cell.weight_hh.split(hid)
        b_r, b_z, b_n = (b.view(1, -1, 1, 1) for b in cell.bias_ih.split(hid))
        h = torch.zeros(x.shape[0], hid, *x.shape[3:])
        outs = []
        for t in range(x.shape[1]):
            x_t = x[:, t]
            z = torch.sigmoid(conv(x_t, w_z) + conv(h, u_z) + b_z)
            r = torch.sigmoid(conv(x_t, w_r) + conv(h, u_r) + b_r)
            candidate = torch.tanh(conv(x_t, w_n) + conv(r * h, u_n) + b_n)
            h = (1 - z) * h + z * candidate
            outs.append(h)
        x = torch.stack(outs, 1)
    return x


def randomize(module):
    torch.manual_seed(1)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.3)


@pytest.mark.parametrize("impl", ["fused", "split"])
def test_convgru_matches_the_papers_equations(impl):
    layer = ConvGRU(2, [3, 4], kernel_size=[3, 5], impl=impl).eval()
    randomize(layer)
    x = torch.randn(2, 5, 2, 7, 6)
    out, state = layer(x)
    ref = reference_convgru(layer, x)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(state[-1], ref[:, -1], atol=ATOL, rtol=0)


@pytest.mark.parametrize("impl", ["fused", "split"])
def test_convgru_streams_and_masks_like_convlstm(impl):
    layer = ConvGRU(2, [3, 3], zoneout=0.2, impl=impl).eval()
    x = torch.randn(3, 4, 2, 5, 5)
    out, final = layer(x)
    state = None
    for t in range(4):
        step, state = layer(x[:, t : t + 1], state)
        torch.testing.assert_close(step[:, 0], out[:, t], atol=ATOL, rtol=0)
    torch.testing.assert_close(state, final, atol=ATOL, rtol=0)
    lengths = torch.tensor([4, 1, 3])
    masked, masked_state = layer(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, alone_state = layer(x[b : b + 1, :n])
        torch.testing.assert_close(masked[b : b + 1, :n], alone, atol=ATOL, rtol=0)
        assert torch.count_nonzero(masked[b, n:]) == 0
        torch.testing.assert_close([s[b : b + 1] for s in masked_state], alone_state, atol=ATOL, rtol=0)


@pytest.mark.parametrize("impl", ["fused", "split"])
def test_convgru_recurrent_dropout_draws_one_mask_per_layer_and_sequence(impl):
    layer = ConvGRU(2, 3, recurrent_dropout=0.5, impl=impl).train()
    randomize(layer)
    x = torch.randn(2, 4, 2, 5, 5)
    torch.manual_seed(3)
    out, _ = layer(x)
    torch.manual_seed(3)
    mask = F.dropout(torch.ones(2, 3, 5, 5), p=0.5, training=True)
    cell = layer.cell(0)
    h = torch.zeros(2, 3, 5, 5)
    for t in range(4):
        h = cell.update(cell.input_gates(x[:, t]), h, h * mask)
        torch.testing.assert_close(out[:, t], h, atol=ATOL, rtol=0)


def test_convgru1d_runs_on_signals():
    out, _ = ConvGRU1d(2, 3, kernel_size=4)(torch.randn(2, 5, 2, 9))
    assert out.shape == (2, 5, 3, 9)


def reference_predrnn(layer, x):
    """PredRNN eq. 3 with the zig-zag: M goes up the layers, then from the top to the bottom."""
    hid = layer.hidden_channels[0]
    b, steps = x.shape[:2]
    zeros = torch.zeros(b, hid, *x.shape[3:])
    h = [zeros] * layer.num_layers
    c = [zeros] * layer.num_layers
    m = zeros
    outs = []
    for t in range(steps):
        below = x[:, t]
        for layer_index, cell in enumerate(layer.cells):
            w = dict(zip(["i", "f", "g", "i'", "f'", "g'", "o"], cell.weight_x.split(hid), strict=True))
            bias = dict(
                zip(
                    ["i", "f", "g", "i'", "f'", "g'", "o"],
                    (v.view(1, -1, 1, 1) for v in cell.bias.split(hid)),
                    strict=True,
                )
            )
            w_hi, w_hf, w_hg, w_ho = cell.weight_h.split(hid)
            w_mi, w_mf, w_mg = cell.weight_m.split(hid)
            hp, cp = h[layer_index], c[layer_index]
            g = torch.tanh(conv(below, w["g"]) + conv(hp, w_hg) + bias["g"])
            i = torch.sigmoid(conv(below, w["i"]) + conv(hp, w_hi) + bias["i"])
            f = torch.sigmoid(conv(below, w["f"]) + conv(hp, w_hf) + bias["f"])
            c_new = f * cp + i * g
            g2 = torch.tanh(conv(below, w["g'"]) + conv(m, w_mg) + bias["g'"])
            i2 = torch.sigmoid(conv(below, w["i'"]) + conv(m, w_mi) + bias["i'"])
            f2 = torch.sigmoid(conv(below, w["f'"]) + conv(m, w_mf) + bias["f'"])
            m = f2 * m + i2 * g2
            w_oc, w_om = cell.weight_o.split(hid, dim=1)
            o = torch.sigmoid(
                conv(below, w["o"]) + conv(hp, w_ho) + conv(c_new, w_oc) + conv(m, w_om) + bias["o"]
            )
            h[layer_index] = o * torch.tanh(conv(torch.cat([c_new, m], 1), cell.weight_last))
            c[layer_index] = c_new
            below = h[layer_index]
        outs.append(below)
    return torch.stack(outs, 1), m


@pytest.mark.parametrize("impl", ["per_step", "batched"])
def test_stlstm_matches_predrnn_equations_with_the_zigzag_memory(impl):
    layer = STLSTM(2, [4, 4, 4], kernel_size=[3, 5, 3], impl=impl).eval()
    randomize(layer)
    x = torch.randn(2, 4, 2, 6, 7)
    out, (_, m) = layer(x)
    ref_out, ref_m = reference_predrnn(layer, x)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(m, ref_m, atol=ATOL, rtol=0)


def test_stlstm_streams_with_carried_state_and_flat_state_round_trips():
    layer = STLSTM(1, [3, 3]).eval()
    x = torch.randn(2, 5, 1, 6, 6)
    out, final = layer(x)
    flat = STLSTM.flat_state(layer.zero_state(2, (6, 6)))
    for t in range(5):
        step, state = layer(x[:, t : t + 1], STLSTM.unflat_state(flat))
        flat = STLSTM.flat_state(state)
        torch.testing.assert_close(step[:, 0], out[:, t], atol=ATOL, rtol=0)
    torch.testing.assert_close(flat, STLSTM.flat_state(final), atol=ATOL, rtol=0)


def test_decoupling_loss_is_the_mean_abs_cosine_of_the_adapted_increments():
    torch.manual_seed(4)
    layer = STLSTM(1, 3, decoupling_adapter=True)
    x = torch.randn(2, 3, 1, 5, 5)
    _, _, loss = layer(x, return_decoupling=True)
    cell = layer.cell(0)
    h = c = m = torch.zeros(2, 3, 5, 5)
    values = []
    for t in range(3):
        h, c, m, dc, dm = cell(x[:, t], h, c, m)
        a, b = layer.adapter(dc).flatten(2), layer.adapter(dm).flatten(2)
        cos = (a * b).sum(2) / (a.norm(dim=2) * b.norm(dim=2))
        values.append(cos.abs().mean())
    torch.testing.assert_close(loss, torch.stack(values).mean(), atol=ATOL, rtol=0)
    loss.backward()
    assert layer.adapter.weight.grad is not None and layer.adapter.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: STLSTM(1, [4, 8]), "same hidden_channels"),
        (lambda: ConvGRU(1, 0), "hidden_channels=0"),
        (lambda: ConvGRU(1, 2, recurrent_dropout=1.0), "recurrent_dropout=1.0"),
    ],
)
def test_bad_arguments_raise(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_decoupling_without_adapter_and_bad_states_raise():
    with pytest.raises(ValueError, match="decoupling_adapter=True"):
        STLSTM(1, 2)(torch.randn(1, 2, 1, 4, 4), return_decoupling=True)
    with pytest.raises(ValueError, match="one H per layer"):
        ConvGRU(1, 2)(torch.randn(1, 2, 1, 4, 4), [torch.zeros(1, 2, 3, 3)])
