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


def test_a_resumed_logger_appends_under_the_old_header(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,step,val/loss\n0,9,1.0\n")
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    logger.log_metrics({"val/loss": 0.5, "epoch": 1}, step=19)
    logger.save()
    rows = _rows(tmp_path / "metrics.csv")
    assert [(r["epoch"], r["val/loss"]) for r in rows] == [("0", "1.0"), ("1", "0.5")]
