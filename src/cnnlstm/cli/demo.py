"""The demo (``cnnlstm demo``, ``make demo``): train and test every demo preset, then one table.

Each preset runs ``fit`` then ``test`` on its best checkpoint, in ``<out>/<preset>/``; the summary
goes to ``<out>/summary.md`` and ``<out>/summary.json``, and each run folder keeps its plots.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import TypedDict

import torch

from cnnlstm._version import __version__

# Video presets run on a tree of real H.264 files the demo writes first ({videos}), with tiny
# models and small clips so that each trains in well under a minute on CPU: every frame is decoded
# once into the clip cache, then 30 epochs read the cache. Flips stay off: the direction of motion
# is the label.
_VIDEO = [
    "--data.root={videos}",
    "--data.init_args.hflip=false",
    "--data.num_frames=8",
    "--data.frame_size=32",
    "--data.batch_size=16",
    "--data.num_workers=0",
    "--data.cache_frames=16",
    "--data.cache_dir={videos}.cache",
    "--model.init_args.lr=0.005",
    "--trainer.max_epochs=30",
]

# Moving MNIST: the small preset as it is (500 updates on 8,000 fresh sequences), in bf16 autocast
# on CPUs with bf16 instructions (about 2x faster there) and float32 elsewhere, scored on 100
# validation and 200 test sequences (docs/forecasting.md has the row and its CPU time).
_MOVING_MNIST = [
    "--trainer.precision={cpu_precision}",
    "--data.num_val=100",
    "--data.num_test=200",
    "--data.num_workers=0",
]

# Speech on a small generated corpus ({demo_out}: the demo's folder) and a smaller network than the
# preset's, so that it trains in about a minute on 2 cores: a first look, far from the preset's figures.
_SPEECH = [
    "--data.init_args.root={demo_out}/speech-digits-data",
    "--data.init_args.generate={train: 320, val: 40, test: 80, test_heldout: 0, seed: 0}",
    "--data.init_args.n_mels=40",
    "--data.init_args.batch_size=8",
    "--model.init_args.model_kwargs={conv_channels: [8, 8], kernel_size: [5, 7], lstm_hidden: 64, lstm_layers: 1}",
    "--model.init_args.lr=0.005",
    "--trainer.max_epochs=12",
]

# Translation of numbers written in English words into German words, cut to the demo's time:
# numbers below 10^4, 4,000 of them, 6 epochs, ~30 CPU-seconds of training (the preset's full run,
# exact match 1.0, is in docs/translation.md).
_NUMBERS = [
    "--data.max_exponent=4",
    "--data.train_size=4000",
    "--data.val_size=100",
    "--data.test_size=200",
    "--trainer.max_epochs=6",
]

# DeepConvLSTM on BasicMotions within the demo's time: 75 updates (25 passes over the 40 training
# series) instead of the archive recipe's 1500; its training accuracy reaches 1.0 within 15 updates,
# and the 75 reached test accuracy 1.000 in 16 CPU-s of fitting (one thread). docs/results.md has
# the preset's own results.
_BASICMOTIONS = ["--trainer.max_steps=75"]

# (preset, extra arguments): later presets join here.
DEMO_RUNS: list[tuple[str, list[str]]] = [
    ("synthetic-tiny", []),
    ("synthetic-conv3d", []),
    ("synthetic-convlstm", []),
    (
        "video-lrcn",
        [*_VIDEO, "--model.init_args.name=lrcn_tiny", "--model.init_args.model_kwargs={frame_pool_size: 2}"],
    ),
    (
        "video-framemean",
        [*_VIDEO, "--model.init_args.name=frame_mean_tiny", "--model.init_args.model_kwargs={}"],
    ),
    (
        "video-conv3d",
        [
            *_VIDEO,
            "--model.init_args.name=conv3d_lstm_tiny",
            "--data.stride=1",
            "--model.init_args.model_kwargs={frame_size: [32, 32]}",
        ],
    ),
    (
        "video-convlstm",
        [
            *_VIDEO,
            "--model.init_args.name=convlstm_classifier_tiny",
            "--model.init_args.model_kwargs={}",
            "--data.stride=1",
        ],
    ),
    ("basicmotions-deepconvlstm", _BASICMOTIONS),
    ("movingmnist-convlstm-small", _MOVING_MNIST),
    ("speech-digits", _SPEECH),
    ("anomaly-yahoo", []),
    ("numbers-en-de", _NUMBERS),
]


class VideoTreeSize(TypedDict):
    """The sizes of the demo's video trees, arguments of :func:`~cnnlstm.data.synthetic.write_video_tree`."""

    num_classes: int
    videos_per_class: int
    num_frames: int
    frame_size: int


