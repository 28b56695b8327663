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

``--standard_file mm_test_seq.npy`` also scores each run's best checkpoint on a file in the
standard ``mnist_test_seq.npy`` layout (uint8 ``(20, N, 64, 64)``, time first; first 10 frames in,
last 10 out), read through the same reader as ``--data.path``; ``--write_standard_file`` first
writes the generator's fixed test set in that layout (no standard file can be downloaded here).
``--curve RUN`` prints validation MSE/MAE/SSIM/PSNR against the CPU minutes that run's
``CPUClock`` logged (``metrics.csv``) and draws them (``--curve_png``).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from cnnlstm.data import MovingMNISTDataModule
from cnnlstm.tasks.forecasting import ForecastingTask, FrameForecastMetrics

# Published figures on the standard Moving MNIST (not measured here): OpenSTL (Tan et al. 2023),
# 200 epochs, their benchmark table; PredRNN (Wang et al. 2017), Table 1 of the paper, which also
# reports ConvLSTM (MSE per frame and SSIM only).
OPENSTL_CONVLSTM_S = {"mse": 29.80, "mae": 90.64, "ssim": 0.9288, "psnr": None}
PUBLISHED = {
    "OpenSTL ConvLSTM-S, 200 epochs (standard Moving MNIST; published)": OPENSTL_CONVLSTM_S,
    "OpenSTL PredRNN, 200 epochs (standard Moving MNIST; published)": {
        "mse": 23.97,
        "mae": 72.82,
        "ssim": 0.9462,
        "psnr": None,
    },
    "ConvLSTM as reported by the PredRNN paper (standard Moving MNIST; published)": {
        "mse": 103.3,
        "mae": None,
        "ssim": 0.707,
        "psnr": None,
    },
    "PredRNN paper (standard Moving MNIST; published)": {
        "mse": 56.8,
        "mae": None,
        "ssim": 0.867,
        "psnr": None,
    },
}
METRICS = ("mse", "mae", "ssim", "psnr")


def baselines(num_test: int, batch_size: int = 100) -> dict[str, dict[str, float]]:
    data = MovingMNISTDataModule(num_train=1, num_val=1, num_test=num_test, batch_size=batch_size)
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


def write_standard_layout(path: Path, num_test: int) -> None:
    """The generator's fixed test set as a standard-layout file: uint8 ``(20, N, 64, 64)``."""
    from cnnlstm.data.moving_mnist import MovingMNIST
    from cnnlstm.data.moving_mnist_data import TEST_SEED

    sequences = MovingMNIST(num_test, seq_len=20, seed=TEST_SEED, split="test")
    array = np.stack([sequences[i] for i in range(num_test)]).transpose(1, 0, 2, 3)  # time first
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def score_standard_file(checkpoint: Path, path: Path, batch_size: int = 50) -> dict[str, float]:
    """A checkpoint's metrics on a standard-layout file (frames 1-10 in, 11-20 out)."""
    from cnnlstm.data.moving_mnist_data import read_standard_file

    data, _ = read_standard_file(path)  # (N, T, H, W), checked like --data.path
    task = ForecastingTask.from_checkpoint_file(checkpoint)
    metric = FrameForecastMetrics(horizon=10)
    with torch.no_grad():
        for start in range(0, data.shape[0], batch_size):
            frames = torch.from_numpy(np.array(data[start : start + batch_size, :20])).float().div(255)
            frames = frames[:, :, None]  # (B, 20, 1, H, W)
            metric.update(task(frames[:, :10], 10), frames[:, 10:])
    return {k: float(v) for k, v in metric.compute().items()}


