"""Deployment: export a model (safetensors, ONNX, torch.export) checked against eager PyTorch,
load it back without unpickling (with its class names and preprocessing), export the one-frame
streaming step and an ONNX model of any clip length that loops over it, and stream live inputs.

Every submodule is imported on first use, so ``import cnnlstm.deploy`` stays light; ONNX,
onnxruntime and safetensors load only when a function that needs them runs.

Example:
    >>> from cnnlstm.deploy import Stream, export_model, load_pretrained
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AnomalyStream",
    "ExportVerificationError",
    "Preprocess",
    "Pretrained",
    "Stream",
    "export_model",
    "export_sequence",
    "export_step",
    "load_pretrained",
]

_WHERE = {
    "ExportVerificationError": "cnnlstm.deploy._common",
    "export_model": "cnnlstm.deploy.export",
    "load_pretrained": "cnnlstm.deploy.pretrained",
    "Pretrained": "cnnlstm.deploy.pretrained",
    "Preprocess": "cnnlstm.deploy.preprocess",
    "export_step": "cnnlstm.deploy.step",
    "export_sequence": "cnnlstm.deploy.sequence",
    "Stream": "cnnlstm.deploy.stream",
    "AnomalyStream": "cnnlstm.deploy.anomaly_stream",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'cnnlstm.deploy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
