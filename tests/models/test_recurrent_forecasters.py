"""ConvGRU and PredRNN forecasters: the stack they run, PredRNN-V2's decoupling loss in training."""

from __future__ import annotations

import pytest
import torch

from cnnlstm import create_model
from cnnlstm.models.recurrent_forecasters import PredRNNForecaster
from cnnlstm.nn import STLSTM, ConvGRU
from cnnlstm.tasks import ForecastingTask


def test_forecasters_run_the_cells_their_names_say():
    assert isinstance(create_model("convgru_forecaster_tiny").stack, ConvGRU)
    assert isinstance(create_model("predrnn_forecaster_tiny").stack, STLSTM)


def test_first_prediction_is_the_output_layer_on_the_stacks_last_output():
    torch.manual_seed(0)
    model = PredRNNForecaster(hidden_channels=(4, 4), kernel_size=3, patch_size=2).eval()
    x = torch.rand(2, 3, 1, 8, 8)
    out, _ = model.stack(model.patch(x))
    expected = model.unpatch(torch.sigmoid(model.output(out[:, -1]))[:, None])
    torch.testing.assert_close(model(x, future_frames=1), expected)


def test_decoupling_loss_only_in_training_and_weighted():
    torch.manual_seed(1)
    model = PredRNNForecaster(hidden_channels=(4, 4), kernel_size=3, patch_size=2, decoupling=0.5)
    x = torch.rand(2, 3, 1, 8, 8)
    model.eval()(x, future_frames=2)
    assert model.auxiliary_loss is None
    model.train()(x, future_frames=2)
    aux = model.auxiliary_loss
    # the read of 3 steps and one fed-back step: weight x the step-weighted mean of their losses
    out, states, read = model.stack(model.patch(x), None, return_decoupling=True)
    prediction = torch.sigmoid(model.output(out[:, -1]))
    _, _, fed = model.stack(prediction[:, None], states, return_decoupling=True)
    torch.testing.assert_close(aux, 0.5 * (3 * read + fed) / 4)
    assert 0 < aux.item() <= 0.5  # a mean |cos| lies in [0, 1]


def test_task_adds_the_decoupling_loss_to_the_training_loss():
    torch.manual_seed(3)
    kwargs = dict(hidden_channels=[4], kernel_size=3, patch_size=2, decoupling=1.0)
    task = ForecastingTask(name="predrnn_forecaster_tiny", model_kwargs=kwargs, input_shape=[3, 1, 8, 8])
    task.log = lambda *args, **kwargs: None  # no trainer attached
    x, y = torch.rand(2, 3, 1, 8, 8), torch.rand(2, 2, 1, 8, 8)
    torch.manual_seed(4)
    loss = task.training_step((x, y), 0)
    torch.manual_seed(4)
    frame_loss = task.criterion(task(x, 2, targets=y), y)
    torch.testing.assert_close(loss, frame_loss + task.model.auxiliary_loss)
    loss.backward()
    assert task.model.stack.adapter.weight.grad.abs().sum() > 0


def test_reverse_scheduled_sampling_reads_own_predictions_with_probability_one_minus_p():
    torch.manual_seed(5)
    model = create_model("convgru_forecaster_tiny").train()
    x = torch.rand(2, 4, 1, 16, 16)
    torch.manual_seed(6)
    truth = model(x, 3, input_truth=1.0)
    torch.testing.assert_close(truth, model(x, 3))  # p = 1 reads the true frames
    own = model(x, 3, input_truth=0.0)
    # reference: read frame 0, then the model's own prediction of each next input frame
    frames = model.patch(x)
    out, state = model.stack(frames[:, :1], None)
    for _ in range(3):
        out, state = model.stack(torch.sigmoid(model.output(out[:, 0]))[:, None], state)
    expected = model.unpatch(model._rollout(out[:, 0], state, 3))
    torch.testing.assert_close(own, expected)
    assert (own - truth).abs().max() > 1e-4
    torch.testing.assert_close(model.eval()(x, 3, input_truth=0.0), model(x, 3))  # off in evaluation


def test_task_schedules_reverse_sampling_and_refuses_models_without_it():
    task = ForecastingTask(name="predrnn_forecaster_tiny", input_shape=[3, 1, 8, 8], reverse_sampling=0.5)
    assert task.reverse_sampling_now() == 0.5  # epoch 0, no trainer: the start value
    task.log = lambda *args, **kwargs: None
    task.training_step((torch.rand(2, 3, 1, 8, 8), torch.rand(2, 2, 1, 8, 8)), 0).backward()
    with pytest.raises(ValueError, match="reverse_sampling=0.5 needs a next-frame forecaster"):
        ForecastingTask(name="convlstm_forecaster_tiny", input_shape=[3, 1, 8, 8], reverse_sampling=0.5)


@pytest.mark.parametrize(
    "name, kwargs",
    [("convlstm_forecaster_tiny", {}), ("convlstm_classifier_tiny", {"num_classes": 3, "in_channels": 1})],
)
def test_convlstm_models_pass_the_new_layer_options_to_every_cell(name, kwargs):
    options = dict(norm="layer_split", recurrent_dropout=0.3, zoneout=0.1)
    model = create_model(name, **kwargs, **options).train()
    cells = [m for m in model.modules() if type(m).__name__ == "ConvLSTMCell"]
    assert cells and all(
        (c.norm_kind, c.recurrent_dropout, c.zoneout) == ("layer_split", 0.3, 0.1) for c in cells
    )
    out = model(torch.rand(2, 4, 1, 16, 16))
    out.sum().backward()
    assert torch.isfinite(out).all()