def curve(folder: Path) -> list[dict[str, float]]:
    """Validation metrics against ``cpu_minutes`` from a run's ``metrics.csv`` (CPUClock rows)."""
    with (folder / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    points = []
    for row in rows:
        if row.get("cpu_minutes") and row.get("val/mse"):
            point = {"cpu_minutes": float(row["cpu_minutes"]), "step": int(row["step"])}
            point.update({m: float(row[f"val/{m}"]) for m in METRICS if row.get(f"val/{m}")})
            points.append(point)
    if not points:
        raise SystemExit(f"{folder}/metrics.csv has no cpu_minutes rows; train with the CPUClock callback")
    return points


def plot_curve(points: list[dict[str, float]], baselines: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    minutes = [p["cpu_minutes"] for p in points]
    for ax, metric in zip(axes, ("mse", "ssim"), strict=True):
        ax.plot(minutes, [p[metric] for p in points], marker="o", label="validation (200 sequences)")
        for name, values in baselines.items():
            ax.axhline(
                values[metric], linestyle="--", color="grey" if "zeros" in name else "tab:red", label=name
            )
        if metric == "mse":
            ax.axhline(100.0, linestyle=":", color="black", label="target 100")
        ax.set_xlabel("CPU minutes (all threads)")
        ax.set_ylabel(metric.upper())
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_row(folder: Path, num_test: int) -> tuple[str, dict[str, float], dict]:
    summary = json.loads((folder / "summary.json").read_text())
    test = summary.get("test_metrics")
    if not test:
        raise SystemExit(
            f"{folder}/summary.json has no test_metrics; run `cnnlstm test ... --ckpt_path best` first"
        )
    tested = (summary.get("test_data") or {}).get("samples")
    if tested is not None and tested != num_test:
        raise SystemExit(
            f"{folder} was tested on {tested} sequences but the baselines use --num_test {num_test}; "
            "pass the run's --data.num_test so every row scores the same sequences"
        )
    values = {
        k.split("/", 1)[1]: v for k, v in test.items() if k.split("/", 1)[1] in ("mse", "mae", "ssim", "psnr")
    }
    info = {
        "preset": summary.get("preset"),
        "model": summary.get("model"),
        "parameters": summary.get("parameters"),
        "epochs": summary.get("epochs"),
        "precision": summary.get("precision"),
        "fit_wall_time_s": summary.get("fit_wall_time_s"),
        "fit_cpu_time_s": summary.get("fit_cpu_time_s"),
        "device": summary.get("device"),
        "checkpoint": summary.get("test_checkpoint"),
        "per_horizon": summary.get("test_per_horizon"),
    }
    cost = (
        f"{info['fit_cpu_time_s']:.0f} CPU-s fit"
        if info["fit_cpu_time_s"] is not None
        else f"{info['fit_wall_time_s']:.0f} s fit"
    )
    return f"{info['preset']} ({info['model']}, {info['epochs']} epochs, {cost})", values, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", type=Path, default=[], help="run folders with a tested model")
    parser.add_argument(
        "--num_test", type=int, default=2000, help="test sequences (the runs' --data.num_test)"
    )
    parser.add_argument("--json", type=Path, default=Path("docs/results/moving_mnist.json"))
    parser.add_argument(
        "--standard_file", type=Path, default=None, help="a standard-layout .npy to score too"
    )
    parser.add_argument(
        "--write_standard_file", action="store_true", help="write the generated test set there first"
    )
    parser.add_argument("--curve", type=Path, default=None, help="a run folder trained with CPUClock")
    parser.add_argument("--curve_png", type=Path, default=Path("docs/results/moving_mnist/cpu_curve.png"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.write_standard_file and args.standard_file is not None:
        write_standard_layout(args.standard_file, args.num_test)

    rows: list[tuple[str, Mapping[str, float | None]]] = []
    details = {}
    for folder in args.runs:
        label, values, info = run_row(folder, args.num_test)
        rows.append((label, values))
        details[label] = info
        if args.standard_file is not None:
            checkpoint = Path(json.loads((folder / "summary.json").read_text())["best_checkpoint"])
            values = score_standard_file(checkpoint, args.standard_file)
            label = f"{label}, on {args.standard_file.name} (standard layout)"
            rows.append((label, values))
            details[label] = {"checkpoint": str(checkpoint), "file": str(args.standard_file)}
    scored = baselines(args.num_test)
    for name, values in scored.items():
        rows.append((f"baseline: {name}", values))
    rows.extend(PUBLISHED.items())

    def cell(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    lines = ["| model | MSE ↓ | MAE ↓ | SSIM ↑ | PSNR ↑ |", "|---|---|---|---|---|"]
    for label, v in rows:
        lines.append(
            f"| {label} | {cell(v.get('mse'), 2)} | {cell(v.get('mae'), 2)} | {cell(v.get('ssim'), 4)} "
            f"| {cell(v.get('psnr'), 2)} |"
        )
    print("\n".join(lines))
    points = None
    if args.curve is not None:
        points = curve(args.curve)
        print("\n| CPU minutes | step | val MSE | val MAE | val SSIM | val PSNR |\n|---|---|---|---|---|---|")
        for p in points:
            print(
                f"| {p['cpu_minutes']:.1f} | {p['step']} | {p['mse']:.2f} | {p['mae']:.2f} | "
                f"{p['ssim']:.4f} | {p['psnr']:.2f} |"
            )
        plot_curve(points, scored, args.curve_png)
        print(f"curve: {args.curve_png}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {"num_test": args.num_test, "rows": dict(rows), "runs": details, "cpu_curve": points}, indent=2
        )
        + "\n"
    )
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
