"""Reading series for anomaly detection: ``.csv``, ``.parquet`` or ``.npy``, one series per file.

A file's rows are time steps. Its columns are an optional time column, one or more value
columns (the channels) and an optional label column (0 normal, 1 anomalous):

* ``time_column``: a name, or ``None`` to take a column named like time (``time``,
  ``timestamp``, ...) when there is one. Numbers or dates; they must increase strictly.
* ``value_columns``: names, or ``None`` for every numeric column that is neither time nor label.
* ``label_column``: a name (then required in every file), or ``None`` to take a column named
  ``label``, ``is_anomaly`` or ``anomaly`` when there is one.

A ``.npy`` holds a ``(T,)`` or ``(T, C)`` array; its columns are named ``"0"``, ``"1"``, ...
(so ``label_column="2"`` takes the third as labels). ``path="yahoo"`` or ``path="mitdb"`` reads
the copy of that series shipped with sktime (no download).

Nothing is repaired silently: a missing or infinite value, a timestamp that repeats or goes back,
a label other than 0/1, a channel with one value only and a series too short are each refused
with one line naming the file, the column and the row (the CSV line, the header being line 1).

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "cpu.csv"
    >>> pd.DataFrame({"time": [1, 2, 3], "cpu": [0.5, 0.7, 9.0], "label": [0, 0, 1]}).to_csv(file, index=False)
    >>> (s,) = read_series(file)
    >>> s.channels, s.values.shape, s.labels.tolist(), s.time.tolist()
    (['cpu'], (3, 1), [0, 0, 1], ['1', '2', '3'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm._validation import InputError
from cnnlstm.data.sensor_files import check_values, is_time_name

__all__ = ["BUNDLED", "FILE_SUFFIXES", "LABEL_NAMES", "Series", "list_series_files", "read_series"]

FILE_SUFFIXES = (".csv", ".parquet", ".npy")
#: Column names (lower case) taken as labels when ``label_column`` is not given.
LABEL_NAMES = ("label", "is_anomaly", "anomaly")
#: Series shipped with sktime, readable by name.
BUNDLED = ("yahoo", "mitdb")
_INSTALL_HINT = 'reading CSV and Parquet series needs pandas; install it with: pip install "cnnlstm[anomaly]"'


@dataclass
class Series:
    """One series: ``values (T, C)`` float64, ``labels (T,)`` int8 0/1 or None, ``time (T,)`` as
    strings (the file's own timestamps, or the row index), the channel names and the source."""

    source: str
    values: np.ndarray
    labels: np.ndarray | None
    time: np.ndarray
    channels: list[str]

    @property
    def name(self) -> str:
        return Path(self.source).stem

    def __len__(self) -> int:
        return int(self.values.shape[0])


def _bundled(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f'the bundled series {name!r} ships with sktime: pip install "cnnlstm[timeseries]"')
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / name / f"{name}.csv"


def list_series_files(path: Any, field: str = "path") -> list[Path]:
    """The series files of ``path``: a file, a directory (its files, sorted), a list of them, or a
    bundled name (:data:`BUNDLED`). ``field`` names the argument in errors."""
    items = list(path) if isinstance(path, (list, tuple)) else [path]
    if not items or any(item is None or str(item) == "" for item in items):
        raise InputError(
            f"{field} is empty; give a .csv/.parquet/.npy file, a folder of them or a name in {list(BUNDLED)}",
            field=field,
        )
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if str(item) in BUNDLED and not p.exists():
            files.append(_bundled(str(item)))
        elif p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FILE_SUFFIXES)
            if not found:
                raise InputError(
                    f"{field} folder {str(p)!r} holds no .csv, .parquet or .npy files", field=field
                )
            files.extend(found)
        elif not p.exists():
            raise InputError(
                f"{field} file {str(p)!r} does not exist (names readable without a file: {list(BUNDLED)})",
                field=field,
            )
        elif p.suffix.lower() not in FILE_SUFFIXES:
            raise InputError(f"{field} file {str(p)!r} is not a .csv, .parquet or .npy file", field=field)
        else:
            files.append(p)
    return files


