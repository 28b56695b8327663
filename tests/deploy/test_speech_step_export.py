"""The streaming speech model's chunk step: tensor-only state, exported to ONNX, streamed in onnxruntime."""

from __future__ import annotations

import json

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.data.audio import LogMel
from cnnlstm.nn.ctc import ctc_greedy_decode

pytest.importorskip("onnxruntime")

from cnnlstm.deploy.speech_export import export_acoustic_step  # noqa: E402
from tests.deploy._speech_models import stream_model as _model  # noqa: E402


@pytest.mark.parametrize("chunk", [4, 8, 36])
def test_chunk_step_equals_forward_and_the_python_stream(chunk):
    model = _model()
    x = torch.randn(2, 72, 40)
    state, outs = model.init_chunk_state(2), []
    python_state, python_outs = model.init_state(2), []
    with torch.no_grad():
        for piece in x.split(chunk, dim=1):
            out, *state = model.chunk_step(piece, *state)
            outs.append(out)
            python_out, python_state = model.step_chunk(piece, python_state)
            python_outs.append(python_out)
        whole = model(x)
    assert all(isinstance(s, torch.Tensor) for s in state)
    torch.testing.assert_close(torch.cat(outs, dim=1), whole, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat(python_outs, dim=1), whole, atol=1e-5, rtol=1e-5)


def test_chunk_step_refuses_a_chunk_that_is_not_a_multiple_of_four():
    model = _model()
    with pytest.raises(ValueError, match="k a multiple of 4"):
        model.chunk_step(torch.zeros(1, 6, 40), *model.init_chunk_state(1))


def test_onnx_chunk_step_streams_an_utterance_like_the_eager_model(tmp_path):
    import onnxruntime as ort

    model = _model()
    report = export_acoustic_step(model, output_dir=tmp_path, check_chunks=(4, 20))
    assert report["max_abs_diff"] < 1e-4 and report["same_greedy_transcripts"]
    assert json.loads((tmp_path / "acoustic_step.json").read_text())["inputs"]["lstm_h"] == [1, "batch", 16]
    # an independent loop on the log-mel features of a waveform of 1.3 s (131 frames, not a multiple of 4)
    wave = torch.randn(1, 20800, generator=torch.Generator().manual_seed(0)) * 0.1
    features = LogMel(n_mels=40)(wave)
    with torch.no_grad():
        offline = model(features)
    session = ort.InferenceSession(str(tmp_path / "acoustic_step.onnx"), providers=["CPUExecutionProvider"])
    names = ["conv_buffer_0", "conv_buffer_1", "lstm_h", "lstm_c"]
    for chunk in (8, 32):
        feed = {n: s.numpy() for n, s in zip(names, model.init_chunk_state(1), strict=True)}
        padded = torch.nn.functional.pad(features, (0, 0, 0, -features.shape[1] % chunk))
        outs = []
        for start in range(0, padded.shape[1], chunk):
            log_probs, *state = session.run(
                None, {"features": padded[:, start : start + chunk].numpy(), **feed}
            )
            feed = dict(zip(names, state, strict=True))
            outs.append(torch.from_numpy(log_probs))
        streamed = torch.cat(outs, dim=1)[:, : offline.shape[1]]
        torch.testing.assert_close(streamed, offline, atol=1e-4, rtol=1e-4)
        assert ctc_greedy_decode(streamed) == ctc_greedy_decode(offline) != [[]]


def test_a_bidirectional_model_has_no_step_to_export(tmp_path):
    model = create_model("cnn_bilstm_ctc_tiny", num_classes=4, in_channels=16)
    with pytest.raises(TypeError, match="no tensor-state chunk_step"):
        export_acoustic_step(model, output_dir=tmp_path)
