"""Video data: clip sampling, the data module on real H.264 files with broken ones among them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("av")

from cnnlstm.data.synthetic import write_video_tree  # noqa: E402
from cnnlstm.data.video import IMAGENET_MEAN, VideoDataModule, clip_indices, min_frames  # noqa: E402


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path, monkeypatch):
    """The default cache folder (frame caches, files known to decode) inside the test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def test_segment_sampling_spreads_over_the_video():
    assert clip_indices(100, num_frames=4, mode="segments", train=False) == [12, 37, 62, 87]
    two = [
        clip_indices(100, num_frames=4, mode="segments", train=False, clip=k, num_clips=2) for k in range(2)
    ]
    assert two == [[6, 31, 56, 81], [18, 43, 68, 93]]
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        ids = clip_indices(100, num_frames=4, mode="segments", train=True, generator=g)
        assert all(25 * k <= i < 25 * (k + 1) for k, i in enumerate(ids))
    assert clip_indices(3, num_frames=6, mode="segments", train=False) == [0, 0, 1, 1, 2, 2]


def test_dense_sampling_windows_and_loop_padding():
    assert clip_indices(100, num_frames=4, mode="dense", stride=2, train=False) == [46, 48, 50, 52]
    starts = [
        clip_indices(20, num_frames=4, mode="dense", stride=1, train=False, clip=k, num_clips=3)[0]
        for k in range(3)
    ]
    assert starts == [0, 8, 16]
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        ids = clip_indices(30, num_frames=8, mode="dense", stride=3, train=True, generator=g)
        assert ids == list(range(ids[0], ids[0] + 22, 3)) and ids[-1] < 30
    assert clip_indices(3, num_frames=5, mode="dense", stride=1, train=False) == [
        0,
        1,
        2,
        0,
        1,
    ]  # loop-padded
    assert (
        min_frames(num_frames=8, mode="dense", stride=3) == 22
        and min_frames(num_frames=8, mode="segments", stride=3) == 8
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    write_video_tree(
        root,
        num_classes=4,
        videos_per_class=6,
        num_frames=20,
        frame_size=48,
        include_broken=True,
        progress=False,
    )
    return root


def test_module_skips_broken_files_with_reasons(tree):
    # Dense clips of 4 consecutive frames: the 3-frame video is too short; the truncated one
    # (the first half of a 20-frame video) keeps enough frames that decode.
    dm = VideoDataModule(
        root=str(tree),
        num_frames=4,
        frame_size=48,
        sampling="dense",
        stride=1,
        pad_short=False,
        val_fraction=0.2,
        batch_size=4,
    )
    dm.setup("fit")
    reasons = {item["path"].rsplit("/", 1)[-1]: item["reason"] for item in dm.skipped}
    for name in ("broken_empty.mp4", "broken_random.mp4", "broken_short.mp4"):
        assert any(name in path for path in reasons), f"{name} not reported: {reasons}"
    assert "too short" in reasons["broken_short.mp4"]
    assert not any("broken_truncated" in p for p in reasons)  # a truncated file keeps the frames that decode
    x, y = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.uint8 and x.shape == (4, 4, 3, 48, 48) and y.shape == (4,)
    assert dm.class_names == ["dir000", "dir090", "dir180", "dir270"] and dm.input_shape == [4, 3, 48, 48]


def test_pad_short_keeps_short_videos_and_eval_takes_several_clips(tree):
    dm = VideoDataModule(
        root=str(tree),
        num_frames=8,
        frame_size=48,
        sampling="dense",
        stride=2,
        clips_per_video=3,
        pad_short=True,
        batch_size=2,
    )
    dm.setup("test")
    assert not any("broken_short" in item["path"] for item in dm.skipped)
    x, _ = next(iter(dm.test_dataloader()))
    assert x.shape == (2, 3, 8, 3, 48, 48)  # (B, clips, T, C, H, W)
    assert len(dm.test_dataset) == 4 * 6 + 2  # the whole tree (no test split), truncated and short kept


def test_batch_transform_normalises_and_augments(tree):
    dm = VideoDataModule(
        root=str(tree), num_frames=4, frame_size=48, crop_scale=0.5, hflip=True, mean=[0.5] * 3, std=[0.5] * 3
    )
    x = torch.full((2, 4, 3, 48, 48), 255, dtype=torch.uint8)
    assert torch.allclose(dm.transform(x, train=False), torch.ones(2, 4, 3, 48, 48))
    x = torch.randint(0, 256, (2, 4, 3, 48, 48), dtype=torch.uint8)
    out = dm.transform(x, train=True)
    assert out.shape == x.shape and out.dtype == torch.float32


def test_missing_root_and_bad_options_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; point it at your videos") as info:
        VideoDataModule(root=str(tmp_path / "nope"))
    assert info.value.field == "root" and "--data." not in str(info.value)  # the CLI adds the flag
    with pytest.raises(ValueError, match="sampling='random'"):
        VideoDataModule(root=str(tmp_path), sampling="random")
    bad = [
        ({"format": "ucf"}, "format must be one of .*received format='ucf'"),
        ({"split": 0}, "split must be a positive integer; received split=0"),
        ({"val_fraction": 1.0}, r"val_fraction must be a number in \[0, 1\); received val_fraction=1.0"),
        ({"hflip": "false"}, "hflip must be True or False; received hflip='false'"),
        ({"pad_short": 1}, "pad_short must be True or False"),
    ]
    for kwargs, match in bad:  # refused when the module is built, not at setup
        with pytest.raises(ValueError, match=match):
            VideoDataModule(root=str(tmp_path), **kwargs)


def test_window_dataset_tells_a_writer_paths_labels_and_window_times(tree):
    from pathlib import Path

    from cnnlstm.data.video import VideoWindowDataset
    from cnnlstm.data.video_io import VideoInfo, probe_video
    from cnnlstm.data.video_layouts import VideoSample

    paths = sorted((tree / "dir090").glob("dir090_*.mp4"))[:2]
    infos = [probe_video(p) for p in paths]
    ds = VideoWindowDataset(
        [VideoSample(p, 1) for p in paths],
        infos,
        step=5,
        num_frames=4,
        frame_size=(32, 32),
        mode="dense",
        stride=2,
    )
    assert ds.num_videos == 2 and len(ds) == 2 * 3  # 20 frames, 7-frame windows from 0, 5, 10
    assert ds.sample_path(1) == str(paths[1]) and ds.sample_label(0) == 1
    assert ds.window_frames(0, 10) == (10, 16)
    assert ds.window_frames(0, 15) == (15, 19)  # clipped to the last frame
    assert ds.window_seconds(0, 10) == (infos[0].pts[10], infos[0].pts[16])
    # A folder of frames has no timestamps: frame / fps, or the frame index without a rate.
    frames = VideoWindowDataset(
        [VideoSample(Path("clip"), -1)],
        [VideoInfo("clip", 10, 0.0, 0.0, 0, 0, (), ())],
        step=2,
        num_frames=4,
        frame_size=(32, 32),
        mode="dense",
        stride=2,
    )
    assert frames.window_seconds(0, 2) == (2.0, 8.0)
    frames.infos[0] = VideoInfo("clip", 10, 5.0, 2.0, 0, 0, (), ())
    assert frames.window_seconds(0, 2) == (0.4, 1.6)


def test_manifest_describes_the_tree(tree):
    manifest = json.loads((tree / "manifest.json").read_text())
    assert manifest["videos"] == 24 and len(manifest["broken"]) == 4


def test_cache_gives_the_decoded_frames_and_is_rebuilt_when_sources_change(tree, tmp_path):
    from cnnlstm.data.video_cache import ClipCache
    from cnnlstm.data.video_io import decode_frames, probe_video

    paths = sorted(str(p) for p in (tree / "dir090").glob("dir090_*.mp4"))[:3]
    infos = [probe_video(p) for p in paths]
    cache = ClipCache(
        paths, infos, frames_per_video=8, frame_size=(32, 32), cache_dir=tmp_path, progress=False
    )
    assert cache.counts == [8, 8, 8]
    spread = [round(i * 19 / 7) for i in range(8)]  # 8 frames evenly over 20
    expected = decode_frames(paths[1], spread, size=(32, 32), info=infos[1])
    assert (cache.frames(1, range(8)) == expected).all()
    again = ClipCache(
        paths, infos, frames_per_video=8, frame_size=(32, 32), cache_dir=tmp_path, progress=False
    )
    assert again.folder == cache.folder  # reused, not rebuilt
    other = ClipCache(
        paths, infos, frames_per_video=4, frame_size=(32, 32), cache_dir=tmp_path, progress=False
    )
    assert other.folder != cache.folder  # another budget, another cache
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(Path(paths[0]).read_bytes())
    a = ClipCache(
        [str(copy)], infos[:1], frames_per_video=4, frame_size=(32, 32), cache_dir=tmp_path, progress=False
    )
    import os

    os.utime(copy, ns=(1, 1))  # the source changed (mtime): a new cache
    b = ClipCache(
        [str(copy)], infos[:1], frames_per_video=4, frame_size=(32, 32), cache_dir=tmp_path, progress=False
    )
    assert a.folder != b.folder


def _cache_inputs(tree, n=2):
    from cnnlstm.data.video_io import probe_video

    paths = sorted(str(p) for p in (tree / "dir000").glob("dir000_*.mp4"))[:n]
    return paths, [probe_video(p) for p in paths]


def test_a_failed_cache_build_leaves_no_temporary_folder(tree, tmp_path, monkeypatch):
    from cnnlstm.data import video_cache

    paths, infos = _cache_inputs(tree)
    real = video_cache.decode_frames
    calls = []

    def fails_on_the_second_video(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise OSError("No space left on device")  # not a video's fault: the build stops
        return real(*args, **kwargs)

    monkeypatch.setattr(video_cache, "decode_frames", fails_on_the_second_video)
    with pytest.raises(OSError, match="No space"):
        video_cache.ClipCache(
            paths, infos, frames_per_video=4, frame_size=(32, 32), cache_dir=tmp_path, progress=False
        )
    assert list(tmp_path.iterdir()) == []  # neither a half-written cache nor its temporary folder


def test_a_cache_build_that_loses_a_race_uses_the_finished_cache(tree, tmp_path, monkeypatch):
    import shutil

    from cnnlstm.data.video_cache import ClipCache

    paths, infos = _cache_inputs(tree)
    kw = {"frames_per_video": 4, "frame_size": (32, 32), "progress": False}
    winner = ClipCache(paths, infos, cache_dir=tmp_path / "a", **kw)
    build = ClipCache._decode_into

    def another_process_finishes_first(self, *args):
        counts = build(self, *args)
        shutil.copytree(winner.folder, self.folder)
        return counts

    monkeypatch.setattr(ClipCache, "_decode_into", another_process_finishes_first)
    cache = ClipCache(paths, infos, cache_dir=tmp_path / "b", **kw)
    assert [p.name for p in (tmp_path / "b").iterdir()] == [cache.folder.name]  # no temporary folder left
    assert cache.counts == winner.counts and (cache.frames(1, [0, 3]) == winner.frames(1, [0, 3])).all()


def test_cached_module_matches_the_decoding_one(tree, tmp_path):
    kw = dict(root=str(tree), num_frames=4, frame_size=32, sampling="segments", batch_size=4)
    plain = VideoDataModule(**kw)
    cached = VideoDataModule(
        **kw, cache_frames=64, cache_dir=str(tmp_path)
    )  # budget >= every video: all frames
    plain.setup("validate")
    cached.setup("validate")
    for (x1, y1), (x2, y2) in zip(plain.val_dataloader(), cached.val_dataloader(), strict=True):
        assert torch.equal(y1, y2) and torch.equal(x1, x2)


# -- files whose container probes fine but whose frames do not decode ------------------------------


def damage_first_keyframe(path: Path) -> Path:
    """Overwrite the first frame's data after its first bytes: the container still probes."""
    import av

    with av.open(str(path)) as container:
        packet = next(iter(container.demux(container.streams.video[0])))
        start, size = packet.pos, packet.size
    data = bytearray(path.read_bytes())
    data[start + 10 : start + size] = b"\xff" * (size - 10)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def damaged_tree(tmp_path):
    root = tmp_path / "videos"
    write_video_tree(root, num_classes=2, videos_per_class=4, num_frames=12, frame_size=32, progress=False)
    victim = sorted((root / "dir000").glob("*.mp4"))[0]
    return root, damage_first_keyframe(victim)


def _loaded(dm) -> int:
    """How many samples the train and val loaders give, read to the end."""
    return sum(len(y) for loader in (dm.train_dataloader(), dm.val_dataloader()) for _, y in loader)


def _split_of(dm, path: Path) -> str:
    return next(split for split, samples in dm.index.splits.items() if path in {s.path for s in samples})


def test_data_check_decodes_and_skips_a_damaged_video(damaged_tree):
    from cnnlstm.data.video_io import probe_video

    root, victim = damaged_tree
    assert probe_video(victim).num_frames == 12  # the container is fine
    dm = VideoDataModule(root=str(root), num_frames=4, frame_size=32, val_fraction=0.25, batch_size=2)
    with pytest.warns(UserWarning, match="1 video"):
        dm.setup("fit")
    assert [(item["path"], item["split"]) for item in dm.skipped] == [(str(victim), _split_of(dm, victim))]
    assert "cannot decode frame index 0" in dm.skipped[0]["reason"]
    assert _loaded(dm) == 7


def test_without_check_decode_a_damaged_video_is_replaced_and_reported(damaged_tree):
    root, victim = damaged_tree
    dm = VideoDataModule(
        root=str(root), num_frames=4, frame_size=32, val_fraction=0.25, batch_size=2, check_decode=False
    )
    dm.setup("fit")
    assert dm.skipped == [] and len(dm.train_dataset) + len(dm.val_dataset) == 8  # only probed
    with pytest.warns(UserWarning, match="cannot decode frame index .*next video"):
        assert _loaded(dm) == 8  # the run goes on: the next video stands in
    assert [(item["path"], item["split"]) for item in dm.skipped] == [(str(victim), _split_of(dm, victim))]


def test_a_damaged_video_in_a_worker_reaches_skipped(damaged_tree):
    root, victim = damaged_tree
    dm = VideoDataModule(
        root=str(root),
        num_frames=4,
        frame_size=32,
        val_fraction=0.25,
        batch_size=2,
        check_decode=False,
        num_workers=1,
    )
    dm.setup("fit")
    import warnings

    with warnings.catch_warnings():  # the worker warns in its own process, which the test cannot see
        warnings.simplefilter("ignore")
        assert _loaded(dm) == 8
    assert [item["path"] for item in dm.skipped] == [str(victim)]


def test_the_cache_builder_skips_a_damaged_video(damaged_tree, tmp_path):
    root, victim = damaged_tree
    dm = VideoDataModule(
        root=str(root),
        num_frames=4,
        frame_size=32,
        val_fraction=0.25,
        batch_size=2,
        check_decode=False,
        cache_frames=8,
        cache_dir=str(tmp_path / "cache"),
    )
    dm.setup("fit")
    assert [item["path"] for item in dm.skipped] == [str(victim)]
    assert "cannot decode frame index 0" in dm.skipped[0]["reason"]
    assert len(dm.train_dataset) + len(dm.val_dataset) == 7 and _loaded(dm) == 7
    folders = {dm.train_dataset.cache.folder.name, dm.val_dataset.cache.folder.name}
    assert {p.name for p in (tmp_path / "cache").iterdir()} == folders  # no .tmp-PID left


def test_a_truncated_cache_file_is_rebuilt(tree, tmp_path):
    from cnnlstm.data.video_cache import ClipCache

    paths, infos = _cache_inputs(tree)
    kw = {"frames_per_video": 4, "frame_size": (32, 32), "cache_dir": tmp_path, "progress": False}
    first = ClipCache(paths, infos, **kw)
    expected = first.frames(1, [0, 3])
    frames = first.folder / "frames.npy"
    frames.write_bytes(frames.read_bytes()[: frames.stat().st_size // 2])
    again = ClipCache(paths, infos, **kw)
    assert again.folder == first.folder and (again.frames(1, [0, 3]) == expected).all()


# -- flips: off by default; a flip can swap the labels it changes -------------------------------------


def test_flips_are_off_by_default_and_in_every_video_preset(tmp_path):
    import yaml

    import cnnlstm

    assert VideoDataModule(root=str(tmp_path)).hflip is False
    presets = sorted((Path(cnnlstm.__file__).parent / "presets").glob("video-*.yaml"))
    assert presets
    for preset in presets:
        args = yaml.safe_load(preset.read_text())["data"]["init_args"]
        assert args.get("hflip") is False, preset.name


def test_flip_label_map_swaps_the_labels_of_flipped_clips(tree):
    dm = VideoDataModule(
        root=str(tree), num_frames=4, frame_size=48, hflip=True, flip_label_map={"dir000": "dir180"}
    )
    torch.manual_seed(0)
    x = torch.randint(0, 256, (16, 4, 3, 48, 48), dtype=torch.uint8)
    y = torch.tensor([0, 1, 2, 3] * 4)
    out, labels = dm.transform_batch(x, y, train=True)
    plain = dm.transform(x, train=False)
    flipped = torch.tensor([torch.equal(o, p.flip(-1)) for o, p in zip(out, plain, strict=True)])
    assert 0 < int(flipped.sum()) < 16  # some clips flipped, some not
    swap = torch.tensor([2, 1, 0, 3])  # dir000 <-> dir180; dir090 and dir270 stay
    assert torch.equal(labels, torch.where(flipped, swap[y], y))


def test_flip_label_map_is_checked(tree):
    with pytest.raises(ValueError, match="give each class one partner") as info:
        VideoDataModule(root=str(tree), flip_label_map={"a": "b", "c": "a"})
    assert info.value.field == "flip_label_map"
    with pytest.raises(ValueError, match="flip_label_map must map class names"):
        VideoDataModule(root=str(tree), flip_label_map={"a": 1})
    dm = VideoDataModule(root=str(tree), hflip=True, flip_label_map={"dir000": "left"})
    with pytest.raises(ValueError, match="flip_label_map names 'left', not among the classes dir000, dir090"):
        dm.setup("fit")


def test_listed_videos_that_are_missing_and_empty_class_folders_are_reported(tmp_path):
    root = tmp_path / "videos"
    write_video_tree(root, num_classes=2, videos_per_class=3, num_frames=8, frame_size=32, progress=False)
    (root / "empty_class").mkdir()
    dm = VideoDataModule(root=str(root), num_frames=4, frame_size=32, format="folders")
    dm.setup("fit")
    assert [(i["path"], i["split"]) for i in dm.skipped] == [(str(root / "empty_class"), "index")]
    assert "class folder holds no video files" in dm.skipped[0]["reason"]

    listed = sorted(p.relative_to(root).as_posix() for p in root.glob("dir*/*.mp4"))
    (root / "train.txt").write_text("".join(f"{p} {p.split('/')[0]}\n" for p in [*listed, "dir000/gone.mp4"]))
    dm = VideoDataModule(root=str(root), num_frames=4, frame_size=32, format="list")
    dm.setup("fit")
    assert dm.skipped == [
        {
            "path": str(root / "dir000/gone.mp4"),
            "split": "index",
            "reason": "missing: not found (train.txt line 7)",
        }
    ]


def test_a_class_without_a_usable_training_video_is_refused(damaged_tree):
    root, victim = damaged_tree
    for other in sorted(victim.parent.glob("*.mp4"))[1:]:
        damage_first_keyframe(other)
    dm = VideoDataModule(root=str(root), num_frames=4, frame_size=32, batch_size=2)
    with (
        pytest.warns(UserWarning, match="skipped"),
        pytest.raises(ValueError, match="'dir000' of .* no usable"),
    ):
        dm.setup("fit")
    assert len(dm.skipped) == 3  # the train videos of dir000, each with its reason


def test_describe_and_preprocessing_say_what_was_resolved(tmp_path):
    root = tmp_path / "videos"
    write_video_tree(root, num_classes=2, videos_per_class=4, num_frames=8, frame_size=32, progress=False)
    (root / "empty").mkdir()
    dm = VideoDataModule(
        root=str(root),
        num_frames=4,
        frame_size=[32, 48],
        sampling="dense",
        stride=2,
        clips_per_video=3,
        hflip=True,
        flip_label_map={"dir000": "dir180"},
        crop_scale=0.8,
    )
    dm.setup("fit")
    info = dm.describe()
    json.dumps(info)  # JSON-serialisable for summary.json
    assert (
        info["root"] == str(root) and info["format"] == "folders" and info["classes"] == ["dir000", "dir180"]
    )
    assert info["videos_per_class"] == {
        "train": {"dir000": 3, "dir180": 3},
        "val": {"dir000": 1, "dir180": 1},
    }
    assert info["skipped"] == 1 and info["samples"] == {"train": 6, "val": 2}
    assert info["clips"] == {
        "sampling": "dense",
        "num_frames": 4,
        "frame_size": [32, 48],
        "stride": 2,
        "clips_per_video": 3,
    }
    assert info["augmentations"] == {
        "hflip": True,
        "flip_label_map": {"dir000": "dir180", "dir180": "dir000"},
        "crop_scale": 0.8,
    }
    assert info["cache"] is None and info["check_decode"] is True
    pre = dm.preprocessing()
    json.dumps(pre)
    assert pre["frame_size"] == [32, 48] and pre["num_frames"] == 4 and pre["stride"] == 2
    assert pre["mean"] == list(IMAGENET_MEAN) and pre["class_names"] == ["dir000", "dir180"]


def test_files_that_decoded_are_not_decoded_again_until_they_change(tmp_path, monkeypatch):
    import os

    from cnnlstm.data import video

    root = tmp_path / "videos"
    write_video_tree(root, num_classes=2, videos_per_class=3, num_frames=8, frame_size=32, progress=False)
    decoded = []
    real = video.check_decodes

    def counting(path, info=None):
        decoded.append(Path(path).name)
        return real(path, info)

    monkeypatch.setattr(video, "check_decodes", counting)
    kw = dict(root=str(root), num_frames=4, frame_size=32, cache_dir=str(tmp_path / "cache"))
    VideoDataModule(**kw).setup("fit")
    assert len(decoded) == 6 and (tmp_path / "cache" / "decoded.json").is_file()
    decoded.clear()
    VideoDataModule(**kw).setup("fit")
    assert decoded == []  # remembered
    changed = sorted(root.glob("dir000/*.mp4"))[0]
    os.utime(changed, ns=(1, 1))
    VideoDataModule(**kw).setup("fit")
    assert decoded == [changed.name]  # a changed file is decoded again


def _frame_tree(root: Path) -> Path:
    """``root/<class>/<video>/img_N.png``, 2 classes x 3 videos x 6 frames; one image is garbage."""
    from PIL import Image

    for c in ("a", "b"):
        for v in range(3):
            folder = root / c / f"v{v}"
            folder.mkdir(parents=True)
            for f in range(6):
                Image.new("RGB", (16, 16), (40 * f, 0, 0)).save(folder / f"img_{f:05d}.png")
    bad = root / "a" / "v0" / "img_00000.png"
    bad.write_bytes(b"not an image")
    return bad.parent


def test_a_frame_folder_with_an_unreadable_image_is_skipped_or_replaced(tmp_path):
    bad = _frame_tree(tmp_path / "frames")
    kw = dict(root=str(tmp_path / "frames"), format="frames", num_frames=4, frame_size=16, batch_size=2)
    dm = VideoDataModule(**kw)
    with pytest.warns(UserWarning, match="skipped"):
        dm.setup("fit")
    assert [i["path"] for i in dm.skipped] == [str(bad)] and "cannot read image" in dm.skipped[0]["reason"]
    dm = VideoDataModule(**kw, check_decode=False)
    dm.setup("fit")
    with pytest.warns(UserWarning, match="cannot read image img_00000.png"):
        assert _loaded(dm) == 6
    assert [i["path"] for i in dm.skipped] == [str(bad)]


def test_prediction_decodes_every_file_first(damaged_tree):
    root, victim = damaged_tree
    dm = VideoDataModule(root=str(root), num_frames=4, frame_size=32, check_decode=False)
    with pytest.warns(UserWarning, match="skipped"):
        dm.setup("predict")
    assert [(i["path"], i["split"]) for i in dm.skipped] == [(str(victim), "predict")]
    assert len(dm.predict_dataset) == 7
