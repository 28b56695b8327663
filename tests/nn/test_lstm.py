"""cnnlstm.nn.LSTM / LSTMCell against torch.nn.LSTM, hand-computed values and sequence properties."""

from __future__ import annotations

import inspect
import math
import typing

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from cnnlstm.nn import LSTM, LSTMCell
from cnnlstm.nn.lstm import lstm_step

ATOL = 1e-5

# torch.nn.LSTM (the reference) says so on CPU builds with oneDNN whenever proj_size > 0.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")


def _pair(**kwargs):
    """A torch.nn.LSTM and a cnnlstm LSTM with the same weights (loaded torch -> ours)."""
    ref = torch.nn.LSTM(batch_first=True, **kwargs)
    ours = LSTM(kwargs.pop("input_size"), kwargs.pop("hidden_size"), batch_first=True, **kwargs)
    ours.load_state_dict(ref.state_dict())
    return ref.eval(), ours.eval()


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_lstm(num_layers, bidirectional, bias):
    torch.manual_seed(0)
    ref, ours = _pair(
        input_size=5, hidden_size=7, num_layers=num_layers, bidirectional=bidirectional, bias=bias
    )
    x = torch.randn(3, 11, 5)
    out_ref, (h_ref, c_ref) = ref(x)
    out, (h, c) = ours(x)
    assert out.shape == out_ref.shape and h.shape == h_ref.shape and c.shape == c_ref.shape
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=ATOL, rtol=0)


def test_matches_torch_with_initial_state_and_time_major():
    torch.manual_seed(1)
    ref = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True)  # torch's default: time-major
    ours = LSTM(4, 6, 2, bidirectional=True, batch_first=False)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(9, 2, 4)  # (T, B, F)
    h0, c0 = torch.randn(4, 2, 6), torch.randn(4, 2, 6)
    out_ref, (h_ref, c_ref) = ref(x, (h0, c0))
    out, (h, c) = ours(x, (h0, c0))
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=ATOL, rtol=0)


def test_state_dict_loads_both_ways():
    torch.manual_seed(2)
    ours = LSTM(3, 4, 2, bidirectional=True, batch_first=True)
    ref = torch.nn.LSTM(3, 4, 2, bidirectional=True, batch_first=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(ours.state_dict())  # ours -> torch
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=ATOL, rtol=0)


def test_gradients_match_torch():
    torch.manual_seed(3)
    ref, ours = _pair(input_size=3, hidden_size=4, num_layers=2)
    x = torch.randn(2, 6, 3)
    ref(x)[0].pow(2).sum().backward()
    ours(x)[0].pow(2).sum().backward()
    for (name, p_ref), (_, p) in zip(ref.named_parameters(), ours.named_parameters(), strict=True):
        torch.testing.assert_close(p.grad, p_ref.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_hand_computed_single_unit():
    """One unit, constant weights: every gate from the equations by hand."""
    lstm = LSTM(1, 1, batch_first=True)
    with torch.no_grad():
        # Gate order i, f, g, o. W_ih = [0.5, 0.4, 0.3, 0.2], W_hh = [0.1, 0.2, 0.3, 0.4], b = 0.1 + 0
        lstm.weight_ih_l0.copy_(torch.tensor([[0.5], [0.4], [0.3], [0.2]]))
        lstm.weight_hh_l0.copy_(torch.tensor([[0.1], [0.2], [0.3], [0.4]]))
        lstm.bias_ih_l0.fill_(0.1)
        lstm.bias_hh_l0.zero_()
    xs = [1.0, -2.0]
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    h, c, expected = 0.0, 0.0, []
    for x in xs:
        i = sig(0.5 * x + 0.1 * h + 0.1)
        f = sig(0.4 * x + 0.2 * h + 0.1)
        g = math.tanh(0.3 * x + 0.3 * h + 0.1)
        o = sig(0.2 * x + 0.4 * h + 0.1)
        c = f * c + i * g
        h = o * math.tanh(c)
        expected.append(h)
    out, (h_n, c_n) = lstm(torch.tensor([[[xs[0]], [xs[1]]]]))
    torch.testing.assert_close(out.flatten(), torch.tensor(expected), atol=1e-6, rtol=0)
    assert h_n.item() == pytest.approx(h, abs=1e-6)
    assert c_n.item() == pytest.approx(c, abs=1e-6)


def test_cell_matches_torch_cell_and_lstm_step():
    torch.manual_seed(4)
    ref = torch.nn.LSTMCell(5, 3)
    cell = LSTMCell(5, 3)
    cell.load_state_dict(ref.state_dict())
    x, h, c = torch.randn(4, 5), torch.randn(4, 3), torch.randn(4, 3)
    for a, b in zip(cell(x, (h, c)), ref(x, (h, c)), strict=True):
        torch.testing.assert_close(a, b, atol=ATOL, rtol=0)
    for a, b in zip(cell(x[0]), ref(x[0]), strict=True):  # unbatched
        torch.testing.assert_close(a, b, atol=ATOL, rtol=0)


def test_unbatched_input_matches_torch():
    torch.manual_seed(5)
    ref, ours = _pair(input_size=3, hidden_size=4, num_layers=2)
    x = torch.randn(7, 3)
    out_ref, (h_ref, _) = ref(x)
    out, (h, _) = ours(x)
    assert out.shape == (7, 4) and h.shape == (2, 4)
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_variable_lengths_match_torch_packed(bidirectional):
    torch.manual_seed(6)
    ref, ours = _pair(input_size=3, hidden_size=5, num_layers=2, bidirectional=bidirectional)
    lengths = torch.tensor([7, 3, 5, 1])
    x = torch.randn(4, 7, 3)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref_packed, (h_ref, c_ref) = ref(packed)
    out_ref, _ = pad_packed_sequence(out_ref_packed, batch_first=True)

    out, (h, c) = ours(x, lengths=lengths)  # padded input + lengths
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=ATOL, rtol=0)

    out_packed, (h2, c2) = ours(packed)  # PackedSequence in, PackedSequence out
    unpacked = pad_packed_sequence(out_packed, batch_first=True)[0]
    torch.testing.assert_close(unpacked, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h2, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c2, c_ref, atol=ATOL, rtol=0)


