"""Streaming inference: after each frame, `step` equals the full forward on the frames so far."""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.deploy.stream import Stream

CASES = [
    ("lrcn_tiny", {}),
    ("lrcn_tiny", {"pool": "mean", "lstm_layers": 2}),
    ("frame_mean_tiny", {}),
    ("convlstm_classifier_tiny", {}),
    ("convlstm_classifier_tiny", {"pool": "avgmax"}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_each_step_equals_the_forward_on_the_frames_so_far(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, **kwargs).eval()
    x = torch.randn(3, 6, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    state = model.init_state(3, frame_size=(32, 32))
    with torch.no_grad():
        for t in range(x.shape[1]):
            logits, state = model.step(x[:, t], state)
            torch.testing.assert_close(logits, model(x[:, : t + 1]), rtol=1e-4, atol=1e-5)


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


def test_models_that_cannot_stream_say_so():
    with pytest.raises(ValueError, match="bidirectional LSTM reads the future"):
        create_model("lrcn_tiny", bidirectional=True, pool="mean").init_state(1, frame_size=(32, 32))
    with pytest.raises(TypeError, match="LSTMFCN cannot stream: it has no init_state/step"):
        Stream(create_model("lstm_fcn_tiny", in_channels=3))


def test_deepconvlstm_streams_sample_by_sample():
    torch.manual_seed(0)
    model = create_model("deepconvlstm_tiny", num_classes=4, in_channels=3).eval()
    x = torch.randn(2, 30, 3, generator=torch.Generator().manual_seed(3))
    state = model.init_state(2)
    with torch.no_grad():
        for t in range(x.shape[1]):
            logits, state = model.step(x[:, t], state)
            if t + 1 >= model.min_steps:
                torch.testing.assert_close(logits, model(x[:, : t + 1]), rtol=1e-4, atol=1e-5)
    stream = Stream(model, batch_size=2)
    for t in range(x.shape[1]):
        probs = stream.push(x[:, t])
    with torch.no_grad():
        torch.testing.assert_close(probs, torch.softmax(model(x), -1), rtol=1e-4, atol=1e-5)
