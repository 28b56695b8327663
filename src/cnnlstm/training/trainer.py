"""Lightning's ``Trainer`` with one more ``precision``: ``"auto"``, bf16 where the hardware has it natively.

``precision="auto"`` becomes, when the trainer is built:

- on a CPU (``accelerator="cpu"``, or ``"auto"`` with no GPU): ``"bf16-mixed"`` where the CPU
  computes bf16 natively (AVX512-BF16 or AMX), else ``"32-true"``
  (:func:`~cnnlstm.training.precision.fastest_cpu_precision`);
- on a CUDA GPU: ``"bf16-mixed"`` where the GPU supports bf16 (Ampere and later), else ``"32-true"``;
- anything else (MPS, ...): ``"32-true"``.

Every other value is Lightning's own. A run's summary records the precision it resolved to
(``summary.json``'s ``precision``), since runs in bf16 and float32 differ in the last bits. The
rule looks at the hardware, not the model: convolutions and matrix products gain 2-3x from native
bf16, but a model whose time goes to a stepped LSTM (kept in float32 under autocast) gains little
or loses a little (``benchmarks/cpu_precision.py``); pass ``"32-true"`` for those where it matters.

Example:
    >>> trainer = Trainer(precision="auto", accelerator="cpu", max_steps=1, logger=False,
    ...                   enable_checkpointing=False, enable_progress_bar=False,
    ...                   enable_model_summary=False)
    >>> trainer.precision in ("bf16-mixed", "32-true")
    True
"""

from __future__ import annotations

from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.fabric.connector import _PRECISION_INPUT

from cnnlstm.training.precision import fastest_cpu_precision

__all__ = ["PRECISIONS", "Trainer", "resolve_precision"]


def resolve_precision(precision: Any, accelerator: Any = "auto") -> Any:
    """``precision`` with ``"auto"`` replaced by the fastest safe precision on ``accelerator``.

    >>> resolve_precision("16-mixed", "cpu")
    '16-mixed'
    >>> resolve_precision("auto", "mps")
    '32-true'
    """
    if precision != "auto":
        return precision
    name = accelerator if isinstance(accelerator, str) else type(accelerator).__name__.lower()
    on_gpu = name in ("cuda", "gpu") or (name == "auto" and torch.cuda.is_available())
    if on_gpu:
        return "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"
    if name == "cpu" or name.startswith("cpu") or name == "auto":
        return fastest_cpu_precision()
    return "32-true"


class Trainer(pl.Trainer):
    """:class:`lightning.pytorch.Trainer` that also takes ``precision="auto"`` (see the module)."""

    def __init__(
        self,
        *args: Any,
        precision: _PRECISION_INPUT | Literal["auto"] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            *args, precision=resolve_precision(precision, kwargs.get("accelerator", "auto")), **kwargs
        )


# "auto" and Lightning's precision names (its older aliases, 32, "bf16"..., are left out here).
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true")
