"""``cnnlstm.data.video_layouts`` on fake dataset trees: empty files stand in for videos (none is decoded)."""

from __future__ import annotations

import doctest
import os
import pkgutil
from importlib import import_module
from pathlib import Path

import pytest

from cnnlstm.data import video_layouts
from cnnlstm.data.video_layouts import (
    FORMATS,
    LAYOUTS,
    VIDEO_EXTENSIONS,
    DatasetLayoutError,
    VideoIndex,
    VideoSample,
    detect_format,
    index_videos,
    list_video_files,
)

_ANY = object()


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(samples: list[VideoSample]) -> list[str]:
    return [s.path.name for s in samples]


def layout_error(match: str, call, *args, field=_ANY, **kwargs) -> str:
    """Run ``call``; it must raise a one-line DatasetLayoutError matching ``match``.

    The message speaks of values, never of command-line flags; ``field``, when given, is the
    argument the error must name.
    """
    with pytest.raises(DatasetLayoutError, match=match) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert "--data." not in message
    assert isinstance(info.value, ValueError)
    if field is not _ANY:
        assert info.value.field == field, message
    return message


def layout_modules() -> list:
    """Every public module of the ``video_layouts`` package."""
    found = pkgutil.iter_modules(video_layouts.__path__)
    return [import_module(f"{video_layouts.__name__}.{m.name}") for m in found if not m.name.startswith("_")]


def test_docstring_examples_run():
    for module in [video_layouts, *layout_modules()]:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_every_layout_module_is_in_the_table():
    modules = layout_modules()
    assert sorted(m.__name__ for m in modules) == sorted(m.__name__ for m in LAYOUTS.values())
    assert FORMATS == ("folders", "list", "ucf101", "hmdb51", "kinetics", "frames")
    for name, module in LAYOUTS.items():
        assert name == module.NAME
        assert callable(module.detect) and callable(module.index)
        assert isinstance(module.USES_LIST_FILE, bool)
    assert [name for name, m in LAYOUTS.items() if m.USES_LIST_FILE] == ["list", "kinetics"]


def test_old_module_reexports_the_public_names():
    import importlib
    import sys

    sys.modules.pop("cnnlstm.data.video_index", None)
    with pytest.warns(DeprecationWarning, match="moved to cnnlstm.data.video_layouts"):
        video_index = importlib.import_module("cnnlstm.data.video_index")
    for name in video_index.__all__:
        assert getattr(video_index, name) is getattr(video_layouts, name)


# ------------------------------------------------------------------------------------------ folders


def make_folders(root: Path, counts: dict[str, int]) -> None:
    for cls, count in counts.items():
        for i in range(count):
            ext = VIDEO_EXTENSIONS[i % len(VIDEO_EXTENSIONS)]
            touch(root, f"{cls}/sub{i % 2}/clip{i:03d}{ext}")


def test_folders_classes_labels_and_ignored_files(tmp_path):
    touch(tmp_path, "walk/a.mp4", "walk/deep/er/b.AVI", "run/c.mkv", "run/notes.txt", "run/._c.mkv")
    touch(tmp_path, "empty_class/readme.md", ".hidden/x.mp4", "stray.mp4")
    assert detect_format(tmp_path) == "folders"
    index = index_videos(tmp_path, val_fraction=0.5)
    assert index.format == "folders"
    assert index.class_names == ["run", "walk"] and index.num_classes == 2
    assert set(index.splits) == {"train", "val"}  # no test split for a single tree
    everything = {s.path.relative_to(tmp_path).as_posix(): s.label for s in index.all_samples()}
    assert everything == {"run/c.mkv": 0, "walk/a.mp4": 1, "walk/deep/er/b.AVI": 1}
    assert all(s.path.is_absolute() for s in index.all_samples())
    assert index.missing == []
    assert "folders: 2 classes, train " in index.summary()


def test_stratified_split_is_seeded_disjoint_and_keeps_every_class_in_train(tmp_path):
    counts = {"a": 20, "b": 7, "c": 2, "d": 1}
    make_folders(tmp_path, counts)
    first = index_videos(tmp_path, format="folders", val_fraction=0.25, seed=3)
    again = index_videos(tmp_path, format="folders", val_fraction=0.25, seed=3)
    assert first == again
    train, val = first.splits["train"], first.splits["val"]
    assert not {s.path for s in train} & {s.path for s in val}
    assert len(train) + len(val) == sum(counts.values())
    assert train == sorted(train, key=lambda s: str(s.path)) and val == sorted(val, key=lambda s: str(s.path))
    val_counts = {name: sum(s.label == i for s in val) for i, name in enumerate(first.class_names)}
    assert val_counts == {"a": 5, "b": 2, "c": 1, "d": 0}  # round(n * 0.25), >= 1 when n >= 2, never all
    assert {s.label for s in train} == set(range(4))
    other = index_videos(tmp_path, format="folders", val_fraction=0.25, seed=4)
    assert {s.path for s in other.splits["val"]} != {s.path for s in val}
    assert {s.path for s in other.all_samples()} == {s.path for s in first.all_samples()}


