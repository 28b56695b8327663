"""fit / validate / test / predict and ``data check`` over Lightning's CLI.

:class:`CnnLstmCLI` links the data's classes and sample shape into the task, adds the run's
callbacks, loggers and atomic checkpoint I/O, and checks one batch through the model before any
work starts. :func:`run_lightning` resolves presets and the run folder, then runs it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from cnnlstm.cli.argv import get_option, pop_flag, resolve_configs, typed_model_args
from cnnlstm.cli.commands import data_check
from cnnlstm.cli.errors import CLIError
from cnnlstm.cli.run_folders import lock_run_folder, plan_run, remove_stale_tmp_files
from cnnlstm.cli.run_summary import format_run_summary
from cnnlstm.data import BaseDataModule
from cnnlstm.tasks import BaseTask
from cnnlstm.training.callbacks import (
    MetricsHistoryCallback,
    PredictionWriter,
    RNGStateCallback,
    RunArtifacts,
)
from cnnlstm.training.checkpoint_io import EpochEndCheckpoint, SafeCheckpointIO
from cnnlstm.training.loggers import ResumableCSVLogger, TensorBoardLogger
from cnnlstm.training.preprocessing import PreprocessingCallback
from cnnlstm.training.progress import EpochLinePrinter
from cnnlstm.training.trainer import Trainer

__all__ = ["CnnLstmCLI", "RunPlan", "run_lightning"]

_OUR_DEPRECATIONS = r"(ForecastDataModule is deprecated|cnnlstm\.\w+ moved to)"


@dataclass
class RunPlan:
    """What one command runs: the subcommand, the preset's name, its folder, the checkpoint's
    hyper-parameters (empty without a checkpoint), the model name typed on the command line,
    whether ``--allow_train_overlap`` lets an evaluation score the run's training data, the
    checkpoint's class names and preprocessing (``checkpoint["cnnlstm"]``), and the names of the
    model arguments typed as flags (those a task lists in ``evaluation_args`` take the place of
    the checkpoint's values)."""

    command: str
    run_name: str
    root: Path
    ckpt_hparams: dict[str, Any] = field(default_factory=dict)
    model_name_flag: str | None = None
    allow_train_overlap: bool = False
    ckpt_metadata: dict[str, Any] = field(default_factory=dict)
    typed_model_args: frozenset[str] = frozenset()


class CnnLstmCLI(LightningCLI):
    """Lightning's CLI with the run's folder, callbacks and checks of :class:`RunPlan`."""

    def __init__(self, plan: RunPlan, *args: Any, **kwargs: Any) -> None:
        self.plan = plan  # read by the hooks below, which LightningCLI.__init__ calls
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.input_shape", "model.init_args.input_shape", apply_on="instantiate")
        parser.link_arguments("data.class_names", "model.init_args.class_names", apply_on="instantiate")

    def _parse_ckpt_path(self) -> None:
        # Lightning replaces the config's model by the checkpoint's here; check first that they
        # agree, so a checkpoint never silently takes the place of another task or a typed model.
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return super()._parse_ckpt_path()
        model = self.config[subcommand].get("model")
        _check_checkpoint_agrees(self.plan, model)
        typed = _typed_init_args(self.plan, model)
        super()._parse_ckpt_path()
        _reapply_evaluation_args(self.plan, self.config[subcommand].get("model"), typed)

    def before_instantiate_classes(self) -> None:
        # Evaluating a checkpoint on another tree: label the data in the checkpoint's class order.
        config = self.config[self.subcommand] if self.subcommand else self.config
        data_args = config.data.get("init_args") if config.get("data") else None
        names = self.plan.ckpt_hparams.get("class_names")
        if names and data_args is not None and "class_names" in data_args and not data_args.class_names:
            data_args.class_names = list(names)
        # Predicting new files: data modules that can (a `fitted` argument) take the checkpoint's
        # channels and normalisation statistics instead of reading the training files again.
        fitted = self.plan.ckpt_metadata.get("preprocessing")
        takes_fitted = data_args is not None and "fitted" in data_args and data_args.fitted is None
        if self.plan.command == "predict" and fitted and takes_fitted:
            data_args.fitted = dict(fitted)  # type: ignore[union-attr]  # takes_fitted: not None

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        cfg = self._get(self.config_init, "trainer", default={})
        run_root = Path(cfg.get("default_root_dir") or self.plan.root)
        kwargs["logger"] = self._loggers(cfg, run_root)
        kwargs["callbacks"] = list(cfg.get("callbacks") or []) + self._callbacks(cfg, run_root)
        plugins = cfg.get("plugins") or []
        kwargs["plugins"] = (plugins if isinstance(plugins, list) else [plugins]) + [SafeCheckpointIO()]
        if not getattr(self.datamodule, "has_validation", True) and cfg.get("limit_val_batches") in (
            None,
            1.0,
        ):
            kwargs["limit_val_batches"] = 0  # nothing to validate on: skip the loop, not warn about it
        return super().instantiate_trainer(**kwargs)

    def _loggers(self, cfg: Any, run_root: Path) -> Any:
        if self.plan.command != "fit":
            return False  # evaluation writes its own JSON; fit's metrics.csv stays intact
        if cfg.get("logger") not in (None, True):
            return cfg.get("logger")
        return [
            ResumableCSVLogger(run_root, name="", version=""),
            TensorBoardLogger(run_root, name="", version="", default_hp_metric=False),
        ]

    def _callbacks(self, cfg: Any, run_root: Path) -> list[Any]:
        class_names = getattr(self.datamodule, "class_names", None)
        ours: list[Any] = [
            RNGStateCallback(),
            MetricsHistoryCallback(),
            RunArtifacts(
                run_root,
                preset=self.plan.run_name,
                class_names=class_names,
                allow_train_overlap=self.plan.allow_train_overlap,
            ),
            PredictionWriter(run_root, class_names=class_names),
            PreprocessingCallback(),  # class names and preprocessing travel in every checkpoint
            EpochLinePrinter(),  # off a terminal: one line per epoch instead of redrawn bars
        ]
        if cfg.get("enable_checkpointing", True) is not False:
            # Data without a validation split (UCR with val_fraction 0: all of TRAIN trains) keep
            # the epoch of the lowest training loss as `best`, as the archive's published models do.
            validates = getattr(self.datamodule, "has_validation", True)
            ours.append(
                EpochEndCheckpoint(
                    dirpath=run_root / "checkpoints",
                    filename="epoch{epoch:03d}",
                    auto_insert_metric_name=False,
                    monitor="val/loss" if validates else "train/loss",
                    mode="min",
                    save_top_k=1,
                    save_last=True,
                    # Overwrite (atomically) rather than add last-v1.ckpt: `--ckpt_path last` reads
                    # last.ckpt, which must be this run's.
                    enable_version_counter=False,
                )
            )
        return ours

    def _check_model_fits_data(self) -> None:
        """Run one tiny batch before any training so a shape mismatch fails in seconds."""
        dm, task = self.datamodule, self.model
        config = self.config[self.subcommand] if self.subcommand else self.config
        too_big = _batch_memory_problem(dm, config.get("data"))
        if too_big:
            raise CLIError(too_big)
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


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: no check
        return None


def _dims_in(value: Any, shape: list[int]) -> list[int]:
    """The integers of ``value`` (an int or a list of ints) above 1 that are dimensions of ``shape``."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 1 and v in shape]


def _batch_memory_problem(dm: Any, data: Any) -> str | None:
    """One line when one batch of the data's samples (float32) exceeds this machine's memory,
    naming the data argument that sets the largest dimension; checked before anything is allocated.
    """
    memory = _physical_memory()
    shape = [int(d) for d in dm.input_shape]
    batch = max(int(getattr(dm, "batch_size", 1) or 1), 2)  # the shape check itself uses 2 samples
    need = batch * 4 * math.prod(shape)
    if memory is None or need <= memory:
        return None
    args = dict((data.get("init_args") or {}) if data is not None else {})
    # The data's arguments that set a dimension of the sample; the largest is named.
    sizes = {name: max(dims) for name, value in args.items() if (dims := _dims_in(value, shape))}
    culprit = max(sizes, key=sizes.__getitem__, default=None)
    named = f"--data.{culprit}={args[culprit]} makes" if culprit else "the data has"
    return (
        f"{named} samples of shape {tuple(shape)}: a batch of {batch} is {need / 2**30:.1f} GiB as float32, "
        f"more than this machine's {memory / 2**30:.1f} GiB of memory; use smaller sizes"
    )


def _task_of(model_name: Any) -> str | None:
    from cnnlstm.models import list_models, model_info

    return model_info(model_name).task if model_name in list_models() else None


def _check_checkpoint_agrees(plan: RunPlan, model: Any) -> None:
    """Refuse, in one line, a checkpoint of another task or of a model other than the one typed;
    say so in one line when the checkpoint's model takes the place of the config's."""
    hparams = plan.ckpt_hparams
    if not hparams or model is None:
        return
    ckpt_name, ckpt_class = hparams.get("name"), hparams.get("_class_path")
    class_path = model.get("class_path")
    init_args = model.get("init_args") or {}
    name = init_args.get("name") if hasattr(init_args, "get") else None
    ckpt_task, task = _task_of(ckpt_name), _task_of(name)
    if (ckpt_class and class_path and ckpt_class != class_path) or (ckpt_task and task and ckpt_task != task):
        raise CLIError(
            f"the checkpoint is a {ckpt_task or ckpt_class} model ({ckpt_name!r}) but the config asks for a "
            f"{task or class_path} model ({name!r}); give a checkpoint of this task or the config it was "
            "trained with"
        )
    if plan.model_name_flag and ckpt_name and plan.model_name_flag != ckpt_name:
        raise CLIError(
            f"--model.init_args.name={plan.model_name_flag} differs from the checkpoint's model "
            f"{ckpt_name!r}; drop the flag (the checkpoint's model is used) or give a checkpoint of "
            f"{plan.model_name_flag!r}"
        )
    if ckpt_name and name and ckpt_name != name:
        print(
            f"note: the checkpoint's model {ckpt_name!r} is used in place of the config's {name!r}",
            file=sys.stderr,
        )


def _typed_init_args(plan: RunPlan, model: Any) -> dict[str, Any]:
    """The parsed values of the model arguments typed as flags, before a checkpoint replaces them."""
    init_args = model.get("init_args") if model is not None else None
    if not plan.ckpt_hparams or not plan.typed_model_args or init_args is None:
        return {}
    return {k: init_args[k] for k in plan.typed_model_args if k in init_args}


def _reapply_evaluation_args(plan: RunPlan, model: Any, typed: dict[str, Any]) -> None:
    """Typed flags win over the checkpoint for what only changes evaluation (the task's
    ``evaluation_args``: an anomaly task's thresholds, say); the checkpoint's values are the
    defaults. Other typed arguments the checkpoint overrides get a one-line note."""
    if not typed or model is None:
        return
    module, _, class_name = str(model.get("class_path")).rpartition(".")
    task = getattr(importlib.import_module(module), class_name, None) if module else None
    overridable = set(getattr(task, "evaluation_args", ()))
    init_args = model.init_args
    for name, value in typed.items():
        if name in overridable:
            init_args[name] = value
        elif name != "name" and init_args.get(name) != value:
            print(
                f"note: --model.init_args.{name}={value} is not used: the checkpoint's "
                f"{name}={init_args.get(name)!r} is (it is part of the trained model)",
                file=sys.stderr,
            )


class _NoAdvertisements(logging.Filter):
    """Drop Lightning's "💡 Tip: ... try installing <service>" lines (they advertise cloud
    services and say nothing about the run); every other info line stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


def _silence_lightning_tips() -> None:
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoAdvertisements) for f in log.filters):
        log.addFilter(_NoAdvertisements())


