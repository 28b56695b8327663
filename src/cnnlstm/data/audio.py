"""Audio input for speech models: read any audio file as mono 16 kHz, log-mel features, SpecAugment.

* :func:`read_audio` reads wav/flac/ogg with ``soundfile`` and other containers (mp3, m4a, opus,
  webm ...) through PyAV, mixes to mono and resamples with ``soxr`` to the requested rate. Both
  readers are imported lazily (``pip install cnnlstm[speech]``; PyAV comes with ``[video]``).
* :class:`LogMel` turns a batch of waveforms ``(B, N)`` into log-mel features ``(B, T, n_mels)``
  with ``torch.stft`` on the waveforms' device (25 ms Hann window, 10 ms hop, 80 mel bands by
  default); the mel filterbank is built here (HTK mel scale, triangular filters) so torchaudio
  is not needed. ``T = 1 + N // hop`` (centred frames).
* :func:`cmvn` normalises each utterance's features to zero mean and unit variance per band over
  its valid frames.
* :class:`SpecAugment` masks random time and frequency stripes (Park et al., Interspeech 2019),
  in training only.
* :class:`VoiceAugment` varies what differs between speakers and recording channels, in training
  only: a vocal-tract-length warp of the mel axis (after Jaitly & Hinton, 2013) and random
  band-limiting (telephone-band or low-pass recordings).

Example:
    >>> wave = torch.randn(2, 16000)  # two utterances of one second at 16 kHz
    >>> feats = LogMel()(wave)
    >>> feats.shape
    torch.Size([2, 101, 80])
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cnnlstm._validation import (
    InputError,
    check_fraction,
    check_non_negative_int,
    check_positive_int,
    check_probability,
)

__all__ = [
    "SOUNDFILE_SUFFIXES",
    "AudioReadError",
    "LogMel",
    "SpecAugment",
    "StreamingLogMel",
    "VoiceAugment",
    "cmvn",
    "mel_filterbank",
    "num_frames",
    "read_audio",
]

SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")
"""Suffixes read with soundfile (libsndfile); every other suffix goes through PyAV."""
AUDIO_SUFFIXES = (*SOUNDFILE_SUFFIXES, ".mp3", ".m4a", ".opus", ".webm", ".aac", ".wma")


class AudioReadError(InputError):
    """An audio file that cannot be decoded (missing, truncated, not audio)."""


def _require(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"cnnlstm.data.audio needs {module}; install it with `pip install cnnlstm[{extra}]`"
        ) from err


def _resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return audio
    soxr = _require("soxr", "speech")
    return np.asarray(soxr.resample(audio, rate, target), dtype=np.float32)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    soundfile = _require("soundfile", "speech")
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (N, channels)
    return data.mean(axis=1), int(rate)


def _read_av(path: Path) -> tuple[np.ndarray, int]:
    av = _require("av", "video")
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise AudioReadError(f"{str(path)!r} has no audio stream", field="root")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):  # flush
            chunks.append(out.to_ndarray().reshape(-1))
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return audio.astype(np.float32, copy=False), rate


def read_audio(path: str | Path, *, sample_rate: int = 16000) -> np.ndarray:
    """A mono float32 waveform in [-1, 1] at ``sample_rate`` Hz, shape ``(N,)``.

    Raises :class:`AudioReadError` (one line naming the file) for a missing or undecodable file.

    Example:
        >>> import soundfile, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
        >>> soundfile.write(path, np.zeros((8000, 2), dtype=np.float32), 8000)
        >>> read_audio(path).shape  # stereo 8 kHz, one second -> mono 16 kHz
        (16000,)
    """
    path = Path(path)
    check_positive_int("sample_rate", sample_rate)
    if not path.is_file():
        raise AudioReadError(f"audio file {str(path)!r} does not exist", field="root")
    if path.stat().st_size == 0:
        raise AudioReadError(f"audio file {str(path)!r} is empty (0 bytes)", field="root")
    try:
        if path.name.rstrip().lower().endswith(SOUNDFILE_SUFFIXES):
            audio, rate = _read_soundfile(path)
        else:
            audio, rate = _read_av(path)
    except AudioReadError:
        raise
    except ImportError:
        raise
    except Exception as err:  # soundfile.LibsndfileError, av.FFmpegError, ...
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise AudioReadError(f"cannot decode {str(path)!r}: {first}", field="root") from err
    return _resample(np.ascontiguousarray(audio, dtype=np.float32), rate, sample_rate)


def _hz_to_mel(hz: Tensor) -> Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    *, n_fft: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> Tensor:
    """Triangular filters on the HTK mel scale, ``(n_fft // 2 + 1, n_mels)``, peak 1.

    Filter ``m`` rises linearly from mel point ``m`` to ``m + 1`` and falls to ``m + 2`` (the
    ``n_mels + 2`` points are evenly spaced in mel between ``f_min`` and ``f_max``).

    Example:
        >>> fb = mel_filterbank(n_fft=400, n_mels=80, sample_rate=16000)
        >>> fb.shape, bool((fb >= 0).all()), bool((fb.sum(0) > 0).all())
        (torch.Size([201, 80]), True, True)
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    freqs = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    points = _mel_to_hz(
        torch.linspace(
            float(_hz_to_mel(torch.tensor(f_min))), float(_hz_to_mel(torch.tensor(f_max))), n_mels + 2
        ).double()
    )
    lower, centre, upper = points[:-2], points[1:-1], points[2:]  # (n_mels,)
    rising = (freqs[:, None] - lower[None]) / (centre - lower)[None]
    falling = (upper[None] - freqs[:, None]) / (upper - centre)[None]
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


def num_frames(num_samples: int | Tensor, hop_length: int) -> Any:
    """Frames :class:`LogMel` gives for ``num_samples`` samples: ``1 + num_samples // hop_length``."""
    return 1 + num_samples // hop_length


class LogMel(nn.Module):
    """Waveforms ``(B, N)`` → log-mel features ``(B, T, n_mels)`` with ``T = 1 + N // hop``.

    Power spectrum of a centred STFT (Hann window of ``win_ms``, hop ``hop_ms``, FFT size the
    next power of two ≥ the window), mel filterbank, ``log(x + 1e-6)``. Runs on the input's device.

    Args:
        sample_rate: Hz of the waveforms.
        n_mels: mel bands.
        win_ms: window length in milliseconds.
        hop_ms: hop in milliseconds.

    Example:
        >>> LogMel(n_mels=40)(torch.zeros(1, 1600)).shape
        torch.Size([1, 11, 40])
    """

    def __init__(
        self, *, sample_rate: int = 16000, n_mels: int = 80, win_ms: float = 25.0, hop_ms: float = 10.0
    ) -> None:
        super().__init__()
        self.sample_rate = check_positive_int("sample_rate", sample_rate)
        self.n_mels = check_positive_int("n_mels", n_mels)
        self.win_length = check_positive_int("win_length", int(round(sample_rate * win_ms / 1000)))
        self.hop_length = check_positive_int("hop_length", int(round(sample_rate * hop_ms / 1000)))
        self.n_fft = 1 << math.ceil(math.log2(self.win_length))
        self.window: Tensor
        self.filterbank: Tensor
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)
        self.register_buffer(
            "filterbank",
            mel_filterbank(n_fft=self.n_fft, n_mels=n_mels, sample_rate=sample_rate),
            persistent=False,
        )

    def forward(self, wave: Tensor, center: bool = True) -> Tensor:
        """``center=False``: frames start at sample 0 (no padding; ``1 + (N - n_fft) // hop`` frames)."""
        if wave.dim() != 2:
            raise ValueError(f"LogMel expects waveforms (B, N); received {tuple(wave.shape)}")
        spec = torch.stft(
            wave.float(),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=center,
            pad_mode="constant",
            return_complex=True,
        )  # (B, n_fft // 2 + 1, T)
        power = spec.real.square() + spec.imag.square()
        mel = power.transpose(1, 2) @ self.filterbank  # (B, T, n_mels)
        return torch.log(mel + 1e-6)