def test_split_of_a_class_does_not_depend_on_other_classes(tmp_path):
    make_folders(tmp_path / "one", {"a": 10, "b": 10})
    make_folders(tmp_path / "two", {"a": 10, "b": 10, "aa": 5})
    val_one = [s.path.relative_to(tmp_path / "one") for s in index_videos(tmp_path / "one").splits["val"]]
    val_two = [s.path.relative_to(tmp_path / "two") for s in index_videos(tmp_path / "two").splits["val"]]
    assert [p for p in val_two if p.parts[0] != "aa"] == val_one


def test_val_fraction_zero_keeps_all_in_train(tmp_path):
    make_folders(tmp_path, {"a": 5, "b": 5})
    index = index_videos(tmp_path, val_fraction=0.0)
    assert list(index.splits) == ["train"] and len(index.splits["train"]) == 10


def test_folders_with_split_subfolders(tmp_path):
    touch(tmp_path, "train/cat/1.mp4", "train/cat/2.mp4", "train/dog/3.mp4", "train/dog/4.mp4")
    touch(tmp_path, "validation/cat/5.mp4", "test/dog/6.mp4", "test/bird/7.mp4")
    index = index_videos(tmp_path)
    assert index.class_names == ["bird", "cat", "dog"]
    assert names(index.splits["train"]) == ["1.mp4", "2.mp4", "3.mp4", "4.mp4"]
    assert names(index.splits["val"]) == ["5.mp4"]
    assert [(s.path.name, s.label) for s in index.splits["test"]] == [("7.mp4", 0), ("6.mp4", 2)]
    touch(tmp_path, "val/cat/8.mp4")
    layout_error(r"both val/ and validation/", index_videos, tmp_path)


def test_folders_split_subfolders_without_val_carve_it(tmp_path):
    touch(tmp_path, "train/cat/1.mp4", "train/cat/2.mp4", "test/cat/3.mp4")
    index = index_videos(tmp_path, val_fraction=0.5)
    assert [len(index.splits[s]) for s in ("train", "val", "test")] == [1, 1, 1]


# ------------------------------------------------------------------------------------------- frames


def test_frames(tmp_path):
    for cls, vids in {"jump": ["v1", "v2", "v3"], "sit": ["v4"]}.items():
        for vid in vids:
            touch(tmp_path, f"{cls}/{vid}/img_00001.jpg", f"{cls}/{vid}/img_00002.jpg")
    touch(tmp_path, "sit/v5/img_00001.PNG", "sit/not_frames/notes.txt", "sit/loose.jpg", "nothing/x/y.txt")
    assert detect_format(tmp_path) == "frames"
    index = index_videos(tmp_path, val_fraction=0.34, seed=1)
    assert index.format == "frames" and index.class_names == ["jump", "sit"]
    samples = {s.path.relative_to(tmp_path).as_posix(): s.label for s in index.all_samples()}
    assert samples == {"jump/v1": 0, "jump/v2": 0, "jump/v3": 0, "sit/v4": 1, "sit/v5": 1}
    assert all(s.path.is_dir() for s in index.all_samples())
    assert len(index.splits["val"]) == 2 and {s.label for s in index.splits["train"]} == {0, 1}


def test_frames_on_a_video_tree_says_what_it_expects(tmp_path):
    touch(tmp_path, "cls/a.mp4")
    message = layout_error(
        r"no class folders with folders of images", index_videos, tmp_path, format="frames"
    )
    assert "<class>/<video_id>/<frame>.jpg" in message


# --------------------------------------------------------------------------------------------- list


