"""The demo: every demo preset trained and tested, one summary table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cnnlstm.cli import list_presets
from cnnlstm.cli.demo import DEMO_RUNS, _row, fill_placeholders, main, to_markdown


@pytest.mark.slow
def test_demo_quick_runs_every_demo_preset(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--quick", "--quiet"]) == 0
    data = json.loads((tmp_path / "summary.json").read_text())
    assert [row["preset"] for row in data["rows"]] == [p for p, _ in DEMO_RUNS]
    for row in data["rows"]:
        assert row["epochs"] == 1 and row["params"] > 0
        # the video runs train on a tree with broken files, which are skipped and counted
        assert row["skipped files"] == (2 if row["preset"].startswith("video-") else 0)
        if row["preset"].startswith("movingmnist-"):  # forecasting: frame metrics and pictures
            assert row["test acc"] is None and row["test MSE"] > 0 and 0 < row["test SSIM"] <= 1
            assert row["MSE zeros"] > 0 and row["MSE copy-last"] > 0  # the baselines beside the model
            assert row["vs baselines"].startswith(("beats all on", "loses on"))
            pictures = (
                "loss.png",
                "forecast_val.png",
                "forecast_test.png",
                "forecast_test.gif",
                "horizon_test.png",
            )
        elif row["preset"].startswith("speech-"):  # speech: WER and CER, the CTC alignment picture
            assert row["test acc"] is None and row["test CER"] >= 0 and row["test WER"] >= 0
            pictures = ("loss.png", "metrics.png", "alignment_test.png")
        elif row["preset"].startswith("anomaly-"):  # detection: VUS-PR beside random and moving median
            assert row["test acc"] is None and 0 <= row["test VUS-PR"] <= 1
            assert row["VUS-PR random"] is not None and row["VUS-PR moving-median"] is not None
            pictures = ("loss.png", "anomaly_test_yahoo.png")
        elif row["preset"].startswith("numbers-"):  # translation: exact match, chrF, attention pictures
            assert row["test acc"] is None and 0.0 <= row["test exact match"] <= 1.0 and row["test chrF"] >= 0
            pictures = ("loss.png", "attention_0.png")
        else:
            assert 0.0 <= row["test acc"] <= 1.0 and row["test MSE"] is None and row["MSE zeros"] is None
            pictures = ("loss.png", "confusion_test.png")
            if not row["preset"].startswith("basicmotions-"):  # the archive recipe has no validation split
                pictures += ("confusion_val.png",)
        for picture in pictures:
            assert (tmp_path / row["preset"] / picture).is_file()
    assert (tmp_path / "summary.md").read_text().count("\n| ") == len(DEMO_RUNS) + 1
    assert "Results:" in capsys.readouterr().out


def test_demo_presets_are_shipped():
    assert {p for p, _ in DEMO_RUNS} <= set(list_presets())


@pytest.mark.parametrize(("native", "precision"), [(True, "bf16-mixed"), (False, "32-true")])
def test_demo_trains_moving_mnist_in_bf16_only_on_cpus_with_bf16_instructions(monkeypatch, native, precision):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: native)
    args = [
        fill_placeholders(a, videos=Path("v"), demo_out=Path("o"))
        for a in dict(DEMO_RUNS)["movingmnist-convlstm-small"]
    ]
    assert f"--trainer.precision={precision}" in args


def test_demo_rejects_unknown_presets(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--out", str(tmp_path), "--only", "nothing"])
    assert err.value.code != 0
    assert "names no demo preset" in capsys.readouterr().err


def test_markdown_formatting():
    row = {
        "preset": "p",
        "model": "m",
        "params": 12345,
        "epochs": 2,
        "fit s": 1.5,
        "val acc": 0.5,
        "test acc": None,
        "test macro-F1": 0.25,
        "test MSE": 12.0,
        "MSE zeros": 40.0,
        "MSE copy-last": None,
        "test SSIM": None,
        "vs baselines": None,
        "test WER": 0.125,
        "test CER": None,
        "test VUS-PR": 0.75,
        "VUS-PR random": 0.1,
        "VUS-PR moving-median": None,
        "test exact match": None,
        "test chrF": None,
        "skipped files": 2,
        "plots": "loss.png",
    }
    assert (
        to_markdown([row]).splitlines()[-1]
        == "| p | m | 12,345 | 2 | 1.500 | 0.500 |  | 0.250 | 12.000 | 40.000 |  |  |  | 0.125 |  | 0.750 | 0.100 |  |  |  | 2 | loss.png |"
    )


def test_row_puts_the_forecast_baselines_beside_the_model():
    summary = {
        "test_metrics": {"test/mse": 12.0},
        "test_baselines": {"zeros": {"mse": 40.0, "ssim": 0.1}, "copy_last": {"mse": 30.0}},
    }
    row = _row("movingmnist-x", summary)
    assert (row["test MSE"], row["MSE zeros"], row["MSE copy-last"]) == (12.0, 40.0, 30.0)
    assert _row("synthetic-x", {})["MSE zeros"] is None


def test_row_says_on_which_metrics_a_forecaster_loses_to_a_baseline():
    summary = {
        "test_metrics": {"test/mse": 12.0, "test/mae": 50.0, "test/ssim": 0.5, "test/psnr": 20.0},
        "test_baselines": {
            "zeros": {"mse": 40.0, "mae": 45.0, "ssim": 0.8, "psnr": 14.0},
            "copy_last": {"mse": 30.0, "mae": 60.0, "ssim": 0.5, "psnr": 12.0},
        },
    }
    assert _row("movingmnist-x", summary)["vs baselines"] == "loses on MAE (zeros), SSIM (zeros, copy_last)"
    summary["test_metrics"].update({"test/mae": 40.0, "test/ssim": 0.9})
    assert _row("movingmnist-x", summary)["vs baselines"] == "beats all on MSE, MAE, SSIM, PSNR"
    assert _row("synthetic-x", {"test_metrics": {"test/acc": 0.5}})["vs baselines"] is None


def test_row_puts_the_anomaly_baselines_beside_the_detector():
    summary = {
        "test_metrics": {"test/vus_pr": 0.8},
        "test_baselines": {"random": {"vus_pr": 0.1}, "moving_median": {"vus_pr": 0.6}},
    }
    row = _row("anomaly-x", summary)
    assert (row["test VUS-PR"], row["VUS-PR random"], row["VUS-PR moving-median"]) == (0.8, 0.1, 0.6)
