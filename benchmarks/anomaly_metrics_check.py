"""Cross-check of cnnlstm.metrics.anomaly against reference implementations (TSB-AD 1.5, prts 1.0).

The references pin numpy < 2 and pull a large stack, so they live in a throwaway environment, never
in the project's. Two steps, one file:

    python3 -m venv /tmp/vusenv
    /tmp/vusenv/bin/pip install --no-deps tsb-ad==1.5 prts==1.0.0.3
    /tmp/vusenv/bin/pip install numpy scikit-learn scipy pandas
    /tmp/vusenv/bin/python benchmarks/anomaly_metrics_check.py reference --out /tmp/anomaly_ref.json
    python benchmarks/anomaly_metrics_check.py compare --reference /tmp/anomaly_ref.json

The cases (labels and scores) are generated from fixed seeds by :func:`cases` in both steps, plus
sktime's mitdb.csv labels with a random score when ``--mitdb`` points at the file. ``compare``
prints the largest absolute difference per metric and writes a JSON next to the reference.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def cases(mitdb: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """name -> (labels, scores, VUS window), seeded."""
    out: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    for seed in range(12):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(200, 1200))
        labels = np.zeros(n, dtype=int)
        for _ in range(int(rng.integers(1, 5))):
            start = int(rng.integers(0, n - 30))
            labels[start : start + int(rng.integers(1, 30))] = 1
        kind = ("random", "noisy", "shifted", "ties")[seed % 4]
        if kind == "random":
            scores = rng.random(n)
        elif kind == "noisy":
            scores = labels + rng.normal(0, 0.7, n)
        elif kind == "shifted":  # a detector that fires a few points late
            scores = np.roll(labels.astype(float), 5) + rng.normal(0, 0.3, n)
        else:  # many equal scores
            scores = np.round(labels + rng.normal(0, 0.5, n), 1)
        out[f"{kind}-{seed}"] = (labels, scores, int(rng.choice([0, 10, 37, 100])))
    if mitdb:
        import pandas as pd

        labels = pd.read_csv(mitdb)["label"].to_numpy().astype(int)
        out["mitdb-random"] = (labels, np.random.default_rng(0).random(labels.size), 100)
    return out


def _reference(args: argparse.Namespace) -> None:
    import prts
    from sklearn.metrics import f1_score
    from TSB_AD.evaluation.basic_metrics import basic_metricor
    from TSB_AD.evaluation.metrics import get_metrics

    out: dict[str, Any] = {}
    for name, (labels, scores, window) in cases(args.mitdb).items():
        started = time.perf_counter()
        m = get_metrics(scores, labels, slidingWindow=window)
        grader = basic_metricor()
        thresholds = np.linspace(scores.min(), scores.max(), 100)
        pa = [
            f1_score(labels, grader._adjust_predicts(scores, labels, pred=(scores > t).astype(int)))
            for t in thresholds
        ]
        pred = (scores > np.quantile(scores, 0.9)).astype(int)
        out[name] = {
            "vus_pr": m["VUS-PR"],
            "vus_roc": m["VUS-ROC"],
            "auc_pr": m["AUC-PR"],
            "auc_roc": m["AUC-ROC"],
            "range_f1": m["R-based-F1"],
            "point_f1": m["Standard-F1"],
            "pa_f1_at_tsb_thresholds": max(pa),
            # prts (Tatbul et al.'s authors' package): alpha=0, flat bias, reciprocal cardinality
            "prts_precision": float(
                prts.ts_precision(labels, pred, alpha=0.0, cardinality="reciprocal", bias="flat")
            ),
            "prts_recall": float(
                prts.ts_recall(labels, pred, alpha=0.0, cardinality="reciprocal", bias="flat")
            ),
            "seconds": time.perf_counter() - started,
        }
        print(name, {k: round(v, 4) for k, v in out[name].items()}, flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1))


def _compare(args: argparse.Namespace) -> None:
    from sklearn.metrics import f1_score

    from cnnlstm.metrics import anomaly_metrics, point_adjust, range_precision_recall

    reference = json.loads(Path(args.reference).read_text())
    diffs: dict[str, list[float]] = {}
    rows = {}
    for name, (labels, scores, window) in cases(args.mitdb).items():
        ref = reference[name]
        started = time.perf_counter()
        ours = anomaly_metrics(labels, scores, window=window)
        seconds = time.perf_counter() - started
        thresholds = np.linspace(scores.min(), scores.max(), 100)
        ours["pa_f1_at_tsb_thresholds"] = max(
            f1_score(labels, point_adjust(labels, scores > t)) for t in thresholds
        )
        pred = (scores > np.quantile(scores, 0.9)).astype(int)
        ours["prts_precision"], ours["prts_recall"] = range_precision_recall(labels, pred, alpha=0.0)
        for key in (
            "vus_pr",
            "vus_roc",
            "auc_pr",
            "auc_roc",
            "range_f1",
            "point_f1",
            "pa_f1_at_tsb_thresholds",
            "prts_precision",
            "prts_recall",
        ):
            diffs.setdefault(key, []).append(abs(ours[key] - ref[key]))
        rows[name] = {"ours": ours, "reference": ref, "our_seconds": seconds}
    print(f"{'metric':26s} {'cases':>5s} {'max |ours - reference|':>24s}")
    for key, values in diffs.items():
        print(f"{key:26s} {len(values):5d} {max(values):24.2e}")
    print(
        "point-adjusted F1 (ours, best over all thresholds) >= TSB-AD's 100 thresholds:",
        all(
            r["ours"]["point_adjusted_f1"] >= r["reference"]["pa_f1_at_tsb_thresholds"] - 1e-12
            for r in rows.values()
        ),
    )
    out = Path(args.reference).with_name("anomaly_metrics_check.json")
    out.write_text(
        json.dumps({"max_abs_diff": {k: max(v) for k, v in diffs.items()}, "cases": rows}, indent=1)
    )
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    ref = sub.add_parser("reference", help="run TSB-AD and prts (in the throwaway environment)")
    ref.add_argument("--out", required=True)
    ref.add_argument("--mitdb", default=None, help="path of sktime's mitdb.csv")
    cmp = sub.add_parser("compare", help="run cnnlstm.metrics on the same cases and compare")
    cmp.add_argument("--reference", required=True)
    cmp.add_argument("--mitdb", default=None)
    args = parser.parse_args(argv)
    (_reference if args.step == "reference" else _compare)(args)


if __name__ == "__main__":
    main()
