"""Forecasters stream: after each frame, `step`'s forecast equals the forward on the frames so far."""

from __future__ import annotations

import json

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.deploy.stream import Stream

CASES = [
    ("convlstm_forecaster_tiny", {}),
    ("convlstm_forecaster_tiny", {"forecaster_input": "none"}),
    ("convlstm_forecaster_tiny", {"peephole": True, "future_frames": 3}),
    ("convlstm_single_stack_tiny", {}),
    ("convlstm_single_stack_tiny", {"future_frames": 1}),
]


def _frames(batch: int, steps: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, steps, 1, 16, 16, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_each_step_equals_the_forward_on_the_frames_so_far(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, **kwargs).eval()
    x = _frames(2, 7, seed=1)  # an odd number of frames, two streams
    state = model.init_state(2, frame_size=(16, 16))
    assert len(state) == 2 * len(model.hidden_channels) and all(not s.any() for s in state)
    with torch.no_grad():
        for t in range(x.shape[1]):
            forecast, state = model.step(x[:, t], state)
            assert forecast.shape == (2, model.future_frames, 1, 16, 16)
            torch.testing.assert_close(forecast, model(x[:, : t + 1]), rtol=1e-4, atol=1e-5)


def test_stream_returns_a_forecasters_predicted_frames():
    torch.manual_seed(0)
    model = create_model("convlstm_forecaster_tiny", future_frames=4)
    x = _frames(2, 5, seed=3)
    stream = Stream(model, batch_size=2)
    for t in range(x.shape[1]):
        forecast = stream.push(x[:, t])
    assert stream.frames_seen == 5 and not model.training
    with torch.no_grad():
        torch.testing.assert_close(forecast, model(x), rtol=1e-4, atol=1e-5)  # frames, not a softmax
    stream.reset()
    with torch.no_grad():
        torch.testing.assert_close(stream.push(x[:, 0]), model(x[:, :1]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["convlstm_forecaster_tiny", "convlstm_single_stack_tiny"])
def test_a_frame_size_that_does_not_split_into_patches_is_refused(name):
    model = create_model(name)  # 2x2 patches
    with pytest.raises(ValueError, match=r"frame_size=\(16, 15\) does not split into 2x2 patches"):
        model.init_state(1, frame_size=(16, 15))


def test_onnx_step_loop_of_the_forecaster_matches_the_eager_forward(tmp_path):
    pytest.importorskip("onnxruntime")
    from cnnlstm.deploy.step import export_step

    torch.manual_seed(0)
    model = create_model("convlstm_forecaster_tiny")
    report = export_step(model, torch.zeros(2, 1, 16, 16), tmp_path, steps=20, tolerance=1e-5)
    assert report["steps_checked"] == 20 and report["max_abs_diff"] < 1e-5
    assert report["outputs"][0] == "frames" and len(report["outputs"]) == 1 + 2 * len(model.hidden_channels)
    assert json.loads((tmp_path / "step.json").read_text()) == report
