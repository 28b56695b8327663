"""The run folder's loggers: a CSV history that survives a resume, and TensorBoard events.

Lightning's CSVLogger deletes an existing ``metrics.csv`` when it starts; a resumed run would then
lose the epochs before the interruption (and its curves). :class:`ResumableCSVLogger` appends
instead. :class:`TensorBoardLogger` flushes its event file at most every few seconds: Lightning
asks every logger to save after each logging step, and each TensorBoard flush syncs the file to
disk, which on a set of thousands of short epochs cost more than the training.
"""

from __future__ import annotations

import csv
import math
import os
import time

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers import TensorBoardLogger as LightningTensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from cnnlstm._io import atomic_write

__all__ = ["ResumableCSVLogger", "TensorBoardLogger"]


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        # Keep the file and adopt its header, so appended rows line up with the old ones.
        if os.path.isfile(self.metrics_file_path):
            _drop_unfinished_last_line(self.metrics_file_path)
            self.metrics_keys = sorted(_header(self.metrics_file_path) or [])

    def save(self) -> None:
        """Append the new rows to ``metrics.csv``; rewrite it whole only when a column is new.

        Appending keeps a save's cost independent of the history's length (a run of thousands of
        short epochs saves once an epoch; rewriting the file each time made a run quadratic in its
        epochs). A new column (any header but the file's) needs a new header: the history plus the
        new rows go to a temporary file renamed over ``metrics.csv`` (Lightning's writer truncates
        and rewrites in place, and a process killed in between lost every earlier row). A kill
        during an append can leave at most the last row unfinished; the next writer to adopt the
        file drops it (:func:`_drop_unfinished_last_line`).
        """
        if not self.metrics:
            return
        self._record_new_keys()
        if _header(self.metrics_file_path) == self.metrics_keys:
            with open(self.metrics_file_path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self.metrics_keys).writerows(self.metrics)
        else:
            rows: list[dict[str, str]] = []
            if os.path.isfile(self.metrics_file_path):
                with open(self.metrics_file_path, newline="") as f:
                    rows = list(csv.DictReader(f))
            with atomic_write(self.metrics_file_path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(rows)
                writer.writerows(self.metrics)
        self.metrics = []


def _header(path: str) -> list[str] | None:
    """The column names on the first line of the CSV file at ``path``; None if there is no file."""
    if not os.path.isfile(path):
        return None
    with open(path, newline="") as f:
        return next(csv.reader(f), [])


def _drop_unfinished_last_line(path: str) -> None:
    """Cut a last line that has no line end (an append cut short by a kill) off the file at ``path``."""
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        # Scan back block by block for the previous line end; keep everything up to it.
        end = size
        while end > 0:
            start = max(0, end - 4096)
            f.seek(start)
            block = f.read(end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                f.truncate(start + cut + 1)
                return
            end = start
        f.truncate(0)


class ResumableCSVLogger(CSVLogger):
    """:class:`~lightning.pytorch.loggers.CSVLogger` that appends to an existing ``metrics.csv``.

    :class:`~cnnlstm.training.callbacks.MetricsHistoryCallback` flushes it whenever a checkpoint is written
    and, on resume, drops the rows of epochs the checkpoint does not hold (they are run again), so
    the history matches the weights: nothing lost, nothing twice.
    """

    def drop_epochs_from(self, epoch: int) -> int:
        """Remove the rows of ``epoch`` and later from ``metrics.csv``; returns how many went."""
        path = os.path.join(self.log_dir, "metrics.csv")
        if not os.path.isfile(path):
            return 0
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            rows = list(reader)
        kept = [r for r in rows if not (r.get("epoch") or "").isdigit() or int(r["epoch"]) < epoch]
        if len(kept) == len(rows):
            return 0
        partial = path + ".partial"
        with open(partial, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(kept)
        os.replace(partial, path)  # never a half-written history
        return len(rows) - len(kept)

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        assert isinstance(self._experiment, ExperimentWriter)  # set only here, to an _AppendingWriter
        return self._experiment


class TensorBoardLogger(LightningTensorBoardLogger):
    """Lightning's TensorBoard logger whose event file is flushed at most every ``flush_every_s``.

    Events logged in between wait in memory (TensorBoard shows them at the next flush); the end of
    a run, a successful one or not, always flushes.

    Example:
        >>> import tempfile
        >>> logger = TensorBoardLogger(tempfile.mkdtemp(), name="", version="", flush_every_s=5.0)
        >>> logger.flush_every_s
        5.0
    """

    def __init__(self, *args: object, flush_every_s: float = 5.0, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.flush_every_s = float(flush_every_s)
        self._flushed_at = -math.inf

    def save(self) -> None:
        now = time.monotonic()
        if now - self._flushed_at >= self.flush_every_s:
            super().save()
            self._flushed_at = now

    def finalize(self, status: str) -> None:
        self._flushed_at = -math.inf  # the last events always reach the file
        super().finalize(status)
