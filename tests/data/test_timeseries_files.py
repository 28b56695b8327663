"""Users' UCR/UEA archive files: finding the TRAIN/TEST pair, the three forms, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("sktime")

from cnnlstm._validation import InputError  # noqa: E402
from cnnlstm.data.timeseries import UCRDataModule  # noqa: E402
from cnnlstm.data.timeseries_files import find_pair, read_archive_file  # noqa: E402
from tests.data._archive_files import toy_cases, write_pair, write_ts, write_tsv  # noqa: E402


@pytest.mark.parametrize("suffix", [".ts", ".arff", ".tsv"])
def test_each_archive_form_reads_the_values_and_labels_written(tmp_path, suffix):
    train, _ = write_pair(tmp_path, suffix=suffix)
    series, labels = read_archive_file(train)
    cases, expected = toy_cases(seed=0)
    assert labels.tolist() == expected
    np.testing.assert_allclose(np.stack(series), np.stack(cases), atol=1e-5)  # written with 5 decimals


def test_tsv_nan_padding_marks_shorter_series(tmp_path):
    train, _ = write_pair(tmp_path, suffix=".tsv", ragged=True)
    series, _ = read_archive_file(train)
    assert [len(s) for s in series[:3]] == [16, 15, 14]


def test_folder_file_and_explicit_test_path_find_the_same_pair(tmp_path):
    train, test = write_pair(tmp_path / "d")
    assert find_pair(tmp_path / "d") == (train, test) == find_pair(train)
    other = tmp_path / "elsewhere.ts"
    other.write_text(test.read_text())
    assert find_pair(train, other) == (train, other)


def test_datamodule_on_a_multivariate_ragged_pair(tmp_path):
    write_pair(tmp_path, name="Ragged", channels=3, ragged=True)
    dm = UCRDataModule(path=tmp_path, val_fraction=0.0, batch_size=4)
    assert dm.dataset_name == "Ragged" and dm.input_shape == [16, 3] and dm.is_variable_length
    assert dm.class_names == ["down", "up"]
    dm.setup("test")
    x, y, length = next(iter(dm.test_dataloader()))
    assert tuple(x.shape) == (4, 16, 3) and length.tolist() == [16, 15, 14, 16]
    assert (x[1, 15:] == 0).all()  # padding stays zero after normalisation
    info = dm.describe()
    assert info["path"].endswith("Ragged_TRAIN.ts") and info["test_path"].endswith("Ragged_TEST.ts")


def _error(tmp_path, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        UCRDataModule(**kwargs).num_classes
    return caught.value


def test_errors_name_the_file_and_what_to_do(tmp_path):
    train, test = write_pair(tmp_path / "d")
    err = _error(tmp_path, path=tmp_path / "nope")
    assert err.field == "path" and "does not exist" in str(err)
    test.unlink()
    err = _error(tmp_path, path=train)
    assert "Toy_TEST.ts" in str(err) and "--data.test_path" in str(err)
    err = _error(tmp_path, path=tmp_path / "d")
    assert "not Toy_TEST.ts" in str(err)
    lonely = tmp_path / "mine.ts"
    lonely.write_text(train.read_text())
    assert "NAME_TRAIN" in str(_error(tmp_path, path=lonely))
    csv = tmp_path / "x_TRAIN.csv"
    csv.write_text("1,2\n")
    assert ".ts, .arff or .tsv" in str(_error(tmp_path, path=csv))
    assert _error(tmp_path, test_path=train).field == "test_path"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no NAME_TRAIN" in str(_error(tmp_path, path=empty))


def test_bad_contents_are_one_line_errors(tmp_path):
    train, test = write_pair(tmp_path)
    broken = tmp_path / "Broken_TRAIN.ts"
    broken.write_text("@data\n1,2,3:a\n")  # no header
    (tmp_path / "Broken_TEST.ts").write_text(test.read_text())
    err = _error(tmp_path, path=broken)
    assert "Broken_TRAIN.ts" in str(err) and "\n" not in str(err)
    regression = write_ts(
        tmp_path / "Reg_TRAIN.ts",
        *toy_cases(n=2),
        header="@problemName Reg\n@timeStamps false\n@univariate true\n@classLabel false\n@data\n",
    )
    (tmp_path / "Reg_TEST.ts").write_text(regression.read_text())
    assert "regression" in str(_error(tmp_path, path=regression))
    cases, labels = toy_cases(n=4)
    cases[2] = cases[2].copy()
    cases[2][3, 0] = np.nan
    missing = write_ts(tmp_path / "Gap_TRAIN.ts", cases, labels)
    (tmp_path / "Gap_TEST.ts").write_text(test.read_text())
    assert "1 missing values" in str(_error(tmp_path, path=missing))
    wide = write_ts(tmp_path / "Wide_TEST.ts", *toy_cases(n=4, channels=2))
    assert "channel count" in str(_error(tmp_path, path=train, test_path=wide))


@pytest.mark.parametrize("suffix", [".ts", ".tsv"])
def test_a_test_class_the_training_file_never_has_is_refused(tmp_path, suffix):
    train, _ = write_pair(tmp_path, suffix=suffix)
    cases, labels = toy_cases(n=6, seed=1)
    labels[1] = labels[4] = "sideways"
    writer = write_ts if suffix == ".ts" else write_tsv
    unseen = writer(tmp_path / f"Other_TEST{suffix}", cases, labels)
    err = _error(tmp_path, path=train, test_path=unseen)
    assert err.field == "test_path" and "\n" not in str(err)
    assert "Other_TEST" in str(err) and "['sideways'], 2 cases" in str(err)
    # the other way round is fine: a class that only TRAIN has is learnt and never tested
    assert UCRDataModule(path=unseen, test_path=train, val_fraction=0.0).num_classes == 3


def test_prediction_with_a_trained_models_statistics_needs_no_archive_files(tmp_path):
    train, _ = write_pair(tmp_path / "d", name="Ragged", channels=3, ragged=True)
    new = write_ts(tmp_path / "new.ts", *toy_cases(n=5, channels=3, seed=4, ragged=True))
    full = UCRDataModule(path=train, val_fraction=0.0, normalize="channel", predict_path=new)
    full.setup("predict")
    fitted = full.preprocessing()
    for file in (tmp_path / "d").iterdir():
        file.unlink()
    alone = UCRDataModule(path=tmp_path / "elsewhere", predict_path=new, fitted=fitted)  # path never read
    alone.setup("predict")
    assert alone.dataset_name == "Ragged" and alone.class_names == full.class_names == ["down", "up"]
    assert alone.input_shape == full.input_shape and alone.is_variable_length
    assert len(alone.test_dataset) == 0 and "not read" in alone.describe()["path"]
    expected, got = full.predict_dataset, alone.predict_dataset
    assert len(got) == len(expected) == 5
    for i in range(5):
        for a, b in zip(got[i], expected[i], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert "fitted lacks" in str(
        _error(tmp_path, path=train, predict_path=new, fitted={"kind": "ucr_series"})
    )
    err = _error(tmp_path, path=train, predict_path=new, fitted={**fitted, "kind": "sensor_windows"})
    assert err.field == "fitted" and "ucr_series" in str(err)


def test_unevenly_spaced_time_stamps_are_named_not_silently_dropped(tmp_path):
    head = "@problemName Stamped\n@timeStamps true\n@univariate true\n@classLabel true a b\n@data\n"
    even = "(2007-01-01 00:00:00,1.0),(2007-01-01 00:00:01,2.0),(2007-01-01 00:00:02,3.0):a\n"
    uneven = "(2007-01-01 00:00:00,3.0),(2007-01-01 00:00:01,2.0),(2007-01-01 00:00:09,1.0):b\n"
    regular = tmp_path / "Even_TRAIN.ts"
    regular.write_text(head + even + even.replace(":a", ":b"))
    series, _ = read_archive_file(regular)  # evenly spaced: read as steps, nothing to say
    assert series[0].ravel().tolist() == [1.0, 2.0, 3.0]
    irregular = tmp_path / "Uneven_TRAIN.ts"
    irregular.write_text(head + even + uneven)
    with pytest.warns(UserWarning, match=r"Uneven_TRAIN.ts: 1 of 2 cases have unevenly spaced time stamps"):
        series, _ = read_archive_file(irregular)
    assert series[1].ravel().tolist() == [3.0, 2.0, 1.0]
