"""Sensor / time-series classifiers: DeepConvLSTM, LSTM-FCN, MLSTM-FCN and a CNN-BiLSTM baseline.

Papers:
    Ordóñez & Roggen, "Deep Convolutional and LSTM Recurrent Neural Networks for Multimodal
    Wearable Activity Recognition", Sensors 16(1):115, 2016 (DeepConvLSTM).
    Karim, Majumdar, Darabi & Chen, "LSTM Fully Convolutional Networks for Time Series
    Classification", IEEE Access 6, 2018 (LSTM-FCN).
    Karim, Majumdar, Darabi & Harford, "Multivariate LSTM-FCNs for Time Series Classification",
    Neural Networks 116, 2019 (MLSTM-FCN).

Every model takes batch-first series ``x`` ``(B, T, C)`` (``T`` time steps of ``C`` sensor
channels) and, optionally, ``lengths`` ``(B,)``: each series' true length when shorter series are
padded at the end. ``forward(x, lengths=None)`` returns logits ``(B, num_classes)``.

With ``lengths``, what lies past a series' end never reaches its logits (in eval mode): the
convolutions see zeros there, as they would at the end of the unpadded series, pooling averages
over valid steps only, and the LSTMs stop at the last valid step. A padded series therefore gets
the logits it gets alone, unpadded. In train mode too: BatchNorm's batch statistics (and the
running statistics it learns from them) count the valid steps only
(:class:`~cnnlstm.nn.MaskedBatchNorm1d`), so padding changes neither the training updates nor
the model learnt, and a batch may be cut to its longest series (what the UCR data modules do)
without changing a number beyond rounding. Lengths that are all ``T`` (no padding: every batch of
an equal-length data set) run the plain, unmasked layers.

``forward_features(x, lengths=None)`` returns one pooled feature vector per series
``(B, num_features)``: pooling needs the lengths, so it happens there, and ``forward_head`` is the
(dropout and) linear layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cnnlstm._validation import check_dropout, check_positive_int
from cnnlstm.models._base import ClassifierBase
from cnnlstm.models._registry import register_model, with_defaults
from cnnlstm.nn import LSTM, MaskedBatchNorm1d

__all__ = ["CNNBiLSTM", "DeepConvLSTM", "LSTMFCN", "SqueezeExcite1d"]


# --- shared pieces -------------------------------------------------------------------------------


def _check_channels(name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, int) or not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty sequence of positive ints; received {name}={value!r}")
    return tuple(check_positive_int(name, v) for v in value)


def _step_mask(lengths: Tensor, steps: int, dtype: torch.dtype) -> Tensor:
    """``(B, T)`` mask: 1 at the steps ``t < lengths[b]``, 0 on the padding."""
    return (torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]).to(dtype)


def _time_mean(x: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of ``x`` ``(B, C, T)`` over the valid steps given by ``mask`` ``(B, 1, T)`` (all if None).

    Without a mask it is the sum over T divided by T, which is what the masked mean gives when
    every step is valid, to the last bit: full lengths and no lengths give the same numbers.
    """
    if mask is None:
        return x.sum(dim=-1) / x.shape[-1]
    return (x * mask).sum(dim=-1) / mask.sum(dim=-1)


