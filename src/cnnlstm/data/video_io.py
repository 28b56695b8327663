"""Reading and writing video files with PyAV, decoding only what a clip needs.

Three functions cover what a video dataset needs:

* :func:`probe_video` demuxes the first video stream *without decoding* and returns a
  :class:`VideoInfo`: how many frames can really be read, their presentation times, which
  of them are keyframes, the frame size and the average frame rate.
* :func:`decode_frames` decodes a set of frames by index. It seeks once, to the keyframe at
  or before the first requested frame, and decodes forward only until the last requested
  frame, so a 16-frame clip near the end of a long file costs about one keyframe interval of
  decoding, not the whole file. Frames are identified by timestamp: frame ``i`` is the frame
  with the ``i``-th smallest presentation time, which is also right for variable-frame-rate
  files.
* :func:`write_video` writes an H.264 ``.mp4`` (used by the tests and by synthetic-data
  generators).

Every problem with an input file (missing, empty, not a video, no video stream, no frames,
a frame that cannot be decoded) is raised as :class:`VideoDecodeError`, a one-line message
that names the file and the reason; PyAV's own exceptions never escape the readers.

PyAV (``pip install cnnlstm[video]``) is imported lazily, so importing this module works
without it; calling a function that needs it raises an :class:`ImportError` with that hint.

Truncated files (a download or copy cut mid-stream) are readable when the container's index
is at the front or the container needs no index (MP4 written with ``+faststart``, as
:func:`write_video` does, Matroska, MPEG-TS). :func:`probe_video` then reports only frames it
can vouch for; see its docstring for the exact rule. An MP4 whose index (``moov``) was at the
end and got cut off cannot be opened at all and raises :class:`VideoDecodeError`.

Example:
    >>> import numpy as np
    >>> frames = np.zeros((30, 48, 64, 3), dtype=np.uint8)
    >>> write_video("/tmp/clip.mp4", frames, fps=25.0, gop=10)
    >>> info = probe_video("/tmp/clip.mp4")
    >>> info.num_frames, info.keyframes
    (30, (0, 10, 20))
    >>> decode_frames("/tmp/clip.mp4", [28, 29, 29], size=(24, 32), info=info).shape
    (3, 24, 32, 3)
"""

from __future__ import annotations

import contextlib
import math
import operator
import os
from bisect import bisect_right
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlstm._io import one_line

__all__ = ["VideoDecodeError", "VideoInfo", "check_decodes", "decode_frames", "probe_video", "write_video"]

PathLike = str | os.PathLike[str]

# Containers whose index can be moved to the front of the file (``movflags=+faststart``).
_MOV_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov"})
# Encoders that understand a constant-rate-factor quality setting.
_CRF_CODECS = frozenset({"libx264", "libx265"})
# How many frames past the last needed one are decoded before a missing frame is given up.
_FRAMES_PAST_LAST = 8


class VideoDecodeError(RuntimeError):
    """A video file could not be read; the message is one line naming the file and the reason.

    Example:
        >>> try:
        ...     probe_video("/nonexistent.mp4")
        ... except VideoDecodeError as err:
        ...     print(err)
        /nonexistent.mp4: file not found
    """


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learned about a file's first video stream.

    Attributes:
        path: the file, as a string.
        num_frames: frames that can actually be demuxed and decoded (counted from the packets
            present, not taken from the container's possibly-wrong metadata).
        fps: average frame rate, ``num_frames / duration_s``.
        duration_s: seconds from the first frame's presentation time to the end of the last
            frame (its presentation time plus its duration).
        width: coded frame width in pixels.
        height: coded frame height in pixels.
        keyframes: indices (into the timestamp order) of the keyframes, ascending.
        pts: presentation time in seconds of every frame, ascending, ``len == num_frames``.
            These are the stream's own timestamps (not shifted to start at zero).

    Example:
        >>> info = probe_video("/tmp/clip.mp4")  # doctest: +SKIP
        >>> info.num_frames == len(info.pts)  # doctest: +SKIP
        True
    """

    path: str
    num_frames: int
    fps: float
    duration_s: float
    width: int
    height: int
    keyframes: tuple[int, ...] = field(repr=False)
    pts: tuple[float, ...] = field(repr=False)


# --------------------------------------------------------------------------- helpers


def _require_av() -> Any:
    """Import PyAV, or explain how to install it."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "cnnlstm.data.video_io needs PyAV; install it with `pip install cnnlstm[video]`"
        ) from exc
    return av


