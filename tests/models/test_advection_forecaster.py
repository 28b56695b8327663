"""ConvLSTMForecaster(output="advection"): frames carried along the predicted motion, any channels, streaming, export."""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.models.forecasting import ConvLSTMForecaster, ConvLSTMSingleStack
from cnnlstm.tasks import ForecastingTask


def _model(channels: int = 1, patch_size: int = 4, **kwargs) -> ConvLSTMForecaster:
    torch.manual_seed(0)
    return ConvLSTMForecaster(
        in_channels=channels,
        hidden_channels=(8, 8),
        kernel_size=3,
        patch_size=patch_size,
        output="advection",
        **kwargs,
    )


def _frames(channels: int = 1, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 4, channels, size, size, generator=torch.Generator().manual_seed(seed))


def _still_head(model: ConvLSTMForecaster, dx: float = 0.0, dy: float = 0.0) -> None:
    """No change, and a uniform motion of (dx, dy) pixels per step whatever the states."""
    with torch.no_grad():
        for conv in (model.output.motion, model.output.change):
            conv.weight.zero_()
            conv.bias.zero_()
        model.output.motion.bias.copy_(torch.tensor([dx, dy]))


@pytest.mark.parametrize("channels", [1, 3])
def test_no_motion_and_no_change_is_persistence(channels):
    model = _model(channels).eval()
    _still_head(model)
    x = _frames(channels)
    with torch.no_grad():
        out = model(x, future_frames=5)
    assert torch.equal(out, x[:, -1:].expand_as(out))


@pytest.mark.parametrize("forecaster_input", ["prediction", "none"])
def test_lead_k_is_the_last_frame_moved_k_times_the_motion(forecaster_input):
    model = _model(forecaster_input=forecaster_input).eval()
    _still_head(model, dx=1.0, dy=-1.0)
    x = _frames(seed=1)
    with torch.no_grad():
        out = model(x, future_frames=3)
    last = x[:, -1]
    for k in range(1, 4):
        torch.testing.assert_close(out[:, k - 1, :, : 16 - k, k:], last[:, :, k:, : 16 - k], atol=0, rtol=0)
        assert (out[:, k - 1, :, :, :k] == 0).all() and (out[:, k - 1, :, 16 - k :] == 0).all()


def test_any_channels_and_patches_and_horizons_in_the_unit_interval_after_training_steps():
    for channels, patch in ((1, 1), (2, 2), (3, 4)):
        model = _model(channels, patch).eval()
        x = _frames(channels, seed=2)
        with torch.no_grad():
            out = model(x, future_frames=7)
        assert out.shape == (2, 7, channels, 16, 16)
        assert out.min() >= 0 and out.max() <= 1
        with torch.no_grad():
            torch.testing.assert_close(model(x, future_frames=3), out[:, :3])


def test_gradients_reach_every_parameter_through_the_warp():
    model = _model(2).train()
    x, y = _frames(2, seed=3), _frames(2, seed=4)
    torch.nn.functional.mse_loss(model(x, 4), y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_teacher_forcing_warps_the_true_frame():
    model = _model().eval()
    _still_head(model, dx=2.0)
    x, targets = _frames(seed=5), _frames(seed=6)
    with torch.no_grad():
        forced = model(x, 3, targets=targets, teacher_forcing=1.0)
    # lead 2 is the true lead-1 frame moved by the motion, not the model's own lead-1 frame
    torch.testing.assert_close(forced[:, 1, ..., 2:], targets[:, 0, ..., :-2], atol=0, rtol=0)


def test_each_step_equals_the_forward_on_the_frames_so_far():
    model = _model(2).eval()
    x = _frames(2, seed=7)
    state = model.init_state(2, frame_size=(16, 16))
    with torch.no_grad():
        for t in range(x.shape[1]):
            forecast, state = model.step(x[:, t], state)
            torch.testing.assert_close(forecast, model(x[:, : t + 1]), rtol=1e-5, atol=1e-6)


def test_registry_builder_takes_the_option_and_only_the_encoder_forecaster_has_it():
    model = create_model("convlstm_forecaster_tiny", output="advection")
    assert model.output_activation == "advection"
    with pytest.raises(ValueError, match="output must be one of"):
        ConvLSTMSingleStack(hidden_channels=(4,), output="advection")
    with pytest.raises(ValueError, match="loss='bce'"):
        ForecastingTask(name="convlstm_forecaster_tiny", loss="bce", model_kwargs={"output": "advection"})


@pytest.mark.slow
def test_torch_export_and_fullgraph_capture_match_eager():
    model = _model().eval()
    x = _frames(seed=8)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(torch.export.export(model, (x,)).module()(x), expected)
        torch._dynamo.reset()
        compiled = torch.compile(model, fullgraph=True, backend="eager")
        torch.testing.assert_close(compiled(x), expected)


@pytest.mark.slow
def test_onnx_export_matches_eager(tmp_path):
    for module in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(module)
    from cnnlstm.deploy import export_model

    kwargs = dict(in_channels=1, hidden_channels=(8,), kernel_size=3, patch_size=2, output="advection")
    model = create_model("convlstm_forecaster_tiny", **kwargs)
    report = export_model(
        model,
        model_name="convlstm_forecaster_tiny",
        model_kwargs=kwargs,
        example_input=_frames(seed=9),
        output_dir=tmp_path,
        formats=("onnx",),
    )
    assert report["formats"]["onnx"]["max_abs_diff"] < 1e-4
