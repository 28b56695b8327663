"""What a fit spends on its bookkeeping (checkpoints, ``metrics.csv``) beside the training itself.

Each run is ``cnnlstm fit --config ucr-<model> --data.name <set> --trainer.max_steps <N>`` in a
subprocess with one torch thread, in one of two modes:

* ``shipped``: as a user runs it (``best`` and ``last.ckpt`` each epoch, ``metrics.csv``, the
  run folder's pictures and summary);
* ``bare``: the same fit with ``--trainer.enable_checkpointing=false --trainer.logger=false``:
  the training loop and the process's start-up only.

``shipped - bare`` is the bookkeeping, reported per epoch. On a small set (UnitTest: 20 series,
two updates an epoch) there are thousands of epochs, so this is where bookkeeping weighs most.

``--baseline DIR`` runs the same two modes with an earlier source tree (``DIR`` holds
``cnnlstm/``; ``git archive <commit> src | tar -x -C /tmp/base`` gives ``/tmp/base/src``) put
first on ``PYTHONPATH``. The runs are interleaved (current shipped, baseline shipped, current
bare, baseline bare, then the next repeat) so that a shared machine's load weighs on all alike.
Times are the fit's wall and CPU seconds as the run's ``summary.json`` reports them
(``fit_wall_time_s``, ``fit_cpu_time_s``), and the whole process's (start-up and the end's
pictures included; ``RUSAGE_CHILDREN``) in the JSON. fsync waits show in wall time only.

    OMP_NUM_THREADS=1 python benchmarks/fit_bookkeeping.py --steps 2000
    git archive 599cb2b src | tar -x -C /tmp/base
    OMP_NUM_THREADS=1 python benchmarks/fit_bookkeeping.py --steps 2000 --baseline /tmp/base/src

Adds one record per invocation to ``docs/results/fit_bookkeeping.json`` (``--json``) with the
commit of the code measured and every run's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = {
    "shipped": [],
    "bare": ["--trainer.enable_checkpointing=false", "--trainer.logger=false"],
}


def one_fit(src: Path, mode: str, args: argparse.Namespace, folder: Path) -> dict:
    """Run one fit in a subprocess; its wall and CPU seconds and how many epochs it ran."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    )
    command = [
        sys.executable, "-m", "cnnlstm", "fit", "--config", f"ucr-{args.model}",
        f"--data.name={args.dataset}", f"--trainer.max_steps={args.steps}",
        f"--trainer.default_root_dir={folder}", f"--seed_everything={args.seed}", *MODES[mode],
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"fit failed ({src}, {mode}): {done.stderr.strip().splitlines()[-1:]}")
    summary = json.loads((folder / "summary.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": summary["fit_wall_time_s"],  # the fit itself, as summary.json reports it
        "cpu_s": summary["fit_cpu_time_s"],
        "process_wall_s": round(wall, 2),  # with start-up, data loading and the end's pictures
        "process_cpu_s": round(cpu, 2),
        "epochs": summary["epochs"],
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lstm_fcn")
    parser.add_argument("--dataset", default="UnitTest")
    parser.add_argument("--steps", type=int, default=2000, help="trainer.max_steps of each fit")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", type=Path, help="an earlier source tree holding cnnlstm/")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "fit_bookkeeping.json")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "cnnlstm").is_dir():
        parser.error(f"--baseline {args.baseline}: no cnnlstm/ folder in it")

    trees = {"current": ROOT / "src"} | ({"baseline": args.baseline} if args.baseline else {})
    runs: dict[tuple[str, str], list[dict]] = {(t, m): [] for m in MODES for t in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for mode in MODES:
                for tree, src in trees.items():
                    result = one_fit(src, mode, args, Path(tmp) / f"{tree}-{mode}-{repeat}")
                    runs[tree, mode].append(result)
                    print(f"  {tree:8s} {mode:7s} repeat {repeat}: {result}", flush=True)

    rows = []
    for tree in trees:
        shipped, bare = runs[tree, "shipped"], runs[tree, "bare"]
        epochs = shipped[0]["epochs"]
        row = {"tree": tree, "epochs": epochs}
        for unit in ("wall_s", "cpu_s"):
            s = statistics.median(r[unit] for r in shipped)
            b = statistics.median(r[unit] for r in bare)
            row |= {
                f"shipped_{unit}": s,
                f"bare_{unit}": b,
                f"bookkeeping_ms_per_epoch_{unit[:-2]}": round(1000 * (s - b) / epochs, 2),
                f"bookkeeping_share_{unit[:-2]}": round((s - b) / s, 3),
            }
        rows.append(row)

    print(f"\n{args.model} on {args.dataset}, {args.steps} updates ({rows[0]['epochs']} epochs), "
          f"median of {args.repeats}, one thread")  # fmt: skip
    print("| tree | shipped wall s | bare wall s | bookkeeping ms/epoch (wall) | share of wall | "
          "shipped CPU s | bare CPU s | bookkeeping ms/epoch (CPU) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tree']} | {r['shipped_wall_s']:.1f} | {r['bare_wall_s']:.1f} | "
              f"{r['bookkeeping_ms_per_epoch_wall']:.1f} | {r['bookkeeping_share_wall']:.0%} | "
              f"{r['shipped_cpu_s']:.1f} | {r['bare_cpu_s']:.1f} | {r['bookkeeping_ms_per_epoch_cpu']:.1f} |")  # fmt: skip

    record = {
        "commit": git_commit(),
        "baseline": str(args.baseline) if args.baseline else None,
        "model": args.model,
        "dataset": args.dataset,
        "steps": args.steps,
        "repeats": args.repeats,
        "seed": args.seed,
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
        "runs": {f"{t}/{m}": r for (t, m), r in runs.items()},
    }
    records = json.loads(args.json.read_text()) if args.json.is_file() else []
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([*records, record], indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
