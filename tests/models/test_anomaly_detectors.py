"""Anomaly detectors: errors land on the step they belong to, window averaging, Gaussian scoring."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.models import create_model


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("name", ["cnn_lstm_forecast_tiny", "convlstm_forecast_tiny"])
def test_forecast_errors_belong_to_the_step_they_predict(name):
    """Step t's error is x[t] minus the mean of the forecasts made 1..horizon steps before it."""
    model = create_model(name, in_channels=2, horizon=3).eval()
    x = torch.randn(30, 2)
    with torch.no_grad():
        errors = model.series_errors(x)
        for t in (1, 2, 5, 29):
            # the forecast j steps ahead made after step t - j: model(x[: t - j + 1])[j - 1]
            forecasts = [model(x[None, : t - j + 1])[0, j - 1] for j in range(1, 4) if t - j >= 0]
            torch.testing.assert_close(errors[t], x[t] - torch.stack(forecasts).mean(0), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(errors[0], errors[1])  # nothing predicts step 0


def test_forecast_training_pairs_are_aligned():
    model = create_model("cnn_lstm_forecast_tiny", in_channels=1, horizon=2)
    x = torch.arange(10.0).reshape(1, 10, 1)
    _, target = model.training_pair(x)
    # targets: steps 1..9 (one step ahead), then 2..9 (two steps ahead)
    assert target.flatten().tolist() == [*range(1, 10), *range(2, 10)]


@pytest.mark.parametrize("stride", [1, 3, 7])
def test_autoencoder_errors_average_the_windows_holding_each_step(stride):
    """Windows every stride steps (a stride above the window is capped to it) and one at the end."""
    model = create_model("cnn_lstm_autoencoder_tiny", in_channels=2, window=6).eval()
    x = torch.randn(20, 2)
    starts = sorted({*range(0, 15, min(stride, 6)), 14})
    total, count = torch.zeros(20, 2), torch.zeros(20, 1)
    with torch.no_grad():
        for s in starts:
            total[s : s + 6] += x[s : s + 6] - model(x[None, s : s + 6])[0]
            count[s : s + 6] += 1
        torch.testing.assert_close(model.series_errors(x, stride=stride), total / count, atol=1e-5, rtol=1e-5)


def test_gaussian_scores_are_z_scores_of_the_errors():
    model = create_model("cnn_lstm_forecast_tiny", in_channels=2, gaussian=True).eval()
    errors = torch.randn(500, 2) * torch.tensor([1.0, 10.0]) + torch.tensor([0.5, -2.0])
    model.fit_error_stats(errors)
    z = (errors - errors.mean(0)) / errors.std(0, unbiased=False)
    torch.testing.assert_close(model.scores_from_errors(errors), z.square().mean(-1), atol=1e-4, rtol=1e-4)
    # the statistics are buffers: a state dict carries them
    assert {"error_mean", "error_std"} <= set(model.state_dict())


def test_residual_forecast_follows_a_level_the_model_never_saw():
    """With residual=True an untrained model's forecast of a constant series is near the constant."""
    model = create_model("cnn_lstm_forecast_tiny", in_channels=1).eval()
    with torch.no_grad():
        far = model(torch.full((1, 10, 1), 50.0))
    assert (far - 50.0).abs().max() < 5.0


def test_convlstm_forecasts_are_causal_and_read_the_channel_grid():
    model = create_model("convlstm_forecast_tiny", in_channels=6, grid=(2, 3)).eval()
    x = torch.randn(1, 15, 6)
    later = x.clone()
    later[:, 10:] += 5.0
    with torch.no_grad():
        torch.testing.assert_close(model.forward_sequence(x)[:, :10], model.forward_sequence(later)[:, :10])
        # a change in one channel reaches its grid neighbours' next forecasts, not far channels
        poked = x.clone()
        poked[:, 5, 0] += 5.0
        moved = (model.forward_sequence(poked)[0, 5] - model.forward_sequence(x)[0, 5]).abs().amax(0)
    assert moved[[0, 1, 3, 4]].min() > 0 and moved[[2, 5]].max() == 0  # (0,0) reaches (0,1), (1,0), (1,1)
    with pytest.raises(ValueError, match="H \\* W = in_channels = 6"):
        create_model("convlstm_forecast_tiny", in_channels=6, grid=(4, 2))
