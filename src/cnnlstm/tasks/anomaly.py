"""Anomaly detection: train a detector on normal windows, score every step, raise alarms, evaluate.

Training minimises the detector's own mean squared error (the next steps for a forecaster, the
window for an autoencoder) on windows of the training part. At ``test`` and ``predict`` the
detector first calibrates on the held-out tail of the training part (the data module's
``calibration_dataset``): per-channel error statistics for Gaussian scoring, and the threshold —
a ``quantile`` of the calibration scores, or SPOT (peaks over threshold) fitted there and then
updated along the series. Each whole series is then scored step by step.

``test`` reports, over the steps after the training part and averaged over series with both
normal and anomalous labels: VUS-PR, VUS-ROC, AUC-PR, AUC-ROC, range-F1, point F1 (both at the
best threshold) and, only beside them, point-adjusted F1; plus the range-F1 of the alarms
actually raised (``alarm_range_f1``) and the share of steps alarmed (``alarm_rate``). The same metrics of a random score and of the moving-median
baseline go to the run summary as ``test_baselines``, so the detector's numbers always read
against them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cnnlstm._validation import check_choice, check_non_negative_int, check_positive_int
from cnnlstm.metrics import (
    METRICS,
    SPOT,
    alarm_intervals,
    anomaly_metrics,
    moving_median_scores,
    quantile_threshold,
    random_scores,
    range_f1,
)
from cnnlstm.models.anomaly import AnomalyDetector
from cnnlstm.tasks.base import BaseTask
from cnnlstm.training.progress import log_learning_rate

__all__ = ["AnomalyTask"]

THRESHOLDS = ("spot", "quantile")


class AnomalyTask(BaseTask):
    """Train and evaluate an anomaly detector (``cnnlstm models`` lists the ``anomaly`` ones).

    Args:
        name: registered detector, e.g. ``"cnn_lstm_forecast"``.
        threshold: ``"spot"`` (peaks over threshold, adapting along the series) or
            ``"quantile"`` (a fixed quantile of the calibration scores).
        quantile: the quantile of ``threshold="quantile"``.
        risk: SPOT's probability that a normal score exceeds the threshold.
        score_stride: steps between the windows an autoencoder scores (1: every window).
        smoothing: scores averaged over this many trailing steps (1: none).
        vus_window: VUS's largest buffer, in steps.
        baseline_window: the moving median's window.
        seed: seed of the random-score row.
        **kwargs: see :class:`~cnnlstm.tasks.base.BaseTask`.

    Example:
        >>> task = AnomalyTask(name="cnn_lstm_forecast_tiny", input_shape=[12, 2])
        >>> task.score(torch.randn(50, 2)).shape
        torch.Size([50])
    """

    #: Arguments that only change how a trained detector is evaluated: typed as flags at
    #: ``test``/``predict`` they take the place of the checkpoint's values (which are the defaults).
    evaluation_args: ClassVar[tuple[str, ...]] = (
        "threshold",
        "quantile",
        "risk",
        "score_stride",
        "smoothing",
        "vus_window",
        "baseline_window",
        "seed",
    )

    def __init__(
        self,
        *,
        name: str = "cnn_lstm_forecast",
        threshold: str = "spot",
        quantile: float = 0.99,
        risk: float = 1e-3,
        score_stride: int = 1,
        smoothing: int = 1,
        vus_window: int = 100,
        baseline_window: int = 25,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        check_choice("threshold", threshold, THRESHOLDS)
        quantile_threshold([0.0], quantile)  # checks the quantile's range
        SPOT(risk=risk)  # checks the risk's range
        check_positive_int("score_stride", score_stride)
        check_positive_int("smoothing", smoothing)
        check_non_negative_int("vus_window", vus_window)
        check_positive_int("baseline_window", baseline_window)
        check_non_negative_int("seed", seed)
        kwargs["num_classes"] = None  # linked from the data by the CLI; a detector has no classes
        kwargs.pop("class_names", None)
        super().__init__(name=name, **kwargs)
        self.results: dict[str, list[Any]] = {}
        self.per_series: dict[str, list[dict[str, Any]]] = {}
        self.baselines: dict[str, dict[str, dict[str, float]]] = {}

    @property
    def detector(self) -> AnomalyDetector:
        """The model, as the detector interface (:class:`~cnnlstm.models.anomaly.AnomalyDetector`)."""
        return cast(AnomalyDetector, self.model)

    # -- training ------------------------------------------------------------------------------
    def output_mismatch(self, out: Tensor, data: Any) -> str | None:
        channels = list(data.input_shape)[-1]
        if out.shape[-1] != channels:
            return f"outputs {out.shape[-1]} channels but the data has {channels}"
        return None

    def on_train_epoch_start(self) -> None:
        log_learning_rate(self)

    def _loss(self, x: Tensor) -> Tensor:
        prediction, target = self.detector.training_pair(x)
        return F.mse_loss(prediction, target)

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        loss = self._loss(batch)
        self.check_loss(loss, batch_idx)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch))
        return loss

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch), on_epoch=True, prog_bar=True, batch_size=len(batch))

    # -- scoring -------------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, values: Tensor) -> Tensor:
        """Scores ``(T,)`` of one normalised series ``(T, C)``, smoothed over ``smoothing`` steps."""
        was_training = self.model.training
        self.model.eval()
        try:
            scores = self.detector.score_series(values.to(self.device), stride=self.hparams["score_stride"])
        finally:
            self.model.train(was_training)
        k = self.hparams["smoothing"]
        if k > 1:  # trailing mean, so a streamed score can be smoothed the same way
            padded = torch.cat([scores[:1].expand(k - 1), scores])
            scores = padded.unfold(0, k, 1).mean(-1)
        return scores.float().cpu()

    def calibrate(self, items: list[Any]) -> None:
        """Fit the error statistics (Gaussian scoring) and the threshold on normal ``items``
        (:class:`~cnnlstm.data.anomaly.SeriesItem`; the steps from ``test_start`` on)."""
        self.model.eval()
        if getattr(self.model, "gaussian", False):
            with torch.no_grad():
                errors = [
                    self.detector.series_errors(
                        i.values.to(self.device), stride=self.hparams["score_stride"]
                    )[i.test_start :]
                    for i in items
                ]
            self.detector.fit_error_stats(torch.cat(errors))
        scores = np.concatenate([self.score(i.values).numpy()[i.test_start :] for i in items])
        self.calibration_scores = scores
        risk = self.hparams["risk"]
        if self.hparams["threshold"] == "spot" and scores.size * risk < 1 and self._is_global_zero():
            print(
                f"note: SPOT is calibrated on {scores.size} scores, fewer than 1/risk = {1 / risk:g}, so its "
                "threshold extrapolates beyond them and false alarms can be several times the risk "
                "(docs/anomaly.md, 'Thresholds'); calibrate on more steps (val_fraction, train_fraction), "
                "raise the risk, or read the threshold-free metrics",
                file=sys.stderr,
            )
        self.fixed_threshold = quantile_threshold(scores, self.hparams["quantile"])

    def _is_global_zero(self) -> bool:
        return self._trainer is None or bool(self.trainer.is_global_zero)

    def _calibrate_from_data(self) -> None:
        data = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        make = getattr(data, "calibration_dataset", None)
        if make is None:
            raise RuntimeError(
                "AnomalyTask needs a data module with calibration_dataset() (AnomalyDataModule)"
            )
        dataset = make()
        self.calibrate([dataset[i] for i in range(len(dataset))])

    def alarms(self, scores: np.ndarray, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Alarms and the threshold in force, per step from ``start`` on (zeros before)."""
        alarms = np.zeros(scores.size, dtype=bool)
        thresholds = np.full(scores.size, np.nan)
        if self.hparams["threshold"] == "quantile":
            thresholds[:] = self.fixed_threshold
            alarms[start:] = scores[start:] > self.fixed_threshold
        else:
            spot = SPOT(risk=self.hparams["risk"]).fit(self.calibration_scores)
            thresholds[:start] = spot.threshold
            alarms[start:], thresholds[start:] = spot.run(scores[start:])
        return alarms, thresholds

    def _score_item(self, item: Any, split: str) -> dict[str, Any]:
        scores = self.score(item.values).numpy().astype(np.float64)
        alarms, thresholds = self.alarms(scores, item.test_start)
        intervals = [
            (a.start, a.end, a.peak, a.peak_score)
            for a in alarm_intervals(alarms[item.test_start :], scores[item.test_start :])
        ]
        intervals = [
            (s + item.test_start, e + item.test_start, p + item.test_start, v) for s, e, p, v in intervals
        ]
        out = {
            "index": item.index,
            "name": item.name,
            "scores": scores,
            "alarms": alarms,
            "thresholds": thresholds,
            "intervals": intervals,
            "labels": item.labels.cpu().numpy(),
            "test_start": item.test_start,
        }
        self.results.setdefault(split, []).append(out)
        return out

    def _evaluate(self, item: Any, split: str) -> None:
        out = self._score_item(item, split)
        labels, start = out["labels"][item.test_start :], item.test_start
        if labels.min(initial=0) < 0 or labels.max(initial=0) < 1 or labels.min(initial=1) > 0:
            return  # unlabelled, or one class only: the metrics are undefined on this series
        window = self.hparams["vus_window"]
        row = anomaly_metrics(labels, out["scores"][start:], window=window)
        row["alarm_range_f1"] = range_f1(labels, out["alarms"][start:], alpha=0.2)
        row["alarm_rate"] = float(np.mean(out["alarms"][start:]))  # beside the labels' own rate
        values = item.values.cpu().numpy()
        baselines = {
            "random": random_scores(labels.size, seed=self.hparams["seed"] + item.index),
            "moving_median": moving_median_scores(values, window=self.hparams["baseline_window"])[start:],
        }
        rows = {k: anomaly_metrics(labels, v, window=window) for k, v in baselines.items()}
        self.per_series.setdefault(split, []).append({"series": item.name, "detector": row, **rows})

    def on_test_start(self) -> None:
        self._calibrate_from_data()
        self.results["test"], self.per_series["test"] = [], []

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_test_epoch_end(self) -> None:
        rows = self.per_series.get("test", [])
        if not rows:
            return
        mean = {k: float(np.mean([r["detector"][k] for r in rows])) for k in rows[0]["detector"]}
        self.log_dict({f"test/{k}": v for k, v in mean.items()})
        self.baselines["test"] = {
            name: {k: round(float(np.mean([r[name][k] for r in rows])), 6) for k in METRICS}
            for name in ("random", "moving_median")
        }

    def on_predict_start(self) -> None:
        self._calibrate_from_data()
        self.results["predict"] = []

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, Any]:
        out = self._score_item(batch, "predict")
        return {"anomaly_series": out["index"]}

    # -- what a run writes -----------------------------------------------------------------------
    def _series_results(self, split: str) -> list[Any]:
        from cnnlstm.training.anomaly_outputs import SeriesResult

        data = getattr(self.trainer, "datamodule", None)
        raw = data.series_for(split) if data is not None and hasattr(data, "series_for") else None
        results = []
        for r in self.results.get(split, []):
            series = raw[r["index"]] if raw is not None else None
            values = series.values if series is not None else np.zeros((len(r["scores"]), 1))
            time = (
                series.time if series is not None else np.asarray([str(i) for i in range(len(r["scores"]))])
            )
            channels = series.channels if series is not None else ["value"]
            results.append(
                SeriesResult(
                    r["name"],
                    time,
                    values,
                    channels,
                    r["scores"],
                    r["thresholds"],
                    r["alarms"],
                    r["labels"],
                    r["intervals"],
                    r["test_start"],
                )
            )
        return results

    def write_outputs(self, split: str, root: Path) -> list[str]:
        """``scores.csv``, ``alarms.csv`` and a PNG per series (at most 8) of ``split`` into ``root``."""
        from cnnlstm.training.anomaly_outputs import plot_anomaly_series, write_alarms_csv, write_scores_csv

        results = self._series_results(split)
        if not results:
            return []
        prefix = "" if split == "predict" else f"{split}_"
        written = [
            write_scores_csv(results, root / f"{prefix}scores.csv"),
            write_alarms_csv(results, root / f"{prefix}alarms.csv"),
        ]
        for r in results[:8]:
            written.append(plot_anomaly_series(r, root / f"anomaly_{prefix}{r.name}.png"))
        return [p.name for p in written]

    def on_predict_epoch_end(self) -> None:
        if self.trainer.is_global_zero:
            root = Path(self.trainer.default_root_dir)
            names = self.write_outputs("predict", root)
            alarms = sum(len(r["intervals"]) for r in self.results.get("predict", []))
            print(f"wrote {', '.join(names)} to {root} ({alarms} alarm interval(s))")

    def evaluation_artifacts(self, split: str, root: Path) -> dict[str, Any]:
        """Write the split's scores, alarms and pictures into ``root``; return what goes into summary.json."""
        written = self.write_outputs(split, root)
        out: dict[str, Any] = {
            "pictures": [n for n in written if n.endswith(".png")],
            "files": [n for n in written if not n.endswith(".png")],
        }
        if split in self.baselines:
            out["baselines"] = self.baselines[split]
        if self.per_series.get(split):
            out["per_series"] = [
                {
                    k: ({m: round(v, 6) for m, v in r[k].items()} if isinstance(r[k], dict) else r[k])
                    for k in r
                }
                for r in self.per_series[split]
            ]
        return out
