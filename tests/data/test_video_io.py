"""cnnlstm.data.video_io against real small H.264 files written to a temporary directory.

Every frame encodes its own index as 8 vertical stripes (bit ``b`` of the index -> stripe ``b``
bright or dark) under mild noise, so a decoded frame can be identified robustly despite lossy
coding and resizing.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")

from cnnlstm.data import video_io  # noqa: E402
from cnnlstm.data.video_io import (  # noqa: E402
    VideoDecodeError,
    VideoInfo,
    check_decodes,
    decode_frames,
    probe_video,
    write_video,
)

H, W, N, GOP, FPS = 48, 64, 60, 12, 25.0
BITS = 8
DARK, BRIGHT = 40, 215


def index_frames(n: int, h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """``n`` RGB frames; frame ``i`` shows the bits of ``i`` as stripes, plus a little noise."""
    rng = np.random.default_rng(seed)
    frames = np.full((n, h, w, 3), DARK, dtype=np.int16)
    for i in range(n):
        for bit in range(BITS):
            if (i >> bit) & 1:
                frames[i, :, bit * w // BITS : (bit + 1) * w // BITS] = BRIGHT
    frames += rng.integers(-20, 21, size=frames.shape, dtype=np.int16)
    return np.clip(frames, 0, 255).astype(np.uint8)


def read_index(frame: np.ndarray) -> int:
    """Inverse of :func:`index_frames` for one decoded (possibly resized) frame."""
    w = frame.shape[1]
    stripe = w / BITS
    value = 0
    for bit in range(BITS):
        lo, hi = int(bit * stripe + stripe / 4), int((bit + 1) * stripe - stripe / 4)
        if frame[:, lo : max(hi, lo + 1)].mean() > (DARK + BRIGHT) / 2:
            value |= 1 << bit
    return value


def read_indices(frames: np.ndarray) -> list[int]:
    return [read_index(f) for f in frames]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_video(path, index_frames(N), fps=FPS, gop=GOP)
    return path


@pytest.fixture(scope="module")
def info(video):
    return probe_video(video)


@pytest.fixture
def count_decoded(monkeypatch):
    """Count frames coming out of the decoder (wraps the module's decode generator)."""
    counter = {"frames": 0, "thread_counts": []}
    original = video_io._decode_stream

    def counting(container, stream, errors):
        counter["thread_counts"].append(stream.codec_context.thread_count)
        for frame in original(container, stream, errors):
            counter["frames"] += 1
            yield frame

    monkeypatch.setattr(video_io, "_decode_stream", counting)
    return counter


# --------------------------------------------------------------------------- probe


def test_probe_reports_frames_rate_size_and_keyframes(video, info):
    assert isinstance(info, VideoInfo)
    assert info.path == str(video)
    assert info.num_frames == N
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(N / FPS)
    assert (info.width, info.height) == (W, H)
    assert info.keyframes == tuple(range(0, N, GOP))
    assert len(info.pts) == N
    assert all(a < b for a, b in zip(info.pts, info.pts[1:], strict=False))
    np.testing.assert_allclose(np.diff(info.pts), 1 / FPS, atol=1e-6)


def test_video_info_is_frozen(info):
    with pytest.raises(AttributeError):
        info.num_frames = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- decode


def test_decode_returns_requested_frames_in_order_with_repeats(video, info):
    wanted = [59, 3, 3, 30, 0, 12, 11, 59]
    clip = decode_frames(video, wanted, info=info)
    assert clip.shape == (len(wanted), H, W, 3) and clip.dtype == np.uint8
    assert read_indices(clip) == wanted
    np.testing.assert_array_equal(clip[1], clip[2])


def test_decode_every_frame_matches_its_index(video):
    clip = decode_frames(video, np.arange(N))  # numpy indices, info probed internally
    assert read_indices(clip) == list(range(N))
    # Lossy, but close to what was written.
    assert np.abs(clip.astype(int) - index_frames(N).astype(int)).mean() < 12


def test_decode_resizes_in_the_decoder(video, info):
    clip = decode_frames(video, [5, 40], size=(24, 32), info=info)
    assert clip.shape == (2, 24, 32, 3)
    assert read_indices(clip) == [5, 40]
    assert decode_frames(video, [7], size=(30, 50), info=info).shape == (1, 30, 50, 3)


def test_decode_empty_request_and_bad_arguments(video, info):
    assert decode_frames(video, [], info=info).shape == (0, H, W, 3)
    with pytest.raises(VideoDecodeError, match="frame index 60"):
        decode_frames(video, [0, N], info=info)
    with pytest.raises(VideoDecodeError, match="frame index -1"):
        decode_frames(video, [-1], info=info)
    with pytest.raises(ValueError, match="size"):
        decode_frames(video, [0], size=(0, 10), info=info)


def test_window_near_the_end_decodes_only_from_the_last_keyframe(video, info, count_decoded):
    window = list(range(N - 8, N))  # 52..59, keyframe at 48
    clip = decode_frames(video, window, info=info)
    assert read_indices(clip) == window
    assert count_decoded["frames"] <= N - 48 + 2
    assert count_decoded["thread_counts"] == [1]

    count_decoded["frames"] = 0
    decode_frames(video, [30, 31, 33], info=info)  # keyframe at 24, stop after 33
    assert count_decoded["frames"] <= 33 - 24 + 1 + 2

    count_decoded["frames"] = 0
    decode_frames(video, range(N), info=info)
    assert count_decoded["frames"] == N


# --------------------------------------------------------------------------- variable frame rate


def write_vfr(path, times_ms, gop):
    """H.264 mp4 with the given presentation times (ms); frame i shows index i."""
    frames = index_frames(len(times_ms))
    container = av.open(str(path), "w", container_options={"movflags": "+faststart"})
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
    stream.codec_context.time_base = Fraction(1, 1000)
    stream.time_base = Fraction(1, 1000)
    stream.codec_context.gop_size = gop
    stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
    for frame_array, t in zip(frames, times_ms, strict=True):
        frame = av.VideoFrame.from_ndarray(frame_array, format="rgb24")
        frame.pts = int(t)
        frame.time_base = Fraction(1, 1000)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()


def test_variable_frame_rate_identity_is_by_timestamp(tmp_path, count_decoded):
    gaps = np.random.default_rng(1).choice([20, 40, 40, 80, 200], size=39)
    times_ms = np.concatenate([[0], np.cumsum(gaps)])
    path = tmp_path / "vfr.mp4"
    write_vfr(path, times_ms, gop=8)

    info = probe_video(path)
    assert info.num_frames == len(times_ms)
    np.testing.assert_allclose(info.pts, times_ms / 1000, atol=1e-6)
    assert info.keyframes == tuple(range(0, len(times_ms), 8))
    assert info.fps == pytest.approx(info.num_frames / info.duration_s)

    assert read_indices(decode_frames(path, range(info.num_frames), info=info)) == list(range(40))
    count_decoded["frames"] = 0
    window = [37, 35, 39, 35]
    assert read_indices(decode_frames(path, window, info=info)) == window
    # Keyframe 32 is wanted; MP4 seeks by decode time, which in a VFR file with B-frames may
    # land one GOP early (keyframe 24). Either way far fewer frames than the whole file.
    assert count_decoded["frames"] <= 39 - 24 + 1 + 2


# --------------------------------------------------------------------------- broken files


def test_missing_empty_and_garbage_files(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(VideoDecodeError, match="missing.mp4: file not found"):
        probe_video(missing)
    with pytest.raises(VideoDecodeError, match="file not found"):
        decode_frames(missing, [0])

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoDecodeError, match="empty file"):
        probe_video(empty)

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match="garbage.mp4: .*readable") as err:
        probe_video(garbage)
    assert "\n" not in str(err.value)
    with pytest.raises(VideoDecodeError):
        decode_frames(garbage, [0])

    with pytest.raises(VideoDecodeError, match="directory"):
        probe_video(tmp_path)


