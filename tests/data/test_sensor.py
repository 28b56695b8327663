"""``cnnlstm.data.sensor`` on small CSV / NPZ recordings written to ``tmp_path``."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cnnlstm.data import sensor
from cnnlstm.data.sensor import SensorStreamDataModule


def recording(subjects: dict[str, int], *, labels=None, seed: int = 0) -> pd.DataFrame:
    """Rows for each subject in turn: channel ``sid`` holds the subject's number (to spot windows that
    cross subjects), ``row`` the row number within the file, ``noise`` random values."""
    rng = np.random.default_rng(seed)
    parts = []
    for subject, rows in subjects.items():
        noise = rng.normal(size=rows)
        parts.append(pd.DataFrame({"sid": float(subject), "noise": noise, "subject": subject}))
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "time", np.arange(len(frame)) * 0.02)
    frame.insert(1, "row", np.arange(len(frame), dtype=float))
    frame["label"] = labels if labels is not None else np.where(frame.index % 50 < 25, "walk", "run")
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def make(**kwargs) -> SensorStreamDataModule:
    kwargs.setdefault("normalize", False)
    dm = SensorStreamDataModule(**kwargs)
    dm.setup()
    return dm


def one_line_error(match: str, call, *args, error=ValueError, **kwargs) -> str:
    with pytest.raises(error, match=match) as info:
        call(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_doctests():
    result = doctest.testmod(sensor)
    assert result.attempted > 0 and result.failed == 0


def test_time_blocks_window_count_and_positions(tmp_path):
    frame = recording({"1": 200}).drop(columns="subject")
    dm = make(path=write(frame, tmp_path / "a.csv"), window=20, step=10, val_fraction=0.2, test_fraction=0.2)
    assert dm.split_subjects is None
    assert dm.channel_names == ["row", "sid", "noise"]  # time, label (and subject) are no channels
    # train rows [0, 120): starts 0..100; val [120, 160): 120..140; test [160, 200): 160..180
    expected = {"train": list(range(0, 101, 10)), "val": [120, 130, 140], "test": [160, 170, 180]}
    for split, starts in expected.items():
        ds = getattr(dm, f"{split}_dataset")
        assert [w.start for w in ds.windows] == starts
        for i in range(len(ds)):
            x, _, length = ds[i]
            assert x[:, 0].tolist() == list(range(starts[i], starts[i] + 20))
            assert int(length) == 20


def test_windows_never_cross_files(tmp_path):
    write(recording({"1": 95}).drop(columns="subject"), tmp_path / "d" / "a.csv")
    write(recording({"1": 45}).drop(columns="subject"), tmp_path / "d" / "b.csv")
    dm = make(path=tmp_path / "d", window=20, step=20, val_fraction=0.0, test_fraction=0.0)
    # 95 rows -> 4 windows (tail of 15 dropped), 45 rows -> 2; never one spanning both files
    assert [(w.source, w.start) for w in dm.train_dataset.windows] == [
        ("a.csv", 0),
        ("a.csv", 20),
        ("a.csv", 40),
        ("a.csv", 60),
        ("b.csv", 0),
        ("b.csv", 20),
    ]
    assert len(dm.val_dataset) == 0 and len(dm.test_dataset) == 0


def test_labels_last_and_majority(tmp_path):
    labels = ["a"] * 12 + ["b"] * 8 + ["a"] * 10 + ["b"] * 10
    labels += ["b"] * 5 + ["a"] * 15 + ["b"] * 15 + ["a"] * 5
    frame = recording({"1": 80}, labels=labels).drop(columns="subject")
    path = write(frame, tmp_path / "a.csv")
    common = dict(path=path, window=20, step=20, val_fraction=0.0, test_fraction=0.0)
    last = make(label_mode="last", **common)
    majority = make(label_mode="majority", **common)
    assert last.class_names == ["a", "b"]
    assert last.train_dataset.labels.tolist() == [1, 1, 0, 0]
    # 12 a / 8 b; a tie 10 / 10 -> the lower index; 5 b / 15 a; 15 b / 5 a
    assert majority.train_dataset.labels.tolist() == [0, 0, 0, 1]
    with pytest.raises(ValueError, match="label_mode"):
        SensorStreamDataModule(path=path, label_mode="first")


def test_subject_split_is_disjoint_and_windows_stay_within_a_subject(tmp_path):
    write(recording({"1": 90, "2": 70, "3": 110}), tmp_path / "d" / "s1.csv")
    write(recording({"3": 50, "4": 80}, seed=1), tmp_path / "d" / "s2.csv")
    dm = make(path=tmp_path / "d", window=16, step=8, channels=["sid", "noise"])
    subjects = dm.split_subjects
    assert sorted(subjects["train"] + subjects["val"] + subjects["test"]) == ["1", "2", "3", "4"]
    assert len(subjects["val"]) == len(subjects["test"]) == 1  # round(4 * 0.2) -> at least 1
    for split in ("train", "val", "test"):
        ds = getattr(dm, f"{split}_dataset")
        assert len(ds) > 0
        for i, where in enumerate(ds.windows):
            x, _, _ = ds[i]
            assert torch.all(x[:, 0] == x[0, 0])  # one subject per window
            assert str(int(x[0, 0])) == where.subject
            assert where.subject in subjects[split]
    # subject 3 spans both files: windows from both, none across the file boundary
    split3 = next(s for s in subjects if "3" in subjects[s])
    sources = {w.source for w in getattr(dm, f"{split3}_dataset").windows if w.subject == "3"}
    assert sources == {"s1.csv", "s2.csv"}


def test_named_subjects_and_seeded_draws(tmp_path):
    path = write(recording({str(s): 40 for s in range(1, 7)}), tmp_path / "a.csv")
    dm = make(path=path, window=10, step=10, val_subjects=[2], test_subjects=["5", "6"])
    assert dm.split_subjects == {"train": ["1", "3", "4"], "val": ["2"], "test": ["5", "6"]}
    drawn = [SensorStreamDataModule(path=path, window=10, seed=s).split_subjects for s in range(4)]
    assert drawn[0] == SensorStreamDataModule(path=path, window=10, seed=0).split_subjects
    assert any(d != drawn[0] for d in drawn[1:])
    one_line_error(r"val_subjects \['9'\] are not in the data", make, path=path, window=10, val_subjects=[9])
    one_line_error("share", make, path=path, window=10, val_subjects=[1], test_subjects=[1, 2])
    one_line_error(
        "no subject is left", make, path=path, window=10, val_subjects=[1, 2, 3], test_subjects=[4, 5, 6]
    )


def test_normalisation_uses_training_rows_only(tmp_path):
    frame = recording({"1": 60, "2": 60, "3": 60})
    frame["noise"] += frame["sid"] * 10  # subjects differ a lot
    path = write(frame, tmp_path / "a.csv")
    dm = make(path=path, window=10, step=10, channels=["noise"], normalize=True)
    train_rows = frame[frame["subject"].astype(str).isin(dm.split_subjects["train"])]["noise"].to_numpy()
    assert torch.allclose(dm.channel_mean, torch.tensor([train_rows.mean()], dtype=torch.float64))
    assert torch.allclose(dm.channel_std, torch.tensor([train_rows.std()], dtype=torch.float64))
    assert not np.isclose(frame["noise"].mean(), train_rows.mean())
    x, _, _ = dm.test_dataset[0]
    where = dm.test_dataset.windows[0]
    raw = frame["noise"].to_numpy()[where.start : where.start + 10]
    expected = torch.from_numpy((raw - train_rows.mean()) / train_rows.std()).float()
    assert torch.allclose(x[:, 0], expected, atol=1e-5)


def test_loaders_yield_batch_time_channels(tmp_path):
    path = write(recording({"1": 100, "2": 100, "3": 100}), tmp_path / "a.csv")
    dm = SensorStreamDataModule(path=path, window=32, step=16, batch_size=4)
    assert dm.input_shape == [32, 3] and dm.num_classes == 2 and not dm.is_variable_length
    dm.setup("fit")
    x, y, length = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 32, 3) and x.dtype == torch.float32
    assert y.shape == (4,) and y.dtype == torch.int64
    assert length.shape == (4,) and length.dtype == torch.int64 and torch.all(length == 32)
    dm.setup("predict")
    assert dm.predict_dataset is dm.test_dataset


def test_npz_files(tmp_path):
    rng = np.random.default_rng(0)
    x, y, subject = rng.normal(size=(120, 4)), np.repeat([0, 1, 2], 40), np.repeat([7, 8, 9], 40)
    np.savez(tmp_path / "a.npz", x=x, y=y, subject=subject)
    dm = make(path=tmp_path / "a.npz", window=20, step=10)
    assert dm.channel_names == ["x0", "x1", "x2", "x3"] and dm.class_names == ["0", "1", "2"]
    assert sorted(sum(dm.split_subjects.values(), [])) == ["7", "8", "9"]
    assert len(dm.train_dataset) == len(dm.val_dataset) == len(dm.test_dataset) == 3
    np.savez(tmp_path / "bad.npz", x=np.zeros((10, 2)))
    one_line_error("must hold arrays 'x'", make, path=tmp_path / "bad.npz", window=5)


def test_predict_path_uses_training_statistics(tmp_path):
    path = write(recording({"1": 100, "2": 100, "3": 100}), tmp_path / "train.csv")
    new = recording({"9": 50}, seed=3).drop(columns="label")
    new_path = write(new, tmp_path / "new.csv")
    dm = SensorStreamDataModule(path=path, window=20, step=10, predict_path=new_path)
    dm.setup("predict")
    ds = dm.predict_dataset
    assert len(ds) == 4 and torch.all(ds.labels == -1)
    x, _, _ = ds[1]
    rows = new[["row", "sid", "noise"]].to_numpy()[10:30]
    expected = (rows - dm.channel_mean.numpy()) / dm.channel_std.numpy()
    assert torch.allclose(x, torch.from_numpy(expected).float(), atol=1e-5)


# -- errors ------------------------------------------------------------------------------------------
def test_missing_file_and_empty_directory(tmp_path):
    missing = FileNotFoundError
    one_line_error("absent.csv", SensorStreamDataModule, path=tmp_path / "absent.csv", error=missing)
    (tmp_path / "empty").mkdir()
    one_line_error("no .csv or .npz", SensorStreamDataModule, path=tmp_path / "empty", error=missing)
    (tmp_path / "a.txt").write_text("x")
    one_line_error("not a .csv or .npz", SensorStreamDataModule, path=tmp_path / "a.txt")


def test_missing_label_column_names_the_columns(tmp_path):
    frame = recording({"1": 50, "2": 50, "3": 50}).rename(columns={"label": "activity"})
    path = write(frame, tmp_path / "a.csv")
    message = one_line_error("no label column 'label'", make, path=path, window=10)
    assert "'activity'" in message and "'noise'" in message
    assert make(path=path, window=10, step=10, label_column="activity").class_names == ["run", "walk"]


def test_non_numeric_channel_is_named(tmp_path):
    frame = recording({"1": 50, "2": 50, "3": 50})
    frame["gyro"] = "high"
    path = write(frame, tmp_path / "a.csv")
    one_line_error(
        "channel column 'gyro' is not numeric", make, path=path, window=10, channels=["noise", "gyro"]
    )
    with pytest.warns(UserWarning, match="gyro"):  # default channels skip it, loudly
        dm = make(path=path, window=10, step=10)
    assert dm.channel_names == ["row", "sid", "noise"]
    one_line_error(r"lacks channel columns \['acc'\]", make, path=path, window=10, channels=["acc"])


def test_missing_values_are_counted_and_named(tmp_path):
    frame = recording({"1": 50, "2": 50, "3": 50})
    frame.loc[[3, 7, 9], "noise"] = np.nan
    path = write(frame, tmp_path / "rec.csv")
    message = one_line_error("column 'noise' has 3 missing", make, path=path, window=10)
    assert message.startswith("rec.csv")
    frame = recording({"1": 50, "2": 50, "3": 50})
    frame.loc[4, "label"] = np.nan
    one_line_error("column 'label' has 1 missing", make, path=write(frame, tmp_path / "l.csv"), window=10)


def test_window_longer_than_every_segment(tmp_path):
    path = write(recording({"1": 30, "2": 40, "3": 35}), tmp_path / "rec.csv")
    message = one_line_error("window=64 is longer than every segment", make, path=path, window=64)
    assert "40 rows of rec.csv, subject 2" in message and "lower window" in message
    # long enough for some subjects only: the split without a window is named
    path = write(recording({"1": 100, "2": 100, "3": 30}), tmp_path / "b.csv")
    with pytest.warns(UserWarning, match="shorter than window=64"):
        one_line_error("split has no window", make, path=path, window=64, test_subjects=[3], val_subjects=[2])


def test_bad_arguments(tmp_path):
    path = write(recording({"1": 50}), tmp_path / "a.csv")
    cases = [
        (dict(window=0), "window"),
        (dict(step=-1), "step"),
        (dict(val_fraction=0.5, test_fraction=0.5), "below 1"),
        (dict(channels="noise"), "channels"),
        (dict(channels=["label"]), "label, subject or time"),
        (dict(class_names=["a"]), "class_names"),
    ]
    for kwargs, match in cases:
        one_line_error(match, SensorStreamDataModule, path=path, **kwargs)
    dm = SensorStreamDataModule(path=path, window=10, class_names=["walk", "jump"])
    one_line_error(r"labels \['run'\] that are not in class_names", dm.setup)


def test_argument_errors_name_the_argument_and_readers_stay_importable(tmp_path):
    path = write(recording({"1": 50}), tmp_path / "a.csv")
    cases = [
        (dict(label_column=""), "label_column"),
        (dict(channels=["subject"]), "channels"),
        (dict(val_fraction=0.6, test_fraction=0.4), "test_fraction"),
        (dict(class_names=["a", "a"]), "class_names"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValueError) as info:
            SensorStreamDataModule(path=path, **kwargs)
        assert getattr(info.value, "field", None) == field
    with pytest.raises(ValueError) as info:
        make(path=path, window=10, val_subjects=[7])
    assert info.value.field == "val_subjects"
    from cnnlstm.data import sensor_files

    assert sensor.SensorColumns is sensor_files.SensorColumns and sensor.list_files is sensor_files.list_files
    assert sensor.FILE_SUFFIXES == (".csv", ".npz") and sensor.SensorStream is sensor_files.SensorStream
