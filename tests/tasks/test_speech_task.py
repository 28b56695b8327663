"""The speech task: CTC loss and its too-short error, greedy decoding, WER/CER from jiwer and torchmetrics."""

from __future__ import annotations

import random

import pytest
import torch
from torchmetrics.text import CharErrorRate, WordErrorRate

pytest.importorskip("jiwer")

from cnnlstm.nn.ctc import ctc_best_path, ctc_greedy_decode, ctc_word_times  # noqa: E402
from cnnlstm.tasks.speech import CTCTooShortError, SpeechTask, jiwer_scores  # noqa: E402

VOCAB = ["<blank>", " ", "a", "b", "c"]


def _task() -> SpeechTask:
    torch.manual_seed(0)
    task = SpeechTask(
        name="cnn_bilstm_ctc_tiny", num_classes=len(VOCAB), input_shape=[40, 16], class_names=VOCAB
    )
    task.log = lambda *args, **kwargs: None  # no Trainer here: logging is the CLI tests' part
    return task


def test_jiwer_and_torchmetrics_agree():
    rng = random.Random(0)
    words = ["one", "two", "three", "four", "oh", "nine"]
    refs = [" ".join(rng.choices(words, k=rng.randint(1, 5))) for _ in range(40)]
    hyps = []
    for ref in refs:  # substitutions, deletions, insertions and character slips
        tokens = ref.split()
        if rng.random() < 0.3:
            tokens[rng.randrange(len(tokens))] = rng.choice(words)
        if rng.random() < 0.2 and len(tokens) > 1:
            tokens.pop()
        if rng.random() < 0.2:
            tokens.insert(0, rng.choice(words))
        text = " ".join(tokens)
        hyps.append(text.replace("o", "u", 1) if rng.random() < 0.3 else text)
    scores = jiwer_scores(refs, hyps)
    assert 0 < scores["wer"] < 1 and 0 < scores["cer"] < 1
    assert scores["wer"] == pytest.approx(float(WordErrorRate()(hyps, refs)), abs=1e-6)
    assert scores["cer"] == pytest.approx(float(CharErrorRate()(hyps, refs)), abs=1e-6)


def test_greedy_decoding_collapses_repeats_and_drops_blanks():
    path = torch.tensor([[2, 2, 0, 2, 1, 3, 3, 0, 0]])
    log_probs = torch.nn.functional.one_hot(path, 5).float().log()
    assert ctc_best_path(log_probs, torch.tensor([9])) == [path[0].tolist()]
    assert ctc_greedy_decode(log_probs) == [[2, 2, 1, 3]]
    assert ctc_greedy_decode(log_probs, torch.tensor([4])) == [[2, 2]]
    assert ctc_word_times(path[0].tolist(), space_id=1) == [([2, 2], 0, 4), ([3], 5, 7)]
    task = _task()
    assert task.decode(log_probs) == ["aa b"]


def _batch(task: SpeechTask, frames: int, text: str) -> dict:
    ids = [VOCAB.index(c) for c in text]
    return {
        "x": torch.randn(1, frames, 16),
        "lengths": torch.tensor([frames]),
        "targets": torch.tensor([ids]),
        "target_lengths": torch.tensor([len(ids)]),
        "texts": [text],
        "paths": ["clip.wav"],
    }


def test_ctc_loss_trains_and_a_too_short_utterance_is_named():
    task = _task()
    batch = _batch(task, 40, "ab ca")  # 10 output frames for 5 labels
    loss = task.training_step(batch, 0)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    # 8 frames -> 2 output frames; "aab" needs 4 (a repeated pair needs a blank between)
    with pytest.raises(CTCTooShortError, match=r"'clip.wav' has 2 output frames .* needs 4"):
        task.training_step(_batch(task, 8, "aab"), 0)


def test_prediction_gives_transcripts_and_word_times():
    task = _task().eval()
    batch = _batch(task, 40, "ab")
    batch["frame_seconds"] = 0.01
    with torch.no_grad():
        out = task.predict_step(batch, 0)
    assert out["paths"] == ["clip.wav"] and isinstance(out["transcripts"][0], str)
    assert out["references"] == ["ab"]
    for word, start, end in out["words"][0]:
        assert set(word) <= set("abc") and 0 <= start < end <= 0.4


def test_beam_search_of_width_one_is_greedy_and_wider_beams_sum_over_paths():
    pytest.importorskip("flashlight.lib.text.decoder")
    from cnnlstm.nn.ctc import ctc_beam_decode

    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        log_probs = torch.log_softmax(2 * torch.randn(3, 30, 6, generator=generator), dim=-1)
        lengths = torch.tensor([30, 20, 5])
        assert ctc_beam_decode(log_probs, lengths, beam_size=1) == ctc_greedy_decode(log_probs, lengths)
    # two frames of p(blank) = 0.6, p(a) = 0.4: the best path is blank-blank (""), but "a" has
    # probability 0.4·0.4 + 2·0.4·0.6 = 0.64 summed over its three paths
    log_probs = torch.log(torch.tensor([[[0.6, 0.4], [0.6, 0.4]]]))
    assert ctc_greedy_decode(log_probs) == [[]] and ctc_beam_decode(log_probs, beam_size=8) == [[1]]
    task = SpeechTask(
        name="cnn_bilstm_ctc_tiny", num_classes=5, input_shape=[40, 16], class_names=VOCAB, decoder="beam"
    )
    assert isinstance(task.decode(torch.log_softmax(torch.randn(2, 10, 5), -1))[0], str)
