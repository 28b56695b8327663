"""Moving MNIST results: trained ConvLSTM runs beside trivial baselines on the same fixed test set.

Baselines, computed here on the generator's fixed test set (test digit pool, seed 2015):
all-zero frames, and a copy of the last input frame for every future frame. Model rows come from
run folders written by ``cnnlstm fit`` + ``cnnlstm test`` (their ``summary.json``); every number
uses the OpenSTL/PredRNN convention (MSE and MAE summed over a frame's pixels, frames in [0, 1]).
OpenSTL's published ConvLSTM-S figures are printed beside them for reference — on the standard
Moving MNIST (digits from all of MNIST's 60,000), not on our 5,000-digit generator.

    cnnlstm fit  --config movingmnist-convlstm-small --trainer.default_root_dir runs/mm-small
    cnnlstm test --config movingmnist-convlstm-small --trainer.default_root_dir runs/mm-small --ckpt_path best
    python benchmarks/moving_mnist.py --runs runs/mm-small --num_test 500

Prints a markdown table and writes JSON (``--json``, default docs/results/moving_mnist.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from cnnlstm.data.forecasting import ForecastDataModule
from cnnlstm.tasks.forecasting import FrameForecastMetrics

# OpenSTL (Tan et al. 2023), Moving MNIST, ConvLSTM-S, 200 epochs (their README / paper table).
OPENSTL_CONVLSTM_S = {"mse": 29.80, "mae": 90.64, "ssim": 0.9288, "psnr": None}


def baselines(num_test: int, batch_size: int = 100) -> dict[str, dict[str, float]]:
    data = ForecastDataModule(
        source="moving_mnist", num_train=1, num_val=1, num_test=num_test, batch_size=batch_size
    )
    data.setup("test")
    horizon = data.target_shape[0]
    metrics = {
        "all zeros": FrameForecastMetrics(horizon=horizon),
        "copy last input": FrameForecastMetrics(horizon=horizon),
    }
    for x, y in data.test_dataloader():
        metrics["all zeros"].update(torch.zeros_like(y), y)
        metrics["copy last input"].update(x[:, -1:].expand_as(y), y)
    return {name: {k: float(v) for k, v in m.compute().items()} for name, m in metrics.items()}


def run_row(folder: Path) -> tuple[str, dict[str, float], dict]:
    summary = json.loads((folder / "summary.json").read_text())
    test = summary.get("test_metrics")
    if not test:
        raise SystemExit(
            f"{folder}/summary.json has no test_metrics; run `cnnlstm test ... --ckpt_path best` first"
        )
    values = {
        k.split("/", 1)[1]: v for k, v in test.items() if k.split("/", 1)[1] in ("mse", "mae", "ssim", "psnr")
    }
    info = {
        "preset": summary.get("preset"),
        "model": summary.get("model"),
        "parameters": summary.get("parameters"),
        "epochs": summary.get("epochs"),
        "fit_wall_time_s": summary.get("fit_wall_time_s"),
        "device": summary.get("device"),
        "per_horizon": summary.get("test_per_horizon"),
    }
    return (
        f"{info['preset']} ({info['model']}, {info['epochs']} epochs, {info['fit_wall_time_s']:.0f} s fit)",
        values,
        info,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", type=Path, default=[], help="run folders with a tested model")
    parser.add_argument(
        "--num_test", type=int, default=2000, help="test sequences (the runs' --data.num_test)"
    )
    parser.add_argument("--json", type=Path, default=Path("docs/results/moving_mnist.json"))
    args = parser.parse_args(argv)

    rows: list[tuple[str, dict[str, float | None]]] = []
    details = {}
    for folder in args.runs:
        label, values, info = run_row(folder)
        rows.append((label, values))
        details[label] = info
    for name, values in baselines(args.num_test).items():
        rows.append((f"baseline: {name}", values))
    rows.append(("OpenSTL ConvLSTM-S, 200 epochs (standard Moving MNIST; published)", OPENSTL_CONVLSTM_S))

    def cell(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    lines = ["| model | MSE ↓ | MAE ↓ | SSIM ↑ | PSNR ↑ |", "|---|---|---|---|---|"]
    for label, v in rows:
        lines.append(
            f"| {label} | {cell(v.get('mse'), 2)} | {cell(v.get('mae'), 2)} | {cell(v.get('ssim'), 4)} "
            f"| {cell(v.get('psnr'), 2)} |"
        )
    print("\n".join(lines))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"num_test": args.num_test, "rows": dict(rows), "runs": details}, indent=2) + "\n"
    )
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
