"""Anomaly series: reading, the refusals (one line naming file, column, row), splits, normalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cnnlstm._validation import InputError
from cnnlstm.data.anomaly import AnomalyDataModule
from cnnlstm.data.anomaly_files import read_series


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    labels = np.zeros(n, dtype=int)
    labels[250:256] = 1
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="min").astype(str),
            "cpu": np.sin(t / 7) + 0.1 * rng.normal(size=n) + 3 * labels,
            "mem": np.cos(t / 11) + 0.1 * rng.normal(size=n),
            "is_anomaly": labels,
        }
    )


def test_csv_columns_are_found_by_name_and_rows_keep_their_labels(tmp_path):
    frame = _frame()
    frame.to_csv(tmp_path / "host.csv", index=False)
    (s,) = read_series(tmp_path / "host.csv")
    assert s.channels == ["cpu", "mem"] and s.values.shape == (300, 2)
    np.testing.assert_array_equal(s.labels, frame["is_anomaly"].to_numpy())
    np.testing.assert_allclose(s.values[:, 0], frame["cpu"].to_numpy())
    assert s.time[0] == "2024-01-01 00:00:00"


def test_parquet_npy_folder_and_bundled_names(tmp_path):
    frame = _frame()
    frame.to_parquet(tmp_path / "a.parquet")
    np.save(tmp_path / "b.npy", frame[["cpu", "mem", "is_anomaly"]].to_numpy(dtype=float))
    parquet, npy = read_series(tmp_path / "a.parquet"), read_series(tmp_path / "b.npy", label_column="2")
    np.testing.assert_allclose(parquet[0].values, npy[0].values)
    np.testing.assert_array_equal(parquet[0].labels, npy[0].labels)
    with pytest.raises(InputError, match="channels"):  # a folder's files must agree on channels
        read_series(tmp_path)
    (yahoo,) = read_series("yahoo")
    assert len(yahoo) == 1000 and yahoo.labels.sum() == 7 and yahoo.channels == ["data"]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda f: f.assign(cpu=f.cpu.where(f.index != 10)),
            r"host.csv: column 'cpu' has 1 missing .*line 12",
        ),
        (
            lambda f: f.assign(timestamp=f.timestamp.where(f.index != 5, f.timestamp[4])),
            r"'timestamp' repeats at line 7",
        ),
        (lambda f: f.iloc[[0, 2, 1, *range(3, len(f))]], r"'timestamp' goes back at line 4"),
        (
            lambda f: f.assign(is_anomaly=f.is_anomaly.where(f.index != 3, 2)),
            r"label column 'is_anomaly' holds 2 at line 5",
        ),
        (lambda f: f.assign(mem=1.0), r"channel 'mem' is constant"),
        (lambda f: f.iloc[:100], r"training part has 30 steps, fewer than 2 windows of 32"),
    ],
    ids=["missing", "duplicate-time", "time-goes-back", "bad-label", "constant", "too-short"],
)
def test_bad_files_are_refused_in_one_line(tmp_path, edit, match):
    edit(_frame()).to_csv(tmp_path / "host.csv", index=False)
    with pytest.raises(ValueError, match=match) as err:
        AnomalyDataModule(path=tmp_path / "host.csv", window=32).setup("fit")
    assert "\n" not in str(err.value)


def test_named_columns_must_exist(tmp_path):
    _frame().to_csv(tmp_path / "host.csv", index=False)
    with pytest.raises(InputError, match="no column 'lbl'") as err:
        read_series(tmp_path / "host.csv", label_column="lbl")
    assert err.value.field == "label_column"
    with pytest.raises(InputError, match="'is_anomaly' is the label column"):
        read_series(tmp_path / "host.csv", value_columns=["cpu", "is_anomaly"])


def test_training_prefix_normaliser_and_dropped_labelled_windows(tmp_path):
    frame = _frame()
    frame.loc[20:22, "is_anomaly"] = 1  # a labelled anomaly inside the training prefix
    frame.to_csv(tmp_path / "host.csv", index=False)
    dm = AnomalyDataModule(path=tmp_path / "host.csv", window=16, train_fraction=0.5, val_fraction=0.2)
    dm.setup("fit")
    dm.setup("test")
    described = dm.describe()
    assert described["test_start"] == [150]
    # windows touching rows 20..22: starts 5..22 = 18 windows, all dropped
    assert described["train_windows_dropped_labelled"] == 18
    train = frame[["cpu", "mem"]].to_numpy()[:150]
    np.testing.assert_allclose(dm.mean, train.mean(0))
    np.testing.assert_allclose(dm.std, train.std(0))
    item = dm.test_dataset[0]
    np.testing.assert_array_equal(item.labels.numpy(), frame["is_anomaly"].to_numpy())  # no shift
    np.testing.assert_allclose(
        item.values.numpy(), (frame[["cpu", "mem"]].to_numpy() - dm.mean) / dm.std, rtol=1e-5, atol=1e-5
    )
    for window in dm.train_dataset:
        assert window.shape == (16, 2)


def test_a_separate_training_file_scores_every_step_of_the_series(tmp_path):
    _frame(seed=1).assign(is_anomaly=0).to_csv(tmp_path / "normal.csv", index=False)
    _frame(seed=2).to_csv(tmp_path / "host.csv", index=False)
    dm = AnomalyDataModule(path=tmp_path / "host.csv", train_path=tmp_path / "normal.csv", window=16)
    dm.setup("test")
    assert dm.test_dataset[0].test_start == 0
    calibration = dm.calibration_dataset()
    assert calibration[0].test_start == 300 - 60  # the last 20% of the training file


def test_sample_keys_name_file_and_window_start_and_reveal_a_test_on_training_steps(tmp_path):
    from cnnlstm.training.provenance import digests

    _frame(n=300).to_csv(tmp_path / "host.csv", index=False)

    def keys(dm, split):
        dm.setup()
        return set(digests(dm.sample_keys(split)))

    prefix = AnomalyDataModule(path=tmp_path / "host.csv", window=20, stride=5, train_fraction=0.4)
    train, val, test = (keys(prefix, s) for s in ("train", "val", "test"))
    assert len(prefix.sample_keys("train")) == len(prefix.train_dataset)
    assert train and val and test and not train & test and not val & test and not train & val
    assert prefix.sample_keys("predict") is None
    # the training file scored again (every step evaluated) shares keys with the fit, however it is spelled
    again = AnomalyDataModule(
        path=tmp_path / "." / "host.csv", train_path=tmp_path / "host.csv", window=20, stride=5
    )
    assert keys(again, "train") <= keys(again, "test")
    assert train <= keys(again, "test")
    other = tmp_path / "other.csv"
    _frame(n=300, seed=1).to_csv(other, index=False)
    held_out = AnomalyDataModule(path=other, train_path=tmp_path / "host.csv", window=20, stride=5)
    assert not keys(held_out, "train") & keys(held_out, "test")
