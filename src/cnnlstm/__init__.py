"""cnnlstm: CNN+LSTM sequence models for PyTorch.

Example:
    >>> import cnnlstm, torch
    >>> model = cnnlstm.create_model("lrcn_tiny", num_classes=3)
    >>> model(torch.randn(2, 6, 3, 32, 32)).shape
    torch.Size([2, 3])
"""

__version__ = "0.1.0"

from cnnlstm.export import load_pretrained  # noqa: E402
from cnnlstm.models import create_model, list_models, model_info  # noqa: E402

__all__ = ["__version__", "create_model", "list_models", "load_pretrained", "model_info"]
