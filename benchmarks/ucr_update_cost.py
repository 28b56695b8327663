"""CPU time of one training update of the four sensor models on the archive's long series.

One update is what ``cnnlstm fit --config ucr-<model>`` does per batch: the task's forward on a
real training batch of the data module (``(B, T, C)`` with its ``lengths``), the loss, backward
and one AdamW step. It is timed here without Lightning's loop, in CPU seconds of this process
(``time.process_time``) on one torch thread: ``--warmup`` untimed updates, then the median of
``--repeats`` timed ones. ``--profile`` adds torch.profiler's table of the operators that take
the most CPU time over one update.

``--baseline DIR`` compares with an earlier version of the models: ``DIR`` is a source tree
holding ``cnnlstm/`` (``git archive <commit> src | tar -x -C /tmp/base`` gives ``/tmp/base/src``),
whose ``models/sensor.py`` and ``nn/lstm.py`` are loaded beside the current ones. The two models
start from the same weights and are timed alternately, update by update, on the same batches, so
that the machine's load weighs on both alike (on a shared machine, CPU time per update varies by
tens of percent from minute to minute); ``ratio`` is the median over the pairs of current /
baseline.

    OMP_NUM_THREADS=1 python benchmarks/ucr_update_cost.py --datasets ACSF1 PLAID
    OMP_NUM_THREADS=1 python benchmarks/ucr_update_cost.py --datasets ACSF1 --models lstm_fcn --profile
    git archive dc666ea src | tar -x -C /tmp/base
    OMP_NUM_THREADS=1 python benchmarks/ucr_update_cost.py --baseline /tmp/base/src

Adds one record per invocation to a JSON file (default ``docs/results/ucr_update_cost.json``; ``--out``),
with ``--label`` and the git commit of the code measured.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType

import torch
import yaml

import cnnlstm
import cnnlstm.models._registry as registry
from cnnlstm.data.timeseries import UCRDataModule
from cnnlstm.tasks import ClassificationTask
from cnnlstm.tasks.base import build_kwargs

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


def one_update(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: tuple) -> float:
    """One training update of ``model`` on ``batch``; its CPU seconds."""
    x, y, lengths = batch
    start = time.process_time()
    loss = torch.nn.functional.cross_entropy(model(x, lengths), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.process_time() - start


def time_interleaved(
    data: UCRDataModule, updates: dict[str, Callable[[tuple], float]], warmup: int, repeats: int
) -> tuple[dict[str, list[float]], list[int]]:
    """CPU seconds of each of ``updates`` (name -> one update on a batch) on the same training batches.

    The updates take turns on each batch, the order flipping at every batch so that none always
    goes first; the first ``warmup`` batches are not timed. Returns the times per name and the
    time steps of each timed batch.
    """
    times: dict[str, list[float]] = {k: [] for k in updates}
    batch_steps = []
    batches = iter(data.train_dataloader())
    for i in range(warmup + repeats):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(data.train_dataloader())
            batch = next(batches)
        order = list(updates) if i % 2 == 0 else list(reversed(updates))  # neither always goes first
        for key in order:
            seconds = updates[key](batch)
            if i >= warmup:
                times[key].append(seconds)
        if i >= warmup:
            batch_steps.append(int(batch[0].shape[1]))
    return times, batch_steps


def _load_source(name: str, path: Path, patch: dict) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with contextlib.ExitStack() as stack:
        for (owner, attribute), value in patch.items():
            stack.callback(setattr, owner, attribute, getattr(owner, attribute))
            setattr(owner, attribute, value)
        spec.loader.exec_module(module)
    return module


def load_baseline(src: Path) -> ModuleType:
    """The sensor models of the source tree ``src`` (holding ``cnnlstm/``), with that tree's LSTM.

    Their builders are not registered (the current ones hold the names); the rest of the library
    (validation, base classes) is the current one.
    """
    import cnnlstm.nn

    lstm = _load_source("baseline_lstm", src / "cnnlstm" / "nn" / "lstm.py", {})
    unregistered = {(registry, "register_model"): lambda **_: lambda builder: builder}
    unregistered[(cnnlstm.nn, "LSTM")] = lstm.LSTM  # read by `from cnnlstm.nn import LSTM`
    return _load_source("baseline_sensor", src / "cnnlstm" / "models" / "sensor.py", unregistered)


def measure(model: str, dataset: str, args: argparse.Namespace, baseline: ModuleType | None) -> dict:
    torch.manual_seed(0)
    data = UCRDataModule(name=dataset, val_fraction=0.0, batch_size=args.batch_size, seed=0)
    data.setup("fit")
    task = build(model, data)
    models = {"current": task.model}
    if baseline is not None:
        preset = preset_model_args(model)
        kwargs = build_kwargs(
            preset.get("model_kwargs"), data.num_classes, name=model, input_shape=data.input_shape
        )
        models["baseline"] = getattr(baseline, model)(**kwargs).train()
        models["baseline"].load_state_dict(task.model.state_dict())
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4) for k, m in models.items()}
    updates: dict[str, Callable[[tuple], float]] = {
        k: partial(one_update, m, optimizers[k]) for k, m in models.items()
    }
    times, batch_steps = time_interleaved(data, updates, args.warmup, args.repeats)
    row: dict = dict(
        dataset=dataset,
        model=model,
        input_shape=data.input_shape,
        batch_size=args.batch_size,
        batch_steps=batch_steps,
        cpu_s_per_update=statistics.median(times["current"]),
        cpu_s=times["current"],
    )
    if baseline is not None:
        pairs = [c / b for c, b in zip(times["current"], times["baseline"], strict=True)]
        row.update(
            baseline_cpu_s_per_update=statistics.median(times["baseline"]),
            baseline_cpu_s=times["baseline"],
            ratio=statistics.median(pairs),
        )
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            one_update(task.model, optimizers["current"], next(iter(data.train_dataloader())))
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


def append_record(path: Path, record: dict) -> None:
    """Add one invocation's ``record`` to the JSON list in ``path`` (created if absent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps([*old, record], indent=1) + "\n")


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
    parser.add_argument(
        "--baseline", type=Path, default=None, help="a source tree (holding cnnlstm/) to compare with, paired"
    )
    parser.add_argument("--label", default="", help="a name for this measurement, kept in the JSON")
    parser.add_argument("--out", type=Path, default=Path("docs/results/ucr_update_cost.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    baseline = load_baseline(args.baseline) if args.baseline is not None else None
    rows = []
    header = f"{'dataset':<8} {'model':<13} {'T':>5} {'CPU s/update':>13}"
    print(header + (f" {'baseline':>9} {'ratio':>6}" if baseline else ""))
    for dataset in args.datasets:
        for model in args.models:
            row = measure(model, dataset, args, baseline)
            rows.append(row)
            line = f"{dataset:<8} {model:<13} {row['input_shape'][0]:>5} {row['cpu_s_per_update']:>13.3f}"
            if baseline:
                line += f" {row['baseline_cpu_s_per_update']:>9.3f} {row['ratio']:>6.2f}"
            print(line, flush=True)
    record = dict(
        label=args.label,
        code=code_version(),
        baseline=str(args.baseline) if args.baseline is not None else None,
        torch=torch.__version__,
        threads=args.threads,
        machine=platform.machine(),
        warmup=args.warmup,
        repeats=args.repeats,
        rows=[{k: v for k, v in r.items() if k != "profile"} for r in rows],
    )
    append_record(args.out, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