def test_list_file_with_class_names_comments_and_missing(tmp_path):
    touch(tmp_path, "v/a.mp4", "v/b.mp4", "v/c.mp4", "v/d.mp4", "my clips/e f.mp4")
    absolute = tmp_path / "v" / "d.mp4"
    write(
        tmp_path / "list.txt",
        "# path label\n\nv/a.mp4 run\n  v/b.mp4\twalk  \nv/c.mp4 run\n"
        f"{absolute} walk\nmy clips/e f.mp4 run\nv/gone.mp4 walk\n",
    )
    assert detect_format(tmp_path) == "list"
    index = index_videos(tmp_path, val_fraction=0.5)
    assert index.format == "list" and index.class_names == ["run", "walk"]
    labels = {s.path.relative_to(tmp_path).as_posix(): s.label for s in index.all_samples()}
    assert labels == {"v/a.mp4": 0, "v/b.mp4": 1, "v/c.mp4": 0, "v/d.mp4": 1, "my clips/e f.mp4": 0}
    assert set(index.splits) == {"train", "val"}
    assert index.missing == [("v/gone.mp4", "not found (list.txt line 8)")]


def test_list_file_with_int_labels_and_unlabelled_lines(tmp_path):
    touch(tmp_path, "a.mp4", "b.mp4", "c.mp4", "with space.mp4")
    write(tmp_path / "list.txt", "a.mp4 0\nb.mp4 2\nc.mp4\nwith space.mp4\n")
    index = index_videos(tmp_path, val_fraction=0.0)
    assert index.class_names == ["0", "1", "2"]
    assert [(s.path.name, s.label) for s in index.splits["train"]] == [
        ("a.mp4", 0),
        ("b.mp4", 2),
        ("c.mp4", -1),
        ("with space.mp4", -1),
    ]


def test_list_with_classes_file_mixes_ints_and_names(tmp_path):
    touch(tmp_path, "a.mp4", "b.mp4")
    write(tmp_path / "classes.txt", "zebra\nant\n")
    write(tmp_path / "train.txt", "a.mp4 1\nb.mp4 zebra\n")
    index = index_videos(tmp_path, val_fraction=0.0)
    assert index.class_names == ["zebra", "ant"]
    assert [(s.path.name, s.label) for s in index.splits["train"]] == [("a.mp4", 1), ("b.mp4", 0)]


def test_list_split_files(tmp_path):
    touch(tmp_path, *(f"clips/{i}.mp4" for i in range(8)))
    write(tmp_path / "train.txt", "clips/0.mp4 a\nclips/1.mp4 b\nclips/2.mp4 a\n")
    write(tmp_path / "val.txt", "clips/3.mp4 a\nclips/4.mp4 b\n")
    write(tmp_path / "test.txt", "clips/5.mp4 c\nclips/6.mp4\n")
    write(tmp_path / "list.txt", "clips/7.mp4 a\n")  # split files win over list.txt
    index = index_videos(tmp_path)
    assert index.class_names == ["a", "b", "c"]
    assert names(index.splits["train"]) == ["0.mp4", "1.mp4", "2.mp4"]
    assert names(index.splits["val"]) == ["3.mp4", "4.mp4"]
    assert [(s.path.name, s.label) for s in index.splits["test"]] == [("5.mp4", 2), ("6.mp4", -1)]
    assert "clips/7.mp4" not in {s.path.relative_to(tmp_path).as_posix() for s in index.all_samples()}


def test_list_file_argument(tmp_path):
    touch(tmp_path, "data/a.mp4", "data/b.mp4")
    write(tmp_path / "data" / "mine.txt", "a.mp4 x\nb.mp4 y\n")
    for list_file in ("mine.txt", str(tmp_path / "data" / "mine.txt")):
        index = index_videos(tmp_path / "data", list_file=list_file, val_fraction=0.0)
        assert index.format == "list" and index.class_names == ["x", "y"]
        assert names(index.splits["train"]) == ["a.mp4", "b.mp4"]
    layout_error(
        r"list file 'nope.txt' not found \(looked in ",
        index_videos,
        tmp_path,
        list_file="nope.txt",
        field="list_file",
    )


def test_list_bad_labels_name_file_and_line(tmp_path):
    touch(tmp_path, "a.mp4", "b.mp4")
    write(tmp_path / "list.txt", "a.mp4 run\nb.mp4 3\n")
    message = layout_error(
        r"list.txt line 2: label '3' mixes class indices and class names", index_videos, tmp_path
    )
    assert "classes.txt" in message
    write(tmp_path / "list.txt", "a.mp4 1\n\nb.mp4 -2\n")
    layout_error(r"list.txt line 3: label -2 is negative", index_videos, tmp_path)
    write(tmp_path / "classes.txt", "run\nwalk\n")
    write(tmp_path / "list.txt", "a.mp4 walk\nb.mp4 jump\n")
    layout_error(r"list.txt line 2: label 'jump' is not a class in .*classes.txt", index_videos, tmp_path)
    write(tmp_path / "list.txt", "# header\na.mp4 2\n")
    layout_error(r"list.txt line 2: label 2 is not a class index 0..1", index_videos, tmp_path)
    write(tmp_path / "classes.txt", "run\nrun\n")
    layout_error(r"classes.txt line 2: class 'run' is listed twice", index_videos, tmp_path)


