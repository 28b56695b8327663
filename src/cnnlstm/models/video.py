"""Video classifiers: a Conv3d stem + LSTM, LRCN, and a frame-mean baseline without recurrence.

Papers:
    Donahue et al., "Long-term Recurrent Convolutional Networks for Visual Recognition and
    Description", CVPR 2015 (LRCN: a CNN on every frame, an LSTM over the frame features).

All models take frames ``(B, T, C, H, W)`` and return logits ``(B, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._validation import check_choice, check_dropout, check_positive_int, to_tuple
from cnnlstm.models._base import ClassifierBase
from cnnlstm.models._registry import register_deprecated_alias, register_model, with_defaults
from cnnlstm.nn import LSTM, Conv3dStem, FrameCNN, SequenceClassifierHead, TimeDistributed
from cnnlstm.nn.backbones import TORCHVISION_BACKBONES, TorchvisionBackbone
from cnnlstm.nn.conv3d_stream import Conv3dStemStream, StemStreamState

__all__ = ["LRCN", "Conv3dLSTMClassifier", "FrameMean"]


def _check_frames(model: nn.Module, x: Tensor, in_channels: int) -> None:
    if x.dim() != 5 or x.shape[2] != in_channels:
        raise ValueError(
            f"{type(model).__name__} expects frames (B, T, C, H, W) with C={in_channels}; "
            f"received {tuple(x.shape)}"
        )


class _SequenceClassifier(ClassifierBase):
    """A video classifier whose head is a :class:`SequenceClassifierHead` on ``self.head``.

    The head (pooling over time, dropout, ``head.fc``) is one module, as the models' checkpoints
    name it; subclasses set ``self.head`` and ``self.num_features`` and implement
    ``forward_features(x) -> (B, T', F)``.
    """

    head: SequenceClassifierHead

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def reset_classifier(self, num_classes: int) -> None:
        self.head.reset(num_classes)

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(features, pre_logits=pre_logits)

    # -- streaming: one frame at a time; states are tuples of tensors (exportable) ------------------
    def _head_state(self, batch_size: int, device: torch.device | None) -> tuple[Tensor, Tensor]:
        """``(running sum (B, F), frames seen (B, 1))`` for the mean pool (unused by the last-step pool)."""
        total = torch.zeros(batch_size, self.head.in_features, device=device)
        return total, torch.zeros(batch_size, 1, device=device)

    def _head_step(self, out: Tensor, total: Tensor, count: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Logits after a step whose sequence output is ``out`` ``(B, F)``, and the new running sum/count."""
        total, count = total + out, count + 1
        pooled = total / count if self.head.pool == "mean" else out
        return self.head(pooled[:, None]), total, count  # pooling one step returns it


@dataclass(frozen=True)
class Conv3dLSTMStreamState:
    """What :meth:`Conv3dLSTMClassifier.step` carries from frame to frame.

    ``stem``: the stem's bounded frame buffers; ``h``, ``c``: the LSTM state ``(layers, B, hidden)``
    after the stem outputs that are final; ``total``, ``count``: running sum ``(B, hidden)`` and
    number ``(B, 1)`` of those LSTM outputs; ``last``: the latest of them ``(B, hidden)``.
    """

    stem: StemStreamState
    h: Tensor
    c: Tensor
    total: Tensor
    count: Tensor
    last: Tensor


class Conv3dLSTMClassifier(_SequenceClassifier):
    """A Conv3d stem, an LSTM over its time steps, and a linear layer on the last (or mean) step.

    Stem: Conv3d(C→32, k3, p1) → BatchNorm3d → ReLU → MaxPool3d(2), then the same with 32→64.
    Its output ``(B, 64, T', H', W')`` becomes one feature vector per pooled time step,
    ``(B, T', 64·H'·W')``, read by a 2-layer LSTM of 128 units. The LSTM's input size follows
    from ``frame_size`` (``H' = H // 4``, ``W' = W // 4``), so frames of another size are refused
    with an error saying so. ``norm="none"`` drops the BatchNorm3d layers; ``docs/models.md``
    tells why they are there by default.

    Args:
        num_classes: outputs of the linear layer (0: return pooled features).
        in_channels: channels per frame.
        frame_size: ``(H, W)`` of the input frames; sets the LSTM input size.
        conv_channels: output channels of the Conv3d blocks.
        lstm_hidden: LSTM hidden size.
        lstm_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers and before the linear layer.
        pool: ``"last"`` or ``"mean"`` over the LSTM outputs.
        norm: ``"batch"`` (BatchNorm3d in the stem) or ``"none"`` (plain Conv3d → ReLU blocks).

    Note that the two MaxPool3d(2) also divide the time axis by 4: clips need ``T >= 4``.

    Example:
        >>> model = Conv3dLSTMClassifier(num_classes=10, frame_size=(64, 64))
        >>> model(torch.randn(2, 8, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        frame_size: int | Sequence[int] = (112, 112),
        conv_channels: Sequence[int] = (32, 64),
        lstm_hidden: int = 128,
        lstm_layers: int = 2,
        dropout: float = 0.0,
        pool: str = "last",
        norm: str | None = "batch",
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.frame_size = to_tuple("frame_size", frame_size, 2)
        dropout = check_dropout(dropout)
        self.stem = Conv3dStem(
            in_channels=in_channels, channels=conv_channels, kernel_size=3, pool=2, norm=norm
        )
        self.min_frames = self.stem.pool[0] ** len(self.stem.channels)
        _, h_out, w_out = self.stem.output_size(self.min_frames, *self.frame_size)
        if h_out < 1 or w_out < 1:
            raise ValueError(
                f"frame_size is too small for {len(self.stem.channels)} poolings by 2; "
                f"received frame_size={frame_size!r}"
            )
        lstm_input = self.stem.out_channels * h_out * w_out
        self.lstm = LSTM(
            lstm_input,
            lstm_hidden,
            lstm_layers,
            batch_first=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
        )
        self.num_features = lstm_hidden
        self.head = SequenceClassifierHead(
            in_features=lstm_hidden, num_classes=num_classes, pool=pool, dropout=dropout
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """Frames ``(B, T, C, H, W)`` → LSTM outputs ``(B, T // 4, lstm_hidden)``."""
        _check_frames(self, x, self.in_channels)
        if tuple(x.shape[-2:]) != self.frame_size:
            raise ValueError(
                f"{type(self).__name__} was built for frames of {self.frame_size}; received "
                f"{tuple(x.shape[-2:])}. Build it with frame_size={tuple(x.shape[-2:])} or resize the frames"
            )
        if x.shape[1] < self.min_frames:
            raise ValueError(f"clips need at least {self.min_frames} frames; received T={x.shape[1]}")
        feats = self.stem(x.permute(0, 2, 1, 3, 4))  # (B, C, T, H, W) -> (B, C', T', H', W')
        feats = feats.permute(0, 2, 1, 3, 4).flatten(2)  # (B, T', C'·H'·W'): one vector per step
        out, _ = self.lstm(feats)  # (B, T', lstm_hidden)
        return out

    @property
    def min_steps(self) -> int:
        """Frames before the first output (the temporal poolings need ``min_frames``)."""
        return self.min_frames

    def init_state(
        self, batch_size: int, device: torch.device | None = None, **_: Any
    ) -> Conv3dLSTMStreamState:
        """The state before the first frame of :meth:`step` (empty buffers, zero LSTM state)."""
        h = torch.zeros(self.lstm.num_layers, batch_size, self.lstm.hidden_size, device=device)
        out = torch.zeros(batch_size, self.lstm.hidden_size, device=device)
        count = torch.zeros(batch_size, 1, device=device)
        stem = Conv3dStemStream(self.stem).init_state()
        return Conv3dLSTMStreamState(stem, h, torch.zeros_like(h), out, count, out)

    def step(self, frame: Tensor, state: Conv3dLSTMStreamState) -> tuple[Tensor, Conv3dLSTMStreamState]:
        """One frame ``(B, C, H, W)`` → logits of the clip so far ``(B, num_classes)``, new state.

        The stem's 'same' temporal padding reads one frame ahead, so its last outputs on a clip
        depend on the clip's end; the state keeps what later frames cannot change and recomputes
        the rest (at most two LSTM steps) on every frame, so from frame ``min_steps`` on the
        logits equal ``model(x[:, : t + 1])`` (in eval mode), and before it they are those of an
        empty clip (the head on a zero state). The work per frame is bounded: about one Conv3d
        step per block plus the provisional tail, and up to three LSTM steps. The state holds
        Python-side buffers, so this step streams in Python (:class:`cnnlstm.deploy.Stream`)
        but does not export to ONNX.
        """
        expected = (self.in_channels, *self.frame_size)
        if frame.dim() != 4 or tuple(frame.shape[1:]) != expected:
            raise ValueError(
                f"{type(self).__name__}.step expects one frame (B, {self.in_channels}, "
                f"{self.frame_size[0]}, {self.frame_size[1]}); received {tuple(frame.shape)}"
            )
        final, tail, stem_state = Conv3dStemStream(self.stem).step(frame, state.stem)
        # the stem output that later frames cannot change (if any) moves the kept LSTM state on
        new_state = self._lstm_steps([] if final is None else [final], replace(state, stem=stem_state))
        # the outputs that read the clip's end padding run on a copy: they are recomputed next frame
        seen = self._lstm_steps(tail, new_state)
        pooled = seen.total / seen.count.clamp(min=1) if self.head.pool == "mean" else seen.last
        return self.head(pooled[:, None]), new_state

    def _lstm_steps(self, features: list[Tensor], state: Conv3dLSTMStreamState) -> Conv3dLSTMStreamState:
        """``state`` after LSTM steps on stem outputs ``(B, C', H', W')``, in one LSTM call."""
        if not features:
            return state
        out, (h, c) = self.lstm(torch.stack(features, 1).flatten(2), (state.h, state.c))  # (B, n, hidden)
        return replace(
            state,
            h=h,
            c=c,
            total=state.total + out.sum(1),
            count=state.count + len(features),
            last=out[:, -1],
        )


def _frame_encoder(
    backbone: str,
    *,
    in_channels: int,
    cnn_channels: Sequence[int],
    frame_pool_size: int,
    weights: str | None,
    freeze: bool,
) -> FrameCNN | TorchvisionBackbone:
    """LRCN's frame encoder ``(N, C, H, W) -> (N, F)``: our frame CNN, or a torchvision network."""
    check_choice("backbone", backbone, ("cnn", *TORCHVISION_BACKBONES))
    if backbone != "cnn":
        if in_channels != 3:
            raise ValueError(f"torchvision backbones take RGB frames; received in_channels={in_channels!r}")
        return TorchvisionBackbone(name=backbone, weights=weights, freeze=freeze)
    if weights is not None or freeze:
        raise ValueError(
            "backbone_weights and freeze_backbone apply to torchvision backbones; "
            f"received backbone='cnn' with backbone_weights={weights!r}, freeze_backbone={freeze!r}"
        )
    return FrameCNN(
        in_channels=in_channels, channels=cnn_channels, global_pool="avg", pool_size=frame_pool_size
    )


class LRCN(_SequenceClassifier):
    """LRCN: a 2-D CNN on every frame (one batched call over ``B·T`` frames), an LSTM, a head.

    Args:
        num_classes: outputs (0: return pooled features).
        in_channels: channels per frame.
        cnn_channels: output channels of the frame CNN's blocks (each halves H and W).
        frame_pool_size: the frame CNN average-pools its map to this grid (1: global pooling);
            a grid keeps coarse positions, which motion needs.
        lstm_hidden: LSTM hidden size.
        lstm_layers: stacked LSTM layers.
        bidirectional: bidirectional LSTM (use ``pool="mean"`` with it).
        dropout: dropout between LSTM layers and before the linear layer.
        pool: ``"last"`` or ``"mean"`` over the LSTM outputs.
        backbone: ``"cnn"`` (our frame CNN, sized by ``cnn_channels`` and ``frame_pool_size``) or
            a torchvision network (``"resnet18"``, ``"mobilenet_v3_small"`` ...; needs the
            ``[vision]`` extra), used without its classifier.
        backbone_weights: for a torchvision backbone: ``None`` (random), a torchvision weights
            name such as ``"DEFAULT"`` (downloaded once by torchvision into its hub cache), or a
            local ``.pth``/``.safetensors`` file in torchvision's parameter names.
        freeze_backbone: keep a torchvision backbone's weights and BatchNorm statistics fixed.

    Frames of any size ≥ ``2 ** len(cnn_channels)`` pixels are accepted (global average pooling).
    A torchvision backbone expects frames normalised with ImageNet's mean and std, the video
    data's default.

    Example:
        >>> model = LRCN(num_classes=5, cnn_channels=(16, 32), lstm_hidden=64)
        >>> model(torch.randn(2, 8, 3, 64, 64)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        cnn_channels: Sequence[int] = (32, 64, 128),
        frame_pool_size: int = 1,
        lstm_hidden: int = 256,
        lstm_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        pool: str = "last",
        backbone: str = "cnn",
        backbone_weights: str | None = None,
        freeze_backbone: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        dropout = check_dropout(dropout)
        cnn = _frame_encoder(
            backbone,
            in_channels=in_channels,
            cnn_channels=cnn_channels,
            frame_pool_size=frame_pool_size,
            weights=backbone_weights,
            freeze=freeze_backbone,
        )
        self.encoder = TimeDistributed(cnn)
        self.lstm = LSTM(
            cnn.out_features,
            lstm_hidden,
            lstm_layers,
            batch_first=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        self.num_features = lstm_hidden * (2 if bidirectional else 1)
        self.head = SequenceClassifierHead(
            in_features=self.num_features, num_classes=num_classes, pool=pool, dropout=dropout
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """Frames ``(B, T, C, H, W)`` → LSTM outputs ``(B, T, num_features)``."""
        _check_frames(self, x, self.in_channels)
        frame_features = self.encoder(x)  # (B·T, C, H, W) through the CNN -> (B, T, F)
        out, _ = self.lstm(frame_features)
        return out

    def init_state(self, batch_size: int, device: torch.device | None = None, **_: Any) -> tuple[Tensor, ...]:
        """The state before the first frame of :meth:`step`: ``(h, c, running sum, count)``, zeros.

        Only a unidirectional LSTM can stream.
        """
        if self.lstm.bidirectional:
            raise ValueError(
                "a bidirectional LSTM reads the future, so it cannot run frame by frame; "
                "build the model with bidirectional=False to stream"
            )
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        h = torch.zeros(shape, device=device)
        return (h, torch.zeros_like(h), *self._head_state(batch_size, device))

    def step(self, frame: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One frame ``(B, C, H, W)`` → logits of the sequence so far ``(B, num_classes)``, new state.

        After frames ``x[:, 0] ... x[:, t]`` the logits equal ``model(x[:, : t + 1])``; the work per
        frame is one CNN call and one LSTM step, whatever the number of frames seen.
        """
        h, c, total, count = state
        features = self.encoder.module(frame)  # (B, F)
        out, (h, c) = self.lstm(features[:, None], (h, c))  # (B, 1, H)
        logits, total, count = self._head_step(out[:, 0], total, count)
        return logits, (h, c, total, count)


class FrameMean(_SequenceClassifier):
    """Baseline without recurrence: the LRCN frame CNN on every frame, a mean over time, a linear layer.

    It sees the same per-frame features as :class:`LRCN` but not their order, so on a task where
    the order of frames decides the class it stays near chance: the gap to LRCN is what the LSTM
    adds.

    Args:
        num_classes, in_channels, cnn_channels, frame_pool_size, dropout: as in :class:`LRCN`.

    Example:
        >>> model = FrameMean(num_classes=5, cnn_channels=(16, 32))
        >>> model(torch.randn(2, 8, 3, 64, 64)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        cnn_channels: Sequence[int] = (32, 64, 128),
        frame_pool_size: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        dropout = check_dropout(dropout)
        cnn = FrameCNN(
            in_channels=in_channels, channels=cnn_channels, global_pool="avg", pool_size=frame_pool_size
        )
        self.encoder = TimeDistributed(cnn)
        self.num_features = cnn.out_features
        self.head = SequenceClassifierHead(
            in_features=self.num_features, num_classes=num_classes, pool="mean", dropout=dropout
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """Frames ``(B, T, C, H, W)`` → per-frame features ``(B, T, num_features)``."""
        _check_frames(self, x, self.in_channels)
        return self.encoder(x)

    def init_state(self, batch_size: int, device: torch.device | None = None, **_: Any) -> tuple[Tensor, ...]:
        """The state before the first frame of :meth:`step`: ``(running sum, count)`` of frame features."""
        return self._head_state(batch_size, device)

    def step(self, frame: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One frame ``(B, C, H, W)`` → logits of the frames so far, new state (a running mean)."""
        logits, total, count = self._head_step(self.encoder.module(frame), *state)
        return logits, (total, count)


# --- registered variants -------------------------------------------------------------------------

_VIDEO: dict[str, Any] = dict(
    task="classification", modality="video", shape_kwargs={"in_channels": 1}, streams=True
)


_CONV3D: dict[str, Any] = dict(
    task="classification",
    modality="video",
    shape_kwargs={"in_channels": 1, "frame_size": (2, 3)},
    streams=True,
)


@register_model(**_CONV3D, input_size=(16, 3, 112, 112), test_input_size=(8, 3, 112, 112))
def conv3d_lstm(**kwargs: Any) -> Conv3dLSTMClassifier:
    """Conv3d stem (32, 64; BatchNorm3d) + 2×128 LSTM over its time steps, last step."""
    return with_defaults(Conv3dLSTMClassifier, {}, kwargs)


@register_model(**_CONV3D, input_size=(8, 3, 32, 32))
def conv3d_lstm_tiny(**kwargs: Any) -> Conv3dLSTMClassifier:
    """Tiny conv3d_lstm for tests and tutorials (Conv3d 4, 8; LSTM 2×16; 32×32 frames)."""
    defaults = dict(frame_size=(32, 32), conv_channels=(4, 8), lstm_hidden=16, lstm_layers=2)
    return with_defaults(Conv3dLSTMClassifier, defaults, kwargs)


register_deprecated_alias("seed_conv3d_lstm", "conv3d_lstm")
register_deprecated_alias("seed_conv3d_lstm_tiny", "conv3d_lstm_tiny")


@register_model(**_VIDEO, input_size=(16, 3, 112, 112), test_input_size=(4, 3, 64, 64))
def lrcn(**kwargs: Any) -> LRCN:
    """LRCN: frame CNN (32, 64, 128) + LSTM 256, last step."""
    return with_defaults(LRCN, {}, kwargs)


@register_model(**_VIDEO, input_size=(6, 3, 32, 32))
def lrcn_tiny(**kwargs: Any) -> LRCN:
    """Tiny LRCN for tests and tutorials (frame CNN 8, 16 pooled to 4×4; LSTM 32)."""
    return with_defaults(LRCN, dict(cnn_channels=(8, 16), frame_pool_size=4, lstm_hidden=32), kwargs)


@register_model(**_VIDEO, input_size=(16, 3, 112, 112), test_input_size=(4, 3, 64, 64))
def frame_mean(**kwargs: Any) -> FrameMean:
    """Baseline: LRCN's frame CNN (32, 64, 128), mean over time, no LSTM."""
    return with_defaults(FrameMean, {}, kwargs)


@register_model(**_VIDEO, input_size=(6, 3, 32, 32))
def frame_mean_tiny(**kwargs: Any) -> FrameMean:
    """Tiny frame_mean, the same frame CNN as lrcn_tiny (8, 16 pooled to 4×4)."""
    return with_defaults(FrameMean, dict(cnn_channels=(8, 16), frame_pool_size=4), kwargs)
