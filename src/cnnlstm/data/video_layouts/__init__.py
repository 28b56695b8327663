"""Dataset layouts → ``(path, label)`` lists per split, without opening a single video.

:func:`index_videos` reads the layout a user brings (``format``) and returns a
:class:`VideoIndex`: the class names, and for each split present (``"train"``, ``"val"``,
``"test"``) a sorted list of :class:`VideoSample`. Nothing here decodes video, so indexing even
Kinetics takes seconds, and a layout mistake is reported before any training starts, as one line
(:class:`DatasetLayoutError`, whose ``field`` names the argument to change).

Each layout is one module with the same small interface, listed in :data:`LAYOUTS`:

* ``NAME`` — the ``format`` value;
* ``USES_LIST_FILE`` — whether it reads ``list_file``;
* ``detect(root) -> str | None`` — what in ``root`` marks this layout (e.g. the annotation file
  found), or None;
* ``index(root, options: IndexOptions) -> VideoIndex``.

============ ==================================================================================
``folders``  ``root/<class>/**/<video>`` (:mod:`~cnnlstm.data.video_layouts.folders`)
``list``     text files of ``path label`` lines (:mod:`~cnnlstm.data.video_layouts.list_file`)
``ucf101``   the official ``ucfTrainTestlist`` (:mod:`~cnnlstm.data.video_layouts.ucf101`)
``hmdb51``   the official ``testTrainMulti_7030_splits`` (:mod:`~cnnlstm.data.video_layouts.hmdb51`)
``kinetics`` the official annotation CSV(s) (:mod:`~cnnlstm.data.video_layouts.kinetics`)
``frames``   ``root/<class>/<video_id>/img_00001.jpg`` (:mod:`~cnnlstm.data.video_layouts.frames`)
============ ==================================================================================

``folders`` and ``frames`` also read ``root/{train,val,test}/<class>/...`` (every top-level
folder a split name) as one tree per split. Wherever a layout has a ``"train"`` split but no
``"val"`` split, ``"val"`` is carved from ``"train"`` by a seeded, stratified split
(``val_fraction`` per class; ``0`` keeps all of ``"train"`` and gives no ``"val"``). Nothing is
dropped silently: listed videos that are absent are recorded in :attr:`VideoIndex.missing`; class
folders without samples, folders that cannot be read and second paths to one file (a link, or a
line listed twice) in :attr:`VideoIndex.left_out`. One file under two labels or splits (e.g. a
link to a sibling class folder) is refused.

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

import os
from pathlib import Path
from types import ModuleType

from cnnlstm.data.video_layouts import folders, frames, hmdb51, kinetics, list_file, ucf101
from cnnlstm.data.video_layouts._common import (
    IMAGE_EXTENSIONS,
    SPLITS,
    VIDEO_EXTENSIONS,
    DatasetLayoutError,
    DatasetNotFoundError,
    IndexOptions,
    VideoIndex,
    VideoSample,
    check_root,
    describe_contents,
    list_video_files,
    resolve_list_file,
)

__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "LAYOUTS",
    "SPLITS",
    "VIDEO_EXTENSIONS",
    "DatasetLayoutError",
    "DatasetNotFoundError",
    "IndexOptions",
    "VideoIndex",
    "VideoSample",
    "detect_format",
    "index_videos",
    "list_video_files",
]

#: ``format`` value → the module reading that layout.
LAYOUTS: dict[str, ModuleType] = {
    module.NAME: module for module in (folders, list_file, ucf101, hmdb51, kinetics, frames)
}
FORMATS = tuple(LAYOUTS)

# Detection order: the annotation files a layout ships with decide first; only without any do
# the class folders decide.
_BY_ANNOTATIONS = ("kinetics", "ucf101", "hmdb51", "list")
_BY_CLASS_FOLDERS = ("frames", "folders")


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
        DatasetLayoutError: ``root`` is missing or empty (``field="root"``), or the layout is
            ambiguous or unknown (``field="format"``); the message lists what was found and the
            ``format`` values.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "list.txt").write_text("a.mp4 0\\n")
        8
        >>> detect_format(root)
        'list'
    """
    root = check_root(root)
    found = _evidence(root, _BY_ANNOTATIONS) or _evidence(root, _BY_CLASS_FOLDERS)
    if len(found) == 1:
        return next(iter(found))
    if set(found) == {"folders", "frames"}:
        raise DatasetLayoutError(
            f"ambiguous dataset layout in {root}: its class folders hold both video files and folders "
            f"of images; set format='folders' or format='frames'",
            field="format",
        )
    if found:
        listed = "; ".join(f"{what} ({name})" for name, what in found.items())
        raise DatasetLayoutError(
            f"ambiguous dataset layout in {root}: found {listed}; set format to one of {', '.join(FORMATS)}",
            field="format",
        )
    raise DatasetLayoutError(
        f"cannot tell the dataset layout of {root}: found {describe_contents(root)}, but no Kinetics "
        f"CSV, classInd.txt, *_test_split1.txt, list.txt/train.txt, or class folders holding video files "
        f"({', '.join(VIDEO_EXTENSIONS)}) or folders of images; set format to one of {', '.join(FORMATS)}",
        field="format",
    )


