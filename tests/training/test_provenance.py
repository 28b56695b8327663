"""Sample keys and fingerprints: what a result was computed on, and its overlap with training."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlstm.data.frame_sequences import FrameSequenceDataModule
from cnnlstm.data.synthetic import SyntheticVideoDataModule
from cnnlstm.training.provenance import describe_split, digests, fingerprint, write_fit_keys
from tests.data.test_sensor import make, recording, write


def _split_digests(dm, split: str) -> set[str]:
    keys = dm.sample_keys(split)
    assert keys is not None and len(keys) == len(getattr(dm, f"{split}_dataset"))
    return set(digests(keys))


def test_fingerprint_is_order_free_and_changes_with_any_sample():
    keys = [f"/videos/{i}.mp4" for i in range(5)]
    assert fingerprint(keys) == fingerprint(keys[::-1])
    assert fingerprint(keys) != fingerprint(keys[:4])
    assert fingerprint(keys) != fingerprint([*keys[:4], "/videos/other.mp4"])


def test_sensor_splits_are_disjoint_and_keyed_by_file_and_row(tmp_path):
    path = write(recording({"1": 200}).drop(columns="subject"), tmp_path / "a.csv")
    dm = make(path=path, window=20, step=10, val_fraction=0.2, test_fraction=0.2)
    train, val, test = (_split_digests(dm, s) for s in ("train", "val", "test"))
    assert not train & test and not train & val and not val & test
    again = make(path=tmp_path / "." / "a.csv", window=20, step=10, val_fraction=0.2, test_fraction=0.2)
    assert _split_digests(again, "test") == test  # the same rows of the same file, however it is named


def test_generated_clips_differ_between_splits_and_match_across_runs():
    def module():
        dm = SyntheticVideoDataModule(
            num_classes=2, num_frames=4, frame_size=16, num_train=6, num_val=4, num_test=4
        )
        dm.setup()
        return dm

    first, second = module(), module()
    assert not _split_digests(first, "train") & _split_digests(first, "test")
    assert _split_digests(first, "test") == _split_digests(second, "test")


@pytest.fixture
def frame_file(tmp_path):
    path = tmp_path / "frames.npy"
    np.save(path, np.random.default_rng(0).integers(0, 255, (8, 6, 8, 8), dtype=np.uint8))
    return path


def test_frame_arrays_without_test_file_are_tested_on_validation_data_and_it_is_recorded(
    frame_file, tmp_path
):
    dm = FrameSequenceDataModule(path=frame_file, input_frames=3, target_frames=3, val_fraction=0.25)
    dm.setup()
    write_fit_keys(tmp_path, dm)
    info = describe_split(tmp_path, dm, "test")
    assert info["samples"] == len(dm.test_dataset) and info["overlap"] == {"train": 0, "val": info["samples"]}

    np.save(other := tmp_path / "other.npy", np.zeros((2, 6, 8, 8), np.uint8))
    held_out = FrameSequenceDataModule(
        path=frame_file, input_frames=3, target_frames=3, val_fraction=0.25, test_path=other
    )
    held_out.setup()
    assert describe_split(tmp_path, held_out, "test")["overlap"] == {"train": 0, "val": 0}


def test_overlap_is_not_checked_without_keys_or_a_record(frame_file, tmp_path):
    dm = FrameSequenceDataModule(path=frame_file, input_frames=3, target_frames=3, val_fraction=0.25)
    dm.setup()
    assert describe_split(tmp_path, dm, "test")["overlap"].startswith("not checked")
    (tmp_path / "data_keys.json").write_text("{not json")
    assert describe_split(tmp_path, dm, "test")["overlap"].startswith("not checked")


def test_archive_cases_are_keyed_by_file_and_case_and_test_never_overlaps_train(tmp_path):
    pytest.importorskip("sktime")
    from cnnlstm.data.timeseries import UCRDataModule

    dm = UCRDataModule(name="ItalyPowerDemand", val_fraction=0.2)
    dm.setup()
    train, val, test = (_split_digests(dm, s) for s in ("train", "val", "test"))
    assert len(train) == len(dm.train_dataset) and not train & val and not (train | val) & test
    write_fit_keys(tmp_path, dm)
    assert describe_split(tmp_path, dm, "test")["overlap"] == {"train": 0, "val": 0}
