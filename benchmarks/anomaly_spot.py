"""SPOT with little calibration data: how far its false-alarm rate strays from the risk, and why
a run's alarms are weak.

1. Simulation (no model): SPOT is fitted on ``n`` scores drawn from Exp(1), whose exceedance
   probability at threshold ``z`` is exactly ``exp(-z)``; the table gives, over ``--seeds`` draws,
   the mean and median false-alarm probability of the fitted threshold against the promised
   ``risk``, per calibration size and initial-threshold level.
2. ``--run RUN_FOLDER`` (after ``cnnlstm fit``): the run's detector re-scores its calibration
   steps and its evaluated steps (its own config.yaml and best checkpoint); the table compares
   their score quantiles and gives the alarms' range-F1 and alarm rate for SPOT, drift-adjusted
   SPOT (DSPOT) and quantile thresholds, so a weak ``alarm_range_f1`` can be traced to the calibration size or to a shift
   between the calibration and the evaluated scores.

    OMP_NUM_THREADS=1 python benchmarks/anomaly_spot.py --run runs/anomaly-yahoo/<time> \\
        --out docs/results/anomaly_spot.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sized
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from cnnlstm._io import safe_torch_load
from cnnlstm.metrics import SPOT, quantile_threshold
from cnnlstm.metrics.anomaly import range_f1


def simulate(sizes: list[int], levels: list[float], risk: float, seeds: int) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for level in levels:
            fa = []
            for seed in range(seeds):
                spot = SPOT(risk=risk, level=level).fit(np.random.default_rng(seed).exponential(size=n))
                fa.append(math.exp(-spot.threshold))
            rows.append(
                {
                    "n": n,
                    "n_times_risk": n * risk,
                    "level": level,
                    "peaks": int(round(n * (1 - level))),
                    "mean_false_alarm": float(np.mean(fa)),
                    "median_false_alarm": float(np.median(fa)),
                    "mean_over_risk": float(np.mean(fa)) / risk,
                }
            )
    return rows


def _run_scores(run: Path) -> dict[str, Any]:
    """Calibration scores, evaluated scores and labels of ``run``'s first test series, the
    checkpoint's hyper-parameters and the raw series' noise (:func:`_noise`)."""
    from cnnlstm.data.anomaly import AnomalyDataModule
    from cnnlstm.tasks import AnomalyTask

    config = yaml.safe_load((run / "config.yaml").read_text())
    summary = json.loads((run / "summary.json").read_text())
    ckpt_path = summary.get("best_checkpoint") or sorted((run / "checkpoints").glob("*.ckpt"))[-1]
    checkpoint = safe_torch_load(ckpt_path)
    hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if not k.startswith("_")}
    task = AnomalyTask(**hparams)
    task.load_state_dict(checkpoint["state_dict"])
    data = AnomalyDataModule(**config["data"]["init_args"])
    data.setup()
    calibration = data.calibration_dataset()
    # The calibration series have a length; setup() built test_dataset.
    assert isinstance(calibration, Sized) and data.test_dataset is not None
    task.calibrate([calibration[i] for i in range(len(calibration))])
    item = data.test_dataset[0]
    scores = task.score(item.values).numpy().astype(np.float64)[item.test_start :]
    labels = item.labels.numpy()[item.test_start :]
    return {
        "calibration": task.calibration_scores.astype(np.float64),
        "scores": scores,
        "labels": labels,
        "hparams": hparams,
        "noise": _noise(data.series_for("test")[0].values, item.test_start),
    }


def _noise(raw: np.ndarray, test_start: int, block: int = 200) -> dict[str, Any]:
    """Standard deviation of the raw series' step-to-step differences (mean over channels): over
    the training part and per ``block`` evaluated steps."""

    def spread(part: np.ndarray) -> float:
        return float(np.diff(part, axis=0).std(axis=0).mean())

    evaluated = raw[test_start:]
    return {
        "training_part": spread(raw[:test_start]),
        "evaluated_blocks": [
            spread(evaluated[i : i + block])
            for i in range(0, len(evaluated) - 1, block)
            if len(evaluated[i : i + block]) > 2
        ],
    }


def dspot_alarms(
    calibration: np.ndarray, scores: np.ndarray, *, depth: int, risk: float, level: float
) -> np.ndarray:
    """Drift-adjusted SPOT (DSPOT, Siffer et al. 2017): SPOT on each score minus the mean of the
    last ``depth`` normal scores (alarms do not enter that window)."""
    recent = list(calibration[:depth])
    residuals = []
    for x in calibration[depth:]:
        residuals.append(x - np.mean(recent[-depth:]))
        recent.append(x)
    spot = SPOT(risk=risk, level=level).fit(np.asarray(residuals))
    alarms = np.zeros(scores.size, dtype=bool)
    for i, x in enumerate(scores):
        alarms[i] = spot.update(float(x - np.mean(recent[-depth:])))
        if not alarms[i]:
            recent.append(float(x))
    return alarms


def diagnose(run: Path) -> dict[str, Any]:
    found = _run_scores(run)
    calibration, scores, labels, hparams = (found[k] for k in ("calibration", "scores", "labels", "hparams"))
    normal = scores[labels == 0]
    qs = [0.5, 0.9, 0.98, 1.0]
    out: dict[str, Any] = {
        "run": str(run),
        "calibration_steps": int(calibration.size),
        "evaluated_steps": int(scores.size),
        "labelled_anomalous_steps": int((labels == 1).sum()),
        "calibration_quantiles": dict(zip(map(str, qs), np.quantile(calibration, qs).tolist(), strict=True)),
        "evaluated_normal_quantiles": dict(zip(map(str, qs), np.quantile(normal, qs).tolist(), strict=True)),
        "evaluated_normal_above_calibration_max": float(np.mean(normal > calibration.max())),
        "step_difference_std": found["noise"],
        "thresholds": [],
    }
    for risk in (hparams.get("risk", 1e-3), 1e-2):
        for level in (0.98, 0.9):
            alarms, _ = SPOT(risk=risk, level=level).fit(calibration).run(scores)
            out["thresholds"].append(
                {
                    "threshold": f"spot risk={risk:g} level={level}",
                    "alarm_range_f1": range_f1(labels, alarms, alpha=0.2),
                    "alarm_rate": float(alarms.mean()),
                }
            )
    for depth in (5, 10, 20, 50):
        for risk in (1e-3, 1e-4):
            for level in (0.98, 0.9):
                alarms = dspot_alarms(calibration, scores, depth=depth, risk=risk, level=level)
                out["thresholds"].append(
                    {
                        "threshold": f"dspot depth={depth} risk={risk:g} level={level}",
                        "alarm_range_f1": range_f1(labels, alarms, alpha=0.2),
                        "alarm_rate": float(alarms.mean()),
                    }
                )
    for q in (0.99, 0.999):
        alarms = scores > quantile_threshold(calibration, q)
        out["thresholds"].append(
            {
                "threshold": f"quantile {q}",
                "alarm_range_f1": range_f1(labels, alarms, alpha=0.2),
                "alarm_rate": float(alarms.mean()),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 300, 1000, 3000])
    parser.add_argument("--levels", nargs="+", type=float, default=[0.98, 0.9])
    parser.add_argument("--risk", type=float, default=1e-3)
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--run", type=Path, default=None, help="a run folder of an anomaly fit")
    parser.add_argument("--out", default="docs/results/anomaly_spot.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result: dict[str, Any] = {
        "command": " ".join(
            ["python", "benchmarks/anomaly_spot.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "simulation": simulate(args.sizes, args.levels, args.risk, args.seeds),
    }
    print(f"SPOT on Exp(1) scores, risk {args.risk:g}, {args.seeds} draws per row:\n")
    print("| calibration n | n x risk | level | mean false-alarm prob. | median | mean / risk |")
    print("|---|---|---|---|---|---|")
    for r in result["simulation"]:
        print(
            f"| {r['n']} | {r['n_times_risk']:g} | {r['level']} | {r['mean_false_alarm']:.2e} | "
            f"{r['median_false_alarm']:.2e} | {r['mean_over_risk']:.1f} |"
        )
    if args.run is not None:
        d = result["run"] = diagnose(args.run)
        print(f"\n{d['run']}: {d['calibration_steps']} calibration steps, {d['evaluated_steps']} evaluated")
        print("\n| scores | median | q90 | q98 | max |\n|---|---|---|---|---|")
        for name in ("calibration_quantiles", "evaluated_normal_quantiles"):
            print(f"| {name.split('_')[0]} | " + " | ".join(f"{v:.4g}" for v in d[name].values()) + " |")
        noise = d["step_difference_std"]
        print(
            f"\nstd of the series' step-to-step differences: {noise['training_part']:.4g} over the training "
            "part; "
            + ", ".join(f"{v:.4g}" for v in noise["evaluated_blocks"])
            + " over 200-step blocks after it"
        )
        print(
            f"\nevaluated normal steps above the calibration maximum: {d['evaluated_normal_above_calibration_max']:.1%}"
        )
        print("\n| threshold | alarm range-F1 | alarm rate |\n|---|---|---|")
        for t in d["thresholds"]:
            print(f"| {t['threshold']} | {t['alarm_range_f1']:.3f} | {t['alarm_rate']:.3f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
