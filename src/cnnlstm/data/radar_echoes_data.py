"""Nowcasting data: generated radar echoes (:mod:`cnnlstm.data.radar_echoes`) as forecasting windows.

Users' own radar sequences need no new module: arrays go to
:class:`~cnnlstm.data.frame_sequences.FrameSequenceDataModule` (``(N, T, H, W)`` uint8 pixels),
and the HKO-7 layout (one folder of PNG frames per event, 8-bit pixels) is a folder of image
folders, which it reads as well; the pixels mean what :func:`~cnnlstm.data.radar_echoes.pixel_to_dbz`
says.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset

from cnnlstm._validation import check_positive_int
from cnnlstm.data.forecast_base import FrameForecastDataModule
from cnnlstm.data.frame_datasets import FrameSequenceDataset
from cnnlstm.data.moving_mnist_data import check_sequence_length
from cnnlstm.data.radar_echoes import RadarEchoes

__all__ = ["RADAR_TEST_SEED", "RadarEchoDataModule"]

_VAL_SEED_OFFSET = 1_000_003
RADAR_TEST_SEED = 2017  # the test sequences: the same for every run


class RadarEchoDataModule(FrameForecastDataModule):
    """Generated radar-echo sequences split into ``(inputs, targets)`` windows.

    Batches are ``(B, T_in, 1, H, W)`` and ``(B, T_out, 1, H, W)``, float32 in [0, 1] (HKO-7 pixels
    / 255). Train and validation use ``seed`` (validation with an offset), test a fixed seed.

    Args:
        input_frames, target_frames: ``T_in`` and ``T_out`` (the paper: 5 and 15).
        sequence_length: frames per generated sequence (default ``T_in + T_out``).
        num_train, num_val, num_test: sequences per split.
        image_size: ``H = W``.
        max_cells: most rain cells per sequence.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`.

    Example:
        >>> dm = RadarEchoDataModule(num_train=8, num_val=4, num_test=4, image_size=32, batch_size=4)
        >>> dm.setup("fit")
        >>> [tuple(t.shape) for t in next(iter(dm.train_dataloader()))]
        [(4, 5, 1, 32, 32), (4, 10, 1, 32, 32)]
    """

    def __init__(
        self,
        *,
        input_frames: int = 5,
        target_frames: int = 10,
        stride: int | None = None,
        sequence_length: int | None = None,
        num_train: int = 2000,
        num_val: int = 200,
        num_test: int = 500,
        image_size: int = 64,
        max_cells: int = 6,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(
            input_frames=input_frames,
            target_frames=target_frames,
            stride=stride,
            val_fraction=0.0,
            predict_path=None,
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
        self.max_cells = check_positive_int("max_cells", max_cells)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return (1, self.image_size, self.image_size)

    def _load(self) -> tuple[Any, list[str]]:
        raise NotImplementedError("radar echoes are generated per split, not read from a file")

    def _generated(self, split: str) -> FrameSequenceDataset:
        seed = {"train": self.seed, "val": self.seed + _VAL_SEED_OFFSET, "test": RADAR_TEST_SEED}[split]
        echoes = RadarEchoes(
            self.sizes[split],
            seq_len=self.sequence_length,
            image_size=self.image_size,
            max_cells=self.max_cells,
            seed=seed,
        )
        source = (
            f"RadarEchoes(seed={seed}, sequences={self.sizes[split]}, length={self.sequence_length}, "
            f"image_size={self.image_size}, max_cells={self.max_cells})"
        )
        return self._windows(echoes, source=source)

    def _setup_fit(self, stage: str | None) -> None:
        self._setup_generated_fit(stage)

    def _test_dataset(self) -> Dataset:
        return self._generated("test")
