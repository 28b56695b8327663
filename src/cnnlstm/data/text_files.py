"""Reading parallel corpora: two aligned files (Moses style), TSV or JSONL, with every bad line reported.

Layouts under a root folder, detected in this order (``{split}`` is ``train``, ``valid``/``val``/
``dev``, ``test``):

- two aligned files ``{split}.{src}`` and ``{split}.{tgt}`` (``train.en`` / ``train.de``), line
  ``i`` of one the translation of line ``i`` of the other;
- ``{split}.tsv``: ``source<TAB>target`` per line;
- ``{split}.jsonl``: one object per line with ``"source"`` and ``"target"`` (or the two
  language codes as keys).

A line that cannot be used is skipped and reported as ``{"file", "line", "reason"}`` (an empty
side, undecodable bytes, a TSV line without exactly one tab, JSON that does not parse); both
sides of an aligned pair go together, so nothing is ever misaligned. Two aligned files of
different line counts are refused: no line can be trusted to match its partner.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "train.tsv").write_text("one\\teins\\n\\tzwei\\n")
    >>> corpus = read_split(root, "train")
    >>> [(p.source, p.target) for p in corpus.pairs], corpus.skipped[0]["line"]
    ([('one', 'eins')], 2)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnlstm._validation import InputError

__all__ = ["Corpus", "Pair", "detect_layout", "read_split", "read_lines"]

SPLIT_NAMES = {"train": ("train",), "val": ("valid", "val", "dev"), "test": ("test",)}


@dataclass(frozen=True)
class Pair:
    """One sentence pair and where it came from (``"train.en:12"``)."""

    source: str
    target: str
    origin: str = ""


@dataclass
class Corpus:
    """The usable pairs of one split and every skipped line."""

    pairs: list[Pair] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def read_lines(path: Path) -> tuple[list[str | None], list[dict[str, Any]]]:
    """The lines of ``path`` without line ends; a line that is not UTF-8 is ``None`` and reported."""
    data = path.read_bytes()
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()  # the final newline ends the last line; it does not start another
    lines: list[str | None] = []
    bad: list[dict[str, Any]] = []
    for number, chunk in enumerate(raw, start=1):
        try:
            lines.append(chunk.decode("utf-8").removesuffix("\r").removeprefix("\ufeff"))
        except UnicodeDecodeError as err:
            lines.append(None)
            bad.append(
                {"file": str(path), "line": number, "reason": f"not UTF-8 ({err.reason} at byte {err.start})"}
            )
    return lines, bad


def _skip(path: Path, line: int, reason: str) -> dict[str, Any]:
    return {"file": str(path), "line": line, "reason": reason}


def _languages(root: Path) -> tuple[str, str] | None:
    """``(src, tgt)`` from the suffixes of ``train.*`` files other than .tsv / .jsonl."""
    suffixes = sorted(
        p.suffix[1:]
        for p in root.glob("train.*")
        if p.is_file() and p.suffix not in (".tsv", ".jsonl", ".json")
    )
    return (suffixes[0], suffixes[1]) if len(suffixes) == 2 else None


def detect_layout(
    root: Path, source_lang: str | None = None, target_lang: str | None = None
) -> dict[str, Any]:
    """``{"format": "aligned"|"tsv"|"jsonl", "source_lang", "target_lang"}`` of a corpus folder.

    Aligned files need the two language suffixes: given, or the only two ``train.*`` suffixes
    (then sorted alphabetically unless ``source_lang``/``target_lang`` say otherwise).
    """
    if not root.is_dir():
        raise InputError(f"{str(root)!r} is not a folder of parallel text files", field="root")
    if source_lang and target_lang and (root / f"train.{source_lang}").is_file():
        return {"format": "aligned", "source_lang": source_lang, "target_lang": target_lang}
    for fmt in ("tsv", "jsonl"):
        if (root / f"train.{fmt}").is_file():
            return {"format": fmt, "source_lang": source_lang, "target_lang": target_lang}
    langs = _languages(root)
    if langs is not None:
        src, tgt = langs
        if source_lang in langs:
            src, tgt = source_lang, (langs[1] if source_lang == langs[0] else langs[0])
        elif target_lang in langs:
            tgt, src = target_lang, (langs[1] if target_lang == langs[0] else langs[0])
        return {"format": "aligned", "source_lang": src, "target_lang": tgt}
    found = sorted(p.name for p in root.iterdir())[:10]
    raise InputError(
        f"no parallel corpus under {str(root)!r} (found {found}); give train.SRC + train.TGT (e.g. "
        'train.en and train.de), train.tsv (source<TAB>target) or train.jsonl ({"source", "target"})',
        field="root",
    )


def _split_file(root: Path, split: str, suffix: str) -> Path | None:
    for name in SPLIT_NAMES[split]:
        if (root / f"{name}.{suffix}").is_file():
            return root / f"{name}.{suffix}"
    return None


def _read_aligned(src: Path, tgt: Path) -> Corpus:
    corpus = Corpus(files=[str(src), str(tgt)])
    src_lines, bad_src = _read_checked(src)
    tgt_lines, bad_tgt = _read_checked(tgt)
    if len(src_lines) != len(tgt_lines):
        raise InputError(
            f"{str(src)!r} has {len(src_lines)} lines but {str(tgt)!r} has {len(tgt_lines)}; aligned files "
            "must have one line per sentence on both sides (find the extra or missing line and fix it)",
            field="root",
        )
    corpus.skipped += bad_src + bad_tgt
    for number, (s, t) in enumerate(zip(src_lines, tgt_lines, strict=True), start=1):
        if s is None or t is None:
            continue  # reported by read_lines
        if not s.strip() or not t.strip():
            side = src if not s.strip() else tgt
            corpus.skipped.append(_skip(side, number, "empty line (its pair is skipped too)"))
            continue
        corpus.pairs.append(Pair(s.strip(), t.strip(), f"{src.name}:{number}"))
    return corpus


def _read_checked(path: Path) -> tuple[list[str | None], list[dict[str, Any]]]:
    try:
        return read_lines(path)
    except OSError as err:
        raise InputError(f"cannot read {str(path)!r}: {err.strerror}", field="root") from None


def _read_tsv(path: Path) -> Corpus:
    corpus = Corpus(files=[str(path)])
    lines, corpus.skipped = _read_checked(path)
    for number, line in enumerate(lines, start=1):
        if line is None:
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            corpus.skipped.append(_skip(path, number, f"{len(parts) - 1} tabs; expected source<TAB>target"))
        elif not parts[0].strip() or not parts[1].strip():
            corpus.skipped.append(_skip(path, number, "empty source or target"))
        else:
            corpus.pairs.append(Pair(parts[0].strip(), parts[1].strip(), f"{path.name}:{number}"))
    return corpus


def _read_jsonl(path: Path, keys: tuple[str, str]) -> Corpus:
    corpus = Corpus(files=[str(path)])
    lines, corpus.skipped = _read_checked(path)
    for number, line in enumerate(lines, start=1):
        if line is None or not line.strip():
            if line is not None:
                corpus.skipped.append(_skip(path, number, "empty line"))
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            corpus.skipped.append(_skip(path, number, f"not JSON ({err.msg})"))
            continue
        pair = _jsonl_pair(item, keys)
        if isinstance(pair, str):
            corpus.skipped.append(_skip(path, number, pair))
        else:
            corpus.pairs.append(Pair(pair[0], pair[1], f"{path.name}:{number}"))
    return corpus


def _jsonl_pair(item: Any, keys: tuple[str, str]) -> tuple[str, str] | str:
    """The stripped ``(source, target)`` of a JSONL object, or why it cannot be used."""
    if not isinstance(item, dict):
        return "not a JSON object"
    for src_key, tgt_key in (("source", "target"), keys):
        s, t = item.get(src_key), item.get(tgt_key)
        if isinstance(s, str) and isinstance(t, str):
            if not s.strip() or not t.strip():
                return "empty source or target"
            return s.strip(), t.strip()
    return f"no string fields 'source' and 'target' (or {keys[0]!r} and {keys[1]!r})"


def read_split(root: Path, split: str, layout: dict[str, Any] | None = None) -> Corpus:
    """The pairs of ``split`` (``"train"``, ``"val"``, ``"test"``) under ``root``; an empty Corpus
    (no files) when the split has no file."""
    layout = layout or detect_layout(root)
    fmt = layout["format"]
    if fmt == "aligned":
        src = _split_file(root, split, layout["source_lang"])
        tgt = _split_file(root, split, layout["target_lang"])
        if src is None and tgt is None:
            return Corpus()
        if src is None or tgt is None:
            have = src or tgt
            raise InputError(
                f"{str(have)!r} has no partner file ({layout['source_lang']} / {layout['target_lang']}); "
                "aligned corpora need both sides of every split",
                field="root",
            )
        return _read_aligned(src, tgt)
    path = _split_file(root, split, fmt)
    if path is None:
        return Corpus()
    if fmt == "tsv":
        return _read_tsv(path)
    return _read_jsonl(path, (str(layout.get("source_lang")), str(layout.get("target_lang"))))