def _filter_warnings(*, resuming: bool) -> None:
    """Silence Lightning's advice that does not apply to these runs; show our own deprecations."""
    _silence_lightning_tips()
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    # torch's pytree deprecation raised inside Lightning's own code (not ours, not the user's).
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
    # Metrics are logged per epoch (metrics.csv, TensorBoard); per-step logging is not used, so the
    # advice to lower log_every_n_steps for small datasets is noise.
    warnings.filterwarnings(
        "ignore", message=r"The number of training batches \(\d+\) is smaller than the logging interval"
    )
    if resuming:  # resuming into the run's own folder: its checkpoints are expected to be there
        warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    # Our own deprecations name what a user's config should say instead; Python hides
    # DeprecationWarnings raised inside jsonargparse, so show these ones.
    warnings.filterwarnings("default", category=DeprecationWarning, message=_OUR_DEPRECATIONS)


def run_lightning(command: str, argv: list[str], *, quiet: bool = False) -> int:
    """Run ``cnnlstm COMMAND ARGV`` for a Lightning command, or ``data`` (``data check``).

    Errors propagate (wrap the call in :func:`cnnlstm.cli.errors.guarded` for one-line output).
    """
    allow_overlap = pop_flag(argv, "--allow_train_overlap")
    argv, run_name = resolve_configs(argv)
    if not run_name and any(a in ("-h", "--help") for a in argv):
        run_name = "help"  # Lightning prints the options and exits; nothing is written
    if not run_name:
        raise CLIError(
            f"`cnnlstm {command}` needs --config PRESET_OR_FILE (`cnnlstm presets` lists the presets)"
        )
    if command == "data":
        plan = RunPlan(command, run_name, Path("."))
    else:
        argv, root, hparams, metadata = plan_run(command, argv, run_name)
        typed = get_option(argv, "--model.init_args.name") or get_option(argv, "--model.name")
        plan = RunPlan(
            command, run_name, root, hparams, typed, allow_overlap, metadata, typed_model_args(argv)
        )

    trainer_defaults: dict[str, Any] = {"default_root_dir": str(plan.root)}
    if quiet:
        trainer_defaults.update(enable_progress_bar=False, enable_model_summary=False)
    config_file = "config.yaml" if command == "fit" else f"config_{command}.yaml"
    # One writer per run folder: every command that writes to it locks it (not a DDP worker,
    # which shares rank 0's; not --help).
    asks_help = any(a in ("-h", "--help") for a in argv)
    writes_run = command != "data" and os.environ.get("LOCAL_RANK", "0") == "0" and not asks_help
    with lock_run_folder(plan.root) if writes_run else contextlib.nullcontext(), warnings.catch_warnings():
        if writes_run:
            remove_stale_tmp_files(plan.root)
        _filter_warnings(resuming=command == "fit" and bool(plan.ckpt_hparams))
        cli = CnnLstmCLI(
            plan,
            BaseTask,
            BaseDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            args=argv if command == "data" else [command, *argv],
            run=command != "data",
            trainer_class=Trainer,  # Lightning's, with precision "auto" (bf16 where the hardware has it)
            trainer_defaults=trainer_defaults,
            save_config_kwargs={"overwrite": True, "config_filename": config_file},
            parser_kwargs={"exit_on_error": False, "allow_abbrev": False},
            auto_configure_optimizers=False,
        )
    if command == "data":
        return data_check(cli.datamodule)
    print(f"run folder: {plan.root}")
    if cli.trainer.is_global_zero and (block := format_run_summary(cli.trainer.default_root_dir, command)):
        print(block)
    return 0
