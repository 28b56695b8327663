"""Reading sensor recordings: one ``.csv`` or ``.npz`` file per recording, rows = time steps.

* ``.csv`` — one column per channel, a label column, optionally a subject column and a time
  column (never a channel); which columns are which is a :class:`SensorColumns`;
* ``.npz`` — arrays ``x`` ``(T, C)`` (numbers), ``y`` ``(T,)`` (labels) and optionally
  ``subject`` ``(T,)``; its channels are every column of ``x`` (named ``x0, x1, ...``).

:func:`list_files` resolves a file, a list of files or a directory; :meth:`SensorColumns.read`
turns files into :class:`SensorStream` records, checked. The rules, each an error naming the
file, the column and the line (the CSV's 1-based line, the header being line 1):

* a channel column holds numbers only: one text cell in an otherwise numeric column is an error
  with its value (a column with no number at all is not a channel, with a warning);
* every value is finite (no NaN, no ``inf``) and at most :data:`MAX_ABS` in magnitude, so that
  statistics in float64 and inputs in float32 stay exact enough;
* a time column is never a channel: ``time_column``, and any column named like time
  (:data:`TIME_NAMES`, any case). A file without one whose numeric column increases in every
  row (a timestamp or a saved index) gets a warning naming that column;
* the same channels and subject column in every file.

Windowing and splitting are the data module's (:class:`~cnnlstm.data.sensor.SensorStreamDataModule`).

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "rec.csv"
    >>> pd.DataFrame({"ax": [0.5, 1.5, 0.2], "label": ["walk", "walk", "run"]}).to_csv(file, index=False)
    >>> streams, channels = SensorColumns().read(list_files(file, "path"), field="path", channels=None)
    >>> channels, streams[0].x.shape, streams[0].labels.tolist(), streams[0].subjects
    (['ax'], (3, 1), ['walk', 'walk', 'run'], None)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm._validation import InputError

__all__ = [
    "FILE_SUFFIXES",
    "MAX_ABS",
    "TIME_NAMES",
    "SensorColumns",
    "SensorStream",
    "check_values",
    "is_time_name",
    "list_files",
]

FILE_SUFFIXES = (".csv", ".npz")
#: Column names (compared in lower case, spaces stripped) taken as time, never as a channel.
TIME_NAMES = ("time", "timestamp", "datetime", "date", "t")
#: The largest magnitude a channel value may have: beyond it, squares overflow float64 sums and
#: values lose float32 range, so a channel's statistics would be meaningless.
MAX_ABS = 1e30


@dataclass
class SensorStream:
    """One file's rows: channels ``x (T, C)``, labels ``(T,)`` as strings (or None), subjects (or None).

    ``ignored`` maps each column that is not a channel to the reason (``"label column"``,
    ``"time column"``, ``"not numeric"``, ``"not in channels"``...).
    """

    source: str
    x: np.ndarray
    labels: np.ndarray | None
    subjects: np.ndarray | None
    ignored: dict[str, str] = field(default_factory=dict)


def list_files(path: Any, field: str) -> list[Path]:
    """The ``.csv`` / ``.npz`` files of ``path`` (a file, a list of them, or a directory, sorted).

    ``field`` names the argument in errors (``"path"``, ``"predict_path"``).
    """
    items = list(path) if isinstance(path, (list, tuple)) else [path]
    if not items:
        raise InputError(
            f"{field} is an empty list; give a .csv/.npz file, a list of them or a directory", field=field
        )
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FILE_SUFFIXES)
            if not found:
                raise FileNotFoundError(f"{field} directory {str(p)!r} holds no .csv or .npz files")
            files.extend(found)
        elif not p.exists():
            raise FileNotFoundError(f"{field} file {str(p)!r} does not exist")
        elif p.suffix.lower() not in FILE_SUFFIXES:
            raise InputError(f"{field} file {str(p)!r} is not a .csv or .npz file", field=field)
        else:
            files.append(p)
    return files


def _as_strings(values: np.ndarray) -> np.ndarray:
    return np.asarray([str(v) for v in values.tolist()], dtype=object)


def _csv_line(row: int) -> str:
    """Where 0-based data row ``row`` of a CSV is: its 1-based line (the header is line 1)."""
    return f"line {row + 2}"


def _check_no_missing(name: str, column: str, values: np.ndarray, where: Any = _csv_line) -> None:
    """An error naming the count and the first place (``where(row)``) of missing values."""
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    else:
        missing = np.asarray([v is None or (isinstance(v, float) and np.isnan(v)) for v in values.tolist()])
    if missing.any():
        first = where(int(np.flatnonzero(missing)[0]))
        raise ValueError(
            f"{name}: column {column!r} has {int(missing.sum())} missing (NaN) values (the first at "
            f"{first}); fill or drop those rows first"
        )


def check_values(name: str, column: str, values: np.ndarray, where: Any = _csv_line) -> None:
    """Refuse missing, infinite and absurdly large values, naming ``name``, ``column`` and ``where(row)``.

    Example:
        >>> check_values("rec.csv", "ax", np.array([0.5, np.inf]))
        Traceback (most recent call last):
        ...
        ValueError: rec.csv: column 'ax' holds inf at line 3 (1 value not finite); fix or drop those rows
    """
    _check_no_missing(name, column, values, where)
    infinite = np.isinf(values)
    if infinite.any():
        row, count = int(np.flatnonzero(infinite)[0]), int(infinite.sum())
        raise ValueError(
            f"{name}: column {column!r} holds {float(values[row])!r} at {where(row)} ({count} "
            f"value{'s' if count > 1 else ''} not finite); fix or drop those rows"
        )
    huge = np.abs(values) > MAX_ABS
    if huge.any():
        row = int(np.flatnonzero(huge)[0])
        raise ValueError(
            f"{name}: column {column!r} holds {float(values[row])!r} at {where(row)}, beyond the largest "
            f"magnitude a channel may have ({MAX_ABS:g}); rescale the channel (another unit) or fix the value"
        )


def is_time_name(column: Any) -> bool:
    """True for a column named like time (:data:`TIME_NAMES`, any case).

    Example:
        >>> is_time_name("TimeStamp"), is_time_name("t"), is_time_name("temp")
        (True, True, False)
    """
    return isinstance(column, str) and column.strip().lower() in TIME_NAMES


def _check_column_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{field} must be a column name; received {field}={value!r}", field=field)
    return value


@dataclass(frozen=True)
class SensorColumns:
    """Which CSV columns hold the labels, the subjects and the timestamps; reads files with them.

    Args:
        label_column: each row's label.
        subject_column: each row's subject; used when present.
        time_column: timestamps, never a channel; rows are used in file order.
    """

    label_column: str = "label"
    subject_column: str = "subject"
    time_column: str = "time"

    def __post_init__(self) -> None:
        for argument in ("label_column", "subject_column", "time_column"):
            _check_column_name(argument, getattr(self, argument))

    @property
    def reserved(self) -> tuple[str, str, str]:
        return (self.label_column, self.subject_column, self.time_column)

    def check_channels(self, channels: Sequence[str] | None) -> list[str] | None:
        """``channels`` as a list (None stays None): non-empty, without the label, subject or time column."""
        if channels is None:
            return None
        if isinstance(channels, str) or not isinstance(channels, Sequence) or not channels:
            raise InputError(
                f"channels must be a non-empty list of column names; received channels={channels!r}",
                field="channels",
            )
        reserved = [c for c in channels if c in self.reserved]
        if reserved:
            raise InputError(
                f"channels must not include the label, subject or time column; received {reserved}",
                field="channels",
            )
        return list(channels)

    # -- CSV ---------------------------------------------------------------------------------------
    def is_time(self, column: Any) -> bool:
        """True for ``time_column`` and any column named like time (never a channel by default)."""
        return column == self.time_column or is_time_name(column)

    def _default_channels(self, frame: Any, name: str) -> list[str]:
        """Every numeric column but the label, subject and time columns.

        A column with numbers and some text is an error naming the first text cell; a column with
        no number at all is no channel (a warning names it).
        """
        import pandas as pd

        candidates = [c for c in frame.columns if c not in self.reserved and not self.is_time(c)]
        channels = [c for c in candidates if pd.api.types.is_numeric_dtype(frame[c])]
        skipped = [c for c in candidates if c not in channels]
        for c in skipped:
            if pd.to_numeric(frame[c], errors="coerce").notna().any():
                self._refuse_text(frame, name, c)
        if skipped:
            warnings.warn(
                f"{name}: columns {skipped} hold no numbers and are not used as channels (pass channels= "
                "to choose)",
                stacklevel=2,
            )
        if not channels:
            raise ValueError(f"{name} has no numeric channel columns; its columns are {list(frame.columns)}")
        if not any(self.is_time(c) for c in frame.columns):
            self._warn_time_like(frame, name, channels)
        self._warn_time_named(frame, name)
        return channels

    def _warn_time_named(self, frame: Any, name: str) -> None:
        """Warn about numeric columns named like time that go down somewhere (a 'T' temperature?)."""
        import pandas as pd

        for c in frame.columns:
            if c == self.time_column or not is_time_name(c) or not pd.api.types.is_numeric_dtype(frame[c]):
                continue
            if bool((np.diff(frame[c].to_numpy(dtype=np.float64)) < 0).any()):
                warnings.warn(
                    f"{name}: column {c!r} is named like time, so it is not a channel, but its values go "
                    "down somewhere; if it is a signal, pass channels= with it",
                    stacklevel=3,
                )

    def _warn_time_like(self, frame: Any, name: str, channels: list[str]) -> None:
        """Warn about channels that increase in every row: a timestamp or a saved index, not a signal."""
        for c in channels:
            values = frame[c].to_numpy(dtype=np.float64)
            if len(values) > 2 and bool((np.diff(values) > 0).all()):
                warnings.warn(
                    f"{name}: column {c!r} increases in every row like a time or index column and is used "
                    f"as a channel; set time_column={c!r} if it is time, or pass channels= without it",
                    stacklevel=3,
                )

    @staticmethod
    def _refuse_text(frame: Any, name: str, column: str) -> None:
        """The error for a column that should be numeric and holds text: its first text cell."""
        import pandas as pd

        text = pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()
        row = int(np.flatnonzero(text.to_numpy())[0]) if text.any() else 0
        raise ValueError(
            f"{name}: column {column!r} holds text {frame[column].iloc[row]!r} at {_csv_line(row)}; "
            "channel columns must hold numbers only: fix that cell, or leave the column out of channels"
        )

    def _check_channel_columns(self, frame: Any, name: str, channels: list[str]) -> None:
        import pandas as pd

        missing = [c for c in channels if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks channel columns {missing}; its columns are {list(frame.columns)}")
        for c in channels:
            if not pd.api.types.is_numeric_dtype(frame[c]):
                self._refuse_text(frame, name, c)
            check_values(name, c, frame[c].to_numpy(dtype=np.float64))

    def _ignored(self, frame: Any, channels: list[str]) -> dict[str, str]:
        """Each column that is not a channel, and why."""
        import pandas as pd

        roles = {self.label_column: "label column", self.subject_column: "subject column"}
        out = {}
        for c in frame.columns:
            if c in channels:
                continue
            if c in roles:
                out[str(c)] = roles[c]
            elif self.is_time(c):
                out[str(c)] = "time column"
            elif not pd.api.types.is_numeric_dtype(frame[c]):
                out[str(c)] = "not numeric"
            else:
                out[str(c)] = "not in channels"
        return out

    @staticmethod
    def _strings(frame: Any, column: str, name: str) -> np.ndarray | None:
        if column not in frame.columns:
            return None
        values = frame[column].to_numpy()
        _check_no_missing(name, column, values)
        return _as_strings(values)

    def read_csv(
        self, file: Path, channels: list[str] | None, need_labels: bool
    ) -> tuple[SensorStream, list[str]]:
        """One CSV as a stream, and its channel columns (``channels``, or the default ones)."""
        import pandas as pd

        frame = pd.read_csv(file)
        name = file.name
        if self.label_column not in frame.columns and need_labels:
            raise ValueError(
                f"{name} has no label column {self.label_column!r}; its columns are "
                f"{list(frame.columns)} (set label_column)"
            )
        if channels is None:
            channels = self._default_channels(frame, name)
        self._check_channel_columns(frame, name, channels)
        labels = self._strings(frame, self.label_column, name)
        subjects = self._strings(frame, self.subject_column, name)
        x = frame[channels].to_numpy(dtype=np.float64)
        return SensorStream(name, x, labels, subjects, self._ignored(frame, channels)), list(channels)

    # -- NPZ ---------------------------------------------------------------------------------------
    @staticmethod
    def read_npz(file: Path, need_labels: bool) -> SensorStream:
        """One ``.npz`` (arrays ``x``, ``y``, optionally ``subject``) as a stream."""
        name = file.name
        with np.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        if "x" not in arrays or ("y" not in arrays and need_labels):
            raise ValueError(f"{name} must hold arrays 'x' (T, C) and 'y' (T,); it holds {sorted(arrays)}")
        x = arrays["x"]
        if x.ndim != 2 or x.dtype.kind not in "biuf":
            raise ValueError(f"{name}: 'x' must be a 2-D numeric array (T, C); received {x.dtype} {x.shape}")
        x = x.astype(np.float64)
        for j in range(x.shape[1]):
            check_values(name, f"x{j}", x[:, j], where=lambda row: f"row {row} of 'x'")
        columns: dict[str, np.ndarray | None] = {"y": None, "subject": None}
        for key in columns:
            if key in arrays:
                values = arrays[key]
                if values.shape != (len(x),):
                    raise ValueError(f"{name}: {key!r} has shape {values.shape} but 'x' has {len(x)} rows")
                _check_no_missing(name, key, values, where=lambda row, key=key: f"row {row} of {key!r}")
                columns[key] = _as_strings(values)
        return SensorStream(name, x, columns["y"], columns["subject"])

    # -- files -------------------------------------------------------------------------------------
    def read(
        self,
        files: list[Path],
        *,
        field: str,
        channels: list[str] | None,
        training_files: Sequence[Path] = (),
    ) -> tuple[list[SensorStream], list[str]]:
        """Read ``files`` with ``channels`` (None: the first file's numeric columns, ``x0, ...`` for .npz).

        ``field`` (``"path"`` or ``"predict_path"``) names the files in errors; only ``"path"``
        files need labels. ``training_files`` must be of the same kind (all .csv or all .npz).
        """
        need_labels = field == "path"
        kinds = sorted({f.suffix.lower() for f in [*files, *training_files]})
        if len(kinds) > 1:
            raise ValueError(
                f"{field} mixes {' and '.join(kinds)} files; use one kind, the same as the training files"
            )
        streams: list[SensorStream] = []
        for file in files:
            if file.suffix.lower() == ".csv":
                stream, channels = self.read_csv(file, channels, need_labels)
            else:
                stream = self.read_npz(file, need_labels)
                if channels is None:
                    channels = [f"x{i}" for i in range(stream.x.shape[1])]
            if stream.x.shape[1] != len(channels):
                raise ValueError(
                    f"{stream.source} has {stream.x.shape[1]} channels but the training data has "
                    f"{len(channels)} ({channels})"
                )
            streams.append(stream)
        assert channels is not None
        self._check_subject_columns(streams)
        return streams, channels

    def _check_subject_columns(self, streams: list[SensorStream]) -> None:
        with_subjects = [s.subjects is not None for s in streams]
        if any(with_subjects) and not all(with_subjects):
            lacking = streams[with_subjects.index(False)].source
            raise ValueError(
                f"{lacking} has no subject column {self.subject_column!r} while other files do; "
                "give every file one or none"
            )
