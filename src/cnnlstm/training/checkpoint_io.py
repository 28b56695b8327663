"""Checkpoint files that are never half-written and never unpickle code.

:class:`SafeCheckpointIO` writes to a temporary file in the same folder, flushes it to disk and
renames it over the target (``os.replace`` is atomic on POSIX), so a kill at any moment leaves
either the previous complete checkpoint or the new complete one. It reads with
``torch.load(weights_only=True)``: tensors and plain containers only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from cnnlstm._io import UnsafeCheckpointError, atomic_write, safe_torch_load

__all__ = ["SafeCheckpointIO", "UnsafeCheckpointError", "atomic_torch_save", "safe_torch_load"]


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
