"""What every layout shares: the index types, the error, the seeded val carve, file-tree helpers.

Nothing here knows a particular layout; the layout modules (``folders``, ``list_file``, ...)
build on these pieces, and :mod:`cnnlstm.data.video_layouts` re-exports the public ones.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cnnlstm._validation import InputError, check_fraction, check_non_negative_int, check_positive_int

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
SPLITS = ("train", "val", "test")

# Folder, file-name and CSV spellings of the three splits.
_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validate": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}

_T = TypeVar("_T")


class DatasetLayoutError(InputError):
    """The data on disk does not match the layout asked for (or none could be recognised).

    The message is one line about values (the file and line at fault, the argument's value) and
    what to do; ``field`` names the argument to change (``"root"``, ``"format"``, ``"split"``,
    ``"list_file"``, ``"val_fraction"``, ``"seed"``), or is ``None`` when the fix is inside a
    file the message names.

    Example:
        >>> err = DatasetLayoutError("format='ucf' is not one of\\nauto, ucf101", field="format")
        >>> str(err), err.field
        ("format='ucf' is not one of auto, ucf101", 'format')
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(" ".join(str(message).splitlines()), field=field)


class DatasetNotFoundError(DatasetLayoutError, FileNotFoundError):
    """The dataset folder (or the video file or folder to predict on) does not exist."""


@dataclass(frozen=True)
class VideoSample:
    """One sample: a video file (or, for format ``"frames"``, a folder of images) and its label.

    ``label`` indexes :attr:`VideoIndex.class_names`; ``-1`` means unknown (e.g. an unlabelled
    test list, or prediction).
    """

    path: Path
    label: int


@dataclass
class VideoIndex:
    """The samples of a dataset, per split, with the class names their labels index.

    Attributes:
        format: the layout that was read (one of ``FORMATS``).
        class_names: label ``i`` is ``class_names[i]``.
        splits: ``"train"`` / ``"val"`` / ``"test"`` → samples sorted by path; a split with no
            samples is absent.
        missing: ``(what, why)`` for every listed video that was not found on disk (skipped).
        left_out: ``(path, why)`` for everything else under ``root`` left out while indexing: a
            class folder with no sample (the class is not one of ``class_names``), a folder that
            cannot be read, a second path to a file already indexed (a symlink).
    """

    format: str
    class_names: list[str]
    splits: dict[str, list[VideoSample]]
    missing: list[tuple[str, str]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def all_samples(self) -> list[VideoSample]:
        """Every sample of every split, sorted by path.

        A layout without a test split (``folders``, ``frames``) is evaluated by indexing a
        separate tree (``root`` pointed at it): :func:`~cnnlstm.data.video_layouts.index_videos`
        gives that tree ``"train"``/``"val"`` splits like any other, and the caller uses all of
        its samples as the test set. Mind that its class names are its own folder names: compare
        them with the training tree's before trusting the labels.

        Example:
            >>> index = VideoIndex("folders", ["a"], {"val": [VideoSample(Path("y.mp4"), 0)],
            ...                                       "train": [VideoSample(Path("x.mp4"), 0)]})
            >>> [s.path.name for s in index.all_samples()]
            ['x.mp4', 'y.mp4']
        """
        samples = [sample for split in self.splits.values() for sample in split]
        return sorted(samples, key=sample_key)

    def summary(self) -> str:
        """One line for logs, e.g. ``"ucf101: 101 classes, train 8584, val 953, test 3783"``."""
        parts = [f"{split} {len(self.splits[split])}" for split in SPLITS if split in self.splits]
        text = f"{self.format}: {self.num_classes} classes, " + ", ".join(parts)
        if self.missing:
            text += f", {len(self.missing)} listed videos missing"
        if self.left_out:
            text += f", {len(self.left_out)} paths left out"
        return text


def checked(check: Callable[[str, Any], _T], name: str, value: Any) -> _T:
    """``check(name, value)`` (a :mod:`cnnlstm._validation` check), failing as a DatasetLayoutError.

    Example:
        >>> checked(check_positive_int, "split", 0)
        Traceback (most recent call last):
        ...
        cnnlstm.data.video_layouts._common.DatasetLayoutError: split must be a positive integer; received split=0
    """
    try:
        return check(name, value)
    except ValueError as err:
        raise DatasetLayoutError(str(err), field=name) from None


@dataclass(frozen=True)
class IndexOptions:
    """The settings every layout's ``index(root, options)`` receives; each uses those it needs.

    Attributes:
        split: the official split (1, 2 or 3) of ``"ucf101"`` and ``"hmdb51"``.
        val_fraction: share of each class's training samples carved off as ``"val"`` when the
            layout gives none, in ``[0, 1)``.
        seed: seed of that carving (an int >= 0).
        list_file: the list file (``"list"``) or annotation CSV (``"kinetics"``) to read instead
            of the ones found in the root.

    Raises:
        DatasetLayoutError: a value out of range (``field`` names it).
    """

    split: int = 1
    val_fraction: float = 0.1
    seed: int = 0
    list_file: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        checked(check_positive_int, "split", self.split)
        checked(check_fraction, "val_fraction", self.val_fraction)
        checked(check_non_negative_int, "seed", self.seed)


# ------------------------------------------------------------------------------------- file names


def sample_key(sample: VideoSample) -> str:
    return str(sample.path)


def is_video_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (posix), or whole when it lies elsewhere."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def split_name(name: str) -> str | None:
    """The split a folder or file stem names (``validate`` → ``val``), or None."""
    return _SPLIT_ALIASES.get(name.strip().lower())


# ---------------------------------------------------------------------------------------- folders


def check_root(root: str | os.PathLike[str] | None) -> Path:
    """``root`` as an absolute path to an existing folder."""
    if root is None or (isinstance(root, str) and not root.strip()):
        raise DatasetLayoutError("root is not set; pass the dataset folder", field="root")
    path = Path(root).expanduser().absolute()
    if not path.exists():
        raise DatasetNotFoundError(f"dataset root {path} does not exist", field="root")
    if not path.is_dir():
        raise DatasetLayoutError(f"dataset root {path} is not a folder", field="root")
    return path


def walk(
    top: Path, errors: list[tuple[str, str]] | None = None
) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` following links (datasets are often symlinked), sorted, hidden entries skipped.

    A folder that cannot be read is appended to ``errors`` as ``(path, reason)`` when given.
    """
    seen: set[str] = set()

    def unreadable(error: OSError) -> None:
        if errors is not None:
            errors.append((str(error.filename or top), f"cannot read folder ({error.strerror or error})"))

    for dirpath, dirnames, filenames in os.walk(top, followlinks=True, onerror=unreadable):
        real = os.path.realpath(dirpath)
        if real in seen:  # a link back up the tree
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        yield dirpath, dirnames, sorted(f for f in filenames if not f.startswith("."))


def subdirs(folder: Path) -> list[Path]:
    """The visible sub-folders of ``folder``, sorted (none when it cannot be read)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if not e.name.startswith(".") and e.is_dir())


def describe_contents(folder: Path, limit: int = 5) -> str:
    """What ``folder`` holds, for an error message: ``"2 files (a, b) and 1 folder (c)"``."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return "nothing readable"
    dirs = [e.name for e in entries if e.is_dir()]
    files = [e.name for e in entries if not e.is_dir()]
    if not dirs and not files:
        return "nothing (the folder is empty)"

    def some(names: list[str], noun: str) -> str:
        shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
        return f"{len(names)} {noun}{'' if len(names) == 1 else 's'} ({shown})"

    return " and ".join(some(names, noun) for names, noun in ((files, "file"), (dirs, "folder")) if names)


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, stripped line)``, skipping blank lines and ``#`` comments."""
    try:
        with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.strip()
                if line and not line.startswith("#"):
                    yield number, line
    except OSError as error:
        raise DatasetLayoutError(f"cannot read {path}: {error.strerror or error}") from None


def resolve_list_file(root: Path, list_file: str | os.PathLike[str]) -> Path:
    """The list or CSV file ``list_file`` names: absolute, under ``root``, or in the current folder."""
    path = Path(list_file).expanduser()
    candidates = [path] if path.is_absolute() else [root / path, path.absolute()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DatasetLayoutError(
        f"list file {str(list_file)!r} not found (looked in {root} and the current folder)", field="list_file"
    )


def list_video_files(path: str | os.PathLike[str]) -> list[Path]:
    """The videos to predict on: ``[path]`` for a file, else the folder's video files, recursively.

    Hidden files (``.name``, e.g. macOS ``._clip.mp4``) are skipped; the result is sorted by path.

    Raises:
        DatasetLayoutError: ``path`` does not exist (a :class:`DatasetNotFoundError`), or the
            folder holds no video file; ``field`` is ``"root"``, the data module's argument.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> for name in ["b.avi", "a.mp4", "notes.txt"]:
        ...     (folder / name).touch()
        >>> [p.name for p in list_video_files(folder)]
        ['a.mp4', 'b.avi']
    """
    target = Path(path).expanduser()
    if not target.exists():
        raise DatasetNotFoundError(
            f"{target} does not exist; pass a video file or a folder of videos", field="root"
        )
    if not target.is_dir():
        return [target]
    files = [Path(top) / name for top, _, names in walk(target) for name in names if is_video_name(name)]
    if not files:
        raise DatasetLayoutError(
            f"no video files ({', '.join(VIDEO_EXTENSIONS)}) under {target}; "
            f"pass a video file or a folder of videos",
            field="root",
        )
    return sorted(files, key=str)


class DirCache:
    """Directory listings read once each, for looking up many listed files cheaply."""

    def __init__(self) -> None:
        self._names: dict[str, tuple[set[str], dict[str, str]]] = {}
        self._videos: dict[str, dict[str, str]] = {}

    def _listing(self, folder: Path) -> tuple[set[str], dict[str, str]]:
        key = str(folder)
        if key not in self._names:
            try:
                names = set(os.listdir(folder))
            except OSError:
                names = set()
            lower: dict[str, str] = {}
            for name in sorted(names):
                lower.setdefault(name.lower(), name)
            self._names[key] = (names, lower)
        return self._names[key]

    def find(self, base: Path, relative: str, *, ignore_case: bool) -> Path | None:
        """``base/relative`` if it exists (each part matched case-insensitively if asked)."""
        current = base
        for part in relative.replace("\\", "/").split("/"):
            if part in ("", "."):
                continue
            names, lower = self._listing(current)
            if part in names:
                current = current / part
            elif ignore_case and part.lower() in lower:
                current = current / lower[part.lower()]
            else:
                return None
        return current

    def find_video(self, folder: Path, stem: str) -> Path | None:
        """``folder/<stem><ext>`` for the first ``ext`` of ``VIDEO_EXTENSIONS`` present."""
        key = str(folder)
        if key not in self._videos:
            ranked: dict[str, tuple[int, str]] = {}
            for name in self._listing(folder)[0]:
                base, ext = os.path.splitext(name)
                ext = ext.lower()
                if ext in VIDEO_EXTENSIONS and not name.startswith("."):
                    rank = VIDEO_EXTENSIONS.index(ext)
                    if base not in ranked or rank < ranked[base][0]:
                        ranked[base] = (rank, name)
            self._videos[key] = {base: name for base, (_, name) in ranked.items()}
        found = self._videos[key].get(stem)
        return folder / found if found is not None else None


# ------------------------------------------------------------------------------------------ splits


def _carve(
    samples: list[VideoSample],
    class_names: list[str],
    val_fraction: float,
    seed: int,
    group_of: Callable[[VideoSample], str] | None = None,
) -> tuple[list[VideoSample], list[VideoSample]]:
    """Split ``samples`` into ``(train, val)``: seeded, stratified by label, whole groups at once.

    Per class: its groups (each sample alone unless ``group_of``) are shuffled by a generator
    seeded with ``(seed, class name)`` and taken for val until ``round(n * val_fraction)`` samples
    (at least 1) are reached, always leaving at least one group in train.
    """
    if val_fraction <= 0:
        return sorted(samples, key=sample_key), []
    by_label: dict[int, list[VideoSample]] = {}
    for sample in samples:
        by_label.setdefault(sample.label, []).append(sample)
    train: list[VideoSample] = []
    val: list[VideoSample] = []
    for label in sorted(by_label):
        items = sorted(by_label[label], key=sample_key)
        groups: dict[str, list[VideoSample]] = {}
        for sample in items:
            groups.setdefault(group_of(sample) if group_of else str(sample.path), []).append(sample)
        keys = sorted(groups)
        name = class_names[label] if 0 <= label < len(class_names) else "<unlabelled>"
        random.Random(f"{seed}/{name}").shuffle(keys)
        target = min(len(items) - 1, max(1, int(len(items) * val_fraction + 0.5)))
        chosen: set[str] = set()
        taken = 0
        for key in keys[:-1]:
            if taken >= target:
                break
            chosen.add(key)
            taken += len(groups[key])
        for key in keys:
            (val if key in chosen else train).extend(groups[key])
    return sorted(train, key=sample_key), sorted(val, key=sample_key)


def finish(
    format: str,
    class_names: list[str],
    splits: dict[str, list[VideoSample]],
    missing: list[tuple[str, str]],
    options: IndexOptions,
    group_of: Callable[[VideoSample], str] | None = None,
    left_out: list[tuple[str, str]] | None = None,
) -> VideoIndex:
    """Sort every split; carve ``"val"`` from ``"train"`` when the layout gave no ``"val"``.

    Two paths to one file (a symlink) count once; under two labels or splits they are refused.

    ``group_of`` keeps samples of one group (e.g. clips cut from one long video) on one side.
    Empty splits are dropped; the rest are ordered train, val, test.
    """
    splits = {name: sorted(samples, key=sample_key) for name, samples in splits.items()}
    left_out = list(left_out or [])
    splits = _drop_duplicates(splits, class_names, left_out)
    if splits.get("train") and not splits.get("val"):
        splits["train"], splits["val"] = _carve(
            splits["train"], class_names, options.val_fraction, options.seed, group_of
        )
    splits = {name: splits[name] for name in SPLITS if splits.get(name)}
    return VideoIndex(
        format=format, class_names=class_names, splits=splits, missing=missing, left_out=left_out
    )


def _drop_duplicates(
    splits: dict[str, list[VideoSample]], class_names: list[str], left_out: list[tuple[str, str]]
) -> dict[str, list[VideoSample]]:
    """Samples by resolved path: a second path to one file is left out (and noted in ``left_out``)
    when it repeats the label and split; under another label or split it is refused."""
    first: dict[str, tuple[str, VideoSample]] = {}
    out: dict[str, list[VideoSample]] = {}
    folders: dict[str, str] = {}  # each folder resolved once: one lstat per file, not per path part

    def resolved(path: Path) -> str:
        if os.path.islink(path):
            return os.path.realpath(path)
        parent = str(path.parent)
        if parent not in folders:
            folders[parent] = os.path.realpath(parent)
        return os.path.join(folders[parent], path.name)

    for split, samples in splits.items():
        out[split] = []
        for sample in samples:
            real = resolved(sample.path)
            if real not in first:
                first[real] = (split, sample)
                out[split].append(sample)
                continue
            seen_split, seen = first[real]
            if (seen_split, seen.label) == (split, sample.label):
                left_out.append(
                    (
                        str(sample.path),
                        f"the same file as {seen.path} (listed twice, or a link); indexed once",
                    )
                )
                continue

            def where(s: str, v: VideoSample) -> str:
                name = class_names[v.label] if 0 <= v.label < len(class_names) else "unlabelled"
                return f"{v.path} ({s}, class {name})"

            raise DatasetLayoutError(
                f"one file under two labels or splits: {where(split, sample)} is {where(seen_split, seen)} "
                f"(resolved: {real}); remove the link or the copy so each video has one label and split"
            )
    return out
