"""Weights as safetensors: tensors and JSON metadata only, so reading one never runs code.

safetensors refuses tensors that share memory; :func:`save_safetensors` stores tied weights once
and records them as aliases in the metadata, which :func:`read_safetensors` restores.

Example:
    >>> import tempfile, pathlib, torch
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.safetensors"
    >>> save_safetensors({"a": torch.ones(2), "b": torch.zeros(3)}, path)
    0
    >>> sorted(read_safetensors(path))
    ['a', 'b']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from cnnlstm._io import one_line
from cnnlstm.deploy._common import ALIASES_KEY, WEIGHTS_FILE, require

__all__ = ["read_safetensors", "save_safetensors"]


def save_safetensors(
    state: Mapping[str, Tensor], path: Path, *, metadata: Mapping[str, str] | None = None
) -> int:
    """Write a state dict; returns how many entries were stored as aliases of another entry.

    ``metadata`` (strings) is added to the file's header, next to ``format`` and the aliases.

    safetensors refuses tensors sharing memory. Entries that are the *same* tensor (tied weights:
    same storage, offset, shape, stride and dtype) are written once and recorded in the metadata
    as aliases, restored on load. Other tensors sharing storage (overlapping views) are copied
    apart, and every tensor is written contiguous, on the CPU.
    """
    require("safetensors", f"writing {WEIGHTS_FILE}")
    from safetensors.torch import save_file

    tensors: dict[str, Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[Any, ...], str] = {}
    users: dict[tuple[Any, ...], int] = {}
    for name, value in state.items():
        if not isinstance(value, Tensor):
            raise ValueError(
                f"state dict entry {name!r} is a {type(value).__name__}, not a tensor; safetensors "
                "stores tensors only"
            )
        t = value.detach()
        if t.numel():
            ptr = (t.device, t.untyped_storage().data_ptr())
            identity = (*ptr, t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
            if identity in seen:
                aliases[name] = seen[identity]
                continue
            seen[identity] = name
            users[ptr] = users.get(ptr, 0) + 1
        tensors[name] = t
    packed = {}
    for name, t in tensors.items():
        shared = t.numel() and users[(t.device, t.untyped_storage().data_ptr())] > 1
        if shared or not _owns_storage(t) or t.device.type != "cpu":
            t = t.to("cpu").clone(memory_format=torch.contiguous_format)
        packed[name] = t
    header = {**(metadata or {}), "format": "pt"}
    if aliases:
        header[ALIASES_KEY] = json.dumps(aliases, sort_keys=True)
    save_file(packed, str(path), metadata=header)
    return len(aliases)


def _owns_storage(t: Tensor) -> bool:
    """True when ``t`` is contiguous and spans exactly its whole storage."""
    return (
        t.is_contiguous()
        and t.storage_offset() == 0
        and t.untyped_storage().nbytes() == t.numel() * t.element_size()
    )


def read_safetensors(path: Path) -> dict[str, Tensor]:
    """Read a state dict written by :func:`save_safetensors` onto the CPU; refuses pickle files
    without unpickling them."""
    with path.open("rb") as f:
        head = f.read(9)
    # torch.save writes a zip archive ("PK\x03\x04") or, in the legacy format, a raw pickle
    # (protocol opcode 0x80); either would run code if unpickled, so say what it is and stop.
    # A safetensors file starts with its header's length (8 bytes, little-endian, whose first byte
    # may well be 0x80) and then the JSON header itself, "{": that one is not a pickle.
    looks_safetensors = head[8:9] == b"{"
    if head.startswith(b"PK\x03\x04") or (head[:1] == b"\x80" and not looks_safetensors):
        raise ValueError(
            f"{str(path)!r} is a pickle (torch.save) file, not safetensors; cnnlstm never unpickles "
            "weights. Re-export the model with cnnlstm.export_model"
        )
    safe_open = require("safetensors", f"reading {WEIGHTS_FILE}").safe_open
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            state = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open has keys(), no __iter__)
    except Exception as err:  # SafetensorError, OSError, ...: the file is not what it should be
        raise ValueError(
            f"{str(path)!r} is not a valid safetensors file ({one_line(err, sep='; ', limit=400)}); re-export the model"
        ) from None
    raw = metadata.get(ALIASES_KEY)
    if raw is not None:
        try:
            aliases = json.loads(raw)
            if not isinstance(aliases, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v in state for k, v in aliases.items()
            ):
                raise ValueError("not a mapping from names to stored tensors")
        except ValueError as err:
            raise ValueError(
                f"{str(path)!r} metadata {ALIASES_KEY!r} is invalid ({err}); re-export the model"
            ) from None
        for alias, target in aliases.items():
            state[alias] = state[target]
    return state