# ------------------------------------------------------------------------------------------- UCF101

UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "HandstandPushups"]


def make_ucf(root: Path, *, list_dir: str = "ucfTrainTestlist", video_dir: str = "UCF-101") -> None:
    write(root / list_dir / "classInd.txt", "".join(f"{i} {c}\r\n" for i, c in enumerate(UCF_CLASSES, 1)))
    for split in (1, 2):
        train, test = [], []
        for i, cls in enumerate(UCF_CLASSES, 1):
            file_cls = "HandStandPushups" if cls == "HandstandPushups" else cls
            for g in range(1, 7):
                for c in (1, 2):
                    rel = f"{cls}/v_{file_cls}_g{g:02d}_c{c:02d}.avi"
                    touch(root / video_dir if video_dir else root, rel)
                    if (g <= 2) == (split == 1):
                        test.append(rel)
                    else:
                        train.append(f"{rel} {i}")
        write(root / list_dir / f"trainlist0{split}.txt", "\r\n".join(train) + "\r\n")
        write(root / list_dir / f"testlist0{split}.txt", "\r\n".join(test) + "\r\n")


def test_ucf101(tmp_path):
    make_ucf(tmp_path)
    assert detect_format(tmp_path) == "ucf101"
    index = index_videos(tmp_path, val_fraction=0.25)
    assert index.format == "ucf101" and index.class_names == UCF_CLASSES
    assert len(index.splits["test"]) == 12
    assert len(index.splits["train"]) + len(index.splits["val"]) == 24
    test = {s.path.relative_to(tmp_path).as_posix(): s.label for s in index.splits["test"]}
    assert test["UCF-101/HandstandPushups/v_HandStandPushups_g01_c01.avi"] == 2  # label from the folder
    assert test["UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c02.avi"] == 0  # labels are 0-based
    assert all(s.path.exists() for s in index.all_samples())
    # val is carved by group: clips of one group never sit in both train and val
    group = lambda s: s.path.name.split("_g")[1][:2]  # noqa: E731
    train_groups = {(s.label, group(s)) for s in index.splits["train"]}
    assert not train_groups & {(s.label, group(s)) for s in index.splits["val"]}
    assert {s.label for s in index.splits["val"]} == {0, 1, 2}
    split2 = index_videos(tmp_path, split=2, val_fraction=0.0)
    assert len(split2.splits["test"]) == 24 and len(split2.splits["train"]) == 12
    assert "val" not in split2.splits


def test_ucf101_case_mismatch_in_list_folder_names_and_flat_layout(tmp_path):
    make_ucf(tmp_path, list_dir="", video_dir="")
    testlist = tmp_path / "testlist01.txt"
    write(testlist, testlist.read_text().replace("HandstandPushups/", "HandStandPushups/"))
    write(testlist, testlist.read_text() + "APPLYEYEMAKEUP/v_ApplyEyeMakeup_g01_c01.avi\r\n")
    index = index_videos(tmp_path, format="ucf101", val_fraction=0.0)
    test = [(s.path.relative_to(tmp_path).as_posix(), s.label) for s in index.splits["test"]]
    assert ("HandstandPushups/v_HandStandPushups_g01_c01.avi", 2) in test  # the folder on disk
    assert test.count(("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", 0)) == 1  # listed twice: once
    assert [why for _, why in index.left_out] == [
        f"the same file as {tmp_path}/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi (listed twice, or a link); indexed once"
    ]
    assert index.missing == []


def test_ucf101_missing_videos_and_errors(tmp_path):
    make_ucf(tmp_path)
    (tmp_path / "UCF-101/Archery/v_Archery_g01_c01.avi").unlink()
    index = index_videos(tmp_path)
    assert len(index.missing) == 1
    what, why = index.missing[0]
    assert what == "Archery/v_Archery_g01_c01.avi" and "testlist01.txt line" in why
    layout_error(
        r"UCF101 split 3 is not available: .* no trainlist03.txt; available splits: 1, 2$",
        index_videos,
        tmp_path,
        split=3,
        field="split",
    )
    testlist = tmp_path / "ucfTrainTestlist/testlist01.txt"
    write(testlist, "Archery/v_Archery_g01_c02.avi\nSkiing/v_Skiing_g01_c01.avi\n")
    layout_error(r"testlist01.txt line 2: class folder 'Skiing' .* not in classInd", index_videos, tmp_path)
    write(tmp_path / "ucfTrainTestlist/trainlist01.txt", "Archery/v_Archery_g03_c01.avi 4\n")
    layout_error(r"trainlist01.txt line 1: label '4' is not a class index 1..3", index_videos, tmp_path)
    write(tmp_path / "ucfTrainTestlist/classInd.txt", "1 A\n3 B\n")
    layout_error(r"classInd.txt: class indices must run 1..N", index_videos, tmp_path)


