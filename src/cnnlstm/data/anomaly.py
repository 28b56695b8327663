"""Series for anomaly detection: a mostly normal training part, windows, and whole series to score.

:class:`AnomalyDataModule` reads series (:mod:`cnnlstm.data.anomaly_files`), takes a training part
from each — a prefix (``train_fraction``), or separate files (``train_path``) — and, where labels
are known and ``drop_labelled_from_train`` is on, drops the training windows that hold a labelled
anomaly (counted in :meth:`~AnomalyDataModule.describe`). The last ``val_fraction`` of each
training part validates (early stopping, threshold calibration). Each channel is normalised with
the mean and standard deviation of the training parts (a channel constant there is refused).

Splits:

* ``train`` / ``val`` — windows ``(window, C)`` every ``stride`` steps, float32, normalised;
* ``test`` / ``predict`` — whole series, one item each (:class:`SeriesItem`): the model scores
  every time step; metrics read the part after ``test_start`` (the steps never trained on).

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "s.npy", np.sin(np.arange(400) / 5.0))
    >>> dm = AnomalyDataModule(path=folder / "s.npy", window=32, batch_size=4)
    >>> dm.setup("fit")
    >>> dm.input_shape, len(dm.train_dataset) > 0, dm.train_dataset[0].shape
    ([32, 1], True, torch.Size([32, 1]))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from cnnlstm._validation import (
    InputError,
    check_bool,
    check_fraction,
    check_positive_int,
)
from cnnlstm.data.anomaly_files import Series, read_series
from cnnlstm.data.base import BaseDataModule

__all__ = ["AnomalyDataModule", "SeriesItem", "WindowDataset", "fit_normaliser"]


def fit_normaliser(
    parts: list[np.ndarray], channels: list[str], sources: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over the training ``parts`` ``(T_i, C)``; a channel
    with one value only is refused (its z-scores would be undefined)."""
    stacked = np.concatenate(parts, axis=0)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    constant = np.flatnonzero(std <= 1e-12 * np.maximum(1.0, np.abs(mean)))
    if constant.size:
        c = int(constant[0])
        raise InputError(
            f"channel {channels[c]!r} is constant ({mean[c]:g}) over the training part of {', '.join(sources)}; "
            "it carries nothing to learn: drop it with value_columns",
            field="value_columns",
        )
    return mean, std


