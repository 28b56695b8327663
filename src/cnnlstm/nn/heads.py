"""Classification heads over sequences of features."""

from __future__ import annotations

from torch import Tensor, nn

from cnnlstm._validation import check_choice, check_dropout, check_num_classes, check_positive_int

__all__ = ["SequenceClassifierHead", "classifier_layer"]


def classifier_layer(in_features: int, num_classes: int) -> nn.Module:
    """The last layer of a classifier: ``Linear(in_features, num_classes)``, or an identity for 0 classes.

    Example:
        >>> classifier_layer(8, 3), classifier_layer(8, 0)
        (Linear(in_features=8, out_features=3, bias=True), Identity())
    """
    num_classes = check_num_classes(num_classes)
    return nn.Linear(in_features, num_classes) if num_classes else nn.Identity()


class SequenceClassifierHead(nn.Module):
    """Pool a feature sequence over time, then dropout and a linear layer.

    Args:
        in_features: ``F`` of the input ``(B, T, F)``.
        num_classes: outputs; 0 gives the pooled features (no linear layer), as in timm.
        pool: ``"last"`` takes step ``T - 1`` (a unidirectional LSTM's summary of the whole
            sequence); ``"mean"`` averages over time.
        dropout: dropout before the linear layer, in training only.

    Example:
        >>> SequenceClassifierHead(in_features=16, num_classes=5)(torch.randn(2, 7, 16)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self, *, in_features: int, num_classes: int, pool: str = "last", dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features)
        self.pool = check_choice("pool", pool, ("last", "mean"))
        self.drop = nn.Dropout(check_dropout(dropout))
        self.num_classes = 0
        self.fc: nn.Module = nn.Identity()
        self.reset(num_classes)

    def reset(self, num_classes: int) -> None:
        """Replace the linear layer with a fresh one for ``num_classes`` outputs (0: none)."""
        self.fc = classifier_layer(self.in_features, num_classes)
        self.num_classes = num_classes

    def forward(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"SequenceClassifierHead expects (B, T, F); received {tuple(x.shape)}")
        pooled = x[:, -1] if self.pool == "last" else x.mean(dim=1)
        pooled = self.drop(pooled)
        return pooled if pre_logits else self.fc(pooled)
