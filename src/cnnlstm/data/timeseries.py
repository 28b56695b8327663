"""Time-series classification on the UCR/UEA archive: the copies sktime and aeon ship, or any archive file.

:class:`UCRDataModule` loads a dataset by name with sktime's own reader, from the files bundled
in ``sktime/datasets/data`` or ``aeon/datasets/data`` (nothing is ever downloaded:
:func:`available_datasets` lists what works offline), or a user's ``NAME_TRAIN``/``NAME_TEST``
pair of ``.ts``, ``.arff`` or ``.tsv`` files given as ``path`` (read by
:mod:`cnnlstm.data.timeseries_files`). Every sample is a tuple ``(x, y, length)``:

* ``x`` — float32 ``(T, C)``, time first and channels last, so batches are ``(B, T, C)``;
* ``y`` — int64 class index (``-1`` for unlabelled series given to ``predict_path``);
* ``length`` — int64, the number of real time steps in ``x``.

Unequal-length datasets (JapaneseVowels, PLAID) are zero-padded at the end to the longest series
of the dataset, train and test together; ``length`` says where the real data stops and no series
is ever cut. The loaders then cut each batch to its longest series
(:func:`~cnnlstm.data.padded_batches.collate_trimmed`), so batches differ in ``T``. Equal-length
datasets return ``length == T`` and batches of the one ``T``.

:class:`SequenceDataset` and the helpers for labels and per-channel statistics are shared with
:mod:`cnnlstm.data.sensor`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from cnnlstm._validation import InputError, check_fraction
from cnnlstm.data.base import BaseDataModule, check_fitted
from cnnlstm.data.padded_batches import collate_trimmed
from cnnlstm.data.series_normalization import (
    channel_stats,
    check_normalization,
    resolve_normalization,
    standardize,
)
from cnnlstm.data.timeseries_bundled import available_datasets, find_bundled, load_split
from cnnlstm.data.timeseries_files import (
    PREDICT_SUFFIXES,
    dataset_name_of,
    find_pair,
    read_archive_file,
    read_series_for_prediction,
)

__all__ = ["SequenceDataset", "UCRDataModule", "available_datasets"]


class SequenceDataset(Dataset):
    """In-memory padded sequences ``x (N, T, C)`` with labels ``y (N,)`` and true ``lengths (N,)``.

    ``__getitem__`` returns ``(x[i], y[i], lengths[i])``: float32 ``(T, C)``, int64, int64.

    Example:
        >>> ds = SequenceDataset(torch.zeros(3, 5, 2), torch.tensor([0, 1, 0]), torch.tensor([5, 3, 4]))
        >>> x, y, length = ds[1]
        >>> tuple(x.shape), int(y), int(length)
        ((5, 2), 1, 3)
    """

    def __init__(self, x: Tensor, y: Tensor, lengths: Tensor, *, keys: Sequence[str] | None = None) -> None:
        if x.dim() != 3:
            raise ValueError(f"x must be (N, T, C); received shape {tuple(x.shape)}")
        if not len(x) == len(y) == len(lengths):
            raise ValueError(f"x, y and lengths differ in length: {len(x)}, {len(y)}, {len(lengths)}")
        if keys is not None and len(keys) != len(x):
            raise ValueError(f"keys has {len(keys)} entries for {len(x)} sequences")
        self.x = x.float()
        self.y = y.long()
        self.lengths = lengths.long()
        self.keys = list(keys) if keys is not None else None

    def sample_keys(self) -> list[str] | None:
        """Each sequence's identity (its file and case number) when the data module gave one."""
        return self.keys

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        return self.x[index], self.y[index], self.lengths[index]


