"""The demo: build every registered model, run a batch through it, print and save a table.

Run with ``make demo`` or ``cnnlstm-demo [--out DIR] [--pattern GLOB] [--batch-size N] [--repeats N]``.
Writes ``registry.md`` and ``registry.json`` to ``--out`` (default ``runs/demo``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from cnnlstm import __version__
from cnnlstm.models import create_model, list_models, model_info

COLUMNS = ("model", "task", "input shape", "output shape", "params", "ms / forward")


def measure(name: str, *, batch_size: int, repeats: int) -> dict:
    """Build ``name``, run ``repeats`` timed forwards on its nominal input, return one table row."""
    info = model_info(name)
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.randn(batch_size, *info.input_size)
    times = []
    with torch.inference_mode():
        out = model(x)  # warm-up (oneDNN picks its kernels on the first call)
        for _ in range(repeats):
            start = time.perf_counter()
            out = model(x)
            times.append((time.perf_counter() - start) * 1e3)
    if not torch.isfinite(out).all():
        raise RuntimeError(f"{name} produced non-finite outputs on random input")
    return {
        "model": name,
        "task": info.task,
        "input shape": list(x.shape),
        "output shape": list(out.shape),
        "params": sum(p.numel() for p in model.parameters()),
        "ms / forward": round(statistics.median(times), 2),
    }


def to_markdown(rows: list[dict]) -> str:
    def cell(row: dict, col: str) -> str:
        value = row[col]
        if isinstance(value, list):
            return "(" + ", ".join(map(str, value)) + ")"
        if col == "params":
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(r, c) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cnnlstm-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="folder for registry.md/json")
    parser.add_argument("--pattern", default="*", help="wildcard over model names (default: all)")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per model (median reported)")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1:
        parser.error("--batch-size and --repeats must be >= 1")
    names = list_models(args.pattern)
    if not names:
        parser.error(f"--pattern {args.pattern!r} matches no model; registered: {', '.join(list_models())}")

    print(f"cnnlstm {__version__} | torch {torch.__version__} | CPU threads {torch.get_num_threads()}")
    print(f"Building {len(names)} registered models and running a batch of {args.batch_size} through each ...")
    rows = []
    for i, name in enumerate(names, 1):
        print(f"  [{i}/{len(names)}] {name}", flush=True)
        rows.append(measure(name, batch_size=args.batch_size, repeats=args.repeats))
    table = to_markdown(rows)
    print()
    print(table)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "registry.md").write_text(
        f"# cnnlstm model registry\n\ncnnlstm {__version__}, torch {torch.__version__}, "
        f"{platform.machine()} CPU, {torch.get_num_threads()} threads, batch {args.batch_size}, "
        f"median of {args.repeats} forwards in inference mode.\n\n{table}\n"
    )
    (args.out / "registry.json").write_text(
        json.dumps(
            {
                "cnnlstm": __version__,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "repeats": args.repeats,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nResults: {args.out / 'registry.md'} and {args.out / 'registry.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
