"""Guards before a run starts: checkpoints that match the config, one writer per run folder, and
configs whose YAML aliases would expand without bound."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cnnlstm.cli import main
from cnnlstm.cli.config_guard import MAX_EXPANDED_NODES, check_yaml_config, check_yaml_text
from cnnlstm.cli.presets import PRESET_DIR
from cnnlstm.cli.run_folders import lock_run_folder


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def _checkpoint(path: Path, **hparams) -> Path:
    torch.save({"epoch": 0, "state_dict": {"model.w": torch.zeros(3)}, "hyper_parameters": hparams}, path)
    return path


def _evaluate(tmp_path: Path, ckpt: Path, *extra: str) -> int:
    return main(
        [
            "test",
            "--config",
            "synthetic-tiny",
            "--ckpt_path",
            str(ckpt),
            f"--trainer.default_root_dir={tmp_path}",
        ]
        + ["--quiet", *extra]
    )


@pytest.mark.parametrize("class_path", ["cnnlstm.tasks.ForecastingTask", None])
def test_a_checkpoint_of_another_task_is_refused_in_one_line(tmp_path, capsys, class_path):
    hparams = {"name": "convlstm_forecaster_tiny", "horizon": 4}
    if class_path:
        hparams["_class_path"] = class_path
    ckpt = _checkpoint(tmp_path / "forecast.ckpt", **hparams)
    assert _evaluate(tmp_path, ckpt) == 2
    line = _error_line(capsys)
    assert "checkpoint is a forecasting model" in line and "'convlstm_forecaster_tiny'" in line
    assert "asks for a classification model" in line and "'lrcn_tiny'" in line
    assert "size mismatch" not in line


def test_a_typed_model_name_that_differs_from_the_checkpoints_is_refused(tmp_path, capsys):
    ckpt = _checkpoint(
        tmp_path / "fm.ckpt",
        _class_path="cnnlstm.tasks.ClassificationTask",
        name="frame_mean_tiny",
        num_classes=4,
    )
    assert _evaluate(tmp_path, ckpt, "--model.init_args.name=lrcn_tiny") == 2
    line = _error_line(capsys)
    assert "--model.init_args.name=lrcn_tiny differs from the checkpoint's model 'frame_mean_tiny'" in line


def test_a_checkpoint_that_replaces_the_presets_model_says_so(tmp_path, capsys):
    ckpt = _checkpoint(
        tmp_path / "fm.ckpt",
        _class_path="cnnlstm.tasks.ClassificationTask",
        name="frame_mean_tiny",
        num_classes=4,
    )
    _evaluate(tmp_path, ckpt)  # the made-up weights may not load; the note comes first
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: the checkpoint's model 'frame_mean_tiny' is used in place of the config's 'lrcn_tiny'"
    ]


_HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print("locked", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
@pytest.mark.parametrize("command", ["fit", "test", "predict"])
def test_a_second_run_into_a_locked_run_folder_names_the_folder_and_the_other_pid(command, tmp_path, capsys):
    root = tmp_path / "run"
    root.mkdir()
    extra = []
    if command != "fit":  # evaluation and prediction write into the folder too
        torch.save({"hyper_parameters": {}}, ckpt := tmp_path / "weights.ckpt")
        extra = ["--ckpt_path", str(ckpt)]
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(root / ".lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        argv = [
            command,
            "--config",
            "synthetic-tiny",
            f"--trainer.default_root_dir={root}",
            *extra,
            "--quiet",
        ]
        code = main(argv)
        assert code == 2
        line = _error_line(capsys)
        assert f"run folder {root} is in use" in line and f"PID {holder.pid}" in line
        assert not (root / "config.yaml").exists()  # nothing of the other run was touched
    finally:
        holder.kill()
        holder.communicate()  # waits and closes the pipe
    with lock_run_folder(root):  # the holder died: its lock went with it, the file is taken over
        assert (root / ".lock").read_text() == str(os.getpid())


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_the_lock_is_released_when_the_run_ends(tmp_path):
    with (
        lock_run_folder(tmp_path),
        pytest.raises(Exception, match="is in use by another run"),
        lock_run_folder(tmp_path),
    ):
        pass
    with lock_run_folder(tmp_path):
        pass


def _alias_bomb(levels: int, width: int) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_in_one_line_quickly(tmp_path, capsys):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb(10, 10))
    start = time.monotonic()
    assert main(["fit", "--config", str(bomb), f"--trainer.default_root_dir={tmp_path / 'run'}"]) == 2
    assert time.monotonic() - start < 2
    line = _error_line(capsys)
    assert f"config {bomb} expands to more than {MAX_EXPANDED_NODES} values through YAML aliases" in line
    assert not (tmp_path / "run").exists()


def test_alias_bombs_in_a_sub_config_file_or_an_inline_value_are_refused(tmp_path, capsys):
    bomb = tmp_path / "data.yaml"
    bomb.write_text(_alias_bomb(10, 10))
    inline = "--model.init_args.model_kwargs={" + _alias_bomb(10, 10).strip().replace("\n", ", ") + "}"
    for extra, where in ((["--data", str(bomb)], f"config {bomb}"), ([inline], "value of --model.init_args")):
        start = time.monotonic()
        code = main(
            ["fit", "--config", "synthetic-tiny", *extra, f"--trainer.default_root_dir={tmp_path / 'r'}"]
        )
        assert code == 2 and time.monotonic() - start < 2
        line = _error_line(capsys)
        assert where in line and "expands to more than" in line


def test_self_referring_yaml_is_refused_and_plain_aliases_pass():
    with pytest.raises(Exception, match="refers to itself"):
        check_yaml_text("a: &a [1, *a]", "loop.yaml")
    assert check_yaml_text("base: &b {lr: 0.1}\nrun: {opt: *b}", "ok.yaml") == 11
    assert check_yaml_text("a: [unclosed", "broken.yaml") == 0  # the config parser reports it


@pytest.mark.parametrize("preset", sorted(PRESET_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_preset_passes_the_alias_check(preset):
    assert 0 < check_yaml_config(preset) < MAX_EXPANDED_NODES


@pytest.mark.parametrize(
    "flag, named",
    [
        (
            "--data.frame_size=100000",
            "--data.frame_size=100000 makes samples of shape (8, 3, 100000, 100000)",
        ),
        ("--data.num_frames=100000000000", "--data.num_frames=100000000000 makes samples of shape"),
    ],
)
def test_sizes_beyond_memory_are_named_before_anything_is_allocated(tmp_path, capsys, flag, named):
    root = tmp_path / "run"
    start = time.monotonic()
    assert (
        main(["fit", "--config", "synthetic-tiny", flag, f"--trainer.default_root_dir={root}", "--quiet"])
        == 2
    )
    line = _error_line(capsys)
    assert named in line and "GiB as float32, more than this machine's" in line
    assert time.monotonic() - start < 30  # refused, not attempted


def test_a_size_given_as_a_list_is_named_and_a_small_batch_passes():
    from types import SimpleNamespace

    from cnnlstm.cli.lightning_cli import _batch_memory_problem

    huge = SimpleNamespace(input_shape=[4, 1, 60000, 90000], batch_size=8)
    data = {"init_args": {"frame_size": [60000, 90000], "num_frames": 4, "shuffle": True}}
    line = _batch_memory_problem(huge, data)
    assert line is not None and line.startswith("--data.frame_size=[60000, 90000] makes samples")
    assert _batch_memory_problem(SimpleNamespace(input_shape=[4, 1, 8, 8], batch_size=8), data) is None
