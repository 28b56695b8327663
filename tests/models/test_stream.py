"""Stream, the live-inference wrapper, and streaming with non-default model options.

That every streaming model's ``step`` equals its forward (default options) is tested for every
registered model in test_registry_suite.py.
"""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.deploy.stream import Stream

OPTION_CASES = [
    ("lrcn_tiny", {"pool": "mean", "lstm_layers": 2}, (3, 32, 32)),
    ("convlstm_classifier_tiny", {"pool": "avgmax"}, (3, 32, 32)),
    ("convlstm_forecaster_tiny", {"forecaster_input": "none"}, (1, 16, 16)),
    ("convlstm_forecaster_tiny", {"peephole": True, "future_frames": 3}, (1, 16, 16)),
    ("convlstm_single_stack_tiny", {"future_frames": 1}, (1, 16, 16)),
]


@pytest.mark.parametrize(("name", "kwargs", "frame"), OPTION_CASES)
def test_each_step_equals_the_forward_with_other_options(name, kwargs, frame):
    torch.manual_seed(0)
    model = create_model(name, **kwargs).eval()
    x = torch.rand(2, 7, *frame, generator=torch.Generator().manual_seed(1))  # an odd number of frames
    state = model.init_state(2, frame_size=frame[-2:])
    with torch.no_grad():
        for t in range(x.shape[1]):
            output, state = model.step(x[:, t], state)
            torch.testing.assert_close(output, model(x[:, : t + 1]), rtol=1e-4, atol=1e-5)


def test_stream_wraps_step_and_resets():
    torch.manual_seed(0)
    model = create_model("lrcn_tiny", num_classes=4)
    x = torch.randn(2, 5, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    stream = Stream(model, batch_size=2)
    for t in range(5):
        probs = stream.push(x[:, t])
    assert stream.frames_seen == 5 and not model.training
    with torch.no_grad():
        torch.testing.assert_close(probs, torch.softmax(model(x), -1), rtol=1e-4, atol=1e-5)
    stream.reset()
    first = stream.push(x[:, 0])
    with torch.no_grad():
        torch.testing.assert_close(first, torch.softmax(model(x[:, :1]), -1), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="opened for batch_size=2; received a frame batch of 1"):
        stream.push(x[:1, 0])


def test_stream_feeds_sensor_samples():
    torch.manual_seed(0)
    model = create_model("deepconvlstm_tiny", num_classes=4, in_channels=3)
    x = torch.randn(2, 30, 3, generator=torch.Generator().manual_seed(3))
    stream = Stream(model, batch_size=2)
    for t in range(x.shape[1]):
        probs = stream.push(x[:, t])
    with torch.no_grad():
        torch.testing.assert_close(probs, torch.softmax(model(x), -1), rtol=1e-4, atol=1e-5)


def test_stream_returns_a_forecasters_predicted_frames():
    torch.manual_seed(0)
    model = create_model("convlstm_forecaster_tiny", future_frames=4)
    x = torch.rand(2, 5, 1, 16, 16, generator=torch.Generator().manual_seed(3))
    stream = Stream(model, batch_size=2)
    for t in range(x.shape[1]):
        forecast = stream.push(x[:, t])
    assert stream.frames_seen == 5 and not model.training
    with torch.no_grad():
        torch.testing.assert_close(forecast, model(x), rtol=1e-4, atol=1e-5)  # frames, not a softmax
    stream.reset()
    with torch.no_grad():
        torch.testing.assert_close(stream.push(x[:, 0]), model(x[:, :1]), rtol=1e-4, atol=1e-5)


def test_a_model_that_cannot_stream_is_refused_naming_those_that_can():
    with pytest.raises(TypeError, match=r"LSTMFCN cannot stream: it has no init_state/step \(.*lrcn"):
        Stream(create_model("lstm_fcn_tiny", in_channels=3))


def test_export_step_refuses_a_model_without_a_step(tmp_path):
    from cnnlstm.deploy.step import export_step

    with pytest.raises(TypeError, match=r"LSTMFCN has no init_state/step.*deepconvlstm"):
        export_step(create_model("lstm_fcn_tiny"), torch.zeros(1, 3), tmp_path)
