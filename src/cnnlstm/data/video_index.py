"""Dataset layouts → ``(path, label)`` lists per split, without opening a single video.

:func:`index_videos` reads the layout a user brings (``--data.format``) and returns a
:class:`VideoIndex`: the class names, and for each split present (``"train"``, ``"val"``,
``"test"``) a sorted list of :class:`VideoSample`. Nothing here decodes video, so indexing
even Kinetics takes seconds, and a layout mistake is reported before any training starts, as one
line (:class:`DatasetLayoutError`).

Layouts (``FORMATS``):

``folders``
    ``root/<class>/**/<video>``. No split files: ``"val"`` is carved from the videos by a seeded,
    stratified split (``val_fraction`` per class); there is no ``"test"`` split. A tree
    ``root/{train,val,test}/<class>/**/<video>`` (every top-level folder a split name) is read as
    one tree per split instead.
``frames``
    ``root/<class>/<video_id>/img_00001.jpg``: a sample is a folder holding at least one image
    (``IMAGE_EXTENSIONS``); splits as for ``folders``.
``list``
    text files of ``path label`` lines (see :func:`index_videos`).
``ucf101``
    the official ``ucfTrainTestlist`` (``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``).
``hmdb51``
    the official ``testTrainMulti_7030_splits`` (``<class>_test_splitN.txt``).
``kinetics``
    the official annotation CSV(s) with ``label,youtube_id,time_start,time_end,split`` columns.

Wherever a layout has a ``"train"`` split but no ``"val"`` split, ``"val"`` is carved from
``"train"`` the same way (``val_fraction=0`` keeps all of ``"train"`` and gives no ``"val"``).
Listed videos that are absent are skipped and recorded in :attr:`VideoIndex.missing`.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["cat/a.mp4", "cat/b.mp4", "cat/c.mp4", "dog/d.avi", "dog/e.avi"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     (root / name).touch()
    >>> detect_format(root)
    'folders'
    >>> index = index_videos(root, val_fraction=0.3)
    >>> index.class_names, sorted(index.splits), len(index.all_samples())
    (['cat', 'dog'], ['train', 'val'], 5)
"""

from __future__ import annotations

import csv
import os
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "DatasetLayoutError",
    "VideoIndex",
    "VideoSample",
    "detect_format",
    "index_videos",
    "list_video_files",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
FORMATS = ("folders", "list", "ucf101", "hmdb51", "kinetics", "frames")
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
# Folders a Kinetics split's videos may sit in (downloaders name the validation folder variously).
_KINETICS_SPLIT_DIRS = {"train": ("train",), "val": ("val", "validate", "validation"), "test": ("test",)}
_KINETICS_REQUIRED = ("youtube_id", "time_start", "time_end")
_KINETICS_COLUMNS = "label, youtube_id, time_start, time_end, split"
_UCF_LIST_DIR = "ucfTrainTestlist"
_UCF_VIDEO_DIR = "UCF-101"
_HMDB_SPLIT_DIR = "testTrainMulti_7030_splits"
_HMDB_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<n>\d+)\.txt$")
_UCF_TRAINLIST = re.compile(r"^trainlist(?P<n>\d+)\.txt$")
_UCF_GROUP = re.compile(r"_g(\d+)_c\d+", re.IGNORECASE)
_UCF_CLASS_IN_NAME = re.compile(r"^v_(?P<cls>[^_]+)_g\d+", re.IGNORECASE)
_INT = re.compile(r"^[+-]?\d+$")
_LIST_MARKERS = ("list.txt", "train.txt", "val.txt", "test.txt")


class DatasetLayoutError(ValueError):
    """The data on disk does not match the layout asked for (or none could be recognised).

    The message is one line: it names the file (and line) or the option at fault and what to do.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).splitlines()))


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
    """

    format: str
    class_names: list[str]
    splits: dict[str, list[VideoSample]]
    missing: list[tuple[str, str]] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def all_samples(self) -> list[VideoSample]:
        """Every sample of every split, sorted by path.

        A layout without a test split (``folders``, ``frames``) is evaluated by indexing a
        separate tree (``--data.root`` pointed at it): :func:`index_videos` gives that tree
        ``"train"``/``"val"`` splits like any other, and the caller uses all of its samples as the
        test set. Mind that its class names are its own folder names: compare them with the
        training tree's before trusting the labels.

        Example:
            >>> index = VideoIndex("folders", ["a"], {"val": [VideoSample(Path("y.mp4"), 0)],
            ...                                       "train": [VideoSample(Path("x.mp4"), 0)]})
            >>> [s.path.name for s in index.all_samples()]
            ['x.mp4', 'y.mp4']
        """
        samples = [sample for split in self.splits.values() for sample in split]
        return sorted(samples, key=_sample_key)

    def summary(self) -> str:
        """One line for logs, e.g. ``"ucf101: 101 classes, train 8584, val 953, test 3783"``."""
        parts = [f"{split} {len(self.splits[split])}" for split in SPLITS if split in self.splits]
        text = f"{self.format}: {self.num_classes} classes, " + ", ".join(parts)
        if self.missing:
            text += f", {len(self.missing)} listed videos missing"
        return text


