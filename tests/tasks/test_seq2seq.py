"""Seq2SeqTask's loss ignores padding; the text metrics against sacrebleu's own numbers; placeholders."""

from __future__ import annotations

import pytest
import torch

from cnnlstm.data.text_placeholders import PLACEHOLDER
from cnnlstm.tasks.seq2seq import Seq2SeqTask
from cnnlstm.tasks.text_metrics import placeholder_survival, translation_scores


def test_loss_is_the_same_with_extra_padding():
    torch.manual_seed(0)
    task = Seq2SeqTask(name="conv_lstm_translator_tiny", num_classes=20, label_smoothing=0.1).eval()
    source = torch.tensor([[5, 6, 7, 2]])
    target = torch.tensor([[1, 8, 9, 2]])
    padded = (
        torch.cat([source, torch.zeros(1, 3, dtype=torch.long)], 1),
        torch.cat([target, torch.zeros(1, 2, dtype=torch.long)], 1),
    )
    with torch.no_grad():
        plain, tokens = task._loss((source, target))
        more, more_tokens = task._loss(padded)
    assert tokens == more_tokens == 3
    torch.testing.assert_close(plain, more)


def test_scores_match_sacrebleu_and_simple_counts():
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = ["das ist ein kleiner Test", "hallo Welt", "völlig falsch"]
    refs = ["das ist ein kleiner Test", "hallo schöne Welt", "ganz richtig"]
    scores = translation_scores(hyps, refs)
    assert scores["exact_match"] == pytest.approx(1 / 3, abs=1e-6)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-3)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-3)
    assert scores["bleu_signature"].startswith("nrefs:1|case:mixed")
    assert 0 < scores["cer"] < 1
    perfect = translation_scores(refs, refs)
    assert (
        perfect["bleu"] == 100.0
        and perfect["chrf"] == 100.0
        and perfect["ter"] == 0.0
        and perfect["cer"] == 0.0
    )


def test_placeholder_survival():
    sources = ["Delete %(name)s?", "{0} files", "<b>Save</b> %d items", "no placeholder"]
    outputs = ["%(name)s löschen?", "Dateien", "<b>Speichern</b> %d Elemente", "kein Platzhalter"]
    assert placeholder_survival(sources, outputs, pattern=PLACEHOLDER) == pytest.approx(2 / 3)
    assert placeholder_survival(["plain"], ["schlicht"], pattern=PLACEHOLDER) is None
