"""The class-folder trees shared by ``folders`` and ``frames``: ``root[/<split>]/<class>/...``.

A tree whose every top-level folder names a split (``train``, ``val``/``validation``,
``test``) is read as one tree per split; otherwise ``root`` is one tree and ``"val"`` is carved
from it. The two layouts differ only in what a sample is, which they pass in as ``collect``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cnnlstm.data.video_layouts._common import (
    DatasetLayoutError,
    IndexOptions,
    VideoIndex,
    VideoSample,
    describe_contents,
    finish,
    split_name,
    subdirs,
    walk,
)

# The samples of one class folder; folders that cannot be read go to the list as (path, reason).
Collect = Callable[[Path, list[tuple[str, str]]], list[Path]]


def split_trees(root: Path) -> dict[str, Path] | None:
    """``{split: folder}`` when every top-level folder of ``root`` is a split name, else None."""
    folders = subdirs(root)
    if not folders or any(split_name(d.name) is None for d in folders):
        return None
    trees: dict[str, Path] = {}
    for folder in folders:
        split = split_name(folder.name)
        assert split is not None
        if split in trees:
            raise DatasetLayoutError(
                f"{root} has both {trees[split].name}/ and {folder.name}/ as the {split} split; "
                f"keep one of them"
            )
        trees[split] = folder
    return trees


def class_folders(root: Path) -> list[Path]:
    """Every class folder of the tree (of each split's tree, when ``root`` is split)."""
    trees = split_trees(root) or {"": root}
    return [class_dir for top in trees.values() for class_dir in subdirs(top)]


def any_in_class_folders(root: Path, holds: Callable[[str, Path, list[str]], bool]) -> bool:
    """Whether some folder under a class folder satisfies ``holds(folder, class_dir, file names)``.

    Stops at the first one, so a layout is recognised without walking the whole tree.
    """
    for class_dir in class_folders(root):
        for folder, _, names in walk(class_dir):
            if holds(folder, class_dir, names):
                return True
    return False


def index_class_tree(
    root: Path, format: str, collect: Collect, *, what: str, expected: str, options: IndexOptions
) -> VideoIndex:
    """Index a class-folder tree whose samples ``collect`` finds in each class folder.

    ``what`` (e.g. ``"video files (.mp4, ...)"``) and ``expected`` (``"<class>/<video>"``) word
    the error for a tree without any. A class folder without samples, and a folder that cannot
    be read, are left out and listed in :attr:`VideoIndex.left_out`; a class present in no
    split is not one of the classes.
    """
    trees = split_trees(root) or {"": root}
    found: dict[str, dict[str, list[Path]]] = {}
    left_out: list[tuple[str, str]] = []
    for split, top in trees.items():
        per_class = {class_dir.name: collect(class_dir, left_out) for class_dir in subdirs(top)}
        found[split] = {name: items for name, items in per_class.items() if items}
        left_out.extend(
            (str(top / name), f"class folder holds no {what}; the class is left out of this split")
            for name, items in per_class.items()
            if not items
        )
    class_names = sorted({name for per_class in found.values() for name in per_class})
    if not class_names:
        raise DatasetLayoutError(
            f"no class folders with {what} under {root} (format={format!r} expects "
            f"{root}/{expected}); found {describe_contents(root)}",
            field="root",
        )
    label_of = {name: i for i, name in enumerate(class_names)}
    splits = {
        split or "train": [
            VideoSample(path, label_of[name]) for name, paths in per_class.items() for path in paths
        ]
        for split, per_class in found.items()
    }
    return finish(format, class_names, splits, [], options, left_out=left_out)
