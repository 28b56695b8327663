"""Run plots from a metrics.csv like Lightning's CSVLogger writes."""

from __future__ import annotations

import torch

from cnnlstm.training.plots import plot_confusion_matrix, plot_curves, read_metrics_csv

CSV = """epoch,step,train/loss_epoch,train/loss_step,val/acc,val/loss
0,3,,1.5,,
0,3,,,0.5,1.2
0,3,1.4,,,
1,7,,1.1,,
1,7,,,0.75,0.9
1,7,1.0,,,
"""


def test_curves_group_losses_and_metrics(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(CSV)
    series = read_metrics_csv(path)
    assert series["val/loss"] == [(0, 1.2), (1, 0.9)]
    assert series["train/loss_epoch"] == [(0, 1.4), (1, 1.0)]
    written = plot_curves(path, tmp_path)
    assert [p.name for p in written] == ["loss.png", "metrics.png"]
    assert all(p.stat().st_size > 1000 for p in written)


def test_confusion_matrix_png(tmp_path):
    out = plot_confusion_matrix(
        torch.tensor([[3, 1], [0, 4]]), tmp_path / "cm.png", class_names=["a", "b"], title="test"
    )
    assert out.is_file() and out.read_bytes()[:4] == b"\x89PNG"