VIDEO_TREE = VideoTreeSize(num_classes=4, videos_per_class=48, num_frames=16, frame_size=48)
QUICK_ARGS = ["--trainer.max_epochs=1"]
# --quick: fewer generated samples, by preset family (video trees are made small instead).
QUICK_DATA = {
    "synthetic-": ["--data.num_train=64", "--data.num_val=32", "--data.num_test=32"],
    "movingmnist-": ["--data.num_train=32", "--data.num_val=16", "--data.num_test=16"],
    "speech-": ["--data.init_args.generate={train: 16, val: 4, test: 4, test_heldout: 0, seed: 0}"],
    "anomaly-": ["--trainer.limit_train_batches=3"],
    "numbers-": ["--data.train_size=128", "--data.val_size=16", "--data.test_size=16"],
}
COLUMNS = (
    "preset",
    "model",
    "params",
    "epochs",
    "fit s",
    "val acc",
    "test acc",
    "test macro-F1",
    "test MSE",
    "MSE zeros",
    "MSE copy-last",
    "test SSIM",
    "vs baselines",
    "test WER",
    "test CER",
    "test VUS-PR",
    "VUS-PR random",
    "VUS-PR moving-median",
    "test exact match",
    "test chrF",
    "skipped files",
    "plots",
)


# Forecasting metrics and whether higher is better (MSE and MAE: lower; SSIM and PSNR: higher).
FORECAST_METRICS = {"mse": False, "mae": False, "ssim": True, "psnr": True}


def forecast_verdict(test: dict, baselines: dict) -> str | None:
    """Whether a forecaster beats every baseline on every frame metric, in a few words.

    ``test`` holds ``test/mse`` ...; ``baselines`` ``{name: {"mse": ...}}``. None without
    baselines (not a forecaster). A tie is not a win.

    >>> forecast_verdict({"test/mse": 90, "test/mae": 150, "test/ssim": 0.8, "test/psnr": 16},
    ...                  {"zeros": {"mse": 170, "mae": 200, "ssim": 0.79, "psnr": 13.8}})
    'beats all on MSE, MAE, SSIM, PSNR'
    >>> forecast_verdict({"test/mse": 90, "test/mae": 250, "test/ssim": 0.5, "test/psnr": 16},
    ...                  {"zeros": {"mse": 170, "mae": 200, "ssim": 0.79, "psnr": 13.8}})
    'loses on MAE (zeros), SSIM (zeros)'
    """
    if not baselines:
        return None
    losses = []
    for metric, higher in FORECAST_METRICS.items():
        ours = test.get(f"test/{metric}")
        if ours is None:
            continue
        beaten_by = [
            name
            for name, values in baselines.items()
            if values.get(metric) is not None
            and (ours <= values[metric] if higher else ours >= values[metric])
        ]
        if beaten_by:
            losses.append(f"{metric.upper()} ({', '.join(beaten_by)})")
    if losses:
        return "loses on " + ", ".join(losses)
    return "beats all on " + ", ".join(m.upper() for m in FORECAST_METRICS if f"test/{m}" in test)


def _row(preset: str, summary: dict) -> dict:
    test = summary.get("test_metrics", {})
    fit = summary.get("fit_metrics", {})
    baselines = summary.get("test_baselines") or {}  # forecasting: what blank / copied frames score
    return {
        "preset": preset,
        "model": summary.get("model", ""),
        "params": summary.get("parameters", 0),
        "epochs": summary.get("epochs", 0),
        "fit s": summary.get("fit_wall_time_s", 0.0),
        "val acc": fit.get("val/acc"),
        "test acc": test.get("test/acc"),
        "test macro-F1": test.get("test/f1_macro"),
        "test MSE": test.get("test/mse"),
        "MSE zeros": baselines.get("zeros", {}).get("mse"),
        "MSE copy-last": baselines.get("copy_last", {}).get("mse"),
        "test SSIM": test.get("test/ssim"),
        # forecasting: does the model beat blank and copied frames on MSE, MAE, SSIM and PSNR?
        "vs baselines": forecast_verdict(test, baselines) if "test/mse" in test else None,
        "test WER": test.get("test/wer"),
        "test CER": test.get("test/cer"),
        # anomaly detection: VUS-PR beside a random score and the moving-median baseline
        "test VUS-PR": test.get("test/vus_pr"),
        "VUS-PR random": baselines.get("random", {}).get("vus_pr"),
        "VUS-PR moving-median": baselines.get("moving_median", {}).get("vus_pr"),
        "test exact match": test.get("test/exact_match"),  # translation
        "test chrF": test.get("test/chrf"),
        "skipped files": summary.get("skipped_files", 0),
        "plots": ", ".join(
            summary.get("plots", [])
            + (["confusion_test.png"] if "test_confusion_matrix" in summary else [])
            + summary.get("test_pictures", [])
        ),
    }


