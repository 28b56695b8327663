"""`cnnlstm` on real H.264 trees: broken files reported, another tree evaluated, data check."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("av")

from cnnlstm.cli import main  # noqa: E402
from cnnlstm.data.synthetic import write_video_tree  # noqa: E402

# Each test runs the real command end to end (training included): several seconds each.
pytestmark = pytest.mark.slow

SMALL = [
    "--model.init_args.name=lrcn_tiny",
    "--model.init_args.model_kwargs={}",
    "--data.num_frames=4",
    "--data.frame_size=32",
    "--data.batch_size=4",
    "--data.num_workers=0",
    "--data.init_args.hflip=false",
    "--quiet",
]


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path, monkeypatch):
    """The default cache folder (frame caches, files known to decode) inside the test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("trees")
    write_video_tree(
        base / "train",
        num_classes=4,
        videos_per_class=4,
        num_frames=12,
        frame_size=48,
        include_broken=True,
        progress=False,
    )
    write_video_tree(
        base / "other",
        num_classes=4,
        videos_per_class=2,
        num_frames=12,
        frame_size=48,
        seed=1,
        progress=False,
    )
    shutil.rmtree(base / "other" / "dir270")  # the second tree lacks a class: labels must follow the model's
    return base


def test_fit_reports_broken_files_then_test_and_predict_on_another_tree(trees, tmp_path, capsys):
    root = tmp_path / "run"
    assert (
        main(
            [
                "fit",
                "--config",
                "video-lrcn",
                f"--data.root={trees / 'train'}",
                "--trainer.max_epochs=1",
                f"--trainer.default_root_dir={root}",
                *SMALL,
            ]
        )
        == 0
    )
    summary = json.loads((root / "summary.json").read_text())
    reasons = {item["path"].rsplit("/", 1)[-1]: item["reason"] for item in summary["skipped"]}
    assert {"broken_empty.mp4", "broken_random.mp4"} <= set(reasons)
    assert "empty" in reasons["broken_empty.mp4"] and summary["skipped_files"] == len(summary["skipped"])
    assert summary["fit_metrics"]["val/acc"] >= 0

    # Evaluate on the second tree with the run's own config: same clip settings, other root.
    config = root / "config.yaml"
    assert (
        main(
            [
                "test",
                "--config",
                str(config),
                f"--data.root={trees / 'other'}",
                "--ckpt_path",
                "best",
                "--quiet",
            ]
        )
        == 0
    )
    metrics = json.loads((root / "test_metrics.json").read_text())
    assert 0 <= metrics["test/acc"] <= 1
    summary = json.loads((root / "summary.json").read_text())
    assert len(summary["test_confusion_matrix"]) == 4  # the model's 4 classes, though the tree has 3
    held_out = summary["test_data"]
    assert held_out["samples"] == 6 and held_out["overlap"] == {"train": 0, "val": 0}
    capsys.readouterr()

    # Without --data.root the run's own tree is tested: a class tree has no test split, so that
    # is the training videos. Refused, and the held-out result stays.
    assert main(["test", "--config", str(config), "--ckpt_path", "best", "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "were used to train the run" in err and "--allow_train_overlap" in err and "--data.root" in err
    kept = json.loads((root / "summary.json").read_text())
    assert kept["test_metrics"] == summary["test_metrics"] and len(kept["results"]) == 1

    # Allowed on request: scored, marked, and kept beside the held-out result, not over it.
    assert (
        main(["test", "--config", str(config), "--ckpt_path", "best", "--allow_train_overlap", "--quiet"])
        == 0
    )
    assert "WARNING" in capsys.readouterr().out
    marked = json.loads((root / "summary.json").read_text())
    results = sorted(marked["results"].values(), key=lambda r: r["trained_on_samples"])
    assert (
        len(results) == 2 and results[0]["trained_on_samples"] == 0 and results[1]["trained_on_samples"] > 0
    )
    assert results[0]["metrics"] == summary["test_metrics"]
    assert results[0]["data_fingerprint"] != results[1]["data_fingerprint"]
    assert len(list((root / "results").glob("test-*.json"))) == 2

    assert (
        main(
            [
                "predict",
                "--config",
                str(config),
                f"--data.root={trees / 'other'}",
                "--ckpt_path",
                "last",
                "--quiet",
            ]
        )
        == 0
    )
    lines = (root / "predictions.csv").read_text().splitlines()
    assert len(lines) == 1 + 6
    assert lines[0] == "index,path,pred,pred_name,prob,target,p_dir000,p_dir090,p_dir180,p_dir270"
    assert all(line.split(",")[3].startswith("dir") for line in lines[1:])  # class names, not indices
    assert all(line.split(",")[1].endswith(".mp4") for line in lines[1:])

    # One file, with a sliding-window timeline.
    video = sorted((trees / "other" / "dir090").glob("*.mp4"))[0]
    assert (
        main(
            [
                "predict",
                "--config",
                str(config),
                f"--data.root={video}",
                "--data.timeline_step=2",
                "--ckpt_path",
                "last",
                "--quiet",
            ]
        )
        == 0
    )
    lines = (root / "predictions.csv").read_text().splitlines()
    assert len(lines) == 2 and "target" not in lines[0] and lines[1].split(",")[1] == str(video)
    row = lines[1].split(",")
    assert f"{video}: {row[3]} (probability {float(row[4]):.3f})" in capsys.readouterr().out
    timeline = json.loads((root / "timeline.json").read_text())
    assert [w["start_frame"] for w in timeline] == [0, 2, 4, 6, 8]  # 12 frames, 4-frame windows every 2
    assert all(w["end_s"] > w["start_s"] >= 0 and w["label"].startswith("dir") for w in timeline)


def test_data_check_lists_unusable_files_without_training(trees, capsys):
    assert (
        main(
            [
                "data",
                "check",
                "--config",
                "video-conv3d",
                f"--data.root={trees / 'train'}",
                "--data.num_frames=8",
                "--data.stride=1",
                "--data.pad_short=false",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "usable samples: train" in out
    assert "broken_empty.mp4: empty file" in out and "broken_short.mp4: too short: 3 frames" in out


def test_data_check_reports_even_when_nothing_is_usable(trees, capsys):
    # 8 frames 2 apart need 15; every video has 12: all training videos are too short, all listed.
    code = main(
        [
            "data",
            "check",
            "--config",
            "video-conv3d",
            f"--data.root={trees / 'train'}",
            "--data.num_frames=8",
            "--data.pad_short=false",
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out.count("too short") >= 12 and "broken_empty.mp4: empty file" in captured.out
    assert "no usable video in the train split" in captured.err


def test_missing_root_is_one_line(tmp_path, capsys):
    code = main(["fit", "--config", "video-lrcn", f"--data.root={tmp_path / 'nowhere'}", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "does not exist; point it at your videos" in err


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A tree with one video whose container probes fine but whose first keyframe is damaged."""
    from tests.data.test_video import damage_first_keyframe

    root = tmp_path_factory.mktemp("damaged") / "videos"
    write_video_tree(root, num_classes=2, videos_per_class=4, num_frames=12, frame_size=48, progress=False)
    return root, damage_first_keyframe(sorted((root / "dir000").glob("*.mp4"))[0])


def test_data_check_decodes_unless_told_to_stay_fast(damaged, capsys):
    root, victim = damaged
    check = [
        "data",
        "check",
        "--config",
        "video-lrcn",
        f"--data.root={root}",
        "--data.num_frames=4",
        "--quiet",
    ]
    assert main(check) == 0
    out = capsys.readouterr().out
    # train (or val) and test (a class-folder tree is tested whole): reported in each split it was in
    assert "skipped: 2" in out and out.count(f"{victim}: cannot decode frame index 0") == 2
    assert main([*check, "--data.check_decode=false"]) == 0
    assert "skipped: 0" in capsys.readouterr().out  # only probed: the container is fine


@pytest.mark.parametrize("cache", [False, True])
def test_fit_goes_on_past_a_damaged_video_and_counts_it(damaged, tmp_path, cache):
    root, victim = damaged
    run = tmp_path / "run"
    extra = ["--data.cache_frames=8", f"--data.cache_dir={tmp_path / 'cache'}"] if cache else []
    args = ["fit", "--config", "video-lrcn", f"--data.root={root}", "--trainer.max_epochs=1"]
    args += [f"--trainer.default_root_dir={run}", "--data.check_decode=false", *extra, *SMALL]
    import warnings

    with warnings.catch_warnings(record=True) as caught:  # not pytest.warns: it re-raises the CLI's own
        warnings.simplefilter("always")
        assert main(args) == 0
    assert any(str(victim) in str(w.message) for w in caught) or cache  # the loader warns; the cache reports
    summary = json.loads((run / "summary.json").read_text())
    assert summary["skipped_files"] == 1 and summary["skipped"][0]["path"] == str(victim)
    assert "cannot decode frame index" in summary["skipped"][0]["reason"]
    if cache:
        assert not [p for p in (tmp_path / "cache").iterdir() if ".tmp-" in p.name]
