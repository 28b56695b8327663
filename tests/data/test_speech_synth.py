"""The generated spoken-digits corpus (cnnlstm.data.speech_synth)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")
soundfile = pytest.importorskip("soundfile")

from cnnlstm.data.speech_synth import COMMAND_WORDS, DIGIT_WORDS, generate_corpus, synthesize  # noqa: E402


def test_an_utterance_does_not_depend_on_what_was_said_before():
    first = synthesize("seven two", voice="en-us+m3", rate=160)
    synthesize("nine nine nine", voice="en+klatt", pitch=20)
    assert np.array_equal(first, synthesize("seven two", voice="en-us+m3", rate=160))


def test_unknown_voice_is_named():
    with pytest.raises(ValueError, match="no voice 'xx-nope'"):
        synthesize("one", voice="xx-nope")


def test_corpus_manifests_splits_and_voices(tmp_path):
    manifests = generate_corpus(
        tmp_path, train=6, val=2, test=2, test_heldout=3, seed=3, voices=["en-us+m3", "en+f3"]
    )
    assert sorted(manifests) == ["test", "test_heldout", "train", "val"]
    records = {s: [json.loads(line) for line in p.read_text().splitlines()] for s, p in manifests.items()}
    assert [len(records[s]) for s in ("train", "val", "test", "test_heldout")] == [6, 2, 2, 3]
    vocabulary = set(DIGIT_WORDS) | set(COMMAND_WORDS)
    for split, rows in records.items():
        for row in rows:
            audio, rate = soundfile.read(str(tmp_path / row["audio_filepath"]))
            assert rate == 16000 and abs(len(audio) / rate - row["duration"]) < 1e-3
            assert set(row["text"].split()) <= vocabulary
            assert (row["voice"] in {"en-us+m3", "en+f3"}) == (split != "test_heldout")
    # the same seed and arguments: the same texts, voices and durations
    again = generate_corpus(
        tmp_path / "again", train=6, val=2, test=2, test_heldout=3, seed=3, voices=["en-us+m3", "en+f3"]
    )
    assert again["train"].read_text() == manifests["train"].read_text()
    other = generate_corpus(tmp_path / "other", train=6, val=0, test=0, test_heldout=1, seed=4)
    assert other["train"].read_text() != manifests["train"].read_text() and "val" not in other
