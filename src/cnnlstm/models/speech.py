"""Speech recognisers trained with CTC: convolutions over the log-mel spectrogram, then LSTMs.

Papers:
    Amodei et al., "Deep Speech 2: End-to-End Speech Recognition in English and Mandarin",
    ICML 2016 (2-D convolutions with stride over time and frequency, clipped ReLU, BatchNorm,
    bidirectional recurrent layers, CTC over characters).
    Watanabe et al., "ESPnet: End-to-End Speech Processing Toolkit", Interspeech 2018, and Hori
    et al., "Advances in Joint CTC-Attention based End-to-End Speech Recognition with a Deep CNN
    Encoder and RNN-LM", Interspeech 2017 (the VGG front end: two blocks of two 3×3 convolutions
    and a 2×2 max-pool, then BLSTM layers).
    Graves et al., "Connectionist Temporal Classification", ICML 2006.

Every model takes features ``x`` ``(B, T, C)`` (``C`` log-mel bands, ``in_channels``) and,
optionally, ``lengths`` ``(B,)``, each utterance's valid frames; ``forward(x, lengths=None)``
returns log-probabilities ``(B, T', num_classes)`` over the vocabulary with the CTC blank at
index 0, where ``T' = ceil(T / 4)`` (:meth:`CTCRecognizer.output_lengths`). With ``lengths``,
padding never reaches a valid output frame in eval mode (the convolutions see zeros past each
utterance's end and the LSTMs stop at its last frame), so a padded utterance gets the outputs it
gets alone.

``cnn_lstm_ctc_stream`` is causal (convolutions padded on the left only, unidirectional LSTMs),
so it also runs frame by frame: ``init_state`` and ``step`` take one feature frame ``(B, C)`` and
return the output frames it completes, ``(B, 1, num_classes)`` every 4th frame and
``(B, 0, num_classes)`` otherwise; concatenated, they equal ``forward`` on the frames so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cnnlstm._validation import check_dropout, check_positive_int
from cnnlstm.models._registry import register_model, with_defaults
from cnnlstm.nn import LSTM

__all__ = ["CNNBiLSTMCTC", "CNNLSTMCTCStream", "CTCRecognizer", "VGGBLSTMCTC"]

SUBSAMPLING = 4  # two stride-2 stages over time in every model here


def _check_channels(name: str, value: Any, count: int | None = None) -> tuple[int, ...]:
    if isinstance(value, int) or not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty sequence of positive ints; received {name}={value!r}")
    if count is not None and len(value) != count:
        raise ValueError(f"{name} must have {count} entries; received {name}={value!r}")
    return tuple(check_positive_int(name, v) for v in value)


def _halve(size: int) -> int:
    """``ceil(size / 2)``: a stride-2 stage with 'same' padding."""
    return (size + 1) // 2


def _time_mask(lengths: Tensor, steps: int) -> Tensor:
    """``(B, 1, T, 1)``: 1 on each utterance's valid frames."""
    valid = torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]
    return valid[:, None, :, None]


class CTCRecognizer(nn.Module):
    """Shared parts: input checks, output lengths, the linear layer and log-softmax.

    A subclass builds ``self.encoder_features(x, lengths) -> (B, T', F)`` and calls
    :meth:`init_head`. ``num_classes`` is the vocabulary size including the blank.
    """

    in_channels: int
    num_classes: int
    subsampling = SUBSAMPLING

    def init_head(self, *, num_features: int, num_classes: int, dropout: float) -> None:
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.num_features = num_features
        self.head_drop = nn.Dropout(check_dropout(dropout))
        self.fc = nn.Linear(num_features, self.num_classes)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Output frames for ``lengths`` input frames: ``ceil(lengths / 4)``."""
        return torch.div(lengths + self.subsampling - 1, self.subsampling, rounding_mode="floor")

    def _check_input(self, x: Tensor, lengths: Tensor | None) -> Tensor | None:
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects log-mel features (B, T, C) with C={self.in_channels}; "
                f"received {tuple(x.shape)}"
            )
        if lengths is None:
            return None
        lengths = torch.as_tensor(lengths, device=x.device)
        if lengths.shape != (x.shape[0],) or lengths.dtype.is_floating_point:
            raise ValueError(
                f"lengths must be integers of shape ({x.shape[0]},); received {tuple(lengths.shape)}"
            )
        return lengths.long()

    def encoder_features(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Features ``(B, T, C)``, optional valid frames ``(B,)`` → log-probabilities ``(B, ceil(T/4), num_classes)``."""
        lengths = self._check_input(x, lengths)
        features = self.encoder_features(x, lengths)
        return F.log_softmax(self.fc(self.head_drop(features)), dim=-1)


