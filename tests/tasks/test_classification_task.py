"""The classification task: top-5 accuracy past 5 classes, the per-class report."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.tasks import ClassificationTask


def _logits_and_targets(n: int, count: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(count, n, generator=g), torch.randint(0, n, (count,), generator=g)


def test_top5_accuracy_only_past_five_classes():
    logits, y = _logits_and_targets(7)
    task = ClassificationTask(name="lrcn_tiny", num_classes=7)
    values = task.test_metrics(logits, y)
    expected = (logits.topk(5, dim=1).indices == y[:, None]).any(dim=1).float().mean()
    assert float(values["test/acc_top5"]) == pytest.approx(float(expected))
    assert float(values["test/acc_top5"]) > float(values["test/acc"])  # random logits: top-5 helps
    few = ClassificationTask(name="lrcn_tiny", num_classes=4)
    assert "test/acc_top5" not in few.test_metrics(*_logits_and_targets(4))


def test_per_class_report_matches_the_confusion_matrix():
    logits, y = _logits_and_targets(3, count=60)
    task = ClassificationTask(name="lrcn_tiny", num_classes=3, class_names=["a", "b", "c"])
    task.test_confusion.update(logits, y)
    task.test_per_class.update(logits, y)
    task.on_test_epoch_end()
    report = task.per_class["test"]
    assert list(report) == ["a", "b", "c"]
    pred = logits.argmax(1)
    for k, name in enumerate("abc"):
        tp = int(((pred == k) & (y == k)).sum())
        precision, recall = tp / int((pred == k).sum()), tp / int((y == k).sum())
        assert report[name]["support"] == int((y == k).sum())
        assert report[name]["precision"] == pytest.approx(precision, abs=1e-5)
        assert report[name]["recall"] == pytest.approx(recall, abs=1e-5)
        assert report[name]["f1"] == pytest.approx(2 * precision * recall / (precision + recall), abs=1e-5)
    assert task.evaluation_artifacts("test", root=None) == {"per_class": report}  # type: ignore[arg-type]
    assert task.evaluation_artifacts("val", root=None) == {}  # type: ignore[arg-type]


def test_macro_f1_past_five_classes_is_not_top5_accuracy_when_the_first_batch_is_right():
    """torchmetrics' compute groups once shared the F1 state with top-5 accuracy when the first
    batch was all correct (their states were equal then): F1 1.000 beside an accuracy of 0.992."""
    from sklearn.metrics import f1_score

    n = 6
    task = ClassificationTask(name="lrcn_tiny", num_classes=n)
    y_right = torch.arange(n)
    logits, y = _logits_and_targets(n)
    task.test_metrics.update(torch.eye(n)[y_right], y_right)  # a first batch with no error
    task.test_metrics.update(logits, y)
    values = task.test_metrics.compute()
    pred = torch.cat([y_right, logits.argmax(1)])
    expected = f1_score(torch.cat([y_right, y]), pred, average="macro")
    assert float(values["test/f1_macro"]) == pytest.approx(expected, abs=1e-5)
    assert float(values["test/f1_macro"]) < float(values["test/acc_top5"])