class _SensorClassifier(ClassifierBase):
    """A classifier of sensor series: the input checks, and ``forward(x, lengths=None)``.

    Subclasses set ``self.in_channels``, call :meth:`init_classifier` and implement
    ``forward_features(x, lengths=None) -> (B, num_features)``, pooled already.
    """

    in_channels: int

    def _check_input(self, x: Tensor, lengths: Tensor | Sequence[int] | None) -> Tensor | None:
        """Validate ``x`` ``(B, T, C)`` and return ``lengths`` as an int64 tensor on x's device.

        Lengths that are all ``T`` (a batch without padding: every batch of an equal-length data
        set) come back as ``None``: the masks would multiply by ones, and the models give the
        same numbers without them at a fraction of the work.
        """
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects sensor series (B, T, C) with C={self.in_channels}; "
                f"received {tuple(x.shape)}"
            )
        if lengths is None:
            return None
        lengths = torch.as_tensor(lengths, device=x.device)
        batch, steps = x.shape[0], x.shape[1]
        if lengths.shape != (batch,) or lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise ValueError(
                f"lengths must be an integer tensor of shape ({batch},); received dtype={lengths.dtype}, "
                f"shape={tuple(lengths.shape)}"
            )
        if bool((lengths < 1).any()) or bool((lengths > steps).any()):
            raise ValueError(f"lengths must lie in [1, T={steps}]; received {lengths.tolist()}")
        if bool((lengths == steps).all()):
            return None
        return lengths.long()

    @staticmethod
    def _pad_short_batch(x: Tensor, lengths: Tensor | Sequence[int] | None, min_steps: int) -> Tensor:
        """Zero-pad a batch of padded series (``lengths`` given) that is shorter than ``min_steps``.

        A data module that cuts each batch to its longest series can hand over fewer steps than
        the model's convolutions need; padded back with zeros, the batch is what the data set's
        own padding gave. A batch without lengths is the caller's series and is never padded.
        """
        if lengths is None or x.dim() != 3 or x.shape[1] >= min_steps:
            return x
        return F.pad(x, (0, 0, 0, min_steps - x.shape[1]))

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward_features")

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Series ``(B, T, C)``, optional true lengths ``(B,)`` → logits ``(B, num_classes)``."""
        return self.forward_head(self.forward_features(x, lengths))


class _SameConvBlock(nn.Module):
    """Conv1d with 'same' padding (extra pad on the right for even kernels, as Keras) → BN → ReLU.

    With a valid-step ``mask`` ``(B, 1, T)`` BatchNorm's batch statistics count the valid steps
    only (:class:`~cnnlstm.nn.MaskedBatchNorm1d`; without one it is ``nn.BatchNorm1d``).

    The convolution has no bias: BatchNorm's shift replaces it. An odd kernel pads symmetrically,
    inside the convolution, instead of padding a copy of the input first; an even kernel (padded
    one step more on the right) and a one-channel input keep the copy. (torch reads a ``(B, 1, T)``
    view of ``(B, T, 1)`` series as channels-last, and the convolution's output would then be laid
    out so that BatchNorm sums in another order: other last bits.) The ReLU works in place on
    BatchNorm's output, which BatchNorm's backward does not need.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        left = (kernel_size - 1) // 2
        self.pad = (left, kernel_size - 1 - left)
        symmetric = self.pad[0] == self.pad[1] and in_channels > 1
        self.conv = nn.Conv1d(
            in_channels, out_channels, kernel_size, padding=left if symmetric else 0, bias=False
        )
        self.input_pad = None if symmetric else self.pad
        nn.init.kaiming_uniform_(self.conv.weight, nonlinearity="relu")  # Keras' he_uniform
        self.bn = MaskedBatchNorm1d(num_features=out_channels)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, C_in, T)`` and an optional valid-step mask ``(B, 1, T)`` → ``(B, C_out, T)``."""
        if self.input_pad is not None:
            x = F.pad(x, self.input_pad)
        return F.relu(self.bn(self.conv(x), mask), inplace=True)


class SqueezeExcite1d(nn.Module):
    """Squeeze-and-excitation over the channels of a ``(B, C, T)`` map (Hu et al., CVPR 2018).

    Squeeze: the mean over (valid) time steps; excitation: ``Linear(C, C // reduction)`` → ReLU →
    ``Linear(C // reduction, C)`` → sigmoid, both without bias and He-normal initialised as in the
    MLSTM-FCN reference code; the map is scaled channel-wise by the result.

    Args:
        channels: ``C``.
        reduction: bottleneck ratio; the hidden layer has ``max(1, C // reduction)`` units.

    Call arguments:
        x: ``(B, C, T)``.
        mask: optional ``(B, 1, T)`` valid-step mask; the squeeze averages the valid steps only.

    Example:
        >>> SqueezeExcite1d(32, reduction=4)(torch.randn(2, 32, 10)).shape
        torch.Size([2, 32, 10])
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        channels = check_positive_int("channels", channels)
        self.reduction = check_positive_int("reduction", reduction)
        hidden = max(1, channels // self.reduction)
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)
        for fc in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        squeezed = _time_mean(x, mask)  # (B, C)
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(squeezed))))  # (B, C)
        return x * scale.unsqueeze(-1)


