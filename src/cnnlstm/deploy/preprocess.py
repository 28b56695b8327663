"""Raw inputs → model inputs, the way evaluation prepared them, from an export's ``config.json``.

``config.json`` carries ``preprocessing`` (a data module's
:meth:`~cnnlstm.data.base.BaseDataModule.preprocessing`) and ``input_shape``. :class:`Preprocess`
reads them and turns

* a video file into clips ``(N, T, C, H, W)`` (``N = clips_per_video``, 1 by default; average the
  model's logits over ``N``), through the same probing, frame sampling
  (:func:`cnnlstm.data.video.clip_indices`), decoding and resizing
  (:func:`cnnlstm.data.video_io.decode_frames`) and normalisation as evaluation;
* a camera frame, ``uint8 (H, W, 3)`` RGB, into ``(1, C, H, W)`` for :meth:`Stream.push
  <cnnlstm.deploy.Stream.push>` (resized bilinearly, as evaluation resizes folders of frames);
* a sensor recording (``.csv`` / ``.npz``, read by :class:`cnnlstm.data.sensor_files.SensorColumns`)
  into windows ``(N, T, C)``, standardised with the stored training statistics; and a series
  array ``(T, C)`` into ``(1, T, C)``.

Keys read from ``preprocessing`` (``input_shape`` fills in the sizes it implies):

=================== ==========================================================================
frames              ``mean``, ``std`` (3 values, on pixels scaled to [0, 1]); ``sampling``
                    (``"segments"`` / ``"dense"``, for video files), ``stride`` (dense, default
                    1), ``clips_per_video`` (default 1); ``frame_size`` ``[H, W]`` and
                    ``num_frames`` (default: from ``input_shape``)
series              ``normalization`` (``"series"``: each series z-normalised over its own
                    steps; otherwise ``mean``, ``std``, one per channel; absent: not
                    normalised), ``channels``
                    (column names, for CSV files), ``window`` (default: ``input_shape[0]``),
                    ``step`` (rows between windows, for files); ``label_column``,
                    ``subject_column``, ``time_column`` (default: the data module's defaults)
=================== ==========================================================================

A key a given input needs and the export lacks is an error that names it; nothing is guessed.
The data layer is imported on first use (video decoding needs PyAV, CSV reading pandas).

Example:
    >>> import numpy as np
    >>> prep = Preprocess(preprocessing={"mean": [0.5] * 3, "std": [0.5] * 3}, input_shape=[8, 3, 16, 16])
    >>> prep(np.zeros((480, 640, 3), dtype=np.uint8)).shape
    torch.Size([1, 3, 16, 16])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cnnlstm._validation import check_choice, check_positive_int

__all__ = ["Preprocess"]

SERIES_SUFFIXES = (".csv", ".npz")


class Preprocess:
    """Turns raw inputs into model inputs with an export's stored preprocessing.

    Args:
        preprocessing: ``config.json``'s ``preprocessing`` (see the module docstring for the keys).
        input_shape: one sample's shape, ``[T, C, H, W]`` (frames) or ``[T, C]`` (series).
        source: where ``preprocessing`` came from, named in errors.

    Example:
        >>> prep = Preprocess(preprocessing={"mean": [0.0, 0.0], "std": [2.0, 2.0]}, input_shape=[4, 2])
        >>> prep(np.ones((4, 2), dtype=np.float32))[0, 0].tolist()
        [0.5, 0.5]
    """

    def __init__(
        self, *, preprocessing: Mapping[str, Any], input_shape: Sequence[int], source: str = "preprocessing"
    ) -> None:
        if not isinstance(preprocessing, Mapping):
            raise ValueError(f"{source} must be a dict; received {type(preprocessing).__name__}")
        shape = [check_positive_int("input_shape", v) for v in input_shape]
        if len(shape) not in (2, 4):
            raise ValueError(
                f"input_shape must be [T, C, H, W] (frames) or [T, C] (series); received {list(input_shape)}"
            )
        self.config = dict(preprocessing)
        self.input_shape = shape
        self.source = source
        self.kind = "frames" if len(shape) == 4 else "series"

    def __repr__(self) -> str:
        return f"Preprocess(kind={self.kind!r}, input_shape={self.input_shape}, keys={sorted(self.config)})"

    # -- stored values ---------------------------------------------------------------------------
    def _get(self, key: str, purpose: str) -> Any:
        if key not in self.config:
            raise ValueError(
                f"{self.source} has no {key!r}, needed for {purpose}; re-export from a checkpoint of this "
                f"cnnlstm version (`cnnlstm export`), or pass export_model(preprocessing={{{key!r}: ...}})"
            )
        return self.config[key]

    def _stats(self, channels: int, purpose: str, *, required: bool = True) -> tuple[np.ndarray, np.ndarray]:
        if not required and "mean" not in self.config and "std" not in self.config:
            return np.zeros(channels), np.ones(channels)
        mean = np.asarray(self._get("mean", purpose), dtype=np.float64).reshape(-1)
        std = np.asarray(self._get("std", purpose), dtype=np.float64).reshape(-1)
        if mean.shape != (channels,) or std.shape != (channels,) or not (std > 0).all():
            raise ValueError(
                f"{self.source} 'mean' and 'std' must hold {channels} values with std > 0; found "
                f"mean={mean.tolist()}, std={std.tolist()}"
            )
        return mean, std

    def _frame_size(self) -> tuple[int, int]:
        size = self.config.get("frame_size", self.input_shape[-2:])
        size = [size, size] if isinstance(size, int) else list(size)
        if len(size) != 2:
            raise ValueError(f"{self.source} 'frame_size' must be [H, W]; found {size!r}")
        return check_positive_int("frame_size[0]", size[0]), check_positive_int("frame_size[1]", size[1])

    def _need(self, kind: str, what: str) -> None:
        if self.kind != kind:
            raise ValueError(
                f"this model takes {self.kind} (input_shape {self.input_shape}); {what} is for a model of {kind}"
            )

    # -- inputs ----------------------------------------------------------------------------------
    def __call__(self, raw: Any) -> Tensor:
        """A path (video file; ``.csv`` / ``.npz`` recording), a camera frame ``uint8 (H, W, 3)`` or a
        series ``(T, C)``: see :meth:`clip`, :meth:`frame`, :meth:`windows`, :meth:`series`."""
        if isinstance(raw, (str, os.PathLike)):
            is_series = Path(raw).suffix.lower() in SERIES_SUFFIXES
            return self.windows(raw) if is_series else self.clip(raw)
        array = np.asarray(raw)
        if array.ndim == 3 and self.kind == "frames":
            return self.frame(array)
        if array.ndim == 2 and self.kind == "series":
            return self.series(array)
        raise ValueError(
            f"cannot preprocess an array of shape {array.shape} for a model of {self.kind}; give a file "
            "path, a camera frame (H, W, 3) or a series (T, C)"
        )

    def frame(self, image: Any) -> Tensor:
        """One RGB camera frame, ``uint8 (H, W, 3)``, as ``(1, 3, H', W')`` at the stored frame size."""
        self._need("frames", "a camera frame")
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
            raise ValueError(
                f"a camera frame must be uint8 RGB (H, W, 3); received {array.dtype} {array.shape}"
            )
        height, width = self._frame_size()
        if array.shape[:2] != (height, width):
            from PIL import Image

            resized = Image.fromarray(array).resize((width, height), Image.Resampling.BILINEAR)
            array = np.asarray(resized)
        return self._normalise_frames(array[None])[0][None]

    def _normalise_frames(self, frames: np.ndarray) -> Tensor:
        """uint8 ``(T, H, W, 3)`` → float ``(T, 3, H, W)``: scaled to [0, 1], then (x - mean) / std."""
        mean, std = self._stats(3, "normalising frames")
        x = torch.from_numpy(np.array(frames, dtype=np.uint8)).permute(0, 3, 1, 2).float().div(255)  # a copy
        return (x - torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)) / torch.tensor(
            std, dtype=torch.float32
        ).view(3, 1, 1)

    def clip(self, path: str | os.PathLike[str]) -> Tensor:
        """A video file as clips ``(N, T, 3, H, W)``, ``N = clips_per_video``, sampled as in evaluation."""
        from cnnlstm.data.video import clip_indices
        from cnnlstm.data.video_io import decode_frames, probe_video

        self._need("frames", f"a video file ({str(path)!r})")
        sampling = check_choice("sampling", self._get("sampling", "sampling a clip"), ("segments", "dense"))
        stride = check_positive_int("stride", self.config.get("stride", 1))
        clips = check_positive_int("clips_per_video", self.config.get("clips_per_video", 1))
        num_frames = check_positive_int("num_frames", self.config.get("num_frames", self.input_shape[0]))
        self._stats(3, "normalising frames")  # fail before decoding
        info = probe_video(path)
        out = []
        for k in range(clips):
            ids = clip_indices(
                info.num_frames,
                num_frames=num_frames,
                mode=sampling,
                stride=stride,
                train=False,
                clip=k,
                num_clips=clips,
            )
            out.append(self._normalise_frames(decode_frames(path, ids, size=self._frame_size(), info=info)))
        return torch.stack(out)

    def series(self, values: Any) -> Tensor:
        """A series ``(T, C)`` as ``(1, T, C)`` float32, normalised as training normalised it.

        With ``normalization: "series"`` (univariate ``ucr-*`` models) each channel is z-normalised
        over the series' own steps; otherwise the stored per-channel ``mean`` and ``std`` apply. A
        series with inf or NaN values is refused, as training refuses it.
        """
        from cnnlstm.data.series_normalization import standardize

        self._need("series", "a series")
        array = np.asarray(values, dtype=np.float64)
        channels = self.input_shape[-1]
        if array.ndim != 2 or array.shape[1] != channels:
            raise ValueError(f"a series must be (T, {channels}); received shape {array.shape}")
        normalization = self.config.get("normalization", "channel")
        if normalization not in ("channel", "series", "none"):
            raise ValueError(
                f"{self.source} 'normalization' must be 'channel', 'series' or 'none'; found {normalization!r}"
            )
        if normalization == "series":
            mean, std = np.zeros(channels), np.ones(channels)  # unused: each series' own statistics
        else:
            mean, std = self._stats(channels, "standardising the channels", required=False)
        try:
            x = standardize(array[None], np.array([len(array)]), normalization, mean, std)
        except ValueError as error:
            raise ValueError(f"the input to the model: {error}") from None
        return torch.from_numpy(x)

    def windows(self, path: str | os.PathLike[str]) -> Tensor:
        """A ``.csv`` / ``.npz`` recording as windows ``(N, window, C)``, standardised, ``step`` rows
        apart within each subject's rows (labels, if any, are ignored)."""
        from cnnlstm.data.sensor import SensorStreamDataModule
        from cnnlstm.data.sensor_files import SensorColumns, list_files

        self._need("series", f"a sensor recording ({str(path)!r})")
        window = check_positive_int("window", self.config.get("window", self.input_shape[0]))
        step = check_positive_int("step", self._get("step", "cutting windows from a recording"))
        names = {
            k: self.config[k] for k in ("label_column", "subject_column", "time_column") if k in self.config
        }
        channels = self.config.get("channels")
        file = list_files(path, "path")
        streams, used = SensorColumns(**names).read(
            file, field="predict_path", channels=list(channels) if channels else None
        )
        if len(used) != self.input_shape[-1]:
            raise ValueError(
                f"{file[0].name} has {len(used)} channels ({used}) but the model takes {self.input_shape[-1]}; "
                f"{self.source} should name them in 'channels'"
            )
        x = self.series(streams[0].x)[0]
        starts = [
            start
            for begin, end, _ in SensorStreamDataModule._segments(streams[0])
            for start in range(begin, end - window + 1, step)
        ]
        if not starts:
            raise ValueError(f"{file[0].name} has {len(x)} rows, fewer than window={window}; no window fits")
        return torch.stack([x[s : s + window] for s in starts])
