"""Speech corpora layouts, the vocabulary, skipped utterances and duration-bucketed batches."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

soundfile = pytest.importorskip("soundfile")

from cnnlstm._validation import InputError  # noqa: E402
from cnnlstm.data.speech import DurationBucketSampler, SpeechDataModule  # noqa: E402
from cnnlstm.data.speech_corpora import Vocabulary, find_corpus, normalize_text  # noqa: E402

RATE = 16000


def _wave(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


def _write(path, seconds=1.0, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), _wave(seconds, seed), RATE)


def test_normalisation_and_vocabulary_round_trip():
    assert normalize_text("Don’t STOP—now!") == "don't stop now"
    vocab = Vocabulary.build(["abc", "cab d"])
    assert vocab.tokens[0] == "<blank>" and vocab.decode(vocab.encode("bad c")) == "bad c"
    with pytest.raises(InputError, match="blank"):
        Vocabulary(["a", "b"])


def test_librispeech_layout_with_split_folders(tmp_path):
    for split, speaker in (("train-clean-5", "19"), ("dev-clean-2", "84")):
        chapter = tmp_path / split / speaker / "198"
        lines = []
        for k in range(3):
            uid = f"{speaker}-198-{k:04d}"
            _write(chapter / f"{uid}.flac", 1.0, k)
            lines.append(f"{uid} HELLO WORLD {k}")
        (chapter / f"{speaker}-198.trans.txt").write_text("\n".join(lines) + "\n")
    corpus = find_corpus(tmp_path)
    assert corpus.layout == "librispeech" and sorted(corpus.splits) == ["train", "val"]
    assert corpus.splits["train"][0].text == "HELLO WORLD 0"


def test_common_voice_and_kaldi_layouts(tmp_path):
    cv = tmp_path / "cv"
    _write(cv / "clips" / "a.mp3.wav")
    (cv / "train.tsv").write_text("client_id\tpath\tsentence\nx\ta.mp3.wav\tHi there\n")
    corpus = find_corpus(cv)
    assert corpus.layout == "common_voice" and corpus.splits["train"][0].text == "Hi there"
    kaldi = tmp_path / "kaldi"
    _write(kaldi / "audio" / "u1.wav")
    (kaldi / "wav.scp").write_text("u1 audio/u1.wav\nu2 sox x.wav -t wav - |\n")
    (kaldi / "text").write_text("u1 one two\n")
    corpus = find_corpus(kaldi)
    assert corpus.layout == "kaldi" and [u.uid for u in corpus.splits["all"]] == ["u1"]
    assert corpus.problems[0]["reason"].startswith("a command pipe: never run")


def test_broken_utterances_are_skipped_with_reasons(tmp_path):
    rows = [("good0.wav", "one two", 1.0), ("good1.wav", "three", 1.0), ("good2.wav", "four", 1.0)]
    for name, _, seconds in rows:
        _write(tmp_path / name, seconds)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEnot audio")
    soundfile.write(str(tmp_path / "silent.wav"), np.zeros(RATE, dtype=np.float32), RATE)
    soundfile.write(str(tmp_path / "empty.wav"), np.zeros(0, dtype=np.float32), RATE)
    _write(tmp_path / "short.wav", 0.05)
    _write(tmp_path / "notext.wav")
    lines = [{"audio_filepath": n, "text": t} for n, t, _ in rows]
    lines += [
        {"audio_filepath": "broken.wav", "text": "one"},
        {"audio_filepath": "silent.wav", "text": "one"},
        {"audio_filepath": "empty.wav", "text": "one"},
        {"audio_filepath": "short.wav", "text": "one two three four five six"},
        {"audio_filepath": "notext.wav"},
        {"audio_filepath": "missing.wav", "text": "one"},
    ]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\nnot json\n")
    (tmp_path / "val.jsonl").write_text(json.dumps(lines[0]) + "\n")
    dm = SpeechDataModule(root=str(tmp_path), batch_size=2)
    dm.setup("fit")
    assert len(dm.train_dataset) == 3
    reasons = {item["path"].rsplit("/", 1)[-1]: item["reason"] for item in dm.skipped}
    assert reasons["broken.wav"].startswith("cannot decode")
    assert reasons["silent.wav"].startswith("silent audio:") and reasons["empty.wav"].startswith(
        "empty audio:"
    )
    assert reasons["short.wav"].startswith("too short for its transcript")
    assert reasons["notext.wav"].startswith("no transcript:")
    assert reasons["missing.wav"] == "missing audio: no such file"
    assert reasons["train.jsonl:10"] == "not JSON"
    assert dm.describe()["skipped_by_reason"]["silent audio"] == 1


def test_batches_carry_features_and_targets(tmp_path):
    for k in range(6):
        _write(tmp_path / f"{k}.wav", 0.5 + 0.25 * k, k)
    (tmp_path / "train.jsonl").write_text(
        "\n".join(json.dumps({"audio_filepath": f"{k}.wav", "text": "ab" * (k + 1)}) for k in range(6)) + "\n"
    )
    (tmp_path / "val.jsonl").write_text(json.dumps({"audio_filepath": "0.wav", "text": "ab"}) + "\n")
    dm = SpeechDataModule(root=str(tmp_path), batch_size=2, spec_augment={})
    assert dm.class_names == ["<blank>", "a", "b"] and dm.num_classes == 3
    dm.setup("fit")
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert batch["x"].shape[0] == 2 and batch["x"].shape[2] == 80
    assert int(batch["lengths"].max()) == batch["x"].shape[1]
    for k in range(2):
        n = int(batch["target_lengths"][k])
        assert dm.vocabulary.decode(batch["targets"][k, :n].tolist()) == batch["texts"][k]


def test_bucket_sampler_is_seeded_resumable_and_groups_durations():
    durations = [float(d) for d in torch.rand(50, generator=torch.Generator().manual_seed(1)) * 10]
    sampler = DurationBucketSampler(durations, batch_size=5, seed=3)
    sampler.set_epoch(2)
    first = list(sampler)
    again = DurationBucketSampler(durations, batch_size=5, seed=3)
    again.set_epoch(2)
    assert list(again) == first and len(first) == math.ceil(50 / 5)
    again.set_epoch(3)
    assert list(again) != first
    assert sorted(i for b in first for i in b) == list(range(50))
    spread = np.mean([max(durations[i] for i in b) - min(durations[i] for i in b) for b in first])
    assert spread < 2.0  # random batches would spread over ~6 s of the 10
