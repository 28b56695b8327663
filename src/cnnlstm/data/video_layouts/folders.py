"""Layout ``folders``: ``root/<class>/**/<video>`` (or ``root/{train,val,test}/<class>/**/<video>``).

Every video file (``VIDEO_EXTENSIONS``) anywhere under a class folder is a sample of that class.
Without split folders, ``"val"`` is carved from the videos (seeded, stratified) and there is no
``"test"`` split.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["cat/a.mp4", "cat/b.mp4", "dog/c.avi"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     (root / name).touch()
    >>> detect(root)
    'video files in class folders'
    >>> index(root, IndexOptions(val_fraction=0.0)).summary()
    'folders: 2 classes, train 3'
"""

from __future__ import annotations

from pathlib import Path

from cnnlstm.data.video_layouts._class_tree import any_in_class_folders, index_class_tree
from cnnlstm.data.video_layouts._common import (
    VIDEO_EXTENSIONS,
    IndexOptions,
    VideoIndex,
    is_video_name,
    walk,
)

NAME = "folders"
USES_LIST_FILE = False


def collect(class_dir: Path, errors: list[tuple[str, str]] | None = None) -> list[Path]:
    """The video files under ``class_dir``, at any depth (unreadable folders go to ``errors``)."""
    return [
        Path(top) / name for top, _, names in walk(class_dir, errors) for name in names if is_video_name(name)
    ]


def detect(root: Path) -> str | None:
    """``"video files in class folders"`` when a class folder holds a video file, else None."""
    found = any_in_class_folders(root, lambda folder, class_dir, names: any(map(is_video_name, names)))
    return "video files in class folders" if found else None


def index(root: Path, options: IndexOptions) -> VideoIndex:
    """Index the tree (see the module docstring)."""
    return index_class_tree(
        root,
        NAME,
        collect,
        what=f"video files ({', '.join(VIDEO_EXTENSIONS)})",
        expected="<class>/<video>",
        options=options,
    )
