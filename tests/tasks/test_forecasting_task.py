"""The forecasting task: metric conventions against hand computation, scheduled sampling, steps."""

from __future__ import annotations

import math

import pytest
import torch

from cnnlstm.tasks import ForecastingTask
from cnnlstm.tasks.forecasting import FrameForecastMetrics, ssim_loss


def test_mse_and_mae_sum_over_pixels_and_average_over_frames():
    pred = torch.zeros(2, 3, 1, 8, 8)
    target = torch.zeros(2, 3, 1, 8, 8)
    target[0, 0, 0, :2, :2] = 0.5  # 4 pixels off by 0.5 in one frame of one sequence
    target[1, 2] = 1.0  # a whole frame off by 1
    metric = FrameForecastMetrics(horizon=3)
    metric.update(pred, target)
    values, horizon = metric.compute(), metric.per_horizon()
    # per (sequence, frame) sums of squares: 1.0 and 64.0; six frames in all
    assert float(values["mse"]) == pytest.approx((4 * 0.25 + 64.0) / 6)
    assert float(values["mae"]) == pytest.approx((4 * 0.5 + 64.0) / 6)
    assert horizon["mse"] == pytest.approx([0.5, 0.0, 32.0])
    # PSNR of frame (1, 2): per-pixel MSE 1 -> 0 dB; identical frames are capped at 100 dB
    assert horizon["psnr"][2] == pytest.approx((100.0 + 0.0) / 2)
    assert horizon["psnr"][0] == pytest.approx((10 * math.log10(1 / (1.0 / 64)) + 100.0) / 2)


def test_ssim_is_one_for_identical_frames_and_lower_otherwise():
    frames = torch.rand(2, 2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    same = FrameForecastMetrics(horizon=2)
    same.update(frames, frames)
    assert float(same.compute()["ssim"]) == pytest.approx(1.0, abs=1e-5)
    other = FrameForecastMetrics(horizon=2)
    other.update(frames.flip(-1), frames)
    assert float(other.compute()["ssim"]) < 0.5


def test_metric_accumulates_batches_like_one_big_batch():
    g = torch.Generator().manual_seed(1)
    pred, target = torch.rand(5, 2, 1, 16, 16, generator=g), torch.rand(5, 2, 1, 16, 16, generator=g)
    whole, parts = FrameForecastMetrics(horizon=2), FrameForecastMetrics(horizon=2)
    whole.update(pred, target)
    parts.update(pred[:2], target[:2])
    parts.update(pred[2:], target[2:])
    for key, value in whole.compute().items():
        assert float(parts.compute()[key]) == pytest.approx(float(value), rel=1e-5)


def test_wrong_shapes_are_named():
    with pytest.raises(ValueError, match=r"horizon=3.*received \(1, 2, 1, 8, 8\)"):
        FrameForecastMetrics(horizon=3).update(torch.zeros(1, 2, 1, 8, 8), torch.zeros(1, 2, 1, 8, 8))


def test_teacher_forcing_decays_linearly_over_its_epochs(monkeypatch):
    task = ForecastingTask(
        name="convlstm_forecaster_tiny",
        teacher_forcing=1.0,
        teacher_forcing_end=0.0,
        teacher_forcing_epochs=4,
    )
    monkeypatch.setattr(ForecastingTask, "current_epoch", property(lambda self: self.epoch_for_test))
    seen = []
    for epoch in range(6):
        task.epoch_for_test = epoch
        seen.append(task.teacher_forcing_now())
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0, 0.0])
    assert ForecastingTask(name="convlstm_forecaster_tiny").teacher_forcing_now() == 0.0


def test_task_arguments_are_validated():
    with pytest.raises(ValueError, match="loss must be one of"):
        ForecastingTask(name="convlstm_forecaster_tiny", loss="ssim")
    with pytest.raises(ValueError, match="teacher_forcing must be in"):
        ForecastingTask(name="convlstm_forecaster_tiny", teacher_forcing=2.0)


@pytest.mark.parametrize("loss", ["mse", "l1", "mse+l1", "bce"])
def test_training_step_uses_the_requested_loss(loss):
    torch.manual_seed(0)
    task = ForecastingTask(name="convlstm_forecaster_tiny", loss=loss)
    x, y = torch.rand(2, 3, 1, 8, 8), torch.rand(2, 2, 1, 8, 8)
    with torch.no_grad():
        pred = task(x, 2)
    expected = {
        "mse": torch.nn.functional.mse_loss,
        "l1": torch.nn.functional.l1_loss,
        "mse+l1": lambda p, t: ((p - t) ** 2).mean() + (p - t).abs().mean(),
        "bce": torch.nn.functional.binary_cross_entropy,
    }[loss](pred, y)
    torch.testing.assert_close(task.criterion(pred, y), expected)


