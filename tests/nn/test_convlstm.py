"""ConvLSTM: equivalence to torch.nn.LSTM, hand-computed peepholes, paths, sequence properties, errors."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.nn import LSTM, ConvLSTM, ConvLSTM1d, ConvLSTMCell

ATOL = 1e-5


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("impl", ["fused", "split"])
def test_from_lstm_matches_torch_lstm_on_1x1_grid(num_layers, bidirectional, impl):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(4, 6, num_layers=num_layers, bidirectional=bidirectional, batch_first=True).eval()
    conv = ConvLSTM.from_lstm(ref).eval()
    conv.impl = impl
    x = torch.randn(3, 8, 4)
    out_ref, (h_ref, c_ref) = ref(x)
    out, state = conv(x[..., None, None])  # (B, T, C, 1, 1)
    torch.testing.assert_close(out[..., 0, 0], out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.stack([h for h, _ in state])[..., 0, 0], h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.stack([c for _, c in state])[..., 0, 0], c_ref, atol=ATOL, rtol=0)


def test_from_lstm_runs_the_lstm_at_every_position_and_accepts_ours():
    torch.manual_seed(1)
    ours = LSTM(3, 5, 2, batch_first=True).eval()
    conv = ConvLSTM.from_lstm(ours).eval()
    x = torch.randn(2, 6, 3, 4, 5)  # a 4×5 grid: a 1×1 kernel never mixes positions
    out, _ = conv(x)
    for i, j in [(0, 0), (3, 4), (2, 1)]:
        expected, _ = ours(x[:, :, :, i, j])
        torch.testing.assert_close(out[:, :, :, i, j], expected, atol=ATOL, rtol=0)


def test_from_lstm_1d():
    torch.manual_seed(2)
    ref = torch.nn.LSTM(2, 3, batch_first=True)
    conv = ConvLSTM1d.from_lstm(ref)
    x = torch.randn(2, 5, 2)
    torch.testing.assert_close(conv(x[..., None])[0][..., 0], ref(x)[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize("source", ["torch", "cnnlstm"])
def test_from_lstm_keeps_float64(source):
    """A float64 LSTM gives a float64 ConvLSTM: no weight is rounded through float32 on the way."""
    torch.manual_seed(3)
    cls = torch.nn.LSTM if source == "torch" else LSTM
    lstm = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64).eval()
    conv = ConvLSTM.from_lstm(lstm).eval()
    assert {p.dtype for p in conv.parameters()} == {torch.float64}
    assert {p.device for p in conv.parameters()} == {next(lstm.parameters()).device}
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out, state = conv(x[..., None, None])
    out_ref, (h_ref, _) = lstm(x)
    torch.testing.assert_close(out[..., 0, 0], out_ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(torch.stack([h for h, _ in state])[..., 0, 0], h_ref, atol=1e-10, rtol=1e-10)


def test_from_lstm_keeps_the_device():
    lstm = LSTM(3, 4, device="meta")
    assert {p.device.type for p in ConvLSTM.from_lstm(lstm).parameters()} == {"meta"}


def test_from_lstm_rejects_projection():
    with pytest.raises(ValueError, match="proj_size"):
        ConvLSTM.from_lstm(torch.nn.LSTM(2, 4, proj_size=2))


def test_peephole_hand_computed():
    """One channel, 1×1 kernel, 1×1 grid: the paper's equations with peepholes, by hand."""
    cell = ConvLSTMCell(in_channels=1, hidden_channels=1, kernel_size=1, peephole=True, forget_bias=0.0)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([0.5, 0.4, 0.3, 0.2]).view(4, 1, 1, 1))
        cell.weight_hh.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]).view(4, 1, 1, 1))
        cell.bias_ih.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))
        cell.weight_ci.fill_(0.7)
        cell.weight_cf.fill_(-0.3)
        cell.weight_co.fill_(0.9)
    x, h, c = 1.5, 0.2, -0.6
    sig = lambda v: torch.sigmoid(torch.tensor(v)).item()  # noqa: E731
    i = sig(0.5 * x + 0.1 * h + 0.7 * c + 0.1)
    f = sig(0.4 * x + 0.2 * h - 0.3 * c + 0.2)
    c_new = f * c + i * torch.tanh(torch.tensor(0.3 * x + 0.3 * h + 0.3)).item()
    o = sig(0.2 * x + 0.4 * h + 0.9 * c_new + 0.4)
    h_new = o * torch.tanh(torch.tensor(c_new)).item()
    t = lambda v: torch.full((1, 1, 1, 1), v)  # noqa: E731
    h_out, c_out = cell(t(x), (t(h), t(c)))
    assert c_out.item() == pytest.approx(c_new, abs=1e-6)
    assert h_out.item() == pytest.approx(h_new, abs=1e-6)