def test_packed_with_initial_state_matches_torch():
    torch.manual_seed(7)
    ref, ours = _pair(input_size=2, hidden_size=3)
    x = torch.randn(3, 4, 2)
    packed = pack_padded_sequence(x, torch.tensor([2, 4, 3]), batch_first=True, enforce_sorted=False)
    state = (torch.randn(1, 3, 3), torch.randn(1, 3, 3))
    _, (h_ref, c_ref) = ref(packed, state)
    _, (h, c) = ours(packed, state)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=ATOL, rtol=0)


def test_padding_values_do_not_leak():
    torch.manual_seed(8)
    lstm = LSTM(2, 3, bidirectional=True, batch_first=True).eval()
    lengths = torch.tensor([3, 5])
    x = torch.randn(2, 5, 2)
    noisy = x.clone()
    noisy[0, 3:] = 1e3  # garbage in the padding of sample 0
    out_a, (h_a, _) = lstm(x, lengths=lengths)
    out_b, (h_b, _) = lstm(noisy, lengths=lengths)
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(h_a, h_b)
    assert out_a[0, 3:].abs().max() == 0


def test_chunked_sequence_equals_whole():
    torch.manual_seed(9)
    lstm = LSTM(4, 6, 2, batch_first=True).eval()
    x = torch.randn(2, 12, 4)
    whole, (h_w, c_w) = lstm(x)
    first, state = lstm(x[:, :5])
    second, (h_c, c_c) = lstm(x[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=1e-6, rtol=0)
    torch.testing.assert_close(h_c, h_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(c_c, c_w, atol=1e-6, rtol=0)


def test_causal():
    torch.manual_seed(10)
    lstm = LSTM(3, 5, 2, batch_first=True).eval()
    x = torch.randn(2, 10, 3)
    changed = x.clone()
    changed[:, 6:] = torch.randn(2, 4, 3)
    a, _ = lstm(x)
    b, _ = lstm(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], atol=0, rtol=0)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_batch_independent():
    torch.manual_seed(11)
    lstm = LSTM(3, 4, 2, bidirectional=True, batch_first=True).eval()
    x = torch.randn(5, 6, 3)
    batched, _ = lstm(x)
    for i in range(5):
        single, _ = lstm(x[i : i + 1])
        torch.testing.assert_close(single[0], batched[i], atol=1e-6, rtol=0)


def test_dropout_only_between_layers_in_training():
    torch.manual_seed(12)
    lstm = LSTM(3, 4, 2, batch_first=True, dropout=0.5)
    x = torch.randn(2, 5, 3)
    lstm.eval()
    torch.testing.assert_close(lstm(x)[0], lstm(x)[0])
    lstm.train()
    assert not torch.allclose(lstm(x)[0], lstm(x)[0])
    single = LSTM(3, 4, 1, batch_first=True, dropout=0.5).train()  # one layer: nothing between layers to drop
    torch.testing.assert_close(single(x)[0], single(x)[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_size=0, hidden_size=4), "input_size"),
        (dict(input_size=3, hidden_size=-1), "hidden_size"),
        (dict(input_size=3, hidden_size=4, num_layers=0), "num_layers"),
        (dict(input_size=3, hidden_size=4, dropout=1.5), "dropout=1.5"),
        (dict(input_size=3.0, hidden_size=4), "input_size=3.0"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTM(**kwargs)


def test_bad_inputs_raise():
    lstm = LSTM(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"received \(2, 5, 7\)"):
        lstm(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match="state"):
        lstm(torch.randn(2, 5, 3), (torch.zeros(1, 3, 4), torch.zeros(1, 3, 4)))
    with pytest.raises(ValueError, match="lengths"):
        lstm(torch.randn(2, 5, 3), lengths=torch.tensor([6, 2]))


# --- drop-in for torch.nn.LSTM: signature, defaults, projections, device and dtype --------------

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def _torch_init_signature(cls):
    """torch.nn.LSTM's __init__ is overloaded; the first overload lists the real parameters."""
    overloads = typing.get_overloads(cls.__init__)
    return inspect.signature(overloads[0] if overloads else cls.__init__)


def _described(signature, skip=("self",)):
    return [(p.name, p.kind, p.default) for p in signature.parameters.values() if p.name not in skip]


def test_constructor_signature_is_torchs():
    assert _described(inspect.signature(LSTM)) == _described(_torch_init_signature(torch.nn.LSTM))
    assert _described(inspect.signature(LSTMCell)) == _described(_torch_init_signature(torch.nn.LSTMCell))


def test_forward_takes_torchs_arguments_and_lengths_only_by_keyword():
    ours = inspect.signature(LSTM.forward).parameters
    assert list(ours)[:3] == ["self", "input", "hx"] and ours["hx"].default is None
    assert ours["lengths"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(LSTMCell.forward).parameters) == ["self", "input", "hx"]


def test_default_layout_is_time_major_like_torch():
    """The same construction call as torch code: no batch_first, so (T, B, F) in and out."""
    torch.manual_seed(13)
    ref, ours = torch.nn.LSTM(4, 6), LSTM(4, 6)
    assert ours.batch_first is False
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(7, 3, 4)  # (T, B, F)
    out_ref, (h_ref, c_ref) = ref(x)
    out, (h, c) = ours(x)
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=ATOL, rtol=0)


def _build(cls, positional, **config):
    """``cls`` built from ``config`` in torch's positional order, or by keyword (non-defaults only)."""
    torch_params = _described(_torch_init_signature(torch.nn.LSTM))  # torch's order and defaults
    if positional:
        return cls(*(config[name] for name, _, _ in torch_params if name in config))
    defaults = {name: default for name, _, default in torch_params}
    return cls(**{k: v for k, v in config.items() if k not in defaults or defaults[k] != v})


def _compare_runs(src, dst, batch_first, dtype):
    """Load ``src``'s state dict into ``dst``; outputs, final states and every gradient agree."""
    dst.load_state_dict(src.state_dict())
    assert [(k, v.shape, v.dtype) for k, v in dst.state_dict().items()] == [
        (k, v.shape, v.dtype) for k, v in src.state_dict().items()
    ]
    x = torch.randn((3, 5, 3) if batch_first else (5, 3, 3), dtype=dtype)
    runs = []
    for module in (src, dst):
        xi = x.clone().requires_grad_()
        out, (h_n, c_n) = module(xi)
        weights = torch.Generator().manual_seed(0)  # the same random loss weights for both
        loss = sum((t * torch.randn(t.shape, generator=weights, dtype=dtype)).sum() for t in (out, h_n, c_n))
        loss.backward()
        grads = [p.grad for p in module.parameters()]
        runs.append([out, h_n, c_n, xi.grad, *grads])
    tol = TOLERANCE[dtype]
    assert len(runs[0]) == len(runs[1])
    for got, expected in zip(runs[1], runs[0], strict=True):
        assert got.shape == expected.shape and got.dtype == expected.dtype
        torch.testing.assert_close(got, expected, atol=tol, rtol=tol)


@pytest.mark.parametrize("positional", [False, True], ids=["keyword", "positional"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("proj_size", [0, 2], ids=["noproj", "proj2"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["1layer", "2layers"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
def test_drop_in_for_torch_both_ways(
    batch_first, num_layers, bidirectional, proj_size, bias, dtype, positional
):
    config = dict(
        input_size=3,
        hidden_size=5,
        num_layers=num_layers,
        bias=bias,
        batch_first=batch_first,
        dropout=0.0,
        bidirectional=bidirectional,
        proj_size=proj_size,
        device=None,
        dtype=dtype,
    )
    torch.manual_seed(14)
    ref = _build(torch.nn.LSTM, positional, **config)
    ours = _build(LSTM, positional, **config)
    assert all(p.dtype == dtype for p in ours.parameters())
    assert repr(ours) == repr(ref)
    _compare_runs(ref, ours, batch_first, dtype)  # torch -> ours
    for module in (ref, ours):
        module.zero_grad()
    ours.reset_parameters()  # fresh weights of ours, loaded into torch
    _compare_runs(ours, ref, batch_first, dtype)  # ours -> torch


@pytest.mark.parametrize("proj_size", [0, 3])
def test_device_and_dtype_reach_every_parameter(proj_size):
    kwargs = dict(num_layers=2, bidirectional=True, proj_size=proj_size, device="meta", dtype=torch.float64)
    ours, ref = LSTM(4, 6, **kwargs), torch.nn.LSTM(4, 6, **kwargs)
    described = {k: (v.shape, v.dtype, v.device) for k, v in ours.state_dict().items()}
    assert described == {k: (v.shape, v.dtype, v.device) for k, v in ref.state_dict().items()}
    assert all(p.device.type == "meta" and p.dtype == torch.float64 for p in ours.parameters())
    cell = LSTMCell(4, 6, False, "meta", torch.float64)  # torch's positional order
    assert cell.bias_ih is None
    assert all(p.device.type == "meta" and p.dtype == torch.float64 for p in cell.parameters())


def test_projection_from_the_equations():
    """h_t = W_hr (o_t ⊙ tanh(c_t)), computed with lstm_step on the unprojected cell."""
    torch.manual_seed(15)
    lstm = LSTM(3, 5, proj_size=2, batch_first=True)
    x = torch.randn(2, 4, 3)
    h, c = torch.zeros(2, 2), torch.zeros(2, 5)
    expected = []
    for t in range(4):
        gates_x = x[:, t] @ lstm.weight_ih_l0.t() + lstm.bias_ih_l0
        gates = gates_x + h @ lstm.weight_hh_l0.t() + lstm.bias_hh_l0
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = (torch.sigmoid(o) * torch.tanh(c)) @ lstm.weight_hr_l0.t()
        expected.append(h)
    out, (h_n, c_n) = lstm(x)
    assert out.shape == (2, 4, 2) and h_n.shape == (1, 2, 2) and c_n.shape == (1, 2, 5)
    torch.testing.assert_close(out, torch.stack(expected, 1))
    torch.testing.assert_close(h_n[0], h)
    torch.testing.assert_close(c_n[0], c)


@pytest.mark.parametrize("batch_first", [False, True])
def test_projection_with_packed_and_padded_input_matches_torch(batch_first):
    """torch takes a PackedSequence whatever batch_first says; so do we, and lengths= agrees."""
    torch.manual_seed(16)
    config = dict(num_layers=2, bidirectional=True, proj_size=2, batch_first=batch_first)
    ref = torch.nn.LSTM(3, 5, **config).eval()
    ours = LSTM(3, 5, **config).eval()
    ours.load_state_dict(ref.state_dict())
    lengths = torch.tensor([6, 2, 4])
    x = torch.randn(3, 6, 3) if batch_first else torch.randn(6, 3, 3)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    state = (torch.randn(4, 3, 2), torch.randn(4, 3, 5))
    out_ref, (h_ref, c_ref) = ref(packed, state)
    out, (h, c) = ours(packed, state)
    torch.testing.assert_close(out.data, out_ref.data, atol=ATOL, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c, c_ref, atol=ATOL, rtol=0)
    padded, (h2, c2) = ours(x, state, lengths=lengths)
    expected = pad_packed_sequence(out_ref, batch_first=batch_first)[0]
    torch.testing.assert_close(padded, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(h2, h_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(c2, c_ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "proj_size, match",
    [(5, "proj_size=5"), (7, "smaller than hidden_size=5"), (-1, "proj_size=-1"), (1.5, "proj_size=1.5")],
)
def test_bad_projection_raises(proj_size, match):
    with pytest.raises(ValueError, match=match):
        LSTM(3, 5, proj_size=proj_size)


def test_state_shapes_with_projection_are_checked():
    lstm = LSTM(3, 5, proj_size=2)
    x = torch.randn(4, 2, 3)
    with pytest.raises(ValueError, match=r"\(1, 2, 2\) and \(1, 2, 5\)"):
        lstm(x, (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5)))
    out, (h, c) = lstm(x, (torch.zeros(1, 2, 2), torch.zeros(1, 2, 5)))
    assert out.shape == (4, 2, 2) and h.shape == (1, 2, 2) and c.shape == (1, 2, 5)


def test_every_library_model_builds_its_lstm_batch_first():
    """The models feed (B, T, F); with torch's default now time-major, each must ask for batch_first."""
    import cnnlstm

    built = {}
    for name in cnnlstm.list_models("*_tiny"):
        model = cnnlstm.create_model(name)
        built[name] = [m.batch_first for m in model.modules() if isinstance(m, LSTM)]
    assert any(built.values())  # the check saw LSTMs
    assert {name: flags for name, flags in built.items() if not all(flags)} == {}


def _blend_reference(lstm: LSTM, x, lengths):
    """The masked recurrence as ``m * new + (1 - m) * old``, for one unidirectional layer."""
    h = x.new_zeros(x.shape[0], lstm.hidden_size)
    c = torch.zeros_like(h)
    gates_x = x @ lstm.weight_ih_l0.t() + lstm.bias_ih_l0
    outputs = []
    for t in range(x.shape[1]):
        m = (t < lengths).to(x.dtype)[:, None]
        h_new, c_new = lstm_step(gates_x[:, t], h, c, lstm.weight_hh_l0, lstm.bias_hh_l0)
        h, c = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c
        outputs.append(h_new * m)
    return torch.stack(outputs, 1), h, c


def test_masked_steps_select_as_the_blend_does_values_and_gradients():
    torch.manual_seed(10)
    lstm = LSTM(3, 4, batch_first=True)
    x = torch.randn(3, 6, 3, requires_grad=True)
    lengths = torch.tensor([6, 2, 4])
    out, (h, c) = lstm(x, lengths=lengths)
    ref_out, ref_h, ref_c = _blend_reference(lstm, x, lengths)
    assert torch.equal(out, ref_out) and torch.equal(h[0], ref_h) and torch.equal(c[0], ref_c)
    grads = torch.autograd.grad((out**2).sum() + h.sum(), [x, *lstm.parameters()])
    ref_grads = torch.autograd.grad((ref_out**2).sum() + ref_h.sum(), [x, *lstm.parameters()])
    for got, want in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want, atol=1e-7, rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_full_lengths_give_what_no_lengths_give_to_the_bit(bidirectional):
    # A batch without padding runs the unmasked recurrence: same numbers, half the operations.
    torch.manual_seed(11)
    lstm = LSTM(3, 4, 2, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(2, 5, 3, requires_grad=True)
    full, (h_full, c_full) = lstm(x, lengths=torch.tensor([5, 5]))
    plain, (h_plain, c_plain) = lstm(x)
    assert torch.equal(full, plain) and torch.equal(h_full, h_plain) and torch.equal(c_full, c_plain)
    g_full = torch.autograd.grad(full.sum(), [x, *lstm.parameters()])
    g_plain = torch.autograd.grad(plain.sum(), [x, *lstm.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(g_full, g_plain, strict=True))


def test_under_cpu_autocast_only_the_input_product_is_bf16_and_the_recurrence_runs_in_float32() -> None:
    """bf16 autocast: the one large input product is bf16, the per-step recurrence float32.

    The reference rounds what autocast rounds for the input product (``x``, ``W_ih`` and the
    product itself to bf16) and runs the rest in float32: within 2e-5 of it. A recurrence whose
    ``h @ W_hh`` runs in bf16 at every step (the code before) was 2.2e-4 away here.
    """
    torch.manual_seed(0)
    lstm = LSTM(5, 16, batch_first=True)
    x = torch.randn(3, 40, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, (h, c) = lstm(x)
    assert out.dtype == h.dtype == c.dtype == torch.float32

    def rounded(t: torch.Tensor) -> torch.Tensor:
        return t.to(torch.bfloat16).float()

    gates_x = rounded(rounded(x) @ rounded(lstm.weight_ih_l0).t()) + lstm.bias_ih_l0
    h_t = c_t = torch.zeros(3, 16)
    expected = []
    for t in range(x.shape[1]):
        i, f, g, o = (gates_x[:, t] + h_t @ lstm.weight_hh_l0.t() + lstm.bias_hh_l0).chunk(4, dim=-1)
        c_t = torch.sigmoid(f) * c_t + torch.sigmoid(i) * torch.tanh(g)
        h_t = torch.sigmoid(o) * torch.tanh(c_t)
        expected.append(h_t)
    torch.testing.assert_close(out, torch.stack(expected, dim=1), rtol=0, atol=2e-5)
