"""A user's own audio and transcripts: odd files, numerals, characters the model never saw, corpus gaps."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

soundfile = pytest.importorskip("soundfile")

from cnnlstm._validation import InputError  # noqa: E402
from cnnlstm.data.audio import AudioReadError, read_audio  # noqa: E402
from cnnlstm.data.speech import SpeechDataModule  # noqa: E402
from cnnlstm.data.speech_corpora import find_corpus, normalize_text  # noqa: E402

RATE = 16000


def _write(path, seconds=1.0, rate=RATE, channels=1, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    wave = (0.1 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), wave, rate, **kwargs)


def test_numbers_are_written_as_words_in_the_corpus_language():
    assert normalize_text("Dial 3, then 42!") == "dial three then forty two"
    assert normalize_text("the 21st of 1,000") == "the twenty first of one thousand"
    assert normalize_text("3.5 km, code 0800, v2") == "three point five km code zero eight zero zero v two"
    assert normalize_text("Café n°3", numbers="keep") == "café n 3"  # accents stay; digits kept on request
    assert normalize_text("3 Äpfel", language="de") == "drei äpfel"
    with pytest.raises(InputError, match="language 'xx'"):
        normalize_text("3", language="xx")


def test_odd_file_names_rates_and_channels_are_read(tmp_path):
    _write(tmp_path / "stereo.wav", rate=44100, channels=2)
    _write(tmp_path / "UPPER.FLAC", rate=8000, format="FLAC")
    _write(tmp_path / "trailing space .wav")
    for name in ("stereo.wav", "UPPER.FLAC", "trailing space .wav"):
        assert read_audio(tmp_path / name).shape == (RATE,)
    (tmp_path / "zero.wav").write_bytes(b"")
    with pytest.raises(AudioReadError, match=r"zero.wav' is empty \(0 bytes\)"):
        read_audio(tmp_path / "zero.wav")
    _write(tmp_path / "space after.WAV ", format="WAV")
    assert read_audio(tmp_path / "space after.WAV ").shape == (RATE,)
    (tmp_path / "notes.txt").write_text("not audio")
    corpus = find_corpus(tmp_path)  # a folder of audio for predict: odd suffixes are found
    assert corpus.layout == "audio_files" and len(corpus.splits["all"]) == 5
    assert [(p["path"].rsplit("/", 1)[-1], p["reason"].split(":")[0]) for p in corpus.problems] == [
        ("notes.txt", "not audio")
    ]


def test_a_folder_of_audio_without_transcripts_says_to_predict(tmp_path):
    _write(tmp_path / "a.wav")
    dm = SpeechDataModule(root=str(tmp_path))
    with pytest.raises(
        InputError, match="audio files without transcripts: transcribe them with `cnnlstm predict"
    ):
        dm.setup("fit")


def test_librispeech_gaps_are_reported_and_val_is_held_out_of_train(tmp_path):
    for split, count in (("train-clean", 6), ("test-clean", 2)):
        chapter = tmp_path / split / "19" / "198"
        lines = []
        for k in range(count):
            _write(chapter / f"19-198-{k:04d}.flac", seed=k)
            lines.append(f"19-198-{k:04d} {'ONE TWO' if k % 2 else 'THREE'}")
        _write(chapter / "19-198-0050.flac")  # audio without a transcript line
        lines.append("19-198-0099 ONE")  # a transcript line without audio
        (chapter / "19-198.trans.txt").write_text("\n".join(lines) + "\n")
    dm = SpeechDataModule(root=str(tmp_path), n_mels=16, val_fraction=0.2)
    dm.setup("fit")
    reasons = sorted((i["path"].rsplit("/", 1)[-1], i["reason"].split(":")[0]) for i in dm.skipped)
    assert reasons == [
        ("19-198-0050.flac", "no transcript"),
        ("19-198-0050.flac", "no transcript"),
        ("19-198-0099.flac", "missing audio"),
        ("19-198-0099.flac", "missing audio"),
    ]
    assert len(dm.train_dataset) == 5 and len(dm.val_dataset) == 1  # no dev-* folder: 1 of 6 held out
    assert dm.describe()["val_held_out_from_train"] == 1


def _manifest_corpus(tmp_path, test_rows):
    train = []
    for k, text in enumerate(["one two", "three", "two one"]):
        _write(tmp_path / f"t{k}.wav", seed=k)
        train.append({"audio_filepath": f"t{k}.wav", "text": text})
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    (tmp_path / "val.jsonl").write_text(json.dumps(train[0]) + "\n")
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test_rows))


def test_test_transcripts_outside_the_vocabulary_are_kept_and_reported(tmp_path):
    _write(tmp_path / "x.wav")
    _write(tmp_path / "long.wav", seconds=3.0)
    rows = [
        {"audio_filepath": str(tmp_path / "x.wav"), "text": "One, zwölf!"},  # an absolute path
        {"audio_filepath": "x.wav", "text": "3 two"},  # a numeral: "three", inside the vocabulary
        {"audio_filepath": "long.wav", "text": "one"},  # longer than max_duration: test keeps it
    ]
    _manifest_corpus(tmp_path, rows)
    dm = SpeechDataModule(root=str(tmp_path), n_mels=16, max_duration=2.0)
    dm.setup("test")
    assert len(dm.test_dataset) == 3 and dm.skipped == []
    assert dm.outside_vocabulary == [{"split": "test", "path": str(tmp_path / "x.wav"), "characters": "flzö"}]
    assert dm.describe()["outside_vocabulary"] == {"test": {"utterances": 1, "characters": "flzö"}}
    assert dm.test_dataset[1]["text"] == "three two"


def test_a_kaldi_pipe_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    _write(tmp_path / "u1.wav")
    (tmp_path / "wav.scp").write_text(f"u1 u1.wav\nu2 sox u1.wav -t wav - | touch {marker} |\n")
    (tmp_path / "text").write_text("u1 one\nu2 two\n")
    dm = SpeechDataModule(root=str(tmp_path), n_mels=16)
    assert [u.uid for u in dm.splits()["train"]] == ["u1"]
    assert [i["reason"] for i in dm.skipped] == [
        "a command pipe: never run; write the audio to a file and list its path"
    ]
    assert not marker.exists()


def test_predict_lists_unreadable_files_in_transcripts_csv(tmp_path):
    from cnnlstm.training.callbacks import PredictionWriter

    writer = PredictionWriter(tmp_path)
    batches = [{"paths": ["a.wav"], "transcripts": ["one"]}]
    writer._write_transcripts(
        batches, [{"split": "predict", "path": "b.wav", "reason": "empty file: 0 bytes"}]
    )
    with open(tmp_path / "transcripts.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"path": "a.wav", "text": "one", "skipped": ""},
        {"path": "b.wav", "text": "", "skipped": "empty file: 0 bytes"},
    ]


def test_greedy_transcripts_have_no_stray_spaces():
    from cnnlstm.tasks.speech import SpeechTask

    vocab = ["<blank>", " ", "a"]
    task = SpeechTask(name="cnn_bilstm_ctc_tiny", num_classes=3, input_shape=[40, 16], class_names=vocab)
    path = [1, 2, 0, 1, 0, 1, 2, 1]  # " a  a " → "a a"
    log_probs = torch.nn.functional.one_hot(torch.tensor([path]), 3).float().log()
    assert task.decode(log_probs) == ["a a"]


def test_corpus_text_files_must_be_utf8_and_a_bom_is_fine(tmp_path):
    _write(tmp_path / "a.wav")
    (tmp_path / "train.jsonl").write_bytes('{"audio_filepath": "a.wav", "text": "café"}\n'.encode("latin-1"))
    with pytest.raises(
        InputError, match=r"train.jsonl' is not UTF-8 text \(byte 40 is 0xe9\); save it as UTF-8"
    ):
        find_corpus(tmp_path)
    (tmp_path / "train.jsonl").write_text(
        '{"audio_filepath": "a.wav", "text": "café"}\n', encoding="utf-8-sig"
    )
    corpus = find_corpus(tmp_path)
    assert corpus.problems == [] and corpus.splits["train"][0].text == "café"


def test_common_voice_without_a_sentence_column_is_named(tmp_path):
    (tmp_path / "train.tsv").write_text("path\ttext\na.wav\tone\n")
    with pytest.raises(InputError, match=r"train.tsv' has no sentence column \(its header: path, text\)"):
        find_corpus(tmp_path)


def test_kaldi_transcripts_without_audio_and_segments(tmp_path):
    _write(tmp_path / "u1.wav")
    (tmp_path / "wav.scp").write_text("u1 u1.wav\n")
    (tmp_path / "text").write_text("u1 one\nu2 two\n")
    corpus = find_corpus(tmp_path)
    assert [(p["path"].rsplit("/", 1)[-1], p["reason"]) for p in corpus.problems] == [
        ("text:u2", "missing audio: not in wav.scp")
    ]
    (tmp_path / "segments").write_text("u1 rec1 0.0 1.0\n")
    with pytest.raises(InputError, match="Kaldi segments .* are not read"):
        find_corpus(tmp_path)