def to_markdown(rows: list[dict]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def write_video_trees(videos: Path, test_videos: Path, *, quick: bool = False, quiet: bool = False) -> None:
    """Write the demo's H.264 training tree (with 4 broken files) and its held-out test tree."""
    from cnnlstm.data.synthetic import write_video_tree

    tree: VideoTreeSize = {**VIDEO_TREE, "videos_per_class": 8} if quick else VIDEO_TREE
    test_tree: VideoTreeSize = {**tree, "videos_per_class": max(4, tree["videos_per_class"] // 3)}
    print(
        f"writing {tree['num_classes'] * tree['videos_per_class']} H.264 training videos (a square moving in "
        f"one of {tree['num_classes']} directions, 4 broken files among them) to {videos}/, and a held-out "
        f"test tree to {test_videos}/"
    )
    for folder in (videos, test_videos, Path(f"{videos}.cache")):
        if folder.exists():
            shutil.rmtree(folder)
    write_video_tree(videos, **tree, include_broken=True, progress=not quiet)
    write_video_tree(test_videos, **test_tree, seed=1, progress=not quiet)


def fill_placeholders(arg: str, *, videos: Path, demo_out: Path) -> str:
    """``arg`` with ``{videos}`` (the video tree), ``{demo_out}`` (the demo's folder) and
    ``{cpu_precision}`` (:func:`~cnnlstm.training.precision.fastest_cpu_precision`) filled in.

    >>> fill_placeholders("--data.root={videos}", videos=Path("v"), demo_out=Path("o"))
    '--data.root=v'
    """
    from cnnlstm.training.precision import fastest_cpu_precision

    if "{cpu_precision}" in arg:
        arg = arg.replace("{cpu_precision}", fastest_cpu_precision())
    return arg.replace("{videos}", str(videos)).replace("{demo_out}", str(demo_out))


def fit_and_test(
    preset: str,
    extra: list[str],
    *,
    root: Path,
    videos: Path,
    test_videos: Path,
    quick: bool = False,
    quiet: bool = False,
) -> dict | None:
    """``cnnlstm fit`` then ``cnnlstm test --ckpt_path best`` of one preset in ``root``; its summary.

    Returns None (after printing why) when a command fails.
    """
    from cnnlstm.cli.errors import guarded
    from cnnlstm.cli.lightning_cli import run_lightning

    extra = [fill_placeholders(arg, videos=videos, demo_out=root.parent) for arg in extra]
    if root.exists():
        shutil.rmtree(root)  # a demo run starts clean
    common = ["--config", preset, f"--trainer.default_root_dir={root}", *extra]
    if quick:
        common += QUICK_ARGS + next((v for k, v in QUICK_DATA.items() if preset.startswith(k)), [])
    # Video presets are tested on the held-out tree (a class-folder tree has no test split).
    test_extra = [f"--data.root={test_videos}"] if preset.startswith("video-") else []
    for command, after in ((["fit"], []), (["test", "--ckpt_path", "best"], test_extra)):
        args = [*command[1:], *common, *after]  # later options win: `after` overrides common
        code = guarded(lambda: run_lightning(command[0], args, quiet=quiet))  # noqa: B023 (called at once)
        if code != 0:
            print(f"demo: `cnnlstm {command[0]}` failed for {preset} (exit {code})")
            return None
    return json.loads((root / "summary.json").read_text())


def main(argv: list[str] | None = None) -> int:
    from cnnlstm.cli.presets import list_presets

    parser = argparse.ArgumentParser(prog="cnnlstm demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("runs/demo"), help="folder for the runs and the summary"
    )
    parser.add_argument("--only", nargs="*", default=None, help="run only these presets")
    parser.add_argument(
        "--quick", action="store_true", help="1 epoch on few clips: a smoke test, not a result"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    runs = [(p, extra) for p, extra in DEMO_RUNS if args.only is None or p in args.only]
    unknown = set(args.only or []) - {p for p, _ in DEMO_RUNS}
    if unknown:
        parser.error(
            f"--only names no demo preset: {sorted(unknown)}; demo presets: {[p for p, _ in DEMO_RUNS]}"
        )
    missing = [p for p, _ in runs if p not in list_presets()]
    if missing:
        raise RuntimeError(f"demo presets missing from the package: {missing}")

    print(f"cnnlstm {__version__} demo | torch {torch.__version__} | {torch.get_num_threads()} CPU threads")
    rows = []
    started = time.perf_counter()
    videos, test_videos = args.out / "videos", args.out / "videos_test"
    if any("{videos}" in arg for _, extra in runs for arg in extra):
        write_video_trees(videos, test_videos, quick=args.quick, quiet=args.quiet)
    for i, (preset, extra) in enumerate(runs, 1):
        print(f"\n[{i}/{len(runs)}] {preset}: fit, then test on the best checkpoint", flush=True)
        summary = fit_and_test(
            preset,
            extra,
            root=args.out / preset,
            videos=videos,
            test_videos=test_videos,
            quick=args.quick,
            quiet=args.quiet,
        )
        if summary is None:
            return 1
        rows.append(_row(preset, summary))

    table = to_markdown(rows)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    header = (
        f"# cnnlstm demo\n\ncnnlstm {__version__}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        f"{', quick mode (1 epoch, few clips)' if args.quick else ''}; total {time.perf_counter() - started:.0f} s. "
        "Each row: `cnnlstm fit --config PRESET` then `cnnlstm test --ckpt_path best`; plots are in "
        "`<preset>/` beside this file.\n\n"
    )
    (args.out / "summary.md").write_text(header + table + "\n")
    (args.out / "summary.json").write_text(json.dumps({"quick": args.quick, "rows": rows}, indent=2) + "\n")
    print(f"\nResults: {args.out / 'summary.md'}, {args.out / 'summary.json'}, plots in {args.out}/<preset>/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
