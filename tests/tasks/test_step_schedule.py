"""The cosine schedule follows a budget of updates (``max_steps``) step by step, whatever the epochs."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import numpy as np

from cnnlstm.data.series_arrays import SeriesArrayDataModule
from cnnlstm.tasks import ClassificationTask


class _LearningRates(pl.Callback):
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_cosine_runs_over_max_steps_one_update_at_a_time(tmp_path):
    x = np.random.default_rng(0).normal(size=(10, 8, 3))
    data = SeriesArrayDataModule(
        x=x, y=np.arange(10) % 2, class_names=["a", "b"], batch_size=4
    )  # 3 batches/epoch
    task = ClassificationTask(name="cnn_bilstm_tiny", num_classes=2, input_shape=[8, 3], lr=1e-3)
    rates = _LearningRates()
    trainer = pl.Trainer(
        max_steps=8,
        max_epochs=-1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[rates],
        default_root_dir=tmp_path,
    )
    trainer.fit(task, datamodule=data)
    expected = [1e-3 * (1 + math.cos(math.pi * k / 8)) / 2 for k in range(8)]
    np.testing.assert_allclose(rates.rates, expected, rtol=1e-6)  # across the epoch boundaries too
