"""Precipitation nowcasting on generated radar echoes: a trained forecaster beside persistence and
optical-flow extrapolation, CSI/POD/FAR/HSS per rain-rate threshold and lead time, balanced MSE/MAE.

Data: :class:`cnnlstm.data.RadarEchoDataModule`'s test split (fixed seed, the same sequences in every
run; ``--num-test`` of them, ``--input``/``--target`` frames, ``--size`` pixels).

Methods:

* ``persistence``: the last input frame repeated;
* ``optical flow``: the paper's baseline, ROVER-like: a dense TV-L1 flow between the last two input
  frames (``skimage.registration.optical_flow_tvl1``), then semi-Lagrangian extrapolation: each
  output pixel follows the flow backwards ``k`` steps and samples the last frame there
  (``scipy.ndimage.map_coordinates``, bilinear), so the echo pattern is carried along the flow;
  what enters from outside the last frame is no echo;
* ``--checkpoint``: a forecaster trained with ``cnnlstm fit --config nowcasting-convlstm`` (its
  ``last.ckpt`` or ``best.ckpt``).

Scores: :class:`cnnlstm.tasks.nowcasting_metrics.NowcastScores` with HKO-7's Z–R conversion
(:func:`cnnlstm.data.radar_echoes.pixel_to_rain_rate`), thresholds 0.5, 2, 5, 10, 30 mm/h.

Output: a CSI/HSS table at lead times 1, middle and last; with ``--markdown`` also a markdown table
of CSI, POD, FAR and HSS at those lead times (for docs/nowcasting.md); with a forecaster, the
number of (threshold, lead time) pairs at which its CSI is above the optical flow's; the JSON of
every score at every lead time; ``--picture``: observed and predicted echoes of the first test
sequence; ``--curve``: CSI per lead time, one panel per threshold.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/nowcasting.py [--checkpoint CKPT] [--num-test 100]
        [--out docs/results/nowcasting.json] [--picture docs/results/nowcasting.png]
        [--curve docs/results/nowcasting_csi.png] [--markdown]

Needs scikit-image (``pip install 'cnnlstm[nowcasting]'``) for the optical flow.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from cnnlstm.data import RadarEchoDataModule
from cnnlstm.tasks.forecasting import ForecastingTask
from cnnlstm.tasks.nowcasting_metrics import THRESHOLDS, NowcastScores


def rain_rate(frames: torch.Tensor) -> torch.Tensor:
    """Frames in [0, 1] (HKO-7 pixels / 255) → rain rate (mm/h), Marshall–Palmer."""
    dbz = frames * 255.0 * 70.0 / 255.0 - 10.0
    return (10.0 ** (dbz / 10.0) / 200.0) ** (1.0 / 1.6)


def optical_flow_forecast(inputs: np.ndarray, steps: int) -> np.ndarray:
    """``inputs`` ``(T_in, H, W)`` in [0, 1] → ``(steps, H, W)`` by TV-L1 flow + semi-Lagrangian advection."""
    from scipy.ndimage import map_coordinates

    try:
        from skimage.registration import optical_flow_tvl1
    except ImportError as err:
        raise SystemExit(
            "the optical-flow baseline needs scikit-image: pip install 'cnnlstm[nowcasting]'"
        ) from err

    last, previous = inputs[-1], inputs[-2]
    flow = optical_flow_tvl1(last, previous)  # previous(p + flow(p)) ≈ last(p)
    rows, cols = np.mgrid[0 : last.shape[0], 0 : last.shape[1]].astype(np.float64)
    out = []
    for _ in range(steps):  # one step back along the flow per lead time
        step_rows = map_coordinates(flow[0], [rows, cols], order=1, mode="nearest")
        step_cols = map_coordinates(flow[1], [rows, cols], order=1, mode="nearest")
        rows, cols = rows + step_rows, cols + step_cols
        out.append(map_coordinates(last, [rows, cols], order=1, mode="constant", cval=0.0))
    return np.stack(out).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--num-test", type=int, default=100)
    parser.add_argument("--input", type=int, default=5)
    parser.add_argument("--target", type=int, default=10)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", default="benchmarks/results/nowcasting.json")
    parser.add_argument("--picture", default=None)
    parser.add_argument("--curve", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dm = RadarEchoDataModule(
        input_frames=args.input,
        target_frames=args.target,
        num_train=1,
        num_val=1,
        num_test=args.num_test,
        image_size=args.size,
        batch_size=16,
    )
    dm.setup("test")
    model = ForecastingTask.from_checkpoint_file(args.checkpoint) if args.checkpoint else None
    methods = ["persistence", "optical flow"] + (["forecaster"] if model is not None else [])
    metrics = {m: NowcastScores(horizon=args.target, to_rain_rate=rain_rate) for m in methods}
    example: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for x, y in dm.test_dataloader():
            preds = {
                "persistence": x[:, -1:].expand_as(y),
                "optical flow": torch.from_numpy(
                    np.stack([optical_flow_forecast(s[:, 0].numpy(), args.target) for s in x])
                )[:, :, None],
            }
            if model is not None:
                preds["forecaster"] = model(x, args.target)
            for m in methods:
                metrics[m].update(preds[m], y)
            if not example:
                example = {"observed": y[0, :, 0].numpy(), **{m: preds[m][0, :, 0].numpy() for m in methods}}
    results = {m: {k: v.tolist() for k, v in metrics[m].compute().items()} for m in methods}

    leads = sorted({0, args.target // 2 - 1, args.target - 1})
    print(
        f"{args.num_test} generated test sequences, {args.input} -> {args.target} frames of {args.size}x{args.size}"
    )
    print(
        f"{'method':<13} {'mm/h':>5} "
        + " ".join(f"{'CSI@' + str(k + 1):>7} {'HSS@' + str(k + 1):>7}" for k in leads)
    )
    for m in methods:
        for i, thr in enumerate(THRESHOLDS):
            cells = []
            for k in leads:
                csi, hss = results[m]["csi"][i][k], results[m]["hss"][i][k]
                cells.append(f"{csi:>7.3f} {hss:>7.3f}" if not math.isnan(csi) else f"{'n/a':>7} {'n/a':>7}")
            print(f"{m:<13} {thr:>5g} " + " ".join(cells))
        print(f"{m:<13} B-MSE per lead: {' '.join(f'{v:.4f}' for v in results[m]['b_mse'])}")
    if model is not None:
        wins = [
            (thr, k + 1)
            for i, thr in enumerate(THRESHOLDS)
            for k in range(args.target)
            if results["forecaster"]["csi"][i][k] > results["optical flow"]["csi"][i][k]
        ]
        print(
            f"forecaster CSI above optical flow at {len(wins)} of {len(THRESHOLDS) * args.target} "
            f"(threshold, lead) pairs: {' '.join(f'{t:g}@{k}' for t, k in wins) or 'none'}"
        )
    if args.markdown:
        _markdown(results, leads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "nowcasting",
        "settings": vars(args),
        "thresholds_mm_h": list(THRESHOLDS),
        "results": results,  # per method: csi/pod/far/hss [threshold][lead], b_mse/b_mae [lead]
    }
    out.write_text(json.dumps(payload, indent=1, allow_nan=True) + "\n")
    print(f"wrote {out}")
    if args.picture and example:
        _picture(example, args.picture)
    if args.curve:
        _curve(results, args.curve)


def _markdown(results: dict[str, dict[str, list]], leads: list[int]) -> None:
    """CSI, POD, FAR and HSS per method, threshold and lead time in ``leads``, as a markdown table."""
    scores = ("csi", "pod", "far", "hss")
    head = [f"{s.upper()} +{k + 1}" for k in leads for s in scores]
    print("| method | mm/h | " + " | ".join(head) + " |")
    print("|---|---|" + "---|" * len(head))
    for m, r in results.items():
        for i, thr in enumerate(THRESHOLDS):
            cells = [f"{r[s][i][k]:.3f}" for k in leads for s in scores]
            print(f"| {m} | {thr:g} | " + " | ".join(cells) + " |")


def _curve(results: dict[str, dict[str, list]], path: str) -> None:
    """CSI against lead time, one panel per threshold, one line per method."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.6 * len(THRESHOLDS), 2.6))
    axes = fig.subplots(1, len(THRESHOLDS), sharey=True, squeeze=False)[0]
    for i, (ax, thr) in enumerate(zip(axes, THRESHOLDS, strict=True)):
        for m, r in results.items():
            csi = r["csi"][i]
            ax.plot(range(1, len(csi) + 1), csi, marker="o", markersize=3, label=m)
        ax.set_title(f"{thr:g} mm/h", fontsize=9)
        ax.set_xlabel("lead time (frames)", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("CSI")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"wrote {path}")


def _picture(example: dict[str, np.ndarray], path: str) -> None:
    """Observed and predicted echoes (rows) per lead time (columns)."""
    from matplotlib.figure import Figure

    rows = list(example)
    leads = example["observed"].shape[0]
    fig = Figure(figsize=(1.2 * leads, 1.3 * len(rows)))
    axes = fig.subplots(len(rows), leads, squeeze=False)
    for r, name in enumerate(rows):
        for k in range(leads):
            ax = axes[r][k]
            ax.imshow(example[name][k] * 70.0 - 10.0, vmin=-10, vmax=60, cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(name, fontsize=7)
            if r == 0:
                ax.set_title(f"+{k + 1}", fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
