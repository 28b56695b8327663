"""Forecasting models: shapes, roll-outs past the training horizon, teacher forcing, causality."""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model, list_models, model_info
from cnnlstm.models.forecasting import ConvLSTMForecaster, ConvLSTMSingleStack

FORECASTERS = list_models(task="forecasting")


def _frames(name: str, batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, *model_info(name).test_input_size, generator=torch.Generator().manual_seed(seed))


def _build(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, **kwargs)


def test_registry_has_both_forecasters_with_tiny_variants():
    assert {
        "convlstm_forecaster",
        "convlstm_forecaster_tiny",
        "convlstm_single_stack",
        "convlstm_single_stack_tiny",
    } <= set(FORECASTERS)


@pytest.mark.parametrize("name", FORECASTERS)
@pytest.mark.parametrize("future", [1, 3, 9])
def test_any_horizon_in_the_unit_interval(name, future):
    model = _build(name).eval()
    x = _frames(name)
    with torch.no_grad():
        out = model(x, future_frames=future)
    assert out.shape == (x.shape[0], future, *x.shape[2:])
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", FORECASTERS)
def test_longer_rollout_starts_with_the_shorter_one(name):
    model = _build(name).eval()
    x = _frames(name)
    with torch.no_grad():
        short, long = model(x, future_frames=3), model(x, future_frames=7)
    torch.testing.assert_close(long[:, :3], short)


@pytest.mark.parametrize("cls", [ConvLSTMForecaster, ConvLSTMSingleStack])
def test_teacher_forcing_feeds_the_true_frames(cls):
    torch.manual_seed(0)
    model = cls(in_channels=1, hidden_channels=(4,), kernel_size=3, patch_size=2).eval()
    x, targets = torch.rand(2, 3, 1, 8, 8), torch.rand(2, 4, 1, 8, 8)
    other = torch.rand(2, 4, 1, 8, 8)
    with torch.no_grad():
        free = model(x, 4, targets=targets, teacher_forcing=0.0)
        free_other = model(x, 4, targets=other, teacher_forcing=0.0)
        forced = model(x, 4, targets=targets, teacher_forcing=1.0)
        forced_other = model(x, 4, targets=other, teacher_forcing=1.0)
    torch.testing.assert_close(free, free_other)  # without forcing the targets are never read
    torch.testing.assert_close(forced[:, 0], free[:, 0])  # the first frame only sees the inputs
    assert not torch.allclose(forced[:, 1:], forced_other[:, 1:])  # later frames see true frames
    # Forcing frame k equals a fresh roll-out whose inputs end with the true frames 0..k-1.
    for k in range(1, 4):
        with torch.no_grad():
            reference = model(torch.cat([x, targets[:, :k]], dim=1), 1)
        if cls is ConvLSTMSingleStack:
            torch.testing.assert_close(forced[:, k], reference[:, 0], rtol=1e-5, atol=1e-6)


def test_forecaster_is_causal_in_its_inputs_and_ignores_the_last_frame_without_input():
    torch.manual_seed(0)
    model = ConvLSTMForecaster(in_channels=1, hidden_channels=(4, 4), kernel_size=3, patch_size=2).eval()
    x = torch.rand(1, 5, 1, 8, 8)
    changed = x.clone()
    changed[:, 0] += 0.5
    with torch.no_grad():
        assert not torch.allclose(model(x, 2), model(changed, 2))  # early inputs matter
    blind = ConvLSTMForecaster(
        in_channels=1, hidden_channels=(4,), kernel_size=3, patch_size=2, forecaster_input="none"
    ).eval()
    assert blind.forecaster_input == "none"
    with torch.no_grad():
        out = blind(x, 3)
    assert out.shape == (1, 3, 1, 8, 8)


def test_patching_round_trips_and_sizes_the_stacks():
    model = ConvLSTMForecaster(in_channels=2, hidden_channels=(4,), patch_size=4)
    frames = torch.rand(2, 3, 2, 16, 8)
    patched = model.patch(frames)
    assert patched.shape == (2, 3, 32, 4, 2)
    torch.testing.assert_close(model.unpatch(patched), frames, rtol=0, atol=0)
    assert model.encoder.in_channels == 32 and model.output.out_channels == 32


