"""Feature extractors that CNN+LSTM models put in front of the recurrence.

* :class:`FrameCNN` — a small 2-D CNN for one frame ``(N, C, H, W) -> (N, F)``;
* :class:`Conv3dStem` — 3-D convolutions over a clip ``(B, C, T, H, W)``;
* :class:`TemporalConvEncoder` — 1-D convolutions along time for ``(B, T, C)`` signals.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from cnnlstm._validation import check_choice, check_positive_int, to_tuple

__all__ = ["Conv3dStem", "FrameCNN", "TemporalConvEncoder"]


def _channels(name: str, channels: Sequence[int]) -> tuple[int, ...]:
    if isinstance(channels, int) or not isinstance(channels, Sequence) or len(channels) == 0:
        raise ValueError(
            f"{name} must be a non-empty sequence of positive ints; received {name}={channels!r}"
        )
    return tuple(check_positive_int(name, c) for c in channels)


def _triple(name: str, value: int | Sequence[int]) -> tuple[int, int, int]:
    t, h, w = to_tuple(name, value, 3)
    return t, h, w


class FrameCNN(nn.Module):
    """Per-frame 2-D CNN: blocks of conv(k, same) → norm → ReLU → max-pool(2), then global pooling.

    Args:
        in_channels: channels of a frame.
        channels: output channels of each block; ``len(channels)`` blocks.
        kernel_size: odd kernel size of every convolution.
        norm: ``"batch"`` (BatchNorm2d) or ``None``.
        global_pool: ``"avg"`` average-pools to a ``pool_size × pool_size`` grid and flattens, giving
            ``(N, channels[-1] · pool_size²)``; ``None`` keeps the map ``(N, C', H', W')``.
        pool_size: grid of the average pooling; 1 is global pooling, larger keeps coarse positions
            (which motion direction needs).

    Example:
        >>> FrameCNN(in_channels=3, channels=(16, 32))(torch.randn(4, 3, 64, 64)).shape
        torch.Size([4, 32])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 3,
        norm: str | None = "batch",
        global_pool: str | None = "avg",
        pool_size: int = 1,
    ) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        pool_size = check_positive_int("pool_size", pool_size)
        self.channels = _channels("channels", channels)
        k = check_positive_int("kernel_size", kernel_size)
        if k % 2 == 0:
            raise ValueError(f"kernel_size must be odd; received kernel_size={kernel_size!r}")
        check_choice("norm", norm, ("batch", None))
        self.global_pool = check_choice("global_pool", global_pool, ("avg", None))
        layers: list[nn.Module] = []
        prev = in_channels
        for ch in self.channels:
            layers.append(nn.Conv2d(prev, ch, k, padding=k // 2, bias=norm is None))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(ch))
            layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            prev = ch
        self.features = nn.Sequential(*layers)
        self.pool: nn.Module = nn.Identity()
        if global_pool:
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(pool_size), nn.Flatten(1))
        self.out_features = self.channels[-1] * (pool_size**2 if global_pool else 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.features(x))


class Conv3dStem(nn.Module):
    """Blocks of Conv3d(k, same) → [BatchNorm3d] → ReLU → MaxPool3d over a clip ``(B, C, T, H, W)``.

    Args:
        in_channels: channels of a frame.
        channels: output channels of each block.
        kernel_size: odd kernel size (int or (t, h, w)).
        pool: max-pool kernel and stride after each block (int or (t, h, w)); 2 halves T, H and W.
        norm: ``"batch"`` puts BatchNorm3d after each convolution (the convolution then has no
            bias); ``None`` (or ``"none"``, which survives config files that drop nulls) keeps the
            plain Conv3d → ReLU blocks.

    Example:
        >>> stem = Conv3dStem(in_channels=3, channels=(32, 64))
        >>> stem(torch.randn(2, 3, 16, 112, 112)).shape, stem.output_size(16, 112, 112)
        (torch.Size([2, 64, 4, 28, 28]), (4, 28, 28))
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        channels: Sequence[int] = (32, 64),
        kernel_size: int | Sequence[int] = 3,
        pool: int | Sequence[int] = 2,
        norm: str | None = None,
    ) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        self.norm = check_choice("norm", None if norm == "none" else norm, (None, "batch"))
        self.channels = _channels("channels", channels)
        k = _triple("kernel_size", kernel_size)
        if any(v % 2 == 0 for v in k):
            raise ValueError(f"kernel_size must be odd; received kernel_size={kernel_size!r}")
        self.pool = _triple("pool", pool)
        layers: list[nn.Module] = []
        prev = in_channels
        for ch in self.channels:
            padding = (k[0] // 2, k[1] // 2, k[2] // 2)
            layers.append(nn.Conv3d(prev, ch, k, padding=padding, bias=self.norm is None))
            if self.norm == "batch":
                layers.append(nn.BatchNorm3d(ch))
            layers += [
                nn.ReLU(inplace=True),
                nn.MaxPool3d(self.pool),
            ]
            prev = ch
        self.features = nn.Sequential(*layers)
        self.out_channels = self.channels[-1]

    def output_size(self, frames: int, height: int, width: int) -> tuple[int, int, int]:
        """``(T', H', W')`` after the stem for an input of ``frames × height × width`` (floor pooling)."""
        size = [frames, height, width]
        for _ in self.channels:
            size = [s // p for s, p in zip(size, self.pool, strict=True)]
        return size[0], size[1], size[2]

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


class TemporalConvEncoder(nn.Module):
    """1-D convolutions along time for multichannel signals ``(B, T, C) -> (B, T', F)``.

    The feature extractor of DeepConvLSTM (Ordóñez & Roggen 2016): each layer is Conv1d over time
    with ``kernel_size`` taps, then ReLU. ``padding="valid"`` (the paper's) shortens the sequence
    by ``kernel_size - 1`` per layer; ``"same"`` keeps ``T``.

    Example:
        >>> enc = TemporalConvEncoder(in_channels=9, channels=(64, 64, 64, 64), kernel_size=5)
        >>> enc(torch.randn(2, 24, 9)).shape, enc.output_length(24)
        (torch.Size([2, 8, 64]), 8)
    """

    def __init__(
        self,
        *,
        in_channels: int,
        channels: Sequence[int] = (64, 64, 64, 64),
        kernel_size: int = 5,
        padding: str = "valid",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        self.channels = _channels("channels", channels)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.padding = check_choice("padding", padding, ("valid", "same"))
        if self.padding == "same" and self.kernel_size % 2 == 0:
            raise ValueError(f"padding='same' needs an odd kernel_size; received kernel_size={kernel_size!r}")
        layers: list[nn.Module] = []
        prev = in_channels
        for ch in self.channels:
            pad = self.kernel_size // 2 if self.padding == "same" else 0
            layers += [nn.Conv1d(prev, ch, self.kernel_size, padding=pad), nn.ReLU(inplace=True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            prev = ch
        self.features = nn.Sequential(*layers)
        self.out_features = self.channels[-1]

    def output_length(self, steps: int) -> int:
        """Sequence length after the encoder for ``steps`` input steps."""
        if self.padding == "same":
            return steps
        return steps - len(self.channels) * (self.kernel_size - 1)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"TemporalConvEncoder expects (B, T, C); received {tuple(x.shape)}")
        if self.output_length(x.shape[1]) < 1:
            raise ValueError(
                f"sequence of {x.shape[1]} steps is too short for {len(self.channels)} valid convolutions "
                f"of kernel {self.kernel_size}; use at least {1 - self.output_length(0)} steps or "
                "padding='same'"
            )
        # Conv1d wants (B, C, T); the result goes back to (B, T', F).
        return self.features(x.transpose(1, 2)).transpose(1, 2)
