"""Speech models: padding never reaches valid outputs; output lengths; the causal model's causality."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.models import create_model


@pytest.mark.parametrize("name", ["cnn_bilstm_ctc_tiny", "vgg_blstm_ctc_tiny", "cnn_lstm_ctc_stream_tiny"])
def test_a_padded_utterance_gets_the_outputs_it_gets_alone(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=6, in_channels=16).eval()
    short, long = torch.randn(1, 17, 16), torch.randn(1, 30, 16)
    batch = torch.zeros(2, 30, 16)
    batch[0, :17], batch[1] = short[0], long[0]
    lengths = torch.tensor([17, 30])
    with torch.no_grad():
        out = model(batch, lengths)
        alone = model(short, torch.tensor([17]))
    n = int(model.output_lengths(lengths)[0])
    assert n == alone.shape[1] == 5
    torch.testing.assert_close(out[0, :n], alone[0], atol=1e-5, rtol=1e-5)
    assert torch.allclose(out.exp().sum(-1), torch.ones(2, 8), atol=1e-5)  # log-probabilities


def test_the_streaming_model_is_causal():
    torch.manual_seed(0)
    model = create_model("cnn_lstm_ctc_stream_tiny", num_classes=6, in_channels=16).eval()
    x = torch.randn(1, 40, 16)
    changed = x.clone()
    changed[:, 21:] = torch.randn(1, 19, 16)
    with torch.no_grad():
        a, b = model(x), model(changed)
    # output frame j reads input frames up to 4j (+ nothing later): frames 0..5 (inputs <= 20) agree
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="kernel"):
        create_model("cnn_bilstm_ctc_tiny", kernel_size=(4, 3))
    with pytest.raises(ValueError, match="conv_channels"):
        create_model("cnn_bilstm_ctc_tiny", conv_channels=(4,))


@pytest.mark.parametrize("sizes", [[1] * 21, [7, 7, 7], [3, 1, 2, 5, 10], [21]])
def test_step_chunk_equals_forward_for_any_chunking(sizes):
    torch.manual_seed(0)
    model = create_model("cnn_lstm_ctc_stream_tiny", num_classes=6, in_channels=16).eval()
    x = torch.randn(2, 21, 16)
    state, outputs, start = model.init_state(2), [], 0
    with torch.no_grad():
        for size in sizes:
            out, state = model.step_chunk(x[:, start : start + size], state)
            outputs.append(out)
            start += size
        torch.testing.assert_close(torch.cat(outputs, dim=1), model(x), atol=1e-5, rtol=1e-5)
