"""Callbacks the CLI adds to every run: exact resume, run artifacts, predictions on disk."""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter, Callback

from cnnlstm._io import atomic_write, atomic_write_json, one_line
from cnnlstm._validation import InputError
from cnnlstm._version import __version__
from cnnlstm.training.cpu_clock import cpu_seconds
from cnnlstm.training.loggers import ResumableCSVLogger
from cnnlstm.training.plots import plot_confusion_matrix, plot_curves
from cnnlstm.training.provenance import describe_split, write_fit_keys

__all__ = ["MetricsHistoryCallback", "PredictionWriter", "RNGStateCallback", "RunArtifacts"]


class MetricsHistoryCallback(Callback):
    """Keep ``metrics.csv`` in step with the checkpoints across a kill and a resume.

    Logged rows are flushed before each checkpoint is written, so a run killed right after a
    checkpoint has that epoch's rows on disk; a resumed run first drops rows of epochs after its
    checkpoint (a run killed mid-epoch may have flushed some), which it then runs again.
    """

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict
    ) -> None:
        # Only the CSV history is rolled back on resume; other loggers (TensorBoard's fsyncs each
        # flush) keep their own flushing, which Lightning triggers after each logging step.
        for logger in trainer.loggers:
            if isinstance(logger, ResumableCSVLogger):
                logger.save()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.ckpt_path or not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, ResumableCSVLogger):
                logger.drop_epochs_from(trainer.current_epoch)


class RNGStateCallback(Callback):
    """Save the torch, numpy and Python RNG states in each checkpoint and restore them on resume.

    With the epoch-seeded sampler this makes a resumed run draw the same dropout masks and
    augmentations as an uninterrupted one. States are stored as tensors and plain containers so
    the checkpoint still loads with ``weights_only=True``.
    """

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict
    ) -> None:
        version, py_state, gauss = random.getstate()
        np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
        checkpoint["cnnlstm_rng"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": [version, list(py_state), gauss],
            "numpy": [
                np_name,
                torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
                np_pos,
                np_has_gauss,
                np_gauss,
            ],
        }

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict
    ) -> None:
        state = checkpoint.get("cnnlstm_rng")
        if not state:
            return
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        version, py_state, gauss = state["python"]
        random.setstate((version, tuple(py_state), gauss))
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1 or isinstance(value, (int, float)):
            out[key] = round(float(value), 6)
    return dict(sorted(out.items()))


