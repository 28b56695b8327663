"""Pictures of a run: loss and metric curves from ``metrics.csv``, confusion matrices."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

__all__ = ["plot_confusion_matrix", "plot_curves", "read_metrics_csv"]


def read_metrics_csv(path: str | Path) -> dict[str, list[tuple[int, float]]]:
    """``{metric: [(epoch, value), ...]}`` from Lightning's CSVLogger file (empty cells skipped)."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            epoch = row.get("epoch")
            if epoch in (None, ""):
                continue
            for key, value in row.items():
                if key in ("epoch", "step") or value in (None, ""):
                    continue
                series[key].append((int(float(epoch)), float(value)))
    return dict(series)


def plot_curves(metrics_csv: str | Path, out_dir: str | Path) -> list[Path]:
    """Write ``loss.png`` (train/val loss per epoch) and ``metrics.png`` (other epoch metrics)."""
    series = read_metrics_csv(metrics_csv)
    out_dir = Path(out_dir)
    written = []
    # Per-epoch series only: "train/loss_epoch" is the epoch mean of "train/loss_step".
    epoch_keys = [k for k in series if not k.endswith("_step") and not k.startswith(("test/", "lr"))]
    groups = {
        "loss.png": [k for k in epoch_keys if k.removesuffix("_epoch").endswith("loss")],
        "metrics.png": [k for k in epoch_keys if not k.removesuffix("_epoch").endswith("loss")],
    }
    for filename, keys in groups.items():
        if not keys:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for key in sorted(keys):
            points = _per_epoch(series[key])
            ax.plot([e + 1 for e, _ in points], [v for _, v in points], marker="o", label=key.removesuffix("_epoch"))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if filename == "loss.png" else "value")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / filename, dpi=100)
        plt.close(fig)
        written.append(out_dir / filename)
    return written


def _per_epoch(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    last: dict[int, float] = {}
    for epoch, value in points:
        last[epoch] = value  # the epoch-level value is logged last
    return sorted(last.items())


def plot_confusion_matrix(
    matrix: torch.Tensor, path: str | Path, *, class_names: Sequence[str] | None = None, title: str = ""
) -> Path:
    """Write a confusion matrix (rows: true class, columns: predicted) as a PNG with counts."""
    matrix = matrix.detach().cpu().to(torch.int64)
    n = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    size = max(4.0, 0.5 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    totals = matrix.sum(1, keepdim=True).clamp(min=1)
    ax.imshow((matrix / totals).numpy(), cmap="Blues", vmin=0, vmax=1)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                share = matrix[i, j].item() / totals[i, 0].item()
                ax.text(j, i, str(matrix[i, j].item()), ha="center", va="center",
                        color="white" if share > 0.5 else "black", fontsize=8)
        ax.set_xticks(range(n), names, rotation=45, ha="right")
        ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = matrix.diag().sum().item() / max(1, matrix.sum().item())
    ax.set_title(f"{title} accuracy {accuracy:.3f}".strip())
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
