"""The few lines printed at the end of ``cnnlstm fit / validate / test``, read from summary.json.

The block shows what the run folder's ``summary.json`` recorded (written by
:class:`~cnnlstm.training.callbacks.RunArtifacts`), so the screen and the file never disagree:
the best epoch, the main metrics, the best checkpoint, and where the summary and pictures are.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

__all__ = ["format_run_summary"]

_SPLIT = {"fit": "val", "validate": "val", "test": "test"}
_METRICS_KEY = {"fit": "fit_metrics", "validate": "validate_metrics", "test": "test_metrics"}


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(value) if isinstance(value, int) else f"{value:.4f}"


def _metrics_line(metrics: dict[str, Any], split: str) -> str:
    """``loss 0.1234  acc 0.8125 ...`` of one split, loss first."""
    prefix = f"{split}/"
    names = sorted((k for k in metrics if k.startswith(prefix)), key=lambda k: (k != f"{split}/loss", k))
    return "  ".join(f"{k[len(prefix) :]} {_number(metrics[k])}" for k in names)


def _best_epoch(root: Path, summary: dict[str, Any]) -> int | None:
    """The epoch of the best checkpoint: the metrics.csv row whose monitored loss is the best score."""
    best = summary.get("best_score")
    monitor = summary.get("best_monitor") or "val/loss"
    path = root / "metrics.csv"
    if isinstance(best, (int, float)) and path.is_file():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                value = row.get(monitor) or row.get(f"{monitor}_epoch") or ""
                epoch = row.get("epoch") or ""
                if value and epoch and math.isclose(float(value), best, rel_tol=1e-5, abs_tol=1e-7):
                    return int(float(epoch))
    match = re.search(r"epoch=?(\d+)", Path(str(summary.get("best_checkpoint") or "")).name)
    return int(match.group(1)) if match else None


def _pictures(root: Path, summary: dict[str, Any], command: str) -> list[str]:
    if command == "fit":
        return list(summary.get("plots", []))
    name, split = ("test", "test") if command == "test" else ("validate", "val")
    confusion = [f"confusion_{split}.png"] if (root / f"confusion_{split}.png").is_file() else []
    return confusion + list(summary.get(f"{name}_pictures", []))


def _baselines_lines(summary: dict[str, Any], command: str) -> list[tuple[str, str]]:
    baselines = summary.get(f"{'test' if command == 'test' else 'validate'}_baselines") or {}
    return [
        (f"baseline {name}", "  ".join(f"{k} {_number(v)}" for k, v in values.items()))
        for name, values in baselines.items()
    ]


def _per_class_line(summary: dict[str, Any], command: str) -> list[tuple[str, str]]:
    key = f"{'test' if command == 'test' else 'validate'}_per_class"
    report = summary.get(key) if command != "fit" else None
    if not report:
        return []
    worst = min(report, key=lambda name: report[name].get("f1", 0.0))
    text = f"lowest F1 {worst!r} {_number(report[worst].get('f1'))}; every class in summary.json's {key}"
    return [("per class", text)]


def _data_lines(summary: dict[str, Any], command: str) -> list[tuple[str, str]]:
    """What an evaluation read: its source, size and fingerprint, and any overlap with the fit."""
    data = summary.get(f"{command}_data") if command in ("test", "validate") else None
    if not isinstance(data, dict):
        return []
    source = next((str(data[k]) for k in ("root", "path", "manifest", "name") if data.get(k)), "")
    size = f"{data['samples']} samples" if isinstance(data.get("samples"), int) else ""
    fp = f"fingerprint {data['fingerprint']}" if data.get("fingerprint") else ""
    rows = [("data", ", ".join(part for part in (source, size, fp) if part) or "see summary.json")]
    seen = data.get("overlap")
    if isinstance(seen, dict) and seen.get("train"):
        rows.append(
            ("WARNING", f"{seen['train']} of these samples were used for training (--allow_train_overlap)")
        )
    if isinstance(seen, dict) and command == "test" and seen.get("val"):
        rows.append(
            ("note", f"{seen['val']} of these samples are the validation data that chose the checkpoint")
        )
    if isinstance(seen, str):
        rows.append(("overlap", seen))
    return rows


def _skipped_lines(summary: dict[str, Any], command: str) -> list[tuple[str, str]]:
    """How many input files the run left out, and (speech) transcripts the vocabulary cannot spell."""
    key = "skipped" if command == "fit" else f"{'test' if command == 'test' else 'validate'}_skipped"
    count = summary.get(f"{key}_files")
    rows = []
    if isinstance(count, int) and count:
        rows.append(("skipped", f"{count} input file(s) or entries, with reasons in summary.json {key!r}"))
    data = summary.get("data" if command == "fit" else f"{command}_data")
    outside = data.get("outside_vocabulary") if isinstance(data, dict) else None
    if isinstance(outside, dict) and outside:
        parts = [f"{v.get('utterances')} {k} ({v.get('characters')!r})" for k, v in outside.items()]
        rows.append(("note", "transcripts with characters outside the vocabulary, kept: " + ", ".join(parts)))
    return rows


def format_run_summary(root: str | Path, command: str) -> str:
    """The end-of-run block of ``command`` (fit, validate, test) from ``root/summary.json``.

    Returns ``""`` when the folder has no summary (nothing was recorded, nothing to show).

    Example:
        >>> import json, tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / "summary.json").write_text(json.dumps({"test_metrics": {"test/acc": 0.5}}))
        >>> format_run_summary(root, "test").splitlines()[1].split()
        ['test', 'acc', '0.5000']
    """
    root = Path(root)
    path = root / "summary.json"
    if command not in _SPLIT or not path.is_file():
        return ""
    summary = json.loads(path.read_text())
    split = _SPLIT[command]
    rows: list[tuple[str, str]] = []
    if command == "fit":
        epoch = _best_epoch(root, summary)
        if epoch is not None:
            score = summary.get("best_score")
            of = f" of {summary['epochs']}" if isinstance(summary.get("epochs"), int) else ""
            # counted from 1 like the per-epoch lines (the checkpoint's file name counts from 0)
            monitor = summary.get("best_monitor") or "val/loss"
            rows.append(("best epoch", f"{epoch + 1}{of}  ({monitor} {_number(score)})"))
    metrics = _metrics_line(summary.get(_METRICS_KEY[command]) or {}, split)
    if metrics:
        rows.append((split, metrics))
    rows += _baselines_lines(summary, command) + _per_class_line(summary, command)
    rows += _data_lines(summary, command) + _skipped_lines(summary, command)
    checkpoint = summary.get("best_checkpoint") if command == "fit" else summary.get(f"{command}_checkpoint")
    if checkpoint:
        rows.append(("best checkpoint" if command == "fit" else "checkpoint", str(checkpoint)))
    rows.append(("summary", str(path)))
    pictures = _pictures(root, summary, command)
    if pictures:
        rows.append(("pictures", ", ".join(pictures) + f"  (in {root})"))
    width = max(len(label) for label, _ in rows)
    return "\n".join([f"{command} summary"] + [f"  {label:<{width + 2}} {text}" for label, text in rows])
