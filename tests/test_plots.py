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


def _png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[16:24]  # IHDR: width, height (big-endian)
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def test_confusion_matrix_of_a_thousand_classes_stays_small(tmp_path):
    import tracemalloc

    from cnnlstm.training.plots import MAX_CONFUSION_INCHES

    n = 1000
    matrix = torch.randint(0, 5, (n, n)) + torch.eye(n, dtype=torch.int64) * 50
    tracemalloc.start()
    try:
        out = plot_confusion_matrix(matrix, tmp_path / "cm.png", title="val")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    width, height = _png_size(out)
    assert max(width, height) <= MAX_CONFUSION_INCHES * 100  # saved at 100 dpi
    # Measured about 210 MiB (matplotlib resamples the 1000 x 1000 image); uncapped, 200 classes
    # took 3.5 GB and 400 failed with MemoryError.
    assert peak < 256 * 2**20, f"peak {peak / 2**20:.0f} MiB traced"


def test_few_classes_keep_their_counts_and_names(tmp_path):
    from cnnlstm.training.plots import MAX_LABELLED_CLASSES

    small = plot_confusion_matrix(torch.eye(3, dtype=torch.int64), tmp_path / "s.png")
    large = plot_confusion_matrix(torch.eye(MAX_LABELLED_CLASSES + 1, dtype=torch.int64), tmp_path / "l.png")
    assert _png_size(small)[0] < _png_size(large)[0]  # the figure still grows with the classes