def _av_errors(av: Any) -> tuple[type[BaseException], ...]:
    """The exceptions PyAV raises for unreadable input (FFmpeg errors subclass OSError too)."""
    return (av.FFmpegError, OSError, EOFError, ValueError)


def _reason(exc: BaseException) -> str:
    """A short, single-line description of a PyAV/OS error."""
    return one_line(getattr(exc, "strerror", None) or exc)


def _fail(path: str, reason: str) -> VideoDecodeError:
    return VideoDecodeError(f"{path}: {one_line(reason)}")


def _check_file(path: PathLike) -> str:
    """Return ``path`` as a string after the checks that need no decoder."""
    path_str = os.fspath(path)
    if not isinstance(path_str, str):
        path_str = os.fsdecode(path_str)
    if not os.path.exists(path_str):
        raise _fail(path_str, "file not found")
    if os.path.isdir(path_str):
        raise _fail(path_str, "is a directory, not a video file")
    try:
        size = os.path.getsize(path_str)
    except OSError as exc:
        raise _fail(path_str, f"cannot stat file ({_reason(exc)})") from exc
    if size == 0:
        raise _fail(path_str, "empty file (0 bytes)")
    return path_str


def _open_input(av: Any, path: str) -> Any:
    try:
        return av.open(path, mode="r")
    except _av_errors(av) as exc:
        raise _fail(path, f"not a readable video container ({_reason(exc)})") from exc


def _video_stream(container: Any, path: str) -> Any:
    streams = container.streams.video
    if not streams:
        raise _fail(path, "no video stream in the file")
    return streams[0]


def _single_threaded(stream: Any) -> None:
    """Make the stream's decoder use one thread.

    Datasets decode inside DataLoader worker processes, each with its own decoder. FFmpeg's
    default (one thread per core, frame threading) would start ``cores x workers`` threads that
    fight over the CPU, and frame threading also delays the first output frame by one frame per
    thread after every seek, which is pure overhead when a clip needs only a few frames. The
    parallelism comes from the workers instead.
    """
    codec_context = stream.codec_context
    codec_context.thread_type = "NONE"
    codec_context.thread_count = 1


# --------------------------------------------------------------------------- probing


@dataclass
class _PacketRecord:
    pts: int
    dts: int
    duration: int
    keyframe: bool


