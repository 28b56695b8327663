"""Models behind one registry: ``create_model(name, **kwargs)`` and ``list_models(pattern)``.

Importing this package imports every model file, which registers its variants.
"""

# Importing each family's module registers its models.
from cnnlstm.models import (  # noqa: F401
    anomaly,
    convlstm,
    forecasting,
    recurrent_forecasters,
    sensor,
    speech,
    translation,
    video,
)
from cnnlstm.models._base import ClassifierBase, StreamingModel, can_stream
from cnnlstm.models._examples import example_inputs
from cnnlstm.models._registry import (
    TASKS,
    ModelInfo,
    UnknownModelError,
    create_model,
    list_models,
    load_weights,
    model_info,
    register_deprecated_alias,
    register_model,
    shape_kwargs_for,
)
from cnnlstm.models.convlstm import ConvLSTMClassifier
from cnnlstm.models.translation import Translator
from cnnlstm.models.video import LRCN, Conv3dLSTMClassifier, FrameMean

__all__ = [
    "LRCN",
    "TASKS",
    "ClassifierBase",
    "Conv3dLSTMClassifier",
    "ConvLSTMClassifier",
    "FrameMean",
    "ModelInfo",
    "StreamingModel",
    "Translator",
    "UnknownModelError",
    "can_stream",
    "create_model",
    "example_inputs",
    "list_models",
    "load_weights",
    "model_info",
    "register_deprecated_alias",
    "register_model",
    "shape_kwargs_for",
]
