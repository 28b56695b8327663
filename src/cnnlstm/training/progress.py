"""One line per epoch instead of redrawn progress bars when the output is not a terminal.

A log file or a CI console keeps every redraw of a progress bar (carriage returns and all), so a
few epochs make megabytes. :class:`EpochLinePrinter` turns the bars off when ``stdout`` is not a
TTY and prints one line per epoch instead; on a terminal it leaves the bars alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback

__all__ = ["EpochLinePrinter", "epoch_line", "log_learning_rate"]

# The first of these the task logs is the line's validation metric (classification, forecasting).
MAIN_VAL_METRICS = ("val/acc", "val/mse", "val/f1_macro", "val/mae")


def _value(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    return float(value) if isinstance(value, (int, float)) else None


def epoch_line(epoch: int, max_epochs: int | None, metrics: dict[str, Any], seconds: float) -> str:
    """The line printed for one epoch: epoch, train loss, val loss, the main val metric, seconds.

    Example:
        >>> epoch_line(0, 3, {"train/loss_epoch": 0.5, "val/loss": 0.25, "val/acc": 0.75}, 1.25)
        'epoch 1/3  train/loss 0.5000  val/loss 0.2500  val/acc 0.7500  1.2s'
    """
    total = f"/{max_epochs}" if max_epochs and max_epochs > 0 else ""
    parts = [f"epoch {epoch + 1}{total}"]
    train = _value(metrics, "train/loss_epoch")
    train = _value(metrics, "train/loss") if train is None else train
    if train is not None:
        parts.append(f"train/loss {train:.4f}")
    val_keys = ["val/loss"] + [next((k for k in MAIN_VAL_METRICS if k in metrics), "")]
    for key in filter(None, val_keys):
        value = _value(metrics, key)
        if value is not None:
            parts.append(f"{key} {value:.4f}")
    parts.append(f"{seconds:.1f}s")
    return "  ".join(parts)


def log_learning_rate(module: pl.LightningModule) -> None:
    """Log the first optimiser's learning rate as ``lr`` (metrics.csv, TensorBoard), once per epoch.

    Called by the tasks at the start of each training epoch; ``plot_curves`` leaves ``lr`` out of
    the metric pictures. A module with no optimiser (yet) logs nothing.
    """
    optimizers = module.optimizers(use_pl_optimizer=False)
    first = optimizers[0] if isinstance(optimizers, list) else optimizers
    groups = getattr(first, "param_groups", None)
    if groups:
        module.log("lr", float(groups[0]["lr"]), on_step=False, on_epoch=True, sync_dist=False)


class EpochLinePrinter(Callback):
    """Off a terminal, replace the progress bars by one line per epoch (see :func:`epoch_line`).

    Does nothing on a terminal, or when the bars are already off (``--quiet``,
    ``enable_progress_bar=False``): a quiet run stays quiet.

    Args:
        stream: where the lines go (default: ``sys.stdout`` at print time).
        is_terminal: whether the output is a terminal (default: ``stream.isatty()``).

    Example:
        >>> import io
        >>> printer = EpochLinePrinter(stream=io.StringIO())
        >>> printer.active
        False
    """

    def __init__(
        self, *, stream: TextIO | None = None, is_terminal: Callable[[], bool] | None = None
    ) -> None:
        self._stream = stream
        self._is_terminal = is_terminal
        self.active = False
        self._started = 0.0
        self._validated = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def _terminal(self) -> bool:
        if self._is_terminal is not None:
            return self._is_terminal()
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty()) if callable(isatty) else False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        bar = trainer.progress_bar_callback
        self.active = bar is not None and not self._terminal()
        if self.active and bar is not None:
            bar.disable()  # before the bars are made: they are created disabled and print nothing

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = time.perf_counter()
        self._validated = False

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._validated = self._validated or not trainer.sanity_checking

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning calls this after the epoch's validation, so its metrics are in callback_metrics.
        if not self.active or not trainer.is_global_zero or trainer.sanity_checking:
            return
        metrics = dict(trainer.callback_metrics)
        if not self._validated:  # no validation this epoch: the val numbers are an older epoch's
            metrics = {k: v for k, v in metrics.items() if not k.startswith("val/")}
        line = epoch_line(
            trainer.current_epoch, trainer.max_epochs, metrics, time.perf_counter() - self._started
        )
        print(line, file=self.stream, flush=True)
