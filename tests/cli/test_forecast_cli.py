"""`cnnlstm` on forecasting: fit, test and predict with the Moving MNIST presets, pictures written."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from cnnlstm.cli import main
from cnnlstm.data.moving_mnist import generate
from tests.cli._forecast_args import TINY_FORECAST

# Each test runs the real command end to end (training included): several seconds each.
pytestmark = pytest.mark.slow

SMALL = TINY_FORECAST


@pytest.mark.parametrize(
    "preset", ["movingmnist-convlstm-small", "movingmnist-convlstm", "movingmnist-convlstm-cpuhour"]
)
def test_fit_test_predict_write_metrics_pictures_and_frames(preset, tmp_path):
    root = tmp_path / "run"
    common = ["--config", preset, f"--trainer.default_root_dir={root}", *SMALL]
    assert main(["fit", *common]) == 0
    summary = json.loads((root / "summary.json").read_text())
    assert {"forecast_val.png", "forecast_val.gif", "horizon_val.png", "loss.png"} <= set(summary["plots"])
    for name in summary["plots"]:
        assert (root / name).stat().st_size > 0
    if preset.endswith("cpuhour"):  # its CPUClock logs the CPU time at each validation
        with open(root / "metrics.csv") as f:
            assert float(next(r for r in csv.DictReader(f) if r["cpu_minutes"])["cpu_minutes"]) > 0

    assert main(["test", *common, "--ckpt_path", "best"]) == 0
    metrics = json.loads((root / "test_metrics.json").read_text())
    assert set(metrics) >= {"test/loss", "test/mse", "test/mae", "test/ssim", "test/psnr"}
    summary = json.loads((root / "summary.json").read_text())
    assert len(summary["test_per_horizon"]["mse"]) == 3  # one value per future frame
    assert (root / "forecast_test.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")

    # Predict on a user's .npy of input frames (T, H, W), for a longer horizon than trained.
    frames = generate(1, seq_len=4, image_size=32, seed=3, split="test")[0]
    np.save(tmp_path / "inputs.npy", frames)
    assert (
        main(
            [
                "predict",
                *common,
                "--ckpt_path",
                "last",
                f"--data.predict_path={tmp_path / 'inputs.npy'}",
                "--data.target_frames=7",
            ]
        )
        == 0
    )
    predicted = np.load(root / "predictions.npy", allow_pickle=False)
    assert predicted.shape == (1, 7, 1, 32, 32) and predicted.dtype == np.float32
    assert predicted.min() >= 0 and predicted.max() <= 1
    assert (root / "prediction_000.png").is_file()


def test_a_classifier_preset_model_on_forecast_data_fails_in_seconds(tmp_path):
    code = main(
        [
            "fit",
            "--config",
            "movingmnist-convlstm-small",
            f"--trainer.default_root_dir={tmp_path}",
            *SMALL,
            "--model.init_args.name=lrcn_tiny",
        ]
    )
    assert code != 0


@pytest.mark.parametrize("preset", ["movingmnist-predrnn-small", "movingmnist-predrnn"])
def test_predrnn_presets_train_with_the_decoupling_loss_logged(preset, tmp_path):
    root = tmp_path / "run"
    args = [a for a in SMALL if not a.startswith("--model.init_args.")]
    args += [
        "--model.init_args.name=predrnn_forecaster_tiny",
        "--model.init_args.model_kwargs={decoupling: 0.1}",
    ]
    assert main(["fit", "--config", preset, f"--trainer.default_root_dir={root}", *args]) == 0
    with open(next(root.rglob("metrics.csv"))) as f:
        rows = [r for r in csv.DictReader(f) if r.get("train/auxiliary_loss")]
    assert rows and 0 < float(rows[-1]["train/auxiliary_loss"]) <= 0.1


def test_convgru_small_preset_trains_its_model(tmp_path):
    root = tmp_path / "run"
    args = [a for a in SMALL if a != "--model.init_args.name=convlstm_single_stack_tiny"]
    args.append("--model.init_args.name=convgru_forecaster_tiny")
    common = ["--config", "movingmnist-convgru-small", f"--trainer.default_root_dir={root}", *args]
    assert main(["fit", *common]) == 0
    summary = json.loads((root / "summary.json").read_text())
    assert (summary["preset"], summary["model"]) == ("movingmnist-convgru-small", "convgru_forecaster_tiny")


# the advection preset keeps its encoder-forecaster and its output, at the tiny size
_ADVECTION = [
    "--model.init_args.name=convlstm_forecaster_tiny",
    "--model.init_args.model_kwargs={output: advection}",
]


@pytest.mark.parametrize(
    ("preset", "extra"), [("nowcasting-convlstm", []), ("nowcasting-convlstm-advection", _ADVECTION)]
)
def test_nowcasting_preset_fits_and_tests_on_generated_radar_echoes(preset, extra, tmp_path):
    root = tmp_path / "run"
    common = ["--config", preset, f"--trainer.default_root_dir={root}", *SMALL, *extra]
    assert main(["fit", *common]) == 0
    assert main(["test", *common, "--ckpt_path", "last"]) == 0
    metrics = json.loads((root / "test_metrics.json").read_text())
    assert {"test/mse", "test/ssim"} <= set(metrics)
    if extra:
        from cnnlstm.tasks import ForecastingTask

        model = ForecastingTask.from_checkpoint_file(root / "checkpoints" / "last.ckpt").model
        assert model.output_activation == "advection"
