"""Store what an export needs besides the weights (class names, preprocessing) in every checkpoint.

:class:`PreprocessingCallback` writes ``checkpoint["cnnlstm"] = {"class_names": [...],
"preprocessing": {...}}``, where ``preprocessing`` is the data module's
:meth:`~cnnlstm.data.base.BaseDataModule.preprocessing` (JSON: frame size, number of frames,
sampling, mean/std; channel names and normalisation statistics for sensors). ``cnnlstm export``
copies both into ``config.json``, so a deployment does not need the training data.

Everything stored is plain JSON (lists, dicts, strings, numbers), so the checkpoint still loads
with ``torch.load(weights_only=True)``.

Example:
    >>> import lightning.pytorch as pl
    >>> trainer = pl.Trainer(callbacks=[PreprocessingCallback()], logger=False)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

__all__ = ["CHECKPOINT_KEY", "PreprocessingCallback", "export_metadata"]

CHECKPOINT_KEY = "cnnlstm"
"""The checkpoint entry holding ``{"class_names": ..., "preprocessing": ...}``."""


def _class_names(datamodule: Any, pl_module: pl.LightningModule) -> list[str] | None:
    """The data module's class names; else the task's recorded ones; None (forecasting) without."""
    try:
        names = getattr(datamodule, "class_names", None) if datamodule is not None else None
    except (NotImplementedError, AttributeError):  # a data module without classes
        names = None
    if not names:
        names = getattr(pl_module, "hparams", {}).get("class_names")
    return [str(n) for n in names] if names else None


def export_metadata(datamodule: Any, pl_module: pl.LightningModule) -> dict[str, Any]:
    """``{"class_names": [...] or None, "preprocessing": {...}}`` for a checkpoint; checked to be JSON.

    Example:
        >>> from types import SimpleNamespace
        >>> dm = SimpleNamespace(class_names=["a", "b"], preprocessing=lambda: {"mean": [0.5]})
        >>> export_metadata(dm, SimpleNamespace(hparams={}))
        {'class_names': ['a', 'b'], 'preprocessing': {'mean': [0.5]}}
    """
    describe = getattr(datamodule, "preprocessing", None)
    preprocessing = describe() if callable(describe) else {}
    if not isinstance(preprocessing, dict):
        raise TypeError(
            f"{type(datamodule).__name__}.preprocessing() must return a dict; "
            f"received {type(preprocessing).__name__}"
        )
    try:
        # A round trip through JSON: what the checkpoint holds is what config.json will hold.
        preprocessing = json.loads(json.dumps(preprocessing, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{type(datamodule).__name__}.preprocessing() is not JSON ({err}); return lists, dicts, "
            "strings and finite numbers"
        ) from None
    return {"class_names": _class_names(datamodule, pl_module), "preprocessing": preprocessing}


class PreprocessingCallback(Callback):
    """Write :func:`export_metadata` of the trainer's data module into every checkpoint.

    Example:
        >>> callback = PreprocessingCallback()
        >>> callback.state_key
        'PreprocessingCallback'
    """

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        # Trainer.datamodule is set by fit/validate/test (untyped in Lightning's stubs)
        checkpoint[CHECKPOINT_KEY] = export_metadata(getattr(trainer, "datamodule", None), pl_module)
