"""Audio reading, log-mel features, CMVN and SpecAugment (cnnlstm.data.audio)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnlstm.data.audio import (
    AudioReadError,
    LogMel,
    SpecAugment,
    VoiceAugment,
    cmvn,
    mel_filterbank,
    num_frames,
    read_audio,
)

soundfile = pytest.importorskip("soundfile")


def _tone(freq: float, rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * math.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_read_audio_resamples_and_mixes_to_mono(tmp_path, suffix):
    tone = _tone(440.0, 22050)
    path = tmp_path / f"tone{suffix}"
    soundfile.write(str(path), np.stack([tone, tone], axis=1), 22050)
    audio = read_audio(path, sample_rate=16000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 8000) <= 1
    spectrum = np.abs(np.fft.rfft(audio))  # the tone stays at 440 Hz after resampling
    assert abs(np.argmax(spectrum) * 16000 / len(audio) - 440.0) < 5.0


def test_read_audio_through_pyav(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "tone.mp4"
    tone = _tone(300.0, 16000, 1.0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="flt", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    audio = read_audio(path)
    assert 0.9 < len(audio) / 16000 < 1.2


def test_unreadable_and_missing_files_name_the_file(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(AudioReadError, match="broken.wav"):
        read_audio(broken)
    with pytest.raises(AudioReadError, match="does not exist"):
        read_audio(tmp_path / "missing.flac")


def test_mel_filterbank_peaks_at_its_centres():
    fb = mel_filterbank(n_fft=512, n_mels=40, sample_rate=16000)
    assert fb.shape == (257, 40)
    assert torch.allclose(fb.max(dim=0).values, torch.ones(40), atol=0.35)  # a bin near each peak
    peaks = fb.argmax(dim=0)
    assert bool((peaks[1:] >= peaks[:-1]).all())  # filters ordered by frequency


def test_logmel_energy_lands_in_the_tone_band():
    mel = LogMel(n_mels=80)
    low, high = (torch.from_numpy(_tone(f, 16000)).unsqueeze(0) for f in (300.0, 3000.0))
    feats_low, feats_high = mel(low), mel(high)
    assert feats_low.shape == (1, num_frames(8000, mel.hop_length), 80)
    assert int(feats_low[0, 10].argmax()) < int(feats_high[0, 10].argmax())


def test_logmel_matches_a_numpy_reference():
    """STFT power and the filterbank, computed independently with numpy for one frame."""
    torch.manual_seed(0)
    wave = torch.randn(1, 4000)
    mel = LogMel(n_mels=20)
    feats = mel(wave)[0]
    padded = np.pad(wave[0].numpy(), mel.n_fft // 2)
    t = 7
    start = t * mel.hop_length
    window = np.zeros(mel.n_fft)
    offset = (mel.n_fft - mel.win_length) // 2
    window[offset : offset + mel.win_length] = np.hanning(mel.win_length + 1)[:-1]
    spectrum = np.abs(np.fft.rfft(padded[start : start + mel.n_fft] * window)) ** 2
    expected = np.log(spectrum @ mel.filterbank.numpy() + 1e-6)
    np.testing.assert_allclose(feats[t].numpy(), expected, rtol=1e-3, atol=1e-3)


def test_cmvn_ignores_padding():
    x = torch.randn(2, 30, 5) * 4 + 2
    lengths = torch.tensor([30, 12])
    out = cmvn(x, lengths)
    torch.testing.assert_close(out[1, :12], cmvn(x[1:2, :12])[0])
    assert float(out[1, 12:].abs().sum()) == 0.0


def test_specaugment_masks_in_training_only():
    aug = SpecAugment(freq_masks=2, freq_width=10, time_masks=2, time_width=20)
    x = torch.ones(4, 200, 80)
    torch.manual_seed(0)
    masked = aug(x, torch.tensor([200, 150, 100, 50]))
    assert 0 < float((masked == 0).float().mean()) < 0.5
    assert torch.equal(aug.eval()(x), x)


def test_voice_augment_warps_each_utterance_by_one_factor():
    torch.manual_seed(0)
    bands = 64
    ramp = torch.arange(bands, dtype=torch.float32).expand(3, 20, bands).clone()  # band f holds f
    warped = VoiceAugment(warp=0.1, band_limit=0.0)(ramp)
    for utterance in warped:
        assert torch.equal(utterance, utterance[:1].expand_as(utterance))  # the same warp in every frame
        inside = utterance[0, 1:40] / torch.arange(1, 40)  # bands whose source lies inside the axis
        assert torch.allclose(inside, inside[0].expand_as(inside), atol=1e-5)
        assert 0.9 <= float(inside[0]) <= 1.1
    assert len({round(float(u[0, 10]), 4) for u in warped}) == 3  # a factor per utterance


def test_voice_augment_band_limit_uses_each_bands_quietest_valid_frame():
    torch.manual_seed(1)
    x = torch.randn(4, 30, 40)
    x[:, 20:] = -100.0  # padding of the utterances with 20 valid frames: never the floor
    lengths = torch.tensor([20, 20, 20, 20])
    out = VoiceAugment(warp=0.0, band_limit=1.0, min_band_fraction=0.5)(x, lengths)
    floor = x[:, :20].amin(dim=1)  # (B, F)
    for b in range(4):
        changed = (out[b] != x[b]).any(dim=0)
        cut = int(changed.float().argmax())
        assert 20 <= cut < 40 and bool(changed[cut:].all()) and not bool(changed[:cut].any())
        assert torch.equal(out[b, :, cut:], floor[b, cut:].expand(30, -1))


def test_voice_augment_off_or_in_eval_leaves_features_alone():
    x = torch.randn(2, 10, 16)
    assert torch.equal(VoiceAugment(warp=0.0, band_limit=0.0)(x), x)
    assert torch.equal(VoiceAugment(warp=0.1, band_limit=1.0).eval()(x), x)
    with pytest.raises(ValueError, match="band_limit"):
        VoiceAugment(band_limit=1.5)
