"""The YAML presets shipped inside the package, chosen by name (``--config synthetic-tiny``).

Example:
    >>> "synthetic-tiny" in list_presets()
    True
    >>> preset_path("synthetic-tiny").name
    'synthetic-tiny.yaml'
"""

from __future__ import annotations

import difflib
import os
import warnings
from pathlib import Path

from cnnlstm.cli.errors import CLIError

__all__ = ["PRESET_DIR", "list_presets", "preset_path"]

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"

# Renamed presets: the old name still works for one release, with a FutureWarning (shown to
# users by default, unlike DeprecationWarning) naming the new one.
RENAMED_PRESETS = {"synthetic-seed": "synthetic-conv3d", "video-seed": "video-conv3d"}


def list_presets() -> dict[str, str]:
    """``{name: one-line description}`` of the presets shipped in the package."""
    presets = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        first = path.read_text().splitlines()[0] if path.stat().st_size else ""
        presets[path.stem] = first.lstrip("# ").strip()
    return presets


def preset_path(name_or_path: str) -> Path:
    """A config file path, or the path of the shipped preset of that name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if name_or_path in RENAMED_PRESETS:
        new = RENAMED_PRESETS[name_or_path]
        warnings.warn(
            f"preset {name_or_path!r} is now called {new!r}; the old name will be removed in the next release",
            FutureWarning,
            stacklevel=2,
        )
        name_or_path = new
    if (PRESET_DIR / f"{name_or_path}.yaml").is_file():
        return PRESET_DIR / f"{name_or_path}.yaml"
    if path.suffix in (".yaml", ".yml", ".json") or os.sep in name_or_path:
        raise CLIError(f"config file {name_or_path!r} does not exist")
    names = list(list_presets())
    close = difflib.get_close_matches(name_or_path, names, n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CLIError(f"unknown preset {name_or_path!r}{hint} (`cnnlstm presets` lists {len(names)})")
