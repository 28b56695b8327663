"""Callbacks the CLI adds to every run: exact resume, run artifacts, predictions on disk."""

from __future__ import annotations

import csv
import json
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

from cnnlstm import __version__
from cnnlstm.plots import plot_confusion_matrix, plot_curves

__all__ = ["PredictionWriter", "RNGStateCallback", "RunArtifacts"]


class RNGStateCallback(Callback):
    """Save the torch, numpy and Python RNG states in each checkpoint and restore them on resume.

    With the epoch-seeded sampler this makes a resumed run draw the same dropout masks and
    augmentations as an uninterrupted one. States are stored as tensors and plain containers so
    the checkpoint still loads with ``weights_only=True``.
    """

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        version, py_state, gauss = random.getstate()
        np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
        checkpoint["cnnlstm_rng"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": [version, list(py_state), gauss],
            "numpy": [np_name, torch.from_numpy(np.asarray(np_keys, dtype=np.int64)), np_pos, np_has_gauss, np_gauss],
        }

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
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
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            out[key] = round(float(value), 6)
        elif isinstance(value, (int, float)):
            out[key] = round(float(value), 6)
    return dict(sorted(out.items()))


class RunArtifacts(Callback):
    """Everything a run leaves besides checkpoints: ``summary.json``, metrics JSON, PNG plots.

    Args:
        root: the run folder.
        preset: the preset or config the run came from (recorded in the summary).
        class_names: labels for the confusion-matrix axes (``None``: class indices).
    """

    def __init__(self, root: str | Path, *, preset: str = "", class_names: list[str] | None = None) -> None:
        self.root = Path(root)
        self.preset = preset
        self.class_names = class_names
        self._started = 0.0

    def _summary_path(self) -> Path:
        return self.root / "summary.json"

    def _update_summary(self, updates: dict[str, Any]) -> None:
        path = self._summary_path()
        summary = json.loads(path.read_text()) if path.is_file() else {}
        summary.update(updates)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
        tmp.replace(path)

    @staticmethod
    def _skipped(trainer: pl.Trainer) -> dict[str, Any]:
        skipped = getattr(trainer.datamodule, "skipped", None)
        return {} if skipped is None else {"skipped_files": len(skipped), "skipped": list(skipped)}

    def _environment(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        device = trainer.strategy.root_device  # the module may already be back on the CPU at fit end
        return {
            "preset": self.preset,
            "model": getattr(pl_module.hparams, "name", type(pl_module).__name__),
            "parameters": sum(p.numel() for p in pl_module.parameters()),
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.machine()} CPU",
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
            plot_confusion_matrix(confusion, self.root / "confusion_val.png", class_names=self.class_names, title="validation")
            plots.append("confusion_val.png")
        ckpt = trainer.checkpoint_callback
        self._update_summary(
            {
                **self._environment(trainer, pl_module),
                "epochs": trainer.current_epoch,
                "fit_wall_time_s": round(time.perf_counter() - self._started, 2),
                "fit_metrics": _scalars(trainer.callback_metrics),
                "best_checkpoint": getattr(ckpt, "best_model_path", "") or "",
                "best_score": float(ckpt.best_model_score) if getattr(ckpt, "best_model_score", None) is not None else None,
                "plots": plots,
                **self._skipped(trainer),
            }
        )

    def _evaluation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, split: str) -> None:
        if not trainer.is_global_zero:
            return
        metrics = {k: v for k, v in _scalars(trainer.callback_metrics).items() if k.startswith(f"{split}/")}
        name = "test" if split == "test" else "validate"
        (self.root / f"{name}_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        updates: dict[str, Any] = {
            f"{name}_metrics": metrics,
            f"{name}_checkpoint": str(trainer.ckpt_path or ""),
            **{f"{name}_{k}": v for k, v in self._skipped(trainer).items()},
        }
        confusion = getattr(pl_module, "confusion", {}).get(split)
        if confusion is not None:
            png = f"confusion_{split}.png"
            plot_confusion_matrix(confusion, self.root / png, class_names=self.class_names, title=split)
            updates[f"{name}_confusion_matrix"] = confusion.tolist()
        self._update_summary(updates)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "validate":
            self._evaluation_end(trainer, pl_module, "val")

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluation_end(trainer, pl_module, "test")


class PredictionWriter(BasePredictionWriter):
    """Write ``predictions.csv`` (index, predicted class, its probability, target if known)."""

    def __init__(self, root: str | Path, *, class_names: list[str] | None = None) -> None:
        super().__init__(write_interval="epoch")
        self.root = Path(root)
        self.class_names = class_names

    def write_on_epoch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, predictions: Any, batch_indices: Any
    ) -> None:
        if not trainer.is_global_zero or not predictions:
            return
        batches = predictions[0] if isinstance(predictions[0], list) else predictions
        probs = torch.cat([b["probs"] for b in batches])
        preds = torch.cat([b["pred"] for b in batches])
        targets = torch.cat([b["target"] for b in batches]) if "target" in batches[0] else None
        path = self.root / "predictions.csv"
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "pred", "pred_name", "prob"] + (["target"] if targets is not None else []))
            for i in range(len(preds)):
                k = int(preds[i])
                name = self.class_names[k] if self.class_names else str(k)
                row = [i, k, name, f"{float(probs[i, k]):.6f}"]
                if targets is not None:
                    row.append(int(targets[i]))
                writer.writerow(row)
        message = f"wrote {len(preds)} predictions to {path}"
        if targets is not None:
            message += f" (accuracy {float((preds == targets).float().mean()):.4f})"
        print(message)