def _table(path: Path) -> tuple[dict[str, np.ndarray], Any]:
    """Columns of ``path`` by name, and a function giving where row ``i`` is (for errors)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)  # never unpickle a user's file
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.dtype.kind not in "biuf":
            raise ValueError(
                f"{path}: a .npy series must be a numeric (T,) or (T, C) array; received {array.dtype} {array.shape}"
            )
        return {str(i): array[:, i] for i in range(array.shape[1])}, lambda row: f"row {row}"
    try:
        import pandas as pd
    except ImportError as err:  # pragma: no cover - pandas comes with the extras
        raise ImportError(_INSTALL_HINT) from err
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except ImportError as err:
            raise ImportError(f'reading {path.name} needs pyarrow: pip install "cnnlstm[anomaly]"') from err
        where = lambda row: f"row {row}"  # noqa: E731
    else:
        frame = pd.read_csv(path)
        where = lambda row: f"line {row + 2}"  # noqa: E731
    return {str(c): frame[c].to_numpy() for c in frame.columns}, where


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (so that messages show ``2``, not ``np.int64(2)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _find(
    columns: dict[str, np.ndarray], wanted: str | None, names: Any, path: Path, field: str
) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise InputError(f"{path}: no column {wanted!r} (columns: {list(columns)})", field=field)
        return wanted
    return next((c for c in columns if names(c)), None)


def _timestamps(path: Path, column: str, raw: np.ndarray, where: Any) -> np.ndarray:
    """The time column as strings, after checking that it increases strictly."""
    if raw.dtype.kind in "biuf":
        check_values(str(path), column, raw.astype(np.float64), where)
        order = raw.astype(np.float64)
    else:
        import pandas as pd

        try:
            parsed = pd.to_datetime(pd.Series(raw), errors="raise")
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{path}: time column {column!r} holds values that are neither numbers nor dates ({err})"
            ) from None
        if parsed.isna().any():
            row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise ValueError(
                f"{path}: time column {column!r} has a missing timestamp at {where(row)}; fill or drop it"
            )
        order = parsed.astype("int64").to_numpy().astype(np.float64)
    steps = np.diff(order)
    if (steps <= 0).any():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        what = "repeats" if steps[row - 1] == 0 else "goes back"
        raise ValueError(
            f"{path}: time column {column!r} {what} at {where(row)} ({_plain(raw[row - 1])!r} then {_plain(raw[row])!r}); "
            "sort the rows and drop duplicated timestamps first (labels and scores are matched by row)"
        )
    return np.asarray([str(v) for v in raw.tolist()], dtype=object)


def read_series(
    path: Any,
    *,
    time_column: str | None = None,
    value_columns: list[str] | None = None,
    label_column: str | None = None,
    field: str = "path",
) -> list[Series]:
    """Read and check every series of ``path`` (see the module); all must have the same channels."""
    out: list[Series] = []
    for file in list_series_files(path, field):
        columns, where = _table(file)
        time = _find(columns, time_column, is_time_name, file, "time_column")
        label = _find(columns, label_column, lambda c: c.strip().lower() in LABEL_NAMES, file, "label_column")
        if value_columns:
            channels = list(value_columns)
            for c in channels:
                _find(columns, c, None, file, "value_columns")
                if c in (time, label):
                    raise InputError(
                        f"{file}: column {c!r} is the {'time' if c == time else 'label'} column, not a value column",
                        field="value_columns",
                    )
        else:
            channels = [c for c, v in columns.items() if c not in (time, label) and v.dtype.kind in "biuf"]
        if not channels:
            raise InputError(
                f"{file}: no numeric value column (columns: {list(columns)}); name them with value_columns",
                field="value_columns",
            )
        for c in channels:
            if columns[c].dtype.kind not in "biuf":
                raise ValueError(
                    f"{file}: value column {c!r} is not numeric (e.g. {columns[c][0]!r}); fix the file or choose other value_columns"
                )
            check_values(str(file), c, columns[c].astype(np.float64), where)
        values = np.stack([columns[c].astype(np.float64) for c in channels], axis=1)
        labels = None
        if label is not None:
            raw = columns[label]
            if raw.dtype.kind == "b":
                raw = raw.astype(np.int64)
            bad = ~np.isin(raw, (0, 1)) if raw.dtype.kind in "biuf" else np.ones(len(raw), bool)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"{file}: label column {label!r} holds {_plain(raw[row])!r} at {where(row)}; labels must be 0 (normal) or 1 (anomaly)"
                )
            labels = raw.astype(np.int8)
        stamps = (
            _timestamps(file, time, columns[time], where)
            if time
            else np.asarray([str(i) for i in range(len(values))], dtype=object)
        )
        if out and channels != out[0].channels:
            raise InputError(
                f"{file}: channels {channels} differ from {out[0].channels} in {out[0].source}; give value_columns",
                field="value_columns",
            )
        out.append(Series(str(file), values, labels, stamps, channels))
    return out