class RunArtifacts(Callback):
    """Everything a run leaves besides checkpoints: ``summary.json``, metrics JSON, PNG plots.

    Args:
        root: the run folder.
        preset: the preset or config the run came from (recorded in the summary).
        class_names: labels for the confusion-matrix axes (``None``: class indices).
        allow_train_overlap: score evaluation data that overlaps the run's training data (the
            result is marked); by default such a ``test`` or ``validate`` is refused.

    Provenance: ``fit`` keeps digests of its training and validation samples
    (:mod:`~cnnlstm.training.provenance`); each ``test`` / ``validate`` records the data it read
    (the data module's description, the number of samples, a fingerprint and the overlap with
    the fit's splits) and keeps one result per command, checkpoint and data fingerprint under
    ``summary.json``'s ``results`` and in ``results/``, so evaluating other data never replaces
    an earlier result.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        preset: str = "",
        class_names: list[str] | None = None,
        allow_train_overlap: bool = False,
    ) -> None:
        self.root = Path(root)
        self.preset = preset
        self.class_names = class_names
        self.allow_train_overlap = allow_train_overlap
        self._started = 0.0
        self._started_cpu = 0.0
        self._evaluated: dict[str, Any] = {}

    def _summary_path(self) -> Path:
        return self.root / "summary.json"

    def _update_summary(self, updates: dict[str, Any]) -> None:
        path = self._summary_path()
        summary = json.loads(path.read_text()) if path.is_file() else {}
        summary.update(updates)
        atomic_write_json(path, summary)

    @staticmethod
    def _data(trainer: pl.Trainer) -> dict[str, Any]:
        """What the data module resolved (``describe()``): the inputs this result came from."""
        describe = getattr(_datamodule(trainer), "describe", None)
        if not callable(describe):
            return {}
        try:
            return {"data": describe()}
        except Exception as err:  # the run's results stay; say why the description is missing
            return {"data": {"error": f"describe() failed: {one_line(err, limit=300)}"}}

    @staticmethod
    def _skipped(trainer: pl.Trainer) -> dict[str, Any]:
        skipped = getattr(_datamodule(trainer), "skipped", None)
        return {} if skipped is None else {"skipped_files": len(skipped), "skipped": list(skipped)}

    def _environment(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        device = trainer.strategy.root_device  # the module may already be back on the CPU at fit end
        return {
            "preset": self.preset,
            "model": getattr(pl_module.hparams, "name", type(pl_module).__name__),
            "parameters": sum(p.numel() for p in pl_module.parameters()),
            "device": torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else f"{platform.machine()} CPU",
            "accelerator": device.type,
            "num_devices": trainer.num_devices,
            "precision": str(trainer.precision),
            "versions": {
                "cnnlstm": __version__,
                "torch": torch.__version__,
                "lightning": pl.__version__,
                "python": sys.version.split()[0],
            },
        }

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = time.perf_counter()
        self._started_cpu = cpu_seconds()
        if trainer.is_global_zero:
            write_fit_keys(self.root, _datamodule(trainer))

    def _check_evaluated_data(self, trainer: pl.Trainer, split: str) -> None:
        """Record what ``split`` holds; refuse data the run was trained on unless allowed."""
        self._evaluated = describe_split(self.root, _datamodule(trainer), split)
        seen = self._evaluated.get("overlap")
        trained_on = seen.get("train", 0) if isinstance(seen, dict) else 0
        if trained_on and not self.allow_train_overlap:
            total = self._evaluated["samples"]
            raise InputError(
                f"{trained_on} of the {total} {split} samples were used to train the run in {self.root}, "
                "so the score would not measure generalisation; evaluate held-out data (e.g. "
                "--data.root OTHER_DATA) or pass --allow_train_overlap to score them anyway "
                "(the result is then marked)",
                field="data.root",
            )

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check_evaluated_data(trainer, "test")

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "validate":
            self._check_evaluated_data(trainer, "val")

    def _flush_loggers(self, trainer: pl.Trainer) -> None:
        for logger in trainer.loggers:
            logger.save()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        self._flush_loggers(trainer)
        plots = []
        metrics_csv = self.root / "metrics.csv"
        if metrics_csv.is_file():
            plots += [p.name for p in plot_curves(metrics_csv, self.root)]
        confusion = getattr(pl_module, "confusion", {}).get("val")
        if confusion is not None:
            plot_confusion_matrix(
                confusion, self.root / "confusion_val.png", class_names=self.class_names, title="validation"
            )
            plots.append("confusion_val.png")
        pictures = self._task_artifacts(pl_module, "val")
        plots += pictures.pop("pictures", [])
        self._log_pictures(trainer, plots)
        ckpt = trainer.checkpoint_callback
        best_score = getattr(ckpt, "best_model_score", None)
        self._update_summary(
            {
                **self._environment(trainer, pl_module),
                "epochs": trainer.current_epoch,
                "fit_wall_time_s": round(time.perf_counter() - self._started, 2),
                # CPU seconds of this process's threads and its finished data workers (as CPUClock counts)
                "fit_cpu_time_s": round(cpu_seconds() - self._started_cpu, 2),
                "fit_metrics": _scalars(trainer.callback_metrics),
                "best_checkpoint": getattr(ckpt, "best_model_path", "") or "",
                "best_score": float(best_score) if best_score is not None else None,
                "best_monitor": getattr(ckpt, "monitor", None),  # val/loss, or train/loss without validation
                "plots": plots,
                **self._skipped(trainer),
                **self._data(trainer),
            }
        )

    def _log_pictures(self, trainer: pl.Trainer, names: list[str]) -> None:
        """Put the run's PNG pictures into each logger that takes images (TensorBoard), at the
        last step, tagged ``pictures/<name>``, so the viewer shows them beside the curves."""
        experiments = (getattr(lg, "experiment", None) for lg in trainer.loggers)
        writers: list[Any] = [w for w in experiments if callable(getattr(w, "add_image", None))]
        if not writers:
            return
        from matplotlib.image import imread

        for name in names:
            path = self.root / name
            if path.suffix != ".png" or not path.is_file():
                continue
            image = imread(path)[..., :3]  # (H, W, 3) float in [0, 1]; the alpha channel dropped
            for writer in writers:
                writer.add_image(f"pictures/{path.stem}", image, trainer.global_step, dataformats="HWC")
        for writer in writers:
            flush = getattr(writer, "flush", None)
            if callable(flush):
                flush()

    def _task_artifacts(self, pl_module: pl.LightningModule, split: str) -> dict[str, Any]:
        """Pictures and tables a task makes of its own results (forecast frames, horizons ...)."""
        make = getattr(pl_module, "evaluation_artifacts", None)
        return dict(make(split, self.root)) if callable(make) else {}

    def _evaluation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, split: str) -> None:
        if not trainer.is_global_zero:
            return
        metrics = {k: v for k, v in _scalars(trainer.callback_metrics).items() if k.startswith(f"{split}/")}
        name = "test" if split == "test" else "validate"
        atomic_write_json(self.root / f"{name}_metrics.json", metrics)
        checkpoint = str(trainer.ckpt_path or "")
        data = {**self._data(trainer).get("data", {}), **self._evaluated}
        updates: dict[str, Any] = {
            f"{name}_metrics": metrics,
            f"{name}_checkpoint": checkpoint,
            f"{name}_data": data,
            **{f"{name}_{k}": v for k, v in self._skipped(trainer).items()},
            "results": self._keep_result(name, checkpoint, metrics, data),
        }
        confusion = getattr(pl_module, "confusion", {}).get(split)
        if confusion is not None:
            png = f"confusion_{split}.png"
            plot_confusion_matrix(confusion, self.root / png, class_names=self.class_names, title=split)
            updates[f"{name}_confusion_matrix"] = confusion.tolist()
        for key, value in self._task_artifacts(pl_module, split).items():
            updates[f"{name}_{key}"] = value
        self._update_summary(updates)

    def _keep_result(
        self, name: str, checkpoint: str, metrics: dict[str, float], data: dict[str, Any]
    ) -> dict[str, Any]:
        """Add this evaluation to the run's results, one per command, checkpoint and data.

        Written to ``results/<command>-<checkpoint>-<fingerprint>.json``; returns the updated
        ``results`` mapping of ``summary.json`` (the same key replaces only its own entry).
        """
        stem = Path(checkpoint).stem or "no-checkpoint"
        fingerprint = data.get("fingerprint") or "unfingerprinted"
        key = f"{name}-{stem}-{fingerprint}"
        seen = data.get("overlap")
        result = {
            "command": name,
            "checkpoint": checkpoint,
            "data_fingerprint": data.get("fingerprint"),
            "samples": data.get("samples"),
            "metrics": metrics,
            "trained_on_samples": seen.get("train", 0) if isinstance(seen, dict) else None,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write_json(self.root / "results" / f"{key}.json", {**result, "data": data})
        path = self._summary_path()
        results = (json.loads(path.read_text()) if path.is_file() else {}).get("results") or {}
        results[key] = result
        return dict(results)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "validate":
            self._evaluation_end(trainer, pl_module, "val")

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluation_end(trainer, pl_module, "test")


def _datamodule(trainer: pl.Trainer) -> Any:
    """``trainer.datamodule``: Lightning sets it at run time (None without one) but does not declare it."""
    return getattr(trainer, "datamodule", None)


def _sample_paths(dataset: Any) -> list[str] | None:
    """Each video's file from the dataset's ``sample_path``; None for data without files."""
    if not hasattr(dataset, "sample_path"):
        return None
    return [dataset.sample_path(i) for i in range(dataset.num_videos)]


class PredictionWriter(BasePredictionWriter):
    """Write ``predictions.csv``: one row per sample with its predicted class and every probability.

    Columns: ``index``, ``path`` (when the dataset has file samples), ``pred``, ``pred_name``,
    ``prob``, ``target`` (when any is known; -1 = unknown) and ``p_<class>`` per class. For
    sliding-window predictions (items carry ``video`` and ``start``) it also writes
    ``timeline.csv`` / ``timeline.json`` (video, start/end in seconds, label, probability) and
    the per-video rows average the windows' probabilities.

    What it reads of the prediction dataset is public: ``num_videos``, ``sample_path(i)`` and
    ``sample_label(i)`` for file data (a dataset without ``sample_path`` gets no ``path``
    column), and ``window_frames(video, start)`` / ``window_seconds(video, start)`` for windows
    (see :class:`~cnnlstm.data.video.VideoClipDataset` and
    :class:`~cnnlstm.data.video.VideoWindowDataset`).
    """

    def __init__(self, root: str | Path, *, class_names: list[str] | None = None) -> None:
        super().__init__(write_interval="epoch")
        self.root = Path(root)
        self.class_names = class_names

    def _name(self, k: int) -> str:
        return self.class_names[k] if self.class_names and k < len(self.class_names) else str(k)

    def write_on_epoch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, predictions: Any, batch_indices: Any
    ) -> None:
        if not trainer.is_global_zero or not predictions:
            return
        batches = predictions[0] if isinstance(predictions[0], list) else predictions
        if "frames" in batches[0]:
            self._write_frames(batches)
            return
        if "transcripts" in batches[0]:
            datamodule = _datamodule(trainer)
            skipped = getattr(datamodule, "skipped", None) or []
            split = getattr(datamodule, "predict_split", "predict")  # the split predict read
            self._write_transcripts(batches, [i for i in skipped if i.get("split") == split])
            return
        if "anomaly_series" in batches[0]:
            return  # the anomaly task writes scores.csv and alarms.csv itself (AnomalyTask.write_outputs)
        if "translations" in batches[0]:
            issues = [
                i for b in batches for i in b.get("placeholder_issues") or [None] * len(b["translations"])
            ]
            self._write_translations([t for b in batches for t in b["translations"]], issues)
            return
        probs = torch.cat([b["probs"] for b in batches]).float().cpu()
        targets = torch.cat([b["target"] for b in batches]).cpu() if "target" in batches[0] else None
        dataset: Any = getattr(_datamodule(trainer), "predict_dataset", None)  # duck-typed
        paths = _sample_paths(dataset)
        if "video" in batches[0]:
            videos = torch.cat([b["video"] for b in batches]).cpu()
            starts = torch.cat([b["start"] for b in batches]).cpu()
            self._write_timeline(dataset, probs, videos, starts)
            # one row per video: the mean of its windows' probabilities
            count = dataset.num_videos
            sums = torch.zeros(count, probs.shape[1]).index_add_(0, videos, probs)
            probs = sums / torch.bincount(videos, minlength=count).clamp(min=1)[:, None]
            targets = (
                torch.tensor([dataset.sample_label(v) for v in range(count)]) if targets is not None else None
            )
        preds = probs.argmax(-1)
        # the targets when any is known (-1 = unknown), else None
        known_targets = targets if targets is not None and bool((targets >= 0).any()) else None
        path = self.root / "predictions.csv"
        with atomic_write(path, "w", newline="") as f:
            writer = csv.writer(f)
            header = ["index"] + (["path"] if paths else []) + ["pred", "pred_name", "prob"]
            header += ["target"] if known_targets is not None else []
            header += [f"p_{self._name(k)}" for k in range(probs.shape[1])]
            writer.writerow(header)
            for i in range(len(preds)):
                k = int(preds[i])
                row: list[Any] = (
                    [i] + ([paths[i]] if paths else []) + [k, self._name(k), f"{float(probs[i, k]):.6f}"]
                )
                row += [int(known_targets[i])] if known_targets is not None else []
                row += [f"{float(p):.6f}" for p in probs[i]]
                writer.writerow(row)
        message = f"wrote {len(preds)} predictions to {path}"
        if known_targets is not None:
            mask = known_targets >= 0
            message += f" (accuracy {float((preds[mask] == known_targets[mask]).float().mean()):.4f} on {int(mask.sum())} labelled)"
        print(message)
        if len(preds) == 1:  # one input: its answer on the terminal, not only in the file
            k = int(preds[0])
            where = f"{paths[0]}: " if paths else ""
            print(f"{where}{self._name(k)} (probability {float(probs[0, k]):.3f})")

    def _write_transcripts(
        self, batches: list[dict[str, Any]], skipped: list[dict[str, str]] | None = None
    ) -> None:
        """Speech: ``transcripts.csv`` (path, text; the reference where known; word times as JSON
        ``[[word, start_s, end_s], ...]`` when the batches carry them). Input files that could not
        be read get a row too, with an empty text and the reason in a ``skipped`` column."""
        rows: list[tuple[str, str, str | None, Any]] = []
        for b in batches:
            for k, (file, text) in enumerate(zip(b["paths"], b["transcripts"], strict=True)):
                reference = b["references"][k] if "references" in b else None
                words = b["words"][k] if "words" in b else None
                rows.append((file, text, reference, words))
        has_refs = any(r[2] is not None for r in rows)
        has_words = any(r[3] is not None for r in rows)
        skipped = list(skipped or [])
        path = self.root / "transcripts.csv"
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(
                ["path", "text"]
                + (["reference"] if has_refs else [])
                + (["words"] if has_words else [])
                + (["skipped"] if skipped else [])
            )
            for file, text, reference, words in rows:
                row = [file, text] + ([reference or ""] if has_refs else [])
                row += [json.dumps(words)] if has_words else []
                row += [""] if skipped else []
                writer.writerow(row)
            for item in skipped:
                pad = [""] * (int(has_refs) + int(has_words))
                writer.writerow([item.get("path", "?"), "", *pad, item.get("reason", "")])
        print(f"wrote {len(rows)} transcripts to {path}")
        if skipped:
            print(f"skipped {len(skipped)} file(s) (rows with a reason in the skipped column):")
            for item in skipped[:10]:
                print(f"  {item.get('path', '?')}: {item.get('reason', '')}")
        if len(rows) == 1:
            print(f"{rows[0][0]}: {rows[0][1]}")

    def _write_translations(self, translations: list[str], issues: list[Any] | None = None) -> None:
        """Translations: ``translations.txt``, one line per input line, in input order; where the
        task reports placeholders a translation dropped or invented, ``placeholders.json`` lists
        them by input line."""
        path = self.root / "translations.txt"
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w") as f:
            f.writelines(" ".join(t.split()) + "\n" for t in translations)
        print(f"wrote {len(translations)} translations to {path}")
        flagged = [{"line": k, **issue} for k, issue in enumerate(issues or [], start=1) if issue]
        if flagged:
            atomic_write_json(self.root / "placeholders.json", flagged)
            lines = ", ".join(str(f["line"]) for f in flagged[:10]) + (" ..." if len(flagged) > 10 else "")
            print(
                f"placeholders: {len(flagged)} translation(s) dropped or invented a placeholder of their "
                f"source (lines {lines}; see {self.root / 'placeholders.json'})"
            )
        if len(translations) == 1:
            print(translations[0])

    def _write_frames(self, batches: list[dict[str, torch.Tensor]], *, pictures: int = 4) -> None:
        """Forecasts: ``predictions.npy`` ``(N, T_out, C, H, W)`` float32 in [0, 1], and PNG grids."""
        from cnnlstm.training.plots import plot_forecast_grid

        frames = torch.cat([b["frames"] for b in batches]).float().cpu()
        inputs = torch.cat([b["inputs"] for b in batches]).float().cpu()
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "predictions.npy"
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as f:  # written whole, then renamed: never a half-written file
            np.save(f, frames.numpy())
        os.replace(partial, path)
        for i in range(min(pictures, len(frames))):
            plot_forecast_grid(
                inputs=inputs[i : i + 1],
                targets=None,
                predictions=frames[i : i + 1],
                path=self.root / f"prediction_{i:03d}.png",
            )
        print(
            f"wrote {len(frames)} forecasts of {frames.shape[1]} frames to {path} "
            f"(and {min(pictures, len(frames))} PNG grids beside it)"
        )

    def _write_timeline(
        self, dataset: Any, probs: torch.Tensor, videos: torch.Tensor, starts: torch.Tensor
    ) -> None:
        rows = []
        for p, v, start in zip(probs, videos.tolist(), starts.tolist(), strict=True):
            first, last = dataset.window_frames(v, start)
            start_s, end_s = dataset.window_seconds(v, start)
            k = int(p.argmax())
            rows.append(
                {
                    "path": dataset.sample_path(v),
                    "start_s": round(start_s, 3),
                    "end_s": round(end_s, 3),
                    "start_frame": first,
                    "end_frame": last,
                    "label": self._name(k),
                    "prob": round(float(p[k]), 6),
                }
            )
        with open(self.root / "timeline.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        (self.root / "timeline.json").write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote a {len(rows)}-window timeline to {self.root / 'timeline.csv'} and timeline.json")
