"""Callbacks for tests. ``RisingValLoss`` reports a validation loss that rises every epoch (no epoch after the first
improves), as a run that starts to overfit does."""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback


class RisingValLoss(Callback):
    def on_validation_end(self, trainer, pl_module) -> None:
        # Runs before the checkpoint callbacks (Lightning orders them last): they see this value.
        if not trainer.sanity_checking:
            trainer.callback_metrics["val/loss"] = torch.tensor(float(trainer.current_epoch))


class FallingValLoss(Callback):
    """The opposite: every epoch improves, so the best file is written at every epoch's end."""

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            trainer.callback_metrics["val/loss"] = torch.tensor(-float(trainer.current_epoch))


class StopAfterEpoch(Callback):
    """Ends training cleanly after ``epoch`` (an interrupted run; the schedule still spans max_epochs)."""

    def __init__(self, epoch: int = 1) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch:
            trainer.should_stop = True
