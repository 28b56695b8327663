"""Video classification data from users' files: index a layout, probe, sample clips, decode.

Flow: :func:`~cnnlstm.data.video_layouts.index_videos` turns a folder (class folders, list files,
UCF101, HMDB51, Kinetics, extracted frames) into samples; every sample is probed once at setup
(broken or too-short files are listed with the reason and skipped, never crash a run) and, with
``check_decode`` (the default), decoded once in full, so a file whose container is intact but
whose frames are damaged is skipped too; each
``__getitem__`` decodes only the frames its clip needs, resized inside the decoder, as uint8.
Conversion to float, normalisation and augmentation happen per batch
(:meth:`VideoDataModule.on_after_batch_transfer`), on the device the batch lives on.

Clip sampling:

* ``"segments"`` — ``num_frames`` frames spread over the whole video, one per equal segment
  (random within its segment in training, the segment's middle in evaluation): the LRCN setting.
* ``"dense"`` — ``num_frames`` consecutive frames ``stride`` apart from a random start in training,
  evenly spaced starts in evaluation: the Conv3d / ConvLSTM setting.

``clips_per_video`` clips are taken per video at evaluation, and the task averages their
predictions.

Broken files never stop a run. A file that fails to probe, or (``check_decode``) to decode, is
skipped at setup; one that fails while the frame cache is built is skipped then. Should a video
still fail in ``__getitem__`` (``check_decode=False``, or the file changed since setup), the item
is replaced by the next video of the dataset (index + 1, wrapping) that decodes, and the failure
is reported once: a warning, and an entry in :attr:`VideoDataModule.skipped` (also from
DataLoader workers). Every skipped file is listed there with its split and reason, and goes to
``summary.json``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from cnnlstm._io import one_line
from cnnlstm._validation import (
    InputError,
    check_bool,
    check_choice,
    check_fraction,
    check_non_negative_int,
    check_positive_int,
    to_tuple,
)
from cnnlstm.data.base import BaseDataModule
from cnnlstm.data.video_cache import ClipCache, DecodeChecks
from cnnlstm.data.video_io import VideoDecodeError, VideoInfo, check_decodes, decode_frames, probe_video
from cnnlstm.data.video_layouts import (
    FORMATS,
    IMAGE_EXTENSIONS,
    DatasetLayoutError,
    DatasetNotFoundError,
    VideoSample,
    index_videos,
    list_video_files,
)

__all__ = ["VideoClipDataset", "VideoDataModule", "VideoWindowDataset", "clip_indices"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def clip_indices(
    num_available: int,
    *,
    num_frames: int,
    mode: str,
    stride: int = 1,
    train: bool,
    clip: int = 0,
    num_clips: int = 1,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Frame indices of one clip from a video of ``num_available`` frames.

    Short videos are loop-padded in ``"dense"`` mode (indices wrap around); in ``"segments"``
    mode segments shorter than a frame repeat frames. Callers that want to skip short videos
    check :func:`min_frames` first.

    Example:
        >>> clip_indices(100, num_frames=4, mode="segments", train=False)
        [12, 37, 62, 87]
        >>> clip_indices(100, num_frames=4, mode="dense", stride=2, train=False)
        [46, 48, 50, 52]
    """
    if num_available < 1:
        raise ValueError(f"a clip needs at least one frame; received num_available={num_available}")
    if mode == "segments":
        edges = torch.linspace(0, num_available, num_frames + 1)
        if train:
            offsets = torch.rand(num_frames, generator=generator)
        else:
            offsets = torch.full((num_frames,), (clip + 0.5) / num_clips)
        positions = edges[:-1] + offsets * (edges[1:] - edges[:-1])
        return positions.floor().clamp(max=num_available - 1).long().tolist()
    span = (num_frames - 1) * stride + 1
    room = num_available - span
    if room <= 0:
        start = 0
    elif train:
        start = int(torch.randint(0, room + 1, (1,), generator=generator))
    elif num_clips == 1:
        start = room // 2
    else:
        start = round(clip * room / (num_clips - 1))
    return [(start + k * stride) % num_available for k in range(num_frames)]


def min_frames(*, num_frames: int, mode: str, stride: int) -> int:
    """Frames a video needs for a clip without padding."""
    return num_frames if mode == "segments" else (num_frames - 1) * stride + 1


