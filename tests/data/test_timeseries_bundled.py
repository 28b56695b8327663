"""Bundled UCR/UEA sets of sktime and aeon, found by name without importing either package.

aeon is not installed for the tests (it pins numpy and numba below the rest of the environment):
its ``datasets/data`` folder is a temporary one laid out as aeon 1.x lays it out, with small
``.ts`` files in the archive's header style. Reading goes through sktime's reader, as for sktime's
own sets.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cnnlstm._validation import InputError
from cnnlstm.data import timeseries_bundled
from cnnlstm.data.timeseries import UCRDataModule, available_datasets

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sktime") is None, reason='needs sktime: pip install "cnnlstm[timeseries]"'
)

# The aeon-only set: univariate, unequal lengths, classes that sort as numbers ("10" after "2").
GESTURE = {
    "TRAIN": [
        ([0.5, 1.0, -1.0], "1"),
        ([2.0, 3.0, 4.0, 5.0, 6.0], "2"),
        ([1.0, 1.5], "10"),
        ([0.0, 2.0], "1"),
    ],
    "TEST": [([1.0, 2.0, 3.0, 4.0], "2"), ([7.0], "10"), ([3.0, 3.0, 1.0], "1")],
}


def _ts(problem: str, cases: list[tuple[list[float], str]], *, header: str) -> str:
    lines = [f"@problemName {problem}", "@timeStamps false", "@missing false", "@univariate true", header]
    lines += ["@data", *(",".join(str(v) for v in values) + f":{label}" for values, label in cases)]
    return "\n".join(lines) + "\n"


def _write_pair(root: Path, name: str, splits: dict[str, list[tuple[list[float], str]]], header: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    for split, cases in splits.items():
        (folder / f"{name}_{split}.ts").write_text(_ts(name, cases, header=header))


@pytest.fixture
def aeon_data(tmp_path: Path) -> Path:
    """``aeon/datasets/data`` with an aeon-only set, a copy of a set sktime ships, a regression set
    and a forecasting csv (aeon 1.6 ships all four kinds)."""
    root = tmp_path / "aeon" / "datasets" / "data"
    _write_pair(root, "ToyGesture", GESTURE, "@equalLength false\n@classLabel true 1 2 10")
    tiny = [([1.0, 2.0, 3.0], "1"), ([3.0, 2.0, 1.0], "2")]
    _write_pair(root, "GunPoint", {"TRAIN": tiny, "TEST": tiny}, "@equalLength true\n@classLabel true 1 2")
    target = [([1.0, 2.0, 3.0], "0.5"), ([3.0, 2.0, 1.0], "1.5")]
    _write_pair(root, "ToyTarget", {"TRAIN": target, "TEST": target}, "@equalLength true\n@targetlabel true")
    (root / "Airline").mkdir()
    (root / "Airline" / "Airline.csv").write_text("Date,Passengers\n1949-01,112\n")
    return root


@pytest.fixture
def with_aeon(monkeypatch: pytest.MonkeyPatch, aeon_data: Path) -> Path:
    """The installed sktime, and aeon's data folder at ``aeon_data``."""
    real = timeseries_bundled._package_data_dir
    monkeypatch.setattr(
        timeseries_bundled,
        "_package_data_dir",
        lambda package: aeon_data if package == "aeon" else real(package),
    )
    return aeon_data


def test_aeon_only_set_is_listed_beside_sktimes_and_regression_sets_are_not(with_aeon):
    names = available_datasets()
    assert "ToyGesture" in names and "BasicMotions" in names and "PLAID" in names
    assert names.count("GunPoint") == 1  # shipped by both: one entry
    assert "ToyTarget" not in names and "Airline" not in names
    assert names == sorted(names)


def test_a_set_both_ship_is_read_from_sktimes_copy(with_aeon):
    dm = UCRDataModule(name="GunPoint")
    package, folder = dm.bundle
    assert package == "sktime" and folder.parent == timeseries_bundled._package_data_dir("sktime")


def test_aeon_only_unequal_length_set_loads_by_name_with_its_lengths(with_aeon):
    dm = UCRDataModule(name="ToyGesture", val_fraction=0.0, normalize=False)
    dm.setup()
    assert dm.bundle == ("aeon", with_aeon / "ToyGesture")
    assert dm.input_shape == [5, 1] and dm.is_variable_length
    assert dm.class_names == ["1", "2", "10"]
    for split, dataset in (("TRAIN", dm.train_dataset), ("TEST", dm.test_dataset)):
        cases = GESTURE[split]
        assert dataset.lengths.tolist() == [len(values) for values, _ in cases]
        assert dataset.y.tolist() == [dm.class_names.index(label) for _, label in cases]
        for row, (values, _) in zip(dataset.x.numpy(), cases, strict=True):
            np.testing.assert_array_equal(row[: len(values), 0], values)
            assert not row[len(values) :].any()  # zero padding at the end
    assert dm.train_dataset.keys[0] == "aeon:ToyGesture_TRAIN#0"
    assert dm.describe()["path"] == str(with_aeon / "ToyGesture")


def test_names_that_are_not_bundled_classification_sets_are_one_line_errors(with_aeon):
    with pytest.raises(InputError, match="'ToyTarget' is a regression dataset") as info:
        UCRDataModule(name="ToyTarget")
    assert "ToyGesture" in str(info.value)
    with pytest.raises(InputError, match="not bundled with the installed sktime and aeon") as info:
        UCRDataModule(name="ToyGestures")
    assert "closest: ['ToyGesture'" in str(info.value) and "\n" not in str(info.value)


def test_aeon_alone_is_enough_to_find_its_sets(monkeypatch, aeon_data):
    monkeypatch.setattr(
        timeseries_bundled, "_package_data_dir", lambda package: aeon_data if package == "aeon" else None
    )
    assert available_datasets() == ["GunPoint", "ToyGesture"]
    assert UCRDataModule(name="GunPoint").bundle == ("aeon", aeon_data / "GunPoint")


def test_without_sktime_or_aeon_the_error_names_the_extras(monkeypatch):
    monkeypatch.setattr(timeseries_bundled, "_package_data_dir", lambda package: None)
    with pytest.raises(ImportError, match=r"cnnlstm\[timeseries\].*cnnlstm\[aeon\]"):
        available_datasets()
