"""Forecasting on a user's frame sequences: ``.npy`` / ``.npz`` arrays or folders of images.

:class:`FrameSequenceDataModule` reads ``path`` with :func:`~cnnlstm.data.frame_files.load_sequences`
and cuts windows of ``input_frames + target_frames`` frames every ``stride`` frames; Moving MNIST
has its own module, :class:`~cnnlstm.data.moving_mnist_data.MovingMNISTDataModule`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from cnnlstm._validation import InputError, check_choice
from cnnlstm.data.forecast_base import FrameForecastDataModule, existing_path
from cnnlstm.data.frame_files import load_sequences
from cnnlstm.data.moving_mnist import is_standard_layout

__all__ = ["FrameSequenceDataModule"]


class FrameSequenceDataModule(FrameForecastDataModule):
    """Forecasting splits from a user's file or folder of frame sequences.

    ``path`` is a ``.npy`` / ``.npz`` array ``(N, T, H, W)`` or ``(N, T, H, W, C)`` (channels
    last), a 3-D ``(T, H, W)`` array (one long recording), or a folder with one sub-folder of
    images per sequence (or a folder of images, one recording). Whole sequences, not windows, are
    split into train and val by ``val_fraction`` and ``seed``; a single recording is split in time
    (the last ``val_fraction`` of its frames is val). ``test`` is ``test_path`` when given, else
    the held-out (val) part. :attr:`split_indices` records the split; :attr:`skipped` lists what
    was left out and why. Batches are ``(inputs, targets)``, ``(B, T_in, C, H, W)`` and
    ``(B, T_out, C, H, W)`` (see :mod:`cnnlstm.data.forecast_base`).

    Args:
        path: the user's file or folder.
        key: the array to read from ``.npz`` archives holding several (ignored for ``.npy``).
        input_frames, target_frames: ``T_in`` and ``T_out``.
        stride: frames between window starts within a sequence (default ``T_in + T_out``).
        val_fraction: share of the sequences (or of a single recording) held out, in [0, 1); 0
            holds none out: no validation, and test data only from ``test_path``.
        test_path: separate test data, read like ``path``.
        predict_path: inputs to forecast from.
        channels: 1 (grayscale) or 3 (RGB) for image folders; for arrays, a check of the data's.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`; ``seed``
            also fixes the train/val split.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "clips.npy"
        >>> np.save(path, np.zeros((10, 12, 16, 16), np.uint8))
        >>> dm = FrameSequenceDataModule(path=path, input_frames=4, target_frames=2, batch_size=4)
        >>> dm.input_shape, dm.target_shape
        ([4, 1, 16, 16], [2, 1, 16, 16])
        >>> dm.setup("fit")
        >>> len(dm.train_dataset), len(dm.val_dataset), dm.split_indices["val"].tolist()
        (18, 2, [4])
    """

    _TEST_HINT = " or a test_path"

    def __init__(
        self,
        *,
        path: str | Path,
        key: str | None = None,
        input_frames: int = 10,
        target_frames: int = 10,
        stride: int | None = None,
        val_fraction: float = 0.1,
        test_path: str | Path | None = None,
        predict_path: str | Path | None = None,
        channels: int | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(
            input_frames=input_frames,
            target_frames=target_frames,
            stride=stride,
            val_fraction=val_fraction,
            predict_path=predict_path,
            batch_size=batch_size,
            num_workers=num_workers,
            seed=seed,
        )
        self.save_hyperparameters()
        if not isinstance(path, (str, Path)) or not str(path):
            raise InputError(
                f"path must be a file or folder of frame sequences; received path={path!r}", field="path"
            )
        self.path = existing_path("path", path)
        self.test_path = existing_path("test_path", test_path)
        self.key = key
        self.channels = None if channels is None else check_choice("channels", channels, (1, 3))
        self._data: tuple[Any, list[str]] | None = None

    def _read(self, path: Path) -> tuple[Any, list[str]]:
        data, names, skipped = load_sequences(path, key=self.key, channels=self.channels)
        if path.name == "mnist_test_seq.npy" and is_standard_layout(data):
            warnings.warn(
                f"{str(path)!r} looks like the time-first standard Moving MNIST file but is read as "
                f"(N, T, H, W); read it with MovingMNISTDataModule(path=...) instead",
                stacklevel=3,
            )
        self.skipped.extend(skipped)
        return data, names

    def _load(self) -> tuple[Any, list[str]]:
        if self._data is None:
            assert self.path is not None
            self._data = self._read(self.path)
        return self._data

    def _test_dataset(self) -> Dataset:
        if self.test_path is None:
            return self._held_out()
        data, names = self._read(self.test_path)
        dataset = self._windows(data, names=names, source=str(self.test_path.resolve()))
        self._check_frames(dataset, self.test_path)
        return dataset
