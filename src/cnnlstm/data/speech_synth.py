"""A generated speech corpus: spoken digit strings and command words from espeak-ng, in-process.

``espeakng-loader`` (``pip install cnnlstm[speech]``) ships libespeak-ng and its voice data;
:func:`synthesize` calls the library through ``ctypes`` (synchronous mode, samples collected by a
callback), so neither the espeak-ng program nor an audio device is needed. Voices are an accent (``en-us``,
``en-gb-scotland`` ...) with a variant (``+m3``, ``+f2``, ``+klatt`` ...); rate (words per
minute), pitch, word gap, leading/trailing silence and white noise (an SNR in dB) vary per
utterance. Every utterance's settings are drawn from ``numpy.random.default_rng([seed, split,
index])``, so a corpus has the same texts, voices, timing and noise for the same seed. Each
utterance is spoken by a freshly loaded copy of the library (which otherwise carries state from
one utterance to the next; see ``_Engine``), so it does not depend on what was said before it.
The waveforms are identical from run to run except for the breathy variants (``+f1`` ... ``+f5``),
whose aspiration noise espeak-ng draws differently in every process (peak differences of a few
hundredths, measured): their audio is reproducible in content, not byte for byte.

:func:`generate_corpus` writes 16 kHz mono wav files and one JSON-lines manifest per split
(``{"audio_filepath", "duration", "text", "voice"}``, paths relative to the manifest): ``train``,
``val`` and ``test`` use the training voices, ``test_heldout`` voices never heard in training.

Example:
    >>> wave = synthesize("three one four", voice="en-us+m3")
    >>> wave.dtype, 0.5 < len(wave) / 16000 < 3.0
    (dtype('float32'), True)
"""

from __future__ import annotations

import _ctypes
import ctypes
import json
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm._validation import check_non_negative_int, check_positive_int

__all__ = [
    "COMMAND_WORDS",
    "DIGIT_WORDS",
    "HELDOUT_VOICES",
    "TRAIN_VOICES",
    "UtteranceSettings",
    "generate_corpus",
    "synthesize",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COMMAND_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
TRAIN_VOICES = tuple(
    f"{accent}+{variant}"
    for accent in ("en-us", "en", "en-gb-x-rp", "en-029")
    for variant in ("m1", "m3", "m5", "m7", "f1", "f3", "f5", "klatt", "klatt3", "croak")
)
"""The training voice pool: 4 accents × 10 variants."""
HELDOUT_VOICES = (
    "en-gb-scotland+m2",
    "en-us-nyc+f2",
    "en-gb-scotland+f4",
    "en-us-nyc+m4",
    "en-gb-x-gbclan+m6",
    "en-gb-x-gbcwmd+f2",
    "en-us+klatt2",
    "en+m6",
)
"""Voices for ``test_heldout``: accents and variants that no training voice uses."""
SPLITS = ("train", "val", "test", "test_heldout")

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE, _ESPEAK_PITCH, _ESPEAK_WORDGAP = 1, 3, 7
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1


class _Engine:
    """A private instance of libespeak-ng: a copy of the shared library, loaded, used once, unloaded.

    The C library keeps state between utterances in globals (its glottal source's phase), so the
    same text said twice by one loaded library differs slightly. Loading a fresh copy (a different
    file name gives the process separate globals) for every utterance makes each utterance a
    function of its own settings only: a corpus is the same whatever order it is generated in.
    A load, initialisation and unload cost a few milliseconds.
    """

    _lock = threading.Lock()  # the callback collects into one list: one utterance at a time

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "cnnlstm.data.speech_synth needs espeakng-loader; install it with `pip install cnnlstm[speech]`"
            ) from err
        self._source = Path(espeakng_loader.get_library_path())
        self._data = espeakng_loader.get_data_path().encode()
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
        )
        self._callback = callback_type(self._collect)  # kept alive: the library holds a raw pointer

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # continue

    def _load(self, folder: str) -> ctypes.CDLL:
        copy = Path(folder) / "libespeak-ng-private.so"
        shutil.copyfile(self._source, copy)
        lib = ctypes.CDLL(str(copy), mode=ctypes.RTLD_LOCAL)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        return lib

    def speak(self, text: str, *, voice: str, rate: int, pitch: int, word_gap: int) -> tuple[np.ndarray, int]:
        with self._lock, tempfile.TemporaryDirectory(prefix="cnnlstm-espeak-") as folder:
            lib = self._load(folder)
            try:
                sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self._data, 0)
                if sample_rate <= 0:
                    raise RuntimeError(f"espeak-ng did not initialise (returned {sample_rate})")
                lib.espeak_SetSynthCallback(self._callback)
                if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise ValueError(f"espeak-ng has no voice {voice!r}; use e.g. 'en-us+m3'")
                lib.espeak_SetParameter(_ESPEAK_RATE, int(rate), 0)
                lib.espeak_SetParameter(_ESPEAK_PITCH, int(pitch), 0)
                lib.espeak_SetParameter(_ESPEAK_WORDGAP, int(word_gap), 0)
                self._chunks = []
                data = text.encode("utf-8") + b"\0"
                status = lib.espeak_Synth(
                    data, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
                )
                if status != 0:
                    raise RuntimeError(f"espeak-ng could not synthesise {text!r} (status {status})")
                lib.espeak_Synchronize()
                chunks, self._chunks = self._chunks, []
            finally:
                lib.espeak_Terminate()
                _ctypes.dlclose(lib._handle)
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return pcm.astype(np.float32) / 32768.0, int(sample_rate)


