"""Action recognition from users' sensor streams (accelerometers, IMUs, EMG...): sliding windows.

Input files, one recording each (rows = time steps, in file order):

* ``.csv`` — one column per channel, a label column (``label_column``), optionally a subject
  column (``subject_column``) and a time column (``time_column``, or any column named ``time``,
  ``timestamp``, ``datetime``, ``date`` or ``t``: never used as a feature);
* ``.npz`` — arrays ``x`` ``(T, C)`` (numbers), ``y`` ``(T,)`` (labels) and optionally
  ``subject`` ``(T,)``; its channels are every column of ``x``.

Reading and checking the files is :mod:`cnnlstm.data.sensor_files` (its names are importable
from here too); windowing and splitting are this module's.

``path`` is one file, a list of files, or a directory (its ``*.csv`` and ``*.npz`` files, sorted).
Windows of ``window`` rows start every ``step`` rows and never cross a file boundary or a change
of subject; a segment's tail shorter than ``window`` gives no window. Every sample is
``(x (window, C) float32, y int64, length int64 == window)``, the same tuple as
:class:`~cnnlstm.data.timeseries.UCRDataModule`, so the same models and task apply.

Splits never mix overlapping windows: with a subject column the split is by subject; without one,
each file is cut into contiguous time blocks (train first, then validation, test last).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from cnnlstm._validation import InputError, check_bool, check_choice, check_fraction, check_positive_int
from cnnlstm.data.base import BaseDataModule, check_fitted
from cnnlstm.data.sensor_files import FILE_SUFFIXES, SensorColumns, SensorStream, list_files
from cnnlstm.data.series_normalization import channel_stats
from cnnlstm.data.timeseries import sorted_labels

__all__ = [
    "FILE_SUFFIXES",
    "SensorColumns",
    "SensorStream",
    "SensorStreamDataModule",
    "SensorWindowDataset",
    "Window",
    "list_files",
]

SPLITS = ("train", "val", "test")
_Block = tuple[int, int, int, "str | None"]  # (stream, begin row, end row, subject)


@dataclass(frozen=True)
class Window:
    """Where one window comes from: rows ``start .. start + window - 1`` of ``source``."""

    source: str
    subject: str | None
    start: int


class SensorWindowDataset(Dataset):
    """Windows cut on the fly from normalised streams: ``(x (window, C), y, length)``.

    Args:
        streams: one float32 ``(T_i, C)`` tensor per file.
        index: ``(N, 2)`` int64 rows ``(stream, start)``.
        labels: ``(N,)`` int64 class indices (``-1`` for unlabelled windows).
        window: rows per window.
        windows: optional :class:`Window` per sample, for tracing predictions back to the files.
    """

    def __init__(
        self,
        streams: Sequence[Tensor],
        index: Tensor,
        labels: Tensor,
        window: int,
        windows: Sequence[Window] | None = None,
    ) -> None:
        self.streams = list(streams)
        self.index = index.long().reshape(-1, 2)
        self.labels = labels.long()
        self.window = int(window)
        self.windows = list(windows) if windows is not None else None
        self._length = torch.tensor(self.window, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.index)

    def sample_keys(self) -> list[str] | None:
        """``<file>@<first row>`` per window (None without :class:`Window` records)."""
        if self.windows is None:
            return None
        return [f"{_resolved(w.source)}@{w.start}" for w in self.windows]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        stream, start = self.index[i].tolist()
        x = self.streams[stream][start : start + self.window]  # (window, C)
        return x, self.labels[i], self._length


def _resolved(source: str) -> str:
    path = Path(source)
    return str(path.resolve()) if path.exists() else source


def _check_fractions(val_fraction: Any, test_fraction: Any) -> tuple[float, float]:
    val, test = check_fraction("val_fraction", val_fraction), check_fraction("test_fraction", test_fraction)
    if val + test >= 1:
        raise InputError(
            f"val_fraction + test_fraction must be below 1 to leave training data; received "
            f"val_fraction={val_fraction!r}, test_fraction={test_fraction!r}",
            field="test_fraction",
        )
    return val, test


_FITTED_KEYS = ("channels", "class_names", "window")


def _check_fitted(fitted: Any, window: Any) -> dict[str, Any]:
    """A trained model's sensor preprocessing: the keys present, one mean and std per channel."""
    if isinstance(fitted, dict) and "kind" not in fitted:  # checkpoints written before kinds
        fitted = {**fitted, "kind": "sensor_windows"}
    fitted = check_fitted(
        fitted,
        kind="sensor_windows",
        keys=_FITTED_KEYS,
        channels=lambda f: len(f["channels"]),
        what="a sensor model",
    )
    if int(fitted["window"]) != window:
        raise InputError(
            f"window={window} differs from the trained model's window of {fitted['window']} rows; "
            "drop --data.window or give the trained value",
            field="window",
        )
    return dict(fitted)


