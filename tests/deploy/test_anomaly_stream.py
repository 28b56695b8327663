"""The anomaly stream: sample by sample, the offline scores and alarms, with a state that never grows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlstm.deploy import AnomalyStream
from cnnlstm.metrics import SPOT
from cnnlstm.models import create_model
from cnnlstm.tasks import AnomalyTask


@pytest.mark.parametrize("smoothing", [1, 3])
def test_streamed_scores_and_alarms_equal_the_offline_ones(smoothing):
    torch.manual_seed(0)
    task = AnomalyTask(
        name="cnn_lstm_forecast_tiny",
        input_shape=[24, 2],
        smoothing=smoothing,
        model_kwargs={"horizon": 3, "gaussian": True},
    )
    model = task.model.eval()
    model.fit_error_stats(torch.randn(200, 2) * 0.5 + 0.1)
    mean, std = np.array([10.0, -2.0]), np.array([3.0, 0.5])
    raw = np.random.default_rng(0).normal(size=(80, 2)) * std + mean
    raw[50] += 6 * std  # a spike
    offline = task.score(torch.as_tensor((raw - mean) / std, dtype=torch.float32)).numpy()
    calibration = np.random.default_rng(1).exponential(size=200) * offline.mean()
    offline_alarms, _ = SPOT(risk=1e-2).fit(calibration).run(offline[1:])

    stream = AnomalyStream(
        model, mean=mean, std=std, threshold=SPOT(risk=1e-2).fit(calibration), smoothing=smoothing
    )
    results = [stream.push(sample) for sample in raw]
    assert results[0].score is None  # nothing predicted the first sample
    streamed = np.array([r.score for r in results[1:]])
    np.testing.assert_allclose(streamed, offline[1:], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal([r.alarm for r in results[1:]], offline_alarms)
    assert results[50].alarm


def test_the_state_stays_the_same_size_however_long_the_stream():
    model = create_model("cnn_lstm_forecast_tiny", in_channels=1, horizon=2)
    stream = AnomalyStream(model, threshold=1.0)
    for sample in torch.randn(10, 1):
        stream.push(sample)
    sizes = [t.shape for t in stream.scorer.buffers()], stream.scorer.v.shape
    for sample in torch.randn(200, 1):
        stream.push(sample)
    assert ([t.shape for t in stream.scorer.buffers()], stream.scorer.v.shape) == sizes
    stream.reset()
    assert stream.push([0.0]).score is None


def test_the_generic_stream_returns_the_forecast_itself():
    from cnnlstm.deploy import Stream

    model = create_model("cnn_lstm_forecast_tiny", in_channels=2, horizon=3).eval()
    x = torch.randn(1, 6, 2)
    stream = Stream(model)
    for t in range(6):
        out = stream.push(x[:, t])
    torch.testing.assert_close(out, model(x), rtol=1e-5, atol=1e-6)  # not a softmax of it


def test_a_detector_without_forecasts_is_refused():
    with pytest.raises(TypeError, match="cannot stream anomaly scores"):
        AnomalyStream(create_model("cnn_lstm_autoencoder_tiny", in_channels=1))


def test_samples_may_be_tensors_with_gradient_arrays_or_lists_and_the_channel_count_is_checked():
    model = create_model("cnn_lstm_forecast_tiny", in_channels=2, horizon=2).eval()
    stream = AnomalyStream(model)
    values = np.random.default_rng(0).normal(size=(3, 2))
    first = [
        stream.push(torch.tensor(values[0], requires_grad=True)),
        stream.push(values[1]),
        stream.push(list(values[2])),
    ]
    stream.reset()
    again = [stream.push(torch.as_tensor(v, dtype=torch.float32)) for v in values]
    assert first[0].score is None and again[0].score is None
    assert [r.score for r in first[1:]] == pytest.approx([r.score for r in again[1:]], rel=1e-6)
    with pytest.raises(ValueError, match="one sample of 2 channels"):
        stream.push([1.0, 2.0, 3.0])


def test_reset_reads_the_models_current_error_statistics():
    model = create_model("cnn_lstm_forecast_tiny", in_channels=1, horizon=2, gaussian=True).eval()
    x = torch.randn(20, 1)
    stream = AnomalyStream(model)
    model.fit_error_stats(torch.randn(100, 1) * 3 + 1)  # after the stream was built
    stream.reset()
    scores = [stream.push(sample).score for sample in x][1:]
    np.testing.assert_allclose(scores, model.score_series(x)[1:].numpy(), rtol=1e-4, atol=1e-6)