def test_file_without_video_stream(tmp_path):
    path = tmp_path / "audio.wav"
    container = av.open(str(path), "w")
    stream = container.add_stream("pcm_s16le", rate=8000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
    frame.sample_rate = 8000
    container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    with pytest.raises(VideoDecodeError, match="no video stream"):
        probe_video(path)


def test_zero_frame_video_stream(tmp_path):
    # A Matroska file with a video track but packets only in its audio track.
    path = tmp_path / "zero.mkv"
    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=25)
    video.width, video.height, video.pix_fmt = W, H, "yuv420p"
    audio = container.add_stream("pcm_s16le", rate=8000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
    frame.sample_rate = 8000
    container.mux(audio.encode(frame))
    container.mux(audio.encode(None))
    container.close()
    with pytest.raises(VideoDecodeError, match="no decodable frames"):
        probe_video(path)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_truncated_file_reports_the_frames_it_has(tmp_path, suffix):
    full = tmp_path / f"full{suffix}"
    write_video(full, index_frames(N), fps=FPS, gop=GOP)
    data = full.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: int(len(data) * 0.6)])

    info = probe_video(cut)
    assert 0 < info.num_frames < N
    assert info.keyframes == tuple(k for k in range(0, N, GOP) if k < info.num_frames)
    # The frames reported are a prefix of the original timeline and all decode correctly.
    np.testing.assert_allclose(info.pts, np.arange(info.num_frames) / FPS, atol=1e-6)
    clip = decode_frames(cut, range(info.num_frames), info=info)
    assert read_indices(clip) == list(range(info.num_frames))

    with pytest.raises(VideoDecodeError, match=f"frame index {info.num_frames}"):
        decode_frames(cut, [info.num_frames - 1, info.num_frames], info=info)
    # With the intact file's info, a frame whose data is gone cannot be decoded.
    full_info = probe_video(full)
    with pytest.raises(VideoDecodeError, match=f"cut{suffix}: cannot decode frame index 58"):
        decode_frames(cut, [0, 58, 59], info=full_info)