def probe_video(path: PathLike) -> VideoInfo:
    """Describe the first video stream of ``path`` by demuxing its packets, without decoding.

    The frame list comes from the packets actually present in the file, sorted by presentation
    time, so a container whose header claims a wrong frame count or duration is still counted
    correctly. Packets flagged "discard" (e.g. cut by an MP4 edit list) and empty packets are
    skipped, since the decoder outputs no frame for them; so are packets without any timestamp
    (raw elementary streams without timestamps are not supported), and packets that share a
    presentation time count once.

    Truncated files do not raise. The file is treated as truncated when demuxing stops with an
    error, a packet is flagged corrupt or extends past the end of the file, the container's index
    lists more packets than were read, or the stream's declared end lies more than 1.5 frames past
    the last frame read. The frames reported are then the conservative set that is sure to decode
    and to keep the same indices as in the intact file: packets from the first incomplete one on
    (in file order) are dropped, and of the rest only frames whose presentation time is at most
    the largest decode timestamp read are kept. A frame that is missing has a decode timestamp
    beyond that and, as ``pts >= dts``, a presentation time beyond it too, so the kept frames are
    a gap-free prefix of the original timeline; because every kept packet's references come
    earlier in decode order, they all decode. With B-frames this drops up to the reorder depth
    (typically 1-3 frames) more than strictly necessary; without B-frames it drops nothing extra.

    Args:
        path: a local video file.

    Returns:
        The :class:`VideoInfo` of the first video stream.

    Raises:
        VideoDecodeError: missing file, directory, zero-length file, unreadable container, no
            video stream, or no frame (packet with a timestamp) in the video stream.

    Example:
        >>> info = probe_video("/tmp/clip.mp4")  # doctest: +SKIP
        >>> info.num_frames, info.fps, (info.height, info.width)  # doctest: +SKIP
        (30, 25.0, (48, 64))
    """
    path_str = _check_file(path)
    file_size = os.path.getsize(path_str)
    av = _require_av()
    errors = _av_errors(av)
    container = _open_input(av, path_str)
    try:
        stream = _video_stream(container, path_str)
        if stream.time_base is None or stream.time_base <= 0:
            raise _fail(path_str, "video stream has no time base")
        records, truncated = _read_packets(container, stream, file_size, errors)
        frames = _frames(records, truncated)
        if not frames:
            reason = "no decodable frames in the video stream"
            if truncated:
                reason += " (file truncated before the first complete frame)"
            raise _fail(path_str, reason)
        return _video_info(path_str, stream, frames)
    except errors as exc:  # anything PyAV raised outside the demux loop
        raise _fail(path_str, f"cannot read video stream ({_reason(exc)})") from exc
    finally:
        container.close()


def _read_packets(
    container: Any, stream: Any, file_size: int, errors: tuple[type[BaseException], ...]
) -> tuple[list[_PacketRecord], bool]:
    """The stream's frame packets in file order, and whether the file is truncated.

    Reading stops at the first packet that is corrupt or extends past the end of the file, and
    at a demuxing error; otherwise the file still counts as truncated when the container's index
    lists unread packets or its declared end lies well past the last frame read.
    """
    records: list[_PacketRecord] = []
    packets_read = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the end-of-stream flush packet, or an empty (dropped) frame
                continue
            end = packet.pos + packet.size if packet.pos is not None and packet.pos >= 0 else -1
            if packet.is_corrupt or end > file_size:
                return records, True
            packets_read += 1
            record = _record(packet)
            if record is not None:
                records.append(record)
    except errors:
        return records, True
    truncated = _index_lists_more(stream, packets_read) or _declared_end_beyond(container, stream, records)
    return records, truncated


def _record(packet: Any) -> _PacketRecord | None:
    """A packet's timing, or None for one the decoder outputs no frame for or that has no time."""
    if packet.is_discard:
        return None
    pts = packet.pts if packet.pts is not None else packet.dts
    if pts is None:  # no timestamp at all: cannot be identified by time, skip
        return None
    dts = packet.dts if packet.dts is not None else pts
    return _PacketRecord(int(pts), int(dts), int(packet.duration or 0), bool(packet.is_keyframe))


def _frames(records: list[_PacketRecord], truncated: bool) -> list[_PacketRecord]:
    """The frames to report, in presentation order, one per timestamp.

    Of a truncated file only frames presented by the largest decode time read are kept: the
    gap-free prefix that is sure to decode (see :func:`probe_video`).
    """
    if truncated and records:
        last_dts = max(record.dts for record in records)
        records = [record for record in records if record.pts <= last_dts]
    unique: list[_PacketRecord] = []
    for record in sorted(records, key=lambda record: record.pts):  # one frame per timestamp
        if not unique or unique[-1].pts != record.pts:
            unique.append(record)
    return unique


