"""Preprocess turns raw inputs into exactly what evaluation feeds the model, from config.json alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import cnnlstm
from cnnlstm.deploy import Preprocess, Pretrained, load_pretrained
from cnnlstm.deploy._common import CONFIG_FILE
from tests.deploy._exports import export_lrcn_tiny

MEAN, STD = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]


@pytest.fixture
def video(tmp_path):
    """A 20-frame 48x64 H.264 file whose frames differ (a moving gradient)."""
    pytest.importorskip("av")
    from cnnlstm.data.video_io import write_video

    t, y, x = np.meshgrid(np.arange(20), np.arange(48), np.arange(64), indexing="ij")
    frames = np.stack([(x * 4 + t * 9) % 256, (y * 5) % 256, (t * 12) % 256], axis=-1).astype(np.uint8)
    path = tmp_path / "clip.mp4"
    write_video(path, frames, fps=10)
    return path


@pytest.mark.parametrize(("sampling", "stride", "clips"), [("segments", 1, 1), ("dense", 2, 3)])
def test_video_file_matches_evaluation(video, tmp_path, sampling, stride, clips):
    from cnnlstm.data.video import VideoClipDataset, VideoDataModule
    from cnnlstm.data.video_io import probe_video
    from cnnlstm.data.video_layouts import VideoSample

    size = (32, 40)
    dataset = VideoClipDataset(
        [VideoSample(path=video, label=0)],
        [probe_video(video)],
        num_frames=6,
        frame_size=size,
        mode=sampling,
        stride=stride,
        clips_per_video=clips,
    )
    data = VideoDataModule(root=str(tmp_path), mean=MEAN, std=STD)
    clip = dataset[0][0]
    expected = data.transform(clip if clips > 1 else clip[None], train=False)  # (N, T, C, H, W)
    prep = Preprocess(
        preprocessing={
            "frame_size": list(size),
            "num_frames": 6,
            "sampling": sampling,
            "stride": stride,
            "clips_per_video": clips,
            "mean": MEAN,
            "std": STD,
        },
        input_shape=[6, 3, *size],
    )
    actual = prep(str(video))
    assert actual.shape == (clips, 6, 3, *size)
    torch.testing.assert_close(actual, expected)


def test_camera_frame_is_normalised_and_resized():
    prep = Preprocess(preprocessing={"mean": MEAN, "std": STD}, input_shape=[8, 3, 16, 24])
    frame = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    expected = (torch.from_numpy(frame).permute(2, 0, 1).float() / 255 - torch.tensor(MEAN).view(3, 1, 1)) / (
        torch.tensor(STD).view(3, 1, 1)
    )
    torch.testing.assert_close(prep(frame), expected[None])
    assert prep(np.zeros((480, 640, 3), dtype=np.uint8)).shape == (1, 3, 16, 24)


def test_sensor_file_matches_the_data_modules_windows(tmp_path):
    pd = pytest.importorskip("pandas")
    from cnnlstm.data.sensor import SensorStreamDataModule

    rng = np.random.default_rng(0)
    rows = 200
    pd.DataFrame(
        {
            "ax": rng.normal(3, 2, rows),
            "ay": rng.normal(-1, 5, rows),
            "subject": [1] * 90 + [2] * 60 + [3] * 50,
            "label": ["walk"] * 100 + ["run"] * 100,
        }
    ).to_csv(tmp_path / "train.csv", index=False)
    new = tmp_path / "new.csv"
    pd.DataFrame(
        {"ay": rng.normal(size=77), "ax": rng.normal(size=77), "subject": [7] * 40 + [8] * 37}
    ).to_csv(new, index=False)
    data = SensorStreamDataModule(path=tmp_path / "train.csv", window=16, step=5, predict_path=new)
    data.setup("predict")
    expected = torch.stack([data.predict_dataset[i][0] for i in range(len(data.predict_dataset))])
    prep = Preprocess(
        preprocessing={
            "channels": data.channel_names,
            "mean": data.channel_mean.tolist(),
            "std": data.channel_std.tolist(),
            "window": 16,
            "step": 5,
        },
        input_shape=data.input_shape,
    )
    actual = prep(new)  # columns in another order, two subjects: windows never straddle them
    assert actual.shape == expected.shape == (5 + 5, 16, 2)
    torch.testing.assert_close(actual, expected)


@pytest.mark.parametrize(
    ("preprocessing", "shape", "raw", "match"),
    [
        ({}, [8, 3, 16, 16], np.zeros((16, 16, 3), np.uint8), "has no 'mean', needed for normalising frames"),
        (
            {"mean": MEAN, "std": STD},
            [8, 3, 16, 16],
            "clip.mp4",
            "has no 'sampling', needed for sampling a clip",
        ),
        (
            {"mean": [0.0], "std": [1.0]},
            [8, 3, 16, 16],
            np.zeros((16, 16, 3), np.uint8),
            "must hold 3 values",
        ),
        ({}, [8, 3, 16, 16], np.zeros((16, 16, 3), np.float32), "must be uint8 RGB"),
        ({}, [16, 2], "rec.csv", "has no 'step', needed for cutting windows"),
        ({}, [16, 2], np.zeros((16, 16, 3), np.uint8), "cannot preprocess an array of shape"),
        ({}, [16, 2], np.zeros((16, 3)), r"a series must be \(T, 2\)"),
    ],
)
def test_what_is_missing_or_wrong_is_named(preprocessing, shape, raw, match):
    prep = Preprocess(
        preprocessing=preprocessing, input_shape=shape, source="config.json field 'preprocessing'"
    )
    with pytest.raises(ValueError, match=match) as err:
        prep(raw)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("name", "normalization"), [("UnitTest", "series"), ("BasicMotions", "channel")])
def test_archive_series_match_the_data_modules_inputs(name, normalization):
    """An export of a ``ucr-*`` model normalises a raw series as training did: per series for a
    univariate set under ``normalize: auto``, with the training statistics for a multivariate one."""
    pytest.importorskip("sktime")
    from cnnlstm.data.timeseries import UCRDataModule

    data = UCRDataModule(name=name, normalize="auto")
    data.setup("test")
    assert data.normalization == normalization
    raw_x, _, raw_lengths = data._load()["test"]
    prep = Preprocess(preprocessing=data.preprocessing(), input_shape=data.input_shape)
    for i in (0, len(raw_x) - 1):
        expected = data.test_dataset[i][0][None]
        raw = raw_x[i, : raw_lengths[i]] * 1.0  # a float64 (T, C) array, as a user passes one
        torch.testing.assert_close(prep(raw), expected)


def test_an_unknown_series_normalization_is_named():
    prep = Preprocess(preprocessing={"normalization": "robust"}, input_shape=[16, 1])
    with pytest.raises(
        ValueError, match="'normalization' must be 'channel', 'series' or 'none'; found 'robust'"
    ):
        prep(np.zeros((16, 1)))


@pytest.mark.parametrize("normalization", ["series", "channel", "none"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_series_with_missing_values_is_refused(normalization, bad):
    """A raw series with NaN or inf is refused in one line naming the channel, as training refuses
    it, instead of giving NaN logits."""
    prep = Preprocess(
        preprocessing={"normalization": normalization, "mean": [0.0, 1.0], "std": [1.0, 2.0]},
        input_shape=[16, 2],
    )
    raw = np.ones((16, 2))
    raw[5, 1] = bad
    with pytest.raises(ValueError, match=r"the input to the model: series 0, channel 1 is not finite") as err:
        prep(raw)
    assert "\n" not in str(err.value)


def test_a_frame_is_refused_for_a_series_model():
    prep = Preprocess(preprocessing={}, input_shape=[16, 2])
    with pytest.raises(
        ValueError, match=r"this model takes series .* a camera frame is for a model of frames"
    ):
        prep.frame(np.zeros((4, 4, 3), np.uint8))


def test_load_pretrained_with_preprocess(tmp_path, video):
    pytest.importorskip("safetensors")
    torch.manual_seed(0)
    model = cnnlstm.create_model("lrcn_tiny", num_classes=3)
    prep = {
        "frame_size": [32, 32],
        "num_frames": 6,
        "sampling": "dense",
        "clips_per_video": 2,
        "mean": MEAN,
        "std": STD,
    }
    export_lrcn_tiny(tmp_path / "out", model=model, class_names=["a", "b", "c"], preprocessing=prep)
    assert isinstance(load_pretrained(tmp_path / "out"), torch.nn.Module)  # as before
    loaded = cnnlstm.load_pretrained(tmp_path / "out", with_preprocess=True)
    assert isinstance(loaded, Pretrained) and loaded.class_names == ["a", "b", "c"]
    x = loaded.preprocess(str(video))
    assert x.shape == (2, 6, 3, 32, 32)
    with torch.no_grad():
        expected = torch.softmax(model.eval()(x).mean(0, keepdim=True), dim=-1)
    torch.testing.assert_close(loaded.predict(str(video)), expected)
    with pytest.raises(ValueError, match="single frame is one time step"):
        loaded.predict(np.zeros((32, 32, 3), np.uint8))
    from cnnlstm.deploy import Stream

    stream = Stream(loaded.model)  # a camera frame of another size, prepared for a stream
    for frame in np.random.default_rng(0).integers(0, 256, (3, 48, 64, 3), dtype=np.uint8):
        probs = stream.push(loaded.preprocess(frame))
    assert probs.shape == (1, 3) and stream.frames_seen == 3


def test_load_pretrained_refuses_bad_optional_fields(tmp_path):
    pytest.importorskip("safetensors")
    export_lrcn_tiny(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    for field, value, match in [
        ("class_names", "abc", "field 'class_names' must be a list of strings"),
        ("preprocessing", [1], "field 'preprocessing' must be a JSON object"),
    ]:
        (tmp_path / CONFIG_FILE).write_text(json.dumps({**config, field: value}))
        with pytest.raises(ValueError, match=match):
            load_pretrained(tmp_path, with_preprocess=True)
        assert isinstance(load_pretrained(tmp_path), torch.nn.Module)  # the model alone never reads them
