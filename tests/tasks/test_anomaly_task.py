"""The anomaly task trains a detector that beats a random score on planted anomalies."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch

from cnnlstm.data.anomaly import AnomalyDataModule
from cnnlstm.metrics import vus
from cnnlstm.tasks import AnomalyTask


def _series(tmp_path, n=1200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.stack([np.sin(2 * np.pi * t / 40), np.cos(2 * np.pi * t / 25)], 1) + 0.05 * rng.normal(size=(n, 2))
    labels = np.zeros(n, dtype=int)
    for start in (700, 900, 1100):
        x[start : start + 8, start % 2] += rng.normal(0, 1.0, 8)  # bursts of noise on one channel
        labels[start : start + 8] = 1
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": labels}).to_csv(tmp_path / "s.csv", index=False)
    return tmp_path / "s.csv"


@pytest.mark.slow
@pytest.mark.parametrize("threshold", ["spot", "quantile"])
def test_trained_forecaster_beats_random_and_alarms_on_the_anomalies(tmp_path, threshold):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    dm = AnomalyDataModule(path=_series(tmp_path), window=48, stride=2, train_fraction=0.5, batch_size=32)
    task = AnomalyTask(
        name="cnn_lstm_forecast_tiny", input_shape=dm.input_shape, threshold=threshold, vus_window=10, lr=0.01
    )
    trainer = pl.Trainer(
        max_epochs=4,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(task, dm)
    trainer.test(task, dm, verbose=False)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    random = task.baselines["test"]["random"]
    assert metrics["test/vus_pr"] > random["vus_pr"] + 0.2
    assert metrics["test/auc_roc"] > 0.8
    (result,) = task.results["test"]
    start = result["test_start"]
    assert result["alarms"][:start].sum() == 0  # alarms only where the detector was not trained
    assert any(
        700 <= peak < 708 or 900 <= peak < 908 or 1100 <= peak < 1108 for _, _, peak, _ in result["intervals"]
    )
    written = task.write_outputs("test", tmp_path)
    assert written[:2] == ["test_scores.csv", "test_alarms.csv"]
    scores = pd.read_csv(tmp_path / "test_scores.csv")
    assert len(scores) == 1200 - start and set(scores.columns) == {
        "series",
        "timestamp",
        "score",
        "threshold",
        "alarm",
        "label",
    }


def test_random_row_stays_near_chance_on_the_same_series(tmp_path):
    labels = pd.read_csv(_series(tmp_path))["label"].to_numpy()
    scores = np.random.default_rng(0).random(labels.size)
    assert vus(labels, scores, window=0)["vus_pr"] < 0.1