# --------------------------------------------------------------------------------------------- public


def detect_format(root: str | os.PathLike[str]) -> str:
    """The layout of ``root``: one of ``FORMATS``.

    Annotation files decide first: a CSV with Kinetics columns (in ``root`` or
    ``root/annotations``) → ``"kinetics"``; ``classInd.txt`` (in ``root`` or
    ``root/ucfTrainTestlist``) → ``"ucf101"``; ``*_test_split<N>.txt`` (in ``root`` or
    ``root/testTrainMulti_7030_splits``) → ``"hmdb51"``; ``list.txt`` / ``train.txt`` /
    ``val.txt`` / ``test.txt`` → ``"list"``. Two kinds of annotation files at once are ambiguous.
    Without any, the class folders decide: folders of images inside them → ``"frames"``, video
    files → ``"folders"``, both → ambiguous.

    Raises:
        DatasetLayoutError: ``root`` is missing or empty, or the layout is ambiguous or unknown;
            the message lists what was found and the ``--data.format`` values.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "list.txt").write_text("a.mp4 0\\n")
        8
        >>> detect_format(root)
        'list'
    """
    root = _check_root(root)
    evidence: dict[str, str] = {}
    csvs = _kinetics_csvs(root)
    if csvs:
        evidence["kinetics"] = f"Kinetics CSV {_rel(csvs[0], root)}"
    ucf_dir = _ucf_list_dir(root)
    if ucf_dir is not None:
        evidence["ucf101"] = _rel(ucf_dir / "classInd.txt", root)
    hmdb = _hmdb_split_files(root)
    if hmdb is not None:
        first = next(iter(sorted(hmdb[1].items())))[1]
        evidence["hmdb51"] = _rel(next(iter(first.values())), root)
    markers = [name for name in _LIST_MARKERS if (root / name).is_file()]
    if markers:
        evidence["list"] = "/".join(markers)
    if len(evidence) == 1:
        return next(iter(evidence))
    if len(evidence) > 1:
        found = "; ".join(f"{what} ({fmt})" for fmt, what in evidence.items())
        raise DatasetLayoutError(
            f"ambiguous dataset layout in {root}: found {found}; "
            f"set --data.format to one of {', '.join(FORMATS)}"
        )
    has_videos, has_frames = _scan_class_folders(root)
    if has_videos and has_frames:
        raise DatasetLayoutError(
            f"ambiguous dataset layout in {root}: its class folders hold both video files and folders "
            f"of images; set --data.format=folders or --data.format=frames"
        )
    if has_frames:
        return "frames"
    if has_videos:
        return "folders"
    raise DatasetLayoutError(
        f"cannot tell the dataset layout of {root}: found {_describe_contents(root)}, but no Kinetics "
        f"CSV, classInd.txt, *_test_split1.txt, list.txt/train.txt, or class folders holding video files "
        f"({', '.join(VIDEO_EXTENSIONS)}) or folders of images; set --data.format to one of "
        f"{', '.join(FORMATS)}"
    )


