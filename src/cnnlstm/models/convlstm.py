"""ConvLSTM classifiers: a per-frame convolutional stem, a ConvLSTM stack, pooling and a head.

Paper:
    Shi et al., "Convolutional LSTM Network: A Machine Learning Approach for Precipitation
    Nowcasting", NeurIPS 2015.

Input frames ``(B, T, C, H, W)``; output logits ``(B, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._validation import check_choice, check_dropout, check_positive_int
from cnnlstm.models._base import ClassifierBase
from cnnlstm.models._registry import register_model, with_defaults
from cnnlstm.nn import ConvLSTM, FrameCNN, TimeDistributed
from cnnlstm.nn.convlstm import flatten_state, unflatten_state

__all__ = ["ConvLSTMClassifier"]


class ConvLSTMClassifier(ClassifierBase):
    """Stacked ConvLSTM over (optionally downsampled) frames; the final state is pooled and classified.

    Args:
        num_classes: outputs (0: return pooled features).
        in_channels: channels per frame.
        stem_channels: channels of per-frame conv blocks before the ConvLSTM (each halves H and W);
            ``()`` feeds raw frames to the ConvLSTM.
        hidden_channels: ConvLSTM channels per layer.
        kernel_size: ConvLSTM kernel size (odd).
        peephole: use the paper's peephole connections.
        norm: ConvLSTM gate normalisation (``None``, ``"layer"``, ``"group"``, ``"layer_split"``).
        dropout: dropout between ConvLSTM layers and before the linear layer.
        recurrent_dropout, zoneout: inside the ConvLSTM's recurrence (see :class:`cnnlstm.nn.ConvLSTM`).
        pool: spatial pooling of the final state: ``"avg"``, ``"max"`` (suits small moving
            objects, whose evidence is local) or ``"avgmax"`` (both, concatenated).

    Example:
        >>> model = ConvLSTMClassifier(num_classes=4, stem_channels=(8,), hidden_channels=[8, 8])
        >>> model(torch.randn(2, 6, 3, 32, 32)).shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        stem_channels: Sequence[int] = (32, 64),
        hidden_channels: Sequence[int] = (64, 64),
        kernel_size: int = 3,
        peephole: bool = False,
        norm: str | None = None,
        dropout: float = 0.0,
        pool: str = "avgmax",
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.pool_kind = check_choice("pool", pool, ("avg", "max", "avgmax"))
        dropout = check_dropout(dropout)
        if len(stem_channels):
            stem = FrameCNN(in_channels=in_channels, channels=stem_channels, global_pool=None)
            self.stem: nn.Module = TimeDistributed(stem)
            recurrent_in = stem.out_features
        else:
            self.stem = nn.Identity()
            recurrent_in = in_channels
        self.convlstm = ConvLSTM(
            recurrent_in,
            list(hidden_channels),
            kernel_size,
            peephole=peephole,
            norm=check_choice("norm", norm, (None, "layer", "group", "layer_split")),
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            zoneout=zoneout,
            return_sequences=False,
        )
        num_features = self.convlstm.out_channels * (2 if pool == "avgmax" else 1)
        self.init_classifier(num_features=num_features, num_classes=num_classes, dropout=dropout)

    def forward_features(self, x: Tensor) -> Tensor:
        """Frames ``(B, T, C, H, W)`` → final hidden state of the last layer ``(B, C', H', W')``."""
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ValueError(
                f"ConvLSTMClassifier expects frames (B, T, C, H, W) with C={self.in_channels}; "
                f"received {tuple(x.shape)}"
            )
        maps = self.stem(x)  # (B, T, C_stem, H / 2^k, W / 2^k)
        last, _ = self.convlstm(maps)  # (B, C', H', W')
        return last

    def pool_features(self, features: Tensor) -> Tensor:
        """The final state ``(B, C', H', W')`` pooled over space → ``(B, num_features)``."""
        pooled = []
        if self.pool_kind in ("avg", "avgmax"):
            pooled.append(features.mean(dim=(-2, -1)))
        if self.pool_kind in ("max", "avgmax"):
            pooled.append(features.amax(dim=(-2, -1)))
        return torch.cat(pooled, dim=1) if len(pooled) > 1 else pooled[0]

    def init_state(
        self, batch_size: int, device: torch.device | None = None, *, frame_size: tuple[int, int]
    ) -> tuple[Tensor, ...]:
        """The state before the first frame of :meth:`step`: ``(h_1, c_1, h_2, c_2, ...)``, zeros.

        ``frame_size`` ``(H, W)`` of the input frames sizes the maps. Only a unidirectional
        ConvLSTM can stream.
        """
        if self.convlstm.bidirectional:
            raise ValueError("a bidirectional ConvLSTM reads the future, so it cannot run frame by frame")
        probe = torch.zeros(1, 1, self.in_channels, *frame_size, device=device)
        map_size = self.stem(probe).shape[-2:]  # the stem's map size for these frames
        return flatten_state(self.convlstm.zero_state(batch_size, map_size, device=device))

    def step(self, frame: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One frame ``(B, C, H, W)`` → logits of the sequence so far, new state.

        After frames ``x[:, 0] ... x[:, t]`` the logits equal ``model(x[:, : t + 1])``.
        """
        maps = self.stem(frame[:, None])  # (B, 1, C_stem, h, w)
        last, hidden = self.convlstm(maps, unflatten_state(state))  # (B, C', h, w)
        return self.forward_head(last), flatten_state(hidden)


_VIDEO: dict[str, Any] = dict(
    task="classification", modality="video", shape_kwargs={"in_channels": 1}, streams=True
)


@register_model(**_VIDEO, input_size=(16, 3, 112, 112), test_input_size=(4, 3, 64, 64))
def convlstm_classifier(**kwargs: Any) -> ConvLSTMClassifier:
    """Frame stem (32, 64) + ConvLSTM 2×64 (3×3) + average and max pooling + linear."""
    return with_defaults(ConvLSTMClassifier, {}, kwargs)


@register_model(**_VIDEO, input_size=(6, 3, 32, 32))
def convlstm_classifier_tiny(**kwargs: Any) -> ConvLSTMClassifier:
    """Tiny ConvLSTM classifier for tests and tutorials (stem 8; ConvLSTM 2×8; max pooling)."""
    return with_defaults(
        ConvLSTMClassifier, dict(stem_channels=(8,), hidden_channels=(8, 8), pool="max"), kwargs
    )
