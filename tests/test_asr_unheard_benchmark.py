"""benchmarks/asr_unheard.py without the synthesisers: settings, voice order, framing and scores.

The real Flite/Festival calls are replaced by a tone written at the synthesiser's own rate, so the
test checks what the script does around them (resampling, the corpus's silence and noise, the
per-voice scores) on any machine.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests._benchmarks import load_benchmark

soundfile = pytest.importorskip("soundfile")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("asr_unheard")


def test_rate_becomes_the_duration_stretch(bench):
    assert bench.duration_stretch(175) == 1.0
    assert bench.duration_stretch(130) > 1.0 > bench.duration_stretch(230)


def test_build_set_draws_corpus_settings_cycles_voices_and_resamples(bench, tmp_path, monkeypatch):
    from cnnlstm.data.speech_synth import draw_settings

    calls = []

    def fake_speak(synth, voice, text, stretch, wav):  # 0.5 s tone at 8 kHz, as Flite's kal writes
        calls.append((synth, voice, text, stretch))
        t = np.arange(4000) / 8000
        soundfile.write(str(wav), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)

    monkeypatch.setattr(bench, "speak", fake_speak)
    waves, texts, voices = bench.build_set("flite", tmp_path, 7, seed=3, sample_rate=16000)
    assert voices == ["kal", "kal16", "awb", "rms", "slt", "kal", "kal16"]
    for index, (wave, (_, voice, text, stretch)) in enumerate(zip(waves, calls, strict=True)):
        settings = draw_settings(np.random.default_rng([3, bench.SPLIT_ID, index]), [voice])
        assert text == settings.text and texts[index] == settings.text
        assert stretch == pytest.approx(175 / settings.rate)
        silence = int(settings.lead_s * 16000) + int(settings.tail_s * 16000)
        assert len(wave) == silence + 8000  # the tone resampled to 16 kHz, framed as the corpus is


def test_scores_per_voice_and_overall(bench):
    scores = bench.score(["one", "two", "tree"], ["one", "two", "three"], ["a", "b", "b"])
    assert scores["all"]["wer"] == pytest.approx(1 / 3)
    assert scores["per_voice"]["a"]["wer"] == 0.0
    assert scores["per_voice"]["b"]["wer"] == 0.5


def test_missing_synthesisers_are_named(bench, monkeypatch):
    monkeypatch.setattr(bench.shutil, "which", lambda tool: None)
    with pytest.raises(SystemExit, match="apt-get install flite festival"):
        bench.check_tools()
