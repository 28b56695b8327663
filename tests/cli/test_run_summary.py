"""What a user sees at the end of a run: the summary block, one line per epoch off a terminal."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pytest

from cnnlstm.cli import main
from cnnlstm.cli.run_summary import format_run_summary
from tests.cli._forecast_args import TINY_FORECAST

SMALL = ["--data.num_train=64", "--data.num_val=32", "--data.num_test=32", "--data.batch_size=16"]


def _common(root: Path) -> list[str]:
    return ["--config", "synthetic-tiny", f"--trainer.default_root_dir={root}", *SMALL]


def test_summary_block_reads_summary_json(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,step,val/loss\n0,3,0.9\n1,7,0.4\n2,11,0.6\n")
    summary = {
        "best_score": 0.4,
        "best_checkpoint": str(tmp_path / "checkpoints" / "epoch001.ckpt"),
        "fit_metrics": {"val/acc": 0.75, "val/loss": 0.6, "train/loss_epoch": 0.5},
        "plots": ["loss.png", "metrics.png"],
        "epochs": 3,
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    lines = format_run_summary(tmp_path, "fit").splitlines()
    assert lines[0] == "fit summary"
    body = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines[1:])
    assert body["best epoch"] == "2 of 3  (val/loss 0.4000)"  # the 2nd epoch (epoch=1 in metrics.csv)
    assert body["val"] == "loss 0.6000  acc 0.7500"  # loss first; train metrics are not val's
    assert body["best checkpoint"] == summary["best_checkpoint"]
    assert body["summary"] == str(tmp_path / "summary.json")
    assert body["pictures"] == f"loss.png, metrics.png  (in {tmp_path})"
    # aligned: every value starts in the same column
    starts = {len(line) - len(line[2:].split("  ", 1)[1].lstrip()) for line in lines[1:]}
    assert len(starts) == 1, lines


def test_summary_block_of_test_shows_test_metrics_and_baselines(tmp_path):
    summary = {
        "fit_metrics": {"val/mse": 9.0},
        "test_metrics": {"test/mse": 12.5, "test/loss": 0.1},
        "test_checkpoint": "ckpt/best.ckpt",
        "test_baselines": {"zeros": {"mse": 40.0}, "copy_last": {"mse": 20.0}},
        "test_pictures": ["forecast_test.png"],
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    text = format_run_summary(tmp_path, "test")
    assert "test summary" in text and "loss 0.1000  mse 12.5000" in text and "val" not in text.split("\n")[1]
    assert "baseline zeros" in text and "baseline copy_last" in text and "mse 20.0000" in text
    assert "ckpt/best.ckpt" in text and "forecast_test.png" in text


def test_per_class_line_names_the_weakest_class(tmp_path):
    report = {"cat": {"f1": 0.9, "support": 3}, "dog": {"f1": 0.25, "support": 4}}
    (tmp_path / "summary.json").write_text(json.dumps({"validate_per_class": report}))
    assert "lowest F1 'dog' 0.2500" in format_run_summary(tmp_path, "validate")
    assert "per class" not in format_run_summary(tmp_path, "fit")


def test_no_summary_json_no_block(tmp_path):
    assert format_run_summary(tmp_path, "fit") == ""
    assert format_run_summary(tmp_path, "predict") == ""


@pytest.mark.slow
def test_fit_and_test_print_the_block_also_quiet(tmp_path, capsys):
    root = tmp_path / "run"
    assert main(["fit", *_common(root), "--trainer.max_epochs=2", "--quiet"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((root / "summary.json").read_text())
    assert "fit summary" in out and "best epoch" in out
    assert summary["best_checkpoint"] in out and str(root / "summary.json") in out
    assert f"acc {summary['fit_metrics']['val/acc']:.4f}" in out
    assert not [line for line in out.splitlines() if line.startswith("epoch ")]  # quiet: no epoch lines
    assert main(["test", "--ckpt_path", "best", *_common(root), "--quiet"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((root / "summary.json").read_text())
    assert "test summary" in out and f"acc {summary['test_metrics']['test/acc']:.4f}" in out
    assert "confusion_test.png" in out and "summary.json's test_per_class" in out
    per_class = summary["test_per_class"]  # one row per class, each test sample counted once
    assert sum(row["support"] for row in per_class.values()) == 32
    assert set(next(iter(per_class.values()))) == {"precision", "recall", "f1", "support"}


@pytest.mark.slow
def test_not_a_terminal_one_line_per_epoch_no_redraws(tmp_path, capsys):
    epochs = 3
    root = tmp_path / "run"
    assert main(["fit", *_common(root), f"--trainer.max_epochs={epochs}", "--model.init_args.lr=0.004"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [f"{e}/{epochs}" for e in range(1, epochs + 1)]
    assert all("train/loss" in line and "val/loss" in line and "val/acc" in line for line in lines)
    assert "\r" not in captured.out
    # stderr's only redraws are the synthetic data's own generation bars, not Lightning's
    redrawn = [part for line in captured.err.splitlines() for part in line.split("\r")[1:] if part.strip()]
    assert all(part.startswith("generating ") for part in redrawn), redrawn
    # the learning rate is logged once per epoch: the cosine schedule from 0.004 over 3 epochs
    with open(root / "metrics.csv", newline="") as f:
        lrs = {int(r["epoch"]): float(r["lr"]) for r in csv.DictReader(f) if r.get("lr")}
    expected = [0.004 * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)]
    assert [lrs[e] for e in range(epochs)] == pytest.approx(expected)


def test_tensorboard_extra_pulls_no_torch():
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    assert [req.split(">")[0] for req in extras["tensorboard"]] == ["tensorboard"]


@pytest.mark.parametrize(("terminal", "bar_on"), [(True, True), (False, False)])
def test_printer_keeps_bars_on_a_terminal_only(terminal, bar_on):
    from types import SimpleNamespace

    from lightning.pytorch.callbacks import TQDMProgressBar

    from cnnlstm.training.progress import EpochLinePrinter

    bar = TQDMProgressBar()
    printer = EpochLinePrinter(stream=io.StringIO(), is_terminal=lambda: terminal)
    printer.setup(SimpleNamespace(progress_bar_callback=bar), None, "fit")  # type: ignore[arg-type]
    assert bar.is_enabled is bar_on and printer.active is not bar_on
    printer.setup(SimpleNamespace(progress_bar_callback=None), None, "fit")  # type: ignore[arg-type]
    assert not printer.active  # --quiet: bars already off, no lines either


FORECAST = ["--config", "movingmnist-convlstm-small", *TINY_FORECAST]


@pytest.mark.slow
def test_forecast_test_records_and_prints_the_baselines(tmp_path, capsys):
    common = [*FORECAST, f"--trainer.default_root_dir={tmp_path / 'run'}"]
    assert main(["fit", *common]) == 0
    assert main(["test", "--ckpt_path", "best", *common]) == 0
    out = capsys.readouterr().out.split("test summary", 1)[1]
    baselines = json.loads((tmp_path / "run" / "summary.json").read_text())["test_baselines"]
    assert set(baselines) == {"zeros", "copy_last"}
    assert baselines["zeros"]["mse"] > 0 and baselines["copy_last"]["ssim"] > baselines["zeros"]["ssim"]
    assert f"mse {baselines['copy_last']['mse']:.4f}" in out and "baseline zeros" in out


def test_epoch_without_validation_shows_no_stale_val_numbers():
    from types import SimpleNamespace

    from cnnlstm.training.progress import EpochLinePrinter

    stream = io.StringIO()
    printer = EpochLinePrinter(stream=stream, is_terminal=lambda: False)
    printer.active = True
    metrics = {"train/loss_epoch": 0.5, "val/loss": 0.25, "val/acc": 0.75}
    trainer = SimpleNamespace(
        callback_metrics=metrics, current_epoch=0, max_epochs=2, is_global_zero=True, sanity_checking=False
    )
    printer.on_train_epoch_start(trainer, None)  # type: ignore[arg-type]
    printer.on_validation_epoch_end(trainer, None)  # type: ignore[arg-type]
    printer.on_train_epoch_end(trainer, None)  # type: ignore[arg-type]
    trainer.current_epoch = 1  # the next epoch runs no validation (check_val_every_n_epoch=2)
    printer.on_train_epoch_start(trainer, None)  # type: ignore[arg-type]
    printer.on_train_epoch_end(trainer, None)  # type: ignore[arg-type]
    first, second = stream.getvalue().splitlines()
    assert first.startswith("epoch 1/2  train/loss 0.5000  val/loss 0.2500  val/acc 0.7500")
    assert second.startswith("epoch 2/2  train/loss 0.5000  ") and "val/" not in second


def test_lightning_service_tips_are_dropped_and_other_info_lines_kept():
    import logging

    from cnnlstm.cli.lightning_cli import _silence_lightning_tips

    _silence_lightning_tips()
    _silence_lightning_tips()  # idempotent: one filter
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord(log.name, logging.INFO, __file__, 1, msg, None, None)

    assert not log.filter(record("💡 Tip: For seamless cloud logging, try installing [litlogger](...)"))
    assert log.filter(record("GPU available: False, used: False"))
    assert sum(type(f).__name__ == "_NoAdvertisements" for f in log.filters) == 1


def test_summary_block_counts_skipped_files_and_unspellable_transcripts(tmp_path):
    summary = {
        "test_metrics": {"test/wer": 0.5},
        "test_skipped_files": 2,
        "test_data": {"outside_vocabulary": {"test": {"utterances": 1, "characters": "4é"}}},
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    block = format_run_summary(tmp_path, "test")
    assert re.search(
        r"skipped +2 input file\(s\) or entries, with reasons in summary.json .test_skipped.", block
    )
    assert "outside the vocabulary, kept: 1 test ('4é')" in block