def test_check_decodes_finds_damaged_frames_that_probing_misses(tmp_path):
    import av

    path = tmp_path / "damaged.mp4"
    write_video(path, index_frames(N), fps=FPS, gop=GOP)
    assert check_decodes(path).num_frames == N  # intact: every frame comes out
    with av.open(str(path)) as container:  # overwrite the first keyframe after its first bytes
        packet = next(iter(container.demux(container.streams.video[0])))
        start, size = packet.pos, packet.size
    data = bytearray(path.read_bytes())
    data[start + 10 : start + size] = b"\xff" * (size - 10)
    path.write_bytes(bytes(data))
    info = probe_video(path)
    assert info.num_frames == N  # the container is intact
    with pytest.raises(
        VideoDecodeError, match=r"damaged.mp4: cannot decode frame index 0 .*of 60: decoding failed"
    ):
        check_decodes(path, info)


def test_file_cut_before_its_first_frame_has_zero_frames(tmp_path):
    full = tmp_path / "full.mp4"
    write_video(full, index_frames(5), gop=GOP)
    container = av.open(str(full))
    first_packet_pos = next(p.pos for p in container.demux(container.streams.video[0]))
    container.close()
    cut = tmp_path / "header_only.mp4"
    cut.write_bytes(full.read_bytes()[: first_packet_pos + 10])
    with pytest.raises(VideoDecodeError, match="no decodable frames"):
        probe_video(cut)


def test_mp4_with_index_at_the_end_is_unreadable_when_cut(tmp_path):
    # Without +faststart the moov box comes last; a cut copy has no index at all.
    path = tmp_path / "no_faststart.mp4"
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
    for i, array in enumerate(index_frames(20)):
        frame = av.VideoFrame.from_ndarray(array, format="rgb24")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(VideoDecodeError, match="not a readable video container"):
        probe_video(path)


# --------------------------------------------------------------------------- write


def test_write_video_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd_w.mp4", np.zeros((2, 48, 63, 3), np.uint8))
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd_h.mp4", np.zeros((2, 47, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        write_video(tmp_path / "gray.mp4", np.zeros((2, 48, 64), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        write_video(tmp_path / "none.mp4", np.zeros((0, 48, 64, 3), np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        write_video(tmp_path / "float.mp4", np.zeros((2, 48, 64, 3), np.float32))
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "fps.mp4", np.zeros((2, 48, 64, 3), np.uint8), fps=0)
    assert not list(tmp_path.iterdir())


def test_write_video_writes_h264_yuv420p(tmp_path):
    path = tmp_path / "out.mp4"
    write_video(path, index_frames(10), fps=29.97)
    container = av.open(str(path))
    try:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == Fraction(2997, 100)
    finally:
        container.close()
    info = probe_video(path)
    assert info.num_frames == 10 and info.fps == pytest.approx(29.97)
