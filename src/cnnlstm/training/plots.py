"""Pictures of a run: loss and metric curves, confusion matrices, forecast frames and horizons.

Figures are built with matplotlib's object API (:class:`matplotlib.figure.Figure`), not pyplot, so
drawing here never selects or switches the user's matplotlib backend and leaves no open figures.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "frames_to_images",
    "plot_attention",
    "plot_confusion_matrix",
    "plot_ctc_alignment",
    "plot_curves",
    "plot_forecast_grid",
    "plot_horizon_metrics",
    "read_metrics_csv",
    "save_forecast_gif",
]


def _subplots(*grid: int, **kwargs: Any) -> tuple[Any, Any]:
    """A new figure and its axes, like ``pyplot.subplots`` but without pyplot's global state."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize", None))
    return fig, fig.subplots(*grid, **kwargs)


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
        fig, ax = _subplots(figsize=(6, 4))
        for key in sorted(keys):
            points = _per_epoch(series[key])
            ax.plot(
                [e + 1 for e, _ in points],
                [v for _, v in points],
                marker="o",
                label=key.removesuffix("_epoch"),
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if filename == "loss.png" else "value")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / filename, dpi=100)
        written.append(out_dir / filename)
    return written


def _per_epoch(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    last: dict[int, float] = {}
    for epoch, value in points:
        last[epoch] = value  # the epoch-level value is logged last
    return sorted(last.items())


# Counts in the cells and class names on the axes up to this many classes; beyond, the cells are
# too small to read and the picture shows the pattern only.
MAX_LABELLED_CLASSES = 30
# The figure's side in inches (at 100 dpi, 1600 pixels): the picture's memory stays bounded
# (about 10 MB of pixels) however many classes there are; 200 classes took 3.5 GB uncapped.
MAX_CONFUSION_INCHES = 16.0


def plot_confusion_matrix(
    matrix: torch.Tensor, path: str | Path, *, class_names: Sequence[str] | None = None, title: str = ""
) -> Path:
    """Write a confusion matrix (rows: true class, columns: predicted) as a PNG.

    Up to :data:`MAX_LABELLED_CLASSES` classes the cells show counts and the axes class names;
    the figure grows with the classes up to :data:`MAX_CONFUSION_INCHES` a side.

    Example:
        >>> import tempfile
        >>> out = plot_confusion_matrix(torch.eye(3, dtype=torch.int64), Path(tempfile.mkdtemp()) / "cm.png")
        >>> out.read_bytes()[:4] == b"\\x89PNG"
        True
    """
    matrix = matrix.detach().cpu().to(torch.int64)
    n = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    size = min(max(4.0, 0.5 * n + 2), MAX_CONFUSION_INCHES)
    fig, ax = _subplots(figsize=(size, size))
    totals = matrix.sum(1, keepdim=True).clamp(min=1)
    ax.imshow((matrix / totals).numpy(), cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    if n <= MAX_LABELLED_CLASSES:
        for i in range(n):
            for j in range(n):
                share = matrix[i, j].item() / totals[i, 0].item()
                ax.text(
                    j,
                    i,
                    str(matrix[i, j].item()),
                    ha="center",
                    va="center",
                    color="white" if share > 0.5 else "black",
                    fontsize=8,
                )
        ax.set_xticks(range(n), names, rotation=45, ha="right")
        ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted" if n <= MAX_LABELLED_CLASSES else f"predicted ({n} classes)")
    ax.set_ylabel("true")
    accuracy = matrix.diag().sum().item() / max(1, matrix.sum().item())
    ax.set_title(f"{title} accuracy {accuracy:.3f}".strip())
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def frames_to_images(frames: torch.Tensor) -> torch.Tensor:
    """``(..., C, H, W)`` floats in [0, 1] → uint8 ``(..., H, W, 3)`` (grey frames repeated)."""
    frames = frames.detach().float().cpu().clamp(0, 1)
    if frames.shape[-3] == 1:
        frames = frames.expand(*frames.shape[:-3], 3, *frames.shape[-2:])
    return (frames[..., :3, :, :] * 255).round().to(torch.uint8).movedim(-3, -1)


def plot_forecast_grid(
    *, inputs: torch.Tensor, targets: torch.Tensor | None, predictions: torch.Tensor, path: str | Path
) -> Path:
    """A PNG grid: for each sequence a row of inputs, then the true (if known) and predicted future.

    Shapes ``(N, T_in, C, H, W)``, ``(N, T_out, C, H, W)``, ``(N, T_out', C, H, W)``, in [0, 1].
    """
    rows = (
        [("input", inputs)]
        + ([("target", targets)] if targets is not None else [])
        + [("predicted", predictions)]
    )
    n, per = inputs.shape[0], len(rows)
    cols = max(frames.shape[1] for _, frames in rows)
    fig, axes = _subplots(per * n, cols, figsize=(cols * 0.9, per * n * 0.95), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        for r, (label, frames) in enumerate(rows):
            images = frames_to_images(frames[i])
            for t in range(images.shape[0]):
                ax = axes[per * i + r, t]
                ax.imshow(images[t].numpy())
                if t == 0:
                    ax.set_title(f"{label} {i}", fontsize=7, loc="left")
    fig.tight_layout(pad=0.2)
    path = Path(path)
    fig.savefig(path, dpi=80)
    return path


def save_forecast_gif(
    *, inputs: torch.Tensor, targets: torch.Tensor, predictions: torch.Tensor, path: str | Path, fps: int = 4
) -> Path:
    """An animated GIF: each frame shows, per sequence, the truth (left) beside the model (right).

    The input frames play first on both sides, then the target and the prediction.
    """
    from PIL import Image

    truth = torch.cat([inputs, targets], dim=1)  # (N, T, C, H, W)
    model = torch.cat([inputs, predictions], dim=1)
    pair = torch.cat([truth, torch.ones_like(truth[..., :2]), model], dim=-1)  # a white bar between
    strip = torch.cat(list(pair.unbind(0)), dim=-2)  # sequences stacked vertically: (T, C, N·H, W')
    images = frames_to_images(strip)
    scale = max(1, 128 // max(1, inputs.shape[-2]))
    frames = [
        Image.fromarray(img.numpy()).resize(
            (img.shape[1] * scale, img.shape[0] * scale), Image.Resampling.NEAREST
        )
        for img in images
    ]
    path = Path(path)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return path


def plot_horizon_metrics(per_horizon: dict[str, list[float]], path: str | Path) -> Path:
    """Per-horizon MSE and SSIM (and MAE/PSNR when present) against the future frame index."""
    names = [m for m in ("mse", "ssim", "mae", "psnr") if m in per_horizon]
    fig, axes = _subplots(1, len(names), figsize=(3.2 * len(names), 3), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = per_horizon[name]
        ax.plot(range(1, len(values) + 1), values, marker="o")
        ax.set_xlabel("future frame")
        ax.set_title(name.upper() + (" per frame" if name in ("mse", "mae") else ""))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def plot_ctc_alignment(
    *,
    features: Sequence[torch.Tensor],
    paths: Sequence[Sequence[int]],
    references: Sequence[str],
    hypotheses: Sequence[str],
    names: Sequence[str],
    vocabulary: Sequence[str],
    subsampling: int,
    path: str | Path,
) -> Path:
    """Spectrograms ``(T, F)`` with the CTC best path under each (the token of every output frame,
    blanks as a grey tick), titled with the reference and the greedy transcript."""
    rows = len(features)
    fig, axes = _subplots(
        2 * rows, 1, figsize=(10, 2.6 * rows), squeeze=False, gridspec_kw={"height_ratios": [3, 1] * rows}
    )
    for k in range(rows):
        spec, strip = axes[2 * k, 0], axes[2 * k + 1, 0]
        frames = features[k].shape[0]
        spec.imshow(
            features[k].T.numpy(),
            origin="lower",
            aspect="auto",
            cmap="magma",
            extent=(0, frames, 0, features[k].shape[1]),
        )
        spec.set_ylabel("mel band")
        spec.set_title(
            f"{names[k]}   ref: {references[k]!r}   hyp: {hypotheses[k]!r}", fontsize=8, loc="left"
        )
        spec.set_xticks([])
        for t, token in enumerate(paths[k]):
            x = (t + 0.5) * subsampling
            if token == 0:
                strip.plot([x, x], [0.4, 0.6], color="0.75", lw=0.8)
            else:
                label = vocabulary[token] if token < len(vocabulary) else "?"
                strip.text(x, 0.5, "␣" if label == " " else label, ha="center", va="center", fontsize=8)
        strip.set_xlim(0, frames)
        strip.set_ylim(0, 1)
        strip.set_yticks([])
        strip.set_xlabel("feature frame (10 ms)" if k == rows - 1 else "")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def plot_attention(
    weights: torch.Tensor,
    path: str | Path,
    *,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    title: str = "",
) -> Path:
    """Write a translation's attention matrix (rows: output tokens, columns: source tokens) as a PNG.

    Example:
        >>> import tempfile
        >>> w = torch.softmax(torch.randn(3, 4), -1)
        >>> out = plot_attention(w, Path(tempfile.mkdtemp()) / "a.png", source_tokens="abc.", target_tokens="xy.")
        >>> out.read_bytes()[:4] == b"\\x89PNG"
        True
    """
    matrix = weights.detach().float().cpu()[: len(target_tokens), : len(source_tokens)]
    rows, cols = matrix.shape
    fig, ax = _subplots(figsize=(min(2 + 0.3 * cols, 16), min(1.5 + 0.3 * rows, 16)))
    ax.imshow(matrix.numpy(), cmap="Greys", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    ax.set_xticks(range(cols), list(source_tokens)[:cols], rotation=90, fontsize=7)
    ax.set_yticks(range(rows), list(target_tokens)[:rows], fontsize=7)
    ax.set_xlabel("source tokens")
    ax.set_ylabel("output tokens")
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path