class _ConvBlock2d(nn.Module):
    """Conv2d over ``(time, frequency)`` without bias → BatchNorm → clipped ReLU (min(max(x, 0), 20)).

    ``causal``: the time axis is padded on the left only (``kernel - 1`` frames), so an output
    frame never depends on later input frames; else symmetrically (``kernel // 2``).
    """

    def __init__(
        self, cin: int, cout: int, kernel: tuple[int, int], stride: tuple[int, int], *, causal: bool
    ) -> None:
        super().__init__()
        kt, kf = kernel
        if kt % 2 == 0 or kf % 2 == 0:
            raise ValueError(f"conv kernels must be odd; received kernel={kernel!r}")
        self.causal, self.kernel_t, self.stride_t = causal, kt, stride[0]
        self.time_pad = (kt - 1, 0) if causal else (kt // 2, kt // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=(0, kf // 2), bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C_in, T, F)`` → ``(B, C_out, T', F')``."""
        x = F.pad(x, (0, 0, *self.time_pad))
        return F.hardtanh(self.bn(self.conv(x)), 0.0, 20.0)

    def window(self, frames: Tensor) -> Tensor:
        """The output frame of a window of exactly ``kernel_t`` input frames ``(B, C_in, kt, F)``."""
        return F.hardtanh(self.bn(self.conv(frames)), 0.0, 20.0)


class CNNBiLSTMCTC(CTCRecognizer):
    """DeepSpeech2-like: two strided Conv2d blocks over (time, mel), bidirectional LSTMs, CTC outputs.

    Each conv block is Conv2d (stride 2 in time and frequency) → BatchNorm → clipped ReLU; the
    map ``(B, C, T/4, F/4)`` is read as a sequence of ``C · F/4`` features per frame by
    ``lstm_layers`` bidirectional LSTM layers (:class:`cnnlstm.nn.LSTM`), then a linear layer to
    ``num_classes`` and a log-softmax.

    Args:
        num_classes: characters + blank.
        in_channels: log-mel bands ``C``.
        conv_channels: output channels of the two conv blocks.
        kernel_size: ``(time, frequency)`` kernel of both blocks (odd).
        lstm_hidden: units per direction.
        lstm_layers: stacked BiLSTM layers.
        dropout: between LSTM layers and before the linear layer.

    Example:
        >>> model = CNNBiLSTMCTC(num_classes=12, in_channels=40, lstm_hidden=32)
        >>> model(torch.randn(2, 50, 40)).shape
        torch.Size([2, 13, 12])
    """

    def __init__(
        self,
        *,
        num_classes: int = 29,
        in_channels: int = 80,
        conv_channels: Sequence[int] = (32, 32),
        kernel_size: Sequence[int] = (11, 21),
        lstm_hidden: int = 512,
        lstm_layers: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        c1, c2 = _check_channels("conv_channels", conv_channels, 2)
        kernel = _check_channels("kernel_size", kernel_size, 2)
        self.conv = nn.ModuleList(
            [
                _ConvBlock2d(1, c1, (kernel[0], kernel[1]), (2, 2), causal=False),
                _ConvBlock2d(c1, c2, (kernel[0], kernel[1]), (2, 2), causal=False),
            ]
        )
        lstm_in = c2 * _halve(_halve(self.in_channels))
        self.lstm = LSTM(
            lstm_in,
            check_positive_int("lstm_hidden", lstm_hidden),
            num_layers=check_positive_int("lstm_layers", lstm_layers),
            batch_first=True,
            bidirectional=True,
            dropout=check_dropout(dropout) if lstm_layers > 1 else 0.0,
        )
        self.init_head(num_features=2 * lstm_hidden, num_classes=num_classes, dropout=dropout)

    def encoder_features(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        h = x.unsqueeze(1)  # (B, 1, T, C)
        out_lengths = lengths
        for block in self.conv:
            h = block(h)
            if out_lengths is not None:
                out_lengths = torch.div(out_lengths + 1, 2, rounding_mode="floor")
                h = h * _time_mask(out_lengths, h.shape[2])  # padding stays zero for the next block
        seq = h.permute(0, 2, 1, 3).flatten(2)  # (B, T', C2 * F')
        out, _ = self.lstm(seq, lengths=out_lengths)
        return out


class VGGBLSTMCTC(CTCRecognizer):
    """ESPnet-style VGG front end (2 blocks of two 3×3 conv + ReLU and a 2×2 max-pool), BLSTMs, CTC.

    The pools halve time and frequency (``ceil``), so 4× subsampling in time; the map is read as
    ``channels · F/4`` features per frame by bidirectional LSTM layers (:class:`cnnlstm.nn.LSTM`).

    Args:
        num_classes: characters + blank.
        in_channels: log-mel bands.
        vgg_channels: channels of the two VGG blocks (ESPnet: 64, 128).
        lstm_hidden: units per direction.
        lstm_layers: stacked BiLSTM layers.
        dropout: between LSTM layers and before the linear layer.

    Example:
        >>> VGGBLSTMCTC(num_classes=12, in_channels=40, vgg_channels=(8, 16), lstm_hidden=16)(torch.randn(1, 21, 40)).shape
        torch.Size([1, 6, 12])
    """

    def __init__(
        self,
        *,
        num_classes: int = 29,
        in_channels: int = 80,
        vgg_channels: Sequence[int] = (64, 128),
        lstm_hidden: int = 320,
        lstm_layers: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        c1, c2 = _check_channels("vgg_channels", vgg_channels, 2)
        self.blocks = nn.ModuleList(
            [
                nn.ModuleList([nn.Conv2d(1, c1, 3, padding=1), nn.Conv2d(c1, c1, 3, padding=1)]),
                nn.ModuleList([nn.Conv2d(c1, c2, 3, padding=1), nn.Conv2d(c2, c2, 3, padding=1)]),
            ]
        )
        self.lstm = LSTM(
            c2 * _halve(_halve(self.in_channels)),
            check_positive_int("lstm_hidden", lstm_hidden),
            num_layers=check_positive_int("lstm_layers", lstm_layers),
            batch_first=True,
            bidirectional=True,
            dropout=check_dropout(dropout) if lstm_layers > 1 else 0.0,
        )
        self.init_head(num_features=2 * lstm_hidden, num_classes=num_classes, dropout=dropout)

    def encoder_features(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        h = x.unsqueeze(1)
        out_lengths = lengths
        for block in self.blocks:
            for conv in cast(nn.ModuleList, block):
                h = F.relu(conv(h))
                if out_lengths is not None:
                    h = h * _time_mask(out_lengths, h.shape[2])
            h = F.max_pool2d(h, 2, ceil_mode=True)
            if out_lengths is not None:
                out_lengths = torch.div(out_lengths + 1, 2, rounding_mode="floor")
        seq = h.permute(0, 2, 1, 3).flatten(2)
        out, _ = self.lstm(seq, lengths=out_lengths)
        return out


@dataclass
class StreamState:
    """What :class:`CNNLSTMCTCStream` carries between frames: each conv block's last input frames
    ``(B, C, kernel_t, F)`` and how many frames it has seen, and the LSTM's ``(h, c)``."""

    buffers: list[Tensor]
    seen: list[int]
    lstm: tuple[Tensor, Tensor] | None = None


class CNNLSTMCTCStream(CTCRecognizer):
    """A causal CNN-LSTM-CTC recogniser that transcribes live audio frame by frame.

    As :class:`CNNBiLSTMCTC`, but the convolutions are padded on the left in time only and the
    LSTMs run forwards only, so an output frame depends on past input only; ``step`` gives the
    same outputs as ``forward`` with a bounded amount of work per frame. Latency: an output frame
    is complete when the input frame at its stride position arrives (every 4th frame, 40 ms at a
    10 ms hop), plus the receptive field's look-back (nothing ahead).

    Args:
        num_classes: characters + blank.
        in_channels: log-mel bands.
        conv_channels: output channels of the two conv blocks.
        kernel_size: ``(time, frequency)`` kernel (odd).
        lstm_hidden: units per layer.
        lstm_layers: stacked LSTM layers.
        dropout: between LSTM layers and before the linear layer.
        input_norm: normalise each mel band of the input with BatchNorm (running statistics in
            eval mode): a causal normalisation, for features not normalised per utterance.

    Example:
        >>> model = CNNLSTMCTCStream(num_classes=12, in_channels=40, lstm_hidden=32).eval()
        >>> x = torch.randn(1, 9, 40)
        >>> state = model.init_state(1)
        >>> frames = [model.step(x[:, t], state)[0] for t in range(9)]
        >>> torch.allclose(torch.cat(frames, dim=1), model(x), atol=1e-5)
        True
    """

    step_output = "log_probs"

    def __init__(
        self,
        *,
        num_classes: int = 29,
        in_channels: int = 80,
        conv_channels: Sequence[int] = (32, 32),
        kernel_size: Sequence[int] = (5, 21),
        lstm_hidden: int = 512,
        lstm_layers: int = 3,
        dropout: float = 0.1,
        input_norm: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        c1, c2 = _check_channels("conv_channels", conv_channels, 2)
        kernel = _check_channels("kernel_size", kernel_size, 2)
        self.input_norm = nn.BatchNorm1d(self.in_channels) if input_norm else nn.Identity()
        self.conv = nn.ModuleList(
            [
                _ConvBlock2d(1, c1, (kernel[0], kernel[1]), (2, 2), causal=True),
                _ConvBlock2d(c1, c2, (kernel[0], kernel[1]), (2, 2), causal=True),
            ]
        )
        self._freq = [self.in_channels, _halve(self.in_channels)]  # each block's input bands
        self.lstm = LSTM(
            c2 * _halve(_halve(self.in_channels)),
            check_positive_int("lstm_hidden", lstm_hidden),
            num_layers=check_positive_int("lstm_layers", lstm_layers),
            batch_first=True,
            dropout=check_dropout(dropout) if lstm_layers > 1 else 0.0,
        )
        self.init_head(num_features=lstm_hidden, num_classes=num_classes, dropout=dropout)

    def encoder_features(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        # Causal: padding past an utterance's end cannot reach its valid frames; no masks needed.
        h = self.input_norm(x.transpose(1, 2)).transpose(1, 2).unsqueeze(1)
        for block in self.conv:
            h = block(h)
        seq = h.permute(0, 2, 1, 3).flatten(2)
        out, _ = self.lstm(seq)
        return out

    def _blocks(self) -> list[_ConvBlock2d]:
        return [cast(_ConvBlock2d, block) for block in self.conv]

    def init_state(self, batch_size: int, device: torch.device | None = None, **sizes: Any) -> StreamState:
        """The state before the first frame: zero look-back buffers (the causal padding)."""
        param = self.fc.weight
        device = device if device is not None else param.device
        blocks = self._blocks()
        channels = [1, blocks[0].conv.out_channels]
        buffers = [
            torch.zeros(batch_size, c, block.kernel_t, f, device=device, dtype=param.dtype)
            for c, f, block in zip(channels, self._freq, blocks, strict=True)
        ]
        return StreamState(buffers=buffers, seen=[0, 0])

    def step(self, frame: Tensor, state: StreamState) -> tuple[Tensor, StreamState]:
        """One feature frame ``(B, C)`` → the output frames it completes ``(B, 0 or 1, num_classes)``."""
        if frame.dim() != 2 or frame.shape[-1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}.step expects one feature frame (B, C) with C={self.in_channels}; "
                f"received {tuple(frame.shape)}"
            )
        h: Tensor | None = self.input_norm(frame)[:, None, None, :]  # (B, 1, 1, C)
        for k, block in enumerate(self._blocks()):
            assert h is not None
            state.buffers[k] = torch.cat([state.buffers[k][:, :, 1:], h], dim=2)
            t = state.seen[k]
            state.seen[k] += 1
            if t % block.stride_t:
                h = None
                break
            h = block.window(state.buffers[k])  # (B, C', 1, F')
        if h is None:
            return frame.new_zeros(frame.shape[0], 0, self.num_classes), state
        seq = h.permute(0, 2, 1, 3).flatten(2)  # (B, 1, C2 * F')
        out, state.lstm = self.lstm(seq, state.lstm)
        return F.log_softmax(self.fc(self.head_drop(out)), dim=-1), state

    def step_chunk(self, frames: Tensor, state: StreamState) -> tuple[Tensor, StreamState]:
        """Several feature frames ``(B, k, C)`` at once → the output frames they complete ``(B, k', V)``.

        The same outputs as ``k`` calls of :meth:`step` (and as ``forward``), with one convolution
        and one LSTM call per chunk instead of per frame: the way to stream on a CPU.
        """
        if frames.dim() != 3 or frames.shape[-1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}.step_chunk expects feature frames (B, k, C) with C={self.in_channels}; "
                f"received {tuple(frames.shape)}"
            )
        h: Tensor = self.input_norm(frames.transpose(1, 2)).transpose(1, 2).unsqueeze(1)  # (B, 1, k, C)
        for index, block in enumerate(self._blocks()):
            count, seen = h.shape[2], state.seen[index]
            full = torch.cat([state.buffers[index][:, :, 1:], h], dim=2)  # kt - 1 earlier frames, then k new
            state.buffers[index] = full[:, :, -block.kernel_t :]
            state.seen[index] = seen + count
            first = -seen % block.stride_t  # the first new frame at a stride position
            if first >= count:
                return frames.new_zeros(frames.shape[0], 0, self.num_classes), state
            h = block.window(full[:, :, first:])  # outputs at stride positions seen + first, +2, ...
        seq = h.permute(0, 2, 1, 3).flatten(2)  # (B, k', C2 * F')
        out, state.lstm = self.lstm(seq, state.lstm)
        return F.log_softmax(self.fc(self.head_drop(out)), dim=-1), state

    def init_chunk_state(self, batch_size: int, device: torch.device | None = None) -> tuple[Tensor, ...]:
        """The tensor state of :meth:`chunk_step` before the first chunk, all zeros:
        ``(buffer_0, buffer_1, h, c)``: each conv block's last ``kernel_t`` input frames
        ``(B, C_k, kernel_t, F_k)``, and the LSTM's ``(layers, B, hidden)`` state."""
        param = self.fc.weight
        buffers = self.init_state(batch_size, device=device).buffers
        layers, hidden = self.lstm.num_layers, self.lstm.hidden_size
        zeros = torch.zeros(layers, batch_size, hidden, device=param.device if device is None else device)
        return (*buffers, zeros, zeros.clone())

    def chunk_step(self, frames: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        """A chunk of feature frames ``(B, k, C)``, ``k`` a multiple of 4, and the tensor state →
        ``(log_probs (B, k / 4, V), *new_state)``.

        The state is tensors only (:meth:`init_chunk_state`), so this is the step an ONNX graph
        holds (:func:`cnnlstm.deploy.speech_export.export_acoustic_step`). With every chunk a
        multiple of the subsampling, each conv block has seen an even number of frames when a chunk
        starts, so its stride positions are the chunk's first frame and every second one after it:
        no frame counter is needed. Concatenated, the outputs equal ``forward`` on the frames so
        far; to end an utterance of ``T`` frames, pad its last chunk with any frames to a multiple
        of 4 and keep the first ``ceil(T / 4)`` outputs in all (later outputs never reach back).

        Example:
            >>> model = CNNLSTMCTCStream(num_classes=5, in_channels=8, lstm_hidden=6, lstm_layers=2).eval()
            >>> x = torch.randn(1, 24, 8)
            >>> state, outs = model.init_chunk_state(1), []
            >>> for chunk in x.split(8, dim=1):
            ...     out, *state = model.chunk_step(chunk, *state)
            ...     outs.append(out)
            >>> torch.allclose(torch.cat(outs, dim=1), model(x), atol=1e-5)
            True
        """
        if frames.dim() != 3 or frames.shape[-1] != self.in_channels or frames.shape[1] % self.subsampling:
            raise ValueError(
                f"{type(self).__name__}.chunk_step expects feature frames (B, k, C) with C={self.in_channels} "
                f"and k a multiple of {self.subsampling}; received {tuple(frames.shape)}"
            )
        blocks = self._blocks()
        if len(state) != len(blocks) + 2:
            raise ValueError(f"chunk_step expects {len(blocks) + 2} state tensors; received {len(state)}")
        h = self.input_norm(frames.transpose(1, 2)).transpose(1, 2).unsqueeze(1)  # (B, 1, k, C)
        buffers = []
        for block, buffer in zip(blocks, state, strict=False):
            full = torch.cat([buffer[:, :, 1:], h], dim=2)  # kernel_t - 1 earlier frames, then the new ones
            buffers.append(full[:, :, full.shape[2] - block.kernel_t :])
            h = block.window(full)  # outputs at the chunk's stride positions (its frames 0, 2, 4, ...)
        seq = h.permute(0, 2, 1, 3).flatten(2)  # (B, k / 4, C2 * F')
        out, (h_n, c_n) = self.lstm(seq, (state[-2], state[-1]))
        return (F.log_softmax(self.fc(self.head_drop(out)), dim=-1), *buffers, h_n, c_n)


_SHAPE = {"in_channels": -1}
_NOMINAL, _TEST = (200, 80), (24, 16)


@register_model(
    task="speech", modality="audio", input_size=_NOMINAL, test_input_size=_TEST, shape_kwargs=_SHAPE
)
def cnn_bilstm_ctc(**kwargs: Any) -> CNNBiLSTMCTC:
    """DeepSpeech2-like CNN-BiLSTM-CTC: 2 strided Conv2d blocks, 4 BiLSTM layers of 512 (~22 M parameters)."""
    return with_defaults(CNNBiLSTMCTC, {}, kwargs)


@register_model(
    task="speech", modality="audio", input_size=_NOMINAL, test_input_size=_TEST, shape_kwargs=_SHAPE
)
def cnn_bilstm_ctc_tiny(**kwargs: Any) -> CNNBiLSTMCTC:
    """Tiny CNN-BiLSTM-CTC for tests and tutorials."""
    return with_defaults(
        CNNBiLSTMCTC, dict(conv_channels=(4, 4), kernel_size=(3, 3), lstm_hidden=8, lstm_layers=1), kwargs
    )


@register_model(
    task="speech", modality="audio", input_size=_NOMINAL, test_input_size=_TEST, shape_kwargs=_SHAPE
)
def vgg_blstm_ctc(**kwargs: Any) -> VGGBLSTMCTC:
    """ESPnet-style VGG front end (64/128 channels) and 4 BLSTM layers of 320, CTC outputs."""
    return with_defaults(VGGBLSTMCTC, {}, kwargs)


@register_model(
    task="speech", modality="audio", input_size=_NOMINAL, test_input_size=_TEST, shape_kwargs=_SHAPE
)
def vgg_blstm_ctc_tiny(**kwargs: Any) -> VGGBLSTMCTC:
    """Tiny VGG-BLSTM-CTC for tests and tutorials."""
    return with_defaults(VGGBLSTMCTC, dict(vgg_channels=(4, 4), lstm_hidden=8, lstm_layers=1), kwargs)


@register_model(
    task="speech",
    modality="audio",
    input_size=_NOMINAL,
    test_input_size=_TEST,
    shape_kwargs=_SHAPE,
    streams=True,
)
def cnn_lstm_ctc_stream(**kwargs: Any) -> CNNLSTMCTCStream:
    """Causal CNN-LSTM-CTC for streaming: left-padded strided Conv2d blocks, 3 LSTM layers of 512."""
    return with_defaults(CNNLSTMCTCStream, {}, kwargs)


@register_model(
    task="speech",
    modality="audio",
    input_size=_NOMINAL,
    test_input_size=_TEST,
    shape_kwargs=_SHAPE,
    streams=True,
)
def cnn_lstm_ctc_stream_tiny(**kwargs: Any) -> CNNLSTMCTCStream:
    """Tiny causal CNN-LSTM-CTC for tests and tutorials."""
    return with_defaults(
        CNNLSTMCTCStream, dict(conv_channels=(4, 4), kernel_size=(3, 3), lstm_hidden=8, lstm_layers=1), kwargs
    )
