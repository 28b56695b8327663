"""Layout ``ucf101``: the official ``ucfTrainTestlist`` (``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``).

The list folder is ``root/ucfTrainTestlist`` or ``root`` itself; videos are found under
``root/UCF-101/`` or ``root/``, each path part matched case-insensitively (the official lists and
the archive disagree on the case of a few class folders). Train lines carry a 1-based label; test
lines are labelled by their class folder (case-insensitively against ``classInd.txt``).
``"val"`` is carved from train by group (``_gNN_``), so clips cut from one long video never sit
on both sides.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "classInd.txt").write_text("1 Archery\\n2 Bowling\\n")
    >>> _ = (root / "trainlist01.txt").write_text("Archery/v_Archery_g01_c01.avi 1\\n")
    >>> _ = (root / "testlist01.txt").write_text("Bowling/v_Bowling_g01_c01.avi\\n")
    >>> detect(root)
    'classInd.txt'
    >>> found = index(root, IndexOptions())
    >>> found.class_names, len(found.missing)
    (['Archery', 'Bowling'], 2)
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

NAME = "ucf101"
USES_LIST_FILE = False

_LIST_DIR = "ucfTrainTestlist"
_VIDEO_DIR = "UCF-101"
_TRAINLIST = re.compile(r"^trainlist(?P<n>\d+)\.txt$")
_GROUP = re.compile(r"_g(\d+)_c\d+", re.IGNORECASE)
_CLASS_IN_NAME = re.compile(r"^v_(?P<cls>[^_]+)_g\d+", re.IGNORECASE)


def list_dir(root: Path) -> Path | None:
    """The folder holding ``classInd.txt``: ``root/ucfTrainTestlist`` or ``root``; None if neither."""
    for folder in (root / _LIST_DIR, root):
        if (folder / "classInd.txt").is_file():
            return folder
    return None


def detect(root: Path) -> str | None:
    """The ``classInd.txt`` found (relative to ``root``), or None."""
    folder = list_dir(root)
    return rel(folder / "classInd.txt", root) if folder is not None else None


def index(root: Path, options: IndexOptions) -> VideoIndex:
    """Index official split ``options.split`` (see the module docstring)."""
    folder = list_dir(root)
    if folder is None:
        raise DatasetLayoutError(
            f"no classInd.txt in {root} or {root / _LIST_DIR}; unpack "
            f"UCF101TrainTestSplits-RecognitionTask into root (or pick another format)",
            field="root",
        )
    class_ind = folder / "classInd.txt"
    class_names = _read_class_ind(class_ind)
    _check_split(folder, options.split)
    bases = [b for b in (root / _VIDEO_DIR, root) if b.is_dir()]
    lists = _ListReader(root, bases, class_ind, class_names)
    splits: dict[str, list[VideoSample]] = {}
    for split_name, file_name in (("train", "trainlist"), ("test", "testlist")):
        list_path = folder / f"{file_name}{options.split:02d}.txt"
        if list_path.is_file():
            splits[split_name] = lists.read(list_path)
    return finish(NAME, class_names, splits, lists.missing, options, _group)


def _read_class_ind(class_ind: Path) -> list[str]:
    """The class names of ``classInd.txt`` (``<index> <ClassName>`` lines, indices 1..N), in order."""
    by_index: dict[int, str] = {}
    for number, line in read_lines(class_ind):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetLayoutError(
                f"{class_ind} line {number}: expected '<index> <ClassName>', got {line!r}"
            )
        if int(parts[0]) in by_index:
            raise DatasetLayoutError(f"{class_ind} line {number}: class index {parts[0]} appears twice")
        by_index[int(parts[0])] = parts[1]
    if sorted(by_index) != list(range(1, len(by_index) + 1)):
        raise DatasetLayoutError(
            f"{class_ind}: class indices must run 1..N without gaps; got {sorted(by_index)}"
        )
    return [by_index[i] for i in range(1, len(by_index) + 1)]


def _check_split(folder: Path, split: int) -> None:
    available = sorted(int(m.group("n")) for m in map(_TRAINLIST.match, os.listdir(folder)) if m is not None)
    if split not in available:
        raise DatasetLayoutError(
            f"UCF101 split {split} is not available: {folder} has no trainlist{split:02d}.txt; "
            f"available splits: {', '.join(map(str, available)) or '(none found)'}",
            field="split",
        )


class _ListReader:
    """Reads ``trainlistNN.txt`` / ``testlistNN.txt`` lines into samples; records missing videos."""

    def __init__(self, root: Path, bases: list[Path], class_ind: Path, class_names: list[str]) -> None:
        self.root = root
        self.bases = bases
        self.class_ind = class_ind
        self.num_classes = len(class_names)
        self.lower_label = {name.lower(): i for i, name in enumerate(class_names)}
        self.cache = DirCache()
        self.missing: list[tuple[str, str]] = []

    def read(self, list_path: Path) -> list[VideoSample]:
        samples = []
        for number, line in read_lines(list_path):
            parts = line.split()
            if len(parts) > 2:
                raise DatasetLayoutError(
                    f"{list_path} line {number}: expected '<Class>/<video> [label]', got {line!r}"
                )
            relative = parts[0].replace("\\", "/")
            where = f"{list_path} line {number}"
            label = self._label(parts[1], where) if len(parts) == 2 else self._folder_label(relative, where)
            video = self._find(relative)
            if video is None:
                place = f"{self.root} or {self.root / _VIDEO_DIR}"
                self.missing.append((relative, f"not found under {place} ({list_path.name} line {number})"))
                continue
            samples.append(VideoSample(video, label))
        return samples

    def _label(self, token: str, where: str) -> int:
        """A train line's 1-based label as a 0-based one."""
        if not token.isdigit() or not 1 <= int(token) <= self.num_classes:
            raise DatasetLayoutError(
                f"{where}: label {token!r} is not a class index 1..{self.num_classes} of "
                f"{self.class_ind.name}; fix the line"
            )
        return int(token) - 1

    def _folder_label(self, relative: str, where: str) -> int:
        """A test line's label, from its class folder (or the class in a bare file name)."""
        if "/" in relative:
            folder = relative.split("/")[0]
        else:
            match = _CLASS_IN_NAME.match(relative)
            folder = match.group("cls") if match else relative
        if folder.lower() not in self.lower_label:
            raise DatasetLayoutError(
                f"{where}: class folder {folder!r} of {relative!r} is not in {self.class_ind.name} "
                f"(compared case-insensitively); fix the line or classInd.txt"
            )
        return self.lower_label[folder.lower()]

    def _find(self, relative: str) -> Path | None:
        found = (self.cache.find(base, relative, ignore_case=True) for base in self.bases)
        return next((p for p in found if p is not None), None)


def _group(sample: VideoSample) -> str:
    match = _GROUP.search(sample.path.name)
    return f"g{int(match.group(1)):03d}" if match else str(sample.path)
