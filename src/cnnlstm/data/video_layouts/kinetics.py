"""Layout ``kinetics``: the official annotation CSV(s) with ``label,youtube_id,time_start,time_end,split`` columns.

The CSVs are found in ``root`` or ``root/annotations`` (one for all splits, or one per split named
``train.csv`` / ``validate.csv`` / ``test.csv``, the split then coming from the name), or given as
``list_file``. A row's video is ``root/<split>/<label>/<id>_<start:06d>_<end:06d>.<ext>`` or
``root/<split>/<id>_<start:06d>_<end:06d>.<ext>`` (the label folder also with ``_`` for spaces;
the ``val`` folder also as ``validate``/``validation``; a bare ``<id>.<ext>`` also counts). Class
names are the sorted labels of every row, found or not, so label ``i`` means the same class
whatever was downloaded; rows without a label get ``-1``.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "k400.csv").write_text("label,youtube_id,time_start,time_end,split\\nswim,abc,0,10,train\\n")
    >>> (root / "train" / "swim").mkdir(parents=True)
    >>> (root / "train" / "swim" / "abc_000000_000010.mp4").touch()
    >>> detect(root)
    'Kinetics CSV k400.csv'
    >>> index(root, IndexOptions()).summary()
    'kinetics: 1 classes, train 1'
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from cnnlstm.data.video_layouts._common import (
    DatasetLayoutError,
    DirCache,
    IndexOptions,
    VideoIndex,
    VideoSample,
    finish,
    rel,
    resolve_list_file,
    split_name,
)

NAME = "kinetics"
USES_LIST_FILE = True

# Folders a split's videos may sit in (downloaders name the validation folder variously).
_SPLIT_DIRS = {"train": ("train",), "val": ("val", "validate", "validation"), "test": ("test",)}
_REQUIRED = ("youtube_id", "time_start", "time_end")
_COLUMNS = "label, youtube_id, time_start, time_end, split"


class _Row(NamedTuple):
    """One annotated clip."""

    split: str
    label: str  # "" when unlabelled
    youtube_id: str
    start: int
    end: int
    file: Path
    number: int


def is_kinetics_csv(path: Path) -> bool:
    """Whether ``path`` is a ``.csv`` whose header has the Kinetics columns."""
    header = _csv_header(path) if path.suffix.lower() == ".csv" else None
    return header is not None and all(column in header for column in _REQUIRED)


def detect(root: Path) -> str | None:
    """The first Kinetics CSV in ``root`` or ``root/annotations``, or None."""
    csvs = _find_csvs(root)
    return f"Kinetics CSV {rel(csvs[0], root)}" if csvs else None


def index(root: Path, options: IndexOptions) -> VideoIndex:
    """Index the clips of the CSV(s) (see the module docstring)."""
    rows = [row for path in _pick_csvs(root, options.list_file) for row in _read_csv(path)]
    class_names = sorted({row.label for row in rows if row.label})
    label_of = {name: i for i, name in enumerate(class_names)}
    cache = DirCache()
    splits: dict[str, list[VideoSample]] = {}
    missing: list[tuple[str, str]] = []
    for row in rows:
        video = _find_video(cache, root, row)
        if video is None:
            label_dir = f"{row.label}/" if row.label else ""
            where = f"{_SPLIT_DIRS[row.split][0]}/{label_dir}{_stems(row)[0]}.mp4"
            missing.append((where, f"not found under {root} ({row.file.name} line {row.number})"))
            continue
        splits.setdefault(row.split, []).append(VideoSample(video, label_of[row.label] if row.label else -1))
    return finish(NAME, class_names, splits, missing, options)


def _stems(row: _Row) -> tuple[str, str]:
    return f"{row.youtube_id}_{row.start:06d}_{row.end:06d}", row.youtube_id


def _find_video(cache: DirCache, root: Path, row: _Row) -> Path | None:
    # Downloaders name label folders as the label, or with "_" for " " (and quotes dropped).
    spellings = [row.label, row.label.replace(" ", "_"), row.label.replace('"', "")] if row.label else []
    label_dirs = list(dict.fromkeys(spellings))
    folders = [root / top / sub for top in _SPLIT_DIRS[row.split] for sub in [*label_dirs, ""]]
    found = (cache.find_video(folder, stem) for folder in folders for stem in _stems(row))
    return next((video for video in found if video is not None), None)


def _csv_header(path: Path) -> list[str] | None:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            row = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return [column.strip().lower() for column in row] if row else None


def _find_csvs(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder in (root, root / "annotations"):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        found += [
            Path(e.path)
            for e in entries
            if not e.name.startswith(".") and e.is_file() and is_kinetics_csv(Path(e.path))
        ]
    return found


def _split_of_csv(path: Path) -> str | None:
    """The split a CSV's name gives: ``validate.csv``, ``kinetics_400_train.csv`` ... or None."""
    words = [w for w in re.split(r"[^a-z]+", path.stem.lower()) if w]
    return split_name(words[-1]) if words else None


