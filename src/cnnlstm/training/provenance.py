"""What data a result came from, and whether an evaluation scores data the model was trained on.

A data module names each sample by a key (``BaseDataModule.sample_keys``: a resolved video path,
``<sensor file>@<row>``, a frame window of a source). ``fit`` keeps short digests of the training
and validation keys in the run folder (``data_keys.json``); ``test`` and ``validate`` compare the
data they read against them. The fingerprint of a split is a digest of its sorted keys, so the
same data gives the same fingerprint whatever the order or the folder it was read from.

Example:
    >>> keys = ["/data/a.mp4", "/data/b.mp4"]
    >>> fingerprint(keys) == fingerprint(list(reversed(keys)))
    True
    >>> overlap(digests(["/data/a.mp4", "/data/c.mp4"]), set(digests(keys)))
    1
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cnnlstm._io import atomic_write_json

__all__ = [
    "DATA_KEYS_FILE",
    "describe_split",
    "digests",
    "fingerprint",
    "overlap",
    "read_fit_keys",
    "write_fit_keys",
]

DATA_KEYS_FILE = "data_keys.json"
_FIT_SPLITS = ("train", "val")


def digests(keys: Iterable[str]) -> list[str]:
    """A 16-hex-digit digest per key (BLAKE2b, 8 bytes: collisions are negligible below 10^9 keys)."""
    return [hashlib.blake2b(key.encode(), digest_size=8).hexdigest() for key in keys]


def fingerprint(keys: Sequence[str]) -> str:
    """16 hex digits identifying the set of samples (order-independent)."""
    joined = "\n".join(sorted(digests(keys)))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def overlap(evaluated: Iterable[str], reference: set[str]) -> int:
    """How many of the ``evaluated`` digests are in ``reference``."""
    return sum(1 for d in evaluated if d in reference)


def _keys_of(datamodule: Any, split: str) -> list[str] | None:
    get = getattr(datamodule, "sample_keys", None)
    return get(split) if callable(get) else None


def write_fit_keys(root: Path, datamodule: Any) -> None:
    """Keep the digests of the training and validation samples in ``root/data_keys.json``."""
    record: dict[str, Any] = {}
    for split in _FIT_SPLITS:
        keys = _keys_of(datamodule, split)
        if keys is not None:
            record[split] = {
                "samples": len(keys),
                "fingerprint": fingerprint(keys),
                "digests": sorted(set(digests(keys))),
            }
    if record:
        atomic_write_json(root / DATA_KEYS_FILE, record)


def read_fit_keys(root: Path) -> dict[str, set[str]]:
    """The digests ``fit`` kept per split (empty when the run kept none)."""
    path = root / DATA_KEYS_FILE
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
        return {split: set(record[split]["digests"]) for split in _FIT_SPLITS if split in record}
    except (ValueError, KeyError, TypeError):  # damaged: the overlap is reported as not checked
        return {}


def describe_split(root: Path, datamodule: Any, split: str) -> dict[str, Any]:
    """The evaluated split's size, fingerprint and its overlap with the run's training data.

    ``overlap`` maps ``"train"`` / ``"val"`` to how many evaluated samples were in that split of
    the fit, or is the string ``"not checked"`` with the reason (the data has no sample keys, or
    the run folder kept none).
    """
    keys = _keys_of(datamodule, split)
    if keys is None:
        return {"split": split, "fingerprint": None, "overlap": "not checked: the data has no sample keys"}
    info: dict[str, Any] = {"split": split, "samples": len(keys), "fingerprint": fingerprint(keys)}
    fit = read_fit_keys(root)
    if not fit:
        info["overlap"] = (
            f"not checked: {root / DATA_KEYS_FILE} is missing or unreadable (a run from an older version?)"
        )
        return info
    evaluated = digests(keys)
    info["overlap"] = {name: overlap(evaluated, reference) for name, reference in fit.items()}
    return info
