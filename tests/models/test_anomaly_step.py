"""The online scorer gives the offline scores, for every shape of forecasting detector."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.models.anomaly import CNNLSTMForecastDetector
from cnnlstm.models.anomaly_step import OnlineScorer


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(in_channels=1, conv_channels=(8, 8), kernel_size=5, hidden_size=8, horizon=1),
        dict(in_channels=3, conv_channels=(6,), kernel_size=3, hidden_size=5, horizon=4, gaussian=True),
        dict(in_channels=2, conv_channels=(), hidden_size=6, num_layers=2, horizon=2, residual=False),
        dict(in_channels=2, conv_channels=(4, 4, 4), kernel_size=1, hidden_size=4, horizon=3, gaussian=True),
    ],
)
def test_online_scores_equal_score_series(kwargs):
    torch.manual_seed(0)
    model = CNNLSTMForecastDetector(**kwargs).eval()
    channels = kwargs["in_channels"]
    if model.gaussian:
        model.fit_error_stats(torch.randn(100, channels) * 0.4 + 0.2)
    mean, std = torch.linspace(-3, 5, channels), torch.linspace(0.5, 2, channels)
    x = torch.randn(30, channels)
    scorer = OnlineScorer(model, mean=mean, std=std)
    for _ in range(2):  # a reset starts a new stream
        scores = [scorer.step(sample * std + mean) for sample in x]
        assert scores[0] is None
        torch.testing.assert_close(torch.tensor(scores[1:]), model.score_series(x)[1:], rtol=1e-4, atol=1e-5)
        scorer.reset()


def test_the_scorer_reads_the_weights_once_and_leaves_the_model_alone():
    model = CNNLSTMForecastDetector(in_channels=1, conv_channels=(4,), hidden_size=4).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scorer = OnlineScorer(model)
    for sample in torch.randn(10, 1):
        scorer.step(sample)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_only_forecasting_detectors_are_scored_online():
    from cnnlstm.models.anomaly import CNNLSTMAutoencoder

    with pytest.raises(TypeError, match="CNNLSTMForecastDetector"):
        OnlineScorer(CNNLSTMAutoencoder(in_channels=1, window=8))  # type: ignore[arg-type]
