"""Placeholder protection: ``%(name)s``, ``{0}``, ``%d`` and HTML tags become reserved tokens before
tokenisation and come back from the source after decoding.

A software string's placeholders must reach the translation unchanged, but a subword model sees
``%(count)s`` as five pieces it may reorder, translate or drop. :class:`PlaceholderMasker`
replaces the ``i``-th placeholder of a source by the reserved token ``⟦i⟧`` (``i`` in source
order, at most ``slots`` per sentence), and each placeholder of the target by the token of the
same string in its source (first unused occurrence first, so a target that reorders its
placeholders maps to the right indices). The tokeniser keeps each ``⟦i⟧`` as one token
(SentencePiece ``user_defined_symbols``, a character vocabulary's multi-character symbols); the
model learns where they go, and :meth:`PlaceholderMasker.restore` puts the source's strings back
by index. A mark the model writes for an index its source does not have is removed, not filled
with anything made up, and reported with the source placeholders the output lost
(:class:`Restored`).

Target placeholders absent from their source, and placeholders beyond ``slots``, stay text.
Text holding a reserved mark itself is masked like a placeholder, so masking then restoring any
text gives it back unchanged.

Example:
    >>> masker = PlaceholderMasker(slots=2)
    >>> source = masker.mask_source("Delete %(name)s from {0}?")
    >>> source.text, source.originals
    ('Delete ⟦0⟧ from ⟦1⟧?', ('%(name)s', '{0}'))
    >>> masker.mask_target("{0}: %(name)s löschen?", source.originals)
    '⟦1⟧: ⟦0⟧ löschen?'
    >>> restored = masker.restore("⟦1⟧: ⟦0⟧ löschen?", source.originals)
    >>> restored.text, restored.dropped, restored.invented
    ('{0}: %(name)s löschen?', (), ())
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cnnlstm._validation import InputError, check_non_negative_int

__all__ = ["PLACEHOLDER", "Masked", "PlaceholderMasker", "Restored", "count_slots", "mark"]

PLACEHOLDER = re.compile(r"%\([^)\s]+\)[sdifr]|%[sdif]|\{[^{}\s]*\}|</?[a-zA-Z][^<>]*>")
"""Python ``%(name)s`` / ``%d``, format ``{0}`` / ``{name}``, and HTML tags."""

_MARK = re.compile(r"⟦(\d+)⟧")


def mark(index: int) -> str:
    """The reserved token of the ``index``-th placeholder: ``⟦index⟧``."""
    return f"⟦{index}⟧"


@dataclass(frozen=True)
class Masked:
    """A masked text and the placeholder strings its marks stand for (``originals[i]`` for ``⟦i⟧``)."""

    text: str
    originals: tuple[str, ...]


@dataclass(frozen=True)
class Restored:
    """A decoded text with its marks replaced, and what did not match its source.

    ``masked``: how many placeholders of the source were masked; ``dropped``: indices of those
    the output lacks; ``invented``: indices the output names that its source does not have
    (removed from ``text``); ``repeated``: indices written more than once (each restored).
    """

    text: str
    masked: int = 0
    dropped: tuple[int, ...] = ()
    invented: tuple[int, ...] = ()
    repeated: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.dropped or self.invented or self.repeated)


class PlaceholderMasker:
    """Mask placeholders as ``⟦0⟧ … ⟦slots-1⟧`` and restore them by index.

    Args:
        slots: reserved tokens, the most placeholders masked per sentence (0: masking is off
            and every method returns its text unchanged).
        pattern: the regular expression of a placeholder (default :data:`PLACEHOLDER`).
    """

    def __init__(self, *, slots: int, pattern: str = PLACEHOLDER.pattern) -> None:
        self.slots = check_non_negative_int("max_placeholders", slots)
        try:
            self.pattern = re.compile(pattern)
        except re.error as err:
            raise InputError(f"placeholder pattern {pattern!r} is not a regular expression: {err}") from err
        # the reserved marks themselves count as placeholders: text holding one round-trips too
        self._find = re.compile(f"{_MARK.pattern}|{pattern}")

    @property
    def symbols(self) -> list[str]:
        """The reserved tokens, for the tokeniser: ``["⟦0⟧", "⟦1⟧", ...]``."""
        return [mark(i) for i in range(self.slots)]

    def mask_source(self, text: str) -> Masked:
        """The first ``slots`` placeholders of ``text`` replaced by ``⟦0⟧, ⟦1⟧, …`` in order."""
        originals: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if len(originals) >= self.slots:
                return match.group(0)
            originals.append(match.group(0))
            return mark(len(originals) - 1)

        return Masked(self._find.sub(replace, text), tuple(originals))

    def mask_target(self, text: str, originals: Iterable[str]) -> str:
        """Each placeholder of ``text`` that is one of its source's ``originals`` replaced by that
        one's mark (repeated strings: the first unused occurrence); the others stay text."""
        unused = list(enumerate(originals))

        def replace(match: re.Match[str]) -> str:
            for k, (index, original) in enumerate(unused):
                if original == match.group(0):
                    del unused[k]
                    return mark(index)
            return match.group(0)

        return self._find.sub(replace, text) if unused else text

    def restore(self, text: str, originals: Iterable[str]) -> Restored:
        """``text`` with each ``⟦i⟧`` (``i < slots``) replaced by ``originals[i]``; marks of indices
        the source lacks are removed and reported, as are source placeholders the text lacks."""
        originals = tuple(originals)
        if not self.slots or not _MARK.search(text) and not originals:
            return Restored(text)
        seen: dict[int, int] = {}
        invented: list[int] = []

        def replace(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index >= self.slots:
                return match.group(0)  # not one of ours: text the model copied
            if index >= len(originals):
                invented.append(index)
                return ""
            seen[index] = seen.get(index, 0) + 1
            return originals[index]

        restored = _MARK.sub(replace, text)
        if invented:
            restored = re.sub(r" {2,}", " ", restored).strip()  # no double space where one was removed
        dropped = tuple(i for i in range(len(originals)) if i not in seen)
        repeated = tuple(sorted(i for i, n in seen.items() if n > 1))
        return Restored(restored, len(originals), dropped, tuple(invented), repeated)

    def to_json(self) -> dict[str, Any]:
        """The rule as stored with a checkpoint and an export: ``{"slots", "pattern", "mark"}``."""
        return {"slots": self.slots, "pattern": self.pattern.pattern, "mark": mark(0).replace("0", "{}")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlaceholderMasker:
        return cls(slots=int(data["slots"]), pattern=str(data["pattern"]))


def count_slots(texts: Iterable[str], pattern: str = PLACEHOLDER.pattern) -> int:
    """The most placeholders (or reserved marks) any one of ``texts`` holds.

    Example:
        >>> count_slots(["%s of %s", "{0}", "plain"])
        2
    """
    find = re.compile(f"{_MARK.pattern}|{pattern}")
    return max((len(find.findall(t)) for t in texts), default=0)