def test_spatial_peephole_weights_have_the_state_shape():
    layer = ConvLSTM(2, 4, 3, peephole=True, peephole_size=(8, 8))
    assert layer.cells[0].weight_ci.shape == (4, 8, 8)
    out, _ = layer(torch.randn(1, 3, 2, 8, 8))
    assert out.shape == (1, 3, 4, 8, 8)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(peephole=True),
        dict(norm="layer"),
        dict(norm="group", norm_groups=2),
        dict(dilation=2),
        dict(bidirectional=True),
        dict(kernel_size=[5, 3], hidden_channels=[4, 6]),
    ],
)
def test_execution_paths_agree(kwargs):
    torch.manual_seed(3)
    kw = dict(hidden_channels=[4, 4], kernel_size=3) | kwargs
    layer = ConvLSTM(3, **kw).eval()
    with torch.no_grad():  # non-trivial peepholes and biases
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(2, 5, 3, 9, 7)
    layer.impl = "fused"
    a, sa = layer(x)
    for impl, channels_last in [("split", False), ("fused", True), ("split", True)]:
        layer.impl, layer.channels_last = impl, channels_last
        b, sb = layer(x)
        torch.testing.assert_close(a, b, atol=ATOL, rtol=0)
        for (ha, ca), (hb, cb) in zip(sa, sb, strict=True):
            torch.testing.assert_close(ha, hb, atol=ATOL, rtol=0)
            torch.testing.assert_close(ca, cb, atol=ATOL, rtol=0)
    assert sb[0][0].is_contiguous(memory_format=torch.channels_last)  # the layout was really used


def test_channels_last_gradients_equal_the_default_layout():
    torch.manual_seed(4)
    x = torch.randn(2, 4, 3, 8, 8, requires_grad=True)
    grads = []
    for channels_last in (False, True):
        torch.manual_seed(5)
        layer = ConvLSTM(3, [4, 6], 3, impl="split", channels_last=channels_last)
        out, _ = layer(x)
        out.square().mean().backward()
        grads.append([x.grad.clone()] + [p.grad for p in layer.parameters()])
        x.grad = None
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="channels_last needs 2-D maps"):
        ConvLSTM1d(3, 4, channels_last=True)


def test_shapes_lists_and_return_sequences():
    layer = ConvLSTM(3, [8, 16], kernel_size=[5, 3])
    assert layer.num_layers == 2 and layer.out_channels == 16
    x = torch.randn(2, 7, 3, 12, 10)
    out, state = layer(x)
    assert out.shape == (2, 7, 16, 12, 10)
    assert [tuple(h.shape) for h, _ in state] == [(2, 8, 12, 10), (2, 16, 12, 10)]
    last_only = ConvLSTM(3, [8, 16], kernel_size=[5, 3], return_sequences=False)
    last_only.load_state_dict(layer.state_dict())
    last, _ = last_only(x)
    torch.testing.assert_close(last, out[:, -1])


def test_bidirectional_output_is_forward_then_reversed_backward():
    torch.manual_seed(4)
    layer = ConvLSTM(2, 3, 3, bidirectional=True).eval()
    x = torch.randn(2, 6, 2, 5, 5)
    out, state = layer(x)
    assert out.shape == (2, 6, 6, 5, 5) and len(state) == 2
    forward_only = ConvLSTM(2, 3, 3).eval()
    forward_only.cells[0].load_state_dict(layer.cells[0].state_dict())
    torch.testing.assert_close(out[:, :, :3], forward_only(x)[0], atol=ATOL, rtol=0)
    backward_only = ConvLSTM(2, 3, 3).eval()
    backward_only.cells[0].load_state_dict(layer.cells[1].state_dict())
    torch.testing.assert_close(out[:, :, 3:], backward_only(x.flip(1))[0].flip(1), atol=ATOL, rtol=0)
    summary = ConvLSTM(2, 3, 3, bidirectional=True, return_sequences=False).eval()
    summary.load_state_dict(layer.state_dict())
    torch.testing.assert_close(summary(x)[0], torch.cat([out[:, -1, :3], out[:, 0, 3:]], 1))


@pytest.mark.parametrize("impl", ["fused", "split"])
def test_chunked_sequence_equals_whole(impl):
    torch.manual_seed(5)
    layer = ConvLSTM(2, [4, 5], 3, peephole=True, impl=impl).eval()
    x = torch.randn(2, 9, 2, 6, 6)
    whole, final = layer(x)
    first, state = layer(x[:, :4])
    second, final_chunked = layer(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=1e-6, rtol=0)
    for (h1, c1), (h2, c2) in zip(final, final_chunked, strict=True):
        torch.testing.assert_close(h1, h2, atol=1e-6, rtol=0)
        torch.testing.assert_close(c1, c2, atol=1e-6, rtol=0)


