"""What an anomaly detector's run writes: ``scores.csv``, ``alarms.csv`` and a picture per series.

* ``scores.csv`` — one row per time step: ``series``, ``timestamp`` (the file's own, or the row
  index), ``score``, ``threshold`` (in force at that step), ``alarm`` (0/1) and ``label`` where known;
* ``alarms.csv`` — one row per alarm interval: ``series``, ``start`` / ``end`` / ``peak``
  timestamps, their row indices and ``peak_score``;
* ``anomaly_<series>.png`` — the signal (each channel), the score with its threshold, labelled
  anomalies shaded red and alarms shaded orange.

Files are written atomically; pictures with matplotlib's object API (no pyplot).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlstm._io import atomic_write

__all__ = ["SeriesResult", "plot_anomaly_series", "write_alarms_csv", "write_scores_csv"]


@dataclass
class SeriesResult:
    """One scored series: ``time (T,)`` strings, raw ``values (T, C)``, ``scores``, ``thresholds``
    and ``alarms`` ``(T,)``, ``labels (T,)`` (-1 unknown), alarm intervals as
    ``(start, end, peak, peak_score)`` and the first scored step ``test_start``."""

    name: str
    time: np.ndarray
    values: np.ndarray
    channels: list[str]
    scores: np.ndarray
    thresholds: np.ndarray
    alarms: np.ndarray
    labels: np.ndarray
    intervals: list[tuple[int, int, int, float]]
    test_start: int = 0


def write_scores_csv(results: Sequence[SeriesResult], path: str | Path) -> Path:
    """``scores.csv`` for the steps from each series' ``test_start`` on (see the module)."""
    path = Path(path)
    known = any((r.labels >= 0).any() for r in results)
    with atomic_write(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["series", "timestamp", "score", "threshold", "alarm"] + (["label"] if known else []))
        for r in results:
            for t in range(r.test_start, len(r.scores)):
                row = [r.name, r.time[t], f"{r.scores[t]:.6g}", f"{r.thresholds[t]:.6g}", int(r.alarms[t])]
                writer.writerow(row + ([int(r.labels[t])] if known else []))
    return path


def write_alarms_csv(results: Sequence[SeriesResult], path: str | Path) -> Path:
    """``alarms.csv``: one row per alarm interval (see the module)."""
    path = Path(path)
    with atomic_write(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["series", "start", "end", "peak", "start_index", "end_index", "peak_index", "peak_score"]
        )
        for r in results:
            for start, end, peak, score in r.intervals:
                writer.writerow(
                    [r.name, r.time[start], r.time[end], r.time[peak], start, end, peak, f"{score:.6g}"]
                )
    return path


def _shade(ax: object, mask: np.ndarray, color: str, label: str) -> None:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    for i, (start, end) in enumerate(
        zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    ):
        ax.axvspan(start - 0.5, end - 0.5, color=color, alpha=0.25, lw=0, label=label if i == 0 else None)  # type: ignore[attr-defined]


def plot_anomaly_series(result: SeriesResult, path: str | Path, *, max_channels: int = 4) -> Path:
    """The picture of one scored series (see the module); at most ``max_channels`` channels drawn."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    steps = np.arange(len(result.scores))
    for c, name in enumerate(result.channels[:max_channels]):
        top.plot(steps, result.values[:, c], lw=0.7, label=name)
    bottom.plot(steps, result.scores, lw=0.7, color="black", label="score")
    bottom.plot(steps, result.thresholds, lw=1.0, color="tab:orange", ls="--", label="threshold")
    for ax in (top, bottom):
        if (result.labels > 0).any():
            _shade(ax, result.labels > 0, "tab:red", "labelled")
        _shade(ax, result.alarms.astype(bool), "tab:orange", "alarm")
        if result.test_start > 0:
            ax.axvline(result.test_start - 0.5, color="grey", lw=0.8)
    top.set_title(
        f"{result.name}: signal (training part left of the grey line)" if result.test_start else result.name
    )
    top.legend(loc="upper left", fontsize=7)
    bottom.legend(loc="upper left", fontsize=7)
    bottom.set_xlabel("step")
    bottom.set_ylabel("anomaly score")
    fig.tight_layout()
    path = Path(path)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=90)
    return path
