"""The small export the deploy tests share: lrcn_tiny with 3 classes, safetensors only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import cnnlstm
from cnnlstm.deploy import export_model


def export_lrcn_tiny(
    output_dir: Path, *, model: torch.nn.Module | None = None, **extra: Any
) -> dict[str, Any]:
    """Export ``model`` (default: a fresh ``lrcn_tiny`` of 3 classes; clips of 6 frames of 32×32)."""
    return export_model(
        model if model is not None else cnnlstm.create_model("lrcn_tiny", num_classes=3),
        model_name="lrcn_tiny",
        model_kwargs={"num_classes": 3},
        example_input=torch.randn(2, 6, 3, 32, 32),
        output_dir=output_dir,
        formats=["safetensors"],
        **extra,
    )
