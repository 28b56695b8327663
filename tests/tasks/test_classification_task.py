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