# ------------------------------------------------------------------------------------------- HMDB51


def make_hmdb(root: Path, split_dir: str = "testTrainMulti_7030_splits") -> None:
    for cls in ("brush_hair", "cartwheel"):
        for split in (1, 2):
            lines = []
            for i, status in enumerate((1, 1, 1, 2, 2, 0)):
                video = f"{cls}_clip_{i}.avi"
                touch(root, f"{cls}/{video}")
                lines.append(f"{video} {status if split == 1 else {1: 2, 2: 1, 0: 0}[status]} ")
            write(root / split_dir / f"{cls}_test_split{split}.txt", "\n".join(lines) + "\n")


def test_hmdb51_ids_0_1_2(tmp_path):
    make_hmdb(tmp_path)
    assert detect_format(tmp_path) == "hmdb51"
    index = index_videos(tmp_path, val_fraction=0.0)
    assert index.format == "hmdb51" and index.class_names == ["brush_hair", "cartwheel"]
    clips = lambda *ids: [f"{c}_clip_{i}.avi" for c in ("brush_hair", "cartwheel") for i in ids]  # noqa: E731
    assert names(index.splits["train"]) == clips(0, 1, 2)
    assert names(index.splits["test"]) == clips(3, 4)
    assert [s.label for s in index.splits["test"]] == [0, 0, 1, 1]
    assert "clip_5" not in " ".join(names(index.all_samples()))  # id 0: unused
    split2 = index_videos(tmp_path, split=2, val_fraction=0.5)
    assert len(split2.splits["test"]) == 6 and len(split2.splits["train"]) + len(split2.splits["val"]) == 4


def test_hmdb51_split_files_in_root_missing_videos_and_errors(tmp_path):
    make_hmdb(tmp_path, split_dir="")
    (tmp_path / "cartwheel/cartwheel_clip_0.avi").unlink()
    index = index_videos(tmp_path, format="hmdb51")
    why = f"not found under {tmp_path} (cartwheel_test_split1.txt line 1)"
    assert index.missing == [("cartwheel/cartwheel_clip_0.avi", why)]
    layout_error(
        r"HMDB51 split 3 is not available: .*available splits: 1, 2$",
        index_videos,
        tmp_path,
        split=3,
        field="split",
    )
    write(tmp_path / "cartwheel_test_split1.txt", "cartwheel_clip_1.avi 1\ncartwheel_clip_2.avi 3\n")
    layout_error(r"cartwheel_test_split1.txt line 2: expected '<video> <0\|1\|2>'", index_videos, tmp_path)


# ----------------------------------------------------------------------------------------- Kinetics

KINETICS_CSV = (
    "label,youtube_id,time_start,time_end,split,is_cc\n"
    "abseiling,aaa,0,10,train,0\n"
    '"air drumming",bbb,5,15,train,0\n'
    "abseiling,ccc,100,110,train,0\n"
    "air drumming,ddd,20,30,validate,0\n"
    "zumba,eee,1,11,val,0\n"
    ",fff,0,10,test,0\n"
    "abseiling,ggg,0,10,train,0\n"
)


def test_kinetics_both_path_patterns_extensions_and_missing(tmp_path):
    write(tmp_path / "kinetics400.csv", KINETICS_CSV)
    touch(tmp_path, "train/abseiling/aaa_000000_000010.mp4")  # <split>/<label>/
    touch(tmp_path, "train/air_drumming/bbb_000005_000015.mkv")  # label with "_" for " ", other extension
    touch(tmp_path, "train/ccc_000100_000110.mp4")  # <split>/ flat
    touch(tmp_path, "validate/ddd_000020_000030.webm")  # "validate" folder
    touch(tmp_path, "val/zumba/eee_000001_000011.mp4")
    touch(tmp_path, "test/fff_000000_000010.mp4")
    assert detect_format(tmp_path) == "kinetics"
    index = index_videos(tmp_path)
    assert index.format == "kinetics"
    assert index.class_names == ["abseiling", "air drumming", "zumba"]

    def rel(split: str) -> list[tuple[str, int]]:
        return [(s.path.relative_to(tmp_path).as_posix(), s.label) for s in index.splits[split]]

    assert rel("train") == [
        ("train/abseiling/aaa_000000_000010.mp4", 0),
        ("train/air_drumming/bbb_000005_000015.mkv", 1),
        ("train/ccc_000100_000110.mp4", 0),
    ]
    assert rel("val") == [("val/zumba/eee_000001_000011.mp4", 2), ("validate/ddd_000020_000030.webm", 1)]
    assert rel("test") == [("test/fff_000000_000010.mp4", -1)]
    why = f"not found under {tmp_path} (kinetics400.csv line 8)"
    assert index.missing == [("train/abseiling/ggg_000000_000010.mp4", why)]
    assert index.summary() == "kinetics: 3 classes, train 3, val 2, test 1, 1 listed videos missing"


