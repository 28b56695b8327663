"""``cnnlstm.data.sensor`` on small CSV / NPZ recordings written to ``tmp_path``."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cnnlstm.data import sensor, sensor_files
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


@pytest.mark.parametrize("module", [sensor, sensor_files])
def test_doctests(module):
    result = doctest.testmod(module)
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
        "column 'gyro' holds text 'high' at line 2", make, path=path, window=10, channels=["noise", "gyro"]
    )
    with pytest.warns(UserWarning, match="gyro"):  # default channels skip a column without numbers, loudly
        dm = make(path=path, window=10, step=10)
    assert dm.channel_names == ["row", "sid", "noise"]
    one_line_error(r"lacks channel columns \['acc'\]", make, path=path, window=10, channels=["acc"])


def test_missing_values_are_counted_and_named(tmp_path):
    frame = recording({"1": 50, "2": 50, "3": 50})
    frame.loc[[3, 7, 9], "noise"] = np.nan
    path = write(frame, tmp_path / "rec.csv")
    message = one_line_error("column 'noise' has 3 missing .* at line 5", make, path=path, window=10)
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


# -- what the reader refuses or leaves out, and says so (issue 13) ---------------------------------
def three_axes(rows: int = 120, **extra) -> pd.DataFrame:
    """Three channels that do not increase row by row, a label, and ``extra`` columns in front."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in ("ax", "ay", "az")})
    for position, (column, values) in enumerate(extra.items()):
        frame.insert(position, column, values)
    frame["label"] = np.where(np.arange(rows) % 40 < 20, "walk", "run")
    return frame


@pytest.mark.parametrize("column", ["timestamp", "Time", "DATETIME", "date", "t", " TimeStamp "])
def test_a_column_named_like_time_is_never_a_channel(tmp_path, column):
    path = write(three_axes(**{column: np.arange(120) * 0.02}), tmp_path / "rec.csv")
    dm = make(path=path, window=10, step=10)
    assert dm.channel_names == ["ax", "ay", "az"] and dm.input_shape == [10, 3]
    assert dm.describe()["ignored_columns"][column] == "time column"
    # named explicitly, it is a channel: the user's choice, not a silent one
    assert make(path=path, window=10, step=10, channels=["ax", column]).channel_names == ["ax", column]


def test_a_column_increasing_in_every_row_warns_as_time_like(tmp_path):
    frame = three_axes(**{"Unnamed: 0": np.arange(120)})  # a pandas index saved with to_csv(path)
    path = write(frame, tmp_path / "rec.csv")
    with pytest.warns(UserWarning, match=r"'Unnamed: 0' increases in every row .* time_column='Unnamed: 0'"):
        dm = make(path=path, window=10, step=10)
    assert dm.channel_names == ["Unnamed: 0", "ax", "ay", "az"]
    dm = make(path=path, window=10, step=10, time_column="Unnamed: 0")  # no warning: it is named
    assert dm.channel_names == ["ax", "ay", "az"]


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_an_infinite_value_is_refused_with_file_column_and_line(tmp_path, value):
    frame = three_axes()
    frame.loc[6, "ay"] = value  # data row 6 is line 8 (the header is line 1)
    path = write(frame, tmp_path / "rec.csv")
    message = one_line_error(
        r"rec.csv: column 'ay' holds -?inf at line 8 \(1 value not finite\)", make, path=path, window=10
    )
    assert "fix or drop" in message
    lines = path.read_text().splitlines()
    assert lines[7].split(",")[1] in ("inf", "-inf")  # line 8 of the file is the one named


def test_a_text_inf_in_the_file_is_refused_too(tmp_path):
    path = tmp_path / "rec.csv"
    rows = ["ax,ay,label"] + [f"{i % 3},{i % 5},walk" for i in range(30)]
    rows[4] = "1e309,2,walk"  # overflows to inf when read
    path.write_text("\n".join(rows) + "\n")
    one_line_error("column 'ax' holds inf at line 5", make, path=path, window=5)


