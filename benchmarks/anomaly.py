"""Anomaly-detection benchmark: the CNN-LSTM detectors against classical peers on the same series.

Detectors (all fitted on the same normal training part, normalised with its statistics, and
scoring every step of the evaluated part):

* ``cnn_lstm_forecast`` / ``cnn_lstm_autoencoder`` — cnnlstm's detectors, trained with
  ``AnomalyTask`` and Lightning (Adam, ``--epochs`` epochs, batch 64, windows every 2 steps),
  Gaussian-normalised errors; ``cnn_lstm_forecast_level`` is the forecaster predicting levels
  (``residual=False``) instead of the change from the last step;
* ``iforest``, ``knn``, ``lof`` — pyod's IsolationForest, k-nearest-neighbours (k=5) and LOF
  (k=20) on sliding windows of ``w`` steps (stride 1), window scores averaged back onto steps;
* ``pca`` — pyod's PCA on the same subsequences (TSB-AD's "PCA");
* ``moving_median`` — |x - centred moving median of ``w`` steps|, averaged over channels;
* ``random`` — uniform random scores.

Data: the GutenTAG suite (src/cnnlstm/data/anomaly_suite/*.yaml, built with ``--suite-seed``;
train on each series' normal train.csv, evaluate test.csv whole), and sktime's yahoo (train on the
first 40%) and mitdb (first 30%), evaluated after the training part. Metrics: VUS-PR, VUS-ROC
(largest buffer ``w``), AUC-PR, AUC-ROC, range-F1, point F1, and point-adjusted F1 (reported
only beside the others). Stochastic detectors run once per seed; deterministic ones once, their
row repeated across seeds. Tables print mean over series and seeds; the JSON keeps every row.

    OMP_NUM_THREADS=1 python benchmarks/anomaly.py --datasets suite yahoo mitdb --seeds 0 1 2 \
        --out docs/results/anomaly.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sized
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnlstm.data.anomaly import AnomalyDataModule
from cnnlstm.metrics import METRICS, anomaly_metrics, moving_median_scores, random_scores

STOCHASTIC = {"cnn_lstm_forecast", "cnn_lstm_forecast_level", "cnn_lstm_autoencoder", "iforest", "random"}
DETECTORS = (
    "cnn_lstm_forecast",
    "cnn_lstm_forecast_level",
    "cnn_lstm_autoencoder",
    "iforest",
    "knn",
    "lof",
    "pca",
    "moving_median",
    "random",
)
MODEL_WINDOWS = {"suite": 64, "yahoo": 64, "mitdb": 128}  # the CNN-LSTMs' training windows
WINDOWS = {"suite": 50, "yahoo": 24, "mitdb": 128}


def _windows(x: np.ndarray, w: int) -> np.ndarray:
    """Sliding windows ``(T - w + 1, w * C)`` of ``x`` ``(T, C)``."""
    view = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)  # (N, C, w)
    return view.reshape(view.shape[0], -1)


def _to_steps(window_scores: np.ndarray, w: int, length: int) -> np.ndarray:
    """Each step's mean over the windows (stride 1) that hold it."""
    total, count = np.zeros(length), np.zeros(length)
    for offset in range(w):
        total[offset : offset + window_scores.size] += window_scores
        count[offset : offset + window_scores.size] += 1
    return total / count


def _classical(name: str, train: np.ndarray, test: np.ndarray, w: int, seed: int) -> np.ndarray:
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF
    from pyod.models.pca import PCA

    models = {
        "iforest": lambda: IForest(random_state=seed),
        "knn": lambda: KNN(n_neighbors=5),
        "lof": lambda: LOF(n_neighbors=20),
        "pca": lambda: PCA(random_state=0),
    }
    detector = models[name]()
    detector.fit(_windows(train, w))
    return _to_steps(detector.decision_function(_windows(test, w)), w, len(test))


def _cnn_lstm(name: str, dm: AnomalyDataModule, seed: int, epochs: int, evaluate: Any) -> np.ndarray:
    import lightning.pytorch as pl

    from cnnlstm.tasks import AnomalyTask

    pl.seed_everything(seed, verbose=False)
    kwargs: dict[str, Any] = {"conv_channels": [16, 16], "hidden_size": 32, "horizon": 2, "gaussian": True}
    if name == "cnn_lstm_forecast_level":
        name, kwargs["residual"] = "cnn_lstm_forecast", False
    elif name == "cnn_lstm_autoencoder":
        kwargs = {"conv_channels": [16], "hidden_size": 32, "gaussian": True}
    task = AnomalyTask(
        name=name, input_shape=dm.input_shape, model_kwargs=kwargs, lr=0.003, threshold="quantile"
    )
    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        default_root_dir=tempfile.mkdtemp(),
    )
    trainer.fit(task, dm)
    evaluate["fit_end"] = time.perf_counter()
    calibration = dm.calibration_dataset()
    # The calibration series have a length; run_series set up test_dataset.
    assert isinstance(calibration, Sized) and dm.test_dataset is not None
    task.calibrate([calibration[i] for i in range(len(calibration))])  # Gaussian error statistics
    item = dm.test_dataset[0]
    return task.score(item.values).numpy().astype(np.float64)


