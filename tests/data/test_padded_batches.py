"""Batches of zero-padded series are cut to their longest series; equal-length batches are untouched."""

from __future__ import annotations

import doctest
import importlib.util

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from cnnlstm.data import padded_batches
from cnnlstm.data.padded_batches import collate_trimmed
from cnnlstm.data.series_arrays import SeriesArrayDataModule

needs_sktime = pytest.mark.skipif(
    importlib.util.find_spec("sktime") is None, reason='needs sktime: pip install "cnnlstm[timeseries]"'
)


def test_doctests():
    assert doctest.testmod(padded_batches, raise_on_error=True).attempted > 0


def test_a_batch_is_cut_to_its_longest_series_and_keeps_every_real_step():
    x = torch.randn(3, 10, 2)
    samples = [(x[i], i, n) for i, n in enumerate([4, 7, 2])]
    cut, y, lengths = collate_trimmed(samples)
    assert cut.shape == (3, 7, 2) and cut.is_contiguous()
    assert torch.equal(cut, x[:, :7]) and y.tolist() == [0, 1, 2] and lengths.tolist() == [4, 7, 2]


def test_full_batches_and_other_samples_are_the_default_collate():
    x = torch.randn(2, 5, 3)
    full = [(x[0], 0, 5), (x[1], 1, 5)]
    for got, want in zip(collate_trimmed(full), default_collate(full), strict=True):
        assert torch.equal(got, want)
    pairs = [(x[0], 0), (x[1], 1)]
    for got, want in zip(collate_trimmed(pairs), default_collate(pairs), strict=True):
        assert torch.equal(got, want)


def test_series_arrays_cut_unequal_batches_and_keep_the_seeded_order():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 20, size=24)
    x = rng.normal(size=(24, 20, 2)) * (np.arange(20)[None, :, None] < lengths[:, None, None])
    y = np.arange(24) % 3
    dm = SeriesArrayDataModule(x=x, y=y, lengths=lengths, class_names=["a", "b", "c"], batch_size=5, seed=3)
    dm.setup("fit")
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(2)
    order = list(loader.sampler)
    for k, (xb, yb, lb) in enumerate(loader):
        index = order[5 * k : 5 * k + 5]
        assert xb.shape[1] == int(lb.max()) == int(dm.train_dataset.lengths[index].max())
        assert torch.equal(xb, dm.train_dataset.x[index][:, : xb.shape[1]])
        assert torch.equal(yb, dm.train_dataset.y[index])
    equal = SeriesArrayDataModule(x=x, y=y, class_names=["a", "b", "c"], batch_size=5)
    assert equal.batch_collate() is None  # equal lengths: torch's default collate, to the bit


@needs_sktime
def test_ucr_loaders_cut_unequal_sets_only():
    from cnnlstm.data.timeseries import UCRDataModule

    vowels = UCRDataModule(name="JapaneseVowels", val_fraction=0.0, batch_size=64)
    vowels.setup("test")
    batches = [(xb.shape[1], int(lb.max())) for xb, _, lb in vowels.test_dataloader()]
    assert all(steps == longest for steps, longest in batches)
    assert len({steps for steps, _ in batches}) > 1 and max(batches)[0] <= vowels.input_shape[0]
    assert UCRDataModule(name="GunPoint").batch_collate() is None


# --- per-series normalisation: for sets whose series differ in scale by orders of magnitude ---


def test_series_normalisation_standardises_each_series_over_its_real_steps():
    rng = np.random.default_rng(1)
    lengths = np.array([12, 5, 9, 3])
    scales = np.array([1e-4, 1.0, 30.0, 1e3])
    x = (rng.normal(size=(4, 12, 2)) * scales[:, None, None] + scales[:, None, None]) * (
        np.arange(12)[None, :, None] < lengths[:, None, None]
    )
    x[3, :3, 1] = 7.0  # a constant channel becomes zeros, not a division by zero
    dm = SeriesArrayDataModule(
        x=x, y=np.arange(4) % 2, lengths=lengths, class_names=["a", "b"], normalize="series"
    )
    out = dm.transform(x, lengths).numpy().astype(np.float64)
    for i, n in enumerate(lengths):
        real = out[i, :n]
        if i == 3:
            real = real[:, :1]
            assert np.all(out[3, :3, 1] == 0.0)
        np.testing.assert_allclose(real.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(real.std(axis=0), 1.0, rtol=1e-4)
        assert np.all(out[i, n:] == 0.0)
    # the same series alone, or in another batch, is normalised alike: nothing is learnt from training data
    np.testing.assert_array_equal(dm.transform(x[1:2], lengths[1:2]).numpy(), out[1:2].astype(np.float32))
    assert dm.mean.tolist() == [0.0, 0.0] and dm.describe()["normalization"] == "series"


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_an_unknown_normalisation_is_refused_naming_the_choices(value):
    with pytest.raises(
        ValueError, match=r"normalize must be true, false or one of \['channel', 'series', 'none', 'auto'\]"
    ):
        SeriesArrayDataModule(
            x=np.ones((2, 3, 1)), y=np.array([0, 1]), class_names=["a", "b"], normalize=value
        )


@pytest.mark.parametrize(("channels", "expected"), [(1, "series"), (3, "channel")])
def test_auto_resolves_by_channel_count_for_arrays_too(channels, expected):
    x = np.random.default_rng(0).normal(size=(6, 10, channels)) * 5.0 + 3.0
    dm = SeriesArrayDataModule(
        x=x, y=np.arange(6) % 2, lengths=np.full(6, 10), class_names=["a", "b"], normalize="auto"
    )
    assert dm.normalization == expected and dm.describe()["normalization"] == expected
    assert (dm.mean.tolist() == [0.0] * channels) == (expected == "series")