def test_absurd_magnitudes_are_refused_not_zeroed(tmp_path):
    frame = three_axes()
    frame.loc[[2, 9], "az"] = [1e308, -1e308]  # std would overflow and zero the channel
    path = write(frame, tmp_path / "rec.csv")
    message = one_line_error(
        r"column 'az' holds 1e\+308 at line 4, beyond the largest magnitude",
        make,
        path=path,
        window=10,
        normalize=True,
    )
    assert f"{sensor_files.MAX_ABS:g}" in message
    frame.loc[[2, 9], "az"] = [sensor_files.MAX_ABS, -sensor_files.MAX_ABS]  # the limit itself is allowed
    dm = make(path=write(frame, tmp_path / "ok.csv"), window=10, step=10, normalize=True)
    assert torch.isfinite(dm.channel_std).all() and dm.channel_std[2] > 1e28
    x, _, _ = dm.train_dataset[0]
    assert torch.isfinite(x).all()


def test_npz_non_finite_values_name_the_array_column_and_row(tmp_path):
    x = np.random.default_rng(0).normal(size=(60, 3))
    x[11, 2] = np.inf
    np.savez(tmp_path / "rec.npz", x=x, y=np.where(np.arange(60) < 30, "a", "b"))
    one_line_error(
        r"rec.npz: column 'x2' holds inf at row 11 of 'x'", make, path=tmp_path / "rec.npz", window=5
    )


def test_one_text_cell_in_a_numeric_column_is_refused_with_its_value(tmp_path):
    frame = three_axes().astype({"ay": object})
    frame.loc[5, "ay"] = "n/a?"
    path = write(frame, tmp_path / "rec.csv")
    message = one_line_error("rec.csv: column 'ay' holds text 'n/a\\?' at line 7", make, path=path, window=10)
    assert "numbers only" in message


def test_describe_reports_the_resolved_inputs_by_subject(tmp_path):
    frame = recording({"1": 100, "2": 100, "3": 100, "4": 100, "5": 100})
    frame["note"] = "calm"  # no numbers: not a channel, and said why
    path = write(frame, tmp_path / "rec.csv")
    with pytest.warns(UserWarning, match="note"):
        dm = make(path=path, window=20, step=10, normalize=True, test_subjects=[5])
    info = dm.describe()
    json.dumps(info)  # JSON-serialisable
    assert info["files"] == [str(path)] and info["channels"] == ["row", "sid", "noise"]
    assert info["ignored_columns"] == {
        "time": "time column",
        "subject": "subject column",
        "label": "label column",
        "note": "not numeric",
    }
    assert info["split"] == "subjects" and info["subjects"]["test"] == ["5"] and info["time_blocks"] is None
    assert info["subject_column"] == "subject" and info["label_column"] == "label"
    assert (info["window"], info["step"], info["label_mode"], info["normalize"]) == (20, 10, "last", True)
    assert info["classes"] == ["run", "walk"]
    for split in ("train", "val", "test"):
        dataset = getattr(dm, f"{split}_dataset")
        expected = {name: int((dataset.labels == k).sum()) for k, name in enumerate(info["classes"])}
        assert info["class_counts"][split] == expected and info["windows"][split] == len(dataset)
        assert info["samples"][split] == len(dataset) > 0
        assert {w.subject for w in dataset.windows} == set(info["subjects"][split])


def test_describe_reports_time_blocks_without_subjects(tmp_path):
    frame = recording({"1": 200}).drop(columns="subject")
    path = write(frame, tmp_path / "a.csv")
    info = make(path=path, window=20, step=10).describe()
    assert info["split"] == "time blocks" and info["subjects"] is None and info["subject_column"] is None
    assert info["time_blocks"] == {
        "train": [{"file": "a.csv", "rows": [0, 120]}],
        "val": [{"file": "a.csv", "rows": [120, 160]}],
        "test": [{"file": "a.csv", "rows": [160, 200]}],
    }
    assert info["ignored_columns"] == {"time": "time column", "label": "label column"}


