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

import difflib
import functools
import importlib.util
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
from cnnlstm.data.timeseries_files import ARCHIVE_SUFFIXES, dataset_name_of, find_pair, read_archive_file

__all__ = ["SequenceDataset", "UCRDataModule", "available_datasets"]

_MISSING_TOKENS = ("", "nan", "na", "n/a", "null", "?")
_INSTALL_HINT = (
    'the bundled UCR/UEA datasets ship with sktime or aeon; install sktime with: pip install "cnnlstm[timeseries]" '
    '(and "cnnlstm[aeon]" for the sets only aeon ships)'
)
_READER_HINT = (
    'reading the bundled UCR/UEA datasets needs sktime; install it with: pip install "cnnlstm[timeseries]"'
)


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


def channel_stats(
    x: np.ndarray, lengths: np.ndarray | None = None, names: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of ``x (N, T, C)`` over the real steps only.

    Padding (steps at or beyond ``lengths[i]``) is excluded. A constant channel gets std 1, so
    normalising leaves it at zero instead of dividing by zero. Computed in float64 on values
    scaled by each channel's largest magnitude, so huge values do not overflow the squares; a
    channel holding inf or NaN is an error naming it (``names[c]``, or its index).

    Example:
        >>> mean, std = channel_stats(np.array([[[1.0, 5.0], [3.0, 5.0]]]))
        >>> mean.tolist(), std.tolist()
        ([2.0, 5.0], [1.0, 1.0])
    """
    n, t, c = x.shape
    if lengths is None:
        values = x.reshape(-1, c)
    else:
        mask = np.arange(t)[None, :] < np.asarray(lengths)[:, None]  # (N, T)
        values = x[mask]  # (valid steps, C)
    values = values.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=0))
    if len(bad):
        channel = names[bad[0]] if names is not None else int(bad[0])
        count = int((~np.isfinite(values[:, bad[0]])).sum())
        raise ValueError(
            f"channel {channel!r} is not finite everywhere ({count} inf or NaN values), so its mean and "
            "std would not be either; fix or drop those values"
        )
    scale = np.abs(values).max(axis=0) if len(values) else np.ones(c)
    scale[scale == 0] = 1.0
    mean = (values / scale).mean(axis=0) * scale
    std = (values / scale).std(axis=0) * scale
    std[std < 1e-8] = 1.0
    return mean, std


def normalize_padded(x: np.ndarray, lengths: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` on the real steps of ``x (N, T, C)``; padding stays exactly zero.

    ``mean`` and ``std`` are ``(C,)`` (one per channel) or ``(N, 1, C)`` (one per series and channel).
    """
    out = ((x - mean) / std).astype(np.float32)
    out[np.arange(x.shape[1])[None, :] >= np.asarray(lengths)[:, None]] = 0.0
    return out


NORMALIZATIONS = ("channel", "series", "none", "auto")


def check_normalization(value: Any) -> str:
    """``normalize`` as one of :data:`NORMALIZATIONS`; ``True`` is ``"channel"``, ``False`` is ``"none"``.

    Example:
        >>> check_normalization(True), check_normalization("series"), check_normalization(False)
        ('channel', 'series', 'none')
    """
    if value is True or value is False:
        return "channel" if value else "none"
    if value not in NORMALIZATIONS:
        raise InputError(
            f"normalize must be true, false or one of {list(NORMALIZATIONS)}; received normalize={value!r}",
            field="normalize",
        )
    return str(value)


def resolve_normalization(choice: str, channels: int) -> str:
    """The normalisation ``choice`` (from :func:`check_normalization`) means for data of ``channels``.

    ``"auto"`` follows the two archives' conventions: a univariate series is z-normalised over its
    own steps (``"series"``; the UCR archive distributes its series so), the channels of
    multivariate data are standardised with the training set's statistics (``"channel"``; the
    UEA archive's series are not normalised, and their channels' levels can carry the class, as
    the speaker's cepstral means in JapaneseVowels do). Any other choice is returned unchanged.

    Example:
        >>> resolve_normalization("auto", 1), resolve_normalization("auto", 12), resolve_normalization("none", 3)
        ('series', 'channel', 'none')
    """
    if choice != "auto":
        return choice
    return "series" if channels == 1 else "channel"


def series_stats(x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each series' and channel's mean and std over its real steps: two ``(N, 1, C)`` arrays.

    As :func:`channel_stats` per series: padding excluded, float64 on values scaled by their
    largest magnitude, and a constant channel gets std 1 (it becomes zeros, not a division by zero).

    Example:
        >>> x = np.array([[[1.0], [3.0], [0.0]], [[4.0], [4.0], [4.0]]])
        >>> mean, std = series_stats(x, np.array([2, 3]))
        >>> mean.ravel().tolist(), std.ravel().tolist()
        ([2.0, 4.0], [1.0, 1.0])
    """
    x = np.asarray(x, dtype=np.float64)
    valid = (np.arange(x.shape[1])[None, :] < np.asarray(lengths)[:, None])[..., None]  # (N, T, 1)
    scale = np.abs(np.where(valid, x, 0.0)).max(axis=1, keepdims=True)  # (N, 1, C)
    scale[scale == 0] = 1.0
    scaled = np.where(valid, x / scale, 0.0)
    count = valid.sum(axis=1, keepdims=True)
    mean = scaled.sum(axis=1, keepdims=True) / count
    var = (np.where(valid, scaled - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / count
    std = np.sqrt(var) * scale
    std[std < 1e-8] = 1.0
    return mean * scale, std


def standardize(
    x: np.ndarray, lengths: np.ndarray, normalization: str, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """``x (N, T, C)`` normalised as ``normalization`` says, float32, padding kept at zero.

    ``"channel"`` and ``"none"`` apply the given per-channel ``mean`` and ``std`` (the training
    statistics, or zeros and ones); ``"series"`` z-normalises each series and channel over its
    own real steps (the UCR archive's convention), whatever ``mean`` and ``std`` are. Every mode
    refuses inf or NaN on a real step, naming the series and channel (padding is not looked at).
    """
    valid = np.arange(x.shape[1])[None, :] < np.asarray(lengths)[:, None]  # (N, T)
    bad = ~np.isfinite(x) & valid[..., None]
    if bad.any():
        series, _, channel = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"series {series}, channel {channel} is not finite everywhere ({int(bad[series, :, channel].sum())} "
            f"inf or NaN values; {int(bad.sum())} in all the series); fix or drop those values"
        )
    if normalization == "auto":
        raise ValueError("standardize takes a resolved normalization; call resolve_normalization first")
    if normalization == "series":
        mean, std = series_stats(x, lengths)
    return normalize_padded(x, lengths, mean, std)


def _close_names(name: str, choices: Sequence[str]) -> list[str]:
    close = difflib.get_close_matches(name, choices, n=5, cutoff=0.4)
    lower = {c.lower(): c for c in choices}
    if name.lower() in lower and lower[name.lower()] not in close:
        close.insert(0, lower[name.lower()])
    return close


# -- the bundled archive -----------------------------------------------------------------------------
#: The packages whose ``datasets/data`` folder is searched, in this order: a set both ship is read
#: from the first one's copy.
BUNDLING_PACKAGES = ("sktime", "aeon")


def _package_data_dir(package: str) -> Path | None:
    """``<package>/datasets/data`` of an installed package, found without importing it (sktime takes
    a second to import, aeon more); None when the package is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def _bundled_dirs() -> list[tuple[str, Path]]:
    """``(package, data folder)`` of each installed package of :data:`BUNDLING_PACKAGES`, in order."""
    found = [(package, folder) for package in BUNDLING_PACKAGES if (folder := _package_data_dir(package))]
    if not found:
        raise ImportError(_INSTALL_HINT)
    return found


def _is_classification(train_file: Path) -> bool:
    """True if the ``.ts`` header declares class labels (``@classLabel true``), not a regression target."""
    with open(train_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.strip().lower().split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "@data":
                return False
            if words[0] == "@classlabel":
                return len(words) > 1 and words[1] == "true"
    return False


def _bundled_sets(*, classification: bool = True) -> dict[str, tuple[str, Path]]:
    """Every bundled set as ``name -> (package, folder holding NAME_TRAIN.ts and NAME_TEST.ts)``.

    The first package of :data:`BUNDLING_PACKAGES` that ships a name gives its folder. With
    ``classification=False`` the sets whose header declares no class labels are kept too.
    """
    sets: dict[str, tuple[str, Path]] = {}
    for package, root in _bundled_dirs():
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            train, test = folder / f"{folder.name}_TRAIN.ts", folder / f"{folder.name}_TEST.ts"
            if folder.name in sets or not (train.is_file() and test.is_file()):
                continue
            if not classification or _is_classification(train):
                sets[folder.name] = (package, folder)
    return sets


def available_datasets() -> list[str]:
    """The UCR/UEA classification datasets bundled with the installed sktime and aeon (offline).

    Both packages' ``datasets/data`` folders are searched (located without importing either);
    a dataset counts when its folder holds ``<name>_TRAIN.ts`` and ``<name>_TEST.ts`` and the
    header declares class labels, so regression sets (Covid3Month, Tecator, CardanoSentiment) are
    left out. A set both packages ship is listed once and read from sktime's copy. Nothing is
    ever downloaded.

    Example:
        >>> "BasicMotions" in available_datasets()
        True
    """
    return sorted(_bundled_sets())


def _find_bundled(name: Any) -> tuple[str, Path]:
    """``(package, folder)`` of the bundled classification set ``name``; an InputError naming the
    close names otherwise, or saying that ``name`` is a regression set."""
    if not isinstance(name, str) or not name:
        raise InputError(
            f"name must be a dataset name such as 'BasicMotions'; received name={name!r}", field="name"
        )
    sets = _bundled_sets()
    if name in sets:
        return sets[name]
    available = sorted(sets)
    if name in _bundled_sets(classification=False):
        raise InputError(
            f"{name!r} is a regression dataset (no class labels); UCRDataModule classifies, "
            f"choose one of {available}",
            field="name",
        )
    close = _close_names(name, available)
    hint = f"closest: {close}; " if close else ""
    packages = " and ".join(package for package, _ in _bundled_dirs())
    raise InputError(
        f"UCR/UEA dataset {name!r} is not bundled with the installed {packages} ({hint}available: "
        f"{available}); only bundled datasets work offline, nothing is downloaded: give an archive "
        "file with path=NAME_TRAIN.ts instead",
        field="name",
    )


@functools.lru_cache(maxsize=8)
def _load_split(name: str, split: str, root: Path) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """One split of the set in ``root / name`` (sktime's or aeon's data folder) as read-only
    ``(T_i, C)`` float arrays and the string labels, read with sktime's reader (cached: the bundled
    files never change, and several datamodules of one dataset then read them once)."""
    try:
        from sktime.datasets import load_UCR_UEA_dataset
    except ImportError as err:
        raise ImportError(_READER_HINT) from err

    # "nested_univ" (a pd.Series per cell) keeps unequal lengths; numpy3D would refuse them. The
    # set is in root (found by _find_bundled), so sktime reads it from there and downloads nothing.
    frame, labels = load_UCR_UEA_dataset(
        name, split=split, return_X_y=True, return_type="nested_univ", extract_path=str(root)
    )
    series = []
    for i, row in enumerate(frame.to_numpy()):
        channels = [np.asarray(cell, dtype=np.float64) for cell in row]
        lengths = {len(ch) for ch in channels}
        if len(lengths) != 1:
            raise ValueError(
                f"{name} {split} case {i} has channels of different lengths {sorted(lengths)}; "
                "such cases are not supported"
            )
        case = np.stack(channels, axis=1)  # (T_i, C)
        case.flags.writeable = False
        series.append(case)
    missing = sum(int(np.isnan(s).sum()) for s in series)
    if missing:
        raise ValueError(
            f"{name} {split} split has {missing} missing (NaN) values; fill them in a copy of the "
            "data before training (UCRDataModule does not impute)"
        )
    labels = np.asarray([str(label) for label in labels])
    labels.flags.writeable = False
    return tuple(series), labels


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


_PREDICT_SUFFIXES = (".npy", ".csv", *ARCHIVE_SUFFIXES)


def _read_series_file(path: Path) -> list[np.ndarray]:
    """A user's series for prediction, as ``(T_i, C)`` float64 arrays: a ``.npy`` ``(N, T, C)``,
    ``(T, C)`` or ``(T,)``, a ``.csv`` of one series (rows = time steps, columns = channels, an
    optional header row), or an archive file (``.ts``, ``.arff``, ``.tsv``; labels, if any, are
    not used), whose series may differ in length."""
    if not path.is_file():
        raise FileNotFoundError(f"predict_path {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return list(read_archive_file(path, field="predict_path", labelled=False)[0])
    if suffix == ".npy":
        data = _read_npy(path)
    elif suffix == ".csv":
        data = _read_csv(path)
    else:
        raise ValueError(
            f"predict_path must be a .npy, .csv, .ts, .arff or .tsv file; received {str(path)!r}"
        )
    missing = int(np.isnan(data).sum())
    if missing:
        raise ValueError(f"{path.name} has {missing} missing (NaN) values; fill them before predicting")
    infinite = np.argwhere(np.isinf(data))
    if len(infinite):
        series, step, channel = (int(v) for v in infinite[0])
        raise ValueError(
            f"{path.name} holds {float(data[series, step, channel])!r} (series {series}, step {step}, channel "
            f"{channel}; {len(infinite)} values not finite); fix them before predicting"
        )
    return list(data)


def _read_npy(path: Path) -> np.ndarray:
    """A ``.npy`` of ``(N, T, C)``, ``(T, C)`` or ``(T,)`` numbers as ``(N, T, C)`` float64."""
    data = np.load(path, allow_pickle=False)
    if data.dtype.kind not in "biuf":
        raise ValueError(f"{path.name} holds {data.dtype} values; predict_path needs numbers")
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ValueError(f"{path.name} has shape {data.shape}; expected (N, T, C), (T, C) or (T,)")
    return data.astype(np.float64)


def _read_csv(path: Path) -> np.ndarray:
    """A ``.csv`` of one series (rows = steps, columns = channels, at most one header row) as
    ``(1, T, C)`` float64; blank or missing-value cells become NaN, text is an error."""
    import pandas as pd

    frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    numeric = frame.apply(pd.to_numeric, errors="coerce")  # text -> NaN
    if len(frame) > 1 and numeric.iloc[0].isna().all():
        frame, numeric = frame.iloc[1:], numeric.iloc[1:]  # the first row is a header
    blank = frame.apply(lambda col: col.str.strip().str.lower().isin(_MISSING_TOKENS))
    text = numeric.isna() & ~blank
    if text.any().any():
        row, col = np.argwhere(text.to_numpy())[0]
        raise ValueError(
            f"{path.name} column {col} holds text ({frame.iat[row, col]!r}); predict_path CSVs "
            "must be numbers only, with at most one header row"
        )
    return numeric.to_numpy(dtype=np.float64)[None]


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
            self.bundle = _find_bundled(name)
            self.dataset_name = name
        self.hparams["dataset_name"] = self.dataset_name
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self._normalization_choice = check_normalization(normalize)
        self.normalize = normalize
        self.predict_path = Path(predict_path) if predict_path is not None else None
        if self.predict_path is not None and self.predict_path.suffix.lower() not in _PREDICT_SUFFIXES:
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
            train_series, train_labels = _load_split(self.dataset_name, "train", root)
            test_series, test_labels = _load_split(self.dataset_name, "test", root)
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
        series = _read_series_file(path)  # (T_i, C) each
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
