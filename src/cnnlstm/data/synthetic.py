"""Generated data for tests, demos and tutorials: no downloads, the same samples for a given seed.

:class:`MovingSquareVideos` — clips of a square moving in one of ``num_classes`` directions over a
noisy background. A single frame says nothing of the direction, so a model must use time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from cnnlstm._validation import check_choice, check_non_negative_float, check_positive_int
from cnnlstm.data.base import BaseDataModule

__all__ = ["MovingSquareVideos", "SyntheticVideoDataModule", "write_video_tree"]

_SPLIT_OFFSET = {"train": 0, "val": 1_000_003, "test": 2_000_006}


class MovingSquareVideos(Dataset):
    """Clips ``(T, C, H, W)`` (float32, about [0, 1]) of a square moving in direction ``label``.

    Direction ``k`` of ``num_classes`` is the angle ``2πk / num_classes``; start position, speed
    (1 to 2 pixels per frame), colour and noise are drawn per sample from a generator seeded by
    ``(seed, split, index)``, so splits never share a sample and every run sees the same data.

    Example:
        >>> ds = MovingSquareVideos(num_samples=4, num_classes=4, num_frames=8, frame_size=32)
        >>> clip, label = ds[0]
        >>> clip.shape, label
        (torch.Size([8, 3, 32, 32]), 0)
    """

    def __init__(
        self,
        *,
        num_samples: int,
        num_classes: int = 4,
        num_frames: int = 8,
        frame_size: int = 32,
        channels: int = 3,
        square_size: int = 6,
        noise: float = 0.1,
        seed: int = 0,
        split: str = "train",
        progress: bool = False,
    ) -> None:
        self.num_samples = check_positive_int("num_samples", num_samples)
        self.num_classes = check_positive_int("num_classes", num_classes)
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2; received num_classes={num_classes!r}")
        self.num_frames = check_positive_int("num_frames", num_frames)
        self.frame_size = check_positive_int("frame_size", frame_size)
        self.channels = check_positive_int("channels", channels)
        self.square_size = check_positive_int("square_size", square_size)
        self.noise = check_non_negative_float("noise", noise)
        check_choice("split", split, tuple(_SPLIT_OFFSET))
        travel = 2.0 * (self.num_frames - 1)  # the longest path: 2 px per frame
        if self.frame_size < self.square_size + travel + 2:
            raise ValueError(
                f"frame_size={frame_size} is too small for a {square_size}-pixel square moving "
                f"{num_frames} frames; use frame_size >= {math.ceil(self.square_size + travel + 2)}"
            )
        self.seed = int(seed)
        self.split = split
        samples: Iterable[int] = range(self.num_samples)
        if progress:
            samples = tqdm(samples, desc=f"generating {split} clips", unit="clip", leave=False, disable=None)
        clips, labels = zip(*(self._make(i) for i in samples), strict=True)
        self.clips = torch.stack(clips)  # (N, T, C, H, W)
        self.labels = torch.tensor(labels)

    def sample_keys(self) -> list[str]:
        """The generator's settings, split and index per clip: equal keys are equal clips."""
        settings = (
            f"MovingSquareVideos(seed={self.seed}, split={self.split}, classes={self.num_classes}, "
            f"frames={self.num_frames}, size={self.frame_size}, channels={self.channels}, "
            f"square={self.square_size}, noise={self.noise})"
        )
        return [f"{settings}#{i}" for i in range(self.num_samples)]

    def _make(self, index: int) -> tuple[Tensor, int]:
        g = torch.Generator().manual_seed(self.seed * 7_919 + _SPLIT_OFFSET[self.split] + index)
        label = index % self.num_classes  # balanced classes
        angle = 2 * math.pi * label / self.num_classes
        speed = 1.0 + torch.rand((), generator=g).item()
        dx, dy = speed * math.cos(angle), speed * math.sin(angle)
        t_mid = (self.num_frames - 1) / 2
        # The path's midpoint sits at the centre plus a jitter that keeps the whole path inside.
        centre = (self.frame_size - self.square_size) / 2
        free_x = max(0.0, centre - abs(dx) * t_mid - 1)
        free_y = max(0.0, centre - abs(dy) * t_mid - 1)
        u = 2 * torch.rand(2, generator=g) - 1  # uniform in [-1, 1)
        x0 = centre + u[0].item() * free_x - dx * t_mid
        y0 = centre + u[1].item() * free_y - dy * t_mid
        colour = 0.5 + 0.5 * torch.rand(self.channels, generator=g)
        frames = self.noise * torch.randn(
            self.num_frames, self.channels, self.frame_size, self.frame_size, generator=g
        )
        for t in range(self.num_frames):
            x = int(round(min(max(x0 + dx * t, 0), self.frame_size - self.square_size)))
            y = int(round(min(max(y0 + dy * t, 0), self.frame_size - self.square_size)))
            frames[t, :, y : y + self.square_size, x : x + self.square_size] += colour[:, None, None]
        return frames, label

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.clips[index], int(self.labels[index])


