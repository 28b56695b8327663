"""What each normalisation leaves to tell the classes apart, on the TRAIN split only.

For every classification set sktime and aeon ship (or ``--datasets``), the training series are
normalised two ways — each channel standardised with the training set's statistics
(``channel``), each series and channel z-normalised over its own steps (``series``) — and a
leave-one-out 1-nearest-neighbour classifier (Euclidean over all channels, every series resampled
linearly to the longest length) is scored on each. No test split is read and nothing is trained.

This is a diagnostic, not the presets' rule: it shows where per-series normalisation loses the
information a set's classes differ by (a level, a scale), which is what recipe v3 of
docs/results.md is about; it does not say whether a network trains well on either.

    python benchmarks/ucr_normalisation_check.py
    python benchmarks/ucr_normalisation_check.py --datasets JapaneseVowels PLAID

Prints a table and writes ``docs/results/ucr_normalisation_check.json`` (``--json``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

from cnnlstm.data.series_normalization import channel_stats, normalize_padded, series_stats
from cnnlstm.data.timeseries import UCRDataModule, available_datasets

ROOT = Path(__file__).resolve().parents[1]


def resampled(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``x (N, T, C)`` with each series' real steps stretched linearly over all ``T`` steps."""
    n, t, c = x.shape
    grid = np.linspace(0.0, 1.0, t)
    out = np.empty((n, t, c))
    for i, steps in enumerate(lengths):
        source = np.linspace(0.0, 1.0, steps) if steps > 1 else np.zeros(1)
        for k in range(c):
            out[i, :, k] = np.interp(grid, source, x[i, :steps, k]) if steps > 1 else x[i, 0, k]
    return out


def leave_one_out_1nn(x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of 1-NN (Euclidean) on ``x (N, ...)``, each case classified by the others."""
    flat = x.reshape(len(x), -1)
    squared = (flat**2).sum(axis=1)
    distances = squared[:, None] + squared[None, :] - 2.0 * flat @ flat.T
    np.fill_diagonal(distances, np.inf)
    return float((y[distances.argmin(axis=1)] == y).mean())


def check(name: str) -> dict:
    train = UCRDataModule(name=name, val_fraction=0.0, normalize="none").make_dataset("train")
    x, y, lengths = train.x.double().numpy(), train.y.numpy(), train.lengths.numpy()
    scores = {}
    for mode, stats in (("channel", channel_stats), ("series", series_stats)):
        mean, std = stats(x, lengths)
        scores[mode] = leave_one_out_1nn(resampled(normalize_padded(x, lengths, mean, std), lengths), y)
    n, t, c = x.shape
    return {"dataset": name, "cases": n, "length": t, "channels": c, "loo_1nn": scores}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="default: every shipped set")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "docs" / "results" / "ucr_normalisation_check.json"
    )
    args = parser.parse_args(argv)
    names = args.datasets or available_datasets()
    rows = [check(name) for name in names]
    print("| dataset | train cases | length | channels | LOO 1-NN, channel | LOO 1-NN, series |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        s = r["loo_1nn"]
        print(
            f"| {r['dataset']} | {r['cases']} | {r['length']} | {r['channels']} | {s['channel']:.3f} | {s['series']:.3f} |"
        )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    record = {"commit": commit.stdout.strip() or "unknown", "split": "TRAIN only", "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
