"""The interfaces models share: :class:`ClassifierBase` (classifiers) and :class:`StreamingModel` (streaming).

Every classification model subclasses :class:`ClassifierBase`, so each has the same
``forward_features`` / ``forward_head`` / ``reset_classifier`` / ``num_features`` /
``num_classes`` (the interface of timm's models). A model that can run one time step at a time
has ``init_state`` and ``step`` (:class:`StreamingModel`) and is registered with ``streams=True``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from cnnlstm._validation import check_dropout, check_positive_int
from cnnlstm.nn.heads import classifier_layer

__all__ = ["ClassifierBase", "StreamingModel", "can_stream"]


class ClassifierBase(nn.Module):
    """A classifier as features, then a head: ``forward(x) == forward_head(forward_features(x))``.

    * ``forward_features(x)``: what the model computes before its head (a feature sequence
      ``(B, T', F)``, a map ``(B, C, H, W)``, or one vector per sample ``(B, F)``).
    * ``forward_head(features, pre_logits=False)``: :meth:`pool_features` to ``(B, num_features)``,
      dropout, the linear layer ``fc``; the logits ``(B, num_classes)``, or the pooled features
      with ``pre_logits=True``.
    * ``reset_classifier(num_classes)``: a fresh linear layer (0: none, the model then returns
      its pooled features, e.g. for transfer learning).

    A subclass implements :meth:`forward_features`, calls :meth:`init_classifier` in its
    constructor, and overrides :meth:`pool_features` when its features are not one vector per
    sample. The head's layers are the model's ``head_drop`` and ``fc``.

    Example:
        >>> class MeanOverTime(ClassifierBase):
        ...     def __init__(self, *, num_classes: int = 3, in_features: int = 4) -> None:
        ...         super().__init__()
        ...         self.init_classifier(num_features=in_features, num_classes=num_classes)
        ...     def forward_features(self, x):  # (B, T, F)
        ...         return x
        ...     def pool_features(self, features):
        ...         return features.mean(dim=1)
        >>> model = MeanOverTime()
        >>> model(torch.randn(2, 5, 4)).shape, model.num_classes
        (torch.Size([2, 3]), 3)
        >>> model.reset_classifier(0)
        >>> model(torch.randn(2, 5, 4)).shape
        torch.Size([2, 4])
    """

    num_features: int
    step_output = "logits"  # what ``step`` returns, for the models that stream

    def init_classifier(self, *, num_features: int, num_classes: int, dropout: float = 0.0) -> None:
        """Build the head: dropout ``dropout`` and a linear layer from ``num_features`` to ``num_classes``."""
        self.num_features = check_positive_int("num_features", num_features)
        self.head_drop = nn.Dropout(check_dropout(dropout))
        self.fc = classifier_layer(self.num_features, num_classes)

    @property
    def num_classes(self) -> int:
        """Outputs of the classifier; 0 when it has none (the model returns its pooled features)."""
        return self.fc.out_features if isinstance(self.fc, nn.Linear) else 0

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the linear layer with a fresh one for ``num_classes`` outputs (0: none)."""
        self.fc = classifier_layer(self.num_features, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward_features")

    def pool_features(self, features: Tensor) -> Tensor:
        """``forward_features``' output → one vector per sample ``(B, num_features)``; here, as it is."""
        return features

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        pooled = self.head_drop(self.pool_features(features))
        return pooled if pre_logits else self.fc(pooled)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


@runtime_checkable
class StreamingModel(Protocol):
    """A model that runs one time step at a time, with a state carried between steps.

    After steps on ``x[:, 0] ... x[:, t]``, ``step`` returns what ``model(x[:, : t + 1])`` returns
    (in eval mode), with the same work per step however many steps came before. ``init_state``
    takes the batch size, a device and the sizes some models need (``frame_size=(H, W)``) and
    returns the state before the first step: a tuple of tensors when the step can be exported
    (:func:`cnnlstm.deploy.export_step`), any object otherwise. ``step_output`` says what a
    step returns: ``"logits"`` (classifiers) or ``"frames"`` (forecasters).
    """

    step_output: str

    def init_state(self, batch_size: int, device: torch.device | None = None, **sizes: Any) -> Any: ...

    def step(self, frame: Tensor, state: Any) -> tuple[Tensor, Any]: ...


def can_stream(model: object) -> bool:
    """Whether ``model`` has ``init_state`` and ``step`` (see :class:`StreamingModel`)."""
    return callable(getattr(model, "init_state", None)) and callable(getattr(model, "step", None))