def test_preprocessing_carries_channels_window_and_training_statistics(tmp_path):
    path = write(recording({"1": 100, "2": 100, "3": 100}), tmp_path / "rec.csv")
    dm = make(path=path, window=20, step=5, normalize=True, label_mode="majority")
    steps = dm.preprocessing()
    assert json.loads(json.dumps(steps)) == steps
    assert steps["channels"] == dm.channel_names and steps["class_names"] == dm.class_names
    assert (steps["window"], steps["step"], steps["label_mode"], steps["normalize"]) == (
        20,
        5,
        "majority",
        True,
    )
    assert steps["mean"] == pytest.approx(dm.channel_mean.tolist())
    assert steps["std"] == pytest.approx(dm.channel_std.tolist())
    # the statistics are the training rows' (subject of the train split only)
    train = recording({"1": 100, "2": 100, "3": 100})
    train = train[train["subject"].astype(str).isin(dm.split_subjects["train"])]
    assert steps["mean"] == pytest.approx(train[["row", "sid", "noise"]].mean().tolist())
    off = make(path=path, window=20, step=5).preprocessing()
    assert off["normalize"] is False and off["mean"] == [0.0] * 3 and off["std"] == [1.0] * 3


def test_a_time_named_column_that_goes_down_is_left_out_loudly(tmp_path):
    frame = three_axes(T=np.random.default_rng(1).normal(20, 2, size=120))  # a temperature named 'T'
    path = write(frame, tmp_path / "rec.csv")
    with pytest.warns(
        UserWarning, match=r"'T' is named like time, so it is not a channel, but its values go down"
    ):
        dm = make(path=path, window=10, step=10)
    assert dm.channel_names == ["ax", "ay", "az"] and dm.describe()["ignored_columns"]["T"] == "time column"
    assert make(path=path, window=10, step=10, channels=["T", "ax"]).channel_names == ["T", "ax"]


def test_predict_files_are_held_to_the_same_rules(tmp_path):
    train = write(three_axes(), tmp_path / "train.csv")
    bad = three_axes()
    bad.loc[0, "az"] = np.inf
    dm = SensorStreamDataModule(path=train, window=10, step=10, predict_path=write(bad, tmp_path / "new.csv"))
    one_line_error("new.csv: column 'az' holds inf at line 2", dm.setup, "predict")


def test_prediction_with_a_trained_models_statistics_needs_no_training_files(tmp_path):
    train = write(recording({"1": 120, "2": 120, "3": 120}), tmp_path / "train" / "a.csv")
    new = write(recording({"9": 60}, seed=1).drop(columns=["label", "subject"]), tmp_path / "new.csv")
    full = SensorStreamDataModule(path=train, window=20, step=10, predict_path=new)
    full.setup("predict")
    fitted = full.preprocessing()
    train.unlink()
    alone = SensorStreamDataModule(path=train, window=20, step=10, predict_path=new, fitted=fitted)
    alone.setup("predict")
    assert alone.class_names == full.class_names and alone.input_shape == full.input_shape
    expected, got = full.predict_dataset, alone.predict_dataset
    assert len(got) == len(expected) == 5
    for i in range(len(got)):
        torch.testing.assert_close(got[i][0], expected[i][0], rtol=0, atol=0)
    one_line_error(
        "window=30 differs",
        SensorStreamDataModule,
        path=train,
        window=30,
        predict_path=new,
        fitted=fitted,
        error=ValueError,
    )
    one_line_error(
        "fitted lacks",
        SensorStreamDataModule,
        path=train,
        window=20,
        predict_path=new,
        fitted={"kind": "sensor_windows"},
    )