def _probe(sample: VideoSample, decode: DecodeChecks | None = None) -> VideoInfo | str:
    """Probe a video file or a folder of frames (and, with ``decode``, decode the file once in
    full unless it is known to decode); a string is the reason it cannot be used."""
    path = Path(sample.path)
    try:
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
            if not images:
                return "folder holds no images"
            if decode is not None:
                _decode_folder(path, range(len(images)), (1, 1))
            return VideoInfo(str(path), len(images), 0.0, 0.0, 0, 0, (), ())
        info = probe_video(path)
        if decode is not None and not decode.known(path):
            check_decodes(path, info)
            decode.add(path)
        return info
    except VideoDecodeError as err:
        return str(err)
    except OSError as err:
        return f"{type(err).__name__}: {err}"


def _decode_folder(path: Path, indices: Sequence[int], size: tuple[int, int]) -> np.ndarray:
    """Frames ``indices`` of a folder of images; an image that cannot be read is a VideoDecodeError."""
    from PIL import Image

    images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    frames = []
    for i in indices:
        try:
            with Image.open(images[i]) as img:
                frame = img.convert("RGB").resize((size[1], size[0]), Image.Resampling.BILINEAR)
        except (OSError, ValueError, IndexError) as err:  # PIL's UnidentifiedImageError is an OSError
            where = images[i].name if i < len(images) else f"frame {i}"
            raise VideoDecodeError(f"{path}: cannot read image {where} ({one_line(err)})") from err
        frames.append(np.asarray(frame))
    return np.stack(frames)


class VideoClipDataset(Dataset):
    """Clips ``(T, C, H, W)`` uint8 (or ``(N, T, C, H, W)`` with ``clips_per_video = N > 1``) and labels.

    Args:
        samples: videos (or frame folders) with labels.
        infos: their probe results, same order.
        num_frames: frames per clip.
        frame_size: ``(H, W)``; frames are resized inside the decoder.
        mode: ``"segments"`` or ``"dense"`` (see the module docstring).
        stride: frame step of dense clips.
        train: random clips (else deterministic).
        clips_per_video: clips per video in evaluation.
        cache: read frames from this :class:`~cnnlstm.data.video_cache.ClipCache` (built over the
            same samples, same order) instead of decoding.
        cache_rows: the cache row of each sample, when the cache holds more videos (default: the
            sample's index).
        split: the split's name, for reports.
        failure_log: a file to which videos that fail to decode are appended (JSON lines), so
            failures in DataLoader workers reach the data module; None only warns.

    A video that fails to decode is replaced by the next one (index + 1, wrapping) that decodes,
    and reported once (see the module docstring).

    Example:
        >>> ds = VideoClipDataset(samples, infos, num_frames=8, frame_size=(64, 64), mode="dense")  # doctest: +SKIP
        >>> clip, label = ds[0]  # doctest: +SKIP
    """

    def __init__(
        self,
        samples: Sequence[VideoSample],
        infos: Sequence[VideoInfo],
        *,
        num_frames: int,
        frame_size: tuple[int, int],
        mode: str = "segments",
        stride: int = 1,
        train: bool = False,
        clips_per_video: int = 1,
        cache: ClipCache | None = None,
        cache_rows: Sequence[int] | None = None,
        split: str = "",
        failure_log: str | None = None,
    ) -> None:
        if len(samples) != len(infos):
            raise ValueError(f"{len(samples)} samples but {len(infos)} probe results")
        self.samples = list(samples)
        self.infos = list(infos)
        self.num_frames = num_frames
        self.frame_size = frame_size
        self.mode = mode
        self.stride = stride
        self.train = train
        self.clips = 1 if train else clips_per_video
        self.cache = cache
        self.cache_rows = list(cache_rows) if cache_rows is not None else None
        self.split = split
        self.failure_log = failure_log
        self.broken: set[int] = set()  # per process: videos found broken here

    def __len__(self) -> int:
        return len(self.samples)

    # -- what a prediction writer reads (see cnnlstm.training.callbacks.PredictionWriter) ------------------
    @property
    def num_videos(self) -> int:
        """How many videos (files or folders of frames) the dataset reads."""
        return len(self.samples)

    def sample_path(self, video: int) -> str:
        """The file (or folder of frames) of video ``video``, as a string."""
        return str(self.samples[video].path)

    def sample_keys(self) -> list[str]:
        """Each video's file (or folder of frames), resolved: its identity across runs and splits."""
        return [str(Path(sample.path).resolve()) for sample in self.samples]

    def sample_label(self, video: int) -> int:
        """The label of video ``video``; ``-1`` when unknown."""
        return self.samples[video].label

    def _decode(self, index: int, frame_ids: list[int]) -> np.ndarray:
        if self.cache is not None:
            return self.cache.frames(self._row(index), frame_ids)
        sample, info = self.samples[index], self.infos[index]
        if Path(sample.path).is_dir():
            return _decode_folder(Path(sample.path), frame_ids, self.frame_size)
        return decode_frames(sample.path, frame_ids, size=self.frame_size, info=info)

    def _row(self, index: int) -> int:
        """Cache row of sample ``index``."""
        return self.cache_rows[index] if self.cache_rows is not None else index

    def _available(self, index: int) -> int:
        if self.cache is not None:
            return self.cache.counts[self._row(index)]
        return self.infos[index].num_frames

    def _clip(self, index: int) -> Tensor:
        """The clip(s) of video ``index``; raises :class:`VideoDecodeError` when it cannot be decoded."""
        available = self._available(index)
        clips = []
        for k in range(self.clips):
            ids = clip_indices(
                available,
                num_frames=self.num_frames,
                mode=self.mode,
                stride=self.stride,
                train=self.train,
                clip=k,
                num_clips=self.clips,
            )
            frames = self._decode(index, ids)
            clips.append(torch.from_numpy(frames).permute(0, 3, 1, 2))  # (T, H, W, C) -> (T, C, H, W)
        return clips[0] if self.clips == 1 else torch.stack(clips)

    def _report(self, index: int, err: VideoDecodeError) -> None:
        """Warn once about video ``index`` and append it to the failure log (read by the data module)."""
        self.broken.add(index)
        path = str(self.samples[index].path)
        reason = str(err).removeprefix(f"{path}: ")
        warnings.warn(f"{path}: {reason}; skipped, the next video is used in its place", stacklevel=2)
        if self.failure_log is not None:
            entry = {"path": path, "split": self.split, "reason": reason}
            with open(self.failure_log, "a", encoding="utf-8") as log:  # one short line per write
                log.write(json.dumps(entry) + "\n")

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        n = len(self.samples)
        for attempt in range(n):
            video = (index + attempt) % n
            if video in self.broken:
                continue
            try:
                return self._clip(video), self.samples[video].label
            except VideoDecodeError as err:
                self._report(video, err)
        raise VideoDecodeError(
            f"no video of the {self.split or 'dataset'} split decodes (first: {self.samples[0].path}); "
            f"see the warnings, and run `cnnlstm data check`"
        )


