"""Layout ``frames``: ``root/<class>/<video_id>/img_00001.jpg`` (extracted frames).

A sample is a folder below a class folder that holds at least one image (``IMAGE_EXTENSIONS``);
its sub-folders are not searched for more samples. Splits as for ``folders``.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["jump/v1/img_00001.jpg", "jump/v2/img_00001.jpg", "sit/v3/img_00001.png"]:
    ...     (root / name).parent.mkdir(parents=True, exist_ok=True)
    ...     (root / name).touch()
    >>> detect(root)
    'folders of images in class folders'
    >>> [s.path.name for s in index(root, IndexOptions(val_fraction=0.0)).all_samples()]
    ['v1', 'v2', 'v3']
"""

from __future__ import annotations

from pathlib import Path

from cnnlstm.data.video_layouts._class_tree import any_in_class_folders, index_class_tree
from cnnlstm.data.video_layouts._common import (
    IMAGE_EXTENSIONS,
    IndexOptions,
    VideoIndex,
    is_image_name,
    walk,
)

NAME = "frames"
USES_LIST_FILE = False


def _is_frame_folder(folder: str, class_dir: Path, names: list[str]) -> bool:
    return folder != str(class_dir) and any(map(is_image_name, names))


def collect(class_dir: Path, errors: list[tuple[str, str]] | None = None) -> list[Path]:
    """The folders of images under ``class_dir`` (a frame folder is one sample: not searched further;
    unreadable folders go to ``errors``)."""
    found = []
    for top, dirnames, names in walk(class_dir, errors):
        if _is_frame_folder(top, class_dir, names):
            found.append(Path(top))
            dirnames[:] = []
    return found


def detect(root: Path) -> str | None:
    """``"folders of images in class folders"`` when a class folder holds one, else None."""
    return "folders of images in class folders" if any_in_class_folders(root, _is_frame_folder) else None


def index(root: Path, options: IndexOptions) -> VideoIndex:
    """Index the tree (see the module docstring)."""
    return index_class_tree(
        root,
        NAME,
        collect,
        what=f"folders of images ({', '.join(IMAGE_EXTENSIONS)})",
        expected="<class>/<video_id>/<frame>.jpg",
        options=options,
    )
