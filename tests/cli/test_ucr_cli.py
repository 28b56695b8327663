"""`cnnlstm` on UCR/UEA data and sensor streams: the generic presets train and test with tiny models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sktime")

from cnnlstm.cli import PRESET_DIR, list_presets, main  # noqa: E402
from cnnlstm.training.precision import fastest_cpu_precision  # noqa: E402

# Each test runs the real command end to end (training included): several seconds each.
pytestmark = pytest.mark.slow

FAMILIES = ["deepconvlstm", "lstm_fcn", "mlstm_fcn", "cnn_bilstm"]
ONE_EPOCH = ["--trainer.max_epochs=1", "--model.init_args.model_kwargs={}", "--quiet"]


def _ucr_presets() -> list[str]:
    return sorted(
        name
        for name in list_presets()
        if "cnnlstm.data.UCRDataModule" in (PRESET_DIR / f"{name}.yaml").read_text()
    )


def _fit_then_test(root: Path, preset: str, *extra: str) -> dict:
    common = ["--config", preset, f"--trainer.default_root_dir={root}", *ONE_EPOCH, *extra]
    assert main(["fit", *common]) == 0
    assert main(["test", "--ckpt_path", "best", *common]) == 0
    return json.loads((root / "summary.json").read_text())


@pytest.mark.parametrize("family", FAMILIES)
def test_generic_preset_trains_then_tests_its_best_checkpoint(family, tmp_path):
    summary = _fit_then_test(
        tmp_path / family,
        f"ucr-{family}",
        f"--model.init_args.name={family}_tiny",
        "--data.name=BasicMotions",
    )
    assert summary["preset"] == f"ucr-{family}" and summary["model"] == f"{family}_tiny"
    # The archive recipe: all of TRAIN trains, `best` is the epoch of the lowest training loss.
    assert summary["epochs"] == 1 and 0 <= summary["fit_metrics"]["train/acc"] <= 1
    assert summary["best_monitor"] == "train/loss" and "val/acc" not in summary["fit_metrics"]
    assert summary["data"]["samples"]["train"] == 40  # the whole TRAIN split of BasicMotions
    # The preset's `precision: auto` ran, and the summary says what it resolved to on this machine.
    assert summary["precision"] == fastest_cpu_precision()
    assert set(summary["test_metrics"]) >= {"test/acc", "test/f1_macro", "test/f1_weighted"}
    assert len(summary["test_confusion_matrix"]) == 4  # BasicMotions: 4 activities
    assert sum(map(sum, summary["test_confusion_matrix"])) == 40  # the whole test split


@pytest.mark.parametrize("family", FAMILIES)
def test_unequal_length_dataset_with_every_family(family, tmp_path):
    """JapaneseVowels: 12 channels, series of 7 to 29 steps padded to 29, lengths passed to the model."""
    summary = _fit_then_test(
        tmp_path / family,
        f"ucr-{family}",
        f"--model.init_args.name={family}_tiny",
        "--data.name=JapaneseVowels",
        "--data.batch_size=64",
    )
    assert len(summary["test_confusion_matrix"]) == 9  # 9 speakers
    assert sum(map(sum, summary["test_confusion_matrix"])) == 370
    from cnnlstm.training.checkpoint_io import safe_torch_load

    ckpt = safe_torch_load(summary["test_checkpoint"])
    assert ckpt["hyper_parameters"]["input_shape"] == [29, 12]  # padded to the longest series
    assert ckpt["datamodule_hyper_parameters"]["dataset_name"] == "JapaneseVowels"


@pytest.mark.parametrize("preset", _ucr_presets())
def test_every_ucr_preset_parses_and_loads_its_data(preset, capsys):
    assert main(["fit", "--config", preset, "--print_config"]) == 0
    printed = capsys.readouterr().out
    assert "class_path: cnnlstm.data.UCRDataModule" in printed and "max_epochs:" in printed
    # Instantiates the data and the model and sets up every split, without training.
    assert main(["data", "check", "--config", preset, "--quiet"]) == 0
    assert "usable samples: train" in capsys.readouterr().out


def test_the_preset_list_holds_this_issues_presets():
    presets = list_presets()
    for name in (
        "basicmotions-deepconvlstm",
        "japanesevowels-lstm_fcn",
        "sensor-deepconvlstm",
        *(f"ucr-{f}" for f in FAMILIES),
    ):
        assert name in presets and presets[name], name  # a description from the first line
    assert "--data.path" in presets["sensor-deepconvlstm"]
    assert set(_ucr_presets()) >= {"basicmotions-deepconvlstm", "japanesevowels-lstm_fcn"}


def _write_streams(folder: Path) -> None:
    """Three subjects, two activities (a slow and a fast sine on 3 channels), 240 rows each."""
    import pandas as pd

    rng = np.random.default_rng(0)
    frames = []
    for subject in (1, 2, 3):
        t = np.arange(240)
        label = np.where(t < 120, "slow", "fast")
        freq = np.where(label == "slow", 0.05, 0.25)
        phase = rng.uniform(0, 6, 3)
        x = np.sin(2 * np.pi * freq[:, None] * t[:, None] + phase) + 0.1 * rng.normal(size=(240, 3))
        columns = {"ax": x[:, 0], "ay": x[:, 1], "az": x[:, 2], "subject": subject, "label": label}
        frames.append(pd.DataFrame(columns))
    folder.mkdir()
    pd.concat(frames).to_csv(folder / "streams.csv", index=False)


@pytest.fixture
def streams(tmp_path) -> Path:
    _write_streams(tmp_path / "data")
    return tmp_path / "data"


# Sensor windows of 32 rows every 16 keep the test fast; the preset's own windows are 64 rows.
SENSOR = ["--model.init_args.name=deepconvlstm_tiny", "--data.window=32", "--data.step=16"]


def test_sensor_preset_trains_on_a_csv_then_tests(streams, tmp_path):
    # class_names given explicitly: see test_sensor_preset_trains_without_class_names.
    summary = _fit_then_test(
        tmp_path / "run",
        "sensor-deepconvlstm",
        f"--data.path={streams}",
        *SENSOR,
        "--data.class_names=[fast, slow]",
    )
    assert summary["model"] == "deepconvlstm_tiny" and len(summary["test_confusion_matrix"]) == 2
    assert sum(map(sum, summary["test_confusion_matrix"])) > 0  # windows of the held-out subject


def test_sensor_preset_trains_without_class_names(streams, tmp_path):
    common = [
        "--config",
        "sensor-deepconvlstm",
        f"--trainer.default_root_dir={tmp_path / 'run'}",
        f"--data.path={streams}",
        *SENSOR,
        *ONE_EPOCH,
    ]
    assert main(["fit", *common]) == 0

    # New unlabelled recordings: predicted with the checkpoint's channels and statistics, the
    # same with the training files in place as after they are gone.
    import pandas as pd

    new = pd.read_csv(streams / "streams.csv")[["az", "ax", "ay"]].iloc[:100] * 2.0
    new.to_csv(tmp_path / "new.csv", index=False)
    config = tmp_path / "run" / "config.yaml"
    predict = [
        "predict",
        "--config",
        str(config),
        "--ckpt_path",
        "last",
        f"--data.predict_path={tmp_path / 'new.csv'}",
    ]
    assert main([*predict, "--quiet"]) == 0
    with_training_files = (tmp_path / "run" / "predictions.csv").read_text()
    shutil.rmtree(streams)
    assert main([*predict, "--quiet"]) == 0
    assert (tmp_path / "run" / "predictions.csv").read_text() == with_training_files
    assert len(with_training_files.splitlines()) == 1 + 5  # windows of 32 rows every 16 in 100 rows


def test_sensor_preset_needs_a_path(tmp_path, capsys):
    code = main(
        ["fit", "--config", "sensor-deepconvlstm", f"--trainer.default_root_dir={tmp_path}", "--quiet"]
    )
    assert code != 0
    assert "required: path" in capsys.readouterr().err


def test_sensor_timestamp_column_is_no_channel_in_the_trained_model(streams, tmp_path):
    """A ``timestamp`` column (not the default ``time``) once became a 4th channel of the model."""
    import pandas as pd

    file = streams / "streams.csv"
    frame = pd.read_csv(file)
    frame.insert(0, "timestamp", np.arange(len(frame)) * 0.02)
    frame.to_csv(file, index=False)
    summary = _fit_then_test(tmp_path / "run", "sensor-deepconvlstm", f"--data.path={streams}", *SENSOR)
    from cnnlstm.training.checkpoint_io import safe_torch_load

    ckpt = safe_torch_load(summary["test_checkpoint"])
    assert ckpt["hyper_parameters"]["input_shape"] == [32, 3]  # ax, ay, az


@pytest.mark.parametrize("value", ["inf", "-inf", "1e308", "fast?"])
def test_sensor_fit_refuses_a_bad_cell_with_file_column_and_line(streams, tmp_path, capsys, value):
    """One inf once gave a "successful" run with a NaN validation loss; now the run stops at once."""
    file = streams / "streams.csv"
    lines = file.read_text().splitlines()
    cells = lines[9].split(",")
    cells[1] = value  # column 'ay', line 10 of the file
    lines[9] = ",".join(cells)
    file.write_text("\n".join(lines) + "\n")
    root = tmp_path / "run"
    code = main(
        [
            "fit",
            "--config",
            "sensor-deepconvlstm",
            f"--trainer.default_root_dir={root}",
            f"--data.path={streams}",
            *SENSOR,
            *ONE_EPOCH,
        ]
    )
    assert code != 0
    err = capsys.readouterr().err
    assert "streams.csv: column 'ay'" in err and "line 10" in err, err
    assert not list(root.rglob("*.ckpt"))  # nothing trained
