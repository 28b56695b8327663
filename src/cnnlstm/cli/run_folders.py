"""Where a run writes, and which checkpoint ``--ckpt_path last|best`` means.

A run's folder is ``--trainer.default_root_dir`` when given, else ``runs/<preset>/<timestamp>``;
``--ckpt_path last|best`` picks the checkpoint of that folder, of the run whose ``config.yaml`` is
passed, or of the preset's newest run. DDP workers re-running the command reuse rank 0's folder
through the ``CNNLSTM_RUN_DIR`` environment variable.

When ``last.ckpt`` is missing or unreadable (a run killed while writing its first one on a file
system without atomic renames, a file damaged later), ``last`` falls back to the newest complete
checkpoint of the folder and says so. Temporary files left by atomic writes of dead processes are
removed when a run starts or resumes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not guarded against a second writer
    fcntl = None  # type: ignore[assignment]

from cnnlstm._io import safe_torch_load
from cnnlstm.cli.argv import get_option, set_option
from cnnlstm.cli.errors import CLIError

__all__ = ["RUNS_DIR", "RUN_DIR_ENV", "lock_run_folder", "plan_run", "remove_stale_tmp_files"]

RUNS_DIR = Path("runs")
RUN_DIR_ENV = "CNNLSTM_RUN_DIR"


def _run_folder_of(ckpt: Path) -> Path:
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent


def _newest_run(run_name: str) -> Path:
    base = RUNS_DIR / run_name
    runs = sorted(p for p in base.glob("*") if (p / "checkpoints").is_dir()) if base.is_dir() else []
    if not runs:
        raise CLIError(
            f"no run of {run_name!r} with checkpoints under {base}/; train one with `cnnlstm fit` first"
        )
    return runs[-1]


def _checkpoint_in(root: Path, which: str) -> Path:
    ckpt_dir = root / "checkpoints"
    if which == "last":
        return _last_checkpoint(ckpt_dir)
    best = sorted(p for p in ckpt_dir.glob("*.ckpt") if not p.name.startswith("last"))
    if not best:
        raise CLIError(f"no best checkpoint in {ckpt_dir}/; train with validation data first")
    return best[-1]


def _readable(path: Path) -> tuple[bool, str]:
    try:
        safe_torch_load(path)
    except (ValueError, OSError) as err:  # truncated, corrupt or unsafe: not a checkpoint to resume
        return False, str(err)
    return True, ""


def _last_checkpoint(ckpt_dir: Path) -> Path:
    """``last.ckpt`` when it reads; else the newest complete checkpoint, said in one line."""
    last = ckpt_dir / "last.ckpt"
    if last.is_file():
        ok, why = _readable(last)
        if ok:
            return last
        problem = f"{last} is unreadable ({why})"
    else:
        problem = f"{last} is missing"
    others = sorted(
        (p for p in ckpt_dir.glob("*.ckpt") if p.name != last.name),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for candidate in others:
        if _readable(candidate)[0]:
            print(
                f"note: {problem}; resuming from {candidate.name}, the newest complete checkpoint",
                file=sys.stderr,
            )
            return candidate
    raise CLIError(f"no complete checkpoint in {ckpt_dir}/ ({problem}); train with `cnnlstm fit` first")


_TMP_NAME = re.compile(r"^\..+\.(\d+)\.tmp$")  # atomic_write's ".<name>.<pid>.tmp"


def remove_stale_tmp_files(root: Path) -> list[Path]:
    """Remove the temporary files of atomic writes whose process is gone, in ``root`` and its
    ``checkpoints/``; return them. A file of a live process (another command writing) is kept.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / ".last.ckpt.999999999.tmp").write_bytes(b"half")
        >>> [p.name for p in remove_stale_tmp_files(root)]
        ['.last.ckpt.999999999.tmp']
    """
    removed = []
    for folder in (root, root / "checkpoints"):
        for path in folder.glob(".*.tmp") if folder.is_dir() else ():
            match = _TMP_NAME.match(path.name)
            if match and not pid_alive(int(match.group(1))):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process, or not a process id
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


LOCK_NAME = ".lock"


@contextlib.contextmanager
def lock_run_folder(root: Path) -> Iterator[None]:
    """Hold ``<root>/.lock`` (``flock``, holding this process's id) while a run writes to ``root``.

    A second holder gets a :class:`CLIError` naming the folder and the other process. The lock
    ends with the process, so a lock file left by a killed run is simply taken over.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with lock_run_folder(root):
        ...     (root / ".lock").read_text() == str(os.getpid())
        True
    """
    if fcntl is None:
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            raise CLIError(
                f"run folder {root} is in use by another run (PID {other}); wait for it to end or "
                "give another --trainer.default_root_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _new_run_dir(run_name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = RUNS_DIR / run_name / stamp
    suffix = 1
    while root.exists():
        root = RUNS_DIR / run_name / f"{stamp}-{suffix}"
        suffix += 1
    return root


def plan_run(
    command: str, argv: list[str], run_name: str
) -> tuple[list[str], Path, dict[str, Any], dict[str, Any]]:
    """Decide the run folder and resolve ``--ckpt_path last|best``.

    Returns the new argv, the run folder, the checkpoint's hyper-parameters and its ``cnnlstm``
    entry (class names and preprocessing; both empty without a checkpoint).
    """
    ckpt = get_option(argv, "--ckpt_path")
    if ckpt and ckpt not in ("last", "best") and not Path(ckpt).is_file():
        raise CLIError(f"--ckpt_path {ckpt!r} does not exist; give a .ckpt file, 'last' or 'best'")
    inherited = os.environ.get(RUN_DIR_ENV)
    explicit_root = get_option(argv, "--trainer.default_root_dir")
    if inherited and os.environ.get("LOCAL_RANK", "0") != "0":
        root = Path(inherited)  # a DDP worker re-running the command: same folder as rank 0
    elif explicit_root:
        root = Path(explicit_root)
    elif ckpt in ("last", "best"):
        # A run's own config.yaml (`--config runs/x/<time>/config.yaml`) names its folder.
        config_dir = Path(get_option(argv, "--config") or ".").parent
        root = config_dir if (config_dir / "checkpoints").is_dir() else _newest_run(run_name)
    elif ckpt:
        root = _run_folder_of(Path(ckpt))
    else:
        root = _new_run_dir(run_name)
    if ckpt in ("last", "best"):
        ckpt = str(_checkpoint_in(root, ckpt))
        argv = set_option(argv, "--ckpt_path", ckpt)
    hparams: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if ckpt:
        # Refuse unsafe or truncated files before Lightning touches them (weights_only load).
        checkpoint = safe_torch_load(ckpt)
        hparams = checkpoint.get("hyper_parameters") or {}
        metadata = checkpoint.get("cnnlstm") or {}
    os.environ[RUN_DIR_ENV] = str(root)
    return argv, root, hparams, metadata
