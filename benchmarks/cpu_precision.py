"""CPU seconds per training update in float32 and under bf16 autocast, for the four sensor models.

One update is what ``cnnlstm fit --config ucr-<model>`` does per batch, in each precision: the
forward of the model as its shipped ``ucr-*`` preset builds it, on a real training batch of the
data module (``(B, T, C)`` with its ``lengths``), the cross-entropy on float32 logits, backward and
one AdamW step. ``bf16`` runs the forward under ``torch.autocast("cpu", dtype=torch.bfloat16)``,
what Lightning's ``--trainer.precision bf16-mixed`` does on a CPU (weights, gradients and the
optimizer stay float32). Timed in CPU seconds of this process (``time.process_time``) on
``--threads`` torch threads (1 by default).

The two precisions are timed interleaved: two copies of the model start from the same weights and
take their updates alternately on the same batches, the order flipping at every batch, so that
the machine's load (CPU time per update drifts by tens of percent on a shared machine) weighs on
both alike. Each cell is the median of ``--repeats`` updates after ``--warmup`` untimed ones;
``bf16 / fp32`` is the median over the pairs of the two times.

bf16 is only fast where the CPU computes it natively: AVX512-BF16 or AMX (Intel Cooper Lake,
Sapphire Rapids and later; AMD Zen 4 and later). Elsewhere oneDNN emulates it and it may well be
slower than float32. The record says which CPU ran and whether it has ``amx_bf16`` /
``avx512_bf16`` (``/proc/cpuinfo``) and what torch detects.

    OMP_NUM_THREADS=1 python benchmarks/cpu_precision.py
    OMP_NUM_THREADS=1 python benchmarks/cpu_precision.py --datasets ACSF1 --models lstm_fcn --repeats 9

Prints a markdown table and adds one record per invocation to ``--out``
(``docs/results/cpu_precision.json``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from ucr_update_cost import MODELS, append_record, build, code_version, time_interleaved

from cnnlstm.data.timeseries import UCRDataModule
from cnnlstm.training.precision import cpu_has_native_bf16

# The shipped UCR/UEA sets, from the shortest series to the longest; PLAID is padded (up to 1344).
DATASETS = ["ItalyPowerDemand", "BasicMotions", "GunPoint", "OSULeaf", "PLAID", "ACSF1"]
PRECISIONS = ("fp32", "bf16")


def cpu_description() -> dict:
    """The CPU's model name, its bf16 instruction flags, and torch's own detection."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text(encoding="utf-8").splitlines() if cpuinfo.exists() else []
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    return dict(
        cpu=name or platform.processor() or platform.machine(),
        amx_bf16="amx_bf16" in flags,
        avx512_bf16="avx512_bf16" in flags,
        torch_detects_native_bf16=cpu_has_native_bf16(),
    )


def one_update(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: tuple, precision: str
) -> float:
    """One training update of ``model`` on ``batch`` in ``precision``; its CPU seconds."""
    x, y, lengths = batch
    start = time.process_time()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model(x, lengths)
    loss = torch.nn.functional.cross_entropy(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.process_time() - start


def measure(model: str, dataset: str, args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    data = UCRDataModule(name=dataset, val_fraction=0.0, batch_size=args.batch_size, seed=0)
    data.setup("fit")
    first = build(model, data).model
    second = build(model, data).model
    second.load_state_dict(first.state_dict())  # the same starting weights in both precisions
    models = dict(zip(PRECISIONS, (first, second), strict=True))
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4) for k, m in models.items()}
    updates: dict[str, Callable[[tuple], float]] = {
        k: partial(one_update, m, optimizers[k], precision=k) for k, m in models.items()
    }
    times, batch_steps = time_interleaved(data, updates, args.warmup, args.repeats)
    ratios = [b / f for f, b in zip(times["fp32"], times["bf16"], strict=True)]
    return dict(
        dataset=dataset,
        model=model,
        input_shape=list(data.input_shape),
        batch_size=args.batch_size,
        batch_steps=batch_steps,
        fp32_cpu_s_per_update=statistics.median(times["fp32"]),
        bf16_cpu_s_per_update=statistics.median(times["bf16"]),
        bf16_over_fp32=statistics.median(ratios),
        fp32_cpu_s=times["fp32"],
        bf16_cpu_s=times["bf16"],
    )


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| set | T × C | model | fp32 CPU s / update | bf16 CPU s / update | bf16 / fp32 |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        steps, channels = r["input_shape"]
        lines.append(
            f"| {r['dataset']} | {steps} × {channels} | {r['model']} | {r['fp32_cpu_s_per_update']:.4f} "
            f"| {r['bf16_cpu_s_per_update']:.4f} | {r['bf16_over_fp32']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--label", default="", help="a name for this measurement, kept in the JSON")
    parser.add_argument("--out", type=Path, default=Path("docs/results/cpu_precision.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = cpu_description()
    print(
        f"CPU: {machine['cpu']}; amx_bf16 {machine['amx_bf16']}, avx512_bf16 {machine['avx512_bf16']}; "
        f"torch {torch.__version__}, {args.threads} thread(s)",
        flush=True,
    )
    rows = []
    for dataset in args.datasets:
        for model in args.models:
            row = measure(model, dataset, args)
            rows.append(row)
            print(
                f"{dataset} {model}: fp32 {row['fp32_cpu_s_per_update']:.4f} s, "
                f"bf16 {row['bf16_cpu_s_per_update']:.4f} s ({row['bf16_over_fp32']:.2f})",
                flush=True,
            )
    print()
    print(markdown_table(rows))
    record = dict(
        label=args.label,
        code=code_version(),
        torch=torch.__version__,
        threads=args.threads,
        machine=platform.machine(),
        **machine,
        warmup=args.warmup,
        repeats=args.repeats,
        rows=rows,
    )
    append_record(args.out, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