def test_kinetics_per_split_csvs_in_annotations_and_list_file(tmp_path):
    header = "label,youtube_id,time_start,time_end\n"
    write(tmp_path / "annotations/train.csv", header + "swim,x1,0,10\nswim,x2,0,10\n")
    write(tmp_path / "annotations/validate.csv", header + "run,y1,3,13\n")
    touch(tmp_path, "train/swim/x1_000000_000010.mp4", "train/swim/x2_000000_000010.mp4")
    touch(tmp_path, "val/run/y1_000003_000013.mp4")
    assert detect_format(tmp_path) == "kinetics"
    index = index_videos(tmp_path)
    assert index.class_names == ["run", "swim"]
    assert [len(index.splits[s]) for s in ("train", "val")] == [2, 1]
    only = index_videos(tmp_path, list_file="annotations/train.csv")  # auto + a CSV list_file -> kinetics
    assert only.format == "kinetics" and only.class_names == ["swim"]
    assert len(only.splits["train"]) + len(only.splits["val"]) == 2
    write(tmp_path / "annotations/other.csv", "label,youtube_id,time_start,time_end,split\nrun,z,0,1,train\n")
    layout_error(
        r"several Kinetics CSVs .*pass list_file with the one",
        index_videos,
        tmp_path,
        format="kinetics",
        field="list_file",
    )


def test_kinetics_bad_rows(tmp_path):
    header = "label,youtube_id,time_start,time_end,split\n"
    write(tmp_path / "k.csv", header + "run,a,0,10,train\nrun,b,x,10,train\n")
    layout_error(r"k.csv line 3: time_start 'x' is not a number", index_videos, tmp_path)
    write(tmp_path / "k.csv", header + "run,a,0,10,holdout\n")
    layout_error(r"k.csv line 2: split 'holdout' is not one of train, val, validate", index_videos, tmp_path)
    write(tmp_path / "k.csv", header + "run,a,0,10,train\n")
    message = layout_error(r"no videos found .* all 1 listed videos are missing", index_videos, tmp_path)
    assert "train/run/a_000000_000010.mp4" in message
    other = str(write(tmp_path / "x.csv", "a,b\n"))
    layout_error(
        r"is not a Kinetics CSV",
        index_videos,
        tmp_path,
        format="kinetics",
        list_file=other,
        field="list_file",
    )


# ----------------------------------------------------------------------------------- detect_format


def test_detect_format_annotation_locations(tmp_path):
    write(tmp_path / "u/classInd.txt", "1 A\n")
    assert detect_format(tmp_path / "u") == "ucf101"
    write(tmp_path / "h/x_test_split1.txt", "a.avi 1\n")
    assert detect_format(tmp_path / "h") == "hmdb51"
    write(tmp_path / "l/train.txt", "a.mp4 0\n")
    assert detect_format(tmp_path / "l") == "list"
    write(tmp_path / "k/annotations/k.csv", "youtube_id,time_start,time_end,label,split\n")
    assert detect_format(tmp_path / "k") == "kinetics"
    write(tmp_path / "n/not_kinetics.csv", "path,label\n")
    touch(tmp_path / "n", "cls/a.mov")
    assert detect_format(tmp_path / "n") == "folders"


def make_frames(root: Path) -> None:
    touch(root, "jump/v1/img_00001.jpg", "jump/v2/img_00001.jpg", "sit/v3/img_00001.png")


def make_list(root: Path) -> None:
    touch(root, "a.mp4", "b.mp4")
    write(root / "list.txt", "a.mp4 run\nb.mp4 walk\n")


def make_kinetics(root: Path) -> None:
    write(root / "kinetics400.csv", KINETICS_CSV)
    touch(root, "train/abseiling/aaa_000000_000010.mp4", "val/zumba/eee_000001_000011.mp4")


