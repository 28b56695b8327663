"""Where a run writes, and which checkpoint ``--ckpt_path last|best`` means.

A run's folder is ``--trainer.default_root_dir`` when given, else ``runs/<preset>/<timestamp>``;
``--ckpt_path last|best`` picks the checkpoint of that folder, of the run whose ``config.yaml`` is
passed, or of the preset's newest run. DDP workers re-running the command reuse rank 0's folder
through the ``CNNLSTM_RUN_DIR`` environment variable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from cnnlstm._io import safe_torch_load
from cnnlstm.cli.argv import get_option, set_option
from cnnlstm.cli.errors import CLIError

__all__ = ["RUNS_DIR", "RUN_DIR_ENV", "plan_run"]

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
        path = ckpt_dir / "last.ckpt"
        if path.is_file():
            return path
        raise CLIError(f"no last checkpoint in {ckpt_dir}/; train with `cnnlstm fit` first")
    best = sorted(p for p in ckpt_dir.glob("*.ckpt") if not p.name.startswith("last"))
    if not best:
        raise CLIError(f"no best checkpoint in {ckpt_dir}/; train with validation data first")
    return best[-1]


def _new_run_dir(run_name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = RUNS_DIR / run_name / stamp
    suffix = 1
    while root.exists():
        root = RUNS_DIR / run_name / f"{stamp}-{suffix}"
        suffix += 1
    return root


def plan_run(command: str, argv: list[str], run_name: str) -> tuple[list[str], Path, dict[str, Any]]:
    """Decide the run folder and resolve ``--ckpt_path last|best``.

    Returns the new argv, the run folder and the checkpoint's hyper-parameters (empty without one).
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
    if ckpt:
        # Refuse unsafe or truncated files before Lightning touches them (weights_only load).
        hparams = safe_torch_load(ckpt).get("hyper_parameters") or {}
    os.environ[RUN_DIR_ENV] = str(root)
    return argv, root, hparams
