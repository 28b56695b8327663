"""Which checkpoint ``last`` is, and what ``--ckpt_path last`` does when it is missing or damaged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from cnnlstm.cli import main
from cnnlstm.cli.run_folders import _checkpoint_in, remove_stale_tmp_files
from cnnlstm.training.checkpoint_io import safe_torch_load

TINY = ["--data.num_train=32", "--data.num_val=16", "--data.num_test=16", "--data.batch_size=16", "--quiet"]
RISING = '--trainer.callbacks+={"class_path": "tests.cli.rising.RisingValLoss"}'
FALLING = '--trainer.callbacks+={"class_path": "tests.cli.rising.FallingValLoss"}'


def _fit(root: Path, epochs: int, *extra: str, loss: str = RISING) -> int:
    return main(
        [
            "fit",
            "--config",
            "synthetic-tiny",
            f"--trainer.default_root_dir={root}",
            f"--trainer.max_epochs={epochs}",
            loss,
            *TINY,
            *extra,
        ]
    )


def _epoch(path: Path) -> int:
    return int(safe_torch_load(path)["epoch"])


@pytest.mark.slow
def test_last_is_the_final_epoch_when_validation_stops_improving(tmp_path):
    root = tmp_path / "run"
    assert _fit(root, 3) == 0
    ckpts = root / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("*.ckpt")) == ["epoch000.ckpt", "last.ckpt"]  # best: epoch 0
    assert _epoch(ckpts / "last.ckpt") == 2  # the end of the last epoch, not a copy of the best


@pytest.mark.slow
def test_last_is_the_final_epoch_when_that_epoch_had_no_validation(tmp_path):
    root = tmp_path / "run"
    assert _fit(root, 3, "--trainer.check_val_every_n_epoch=2") == 0  # validation after epoch 1 only
    assert _epoch(root / "checkpoints" / "last.ckpt") == 2


@pytest.mark.slow
def test_last_is_a_hard_link_to_the_best_file_written_at_the_same_step(tmp_path):
    root = tmp_path / "run"
    assert _fit(root, 3, loss=FALLING) == 0
    ckpts = root / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["epoch002.ckpt", "last.ckpt"]  # nothing else left
    assert os.path.samefile(ckpts / "last.ckpt", ckpts / "epoch002.ckpt")  # one file, two names
    assert _epoch(ckpts / "last.ckpt") == 2
    # Resuming from it, and the next epoch's last.ckpt replacing the name, leave the best file whole.
    assert _fit(root, 4, "--ckpt_path", "last", loss=FALLING) == 0
    assert _epoch(ckpts / "epoch003.ckpt") == 3 and os.path.samefile(
        ckpts / "last.ckpt", ckpts / "epoch003.ckpt"
    )
    assert sorted(p.name for p in ckpts.iterdir()) == ["epoch003.ckpt", "last.ckpt"]


@pytest.mark.slow
def test_last_is_written_as_a_file_where_hard_links_are_refused(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError("hard links not supported here")

    monkeypatch.setattr(os, "link", refuse)
    root = tmp_path / "run"
    assert _fit(root, 2, loss=FALLING) == 0
    ckpts = root / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["epoch001.ckpt", "last.ckpt"]
    assert not os.path.samefile(ckpts / "last.ckpt", ckpts / "epoch001.ckpt")
    assert _epoch(ckpts / "last.ckpt") == 1


def _history(root: Path) -> list[str]:
    return (root / "metrics.csv").read_text().splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("improving", [False, True], ids=["epoch-not-best", "epoch-best-last-linked"])
def test_resume_after_an_epoch_equals_an_uninterrupted_run(tmp_path, improving):
    stopped, straight = tmp_path / "stopped", tmp_path / "straight"
    stop = '--trainer.callbacks+={"class_path": "tests.cli.rising.StopAfterEpoch", "init_args": {"epoch": 1}}'
    loss = FALLING if improving else RISING
    # Not improving: last.ckpt is epoch 1, best epoch 0. Improving: last.ckpt is the best file's link.
    assert _fit(stopped, 4, stop, loss=loss) == 0
    assert _epoch(stopped / "checkpoints" / "last.ckpt") == 1
    assert _fit(stopped, 4, "--ckpt_path", "last", loss=loss) == 0
    assert _fit(straight, 4, loss=loss) == 0
    assert _history(stopped) == _history(straight)
    a = safe_torch_load(stopped / "checkpoints" / "last.ckpt")
    b = safe_torch_load(straight / "checkpoints" / "last.ckpt")
    assert a["epoch"] == b["epoch"] == 3 and a["state_dict"].keys() == b["state_dict"].keys()
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key


@pytest.mark.slow
def test_a_run_killed_while_writing_last_resumes_from_the_newest_complete_checkpoint(tmp_path, capsys):
    root = tmp_path / "run"
    assert _fit(root, 2) == 0
    last = root / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])  # as if killed mid-write without an atomic rename
    stale = root / "checkpoints" / ".last.ckpt.999999999.tmp"
    stale.write_bytes(b"half a checkpoint")
    capsys.readouterr()
    assert _fit(root, 3, "--ckpt_path", "last") == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "last.ckpt is unreadable" in notes[0] and "epoch000.ckpt" in notes[0]
    assert _epoch(last) == 2 and not stale.exists()


def _save_epoch(path: Path, epoch: int) -> None:
    torch.save({"epoch": epoch, "state_dict": {"w": torch.zeros(2)}, "hyper_parameters": {}}, path)


def test_last_falls_back_to_the_newest_readable_checkpoint(tmp_path, capsys):
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    _save_epoch(ckpts / "epoch000.ckpt", 0)
    _save_epoch(ckpts / "epoch003.ckpt", 3)
    os.utime(ckpts / "epoch000.ckpt", (1, 1))  # older
    (ckpts / "epoch005.ckpt").write_bytes(b"PK\x03\x04 truncated")  # newest, but unreadable
    assert _checkpoint_in(tmp_path, "last").name == "epoch003.ckpt"
    assert "last.ckpt is missing; resuming from epoch003.ckpt" in capsys.readouterr().err
    _save_epoch(ckpts / "last.ckpt", 4)
    assert _checkpoint_in(tmp_path, "last").name == "last.ckpt"
    assert capsys.readouterr().err == ""


def test_no_complete_checkpoint_is_one_clear_error(tmp_path):
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    (ckpts / "last.ckpt").write_bytes(b"garbage")
    with pytest.raises(Exception, match=r"no complete checkpoint in .*last.ckpt is unreadable"):
        _checkpoint_in(tmp_path, "last")


def test_stale_temporary_files_go_and_a_live_writers_stay(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    dead = tmp_path / "checkpoints" / ".last.ckpt.999999999.tmp"
    live = tmp_path / f".metrics.csv.{os.getpid()}.tmp"
    other = tmp_path / ".notes.tmp"  # not an atomic write's name: not ours to remove
    for path in (dead, live, other):
        path.write_text("x")
    assert remove_stale_tmp_files(tmp_path) == [dead]
    assert live.exists() and other.exists() and not dead.exists()