TREE_OF = {
    "folders": lambda root: make_folders(root, {"a": 3, "b": 2}),
    "list": make_list,
    "ucf101": make_ucf,
    "hmdb51": make_hmdb,
    "kinetics": make_kinetics,
    "frames": make_frames,
}


@pytest.mark.parametrize("format", FORMATS)
def test_detection_picks_each_layout_from_a_tiny_tree(format, tmp_path):
    TREE_OF[format](tmp_path)
    assert LAYOUTS[format].detect(tmp_path) is not None
    assert detect_format(tmp_path) == format
    index = index_videos(tmp_path)
    assert index.format == format and index.all_samples()


def test_detect_format_ambiguous(tmp_path):
    write(tmp_path / "ucfTrainTestlist/classInd.txt", "1 A\n")
    write(tmp_path / "list.txt", "a.mp4 0\n")
    message = layout_error(r"ambiguous dataset layout", detect_format, tmp_path, field="format")
    assert "ucfTrainTestlist/classInd.txt (ucf101)" in message and "list.txt (list)" in message
    assert ", ".join(FORMATS) in message
    touch(tmp_path / "mixed", "a/clip.mp4", "b/v1/img_00001.jpg")
    layout_error(
        r"ambiguous .* both video files and folders of images; set format='folders' or format='frames'",
        detect_format,
        tmp_path / "mixed",
        field="format",
    )


def test_detect_format_unknown_lists_what_it_found(tmp_path):
    touch(tmp_path, "readme.md", "data.json", "photos/cat.jpg")
    message = layout_error(r"cannot tell the dataset layout", detect_format, tmp_path, field="format")
    assert "2 files (data.json, readme.md) and 1 folder (photos)" in message
    assert "set format to one of " + ", ".join(FORMATS) in message
    (tmp_path / "empty").mkdir()
    layout_error(r"found nothing \(the folder is empty\)", detect_format, tmp_path / "empty")
    layout_error(r"empty", index_videos, tmp_path / "empty")


# ------------------------------------------------------------------------------------------ errors


def test_option_and_root_errors(tmp_path):
    touch(tmp_path, "c/a.mp4")
    message = layout_error(
        r"^format='ucf' is not one of ", index_videos, tmp_path, format="ucf", field="format"
    )
    assert "auto, " + ", ".join(FORMATS) in message
    layout_error(
        r"^split must be a positive integer; received split=0$",
        index_videos,
        tmp_path,
        split=0,
        field="split",
    )
    layout_error(
        r"^val_fraction must be a number in \[0, 1\); received val_fraction=1$",
        index_videos,
        tmp_path,
        val_fraction=1,
        field="val_fraction",
    )
    layout_error(
        r"^seed must be an int >= 0; received seed='1'$", index_videos, tmp_path, seed="1", field="seed"
    )
    layout_error(r"received seed=-1$", index_videos, tmp_path, seed=-1, field="seed")
    layout_error(
        r"^list_file applies to format='list' or 'kinetics', not 'folders'",
        index_videos,
        tmp_path,
        format="folders",
        list_file="x",
        field="list_file",
    )
    layout_error(r"root .*nowhere does not exist$", index_videos, tmp_path / "nowhere", field="root")
    with pytest.raises(FileNotFoundError):  # a missing root is a DatasetLayoutError and a FileNotFoundError
        index_videos(tmp_path / "nowhere")
    layout_error(r"does not exist", detect_format, tmp_path / "nowhere", field="root")
    layout_error(r"is not a folder", index_videos, tmp_path / "c" / "a.mp4", field="root")
    layout_error(r"^root is not set", index_videos, "", field="root")
    layout_error(
        r"no list file in .*list.txt, or train.txt", index_videos, tmp_path, format="list", field="root"
    )
    layout_error(r"no classInd.txt", index_videos, tmp_path, format="ucf101", field="root")
    layout_error(r"no <class>_test_split<N>.txt", index_videos, tmp_path, format="hmdb51", field="root")
    layout_error(r"no Kinetics CSV", index_videos, tmp_path, format="kinetics", field="root")


def test_empty_tree_errors(tmp_path):
    touch(tmp_path, "cls/readme.txt", "loose.mp4")
    message = layout_error(
        r"no class folders with video files .*\(format='folders' expects .*<class>/<video>",
        index_videos,
        tmp_path,
        format="folders",
        field="root",
    )
    assert "loose.mp4" in message
    write(tmp_path / "list.txt", "gone.mp4 a\n")
    layout_error(
        r"no videos found under .* for format='list': all 1 listed videos are missing, e.g. gone.mp4",
        index_videos,
        tmp_path,
        format="list",
        field="root",
    )