def _check_class_names(class_names: Any) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, str) or len(set(map(str, class_names))) < 2:
        raise InputError(
            f"class_names must list at least 2 distinct labels; received class_names={class_names!r}",
            field="class_names",
        )
    return [str(c) for c in class_names]


class SensorStreamDataModule(BaseDataModule):
    """Sliding windows over sensor recordings, split by subject or by contiguous time blocks.

    Labels are mapped to ``0..K-1`` in sorted order (numeric order when all are numbers), or in
    the order of ``class_names`` when given (a checkpoint's, for prediction). With ``normalize``,
    each channel is standardised with the mean and std of the training rows only.

    Splits: when the files have a subject column, ``val_subjects`` / ``test_subjects`` name the
    held-out subjects; a split not named draws ``round(S * fraction)`` (at least one) of the other
    subjects, fixed by ``seed``; the rest train. Without a subject column, each file is cut into
    contiguous blocks: the first ``1 - val_fraction - test_fraction`` of its rows train, the next
    ``val_fraction`` validate and the last ``test_fraction`` test. Random windows are never drawn:
    overlapping windows would leak between splits. (Blocks inherit the recording's order: if the
    activities come one after another, a subject column gives fairer splits.)

    Data loads on first use (``input_shape``, ``num_classes`` or :meth:`setup`) and is cached.

    Args:
        path: a ``.csv`` or ``.npz`` file, a list of them, or a directory of them (see module doc).
        label_column: the CSV column holding each row's label.
        channels: CSV columns to use as channels, in order; ``None`` takes every numeric column of
            the first CSV except the label, subject and time columns (a column without any number
            is skipped with a warning; one with numbers and some text is an error). ``.npz`` files
            use every column of ``x``. Every value must be finite and at most
            :data:`~cnnlstm.data.sensor_files.MAX_ABS` in magnitude (errors name file, column, line).
        subject_column: the CSV column naming each row's subject; used when present.
        time_column: a CSV column of timestamps, never a channel by default, nor is any column
            named like time (:data:`~cnnlstm.data.sensor_files.TIME_NAMES`, any case); rows are
            used in file order. Without one, a column increasing in every row gets a warning.
        window: rows per window.
        step: rows between window starts.
        label_mode: ``"last"`` (the label of the window's last row) or ``"majority"`` (the most
            frequent label in the window; ties go to the lower class index).
        val_subjects, test_subjects: subjects held out for validation / test.
        val_fraction, test_fraction: fractions of subjects (or of each file's rows) held out
            when not named; ``0`` leaves that split empty.
        normalize: standardise channels with training statistics.
        class_names: fixed label order; a label not in it is an error.
        predict_path: files to predict on (labels optional: unlabelled windows get ``y = -1``);
            ``None`` predicts on the test split. :attr:`SensorWindowDataset.windows` says where
            each window comes from.
        fitted: the :meth:`preprocessing` of a trained model (``cnnlstm predict`` passes the
            checkpoint's): with ``predict_path``, its channels, statistics and classes are used
            and the training files are not read (they need not exist any more); every split
            other than prediction is then empty.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`; ``seed``
            also fixes the subjects drawn for validation and test.

    Example:
        >>> import pandas as pd, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> rows = 300
        >>> frame = pd.DataFrame({"ax": [i % 7 for i in range(rows)], "ay": 1.0, "subject": [1] * 100 + [2] * 100 + [3] * 100,
        ...                       "label": ["walk"] * 150 + ["run"] * 150})
        >>> frame.to_csv(os.path.join(folder, "rec.csv"), index=False)
        >>> dm = SensorStreamDataModule(path=folder, window=40, step=20, batch_size=4)
        >>> dm.input_shape, dm.class_names, dm.split_subjects
        ([40, 2], ['run', 'walk'], {'train': ['2'], 'val': ['1'], 'test': ['3']})
        >>> dm.setup("fit")
        >>> x, y, length = next(iter(dm.train_dataloader()))
        >>> tuple(x.shape), length.tolist()
        ((4, 40, 2), [40, 40, 40, 40])
    """

    def __init__(
        self,
        *,
        path: str | Path | list[str | Path],
        label_column: str = "label",
        channels: list[str] | None = None,
        subject_column: str = "subject",
        time_column: str = "time",
        window: int = 128,
        step: int = 64,
        label_mode: str = "last",
        val_subjects: list[Any] | None = None,
        test_subjects: list[Any] | None = None,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        normalize: bool = True,
        class_names: list[str] | None = None,
        predict_path: str | Path | list[str | Path] | None = None,
        fitted: dict[str, Any] | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        # Lightning merges data and task hyper-parameters; the task keeps the resolved class names,
        # which would clash with a None here (and the fitted statistics are the checkpoint's own).
        self.save_hyperparameters(ignore=["class_names", "fitted"])
        self.predict_files = list_files(predict_path, "predict_path") if predict_path is not None else None
        self.fitted = (
            _check_fitted(fitted, window) if fitted is not None and predict_path is not None else None
        )
        self.files = [] if self.fitted is not None else list_files(path, "path")
        self.columns = SensorColumns(label_column, subject_column, time_column)
        self.label_column, self.subject_column, self.time_column = label_column, subject_column, time_column
        self.channels_arg = self.columns.check_channels(channels)
        self.window = check_positive_int("window", window)
        self.step = check_positive_int("step", step)
        self.label_mode = check_choice("label_mode", label_mode, ("last", "majority"))
        self.val_subjects = [str(s) for s in val_subjects] if val_subjects is not None else None
        self.test_subjects = [str(s) for s in test_subjects] if test_subjects is not None else None
        self.val_fraction, self.test_fraction = _check_fractions(val_fraction, test_fraction)
        self.normalize = check_bool("normalize", normalize)
        self._class_names_arg = _check_class_names(class_names)
        self._classes: list[str] = []
        self._data: dict[str, Any] | None = None

    def _read(
        self, files: list[Path], *, field: str, channels: list[str] | None
    ) -> tuple[list[SensorStream], list[str]]:
        """Read ``files`` (``field`` is "path" or "predict_path"; only training files need labels)."""
        return self.columns.read(files, field=field, channels=channels, training_files=self.files)

    # -- splitting -----------------------------------------------------------------------------------
    @staticmethod
    def _segments(stream: SensorStream) -> list[tuple[int, int, str | None]]:
        """Runs of rows ``[begin, end)`` with one subject (the whole file without subjects)."""
        if stream.subjects is None:
            return [(0, len(stream.x), None)]
        change = np.flatnonzero(stream.subjects[1:] != stream.subjects[:-1]) + 1
        bounds = [0, *change.tolist(), len(stream.x)]
        runs = zip(bounds[:-1], bounds[1:], strict=True)
        return [(b, e, str(stream.subjects[b])) for b, e in runs if e > b]

    def _check_named_subjects(self, subjects: list[str]) -> None:
        named = {"val": self.val_subjects, "test": self.test_subjects}
        for split, chosen in named.items():
            unknown = [s for s in chosen or [] if s not in subjects]
            if unknown:
                raise InputError(
                    f"{split}_subjects {unknown} are not in the data; its subjects are {subjects}",
                    field=f"{split}_subjects",
                )
        shared = set(named["val"] or []) & set(named["test"] or [])
        if shared:
            raise InputError(f"val_subjects and test_subjects share {sorted(shared)}", field="test_subjects")

    def _assign_subjects(self, subjects: list[str]) -> dict[str, list[str]]:
        """Subjects per split: the named ones, then ``round(S * fraction)`` drawn with ``seed``."""
        self._check_named_subjects(subjects)
        named = {"val": self.val_subjects, "test": self.test_subjects}
        pool = [s for s in subjects if s not in (named["val"] or []) and s not in (named["test"] or [])]
        pool = [pool[i] for i in np.random.default_rng(self.seed).permutation(len(pool))]
        fractions = {"val": self.val_fraction, "test": self.test_fraction}
        chosen_splits: dict[str, list[str]] = {}
        for split in ("test", "val"):
            chosen = named[split]
            if chosen is not None:
                chosen_splits[split] = list(chosen)
            else:
                count = max(1, round(len(subjects) * fractions[split])) if fractions[split] > 0 else 0
                chosen_splits[split], pool = pool[:count], pool[count:]
        if not pool:
            raise ValueError(
                f"no subject is left for training: {len(subjects)} subjects {subjects}, "
                f"val={chosen_splits['val']}, test={chosen_splits['test']}; name fewer held-out subjects "
                "or lower val_fraction/test_fraction"
            )
        out = {"train": pool, "val": chosen_splits["val"], "test": chosen_splits["test"]}
        return {split: sorted_labels(names) if names else [] for split, names in out.items()}

    def _blocks(
        self, streams: list[SensorStream]
    ) -> tuple[dict[str, list[_Block]], dict[str, list[str]] | None]:
        """Row blocks ``(stream, begin, end, subject)`` of every split, and the subjects per split."""
        blocks: dict[str, list[_Block]] = {s: [] for s in SPLITS}
        if streams[0].subjects is not None:
            subjects = sorted_labels(np.concatenate([s.subjects for s in streams]))
            assignment = self._assign_subjects(subjects)
            split_of = {subj: split for split, names in assignment.items() for subj in names}
            for i, stream in enumerate(streams):
                for begin, end, subject in self._segments(stream):
                    blocks[split_of[str(subject)]].append((i, begin, end, subject))
            return blocks, assignment
        for i, stream in enumerate(streams):
            rows = len(stream.x)
            a = round(rows * (1 - self.val_fraction - self.test_fraction))
            b = round(rows * (1 - self.test_fraction))
            for split, (begin, end) in zip(SPLITS, ((0, a), (a, b), (b, rows)), strict=True):
                if end > begin:
                    blocks[split].append((i, begin, end, None))
        return blocks, None

    def _windows(
        self, streams: list[SensorStream], codes: list[np.ndarray], blocks: list[_Block]
    ) -> tuple[np.ndarray, np.ndarray, list[Window]]:
        """Window starts ``(N, 2)``, labels ``(N,)`` and :class:`Window` records for ``blocks``."""
        index, labels, where = [], [], []
        num_classes = len(self._classes)
        for i, begin, end, subject in blocks:
            for start in range(begin, end - self.window + 1, self.step):
                segment = codes[i][start : start + self.window]
                if segment[0] < 0:  # unlabelled stream
                    label = -1
                elif self.label_mode == "last":
                    label = int(segment[-1])
                else:
                    label = int(np.bincount(segment, minlength=num_classes).argmax())
                index.append((i, start))
                labels.append(label)
                where.append(Window(streams[i].source, subject, start))
        return np.asarray(index, dtype=np.int64).reshape(-1, 2), np.asarray(labels, dtype=np.int64), where

    def _codes(self, stream: SensorStream) -> np.ndarray:
        if stream.labels is None:
            return np.full(len(stream.x), -1, dtype=np.int64)
        lookup = {name: k for k, name in enumerate(self._classes)}
        unknown = sorted(set(stream.labels.tolist()) - set(lookup))
        if unknown:
            raise ValueError(
                f"{stream.source} has labels {unknown[:5]} that are not in class_names {self._classes}"
            )
        return np.asarray([lookup[v] for v in stream.labels.tolist()], dtype=np.int64)

    def _too_short(self, streams: list[SensorStream], blocks: list[_Block], what: str) -> str:
        i, begin, end, subject = max(blocks, key=lambda b: b[2] - b[1])
        who = f", subject {subject}" if subject is not None else ""
        return (
            f"window={self.window} is longer than every {what} (the longest: {end - begin} rows of "
            f"{streams[i].source}{who}); lower window"
        )

    # -- loading -------------------------------------------------------------------------------------
    def _check_segments(self, streams: list[SensorStream], every: list[_Block]) -> None:
        """An error when no segment holds a window; a warning naming the ones too short for one."""
        if all(end - begin < self.window for _, begin, end, _ in every):
            raise ValueError(self._too_short(streams, every, "segment"))
        short = [b for b in every if b[2] - b[1] < self.window]
        if short:
            i, begin, end, subject = short[0]
            warnings.warn(
                f"{len(short)} of {len(every)} segments are shorter than window={self.window} and give no "
                f"window (e.g. {streams[i].source}"
                + (f", subject {subject}" if subject is not None else "")
                + f": {end - begin} rows)",
                stacklevel=4,
            )

    def _check_split_windows(self, windows: dict[str, Any], assignment: dict[str, list[str]] | None) -> None:
        """Every split that should hold data (named subjects, or a fraction above 0) has a window."""
        fractions = {"train": 1.0, "val": self.val_fraction, "test": self.test_fraction}
        for split in SPLITS:
            named = {"val": self.val_subjects, "test": self.test_subjects}.get(split)
            wanted = bool(named) if named is not None and assignment else fractions[split] > 0
            if wanted and len(windows[split][0]) == 0:
                what = f"{split} subjects {assignment[split]}" if assignment else f"{split} block of any file"
                raise ValueError(
                    f"the {split} split has no window: window={self.window} is longer than every segment of "
                    f"the {what}; lower window, or change the split"
                )

    def _from_fitted(self, fitted: dict[str, Any]) -> dict[str, Any]:
        """The loaded state of a trained model's statistics: no training rows, empty splits."""
        self._classes = list(fitted["class_names"])
        empty: tuple[np.ndarray, np.ndarray, list[Window]] = (
            np.zeros((0, 2), np.int64),
            np.zeros(0, np.int64),
            [],
        )
        return dict(
            channels=list(fitted["channels"]),
            classes=list(self._classes),
            mean=np.asarray(fitted["mean"], dtype=np.float64),
            std=np.asarray(fitted["std"], dtype=np.float64),
            tensors=[],
            windows={split: empty for split in SPLITS},
            subjects=None,
            blocks=None,
            ignored={},
            with_subjects=False,
        )

    def _load(self) -> dict[str, Any]:
        if self._data is not None:
            return self._data
        if self.fitted is not None:
            self._data = self._from_fitted(self.fitted)
            return self._data
        streams, channels = self._read(self.files, field="path", channels=self.channels_arg)
        self._classes = self._class_names_arg or sorted_labels(np.concatenate([s.labels for s in streams]))
        codes = [self._codes(s) for s in streams]
        blocks, assignment = self._blocks(streams)
        self._check_segments(streams, [b for split in SPLITS for b in blocks[split]])
        windows = {split: self._windows(streams, codes, blocks[split]) for split in SPLITS}
        self._check_split_windows(windows, assignment)
        mean, std = np.zeros(len(channels)), np.ones(len(channels))
        if self.normalize:
            rows = np.concatenate([streams[i].x[begin:end] for i, begin, end, _ in blocks["train"]])
            mean, std = channel_stats(rows[None], names=channels)
        tensors = [torch.from_numpy(((s.x - mean) / std).astype(np.float32)) for s in streams]
        self._data = dict(
            channels=channels,
            classes=list(self._classes),
            mean=mean,
            std=std,
            tensors=tensors,
            windows=windows,
            subjects=assignment,
            blocks=None
            if assignment
            else {
                split: [dict(file=streams[i].source, rows=[begin, end]) for i, begin, end, _ in blocks[split]]
                for split in SPLITS
            },
            ignored=_ignored_columns(streams),
            with_subjects=streams[0].subjects is not None,
        )
        return self._data

    def make_dataset(self, split: str) -> SensorWindowDataset:
        data = self._load()
        index, labels, where = data["windows"][split]
        return SensorWindowDataset(
            data["tensors"], torch.from_numpy(index), torch.from_numpy(labels), self.window, where
        )

    def make_predict_dataset(self) -> SensorWindowDataset | None:
        if self.predict_files is None:
            return None  # predict on the test split
        data = self._load()
        streams, _ = self._read(self.predict_files, field="predict_path", channels=list(data["channels"]))
        codes = [self._codes(s) for s in streams]
        blocks = [(i, b, e, subj) for i, s in enumerate(streams) for b, e, subj in self._segments(s)]
        index, labels, where = self._windows(streams, codes, blocks)
        if len(index) == 0:
            raise ValueError(self._too_short(streams, blocks, "predict_path segment"))
        tensors = [torch.from_numpy(((s.x - data["mean"]) / data["std"]).astype(np.float32)) for s in streams]
        return SensorWindowDataset(
            tensors, torch.from_numpy(index), torch.from_numpy(labels), self.window, where
        )

    def setup(self, stage: str | None = None) -> None:
        self._load()  # read and check the files once, before any split
        super().setup(stage)

    # -- description ---------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self._load()["classes"])

    @property
    def class_names(self) -> list[str]:
        return list(self._load()["classes"])

    @property
    def input_shape(self) -> list[int]:
        """``[window, C]``."""
        return [self.window, len(self._load()["channels"])]

    @property
    def channel_names(self) -> list[str]:
        """The channel columns, in order (``x0, x1, ...`` for ``.npz`` files)."""
        return list(self._load()["channels"])

    @property
    def split_subjects(self) -> dict[str, list[str]] | None:
        """Subjects of each split (``None`` when the files have no subject column)."""
        subjects = self._load()["subjects"]
        return {split: list(names) for split, names in subjects.items()} if subjects is not None else None

    @property
    def channel_mean(self) -> Tensor:
        """Per-channel mean of the training rows (zeros when ``normalize=False``)."""
        return torch.from_numpy(self._load()["mean"])

    @property
    def channel_std(self) -> Tensor:
        """Per-channel std of the training rows (ones when ``normalize=False``)."""
        return torch.from_numpy(self._load()["std"])

    @property
    def is_variable_length(self) -> bool:
        """Always False: every window has ``window`` rows."""
        return False

    def describe(self) -> dict[str, Any]:
        """The resolved inputs: files, channels (in order), ignored columns and why, classes and
        window counts per split, subjects (or time blocks) per split, and the windowing rule.

        Example:
            >>> import pandas as pd, tempfile, os
            >>> file = os.path.join(tempfile.mkdtemp(), "rec.csv")
            >>> pd.DataFrame({"timestamp": range(60), "ax": [i % 5 for i in range(60)], "ay": 0.0,
            ...               "label": ["a", "b"] * 30}).to_csv(file, index=False)
            >>> info = SensorStreamDataModule(path=file, channels=["ay", "ax"], window=10, step=10).describe()
            >>> info["channels"], info["ignored_columns"]
            (['ay', 'ax'], {'timestamp': 'time column', 'label': 'label column'})
            >>> info["windows"], info["class_counts"]["train"], info["split"]
            ({'train': 3, 'val': 1, 'test': 1}, {'a': 0, 'b': 3}, 'time blocks')
        """
        data = self._load()
        counts = {
            split: {
                name: int((data["windows"][split][1] == k).sum()) for k, name in enumerate(data["classes"])
            }
            for split in SPLITS
        }
        return {
            **super().describe(),
            "files": [str(f) for f in self.files],
            "predict_files": [str(f) for f in self.predict_files] if self.predict_files is not None else None,
            "channels": list(data["channels"]),
            "ignored_columns": dict(data["ignored"]),
            "label_column": self.label_column,
            "subject_column": self.subject_column if data["with_subjects"] else None,
            "time_column": self.time_column,
            "classes": list(data["classes"]),
            "class_counts": counts,
            "windows": {split: len(data["windows"][split][0]) for split in SPLITS},
            "split": "subjects" if data["subjects"] is not None else "time blocks",
            "subjects": self.split_subjects,
            "time_blocks": data["blocks"],
            "window": self.window,
            "step": self.step,
            "label_mode": self.label_mode,
            "normalize": self.normalize,
        }

    def preprocessing(self) -> dict[str, Any]:
        """What turns rows of a recording into one model input, for an export to carry.

        ``mean`` and ``std`` are the training rows' statistics (zeros and ones without
        ``normalize``): an input window is ``(rows[channels] - mean) / std``, ``window`` rows.

        Example:
            >>> import pandas as pd, tempfile, os
            >>> file = os.path.join(tempfile.mkdtemp(), "rec.csv")
            >>> pd.DataFrame({"ax": [0.0, 2.0] * 30, "label": ["a", "b"] * 30}).to_csv(file, index=False)
            >>> steps = SensorStreamDataModule(path=file, window=10, step=5).preprocessing()
            >>> steps["channels"], steps["mean"], steps["std"], steps["window"], steps["class_names"]
            (['ax'], [1.0], [1.0], 10, ['a', 'b'])
        """
        data = self._load()
        return {
            "kind": "sensor_windows",
            "channels": list(data["channels"]),
            "window": self.window,
            "step": self.step,
            "label_mode": self.label_mode,
            "label_column": self.label_column,
            "subject_column": self.subject_column,
            "time_column": self.time_column,
            "normalize": self.normalize,
            "mean": [float(v) for v in data["mean"]],
            "std": [float(v) for v in data["std"]],
            "class_names": list(data["classes"]),
        }


def _ignored_columns(streams: list[SensorStream]) -> dict[str, str]:
    """Every file's columns that are no channels, and why (the first file that has one says why)."""
    out: dict[str, str] = {}
    for stream in streams:
        for column, reason in stream.ignored.items():
            out.setdefault(column, reason)
    return out