class VideoWindowDataset(VideoClipDataset):
    """Sliding windows over whole videos for a prediction timeline.

    Item ``i`` is window ``(video, start)``: ``num_frames`` frames ``stride`` apart from frame
    ``start``; windows start every ``step`` frames. Items are ``(clip, label, video, start)``.
    """

    def __init__(
        self, samples: Sequence[VideoSample], infos: Sequence[VideoInfo], *, step: int, **kwargs: Any
    ) -> None:
        super().__init__(samples, infos, **kwargs)
        span = (self.num_frames - 1) * self.stride + 1
        self.windows = [
            (v, start)
            for v, info in enumerate(self.infos)
            for start in range(0, max(1, info.num_frames - span + 1), step)
        ]

    def __len__(self) -> int:
        return len(self.windows)

    def window_frames(self, video: int, start: int) -> tuple[int, int]:
        """The first and last frame of window ``(video, start)``; the last is at most the video's last."""
        span = (self.num_frames - 1) * self.stride
        return start, min(start + span, self.infos[video].num_frames - 1)

    def window_seconds(self, video: int, start: int) -> tuple[float, float]:
        """The times in seconds of :meth:`window_frames`: the frames' presentation times.

        Where the video has none (a folder of frames) they are frame / fps, and with no frame
        rate either, the frame indices.
        """
        info = self.infos[video]
        first, last = self.window_frames(video, start)
        if info.pts:
            return info.pts[first], info.pts[last]
        fps = info.fps or 1.0
        return first / fps, last / fps

    def __getitem__(self, index: int) -> tuple[Tensor, int, int, int]:  # type: ignore[override]
        video, start = self.windows[index]
        n = self.infos[video].num_frames
        ids = [(start + k * self.stride) % n for k in range(self.num_frames)]
        frames = torch.from_numpy(self._decode(video, ids)).permute(0, 3, 1, 2)
        return frames, self.samples[video].label, video, start