def test_input_loss_scores_the_predictions_of_the_input_frames_too():
    torch.manual_seed(0)
    task = ForecastingTask(name="convlstm_single_stack_tiny", loss="mse", input_loss=0.5)
    x, y = torch.rand(2, 4, 1, 16, 16), torch.rand(2, 3, 1, 16, 16)
    task.log = lambda *args, **kwargs: None  # no trainer attached
    loss = task.training_step((x, y), 0)
    with torch.no_grad():
        pred = task.model(x, 3, predict_inputs=True)
        read = task.model.input_predictions
    expected = torch.nn.functional.mse_loss(pred, y) + 0.5 * torch.nn.functional.mse_loss(read, x[:, 1:])
    torch.testing.assert_close(loss.detach(), expected)
    with pytest.raises(ValueError, match="input_loss=1.0 needs a next-frame forecaster"):
        ForecastingTask(name="convlstm_forecaster_tiny", input_loss=1.0)


def test_mse_plus_l1_weighs_its_l1_term():
    task = ForecastingTask(name="convlstm_forecaster_tiny", loss="mse+l1", l1_weight=2.0)
    pred, y = torch.zeros(1, 2, 1, 4, 4), torch.full((1, 2, 1, 4, 4), 0.5)
    torch.testing.assert_close(task.criterion(pred, y), torch.tensor(0.25 + 2 * 0.5))


def test_ssim_loss_is_one_minus_torchmetrics_ssim_of_the_clipped_frames():
    from torchmetrics.functional.image import structural_similarity_index_measure

    torch.manual_seed(0)
    target = (torch.rand(3, 4, 1, 24, 40) > 0.7).float()  # mostly black, as Moving MNIST
    pred = torch.rand(3, 4, 1, 24, 40) * 1.4 - 0.2  # linear outputs stray below 0 and above 1
    reference = structural_similarity_index_measure(
        pred.clamp(0, 1).flatten(0, 1), target.flatten(0, 1), data_range=1.0
    )
    torch.testing.assert_close(ssim_loss(pred, target), 1 - reference, atol=1e-5, rtol=0)
    torch.testing.assert_close(ssim_loss(target, target), torch.tensor(0.0), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="larger than 5 pixels a side; received 4"):
        ssim_loss(torch.rand(1, 1, 1, 4, 16), torch.rand(1, 1, 1, 4, 16))


def test_ssim_loss_gradient_pulls_faint_background_to_black_and_leaves_negatives_free():
    target = torch.zeros(1, 1, 1, 16, 16)
    pred = torch.full((1, 1, 1, 16, 16), 0.01, requires_grad=True)
    ssim_loss(pred, target).backward()
    assert pred.grad is not None and (pred.grad > 0).all()  # descending lowers the grey
    below = torch.full((1, 1, 1, 16, 16), -0.1, requires_grad=True)
    ssim_loss(below, target).backward()
    assert below.grad is not None and (below.grad == 0).all()  # already black once clipped


def test_ssim_loss_is_float32_under_bf16_autocast():
    pred, target = torch.rand(2, 2, 1, 16, 16), torch.rand(2, 2, 1, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = ssim_loss(pred.bfloat16(), target)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, ssim_loss(pred.bfloat16().float(), target))


def test_ssim_weight_adds_the_ssim_term_to_the_loss():
    task = ForecastingTask(name="convlstm_forecaster_tiny", loss="mse+l1", l1_weight=2.0, ssim_weight=0.5)
    pred, y = torch.rand(1, 2, 1, 16, 16), torch.rand(1, 2, 1, 16, 16)
    expected = ((pred - y) ** 2).mean() + 2 * (pred - y).abs().mean() + 0.5 * ssim_loss(pred, y)
    torch.testing.assert_close(task.criterion(pred, y), expected)
    with pytest.raises(ValueError, match="ssim_weight"):
        ForecastingTask(name="convlstm_forecaster_tiny", ssim_weight=-1.0)


