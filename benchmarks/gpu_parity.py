"""GPU checks: cnnlstm's layers and models on CUDA agree with torch references and with CPU.

Usage: python benchmarks/gpu_parity.py [--out FILE]   (needs a CUDA device; prints a table, writes JSON)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, cast

import torch

from cnnlstm import create_model, list_models, model_info
from cnnlstm.models import StreamingModel
from cnnlstm.nn import LSTM, ConvLSTM


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float().cpu() - b.float().cpu()).abs().max())


Check = tuple[str, float, float]  # (what, max abs diff, tolerance)


def layer_checks(dev: torch.device) -> list[Check]:
    """cnnlstm.nn.LSTM against cuDNN's; ConvLSTM's split and fused paths, bf16, channels_last, CPU."""
    torch.manual_seed(0)  # one random stream for both layers
    ref = torch.nn.LSTM(32, 64, num_layers=2, bidirectional=True, batch_first=True).to(dev)  # cuDNN
    ours = LSTM(32, 64, 2, bidirectional=True, batch_first=True).to(dev)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(8, 50, 32, device=dev)
    rows = [("LSTM vs torch.nn.LSTM (cuDNN), fp32", _max_diff(ours(x)[0], ref(x)[0]), 1e-4)]

    conv = ConvLSTM(16, [64, 64], 3).to(dev).eval()
    frames = torch.randn(4, 10, 16, 16, 16, device=dev)
    conv.impl = "split"
    split = conv(frames)[0]
    conv.impl = "fused"
    fused = conv(frames)[0]
    cpu = conv.cpu()(frames.cpu())[0]
    rows.append(("ConvLSTM split (GPU) vs fused (GPU)", _max_diff(split, fused), 1e-4))
    rows.append(("ConvLSTM split (GPU) vs fused (CPU)", _max_diff(split, cpu), 1e-4))
    conv.to(dev)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        bf16 = conv(frames)[0]
    rows.append(("ConvLSTM bf16 autocast vs fp32 (GPU)", _max_diff(bf16, split), 5e-2))
    conv.channels_last = True
    rows.append(("ConvLSTM channels_last vs default layout (GPU)", _max_diff(conv(frames)[0], split), 1e-4))
    conv.channels_last = False
    return rows


def streaming_checks(dev: torch.device) -> list[Check]:
    """The streaming models: step by step over a clip equals one forward over it."""
    rows = []
    for name in ("conv3d_lstm_tiny", "lrcn_tiny", "convlstm_forecaster_tiny"):
        torch.manual_seed(0)
        model = create_model(name).to(dev).eval()
        stream = cast(StreamingModel, model)  # these stream: create_model checked init_state and step
        clip = torch.rand(2, 9, *model_info(name).input_size[1:], device=dev)
        state = stream.init_state(2, device=dev, frame_size=tuple(clip.shape[-2:]))
        with torch.no_grad():
            for t in range(clip.shape[1]):
                out, state = stream.step(clip[:, t], state)
            rows.append((f"{name}: streamed step vs forward (GPU)", _max_diff(out, model(clip)), 1e-4))
    return rows


def gpu_vs_cpu_checks(dev: torch.device) -> list[Check]:
    """Every registered model: logits on the GPU equal those on the CPU."""
    rows = []
    for name in list_models():
        torch.manual_seed(0)
        model = create_model(name).eval()
        x = torch.randn(2, *model_info(name).test_input_size)
        with torch.no_grad():
            cpu_out = model(x)
            gpu_out = model.to(dev)(x.to(dev))
        rows.append((f"{name}: GPU vs CPU logits", _max_diff(gpu_out, cpu_out), 1e-3))
    return rows


def print_table(rows: list[Check]) -> None:
    print(f"device: {torch.cuda.get_device_name()} | torch {torch.__version__} | TF32 off")
    print("| check | max abs diff | tolerance | ok |\n|---|---|---|---|")
    for check, diff, tol in rows:
        print(f"| {check} | {diff:.2e} | {tol:.0e} | {'yes' if diff <= tol else 'NO'} |")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu_parity.json"))
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("gpu_parity.py needs a CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    rows = layer_checks(dev) + streaming_checks(dev) + gpu_vs_cpu_checks(dev)

    print_table(rows)
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "rows": [{"check": c, "max_abs_diff": d, "tolerance": t, "ok": d <= t} for c, d, t in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if not all(r["ok"] for r in result["rows"]):
        raise SystemExit("some GPU checks failed")
    return result


if __name__ == "__main__":
    main()
