"""The streaming step exported to ONNX runs any number of frames in onnxruntime, equal to eager."""

from __future__ import annotations

import json

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.deploy.step import export_step

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name", ["lrcn_tiny", "convlstm_classifier_tiny", "deepconvlstm_tiny"])
def test_onnx_step_loop_matches_the_eager_forward_over_50_frames(name, tmp_path):
    torch.manual_seed(0)
    kwargs = {"lrcn_tiny": {"pool": "mean"}, "deepconvlstm_tiny": {"in_channels": 3}}.get(name, {})
    model = create_model(name, num_classes=4, **kwargs)
    example = torch.zeros(2, 3) if name.startswith("deepconvlstm") else torch.zeros(2, 3, 32, 32)
    report = export_step(model, example, tmp_path, steps=50)
    assert report["steps_checked"] == 50 and report["max_abs_diff"] < 1e-4
    assert json.loads((tmp_path / "step.json").read_text()) == report
    assert (tmp_path / "step.onnx").stat().st_size > 0
