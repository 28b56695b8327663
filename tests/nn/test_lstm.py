"""cnnlstm.nn.LSTM / LSTMCell against torch.nn.LSTM, hand-computed values and sequence properties."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from cnnlstm.nn import LSTM, LSTMCell

ATOL = 1e-5


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
    ours = LSTM(3, 4, 2, bidirectional=True)
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
    lstm = LSTM(1, 1)
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
    lstm = LSTM(2, 3, bidirectional=True).eval()
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
    lstm = LSTM(4, 6, 2).eval()
    x = torch.randn(2, 12, 4)
    whole, (h_w, c_w) = lstm(x)
    first, state = lstm(x[:, :5])
    second, (h_c, c_c) = lstm(x[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=1e-6, rtol=0)
    torch.testing.assert_close(h_c, h_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(c_c, c_w, atol=1e-6, rtol=0)


def test_causal():
    torch.manual_seed(10)
    lstm = LSTM(3, 5, 2).eval()
    x = torch.randn(2, 10, 3)
    changed = x.clone()
    changed[:, 6:] = torch.randn(2, 4, 3)
    a, _ = lstm(x)
    b, _ = lstm(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], atol=0, rtol=0)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_batch_independent():
    torch.manual_seed(11)
    lstm = LSTM(3, 4, 2, bidirectional=True).eval()
    x = torch.randn(5, 6, 3)
    batched, _ = lstm(x)
    for i in range(5):
        single, _ = lstm(x[i : i + 1])
        torch.testing.assert_close(single[0], batched[i], atol=1e-6, rtol=0)


def test_dropout_only_between_layers_in_training():
    torch.manual_seed(12)
    lstm = LSTM(3, 4, 2, dropout=0.5)
    x = torch.randn(2, 5, 3)
    lstm.eval()
    torch.testing.assert_close(lstm(x)[0], lstm(x)[0])
    lstm.train()
    assert not torch.allclose(lstm(x)[0], lstm(x)[0])
    single = LSTM(3, 4, 1, dropout=0.5).train()  # one layer: nothing between layers to drop
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
    lstm = LSTM(3, 4)
    with pytest.raises(ValueError, match=r"received \(2, 5, 7\)"):
        lstm(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match="state"):
        lstm(torch.randn(2, 5, 3), (torch.zeros(1, 3, 4), torch.zeros(1, 3, 4)))
    with pytest.raises(ValueError, match="lengths"):
        lstm(torch.randn(2, 5, 3), lengths=torch.tensor([6, 2]))
