"""What the forecasting data modules share: shapes for the CLI, windows, splits, the predict path.

:class:`FrameForecastDataModule` is the base of
:class:`~cnnlstm.data.moving_mnist_data.MovingMNISTDataModule` and
:class:`~cnnlstm.data.frame_sequences.FrameSequenceDataModule`. Batches are ``(inputs, targets)``:
``(B, T_in, C, H, W)`` and ``(B, T_out, C, H, W)``, float32 in [0, 1]
(:class:`~cnnlstm.data.frame_datasets.FrameSequenceDataset`). The module reports
``input_shape`` ``[T_in, C, H, W]``, ``target_shape`` and ``num_classes = 0``, which the CLI
passes to the task.

Data read from a file is split by whole sequences, not windows (:meth:`~FrameForecastDataModule._split`):
``round(N * val_fraction)`` sequences (at least one, fixed by ``seed``) are held out for
validation, or, for a single recording, its last ``val_fraction`` of frames. ``val_fraction=0``
holds nothing out: every sequence trains, validation is empty (Lightning skips it), and asking
for the held-out test data is an error naming ``val_fraction``.

Prediction (``predict`` stage) runs on ``predict_path`` when given — a ``.npy``/``.npz`` of input
frames ``(T, H, W)``, ``(T, H, W, C)``, ``(N, T, H, W)`` or ``(N, T, H, W, C)``, or an image
folder — using the last ``input_frames`` frames of each sequence; its samples are ``(inputs,)``
one-element tuples (:class:`~cnnlstm.data.frame_datasets.ForecastInputDataset`). Without
``predict_path`` it runs on the test windows, ``(inputs, targets)``. Either way ``batch[0]`` is the
input.

Example:
    >>> existing_path("predict_path", None) is None
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Subset

from cnnlstm._validation import InputError, check_fraction, check_positive_int
from cnnlstm.data.base import BaseDataModule
from cnnlstm.data.frame_datasets import ForecastInputDataset, FrameSequenceDataset
from cnnlstm.data.frame_files import load_array, load_image_folder

__all__ = ["FrameForecastDataModule", "existing_path", "read_predict_inputs"]


def existing_path(field: str, value: str | Path | None) -> Path | None:
    """``value`` as a Path (None stays None); a path that does not exist is an error naming ``field``."""
    if value is None:
        return None
    if not Path(value).exists():
        raise FileNotFoundError(
            f"{field}={str(value)!r} does not exist; give a .npy/.npz file or a folder of image sequences"
        )
    return Path(value)


def read_predict_inputs(
    path: Path, frame_shape: tuple[int, int, int], *, key: str | None = None
) -> tuple[Any, list[str], list[dict[str, str]]]:
    """Input frames to forecast from: ``(sequences, names, skipped)`` from an array file or image folder.

    A 3-D array ``(T, H, W)``, or a 4-D one whose frames are ``(H, W, C)`` of ``frame_shape`` with
    ``C > 1``, is one sequence; 4-D and 5-D arrays are ``(N, T, H, W[, C])``.
    """
    channels, height, width = frame_shape
    if path.is_dir():
        return load_image_folder(path, channels=channels)
    array = load_array(path, key=key)
    shape = tuple(array.shape)
    one_rgb = array.ndim == 4 and channels > 1 and shape[1:] == (height, width, channels)
    if array.ndim == 3 or one_rgb:
        array = array[None]  # one sequence (T, H, W[, C])
    elif array.ndim not in (4, 5):
        raise ValueError(
            f"{str(path)!r} holds shape {shape}; expected input frames (T, H, W), (T, H, W, C), "
            f"(N, T, H, W) or (N, T, H, W, C)"
        )
    return array, [f"{path.name}[{i}]" for i in range(array.shape[0])], []


def _count(data: Any) -> int:
    return len(data) if isinstance(data, list) else int(data.shape[0])


class FrameForecastDataModule(BaseDataModule):
    """The base of the forecasting data modules (see the module doc); not used on its own.

    A subclass sets :attr:`path` (or leaves it None for data made in memory), implements
    :attr:`frame_shape` and :meth:`_load` (the sequences and their names), and overrides
    :meth:`_setup_fit` / :meth:`_test_dataset` where its splits are not the file splits.

    Args:
        input_frames, target_frames: ``T_in`` and ``T_out``.
        stride: frames between window starts within a sequence (default ``T_in + T_out``).
        val_fraction: share of a file's sequences (or of a single recording) held out, in [0, 1).
        predict_path: inputs to forecast from.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`; ``seed``
            also fixes the train/val split.
    """

    _TEST_HINT = ""  # what else gives test data, for the error when nothing is held out

    def __init__(
        self,
        *,
        input_frames: int = 10,
        target_frames: int = 10,
        stride: int | None = None,
        val_fraction: float = 0.1,
        predict_path: str | Path | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        self.input_frames = check_positive_int("input_frames", input_frames)
        self.target_frames = check_positive_int("target_frames", target_frames)
        self.stride = None if stride is None else check_positive_int("stride", stride)
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self.predict_path = existing_path("predict_path", predict_path)
        self.path: Path | None = None
        self.key: str | None = None  # the array to read from .npz archives holding several
        self.skipped: list[dict[str, str]] = []
        self.split_indices: dict[str, np.ndarray] = {}

    # -- shapes ------------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return 0  # a forecaster has no classifier

    @property
    def window(self) -> int:
        """Frames per window, ``input_frames + target_frames``."""
        return self.input_frames + self.target_frames

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
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

    # -- windows and splits ------------------------------------------------------------------------
    def _load(self) -> tuple[Any, list[str]]:
        """The sequences ``(N, T, H, W[, C])`` (or a list of them) and their names."""
        raise NotImplementedError(f"{type(self).__name__} reads no file")

    def _windows(
        self,
        data: Any,
        *,
        indices: Sequence[int] | None = None,
        names: Sequence[str] | None = None,
        source: str | None = None,
    ) -> FrameSequenceDataset:
        """Windows of ``data``; ``source`` (default: the resolved ``path``) keys its samples."""
        if source is None:
            source = str(self.path.resolve()) if self.path is not None else type(self).__name__
        dataset = FrameSequenceDataset(
            data,
            input_frames=self.input_frames,
            target_frames=self.target_frames,
            stride=self.stride,
            indices=indices,
            names=names,
            source=source,
        )
        self.skipped.extend(dataset.skipped)
        return dataset

    def _no_windows(self) -> Dataset:
        """The empty validation split of ``val_fraction=0`` (Lightning skips validation)."""
        assert self.train_dataset is not None
        return Subset(self.train_dataset, [])

    def _check_frames(self, dataset: FrameSequenceDataset, path: Path) -> None:
        expected = self.frame_shape
        if dataset.frame_chw != expected:
            raise ValueError(
                f"{str(path)!r} has frames (C, H, W) = {dataset.frame_chw}, "
                f"but the training data has {expected}"
            )

    def _split(self) -> None:
        """Train and val from :meth:`_load`: by whole sequences, or a single recording in time."""
        data, names = self._load()
        if _count(data) == 1:
            self._split_in_time(data[0], names[0])
        else:
            self._split_sequences(data, names)

    def _split_in_time(self, recording: Any, name: str) -> None:
        length = recording.shape[0]
        cut = int(round(length * (1 - self.val_fraction)))
        if self.val_fraction > 0 and min(cut, length - cut) < self.window:
            raise ValueError(
                f"{str(self.path)!r} is one recording of {length} frames; with "
                f"val_fraction={self.val_fraction} its parts ({cut} and {length - cut} frames) must each "
                f"hold a window of {self.window}; use a longer recording or shorter windows"
            )
        self.split_indices = {"train": np.arange(cut), "val": np.arange(cut, length)}
        self.train_dataset = self._windows([recording[:cut]], names=[f"{name} frames 0:{cut}"])
        if cut == length:  # val_fraction=0
            self.val_dataset = self._no_windows()
        else:
            self.val_dataset = self._windows([recording[cut:]], names=[f"{name} frames {cut}:{length}"])

    def _split_sequences(self, data: Any, names: list[str]) -> None:
        count = _count(data)
        order = np.random.default_rng(self.seed).permutation(count)
        num_val = min(count - 1, max(1, int(round(count * self.val_fraction)))) if self.val_fraction else 0
        self.split_indices = {"train": np.sort(order[num_val:]), "val": np.sort(order[:num_val])}
        train, val = (self.split_indices[k].tolist() for k in ("train", "val"))
        self.train_dataset = self._windows(data, indices=train, names=names)
        self.val_dataset = self._windows(data, indices=val, names=names) if val else self._no_windows()

    def _held_out(self) -> Dataset:
        """The validation part of the file, used as test data when there is no other."""
        if self.val_fraction == 0:
            raise InputError(
                f"val_fraction=0 holds none of {str(self.path)!r} out, so there is no test data; "
                f"give a val_fraction above 0{self._TEST_HINT}",
                field="val_fraction",
            )
        if self.val_dataset is None:
            self._split()
        assert self.val_dataset is not None
        return self.val_dataset

    # -- stages ------------------------------------------------------------------------------------
    def _setup_fit(self, stage: str | None) -> None:
        """Train and val for ``fit`` / ``validate`` (``stage``; None for every stage)."""
        if self.train_dataset is None:
            self._split()

    def _generated(self, split: str) -> FrameSequenceDataset:
        """The windows of a generated split; data modules of generated sequences implement it."""
        raise NotImplementedError(f"{type(self).__name__} generates no data")

    def _setup_generated_fit(self, stage: str | None) -> None:
        """:meth:`_setup_fit` for generated data: train (for ``fit``) and val, each made once."""
        if stage in (None, "fit") and self.train_dataset is None:
            self.train_dataset = self._generated("train")
        if self.val_dataset is None:
            self.val_dataset = self._generated("val")

    def _test_dataset(self) -> Dataset:
        return self._held_out()

    def _predict_dataset(self) -> ForecastInputDataset:
        assert self.predict_path is not None
        path, expected = self.predict_path, self.frame_shape
        data, names, skipped = read_predict_inputs(path, expected, key=self.key)
        self.skipped.extend(skipped)
        dataset = ForecastInputDataset(data, input_frames=self.input_frames, names=names)
        self.skipped.extend(dataset.skipped)
        if dataset.frame_chw != expected:
            raise ValueError(
                f"{str(path)!r} has frames (C, H, W) = {dataset.frame_chw}, but the model expects {expected}"
            )
        return dataset

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit", "validate"):
            self._setup_fit(stage)
        if stage == "predict" and self.predict_path is not None:
            self.predict_dataset = self._predict_dataset()
            return
        if stage in (None, "test", "predict") and self.test_dataset is None:
            self.test_dataset = self._test_dataset()
        if stage in (None, "predict") and self.predict_path is None:
            self.predict_dataset = self.test_dataset
        elif stage is None:
            self.predict_dataset = self._predict_dataset()
