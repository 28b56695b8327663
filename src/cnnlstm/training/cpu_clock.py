"""A callback that logs the CPU time a fit has used, for budgets counted in CPU time, not wall time.

On a shared machine the wall time of a run depends on its neighbours; the CPU time its threads
used does not (much). ``CPUClock`` logs ``cpu_minutes`` — CPU seconds of this process's threads
(plus those of finished child processes, e.g. data workers) since the fit started, over 60 — at
the end of every validation, so ``metrics.csv`` holds a metric-vs-CPU-minutes curve. Add it in a
config: ``trainer: {callbacks: [{class_path: cnnlstm.training.cpu_clock.CPUClock}]}``.
"""

from __future__ import annotations

import resource

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

__all__ = ["CPUClock", "cpu_seconds"]


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its waited-for children.

    >>> cpu_seconds() > 0
    True
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CPUClock(Callback):
    """Log ``cpu_minutes`` (CPU time since the fit started) after each validation.

    Example:
        >>> clock = CPUClock()
        >>> clock.start is None
        True
    """

    def __init__(self) -> None:
        self.start: float | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = cpu_seconds()

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.start is None or trainer.sanity_checking:
            return
        pl_module.log("cpu_minutes", (cpu_seconds() - self.start) / 60.0, on_epoch=True)
