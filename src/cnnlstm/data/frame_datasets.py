"""Forecasting samples cut from frame sequences: windows ``(inputs, targets)`` and prediction inputs.

Sequences are one array ``(N, T, H, W)`` / ``(N, T, H, W, C)`` (channels last) or a list of
``(T_i, H, W[, C])`` arrays of different lengths, uint8 or float. Samples are float32 in [0, 1]
(uint8 divided by 255, float data as it is), frames ``(T, C, H, W)``; ``C = 1`` for
``(N, T, H, W)`` data. Both data modules of forecasting
(:class:`~cnnlstm.data.moving_mnist_data.MovingMNISTDataModule`,
:class:`~cnnlstm.data.frame_sequences.FrameSequenceDataModule`) cut their splits with these.

Example:
    >>> (x,) = ForecastInputDataset(np.zeros((2, 7, 8, 8), np.uint8), input_frames=3)[1]
    >>> tuple(x.shape)
    (3, 1, 8, 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from cnnlstm._validation import check_positive_int

__all__ = ["ForecastInputDataset", "FrameSequenceDataset", "frames_to_tensor"]


def frames_to_tensor(frames: Any) -> Tensor:
    """``(T, H, W)`` or ``(T, H, W, C)`` frames → float32 ``(T, C, H, W)``; uint8 is divided by 255.

    Float frames are used as they are (assumed already in [0, 1]).

    Example:
        >>> frames_to_tensor(np.full((2, 4, 4), 255, np.uint8)).shape
        torch.Size([2, 1, 4, 4])
    """
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        values = frames.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(frames.dtype, np.floating):
        values = frames.astype(np.float32)  # a copy: memory-mapped input stays untouched
    else:
        raise ValueError(f"frames must be uint8 or float; received dtype {frames.dtype}")
    if values.ndim == 3:
        values = values[:, None]  # (T, H, W) -> (T, 1, H, W)
    elif values.ndim == 4:
        values = values.transpose(0, 3, 1, 2)  # (T, H, W, C) -> (T, C, H, W)
    else:
        raise ValueError(f"frames must be (T, H, W) or (T, H, W, C); received shape {frames.shape}")
    return torch.from_numpy(np.ascontiguousarray(values))


def _describe_list(sequences: Sequence[Any]) -> tuple[list[Any], list[int], tuple[int, ...], np.dtype]:
    """A list of ``(T_i, H, W[, C])`` arrays: the arrays, their lengths, the frame shape and dtype."""
    if not sequences:
        raise ValueError("sequences is an empty list; give at least one (T, H, W[, C]) array")
    arrays = [np.asarray(s) if not hasattr(s, "shape") else s for s in sequences]
    first = arrays[0]
    for i, array in enumerate(arrays):
        same = array.shape[1:] == first.shape[1:] and array.dtype == first.dtype
        if array.ndim not in (3, 4) or not same:
            raise ValueError(
                f"sequence {i} is {array.dtype} {tuple(array.shape)}; every sequence must be "
                f"(T, H, W[, C]) with the frame shape and dtype of sequence 0, "
                f"{first.dtype} {tuple(first.shape)}"
            )
    return arrays, [int(a.shape[0]) for a in arrays], tuple(first.shape[1:]), np.dtype(first.dtype)


def _describe_array(sequences: Any) -> tuple[Any, list[int], tuple[int, ...], np.dtype]:
    """One array-like ``(N, T, H, W[, C])``: itself (never copied), its lengths, frame shape and dtype."""
    shape = tuple(getattr(sequences, "shape", ()))
    if len(shape) not in (4, 5):
        raise ValueError(f"sequences must be (N, T, H, W) or (N, T, H, W, C); received shape {shape}")
    return sequences, [int(shape[1])] * shape[0], shape[2:], np.dtype(sequences.dtype)


class _SequenceSet(Dataset):
    """Shared checks: sequences as one array ``(N, T, H, W[, C])`` or a list of ``(T_i, H, W[, C])``."""

    def __init__(self, sequences: Any, *, indices: Sequence[int] | None, names: Sequence[str] | None) -> None:
        if isinstance(sequences, (list, tuple)):
            self.sequences, lengths, frame_shape, dtype = _describe_list(sequences)
        else:
            self.sequences, lengths, frame_shape, dtype = _describe_array(sequences)
        if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
            raise ValueError(f"sequences must be uint8 or float; received dtype {dtype}")
        count = len(lengths)
        self.frame_shape: tuple[int, ...] = tuple(int(s) for s in frame_shape)  # (H, W) or (H, W, C)
        self.dtype = dtype
        self.indices = list(range(count)) if indices is None else [int(i) for i in indices]
        if not self.indices:
            raise ValueError("indices is empty; select at least one sequence")
        if any(not 0 <= i < count for i in self.indices):
            raise ValueError(
                f"indices must lie in [0, {count}); received indices from {min(self.indices)} "
                f"to {max(self.indices)}"
            )
        if names is not None and len(names) != count:
            raise ValueError(f"names has {len(names)} entries for {count} sequences")
        self.names = list(names) if names is not None else [f"sequence {i}" for i in range(count)]
        self.lengths = lengths
        self.skipped: list[dict[str, str]] = []

    @property
    def num_channels(self) -> int:
        return self.frame_shape[2] if len(self.frame_shape) == 3 else 1

    @property
    def frame_chw(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        return (self.num_channels, self.frame_shape[0], self.frame_shape[1])

    def _frames(self, sequence: int, start: int, stop: int) -> Tensor:
        return frames_to_tensor(self.sequences[sequence][start:stop])


class FrameSequenceDataset(_SequenceSet):
    """Forecasting windows ``(inputs, targets)`` cut from frame sequences.

    Each sequence is cut into windows of ``input_frames + target_frames`` frames, one starting
    every ``stride`` frames; a window's first ``input_frames`` frames are the inputs, the rest the
    targets. Samples are float32 in [0, 1] (uint8 divided by 255; float data as it is):
    ``inputs (T_in, C, H, W)``, ``targets (T_out, C, H, W)``, ``C = 1`` for ``(N, T, H, W)`` data.
    Sequences shorter than a window are skipped and listed in :attr:`skipped`; when every one is
    too short it is an error.

    Args:
        sequences: an array (or array-like with ``shape``, ``dtype`` and int indexing, such as
            :class:`~cnnlstm.data.moving_mnist.MovingMNIST` or a memory map) ``(N, T, H, W)`` /
            ``(N, T, H, W, C)``, uint8 or float; or a list of ``(T_i, H, W[, C])`` arrays of
            different lengths.
        input_frames: ``T_in``.
        target_frames: ``T_out``.
        stride: frames between window starts; ``None`` means one window length (no overlap).
        indices: the sequences to use (default all); the array is never copied.
        names: one name per sequence, for :attr:`skipped` and errors.
        source: where the sequences come from (a resolved path, a generator and its seed); with
            the sequence's name and the window's start it makes each sample's key
            (:meth:`sample_keys`).

    Example:
        >>> sequences = np.zeros((3, 20, 64, 64), np.uint8)
        >>> ds = FrameSequenceDataset(sequences, input_frames=5, target_frames=5)
        >>> len(ds), [t.shape for t in ds[0]]
        (6, [torch.Size([5, 1, 64, 64]), torch.Size([5, 1, 64, 64])])
    """

    def __init__(
        self,
        sequences: Any,
        *,
        input_frames: int = 10,
        target_frames: int = 10,
        stride: int | None = None,
        indices: Sequence[int] | None = None,
        names: Sequence[str] | None = None,
        source: str = "",
    ) -> None:
        super().__init__(sequences, indices=indices, names=names)
        self.source = str(source)
        self.input_frames = check_positive_int("input_frames", input_frames)
        self.target_frames = check_positive_int("target_frames", target_frames)
        self.window = self.input_frames + self.target_frames
        self.stride = self.window if stride is None else check_positive_int("stride", stride)
        windows: list[tuple[int, int]] = []
        for i in self.indices:
            length = self.lengths[i]
            if length < self.window:
                reason = f"too short: {length} frames < window of {self.window}"
                self.skipped.append({"sequence": self.names[i], "reason": reason})
                continue
            windows.extend((i, start) for start in range(0, length - self.window + 1, self.stride))
        if not windows:
            longest = max(self.lengths[i] for i in self.indices)
            raise ValueError(
                f"every sequence is shorter than a window of input_frames + target_frames = "
                f"{self.window} frames (the longest has {longest}); lower input_frames or target_frames"
            )
        self.windows = np.asarray(windows, dtype=np.int64)  # (num_windows, 2): sequence, start

    def __len__(self) -> int:
        return len(self.windows)

    def sample_keys(self) -> list[str]:
        """``<source>|<sequence name>|<first frame>`` per window."""
        return [f"{self.source}|{self.names[int(i)]}|{int(start)}" for i, start in self.windows]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        sequence, start = (int(v) for v in self.windows[index])
        frames = self._frames(sequence, start, start + self.window)  # (T_in + T_out, C, H, W)
        return frames[: self.input_frames], frames[self.input_frames :]


class ForecastInputDataset(_SequenceSet):
    """Prediction inputs: the last ``input_frames`` frames of each sequence, as ``(inputs,)`` tuples.

    A one-element tuple, so a batch is ``[inputs]`` with ``inputs (B, T_in, C, H, W)`` and
    ``batch[0]`` is the input in every split. Sequences shorter than ``input_frames`` are skipped
    (listed in :attr:`skipped`); when all are, it is an error. Arguments as in
    :class:`FrameSequenceDataset`.
    """

    def __init__(
        self,
        sequences: Any,
        *,
        input_frames: int = 10,
        indices: Sequence[int] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(sequences, indices=indices, names=names)
        self.input_frames = check_positive_int("input_frames", input_frames)
        self.items: list[int] = []
        for i in self.indices:
            if self.lengths[i] < self.input_frames:
                reason = f"too short: {self.lengths[i]} frames < input_frames={self.input_frames}"
                self.skipped.append({"sequence": self.names[i], "reason": reason})
            else:
                self.items.append(i)
        if not self.items:
            raise ValueError(f"every sequence has fewer than input_frames={self.input_frames} frames")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Tensor]:
        sequence = self.items[index]
        length = self.lengths[sequence]
        return (self._frames(sequence, length - self.input_frames, length),)
