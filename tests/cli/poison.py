"""A callback for tests: makes the weights NaN at the start of a chosen epoch (a diverged run)."""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback


class PoisonWeightsAt(Callback):
    def __init__(self, epoch: int = 1) -> None:
        self.epoch = epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.current_epoch == self.epoch:
            with torch.no_grad():
                for p in pl_module.parameters():
                    p.fill_(float("nan"))
