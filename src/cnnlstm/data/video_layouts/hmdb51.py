"""Layout ``hmdb51``: the official ``testTrainMulti_7030_splits`` (``<class>_test_splitN.txt``).

The split files sit in ``root/testTrainMulti_7030_splits`` or ``root``; each line is
``<video> <0|1|2>`` (1 = train, 2 = test, 0 = unused) and the video is ``root/<class>/<video>``.
Class names are the sorted class names of the split files.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "wave").mkdir()
    >>> (root / "wave" / "a.avi").touch()
    >>> _ = (root / "wave_test_split1.txt").write_text("a.avi 1\\nb.avi 2\\n")
    >>> detect(root)
    'wave_test_split1.txt'
    >>> found = index(root, IndexOptions(val_fraction=0.0))
    >>> found.summary()
    'hmdb51: 1 classes, train 1, 1 listed videos missing'
    >>> found.missing[0][0]
    'wave/b.avi'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cnnlstm.data.video_layouts._common import (
    DatasetLayoutError,
    DirCache,
    IndexOptions,
    VideoIndex,
    VideoSample,
    finish,
    read_lines,
    rel,
)

NAME = "hmdb51"
USES_LIST_FILE = False

_SPLIT_DIR = "testTrainMulti_7030_splits"
_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<n>\d+)\.txt$")


def split_files(root: Path) -> tuple[Path, dict[int, dict[str, Path]]] | None:
    """``(folder, {split number: {class: split file}})`` of the first folder that has any."""
    for folder in (root / _SPLIT_DIR, root):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found: dict[int, dict[str, Path]] = {}
        for name in names:
            match = _SPLIT_FILE.match(name)
            if match:
                found.setdefault(int(match.group("n")), {})[match.group("cls")] = folder / name
        if found:
            return folder, found
    return None


def detect(root: Path) -> str | None:
    """One split file found (relative to ``root``), or None."""
    located = split_files(root)
    if located is None:
        return None
    first = next(iter(sorted(located[1].items())))[1]
    return rel(next(iter(first.values())), root)


def index(root: Path, options: IndexOptions) -> VideoIndex:
    """Index official split ``options.split`` (see the module docstring)."""
    located = split_files(root)
    if located is None:
        raise DatasetLayoutError(
            f"no <class>_test_split<N>.txt files in {root} or {root / _SPLIT_DIR}; unpack "
            f"test_train_splits into root (or pick another format)",
            field="root",
        )
    folder, by_split = located
    if options.split not in by_split:
        raise DatasetLayoutError(
            f"HMDB51 split {options.split} is not available: {folder} has no *_test_split{options.split}.txt; "
            f"available splits: {', '.join(map(str, sorted(by_split)))}",
            field="split",
        )
    files = by_split[options.split]
    class_names = sorted(files)
    cache = DirCache()
    splits: dict[str, list[VideoSample]] = {"train": [], "test": []}
    missing: list[tuple[str, str]] = []
    for label, name in enumerate(class_names):
        for number, video_name, status in _read_split_file(files[name]):
            video = cache.find(root / name, video_name, ignore_case=False)
            if video is None:
                why = f"not found under {root} ({files[name].name} line {number})"
                missing.append((f"{name}/{video_name}", why))
                continue
            splits["train" if status == "1" else "test"].append(VideoSample(video, label))
    return finish(NAME, class_names, splits, missing, options)


def _read_split_file(path: Path) -> list[tuple[int, str, str]]:
    """``(line number, video, "1" or "2")`` for each used line of a split file."""
    used = []
    for number, line in read_lines(path):
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DatasetLayoutError(
                f"{path} line {number}: expected '<video> <0|1|2>' "
                f"(1 = train, 2 = test, 0 = unused), got {line!r}"
            )
        if parts[1] != "0":
            used.append((number, parts[0], parts[1]))
    return used