def test_balanced_loss_weights_errors_by_the_observed_value():
    edges = [0.5404, 0.6313, 0.7001, 0.8092]
    task = ForecastingTask(
        name="convlstm_forecaster_tiny", loss="balanced", balance_edges=edges, l1_weight=0.5
    )
    target = torch.tensor([0.0, 0.6, 0.9, 0.95]).view(1, 1, 1, 2, 2)
    pred = torch.zeros_like(target)
    weight = torch.tensor([1.0, 2.0, 30.0, 30.0]).view(1, 1, 1, 2, 2)  # HKO-7's default weights
    expected = (weight * target**2).mean() + 0.5 * (weight * target).mean()
    torch.testing.assert_close(task.criterion(pred, target), expected)
    with pytest.raises(ValueError, match="loss='balanced' needs balance_edges"):
        ForecastingTask(name="convlstm_forecaster_tiny", loss="balanced")
    with pytest.raises(ValueError, match="balance_weights must be 5 positive numbers"):
        ForecastingTask(
            name="convlstm_forecaster_tiny", loss="balanced", balance_edges=edges, balance_weights=[1, 2]
        )


def test_bce_needs_the_sigmoid_output():
    with pytest.raises(ValueError, match=r"loss='bce' needs .*output='linear'"):
        ForecastingTask(name="convlstm_forecaster_tiny", loss="bce", model_kwargs={"output": "linear"})
    ForecastingTask(name="convlstm_forecaster_tiny", loss="mse+l1", model_kwargs={"output": "linear"})


def test_bce_works_under_bf16_autocast_and_equals_float32():
    task = ForecastingTask(name="convlstm_forecaster_tiny", loss="bce")
    pred = torch.rand(2, 2, 1, 8, 8).clamp(0.01, 0.99)
    target = torch.rand(2, 2, 1, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = task.criterion(pred.bfloat16(), target)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(
        loss, torch.nn.functional.binary_cross_entropy(pred.bfloat16().float(), target)
    )


def test_baselines_score_blank_frames_and_the_last_input_repeated(tmp_path):
    g = torch.Generator().manual_seed(2)
    task = ForecastingTask(name="convlstm_forecaster_tiny")
    batches = [
        (torch.rand(3, 4, 1, 8, 8, generator=g), torch.rand(3, 2, 1, 8, 8, generator=g)) for _ in range(2)
    ]
    for x, y in batches:
        task._update_baselines("test", x, y)
    task._finish_baselines("test")
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    # per frame: summed over pixels; then averaged over frames and sequences
    zeros_mse = y.square().sum(dim=(2, 3, 4)).mean()
    copy_mse = (x[:, -1:] - y).square().sum(dim=(2, 3, 4)).mean()
    copy_mae = (x[:, -1:] - y).abs().sum(dim=(2, 3, 4)).mean()
    result = task.baselines["test"]
    assert set(result) == {"zeros", "copy_last"} and set(result["zeros"]) == {"mse", "mae", "ssim", "psnr"}
    assert result["zeros"]["mse"] == pytest.approx(float(zeros_mse), rel=1e-5)
    assert result["copy_last"]["mse"] == pytest.approx(float(copy_mse), rel=1e-5)
    assert result["copy_last"]["mae"] == pytest.approx(float(copy_mae), rel=1e-5)
    assert task.evaluation_artifacts("test", tmp_path)["baselines"] == result


def test_copy_last_baseline_needs_inputs_shaped_like_targets():
    task = ForecastingTask(name="convlstm_forecaster_tiny")
    task._update_baselines("test", torch.rand(2, 3, 2, 8, 8), torch.rand(2, 2, 1, 8, 8))
    task._finish_baselines("test")
    assert set(task.baselines["test"]) == {"zeros"}


def test_a_task_is_rebuilt_from_its_checkpoint_file_without_unpickling(tmp_path):
    torch.manual_seed(0)
    task = ForecastingTask(name="convlstm_forecaster_tiny", loss="mse+l1", l1_weight=2.0)
    path = tmp_path / "task.ckpt"
    hparams = {**task.hparams, "_instantiator": "cli bookkeeping"}  # private keys are left out
    torch.save({"hyper_parameters": hparams, "state_dict": task.state_dict()}, path)
    loaded = ForecastingTask.from_checkpoint_file(path)
    assert not loaded.training and loaded.hparams["l1_weight"] == 2.0
    x = torch.rand(2, 3, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, future_frames=2), task.eval()(x, future_frames=2))
    torch.save({"state_dict": task.state_dict()}, tmp_path / "weights_only.ckpt")
    with pytest.raises(ValueError, match="has no hyper_parameters: it is not a checkpoint written by"):
        ForecastingTask.from_checkpoint_file(tmp_path / "weights_only.ckpt")
