"""Translators: padding never leaks, greedy and beam search agree with the teacher-forced forward."""

from __future__ import annotations

import itertools

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.models.decoding import beam_search, greedy_decode, length_limits
from cnnlstm.models.translation import EOS, PAD

NAMES = ["conv_lstm_translator_tiny", "bilstm_translator_tiny"]


def _model(name, vocab=12, **kwargs):
    torch.manual_seed(0)
    return create_model(name, num_classes=vocab, **kwargs).eval()


def assert_forward_is_the_step_loop(model, source, target):
    """The teacher-forced outputs and attention at every position equal the decoder's ``step`` loop."""
    with torch.no_grad():
        logits, attention = model.forward_with_attention(source, target)
        memory = model.encode(source)
        state = model.decoder.init_state(memory)
        for t in range(target.shape[1]):
            step_logits, state, step_attention = model.decoder.step(target[:, t], state, memory)
            torch.testing.assert_close(logits[:, t], step_logits, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(attention[:, t], step_attention, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_padding_changes_nothing(name):
    model = _model(name)
    long = torch.tensor([[5, 6, 7, 8, 9, EOS]])
    short = torch.tensor([[10, 4, EOS]])
    batch = torch.tensor([[5, 6, 7, 8, 9, EOS], [10, 4, EOS, PAD, PAD, PAD]])
    target = torch.tensor([[1, 5, 6], [1, 7, 8]])
    with torch.no_grad():
        both, attention = model.forward_with_attention(batch, target)
        torch.testing.assert_close(both[0], model(long, target[:1])[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(both[1], model(short, target[1:])[0], atol=1e-5, rtol=1e-5)
    assert attention[1, :, 3:].abs().max() == 0  # no attention on padding
    torch.testing.assert_close(attention.sum(-1), torch.ones(2, 3))


@pytest.mark.parametrize("name", NAMES)
def test_greedy_is_the_argmax_of_the_teacher_forced_forward(name):
    model = _model(name)
    source = torch.tensor([[5, 6, 7, EOS], [8, 9, EOS, PAD]])
    decoded = greedy_decode(model, source, max_len_a=0, max_len_b=6)
    assert decoded.tokens.shape[1] <= 6
    for i in range(2):
        row = decoded.tokens[i]
        n = int((row != PAD).sum())
        inputs = torch.cat([torch.tensor([1]), row[: n - 1]])[None]
        with torch.no_grad():
            logits = model(source[i : i + 1, : int((source[i] != PAD).sum())], inputs)
        choices = logits.index_fill(-1, torch.tensor([PAD, 1]), -float("inf"))  # PAD and BOS are never output
        assert choices.argmax(-1)[0].tolist()[: n - 1] == row[: n - 1].tolist()
        # the score is the summed log-probability of the chosen tokens (a forced final EOS included)
        logp = torch.log_softmax(logits[0], -1).gather(1, row[:n, None]).sum()
        torch.testing.assert_close(decoded.scores[i], logp, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_beam_of_one_is_greedy(name):
    model = _model(name)
    source = torch.tensor([[5, 6, 7, EOS], [8, 9, EOS, PAD], [11, EOS, PAD, PAD]])
    greedy = greedy_decode(model, source, max_len_b=5)
    beam = beam_search(model, source, beam_size=1, length_penalty=0.0, max_len_b=5)
    width = min(greedy.tokens.shape[1], beam.tokens.shape[1])
    assert torch.equal(greedy.tokens[:, :width], beam.tokens[:, :width])
    torch.testing.assert_close(greedy.scores, beam.scores, atol=1e-4, rtol=1e-4)


def test_a_wide_beam_finds_the_exact_best_translation():
    """With every hypothesis in the beam, beam search is exhaustive search (length penalty 0)."""
    vocab, steps = 5, 3
    model = _model("conv_lstm_translator_tiny", vocab=vocab)
    source = torch.tensor([[3, 4, EOS]])
    beam = beam_search(
        model, source, beam_size=vocab**steps, length_penalty=0.0, max_len_a=0, max_len_b=steps
    )
    best = -float("inf")
    for seq in itertools.product(range(1, vocab), repeat=steps):  # no PAD inside a translation
        seq = list(seq)
        # ends at its first EOS, or the length limit forces EOS at the last step
        seq = seq[: seq.index(EOS) + 1] if EOS in seq else [*seq[:-1], EOS]
        with torch.no_grad():
            logits = model(source, torch.tensor([[1, *seq[:-1]]]))
        score = float(torch.log_softmax(logits[0], -1).gather(1, torch.tensor(seq)[:, None]).sum())
        best = max(best, score)
    assert float(beam.scores[0]) == pytest.approx(best, abs=1e-4)


def test_length_limits_follow_each_source():
    source = torch.tensor([[4, 4, 4, EOS], [4, EOS, PAD, PAD]])
    assert length_limits(source, 1.5, 2).tolist() == [8, 5]
    model = _model("bilstm_translator_tiny")
    decoded = greedy_decode(model, source, max_len_a=1.0, max_len_b=0)
    assert int((decoded.tokens[1] != PAD).sum()) <= 2


def test_tied_embeddings_share_one_matrix():
    model = _model("conv_lstm_translator_tiny", tie_embeddings=True)
    assert model.decoder.out.weight is model.decoder.embed.weight is model.encoder.embed.weight
    assert sum(p.numel() for p in model.parameters()) < sum(
        p.numel() for p in _model("conv_lstm_translator_tiny").parameters()
    )


def test_bad_encoder_and_kernel_are_refused():
    with pytest.raises(ValueError, match="encoder='gru'"):
        create_model("conv_lstm_translator_tiny", encoder="gru")
    with pytest.raises(ValueError, match="kernel_size=4"):
        create_model("conv_lstm_translator_tiny", kernel_size=4)
    with pytest.raises(ValueError, match="max_positions=8"):
        create_model("conv_lstm_translator_tiny", max_positions=8)(
            torch.full((1, 9), 4), torch.ones(1, 1, dtype=torch.long)
        )


def test_decoder_step_is_the_lstm_of_cnnlstm_nn():
    """The decoder's one-step fast path computes what its cnnlstm.nn.LSTM computes on a length-1 sequence."""
    model = _model("conv_lstm_translator_tiny", decoder_layers=2)
    lstm = model.decoder.lstm
    x = torch.randn(3, lstm.input_size)
    h, c = torch.randn(2, 3, lstm.hidden_size), torch.randn(2, 3, lstm.hidden_size)
    top, h1, c1 = model.decoder._lstm_step(x, h, c)
    with torch.no_grad():
        out, (h2, c2) = lstm(x[:, None], (h, c))
    torch.testing.assert_close(top, out[:, 0])
    torch.testing.assert_close(h1, h2)
    torch.testing.assert_close(c1, c2)


@pytest.mark.parametrize("layers", [1, 2])
def test_teacher_forced_forward_is_the_decoder_step_loop(layers):
    """The decoder's whole-target forward computes what its step (greedy, beam search, ONNX) computes."""
    model = _model("conv_lstm_translator_tiny", decoder_layers=layers)
    source = torch.tensor([[5, 6, 7, EOS], [8, 9, EOS, PAD]])
    target = torch.tensor([[1, 4, 5, 6], [1, 7, 8, PAD]])
    assert_forward_is_the_step_loop(model, source, target)


def test_conv_encoder_keeps_the_activation_scale_through_its_depth():
    """Gehring et al.'s GLU initialisation: each residual block keeps its input's scale within about
    10 % (measured 1.09-1.15 per block here: the factor 4 assumes E[sigmoid(b)^2] = 1/4). PyTorch's
    default conv init shrank it by about 0.74 per block: x0.40 after 3 blocks, x0.09 after 8."""
    from cnnlstm.models.translation import ConvEncoder

    torch.manual_seed(0)
    encoder = ConvEncoder(
        vocab_size=50,
        embed_dim=32,
        channels=32,
        key_layers=8,
        value_layers=1,
        kernel_size=3,
        attention_dim=32,
        max_positions=32,
        dropout=0.0,
    )
    x = torch.randn(16, 32, 20)  # (B, C, S)
    scale = torch.full((1, 1, 20), 0.5**0.5)
    stds = [x.std().item()]
    with torch.no_grad():
        for block in encoder.key_stack:
            x = block(x, scale)
            stds.append(x.std().item())
    ratios = [b / a for a, b in zip(stds, stds[1:], strict=False)]
    assert all(0.9 < r < 1.2 for r in ratios), ratios
    assert 0.7 < stds[-1] / stds[0] < 3.0  # 2.6 measured: 8 blocks of about 1.1
    assert encoder.embed.weight[0].abs().sum() == 0  # the padding row stays zero after the init
