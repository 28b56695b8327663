"""cnnlstm: CNN+LSTM sequence models for PyTorch.

``import cnnlstm`` loads the layers and the model registry only; the exporter, ONNX and Lightning
load when something that needs them is used (``cnnlstm.load_pretrained`` imports
:mod:`cnnlstm.deploy.pretrained` on first access).

Example:
    >>> import cnnlstm, torch
    >>> model = cnnlstm.create_model("lrcn_tiny", num_classes=3)
    >>> model(torch.randn(2, 6, 3, 32, 32)).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

from typing import Any

from cnnlstm._version import __version__
from cnnlstm.models import create_model, list_models, model_info

__all__ = ["__version__", "create_model", "list_models", "load_pretrained", "model_info"]


def __getattr__(name: str) -> Any:
    if name == "load_pretrained":  # lazy: keeps `import cnnlstm` free of the exporter
        from cnnlstm.deploy.pretrained import load_pretrained

        return load_pretrained
    raise AttributeError(f"module 'cnnlstm' has no attribute {name!r}")