def _resolved(source: str) -> str:
    """A file's absolute path, so two spellings of one file key alike; a bundled name as is."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


class WindowDataset(Dataset):
    """Windows ``(window, C)`` float32 starting at the given ``(series, start)`` pairs."""

    def __init__(self, series: list[np.ndarray], starts: list[tuple[int, int]], window: int) -> None:
        self.series = [torch.as_tensor(s, dtype=torch.float32) for s in series]
        self.starts = starts
        self.window = window

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> torch.Tensor:
        s, start = self.starts[index]
        return self.series[s][start : start + self.window]


@dataclass
class SeriesItem:
    """One whole series to score: ``values (T, C)`` normalised, ``labels (T,)`` (-1: unknown),
    ``test_start`` (metrics read the steps from there on), its index and name."""

    values: torch.Tensor
    labels: torch.Tensor
    test_start: int
    index: int
    name: str


class _SeriesDataset(Dataset):
    def __init__(self, items: list[SeriesItem]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> SeriesItem:
        return self.items[index]


def _one(batch: list[SeriesItem]) -> SeriesItem:
    (item,) = batch
    return item


class AnomalyDataModule(BaseDataModule):
    """Series with a mostly normal training part, for anomaly detectors (see the module).

    Args:
        path: a ``.csv`` / ``.parquet`` / ``.npy`` file, a folder of them (each its own series),
            a list, or a bundled name (``"yahoo"``, ``"mitdb"``).
        time_column, value_columns, label_column: which columns are which
            (:func:`~cnnlstm.data.anomaly_files.read_series`; ``None`` finds them by name).
        train_path: separate, normal series to train on; then every step of ``path`` is scored
            and evaluated, and ``train_fraction`` is not used.
        train_fraction: the prefix of each series trained on, in ``(0, 1)``.
        val_fraction: the last part of each training part kept for validation, in ``[0, 1)``.
        drop_labelled_from_train: drop training windows that hold a labelled anomaly.
        window: steps per training window (the model's context plus, for forecasters, the
            steps it predicts).
        stride: steps between training windows.
        predict_path: series to score in ``predict`` (default: ``path``).
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        *,
        path: Any = "yahoo",
        time_column: str | None = None,
        value_columns: list[str] | None = None,
        label_column: str | None = None,
        train_path: Any = None,
        train_fraction: float = 0.3,
        val_fraction: float = 0.2,
        drop_labelled_from_train: bool = True,
        window: int = 64,
        stride: int = 1,
        predict_path: Any = None,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        self.path = path
        self.columns = dict(time_column=time_column, value_columns=value_columns, label_column=label_column)
        self.train_path = train_path
        self.train_fraction = check_fraction("train_fraction", train_fraction)
        if self.train_fraction <= 0 and train_path is None:
            raise InputError(
                "train_fraction must be in (0, 1) without train_path; received train_fraction=0",
                field="train_fraction",
            )
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self.drop_labelled_from_train = check_bool("drop_labelled_from_train", drop_labelled_from_train)
        self.window = check_positive_int("window", window)
        if self.window < 2:
            raise InputError("window must be at least 2; received window=1", field="window")
        self.stride = check_positive_int("stride", stride)
        self.predict_path = predict_path
        self._prepared = False
        self.counts: dict[str, int] = {}

    # -- reading and fitting the normaliser, once ----------------------------------------------------
    def _read(self, path: Any, field: str) -> list[Series]:
        return read_series(path, field=field, **self.columns)  # type: ignore[arg-type]

    def _prepare(self) -> None:
        if self._prepared:
            return
        self.series = self._read(self.path, "path")
        if self.train_path is not None:
            self.train_series = self._read(self.train_path, "train_path")
            if self.train_series[0].channels != self.series[0].channels:
                raise InputError(
                    f"train_path has channels {self.train_series[0].channels} but path has {self.series[0].channels}",
                    field="train_path",
                )
            self.test_starts = [0] * len(self.series)
            train = [(s.values, s.labels, s.source) for s in self.train_series]
        else:
            self.test_starts = [int(len(s) * self.train_fraction) for s in self.series]
            train = [
                (s.values[:n], None if s.labels is None else s.labels[:n], s.source)
                for s, n in zip(self.series, self.test_starts, strict=True)
            ]
        for values, _, source in train:
            if len(values) < 2 * self.window:
                raise InputError(
                    f"{source}: the training part has {len(values)} steps, fewer than 2 windows of {self.window}; "
                    "use a smaller window, a larger train_fraction or a longer series",
                    field="window",
                )
        for s in self.series:
            if len(s) <= self.window:
                raise InputError(
                    f"{s.source}: {len(s)} steps, not more than one window of {self.window}; use a smaller window",
                    field="window",
                )
        self.mean, self.std = fit_normaliser(
            [v for v, _, _ in train], self.series[0].channels, [t[2] for t in train]
        )
        self._windows(train)
        self._prepared = True

    def normalise(self, values: np.ndarray) -> np.ndarray:
        """``(T, C)`` raw values → z-scores with the training statistics, float32."""
        return ((values - self.mean) / self.std).astype(np.float32)

    def _windows(self, train: list[tuple[np.ndarray, np.ndarray | None, str]]) -> None:
        """Training and validation window starts per training part; windows with labels dropped."""
        parts = [self.normalise(v) for v, _, _ in train]
        self._train_starts: list[tuple[int, int]] = []
        self._val_starts: list[tuple[int, int]] = []
        dropped = 0
        self._val_from: list[int] = []
        for i, (values, labels, _) in enumerate(train):
            n = len(values)
            val_from = n - int(n * self.val_fraction) if self.val_fraction > 0 else n
            if self.val_fraction > 0 and n - val_from < self.window:
                val_from = n - self.window  # at least one validation window
            self._val_from.append(val_from if val_from < n else 0)
            labelled = None
            if labels is not None and self.drop_labelled_from_train:
                labelled = np.concatenate([[0], np.cumsum(labels.astype(np.int64))])
            for start in range(0, n - self.window + 1, self.stride):
                end = start + self.window
                if labelled is not None and labelled[end] - labelled[start] > 0:
                    dropped += 1
                    continue
                if end <= val_from:
                    self._train_starts.append((i, start))
                elif start >= val_from:
                    self._val_starts.append((i, start))
        if not self._train_starts:
            raise InputError(
                "no training window is left (all hold labelled anomalies or the training part is too short); "
                "use a larger train_fraction or a train_path",
                field="train_fraction",
            )
        self._train_parts = parts
        self._train_names = [Path(source).stem for _, _, source in train]
        self._train_sources = [_resolved(source) for _, _, source in train]
        self.counts = {
            "train_windows": len(self._train_starts),
            "val_windows": len(self._val_starts),
            "train_windows_dropped_labelled": dropped,
        }

    # -- the DataModule interface ----------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return 0  # detectors have no classes

    @property
    def class_names(self) -> list[str]:
        return []

    @property
    def input_shape(self) -> list[int]:
        self._prepare()
        return [self.window, len(self.series[0].channels)]

    @property
    def channels(self) -> list[str]:
        self._prepare()
        return list(self.series[0].channels)

    def _items(self, series: list[Series], starts: list[int]) -> list[SeriesItem]:
        items = []
        for i, (s, start) in enumerate(zip(series, starts, strict=True)):
            labels = (
                torch.full((len(s),), -1, dtype=torch.int64)
                if s.labels is None
                else torch.as_tensor(s.labels.astype(np.int64))
            )
            items.append(SeriesItem(torch.as_tensor(self.normalise(s.values)), labels, start, i, s.name))
        return items

    def make_dataset(self, split: str) -> Dataset:
        self._prepare()
        if split in ("train", "val"):
            starts = self._train_starts if split == "train" else self._val_starts
            return WindowDataset(self._train_parts, starts, self.window)
        return _SeriesDataset(self._items(self.series, self.test_starts))

    def make_predict_dataset(self) -> Dataset | None:
        if self.predict_path is None:
            return None
        self._prepare()
        self.predict_series = self._read(self.predict_path, "predict_path")
        return _SeriesDataset(self._items(self.predict_series, [0] * len(self.predict_series)))

    def calibration_dataset(self) -> Dataset:
        """The training parts as whole series, ``test_start`` at their validation tail: a detector
        scores each whole part (context) and calibrates its threshold on the steps from there on,
        which it was not trained on (on the whole part when ``val_fraction=0``)."""
        self._prepare()
        items = []
        for i, (part, start) in enumerate(zip(self._train_parts, self._val_from, strict=True)):
            labels = torch.full((len(part),), -1, dtype=torch.int64)
            items.append(SeriesItem(torch.as_tensor(part), labels, start, i, self._train_names[i]))
        return _SeriesDataset(items)

    def sample_keys(self, split: str) -> list[str] | None:
        """``<resolved file>@<start>`` per window (see :meth:`BaseDataModule.sample_keys`).

        ``train`` and ``val``: the windows the detector fits and validates on. ``test``: every
        window of ``window`` steps that starts in the evaluated part of a series (from its
        ``test_start``; stride 1), so a test whose steps the detector was trained on (the training
        file given as ``path`` again, say) shares keys with the fit and is refused or marked.
        ``predict``: None (nothing is scored against labels).
        """
        self._prepare()
        if split in ("train", "val"):
            starts = self._train_starts if split == "train" else self._val_starts
            return [f"{self._train_sources[i]}@{start}" for i, start in starts]
        if split != "test":
            return None
        keys: list[str] = []
        for series, test_start in zip(self.series, self.test_starts, strict=True):
            source = _resolved(series.source)
            last = max(test_start, len(series) - self.window)
            keys.extend(f"{source}@{start}" for start in range(test_start, last + 1))
        return keys

    def series_for(self, split: str) -> list[Series]:
        """The raw series behind the ``test`` or ``predict`` items (timestamps, values for plots)."""
        if split == "predict" and self.predict_path is not None:
            return self.predict_series
        return self.series

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        if split in ("train", "val"):
            return super()._loader(split, shuffle=shuffle)
        dataset = getattr(self, f"{split}_dataset")
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__} has no {split} data; was setup() called?")
        return DataLoader(dataset, batch_size=1, collate_fn=_one)  # one whole series per batch

    def describe(self) -> dict[str, Any]:
        self._prepare()
        labelled = [s for s in self.series if s.labels is not None]
        return {
            **super().describe(),
            "path": str(self.path),
            "series": [s.source for s in self.series],
            "steps": [len(s) for s in self.series],
            "channels": self.channels,
            "test_start": self.test_starts,
            "labelled_anomalous_steps": int(
                sum(int(s.labels.sum()) for s in labelled if s.labels is not None)
            ),
            "window": self.window,
            "stride": self.stride,
            **self.counts,
        }

    def preprocessing(self) -> dict[str, Any]:
        self._prepare()
        return {
            "kind": "anomaly_series",
            "channels": self.channels,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "window": self.window,
        }
