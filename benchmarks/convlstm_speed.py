"""ConvLSTM speed: cnnlstm.nn.ConvLSTM against a plain reference, forward + backward.

The reference is written here in the style of the common public ConvLSTM implementations: a
cell holding one ``nn.Conv2d`` over the concatenation ``[x_t, h_{t-1}]`` with ``4 × hidden``
outputs, split into the gates, and a Python loop over layers and steps. Both run the same problem
with the same parameter count (printed). Runs are interleaved (reference, ours, reference, ...) so
drift in machine load hits both alike; the table reports medians and the ratio ours / reference
(< 1 means ours is faster).

Usage:
    python benchmarks/convlstm_speed.py [--repeats 5] [--warmup 1] [--device cpu] [--out FILE]

Writes JSON (default ``benchmarks/results/convlstm_speed-<device>.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from cnnlstm.nn import ConvLSTM


class ReferenceConvLSTMCell(nn.Module):
    """One conv over [x, h] per step, gates split from its output (the usual public code)."""

    def __init__(self, in_channels: int, hidden: int, kernel: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel, padding=kernel // 2)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        i, f, g, o = torch.split(self.conv(torch.cat([x, h], dim=1)), self.hidden, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ReferenceConvLSTM(nn.Module):
    def __init__(self, in_channels: int, hidden: int, kernel: int, layers: int) -> None:
        super().__init__()
        self.cells = nn.ModuleList(
            ReferenceConvLSTMCell(in_channels if i == 0 else hidden, hidden, kernel) for i in range(layers)
        )

    def forward(self, x: Tensor) -> Tensor:  # (B, T, C, H, W)
        b, t, _, h, w = x.shape
        layer_input = x
        for cell in self.cells:
            state = (x.new_zeros(b, cell.hidden, h, w), x.new_zeros(b, cell.hidden, h, w))
            outputs = []
            for step in range(t):
                state = cell(layer_input[:, step], state)
                outputs.append(state[0])
            layer_input = torch.stack(outputs, dim=1)
        return layer_input


@dataclass
class Config:
    name: str
    batch: int
    steps: int
    channels: int
    size: int
    hidden: int
    layers: int
    kernel: int


CONFIGS = [
    Config("16ch-16x16", batch=8, steps=10, channels=16, size=16, hidden=64, layers=2, kernel=3),
    Config("1ch-64x64", batch=8, steps=10, channels=1, size=64, hidden=64, layers=2, kernel=3),
]


def _time_fwd_bwd(model: nn.Module, x: Tensor, autocast: torch.dtype | None = None) -> float:
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.autocast(x.device.type, dtype=autocast or torch.float32, enabled=autocast is not None):
        out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    out.float().pow(2).mean().backward()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3


def bench_config(cfg: Config, device: str, repeats: int, warmup: int) -> list[dict]:
    torch.manual_seed(0)
    x = torch.randn(cfg.batch, cfg.steps, cfg.channels, cfg.size, cfg.size, device=device)
    models: dict[str, nn.Module] = {
        "reference": ReferenceConvLSTM(cfg.channels, cfg.hidden, cfg.kernel, cfg.layers),
        "cnnlstm (auto)": ConvLSTM(cfg.channels, cfg.hidden, cfg.kernel, cfg.layers),
        "cnnlstm (fused)": ConvLSTM(cfg.channels, cfg.hidden, cfg.kernel, cfg.layers, impl="fused"),
        "cnnlstm (split)": ConvLSTM(cfg.channels, cfg.hidden, cfg.kernel, cfg.layers, impl="split"),
        "cnnlstm (auto) bf16": ConvLSTM(cfg.channels, cfg.hidden, cfg.kernel, cfg.layers),
    }
    autocast = {"cnnlstm (auto) bf16": torch.bfloat16}  # mixed precision; the rest run in fp32
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    for m in models.values():
        m.to(device).train()
    times: dict[str, list[float]] = {name: [] for name in models}
    for i in range(warmup + repeats):
        for name, model in models.items():  # interleaved
            model.zero_grad(set_to_none=True)
            ms = _time_fwd_bwd(model, x, autocast.get(name))
            if i >= warmup:
                times[name].append(ms)
    ref_median = statistics.median(times["reference"])
    rows = []
    for name in models:
        med = statistics.median(times[name])
        rows.append(
            dict(
                config=cfg.name,
                shape=f"B{cfg.batch} T{cfg.steps} C{cfg.channels} {cfg.size}x{cfg.size}",
                model=name,
                params=params[name],
                median_ms=round(med, 3),
                min_ms=round(min(times[name]), 3),
                ratio_to_reference=round(med / ref_median, 3),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    rows = []
    for cfg in CONFIGS:
        rows += bench_config(cfg, args.device, args.repeats, args.warmup)

    header = f"| {'config':<11} | {'shape':<22} | {'model':<19} | {'params':>7} | {'median ms':>9} | {'ratio':>5} |"
    print(f"ConvLSTM forward+backward, hidden 64, 2 layers, 3x3, device={args.device}, "
          f"threads={torch.get_num_threads()}, {args.repeats} interleaved repeats")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(f"| {r['config']:<11} | {r['shape']:<22} | {r['model']:<19} | {r['params']:>7} | "
              f"{r['median_ms']:>9.2f} | {r['ratio_to_reference']:>5.2f} |")

    result = dict(
        benchmark="convlstm_speed",
        device=args.device,
        device_name=torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        repeats=args.repeats,
        warmup=args.warmup,
        rows=rows,
        configs=[asdict(c) for c in CONFIGS],
    )
    out = args.out or Path(__file__).parent / "results" / f"convlstm_speed-{args.device.split(':')[0]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
