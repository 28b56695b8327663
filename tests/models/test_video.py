"""Model-specific behaviour of the video classifiers."""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.models import Conv3dLSTMClassifier
from cnnlstm.nn import LSTM


@pytest.mark.parametrize("shape", [(2, 16, 3, 112, 112), (2, 8, 3, 64, 64)])
def test_conv3d_lstm_accepts_clips_of_its_frame_size(shape):
    model = create_model("conv3d_lstm", num_classes=5, frame_size=shape[-2:]).eval()
    with torch.no_grad():
        out = model(torch.randn(*shape))
    assert out.shape == (2, 5)
    # The LSTM input is computed from the frame size: 64 channels × (H/4) × (W/4), not 64*7*7.
    assert model.lstm.input_size == 64 * (shape[-2] // 4) * (shape[-1] // 4)
    assert isinstance(model.lstm, LSTM) and model.lstm.num_layers == 2 and model.lstm.hidden_size == 128


def test_conv3d_lstm_layers():
    model = Conv3dLSTMClassifier(num_classes=4)
    convs = [m for m in model.stem.modules() if isinstance(m, torch.nn.Conv3d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (3, 32, (3, 3, 3), (1, 1, 1)),
        (32, 64, (3, 3, 3), (1, 1, 1)),
    ]
    pools = [m for m in model.stem.modules() if isinstance(m, torch.nn.MaxPool3d)]
    assert [p.kernel_size for p in pools] == [(2, 2, 2), (2, 2, 2)]
    assert model.head.fc.in_features == 128 and model.head.fc.out_features == 4


def test_conv3d_lstm_flattens_per_time_step_not_per_channel():
    """LSTM steps are pooled time windows: late frames cannot change early steps' outputs.

    With 16 frames the stem gives T' = 4 steps. The two 3-wide temporal convolutions give step 1
    a receptive field of frames 1..10, so changing frames 12..15 must leave steps 0 and 1 alone
    (the LSTM is causal) and change step 3. Flattening per channel instead would mix every frame
    into every "step".
    """
    model = create_model("conv3d_lstm_tiny").eval()
    x = torch.randn(1, 16, 3, 32, 32)
    changed = x.clone()
    changed[:, 12:] = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        a, b = model.forward_features(x), model.forward_features(changed)
    assert a.shape == (1, 4, 16)  # T' = 16 / 4 steps, one 16-dim LSTM output each
    torch.testing.assert_close(a[:, :2], b[:, :2])
    assert not torch.allclose(a[:, 3], b[:, 3])


def test_conv3d_lstm_rejects_other_frame_sizes_and_short_clips():
    model = create_model("conv3d_lstm_tiny")
    with pytest.raises(ValueError, match=r"built for frames of \(32, 32\); received \(64, 64\)"):
        model(torch.randn(1, 8, 3, 64, 64))
    with pytest.raises(ValueError, match="at least 4 frames; received T=3"):
        model(torch.randn(1, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="frame_size"):
        create_model("conv3d_lstm", frame_size=(2, 2))


def test_lrcn_runs_the_cnn_once_over_all_frames():
    model = create_model("lrcn_tiny").eval()
    calls = []
    model.encoder.module.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape))
    with torch.no_grad():
        model(torch.randn(3, 5, 3, 32, 32))
    assert calls == [torch.Size([15, 3, 32, 32])]  # one batched call over B·T frames


def test_lrcn_mean_pooling_and_bidirectional():
    model = create_model("lrcn_tiny", num_classes=4, pool="mean", bidirectional=True).eval()
    with torch.no_grad():
        feats = model.forward_features(torch.randn(2, 6, 3, 32, 32))
        out = model.forward_head(feats)
    assert feats.shape == (2, 6, 64)
    torch.testing.assert_close(out, model.head.fc(feats.mean(1)))


def test_a_bidirectional_lrcn_cannot_stream():
    with pytest.raises(ValueError, match="bidirectional LSTM reads the future"):
        create_model("lrcn_tiny", bidirectional=True, pool="mean").init_state(1, frame_size=(32, 32))


def test_lrcn_accepts_any_frame_size():
    model = create_model("lrcn_tiny").eval()
    with torch.no_grad():
        for size in (16, 48, 100):
            assert model(torch.randn(1, 4, 3, size, size)).shape == (1, 10)


def test_convlstm_classifier_without_stem_and_with_options():
    model = create_model(
        "convlstm_classifier_tiny", stem_channels=(), peephole=True, norm="layer", num_classes=3
    ).eval()
    assert model.convlstm.in_channels == 3
    with torch.no_grad():
        assert model(torch.randn(2, 4, 3, 16, 16)).shape == (2, 3)


@pytest.mark.parametrize("pool, width", [("avg", 8), ("max", 8), ("avgmax", 16)])
def test_convlstm_classifier_pooling(pool, width):
    model = create_model("convlstm_classifier_tiny", pool=pool, num_classes=0).eval()
    with torch.no_grad():
        state = model.forward_features(torch.randn(2, 4, 3, 16, 16))
        pooled = model(torch.randn(2, 4, 3, 16, 16))
    assert model.num_features == width and pooled.shape == (2, width)
    expected = {"avg": state.mean((-2, -1)), "max": state.amax((-2, -1))}
    expected["avgmax"] = torch.cat([expected["avg"], expected["max"]], 1)
    torch.testing.assert_close(model.forward_head(state), expected[pool])
    with pytest.raises(ValueError, match="pool='sum'"):
        create_model("convlstm_classifier_tiny", pool="sum")


def test_frame_mean_ignores_frame_order():
    model = create_model("frame_mean_tiny", num_classes=3).eval()
    x = torch.randn(2, 6, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x.flip(1)), atol=1e-5, rtol=1e-5)
    lrcn = create_model("lrcn_tiny", num_classes=3).eval()
    with torch.no_grad():
        assert not torch.allclose(lrcn(x), lrcn(x.flip(1)))