_ENGINE: list[_Engine] = []


def _engine() -> _Engine:
    if not _ENGINE:
        _ENGINE.append(_Engine())
    return _ENGINE[0]


def synthesize(
    text: str,
    *,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    word_gap: int = 0,
    sample_rate: int = 16000,
) -> np.ndarray:
    """``text`` spoken by espeak-ng: a mono float32 waveform ``(N,)`` at ``sample_rate`` Hz.

    Args:
        text: what to say.
        voice: an espeak-ng voice name, accent and optional ``+variant`` (``"en-gb-scotland+f2"``).
        rate: words per minute (80-450).
        pitch: base pitch, 0-100.
        word_gap: extra pause between words, in units of 10 ms.
        sample_rate: output rate (espeak-ng speaks at 22,050 Hz; soxr resamples).
    """
    import soxr

    wave, rate_in = _engine().speak(text, voice=voice, rate=rate, pitch=pitch, word_gap=word_gap)
    if rate_in != sample_rate:
        wave = np.asarray(soxr.resample(wave, rate_in, sample_rate), dtype=np.float32)
    return wave


@dataclass(frozen=True)
class UtteranceSettings:
    """How one utterance is spoken: drawn by :func:`draw_settings` from a seeded generator."""

    text: str
    voice: str
    rate: int
    pitch: int
    word_gap: int
    lead_s: float
    tail_s: float
    snr_db: float | None


def _draw_text(rng: np.random.Generator, *, min_digits: int, max_digits: int, command_fraction: float) -> str:
    if rng.random() < command_fraction:
        return str(rng.choice(COMMAND_WORDS))
    count = int(rng.integers(min_digits, max_digits + 1))
    return " ".join(DIGIT_WORDS[int(d)] for d in rng.integers(0, 10, size=count))


def draw_settings(
    rng: np.random.Generator,
    voices: Sequence[str],
    *,
    min_digits: int = 1,
    max_digits: int = 5,
    command_fraction: float = 0.15,
) -> UtteranceSettings:
    """Random text and voice settings for one utterance."""
    return UtteranceSettings(
        text=_draw_text(rng, min_digits=min_digits, max_digits=max_digits, command_fraction=command_fraction),
        voice=str(voices[int(rng.integers(len(voices)))]),
        rate=int(rng.integers(130, 231)),
        pitch=int(rng.integers(25, 76)),
        word_gap=int(rng.integers(0, 6)),
        lead_s=float(rng.uniform(0.05, 0.3)),
        tail_s=float(rng.uniform(0.05, 0.3)),
        snr_db=None if rng.random() < 0.3 else float(rng.uniform(15.0, 40.0)),
    )


def render(settings: UtteranceSettings, rng: np.random.Generator, *, sample_rate: int = 16000) -> np.ndarray:
    """The waveform of ``settings``: speech with silence around it and white noise at its SNR."""
    speech = synthesize(
        settings.text,
        voice=settings.voice,
        rate=settings.rate,
        pitch=settings.pitch,
        word_gap=settings.word_gap,
        sample_rate=sample_rate,
    )
    return surround(speech, settings, rng, sample_rate=sample_rate)


