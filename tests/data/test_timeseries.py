"""``cnnlstm.data.timeseries`` on the UCR/UEA datasets bundled with sktime (offline, a few seconds)."""

from __future__ import annotations

import doctest
import functools
import importlib.util
import json

import numpy as np
import pytest
import torch

from cnnlstm.data import series_normalization, timeseries, timeseries_bundled
from cnnlstm.data.series_normalization import channel_stats
from cnnlstm.data.timeseries import (
    SequenceDataset,
    UCRDataModule,
    available_datasets,
    sorted_labels,
    stratified_split,
)

needs_sktime = pytest.mark.skipif(
    importlib.util.find_spec("sktime") is None, reason='needs sktime: pip install "cnnlstm[timeseries]"'
)

_cache: dict[tuple, UCRDataModule] = {}


def module(name: str, **kwargs) -> UCRDataModule:
    """A set-up datamodule, shared between tests (they only read it)."""
    key = (name, tuple(sorted(kwargs.items())))
    if key not in _cache:
        dm = UCRDataModule(name=name, **kwargs)
        dm.setup()
        _cache[key] = dm
    return _cache[key]


@functools.cache
def raw(name: str, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The series ``(T_i, C)`` and labels straight from sktime, for independent checks."""
    from sktime.datasets import load_UCR_UEA_dataset

    frame, labels = load_UCR_UEA_dataset(name, split=split, return_X_y=True, return_type="nested_univ")
    series = [
        np.stack([np.asarray(cell, dtype=np.float64) for cell in row], axis=1) for row in frame.to_numpy()
    ]
    return series, np.asarray(labels).astype(str)


def one_line_error(match: str, call, *args, **kwargs) -> str:
    with pytest.raises(ValueError, match=match) as info:
        call(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_doctests():
    result = doctest.testmod(timeseries)
    assert result.attempted > 0 and result.failed == 0


@needs_sktime
def test_available_datasets_are_the_bundled_classification_sets():
    names = available_datasets()
    for name in ("BasicMotions", "GunPoint", "JapaneseVowels", "PLAID", "ArrowHead", "ItalyPowerDemand"):
        assert name in names
    # regression sets and forecasting csvs are not classification data
    for name in ("Tecator", "Covid3Month", "Airline"):
        assert name not in names


@needs_sktime
def test_basic_motions_shapes_classes_and_split_sizes():
    dm = module("BasicMotions")
    assert dm.input_shape == [100, 6]
    assert dm.num_classes == 4
    assert dm.class_names == ["badminton", "running", "standing", "walking"]
    assert not dm.is_variable_length
    assert len(dm.train_dataset) + len(dm.val_dataset) == 40
    assert len(dm.val_dataset) == 8  # 20 % of each class of 10
    assert len(dm.test_dataset) == 40
    assert dm.predict_dataset is dm.test_dataset
    assert torch.all(dm.train_dataset.lengths == 100)


@needs_sktime
def test_loaders_yield_batch_time_channels():
    dm = UCRDataModule(name="BasicMotions", batch_size=8)
    dm.setup("fit")
    x, y, length = next(iter(dm.train_dataloader()))
    assert x.shape == (8, 100, 6) and x.dtype == torch.float32
    assert y.shape == (8,) and y.dtype == torch.int64
    assert length.shape == (8,) and length.dtype == torch.int64
    assert torch.all(length == 100)
    assert int(y.min()) >= 0 and int(y.max()) < 4
    x, y, length = next(iter(dm.val_dataloader()))
    assert x.shape[1:] == (100, 6) and y.shape == length.shape == (x.shape[0],)


@needs_sktime
def test_gunpoint_is_univariate_150_steps():
    dm = module("GunPoint")
    assert dm.input_shape == [150, 1]
    assert dm.num_classes == 2
    assert len(dm.train_dataset) + len(dm.val_dataset) == 50
    assert len(dm.test_dataset) == 150
    x, y, length = dm.test_dataset[0]
    assert x.shape == (150, 1) and int(length) == 150


@needs_sktime
def test_labels_map_to_sorted_class_indices():
    dm = module("GunPoint", normalize=False)
    _, labels = raw("GunPoint", "test")
    expected = torch.tensor([dm.class_names.index(label) for label in labels])
    assert torch.equal(dm.test_dataset.y, expected)
    # PLAID's classes 0..10 sort as numbers, not as text ("10" after "9")
    assert sorted_labels(["0", "1", "10", "2", "9"]) == ["0", "1", "2", "9", "10"]


@needs_sktime
def test_japanese_vowels_pads_at_the_end_and_never_truncates():
    dm = module("JapaneseVowels", normalize=False)
    train, _ = raw("JapaneseVowels", "train")
    test, _ = raw("JapaneseVowels", "test")
    longest = max(len(s) for s in train + test)
    assert dm.is_variable_length
    assert dm.input_shape == [longest, 12]
    lengths = dm.test_dataset.lengths
    assert len(set(lengths.tolist())) > 5  # lengths really vary
    for i, series in enumerate(test):  # every test series in full, zeros after it
        x, _, length = dm.test_dataset[i]
        assert int(length) == len(series)
        assert torch.allclose(x[: len(series)], torch.from_numpy(series).float())
        assert torch.all(x[len(series) :] == 0)
    i = max(range(len(test)), key=lambda k: len(test[k]))
    assert int(dm.test_dataset[i][2]) == len(test[i])


@needs_sktime
def test_validation_comes_from_train_only_disjoint_and_stratified():
    dm = module("BasicMotions", normalize=False)
    split = dm.split_indices
    assert set(split["train"]).isdisjoint(split["val"])
    assert sorted(split["train"] + split["val"]) == list(range(40))
    train, labels = raw("BasicMotions", "train")
    for k, i in enumerate(split["val"]):  # the val samples are those TRAIN series
        assert torch.allclose(dm.val_dataset[k][0], torch.from_numpy(train[i]).float())
    counts = torch.bincount(dm.val_dataset.y, minlength=4)
    assert counts.tolist() == [2, 2, 2, 2]
    # fixed by seed, and the seed matters
    again = UCRDataModule(name="BasicMotions", normalize=False)
    other = UCRDataModule(name="BasicMotions", normalize=False, seed=1)
    assert again.split_indices == split
    assert other.split_indices != split


def test_stratified_split_keeps_single_sample_classes_in_train():
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
    keep, held = stratified_split(labels, 0.4, seed=0)
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(11))
    assert np.bincount(labels[held], minlength=3).tolist() == [2, 2, 0]
    assert 10 in keep
    keep, held = stratified_split(labels, 0.0, seed=0)
    assert len(held) == 0 and len(keep) == 11


@needs_sktime
def test_normalisation_statistics_come_from_the_train_part_only():
    dm = module("JapaneseVowels")
    train, _ = raw("JapaneseVowels", "train")
    rows = np.concatenate([train[i] for i in dm.split_indices["train"]])  # real steps only
    assert torch.allclose(dm.channel_mean, torch.from_numpy(rows.mean(0)))
    assert torch.allclose(dm.channel_std, torch.from_numpy(rows.std(0)))
    # with the padding zeros the statistics would differ
    padded = np.concatenate(
        [np.pad(train[i], ((0, 29 - len(train[i])), (0, 0))) for i in dm.split_indices["train"]]
    )
    assert not np.allclose(padded.mean(0), rows.mean(0))
    # applied to the test split, padding left at zero
    test, _ = raw("JapaneseVowels", "test")
    x, _, length = dm.test_dataset[0]
    expected = (test[0] - rows.mean(0)) / rows.std(0)
    assert torch.allclose(x[:length], torch.from_numpy(expected).float(), atol=1e-5)
    assert torch.all(x[length:] == 0)
    # the training part has mean 0 / std 1 per channel over real steps
    mask = torch.arange(29)[None, :] < dm.train_dataset.lengths[:, None]
    values = dm.train_dataset.x[mask]
    assert torch.allclose(values.mean(0), torch.zeros(12), atol=1e-4)


@needs_sktime
def test_unknown_name_lists_close_names_and_says_offline():
    message = one_line_error("not bundled", UCRDataModule, name="BasicMotion")
    assert "BasicMotions" in message and "offline" in message
    one_line_error("regression", UCRDataModule, name="Tecator")


def test_missing_sktime_asks_for_the_extra(monkeypatch):
    monkeypatch.setattr(timeseries_bundled.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install \"cnnlstm\[timeseries\]\""):
        UCRDataModule(name="BasicMotions")


@needs_sktime
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(val_fraction=1.0), "val_fraction"),
        (dict(val_fraction=-0.1), "val_fraction"),
        (dict(normalize="yes"), "normalize"),
        (dict(predict_path="series.txt"), "predict_path"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_bad_arguments(kwargs, match):
    one_line_error(match, UCRDataModule, name="GunPoint", **kwargs)


@needs_sktime
def test_predict_path_npy_and_csv(tmp_path):
    series = np.random.default_rng(0).normal(size=(20, 12))
    np.save(tmp_path / "one.npy", series)
    header = ",".join(f"c{i}" for i in range(12))
    np.savetxt(tmp_path / "one.csv", series, delimiter=",", header=header, comments="")
    np.save(tmp_path / "many.npy", np.stack([series, series]))
    base = module("JapaneseVowels")
    for name, count in (("one.npy", 1), ("one.csv", 1), ("many.npy", 2)):
        dm = UCRDataModule(name="JapaneseVowels", predict_path=tmp_path / name)
        dm.setup("predict")
        ds = dm.predict_dataset
        assert len(ds) == count
        x, y, length = ds[0]
        assert x.shape == (29, 12) and int(y) == -1 and int(length) == 20
        expected = (series - base.channel_mean.numpy()) / base.channel_std.numpy()
        assert torch.allclose(x[:20], torch.from_numpy(expected).float(), atol=1e-5)
        assert torch.all(x[20:] == 0)


@needs_sktime
def test_predict_path_errors(tmp_path):
    np.save(tmp_path / "channels.npy", np.zeros((20, 3)))
    np.save(tmp_path / "long.npy", np.zeros((40, 12)))
    np.save(tmp_path / "short.npy", np.zeros((100, 1)))
    (tmp_path / "text.csv").write_text("a,b\n1,2\nx,3\n")
    cases = [
        ("JapaneseVowels", "channels.npy", "3 channels"),
        ("JapaneseVowels", "long.npy", "40 time steps"),
        ("GunPoint", "short.npy", "every GunPoint series has 150"),
        ("GunPoint", "text.csv", "text"),
    ]
    for name, file, match in cases:
        dm = UCRDataModule(name=name, predict_path=tmp_path / file)
        one_line_error(match, dm.setup, "predict")
    dm = UCRDataModule(name="GunPoint", predict_path=tmp_path / "absent.npy")
    with pytest.raises(FileNotFoundError, match="absent.npy"):
        dm.setup("predict")


def test_sequence_dataset_checks_shapes():
    with pytest.raises(ValueError, match="differ in length"):
        SequenceDataset(torch.zeros(2, 3, 1), torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match=r"\(N, T, C\)"):
        SequenceDataset(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2))


# -- resolved inputs and statistics (issue 13) ----------------------------------------------------
@needs_sktime
def test_describe_reports_dataset_channels_lengths_and_class_counts_per_split():
    dm = module("JapaneseVowels")
    info = dm.describe()
    assert json.loads(json.dumps(info)) == info
    assert info["dataset"] == "JapaneseVowels" and info["path"].endswith("JapaneseVowels")
    assert info["channels"] == 12 and info["classes"] == dm.class_names and info["normalize"] is True
    train, _ = raw("JapaneseVowels", "train")
    test, _ = raw("JapaneseVowels", "test")
    kept = [train[i] for i in dm.split_indices["train"]]
    assert info["lengths"]["train"] == [min(map(len, kept)), max(map(len, kept))]
    assert info["lengths"]["test"] == [min(map(len, test)), max(map(len, test))]
    assert info["padded_length"] == max(map(len, train + test)) and "zeros at the end" in info["padding"]
    for split in ("train", "val", "test"):
        dataset = getattr(dm, f"{split}_dataset")
        counts = torch.bincount(dataset.y, minlength=dm.num_classes).tolist()
        assert list(info["class_counts"][split].values()) == counts
        assert list(info["class_counts"][split]) == dm.class_names and info["samples"][split] == len(dataset)
    assert "none" in module("BasicMotions", normalize=False).describe()["padding"]


@needs_sktime
def test_preprocessing_carries_dataset_statistics_and_padding():
    dm = module("JapaneseVowels")
    steps = dm.preprocessing()
    assert json.loads(json.dumps(steps)) == steps
    assert (steps["dataset"], steps["channels"], steps["length"]) == ("JapaneseVowels", 12, dm.input_shape[0])
    assert steps["variable_length"] is True and "zeros at the end" in steps["padding"]
    assert steps["mean"] == pytest.approx(dm.channel_mean.tolist())
    assert steps["std"] == pytest.approx(dm.channel_std.tolist())
    assert steps["class_names"] == dm.class_names
    off = module("BasicMotions", normalize=False).preprocessing()
    assert off["normalize"] is False and off["mean"] == [0.0] * 6 and off["std"] == [1.0] * 6


def test_channel_stats_of_huge_values_stay_finite_and_non_finite_ones_are_named():
    x = np.array([[[1e308, 1.0], [-1e308, 3.0]]])  # the squares overflow float64
    mean, std = channel_stats(x)
    assert mean.tolist() == [0.0, 2.0] and std.tolist() == pytest.approx([1e308, 1.0])
    x[0, 0, 1] = np.inf
    one_line_error("channel 'gz' is not finite", channel_stats, x, names=["gx", "gz"])


@pytest.mark.parametrize("normalization", ["channel", "series", "none"])
def test_every_normalization_refuses_nan_on_real_steps_and_ignores_padding(normalization):
    x = np.ones((3, 4, 2))
    x[2, 3, 0] = np.nan  # series 2 has 3 real steps: this is padding
    out = series_normalization.standardize(x, np.array([4, 4, 3]), normalization, np.zeros(2), np.ones(2))
    assert np.isfinite(out).all() and out[2, 3].tolist() == [0.0, 0.0]
    x[1, 2, 1] = np.inf
    one_line_error(
        "series 1, channel 1 is not finite",
        series_normalization.standardize,
        x,
        np.array([4, 4, 3]),
        normalization,
        np.zeros(2),
        np.ones(2),
    )


@needs_sktime
def test_predict_path_with_an_infinite_value_is_refused(tmp_path):
    series = np.zeros((150, 1))
    series[7, 0] = -np.inf
    np.save(tmp_path / "inf.npy", series)
    dm = UCRDataModule(name="GunPoint", predict_path=tmp_path / "inf.npy")
    one_line_error(r"inf.npy holds -inf \(series 0, step 7, channel 0", dm.setup, "predict")


@needs_sktime
@pytest.mark.parametrize(
    ("name", "expected"), [("GunPoint", "series"), ("BasicMotions", "channel"), ("JapaneseVowels", "channel")]
)
def test_auto_normalisation_is_series_for_univariate_and_channel_for_multivariate_sets(name, expected):
    dm = module(name, normalize="auto", val_fraction=0.0)
    assert dm.normalization == expected
    steps = dm.preprocessing()  # what a checkpoint and an export carry: the resolved rule
    assert steps["normalize"] == "auto" and steps["normalization"] == expected
    assert dm.describe()["normalization"] == expected
    same = module(name, normalize=expected, val_fraction=0.0)
    assert steps["mean"] == same.preprocessing()["mean"] and steps["std"] == same.preprocessing()["std"]
    torch.testing.assert_close(dm.make_dataset("train").x, same.make_dataset("train").x, rtol=0, atol=0)


def test_standardize_refuses_an_unresolved_auto():
    with pytest.raises(ValueError, match="resolve_normalization"):
        series_normalization.standardize(np.ones((1, 3, 1)), np.array([3]), "auto", np.zeros(1), np.ones(1))