def test_error_message_is_one_line_and_an_input_error():
    from cnnlstm._validation import InputError

    err = DatasetLayoutError("a\nb\r\nc", field="root")
    assert str(err) == "a b c" and err.field == "root" and isinstance(err, InputError)
    assert DatasetLayoutError("x").field is None


# ------------------------------------------------------------------------------- list_video_files


def test_list_video_files(tmp_path):
    touch(tmp_path, "b.mp4", "a/z.MOV", "a/y.txt", "a/.x.mp4", "c/d/e.mpeg")
    found = [p.relative_to(tmp_path).as_posix() for p in list_video_files(tmp_path)]
    assert found == ["a/z.MOV", "b.mp4", "c/d/e.mpeg"]
    assert list_video_files(str(tmp_path / "b.mp4")) == [tmp_path / "b.mp4"]
    (tmp_path / "empty").mkdir()
    layout_error(r"no video files", list_video_files, tmp_path / "empty", field="root")
    layout_error(r"does not exist", list_video_files, tmp_path / "missing.mp4", field="root")
    with pytest.raises(FileNotFoundError):
        list_video_files(tmp_path / "missing.mp4")


def test_symlinked_class_folder_is_followed(tmp_path):
    touch(tmp_path, "store/x.mp4", "store/y.mp4", "data/b/z.mp4")
    os.symlink(tmp_path / "store", tmp_path / "data" / "a")
    index = index_videos(tmp_path / "data", val_fraction=0.0)
    assert index.class_names == ["a", "b"] and names(index.splits["train"]) == ["x.mp4", "y.mp4", "z.mp4"]


def test_video_index_dataclasses():
    sample = VideoSample(Path("a.mp4"), 0)
    with pytest.raises(AttributeError):
        sample.label = 1  # type: ignore[misc]
    index = VideoIndex("list", ["a"], {"test": [sample]})
    assert index.missing == [] and index.all_samples() == [sample]


# -- nothing under root is dropped without a word ---------------------------------------------------


def test_an_empty_class_folder_is_left_out_and_said_so(tmp_path):
    touch(tmp_path, "cat/a.mp4", "cat/b.mp4", "dog/c.mp4", "dog/d.mp4")
    (tmp_path / "bird").mkdir()
    (tmp_path / "bird" / "notes.txt").touch()
    index = index_videos(tmp_path, val_fraction=0.0)
    assert index.class_names == ["cat", "dog"]
    assert index.left_out == [
        (
            str(tmp_path / "bird"),
            f"class folder holds no video files ({', '.join(VIDEO_EXTENSIONS)}); "
            "the class is left out of this split",
        )
    ]
    assert "1 paths left out" in index.summary()


def test_an_unreadable_folder_is_said_so(tmp_path, monkeypatch):
    touch(tmp_path, "cat/a.mp4", "cat/locked/b.mp4", "dog/c.mp4")
    locked = str(tmp_path / "cat" / "locked")
    real = os.scandir

    def scandir(path="."):  # running as root, chmod cannot lock a folder: refuse it here instead
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    index = index_videos(tmp_path, format="folders", val_fraction=0.0)
    assert [s.path.name for s in index.splits["train"]] == ["a.mp4", "c.mp4"]
    assert index.left_out == [(locked, "cannot read folder (Permission denied)")]


def test_a_link_to_a_sibling_class_is_refused(tmp_path):
    touch(tmp_path, "left/a.mp4", "left/b.mp4", "right/c.mp4")
    (tmp_path / "right" / "more").symlink_to(tmp_path / "left")
    with pytest.raises(
        DatasetLayoutError,
        match=r"one file under two labels or splits: .*right/more/a.mp4 \(train, "
        r"class right\) is .*left/a.mp4 \(train, class left\)",
    ):
        index_videos(tmp_path, val_fraction=0.0)


def test_a_second_path_to_one_file_in_its_own_class_counts_once(tmp_path):
    touch(tmp_path, "left/a.mp4", "right/c.mp4")
    (tmp_path / "left" / "alias.mp4").symlink_to(tmp_path / "left" / "a.mp4")
    index = index_videos(tmp_path, val_fraction=0.0)
    assert [s.path.name for s in index.splits["train"]] == ["a.mp4", "c.mp4"]
    assert index.left_out == [
        (
            str(tmp_path / "left" / "alias.mp4"),
            f"the same file as {tmp_path / 'left' / 'a.mp4'} (listed twice, or a link); indexed once",
        )
    ]
