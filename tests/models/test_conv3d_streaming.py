"""conv3d_lstm streams: its non-causal Conv3d stem is evaluated frame by frame, exactly."""

from __future__ import annotations

import itertools

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.deploy.stream import Stream
from cnnlstm.nn import Conv3dStem
from cnnlstm.nn.conv3d_stream import Conv3dStemStream


def _randomise_batchnorm(model: torch.nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)


@pytest.mark.parametrize(
    ("kernel_size", "pool", "channels"),
    list(itertools.product([3, 5, (1, 3, 3)], [2, (1, 2, 2), 3], [(4,), (3, 5)])),
)
def test_stem_stream_equals_the_stem_on_every_prefix(kernel_size, pool, channels):
    torch.manual_seed(0)
    stem = Conv3dStem(in_channels=2, channels=channels, kernel_size=kernel_size, pool=pool, norm="batch")
    _randomise_batchnorm(stem)
    stem.eval()
    stream, state, finals = Conv3dStemStream(stem), None, []
    clip = torch.randn(2, 2, 19, 24, 24, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for t in range(clip.shape[2]):
            final, tail, state = stream.step(clip[:, :, t], state)
            finals += [] if final is None else [final]
            expected_steps = stem.output_size(t + 1, 24, 24)[0]
            assert len(finals) + len(tail) == expected_steps
            if expected_steps:
                whole = stem(clip[:, :, : t + 1])
                torch.testing.assert_close(torch.stack(finals + tail, 2), whole, rtol=1e-5, atol=1e-6)
    # bounded buffers: each block keeps 2r partial sums and at most pool_t - 1 pending outputs
    r = stem.features[0].kernel_size[0] // 2
    assert all(len(b.partial) <= 2 * r and len(b.pending) < stem.pool[0] for b in state.blocks)


@pytest.mark.parametrize("kwargs", [{}, {"pool": "mean"}, {"norm": "none", "lstm_layers": 1}])
def test_conv3d_lstm_step_equals_the_forward_on_the_frames_so_far(kwargs):
    torch.manual_seed(0)
    model = create_model("conv3d_lstm_tiny", num_classes=5, **kwargs)
    _randomise_batchnorm(model)
    model.eval()
    x = torch.randn(3, 15, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    state = model.init_state(3)
    with torch.no_grad():
        empty = model.head(torch.zeros(3, 1, model.lstm.hidden_size))
        for t in range(x.shape[1]):
            logits, state = model.step(x[:, t], state)
            expected = model(x[:, : t + 1]) if t + 1 >= model.min_steps else empty
            torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-5)


def test_conv3d_lstm_streams_through_stream_and_checks_the_frame():
    torch.manual_seed(0)
    model = create_model("conv3d_lstm_tiny", num_classes=4)
    x = torch.rand(2, 9, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    stream = Stream(model, batch_size=2)
    for t in range(x.shape[1]):
        probs = stream.push(x[:, t])
    with torch.no_grad():
        torch.testing.assert_close(probs, torch.softmax(model(x), -1), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"expects one frame \(B, 3, 32, 32\); received \(2, 3, 16, 16\)"):
        model.step(torch.zeros(2, 3, 16, 16), model.init_state(2))
