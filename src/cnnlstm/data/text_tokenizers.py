"""Tokenisers for translation: characters, or SentencePiece (BPE / unigram) trained on the training split.

Both share one vocabulary for source and target (a joint vocabulary: placeholders, names and
numbers copy across, and embeddings can be tied) and the same special ids: ``PAD = 0``,
``BOS = 1``, ``EOS = 2``, ``UNK = 3``. A tokeniser serialises to a JSON-safe dict
(:meth:`Tokenizer.to_json`): the SentencePiece model's bytes as base64, the characters as a list;
nothing is pickled, so the dict travels inside a checkpoint loaded with ``weights_only=True`` and
inside an export's ``config.json``.

Example:
    >>> tok = CharTokenizer.train(["abc", "cab"])
    >>> tok.encode("cab"), tok.decode(tok.encode("cab"))
    ([6, 4, 5], 'cab')
    >>> Tokenizer.from_json(tok.to_json()).vocab_size == tok.vocab_size
    True
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from cnnlstm._validation import InputError, check_choice, check_positive_int

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "UNK",
    "CharTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "train_tokenizer",
]

PAD, BOS, EOS, UNK = 0, 1, 2, 3
_SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
KINDS = ("char", "bpe", "unigram")
_INSTALL_HINT = 'SentencePiece tokenisation needs sentencepiece: pip install "cnnlstm[text]"'


class Tokenizer:
    """Text ↔ ids. Subclasses implement ``encode``, ``decode``, ``pieces``, ``vocab_size``, ``to_json``."""

    kind = ""

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def pieces(self, text: str) -> list[str]:
        """The tokens of ``text`` as strings (for attention pictures)."""
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; stops at the first ``EOS`` and drops ``PAD`` / ``BOS``."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def from_json(data: dict[str, Any]) -> Tokenizer:
        """Rebuild a tokeniser from :meth:`to_json`'s dict."""
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind == "char":
            return CharTokenizer(list(data["chars"]), symbols=list(data.get("symbols", [])))
        if kind in ("bpe", "unigram"):
            return SentencePieceTokenizer(base64.b64decode(data["model"]), kind=str(kind))
        raise InputError(f"not a stored tokeniser (kind={kind!r}); expected one of {list(KINDS)}")


def _until_eos(ids: Iterable[int]) -> list[int]:
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i not in (PAD, BOS):
            out.append(i)
    return out


class CharTokenizer(Tokenizer):
    """One id per character seen in the training text; unseen characters become ``UNK``.

    Args:
        chars: the vocabulary's characters (after the four special ids), in id order.
        symbols: multi-character strings kept as one token each (the placeholder marks
            ``⟦0⟧``, ...; see :mod:`cnnlstm.data.text_placeholders`), ids after the characters.

    Example:
        >>> tok = CharTokenizer.train(["a ⟦0⟧"], symbols=["⟦0⟧"])
        >>> tok.pieces("a ⟦0⟧"), tok.decode(tok.encode("a ⟦0⟧"))
        (['a', ' ', '⟦0⟧'], 'a ⟦0⟧')
    """

    kind = "char"

    def __init__(self, chars: Sequence[str], *, symbols: Sequence[str] = ()) -> None:
        self.chars = list(chars)
        self.symbols = list(symbols)
        self.tokens = self.chars + self.symbols
        self._index = {c: i + len(_SPECIALS) for i, c in enumerate(self.tokens)}
        longest_first = sorted(self.symbols, key=len, reverse=True)
        self._split = re.compile("|".join([*map(re.escape, longest_first), "."]), re.DOTALL)

    @classmethod
    def train(cls, texts: Iterable[str], *, symbols: Sequence[str] = ()) -> CharTokenizer:
        """The characters of ``texts`` (outside ``symbols``) and the ``symbols``."""
        texts = list(texts)
        if symbols:
            inside = re.compile("|".join(map(re.escape, symbols)))
            texts = [inside.sub("", t) for t in texts]
        return cls(sorted({c for t in texts for c in t}), symbols=symbols)

    @property
    def vocab_size(self) -> int:
        return len(_SPECIALS) + len(self.tokens)

    def pieces(self, text: str) -> list[str]:
        return self._split.findall(text) if self.symbols else list(text)

    def encode(self, text: str) -> list[int]:
        return [self._index.get(c, UNK) for c in self.pieces(text)]

    def decode(self, ids: Iterable[int]) -> str:
        offset = len(_SPECIALS)
        return "".join("\ufffd" if i < offset else self.tokens[i - offset] for i in _until_eos(ids))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "char", "chars": list(self.chars)}
        if self.symbols:  # a vocabulary without symbols serialises as before
            out["symbols"] = list(self.symbols)
        return out


def _spm() -> Any:
    try:
        import sentencepiece
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    return sentencepiece


class SentencePieceTokenizer(Tokenizer):
    """A SentencePiece model (BPE or unigram) given as its serialised bytes.

    Args:
        model: the ``.model`` file's bytes.
        kind: ``"bpe"`` or ``"unigram"`` (recorded; the bytes decide).
    """

    def __init__(self, model: bytes, *, kind: str = "bpe") -> None:
        self.model = bytes(model)
        self.kind = kind
        self.processor = _spm().SentencePieceProcessor(model_proto=self.model)

    @classmethod
    def train(
        cls, texts: Iterable[str], *, vocab_size: int, kind: str = "bpe", symbols: Sequence[str] = ()
    ) -> SentencePieceTokenizer:
        """Train on ``texts`` (one thread, every sentence, no sampling: the same texts give the same model).

        ``vocab_size`` is an upper bound: a small corpus gets the vocabulary it supports.
        ``symbols`` become ``user_defined_symbols``: always one piece each, wherever they occur.
        """
        writer = io.BytesIO()
        extra: dict[str, Any] = {"user_defined_symbols": list(symbols)} if symbols else {}
        _spm().SentencePieceTrainer.train(
            sentence_iterator=iter(list(texts)),
            model_writer=writer,
            vocab_size=check_positive_int("vocab_size", vocab_size),
            model_type=kind,
            pad_id=PAD,
            bos_id=BOS,
            eos_id=EOS,
            unk_id=UNK,
            character_coverage=1.0,
            hard_vocab_limit=False,
            num_threads=1,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            minloglevel=2,
            **extra,
        )
        return cls(writer.getvalue(), kind=kind)

    @property
    def vocab_size(self) -> int:
        return int(self.processor.get_piece_size())

    def encode(self, text: str) -> list[int]:
        return list(self.processor.encode(text))

    def pieces(self, text: str) -> list[str]:
        return list(self.processor.encode(text, out_type=str))

    def decode(self, ids: Iterable[int]) -> str:
        return str(self.processor.decode(_until_eos(ids)))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": base64.b64encode(self.model).decode("ascii")}


def train_tokenizer(
    texts: Sequence[str], *, kind: str = "char", vocab_size: int = 1000, symbols: Sequence[str] = ()
) -> Tokenizer:
    """A tokeniser of ``kind`` (``"char"``, ``"bpe"``, ``"unigram"``) trained on ``texts`` only;
    each of ``symbols`` is one token.

    Example:
        >>> train_tokenizer(["hallo welt"], kind="char").vocab_size
        12
    """
    check_choice("tokenizer", kind, KINDS)
    if kind == "char":
        return CharTokenizer.train(texts, symbols=symbols)
    return SentencePieceTokenizer.train(texts, vocab_size=vocab_size, kind=kind, symbols=symbols)
