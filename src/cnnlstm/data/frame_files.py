"""Reading users' frame sequences for forecasting: ``.npy`` / ``.npz`` arrays and folders of images.

- ``.npy`` / ``.npz`` arrays ``(N, T, H, W)`` or ``(N, T, H, W, C)`` (channels last), or a 3-D
  ``(T, H, W)`` array, one long recording (:func:`load_array`, :func:`load_sequences`);
- a folder with one sub-folder of images (png, jpg, ...) per sequence, or a folder of images that
  is one recording; frames in name order, numbers compared as numbers (``2.png`` before ``10.png``)
  (:func:`load_image_folder`).

Nothing is ever unpickled. Errors name the file and what to do.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clips.npy"
    >>> np.save(path, np.zeros((4, 12, 8, 8), np.uint8))
    >>> data, names, skipped = load_sequences(path)
    >>> data.shape, names[0], skipped
    ((4, 12, 8, 8), 'clips.npy[0]', [])
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "load_array", "load_image_folder", "load_sequences"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


# -- arrays ---------------------------------------------------------------------------------------
def _open_npy_or_npz(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(path)!r} does not exist; give a .npy or .npz file or a folder of image sequences"
        )
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise ValueError(
            f"{str(path)!r} is not a .npy or .npz file; save the frames with numpy.save or numpy.savez"
        )
    try:
        return np.load(path, mmap_mode="r" if suffix == ".npy" else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(
            f"cannot read {str(path)!r} ({error}); save the frames with numpy.save or numpy.savez "
            f"(no pickled objects)"
        ) from error


def load_array(path: str | Path, *, key: str | None = None) -> np.ndarray:
    """The array in a ``.npy`` (memory-mapped, read-only) or ``.npz`` file (its one array, or ``key``).

    ``key`` only applies to ``.npz`` archives. Never unpickles. Errors name the file and what to do.

    Example:
        >>> np.savez("frames.npz", frames=np.zeros((100, 20, 64, 64), np.uint8))
        >>> load_array("frames.npz", key="frames").shape
        (100, 20, 64, 64)
    """
    path = Path(path)
    loaded = _open_npy_or_npz(path)
    if isinstance(loaded, np.ndarray):
        return loaded  # a .npy holds one array: key does not apply
    with loaded:
        keys = list(loaded.files)
        if key is None:
            if len(keys) != 1:
                raise ValueError(f"{str(path)!r} holds arrays {keys}; choose one with key=")
            key = keys[0]
        if key not in keys:
            raise ValueError(f"{str(path)!r} has no array {key!r}; it holds {keys}")
        try:
            return loaded[key]
        except ValueError as error:
            raise ValueError(f"cannot read array {key!r} of {str(path)!r} ({error})") from error


def _as_sequences(array: Any, path: str | Path) -> Any:
    """``(T, H, W)`` → ``(1, T, H, W)``; ``(N, T, H, W[, C])`` as it is."""
    if array.ndim == 3:
        return array[None]
    if array.ndim in (4, 5):
        return array
    raise ValueError(
        f"{str(path)!r} holds an array of shape {tuple(array.shape)}; expected (N, T, H, W), "
        f"(N, T, H, W, C) or one recording (T, H, W)"
    )


# -- image folders --------------------------------------------------------------------------------
def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _image_files(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(files, key=_natural_key)


def _read_frames(files: list[Path], mode: str) -> np.ndarray:
    from PIL import Image

    frames = []
    for file in files:
        try:
            with Image.open(file) as image:
                frames.append(np.asarray(image.convert(mode)))
        except Exception as error:  # PIL raises many kinds for a broken file
            raise ValueError(f"cannot read image {file.name!r} ({type(error).__name__}: {error})") from error
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:
        raise ValueError(f"frames differ in size: {sorted(s[:2] for s in sizes)}")
    return np.stack(frames)


def _check_image_folder(path: Path, channels: int) -> None:
    if channels not in (1, 3):
        raise ValueError(
            f"channels must be 1 (grayscale) or 3 (RGB) for image folders; received channels={channels!r}"
        )
    try:
        import PIL  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"reading the image folder {str(path)!r} needs Pillow: pip install pillow"
        ) from error
    if not path.is_dir():
        raise FileNotFoundError(
            f"{str(path)!r} is not a folder; give a folder of image sequences or a .npy/.npz file"
        )


def _read_sub_folders(
    folders: list[Path], mode: str
) -> tuple[list[np.ndarray], list[str], list[dict[str, str]]]:
    """One sequence per folder; a folder without images, unreadable, or of another frame size is skipped."""
    sequences: list[np.ndarray] = []
    names: list[str] = []
    skipped: list[dict[str, str]] = []
    for folder in folders:
        files = _image_files(folder)
        if not files:
            skipped.append({"sequence": str(folder), "reason": "no images"})
            continue
        try:
            frames = _read_frames(files, mode)
        except ValueError as error:
            skipped.append({"sequence": str(folder), "reason": str(error)})
            continue
        if sequences and frames.shape[1:] != sequences[0].shape[1:]:
            reason = f"frames are {frames.shape[1:3]}, not {sequences[0].shape[1:3]} like {names[0]!r}"
            skipped.append({"sequence": str(folder), "reason": reason})
            continue
        sequences.append(frames)
        names.append(str(folder))
    return sequences, names, skipped


def load_image_folder(
    path: str | Path, *, channels: int = 1
) -> tuple[list[np.ndarray], list[str], list[dict[str, str]]]:
    """Image sequences: a folder with one sub-folder per sequence, or a folder of images (one recording).

    Frames are read with PIL, in name order (numbers compared as numbers), as grayscale
    ``(T, H, W)`` uint8 when ``channels == 1``, else RGB ``(T, H, W, 3)``. A sub-folder without
    images, with an unreadable image, or whose frames differ in size from the first sequence's
    is skipped and listed.

    Returns:
        ``(sequences, names, skipped)``: the arrays, their folder paths, and
        ``{"sequence", "reason"}`` for each skipped one.

    Example:
        >>> from PIL import Image
        >>> for clip in ("clips/a", "clips/b"):
        ...     Path(clip).mkdir(parents=True)
        ...     for t in range(4):
        ...         Image.new("RGB", (16, 12)).save(f"{clip}/{t}.png")
        >>> sequences, names, skipped = load_image_folder("clips/", channels=3)
        >>> [s.shape for s in sequences], skipped
        ([(4, 12, 16, 3), (4, 12, 16, 3)], [])
    """
    path = Path(path)
    _check_image_folder(path, channels)
    folders = sorted(
        (p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")), key=_natural_key
    )
    loose = _image_files(path)
    if folders and loose:
        raise ValueError(
            f"{str(path)!r} has both images and sub-folders; put each sequence's images in its own sub-folder"
        )
    mode = "L" if channels == 1 else "RGB"
    if not folders:
        if not loose:
            raise ValueError(
                f"{str(path)!r} has no images ({', '.join(IMAGE_SUFFIXES)}) and no sub-folders of images"
            )
        try:
            return [_read_frames(loose, mode)], [str(path)], []
        except ValueError as error:
            raise ValueError(f"{str(path)!r}: {error}") from error
    sequences, names, skipped = _read_sub_folders(folders, mode)
    if not sequences:
        first = skipped[0]
        raise ValueError(
            f"no readable image sequence in {str(path)!r}: {first['sequence']}: {first['reason']}"
        )
    return sequences, names, skipped


def load_sequences(
    path: str | Path, *, key: str | None = None, channels: int | None = None
) -> tuple[Any, list[str], list[dict[str, str]]]:
    """A user's sequences: an array ``(N, T, H, W[, C])`` or a list of ``(T_i, H, W[, C])`` arrays.

    ``path`` is a ``.npy`` / ``.npz`` file (:func:`load_array`; 3-D means one recording) or a
    folder of images (:func:`load_image_folder`, ``channels`` 1 by default). For arrays,
    ``channels`` (when given) must match the data's.

    Returns:
        ``(sequences, names, skipped)``.
    """
    path = Path(path)
    if path.is_dir():
        return load_image_folder(path, channels=1 if channels is None else channels)
    array = _as_sequences(load_array(path, key=key), path)
    found = array.shape[4] if array.ndim == 5 else 1
    if channels is not None and channels != found:
        raise ValueError(
            f"{str(path)!r} has {found} channel(s) (shape {tuple(array.shape)}) but channels={channels}; "
            f"drop channels or fix the file"
        )
    return array, [f"{path.name}[{i}]" for i in range(array.shape[0])], []
