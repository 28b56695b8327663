"""The UCR table as a picture: each model's seeds and mean, the best deep anchor, the target, baselines.

One row per dataset; along it, the test accuracy of every run (small dots, one colour per model)
and each model's mean over its seeds (a larger marker), the best published deep-learning anchor
(a black star), the target (a short vertical bar at the anchor minus 0.02) and our 1-NN Euclidean
and majority-class baselines (grey). ``benchmarks/ucr.py --report --plot PATH`` draws it from the
results JSON; nothing is trained.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.artist import Artist

COLOURS = {
    "lstm_fcn": "tab:blue",
    "mlstm_fcn": "tab:orange",
    "cnn_bilstm": "tab:green",
    "deepconvlstm": "tab:red",
}


def plot_accuracies(
    runs: list[dict],
    datasets: list[str],
    models: list[str],
    anchors: dict[str, tuple[str, float] | None],
    targets: dict[str, float | None],
    baselines: dict[str, dict],
    path: str | Path,
) -> Path:
    """Draw the figure to ``path`` (PNG) and return it.

    ``runs`` are rows of the results JSON (``dataset``, ``model``, ``test_acc``); ``anchors`` maps a
    dataset to ``(method, accuracy)`` of its best deep anchor; ``targets`` to its target; ``baselines``
    to ``{"1nn_ed": acc, "majority": acc}``. Datasets without any of these simply lack the marker.

    Example:
        >>> runs = [{"dataset": "GunPoint", "model": "lstm_fcn", "test_acc": a} for a in (0.99, 1.0)]
        >>> import tempfile, os
        >>> out = plot_accuracies(runs, ["GunPoint"], ["lstm_fcn"], {"GunPoint": ("FCN", 1.0)},
        ...     {"GunPoint": 0.98}, {"GunPoint": {"1nn_ed": 0.913, "majority": 0.493}},
        ...     os.path.join(tempfile.mkdtemp(), "ucr.png"))
        >>> out.stat().st_size > 0
        True
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 0.45 * len(datasets) + 1.6))
    ax = fig.subplots()
    spread = 0.5 / max(1, len(models))
    for row, dataset in enumerate(datasets):
        y = len(datasets) - 1 - row
        for k, model in enumerate(models):
            accs = [r["test_acc"] for r in runs if r["dataset"] == dataset and r["model"] == model]
            if not accs:
                continue
            offset = (k - (len(models) - 1) / 2) * spread
            colour = COLOURS.get(model, f"C{k}")
            ax.scatter(accs, [y + offset] * len(accs), s=10, color=colour, alpha=0.5, linewidths=0)
            ax.scatter(
                [statistics.mean(accs)], [y + offset], s=50, color=colour, marker="D", edgecolors="black"
            )
        anchor, goal, base = anchors.get(dataset), targets.get(dataset), baselines.get(dataset, {})
        if anchor is not None:
            ax.scatter([anchor[1]], [y], s=90, color="black", marker="*", zorder=3)
        if goal is not None:
            ax.plot([goal, goal], [y - 0.35, y + 0.35], color="black", lw=1.2)
        if "1nn_ed" in base:
            ax.scatter([base["1nn_ed"]], [y], s=40, color="grey", marker="x")
        if "majority" in base:
            ax.scatter([base["majority"]], [y], s=60, color="grey", marker="|")
    ax.set_yticks(range(len(datasets)), list(reversed(datasets)))
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("test accuracy (the archive's default split)")
    ax.grid(axis="x", alpha=0.3)
    handles: list[Artist] = [
        ax.scatter(
            [],
            [],
            s=50,
            color=COLOURS.get(m, f"C{k}"),
            marker="D",
            edgecolors="black",
            label=f"{m} (mean; dots: seeds)",
        )
        for k, m in enumerate(models)
    ]
    handles += [
        ax.scatter([], [], s=90, color="black", marker="*", label="best deep anchor (published)"),
        ax.plot([], [], color="black", lw=1.2, label="target (anchor - 0.02)")[0],
        ax.scatter([], [], s=40, color="grey", marker="x", label="1-NN Euclidean (ours)"),
        ax.scatter([], [], s=60, color="grey", marker="|", label="majority class (ours)"),
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.3 / len(datasets)),
        ncol=2,
        fontsize=8,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path
