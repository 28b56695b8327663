"""File helpers used across the package: atomic writes, safe weight reading, one-line error text.

* :func:`atomic_write` — write through a temporary file in the same folder and rename it over the
  target (``os.replace`` is atomic on POSIX), so a kill at any moment leaves the previous complete
  file or the new complete one, never a half-written one.
* :func:`read_state_dict` — read weights from a ``.safetensors`` file or a ``torch.save`` file with
  ``weights_only=True``: tensors and plain containers only; nothing else is ever unpickled.
* :func:`one_line` — an exception or message as one line, for errors shown to a user.

Example:
    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
    >>> with atomic_write(path, "w") as f:
    ...     _ = f.write(json.dumps({"acc": 1.0}))
    >>> json.loads(path.read_text())
    {'acc': 1.0}
    >>> one_line(ValueError("bad value\\n  in line 3"))
    'bad value in line 3'
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import torch
from torch import Tensor

__all__ = [
    "UnsafeCheckpointError",
    "atomic_write",
    "atomic_write_json",
    "one_line",
    "read_state_dict",
    "safe_torch_load",
    "temporary_path",
]


class UnsafeCheckpointError(ValueError):
    """A checkpoint holds pickled objects other than tensors and plain containers."""


def one_line(
    err: BaseException | str, *, limit: int | None = None, sep: str = " ", skip_first: bool = False
) -> str:
    """``err`` (an exception or a message) as one line: its lines stripped and joined with ``sep``.

    An exception with an empty message is shown by its type name; ``skip_first`` drops a heading
    line (such as torch's "Error(s) in loading state_dict for X:"); ``limit`` cuts long text with
    ``...``.
    """
    lines = [" ".join(line.split()) for line in str(err).splitlines()]
    lines = [line for line in lines if line]
    if skip_first and len(lines) > 1:
        lines = lines[1:]
    text = sep.join(lines) or (type(err).__name__ if isinstance(err, BaseException) else "")
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 3, 0)] + "..."
    return text


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", *, newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit flush it to disk and rename it over
    ``path``. On an exception the temporary file is removed and ``path`` is left as it was.

    The file's bytes reach the disk (``fsync``) before the rename, so a killed process or a
    crashed machine leaves the previous complete file or the new complete one. The folder is not
    synced after the rename (it costs as much as the file's sync, once per epoch for checkpoints):
    the rename reaches the disk with the file system's next commit, seconds later, and a machine
    crash in between leaves the previous version.

    ``mode`` is ``"w"`` (text, UTF-8) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb'; received mode={mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        encoding = "utf-8" if mode == "w" else None
        with open(tmp, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def temporary_path(path: str | Path) -> Path:
    """Where a write to ``path`` goes first: ``.<name>.<pid>.tmp`` beside it (the name
    :func:`cnnlstm.cli.run_folders.remove_stale_tmp_files` recognises once its process is gone)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON with a trailing newline through :func:`atomic_write`."""
    with atomic_write(path, "w") as f:
        f.write(json.dumps(obj, indent=2) + "\n")


def safe_torch_load(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)``; a file with other pickled objects is refused, unrun."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" not in str(err).lower():  # no object to build: garbage, or not a pickle at all
            raise ValueError(f"{str(path)!r} is not a torch.save file or is corrupt") from None
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        what = f" ({found.group(1)})" if found else ""
        raise UnsafeCheckpointError(
            f"refusing to load {str(path)!r}: it holds a pickled object{what} beyond tensors and plain "
            "containers, which could run code; nothing in it was executed. Only use checkpoints you "
            "trust, re-saved as plain state dicts"
        ) from None
    except (EOFError, RuntimeError) as err:
        raise ValueError(
            f"checkpoint {str(path)!r} is unreadable or truncated ({type(err).__name__}: {one_line(err, limit=200)})"
        ) from None


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a state dict from ``.safetensors`` or a ``torch.save`` file (``weights_only=True``).

    A Lightning checkpoint or a ``{"state_dict": ...}`` wrapper is unwrapped; anything that is not
    a mapping of names to tensors is refused with the file's name.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {str(path)!r} does not exist")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as err:
            raise ImportError(
                f'reading {path.name} needs safetensors: pip install "cnnlstm[export]"'
            ) from err
        return load_file(str(path))
    state = safe_torch_load(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"weights file {str(path)!r} holds a {type(state).__name__}, not a state dict")
    return state
