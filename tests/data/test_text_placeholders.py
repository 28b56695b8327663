"""Placeholder protection: masking round-trips, targets map by string, restore reports what it cannot
match, the tokenisers keep each mark whole, and the data module stores the rule."""

from __future__ import annotations

import pytest

from cnnlstm.data.text import ParallelTextDataModule
from cnnlstm.data.text_placeholders import PLACEHOLDER, PlaceholderMasker, count_slots, mark
from cnnlstm.data.text_tokenizers import Tokenizer, train_tokenizer

TEXTS = [
    "Delete %(name)s from {0}?",
    "%s of %s selected",
    "<b>Save</b> %d items to {folder}",
    "no placeholder at all",
    "a literal ⟦0⟧ mark and %(x)s",
    "",
    "%(a)s %(b)s %(c)s %(d)s",  # more than the slots below: the last stays text
]


@pytest.mark.parametrize("text", TEXTS)
def test_mask_then_restore_is_the_identity(text):
    masker = PlaceholderMasker(slots=3)
    masked = masker.mask_source(text)
    assert len(masked.originals) == min(3, len(PLACEHOLDER.findall(text)) + text.count("⟦"))
    assert masked.originals == tuple(o for o in masked.originals if o in text)
    restored = masker.restore(masked.text, masked.originals)
    assert restored.text == text and restored.ok and restored.masked == len(masked.originals)
    # the target's own masking of an identical text gives the same marks
    assert masker.mask_target(text, masked.originals) == masked.text


def test_a_source_without_placeholders_is_unchanged():
    masker = PlaceholderMasker(slots=4)
    assert masker.mask_source("plain words").text == "plain words"
    assert masker.mask_target("schlichte Wörter", ()) == "schlichte Wörter"
    off = PlaceholderMasker(slots=0)
    assert off.mask_source("Delete %(name)s").text == "Delete %(name)s"
    assert off.restore("⟦0⟧ löschen", ()).text == "⟦0⟧ löschen"  # off: nothing is ours to restore


def test_target_order_and_repeats_map_to_the_source_indices():
    masker = PlaceholderMasker(slots=4)
    source = masker.mask_source("From %(start)s to %(end)s: %s and %s")
    assert source.text == "From ⟦0⟧ to ⟦1⟧: ⟦2⟧ and ⟦3⟧"
    target = masker.mask_target("%(end)s bis %(start)s, %s und %s, <i>neu</i>", source.originals)
    assert target == "⟦1⟧ bis ⟦0⟧, ⟦2⟧ und ⟦3⟧, <i>neu</i>"  # tags the source lacks stay text
    back = masker.restore(target, source.originals)
    assert back.text == "%(end)s bis %(start)s, %s und %s, <i>neu</i>" and back.ok


def test_restore_reports_dropped_invented_and_repeated_marks_and_fabricates_nothing():
    masker = PlaceholderMasker(slots=4)
    originals = masker.mask_source("Move {0} to {1}").originals
    out = masker.restore("⟦1⟧ ⟦3⟧ verschieben ⟦1⟧", originals)
    assert out.text == "{1} verschieben {1}"  # ⟦3⟧: no source placeholder, removed
    assert out.dropped == (0,) and out.invented == (3,) and out.repeated == (1,) and not out.ok
    assert masker.restore("⟦7⟧ bleibt", originals).text == "⟦7⟧ bleibt"  # beyond the slots: not a mark


def test_count_slots_and_the_rule_round_trip():
    assert count_slots(TEXTS) == 4 and count_slots(["none"]) == 0
    masker = PlaceholderMasker(slots=2)
    again = PlaceholderMasker.from_json(masker.to_json())
    assert again.to_json() == masker.to_json() and again.symbols == [mark(0), mark(1)]


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenizers_keep_each_mark_as_one_token(kind):
    masker = PlaceholderMasker(slots=2)
    texts = [masker.mask_source(t).text for t in ["Delete %(name)s from {0}?", "Open {0} now"] * 10]
    tok = train_tokenizer(texts, kind=kind, vocab_size=40, symbols=masker.symbols)
    for text in texts[:2] + ["x⟦1⟧y"]:
        pieces = tok.pieces(text)
        assert pieces.count(mark(0)) == text.count(mark(0)) and pieces.count(mark(1)) == text.count(mark(1))
    again = Tokenizer.from_json(tok.to_json())
    assert again.decode(again.encode(texts[0])) == texts[0]


def _corpus(root, with_placeholders: bool):
    fill = "{0}" if with_placeholders else "zero"
    en = [f"open file {i} in {fill}" for i in range(30)] + [f"%(count)s items of {fill}" for i in range(10)]
    de = [f"Datei {i} in {fill} öffnen" for i in range(30)] + [
        f"%(count)s Elemente von {fill}" for i in range(10)
    ]
    (root / "train.en").write_text("\n".join(en) + "\n", encoding="utf-8")
    (root / "train.de").write_text("\n".join(de) + "\n", encoding="utf-8")


def test_datamodule_masks_by_default_and_stores_the_rule(tmp_path):
    _corpus(tmp_path, with_placeholders=True)
    dm = ParallelTextDataModule(root=tmp_path, source_lang="en", target_lang="de", batch_size=8)
    dm.setup("fit")
    assert dm.preprocessing()["placeholders"] == {"slots": 2, "pattern": PLACEHOLDER.pattern, "mark": "⟦{}⟧"}
    assert dm.tokenizer is not None and dm.tokenizer.to_json()["symbols"] == [mark(0), mark(1)]
    source_ids, target_ids = dm.make_dataset("train")[0]
    mark_ids = set(dm.tokenizer.encode(mark(0) + mark(1)))
    assert mark_ids & set(source_ids.tolist()) and mark_ids & set(target_ids.tolist())
    assert dm.restore_placeholders("Datei ⟦0⟧ ⟦1⟧", "%(count)s items of {0}").text == "Datei %(count)s {0}"
    info = dm.describe()["placeholders"]
    assert info["reserved_tokens"] == 2 and info["train_sources_with_placeholders"] > 0
    off = ParallelTextDataModule(root=tmp_path, source_lang="en", protect_placeholders=False)
    off.setup("fit")
    assert off.preprocessing()["placeholders"] is None and "symbols" not in off.tokenizer.to_json()
    assert off.restore_placeholders("⟦0⟧", "{0}").text == "⟦0⟧"


def test_a_corpus_without_placeholders_tokenises_as_before(tmp_path):
    _corpus(tmp_path, with_placeholders=False)
    for path in (tmp_path / "train.en", tmp_path / "train.de"):  # drop the %(count)s lines
        lines = path.read_text(encoding="utf-8").splitlines()[:30]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    on = ParallelTextDataModule(root=tmp_path, source_lang="en", tokenizer="bpe", vocab_size=50)
    off = ParallelTextDataModule(
        root=tmp_path, source_lang="en", tokenizer="bpe", vocab_size=50, protect_placeholders=False
    )
    on.setup("fit")
    off.setup("fit")
    assert on.tokenizer is not None and off.tokenizer is not None
    assert on.tokenizer.to_json() == off.tokenizer.to_json() and on.masker.slots == 0