def _video_info(path: str, stream: Any, frames: list[_PacketRecord]) -> VideoInfo:
    """The :class:`VideoInfo` of ``frames`` (non-empty, in presentation order)."""
    time_base = stream.time_base
    ticks = [record.pts for record in frames]
    last_duration = frames[-1].duration if frames[-1].duration > 0 else _typical_step(ticks, stream)
    duration = Fraction(ticks[-1] - ticks[0] + last_duration) * time_base
    if duration > 0:
        fps = float(len(frames) / duration)
    else:
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
    codec_context = stream.codec_context
    return VideoInfo(
        path=path,
        num_frames=len(frames),
        fps=fps,
        duration_s=float(duration),
        width=int(codec_context.width or 0),
        height=int(codec_context.height or 0),
        keyframes=tuple(i for i, record in enumerate(frames) if record.keyframe),
        pts=tuple(float(Fraction(t) * time_base) for t in ticks),
    )


def _typical_step(ticks: Sequence[int], stream: Any) -> int:
    """The usual frame spacing in stream ticks (median gap, else 1 / average rate, else 0)."""
    if len(ticks) >= 2:
        gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
        return int(gaps[len(gaps) // 2])
    rate = stream.average_rate or stream.guessed_rate
    if rate and stream.time_base:
        return max(int(round(1 / (Fraction(rate) * stream.time_base))), 0)
    return 0


def _index_lists_more(stream: Any, packets_read: int) -> bool:
    """True when the container's index (e.g. an MP4 sample table) lists unread packets."""
    try:
        return len(stream.index_entries) > packets_read
    except Exception:  # noqa: BLE001 - the index is an optional hint only
        return False


def _declared_end_beyond(container: Any, stream: Any, records: Sequence[_PacketRecord]) -> bool:
    """True when the declared duration ends more than 1.5 frames after the last frame read."""
    if not records:
        return False
    time_base = stream.time_base
    ticks = sorted(record.pts for record in records)
    last = max(records, key=lambda record: record.pts)
    step = last.duration if last.duration > 0 else _typical_step(ticks, stream)
    observed_end = Fraction(ticks[-1] + step) * time_base
    declared_end: Fraction | None = None
    if stream.duration:
        declared_end = Fraction((stream.start_time or 0) + stream.duration) * time_base
    elif container.duration:
        declared_end = Fraction((container.start_time or 0) + container.duration, 1_000_000)
    if declared_end is None:
        return False
    return declared_end - observed_end > Fraction(3, 2) * Fraction(max(step, 1)) * time_base


# --------------------------------------------------------------------------- decoding


def _decode_stream(container: Any, stream: Any, errors: list[str]) -> Generator[Any, None, None]:
    """Yield decoded frames of ``stream`` from the container's current position, in pts order.

    Decoding errors of single packets and a demuxing error (truncated file) do not stop the
    iteration; they are appended to ``errors`` and the decoder is flushed so the frames it still
    holds come out. (Tests wrap this function to count decoded frames.)
    """
    av = _require_av()
    av_errors = _av_errors(av)
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()  # the final empty packet flushes the decoder
            except av_errors as exc:
                errors.append(f"decoding failed at pts {packet.pts} ({_reason(exc)})")
                continue
            yield from frames
    except av_errors as exc:
        errors.append(f"demuxing stopped ({_reason(exc)})")
        try:
            flushed = stream.codec_context.decode(None)
        except av_errors as flush_exc:
            errors.append(f"flushing the decoder failed ({_reason(flush_exc)})")
            return
        yield from flushed


def _check_size(size: Any) -> tuple[int, int]:
    try:
        height, width = (operator.index(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width) of two ints, got {size!r}") from None
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return height, width


def decode_frames(
    path: PathLike,
    frame_indices: Sequence[int],
    *,
    size: tuple[int, int] | None = None,
    info: VideoInfo | None = None,
) -> np.ndarray:
    """Decode the frames ``frame_indices`` of ``path`` into an RGB ``uint8`` array.

    Only the needed window is decoded: one seek to the keyframe at or before the first needed
    frame, then forward decoding until the last needed frame has come out. Frame ``i`` is the
    frame whose presentation time is ``info.pts[i]`` (the ``i``-th smallest), so files with a
    variable frame rate work. Only requested frames are converted to RGB; with ``size`` the
    scaling happens in the same swscale call (``to_ndarray(width=..., height=...)``).

    The decoder runs with a single thread: each DataLoader worker runs its own decoder, and
    FFmpeg's default of one thread per core in every worker oversubscribes the CPU (frame
    threading also adds one frame of latency per thread after each seek). The container is
    opened and closed inside this call, so it is safe to call from worker processes.

    If the seek lands after the first needed frame (a container with an imprecise index), the
    window is decoded again from the start of the file. A seek may also land one keyframe early:
    MP4 seeks by decode time, so in variable-frame-rate files with B-frames the demuxer can pick
    the previous keyframe; the result is the same, at the cost of one more keyframe interval.

    Args:
        path: a local video file.
        frame_indices: frame indices in ``[0, info.num_frames)``, in the order wanted; they may
            repeat (e.g. loop padding) and need not be sorted.
        size: ``(height, width)`` of the returned frames; ``None`` keeps the coded size.
        info: the file's :class:`VideoInfo`; pass it when decoding several clips of one file to
            skip re-probing (``None`` probes the file, which demuxes it once without decoding).

    Returns:
        Array of shape ``(len(frame_indices), H, W, 3)``, dtype ``uint8``, RGB.

    Raises:
        VideoDecodeError: the file cannot be read, an index is out of range, or a requested
            frame cannot be decoded (e.g. the file is truncated); the message names the index.
        ValueError: ``size`` is not two positive ints.

    Example:
        >>> clip = decode_frames("/tmp/clip.mp4", [4, 5, 6, 6], size=(112, 112))  # doctest: +SKIP
        >>> clip.shape, clip.dtype  # doctest: +SKIP
        ((4, 112, 112, 3), dtype('uint8'))
    """
    path_str = _check_file(path)
    indices = [operator.index(i) for i in frame_indices]
    if info is None:
        info = probe_video(path_str)
    out_height, out_width = _check_size(size) if size is not None else (info.height, info.width)
    out = np.empty((len(indices), out_height, out_width, 3), dtype=np.uint8)
    if not indices:
        return out
    for i in indices:
        if not 0 <= i < info.num_frames:
            raise _fail(path_str, f"frame index {i} out of range [0, {info.num_frames})")
    positions: dict[int, list[int]] = {}
    for position, i in enumerate(indices):
        positions.setdefault(i, []).append(position)
    request = _Request(path_str, info, positions, out)

    av = _require_av()
    for start in _seek_starts(info, request.needed[0]):
        overshot = _decode_window(av, request, start)
        if not overshot:
            break

    if request.remaining:
        missing = sorted(request.remaining)
        not_found = "frame not found in the stream (truncated file, or info from another file)"
        reason = request.errors[-1] if request.errors else not_found
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise _fail(path_str, f"cannot decode frame index {missing[0]}{more} of {info.num_frames}: {reason}")
    return out


def check_decodes(path: PathLike, info: VideoInfo | None = None) -> VideoInfo:
    """Decode every frame of ``path`` once (no colour conversion) and check each one comes out.

    :func:`probe_video` only demuxes, so a file whose container is intact but whose frames are
    damaged (e.g. a corrupted keyframe) probes fine and fails later, in :func:`decode_frames`.
    This is the full check: a frame of ``info`` that the decoder does not output is an error.
    It costs one decode of the file (no scaling, no RGB conversion).

    Returns:
        ``info`` (probed when None), for chaining.

    Raises:
        VideoDecodeError: the file cannot be read, or a frame cannot be decoded; the message names
            the first frame index that fails and the decoder's reason.

    Example:
        >>> check_decodes("/tmp/clip.mp4").num_frames
        30
    """
    path_str = _check_file(path)
    if info is None:
        info = probe_video(path_str)
    av = _require_av()
    errors: list[str] = []
    container = _open_input(av, path_str)
    try:
        stream = _video_stream(container, path_str)
        _single_threaded(stream)
        time_base = stream.time_base
        seen: set[int] = set()
        for frame in _decode_stream(container, stream, errors):
            pts = frame.pts if frame.pts is not None else frame.dts
            if pts is not None:
                seen.add(int(pts))
    except _av_errors(av) as exc:
        raise _fail(path_str, f"decoding failed ({_reason(exc)})") from exc
    finally:
        container.close()
    missing = [
        i
        for i, t in enumerate(info.pts)
        if round(t * time_base.denominator / time_base.numerator) not in seen
    ]
    if missing:
        reason = errors[0] if errors else "frame not output by the decoder"
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise _fail(path_str, f"cannot decode frame index {missing[0]}{more} of {info.num_frames}: {reason}")
    return info


@dataclass
class _Request:
    """One :func:`decode_frames` call: the frames wanted, where each goes, which are still missing."""

    path: str
    info: VideoInfo
    positions: dict[int, list[int]]  # frame index -> its positions in ``out``
    out: np.ndarray
    remaining: set[int] = field(init=False)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.remaining = set(self.positions)

    @property
    def needed(self) -> list[int]:
        return sorted(self.positions)

    def take(self, index: int, frame: Any) -> None:
        """Convert decoded ``frame`` (frame ``index``) to RGB at the output size, into every position."""
        height, width = self.out.shape[1:3]
        array = frame.to_ndarray(format="rgb24", width=width, height=height, threads=1)
        for position in self.positions[index]:
            self.out[position] = array
        self.remaining.discard(index)


def _seek_starts(info: VideoInfo, first_needed: int) -> list[int | None]:
    """Where to start decoding: the keyframe at or before ``first_needed``, then (if that seek
    overshoots) the file start, ``None``. Seeking to the very first frame is the same as not
    seeking, so it is skipped."""
    key_position = bisect_right(info.keyframes, first_needed) - 1
    keyframe = info.keyframes[key_position] if key_position >= 0 else None
    return [keyframe, None] if keyframe not in (None, 0) else [None]


def _decode_window(av: Any, request: _Request, start: int | None) -> bool:
    """Decode from keyframe ``start`` (``None``: file start) into the request; True if the seek overshot."""
    av_errors = _av_errors(av)
    container = _open_input(av, request.path)
    try:
        stream = _video_stream(container, request.path)
        _single_threaded(stream)
        time_base = stream.time_base

        def ticks(seconds: float) -> int:
            return round(seconds * time_base.denominator / time_base.numerator)

        if start is not None:
            try:
                container.seek(ticks(request.info.pts[start]), backward=True, any_frame=False, stream=stream)
            except av_errors as exc:
                request.errors.append(f"seek failed ({_reason(exc)})")
                return True  # retry from the start of the file
        frames = _decode_stream(container, stream, request.errors)
        try:
            return _take_frames(frames, request, ticks, seeked=start is not None)
        finally:
            frames.close()
    except av_errors as exc:
        raise _fail(request.path, f"decoding failed ({_reason(exc)})") from exc
    finally:
        container.close()


def _take_frames(
    frames: Iterator[Any], request: _Request, ticks: Callable[[float], int], *, seeked: bool
) -> bool:
    """Take the wanted frames as they come out of the decoder; True if a seek landed too late.

    Frames come out in pts order, so once the last needed frame's time has passed, a needed frame
    not seen yet is missing; a few extra frames tolerate a decoder that reorders late after a seek.
    """
    pts_of = request.info.pts
    wanted = {ticks(pts_of[i]): i for i in sorted(request.remaining)}
    first_tick = ticks(pts_of[min(request.remaining)])
    last_tick = ticks(pts_of[max(request.positions)])
    first = True
    frames_past = 0
    for frame in frames:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            continue
        if first and seeked and pts > first_tick:
            return True  # the seek landed after the first needed frame
        first = False
        index = wanted.get(pts)
        if index is not None and index in request.remaining:
            request.take(index, frame)
            if not request.remaining:
                break
        if pts > last_tick:
            frames_past += 1
            if frames_past > _FRAMES_PAST_LAST:
                break
    return False


# --------------------------------------------------------------------------- writing


def write_video(
    path: PathLike,
    frames: np.ndarray,
    *,
    fps: float = 25.0,
    codec: str = "libx264",
    gop: int | None = None,
    crf: int = 23,
) -> None:
    """Write RGB frames to a video file (by default H.264 in ``.mp4``, pixel format yuv420p).

    MP4/MOV files are written with ``movflags=+faststart`` (index at the front), so a copy cut
    short is still readable by :func:`probe_video` / :func:`decode_frames`. Frame ``i`` gets the
    timestamp ``i / fps``. On an error the partly written file is removed.

    Args:
        path: output file; the container format follows the extension (``.mp4`` expected).
        frames: ``uint8`` array ``(T, H, W, 3)``, RGB, ``T >= 1``; ``H`` and ``W`` must be even
            (yuv420p subsamples chroma by two).
        fps: frame rate (> 0); stored as a fraction (e.g. 29.97 -> 2997/100).
        codec: FFmpeg encoder name.
        gop: keyframe interval in frames: keyframes exactly at multiples of ``gop`` (scene-cut
            keyframes are disabled). ``None`` keeps the encoder's default (x264: up to 250 frames
            apart plus scene cuts).
        crf: constant rate factor for ``libx264``/``libx265`` (0-51, lower is better quality);
            ignored by other encoders.

    Raises:
        TypeError: ``frames`` is not ``uint8``.
        ValueError: bad shape, odd width/height, no frames, or a bad ``fps``/``gop``/``crf``.

    Example:
        >>> import numpy as np
        >>> write_video("/tmp/gray.mp4", np.full((10, 48, 64, 3), 128, np.uint8), fps=10, gop=5)
    """
    array = _check_frames(frames)
    _check_encoding(fps=fps, codec=codec, gop=gop, crf=crf)
    av = _require_av()
    path_str = os.fspath(path)
    is_mov = os.path.splitext(path_str)[1].lower() in _MOV_EXTENSIONS
    container = av.open(path_str, mode="w", container_options={"movflags": "+faststart"} if is_mov else {})
    ok = False
    try:
        _encode(av, container, array, fps=fps, codec=codec, gop=gop, crf=crf)
        ok = True
    finally:
        container.close()
        if not ok:
            with contextlib.suppress(OSError):
                os.remove(path_str)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    """``frames`` as a ``uint8`` ``(T, H, W, 3)`` array with ``T >= 1`` and an even ``H`` and ``W``."""
    array = np.asarray(frames)
    if array.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {array.dtype}")
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"frames must have shape (T, H, W, 3), got {array.shape}")
    num_frames, height, width, _ = array.shape
    if num_frames == 0:
        raise ValueError("frames is empty (T == 0); a video needs at least one frame")
    if height % 2 or width % 2 or height == 0 or width == 0:
        raise ValueError(
            f"H.264 yuv420p needs an even, non-zero width and height, got {width}x{height} (W x H)"
        )
    return array


def _check_encoding(*, fps: float, codec: str, gop: int | None, crf: int) -> None:
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    if gop is not None and (not isinstance(gop, int) or isinstance(gop, bool) or gop < 1):
        raise ValueError(f"gop must be a positive int or None, got {gop!r}")
    if codec in _CRF_CODECS and (not isinstance(crf, int) or not 0 <= crf <= 51):
        raise ValueError(f"crf must be an int in [0, 51], got {crf!r}")


def _encode(
    av: Any, container: Any, array: np.ndarray, *, fps: float, codec: str, gop: int | None, crf: int
) -> None:
    """Encode the frames of ``array`` into a new video stream of ``container``; frame ``i`` at ``i / fps``."""
    num_frames, height, width, _ = array.shape
    stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(10_000))
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    options: dict[str, str] = {}
    if gop is not None:
        stream.codec_context.gop_size = gop
        options.update(g=str(gop), keyint_min=str(gop), sc_threshold="0")
    if codec in _CRF_CODECS:
        options["crf"] = str(crf)
    stream.options = options
    for i in range(num_frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array[i]), format="rgb24")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