class StreamingLogMel:
    """:class:`LogMel` over audio arriving in chunks: the same frames as on the whole waveform.

    Frame ``t`` covers samples ``[t·hop - n_fft/2, t·hop + n_fft/2)`` (centred, zero-padded at
    both ends), so it is ready once ``n_fft/2`` samples past its centre have arrived (16 ms at
    16 kHz); :meth:`finish` pads the end and returns the last frames. Only the samples the next
    frames need are kept.

    Example:
        >>> mel = LogMel(n_mels=40)
        >>> wave = torch.randn(5000)
        >>> stream = StreamingLogMel(mel)
        >>> frames = [stream.push(chunk) for chunk in wave.split(777)] + [stream.finish()]
        >>> torch.allclose(torch.cat(frames), mel(wave[None])[0], atol=1e-4)
        True
    """

    def __init__(self, logmel: LogMel) -> None:
        self.mel = logmel
        self.reset()

    def reset(self) -> None:
        """Forget the audio so far (a new recording)."""
        half = self.mel.n_fft // 2
        self._audio = torch.zeros(half)  # the left padding
        self._base = 0  # position of _audio[0] in the padded signal
        self._next = 0  # the next frame to compute
        self.samples = 0

    def _frames(self, last: int | None = None) -> Tensor:
        n_fft, hop = self.mel.n_fft, self.mel.hop_length
        end = self._base + len(self._audio)
        t_max = (end - n_fft) // hop if end >= n_fft else -1
        if last is not None:
            t_max = min(t_max, last)
        if t_max < self._next:
            return torch.zeros(0, self.mel.n_mels)
        segment = self._audio[self._next * hop - self._base : t_max * hop + n_fft - self._base]
        with torch.no_grad():
            frames = self.mel(segment[None].to(self.mel.window.device), center=False)[0].cpu()
        self._next = t_max + 1
        drop = self._next * hop - self._base
        self._audio, self._base = self._audio[drop:], self._base + drop
        return frames

    def push(self, chunk: Tensor | np.ndarray) -> Tensor:
        """Add samples ``(N,)``; return the frames they complete ``(k, n_mels)``."""
        chunk = torch.as_tensor(chunk, dtype=torch.float32).flatten()
        self._audio = torch.cat([self._audio, chunk])
        self.samples += len(chunk)
        return self._frames()

    def finish(self) -> Tensor:
        """The frames left at the end of the recording (right padding); ``1 + N // hop`` frames in all."""
        self._audio = torch.cat([self._audio, torch.zeros(self.mel.n_fft // 2)])
        return self._frames(last=self.samples // self.mel.hop_length)


def cmvn(features: Tensor, lengths: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Per-utterance mean/variance normalisation of ``(B, T, F)`` over each utterance's valid frames.

    Padding frames (``t >= lengths[b]``) are set to 0.

    Example:
        >>> x = cmvn(torch.randn(2, 50, 4) * 3 + 7, torch.tensor([50, 20]))
        >>> abs(float(x[0].mean())) < 1e-5, round(float(x[1, :20].std(unbiased=False)), 3), float(x[1, 20:].abs().sum())
        (True, 1.0, 0.0)
    """
    batch, steps, _ = features.shape
    if lengths is None:
        lengths = torch.full((batch,), steps, device=features.device)
    mask = (torch.arange(steps, device=features.device)[None] < lengths[:, None]).unsqueeze(-1)
    count = mask.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (features * mask).sum(dim=1, keepdim=True) / count
    var = (((features - mean) * mask) ** 2).sum(dim=1, keepdim=True) / count
    return ((features - mean) / torch.sqrt(var + eps)) * mask


class SpecAugment(nn.Module):
    """Random time and frequency masks on features ``(B, T, F)``, in training mode only.

    Each utterance gets ``freq_masks`` stripes of up to ``freq_width`` bands and ``time_masks``
    stripes of up to ``time_width`` frames (never more than ``max_time_fraction`` of its length),
    set to 0 (the mean after :func:`cmvn`). In eval mode the features pass unchanged.

    Args:
        freq_masks: frequency masks per utterance.
        freq_width: widest frequency mask (bands).
        time_masks: time masks per utterance.
        time_width: widest time mask (frames).
        max_time_fraction: cap on one time mask's width relative to the utterance.

    Example:
        >>> aug = SpecAugment(freq_masks=1, freq_width=5, time_masks=1, time_width=10)
        >>> x = torch.ones(2, 100, 80)
        >>> bool((aug(x) == 0).any()), bool((aug.eval()(x) == x).all())
        (True, True)
    """

    def __init__(
        self,
        *,
        freq_masks: int = 2,
        freq_width: int = 15,
        time_masks: int = 2,
        time_width: int = 25,
        max_time_fraction: float = 0.2,
    ) -> None:
        super().__init__()
        self.freq_masks = check_non_negative_int("freq_masks", freq_masks)
        self.freq_width = check_non_negative_int("freq_width", freq_width)
        self.time_masks = check_non_negative_int("time_masks", time_masks)
        self.time_width = check_non_negative_int("time_width", time_width)
        self.max_time_fraction = float(max_time_fraction)

    @staticmethod
    def _masks(count: int, width: Tensor, size: int, batch: int, device: torch.device) -> Tensor:
        """``(B, size)`` boolean: True inside any of ``count`` random stripes of width < ``width``."""
        positions = torch.arange(size, device=device)[None, None]  # (1, 1, size)
        widths = (torch.rand(batch, count, 1, device=device) * (width.view(-1, 1, 1) + 1)).floor()
        starts = (torch.rand(batch, count, 1, device=device) * (size - widths).clamp(min=1)).floor()
        return ((positions >= starts) & (positions < starts + widths)).any(dim=1)

    def forward(self, features: Tensor, lengths: Tensor | None = None) -> Tensor:
        if not self.training:
            return features
        batch, steps, bands = features.shape
        device = features.device
        keep = torch.ones(batch, steps, bands, dtype=torch.bool, device=device)
        if self.freq_masks and self.freq_width:
            width = torch.full((batch,), min(self.freq_width, bands), device=device)
            keep &= ~self._masks(self.freq_masks, width, bands, batch, device)[:, None, :]
        if self.time_masks and self.time_width:
            valid = lengths.to(device) if lengths is not None else torch.full((batch,), steps, device=device)
            width = torch.minimum(
                torch.full_like(valid, self.time_width), (valid * self.max_time_fraction).long()
            )
            keep &= ~self._masks(self.time_masks, width, steps, batch, device)[:, :, None]
        return features * keep


class VoiceAugment(nn.Module):
    """Speaker and channel variation on raw log-mel features ``(B, T, F)``, in training mode only.

    * **Vocal-tract-length warp** (``warp``): each utterance's mel axis is resampled by a factor
      ``a`` drawn uniformly from ``[1 - warp, 1 + warp]``: band ``f`` takes the value at ``f * a``
      (linear interpolation, the top band repeated past the edge). This warps mel bands, not
      linear frequency as Jaitly & Hinton's VTLP does, so the shift in Hz grows with frequency: on
      the HTK mel scale a factor of 1.05 moves a formant at 1 kHz by about 8 % and one at 3 kHz
      by about 11 %. It costs two gathers per batch.
    * **Band-limiting** (``band_limit``): with this probability, the bands from a cutoff band drawn
      uniformly from ``[min_band_fraction * F, F)`` up are set to each band's quietest frame
      of the utterance, as if the recording had no energy there above its background (a
      telephone-band or low-pass channel).

    Apply it before :func:`cmvn`; ``lengths`` (valid frames) keeps padding out of the quietest frame.
    In eval mode the features pass unchanged.

    Args:
        warp: half-width of the warp factor's range (0 disables the warp).
        band_limit: probability of band-limiting an utterance.
        min_band_fraction: lowest cutoff, as a fraction of the bands.

    Example:
        >>> aug = VoiceAugment(warp=0.05, band_limit=1.0, min_band_fraction=0.5)
        >>> x = torch.randn(2, 50, 40)
        >>> y = aug(x, torch.tensor([50, 30]))
        >>> y.shape, bool((aug.eval()(x) == x).all())
        (torch.Size([2, 50, 40]), True)
    """

    def __init__(
        self, *, warp: float = 0.05, band_limit: float = 0.2, min_band_fraction: float = 0.5
    ) -> None:
        super().__init__()
        self.warp = check_fraction("warp", warp)
        self.band_limit = check_probability("band_limit", band_limit)
        self.min_band_fraction = check_fraction("min_band_fraction", min_band_fraction)

    def _warp(self, features: Tensor) -> Tensor:
        batch, _, bands = features.shape
        factors = 1.0 + (torch.rand(batch, 1, device=features.device) * 2.0 - 1.0) * self.warp
        source = (torch.arange(bands, device=features.device)[None] * factors).clamp(max=bands - 1)  # (B, F)
        low = source.floor().long()
        high = (low + 1).clamp(max=bands - 1)
        weight = (source - low)[:, None, :]
        index = lambda i: i[:, None, :].expand(-1, features.shape[1], -1)  # noqa: E731
        return (
            torch.gather(features, 2, index(low)) * (1 - weight)
            + torch.gather(features, 2, index(high)) * weight
        )

    def _band_limit(self, features: Tensor, lengths: Tensor | None) -> Tensor:
        batch, steps, bands = features.shape
        device = features.device
        valid = torch.ones(batch, steps, dtype=torch.bool, device=device)
        if lengths is not None:
            valid = torch.arange(steps, device=device)[None] < lengths.to(device)[:, None]
        floor = features.masked_fill(~valid[:, :, None], float("inf")).amin(dim=1, keepdim=True)  # (B, 1, F)
        lowest = int(self.min_band_fraction * bands)
        cutoff = (
            lowest + (torch.rand(batch, 1, device=device) * (bands - lowest)).floor()
        )  # a band in [lowest, F)
        chosen = torch.rand(batch, 1, device=device) < self.band_limit
        above = (torch.arange(bands, device=device)[None] >= cutoff) & chosen  # (B, F)
        return torch.where(above[:, None, :], floor.expand_as(features), features)

    def forward(self, features: Tensor, lengths: Tensor | None = None) -> Tensor:
        if not self.training:
            return features
        if self.warp > 0:
            features = self._warp(features)
        if self.band_limit > 0:
            features = self._band_limit(features, lengths)
        return features
