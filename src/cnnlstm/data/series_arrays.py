"""Series already in memory, as a DataModule: what :mod:`cnnlstm.sklearn`'s estimators train on.

:class:`SeriesArrayDataModule` takes padded series ``x (N, T, C)``, integer labels ``(N,)`` and
the true lengths ``(N,)``, and serves the same samples as
:class:`~cnnlstm.data.timeseries.UCRDataModule` — ``(x (T, C) float32, y int64, length int64)``
— with the same per-channel normalisation (training statistics, real steps only, padding kept at
zero) and the same stratified validation split, so the same task and models train on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from cnnlstm._validation import InputError, check_fraction
from cnnlstm.data.base import BaseDataModule
from cnnlstm.data.padded_batches import collate_trimmed
from cnnlstm.data.series_normalization import (
    channel_stats,
    check_normalization,
    resolve_normalization,
    standardize,
)
from cnnlstm.data.timeseries import SequenceDataset, stratified_split

__all__ = ["SeriesArrayDataModule"]


class SeriesArrayDataModule(BaseDataModule):
    """Padded series in memory: samples ``(x (T, C), y, length)``; test = predict = the training data.

    Args:
        x: float ``(N, T, C)``, zero-padded at the end of each series shorter than ``T``.
        y: int ``(N,)`` class indices in ``0..len(class_names) - 1``.
        lengths: int ``(N,)`` real steps per series; ``None`` means all ``T``.
        class_names: the name of each class index.
        val_fraction: fraction of every class held out for validation (``0``: none).
        normalize: ``True`` or ``"channel"``: standardise each channel with the training part's
            mean and std; ``"series"``: z-normalise each series and channel over its own real
            steps; ``False`` or ``"none"``: as given (see
            :class:`~cnnlstm.data.timeseries.UCRDataModule`).
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(6, 10, 2))
        >>> dm = SeriesArrayDataModule(x=x, y=np.array([0, 1] * 3), class_names=["a", "b"], batch_size=4)
        >>> dm.input_shape, dm.num_classes
        ([10, 2], 2)
        >>> dm.setup("fit")
        >>> xb, yb, lb = next(iter(dm.train_dataloader()))
        >>> tuple(xb.shape), lb.tolist()
        ((4, 10, 2), [10, 10, 10, 10])
    """

    def __init__(
        self,
        *,
        x: np.ndarray,
        y: np.ndarray,
        class_names: Sequence[str],
        lengths: np.ndarray | None = None,
        val_fraction: float = 0.0,
        normalize: bool | str = True,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 3 or 0 in x.shape:
            raise InputError(f"x must be a non-empty (N, T, C) array; received shape {x.shape}", field="x")
        y = np.asarray(y, dtype=np.int64)
        lengths = (
            np.full(len(x), x.shape[1], dtype=np.int64) if lengths is None else np.asarray(lengths, np.int64)
        )
        if not len(x) == len(y) == len(lengths):
            raise InputError(
                f"x, y and lengths differ in length: {len(x)}, {len(y)}, {len(lengths)}", field="y"
            )
        if len(class_names) < 1 or y.min() < 0 or y.max() >= len(class_names):
            raise InputError(
                f"y must hold class indices 0..{len(class_names) - 1} (one per class name); "
                f"received values {int(y.min())}..{int(y.max())}",
                field="y",
            )
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self.normalization = resolve_normalization(check_normalization(normalize), x.shape[2])
        self.normalize = normalize
        self._class_names = [str(c) for c in class_names]
        keep, val = stratified_split(y, self.val_fraction, self.seed)
        if self.normalization == "channel":
            mean, std = channel_stats(x[keep], lengths[keep])
        else:
            mean, std = np.zeros(x.shape[2]), np.ones(x.shape[2])
        self.mean, self.std = mean, std
        self._x, self._y, self._lengths = x, y, lengths
        self._splits = {"train": keep, "val": val, "test": np.arange(len(x))}

    def transform(self, x: np.ndarray, lengths: np.ndarray | None = None) -> torch.Tensor:
        """``x (N, T, C)`` normalised as ``normalize`` says (the training statistics, or each
        series' own), float32; padding stays zero."""
        x = np.asarray(x, dtype=np.float64)
        lengths = np.full(len(x), x.shape[1]) if lengths is None else np.asarray(lengths)
        return torch.from_numpy(standardize(x, lengths, self.normalization, self.mean, self.std))

    def make_dataset(self, split: str) -> SequenceDataset:
        index = self._splits[split]
        x = self.transform(self._x[index], self._lengths[index])
        return SequenceDataset(x, torch.from_numpy(self._y[index]), torch.from_numpy(self._lengths[index]))

    def batch_collate(self) -> Callable[[list[Any]], Any] | None:
        """Series of unequal lengths: every batch cut to its longest series; equal: the default."""
        return collate_trimmed if bool((self._lengths != self._x.shape[1]).any()) else None

    @property
    def num_classes(self) -> int:
        return len(self._class_names)

    @property
    def class_names(self) -> list[str]:
        return list(self._class_names)

    @property
    def input_shape(self) -> list[int]:
        """``[T, C]``: the padded length and the channel count."""
        return [int(self._x.shape[1]), int(self._x.shape[2])]

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "series": int(len(self._x)),
            "channels": int(self._x.shape[2]),
            "padded_length": int(self._x.shape[1]),
            "classes": self.class_names,
            "val_fraction": self.val_fraction,
            "normalize": self.normalize,
            "normalization": self.normalization,
        }

    def preprocessing(self) -> dict[str, Any]:
        return {
            "kind": "series_arrays",
            "channels": int(self._x.shape[2]),
            "length": int(self._x.shape[1]),
            "normalize": self.normalize,
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "class_names": self.class_names,
        }
