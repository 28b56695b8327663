"""A translator exports as an encoder and one decoder step; onnxruntime's greedy loop equals eager."""

from __future__ import annotations

import json

import pytest
import torch

from cnnlstm import create_model


@pytest.mark.slow
@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("name", ["conv_lstm_translator_tiny", "bilstm_translator_tiny"])
def test_onnx_greedy_decode_equals_eager(name, copy, tmp_path):
    """copy=True: the pointer-generator's step (one more input, the source ids) exports too."""
    pytest.importorskip("onnxruntime")
    from cnnlstm.deploy.translation import export_translator

    torch.manual_seed(0)
    model = create_model(name, num_classes=24, copy=copy)
    source = torch.tensor([[5, 6, 7, 8, 9, 2], [10, 11, 2, 0, 0, 0]])
    if copy:  # at random weights copying the source's EOS ends the decode at once: make EOS unlikely
        with torch.no_grad():
            model.decoder.out.bias[2] -= 5.0
        source = torch.tensor([[5, 6, 7, 8, 9, 10], [10, 11, 12, 0, 0, 0]])
    fixed = 12 if name.startswith("bilstm") else None  # a recurrent encoder unrolls for one length
    report = export_translator(
        model, tmp_path, example_source=source, source_len=fixed, max_len_b=5, tokenizer={"kind": "char"}
    )
    assert report["source_len"] == (12 if fixed else "any (pad shorter sources with pad_id)")
    assert report["same_tokens"] and report["max_abs_logit_diff"] < 1e-4
    assert report["checked_steps"] >= 2 and report["checked_sentences"] == 2
    assert report["copy"] is copy and ("source" in report["decoder_step"]["inputs"]) is copy
    assert json.loads((tmp_path / "translation.json").read_text()) == report
    assert {p.name for p in tmp_path.iterdir()} >= {"encoder.onnx", "decoder_step.onnx", "translation.json"}

    # another batch size and source length in the same files
    import onnxruntime as ort

    from cnnlstm.deploy.translation import onnx_greedy_decode
    from cnnlstm.models.decoding import greedy_decode

    encoder = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    step = ort.InferenceSession(str(tmp_path / "decoder_step.onnx"), providers=["CPUExecutionProvider"])
    other = torch.tensor([[4, 4, 5, 6, 7, 8, 9, 10, 2]] * 3)
    tokens, _ = onnx_greedy_decode(encoder, step, other.numpy(), max_len_b=5)
    assert (tokens == greedy_decode(model.eval(), other, max_len_b=5).tokens.numpy()).all()
