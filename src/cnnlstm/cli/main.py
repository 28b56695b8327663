"""The ``cnnlstm`` command: Lightning's CLI for fit / validate / test / predict, plus presets,
models, export, data check and demo.

Usage:
    cnnlstm fit --config synthetic-tiny [--trainer.max_epochs=3 --model.lr=0.01 --data.batch_size=16]
    cnnlstm test --config synthetic-tiny --ckpt_path best       # the newest run of that preset
    cnnlstm predict --config synthetic-tiny --ckpt_path runs/synthetic-tiny/<time>/checkpoints/last.ckpt
    cnnlstm export --ckpt_path PATH --output DIR
    cnnlstm data check --config video-lrcn --data.root DIR   # list unusable files, no training
    cnnlstm presets | cnnlstm models [PATTERN] | cnnlstm demo

Flags for every command: ``--quiet`` (no progress bars or model summary), ``--debug`` (show
tracebacks instead of one-line errors), ``--compile`` (``torch.compile(fullgraph=True)`` the
model; the same as ``--model.init_args.compile=true``); ``--compile=reduce-overhead`` (or another
torch.compile mode) also captures the steps in CUDA graphs on a GPU.

A run's outputs go to ``--trainer.default_root_dir`` (default ``runs/<preset>/<timestamp>``).
``--ckpt_path last|best`` picks the checkpoint of that folder, or of the preset's newest run.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable

from cnnlstm.cli.argv import pop_compile, pop_flag
from cnnlstm.cli.errors import CLIError, guarded

__all__ = ["COMMANDS", "main"]

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


def _lightning(command: str) -> Callable[[list[str], bool], int]:
    def run(argv: list[str], quiet: bool) -> int:
        from cnnlstm.cli.lightning_cli import run_lightning

        return run_lightning(command, argv, quiet=quiet)

    return run


def _data(argv: list[str], quiet: bool) -> int:
    if not argv or argv[0] != "check":
        raise CLIError("usage: cnnlstm data check --config PRESET_OR_FILE [--data.root DIR ...]")
    return _lightning("data")(argv[1:], quiet)


def _presets(argv: list[str], quiet: bool) -> int:
    from cnnlstm.cli.commands import cmd_presets

    return cmd_presets(argv)


def _models(argv: list[str], quiet: bool) -> int:
    from cnnlstm.cli.commands import cmd_models

    return cmd_models(argv)


def _export(argv: list[str], quiet: bool) -> int:
    from cnnlstm.cli.commands import cmd_export

    return cmd_export(argv)


def _demo(argv: list[str], quiet: bool) -> int:
    from cnnlstm.cli.demo import main as demo_main

    return demo_main([*argv, "--quiet"] if quiet else argv)


# The command table: name -> runner(argv, quiet). Imports happen when a command runs, so
# `cnnlstm presets` never loads Lightning.
COMMANDS: dict[str, Callable[[list[str], bool], int]] = {
    **{name: _lightning(name) for name in LIGHTNING_COMMANDS},
    "data": _data,
    "export": _export,
    "presets": _presets,
    "models": _models,
    "demo": _demo,
}


def main(args: list[str] | None = None) -> int:
    """Run the ``cnnlstm`` command with ``args`` (default: ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if args is None else args)
    debug = pop_flag(argv, "--debug")
    quiet = pop_flag(argv, "--quiet")
    compile_mode = pop_compile(argv)
    if compile_mode and argv and argv[0] in LIGHTNING_COMMANDS:
        argv.append(f"--model.init_args.compile={compile_mode}")
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        close = difflib.get_close_matches(command, list(COMMANDS), n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        print(f"error: unknown command {command!r}{hint} (commands: {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    return guarded(lambda: COMMANDS[command](rest, quiet), debug=debug)
