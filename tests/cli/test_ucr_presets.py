"""The named-dataset UCR/UEA presets are the archive recipe as it ships, with only the dataset named."""

from __future__ import annotations

import pytest
import yaml

from cnnlstm.cli import PRESET_DIR, list_presets

NAMED = ["basicmotions-deepconvlstm", "japanesevowels-lstm_fcn"]


def _load(name: str) -> dict:
    return yaml.safe_load((PRESET_DIR / f"{name}.yaml").read_text())


def _named_dataset_presets() -> list[str]:
    """Every shipped preset on UCRDataModule that is not one of the generic ``ucr-*`` presets."""
    return sorted(
        name
        for name in list_presets()
        if not name.startswith("ucr-")
        and "cnnlstm.data.UCRDataModule" in (PRESET_DIR / f"{name}.yaml").read_text()
    )


def test_the_named_presets_are_found():
    assert set(_named_dataset_presets()) >= set(NAMED)


@pytest.mark.parametrize("name", _named_dataset_presets())
def test_a_named_preset_is_its_generic_preset_with_only_the_dataset_changed(name):
    """Issue 18: "the generic presets are used as they ship: no per-dataset settings"."""
    named = _load(name)
    generic = _load(f"ucr-{named['model']['init_args']['name']}")
    dataset = named["data"]["init_args"].pop("name")
    generic["data"]["init_args"].pop("name")
    assert named == generic, f"{name} differs from the archive recipe beyond data.name"
    assert dataset.lower() == name.split("-")[0]  # the preset's name says which dataset it trains
