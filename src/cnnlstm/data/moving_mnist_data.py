"""Moving MNIST for forecasting: generated on demand, or the standard ``mnist_test_seq.npy``.

:class:`MovingMNISTDataModule` windows sequences of
:class:`~cnnlstm.data.moving_mnist.MovingMNIST` (the ``[forecasting]`` extra) into
``(inputs, targets)``; with ``path`` it reads the standard benchmark file instead. Users' own
frame data goes to :class:`~cnnlstm.data.frame_sequences.FrameSequenceDataModule`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from cnnlstm._validation import InputError, check_positive_int
from cnnlstm.data.forecast_base import FrameForecastDataModule
from cnnlstm.data.frame_datasets import FrameSequenceDataset
from cnnlstm.data.moving_mnist import DIGIT_SIZE, MovingMNIST, load_standard_file

__all__ = ["TEST_SEED", "MovingMNISTDataModule", "check_sequence_length", "read_standard_file"]

_VAL_SEED_OFFSET = 1_000_003  # validation sequences: the train pool, another seed
TEST_SEED = 2015  # test sequences: the test pool, the same for every run


def check_sequence_length(sequence_length: int | None, window: int) -> int:
    """Frames per generated sequence: ``window`` when None, else a positive int of at least ``window``.

    >>> check_sequence_length(None, 20)
    20
    """
    if sequence_length is None:
        return window
    check_positive_int("sequence_length", sequence_length)
    if sequence_length < window:
        raise InputError(
            f"sequence_length must be at least input_frames + target_frames = {window}; "
            f"received sequence_length={sequence_length!r}",
            field="sequence_length",
        )
    return int(sequence_length)


def read_standard_file(path: Path) -> tuple[np.ndarray, list[str]]:
    """``mnist_test_seq.npy`` as ``(N, T, H, W)`` (a memory-mapped view) and a name per sequence.

    A file that is not the standard one is an error naming ``path``.
    """
    try:
        data = load_standard_file(path)
    except ValueError as error:
        raise InputError(str(error), field="path") from error
    return data, [f"{path.name}[{i}]" for i in range(data.shape[0])]


class MovingMNISTDataModule(FrameForecastDataModule):
    """Moving MNIST forecasting splits: sequences generated on demand, or the standard file.

    Batches are ``(inputs, targets)``: ``(B, T_in, 1, H, W)`` and ``(B, T_out, 1, H, W)``, float32 in
    [0, 1] (see :mod:`cnnlstm.data.forecast_base`).

    - Without ``path``: sequences generated on demand
      (:class:`~cnnlstm.data.moving_mnist.MovingMNIST`): ``num_train`` from the train digit pool
      with ``seed``, ``num_val`` from the train pool with another seed, ``num_test`` from the
      disjoint test pool with a fixed seed (the same test set for every run).
    - With ``path``: the standard ``mnist_test_seq.npy`` (uint8 ``(20, N, 64, 64)``, time first);
      whole sequences are split into train and val by ``val_fraction`` and ``seed``, and the
      held-out (val) sequences are the test data. :attr:`split_indices` records the split.
      ``val_fraction`` applies only here; the generator's arguments only without ``path``.

    Args:
        path: the standard ``mnist_test_seq.npy``; None generates the data.
        input_frames, target_frames: ``T_in`` and ``T_out``.
        stride: frames between window starts within a sequence (default ``T_in + T_out``).
        sequence_length: frames per generated sequence (default ``T_in + T_out``).
        num_train, num_val, num_test: generated sequences per split.
        image_size, num_digits: generated frame size (``H = W``, > 28) and digits per sequence.
        val_fraction: share of the standard file's sequences held out, in [0, 1); 0 holds none
            out (no validation and no test data).
        predict_path: inputs to forecast from (see :mod:`cnnlstm.data.forecast_base`).
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`; ``seed``
            also seeds generation and the train/val split.

    Example:
        >>> dm = MovingMNISTDataModule(num_train=64, num_val=16, num_test=16, batch_size=8)
        >>> dm.setup("fit")
        >>> [tuple(t.shape) for t in next(iter(dm.train_dataloader()))]
        [(8, 10, 1, 64, 64), (8, 10, 1, 64, 64)]
    """

    def __init__(
        self,
        *,
        path: str | Path | None = None,
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
        predict_path: str | Path | None = None,
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
        self.sequence_length = check_sequence_length(sequence_length, self.window)
        self.sizes = {
            split: check_positive_int(f"num_{split}", n)
            for split, n in (("train", num_train), ("val", num_val), ("test", num_test))
        }
        self.image_size = check_positive_int("image_size", image_size)
        self.num_digits = check_positive_int("num_digits", num_digits)
        self.path = None if path is None else Path(path)
        self._data = None if self.path is None else read_standard_file(self.path)
        if self.generated and self.image_size <= DIGIT_SIZE:
            raise InputError(
                f"image_size must be larger than the {DIGIT_SIZE}-pixel digits; "
                f"received image_size={image_size!r}",
                field="image_size",
            )

    @property
    def generated(self) -> bool:
        """True when the sequences are generated (no ``path``)."""
        return self.path is None

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        return (1, self.image_size, self.image_size) if self.generated else super().frame_shape

    def _load(self) -> tuple[Any, list[str]]:
        if self._data is None:
            raise NotImplementedError("generated Moving MNIST is made per split, not read from a file")
        return self._data

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
        source = (
            f"MovingMNIST(seed={seed}, digits={pool}, sequences={self.sizes[split]}, "
            f"length={self.sequence_length}, num_digits={self.num_digits}, image_size={self.image_size})"
        )
        return self._windows(sequences, source=source)

    def _setup_fit(self, stage: str | None) -> None:
        if self.generated:
            self._setup_generated_fit(stage)
        else:
            super()._setup_fit(stage)

    def _test_dataset(self) -> Dataset:
        return self._generated("test") if self.generated else self._held_out()