def _check_flip_map(value: Any) -> dict[str, str]:
    """``flip_label_map`` as a symmetric ``{class: class}``, refusing a class listed in two pairs."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InputError(
            f"flip_label_map must map class names to class names, e.g. {{swipe_left: swipe_right}}; "
            f"received flip_label_map={value!r}",
            field="flip_label_map",
        )
    swap: dict[str, str] = {}
    for a, b in value.items():
        for x, y in ((a, b), (b, a)):
            if swap.get(x, y) != y or x == y:
                raise InputError(
                    f"flip_label_map pairs {x!r} with {y!r} and {swap.get(x, x)!r}; give each class one partner",
                    field="flip_label_map",
                )
            swap[x] = y
    return swap


class VideoDataModule(BaseDataModule):
    """Video classification from a folder of videos (see :mod:`cnnlstm.data.video_layouts` for layouts).

    Args:
        root: the dataset folder (or, for prediction, a video file or a folder of videos).
        format: layout, ``"auto"`` to detect (``folders``, ``list``, ``ucf101``, ``hmdb51``,
            ``kinetics``, ``frames``).
        split: official split number (UCF101 1–3, HMDB51 1–3).
        list_file: list or CSV file for ``list`` / ``kinetics`` layouts.
        val_fraction: share of each class carved out for validation when the layout has no
            validation split (seeded, stratified).
        num_frames: frames per clip.
        frame_size: frame height and width after resizing (int or ``[H, W]``).
        sampling: ``"segments"`` or ``"dense"``.
        stride: frame step of dense clips.
        clips_per_video: clips averaged per video in validation and test.
        pad_short: loop-pad videos shorter than a dense clip instead of skipping them.
        hflip: random horizontal flips in training; off by default, since a flip turns e.g. "swipe
            left" into "swipe right". Turn it on only when left/right does not carry the label,
            or give ``flip_label_map``.
        flip_label_map: classes that swap under a flip, e.g. ``{"swipe_left": "swipe_right"}``
            (each pair once; the swap goes both ways): a flipped clip of one gets the other's
            label. Names are checked against the classes at setup.
        crop_scale: random crops keep this share of each side (then resize back), 1.0 = none.
        mean, std: per-channel normalisation (default ImageNet's).
        class_names: class order to use (set from a checkpoint when evaluating another tree).
        cache_frames: decode each video once to this many evenly spread frames and train from a
            memory-mapped cache (:mod:`cnnlstm.data.video_cache`); 0 decodes every clip.
        cache_dir: where caches live, and the list of files known to decode (default
            ``~/.cache/cnnlstm/video``).
        timeline_step: for prediction, also classify sliding windows starting every this many
            frames and write a timeline (0: one prediction per video).
        check_decode: at setup, decode every video once in full and skip (and report) those with
            damaged frames. Files that decoded before (same path, size and modification time) are
            remembered in ``cache_dir/decoded.json`` and not decoded again. ``False`` only probes
            the containers (fast); a video that then fails while loading is replaced by the next
            one and reported. Prediction decodes every file first in any case.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`.

    Example:
        >>> dm = VideoDataModule(root="videos/", num_frames=8, frame_size=64, sampling="dense")  # doctest: +SKIP
        >>> dm.setup("fit"); dm.skipped  # broken files, with reasons  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        root: str,
        format: str = "auto",
        split: int = 1,
        list_file: str | None = None,
        val_fraction: float = 0.1,
        num_frames: int = 16,
        frame_size: int | list[int] = 112,
        sampling: str = "segments",
        stride: int = 1,
        clips_per_video: int = 1,
        pad_short: bool = True,
        hflip: bool = False,
        flip_label_map: dict[str, str] | None = None,
        crop_scale: float = 1.0,
        mean: list[float] = list(IMAGENET_MEAN),  # noqa: B006 - read-only default for the CLI
        std: list[float] = list(IMAGENET_STD),  # noqa: B006
        class_names: list[str] | None = None,
        cache_frames: int = 0,
        cache_dir: str | None = None,
        timeline_step: int = 0,
        check_decode: bool = True,
        batch_size: int = 8,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        self.root = Path(root)
        if not self.root.exists():
            raise DatasetNotFoundError(
                f"root {str(self.root)!r} does not exist; point it at your videos", field="root"
            )
        self.format = check_choice("format", format, ("auto", *FORMATS))
        self.split = check_positive_int("split", split)
        self.list_file = list_file
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self.num_frames = check_positive_int("num_frames", num_frames)
        height, width = to_tuple("frame_size", frame_size, 2)
        self.frame_size = (height, width)
        self.sampling = check_choice("sampling", sampling, ("segments", "dense"))
        self.stride = check_positive_int("stride", stride)
        self.clips_per_video = check_positive_int("clips_per_video", clips_per_video)
        self.pad_short = check_bool("pad_short", pad_short)
        self.hflip = check_bool("hflip", hflip)
        self.flip_label_map = _check_flip_map(flip_label_map)
        self._flip_perm: Tensor | None = None  # label -> label after a flip, set at setup
        if not 0 < crop_scale <= 1:
            raise ValueError(f"crop_scale must be in (0, 1]; received crop_scale={crop_scale!r}")
        self.crop_scale = float(crop_scale)
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"mean and std need 3 values with std > 0; received mean={mean!r}, std={std!r}")
        self.mean, self.std = list(mean), list(std)
        self._class_names = list(class_names) if class_names else None
        self.cache_frames = check_non_negative_int("cache_frames", cache_frames)
        self.cache_dir = cache_dir
        self.timeline_step = check_non_negative_int("timeline_step", timeline_step)
        self.check_decode = check_bool("check_decode", check_decode)
        self._index: Any = None
        self._skipped: list[dict[str, str]] = []
        self._failure_log: Path | None = None

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Every video not used, with its ``path``, ``split`` and ``reason``: found while indexing
        (split ``"index"``: listed but missing, an empty class folder, an unreadable folder, a
        second path to one file), at setup, and while loading (in any DataLoader worker)."""
        found = list(self._skipped)
        if self._failure_log is not None and self._failure_log.is_file():
            seen = {(item["path"], item.get("split")) for item in found}
            for line in self._failure_log.read_text(encoding="utf-8").splitlines():
                try:
                    item = json.loads(line)
                except ValueError:  # a line cut by a worker killed mid-write
                    continue
                if (item["path"], item.get("split")) not in seen:
                    seen.add((item["path"], item.get("split")))
                    found.append(item)
        return found

    def _failure_log_path(self) -> str:
        """The file where datasets log videos that fail while loading (made once, removed with ``self``)."""
        if self._failure_log is None:
            folder = tempfile.mkdtemp(prefix="cnnlstm-video-")
            weakref.finalize(self, shutil.rmtree, folder, True)
            self._failure_log = Path(folder) / "decode-failures.jsonl"
        return str(self._failure_log)

    # -- what the CLI and the task read ----------------------------------------------------------
    @property
    def index(self) -> Any:
        if self._index is None:
            self._index = index_videos(
                self.root,
                format=self.format,
                split=self.split,
                val_fraction=self.val_fraction,
                seed=self.seed,
                list_file=self.list_file,
            )
            # Listed videos that are absent and paths left out while indexing: reported, never dropped silently.
            for what, why in self._index.missing:
                path = what if Path(what).is_absolute() else str(self.root / what)
                self._skipped.append({"path": path, "split": "index", "reason": f"missing: {why}"})
            for path, why in self._index.left_out:
                self._skipped.append({"path": path, "split": "index", "reason": why})
        return self._index

    @property
    def class_names(self) -> list[str]:
        return self._class_names if self._class_names is not None else list(self.index.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> list[int]:
        return [self.num_frames, 3, *self.frame_size]

    def describe(self) -> dict[str, Any]:
        """What was resolved: root, layout, classes with usable videos per split, skipped, clip
        sampling, augmentations and cache (see :meth:`BaseDataModule.describe`).

        Example:
            >>> dm = VideoDataModule(root=".", class_names=["a", "b"])
            >>> dm.describe()["augmentations"]
            {'hflip': False, 'flip_label_map': {}, 'crop_scale': 1.0}
        """
        counts: dict[str, dict[str, int]] = {}
        for split in ("train", "val", "test"):
            dataset = getattr(self, f"{split}_dataset", None)
            if isinstance(dataset, VideoClipDataset):
                labels = [s.label for s in dataset.samples]
                counts[split] = {name: labels.count(i) for i, name in enumerate(self.class_names)}
        return {
            **super().describe(),
            "root": str(self.root),
            "format": self._index.format if self._index is not None else self.format,
            "classes": self.class_names,
            "videos_per_class": counts,
            "skipped": len(self.skipped),
            "clips": self._clip_settings(),
            "augmentations": {
                "hflip": self.hflip,
                "flip_label_map": dict(self.flip_label_map),
                "crop_scale": self.crop_scale,
            },
            "check_decode": self.check_decode,
            "cache": {"frames_per_video": self.cache_frames, "dir": self.cache_dir}
            if self.cache_frames
            else None,
        }

    def _clip_settings(self) -> dict[str, Any]:
        return {
            "sampling": self.sampling,
            "num_frames": self.num_frames,
            "frame_size": list(self.frame_size),
            "stride": self.stride,
            "clips_per_video": self.clips_per_video,
        }

    def preprocessing(self) -> dict[str, Any]:
        """What a user feeding the exported model must do to a video (JSON-serialisable).

        Example:
            >>> p = VideoDataModule(root=".", class_names=["a", "b"], frame_size=64).preprocessing()
            >>> p["input_layout"], p["frame_size"], p["scale"], p["class_names"]
            ('(batch, frames, RGB channels, height, width)', [64, 64], 'divide uint8 by 255 to [0, 1], then (x - mean) / std', ['a', 'b'])
        """
        return {
            "input_layout": "(batch, frames, RGB channels, height, width)",
            **self._clip_settings(),
            "resize": "each frame resized (bilinear) to frame_size, no crop",
            "scale": "divide uint8 by 255 to [0, 1], then (x - mean) / std",
            "mean": list(self.mean),
            "std": list(self.std),
            "clip_average": "evaluation averages the predictions of clips_per_video clips per video",
            "class_names": self.class_names,
        }

    # -- datasets --------------------------------------------------------------------------------
    def _remap(self, samples: list[VideoSample]) -> list[VideoSample]:
        """Relabel samples from the index's class order to ``class_names`` (a checkpoint's)."""
        if self._class_names is None or all(s.label < 0 for s in samples):
            return samples
        position = {name: i for i, name in enumerate(self._class_names)}
        out = []
        for s in samples:
            name = self.index.class_names[s.label] if s.label >= 0 else None
            if name is not None and name not in position:
                self._skipped.append(
                    {"path": str(s.path), "reason": f"class {name!r} is not one the model knows"}
                )
                continue
            out.append(VideoSample(path=s.path, label=position[name] if name is not None else -1))
        return out

    def check(self, samples: list[VideoSample], split: str) -> tuple[list[VideoSample], list[VideoInfo]]:
        """Probe ``samples``; return the usable ones with their infos, record the rest in ``skipped``."""
        need = min_frames(num_frames=self.num_frames, mode=self.sampling, stride=self.stride)
        # Prediction always decodes first: a prediction is never written for a video that cannot be read.
        checks = DecodeChecks(self.cache_dir) if self.check_decode or split == "predict" else None
        show = self.trainer is None or self.trainer.progress_bar_callback is not None
        with ThreadPoolExecutor(max_workers=max(1, self.num_workers or 2)) as pool:
            results = list(
                tqdm(
                    pool.map(partial(_probe, decode=checks), samples),
                    total=len(samples),
                    desc=f"checking {split} videos",
                    unit="video",
                    disable=True if not show else None,  # None: off when stderr is no terminal
                    leave=False,
                )
            )
        if checks is not None:
            checks.save()
        usable, infos = [], []
        for sample, result in zip(samples, results, strict=True):
            if isinstance(result, str):
                reason = result.removeprefix(f"{sample.path}: ")  # the path has its own field
                self._skipped.append({"path": str(sample.path), "split": split, "reason": reason})
            elif result.num_frames < need and not (self.pad_short or self.sampling == "segments"):
                self._skipped.append(
                    {
                        "path": str(sample.path),
                        "split": split,
                        "reason": f"too short: {result.num_frames} frames, a clip needs {need} (set pad_short=true to loop-pad)",
                    }
                )
            else:
                usable.append(sample)
                infos.append(result)
        if self.skipped:
            warnings.warn(
                f"{len(self.skipped)} video(s) skipped so far; see summary.json for the list", stacklevel=1
            )
        if not usable:
            raise ValueError(
                f"no usable video in the {split} split of {str(self.root)!r}; first problem: "
                f"{self.skipped[0]['path'] if self.skipped else '?'}: {self.skipped[0]['reason'] if self.skipped else 'empty split'}"
            )
        return usable, infos

    def _dataset(self, samples: list[VideoSample], split: str, *, train: bool) -> VideoClipDataset:
        usable, infos = self.check(self._remap(samples), split)
        cache, rows = self._cache(usable, infos, split)
        if rows is not None:
            usable, infos = [usable[r] for r in rows], [infos[r] for r in rows]
        if train:
            self._check_every_class_trains(usable)
        return VideoClipDataset(
            usable,
            infos,
            num_frames=self.num_frames,
            frame_size=self.frame_size,
            mode=self.sampling,
            stride=self.stride,
            train=train,
            clips_per_video=self.clips_per_video,
            cache=cache,
            cache_rows=rows,
            split=split,
            failure_log=self._failure_log_path(),
        )

    def _check_every_class_trains(self, usable: list[VideoSample]) -> None:
        """Refuse a class without a usable training video: the model would have an output it can
        never learn. (A class folder with no video at all is left out of the classes instead.)"""
        labels = {s.label for s in usable}
        empty = [name for i, name in enumerate(self.class_names) if i not in labels]
        if empty:
            raise InputError(
                f"class(es) {', '.join(map(repr, empty))} of {str(self.root)!r} have no usable training "
                f"video (see skipped for why each was left out); fix or add videos, or remove the class",
                field="root",
            )

    def _cache(
        self, usable: list[VideoSample], infos: list[VideoInfo], split: str
    ) -> tuple[ClipCache | None, list[int] | None]:
        """The frame cache of ``usable`` (None without ``cache_frames``), and the rows to keep
        (None: all) after skipping, and reporting, the videos that failed to decode into it."""
        if not self.cache_frames:
            return None, None
        if any(Path(s.path).is_dir() for s in usable):
            raise ValueError(
                "cache_frames works on video files; folders of extracted frames are read directly"
            )
        show = self.trainer is None or self.trainer.progress_bar_callback is not None
        cache = ClipCache(
            [str(s.path) for s in usable],
            infos,
            frames_per_video=self.cache_frames,
            frame_size=self.frame_size,
            cache_dir=self.cache_dir,
            progress=show,
        )
        if not cache.failed:
            return cache, None
        for row, reason in sorted(cache.failed.items()):
            self._skipped.append({"path": str(usable[row].path), "split": split, "reason": reason})
        rows = [r for r in range(len(usable)) if r not in cache.failed]
        if not rows:
            raise ValueError(f"no video in the {split} split of {str(self.root)!r} decodes; see skipped")
        return cache, rows

    def setup(self, stage: str | None = None) -> None:
        if self.flip_label_map and stage != "predict":
            self._flip_permutation()  # unknown class names are refused before any decoding
        splits = self.index.splits if stage != "predict" else {}
        if stage in (None, "fit") and self.train_dataset is None:
            if not splits.get("train"):
                raise ValueError(f"{str(self.root)!r} has no training videos (format {self.index.format!r})")
            self.train_dataset = self._dataset(splits["train"], "train", train=True)
        if stage in (None, "fit", "validate") and self.val_dataset is None:
            val = splits.get("val") or splits.get("test")
            if not val:
                raise ValueError(f"{str(self.root)!r} has no validation or test videos; raise val_fraction")
            self.val_dataset = self._dataset(val, "val", train=False)
        if stage == "predict":
            self.predict_dataset = self._predict_dataset()
            return
        if stage in (None, "test") and self.test_dataset is None:
            # A layout without a test split (a plain class-folder tree) is evaluated whole:
            # `cnnlstm test --data.root OTHER_TREE`.
            test = splits.get("test") or self.index.all_samples()
            self.test_dataset = self._dataset(test, "test", train=False)

    def _predict_dataset(self) -> Dataset:
        """A file, a folder of videos, or a labelled tree (then targets are known too)."""
        if self.root.is_file():
            samples = [VideoSample(path=self.root, label=-1)]
        else:
            try:
                samples = self.index.all_samples()
            except DatasetLayoutError:  # no classes to read: just videos
                samples = [VideoSample(path=p, label=-1) for p in list_video_files(self.root)]
        if not self.timeline_step:
            return self._dataset(samples, "predict", train=False)
        usable, infos = self.check(self._remap(samples), "predict")
        return VideoWindowDataset(
            usable,
            infos,
            step=self.timeline_step,
            num_frames=self.num_frames,
            frame_size=self.frame_size,
            mode="dense",
            stride=self.stride,
        )

    # -- per-batch transforms --------------------------------------------------------------------
    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        x, *rest = batch
        training = self.trainer is not None and self.trainer.training
        if not training or not rest:
            return [self.transform(x, train=training), *rest]
        x, y = self.transform_batch(x, rest[0], train=True)
        return [x, y, *rest[1:]]

    def transform(self, x: Tensor, *, train: bool) -> Tensor:
        """uint8 clips ``(..., T, C, H, W)`` → normalised float; random crop and flip in training."""
        x = x.float().div_(255)
        if train:
            x, _ = self._augment(x)
        return self._normalise(x)

    def transform_batch(self, x: Tensor, y: Tensor, *, train: bool) -> tuple[Tensor, Tensor]:
        """:meth:`transform`, and the labels of flipped clips swapped by ``flip_label_map``.

        Example:
            >>> dm = VideoDataModule(root=".", hflip=True, flip_label_map={"left": "right"},
            ...                      class_names=["left", "right", "up"])
            >>> dm.flip_labels(torch.tensor([0, 1, 2, 0]), torch.tensor([True, True, True, False]))
            tensor([1, 0, 2, 0])
        """
        x = x.float().div_(255)
        if train:
            x, flipped = self._augment(x)
            y = self.flip_labels(y, flipped)
        return self._normalise(x), y

    def flip_labels(self, y: Tensor, flipped: Tensor) -> Tensor:
        """``y`` with the labels of flipped clips swapped by ``flip_label_map`` (unknown ``-1`` kept)."""
        if not self.flip_label_map or not bool(flipped.any()):
            return y
        perm = self._flip_permutation().to(y.device)
        swapped = torch.where(y >= 0, perm[y.clamp(min=0)], y)
        return torch.where(flipped.to(y.device), swapped, y)

    def _flip_permutation(self) -> Tensor:
        """label -> label after a flip; the names are checked against the classes."""
        if self._flip_perm is None:
            names = self.class_names
            unknown = sorted(set(self.flip_label_map) - set(names))
            if unknown:
                raise InputError(
                    f"flip_label_map names {', '.join(map(repr, unknown))}, not among the classes "
                    f"{', '.join(names)}; use the class names",
                    field="flip_label_map",
                )
            position = {name: i for i, name in enumerate(names)}
            self._flip_perm = torch.tensor([position[self.flip_label_map.get(n, n)] for n in names])
        return self._flip_perm

    def _normalise(self, x: Tensor) -> Tensor:
        mean = x.new_tensor(self.mean).view(3, 1, 1)
        std = x.new_tensor(self.std).view(3, 1, 1)
        return (x - mean) / std

    def _augment(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Random crop and flip of float clips ``(B, T, C, H, W)``; also which clips were flipped.

        One crop and one flip decision per clip, the same for all its frames.
        """
        b, t, c, h, w = x.shape
        out = []
        flipped = torch.zeros(b, dtype=torch.bool)
        for i, clip in enumerate(x):
            if self.crop_scale < 1:
                ch, cw = max(1, round(h * self.crop_scale)), max(1, round(w * self.crop_scale))
                top = int(torch.randint(0, h - ch + 1, (1,)))
                left = int(torch.randint(0, w - cw + 1, (1,)))
                clip = F.interpolate(
                    clip[:, :, top : top + ch, left : left + cw],
                    size=(h, w),
                    mode="bilinear",
                    align_corners=False,
                )
            if self.hflip and bool(torch.rand(()) < 0.5):
                clip = clip.flip(-1)
                flipped[i] = True
            out.append(clip)
        return torch.stack(out), flipped

    def example_input(self, batch_size: int = 2) -> Tensor:
        return torch.zeros(batch_size, *self.input_shape)
