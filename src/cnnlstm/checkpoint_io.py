"""Checkpoint files that are never half-written and never unpickle code.

:class:`SafeCheckpointIO` writes to a temporary file in the same folder, flushes it to disk and
renames it over the target (``os.replace`` is atomic on POSIX), so a kill at any moment leaves
either the previous complete checkpoint or the new complete one. It reads with
``torch.load(weights_only=True)``: tensors and plain containers only.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

__all__ = ["SafeCheckpointIO", "UnsafeCheckpointError", "atomic_torch_save", "safe_torch_load"]


class UnsafeCheckpointError(ValueError):
    """A checkpoint holds pickled objects other than tensors and plain containers."""


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def safe_torch_load(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load a checkpoint with ``weights_only=True``; a file with other pickled objects is refused."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        what = f" ({found.group(1)})" if found else ""
        raise UnsafeCheckpointError(
            f"refusing to load {str(path)!r}: it holds a pickled object{what} beyond tensors and plain "
            "containers, which could run code; nothing in it was executed. Only use checkpoints you "
            "trust, re-saved as plain state dicts"
        ) from None
    except (EOFError, RuntimeError) as err:
        raise ValueError(
            f"checkpoint {str(path)!r} is unreadable or truncated ({type(err).__name__}: {str(err)[:200]})"
        ) from None


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO with atomic writes and ``weights_only`` reads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"SafeCheckpointIO takes no storage_options; received {storage_options!r}")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return safe_torch_load(path, map_location=map_location or "cpu")
