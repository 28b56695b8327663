"""The base LightningModule: the network from the registry, optimiser and schedule, loss guard.

A task kind (classification, forecasting, ...) subclasses :class:`BaseTask` and fills in
``configure_losses``, ``configure_metrics`` and the steps. Tasks reach models only through
:func:`cnnlstm.create_model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import lightning.pytorch as pl
import torch
from torch import Tensor

from cnnlstm._io import safe_torch_load
from cnnlstm._validation import check_choice, check_non_negative_float, check_positive_float
from cnnlstm.models import create_model, shape_kwargs_for

__all__ = ["BaseTask", "NonFiniteLossError", "build_kwargs"]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = (None, "cosine", "plateau")
COMPILE_MODES = (
    "default",
    "reduce-overhead",
    "max-autotune",
    "max-autotune-no-cudagraphs",
)  # torch.compile modes


def build_kwargs(
    model_kwargs: dict[str, Any] | None,
    num_classes: int | None,
    *,
    name: str | None = None,
    input_shape: list[int] | None = None,
) -> dict[str, Any]:
    """The ``create_model`` arguments of a task: ``model_kwargs``, plus what the data decides.

    ``num_classes`` and the model's shape arguments (``in_channels`` of sensor series, ...; see
    :func:`~cnnlstm.models.shape_kwargs_for`) are added unless ``model_kwargs`` sets them. Shared by
    the task and by ``cnnlstm export``, which rebuilds the model from a checkpoint's hyper-parameters.
    """
    kwargs = dict(model_kwargs or {})
    if num_classes is not None:
        kwargs.setdefault("num_classes", num_classes)
    if name is not None:
        for argument, value in shape_kwargs_for(name, input_shape).items():
            kwargs.setdefault(argument, value)
    return kwargs


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; training stops and the last good checkpoint stays."""


TaskT = TypeVar("TaskT", bound="BaseTask")


class BaseTask(pl.LightningModule):
    """A model from the registry plus its optimiser.

    Args:
        name: registered model name (``cnnlstm models`` lists them).
        model_kwargs: the model's constructor arguments, e.g. ``{"lstm_hidden": 64}``.
        num_classes: classes, usually linked from the data by the CLI.
        input_shape: one sample's input shape, usually linked from the data by the CLI; kept in
            the checkpoint so that export can build an example batch.
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"`` (momentum 0.9).
        lr: learning rate.
        weight_decay: weight decay.
        scheduler: ``"cosine"`` (to 0 over ``max_epochs``, or step by step over the updates when
            the trainer has ``max_steps``), ``"plateau"`` (halve on a flat
            validation loss) or ``None``.
        class_names: the data's class names, recorded by the CLI so that predictions carry names
            and another tree is evaluated with the same label order.
        compile: compile the model with ``torch.compile(fullgraph=True)`` (``cnnlstm fit
            --compile``): ``True`` for the default mode, or a mode name (``--compile
            reduce-overhead`` captures each training and inference step in CUDA graphs on a GPU,
            which removes the per-step launch overhead of small recurrent steps; on a CPU it is
            the default mode). The weights keep their names, so checkpoints stay interchangeable.
    """

    def __init__(
        self,
        *,
        name: str,
        model_kwargs: dict[str, Any] | None = None,
        num_classes: int | None = None,
        input_shape: list[int] | None = None,
        optimizer: str = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        scheduler: str | None = "cosine",
        class_names: list[str] | None = None,
        compile: bool | str = False,
    ) -> None:
        super().__init__()
        check_choice("optimizer", optimizer, OPTIMIZERS)
        check_choice("scheduler", scheduler, SCHEDULERS)
        check_positive_float("lr", lr)
        check_non_negative_float("weight_decay", weight_decay)
        if isinstance(compile, str):
            check_choice("compile", compile, COMPILE_MODES)
        self.save_hyperparameters()
        self.model = create_model(
            name, **build_kwargs(model_kwargs, num_classes, name=name, input_shape=input_shape)
        )
        if compile:
            mode = None if compile is True or compile == "default" else compile
            self.model.compile(fullgraph=True, mode=mode)  # in place: state_dict keys unchanged
        self.configure_losses()
        self.configure_metrics()

    # -- to fill in by a task kind ---------------------------------------------------------------
    @classmethod
    def from_checkpoint_file(cls: type[TaskT], path: str | Path) -> TaskT:
        """The task a ``cnnlstm fit`` checkpoint holds, in eval mode, read with ``weights_only``.

        Nothing in the file is unpickled; hyper-parameters whose names start with ``_`` (the
        CLI's bookkeeping) are not constructor arguments and are left out.
        """
        checkpoint = safe_torch_load(path)
        missing = [key for key in ("hyper_parameters", "state_dict") if key not in checkpoint]
        if missing:
            raise ValueError(
                f"{str(path)!r} has no {' or '.join(missing)}: it is not a checkpoint written by `cnnlstm fit`"
            )
        hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if not k.startswith("_")}
        task = cls(**hparams)
        task.load_state_dict(checkpoint["state_dict"])
        return task.eval()

    def configure_losses(self) -> None:
        """Set ``self.criterion``."""

    def configure_metrics(self) -> None:
        """Set the metric collections."""

    # -- shared ----------------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def output_mismatch(self, out: Tensor, data: Any) -> str | None:
        """Why ``out`` (the output for ``data.example_input(2)``) does not fit ``data``; None if it does."""
        expected = (2, data.num_classes)
        if tuple(out.shape) != expected:
            return (
                f"outputs {tuple(out.shape)} for a batch of 2 but the data has {data.num_classes} classes; "
                "remove a conflicting num_classes from --model.model_kwargs"
            )
        return None

    def check_loss(self, loss: Tensor, batch_idx: int) -> None:
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"loss is {loss.item()} at epoch {self.current_epoch}, batch {batch_idx}; training stopped "
                "and the last complete checkpoint is kept. Lower --model.lr or check that batch's data"
            )

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        params = self.parameters()
        lr, weight_decay = hp["lr"], hp["weight_decay"]
        optimizer: torch.optim.Optimizer
        if hp["optimizer"] == "adam":
            optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        elif hp["optimizer"] == "adamw":
            optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        else:
            optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
        if hp["scheduler"] is None:
            return optimizer
        if hp["scheduler"] == "cosine":
            trainer = self._trainer
            if trainer is not None and trainer.max_steps > 0:
                # A budget of updates (--trainer.max_steps): the cosine runs over them, step by step.
                steps = max(1, int(trainer.estimated_stepping_batches))
                cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
                return {"optimizer": optimizer, "lr_scheduler": {"scheduler": cosine, "interval": "step"}}
            epochs = self.trainer.max_epochs if self.trainer and self.trainer.max_epochs else 1
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": cosine, "interval": "epoch"}}
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": plateau, "monitor": "val/loss", "interval": "epoch"},
        }
