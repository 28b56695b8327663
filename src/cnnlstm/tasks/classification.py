"""Classification of whole sequences (video clips, sensor windows): cross-entropy, accuracy, F1."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from cnnlstm.tasks.base import BaseTask
from cnnlstm.training.progress import log_learning_rate

__all__ = ["ClassificationTask"]

TOP_K = 5  # top-k accuracy is logged when there are more classes than this


class ClassificationTask(BaseTask):
    """Sequence classification: batches ``(x, y)`` or ``(x, y, lengths)``.

    ``x`` is ``(B, T, ...)`` (frames ``(B, T, C, H, W)``, series ``(B, T, C)``), ``y`` integer
    classes ``(B,)``, and ``lengths`` ``(B,)`` the true lengths of zero-padded series, passed to
    models whose ``forward`` takes ``lengths``. Prediction also accepts sliding-window batches
    ``(x, y, video, start)``.

    Logs ``{train,val,test}/loss``, ``/acc`` (micro accuracy), ``/f1_macro`` and ``/f1_weighted``
    (the activity-recognition papers' convention), and ``/acc_top5`` with more than 5 classes;
    keeps the validation and test confusion matrices in ``self.confusion`` (rows: true, columns:
    predicted) and a per-class report (precision, recall, F1, support) in ``self.per_class``,
    which the run's summary records as ``test_per_class`` / ``validate_per_class``.

    Args:
        label_smoothing: cross-entropy label smoothing.
        **kwargs: see :class:`~cnnlstm.tasks.base.BaseTask`.

    Example:
        >>> task = ClassificationTask(name="lrcn_tiny", num_classes=4)
        >>> task(torch.randn(2, 6, 3, 32, 32)).shape
        torch.Size([2, 4])
    """

    def __init__(self, *, name: str = "lrcn_tiny", label_smoothing: float = 0.0, **kwargs: Any) -> None:
        self.label_smoothing = float(label_smoothing)
        super().__init__(name=name, **kwargs)
        self.confusion: dict[str, Tensor] = {}
        self.per_class: dict[str, dict[str, dict[str, float]]] = {}
        # read once: models for padded series take the true lengths (sensor models do)
        self.takes_lengths = "lengths" in inspect.signature(self.model.forward).parameters

    @property
    def num_classes(self) -> int:
        # ClassifierBase's int property; nn.Module.__getattr__ would type it Tensor | Module
        return int(cast(int, self.model.num_classes))

    def configure_losses(self) -> None:
        self.criterion = nn.CrossEntropyLoss(label_smoothing=self.label_smoothing)

    def configure_metrics(self) -> None:
        n = self.num_classes
        scalars: dict[str, Any] = {
            "acc": MulticlassAccuracy(num_classes=n, average="micro"),
            "f1_macro": MulticlassF1Score(num_classes=n, average="macro"),
            "f1_weighted": MulticlassF1Score(num_classes=n, average="weighted"),
        }
        if n > TOP_K:
            scalars[f"acc_top{TOP_K}"] = MulticlassAccuracy(num_classes=n, average="micro", top_k=TOP_K)
        # No compute groups: torchmetrics would share one state between metrics whose states are
        # equal after the first batch, e.g. macro F1 and top-5 accuracy when that batch is all right.
        metrics = MetricCollection(scalars, compute_groups=False)
        self.train_metrics = metrics.clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.val_confusion = MulticlassConfusionMatrix(num_classes=n)
        self.test_confusion = MulticlassConfusionMatrix(num_classes=n)
        per_class = MetricCollection(
            {
                "precision": MulticlassPrecision(num_classes=n, average=None),
                "recall": MulticlassRecall(num_classes=n, average=None),
                "f1": MulticlassF1Score(num_classes=n, average=None),
            }
        )
        self.val_per_class = per_class.clone()
        self.test_per_class = per_class.clone()

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits ``(B, num_classes)``; for several clips per sample ``(B, N, ...)``, their mean."""
        if lengths is not None and self.takes_lengths:
            return self.model(x, lengths=lengths)
        sample_dims = len(self.hparams["input_shape"]) if self.hparams.get("input_shape") else None
        if sample_dims is not None and x.dim() == sample_dims + 2:
            b, n = x.shape[:2]
            return self.model(x.flatten(0, 1)).unflatten(0, (b, n)).mean(dim=1)
        return self.model(x)

    def _shared_step(self, batch: Any, split: str, batch_idx: int) -> Tensor:
        x, y, *rest = batch
        # float32 logits for the loss and the metrics, also under bf16 autocast (a no-op otherwise)
        logits = self(x, rest[0] if len(rest) == 1 else None).float()
        loss = self.criterion(logits, y)
        if split == "train":
            self.check_loss(loss, batch_idx)
        metrics = getattr(self, f"{split}_metrics")
        metrics.update(logits, y)
        on_step = split == "train"
        self.log(
            f"{split}/loss",
            loss,
            on_step=on_step,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(y),
            sync_dist=True,
        )
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=split != "train", batch_size=len(y))
        if split != "train":
            getattr(self, f"{split}_confusion").update(logits, y)
            getattr(self, f"{split}_per_class").update(logits, y)
        return loss

    def on_train_epoch_start(self) -> None:
        log_learning_rate(self)  # the schedule's value, beside the losses in metrics.csv / TensorBoard

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train", batch_idx)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._shared_step(batch, "val", batch_idx)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._shared_step(batch, "test", batch_idx)

    def _finish_confusion(self, split: str) -> None:
        metric = getattr(self, f"{split}_confusion")
        self.confusion[split] = metric.compute().cpu()
        metric.reset()
        report = getattr(self, f"{split}_per_class")
        values = {k: v.cpu() for k, v in report.compute().items()}
        report.reset()
        support = self.confusion[split].sum(dim=1)  # rows: true classes
        names = self.hparams.get("class_names") or []
        self.per_class[split] = {
            (names[k] if k < len(names) else str(k)): {
                **{metric: round(float(values[metric][k]), 6) for metric in ("precision", "recall", "f1")},
                "support": int(support[k]),
            }
            for k in range(self.num_classes)
        }

    def evaluation_artifacts(self, split: str, root: Path) -> dict[str, Any]:
        """What goes into summary.json after ``split``: the per-class report (``per_class``)."""
        report = self.per_class.get(split)
        return {} if report is None else {"per_class": report}

    def on_validation_epoch_end(self) -> None:
        self._finish_confusion("val")

    def on_test_epoch_end(self) -> None:
        self._finish_confusion("test")

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, Tensor]:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        lengths = batch[2] if isinstance(batch, (list, tuple)) and len(batch) == 3 else None
        # The softmax in float32: under bf16 autocast (precision="bf16-mixed") the logits are bf16,
        # and so would be probabilities computed from them, which then need not sum to one.
        probs = torch.softmax(self(x, lengths).float(), dim=-1)
        out = {"probs": probs, "pred": probs.argmax(-1)}
        if isinstance(batch, (list, tuple)) and len(batch) > 1:
            out["target"] = batch[1]
        if isinstance(batch, (list, tuple)) and len(batch) == 4:  # sliding windows: (x, y, video, start)
            out["video"], out["start"] = batch[2], batch[3]
        return out