class SyntheticVideoDataModule(BaseDataModule):
    """Train/val/test splits of :class:`MovingSquareVideos`; prediction runs on the test clips.

    Args:
        num_classes: directions of motion.
        num_frames, frame_size, channels: clip shape ``(T, C, H, W) = (num_frames, channels,
            frame_size, frame_size)``.
        num_train, num_val, num_test: samples per split.
        noise: standard deviation of the background noise.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`.
        progress: show a progress bar while generating.

    Example:
        >>> dm = SyntheticVideoDataModule(num_train=8, num_val=4, num_test=4, batch_size=4)
        >>> dm.setup("fit")
        >>> next(iter(dm.train_dataloader()))[0].shape
        torch.Size([4, 8, 3, 32, 32])
    """

    def __init__(
        self,
        *,
        num_classes: int = 4,
        num_frames: int = 8,
        frame_size: int = 32,
        channels: int = 3,
        num_train: int = 512,
        num_val: int = 128,
        num_test: int = 128,
        noise: float = 0.1,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
        progress: bool = True,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        self.save_hyperparameters()
        self._num_classes = check_positive_int("num_classes", num_classes)
        self._shape = [
            check_positive_int("num_frames", num_frames),
            check_positive_int("channels", channels),
            check_positive_int("frame_size", frame_size),
            frame_size,
        ]
        self.sizes = {
            "train": check_positive_int("num_train", num_train),
            "val": check_positive_int("num_val", num_val),
            "test": check_positive_int("num_test", num_test),
        }
        self.noise = noise
        self.progress = progress

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @property
    def input_shape(self) -> list[int]:
        return list(self._shape)

    @property
    def class_names(self) -> list[str]:
        return [f"{round(360 * k / self.num_classes)}°" for k in range(self.num_classes)]

    def make_dataset(self, split: str) -> MovingSquareVideos:
        frames, channels, size, _ = self._shape
        # No bar when the trainer runs without one (``--quiet``).
        progress = self.progress and (self.trainer is None or self.trainer.progress_bar_callback is not None)
        return MovingSquareVideos(
            num_samples=self.sizes[split],
            num_classes=self.num_classes,
            num_frames=frames,
            frame_size=size,
            channels=channels,
            noise=self.noise,
            seed=self.seed,
            split=split,
            progress=progress,
        )


def write_video_tree(
    root: str | Path,
    *,
    num_classes: int = 4,
    videos_per_class: int = 24,
    num_frames: int = 24,
    frame_size: int = 64,
    fps: float = 12.0,
    noise: float = 0.25,
    seed: int = 0,
    include_broken: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Write :class:`MovingSquareVideos` clips as real H.264 ``.mp4`` files in a class-folder tree.

    ``root/<class>/<class>_<i>.mp4``, class names ``dir000``, ``dir090``, ... (the direction in
    degrees): the order of frames decides the class. ``noise`` is the per-frame background noise
    (a textured background, as real footage has, keeps unnormalised models such as the seed
    Conv3d out of dead-ReLU starts). With ``include_broken`` it adds, to the first
    class, a zero-length file, a file of random bytes, a truncated copy of a video and a 3-frame
    video, the cases a loader must survive. Returns a manifest (also written as
    ``root/manifest.json``).

    Example:
        >>> write_video_tree("videos", num_classes=4, videos_per_class=8)["videos"]
        32
    """
    from cnnlstm.data.video_io import write_video

    root = Path(root)
    clips = MovingSquareVideos(
        num_samples=num_classes * videos_per_class,
        num_classes=num_classes,
        num_frames=num_frames,
        frame_size=frame_size,
        square_size=max(4, frame_size // 6),
        noise=noise,
        seed=seed,
    )
    names = [f"dir{round(360 * k / num_classes):03d}" for k in range(num_classes)]
    written = []
    indices: Iterable[int] = range(len(clips))
    if progress:
        indices = tqdm(indices, desc="writing videos", unit="video", leave=False, disable=None)
    for i in indices:
        frames, label = clips[i]
        path = root / names[label] / f"{names[label]}_{i // num_classes:03d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(
            path, _to_pixels(frames), fps=fps, gop=max(1, round(fps))
        )  # a keyframe a second: seekable
        written.append(str(path.relative_to(root)))
    broken = _write_broken(root / names[0], root / written[0], clips[0][0], fps) if include_broken else {}
    manifest = {
        "classes": names,
        "videos": len(written),
        "num_frames": num_frames,
        "frame_size": frame_size,
        "fps": fps,
        "noise": noise,
        "seed": seed,
        "broken": broken,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _to_pixels(frames: Tensor) -> np.ndarray:
    """A clip ``(T, C, H, W)`` of floats around [0, 1] as ``(T, H, W, 3)`` uint8 (grey for 1 channel)."""
    rgb = frames.expand(-1, 3, -1, -1) if frames.shape[1] == 1 else frames[:, :3]
    return ((rgb + 0.2) / 1.4).clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _write_broken(folder: Path, good: Path, clip: Tensor, fps: float) -> dict[str, str]:
    """The files a loader must survive, written into ``folder``; ``{file name: what it is}``.

    ``good`` is a complete video whose first half becomes the truncated one; the short video is
    the first 3 frames of ``clip``.
    """
    from cnnlstm.data.video_io import write_video

    (folder / "broken_empty.mp4").write_bytes(b"")
    (folder / "broken_random.mp4").write_bytes(
        torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes()
    )
    whole = good.read_bytes()
    (folder / "broken_truncated.mp4").write_bytes(whole[: len(whole) // 2])
    write_video(folder / "broken_short.mp4", _to_pixels(clip[:3]), fps=fps)
    return {
        "broken_empty.mp4": "zero-length file",
        "broken_random.mp4": "not a video",
        "broken_truncated.mp4": "first half of a video",
        "broken_short.mp4": "3 frames",
    }