def _pick_csvs(root: Path, list_file: str | os.PathLike[str] | None) -> list[Path]:
    if list_file is not None:
        path = resolve_list_file(root, list_file)
        if not is_kinetics_csv(path):
            raise DatasetLayoutError(
                f"{path} is not a Kinetics CSV: its header must include {_COLUMNS}", field="list_file"
            )
        return [path]
    csvs = _find_csvs(root)
    if not csvs:
        raise DatasetLayoutError(
            f"no Kinetics CSV (header with {_COLUMNS}) in {root} or {root / 'annotations'}; "
            f"put it there or pass list_file",
            field="root",
        )
    splits = [_split_of_csv(path) for path in csvs]
    if len(csvs) > 1 and (None in splits or len(set(splits)) != len(splits)):
        names = ", ".join(rel(path, root) for path in csvs)
        raise DatasetLayoutError(
            f"several Kinetics CSVs in {root} ({names}); pass list_file with the one to use, "
            f"or keep one per split named train.csv / validate.csv / test.csv",
            field="list_file",
        )
    return csvs


def _parse_time(value: str, column: str, path: Path, number: int) -> int:
    try:
        return int(float(value))
    except (ValueError, OverflowError):
        message = f"{path} line {number}: {column} {value!r} is not a number; fix the row"
        raise DatasetLayoutError(message) from None


def _read_csv(path: Path) -> Iterator[_Row]:
    default_split = _split_of_csv(path)
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        try:
            column = {name.strip().lower(): i for i, name in enumerate(next(reader, []))}
            for record in reader:
                if any(cell.strip() for cell in record):
                    cells = {name: record[i].strip() if i < len(record) else "" for name, i in column.items()}
                    yield _row(cells, default_split, path, reader.line_num)
        except csv.Error as error:
            raise DatasetLayoutError(f"{path} line {reader.line_num}: not valid CSV ({error})") from None


def _row(cells: dict[str, str], default_split: str | None, path: Path, number: int) -> _Row:
    """One CSV record's clip; the split from its ``split`` cell, else from the file name."""
    youtube_id = cells["youtube_id"]
    if not youtube_id:
        raise DatasetLayoutError(f"{path} line {number}: youtube_id is empty; fix or delete the row")
    start = _parse_time(cells["time_start"], "time_start", path, number)
    end = _parse_time(cells["time_end"], "time_end", path, number)
    split_value = cells.get("split", "")
    split = split_name(split_value) if split_value else default_split
    if split is None and split_value:
        raise DatasetLayoutError(
            f"{path} line {number}: split {split_value!r} is not one of train, val, validate, test; fix the row"
        )
    if split is None:
        raise DatasetLayoutError(
            f"{path} line {number}: no split value, and the file name names no split; add a "
            f"split column or name the file train.csv / validate.csv / test.csv"
        )
    return _Row(split, cells.get("label", ""), youtube_id, start, end, path, number)
