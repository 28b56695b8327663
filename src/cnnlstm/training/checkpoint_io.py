"""Checkpoint files that are never half-written and never unpickle code.

:class:`SafeCheckpointIO` writes to a temporary file in the same folder, flushes it to disk and
renames it over the target (``os.replace`` is atomic on POSIX), so a kill at any moment leaves
either the previous complete checkpoint or the new complete one. It reads with
``torch.load(weights_only=True)``: tensors and plain containers only.

:class:`EpochEndCheckpoint` keeps the best epoch by a monitored metric and writes ``last.ckpt`` at
the end of every epoch, so ``--ckpt_path last`` resumes where the run stopped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from cnnlstm._io import UnsafeCheckpointError, atomic_write, safe_torch_load, temporary_path

__all__ = [
    "EpochEndCheckpoint",
    "SafeCheckpointIO",
    "UnsafeCheckpointError",
    "atomic_torch_save",
    "safe_torch_load",
]


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_write(path, "wb") as f:
        torch.save(obj, f)


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO with atomic writes and ``weights_only`` reads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"SafeCheckpointIO takes no storage_options; received {storage_options!r}")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self, path: Any, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return safe_torch_load(path, map_location=map_location or "cpu")


class EpochEndCheckpoint(ModelCheckpoint):
    """A :class:`ModelCheckpoint` whose ``last.ckpt`` is the end of the latest epoch, always.

    Lightning 2.6 writes ``last`` only when it writes a top-k file, so with ``monitor`` set
    ``last.ckpt`` stays at the best epoch and a resume replays every epoch after it. This one
    also writes ``last`` where the parent would write a top-k file (the end of each training
    epoch, or after each validation when it runs several times an epoch) and at the end of an
    epoch that had no validation. It keeps :class:`ModelCheckpoint`'s ``state_key``, so checkpoints
    written before it existed resume with their best-model state.

    When the best file was written at the same step, ``last.ckpt`` becomes a hard link to it
    (through a temporary name and an atomic rename) instead of a second copy of the same state:
    on a set of thousands of short epochs that halves what is written. Where the file system has
    no hard links, ``last.ckpt`` is written as before.

    Example:
        >>> cb = EpochEndCheckpoint(dirpath="ckpts", monitor="val/loss", save_last=True)
        >>> cb.state_key.startswith("ModelCheckpoint{")
        True
    """

    @property
    def state_key(self) -> str:
        key = super().state_key
        return ModelCheckpoint.__qualname__ + key[len(type(self).__qualname__) :]

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):  # else the top-k file comes later
            self._save_last_unless_saved(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        self._save_last_unless_saved(trainer)

    def _save_last_checkpoint(self, trainer: Trainer, monitor_candidates: dict[str, torch.Tensor]) -> None:
        path = self.format_checkpoint_name(monitor_candidates, self.CHECKPOINT_NAME_LAST)
        source = self._last_checkpoint_saved  # the best file, when it was written at this step
        linkable = (
            self.save_last
            and not self._enable_version_counter
            and source
            and self._last_global_step_saved == trainer.global_step
            and os.path.abspath(source) != os.path.abspath(path)
        )
        linked = bool(linkable) and trainer.strategy.broadcast(
            _link_over(source, path) if trainer.is_global_zero else True
        )
        if not linked:
            super()._save_last_checkpoint(trainer, monitor_candidates)
            return
        previous, self.last_model_path = self.last_model_path, path
        self._last_checkpoint_saved = path
        if previous and self._should_remove_checkpoint(trainer, previous, path):
            self._remove_checkpoint(trainer, previous)

    def _save_last_unless_saved(self, trainer: Trainer) -> None:
        # Skips sanity checks, evaluation, fast_dev_run, and a step already saved (which, for the
        # parent class, includes ``last``: it writes ``last`` whenever it writes a top-k file).
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


def _link_over(source: str, target: str) -> bool:
    """Make ``target`` a hard link to ``source`` atomically; False where hard links are refused."""
    tmp = temporary_path(target)
    try:
        if os.path.lexists(tmp):
            os.remove(tmp)
        os.link(source, tmp)
        os.replace(tmp, target)
    except OSError:
        if os.path.lexists(tmp):
            os.remove(tmp)
        return False
    return True  # the linked file was synced when it was written (atomic_write)
