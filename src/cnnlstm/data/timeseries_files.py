"""Users' UCR/UEA archive files: find a TRAIN/TEST pair and read it with sktime's readers.

The archive ships every dataset as ``<Name>_TRAIN.<ext>`` and ``<Name>_TEST.<ext>`` side by side,
in three forms:

* ``.ts`` — sktime's format (header ``@problemName``, ``@classLabel true a b``, ``@data``; one
  case per line, channels separated by ``:``, the label last); univariate or multivariate,
  equal or unequal lengths;
* ``.arff`` — Weka's format (multivariate cases as relational attributes);
* ``.tsv`` — the 2018 UCR archive's univariate form: one case per line, the label first, then the
  values, tab-separated; trailing ``NaN`` values pad shorter series (the archive's convention for
  its varying-length sets) and are cut off.

:func:`find_pair` turns what a user gives (a folder, a ``_TRAIN`` file, or two files) into the two
paths; :func:`read_archive_file` reads one into ``(T_i, C)`` float64 arrays and string labels.
Every problem is an :class:`~cnnlstm._validation.InputError` naming the file and what to do.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm._validation import InputError

__all__ = [
    "ARCHIVE_SUFFIXES",
    "PREDICT_SUFFIXES",
    "dataset_name_of",
    "declares_classes",
    "find_pair",
    "read_archive_file",
    "read_series_for_prediction",
]

ARCHIVE_SUFFIXES = (".ts", ".arff", ".tsv")
_INSTALL_HINT = (
    'reading UCR/UEA archive files needs sktime; install it with: pip install "cnnlstm[timeseries]"'
)


def dataset_name_of(train_file: Path) -> str:
    """The dataset's name from its TRAIN file: ``GunPoint_TRAIN.ts`` -> ``GunPoint``.

    Example:
        >>> dataset_name_of(Path("data/GunPoint_TRAIN.ts")), dataset_name_of(Path("mine.ts"))
        ('GunPoint', 'mine')
    """
    stem = train_file.stem
    for tag in ("_TRAIN", "_train", "_Train"):
        if stem.endswith(tag) and len(stem) > len(tag):
            return stem[: -len(tag)]
    return stem


def _check_suffix(path: Path, field: str) -> None:
    if path.suffix.lower() not in ARCHIVE_SUFFIXES:
        raise InputError(
            f"{str(path)!r} is not a UCR/UEA archive file; give a .ts, .arff or .tsv file "
            f"(or a folder holding NAME_TRAIN.ts and NAME_TEST.ts)",
            field=field,
        )


def _test_beside(train: Path) -> Path:
    """``X_TRAIN.ts`` -> ``X_TEST.ts`` in the same folder (the tag's case is kept)."""
    stem = train.stem
    for tag, test_tag in (("_TRAIN", "_TEST"), ("_train", "_test"), ("_Train", "_Test")):
        if stem.endswith(tag):
            return train.with_name(stem[: -len(tag)] + test_tag + train.suffix)
    raise InputError(
        f"{str(train)!r} is not named NAME_TRAIN{train.suffix}, so its test file cannot be found beside "
        "it; rename the pair NAME_TRAIN/NAME_TEST or give the test file with --data.test_path",
        field="path",
    )


def find_pair(path: str | Path, test_path: str | Path | None = None) -> tuple[Path, Path]:
    """The ``(train, test)`` files a user means by ``path`` (and ``test_path``).

    ``path`` is a folder holding exactly one ``NAME_TRAIN.<ext>`` with its ``NAME_TEST.<ext>``
    (``.ts`` preferred over ``.arff`` over ``.tsv`` when a folder has several forms), or a TRAIN
    file, whose test file is ``test_path`` or else the ``_TEST`` file beside it.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> for split in ("TRAIN", "TEST"):
        ...     _ = (folder / f"Toy_{split}.ts").write_text("")
        >>> [p.name for p in find_pair(folder)]
        ['Toy_TRAIN.ts', 'Toy_TEST.ts']
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{str(path)!r} does not exist; give a .ts/.arff/.tsv TRAIN file or a folder holding NAME_TRAIN.ts "
            "and NAME_TEST.ts",
            field="path",
        )
    if path.is_dir():
        found = {}
        for suffix in ARCHIVE_SUFFIXES:
            trains = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() == suffix and dataset_name_of(p) != p.stem
            )
            if len(trains) > 1:
                raise InputError(
                    f"{str(path)!r} holds several TRAIN files ({[p.name for p in trains]}); give one of "
                    "them as --data.path",
                    field="path",
                )
            if trains:
                found[suffix] = trains[0]
        if not found:
            raise InputError(
                f"{str(path)!r} holds no NAME_TRAIN.ts, .arff or .tsv file; put the archive's TRAIN and TEST "
                "files there or give the TRAIN file itself",
                field="path",
            )
        train = found[next(s for s in ARCHIVE_SUFFIXES if s in found)]
    else:
        train = path
    _check_suffix(train, "path")
    if test_path is not None:
        test = Path(test_path)
        if not test.is_file():
            raise InputError(
                f"test file {str(test)!r} does not exist; give an existing file", field="test_path"
            )
        _check_suffix(test, "test_path")
    else:
        test = _test_beside(train)
        if not test.is_file():
            raise InputError(
                f"found {train.name} but not {test.name} beside it in {str(train.parent)!r}; put the test file "
                "there or give it with --data.test_path",
                field="path",
            )
    return train, test


def declares_classes(path: Path) -> bool | None:
    """For a ``.ts`` file: True/False from its ``@classLabel`` line, None when it has none."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.strip().lower().split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "@data":
                return None
            if words[0] == "@classlabel":
                return len(words) > 1 and words[1] == "true"
    return None


def _read_frame(path: Path) -> tuple[Any, Any]:  # (pandas.DataFrame of cells, labels)
    try:
        from sktime.datasets import (
            load_from_arff_to_dataframe,
            load_from_tsfile_to_dataframe,
            load_from_ucr_tsv_to_dataframe,
        )
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    suffix = path.suffix.lower()
    if suffix == ".ts":
        read = load_from_tsfile_to_dataframe(str(path))
        return read if isinstance(read, tuple) else (read, np.asarray([], dtype=str))  # @classLabel false
    if suffix == ".arff":
        return load_from_arff_to_dataframe(str(path))
    return load_from_ucr_tsv_to_dataframe(str(path))


@functools.lru_cache(maxsize=8)
def _read_cached(
    path: str, stamp: tuple[int, int], field: str, labelled: bool
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    file = Path(path)
    unlabelled = file.suffix.lower() == ".ts" and declares_classes(file) is False
    if unlabelled and labelled:
        raise InputError(
            f"{file.name} declares no class labels (@classLabel false: a regression set); give a "
            "classification file, whose header says @classLabel true followed by the labels",
            field=field,
        )
    try:
        frame, labels = _read_frame(file)
    except InputError:
        raise
    except ImportError:
        raise
    except Exception as err:  # sktime's parse errors: IOError, TsFileParseException, ValueError...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(
            f"cannot read {str(file)!r} as a UCR/UEA {file.suffix} file ({first}); check its header and data "
            "lines against the archive's format",
            field=field,
        ) from None
    series, uneven = [], 0
    for i, row in enumerate(frame.to_numpy()):
        uneven += any(_unevenly_stamped(cell) for cell in row)
        channels = [np.asarray(cell, dtype=np.float64).ravel() for cell in row]
        if file.suffix.lower() == ".tsv":  # NaN padding at the end marks a shorter series
            channels = [_strip_trailing_nan(ch) for ch in channels]
        lengths = {len(ch) for ch in channels}
        if len(lengths) != 1:
            raise InputError(
                f"{file.name} case {i} has channels of different lengths {sorted(lengths)}; every channel of "
                "a case must have the same length",
                field=field,
            )
        if 0 in lengths:
            raise InputError(f"{file.name} case {i} is empty; remove it or give its values", field=field)
        case = np.stack(channels, axis=1)  # (T_i, C)
        case.flags.writeable = False
        series.append(case)
    if not series:
        raise InputError(f"{file.name} holds no cases; give a file with at least one data line", field=field)
    if uneven:
        warnings.warn(
            f"{file.name}: {uneven} of {len(series)} cases have unevenly spaced time stamps; the stamps are "
            "not used (each value is one step), so resample those cases to an even spacing first if "
            "the spacing matters",
            stacklevel=2,
        )
    missing = sum(int(np.isnan(s).sum()) for s in series)
    if missing:
        raise InputError(
            f"{file.name} has {missing} missing values (NaN or ?); fill them in a copy of the file before "
            "training (nothing is imputed)",
            field=field,
        )
    strings = np.asarray([str(label) for label in labels])
    strings.flags.writeable = False
    return tuple(series), strings


def _unevenly_stamped(cell: Any) -> bool:
    """True for a series read from a ``@timeStamps true`` file whose stamps are not evenly spaced."""
    import pandas as pd

    index = getattr(cell, "index", None)
    if not isinstance(index, pd.Index) or isinstance(index, pd.RangeIndex) or len(index) < 3:
        return False
    stamps = index.asi8 if isinstance(index, pd.DatetimeIndex) else index.to_numpy()
    try:
        steps = np.diff(np.asarray(stamps, dtype=np.float64))
    except (TypeError, ValueError):  # stamps that are not numbers or times
        return False
    return not np.allclose(steps, steps[0])


def _strip_trailing_nan(values: np.ndarray) -> np.ndarray:
    finite = np.flatnonzero(~np.isnan(values))
    return values[: finite[-1] + 1] if len(finite) else values[:0]


def read_archive_file(
    path: str | Path, *, field: str = "path", labelled: bool = True
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """One archive file as read-only ``(T_i, C)`` float64 arrays and the string labels.

    Cached on the file's path, size and modification time: a datamodule, a test run and a
    prediction of the same file read it once. ``field`` is the argument named in errors. With
    ``labelled=False`` (series to classify) a ``.ts`` file may declare ``@classLabel false``; its
    labels are then an empty array.

    Example:
        >>> import tempfile
        >>> file = Path(tempfile.mkdtemp()) / "Toy_TRAIN.ts"
        >>> _ = file.write_text("@problemName Toy\\n@timeStamps false\\n@univariate true\\n"
        ...                     "@classLabel true a b\\n@data\\n"
        ...                     "1,2,3:a\\n4,5,6:b\\n")
        >>> series, labels = read_archive_file(file)
        >>> series[0].shape, labels.tolist()
        ((3, 1), ['a', 'b'])
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise InputError(f"{str(path)!r} does not exist; give an existing archive file", field=field)
    info = file.stat()
    return _read_cached(str(file), (info.st_mtime_ns, info.st_size), field, labelled)


_MISSING_TOKENS = ("", "nan", "na", "n/a", "null", "?")
PREDICT_SUFFIXES = (".npy", ".csv", *ARCHIVE_SUFFIXES)


def read_series_for_prediction(path: Path) -> list[np.ndarray]:
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
