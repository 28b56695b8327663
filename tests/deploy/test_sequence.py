"""sequence.onnx: a streaming model's step inside an ONNX Loop takes clips of any length."""

from __future__ import annotations

import json

import pytest
import torch

from cnnlstm import create_model

pytest.importorskip("onnxruntime")
from cnnlstm.deploy.sequence import export_sequence, run_sequence  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, kwargs, frame",
    [
        ("convlstm_classifier_tiny", {"num_classes": 3}, (3, 32, 32)),
        ("convgru_forecaster_tiny", {}, (1, 16, 16)),
    ],
)
def test_sequence_onnx_matches_eager_at_lengths_never_traced(name, kwargs, frame, tmp_path):
    torch.manual_seed(0)
    model = create_model(name, **kwargs).eval()
    report = export_sequence(model, torch.zeros(2, *frame), tmp_path, lengths=(1, 4), step_checks=2)
    assert report["lengths_checked"] == [1, 4] and report["max_abs_diff"] < 1e-4
    assert json.loads((tmp_path / "sequence.json").read_text()) == report
    # one more length and batch size, checked here rather than by the report
    frames = torch.rand(3, 9, *frame)
    with torch.no_grad():
        expected = model(frames)
    torch.testing.assert_close(run_sequence(tmp_path / "sequence.onnx", frames), expected, atol=1e-4, rtol=0)


def test_export_sequence_needs_a_length():
    with pytest.raises(ValueError, match="lengths needs at least one"):
        export_sequence(
            create_model("convlstm_classifier_tiny", num_classes=2), torch.zeros(1, 3, 8, 8), ".", lengths=()
        )
