"""Per-frame latency of streaming (`step`) against re-running the model on a 16-frame window.

A live source gets one new frame at a time. Without a recurrent state, each new frame means
running the model again on the last `--window` frames; with `init_state`/`step` it is one CNN
call and one recurrent step. Both are timed here on the same model, input size and thread count,
interleaved, median of `--repeats` frames after a warm-up.

`conv3d_lstm`'s Conv3d stem pads time on both sides, so its step also recomputes the stem
outputs that read the clip's end (a bounded tail) on every frame.

A forecaster's step (`convlstm_forecaster`, 1×64×64 frames) is one encoder step plus its roll-out
of `future_frames` (10) frames, and re-running the window is its `--window` encoder steps plus that
same roll-out, so its gain is smaller than a classifier's.

    python benchmarks/streaming.py                      # CPU, batch 1, 16-frame window
    python benchmarks/streaming.py --device cuda

Prints a table and writes JSON (``--json``, default benchmarks/results/streaming-<device>.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, cast

import torch

from cnnlstm import create_model
from cnnlstm.models import StreamingModel

# name -> (model kwargs, one step's shape: a 112x112 RGB frame, 64x64 grey frame or sensor sample)
MODELS: dict[str, tuple[dict[str, Any], tuple[int, ...]]] = {
    "lrcn": ({"num_classes": 10}, (3, 112, 112)),
    "convlstm_classifier": ({"num_classes": 10}, (3, 112, 112)),
    "frame_mean": ({"num_classes": 10}, (3, 112, 112)),
    "conv3d_lstm": ({"num_classes": 10}, (3, 112, 112)),
    "deepconvlstm": ({"num_classes": 10, "in_channels": 113}, (113,)),
    "convlstm_forecaster": ({}, (1, 64, 64)),  # its output: future_frames predicted frames
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def measure(
    name: str, *, device: torch.device, window: int, sensor_window: int, repeats: int, warmup: int
) -> dict:
    kwargs, step_shape = MODELS[name]
    torch.manual_seed(0)
    model = create_model(name, **kwargs).to(device).eval()
    stream = cast(StreamingModel, model)  # every name streams: create_model checked init_state and step
    if len(step_shape) == 1:  # sensors: a HAR-style window (UCI HAR: 128 samples, 2.56 s at 50 Hz)
        window = sensor_window
    window = max(window, getattr(model, "min_steps", 1))
    frames = torch.randn(1, window + warmup + repeats, *step_shape, device=device)
    if getattr(model, "step_output", "logits") == "frames":
        frames = frames.sigmoid()  # forecasters read (and predict) frames in [0, 1]
    state = stream.init_state(1, device=device, frame_size=tuple(step_shape[-2:]))
    for t in range(window):  # fill the window and the state alike
        _, state = stream.step(frames[:, t], state)
    step_ms, window_ms = [], []
    for t in range(window, frames.shape[1]):
        _sync(device)
        start = time.perf_counter()
        _, state = stream.step(frames[:, t], state)
        _sync(device)
        mid = time.perf_counter()
        model(frames[:, t - window + 1 : t + 1])
        _sync(device)
        end = time.perf_counter()
        if t >= window + warmup:
            step_ms.append((mid - start) * 1e3)
            window_ms.append((end - mid) * 1e3)
    step, full = statistics.median(step_ms), statistics.median(window_ms)
    return {
        "model": name,
        "output": getattr(model, "step_output", "logits"),
        "step_shape": list(step_shape),
        "window": window,
        "step_ms": step,
        "window_ms": full,
        "speedup": full / step,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--window", type=int, default=16, help="frames re-run per new frame (video models)")
    parser.add_argument(
        "--sensor_window", type=int, default=128, help="samples re-run per new sample (sensor models)"
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    rows = [
        measure(
            n,
            device=device,
            window=args.window,
            sensor_window=args.sensor_window,
            repeats=args.repeats,
            warmup=args.warmup,
        )
        for n in MODELS
    ]
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, batch 1, "
        f"window {args.window} frames / {args.sensor_window} sensor samples, median of {args.repeats} steps"
    )
    print("| model | one step | window | step ms | re-run window ms | speed-up |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        shape = "×".join(str(v) for v in r["step_shape"])
        print(
            f"| {r['model']} | {shape} | {r['window']} | {r['step_ms']:.2f} | {r['window_ms']:.2f} "
            f"| {r['speedup']:.1f}× |"
        )
    out = args.json or Path("benchmarks/results") / f"streaming-{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "device": str(device),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
