"""`cnnlstm` on anomaly detection: a user's multivariate CSV through anomaly-csv, the sktime presets,
and bad files refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cnnlstm.cli import main

TINY = [
    "--model.init_args.name=cnn_lstm_forecast_tiny",
    "--model.init_args.model_kwargs={}",
    "--trainer.max_epochs=2",
    "--quiet",
]


def _user_csv(path, n=600):
    rng = np.random.default_rng(0)
    t = np.arange(n)
    labels = np.zeros(n, dtype=int)
    labels[450:460] = 1
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2024-03-01", periods=n, freq="s").astype(str),
            "temp": np.sin(t / 9) + 0.05 * rng.normal(size=n) + 2 * labels * rng.normal(size=n),
            "pressure": np.cos(t / 13) + 0.05 * rng.normal(size=n),
            "label": labels,
        }
    )
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.slow
def test_a_users_multivariate_csv_trains_tests_and_predicts(tmp_path):
    frame = _user_csv(tmp_path / "plant.csv")
    root = tmp_path / "run"
    common = [
        "--config",
        "anomaly-csv",
        f"--data.path={tmp_path / 'plant.csv'}",
        "--data.window=32",
        f"--trainer.default_root_dir={root}",
        *TINY,
    ]
    assert main(["fit", *common]) == 0
    assert main(["test", *common, "--ckpt_path", "best"]) == 0
    metrics = json.loads((root / "test_metrics.json").read_text())
    expected = {"vus_pr", "vus_roc", "auc_pr", "auc_roc", "range_f1", "point_f1", "point_adjusted_f1"}
    assert {f"test/{k}" for k in expected} <= set(metrics)
    summary = json.loads((root / "summary.json").read_text())
    assert set(summary["test_baselines"]) == {"random", "moving_median"}
    assert set(summary["test_baselines"]["random"]) == expected  # every metric beside the random row

    assert main(["predict", *common, "--ckpt_path", "best"]) == 0
    scores = pd.read_csv(root / "scores.csv")
    assert list(scores.columns) == ["series", "timestamp", "score", "threshold", "alarm", "label"]
    assert len(scores) == 600 - 180  # the steps after the training prefix (30%)
    # timestamps and labels are the file's own rows: no shift between labels and scores
    np.testing.assert_array_equal(scores["timestamp"], frame["time"].to_numpy()[180:])
    np.testing.assert_array_equal(scores["label"], frame["label"].to_numpy()[180:])
    alarms = pd.read_csv(root / "alarms.csv")
    assert list(alarms.columns)[:4] == ["series", "start", "end", "peak"]
    assert (root / "anomaly_plant.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["anomaly-yahoo", "anomaly-mitdb"])
def test_sktime_presets_fit_and_test(preset, tmp_path):
    root = tmp_path / "run"
    common = [
        "--config",
        preset,
        f"--trainer.default_root_dir={root}",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=3",
        "--quiet",
    ]
    assert main(["fit", *common]) == 0
    assert main(["test", *common, "--ckpt_path", "best"]) == 0
    metrics = json.loads((root / "test_metrics.json").read_text())
    assert 0.0 <= metrics["test/vus_pr"] <= 1.0


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda f: f.assign(temp=f.temp.where(f.index != 7)),
            "plant.csv: column 'temp' has 1 missing (NaN) values (the first at line 9)",
        ),
        (
            lambda f: f.assign(time=f.time.where(f.index != 3, f.time[2])),
            "plant.csv: time column 'time' repeats at line 5",
        ),
        (lambda f: f.assign(pressure=0.5), "channel 'pressure' is constant"),
    ],
    ids=["missing", "duplicate-time", "constant"],
)
def test_bad_files_are_refused_in_one_line(tmp_path, capsys, edit, named):
    edit(_user_csv(tmp_path / "plant.csv")).to_csv(tmp_path / "plant.csv", index=False)
    code = main(
        [
            "fit",
            "--config",
            "anomaly-csv",
            f"--data.path={tmp_path / 'plant.csv'}",
            f"--trainer.default_root_dir={tmp_path / 'run'}",
            *TINY,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert "Traceback" not in err and len(lines) == 1 and named in lines[0], err


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory):
    """A tiny detector fitted through anomaly-csv on a prefix of plant.csv, with a quantile threshold."""
    tmp = tmp_path_factory.mktemp("fitted")
    _user_csv(tmp / "plant.csv", n=400)
    common = [
        "--config",
        "anomaly-csv",  # says threshold: spot
        f"--data.path={tmp / 'plant.csv'}",
        "--data.window=32",
        f"--trainer.default_root_dir={tmp / 'run'}",
        *TINY,
        "--trainer.max_epochs=1",
    ]
    assert (
        main(["fit", *common, "--model.init_args.threshold=quantile", "--model.init_args.quantile=0.9"]) == 0
    )
    return tmp, common


@pytest.mark.slow
def test_typed_threshold_flags_win_over_the_checkpoint_whose_values_are_the_defaults(fitted_run, capsys):
    import yaml

    tmp, common = fitted_run
    root = tmp / "run"

    def predict(*flags):
        assert main(["predict", *common, "--ckpt_path", "best", *flags]) == 0
        used = yaml.safe_load((root / "config_predict.yaml").read_text())["model"]["init_args"]
        scores = pd.read_csv(root / "scores.csv")
        return used, scores

    used, scores = predict()  # no flags: the checkpoint's settings, not the preset's
    assert (used["threshold"], used["quantile"]) == ("quantile", 0.9)
    high, alarms = scores["threshold"].iloc[0], scores["alarm"].mean()
    assert scores["threshold"].nunique() == 1

    used, scores = predict("--model.init_args.quantile=0.5")  # typed: wins; the rest from the checkpoint
    assert (used["threshold"], used["quantile"]) == ("quantile", 0.5)
    assert scores["threshold"].iloc[0] < high and scores["alarm"].mean() > alarms

    used, _ = predict("--model.threshold", "spot", "--model.init_args.risk=0.01", "--model.init_args.lr=0.5")
    assert (used["threshold"], used["risk"]) == ("spot", 0.01)
    assert used["lr"] == 0.003  # part of the trained model: the checkpoint's, with a note
    assert "--model.init_args.lr=0.5 is not used" in capsys.readouterr().err


@pytest.mark.slow
def test_a_test_on_the_training_steps_is_refused_unless_allowed(fitted_run, capsys):
    tmp, common = fitted_run
    on_training = [
        *common,
        f"--data.train_path={tmp / 'plant.csv'}",
        "--ckpt_path",
        "best",
    ]  # every step scored
    assert main(["test", *on_training]) == 2
    assert "samples were used to train the run" in capsys.readouterr().err
    assert main(["test", *on_training, "--allow_train_overlap"]) == 0
    summary = json.loads((tmp / "run" / "summary.json").read_text())
    assert summary["test_data"]["overlap"]["train"] > 0
    assert main(["test", *common, "--ckpt_path", "best"]) == 0  # the held-out 70%: no overlap
    summary = json.loads((tmp / "run" / "summary.json").read_text())
    assert summary["test_data"]["overlap"] == {"train": 0, "val": 0}
