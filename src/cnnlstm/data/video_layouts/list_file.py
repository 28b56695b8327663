"""Layout ``list``: text files of ``path label`` lines.

The files: ``train.txt`` / ``val.txt`` / ``test.txt`` (one split each; preferred), else a single
``list.txt`` (split like ``folders``), or the file ``list_file`` names (relative to ``root``, or
absolute).

Each line is ``path label``, the path relative to ``root`` or absolute; the line is split at the
last blank, so a path may contain spaces when a label follows. ``label`` is a 0-based class index
or a class name; a line with a path only is unlabelled (``-1``). Blank lines and lines starting
with ``#`` are skipped. An optional ``root/classes.txt`` (one name per line, in label order)
names the classes; without it, all-int labels give class names ``"0".."max"`` and all-name
labels the sorted names (mixing the two needs ``classes.txt``). Listed files that are absent are
skipped and recorded in :attr:`~cnnlstm.data.video_layouts.VideoIndex.missing`.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["a.mp4", "b.mp4"]:
    ...     (root / name).touch()
    >>> _ = (root / "train.txt").write_text("a.mp4 run\\n")
    >>> _ = (root / "test.txt").write_text("b.mp4 run\\nc.mp4 walk\\n")
    >>> detect(root)
    'train.txt/test.txt'
    >>> found = index(root, IndexOptions())
    >>> found.class_names, [s.path.name for s in found.splits["test"]], found.missing
    (['run', 'walk'], ['b.mp4'], [('c.mp4', 'not found (test.txt line 2)')])
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from cnnlstm.data.video_layouts._common import (
    SPLITS,
    DatasetLayoutError,
    IndexOptions,
    VideoIndex,
    VideoSample,
    finish,
    read_lines,
    rel,
    resolve_list_file,
)

NAME = "list"
USES_LIST_FILE = True

_MARKERS = ("list.txt", "train.txt", "val.txt", "test.txt")
_INT = re.compile(r"^[+-]?\d+$")


class _Entry(NamedTuple):
    """One line of a list file."""

    split: str | None  # None: the file is not one split's
    file: Path
    number: int
    path: str  # as written
    token: str | None  # the label as written; None: unlabelled


def detect(root: Path) -> str | None:
    """The list files in ``root`` (e.g. ``"train.txt/test.txt"``), or None."""
    markers = [name for name in _MARKERS if (root / name).is_file()]
    return "/".join(markers) or None


def index(root: Path, options: IndexOptions) -> VideoIndex:
    """Index the list files of ``root`` (see the module docstring)."""
    entries = _read_entries(root, _list_files(root, options.list_file))
    class_file = root / "classes.txt"
    class_names = _class_names(entries, class_file)
    label_of = {name: i for i, name in enumerate(class_names)}
    splits: dict[str, list[VideoSample]] = {}
    missing: list[tuple[str, str]] = []
    for entry in entries:
        label = _label(entry, class_names, label_of, class_file)
        video = Path(entry.path)
        video = video if video.is_absolute() else root / video
        if not video.exists():
            missing.append((entry.path, f"not found ({rel(entry.file, root)} line {entry.number})"))
            continue
        splits.setdefault(entry.split or "train", []).append(VideoSample(video, label))
    return finish(NAME, class_names, splits, missing, options)


def _list_files(root: Path, list_file: str | os.PathLike[str] | None) -> dict[str | None, Path]:
    """``{split or None: file}``: ``list_file``, else the split files, else ``list.txt``."""
    if list_file is not None:
        return {None: resolve_list_file(root, list_file)}
    files: dict[str | None, Path] = {
        split: root / f"{split}.txt" for split in SPLITS if (root / f"{split}.txt").is_file()
    }
    if files:
        return files
    if not (root / "list.txt").is_file():
        raise DatasetLayoutError(
            f"no list file in {root}: expected list.txt, or train.txt (with val.txt / test.txt); "
            f"or pass list_file",
            field="root",
        )
    return {None: root / "list.txt"}


def _read_entries(root: Path, files: dict[str | None, Path]) -> list[_Entry]:
    return [
        _Entry(split, path, number, *_parse_line(root, line))
        for split, path in files.items()
        for number, line in read_lines(path)
    ]


def _parse_line(root: Path, line: str) -> tuple[str, str | None]:
    """``(path, label token or None)``: split at the last blank unless the whole line is a path."""
    parts = line.rsplit(maxsplit=1)
    if len(parts) == 2:
        path = Path(parts[0])
        if (path if path.is_absolute() else root / path).exists():
            return parts[0], parts[1]
        whole = Path(line)
        if (whole if whole.is_absolute() else root / whole).exists():
            return line, None
        return parts[0], parts[1]
    return line, None


def _read_class_file(path: Path) -> list[str]:
    names: list[str] = []
    for number, line in read_lines(path):
        if line in names:
            raise DatasetLayoutError(
                f"{path} line {number}: class {line!r} is listed twice; list each class once"
            )
        names.append(line)
    return names


def _kind(token: str) -> str:
    return "int" if _INT.match(token) else "name"


def _class_names(entries: list[_Entry], class_file: Path) -> list[str]:
    """``classes.txt`` when present; else ``"0".."max"`` for int labels, or the sorted names."""
    if class_file.is_file():
        return _read_class_file(class_file)
    labelled = [e for e in entries if e.token is not None]
    tokens = [e.token for e in labelled if e.token is not None]
    if not tokens:
        return []
    odd = next((e for e in labelled if _kind(e.token or "") != _kind(tokens[0])), None)
    if odd is not None:
        raise DatasetLayoutError(
            f"{odd.file} line {odd.number}: label {odd.token!r} mixes class indices and class names in "
            f"one dataset; use one kind, or add {class_file} (one class name per line) so indices refer to it"
        )
    if _kind(tokens[0]) == "name":
        return sorted(set(tokens))
    negative = next((e for e in labelled if int(e.token or 0) < 0), None)
    if negative is not None:
        raise DatasetLayoutError(
            f"{negative.file} line {negative.number}: label {negative.token} is negative; "
            f"use a class index >= 0 or a class name"
        )
    return [str(i) for i in range(max(map(int, tokens)) + 1)]


def _label(entry: _Entry, class_names: list[str], label_of: dict[str, int], class_file: Path) -> int:
    """The label of ``entry`` (``-1`` when unlabelled), checked against the class names."""
    token = entry.token
    if token is None:
        return -1
    if _INT.match(token):
        if not 0 <= int(token) < len(class_names):
            raise DatasetLayoutError(
                f"{entry.file} line {entry.number}: label {token} is not a class index "
                f"0..{len(class_names) - 1}"
                + (f" of {class_file}" if class_file.is_file() else "")
                + "; fix the label"
            )
        return int(token)
    if token not in label_of:
        raise DatasetLayoutError(
            f"{entry.file} line {entry.number}: label {token!r} is not a class in {class_file}; "
            f"add it there or fix the label"
        )
    return label_of[token]