# --- DeepConvLSTM --------------------------------------------------------------------------------


class DeepConvLSTM(_SensorClassifier):
    """DeepConvLSTM (Ordóñez & Roggen 2016): four valid temporal convolutions, two LSTMs, last step.

    As in the paper, the series is a one-map "image" ``(1, T, C)`` and every convolution is 2-D
    with a ``(kernel_size, 1)`` kernel: each sensor channel is filtered separately along time and
    channels are only fused by the LSTM, which reads the ``conv_channels × C`` activations of one
    time step as its input vector. Valid padding shortens the series by
    ``num_conv · (kernel_size - 1)`` (16 with the paper's sizes). ReLU after every convolution.
    Dropout (p=0.5 in the paper) is applied to the inputs of the layers after the convolutions —
    before each of the two LSTM layers and before the softmax layer (our reading of the paper). The
    class is predicted from the last time step of the second LSTM; with ``lengths``, from the last
    valid step, ``length - 16`` (at least 1: a series shorter than the receptive field then reads
    into the padding).

    The convolutions are He-initialised (zero bias): that keeps the activation scale through the
    four ReLU layers, which torch's default initialisation shrinks at every layer, leaving an
    untrained model nearly blind to its input.

    Paper defaults: 64 filters of 5×1, two LSTM layers of 128 units, Opportunity's 113 channels
    in windows of 24 samples (18 gesture classes).

    Args:
        num_classes: outputs of the softmax layer (0: return the last-step features).
        in_channels: sensor channels ``C``.
        conv_channels: filters of every convolution.
        num_conv: number of convolutions.
        kernel_size: temporal kernel length.
        lstm_hidden: units per LSTM layer.
        lstm_layers: stacked LSTM layers.
        dropout: dropout before every LSTM layer and before the linear layer.

    Example:
        >>> model = DeepConvLSTM(num_classes=5, in_channels=6)
        >>> model(torch.randn(2, 32, 6)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        *,
        num_classes: int = 18,
        in_channels: int = 113,
        conv_channels: int = 64,
        num_conv: int = 4,
        kernel_size: int = 5,
        lstm_hidden: int = 128,
        lstm_layers: int = 2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        conv_channels = check_positive_int("conv_channels", conv_channels)
        num_conv = check_positive_int("num_conv", num_conv)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        dropout = check_dropout(dropout)
        layers: list[nn.Module] = []
        for i in range(num_conv):
            conv = nn.Conv2d(1 if i == 0 else conv_channels, conv_channels, (kernel_size, 1))
            nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(cast(Tensor, conv.bias))
            layers += [conv, nn.ReLU()]
        self.convs = nn.Sequential(*layers)
        self.shrink = num_conv * (kernel_size - 1)  # steps lost to valid padding
        self.min_steps = self.shrink + 1
        self.lstm_drop = nn.Dropout(dropout)
        self.lstm = LSTM(
            conv_channels * self.in_channels, lstm_hidden, lstm_layers, batch_first=True, dropout=dropout
        )
        self.init_classifier(num_features=lstm_hidden, num_classes=num_classes, dropout=dropout)

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Series ``(B, T, C)`` → the second LSTM's output at the last (valid) step ``(B, lstm_hidden)``."""
        x = self._pad_short_batch(x, lengths, self.min_steps)
        lengths = self._check_input(x, lengths)
        steps = x.shape[1]
        if steps < self.min_steps:
            raise ValueError(
                f"DeepConvLSTM's valid convolutions remove {self.shrink} steps: series need "
                f"T >= {self.min_steps}; received T={steps}"
            )
        maps = self.convs(x.unsqueeze(1))  # (B, 1, T, C) -> (B, F, T - shrink, C)
        seq = maps.permute(0, 2, 1, 3).flatten(2)  # (B, T', F·C): one vector per time step
        if lengths is not None:
            lengths = (lengths - self.shrink).clamp(min=1)
        _, (h_n, _) = self.lstm(self.lstm_drop(seq), lengths=lengths)
        return h_n[-1]  # last layer's state after each series' last valid step

    # -- streaming: one sample at a time ------------------------------------------------------------
    def init_state(self, batch_size: int, device: torch.device | None = None, **_: Any) -> tuple[Tensor, ...]:
        """``(last shrink samples (B, shrink, C), h, c, samples seen (B, 1))``, zeros."""
        window = torch.zeros(batch_size, self.shrink, self.in_channels, device=device)
        h = torch.zeros(self.lstm.num_layers, batch_size, self.lstm.hidden_size, device=device)
        return window, h, torch.zeros_like(h), torch.zeros(batch_size, 1, device=device)

    def step(self, sample: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One sample ``(B, C)`` → logits of the series so far ``(B, num_classes)``, new state.

        The valid convolutions see the last ``shrink + 1`` samples, so the first output exists at
        sample ``min_steps``; from then on the logits equal ``model(x[:, : t + 1])``, and before it
        they are those of an empty series (the head on a zero state). The work per sample is the
        convolutions over one window and one LSTM step.
        """
        window, h, c, seen = state
        full = torch.cat([window, sample[:, None]], dim=1)  # (B, shrink + 1, C)
        features = self.convs(full.unsqueeze(1)).permute(0, 2, 1, 3).flatten(2)  # (B, 1, F·C)
        _, (h_step, c_step) = self.lstm(self.lstm_drop(features), (h, c))
        seen = seen + 1
        ready = (seen >= self.min_steps)[None]  # (1, B, 1): the window holds real samples only
        h, c = torch.where(ready, h_step, h), torch.where(ready, c_step, c)
        return self.forward_head(h[-1]), (full[:, 1:], h, c, seen)


# --- LSTM-FCN and MLSTM-FCN ----------------------------------------------------------------------


class LSTMFCN(_SensorClassifier):
    """LSTM-FCN (Karim et al. 2018) and, with ``squeeze_excite=True``, MLSTM-FCN (Karim et al. 2019).

    Two branches read the same series and their outputs are concatenated for a linear (softmax)
    layer:

    * **FCN**: three blocks of Conv1d ('same' padding) → BatchNorm → ReLU with 128, 256, 128
      filters of length 8, 5, 3, then global average pooling over time. MLSTM-FCN adds a
      squeeze-and-excitation block (reduction 16) after each block but the last, i.e. after the
      first two, as in its paper.
    * **LSTM**: one LSTM (8 cells by default; the papers grid-search 8, 64, 128) whose final hidden
      state goes through dropout 0.8, the papers' value.

    **Dimension shuffle.** Both papers transpose the series before the LSTM: it reads the ``C``
    variables as ``C`` time steps of ``T`` features each (a univariate series becomes a single
    step), which the papers motivate by efficiency; the MLSTM-FCN paper keeps it for multivariate
    data, and so does its reference code (the input is stored (variables, steps) and re-transposed
    for the convolutions only). ``dimension_shuffle=True`` (the default for both
    models here, following the papers) therefore sizes the LSTM for series of at most ``seq_len``
    steps; shorter series are zero-padded to ``seq_len`` inside the model, as the papers zero-pad
    a data set's series to its longest. ``dimension_shuffle=False`` runs the LSTM over time instead
    (any ``T``, ``lengths`` respected), the usual choice for long multichannel sensor streams.

    With ``lengths`` the input past each length is zeroed, every block's output is re-masked so
    the next convolution sees zeros there (as at the end of an unpadded series), BatchNorm's batch
    statistics count the valid steps only, and the SE squeeze and the global pooling average the
    valid steps only. Both LSTM modes then see exactly what the
    unpadded series gives, so padded and unpadded series get the same logits in eval mode.

    Deviations: with ``in_channels=1`` (the univariate setting of the LSTM-FCN paper) and the
    shuffle, the LSTM runs one step from a zero state, so its recurrent weights get no gradient
    (true of the paper's model too); the registered variants use 3 channels by default. The
    convolutions have no bias (BatchNorm follows) and are He-uniform initialised as in the
    reference code.

    Args:
        num_classes: outputs (0: return the concatenated features).
        in_channels: variables ``C``.
        conv_channels: filters of the three (or more) conv blocks.
        kernel_sizes: kernel length of each conv block.
        lstm_hidden: LSTM cells.
        dropout: dropout on the LSTM branch's output (0.8 in the papers).
        dimension_shuffle: LSTM over the ``C`` variables (True, the papers) or over time (False).
        seq_len: the longest ``T`` accepted with ``dimension_shuffle=True`` (the LSTM input size);
            ignored otherwise.
        squeeze_excite: add squeeze-and-excitation after every conv block but the last (MLSTM-FCN).
        se_reduction: the SE bottleneck ratio.

    Example:
        >>> model = LSTMFCN(num_classes=5, in_channels=3, seq_len=64)
        >>> model(torch.randn(2, 50, 3)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        conv_channels: Sequence[int] = (128, 256, 128),
        kernel_sizes: Sequence[int] = (8, 5, 3),
        lstm_hidden: int = 8,
        dropout: float = 0.8,
        dimension_shuffle: bool = True,
        seq_len: int = 128,
        squeeze_excite: bool = False,
        se_reduction: int = 16,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        channels = _check_channels("conv_channels", conv_channels)
        kernels = _check_channels("kernel_sizes", kernel_sizes)
        if len(kernels) != len(channels):
            raise ValueError(
                f"kernel_sizes needs one entry per conv block ({len(channels)}); "
                f"received kernel_sizes={kernel_sizes!r}"
            )
        dropout = check_dropout(dropout)
        self.dimension_shuffle = bool(dimension_shuffle)
        self.seq_len = check_positive_int("seq_len", seq_len)
        self.blocks = nn.ModuleList(
            _SameConvBlock(c_in, c_out, k)
            for c_in, c_out, k in zip((self.in_channels, *channels[:-1]), channels, kernels, strict=True)
        )
        self.se = nn.ModuleList(
            SqueezeExcite1d(c, se_reduction) for c in (channels[:-1] if squeeze_excite else ())
        )
        lstm_input = self.seq_len if self.dimension_shuffle else self.in_channels
        self.lstm = LSTM(lstm_input, lstm_hidden, batch_first=True)
        self.lstm_drop = nn.Dropout(dropout)
        self.init_classifier(num_features=lstm_hidden + channels[-1], num_classes=num_classes)

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Series ``(B, T, C)`` → ``[LSTM branch, FCN branch]`` ``(B, lstm_hidden + conv_channels[-1])``."""
        lengths = self._check_input(x, lengths)
        steps = x.shape[1]
        if self.dimension_shuffle and steps > self.seq_len:
            raise ValueError(
                f"with dimension_shuffle=True the LSTM reads whole series of at most seq_len={self.seq_len} "
                f"steps; received T={steps}. Build the model with seq_len={steps} (or more), or with "
                "dimension_shuffle=False"
            )
        mask = None
        if lengths is not None:
            step_mask = _step_mask(lengths, steps, x.dtype)  # (B, T)
            x = x * step_mask.unsqueeze(-1)  # zero whatever lies past each length
            mask = step_mask.unsqueeze(1)  # (B, 1, T)

        y = x.transpose(1, 2)  # (B, C, T)
        for i, block in enumerate(self.blocks):
            y = block(y, mask)
            if mask is not None:
                y = y * mask  # the next convolution sees zeros past the end
            if i < len(self.se):
                y = self.se[i](y, mask)
        fcn = _time_mean(y, mask)  # (B, conv_channels[-1])

        if self.dimension_shuffle:
            padded = F.pad(x, (0, 0, 0, self.seq_len - steps))  # (B, seq_len, C), zeros after T
            _, (h_n, _) = self.lstm(padded.transpose(1, 2))  # C steps of seq_len features
        else:
            _, (h_n, _) = self.lstm(x, lengths=lengths)  # T steps of C features
        rec = self.lstm_drop(h_n[-1])  # (B, lstm_hidden)
        return torch.cat([rec, fcn], dim=1)


# --- CNN-BiLSTM baseline -------------------------------------------------------------------------


class CNNBiLSTM(_SensorClassifier):
    """Baseline: Conv1d blocks with max-pooling, a bidirectional LSTM, mean and last-step pooling.

    Each block is Conv1d ('same' padding) → BatchNorm → ReLU → MaxPool1d(``pool``), so the LSTM
    reads ``T // pool ** len(conv_channels)`` steps (lengths are divided alike, rounded down, at
    least 1). The bidirectional LSTM's outputs are averaged over the valid steps and concatenated
    with the forward direction's state at the last valid step and the backward direction's state
    at step 0 (its last); dropout and a linear layer follow.

    Args:
        num_classes: outputs (0: return the pooled features).
        in_channels: sensor channels ``C``.
        conv_channels: output channels of the conv blocks.
        kernel_size: kernel length of every convolution.
        pool: max-pooling size after every block (1: none).
        lstm_hidden: units per direction.
        lstm_layers: stacked bidirectional layers.
        dropout: dropout between LSTM layers and before the linear layer.

    Example:
        >>> model = CNNBiLSTM(num_classes=5, in_channels=6)
        >>> model(torch.randn(2, 40, 6)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        *,
        num_classes: int = 6,
        in_channels: int = 9,
        conv_channels: Sequence[int] = (64, 128),
        kernel_size: int = 5,
        pool: int = 2,
        lstm_hidden: int = 128,
        lstm_layers: int = 1,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        channels = _check_channels("conv_channels", conv_channels)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        self.pool = check_positive_int("pool", pool)
        dropout = check_dropout(dropout)
        self.blocks = nn.ModuleList(
            _SameConvBlock(c_in, c_out, kernel_size)
            for c_in, c_out in zip((self.in_channels, *channels[:-1]), channels, strict=True)
        )
        self.min_steps = self.pool ** len(channels)
        self.lstm = LSTM(
            channels[-1],
            lstm_hidden,
            lstm_layers,
            batch_first=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
            bidirectional=True,
        )
        self.init_classifier(num_features=4 * lstm_hidden, num_classes=num_classes, dropout=dropout)

    def forward_features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Series ``(B, T, C)`` → ``[mean over valid steps, last states]`` ``(B, 4 · lstm_hidden)``."""
        x = self._pad_short_batch(x, lengths, self.min_steps)
        lengths = self._check_input(x, lengths)
        steps = x.shape[1]
        if steps < self.min_steps:
            raise ValueError(
                f"CNNBiLSTM pools time by {self.pool} {len(self.blocks)} times: series need "
                f"T >= {self.min_steps}; received T={steps}"
            )
        if lengths is not None:
            x = x * _step_mask(lengths, steps, x.dtype).unsqueeze(-1)
        y = x.transpose(1, 2)  # (B, C, T)
        for block in self.blocks:
            y = block(y, None if lengths is None else _step_mask(lengths, y.shape[-1], y.dtype).unsqueeze(1))
            if self.pool > 1:
                y = F.max_pool1d(y, self.pool)  # (B, C', T // pool)
                if lengths is not None:
                    lengths = torch.div(lengths, self.pool, rounding_mode="floor").clamp(min=1)
            if lengths is not None:
                y = y * _step_mask(lengths, y.shape[-1], y.dtype).unsqueeze(1)  # zeros past the end
        seq = y.transpose(1, 2)  # (B, T', C')
        out, (h_n, _) = self.lstm(seq, lengths=lengths)  # out (B, T', 2H)
        mask = None if lengths is None else _step_mask(lengths, seq.shape[1], seq.dtype).unsqueeze(1)
        mean = _time_mean(out.transpose(1, 2), mask)  # (B, 2H)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)  # forward at the last valid step, backward at 0
        return torch.cat([mean, last], dim=1)


# --- registered variants -------------------------------------------------------------------------

# Every sensor model reads its channels from the data; LSTM-FCNs also size their LSTM for the series
# length (dimension shuffle).
_SENSOR: dict[str, Any] = dict(task="classification", modality="sensor", shape_kwargs={"in_channels": -1})
_SHUFFLED: dict[str, Any] = dict(_SENSOR, shape_kwargs={"in_channels": -1, "seq_len": 0})


@register_model(**_SENSOR, input_size=(24, 113), streams=True)
def deepconvlstm(**kwargs: Any) -> DeepConvLSTM:
    """DeepConvLSTM (Ordóñez & Roggen 2016): 4 valid convs of 64 (5×1), 2 LSTMs of 128, last step."""
    return with_defaults(DeepConvLSTM, {}, kwargs)


@register_model(**_SENSOR, input_size=(24, 3), streams=True)
def deepconvlstm_tiny(**kwargs: Any) -> DeepConvLSTM:
    """Tiny DeepConvLSTM for tests and tutorials (4 convs of 8 (5×1), 2 LSTMs of 16, 3 channels)."""
    return with_defaults(DeepConvLSTM, dict(in_channels=3, conv_channels=8, lstm_hidden=16), kwargs)


@register_model(**_SHUFFLED, input_size=(128, 3), test_input_size=(64, 3))
def lstm_fcn(**kwargs: Any) -> LSTMFCN:
    """LSTM-FCN (Karim et al. 2018): FCN 128-256-128 (k 8, 5, 3) + shuffled LSTM of 8, dropout 0.8."""
    return with_defaults(LSTMFCN, {}, kwargs)


@register_model(**_SHUFFLED, input_size=(32, 3))
def lstm_fcn_tiny(**kwargs: Any) -> LSTMFCN:
    """Tiny LSTM-FCN for tests and tutorials (FCN 16-32-16, shuffled LSTM of 8, series up to 32)."""
    return with_defaults(LSTMFCN, dict(conv_channels=(16, 32, 16), seq_len=32), kwargs)


@register_model(**_SHUFFLED, input_size=(128, 9), test_input_size=(64, 9))
def mlstm_fcn(**kwargs: Any) -> LSTMFCN:
    """MLSTM-FCN (Karim et al. 2019): LSTM-FCN with squeeze-and-excitation (r=16) after conv 1 and 2."""
    return with_defaults(LSTMFCN, dict(in_channels=9, squeeze_excite=True), kwargs)


@register_model(**_SHUFFLED, input_size=(32, 3))
def mlstm_fcn_tiny(**kwargs: Any) -> LSTMFCN:
    """Tiny MLSTM-FCN for tests and tutorials (FCN 16-32-16 with SE r=4, shuffled LSTM of 8)."""
    defaults = dict(conv_channels=(16, 32, 16), seq_len=32, squeeze_excite=True, se_reduction=4)
    return with_defaults(LSTMFCN, defaults, kwargs)


@register_model(**_SENSOR, input_size=(128, 9), test_input_size=(64, 9))
def cnn_bilstm(**kwargs: Any) -> CNNBiLSTM:
    """Baseline: Conv1d 64, 128 (k5, max-pool 2) + BiLSTM 128, mean and last-step pooling."""
    return with_defaults(CNNBiLSTM, {}, kwargs)


@register_model(**_SENSOR, input_size=(32, 3))
def cnn_bilstm_tiny(**kwargs: Any) -> CNNBiLSTM:
    """Tiny CNN-BiLSTM for tests and tutorials (Conv1d 8, 16; BiLSTM 16; 3 channels)."""
    return with_defaults(CNNBiLSTM, dict(in_channels=3, conv_channels=(8, 16), lstm_hidden=16), kwargs)