def index_videos(
    root: str | os.PathLike[str],
    *,
    format: str = "auto",
    split: int = 1,
    val_fraction: float = 0.1,
    seed: int = 0,
    list_file: str | None = None,
) -> VideoIndex:
    """Index the videos under ``root`` by layout ``format`` (see the module docstring).

    Args:
        root: the dataset folder; sample paths are ``root``-based absolute paths.
        format: one of ``FORMATS``, or ``"auto"`` for :func:`detect_format` (with ``list_file``
            given, ``"auto"`` means ``"kinetics"`` for a Kinetics CSV and ``"list"`` otherwise).
        split: the official split (1, 2 or 3) of ``"ucf101"`` and ``"hmdb51"``; other formats
            ignore it.
        val_fraction: share of each class's training samples carved off as ``"val"`` when the
            layout gives none, in ``[0, 1)``; a class of >= 2 samples keeps >= 1 in train and gives
            >= 1 to val. UCF101 is carved by group (``_gNN_``), so clips cut from one long video
            never sit on both sides. ``0`` carves nothing.
        seed: seed of that carving; the carve of a class depends only on ``seed``, the class name
            and its samples' paths.
        list_file: for ``"list"``: the list file (relative to ``root``, or absolute), instead of
            ``root/list.txt`` / ``root/{train,val,test}.txt``; for ``"kinetics"``: the CSV. Other
            formats refuse it.

    ``"list"`` files hold one ``path label`` per line (the path relative to ``root`` or absolute;
    split at the last blank, so a path may contain spaces when a label follows). ``label`` is a
    0-based class index or a class name; a line with a path only is unlabelled (``-1``). Blank
    lines and lines starting with ``#`` are skipped. An optional ``root/classes.txt`` (one name
    per line, in label order) names the classes; without it, all-int labels give class names
    ``"0".."max"`` and all-name labels the sorted names (mixing the two needs ``classes.txt``).
    ``train.txt`` / ``val.txt`` / ``test.txt`` are one split each (preferred over ``list.txt``);
    a single list is split like ``"folders"``.

    ``"ucf101"`` labels test lines by their folder (case-insensitively against ``classInd.txt``)
    and finds videos under ``root/UCF-101/`` or ``root/``, matching each path part
    case-insensitively. ``"hmdb51"`` class names are the sorted names of the split files.
    ``"kinetics"`` looks for ``root/<split>/<label>/<id>_<start:06d>_<end:06d>.<ext>`` and
    ``root/<split>/<id>_<start:06d>_<end:06d>.<ext>`` (the label folder also with ``_`` for
    spaces; the ``val`` folder also as ``validate``/``validation``; a bare ``<id>.<ext>`` also
    counts); its class names are the sorted labels of every CSV row, found or not, and rows
    without a label get ``-1``.

    Raises:
        DatasetLayoutError: a bad option, a missing root, an empty tree, a malformed annotation
            line (file and line number named), or an unavailable ``split``.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ["a.mp4", "b.mp4"]:
        ...     (root / name).touch()
        >>> _ = (root / "train.txt").write_text("a.mp4 run\\n")
        >>> _ = (root / "test.txt").write_text("b.mp4 run\\nc.mp4 walk\\n")
        >>> index = index_videos(root)
        >>> index.class_names, [s.path.name for s in index.splits["test"]], index.missing
        (['run', 'walk'], ['b.mp4'], [('c.mp4', 'not found (test.txt line 2)')])
    """
    if not isinstance(format, str) or format not in ("auto", *FORMATS):
        raise DatasetLayoutError(
            f"unknown --data.format={format!r}; use one of auto, {', '.join(FORMATS)}"
        )
    if isinstance(split, bool) or not isinstance(split, int) or split < 1:
        raise DatasetLayoutError(
            f"--data.split must be an int >= 1 (1, 2 or 3 for UCF101/HMDB51); got {split!r}"
        )
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not 0.0 <= val_fraction < 1.0
    ):
        raise DatasetLayoutError(f"--data.val_fraction must be a number in [0, 1); got {val_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DatasetLayoutError(f"--data.seed must be an int; got {seed!r}")
    root = _check_root(root)
    if format == "auto":
        if list_file is not None:
            format = "kinetics" if _is_kinetics_csv(_resolve_list_file(root, list_file)) else "list"
        else:
            format = detect_format(root)
    if list_file is not None and format not in ("list", "kinetics"):
        raise DatasetLayoutError(
            f"--data.list_file applies to --data.format=list or kinetics, not {format!r}; leave it unset"
        )
    if format in ("folders", "frames"):
        index = _index_class_tree(root, format, val_fraction, seed)
    elif format == "list":
        index = _index_list(root, list_file, val_fraction, seed)
    elif format == "ucf101":
        index = _index_ucf101(root, split, val_fraction, seed)
    elif format == "hmdb51":
        index = _index_hmdb51(root, split, val_fraction, seed)
    else:
        index = _index_kinetics(root, list_file, val_fraction, seed)
    index.splits = {name: index.splits[name] for name in SPLITS if index.splits.get(name)}
    if not index.splits:
        message = f"no videos found under {root} for --data.format={format}"
        if index.missing:
            what, why = index.missing[0]
            message += f": all {len(index.missing)} listed videos are missing, e.g. {what} ({why})"
        raise DatasetLayoutError(message + "; check --data.root")
    return index


def list_video_files(path: str | os.PathLike[str]) -> list[Path]:
    """The videos to predict on: ``[path]`` for a file, else the folder's video files, recursively.

    Hidden files (``.name``, e.g. macOS ``._clip.mp4``) are skipped; the result is sorted by path.

    Raises:
        DatasetLayoutError: ``path`` does not exist, or the folder holds no video file.

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
        raise DatasetLayoutError(f"{target} does not exist; pass a video file or a folder of videos")
    if not target.is_dir():
        return [target]
    files = [Path(top) / name for top, _, names in _walk(target) for name in names if _is_video_name(name)]
    if not files:
        raise DatasetLayoutError(
            f"no video files ({', '.join(VIDEO_EXTENSIONS)}) under {target}; "
            f"pass a video file or a folder of videos"
        )
    return sorted(files, key=str)


# ------------------------------------------------------------------------------------------ helpers


def _sample_key(sample: VideoSample) -> str:
    return str(sample.path)


def _is_video_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _check_root(root: str | os.PathLike[str]) -> Path:
    if root is None or (isinstance(root, str) and not root.strip()):
        raise DatasetLayoutError("--data.root is not set; pass the dataset folder")
    path = Path(root).expanduser().absolute()
    if not path.exists():
        raise DatasetLayoutError(f"dataset root {path} does not exist; check --data.root")
    if not path.is_dir():
        raise DatasetLayoutError(f"dataset root {path} is not a folder; check --data.root")
    return path


def _walk(top: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` following links (datasets are often symlinked), sorted, hidden entries skipped."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a link back up the tree
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        yield dirpath, dirnames, sorted(f for f in filenames if not f.startswith("."))


def _subdirs(folder: Path) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if not e.name.startswith(".") and e.is_dir())


def _describe_contents(folder: Path, limit: int = 5) -> str:
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


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, stripped line)``, skipping blank lines and ``#`` comments."""
    try:
        with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.strip()
                if line and not line.startswith("#"):
                    yield number, line
    except OSError as error:
        raise DatasetLayoutError(f"cannot read {path}: {error.strerror or error}") from None


def _split_name(name: str) -> str | None:
    """The split a folder or file stem names (``validate`` → ``val``), or None."""
    return _SPLIT_ALIASES.get(name.strip().lower())


class _DirCache:
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
        name = self._videos[key].get(stem)
        return folder / name if name is not None else None


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
        return sorted(samples, key=_sample_key), []
    by_label: dict[int, list[VideoSample]] = {}
    for sample in samples:
        by_label.setdefault(sample.label, []).append(sample)
    train: list[VideoSample] = []
    val: list[VideoSample] = []
    for label in sorted(by_label):
        items = sorted(by_label[label], key=_sample_key)
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
    return sorted(train, key=_sample_key), sorted(val, key=_sample_key)


def _finish(
    format: str,
    class_names: list[str],
    splits: dict[str, list[VideoSample]],
    missing: list[tuple[str, str]],
    val_fraction: float,
    seed: int,
    group_of: Callable[[VideoSample], str] | None = None,
) -> VideoIndex:
    """Sort every split; carve ``"val"`` from ``"train"`` when the layout gave no ``"val"``."""
    splits = {name: sorted(samples, key=_sample_key) for name, samples in splits.items()}
    if splits.get("train") and not splits.get("val"):
        splits["train"], splits["val"] = _carve(splits["train"], class_names, val_fraction, seed, group_of)
    return VideoIndex(format=format, class_names=class_names, splits=splits, missing=missing)


# --------------------------------------------------------------------------------- folders / frames


def _split_trees(root: Path) -> dict[str, Path] | None:
    """``{split: folder}`` when every top-level folder of ``root`` is a split name, else None."""
    subdirs = _subdirs(root)
    if not subdirs or any(_split_name(d.name) is None for d in subdirs):
        return None
    trees: dict[str, Path] = {}
    for folder in subdirs:
        split = _split_name(folder.name)
        assert split is not None
        if split in trees:
            raise DatasetLayoutError(
                f"{root} has both {trees[split].name}/ and {folder.name}/ as the {split} split; "
                f"keep one of them"
            )
        trees[split] = folder
    return trees


def _collect_videos(class_dir: Path) -> list[Path]:
    return [Path(top) / name for top, _, names in _walk(class_dir) for name in names if _is_video_name(name)]


def _collect_frame_folders(class_dir: Path) -> list[Path]:
    found = []
    for top, dirnames, names in _walk(class_dir):
        if top != str(class_dir) and any(_is_image_name(name) for name in names):
            found.append(Path(top))
            dirnames[:] = []  # a frame folder is one sample; don't look inside for more
    return found


def _scan_class_folders(root: Path) -> tuple[bool, bool]:
    """Whether the class folders of ``root`` hold video files, and folders of images."""
    has_videos = has_frames = False
    trees = _split_trees(root) or {"": root}
    for top in trees.values():
        for class_dir in _subdirs(top):
            for folder, dirnames, names in _walk(class_dir):
                if any(_is_video_name(name) for name in names):
                    has_videos = True
                if folder != str(class_dir) and any(_is_image_name(name) for name in names):
                    has_frames = True
                    dirnames[:] = []
                if has_videos and has_frames:
                    return True, True
    return has_videos, has_frames


def _index_class_tree(root: Path, format: str, val_fraction: float, seed: int) -> VideoIndex:
    trees = _split_trees(root)
    collect = _collect_videos if format == "folders" else _collect_frame_folders
    found: dict[str, dict[str, list[Path]]] = {}
    for split, top in (trees or {"": root}).items():
        per_class = {}
        for class_dir in _subdirs(top):
            items = collect(class_dir)
            if items:
                per_class[class_dir.name] = items
        found[split] = per_class
    class_names = sorted({name for per_class in found.values() for name in per_class})
    if not class_names:
        what = (
            f"video files ({', '.join(VIDEO_EXTENSIONS)})"
            if format == "folders"
            else f"folders of images ({', '.join(IMAGE_EXTENSIONS)})"
        )
        expected = "<class>/<video>" if format == "folders" else "<class>/<video_id>/<frame>.jpg"
        raise DatasetLayoutError(
            f"no class folders with {what} under {root} (--data.format={format} expects "
            f"{root}/{expected}); found {_describe_contents(root)}"
        )
    label_of = {name: i for i, name in enumerate(class_names)}
    splits: dict[str, list[VideoSample]] = {}
    for split, per_class in found.items():
        samples = [VideoSample(path, label_of[name]) for name, paths in per_class.items() for path in paths]
        splits[split or "train"] = samples
    return _finish(format, class_names, splits, [], val_fraction, seed)


# ------------------------------------------------------------------------------------------ list


def _resolve_list_file(root: Path, list_file: str | os.PathLike[str]) -> Path:
    path = Path(list_file).expanduser()
    candidates = [path] if path.is_absolute() else [root / path, path.absolute()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DatasetLayoutError(
        f"list file {str(list_file)!r} not found (looked in {root} and the current folder); "
        f"check --data.list_file"
    )


def _parse_list_line(root: Path, line: str) -> tuple[str, str | None]:
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
    for number, line in _lines(path):
        if line in names:
            raise DatasetLayoutError(
                f"{path} line {number}: class {line!r} is listed twice; list each class once"
            )
        names.append(line)
    return names


def _index_list(root: Path, list_file: str | None, val_fraction: float, seed: int) -> VideoIndex:
    files: dict[str | None, Path]
    if list_file is not None:
        files = {None: _resolve_list_file(root, list_file)}
    else:
        files = {split: root / f"{split}.txt" for split in SPLITS if (root / f"{split}.txt").is_file()}
        if not files:
            if not (root / "list.txt").is_file():
                raise DatasetLayoutError(
                    f"no list file in {root}: expected list.txt, or train.txt (with val.txt / test.txt); "
                    f"or pass --data.list_file"
                )
            files = {None: root / "list.txt"}
    # (split, file, line number, path, label token)
    entries: list[tuple[str | None, Path, int, str, str | None]] = []
    for split, path in files.items():
        for number, line in _lines(path):
            relative, token = _parse_list_line(root, line)
            entries.append((split, path, number, relative, token))

    class_file = root / "classes.txt"
    class_names = _read_class_file(class_file) if class_file.is_file() else None
    labelled = [e for e in entries if e[4] is not None]
    if class_names is None:
        kinds = {"int" if _INT.match(e[4] or "") else "name" for e in labelled}
        if len(kinds) > 1:
            first_kind = "int" if _INT.match(labelled[0][4] or "") else "name"
            odd = next(e for e in labelled if ("int" if _INT.match(e[4] or "") else "name") != first_kind)
            raise DatasetLayoutError(
                f"{odd[1]} line {odd[2]}: label {odd[4]!r} mixes class indices and class names in one "
                f"dataset; use one kind, or add {class_file} (one class name per line) so indices refer to it"
            )
        if kinds == {"int"}:
            for _, path, number, _, token in labelled:
                if int(token or 0) < 0:
                    raise DatasetLayoutError(
                        f"{path} line {number}: label {token} is negative; "
                        f"use a class index >= 0 or a class name"
                    )
            class_names = [str(i) for i in range(max(int(e[4] or 0) for e in labelled) + 1)]
        else:
            class_names = sorted({e[4] or "" for e in labelled})
    label_of = {name: i for i, name in enumerate(class_names)}

    splits: dict[str, list[VideoSample]] = {}
    missing: list[tuple[str, str]] = []
    for split, path, number, relative, token in entries:
        label = -1
        if token is not None:
            if _INT.match(token):
                label = int(token)
                if not 0 <= label < len(class_names):
                    raise DatasetLayoutError(
                        f"{path} line {number}: label {token} is not a class index 0..{len(class_names) - 1}"
                        + (f" of {class_file}" if class_file.is_file() else "")
                        + "; fix the label"
                    )
            elif token in label_of:
                label = label_of[token]
            else:
                raise DatasetLayoutError(
                    f"{path} line {number}: label {token!r} is not a class in {class_file}; "
                    f"add it there or fix the label"
                )
        video = Path(relative)
        video = video if video.is_absolute() else root / video
        if not video.exists():
            missing.append((relative, f"not found ({_rel(path, root)} line {number})"))
            continue
        splits.setdefault(split or "train", []).append(VideoSample(video, label))
    return _finish("list", class_names, splits, missing, val_fraction, seed)


# ---------------------------------------------------------------------------------------- UCF101


def _ucf_list_dir(root: Path) -> Path | None:
    for folder in (root / _UCF_LIST_DIR, root):
        if (folder / "classInd.txt").is_file():
            return folder
    return None


def _index_ucf101(root: Path, split: int, val_fraction: float, seed: int) -> VideoIndex:
    list_dir = _ucf_list_dir(root)
    if list_dir is None:
        raise DatasetLayoutError(
            f"no classInd.txt in {root} or {root / _UCF_LIST_DIR}; unpack "
            f"UCF101TrainTestSplits-RecognitionTask into --data.root (or pick another --data.format)"
        )
    class_ind = list_dir / "classInd.txt"
    by_index: dict[int, str] = {}
    for number, line in _lines(class_ind):
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
    class_names = [by_index[i] for i in range(1, len(by_index) + 1)]
    lower_label = {name.lower(): i for i, name in enumerate(class_names)}

    available = sorted(
        int(m.group("n")) for m in map(_UCF_TRAINLIST.match, os.listdir(list_dir)) if m is not None
    )
    if split not in available:
        raise DatasetLayoutError(
            f"UCF101 split {split} is not available: {list_dir} has no trainlist{split:02d}.txt; "
            f"use --data.split with one of {', '.join(map(str, available)) or '(none found)'}"
        )

    bases = [b for b in (root / _UCF_VIDEO_DIR, root) if b.is_dir()]
    cache = _DirCache()
    splits: dict[str, list[VideoSample]] = {}
    missing: list[tuple[str, str]] = []
    lists = (("train", f"trainlist{split:02d}.txt"), ("test", f"testlist{split:02d}.txt"))
    for split_name, file_name in lists:
        list_path = list_dir / file_name
        if not list_path.is_file():
            continue
        samples = splits.setdefault(split_name, [])
        for number, line in _lines(list_path):
            parts = line.split()
            if len(parts) > 2:
                raise DatasetLayoutError(
                    f"{list_path} line {number}: expected '<Class>/<video> [label]', got {line!r}"
                )
            relative = parts[0].replace("\\", "/")
            if len(parts) == 2:
                if not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(class_names):
                    raise DatasetLayoutError(
                        f"{list_path} line {number}: label {parts[1]!r} is not a class index "
                        f"1..{len(class_names)} of {class_ind.name}; fix the line"
                    )
                label = int(parts[1]) - 1
            else:
                folder = relative.split("/")[0] if "/" in relative else None
                if folder is None:
                    match = _UCF_CLASS_IN_NAME.match(relative)
                    folder = match.group("cls") if match else relative
                if folder.lower() not in lower_label:
                    raise DatasetLayoutError(
                        f"{list_path} line {number}: class folder {folder!r} of {relative!r} is not in "
                        f"{class_ind.name} (compared case-insensitively); fix the line or classInd.txt"
                    )
                label = lower_label[folder.lower()]
            found = (cache.find(base, relative, ignore_case=True) for base in bases)
            video = next((p for p in found if p is not None), None)
            if video is None:
                where = f"{root} or {root / _UCF_VIDEO_DIR}"
                missing.append((relative, f"not found under {where} ({file_name} line {number})"))
                continue
            samples.append(VideoSample(video, label))
    return _finish("ucf101", class_names, splits, missing, val_fraction, seed, _ucf_group)


def _ucf_group(sample: VideoSample) -> str:
    match = _UCF_GROUP.search(sample.path.name)
    return f"g{int(match.group(1)):03d}" if match else str(sample.path)


# ---------------------------------------------------------------------------------------- HMDB51


def _hmdb_split_files(root: Path) -> tuple[Path, dict[int, dict[str, Path]]] | None:
    """``(folder, {split number: {class: split file}})`` of the first folder that has any."""
    for folder in (root / _HMDB_SPLIT_DIR, root):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found: dict[int, dict[str, Path]] = {}
        for name in names:
            match = _HMDB_SPLIT_FILE.match(name)
            if match:
                found.setdefault(int(match.group("n")), {})[match.group("cls")] = folder / name
        if found:
            return folder, found
    return None


def _index_hmdb51(root: Path, split: int, val_fraction: float, seed: int) -> VideoIndex:
    located = _hmdb_split_files(root)
    if located is None:
        raise DatasetLayoutError(
            f"no <class>_test_split<N>.txt files in {root} or {root / _HMDB_SPLIT_DIR}; unpack "
            f"test_train_splits into --data.root (or pick another --data.format)"
        )
    folder, by_split = located
    if split not in by_split:
        raise DatasetLayoutError(
            f"HMDB51 split {split} is not available: {folder} has no *_test_split{split}.txt; "
            f"use --data.split with one of {', '.join(map(str, sorted(by_split)))}"
        )
    files = by_split[split]
    class_names = sorted(files)
    cache = _DirCache()
    splits: dict[str, list[VideoSample]] = {"train": [], "test": []}
    missing: list[tuple[str, str]] = []
    for label, name in enumerate(class_names):
        split_file = files[name]
        for number, line in _lines(split_file):
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise DatasetLayoutError(
                    f"{split_file} line {number}: expected '<video> <0|1|2>' "
                    f"(1 = train, 2 = test, 0 = unused), got {line!r}"
                )
            if parts[1] == "0":
                continue
            video = cache.find(root / name, parts[0], ignore_case=False)
            if video is None:
                why = f"not found under {root} ({split_file.name} line {number})"
                missing.append((f"{name}/{parts[0]}", why))
                continue
            splits["train" if parts[1] == "1" else "test"].append(VideoSample(video, label))
    return _finish("hmdb51", class_names, splits, missing, val_fraction, seed)


# -------------------------------------------------------------------------------------- Kinetics


def _csv_header(path: Path) -> list[str] | None:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            row = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return [column.strip().lower() for column in row] if row else None


def _is_kinetics_csv(path: Path) -> bool:
    header = _csv_header(path) if path.suffix.lower() == ".csv" else None
    return header is not None and all(column in header for column in _KINETICS_REQUIRED)


def _kinetics_csvs(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder in (root, root / "annotations"):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        found += [
            Path(e.path)
            for e in entries
            if not e.name.startswith(".") and e.is_file() and _is_kinetics_csv(Path(e.path))
        ]
    return found


def _split_of_csv(path: Path) -> str | None:
    """The split a CSV's name gives: ``validate.csv``, ``kinetics_400_train.csv`` ... or None."""
    words = [w for w in re.split(r"[^a-z]+", path.stem.lower()) if w]
    return _split_name(words[-1]) if words else None


def _pick_kinetics_csvs(root: Path, list_file: str | None) -> list[Path]:
    if list_file is not None:
        path = _resolve_list_file(root, list_file)
        if not _is_kinetics_csv(path):
            raise DatasetLayoutError(
                f"{path} is not a Kinetics CSV: its header must include {_KINETICS_COLUMNS}; "
                f"check --data.list_file"
            )
        return [path]
    csvs = _kinetics_csvs(root)
    if not csvs:
        raise DatasetLayoutError(
            f"no Kinetics CSV (header with {_KINETICS_COLUMNS}) in {root} or {root / 'annotations'}; "
            f"put it there or pass --data.list_file"
        )
    if len(csvs) == 1:
        return csvs
    splits = [_split_of_csv(path) for path in csvs]
    if None in splits or len(set(splits)) != len(splits):
        names = ", ".join(_rel(path, root) for path in csvs)
        raise DatasetLayoutError(
            f"several Kinetics CSVs in {root} ({names}); pass --data.list_file with the one to use, "
            f"or keep one per split named train.csv / validate.csv / test.csv"
        )
    return csvs


def _parse_time(value: str, column: str, path: Path, number: int) -> int:
    try:
        return int(float(value))
    except (ValueError, OverflowError):
        message = f"{path} line {number}: {column} {value!r} is not a number; fix the row"
        raise DatasetLayoutError(message) from None


# One annotated clip: split, label name ("" when unlabelled), youtube_id, start, end, CSV, line.
_KineticsRow = tuple[str, str, str, int, int, Path, int]


def _read_kinetics_csv(path: Path) -> Iterator[_KineticsRow]:
    default_split = _split_of_csv(path)
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        try:
            column = {name.strip().lower(): i for i, name in enumerate(next(reader, []))}
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue
                number = reader.line_num
                cells = {name: record[i].strip() if i < len(record) else "" for name, i in column.items()}
                youtube_id = cells["youtube_id"]
                if not youtube_id:
                    raise DatasetLayoutError(
                        f"{path} line {number}: youtube_id is empty; fix or delete the row"
                    )
                start = _parse_time(cells["time_start"], "time_start", path, number)
                end = _parse_time(cells["time_end"], "time_end", path, number)
                split_value = cells.get("split", "")
                split = _split_name(split_value) if split_value else default_split
                if split is None and split_value:
                    raise DatasetLayoutError(
                        f"{path} line {number}: split {split_value!r} is not one of train, val, validate, "
                        f"test; fix the row"
                    )
                if split is None:
                    raise DatasetLayoutError(
                        f"{path} line {number}: no split value, and the file name names no split; add a "
                        f"split column or name the file train.csv / validate.csv / test.csv"
                    )
                yield split, cells.get("label", ""), youtube_id, start, end, path, number
        except csv.Error as error:
            raise DatasetLayoutError(f"{path} line {reader.line_num}: not valid CSV ({error})") from None


def _index_kinetics(root: Path, list_file: str | None, val_fraction: float, seed: int) -> VideoIndex:
    rows = [row for path in _pick_kinetics_csvs(root, list_file) for row in _read_kinetics_csv(path)]
    # Classes from every row, found or not, so label i means the same class whatever was downloaded.
    class_names = sorted({row[1] for row in rows if row[1]})
    label_of = {name: i for i, name in enumerate(class_names)}
    cache = _DirCache()
    splits: dict[str, list[VideoSample]] = {}
    missing: list[tuple[str, str]] = []
    for split, label, youtube_id, start, end, path, number in rows:
        stems = (f"{youtube_id}_{start:06d}_{end:06d}", youtube_id)
        # Downloaders name label folders as the label, or with "_" for " " (and quotes dropped).
        spellings = [label, label.replace(" ", "_"), label.replace('"', "")] if label else []
        label_dirs = list(dict.fromkeys(spellings))
        folders = [root / top / sub for top in _KINETICS_SPLIT_DIRS[split] for sub in [*label_dirs, ""]]
        video = next((v for f in folders for s in stems if (v := cache.find_video(f, s)) is not None), None)
        if video is None:
            where = f"{_KINETICS_SPLIT_DIRS[split][0]}/{label + '/' if label else ''}{stems[0]}.mp4"
            missing.append((where, f"not found under {root} ({path.name} line {number})"))
            continue
        splits.setdefault(split, []).append(VideoSample(video, label_of[label] if label else -1))
    return _finish("kinetics", class_names, splits, missing, val_fraction, seed)