def _evidence(root: Path, names: tuple[str, ...]) -> dict[str, str]:
    """``{format: what marks it}`` for each of the layouts ``names`` that ``root`` looks like."""
    return {name: what for name in names if (what := LAYOUTS[name].detect(root)) is not None}


def index_videos(
    root: str | os.PathLike[str],
    *,
    format: str = "auto",
    split: int = 1,
    val_fraction: float = 0.1,
    seed: int = 0,
    list_file: str | os.PathLike[str] | None = None,
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
        seed: seed of that carving (an int >= 0); the carve of a class depends only on ``seed``,
            the class name and its samples' paths.
        list_file: for ``"list"``: the list file (relative to ``root``, or absolute), instead of
            ``root/list.txt`` / ``root/{train,val,test}.txt``; for ``"kinetics"``: the CSV. Other
            formats refuse it.

    Each layout's module documents its files: :mod:`~cnnlstm.data.video_layouts.list_file`,
    :mod:`~cnnlstm.data.video_layouts.ucf101`, :mod:`~cnnlstm.data.video_layouts.hmdb51`,
    :mod:`~cnnlstm.data.video_layouts.kinetics`, :mod:`~cnnlstm.data.video_layouts.folders`,
    :mod:`~cnnlstm.data.video_layouts.frames`.

    Raises:
        DatasetLayoutError: a bad argument (``field`` names it), a missing root, an empty tree, a
            malformed annotation line (file and line number named), or an unavailable ``split``.

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
            f"format={format!r} is not one of auto, {', '.join(FORMATS)}", field="format"
        )
    options = IndexOptions(split=split, val_fraction=val_fraction, seed=seed, list_file=list_file)
    root = check_root(root)
    if format == "auto":
        format = _auto_format(root, list_file)
    layout = LAYOUTS[format]
    if list_file is not None and not layout.USES_LIST_FILE:
        users = " or ".join(repr(name) for name, module in LAYOUTS.items() if module.USES_LIST_FILE)
        raise DatasetLayoutError(
            f"list_file applies to format={users}, not {format!r}; leave it unset", field="list_file"
        )
    index: VideoIndex = layout.index(root, options)
    if not index.splits:
        message = f"no videos found under {root} for format={format!r}"
        if index.missing:
            what, why = index.missing[0]
            message += f": all {len(index.missing)} listed videos are missing, e.g. {what} ({why})"
        raise DatasetLayoutError(message, field="root")
    return index


def _auto_format(root: Path, list_file: str | os.PathLike[str] | None) -> str:
    """The format ``"auto"`` means: from ``list_file`` when given, else :func:`detect_format`."""
    if list_file is None:
        return detect_format(root)
    return "kinetics" if kinetics.is_kinetics_csv(resolve_list_file(root, list_file)) else "list"