def _dataset(kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Series to run: name, data module (fitted normaliser), kinds."""
    if kind in ("yahoo", "mitdb"):
        fraction = {"yahoo": 0.4, "mitdb": 0.3}[kind]
        return [{"name": kind, "path": kind, "train_path": None, "train_fraction": fraction, "kinds": ()}]
    from cnnlstm.data.anomaly_suite import build_suite

    built = build_suite(args.suite_dir, seed=args.suite_seed, only=args.series or None)
    if args.series:  # run in the order asked (e.g. one series per anomaly kind first)
        built.sort(key=lambda s: args.series.index(s.name))
    return [
        {"name": s.name, "path": s.test, "train_path": s.train, "train_fraction": 0.3, "kinds": s.kinds}
        for s in built
    ]


def run_series(spec: dict[str, Any], group: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    w = WINDOWS[group]
    dm = AnomalyDataModule(
        path=spec["path"],
        train_path=spec["train_path"],
        train_fraction=spec["train_fraction"],
        window=MODEL_WINDOWS[group],
        stride=2,
        batch_size=64,
        val_fraction=0.2,
    )
    dm.setup("fit")
    dm.setup("test")
    assert dm.test_dataset is not None  # setup("test") built it
    item = dm.test_dataset[0]
    start = item.test_start
    labels = item.labels.numpy()[start:]
    values = item.values.numpy()
    train = np.concatenate([p for p in dm._train_parts])  # the normalised training parts
    rows = []
    for detector in args.detectors:
        for seed in args.seeds if detector in STOCHASTIC else args.seeds[:1]:
            marks: dict[str, float] = {}
            began = time.perf_counter()
            if detector.startswith("cnn_lstm"):
                scores = _cnn_lstm(detector, dm, seed, args.epochs, marks)
            elif detector == "moving_median":
                scores = moving_median_scores(values, window=w)
                marks["fit_end"] = began
            elif detector == "random":
                scores = random_scores(len(values), seed=seed)
                marks["fit_end"] = began
            else:
                scores = _classical(detector, train, values, w, seed)
                marks["fit_end"] = began  # fit and score are timed together below
            ended = time.perf_counter()
            metrics = anomaly_metrics(labels, scores[start:], window=w)
            rows.append(
                {
                    "group": group,
                    "series": spec["name"],
                    "kinds": list(spec["kinds"]),
                    "detector": detector,
                    "seed": seed,
                    "fit_s": round(marks["fit_end"] - began, 3),
                    "score_s": round(ended - marks["fit_end"], 3),
                    "total_s": round(ended - began, 3),
                    **{k: round(v, 6) for k, v in metrics.items()},
                }
            )
            print(
                f"{group:6s} {spec['name']:26s} {detector:22s} seed {seed}  VUS-PR {metrics['vus_pr']:.3f}  "
                f"AUC-PR {metrics['auc_pr']:.3f}  {ended - began:.1f}s",
                flush=True,
            )
    return rows


def _mean_rows(rows: list[dict[str, Any]], key: str = "detector") -> dict[str, dict[str, float]]:
    """Mean over series and seeds; a deterministic detector's single run counts for every seed."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    out = {}
    for name, rs in groups.items():
        # average per series first (seeds), then over series, so each series weighs the same
        per_series = defaultdict(list)
        for r in rs:
            per_series[r["series"]].append(r)
        cols = [*METRICS, "fit_s", "total_s"]
        out[name] = {
            c: float(np.mean([np.mean([r[c] for r in s]) for s in per_series.values()])) for c in cols
        }
        out[name]["series"] = len(per_series)
    return out


def table(rows: list[dict[str, Any]], title: str) -> str:
    means = _mean_rows(rows)
    order = sorted(means, key=lambda d: -means[d]["vus_pr"])
    head = "| detector | VUS-PR | VUS-ROC | AUC-PR | AUC-ROC | range-F1 | point F1 | PA-F1 (flatters) | fit+score s |"
    lines = [f"**{title}** ({means[order[0]]['series']:.0f} series)", "", head, "|" + "---|" * 9]
    for d in order:
        m = means[d]
        lines.append(
            f"| {d} | {m['vus_pr']:.3f} | {m['vus_roc']:.3f} | {m['auc_pr']:.3f} | {m['auc_roc']:.3f} | "
            f"{m['range_f1']:.3f} | {m['point_f1']:.3f} | {m['point_adjusted_f1']:.3f} | {m['total_s']:.1f} |"
        )
    return "\n".join(lines)


def kind_table(rows: list[dict[str, Any]]) -> str:
    """Mean VUS-PR per anomaly kind (suite), detectors as columns."""
    detectors = sorted({r["detector"] for r in rows})
    kinds = sorted({k for r in rows for k in r["kinds"]})
    lines = ["| kind | " + " | ".join(detectors) + " |", "|" + "---|" * (len(detectors) + 1)]
    for kind in kinds:
        sub = [r for r in rows if kind in r["kinds"]]
        means = _mean_rows(sub)
        best = max(means[d]["vus_pr"] for d in detectors if d in means)
        cells = [
            (f"**{means[d]['vus_pr']:.3f}**" if means[d]["vus_pr"] == best else f"{means[d]['vus_pr']:.3f}")
            if d in means
            else ""
            for d in detectors
        ]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def stride_study(args: argparse.Namespace, strides: tuple[int, ...] = (1, 4, 16, 64)) -> list[dict[str, Any]]:
    """The autoencoder trained once per series, scored with windows every ``stride`` steps."""
    import lightning.pytorch as pl

    from cnnlstm.tasks import AnomalyTask

    rows = []
    for spec in _dataset("suite", args):
        dm = AnomalyDataModule(
            path=spec["path"], train_path=spec["train_path"], window=64, stride=2, batch_size=64
        )
        dm.setup("fit")
        dm.setup("test")
        assert dm.test_dataset is not None  # setup("test") built it
        item = dm.test_dataset[0]
        pl.seed_everything(args.seeds[0], verbose=False)
        task = AnomalyTask(
            name="cnn_lstm_autoencoder",
            input_shape=dm.input_shape,
            lr=0.003,
            model_kwargs={"conv_channels": [16], "hidden_size": 32},
        )
        pl.Trainer(
            max_epochs=args.epochs,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=tempfile.mkdtemp(),
        ).fit(task, dm)
        for stride in strides:
            began = time.perf_counter()
            scores = task.detector.score_series(item.values, stride=stride).numpy().astype(np.float64)
            seconds = time.perf_counter() - began
            metrics = anomaly_metrics(item.labels.numpy(), scores, window=WINDOWS["suite"])
            rows.append(
                {
                    "series": spec["name"],
                    "stride": stride,
                    "score_s": round(seconds, 3),
                    **{k: round(v, 6) for k, v in metrics.items()},
                }
            )
            print(
                f"{spec['name']:24s} stride {stride:3d}  VUS-PR {metrics['vus_pr']:.3f}  AUC-PR {metrics['auc_pr']:.3f}  {seconds:.2f}s",
                flush=True,
            )
    return rows


def gap_to_best(rows: list[dict[str, Any]]) -> str:
    """Where the best CNN-LSTM detector is not first by mean VUS-PR: by how much, per kind."""
    lines = []
    for kind in sorted({k for r in rows for k in r["kinds"]}):
        means = _mean_rows([r for r in rows if kind in r["kinds"]])
        ours = max((d for d in means if d.startswith("cnn_lstm")), key=lambda d: means[d]["vus_pr"])
        best = max(means, key=lambda d: means[d]["vus_pr"])
        gap = means[best]["vus_pr"] - means[ours]["vus_pr"]
        verdict = "first" if best == ours else f"{gap:.3f} below {best}"
        lines.append(f"| {kind} | {ours} | {means[ours]['vus_pr']:.3f} | {verdict} |")
    return "| kind | best CNN-LSTM | its VUS-PR | rank |\n|---|---|---|---|\n" + "\n".join(lines)


def report_tables(rows: list[dict[str, Any]], groups: list[str]) -> str:
    out = []
    for group in groups:
        sub = [r for r in rows if r["group"] == group]
        if not sub:
            continue
        out.append(table(sub, group))
        if group == "suite":
            out.append("VUS-PR per anomaly kind (suite, mean over series and seeds):\n\n" + kind_table(sub))
            out.append(
                "The best CNN-LSTM detector per kind against the best detector:\n\n" + gap_to_best(sub)
            )
    return "\n\n".join(out)


STREAM_PRESETS = ("anomaly-yahoo", "anomaly-csv", "anomaly-mitdb")


def _preset_detector(preset: str) -> tuple[dict[str, Any], int]:
    """The detector's ``model_kwargs`` and the data ``window`` of a shipped preset (read from its YAML)."""
    import yaml

    path = Path(__file__).resolve().parents[1] / "src" / "cnnlstm" / "presets" / f"{preset}.yaml"
    config = yaml.safe_load(path.read_text())
    kwargs = dict(config["model"]["init_args"].get("model_kwargs") or {})
    return kwargs, int(config["data"]["init_args"]["window"])


def _per_call(fn: Any, count: int) -> float:
    """Seconds per call of ``fn`` over ``count`` calls."""
    began = time.perf_counter()
    for i in range(count):
        fn(i)
    return (time.perf_counter() - began) / count


def stream_speed(preset: str, *, channels: int = 1, steps: int = 2000, rounds: int = 7) -> dict[str, Any]:
    """Per-sample cost of ``AnomalyStream.push`` against re-scoring the last ``window`` steps (what a
    windowed detector does for each new sample), for the detector and window of ``preset``.

    Two offline paths are timed, both under ``torch.inference_mode`` on the same model and data:
    ``score_series`` as the library runs it (cnnlstm's LSTM), and the same weights in
    ``torch.nn.LSTM`` (PyTorch's fused C++ kernel), the fastest offline path at hand; its scores are
    checked equal to the library's. Rounds alternate streaming and re-scoring; each cost is the
    lowest over ``rounds`` (the least disturbed by other processes, as ``timeit`` advises), and the
    median is kept beside it."""
    from cnnlstm.deploy import AnomalyStream
    from cnnlstm.models import create_model
    from cnnlstm.models.anomaly import CNNLSTMForecastDetector

    kwargs, window = _preset_detector(preset)
    torch.manual_seed(0)
    model = create_model("cnn_lstm_forecast", in_channels=channels, **kwargs).eval()
    assert isinstance(model, CNNLSTMForecastDetector)
    if model.gaussian:  # non-trivial error statistics, as after fitting
        model.fit_error_stats(torch.randn(500, channels) * 0.3 + 0.05)
    fused = create_model("cnn_lstm_forecast", in_channels=channels, **kwargs).eval()
    assert isinstance(fused, CNNLSTMForecastDetector)
    fused.load_state_dict(model.state_dict())
    native = torch.nn.LSTM(
        model.lstm.input_size, model.lstm.hidden_size, model.lstm.num_layers, batch_first=True
    )
    native.load_state_dict(model.lstm.state_dict())
    fused.lstm = native.eval()  # type: ignore[assignment]  # torch's LSTM for cnnlstm's, on purpose
    x = torch.randn(window + steps * rounds + 1, channels)
    stream = AnomalyStream(model, threshold=1e9)
    n_windows = max(steps // 20, 20)
    with torch.inference_mode():
        torch.testing.assert_close(
            fused.score_series(x[: window + 1]), model.score_series(x[: window + 1]), rtol=1e-4, atol=1e-5
        )
        for sample in x[:window]:
            stream.push(sample)
        samples = list(x[window:])
        per_sample, per_window, per_window_fused = [], [], []
        for r in range(rounds):
            chunk = samples[r * steps : (r + 1) * steps]
            per_sample.append(_per_call(lambda i, chunk=chunk: stream.push(chunk[i]), steps))
            per_window.append(_per_call(lambda i: model.score_series(x[i : i + window + 1]), n_windows))
            per_window_fused.append(_per_call(lambda i: fused.score_series(x[i : i + window + 1]), n_windows))
    stream_s, window_s, fused_s = (min(v) for v in (per_sample, per_window, per_window_fused))
    medians = [float(np.median(v)) for v in (per_sample, per_window, per_window_fused)]
    return {
        "preset": preset,
        "window": window,
        "channels": channels,
        "model_kwargs": kwargs,
        "stream_ms_per_sample": stream_s * 1e3,
        "rescore_window_ms": window_s * 1e3,
        "rescore_window_fused_lstm_ms": fused_s * 1e3,
        "speedup": window_s / stream_s,
        "speedup_vs_fused_lstm": fused_s / stream_s,
        "median_ms": dict(
            zip(("stream", "rescore", "rescore_fused_lstm"), (m * 1e3 for m in medians), strict=True)
        ),
        "median_speedup": medians[1] / medians[0],
        "median_speedup_vs_fused_lstm": medians[2] / medians[0],
        "rounds": rounds,
        "steps_per_round": steps,
    }


def stream_table(speeds: list[dict[str, Any]]) -> str:
    """Markdown table of :func:`stream_speed` results."""
    lines = [
        "| preset | window | channels | stream ms/sample | re-score ms (score_series) | ratio | "
        "re-score ms (torch.nn.LSTM kernel) | ratio | ratios from medians |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in speeds:
        lines.append(
            f"| {s['preset']} | {s['window']} | {s['channels']} | {s['stream_ms_per_sample']:.3f} | "
            f"{s['rescore_window_ms']:.3f} | {s['speedup']:.1f}x | {s['rescore_window_fused_lstm_ms']:.3f} | "
            f"{s['speedup_vs_fused_lstm']:.1f}x | {s['median_speedup']:.1f}x, {s['median_speedup_vs_fused_lstm']:.1f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["suite", "yahoo", "mitdb"], choices=["suite", "yahoo", "mitdb"]
    )
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=DETECTORS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--series", nargs="*", default=None, help="suite series to run (default: all)")
    parser.add_argument("--suite-dir", default=os.path.join(tempfile.gettempdir(), "cnnlstm_anomaly_suite"))
    parser.add_argument("--suite-seed", type=int, default=0)
    parser.add_argument("--out", default="docs/results/anomaly.json")
    parser.add_argument(
        "--stride-study", action="store_true", help="only: the autoencoder scored at several strides"
    )
    parser.add_argument(
        "--stream-only",
        action="store_true",
        help="only: the online step against re-scoring a window, per preset",
    )
    parser.add_argument(
        "--stream-channels", nargs="+", type=int, default=[1], help="channels for --stream-only"
    )
    parser.add_argument(
        "--report", default=None, help="print the tables of a results JSON (or .partial.json) and exit"
    )
    parser.add_argument(
        "--resume", default=None, help="a .partial.json of an interrupted run: its series are kept, not rerun"
    )
    args = parser.parse_args(argv)
    if args.stream_only:
        torch.set_num_threads(1)
        speeds = [stream_speed(p, channels=c) for p in STREAM_PRESETS for c in args.stream_channels]
        print(stream_table(speeds))
        settings = {
            "command": " ".join(
                ["python", "benchmarks/anomaly.py", *(argv if argv is not None else sys.argv[1:])]
            ),
            "threads": torch.get_num_threads(),
            "machine": platform.platform(),
            "processor": platform.processor(),
            "torch": torch.__version__,
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"settings": settings, "stream": speeds}, indent=1))
        return 0
    if args.stride_study:
        torch.set_num_threads(1)
        found = stride_study(args)
        Path(args.out).write_text(
            json.dumps(
                {"command": " ".join(sys.argv), "epochs": args.epochs, "seed": args.seeds[0], "rows": found},
                indent=1,
            )
        )
        return 0
    if args.report:
        loaded = json.loads(Path(args.report).read_text())
        found = loaded["rows"] if isinstance(loaded, dict) else loaded
        print(report_tables(found, [g for g in args.datasets if any(r["group"] == g for r in found)]))
        return 0
    torch.set_num_threads(1)
    began = time.perf_counter()
    rows: list[dict[str, Any]] = json.loads(Path(args.resume).read_text()) if args.resume else []
    done = {(r["group"], r["series"]) for r in rows}
    partial = Path(args.out).with_suffix(".partial.json")
    partial.parent.mkdir(parents=True, exist_ok=True)
    for group in args.datasets:
        for spec in _dataset(group, args):
            if (group, spec["name"]) not in done:
                rows.extend(run_series(spec, group, args))
            partial.write_text(json.dumps(rows))  # what is done survives an interrupted run
    speeds = [stream_speed(preset) for preset in STREAM_PRESETS]
    report = [report_tables(rows, args.datasets), "Streaming (per sample):\n\n" + stream_table(speeds)]
    text = "\n\n".join(report)
    print("\n" + text)
    settings = {
        "command": " ".join(
            ["python", "benchmarks/anomaly.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "epochs": args.epochs,
        "seeds": args.seeds,
        "suite_seed": args.suite_seed,
        "windows": WINDOWS,
        "threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "machine": platform.platform(),
        "torch": torch.__version__,
        "wall_s": round(time.perf_counter() - began, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"settings": settings, "stream": speeds, "rows": rows, "tables": text}, indent=1)
    )
    partial.unlink(missing_ok=True)
    print(f"\nwrote {args.out} ({settings['wall_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
