"""Test accuracy of the four video models on the synthetic temporal task, mean of 3 seeds.

The task: real H.264 files of a square moving in one of 4 directions (``write_video_tree``), so
no single frame tells the class; a class-folder training tree with 4 broken files, and a held-out
test tree written with another seed. Each model trains with the demo's settings for its preset
(``cnnlstm.cli.demo.DEMO_RUNS``: tiny model, 8 frames of 32×32, CPU) through the real CLI
(``cnnlstm fit`` then ``cnnlstm test --ckpt_path best`` on the held-out tree), once per seed.

The CNN+LSTM models should reach >= 0.95, while ``frame_mean`` (the same per-frame CNN averaged
over time, no LSTM) should stay near chance (0.25): it sees every frame but not their order.

    python benchmarks/video_accuracy.py            # 4 models x 3 seeds, ~15 min on 2 cores
    python benchmarks/video_accuracy.py --seeds 0 --models video-lrcn
    python benchmarks/video_accuracy.py --models video-conv3d --json /tmp/ablation.json \
        --extra='--model.init_args.model_kwargs={frame_size: [32, 32], norm: none}'

Prints a table and writes JSON (``--json``, default docs/results/video_accuracy.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from cnnlstm.cli.demo import DEMO_RUNS, VIDEO_TREE, fit_and_test, write_video_trees

MODELS = ["video-lrcn", "video-conv3d", "video-convlstm", "video-framemean"]
LSTM_TARGET = 0.95
PRESET_ARGS = dict(DEMO_RUNS)  # preset -> the demo's CLI arguments for it


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_video_accuracy"))
    parser.add_argument("--json", type=Path, default=Path("docs/results/video_accuracy.json"))
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="ARG",
        help="one more CLI argument for every run (repeatable), for ablations, e.g. "
        "--extra='--model.init_args.model_kwargs={frame_size: [32, 32], norm: none}'",
    )
    return parser.parse_args(argv)


def run_once(
    preset: str, seed: int, args: argparse.Namespace, videos: Path, test_videos: Path
) -> dict | None:
    """Fit and test one preset with one seed through the CLI; its row, or None if the run failed."""
    started = time.perf_counter()
    summary = fit_and_test(
        preset,
        [*PRESET_ARGS[preset], f"--seed_everything={seed}", f"--data.seed={seed}", *args.extra],
        root=args.out / f"{preset}-seed{seed}",
        videos=videos,
        test_videos=test_videos,
        quiet=True,
    )
    if summary is None:
        return None
    row = {
        "preset": preset,
        "model": summary["model"],
        "seed": seed,
        "test_acc": summary["test_metrics"]["test/acc"],
        "test_f1_macro": summary["test_metrics"]["test/f1_macro"],
        "epochs": summary["epochs"],
        "fit_s": summary["fit_wall_time_s"],
        "total_s": time.perf_counter() - started,
    }
    print(f"{preset} seed {seed}: test acc {row['test_acc']:.3f} ({row['total_s']:.0f} s)", flush=True)
    return row


def summarize(rows: list[dict], presets: list[str]) -> list[dict]:
    """Per preset: test accuracy over the seeds (mean, std, each), mean fit time, the target."""
    table = []
    for preset in presets:
        accs = [r["test_acc"] for r in rows if r["preset"] == preset]
        fit_s = [r["fit_s"] for r in rows if r["preset"] == preset]
        model = next(r["model"] for r in rows if r["preset"] == preset)
        target = "near chance (0.25)" if preset == "video-framemean" else f">= {LSTM_TARGET}"
        table.append(
            {
                "preset": preset,
                "model": model,
                "seeds": len(accs),
                "test_acc_mean": statistics.mean(accs),
                "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "test_acc_per_seed": accs,
                "fit_s_mean": statistics.mean(fit_s),
                "target": target,
            }
        )
    return table


def print_table(table: list[dict]) -> None:
    lines = [
        "| preset | model | test acc (mean ± std) | per seed | fit s | target |",
        "|---|---|---|---|---|---|",
    ]
    for t in table:
        per_seed = ", ".join(f"{a:.3f}" for a in t["test_acc_per_seed"])
        lines.append(
            f"| {t['preset']} | {t['model']} | {t['test_acc_mean']:.3f} ± {t['test_acc_std']:.3f} | {per_seed} "
            f"| {t['fit_s_mean']:.1f} | {t['target']} |"
        )
    print("\n" + "\n".join(lines))


def write_json(path: Path, extra_args: list[str], table: list[dict], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "video_tree": VIDEO_TREE,
                "extra_args": extra_args,
                "summary": table,
                "runs": rows,
            },
            indent=2,
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    videos, test_videos = args.out / "videos", args.out / "videos_test"
    write_video_trees(videos, test_videos, quiet=True)
    rows = []
    for preset in args.models:
        for seed in args.seeds:
            row = run_once(preset, seed, args, videos, test_videos)
            if row is None:
                return 1
            rows.append(row)

    table = summarize(rows, args.models)
    print_table(table)
    write_json(args.json, args.extra, table, rows)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