def surround(
    speech: np.ndarray, settings: UtteranceSettings, rng: np.random.Generator, *, sample_rate: int = 16000
) -> np.ndarray:
    """``speech`` (float32 samples) with ``settings``' silence before and after and white noise at its SNR.

    Shared by :func:`render` and by anything that speaks the corpus's texts with another synthesiser
    (``benchmarks/asr_unheard.py``), so both get the same framing and noise.

    Example:
        >>> import numpy as np
        >>> settings = UtteranceSettings("one", "en", 175, 50, 0, lead_s=0.1, tail_s=0.2, snr_db=None)
        >>> surround(np.ones(100, dtype=np.float32) * 0.5, settings, np.random.default_rng(0)).shape
        (4900,)
    """
    lead = np.zeros(int(settings.lead_s * sample_rate), dtype=np.float32)
    tail = np.zeros(int(settings.tail_s * sample_rate), dtype=np.float32)
    wave = np.concatenate([lead, speech, tail])
    if settings.snr_db is not None and speech.size:
        power = float(np.mean(speech.astype(np.float64) ** 2))
        noise_std = np.sqrt(power / (10.0 ** (settings.snr_db / 10.0)))
        wave = wave + rng.normal(0.0, noise_std, size=wave.shape).astype(np.float32)
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    return (wave / peak * 0.9 if peak > 0.99 else wave).astype(np.float32)


def _render_split(
    root: Path, split: str, split_id: int, count: int, pool: list[str], config: dict[str, Any]
) -> list[str]:
    """Write one split's wav files; return its manifest lines."""
    import soundfile

    sample_rate = int(config["sample_rate"])
    (root / split).mkdir(exist_ok=True)
    lines = []
    for index in range(count):
        rng = np.random.default_rng([int(config["seed"]), split_id, index])
        settings = draw_settings(
            rng,
            pool,
            min_digits=int(config["min_digits"]),
            max_digits=int(config["max_digits"]),
            command_fraction=float(config["command_fraction"]),
        )
        wave = render(settings, rng, sample_rate=sample_rate)
        relative = f"{split}/{index:06d}.wav"
        soundfile.write(str(root / relative), wave, sample_rate, subtype="PCM_16")
        record = {
            "audio_filepath": relative,
            "duration": round(len(wave) / sample_rate, 4),
            "text": settings.text,
            "voice": settings.voice,
        }
        lines.append(json.dumps(record))
    return lines


def generate_corpus(
    root: str | Path,
    *,
    train: int = 1000,
    val: int = 100,
    test: int = 200,
    test_heldout: int = 200,
    seed: int = 0,
    voices: Sequence[str] = TRAIN_VOICES,
    heldout_voices: Sequence[str] = HELDOUT_VOICES,
    min_digits: int = 1,
    max_digits: int = 5,
    command_fraction: float = 0.15,
    sample_rate: int = 16000,
) -> dict[str, Path]:
    """Write a spoken-digits corpus under ``root``: ``<split>/*.wav`` and ``<split>.jsonl`` manifests.

    Files already written for the same arguments are kept (``corpus.json`` records them), so a
    second call returns at once. Returns ``{split: manifest path}`` for the splits with utterances.

    Args:
        root: output folder.
        train, val, test, test_heldout: utterances per split (``test_heldout`` uses
            ``heldout_voices``, the others ``voices``).
        seed: the corpus seed.
        voices, heldout_voices: espeak-ng voice names.
        min_digits, max_digits: length range of digit strings.
        command_fraction: share of utterances that are one command word instead.
        sample_rate: Hz of the written files.

    Example:
        >>> import tempfile
        >>> manifests = generate_corpus(tempfile.mkdtemp(), train=2, val=1, test=1, test_heldout=1)
        >>> sorted(manifests)
        ['test', 'test_heldout', 'train', 'val']
    """
    root = Path(root)
    counts = {
        "train": check_non_negative_int("train", train),
        "val": check_non_negative_int("val", val),
        "test": check_non_negative_int("test", test),
        "test_heldout": check_non_negative_int("test_heldout", test_heldout),
    }
    check_positive_int("min_digits", min_digits)
    if max_digits < min_digits:
        raise ValueError(f"max_digits must be >= min_digits={min_digits}; received max_digits={max_digits!r}")
    if not voices or not heldout_voices:
        raise ValueError("voices and heldout_voices must each name at least one espeak-ng voice")
    config = {
        "counts": counts,
        "seed": int(seed),
        "voices": list(voices),
        "heldout_voices": list(heldout_voices),
        "min_digits": min_digits,
        "max_digits": max_digits,
        "command_fraction": command_fraction,
        "sample_rate": sample_rate,
    }
    stamp = root / "corpus.json"
    manifests = {split: root / f"{split}.jsonl" for split, n in counts.items() if n}
    if (
        stamp.is_file()
        and json.loads(stamp.read_text()) == config
        and all(p.is_file() for p in manifests.values())
    ):
        return manifests
    root.mkdir(parents=True, exist_ok=True)
    for split_id, (split, count) in enumerate(counts.items()):
        if count:
            pool = list(heldout_voices if split == "test_heldout" else voices)
            lines = _render_split(root, split, split_id, count, pool, config)
            manifests[split].write_text("\n".join(lines) + "\n")
    stamp.write_text(json.dumps(config, indent=1))
    return manifests
