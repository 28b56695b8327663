"""Parallel text: layouts, bad lines reported with file and line, tokenisers, bucketed seeded batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cnnlstm._validation import InputError
from cnnlstm.data.text import BucketBatchSampler, ParallelTextDataModule
from cnnlstm.data.text_files import detect_layout, read_split
from cnnlstm.data.text_synth import (
    NumbersDataModule,
    build_software_corpus,
    magnitude_split,
    number_pairs,
    read_mo,
)
from cnnlstm.data.text_tokenizers import EOS, Tokenizer, train_tokenizer

EN = [f"sentence number {i}" for i in range(30)]
DE = [f"Satz Nummer {i}" for i in range(30)]


def _aligned(root, en=EN, de=DE, split="train"):
    (root / f"{split}.en").write_text("".join(s + "\n" for s in en), encoding="utf-8")
    (root / f"{split}.de").write_text("".join(s + "\n" for s in de), encoding="utf-8")
    return root


def test_three_layouts_give_the_same_pairs(tmp_path):
    a, t, j = (tmp_path / n for n in ("a", "t", "j"))
    for d in (a, t, j):
        d.mkdir()
    _aligned(a)
    (t / "train.tsv").write_text("".join(f"{s}\t{g}\n" for s, g in zip(EN, DE, strict=True)))
    (j / "train.jsonl").write_text(
        "".join(json.dumps({"en": s, "de": g}) + "\n" for s, g in zip(EN, DE, strict=True))
    )
    got = []
    for root in (a, t, j):
        layout = detect_layout(root, "en", "de")
        got.append([(p.source, p.target) for p in read_split(root, "train", layout).pairs])
    assert got[0] == got[1] == got[2] == list(zip(EN, DE, strict=True))
    assert detect_layout(a) == {"format": "aligned", "source_lang": "de", "target_lang": "en"}  # sorted
    assert detect_layout(a, source_lang="en")["target_lang"] == "de"


def test_bad_lines_are_reported_with_file_and_line_and_never_misalign(tmp_path):
    en = ["one", "", "three", "four", "five"]
    de = ["eins", "zwei", "drei", "", "fünf"]
    _aligned(tmp_path, en, de)
    raw = (tmp_path / "train.de").read_bytes().replace(b"drei", b"dr\xffi")
    (tmp_path / "train.de").write_bytes(raw)
    corpus = read_split(tmp_path, "train", detect_layout(tmp_path, "en", "de"))
    assert [(p.source, p.target, p.origin) for p in corpus.pairs] == [
        ("one", "eins", "train.en:1"),
        ("five", "fünf", "train.en:5"),
    ]
    reported = sorted((s["file"].rsplit("/", 1)[-1], s["line"]) for s in corpus.skipped)
    assert reported == [("train.de", 3), ("train.de", 4), ("train.en", 2)]
    assert any("not UTF-8" in s["reason"] for s in corpus.skipped)


def test_mismatched_line_counts_are_refused(tmp_path):
    _aligned(tmp_path, EN, DE[:-1])
    with pytest.raises(InputError, match=r"30 lines but .*train\.de.* has 29"):
        read_split(tmp_path, "train", detect_layout(tmp_path, "en", "de"))


def test_tsv_and_jsonl_bad_lines(tmp_path):
    (tmp_path / "train.tsv").write_text("a\tb\nno tab here\nx\ty\tz\n\tempty\n")
    corpus = read_split(tmp_path, "train")
    assert len(corpus.pairs) == 1 and [s["line"] for s in corpus.skipped] == [2, 3, 4]
    (tmp_path / "train.tsv").unlink()
    (tmp_path / "train.jsonl").write_text('{"source": "a", "target": "b"}\n{oops\n[1]\n')
    corpus = read_split(tmp_path, "train")
    assert len(corpus.pairs) == 1 and [s["line"] for s in corpus.skipped] == [2, 3]


def test_overlong_pairs_are_skipped_and_counted(tmp_path):
    _aligned(tmp_path, [*EN, "x" * 50], [*DE, "y"])
    dm = ParallelTextDataModule(
        root=tmp_path, source_lang="en", max_source_tokens=30, val_fraction=0.2, test_fraction=0.2
    )
    dm.setup("fit")
    (long,) = [s for s in dm.skipped if "too long" in s["reason"]]
    assert long["line"] == 31 and long["file"] == "train.en"
    assert dm.describe()["skipped_lines"] == 1


@pytest.mark.parametrize("kind", ["char", "bpe", "unigram"])
def test_tokenizers_round_trip_and_serialise_without_pickle(kind):
    texts = EN + DE + ["%(name)s hat {0} Dateien"] * 5
    tok = train_tokenizer(texts, kind=kind, vocab_size=80)
    for text in ("Satz Nummer 12", "%(name)s hat {0} Dateien"):
        assert tok.decode(tok.encode(text) + [EOS, 7]) == text
    stored = json.loads(json.dumps(tok.to_json()))
    again = Tokenizer.from_json(stored)
    assert again.encode("sentence 7") == tok.encode("sentence 7") and again.vocab_size == tok.vocab_size
    # trained on the same text, the same model: a datamodule rebuilt for predict agrees with the checkpoint
    assert train_tokenizer(texts, kind=kind, vocab_size=80).to_json() == tok.to_json()


def test_tokenizer_is_trained_on_the_training_split_only(tmp_path):
    _aligned(tmp_path)
    _aligned(tmp_path, ["Zebra"], ["Quokka"], split="test")
    dm = ParallelTextDataModule(root=tmp_path, val_fraction=0.1)
    dm.setup("test")
    assert dm.tokenizer is not None and "Q" not in dm.tokenizer.to_json()["chars"]
    assert len(dm.make_dataset("test")) == 1


def test_bucketed_batches_are_seeded_resumable_and_cover_every_sample():
    lengths = [int(x) for x in torch.randint(1, 50, (103,), generator=torch.Generator().manual_seed(0))]
    a = BucketBatchSampler(lengths, batch_size=8, seed=3, window=4)
    b = BucketBatchSampler(lengths, batch_size=8, seed=3, window=4)
    a.set_epoch(2)
    b.set_epoch(2)
    batches = list(a)
    assert batches == list(b) and len(batches) == len(a)
    assert sorted(i for batch in batches for i in batch) == list(range(103))
    b.set_epoch(3)
    assert list(b) != batches
    spread = sum(max(lengths[i] for i in x) - min(lengths[i] for i in x) for x in batches) / len(batches)
    assert spread < 15  # random batches of 8 from 1..49 spread ~35


def test_datamodule_batches_and_predict_input(tmp_path):
    _aligned(tmp_path)
    dm = ParallelTextDataModule(root=tmp_path, batch_size=4, input=None)
    dm.setup("fit")
    source, target, lengths = next(iter(dm.train_dataloader()))
    assert source.dtype == torch.long and target[:, 0].eq(1).all()
    assert lengths.tolist() == source.ne(0).sum(1).tolist()
    (tmp_path / "in.txt").write_text("sentence number 3\n\nsentence\n")
    dm2 = ParallelTextDataModule(root=tmp_path, input=tmp_path / "in.txt")
    dm2.setup("predict")
    assert len(dm2.predict_dataset) == 3  # the empty line keeps its place
    assert dm2.preprocessing()["tokenizer"]["kind"] == "char"


def test_numbers_task_is_deterministic_and_split_by_magnitude():
    split = magnitude_split(max_exponent=4, sizes={"train": 200, "val": 20, "test": 20}, seed=1)
    assert split == magnitude_split(max_exponent=4, sizes={"train": 200, "val": 20, "test": 20}, seed=1)
    together = split["train"] + split["val"] + split["test"]
    assert len(set(together)) == len(together) and max(together) < 10**4
    assert all(10**4 <= n < 10**5 for n in split["beyond"])
    pairs = number_pairs([97, 1984], target_lang="fr", form=["cardinal"])
    assert [p.target for p in pairs] == ["quatre-vingt-dix-sept", "mille neuf cent quatre-vingt-quatre"]
    pairs = number_pairs([21], form=["ordinal"])
    assert pairs[0].source == "twenty-first" and pairs[0].target == "einundzwanzigste"
    dm = NumbersDataModule(train_size=30, val_size=5, test_size=5, max_exponent=3, test_split="beyond")
    dm.prepare()
    assert all(len(p.source.split()) >= 2 for p in dm.corpora["test"].pairs)  # thousands need words


def test_mo_reader_and_software_corpus(tmp_path):
    messages = {
        "": "Content-Type: text/plain; charset=UTF-8\n",
        "Save": "Speichern",
        "%(n)s file\x00%(n)s files": "%(n)s Datei\x00%(n)s Dateien",
        "ctx\x04Open": "Öffnen",
    }
    keys = sorted(messages)
    ids = b"".join(k.encode() + b"\0" for k in keys)
    strs = b"".join(messages[k].encode() + b"\0" for k in keys)
    n = len(keys)
    header = 28
    table_o = header
    table_t = table_o + 8 * n
    data_start = table_t + 8 * n
    o_entries, t_entries, blob, offset = [], [], b"", data_start
    for k in keys:
        b = k.encode()
        o_entries.append((len(b), offset))
        blob += b + b"\0"
        offset += len(b) + 1
    for k in keys:
        b = messages[k].encode()
        t_entries.append((len(b), offset))
        blob += b + b"\0"
        offset += len(b) + 1
    import struct

    mo = struct.pack("<7I", 0x950412DE, 0, n, table_o, table_t, 0, 0)
    mo += (
        b"".join(struct.pack("<2I", *e) for e in o_entries)
        + b"".join(struct.pack("<2I", *e) for e in t_entries)
        + blob
    )
    assert ids and strs
    catalog = tmp_path / "pkg" / "locale" / "de" / "LC_MESSAGES" / "pkg.mo"
    catalog.parent.mkdir(parents=True)
    catalog.write_bytes(mo)
    assert read_mo(catalog) == {"Save": "Speichern", "%(n)s file": "%(n)s Datei", "Open": "Öffnen"}
    report = build_software_corpus(
        tmp_path / "out", search=[tmp_path / "pkg"], cldr=False, val_fraction=0, test_fraction=0
    )
    assert report["pairs"] == 3 and report["splits"]["train"] == 3
    assert (tmp_path / "out" / "train.de").read_text(encoding="utf-8").count("\n") == 3
    with pytest.raises(InputError, match="no 'fr' gettext catalogues"):
        build_software_corpus(tmp_path / "o2", target_lang="fr", search=[tmp_path / "pkg"], cldr=False)
    # JupyterLab's language packs and Sphinx name the folder de_DE: the same language, included;
    # another region (de_AT) is another variant, left out
    for folder in ("de_DE", "de_AT"):
        other = tmp_path / "pack" / "locale" / folder / "LC_MESSAGES" / "pack.mo"
        other.parent.mkdir(parents=True)
        other.write_bytes(mo)
    report = build_software_corpus(tmp_path / "o3", search=[tmp_path / "pack"], cldr=False)
    assert [Path(s["file"]).parts[-3] for s in report["sources"]] == ["de_DE"]


def test_corpus_sources_record_a_licence_from_metadata() -> None:
    from cnnlstm.data.text_synth import _licence

    assert _licence({"license_expression": "BSD-3-Clause", "license": "long text"}) == "BSD-3-Clause"
    # no SPDX expression (e.g. django-filter, JupyterLab's language packs): the trove classifier
    info = {
        "license": "Copyright (c) 2023 Project Jupyter",
        "classifier": ["License :: OSI Approved :: BSD License"],
    }
    assert _licence(info) == "BSD License"
    assert _licence({"license": "MIT"}) == "MIT" and _licence({}) == "unknown"
