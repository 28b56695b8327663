"""Atomic checkpoint writes and weights-only reads."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from cnnlstm.training.checkpoint_io import UnsafeCheckpointError, atomic_torch_save, safe_torch_load

WRITER = """
import sys, torch
from cnnlstm.training.checkpoint_io import atomic_torch_save
path = sys.argv[1]
i = 0
print("ready", flush=True)
while True:
    i += 1
    atomic_torch_save({"step": i, "w": torch.full((4_000_000,), float(i))}, path)
"""


@pytest.mark.slow
def test_sigkill_during_writes_never_leaves_a_partial_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    atomic_torch_save({"step": 0, "w": torch.zeros(4_000_000)}, path)
    for delay in (0.05, 0.13, 0.31):
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(delay)  # somewhere inside one of the 16 MB writes
            proc.kill()
        state = safe_torch_load(path)
        assert torch.all(state["w"] == float(state["step"]))


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    atomic_torch_save({"v": torch.tensor(1)}, path)

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        atomic_torch_save({"v": torch.tensor(2)}, path)
    monkeypatch.undo()
    assert safe_torch_load(path)["v"].item() == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary file left behind


def test_truncated_and_unsafe_files_are_refused(tmp_path):
    good = tmp_path / "good.pt"
    atomic_torch_save({"w": torch.ones(1000)}, good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:500])
    with pytest.raises(ValueError, match="unreadable or truncated"):
        safe_torch_load(truncated)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"obj": _Evil()}, unsafe)
    with pytest.raises(UnsafeCheckpointError, match="refusing to load"):
        safe_torch_load(unsafe)


class _Evil:
    def __reduce__(self):
        return (print, ("executed",))