def test_causal():
    torch.manual_seed(6)
    layer = ConvLSTM(2, [4, 4], 3).eval()
    x = torch.randn(1, 8, 2, 6, 6)
    changed = x.clone()
    changed[:, 5:] += torch.randn(1, 3, 2, 6, 6)
    a, _ = layer(x)
    b, _ = layer(changed)
    torch.testing.assert_close(a[:, :5], b[:, :5], atol=0, rtol=0)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_batch_independent_with_norm():
    torch.manual_seed(7)
    layer = ConvLSTM(2, [4, 4], 3, norm="layer").eval()
    x = torch.randn(4, 5, 2, 6, 6)
    batched, _ = layer(x)
    for i in range(4):
        torch.testing.assert_close(layer(x[i : i + 1])[0][0], batched[i], atol=1e-5, rtol=0)


def test_forget_bias_initialisation():
    cell = ConvLSTM(2, 3, 3, forget_bias=1.0).cells[0]
    assert torch.equal(cell.bias_ih, torch.tensor([0.0] * 3 + [1.0] * 3 + [0.0] * 6))


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(8)
    layer = ConvLSTM(2, [4, 4], 3, dropout=0.5)
    x = torch.randn(1, 3, 2, 5, 5)
    layer.eval()
    torch.testing.assert_close(layer(x)[0], layer(x)[0])
    layer.train()
    assert not torch.allclose(layer(x)[0], layer(x)[0])


def test_gradients_reach_every_parameter():
    layer = ConvLSTM(2, [3, 3], 3, peephole=True, norm="layer", bidirectional=True)
    out, _ = layer(torch.randn(2, 4, 2, 5, 5))
    out.sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_1d_variant_shapes():
    layer = ConvLSTM1d(3, [4, 6], kernel_size=5)
    out, state = layer(torch.randn(2, 7, 3, 20))
    assert out.shape == (2, 7, 6, 20) and state[1][0].shape == (2, 6, 20)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kernel_size=(3,)), r"received kernel_size=\(3,\)"),
        (dict(padding="full"), "padding='full'"),
        (dict(padding=-1), "padding=-1"),
        (dict(stride=2, dilation=2), "stride > 1 and dilation > 1"),
        (dict(dilation_rule="tf"), "dilation_rule='tf'"),
        (dict(recurrent_dropout=1.0), "recurrent_dropout=1.0"),
        (dict(zoneout=-0.5), "zoneout=-0.5"),
        (dict(norm="layer_split", norm_size=(4,)), r"norm_size=\(4,\)"),
        (dict(hidden_channels=[4, 4], num_layers=3), "num_layers=3"),
        (dict(hidden_channels=0), "hidden_channels=0"),
        (dict(dropout=-0.1), "dropout=-0.1"),
        (dict(norm="batch"), "norm='batch'"),
        (dict(norm="group", norm_groups=3), "norm_groups=3"),
        (dict(impl="cuda"), "impl='cuda'"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    kw = dict(in_channels=2, hidden_channels=4, kernel_size=3) | kwargs
    with pytest.raises(ValueError, match=match):
        ConvLSTM(**kw)


def test_bad_inputs_raise():
    layer = ConvLSTM(2, [4, 4], 3)
    with pytest.raises(ValueError, match=r"C=2; received \(1, 3, 5, 8, 8\)"):
        layer(torch.randn(1, 3, 5, 8, 8))
    with pytest.raises(ValueError, match=r"received \(1, 2, 8, 8\)"):
        layer(torch.randn(1, 2, 8, 8))
    x = torch.randn(1, 3, 2, 8, 8)
    with pytest.raises(ValueError, match="one \\(h, c\\) per layer"):
        layer(x, [(torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 8, 8))])
    with pytest.raises(ValueError, match=r"state\[1\]"):
        layer(x, [(torch.zeros(1, 4, 8, 8),) * 2, (torch.zeros(1, 4, 4, 4),) * 2])


@pytest.mark.parametrize("impl", ["fused", "split"])
def test_bf16_autocast_on_cpu_stays_within_bf16_tolerance(impl):
    torch.manual_seed(0)
    layer = ConvLSTM(4, [8, 8], 3, impl=impl)
    x = torch.randn(2, 5, 4, 12, 12)
    reference, _ = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed, _ = layer(x)
    # the convolutions ran in bf16 (the state stays float32, so the output is float32)
    assert not torch.equal(mixed.float(), reference)
    # bf16 keeps 8 bits of mantissa: outputs in (-1, 1) agree to a few 1e-2 over 5 steps
    torch.testing.assert_close(mixed.float(), reference, rtol=0, atol=5e-2)
    assert (mixed.float() - reference).abs().mean() < 1e-2
    mixed.float().square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
