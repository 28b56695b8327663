"""The copy (pointer-generator) decoder: a distribution over the joint vocabulary that reduces to the
plain decoder at p_gen = 1, gives padding nothing, can write source-only tokens, and is the same in
the teacher-forced forward, the step loop, greedy and beam search."""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.models.decoding import beam_search, greedy_decode
from cnnlstm.models.translation import BOS, EOS, PAD, pointer_mix
from tests.models.test_translation import assert_forward_is_the_step_loop

NAMES = ["conv_lstm_translator_tiny", "bilstm_translator_tiny"]
SOURCE = torch.tensor([[5, 6, 7, 8, 9, EOS], [10, 4, EOS, PAD, PAD, PAD]])
TARGET = torch.tensor([[BOS, 5, 6, 11], [BOS, 7, 8, PAD]])


def _model(name, vocab=16, seed=0, **kwargs):
    torch.manual_seed(seed)
    return create_model(name, num_classes=vocab, copy=True, **kwargs).eval()


def _set_gate(model, bias):
    """p_gen = sigmoid(bias) at every step: the gate's weights zero."""
    with torch.no_grad():
        model.decoder.copy_gate.weight.zero_()
        model.decoder.copy_gate.bias.fill_(bias)


@pytest.mark.parametrize("name", NAMES)
def test_the_output_is_a_distribution(name):
    model = _model(name)
    with torch.no_grad():
        logp = model(SOURCE, TARGET)
    assert logp.shape == (2, 4, 16) and torch.isfinite(logp).all()
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(2, 4))
    # log_softmax of the output is the output: the cross-entropy and the decoders read it unchanged
    torch.testing.assert_close(torch.log_softmax(logp, -1), logp, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_p_gen_one_is_the_plain_decoder(name):
    model = _model(name)
    _set_gate(model, 60.0)  # log(1 - p_gen) = -60: the copy term is below float32's resolution
    torch.manual_seed(1)
    plain = create_model(name, num_classes=16).eval()
    missing = plain.load_state_dict(model.state_dict(), strict=False)
    assert set(missing.unexpected_keys) == {"decoder.copy_gate.weight", "decoder.copy_gate.bias"}
    assert not missing.missing_keys  # the copy option adds the gate and nothing else
    with torch.no_grad():
        torch.testing.assert_close(model(SOURCE, TARGET), torch.log_softmax(plain(SOURCE, TARGET), -1))
    assert torch.equal(
        greedy_decode(model, SOURCE, max_len_b=4).tokens, greedy_decode(plain, SOURCE, max_len_b=4).tokens
    )


@pytest.mark.parametrize("name", NAMES)
def test_p_gen_zero_is_the_attention_on_the_source_tokens(name):
    model = _model(name)
    _set_gate(model, -60.0)
    with torch.no_grad():
        logp, attention = model.forward_with_attention(SOURCE, TARGET)
    expected = torch.zeros(2, 4, 16).scatter_add(-1, SOURCE[:, None].expand(-1, 4, -1), attention)
    torch.testing.assert_close(logp.exp(), expected)
    assert logp.exp()[1, :, PAD].max() < 1e-20  # the padded positions' id gets no copy mass


def test_padding_gets_no_copy_mass_even_with_attention_on_it():
    """pointer_mix masks padded positions itself: a weight on a padded position goes nowhere."""
    source = torch.tensor([[5, 6, PAD, PAD]])
    attention = torch.tensor([[0.25, 0.25, 0.25, 0.25]])  # what a broken attention could give
    logp = pointer_mix(torch.zeros(1, 8), torch.tensor([-1e4]), attention, source)
    assert logp.exp()[0, PAD] == 0
    assert logp.exp()[0, 5] == pytest.approx(0.25) and logp.exp()[0, 6] == pytest.approx(0.25)


def test_pointer_mix_is_the_formula_and_its_gradients_are_exact():
    torch.manual_seed(0)
    logits = torch.randn(3, 2, 9, dtype=torch.float64)
    gate = torch.randn(3, 2, dtype=torch.float64)
    source = torch.tensor([[4, 5, 4, EOS], [6, EOS, PAD, PAD], [7, 8, 3, EOS]])
    scores = torch.randn(3, 2, 4, dtype=torch.float64).masked_fill(source[:, None].eq(PAD), -float("inf"))
    attention = scores.softmax(-1)
    p_gen = torch.sigmoid(gate)[..., None]
    copied = torch.zeros(3, 2, 9, dtype=torch.float64).scatter_add(
        -1, source[:, None].expand(-1, 2, -1), attention
    )
    expected = p_gen * logits.softmax(-1) + (1 - p_gen) * copied
    torch.testing.assert_close(pointer_mix(logits, gate, attention, source).exp(), expected)
    # the step's layout (B, V) / (B, S) is the same function
    torch.testing.assert_close(
        pointer_mix(logits[:, 0], gate[:, 0], attention[:, 0], source).exp(), expected[:, 0]
    )
    inputs = (logits.requires_grad_(), gate.requires_grad_(), attention.detach().requires_grad_())
    assert torch.autograd.gradcheck(lambda lo, g, a: pointer_mix(lo, g, a, source), inputs)


@pytest.mark.parametrize("name", NAMES)
def test_a_token_only_in_the_source_can_be_written(name):
    model = _model(name)
    with torch.no_grad():
        model.decoder.out.bias[9] = -1e4  # the output layer can never give token 9 any probability
    plain = create_model(name, num_classes=16).eval()
    plain.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():
        assert torch.log_softmax(plain(SOURCE, TARGET), -1).exp()[..., 9].max() == 0
        logp, attention = model.forward_with_attention(SOURCE, TARGET)
        gate = logp.exp()[0, :, 9] / attention[0, :, 4]  # 9 is source position 4 of sentence 0
        assert (logp.exp()[0, :, 9] > 0).all() and (gate <= 1 + 1e-5).all()
        assert logp.exp()[1, :, 9].max() == 0  # sentence 1 has no token 9 to copy
    _set_gate(model, -60.0)  # all copy: greedy writes only source tokens, 9 included where attended
    tokens = greedy_decode(model, SOURCE, max_len_b=6).tokens
    for row, src in zip(tokens.tolist(), SOURCE.tolist(), strict=True):
        assert set(row) - {PAD} <= set(src) - {PAD}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("layers", [1, 2])
def test_teacher_forced_forward_is_the_step_loop(name, layers):
    model = _model(name, decoder_layers=layers)
    assert_forward_is_the_step_loop(model, SOURCE, TARGET)


@pytest.mark.parametrize("name", NAMES)
def test_a_padded_batch_decodes_each_sentence_as_alone(name):
    model = _model(name)
    with torch.no_grad():
        both = model(SOURCE, TARGET)
        alone = model(SOURCE[1:, :3], TARGET[1:])
    torch.testing.assert_close(both[1], alone[0], atol=1e-5, rtol=1e-5)
    batch = greedy_decode(model, SOURCE, max_len_b=5).tokens[1]
    single = greedy_decode(model, SOURCE[1:, :3], max_len_b=5).tokens[0]
    assert batch[: single.shape[0]].tolist() == single.tolist() and not batch[single.shape[0] :].any()


@pytest.mark.parametrize("name", NAMES)
def test_greedy_is_the_argmax_and_a_beam_of_one_is_greedy(name):
    model = _model(name, vocab=12)
    _set_gate(model, 0.0)  # p_gen = 0.5 so that both terms matter
    source = torch.tensor([[5, 6, 7, EOS], [8, 9, EOS, PAD]])
    greedy = greedy_decode(model, source, max_len_a=0, max_len_b=6)
    for i in range(2):
        row = greedy.tokens[i]
        n = int(row.ne(PAD).sum())
        with torch.no_grad():
            logp = model(
                source[i : i + 1, : int(source[i].ne(PAD).sum())],
                torch.cat([torch.tensor([BOS]), row[: n - 1]])[None],
            )
        choices = logp.index_fill(-1, torch.tensor([PAD, BOS]), -float("inf"))
        assert choices.argmax(-1)[0].tolist()[: n - 1] == row[: n - 1].tolist()
        torch.testing.assert_close(
            greedy.scores[i], logp[0].gather(1, row[:n, None]).sum(), atol=1e-4, rtol=1e-4
        )
    beam = beam_search(model, source, beam_size=1, length_penalty=0.0, max_len_a=0, max_len_b=6)
    width = min(greedy.tokens.shape[1], beam.tokens.shape[1])
    assert torch.equal(greedy.tokens[:, :width], beam.tokens[:, :width])
    torch.testing.assert_close(greedy.scores, beam.scores, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_are_finite_with_label_smoothing(name):
    """Label smoothing scores every token, most of which the source lacks (copy mass exactly 0)."""
    model = _model(name).train()
    with torch.no_grad():
        model.decoder.out.bias[11] = -1e4  # the target's token 11 is neither likely nor in the source
    logp = model(SOURCE, TARGET[:, :-1])
    loss = torch.nn.functional.cross_entropy(
        logp.flatten(0, 1), TARGET[:, 1:].flatten(), ignore_index=PAD, label_smoothing=0.1
    )
    loss.backward()
    assert torch.isfinite(loss)
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert "decoder.copy_gate.weight" in grads and grads["decoder.copy_gate.weight"].abs().sum() > 0
    assert all(torch.isfinite(g).all() for g in grads.values())


def test_the_option_is_checked_and_off_by_default():
    with pytest.raises(ValueError, match="copy must be True or False; received copy='yes'"):
        create_model("conv_lstm_translator_tiny", copy="yes")
    plain = create_model("conv_lstm_translator_tiny")
    assert not plain.decoder.copy and plain.decoder.copy_gate is None
    assert not any("copy" in k for k in plain.state_dict())  # existing checkpoints load unchanged
    model = _model("conv_lstm_translator_tiny")
    with pytest.raises(ValueError, match="memory.source"):
        model.decoder(TARGET, model.encoder(SOURCE))  # the encoder alone does not attach the ids


@pytest.mark.parametrize("name", NAMES)
def test_the_copy_decoder_compiles_in_one_graph_and_exports(name):
    """No graph break (fullgraph capture, forward and backward) and torch.export equals eager."""
    torch._dynamo.reset()
    model = _model(name).train()
    torch.manual_seed(5)  # the same dropout masks in both runs
    eager = model(SOURCE, TARGET)
    eager.square().mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    torch.manual_seed(5)
    compiled = torch.compile(model, fullgraph=True, backend="eager")(SOURCE, TARGET)
    compiled.square().mean().backward()
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-6)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[n], rtol=1e-4, atol=1e-6, msg=n)
    model.eval()
    program = torch.export.export(model, (SOURCE, TARGET))
    with torch.no_grad():
        torch.testing.assert_close(
            program.module()(SOURCE, TARGET), model(SOURCE, TARGET), atol=1e-5, rtol=1e-5
        )
