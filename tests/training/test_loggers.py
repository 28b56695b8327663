"""The resumable CSV history survives a crash in the middle of writing it."""

from __future__ import annotations

import csv

import pytest

from cnnlstm.training.loggers import ResumableCSVLogger


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_crash_while_adding_a_column_keeps_every_earlier_row(tmp_path, monkeypatch):
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    logger.log_metrics({"train/loss_step": 1.0, "epoch": 0}, step=0)
    logger.log_metrics({"val/loss": 0.9, "epoch": 0}, step=9)
    logger.save()
    before = (tmp_path / "metrics.csv").read_text()

    # A new column makes the whole file be written again; the process dies half-way through.
    logger.log_metrics({"train/loss_epoch": 0.95, "epoch": 0}, step=9)

    def die(self, rows):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(csv.DictWriter, "writerows", die)
    with pytest.raises(KeyboardInterrupt):
        logger.save()
    monkeypatch.undo()
    assert (tmp_path / "metrics.csv").read_text() == before
    assert not list(tmp_path.glob(".metrics.csv.*"))  # no temporary file left behind

    logger.save()  # the rows are still queued and land once the write succeeds
    rows = _rows(tmp_path / "metrics.csv")
    assert [r["step"] for r in rows] == ["0", "9", "9"]
    assert rows[1]["val/loss"] == "0.9" and rows[2]["train/loss_epoch"] == "0.95"


def test_saves_append_until_a_column_is_new(tmp_path):
    path = tmp_path / "metrics.csv"
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    logger.log_metrics({"train/loss_epoch": 1.0, "epoch": 0}, step=9)
    logger.save()
    first = path.stat().st_ino
    for epoch in (1, 2):
        logger.log_metrics({"train/loss_epoch": 1.0 / (epoch + 1), "epoch": epoch}, step=10 * epoch + 9)
        logger.save()
    assert path.stat().st_ino == first  # appended in place, not written again
    logger.log_metrics({"val/loss": 0.4, "epoch": 2}, step=29)
    logger.save()
    assert path.stat().st_ino != first  # a new column: the whole file through a rename
    rows = _rows(path)
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "2"]
    assert rows[2]["train/loss_epoch"] == str(1.0 / 3) and rows[3]["val/loss"] == "0.4"


@pytest.mark.parametrize(
    ("history", "rows"),
    [
        ("epoch,step,val/loss\n0,9,1.0\n", [("0", "9", "1.0"), ("1", "19", "0.5")]),
        # a kill during an append left the last row unfinished: it goes when the file is adopted
        ("epoch,step,val/loss\r\n0,9,1.0\r\n1,19,0.", [("0", "9", "1.0"), ("1", "19", "0.5")]),
        # another writer's column order: the new row still lands under the right names
        ("val/loss,step,epoch\n1.0,9,0\n", [("0", "9", "1.0"), ("1", "19", "0.5")]),
    ],
    ids=["old-header", "unfinished-last-row", "other-column-order"],
)
def test_a_resumed_logger_appends_to_the_history_it_finds(tmp_path, history, rows):
    (tmp_path / "metrics.csv").write_text(history)
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    logger.log_metrics({"val/loss": 0.5, "epoch": 1}, step=19)
    logger.save()
    assert [(r["epoch"], r["step"], r["val/loss"]) for r in _rows(tmp_path / "metrics.csv")] == rows


def test_tensorboard_flushes_at_most_every_interval_and_always_at_the_end(tmp_path, monkeypatch):
    from cnnlstm.training.loggers import TensorBoardLogger

    logger = TensorBoardLogger(tmp_path, name="", version="", default_hp_metric=False, flush_every_s=3600)
    flushes = []
    monkeypatch.setattr(logger.experiment, "flush", lambda: flushes.append(1))
    for step in range(5):
        logger.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
        logger.save()
    assert len(flushes) == 1  # the first save flushes; the next four fall inside the interval
    logger.finalize("failed")
    assert len(flushes) >= 2  # the end flushes whatever the interval
