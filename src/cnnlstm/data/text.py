"""Parallel text for translation: token datasets, length-bucketed batches and the DataModule.

:class:`ParallelTextDataModule` reads a corpus folder (two aligned files, TSV or JSONL, see
:mod:`cnnlstm.data.text_files`), trains the tokeniser on the training split only (characters,
or SentencePiece BPE / unigram with one vocabulary for both sides), drops pairs longer than
``max_source_tokens`` / ``max_target_tokens`` (reported with file and line), and serves batches
of similar lengths in an order that depends only on ``(seed, epoch)``.

With ``protect_placeholders`` (the default) every ``%(name)s``, ``{0}``, ``%d`` and HTML tag is
replaced by a reserved indexed token before tokenisation, in source and target alike, and
:meth:`ParallelTextDataModule.restore_placeholders` puts the source's strings back into a
decoded translation (see :mod:`cnnlstm.data.text_placeholders`).

A batch is ``(source, target, source_lengths)``: ``source`` ``(B, S)`` token ids ending in
``EOS``, ``target`` ``(B, T)`` = ``BOS`` + ids + ``EOS``, both padded with ``PAD = 0``.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "train.tsv").write_text("".join(f"{i}\\t{i * 2}\\n" for i in range(40)))
    >>> dm = ParallelTextDataModule(root=root, batch_size=4, val_fraction=0.25, test_fraction=0.25)
    >>> dm.setup("fit")
    >>> source, target, lengths = next(iter(dm.train_dataloader()))
    >>> source.shape[0], target[:, 0].tolist() == [1, 1, 1, 1]
    (4, True)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from cnnlstm._validation import (
    InputError,
    check_bool,
    check_choice,
    check_fraction,
    check_positive_int,
)
from cnnlstm.data.base import BaseDataModule, EpochSeededSampler
from cnnlstm.data.text_files import Corpus, Pair, detect_layout, read_lines, read_split
from cnnlstm.data.text_placeholders import PLACEHOLDER, PlaceholderMasker, Restored, count_slots
from cnnlstm.data.text_tokenizers import BOS, EOS, KINDS, PAD, Tokenizer, train_tokenizer

__all__ = ["BucketBatchSampler", "ParallelTextDataModule", "TokenPairDataset", "collate_pairs"]


class TokenPairDataset(Dataset):
    """Token-id pairs: item ``i`` is ``(source_ids, target_ids)`` as int64 tensors.

    Args:
        pairs: ``(source_ids, target_ids)`` lists; the source ends in ``EOS``, the target is
            ``BOS ... EOS``.
        texts: the pairs' original text, kept for metrics on detokenised text and for reports.
    """

    def __init__(self, pairs: Sequence[tuple[list[int], list[int]]], texts: Sequence[Pair] = ()) -> None:
        self.pairs = list(pairs)
        self.texts = list(texts)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        source, target = self.pairs[index]
        return torch.tensor(source, dtype=torch.long), torch.tensor(target, dtype=torch.long)

    def lengths(self) -> list[int]:
        return [max(len(s), len(t)) for s, t in self.pairs]


def collate_pairs(items: Sequence[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor, Tensor]:
    """Pad a list of pairs into ``(source (B, S), target (B, T), source_lengths (B,))`` with ``PAD``."""
    sources = torch.nn.utils.rnn.pad_sequence([s for s, _ in items], batch_first=True, padding_value=PAD)
    targets = torch.nn.utils.rnn.pad_sequence([t for _, t in items], batch_first=True, padding_value=PAD)
    return sources, targets, torch.tensor([len(s) for s, _ in items], dtype=torch.long)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar lengths in an order that depends only on ``(seed, epoch)``.

    Each epoch takes :class:`~cnnlstm.data.base.EpochSeededSampler`'s permutation, sorts each
    window of ``batch_size * window`` samples by length, cuts it into batches, and shuffles the
    batches with the same generator: little padding, and a resumed run sees the batches an
    uninterrupted one would.

    Example:
        >>> sampler = BucketBatchSampler([1, 5, 2, 6, 3, 7], batch_size=2, seed=0)
        >>> sorted(len(b) for b in sampler)
        [2, 2, 2]
    """

    def __init__(self, lengths: Sequence[int], *, batch_size: int, seed: int = 0, window: int = 50) -> None:
        self.lengths = list(lengths)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.window = check_positive_int("window", window)
        self.order = EpochSeededSampler(self.lengths, seed=seed)  # type: ignore[arg-type]

    def set_epoch(self, epoch: int) -> None:
        self.order.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        indices = list(self.order)
        span = self.batch_size * self.window
        batches: list[list[int]] = []
        for start in range(0, len(indices), span):
            chunk = sorted(indices[start : start + span], key=self.lengths.__getitem__)
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        generator = torch.Generator().manual_seed(self.order.seed * 100_003 + self.order.epoch + 7)
        return iter([batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()])

    def __len__(self) -> int:
        span = self.batch_size * self.window
        n = len(self.lengths)
        full, rest = divmod(n, span)
        return full * -(-span // self.batch_size) + -(-rest // self.batch_size)


class ParallelTextDataModule(BaseDataModule):
    """A parallel corpus from ``root`` for translation (the ``seq2seq`` task).

    ``num_classes`` is the joint vocabulary's size (the model's output classes per token), known
    once the tokeniser is trained on the training split; ``input_shape`` is
    ``[max_source_tokens]``. Splits missing from ``root`` are carved from the training split
    (``val_fraction`` / ``test_fraction``, seeded).

    Args:
        root: the corpus folder (see :mod:`cnnlstm.data.text_files` for the layouts).
        source_lang, target_lang: the language codes; needed for aligned files only when the
            folder holds more than two languages, and to pick the direction.
        tokenizer: ``"char"``, ``"bpe"`` or ``"unigram"`` (SentencePiece).
        vocab_size: SentencePiece vocabulary size (an upper bound for small corpora).
        max_source_tokens, max_target_tokens: longer pairs are skipped and reported.
        val_fraction, test_fraction: shares of the training split held out when the folder has
            no such split, in [0, 1).
        protect_placeholders: mask placeholders (``%(name)s``, ``{0}``, ``%d``, HTML tags) as
            reserved tokens ``⟦0⟧, ⟦1⟧, …`` before tokenisation and restore the source's after
            decoding. As many tokens are reserved as the training sources need (at most
            ``max_placeholders``): none, and nothing changes, for a corpus without placeholders.
        max_placeholders: the most placeholders masked per sentence; further ones stay text.
        input: a text file (or ``"-"`` for stdin) whose lines ``predict`` translates.
        bucket: batch similar lengths together in training (else a plain seeded shuffle).
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        *,
        root: str | Path | None = None,
        source_lang: str | None = None,
        target_lang: str | None = None,
        tokenizer: str = "char",
        vocab_size: int = 1000,
        max_source_tokens: int = 128,
        max_target_tokens: int = 128,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        protect_placeholders: bool = True,
        max_placeholders: int = 8,
        input: str | Path | None = None,
        bucket: bool = True,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        self.root = None if root is None else Path(root)
        self.source_lang = source_lang
        self.target_lang = target_lang
        self.tokenizer_kind = check_choice("tokenizer", tokenizer, KINDS)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.max_source_tokens = check_positive_int("max_source_tokens", max_source_tokens)
        self.max_target_tokens = check_positive_int("max_target_tokens", max_target_tokens)
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self.test_fraction = check_fraction("test_fraction", test_fraction)
        self.protect_placeholders = check_bool("protect_placeholders", protect_placeholders)
        self.max_placeholders = check_positive_int("max_placeholders", max_placeholders)
        self.masker = PlaceholderMasker(slots=0)
        self.input = None if input is None else str(input)
        self.bucket = check_bool("bucket", bucket)
        self.tokenizer: Tokenizer | None = None
        self.corpora: dict[str, Corpus] = {}
        self.skipped: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {}
        self._encoded: dict[str, TokenPairDataset] = {}

    # -- reading and tokenising ------------------------------------------------------------------
    def read_corpora(self) -> dict[str, Corpus]:
        """The ``train`` / ``val`` / ``test`` corpora; a subclass that makes its data overrides this."""
        if self.root is None:
            raise InputError("give the corpus folder: --data.root DIR", field="root")
        self.layout = detect_layout(self.root, self.source_lang, self.target_lang)
        self.source_lang = self.source_lang or self.layout.get("source_lang")
        self.target_lang = self.target_lang or self.layout.get("target_lang")
        corpora = {split: read_split(self.root, split, self.layout) for split in ("train", "val", "test")}
        if not corpora["train"].pairs:
            raise InputError(f"the training split under {str(self.root)!r} has no usable pairs", field="root")
        return self._carve(corpora)

    def _carve(self, corpora: dict[str, Corpus]) -> dict[str, Corpus]:
        """Hold out val / test from train where the folder has no such split (seeded)."""
        train = corpora["train"]
        order = torch.randperm(len(train.pairs), generator=torch.Generator().manual_seed(self.seed)).tolist()
        taken = 0
        for split, fraction in (("val", self.val_fraction), ("test", self.test_fraction)):
            if corpora[split].files or corpora[split].pairs or fraction == 0:
                continue
            count = max(1, round(fraction * len(order)))
            corpora[split] = Corpus(pairs=[train.pairs[i] for i in sorted(order[taken : taken + count])])
            taken += count
        held = set(order[:taken])
        corpora["train"] = Corpus(
            pairs=[p for i, p in enumerate(train.pairs) if i not in held],
            skipped=train.skipped,
            files=train.files,
        )
        return corpora

    def prepare(self) -> None:
        """Read the corpora, train the tokeniser on the training split, encode; once."""
        if self.tokenizer is not None:
            return
        self.corpora = self.read_corpora()
        train = self.corpora["train"].pairs
        if self.protect_placeholders:
            needed = count_slots(p.source for p in train)
            self.masker = PlaceholderMasker(slots=min(needed, self.max_placeholders))
        masked = [self._mask(p) for p in train]
        self.tokenizer = train_tokenizer(
            [s for s, _ in masked] + [t for _, t in masked],
            kind=self.tokenizer_kind,
            vocab_size=self.vocab_size,
            symbols=self.masker.symbols,
        )
        self.skipped = [
            {"split": split, **s} for split, corpus in self.corpora.items() for s in corpus.skipped
        ]
        for split, corpus in self.corpora.items():
            self._encoded[split] = self._encode(corpus.pairs, split)

    def _mask(self, pair: Pair) -> tuple[str, str]:
        """The pair's source and target with their placeholders masked (unchanged when off)."""
        source = self.masker.mask_source(pair.source)
        return source.text, self.masker.mask_target(pair.target, source.originals)

    def restore_placeholders(self, translation: str, source: str) -> Restored:
        """A decoded ``translation`` of ``source`` with the source's placeholders put back by index,
        and the ones it dropped or invented (:class:`~cnnlstm.data.text_placeholders.Restored`)."""
        return self.masker.restore(translation, self.masker.mask_source(source).originals)

    @property
    def placeholder_pattern(self) -> str:
        """What a placeholder is (a regular expression), for the metrics; also when protection is off."""
        return self.masker.pattern.pattern

    def _encode(self, pairs: Sequence[Pair], split: str = "") -> TokenPairDataset:
        assert self.tokenizer is not None
        kept_ids, kept = [], []
        for pair in pairs:
            masked_source, masked_target = self._mask(pair)
            source = self.tokenizer.encode(masked_source) + [EOS]
            target = [BOS, *self.tokenizer.encode(masked_target), EOS]
            if len(source) > self.max_source_tokens or len(target) > self.max_target_tokens:
                file, _, line = pair.origin.rpartition(":")
                self.skipped.append(
                    {
                        "split": split,
                        "file": file or "generated",
                        "line": int(line) if line.isdigit() else line,
                        "reason": f"too long: {len(source)} source / {len(target)} target tokens (limits "
                        f"max_source_tokens={self.max_source_tokens}, max_target_tokens={self.max_target_tokens})",
                    }
                )
                continue
            kept_ids.append((source, target))
            kept.append(pair)
        return TokenPairDataset(kept_ids, kept)

    # -- what the CLI links into the task --------------------------------------------------------
    @property
    def num_classes(self) -> int:
        self.prepare()
        assert self.tokenizer is not None
        return self.tokenizer.vocab_size

    @property
    def input_shape(self) -> list[int]:
        return [self.max_source_tokens]

    @property
    def class_names(self) -> list[str]:
        return []  # token classes have no names worth carrying; the tokeniser is in preprocessing()

    def example_input(self, batch_size: int = 2) -> Tensor:
        """A batch of short source sentences ``(B, 4)``: three ordinary tokens and ``EOS``."""
        tokens = [min(4 + i, self.num_classes - 1) for i in range(3)]
        return torch.tensor([[*tokens, EOS]] * batch_size, dtype=torch.long)

    # -- splits and loaders ----------------------------------------------------------------------
    def make_dataset(self, split: str) -> Dataset:
        self.prepare()
        dataset = self._encoded.get(split)
        if dataset is None or len(dataset) == 0:
            raise InputError(
                f"the {split} split has no usable pairs (see `cnnlstm data check`)", field="root"
            )
        return dataset

    def make_predict_dataset(self) -> Dataset | None:
        if self.input is None:
            return None
        self.prepare()
        assert self.tokenizer is not None
        if self.input == "-":
            lines: list[str | None] = [line.rstrip("\n") for line in sys.stdin]
        else:
            path = Path(self.input)
            if not path.is_file():
                raise InputError(
                    f"input={self.input!r} is not a file; give a text file or '-'", field="input"
                )
            lines, bad = read_lines(path)
            if bad:
                first = bad[0]
                raise InputError(f"{first['file']}:{first['line']}: {first['reason']}", field="input")
        pairs = [Pair(line or "", "", f"input:{i}") for i, line in enumerate(lines, start=1)]
        ids = [
            (
                self.tokenizer.encode(self.masker.mask_source(p.source).text)[: self.max_source_tokens - 1]
                + [EOS],
                [BOS, EOS],
            )
            for p in pairs
        ]
        return TokenPairDataset(ids, pairs)

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        dataset = getattr(self, f"{split}_dataset")
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__} has no {split} data; was setup() called?")
        common: dict[str, Any] = dict(
            num_workers=self.num_workers, persistent_workers=self.num_workers > 0, collate_fn=collate_pairs
        )
        if shuffle and self.bucket:
            sampler = BucketBatchSampler(dataset.lengths(), batch_size=self.batch_size, seed=self.seed)
            return DataLoader(dataset, batch_sampler=sampler, **common)
        if shuffle:
            common["sampler"] = EpochSeededSampler(dataset, seed=self.seed)
        return DataLoader(dataset, batch_size=self.batch_size, **common)

    # -- reports ---------------------------------------------------------------------------------
    def preprocessing(self) -> dict[str, Any]:
        self.prepare()
        assert self.tokenizer is not None
        return {
            "tokenizer": self.tokenizer.to_json(),
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "max_source_tokens": self.max_source_tokens,
            "max_target_tokens": self.max_target_tokens,
            "placeholders": self.masker.to_json() if self.protect_placeholders else None,
        }

    def describe(self) -> dict[str, Any]:
        self.prepare()
        assert self.tokenizer is not None
        return {
            "data_module": type(self).__name__,
            "root": None if self.root is None else str(self.root),
            "layout": self.layout.get("format", "generated"),
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "tokenizer": self.tokenizer_kind,
            "vocab_size": self.tokenizer.vocab_size,
            "samples": {split: len(data) for split, data in self._encoded.items()},
            "skipped_lines": len(self.skipped),
            "placeholders": self._placeholder_counts(),
        }

    def _placeholder_counts(self) -> dict[str, Any]:
        """How many training pairs hold placeholders and how many target ones have no source match."""
        train = self.corpora.get("train", Corpus()).pairs
        found = [self.masker.mask_source(p.source) for p in train]
        unmatched = sum(
            len(PLACEHOLDER.findall(self.masker.mask_target(p.target, m.originals)))
            for p, m in zip(train, found, strict=True)
        )
        return {
            "protected": self.protect_placeholders,
            "reserved_tokens": self.masker.slots,
            "train_sources_with_placeholders": sum(bool(m.originals) for m in found),
            "train_target_placeholders_not_in_source": unmatched if self.masker.slots else None,
        }
