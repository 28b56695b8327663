"""CPU time of one training update of the four sensor models on the archive's long series.

One update is what ``cnnlstm fit --config ucr-<model>`` does per batch: the task's forward on a
real training batch of the data module (``(B, T, C)`` with its ``lengths``), the loss, backward
and one AdamW step. It is timed here without Lightning's loop, in CPU seconds of this process
(``time.process_time``) on one torch thread: ``--warmup`` untimed updates, then the median of
``--repeats`` timed ones. ``--profile`` adds torch.profiler's table of the operators that take
the most CPU time over one update.

    OMP_NUM_THREADS=1 python benchmarks/ucr_update_cost.py --datasets ACSF1 PLAID
    OMP_NUM_THREADS=1 python benchmarks/ucr_update_cost.py --datasets ACSF1 --models lstm_fcn --profile

Adds one record per invocation to a JSON file (default ``docs/results/ucr_update_cost.json``; ``--out``),
with ``--label`` and the git commit of the code measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch
import yaml

import cnnlstm
from cnnlstm.data.timeseries import UCRDataModule
from cnnlstm.tasks import ClassificationTask

MODELS = ["deepconvlstm", "lstm_fcn", "mlstm_fcn", "cnn_bilstm"]
PRESETS = Path(cnnlstm.__file__).resolve().parent / "presets"


def preset_model_args(model: str) -> dict:
    """The task's init_args of the shipped ``ucr-<model>`` preset."""
    config = yaml.safe_load((PRESETS / f"ucr-{model}.yaml").read_text())
    return dict(config["model"]["init_args"])


def build(model: str, data: UCRDataModule) -> ClassificationTask:
    task = ClassificationTask(
        **preset_model_args(model), num_classes=data.num_classes, input_shape=data.input_shape
    )
    task.train()
    return task


def one_update(task: ClassificationTask, optimizer: torch.optim.Optimizer, batch: tuple) -> None:
    x, y, lengths = batch
    loss = task.criterion(task(x, lengths), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def measure(model: str, dataset: str, args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    data = UCRDataModule(name=dataset, val_fraction=0.0, batch_size=args.batch_size, seed=0)
    data.setup("fit")
    batches = iter(data.train_dataloader())
    task = build(model, data)
    optimizer = torch.optim.AdamW(task.parameters(), lr=1e-3, weight_decay=1e-4)
    times = []
    batch_steps = []
    for i in range(args.warmup + args.repeats):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(data.train_dataloader())
            batch = next(batches)
        start = time.process_time()
        one_update(task, optimizer, batch)
        if i >= args.warmup:
            times.append(time.process_time() - start)
            batch_steps.append(int(batch[0].shape[1]))
    row = dict(
        dataset=dataset,
        model=model,
        input_shape=data.input_shape,
        batch_size=args.batch_size,
        batch_steps=batch_steps,
        cpu_s_per_update=statistics.median(times),
        cpu_s=times,
    )
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            one_update(task, optimizer, next(iter(data.train_dataloader())))
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.profile_rows)
        row["profile"] = table
        print(f"\n== {dataset} {model}\n{table}")
    return row


def code_version() -> str:
    """The git commit of the cnnlstm imported, with ``+changes`` when its tree differs from it."""
    root = Path(cnnlstm.__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=root).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["ACSF1", "PLAID"])
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-rows", type=int, default=15)
    parser.add_argument("--label", default="", help="a name for this measurement, kept in the JSON")
    parser.add_argument("--out", type=Path, default=Path("docs/results/ucr_update_cost.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    print(f"{'dataset':<8} {'model':<13} {'T':>5} {'CPU s/update':>13}")
    for dataset in args.datasets:
        for model in args.models:
            row = measure(model, dataset, args)
            rows.append(row)
            print(
                f"{dataset:<8} {model:<13} {row['input_shape'][0]:>5} {row['cpu_s_per_update']:>13.3f}",
                flush=True,
            )
    record = dict(
        label=args.label,
        code=code_version(),
        torch=torch.__version__,
        threads=args.threads,
        machine=platform.machine(),
        warmup=args.warmup,
        repeats=args.repeats,
        rows=[{k: v for k, v in r.items() if k != "profile"} for r in rows],
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(args.out.read_text()) if args.out.exists() else []
    args.out.write_text(json.dumps([*old, record], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
