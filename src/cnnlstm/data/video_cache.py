"""A decoded-clip cache: each video decoded once to ``frames_per_video`` uint8 frames on disk.

Training then reads clips from a memory-mapped array instead of decoding: no codec work per
epoch, and the OS page cache shares the file between DataLoader workers.

Layout of one cache (a folder under ``cache_dir`` named by a hash of what it depends on)::

    frames.npy   uint8 array (num_videos, frames_per_video, H, W, 3), memory-mapped
    meta.json    per-video frame counts and the inputs of the hash

The hash covers every source file's path, size and modification time, the frame size and the
frame budget, so changing any of them builds a new cache instead of reading a stale one. A cache whose
``frames.npy`` does not hold the array ``meta.json`` describes (a truncated or damaged file) is
removed and rebuilt. A video that fails to decode while the cache is built does not stop the
build: its row stays empty, :attr:`ClipCache.failed` names it with the reason, and the data
module skips and reports it. A cache
is written to a temporary folder beside it (``<hash>.tmp-<pid>``) and renamed into place when
complete, so a cache folder is always whole; the temporary folder is removed whether the build
succeeds, fails or loses a race with another process building the same cache.

Frames are taken evenly spread over each video (all of them when it has no more than the budget);
clip sampling then works on this sequence, so ``stride`` counts cached frames. Budget size:
``num_videos × frames_per_video × H × W × 3`` bytes, e.g. UCF101's 13,320 videos × 32 frames ×
112 × 112 × 3 ≈ 16 GB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cnnlstm._io import atomic_write_json
from cnnlstm._validation import check_positive_int
from cnnlstm.data.video_io import VideoDecodeError, VideoInfo, decode_frames

__all__ = ["ClipCache", "DecodeChecks", "default_cache_dir"]

_VERSION = 1


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/cnnlstm/video`` or ``~/.cache/cnnlstm/video``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnnlstm" / "video"


class DecodeChecks:
    """The video files known to decode in full, remembered across runs in ``decoded.json``.

    A file is known by its resolved path, size and modification time, so a changed file is checked
    again. Only successes are kept: a broken file is checked (and reported) every time. Saving
    merges with what another process saved meanwhile, and writes atomically.

    Example:
        >>> import tempfile
        >>> checks = DecodeChecks(tempfile.mkdtemp())
        >>> checks.known(__file__)
        False
        >>> checks.add(__file__); checks.save(); DecodeChecks(checks.file.parent).known(__file__)
        True
    """

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self.file = Path(cache_dir or default_cache_dir()) / "decoded.json"
        self._known: set[str] = self._read()
        self._added: set[str] = set()

    def _read(self) -> set[str]:
        try:
            return set(json.loads(self.file.read_text()))
        except (OSError, ValueError, TypeError):  # none yet, or unreadable: check everything again
            return set()

    @staticmethod
    def _key(path: str | Path) -> str | None:
        try:
            stat = Path(path).stat()
        except OSError:
            return None
        return f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"

    def known(self, path: str | Path) -> bool:
        """Whether ``path``, as it is now, decoded in full before."""
        key = self._key(path)
        return key is not None and key in self._known

    def add(self, path: str | Path) -> None:
        """Remember that ``path``, as it is now, decodes in full."""
        key = self._key(path)
        if key is not None and key not in self._known:
            self._known.add(key)
            self._added.add(key)

    def save(self) -> None:
        """Write what was added (merged with the file as it is now); nothing added, nothing written."""
        if not self._added:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.file, sorted(self._read() | self._added))
        self._added.clear()


def _source_key(paths: Sequence[str], frames_per_video: int, frame_size: tuple[int, int]) -> tuple[str, dict]:
    sources = []
    for p in paths:
        stat = Path(p).stat()
        sources.append([str(Path(p).resolve()), stat.st_size, stat.st_mtime_ns])
    inputs = {
        "version": _VERSION,
        "frames_per_video": frames_per_video,
        "frame_size": list(frame_size),
        "sources": sources,
    }
    digest = hashlib.sha1(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return digest, inputs


class ClipCache:
    """Decoded frames of a list of videos, built once and memory-mapped.

    Args:
        paths: video files, in dataset order.
        infos: their probe results (frame counts), same order.
        frames_per_video: frame budget per video.
        frame_size: ``(H, W)`` the frames are resized to while decoding.
        cache_dir: where caches live (default :func:`default_cache_dir`).
        progress: show a progress bar while building.

    Example:
        >>> cache = ClipCache(paths, infos, frames_per_video=32, frame_size=(112, 112))  # doctest: +SKIP
        >>> cache.counts[0], cache.frames(0, [0, 1, 2]).shape  # doctest: +SKIP
        (32, (3, 112, 112, 3))
    """

    def __init__(
        self,
        paths: Sequence[str],
        infos: Sequence[VideoInfo],
        *,
        frames_per_video: int,
        frame_size: tuple[int, int],
        cache_dir: str | Path | None = None,
        progress: bool = True,
    ) -> None:
        self.paths = [str(p) for p in paths]
        self.frames_per_video = check_positive_int("frames_per_video", frames_per_video)
        height, width = frame_size
        self.frame_size = (height, width)
        key, inputs = _source_key(self.paths, frames_per_video, self.frame_size)
        self.folder = Path(cache_dir or default_cache_dir()) / key
        meta = self._read_meta()
        if meta is None:
            shutil.rmtree(self.folder, ignore_errors=True)  # absent, or damaged: build it again
            self._build(infos, inputs, progress)
            meta = self._read_meta()
            if meta is None:
                raise RuntimeError(f"{self.folder}: the cache just built cannot be read; remove the folder")
        self.counts: list[int] = meta["counts"]
        #: cache row -> why that video could not be decoded (its row is empty; skip it).
        self.failed: dict[int, str] = {int(k): v for k, v in meta.get("failed", {}).items()}
        self._array: np.memmap | None = None

    def _read_meta(self) -> dict | None:
        """``meta.json`` when the cache is whole: readable, and ``frames.npy`` of the expected shape."""
        try:
            meta = json.loads((self.folder / "meta.json").read_text())
            array = np.load(self.folder / "frames.npy", mmap_mode="r")
        except (OSError, ValueError):  # missing, truncated ("mmap length is greater ..."), bad JSON
            return None
        if list(array.shape) != list(self.shape) or len(meta.get("counts", [])) != len(self.paths):
            return None
        return meta

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), self.frames_per_video, *self.frame_size, 3)

    def _build(self, infos: Sequence[VideoInfo], inputs: dict, progress: bool) -> None:
        """Decode into a temporary folder, then rename it to :attr:`folder` (whole, or not at all)."""
        tmp = self.folder.with_name(f"{self.folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)  # left by an earlier, killed run of this process id
        tmp.mkdir(parents=True)
        try:
            failed: dict[int, str] = {}
            counts = self._decode_into(tmp / "frames.npy", infos, progress, failed)
            meta = {**inputs, "counts": counts, "shape": list(self.shape), "failed": failed}
            (tmp / "meta.json").write_text(json.dumps(meta) + "\n")
            try:
                tmp.rename(self.folder)
            except OSError:
                if not (self.folder / "meta.json").is_file():
                    raise
                # another process finished the same cache first: use its copy
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone after the rename; a partial build otherwise

    def _decode_into(
        self, file: Path, infos: Sequence[VideoInfo], progress: bool, failed: dict[int, str] | None = None
    ) -> list[int]:
        """Write every video's frames into a new ``.npy`` ``file``; return the frame counts.

        A video that fails to decode gets count 0 and its reason in ``failed`` (row -> reason).
        """
        failed = {} if failed is None else failed
        array = np.lib.format.open_memmap(file, mode="w+", dtype=np.uint8, shape=self.shape)
        counts = []
        items: Iterable[tuple[str, VideoInfo]] = zip(self.paths, infos, strict=True)
        if progress:
            items = tqdm(
                items,
                total=len(self.paths),
                desc="caching decoded frames",
                unit="video",
                leave=False,
                disable=None,
            )
        for i, (path, info) in enumerate(items):
            n = min(info.num_frames, self.frames_per_video)
            ids = np.linspace(0, info.num_frames - 1, n).round().astype(int).tolist()
            try:
                array[i, :n] = decode_frames(path, ids, size=self.frame_size, info=info)
            except VideoDecodeError as err:
                failed[i] = str(err).removeprefix(f"{path}: ")
                n = 0
            counts.append(n)
        array.flush()
        return counts

    def frames(self, index: int, frame_ids: Sequence[int]) -> np.ndarray:
        """uint8 ``(len(frame_ids), H, W, 3)`` of cached video ``index``; ids below ``counts[index]``."""
        if self._array is None:  # opened lazily: once per DataLoader worker
            self._array = np.load(self.folder / "frames.npy", mmap_mode="r")
        return np.ascontiguousarray(self._array[index, list(frame_ids)])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_array"] = None  # workers open their own map
        return state
