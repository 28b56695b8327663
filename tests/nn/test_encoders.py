"""Encoders and time folding."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.nn import Conv3dStem, FrameCNN, SequenceClassifierHead, TemporalConvEncoder, TimeDistributed


def test_time_distributed_equals_a_loop_over_frames():
    torch.manual_seed(0)
    cnn = FrameCNN(in_channels=3, channels=(4, 8)).eval()
    x = torch.randn(2, 5, 3, 16, 16)
    folded = TimeDistributed(cnn)(x)
    looped = torch.stack([cnn(x[:, t]) for t in range(5)], dim=1)
    assert folded.shape == (2, 5, 8)
    torch.testing.assert_close(folded, looped)


def test_frame_cnn_without_global_pool_keeps_the_map():
    maps = FrameCNN(in_channels=1, channels=(4, 6), global_pool=None)(torch.randn(2, 1, 32, 24))
    assert maps.shape == (2, 6, 8, 6)


def test_conv3d_stem_output_size_matches_forward():
    stem = Conv3dStem(in_channels=2, channels=(4, 8), pool=(1, 2, 2))
    out = stem(torch.randn(1, 2, 7, 30, 22))
    assert tuple(out.shape[2:]) == stem.output_size(7, 30, 22) == (7, 7, 5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_temporal_conv_encoder_lengths(padding):
    enc = TemporalConvEncoder(in_channels=3, channels=(8, 8), kernel_size=5, padding=padding)
    out = enc(torch.randn(2, 20, 3))
    assert out.shape == (2, enc.output_length(20), 8)
    assert enc.output_length(20) == (12 if padding == "valid" else 20)


def test_temporal_conv_encoder_is_causal_free_but_local():
    """A valid conv stack of receptive field 9 sees only inputs t..t+8 for output t."""
    torch.manual_seed(1)
    enc = TemporalConvEncoder(in_channels=2, channels=(4, 4), kernel_size=5)
    x = torch.randn(1, 20, 2)
    changed = x.clone()
    changed[:, 15] += 1.0
    a, b = enc(x), enc(changed)
    torch.testing.assert_close(a[:, :7], b[:, :7])  # outputs 0..6 see inputs up to 14


def test_encoder_errors_quote_values():
    with pytest.raises(ValueError, match=r"channels=\(\)"):
        FrameCNN(channels=())
    with pytest.raises(ValueError, match="kernel_size=4"):
        FrameCNN(kernel_size=4)
    with pytest.raises(ValueError, match="at least 9 steps"):
        TemporalConvEncoder(in_channels=2, channels=(4, 4), kernel_size=5)(torch.randn(1, 8, 2))
    with pytest.raises(ValueError, match="pool='max'"):
        SequenceClassifierHead(in_features=4, num_classes=2, pool="max")