def test_bad_input_gives_clear_errors():
    model = ConvLSTMForecaster(in_channels=1, hidden_channels=(4,), patch_size=4)
    wrong_channels = r"expects frames \(B, T, C, H, W\) with C=1; received \(1, 2, 3, 8, 8\)"
    with pytest.raises(ValueError, match=wrong_channels):
        model(torch.rand(1, 2, 3, 8, 8))
    with pytest.raises(ValueError, match="frames of 10x8 do not split into 4x4 patches"):
        model(torch.rand(1, 2, 1, 10, 8))
    with pytest.raises(ValueError, match=r"teacher_forcing must be in \[0, 1\]; received .*=1.5"):
        model(torch.rand(1, 2, 1, 8, 8), teacher_forcing=1.5)
    with pytest.raises(ValueError, match="forecaster_input must be one of"):
        ConvLSTMForecaster(forecaster_input="zeros")


@pytest.mark.parametrize("name", ["convlstm_forecaster_tiny", "convlstm_single_stack_tiny"])
def test_the_streaming_state_is_zeros_one_pair_per_layer(name):
    model = create_model(name)  # 2x2 patches
    state = model.init_state(2, frame_size=(16, 16))
    assert len(state) == 2 * len(model.hidden_channels) and all(not s.any() for s in state)
    assert [tuple(s.shape) for s in state[::2]] == [(2, h, 8, 8) for h in model.hidden_channels]
    with pytest.raises(ValueError, match=r"frame_size=\(16, 15\) does not split into 2x2 patches"):
        model.init_state(1, frame_size=(16, 15))


def test_a_tiny_forecaster_learns_to_continue_a_moving_bar():
    """A vertical bar moving one pixel right per frame: the loss must fall well below copying."""
    torch.manual_seed(0)
    frames = torch.zeros(16, 8, 1, 8, 8)
    for b in range(16):
        start = b % 4
        for t in range(8):
            frames[b, t, 0, :, (start + t) % 8] = 1.0
    x, y = frames[:, :4], frames[:, 4:]
    model = create_model("convlstm_forecaster_tiny")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    copy_last = torch.nn.functional.mse_loss(x[:, -1:].expand_as(y), y).item()
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy(model(x, 4), y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        mse = torch.nn.functional.mse_loss(model(x, 4), y).item()
    assert mse < 0.25 * copy_last, (mse, copy_last)


@pytest.mark.parametrize(
    "name", ["convlstm_forecaster_tiny", "convlstm_single_stack_tiny", "predrnn_forecaster_tiny"]
)
def test_linear_output_is_the_raw_convolution_in_training_and_clipped_in_evaluation(name):
    torch.manual_seed(0)
    model = create_model(name, output="linear")
    with torch.no_grad():  # push the output convolution's values outside [0, 1] both ways
        model.output.weight.mul_(50.0)
    x = _frames(name)
    with torch.no_grad():
        raw = model.train()(x, future_frames=3)
        clipped = model.eval()(x, future_frames=3)
    assert raw.min() < 0 and raw.max() > 1  # training sees the unclipped values (MSE/L1 gradients)
    assert clipped.min() == 0 and clipped.max() <= 1  # evaluation: exact black where the raw value is < 0
    # the first frame is read from the true inputs in both modes: clipping is the only difference
    torch.testing.assert_close(clipped[:, 0], raw[:, 0].clamp(0, 1))
    with pytest.raises(ValueError, match="output must be one of"):
        create_model(name, output="tanh")


@pytest.mark.parametrize("name", ["convlstm_single_stack_tiny", "predrnn_forecaster_tiny"])
def test_input_predictions_are_the_next_frame_forecasts_made_while_reading(name):
    model = _build(name, output="linear").train()
    x = _frames(name)
    with torch.no_grad():
        forecast = model(x, 3, predict_inputs=True)
        read = model.input_predictions
        plain = model(x, 3)
        assert model.input_predictions is None  # kept only when asked
    assert read is not None and read.shape == (x.shape[0], x.shape[1] - 1, *x.shape[2:])
    torch.testing.assert_close(forecast, plain)  # asking for them does not change the forecast
    for t in range(x.shape[1] - 1):  # the prediction of frame t + 1 from frames 0 ... t
        with torch.no_grad():
            torch.testing.assert_close(read[:, t], model(x[:, : t + 1], 1)[:, 0])
    with torch.no_grad():
        model.eval()(x, 3, predict_inputs=True)
    assert model.input_predictions is None  # training only
