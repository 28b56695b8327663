"""Spatiotemporal forecasting data: given ``T_in`` frames, predict the next ``T_out``.

:class:`FrameSequenceDataset` cuts sequences ``(N, T, H, W[, C])`` into windows of
``input_frames + target_frames`` frames and returns ``(inputs, targets)``, float32 in [0, 1],
``(T_in, C, H, W)`` and ``(T_out, C, H, W)``. :class:`ForecastDataModule` feeds it from generated
Moving MNIST (:mod:`cnnlstm.data.moving_mnist`, the ``[forecasting]`` extra), the standard
``mnist_test_seq.npy``, or the user's data (:func:`load_sequences`):

- ``.npy`` / ``.npz`` arrays ``(N, T, H, W)`` or ``(N, T, H, W, C)`` (channels last), or a 3-D
  ``(T, H, W)`` array, one long recording;
- a folder with one sub-folder of images (png, jpg, ...) per sequence, or a folder of images that
  is one recording; frames in name order, numbers compared as numbers (``2.png`` before ``10.png``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from cnnlstm._validation import check_positive_int
from cnnlstm.data.base import BaseDataModule
from cnnlstm.data.moving_mnist import DIGIT_SIZE, MovingMNIST, is_standard_layout, load_standard_file

__all__ = [
    "FrameSequenceDataset",
    "ForecastDataModule",
    "ForecastInputDataset",
    "IMAGE_SUFFIXES",
    "frames_to_tensor",
    "load_array",
    "load_image_folder",
    "load_sequences",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_VAL_SEED_OFFSET = 1_000_003  # validation sequences: the train pool, another seed
TEST_SEED = 2015  # test sequences: the test pool, the same for every run


# -- frames to tensors ----------------------------------------------------------------------------
def frames_to_tensor(frames: Any) -> Tensor:
    """``(T, H, W)`` or ``(T, H, W, C)`` frames → float32 ``(T, C, H, W)``; uint8 is divided by 255.

    Float frames are used as they are (assumed already in [0, 1]).
    """
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        values = frames.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(frames.dtype, np.floating):
        values = frames.astype(np.float32)  # a copy: memory-mapped input stays untouched
    else:
        raise ValueError(f"frames must be uint8 or float; received dtype {frames.dtype}")
    if values.ndim == 3:
        values = values[:, None]  # (T, H, W) -> (T, 1, H, W)
    elif values.ndim == 4:
        values = values.transpose(0, 3, 1, 2)  # (T, H, W, C) -> (T, C, H, W)
    else:
        raise ValueError(f"frames must be (T, H, W) or (T, H, W, C); received shape {frames.shape}")
    return torch.from_numpy(np.ascontiguousarray(values))


class _SequenceSet(Dataset):
    """Shared checks: sequences as one array ``(N, T, H, W[, C])`` or a list of ``(T_i, H, W[, C])``."""

    def __init__(
        self, sequences: Any, *, indices: Sequence[int] | None, names: Sequence[str] | None
    ) -> None:
        if isinstance(sequences, (list, tuple)):
            if not sequences:
                raise ValueError("sequences is an empty list; give at least one (T, H, W[, C]) array")
            arrays = [np.asarray(s) if not hasattr(s, "shape") else s for s in sequences]
            first = arrays[0]
            for i, array in enumerate(arrays):
                same = array.shape[1:] == first.shape[1:] and array.dtype == first.dtype
                if array.ndim not in (3, 4) or not same:
                    raise ValueError(
                        f"sequence {i} is {array.dtype} {tuple(array.shape)}; every sequence must be "
                        f"(T, H, W[, C]) with the frame shape and dtype of sequence 0, "
                        f"{first.dtype} {tuple(first.shape)}"
                    )
            self.sequences: Any = arrays
            lengths = [int(a.shape[0]) for a in arrays]
            frame_shape, dtype, count = tuple(first.shape[1:]), first.dtype, len(arrays)
        else:
            shape = tuple(getattr(sequences, "shape", ()))
            if len(shape) not in (4, 5):
                raise ValueError(
                    f"sequences must be (N, T, H, W) or (N, T, H, W, C); received shape {shape}"
                )
            self.sequences = sequences
            count, lengths = shape[0], [int(shape[1])] * shape[0]
            frame_shape, dtype = shape[2:], np.dtype(sequences.dtype)
        if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
            raise ValueError(f"sequences must be uint8 or float; received dtype {dtype}")
        self.frame_shape: tuple[int, ...] = tuple(int(s) for s in frame_shape)  # (H, W) or (H, W, C)
        self.dtype = np.dtype(dtype)
        self.indices = list(range(count)) if indices is None else [int(i) for i in indices]
        if not self.indices:
            raise ValueError("indices is empty; select at least one sequence")
        if any(not 0 <= i < count for i in self.indices):
            raise ValueError(
                f"indices must lie in [0, {count}); received indices from {min(self.indices)} "
                f"to {max(self.indices)}"
            )
        if names is not None and len(names) != count:
            raise ValueError(f"names has {len(names)} entries for {count} sequences")
        self.names = list(names) if names is not None else [f"sequence {i}" for i in range(count)]
        self.lengths = lengths
        self.skipped: list[dict[str, str]] = []

    @property
    def num_channels(self) -> int:
        return self.frame_shape[2] if len(self.frame_shape) == 3 else 1

    def _frames(self, sequence: int, start: int, stop: int) -> Tensor:
        return frames_to_tensor(self.sequences[sequence][start:stop])


class FrameSequenceDataset(_SequenceSet):
    """Forecasting windows ``(inputs, targets)`` cut from frame sequences.

    Each sequence is cut into windows of ``input_frames + target_frames`` frames, one starting
    every ``stride`` frames; a window's first ``input_frames`` frames are the inputs, the rest the
    targets. Samples are float32 in [0, 1] (uint8 divided by 255; float data as it is):
    ``inputs (T_in, C, H, W)``, ``targets (T_out, C, H, W)``, ``C = 1`` for ``(N, T, H, W)`` data.
    Sequences shorter than a window are skipped and listed in :attr:`skipped`; when every one is
    too short it is an error.

    Args:
        sequences: an array (or array-like with ``shape``, ``dtype`` and int indexing, such as
            :class:`~cnnlstm.data.moving_mnist.MovingMNIST` or a memory map) ``(N, T, H, W)`` /
            ``(N, T, H, W, C)``, uint8 or float; or a list of ``(T_i, H, W[, C])`` arrays of
            different lengths.
        input_frames: ``T_in``.
        target_frames: ``T_out``.
        stride: frames between window starts; ``None`` means one window length (no overlap).
        indices: the sequences to use (default all); the array is never copied.
        names: one name per sequence, for :attr:`skipped` and errors.

    Example:
        >>> sequences = np.zeros((3, 20, 64, 64), np.uint8)
        >>> ds = FrameSequenceDataset(sequences, input_frames=5, target_frames=5)
        >>> len(ds), [t.shape for t in ds[0]]
        (6, [torch.Size([5, 1, 64, 64]), torch.Size([5, 1, 64, 64])])
    """

    def __init__(
        self,
        sequences: Any,
        *,
        input_frames: int = 10,
        target_frames: int = 10,
        stride: int | None = None,
        indices: Sequence[int] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(sequences, indices=indices, names=names)
        self.input_frames = check_positive_int("input_frames", input_frames)
        self.target_frames = check_positive_int("target_frames", target_frames)
        self.window = self.input_frames + self.target_frames
        self.stride = self.window if stride is None else check_positive_int("stride", stride)
        windows: list[tuple[int, int]] = []
        for i in self.indices:
            length = self.lengths[i]
            if length < self.window:
                reason = f"too short: {length} frames < window of {self.window}"
                self.skipped.append({"sequence": self.names[i], "reason": reason})
                continue
            windows.extend((i, start) for start in range(0, length - self.window + 1, self.stride))
        if not windows:
            longest = max(self.lengths[i] for i in self.indices)
            raise ValueError(
                f"every sequence is shorter than a window of input_frames + target_frames = "
                f"{self.window} frames (the longest has {longest}); lower input_frames or target_frames"
            )
        self.windows = np.asarray(windows, dtype=np.int64)  # (num_windows, 2): sequence, start

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        sequence, start = (int(v) for v in self.windows[index])
        frames = self._frames(sequence, start, start + self.window)  # (T_in + T_out, C, H, W)
        return frames[: self.input_frames], frames[self.input_frames :]


class ForecastInputDataset(_SequenceSet):
    """Prediction inputs: the last ``input_frames`` frames of each sequence, as ``(inputs,)`` tuples.

    A one-element tuple, so a batch is ``[inputs]`` with ``inputs (B, T_in, C, H, W)`` and
    ``batch[0]`` is the input in every split. Sequences shorter than ``input_frames`` are skipped
    (listed in :attr:`skipped`); when all are, it is an error. Arguments as in
    :class:`FrameSequenceDataset`.
    """

    def __init__(
        self,
        sequences: Any,
        *,
        input_frames: int = 10,
        indices: Sequence[int] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(sequences, indices=indices, names=names)
        self.input_frames = check_positive_int("input_frames", input_frames)
        self.items: list[int] = []
        for i in self.indices:
            if self.lengths[i] < self.input_frames:
                reason = f"too short: {self.lengths[i]} frames < input_frames={self.input_frames}"
                self.skipped.append({"sequence": self.names[i], "reason": reason})
            else:
                self.items.append(i)
        if not self.items:
            raise ValueError(f"every sequence has fewer than input_frames={self.input_frames} frames")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Tensor]:
        sequence = self.items[index]
        length = self.lengths[sequence]
        return (self._frames(sequence, length - self.input_frames, length),)


# -- users' files ---------------------------------------------------------------------------------
def load_array(path: str | Path, *, key: str | None = None) -> np.ndarray:
    """The array in a ``.npy`` (memory-mapped, read-only) or ``.npz`` file (its one array, or ``key``).

    ``key`` only applies to ``.npz`` archives. Never unpickles. Errors name the file and what to do.
    """
    path = Path(path)
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
        loaded = np.load(path, mmap_mode="r" if suffix == ".npy" else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(
            f"cannot read {str(path)!r} ({error}); save the frames with numpy.save or numpy.savez "
            f"(no pickled objects)"
        ) from error
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


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _image_files(folder: Path) -> list[Path]:
    files = [
        p for p in folder.iterdir()
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
            raise ValueError(
                f"cannot read image {file.name!r} ({type(error).__name__}: {error})"
            ) from error
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:
        raise ValueError(f"frames differ in size: {sorted(s[:2] for s in sizes)}")
    return np.stack(frames)


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
    """
    path = Path(path)
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
    sequences, names, skipped = [], [], []
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


