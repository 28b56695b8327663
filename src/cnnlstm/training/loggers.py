"""A CSV logger that keeps a run's history when the run is resumed in the same folder.

Lightning's CSVLogger deletes an existing ``metrics.csv`` when it starts; a resumed run would then
lose the epochs before the interruption (and its curves). This one appends instead.
"""

from __future__ import annotations

import csv
import os

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from cnnlstm._io import atomic_write

__all__ = ["ResumableCSVLogger"]


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        # Keep the file and adopt its header, so appended rows line up with the old ones.
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as f:
                self.metrics_keys = sorted(next(csv.reader(f), []))

    def save(self) -> None:
        """Write the history plus the new rows to a temporary file and rename it over ``metrics.csv``.

        Lightning's writer truncates the file and writes it again whenever a new column appears
        (e.g. the first epoch-level metric); a process killed in between lost every earlier row.
        Here a kill leaves either the old file or the new one, never a half-written history.
        """
        if not self.metrics:
            return
        self._record_new_keys()
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
