"""Trivial baselines for the UCR/UEA table: the majority class and 1-NN Euclidean, on the default split.

Beside the deep models and the published anchors, ``docs/results.md`` reports what no learning
and the archive's classic baseline reach on the same inputs:

* **majority**: every test series gets the most frequent class of TRAIN (scikit-learn's
  ``DummyClassifier(strategy="most_frequent")``; a tie goes to the lowest class index);
* **1-NN ED**: each test series gets the class of its nearest TRAIN series by Euclidean distance
  (``KNeighborsClassifier(n_neighbors=1)``, brute force), over all channels at once. The inputs
  are the benchmark's own: ``UCRDataModule(normalize="auto")`` (univariate series z-normalised
  over their own steps, multivariate channels standardised with TRAIN's statistics), unequal
  lengths padded with zeros to the longest series of either split. The archive's published
  1-NN ED figures use the archive's own files (and, for unequal lengths, its own padding), so
  these are ours, labelled as such.

Deterministic (no seed); seconds per set on one CPU thread. Writes
``docs/results/ucr_baselines.json`` (which ``benchmarks/ucr.py --report`` reads) and prints a table:

    PYTHONPATH=/path/to/aeon-data python benchmarks/ucr_baselines.py
    python benchmarks/ucr_baselines.py --datasets GunPoint ArrowHead --json /tmp/baselines.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
from sklearn.dummy import DummyClassifier
from sklearn.neighbors import KNeighborsClassifier

from cnnlstm._io import atomic_write_json
from cnnlstm.data.timeseries import SequenceDataset, UCRDataModule, available_datasets

DEFAULT_JSON = Path(__file__).resolve().parents[1] / "docs" / "results" / "ucr_baselines.json"
METHODS = {
    "majority": "the most frequent class of TRAIN for every test series (DummyClassifier most_frequent)",
    "1nn_ed": (
        "1-NN, Euclidean distance over all channels (KNeighborsClassifier(1), brute force) on the "
        "benchmark's inputs: UCRDataModule(normalize='auto'), zero padding to the longest series"
    ),
}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def flat(x: torch.Tensor, steps: int) -> np.ndarray:
    """``x (N, T, C)`` zero-padded to ``steps`` and flattened to ``(N, steps · C)`` float64."""
    padded = torch.nn.functional.pad(x, (0, 0, 0, steps - x.shape[1]))
    return padded.reshape(len(x), -1).double().numpy()


def baseline_accuracies(
    x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor
) -> dict[str, float]:
    """Test accuracy of the majority class and of 1-NN ED, series ``(N, T, C)`` (padding zero).

    Example:
        >>> x = torch.tensor([[[0.0], [1.0]], [[5.0], [5.0]], [[0.0], [0.0]]])
        >>> y = torch.tensor([0, 1, 1])
        >>> baseline_accuracies(x, y, torch.tensor([[[0.0], [0.9]]]), torch.tensor([0]))
        {'majority': 0.0, '1nn_ed': 1.0}
    """
    steps = max(x_train.shape[1], x_test.shape[1])
    a, b = flat(x_train, steps), flat(x_test, steps)
    y_fit, y_true = y_train.numpy(), y_test.numpy()
    majority = DummyClassifier(strategy="most_frequent").fit(a, y_fit).score(b, y_true)
    nearest = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(a, y_fit).score(b, y_true)
    return {"majority": float(majority), "1nn_ed": float(nearest)}


def run_dataset(name: str) -> dict:
    """The two baselines on ``name``'s default split, with what produced them."""
    start = _cpu_seconds()
    data = UCRDataModule(name=name, val_fraction=0.0, normalize="auto")
    data.setup("fit")
    data.setup("test")
    train, test = data.train_dataset, data.test_dataset
    assert isinstance(train, SequenceDataset) and isinstance(test, SequenceDataset)  # set up above
    row: dict[str, Any] = {"dataset": name, "normalization": data.normalization}
    row |= baseline_accuracies(train.x, train.y, test.x, test.y)
    row |= {
        "n_train": len(train),
        "n_test": len(test),
        "steps_compared": max(train.x.shape[1], test.x.shape[1]),
        "channels": int(train.x.shape[2]),
        "cpu_s": round(_cpu_seconds() - start, 2),
    }
    return row


def table(rows: list[dict]) -> str:
    """Markdown: one row per dataset."""
    lines = ["| dataset | majority | 1-NN ED | normalization | train | test |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['majority']:.3f} | {r['1nn_ed']:.3f} | {r['normalization']} | "
            f"{r['n_train']} | {r['n_test']} |"
        )
    return "\n".join(lines)


def load_baselines(path: Path = DEFAULT_JSON) -> dict[str, dict]:
    """The baselines of a JSON this script wrote, by dataset (empty if the file is missing)."""
    if not path.is_file():
        return {}
    return {r["dataset"]: r for r in json.loads(path.read_text(encoding="utf-8"))["baselines"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shipped = available_datasets()
    parser.add_argument(
        "--datasets", nargs="*", default=shipped, choices=shipped, help="default: all shipped"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [run_dataset(name) for name in args.datasets]
    print(table(rows))
    report = {
        "benchmark": "ucr_baselines",
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "methods": METHODS,
        "split": "the archive's default TRAIN/TEST split",
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "baselines": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.json, report)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