# -- helpers shared with the sensor data ------------------------------------------------------------
def sorted_labels(labels: Iterable[Any]) -> list[str]:
    """The distinct labels as strings, in numeric order when all are numbers, else in text order.

    Numeric order keeps ``"2"`` before ``"10"`` (PLAID's classes 0..10).

    Example:
        >>> sorted_labels(["10", "2", "1", "2"])
        ['1', '2', '10']
        >>> sorted_labels(["walk", "run", "sit"])
        ['run', 'sit', 'walk']
    """
    unique = sorted({str(label) for label in labels})
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def _pad(series: Sequence[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pad ``(T_i, C)`` arrays at the end to ``(N, length, C)``; return them and ``T_i``."""
    channels = series[0].shape[1]
    out = np.zeros((len(series), length, channels), dtype=np.float64)
    lengths = np.zeros(len(series), dtype=np.int64)
    for i, s in enumerate(series):
        out[i, : len(s)] = s
        lengths[i] = len(s)
    return out, lengths


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(keep, held_out)`` with about ``fraction`` of every class held out.

    Each class with at least two samples gives ``max(1, round(n * fraction))`` samples (at most
    ``n - 1``) to the held-out part; a class with one sample stays in ``keep``. The draw depends
    only on ``seed``. Both index arrays are sorted.
    """
    rng = np.random.default_rng(seed)
    held = []
    if fraction > 0:
        for label in sorted(set(labels.tolist())):
            members = np.flatnonzero(labels == label)
            if len(members) < 2:
                continue
            count = min(len(members) - 1, max(1, round(len(members) * fraction)))
            held.extend(rng.permutation(members)[:count].tolist())
    held_out = np.sort(np.asarray(held, dtype=np.int64))
    keep = np.setdiff1d(np.arange(len(labels)), held_out)
    return keep, held_out


_FITTED_KEYS = ("dataset", "channels", "length", "variable_length", "normalization", "class_names")


def _check_fitted(fitted: Any) -> dict[str, Any]:
    """A trained model's series preprocessing (:meth:`UCRDataModule.preprocessing`)."""
    fitted = check_fitted(
        fitted,
        kind="ucr_series",
        keys=_FITTED_KEYS,
        channels=lambda f: int(f["channels"]),
        what="a UCR/UEA model",
    )
    if fitted["normalization"] not in ("channel", "series", "none"):
        raise InputError(f"fitted has normalization {fitted['normalization']!r}", field="fitted")
    return fitted


class UCRDataModule(BaseDataModule):
    """A UCR/UEA classification dataset bundled with sktime or aeon, or a user's archive files:
    samples ``(x (T, C), y, length)``.

    The archive's own train/test split is kept. The validation split is carved from TRAIN only,
    stratified by class (see :func:`stratified_split`) and fixed by ``seed``. With ``normalize``,
    each channel is standardised with the mean and std of the remaining training part (real steps
    only, padding excluded) and the same statistics are applied to validation, test and
    prediction data. Labels are the archive's strings mapped to ``0..K-1`` in sorted order
    (numeric order when all are numbers); :attr:`class_names` gives the strings back. Missing
    values (NaN) raise an error naming the dataset: nothing is imputed.

    Data loads on first use (``input_shape``, ``num_classes`` or :meth:`setup`) and is cached.

    Args:
        name: dataset name, one of :func:`available_datasets` (e.g. ``"BasicMotions"``): a set
            bundled with sktime or aeon (sktime's copy when both ship it), read with sktime's
            reader; not used when ``path`` is given.
        path: a user's archive data instead of a bundled set: a ``NAME_TRAIN.ts`` (``.arff``,
            ``.tsv``) file whose ``NAME_TEST`` file lies beside it, or a folder holding the pair
            (see :func:`~cnnlstm.data.timeseries_files.find_pair`). The dataset is then called
            ``NAME``.
        test_path: the test file, when it is not the ``_TEST`` file beside ``path``.
        val_fraction: fraction of every class of TRAIN held out for validation, in ``[0, 1)``;
            ``0`` gives an empty validation set (Lightning then skips validation).
        normalize: ``True`` or ``"channel"``: standardise each channel with the training part's
            mean and std (real steps only); ``"series"``: z-normalise each series and channel over
            its own real steps, as the UCR archive's series are (for data whose series differ in
            scale by orders of magnitude, such as PLAID's currents; the level and scale of each
            series are then lost); ``"auto"``: ``"series"`` for univariate data, ``"channel"``
            for multivariate (:func:`resolve_normalization`; the ``ucr-*`` presets' setting);
            ``False`` or ``"none"``: the values as read.
        predict_path: series to classify instead of the test split: a ``.npy`` of ``(N, T, C)``,
            ``(T, C)`` or ``(T,)``, a ``.csv`` of one series (rows = time steps, columns =
            channels), or an archive file (``.ts`` — also one that says ``@classLabel false`` —
            ``.arff``, ``.tsv``; its labels are not read). Series are padded to ``T_max`` (never cut: a longer series is an error;
            for equal-length datasets the length must equal ``T``), and their ``y`` is ``-1``.
        fitted: the :meth:`preprocessing` of a trained model (``cnnlstm predict`` passes the
            checkpoint's): with ``predict_path``, its length, channels, statistics and classes are
            used and the archive's files are not read (they need not exist any more); every split
            other than prediction is then empty.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`; ``seed``
            also fixes the validation split.

    Example:
        >>> dm = UCRDataModule(name="BasicMotions", batch_size=8)
        >>> dm.input_shape, dm.num_classes, dm.is_variable_length
        ([100, 6], 4, False)
        >>> dm.setup("fit")
        >>> x, y, length = next(iter(dm.train_dataloader()))
        >>> tuple(x.shape), tuple(y.shape), length[0].item()
        ((8, 100, 6), (8,), 100)
    """

    def __init__(
        self,
        *,
        name: str = "BasicMotions",
        path: str | Path | None = None,
        test_path: str | Path | None = None,
        val_fraction: float = 0.2,
        normalize: bool | str = True,
        predict_path: str | Path | None = None,
        fitted: dict[str, Any] | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        # Lightning merges data and task hyper-parameters into one record, where the task's model
        # ``name`` would clash with this ``name``: the dataset is recorded as ``dataset_name``.
        # The fitted statistics are the checkpoint's own.
        self.save_hyperparameters(ignore=["name", "fitted"])
        self.files: tuple[Path, Path] | None = None
        # (package, folder) of a set given by name: sktime's copy when both packages ship it
        self.bundle: tuple[str, Path] | None = None
        self.fitted = _check_fitted(fitted) if fitted is not None and predict_path is not None else None
        if self.fitted is not None:
            self.dataset_name = str(self.fitted["dataset"])
        elif path is not None:
            self.files = find_pair(path, test_path)
            self.dataset_name = dataset_name_of(self.files[0])
        elif test_path is not None:
            raise InputError(
                "test_path needs path (the training file) too; give --data.path NAME_TRAIN.ts",
                field="test_path",
            )
        else:
            self.bundle = find_bundled(name)
            self.dataset_name = name
        self.hparams["dataset_name"] = self.dataset_name
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self._normalization_choice = check_normalization(normalize)
        self.normalize = normalize
        self.predict_path = Path(predict_path) if predict_path is not None else None
        if self.predict_path is not None and self.predict_path.suffix.lower() not in PREDICT_SUFFIXES:
            raise InputError(
                "predict_path must be a .npy, .csv, .ts, .arff or .tsv file; received "
                f"predict_path={str(predict_path)!r}",
                field="predict_path",
            )
        self._data: dict[str, Any] | None = None

    # -- loading -------------------------------------------------------------------------------------
    def _bundled(self) -> tuple[str, Path]:
        """``(package, folder)`` of the bundled set this datamodule reads (given by ``name``)."""
        if self.bundle is None:
            raise RuntimeError(f"{self.dataset_name} was given as files, not as a bundled set")
        return self.bundle

    def _from_fitted(self, fitted: dict[str, Any]) -> dict[str, Any]:
        """The loaded state of a trained model's preprocessing: no archive file read, empty splits."""
        length, channels = int(fitted["length"]), int(fitted["channels"])
        empty = (np.zeros((0, length, channels)), np.zeros(0, np.int64), np.zeros(0, np.int64))
        return dict(
            classes=list(fitted["class_names"]),
            t_max=length,
            channels=channels,
            normalization=str(fitted["normalization"]),
            variable=bool(fitted["variable_length"]),
            mean=np.asarray(fitted["mean"], dtype=np.float64),
            std=np.asarray(fitted["std"], dtype=np.float64),
            train=empty,
            val=empty,
            test=empty,
            train_indices=np.zeros(0, np.int64),
            val_indices=np.zeros(0, np.int64),
        )

    def _load(self) -> dict[str, Any]:
        if self._data is not None:
            return self._data
        if self.fitted is not None:
            self._data = self._from_fitted(self.fitted)
            return self._data
        if self.files is not None:
            train_series, train_labels = read_archive_file(self.files[0], field="path")
            test_series, test_labels = read_archive_file(
                self.files[1], field="path" if self.hparams.get("test_path") is None else "test_path"
            )
        else:
            root = self._bundled()[1].parent
            train_series, train_labels = load_split(self.dataset_name, "train", root)
            test_series, test_labels = load_split(self.dataset_name, "test", root)
        channels = {s.shape[1] for s in train_series + test_series}
        if len(channels) != 1:
            where = f"{self.files[0].name} and {self.files[1].name}" if self.files else self.dataset_name
            raise InputError(
                f"{where} cases differ in channel count ({sorted(channels)}); every case needs the same channels",
                field="path" if self.files else "name",
            )
        self._check_test_labels(train_labels, test_labels)
        t_max = max(len(s) for s in train_series + test_series)
        classes = sorted_labels(np.concatenate([train_labels, test_labels]))
        index = {label: i for i, label in enumerate(classes)}
        train_x, train_len = _pad(train_series, t_max)
        test_x, test_len = _pad(test_series, t_max)
        train_y = np.asarray([index[label] for label in train_labels], dtype=np.int64)
        test_y = np.asarray([index[label] for label in test_labels], dtype=np.int64)
        keep, val = stratified_split(train_y, self.val_fraction, self.seed)
        normalization = resolve_normalization(self._normalization_choice, train_x.shape[2])
        if normalization == "channel":
            mean, std = channel_stats(train_x[keep], train_len[keep])
        else:
            mean, std = np.zeros(train_x.shape[2]), np.ones(train_x.shape[2])
        self._data = dict(
            classes=classes,
            t_max=t_max,
            channels=channels.pop(),
            normalization=normalization,
            variable=bool((np.concatenate([train_len, test_len]) != t_max).any()),
            mean=mean,
            std=std,
            train=(train_x[keep], train_y[keep], train_len[keep]),
            val=(train_x[val], train_y[val], train_len[val]),
            test=(test_x, test_y, test_len),
            train_indices=keep,
            val_indices=val,
        )
        return self._data

    def _check_test_labels(self, train_labels: np.ndarray, test_labels: np.ndarray) -> None:
        """An InputError when the test split has a class that the training split never shows."""
        unseen = sorted(set(test_labels.tolist()) - set(train_labels.tolist()))
        if not unseen:
            return
        cases = int(np.isin(test_labels, unseen).sum())
        if self.files is not None:
            where, train = self.files[1].name, self.files[0].name
            field = "path" if self.hparams.get("test_path") is None else "test_path"
        else:
            where, train, field = f"{self.dataset_name}'s TEST split", "TRAIN", "name"
        raise InputError(
            f"{where} has {len(unseen)} class(es) that {train} never has ({unseen[:5]}, {cases} cases); "
            "a model cannot learn a class it never trains on: fix those labels or drop those cases",
            field=field,
        )

    @property
    def normalization(self) -> str:
        """What ``normalize`` resolved to: ``"channel"``, ``"series"`` or ``"none"`` (``"auto"``
        depends on the channel count, see :func:`resolve_normalization`)."""
        return str(self._load()["normalization"])

    def _dataset(self, x: np.ndarray, y: np.ndarray, lengths: np.ndarray) -> SequenceDataset:
        data = self._load()
        x = standardize(x, lengths, self.normalization, data["mean"], data["std"])
        return SequenceDataset(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(lengths))

    def _predict_file_dataset(self, path: Path) -> SequenceDataset:
        data = self._load()
        series = read_series_for_prediction(path)  # (T_i, C) each
        channels = sorted({s.shape[1] for s in series})
        if channels != [data["channels"]]:
            raise ValueError(
                f"{path.name} has {' or '.join(map(str, channels))} channels but {self.dataset_name} has "
                f"{data['channels']}; give an array (N, T, C) or (T, C) with one column per channel"
            )
        longest, shortest = max(len(s) for s in series), min(len(s) for s in series)
        if longest > data["t_max"]:
            raise ValueError(
                f"{path.name} has a series of {longest} time steps, more than {self.dataset_name}'s longest "
                f"series ({data['t_max']}); split the series, it is not cut silently"
            )
        if not data["variable"] and shortest != data["t_max"]:
            raise ValueError(
                f"{path.name} has a series of {shortest} time steps but every {self.dataset_name} series has "
                f"{data['t_max']}; resample the series to that length"
            )
        x, lengths = _pad(series, data["t_max"])
        return self._dataset(x, np.full(len(series), -1, dtype=np.int64), lengths)

    def _split_keys(self, split: str) -> list[str]:
        """``<file>#<case>``: the archive file (TRAIN for train and val, TEST for test; for a bundled
        set ``<package>:<name>_TRAIN``) and the case's position in it."""
        data = self._load()
        if self.fitted is not None:  # no archive file was read: every split is empty
            return []
        part = 1 if split == "test" else 0
        if self.files is not None:
            source = str(Path(self.files[part]).resolve())
        else:
            source = f"{self._bundled()[0]}:{self.dataset_name}_{('TRAIN', 'TEST')[part]}"
        cases = range(len(data["test"][0])) if split == "test" else data[f"{split}_indices"].tolist()
        return [f"{source}#{i}" for i in cases]

    def make_dataset(self, split: str) -> SequenceDataset:
        dataset = self._dataset(*self._load()[split])
        dataset.keys = self._split_keys(split)
        return dataset

    @property
    def has_validation(self) -> bool:
        """False when ``val_fraction`` holds out nothing: all of TRAIN trains, and ``cnnlstm fit``
        then keeps the checkpoint of the lowest training loss instead of validation loss."""
        return len(self._load()["val_indices"]) > 0

    def make_predict_dataset(self) -> SequenceDataset | None:
        return None if self.predict_path is None else self._predict_file_dataset(self.predict_path)

    def batch_collate(self) -> Callable[[list[Any]], Any] | None:
        """Unequal-length sets: every batch cut to its longest series; equal-length: the default."""
        return collate_trimmed if self.is_variable_length else None

    # -- description ---------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self._load()["classes"])

    @property
    def class_names(self) -> list[str]:
        return list(self._load()["classes"])

    @property
    def input_shape(self) -> list[int]:
        """``[T_max, C]``: the padded length and the channel count."""
        data = self._load()
        return [data["t_max"], data["channels"]]

    @property
    def is_variable_length(self) -> bool:
        """True when the dataset's series differ in length (then ``length`` marks the padding)."""
        return self._load()["variable"]

    @property
    def split_indices(self) -> dict[str, list[int]]:
        """Positions in the archive's TRAIN split of the ``"train"`` and ``"val"`` samples (sorted)."""
        data = self._load()
        return {"train": data["train_indices"].tolist(), "val": data["val_indices"].tolist()}

    @property
    def channel_mean(self) -> Tensor:
        """Per-channel mean used for normalisation (zeros unless ``normalization == "channel"``)."""
        return torch.from_numpy(self._load()["mean"])

    @property
    def channel_std(self) -> Tensor:
        """Per-channel std used for normalisation (ones unless ``normalization == "channel"``)."""
        return torch.from_numpy(self._load()["std"])

    def _padding_rule(self) -> str:
        if self._load()["variable"]:
            return "zeros at the end to the longest series; length marks the real steps"
        return "none: every series has the same length"

    def _source(self) -> str:
        """Where the training data comes from: the TRAIN file, the bundled set's folder, or the
        checkpoint's statistics."""
        if self.fitted is not None:
            return "not read: the trained model's statistics (fitted)"
        return str(self._bundled()[1]) if self.files is None else str(self.files[0])

    def describe(self) -> dict[str, Any]:
        """The resolved inputs: the dataset and where it is read from, channels, series lengths and
        classes with their counts per split, the validation rule, normalisation and padding.

        Example:
            >>> info = UCRDataModule(name="BasicMotions").describe()
            >>> info["dataset"], info["channels"], info["lengths"]["test"], info["class_counts"]["val"]
            ('BasicMotions', 6, [100, 100], {'badminton': 2, 'running': 2, 'standing': 2, 'walking': 2})
        """
        data = self._load()
        splits = ("train", "val", "test")
        counts = {
            split: {name: int((data[split][1] == k).sum()) for k, name in enumerate(data["classes"])}
            for split in splits
        }
        lengths = {
            split: [int(data[split][2].min()), int(data[split][2].max())] if len(data[split][2]) else None
            for split in splits
        }
        return {
            **super().describe(),
            "dataset": self.dataset_name,
            "path": self._source(),
            "test_path": None if self.files is None else str(self.files[1]),
            "predict_path": str(self.predict_path) if self.predict_path is not None else None,
            "channels": int(data["channels"]),
            "lengths": lengths,
            "padded_length": int(data["t_max"]),
            "padding": self._padding_rule()
            + ("; each batch is cut to its longest series" if data["variable"] else ""),
            "classes": list(data["classes"]),
            "class_counts": counts,
            "val_fraction": self.val_fraction,
            "validation": (
                "stratified from the archive's TRAIN split, fixed by seed"
                if len(data["val_indices"])
                else "none: all of TRAIN trains"
            ),
            "normalize": self.normalize,
            "normalization": self.normalization,
        }

    def preprocessing(self) -> dict[str, Any]:
        """What turns a series ``(T, C)`` into one model input, for an export to carry.

        An input is ``(x - mean) / std`` on its real steps (with ``normalization == "series"``,
        the mean and std of the series' own real steps, per channel), padded with zeros at the end
        to ``length`` steps (for unequal-length datasets; ``length`` must match otherwise).

        Example:
            >>> steps = UCRDataModule(name="BasicMotions").preprocessing()
            >>> steps["dataset"], steps["length"], len(steps["mean"]), steps["variable_length"]
            ('BasicMotions', 100, 6, False)
        """
        data = self._load()
        return {
            "kind": "ucr_series",
            "dataset": self.dataset_name,
            "channels": int(data["channels"]),
            "length": int(data["t_max"]),
            "variable_length": bool(data["variable"]),
            "padding": self._padding_rule(),
            "normalize": self.normalize,
            "normalization": self.normalization,
            "mean": [float(v) for v in data["mean"]],
            "std": [float(v) for v in data["std"]],
            "class_names": list(data["classes"]),
        }