# -- the DataModule -------------------------------------------------------------------------------
class ForecastDataModule(BaseDataModule):
    """Frame forecasting splits: generated Moving MNIST, the standard file, or the user's data.

    Batches are ``(inputs, targets)``: ``(B, T_in, C, H, W)`` and ``(B, T_out, C, H, W)``, float32
    in [0, 1] (:class:`FrameSequenceDataset`).

    - ``source="moving_mnist"`` without ``path``: sequences generated on demand
      (:class:`~cnnlstm.data.moving_mnist.MovingMNIST`): ``num_train`` from the train digit pool
      with ``seed``, ``num_val`` from the train pool with another seed, ``num_test`` from the
      disjoint test pool with a fixed seed (the same test set for every run).
    - ``source="moving_mnist"`` with ``path``: the standard ``mnist_test_seq.npy`` (uint8
      ``(20, N, 64, 64)``, time first, recognised by its shape); any other file is read as below.
    - ``source=<path>`` (or ``path`` holding other data): the user's file or folder
      (:func:`load_sequences`). Whole sequences, not windows, are split into train and val by
      ``val_fraction`` and ``seed``; a single recording is split in time (the last
      ``val_fraction`` of its frames is val). ``test`` is ``test_path`` when given, else the
      held-out (val) part. :attr:`split_indices` records the split; :attr:`skipped` lists what was
      left out and why.

    Prediction (``predict`` stage) runs on ``predict_path`` when given — a ``.npy``/``.npz`` of
    input frames ``(T, H, W)``, ``(T, H, W, C)``, ``(N, T, H, W)`` or ``(N, T, H, W, C)``, or an
    image folder — using the last ``input_frames`` frames of each sequence; its samples are
    ``(inputs,)`` one-element tuples (:class:`ForecastInputDataset`). Without ``predict_path`` it
    runs on the test windows, ``(inputs, targets)``. Either way ``batch[0]`` is the input.

    Args:
        source: ``"moving_mnist"`` or the path of the user's data.
        path: with ``source="moving_mnist"``, the standard ``mnist_test_seq.npy`` (or other data).
        key: the array to read from ``.npz`` archives holding several (ignored for ``.npy``).
        input_frames, target_frames: ``T_in`` and ``T_out``.
        stride: frames between window starts within a sequence (default ``T_in + T_out``).
        sequence_length: frames per generated sequence (default ``T_in + T_out``).
        num_train, num_val, num_test: generated sequences per split.
        image_size, num_digits: generated frame size (``H = W``, > 28) and digits per sequence.
        val_fraction: share of the user's sequences (or of a single recording) held out, in (0, 1).
        test_path: separate test data, read like ``source``.
        predict_path: inputs to forecast from.
        channels: 1 (grayscale) or 3 (RGB) for image folders; for arrays, a check of the data's.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`; ``seed``
            also seeds generation and the train/val split.

    Example:
        >>> dm = ForecastDataModule(num_train=64, num_val=16, num_test=16, batch_size=8)
        >>> dm.setup("fit")
        >>> [tuple(t.shape) for t in next(iter(dm.train_dataloader()))]
        [(8, 10, 1, 64, 64), (8, 10, 1, 64, 64)]
    """

    def __init__(
        self,
        *,
        source: str = "moving_mnist",
        path: str | None = None,
        key: str | None = None,
        input_frames: int = 10,
        target_frames: int = 10,
        stride: int | None = None,
        sequence_length: int | None = None,
        num_train: int = 10_000,
        num_val: int = 1_000,
        num_test: int = 2_000,
        image_size: int = 64,
        num_digits: int = 2,
        val_fraction: float = 0.1,
        test_path: str | None = None,
        predict_path: str | None = None,
        channels: int | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        self.save_hyperparameters()
        if not isinstance(source, (str, Path)) or not str(source):
            raise ValueError(f"source must be 'moving_mnist' or a path; received source={source!r}")
        self.generated = str(source) == "moving_mnist" and path is None
        from_source = str(source) != "moving_mnist"
        if from_source:
            if path is not None:
                raise ValueError(
                    f"give the data either as source or as path, not both; "
                    f"received source={source!r}, path={path!r}"
                )
            path = str(source)
        given = {"source" if from_source else "path": path, "test_path": test_path}
        given["predict_path"] = predict_path
        for name, value in given.items():
            if value is not None and not Path(value).exists():
                raise FileNotFoundError(
                    f"{name}={str(value)!r} does not exist; "
                    f"give a .npy/.npz file or a folder of image sequences"
                )
        self.path = None if path is None else Path(path)
        self.standard = not from_source and path is not None  # until the file says otherwise (_read)
        self.key = key
        self.test_path = None if test_path is None else Path(test_path)
        self.predict_path = None if predict_path is None else Path(predict_path)
        self.input_frames = check_positive_int("input_frames", input_frames)
        self.target_frames = check_positive_int("target_frames", target_frames)
        self.stride = None if stride is None else check_positive_int("stride", stride)
        window = self.input_frames + self.target_frames
        if sequence_length is None:
            sequence_length = window
        self.sequence_length = check_positive_int("sequence_length", sequence_length)
        if self.sequence_length < window:
            raise ValueError(
                f"sequence_length must be at least input_frames + target_frames = {window}; "
                f"received sequence_length={sequence_length!r}"
            )
        self.sizes = {
            "train": check_positive_int("num_train", num_train),
            "val": check_positive_int("num_val", num_val),
            "test": check_positive_int("num_test", num_test),
        }
        self.image_size = check_positive_int("image_size", image_size)
        if self.generated and self.image_size <= DIGIT_SIZE:
            raise ValueError(
                f"image_size must be larger than the {DIGIT_SIZE}-pixel digits; "
                f"received image_size={image_size!r}"
            )
        self.num_digits = check_positive_int("num_digits", num_digits)
        is_number = isinstance(val_fraction, (int, float)) and not isinstance(val_fraction, bool)
        if not is_number or not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1); received val_fraction={val_fraction!r}")
        self.val_fraction = float(val_fraction)
        if channels is not None and channels not in (1, 3):
            raise ValueError(f"channels must be 1, 3 or None; received channels={channels!r}")
        if self.generated and channels not in (None, 1):
            raise ValueError(f"generated Moving MNIST has 1 channel; received channels={channels!r}")
        self.channels = channels
        self.skipped: list[dict[str, str]] = []
        self.split_indices: dict[str, np.ndarray] = {}
        self._data: tuple[Any, list[str]] | None = None

    # -- shapes ------------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return 0  # a forecaster has no classifier

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        if self.generated:
            return (1, self.image_size, self.image_size)
        data, _ = self._load()
        shape = data[0].shape[1:] if isinstance(data, list) else data.shape[2:]
        return (shape[2] if len(shape) == 3 else 1, int(shape[0]), int(shape[1]))

    @property
    def num_channels(self) -> int:
        return self.frame_shape[0]

    @property
    def input_shape(self) -> list[int]:
        """``[T_in, C, H, W]``."""
        return [self.input_frames, *self.frame_shape]

    @property
    def target_shape(self) -> list[int]:
        """``[T_out, C, H, W]``."""
        return [self.target_frames, *self.frame_shape]

    # -- data --------------------------------------------------------------------------------------
    def _read(self, path: Path) -> tuple[Any, list[str]]:
        if self.standard and path == self.path and path.suffix.lower() == ".npy":
            if is_standard_layout(load_array(path)):
                data = load_standard_file(path)
                return data, [f"{path.name}[{i}]" for i in range(data.shape[0])]
            self.standard = False  # another layout: read as the user's (N, T, H, W[, C])
        data, names, skipped = load_sequences(path, key=self.key, channels=self.channels)
        if path.name == "mnist_test_seq.npy" and is_standard_layout(data):
            warnings.warn(
                f"{str(path)!r} looks like the time-first standard file but is read as (N, T, H, W); "
                f"pass source='moving_mnist', path=... to read it batch first",
                stacklevel=3,
            )
        self.skipped.extend(skipped)
        return data, names

    def _load(self) -> tuple[Any, list[str]]:
        if self._data is None:
            assert self.path is not None
            self._data = self._read(self.path)
        return self._data

    def _check_frames(self, dataset: _SequenceSet, path: Path) -> None:
        expected = self.frame_shape
        found = (dataset.num_channels, *dataset.frame_shape[:2])
        if found != expected:
            raise ValueError(
                f"{str(path)!r} has frames (C, H, W) = {found}, but the training data has {expected}"
            )

    def _windows(
        self, data: Any, *, indices: Sequence[int] | None = None, names: Sequence[str] | None = None
    ) -> FrameSequenceDataset:
        dataset = FrameSequenceDataset(
            data,
            input_frames=self.input_frames,
            target_frames=self.target_frames,
            stride=self.stride,
            indices=indices,
            names=names,
        )
        self.skipped.extend(dataset.skipped)
        return dataset

    def _generated(self, split: str) -> FrameSequenceDataset:
        seed, pool = {
            "train": (self.seed, "train"),
            "val": (self.seed + _VAL_SEED_OFFSET, "train"),  # train digits, other motion and picks
            "test": (TEST_SEED, "test"),  # held-out digits, the same sequences in every run
        }[split]
        sequences = MovingMNIST(
            self.sizes[split],
            seq_len=self.sequence_length,
            num_digits=self.num_digits,
            image_size=self.image_size,
            seed=seed,
            split=pool,
        )
        return self._windows(sequences)

    def _split_user_data(self) -> None:
        """Build train and val (and the held-out test) from the user's data."""
        data, names = self._load()
        count = len(data) if isinstance(data, list) else data.shape[0]
        if count == 1:  # one recording: split in time
            length = data[0].shape[0]
            cut = int(round(length * (1 - self.val_fraction)))
            window = self.input_frames + self.target_frames
            if min(cut, length - cut) < window:
                raise ValueError(
                    f"{str(self.path)!r} is one recording of {length} frames; with "
                    f"val_fraction={self.val_fraction} its parts ({cut} and {length - cut} frames) must each "
                    f"hold a window of {window}; use a longer recording or shorter windows"
                )
            recording = data[0]
            self.split_indices = {"train": np.arange(cut), "val": np.arange(cut, length)}
            self.train_dataset = self._windows([recording[:cut]], names=[f"{names[0]} frames 0:{cut}"])
            self.val_dataset = self._windows([recording[cut:]], names=[f"{names[0]} frames {cut}:{length}"])
        else:
            order = np.random.default_rng(self.seed).permutation(count)
            num_val = min(count - 1, max(1, int(round(count * self.val_fraction))))
            self.split_indices = {"train": np.sort(order[num_val:]), "val": np.sort(order[:num_val])}
            train, val = (self.split_indices[k].tolist() for k in ("train", "val"))
            self.train_dataset = self._windows(data, indices=train, names=names)
            self.val_dataset = self._windows(data, indices=val, names=names)

    def _test_dataset(self) -> FrameSequenceDataset:
        if self.generated:
            return self._generated("test")
        if self.test_path is not None:
            data, names = self._read(self.test_path)
            dataset = self._windows(data, names=names)
            self._check_frames(dataset, self.test_path)
            return dataset
        if self.val_dataset is None:
            self._split_user_data()
        return self.val_dataset  # type: ignore[return-value]

    def _predict_dataset(self) -> Dataset:
        assert self.predict_path is not None
        path = self.predict_path
        channels, height, width = self.frame_shape
        if path.is_dir():
            data, names, skipped = load_image_folder(path, channels=channels)
            self.skipped.extend(skipped)
        else:
            array = load_array(path, key=self.key)
            shape = tuple(array.shape)
            one_rgb = array.ndim == 4 and channels > 1 and shape[1:] == (height, width, channels)
            if array.ndim == 3 or one_rgb:
                array = array[None]  # one sequence (T, H, W[, C])
            elif array.ndim not in (4, 5):
                raise ValueError(
                    f"{str(path)!r} holds shape {shape}; expected input frames (T, H, W), (T, H, W, C), "
                    f"(N, T, H, W) or (N, T, H, W, C)"
                )
            data, names = array, [f"{path.name}[{i}]" for i in range(array.shape[0])]
        dataset = ForecastInputDataset(data, input_frames=self.input_frames, names=names)
        self.skipped.extend(dataset.skipped)
        found = (dataset.num_channels, *dataset.frame_shape[:2])
        if found != (channels, height, width):
            raise ValueError(
                f"{str(path)!r} has frames (C, H, W) = {found}, "
                f"but the model expects {(channels, height, width)}"
            )
        return dataset

    def setup(self, stage: str | None = None) -> None:
        if self.generated:
            if stage in (None, "fit") and self.train_dataset is None:
                self.train_dataset = self._generated("train")
            if stage in (None, "fit", "validate") and self.val_dataset is None:
                self.val_dataset = self._generated("val")
        elif stage in (None, "fit", "validate") and self.train_dataset is None:
            self._split_user_data()
        if stage == "predict" and self.predict_path is not None:
            self.predict_dataset = self._predict_dataset()
            return
        if stage in (None, "test", "predict") and self.test_dataset is None:
            self.test_dataset = self._test_dataset()
        if stage in (None, "predict") and self.predict_path is None:
            self.predict_dataset = self.test_dataset
        elif stage is None:
            self.predict_dataset = self._predict_dataset()
