"""The ``cnnlstm`` command: Lightning's CLI for fit / validate / test / predict, plus presets,
models, export and demo.

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

import argparse
import difflib
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from cnnlstm._validation import check_positive_int
from cnnlstm.checkpoint_io import safe_torch_load

__all__ = ["CLIError", "list_presets", "main", "preset_path"]

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
OTHER_COMMANDS = ("data", "export", "presets", "models", "demo")
PRESET_DIR = Path(__file__).parent / "presets"
RUNS_DIR = Path("runs")
RUN_DIR_ENV = "CNNLSTM_RUN_DIR"


class CLIError(Exception):
    """A user error: printed as one line, exit code 2."""


# --- presets -------------------------------------------------------------------------------------


def list_presets() -> dict[str, str]:
    """``{name: one-line description}`` of the presets shipped in the package."""
    presets = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        first = path.read_text().splitlines()[0] if path.stat().st_size else ""
        presets[path.stem] = first.lstrip("# ").strip()
    return presets


def preset_path(name_or_path: str) -> Path:
    """A config file path, or the path of the shipped preset of that name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if (PRESET_DIR / f"{name_or_path}.yaml").is_file():
        return PRESET_DIR / f"{name_or_path}.yaml"
    if path.suffix in (".yaml", ".yml", ".json") or os.sep in name_or_path:
        raise CLIError(f"config file {name_or_path!r} does not exist")
    names = list(list_presets())
    close = difflib.get_close_matches(name_or_path, names, n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CLIError(f"unknown preset {name_or_path!r}{hint} (`cnnlstm presets` lists {len(names)})")


# --- argument helpers ----------------------------------------------------------------------------


def _pop_flag(argv: list[str], flag: str) -> bool:
    found = flag in argv
    while flag in argv:
        argv.remove(flag)
    return found


def _pop_compile(argv: list[str]) -> str | None:
    """Remove ``--compile`` / ``--compile=MODE`` from ``argv``; ``"true"``, the mode, or ``None``."""
    mode = None
    for arg in list(argv):
        if arg == "--compile" or arg.startswith("--compile="):
            argv.remove(arg)
            mode = arg.partition("=")[2] or "true"
    return mode


def _get_option(argv: list[str], key: str) -> str | None:
    """The last value given for ``--key`` as ``--key V`` or ``--key=V``."""
    value = None
    for i, arg in enumerate(argv):
        if arg == key and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(key + "="):
            value = arg.split("=", 1)[1]
    return value


def _set_option(argv: list[str], key: str, value: str) -> list[str]:
    """Replace every ``--key`` occurrence with ``--key=value`` (appended if absent)."""
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == key:
            skip = i + 1 < len(argv)
            continue
        if arg.startswith(key + "="):
            continue
        out.append(arg)
    return out + [f"{key}={value}"]


def _resolve_configs(argv: list[str]) -> tuple[list[str], str]:
    """Turn preset names after ``--config`` into file paths; return the run name (first config's stem)."""
    out, run_name = [], ""
    i = 0
    while i < len(argv):
        arg = argv[i]
        value = None
        if arg == "--config" and i + 1 < len(argv):
            value, i = argv[i + 1], i + 1
        elif arg.startswith("--config="):
            value = arg.split("=", 1)[1]
        if value is not None:
            path = preset_path(value)
            run_name = run_name or path.stem
            out += ["--config", str(path)]
        else:
            out.append(arg)
        i += 1
    return out, run_name


def _run_folder_of(ckpt: Path) -> Path:
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent


def _newest_run(run_name: str) -> Path:
    base = RUNS_DIR / run_name
    runs = sorted(p for p in base.glob("*") if (p / "checkpoints").is_dir()) if base.is_dir() else []
    if not runs:
        raise CLIError(f"no run of {run_name!r} with checkpoints under {base}/; train one with `cnnlstm fit` first")
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


def _plan_run(command: str, argv: list[str], run_name: str) -> tuple[list[str], Path, dict[str, Any]]:
    """Decide the run folder and resolve ``--ckpt_path last|best``.

    Returns the new argv, the run folder and the checkpoint's hyper-parameters (empty without one).
    """
    ckpt = _get_option(argv, "--ckpt_path")
    if ckpt and ckpt not in ("last", "best") and not Path(ckpt).is_file():
        raise CLIError(f"--ckpt_path {ckpt!r} does not exist; give a .ckpt file, 'last' or 'best'")
    inherited = os.environ.get(RUN_DIR_ENV)
    explicit_root = _get_option(argv, "--trainer.default_root_dir")
    if inherited and os.environ.get("LOCAL_RANK", "0") != "0":
        root = Path(inherited)  # a DDP worker re-running the command: same folder as rank 0
    elif explicit_root:
        root = Path(explicit_root)
    elif ckpt in ("last", "best"):
        # A run's own config.yaml (`--config runs/x/<time>/config.yaml`) names its folder.
        config_dir = Path(_get_option(argv, "--config") or ".").parent
        root = config_dir if (config_dir / "checkpoints").is_dir() else _newest_run(run_name)
    elif ckpt:
        root = _run_folder_of(Path(ckpt))
    else:
        root = _new_run_dir(run_name)
    if ckpt in ("last", "best"):
        ckpt = str(_checkpoint_in(root, ckpt))
        argv = _set_option(argv, "--ckpt_path", ckpt)
    hparams: dict[str, Any] = {}
    if ckpt:
        # Refuse unsafe or truncated files before Lightning touches them (weights_only load).
        hparams = safe_torch_load(ckpt).get("hyper_parameters") or {}
    os.environ[RUN_DIR_ENV] = str(root)
    return argv, root, hparams


# --- the Lightning part --------------------------------------------------------------------------


def _lightning_cli(command: str, argv: list[str], *, quiet: bool) -> int:
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
    from lightning.pytorch.loggers import TensorBoardLogger

    from cnnlstm.callbacks import MetricsHistoryCallback, PredictionWriter, RNGStateCallback, RunArtifacts
    from cnnlstm.checkpoint_io import SafeCheckpointIO
    from cnnlstm.data import BaseDataModule
    from cnnlstm.loggers import ResumableCSVLogger
    from cnnlstm.tasks import BaseTask

    argv, run_name = _resolve_configs(argv)
    if not run_name and any(a in ("-h", "--help") for a in argv):
        run_name = "help"  # Lightning prints the options and exits; nothing is written
    if not run_name:
        raise CLIError(f"`cnnlstm {command}` needs --config PRESET_OR_FILE (`cnnlstm presets` lists the presets)")
    if command == "data":
        root, ckpt_hparams = Path("."), {}
    else:
        argv, root, ckpt_hparams = _plan_run(command, argv, run_name)

    class CnnLstmCLI(LightningCLI):
        def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
            parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
            parser.link_arguments("data.input_shape", "model.init_args.input_shape", apply_on="instantiate")
            parser.link_arguments("data.class_names", "model.init_args.class_names", apply_on="instantiate")

        def before_instantiate_classes(self) -> None:
            # Evaluating a checkpoint on another tree: label the data in the checkpoint's class order.
            config = self.config[self.subcommand] if self.subcommand else self.config
            data_args = config.data.get("init_args") if config.get("data") else None
            names = ckpt_hparams.get("class_names")
            if names and data_args is not None and "class_names" in data_args and not data_args.class_names:
                data_args.class_names = list(names)

        def instantiate_trainer(self, **kwargs: Any):
            cfg = self._get(self.config_init, "trainer", default={})
            run_root = Path(cfg.get("default_root_dir") or root)
            class_names = getattr(self.datamodule, "class_names", None)
            if command != "fit":
                kwargs["logger"] = False  # evaluation writes its own JSON; fit's metrics.csv stays intact
            elif cfg.get("logger") in (None, True):
                kwargs["logger"] = [
                    ResumableCSVLogger(run_root, name="", version=""),
                    TensorBoardLogger(run_root, name="", version="", default_hp_metric=False),
                ]
            ours: list[Any] = [
                RNGStateCallback(),
                MetricsHistoryCallback(),
                RunArtifacts(run_root, preset=run_name, class_names=class_names),
                PredictionWriter(run_root, class_names=class_names),
            ]
            if cfg.get("enable_checkpointing", True) is not False:
                ours.append(
                    ModelCheckpoint(
                        dirpath=run_root / "checkpoints",
                        filename="epoch{epoch:03d}",
                        auto_insert_metric_name=False,
                        monitor="val/loss",
                        mode="min",
                        save_top_k=1,
                        save_last=True,
                    )
                )
            kwargs["callbacks"] = list(cfg.get("callbacks") or []) + ours
            plugins = cfg.get("plugins") or []
            kwargs["plugins"] = (plugins if isinstance(plugins, list) else [plugins]) + [SafeCheckpointIO()]
            return super().instantiate_trainer(**kwargs)

        def _check_model_fits_data(self) -> None:
            """Run one tiny batch before any training so a shape mismatch fails in seconds."""
            dm, task = self.datamodule, self.model
            example = dm.example_input(2)
            was_training = task.training
            task.eval()
            try:
                with torch.no_grad():
                    out = task(example)
            except Exception as err:  # the model's own error message names the problem
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise CLIError(
                    f"model {task.hparams.name!r} cannot take this data's samples of shape "
                    f"{tuple(example.shape[1:])}: {first}"
                ) from None
            finally:
                task.train(was_training)
            problem = task.output_mismatch(out, dm)
            if problem:
                raise CLIError(f"model {task.hparams.name!r} {problem}")

        def before_fit(self) -> None:
            self._check_model_fits_data()

        before_validate = before_test = before_predict = before_fit

    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    trainer_defaults: dict[str, Any] = {"default_root_dir": str(root)}
    if quiet:
        trainer_defaults.update(enable_progress_bar=False, enable_model_summary=False)
    cli = CnnLstmCLI(
        BaseTask,
        BaseDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=argv if command == "data" else [command, *argv],
        run=command != "data",
        trainer_defaults=trainer_defaults,
        save_config_kwargs={"overwrite": True, "config_filename": "config.yaml" if command == "fit" else f"config_{command}.yaml"},
        parser_kwargs={"exit_on_error": False, "allow_abbrev": False},
        auto_configure_optimizers=False,
    )
    if command == "data":
        return _data_check(cli.datamodule)
    print(f"run folder: {root}")
    return 0


def _data_check(datamodule: Any) -> int:
    """Set up every split and report the files that cannot be used, without training."""
    problem = None
    try:
        datamodule.setup(None)
    except ValueError as err:  # e.g. no usable video at all: still list every file and why
        problem = err
    sizes = {
        split: len(getattr(datamodule, f"{split}_dataset") or [])
        for split in ("train", "val", "test")
    }
    print("usable samples: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    skipped = getattr(datamodule, "skipped", [])
    print(f"skipped: {len(skipped)}")
    for item in skipped:
        print(f"  [{item.get('split', '?')}] {item['path']}: {item['reason']}")
    if problem is not None:
        raise problem
    return 0


# --- other commands ------------------------------------------------------------------------------


def _cmd_presets(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="cnnlstm presets", description="List the shipped presets.").parse_args(argv)
    presets = list_presets()
    width = max(map(len, presets), default=0)
    for name, description in presets.items():
        print(f"{name:<{width}}  {description}")
    return 0


def _cmd_models(argv: list[str]) -> int:
    from cnnlstm.models import create_model, list_models, model_info

    parser = argparse.ArgumentParser(prog="cnnlstm models", description="List registered models.")
    parser.add_argument("pattern", nargs="?", default="*", help="wildcard, e.g. 'lrcn*'")
    args = parser.parse_args(argv)
    names = list_models(args.pattern)
    if not names:
        raise CLIError(f"no model matches {args.pattern!r}; `cnnlstm models` lists all")
    rows = []
    for name in names:
        info = model_info(name)
        params = sum(p.numel() for p in create_model(name).parameters())
        rows.append((name, info.task, info.modality, f"{params:,}", "(" + ", ".join(map(str, info.input_size)) + ")"))
    header = ("model", "task", "input", "params", "one sample: (T, C, H, W) frames, (T, C) series")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def _cmd_export(argv: list[str]) -> int:
    from cnnlstm.export import export_model
    from cnnlstm.models import create_model
    from cnnlstm.tasks.base import build_kwargs

    parser = argparse.ArgumentParser(prog="cnnlstm export", description="Export a checkpoint.")
    parser.add_argument("--ckpt_path", required=True, help="a .ckpt file written by `cnnlstm fit`")
    parser.add_argument("--output", required=True, type=Path, help="folder for the exported files")
    parser.add_argument("--batch_size", type=int, default=2, help="batch size of the check batch")
    parser.add_argument(
        "--step", action="store_true",
        help="also write step.onnx, the one-frame streaming step, for any sequence length (streaming models)",
    )
    args = parser.parse_args(argv)
    check_positive_int("--batch_size", args.batch_size)
    ckpt = safe_torch_load(args.ckpt_path)
    hp = ckpt.get("hyper_parameters") or {}
    for field in ("name", "input_shape"):
        if not hp.get(field):
            raise CLIError(f"{args.ckpt_path}: checkpoint has no hyper_parameters.{field}; was it written by `cnnlstm fit`?")
    kwargs = build_kwargs(
        hp.get("model_kwargs"), hp.get("num_classes"), name=hp.get("name"), input_shape=hp.get("input_shape")
    )
    model = create_model(hp["name"], **kwargs)
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state, strict=True)
    if args.step and not callable(getattr(model, "step", None)):
        raise CLIError(f"--step: {hp['name']} does not stream (no init_state/step); export without --step")
    example = torch.randn(args.batch_size, *hp["input_shape"], generator=torch.Generator().manual_seed(0))
    report = export_model(
        model, model_name=hp["name"], model_kwargs=kwargs, example_input=example, output_dir=args.output
    )
    for fmt, diff in report.get("max_abs_diff", {}).items():
        print(f"{fmt}: max |exported - eager| = {diff:.3g}")
    print(f"exported {hp['name']} to {args.output} (load with cnnlstm.load_pretrained({str(args.output)!r}))")
    if args.step:
        from cnnlstm.export_step import export_step

        step_report = export_step(model, example[:, 0], args.output)
        print(f"step.onnx: {step_report['steps_checked']} steps in onnxruntime, max |onnx - eager| = "
              f"{step_report['max_abs_diff']:.3g} (inputs and state shapes in step.json)")
    return 0


def _cmd_demo(argv: list[str]) -> int:
    from cnnlstm.demo import main as demo_main

    return demo_main(argv)


# --- entry point ---------------------------------------------------------------------------------


def _one_line(err: BaseException) -> str:
    text = " ".join((str(err).strip() or type(err).__name__).split())
    # jsonargparse reports a failed subclass as "Does not validate against any of the Union
    # subtypes ... Errors: - <the real error> - Expected a <class 'NoneType'> ...": keep the real one.
    if "Errors: - " in text:
        text = text.split("Errors: - ", 1)[1].split(" - Expected a <class 'NoneType'>", 1)[0]
    text = re.sub(r"^Problem with given class_path '[\w.]+': ", "", text)
    return text + _trainer_option_hint(text)


def _trainer_option_hint(text: str) -> str:
    """Suggest the closest Trainer argument for a mistyped ``--trainer.X`` option."""
    import inspect

    match = re.search(r"trainer\.(\w+)", text)
    if not match or ("unrecognized" not in text and "not accept" not in text):
        return ""
    from lightning.pytorch import Trainer

    names = [n for n in inspect.signature(Trainer.__init__).parameters if n != "self"]
    close = difflib.get_close_matches(match.group(1), names, n=1)
    return f"; did you mean --trainer.{close[0]}?" if close else ""


def main(args: list[str] | None = None) -> int:
    """Run the ``cnnlstm`` command with ``args`` (default: ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if args is None else args)
    debug = _pop_flag(argv, "--debug")
    quiet = _pop_flag(argv, "--quiet")
    compile_mode = _pop_compile(argv)
    if compile_mode and argv and argv[0] in LIGHTNING_COMMANDS:
        argv.append(f"--model.init_args.compile={compile_mode}")
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command in LIGHTNING_COMMANDS:
            return _lightning_cli(command, rest, quiet=quiet)
        if command in OTHER_COMMANDS:
            if command == "demo" and quiet:
                rest = [*rest, "--quiet"]
            if command == "data":
                if not rest or rest[0] != "check":
                    raise CLIError("usage: cnnlstm data check --config PRESET_OR_FILE [--data.root DIR ...]")
                return _lightning_cli("data", rest[1:], quiet=quiet)
            return {"presets": _cmd_presets, "models": _cmd_models, "export": _cmd_export, "demo": _cmd_demo}[command](rest)
        close = difflib.get_close_matches(command, LIGHTNING_COMMANDS + OTHER_COMMANDS, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise CLIError(f"unknown command {command!r}{hint} (commands: {', '.join(LIGHTNING_COMMANDS + OTHER_COMMANDS)})")
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one line for the user; --debug shows the traceback
        if debug:
            raise
        from cnnlstm.tasks.base import NonFiniteLossError

        code = 1 if isinstance(err, NonFiniteLossError) else 2
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return code
