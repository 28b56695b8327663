"""step.onnx takes any batch size, not only the one it was exported with."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import cnnlstm
from cnnlstm.deploy import export_step


@pytest.mark.slow
@pytest.mark.parametrize(("name", "exported_batch"), [("lrcn_tiny", 1), ("deepconvlstm_tiny", 2)])
def test_step_onnx_runs_a_batch_it_was_not_exported_with(tmp_path, name, exported_batch):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = cnnlstm.create_model(name).eval()
    sample = cnnlstm.model_info(name).test_input_size
    report = export_step(model, torch.zeros(exported_batch, *sample[1:]), tmp_path, steps=3)
    assert report["batch_sizes_checked"] == [exported_batch, exported_batch + 1]
    assert json.loads((tmp_path / "step.json").read_text())["inputs"]["frame"][0] == "batch"

    batch = exported_batch + 3  # neither the exported nor the checked batch size
    frames = torch.rand(batch, sample[0], *sample[1:], generator=torch.Generator().manual_seed(1))
    session = ort.InferenceSession(str(tmp_path / "step.onnx"), providers=["CPUExecutionProvider"])
    state = model.init_state(batch, frame_size=tuple(frames.shape[-2:]))
    feed = {f"state_{i}": s.numpy() for i, s in enumerate(state)}
    with torch.no_grad():
        for t in range(frames.shape[1]):
            output, *new_state = session.run(None, {"frame": frames[:, t].numpy(), **feed})
            feed = {f"state_{i}": s for i, s in enumerate(new_state)}
            expected, state = model.step(frames[:, t], state)
            np.testing.assert_allclose(output, expected.numpy(), rtol=1e-4, atol=1e-5)
    assert output.shape[0] == batch
