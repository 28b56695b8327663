"""Where speech utterances come from: manifests, LibriSpeech, Common Voice, Kaldi folders, plain audio.

:func:`find_corpus` detects the layout of ``root`` (or reads ``manifest``) and returns the
utterances of each split it finds, as :class:`Utterance` (audio path, transcript or ``None``,
duration when the source gives it). Layouts, checked in this order:

* a JSON-lines manifest (``--data.manifest FILE``, or ``train.jsonl`` / ``val.jsonl`` (or
  ``dev.jsonl``) / ``test.jsonl`` in ``root``; any other ``NAME.jsonl`` is split ``NAME``, e.g.
  ``test_heldout``), one utterance per line:
  ``{"audio_filepath": ..., "duration": ..., "text": ...}``; relative paths resolve against the
  manifest's folder;
* Common Voice: ``train.tsv`` / ``dev.tsv`` / ``test.tsv`` with ``path`` and ``sentence`` columns,
  audio under ``clips/``;
* Kaldi: ``wav.scp`` (``utt_id path``) + ``text`` (``utt_id transcript``) in ``root`` or in
  ``root/{train,dev,test}``;
* LibriSpeech: ``speaker/chapter/*.flac`` with ``speaker-chapter.trans.txt``; subfolders named
  ``train*`` / ``dev*`` / ``test*`` give the splits;
* audio files (any folder, or one file): utterances without transcripts, for ``predict``.

A layout with a single set of utterances reports it as split ``"all"``; the data module divides
it. Lines that cannot be used (a manifest line that is not JSON, a ``wav.scp`` entry that is a
command pipe, an utterance without a transcript) are returned in ``problems`` with the reason.

Text normalisation (:func:`normalize_text`) lower-cases, writes numbers as words (``"3"`` →
``"three"``, ``"21st"`` → ``"twenty-first"`` → ``"twenty first"``, with ``num2words`` in the
corpus's language), keeps letters (accented ones too) and apostrophes, turns other characters
into spaces and collapses spaces; :class:`Vocabulary` maps characters to ids with the CTC blank at
0. Numbers become words because the recogniser hears words: a ``3`` in one transcript and
``three`` in another would make two spellings of one sound, and digits a vocabulary of their own.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cnnlstm._validation import InputError

__all__ = ["BLANK", "Corpus", "Utterance", "Vocabulary", "find_corpus", "normalize_text"]

BLANK = "<blank>"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm", ".aac", ".wma", ".aiff", ".aif")
_SPLIT_NAMES = {"train": ("train",), "val": ("val", "dev", "valid", "validation"), "test": ("test",)}


_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?(?!\w)")


def _spell_numbers(text: str, language: str) -> str:
    """Numbers written as words: ``1,000`` (thousands separators), ``3.5``, ``21st``; ``0800`` and
    digits inside words (``v2``) digit by digit."""
    if not any(c.isdigit() for c in text):
        return text
    try:
        from num2words import num2words  # type: ignore[import-untyped]
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "writing numbers as words needs num2words; `pip install cnnlstm[speech]`, or numbers='keep'"
        ) from err

    def spell(match: re.Match[str]) -> str:
        whole, fraction, ordinal = match.group(1).replace(",", ""), match.group(2), match.group(3)
        if len(whole) > 1 and whole.startswith("0") and not fraction:  # 0800: read digit by digit
            return f" {digits(whole)} "
        try:
            if ordinal and not fraction:
                return f" {num2words(int(whole), to='ordinal', lang=language)} "
            value = f"{whole}.{fraction}" if fraction else int(whole)
            return f" {num2words(value, lang=language)} "
        except NotImplementedError as err:
            raise InputError(
                f"num2words cannot write numbers in language {language!r}; give data.language "
                "(a num2words code such as 'en', 'de', 'fr') or data.numbers='keep'",
                field="language",
            ) from err

    def digits(run: str) -> str:
        return " ".join(num2words(int(d), lang=language) for d in run)

    text = _NUMBER.sub(spell, text)
    return re.sub(r"\d+", lambda m: f" {digits(m.group())} ", text)  # digits inside words: v2, x1.2


def normalize_text(text: str, *, numbers: str = "words", language: str = "en") -> str:
    """Lower-case; numbers as words; letters and apostrophes kept, anything else a space; spaces collapsed.

    Args:
        text: a transcript.
        numbers: ``"words"`` (``num2words`` in ``language``) or ``"keep"`` (digits stay as characters).
        language: the transcripts' language, a ``num2words`` code (``"en"``, ``"de"``, ``"fr"`` ...).

    Example:
        >>> normalize_text("  Hello, World!  It's 42, the 3rd. ")
        "hello world it's forty two the third"
        >>> normalize_text("Café n°3", numbers="keep")
        'café n 3'
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    if numbers == "words":
        text = _spell_numbers(text, language)
    elif numbers != "keep":
        raise InputError(f"numbers must be 'words' or 'keep'; received {numbers!r}", field="numbers")
    text = re.sub(r"[^\w']+|_", " ", text)
    return " ".join(text.split())


class Vocabulary:
    """Characters ↔ ids; id 0 is the CTC blank.

    Args:
        tokens: every token, the blank first (``Vocabulary.build`` makes them from transcripts).

    Example:
        >>> vocab = Vocabulary.build(["one two", "three"])
        >>> vocab.tokens[:4], vocab.encode("one"), vocab.decode([5, 4, 2])
        (['<blank>', ' ', 'e', 'h'], [5, 4, 2], 'one')
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if not tokens or tokens[0] != BLANK or len(set(tokens)) != len(tokens):
            raise InputError(
                f"a vocabulary is {BLANK!r} followed by distinct characters; received {tokens[:8]!r}...",
                field="class_names",
            )
        self.tokens = tokens
        self._ids = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def build(cls, transcripts: Iterable[str]) -> Vocabulary:
        """The characters of the (normalised) transcripts, sorted, after the blank."""
        chars: set[str] = set()
        for text in transcripts:
            chars.update(text)
        return cls([BLANK, *sorted(chars)])

    def __len__(self) -> int:
        return len(self.tokens)

    def unknown(self, text: str) -> set[str]:
        """Characters of ``text`` the vocabulary lacks."""
        return {c for c in text if c not in self._ids or c == BLANK}

    def encode(self, text: str) -> list[int]:
        """Ids of ``text``'s characters (characters outside the vocabulary are dropped)."""
        return [self._ids[c] for c in text if c in self._ids and self._ids[c] != 0]

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of ``ids`` (blanks dropped; no CTC collapsing, see the speech task)."""
        return "".join(self.tokens[i] for i in ids if 0 < i < len(self.tokens))


@dataclass(frozen=True)
class Utterance:
    """One recording: its audio file, transcript (None when unknown) and duration in s (None: unknown)."""

    path: Path
    text: str | None
    duration: float | None = None
    uid: str = ""


@dataclass
class Corpus:
    """The utterances per split (``"train"``, ``"val"``, ``"test"`` or ``"all"``), the layout's name,
    and the entries that could not be used (``{"split", "path", "reason"}``)."""

    layout: str
    splits: dict[str, list[Utterance]]
    problems: list[dict[str, str]] = field(default_factory=list)


def _read_text(path: Path, field: str = "root") -> str:
    """A corpus text file (manifest, transcript list, tsv, wav.scp) as UTF-8 (a leading BOM is
    dropped); an InputError naming the file when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            f"{str(path)!r} is not UTF-8 text (byte {err.start} is 0x{path.read_bytes()[err.start]:02x}); "
            "save it as UTF-8",
            field=field,
        ) from err


def _split_of(name: str) -> str | None:
    lowered = name.lower()
    for split, names in _SPLIT_NAMES.items():
        if any(lowered == n or lowered.startswith(n + "-") or lowered.startswith(n + "_") for n in names):
            return split
        if any(lowered.startswith(n) for n in names):
            return split
    return None


def read_manifest(path: Path, split: str) -> tuple[list[Utterance], list[dict[str, str]]]:
    """The utterances of a JSON-lines manifest, and its unusable lines."""
    utterances, problems = [], []
    for number, line in enumerate(_read_text(path, "manifest").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
            audio = record["audio_filepath"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            reason = "not JSON" if isinstance(err, json.JSONDecodeError) else "no audio_filepath"
            problems.append({"split": split, "path": where, "reason": reason})
            continue
        audio_path = Path(audio) if Path(audio).is_absolute() else path.parent / audio
        text = record.get("text")
        duration = record.get("duration")
        utterances.append(
            Utterance(
                path=audio_path,
                text=None if text is None else str(text),
                duration=float(duration) if isinstance(duration, (int, float)) else None,
                uid=str(record.get("id", audio)),
            )
        )
    return utterances, problems


def _manifest_split(stem: str) -> str:
    """A manifest's split: ``train``, ``val`` (also ``dev``, ``valid``, ``validation``), ``test``, or its stem."""
    lowered = stem.lower()
    return next((split for split, names in _SPLIT_NAMES.items() if lowered in names), stem)


def _manifests_in(root: Path) -> dict[str, Path]:
    """``*.jsonl`` files (and ``train.json`` / ``val.json`` ...) of ``root`` by split name."""
    found: dict[str, Path] = {}
    known = {n for names in _SPLIT_NAMES.values() for n in names}
    candidates = sorted(root.glob("*.jsonl")) + sorted(
        p for p in root.glob("*.json") if p.stem.lower() in known
    )
    for candidate in candidates:
        found.setdefault(_manifest_split(candidate.stem), candidate)
    return found


def _common_voice(root: Path) -> Corpus:
    splits: dict[str, list[Utterance]] = {}
    problems: list[dict[str, str]] = []
    for split, name in (("train", "train.tsv"), ("val", "dev.tsv"), ("test", "test.tsv")):
        tsv = root / name
        if not tsv.is_file():
            continue
        rows = []
        reader = csv.DictReader(
            io.StringIO(_read_text(tsv), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
        )
        missing = {"path", "sentence"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(
                f"{str(tsv)!r} has no {' or '.join(sorted(missing))} column (its header: "
                f"{', '.join(reader.fieldnames or []) or 'none'}); a Common Voice tsv has path and sentence",
                field="root",
            )
        for number, row in enumerate(reader, start=2):
            if not row.get("path"):
                problems.append(
                    {"split": split, "path": f"{tsv}:{number}", "reason": "no path: an empty path cell"}
                )
                continue
            rows.append(Utterance(root / "clips" / row["path"], row.get("sentence"), uid=row["path"]))
        splits[split] = rows
    return Corpus("common_voice", splits, problems)


def _read_kaldi_pairs(path: Path) -> dict[str, str]:
    pairs = {}
    for line in _read_text(path).splitlines():
        parts = line.strip().split(maxsplit=1)
        if parts:
            pairs[parts[0]] = parts[1] if len(parts) > 1 else ""
    return pairs


def _kaldi_set(folder: Path, split: str, problems: list[dict[str, str]]) -> list[Utterance]:
    if (folder / "segments").is_file():
        raise InputError(
            f"{str(folder / 'segments')!r}: Kaldi segments (utterances cut from longer recordings) are not "
            "read; write one audio file per utterance and list those in wav.scp",
            field="root",
        )
    wavs = _read_kaldi_pairs(folder / "wav.scp")
    texts = _read_kaldi_pairs(folder / "text") if (folder / "text").is_file() else {}
    utterances = []
    for uid, location in wavs.items():
        if location.rstrip().endswith("|"):
            problems.append(
                {
                    "split": split,
                    "path": f"{folder / 'wav.scp'}:{uid}",
                    "reason": "a command pipe: never run; write the audio to a file and list its path",
                }
            )
            continue
        path = Path(location) if Path(location).is_absolute() else folder / location
        utterances.append(Utterance(path, texts.get(uid), uid=uid))
    for uid in sorted(set(texts) - set(wavs)):
        problems.append(
            {"split": split, "path": f"{folder / 'text'}:{uid}", "reason": "missing audio: not in wav.scp"}
        )
    return utterances


def _kaldi(root: Path) -> Corpus:
    problems: list[dict[str, str]] = []
    if (root / "wav.scp").is_file():
        return Corpus("kaldi", {"all": _kaldi_set(root, "all", problems)}, problems)
    splits: dict[str, list[Utterance]] = {}
    for child in sorted(p for p in root.iterdir() if (p / "wav.scp").is_file()):
        split = _split_of(child.name)
        if split:
            splits.setdefault(split, []).extend(_kaldi_set(child, split, problems))
    return Corpus("kaldi", splits, problems)


def _librispeech(root: Path, transcripts: list[Path]) -> Corpus:
    splits: dict[str, list[Utterance]] = {}
    problems: list[dict[str, str]] = []
    listed: set[Path] = set()
    for trans in transcripts:
        relative = trans.relative_to(root).parts
        split = next((s for part in relative[:-1] if (s := _split_of(part))), "all")
        for line in _read_text(trans).splitlines():
            parts = line.strip().split(maxsplit=1)
            if not parts:
                continue
            uid = parts[0]
            audio = next(
                (
                    trans.parent / f"{uid}{s}"
                    for s in (".flac", ".wav")
                    if (trans.parent / f"{uid}{s}").exists()
                ),
                None,
            )
            if audio is None:
                problems.append(
                    {
                        "split": split,
                        "path": str(trans.parent / f"{uid}.flac"),
                        "reason": f"missing audio: listed in {trans.name}, no .flac or .wav file",
                    }
                )
                continue
            splits.setdefault(split, []).append(Utterance(audio, parts[1] if len(parts) > 1 else "", uid=uid))
            listed.add(audio)
        for audio in sorted(p for p in trans.parent.iterdir() if p.suffix.lower() in (".flac", ".wav")):
            if audio not in listed:
                problems.append(
                    {"split": split, "path": str(audio), "reason": f"no transcript: not in {trans.name}"}
                )
    if "all" in splits and len(splits) > 1:  # utterances outside train*/dev*/test* folders
        for utterance in splits.pop("all"):
            problems.append(
                {"split": "all", "path": str(utterance.path), "reason": "outside the split folders"}
            )
    return Corpus("librispeech", splits, problems)


def _is_audio(path: Path) -> bool:
    """An audio suffix, in any case, and despite trailing spaces in the name (``"take 1.WAV "``)."""
    return path.name.rstrip().lower().endswith(AUDIO_SUFFIXES)


def _audio_files(root: Path) -> Corpus:
    """The audio files of a folder (any depth) or one file; the other files are reported, not read."""
    if root.is_file():
        return Corpus("audio_files", {"all": [Utterance(root, None, uid=root.stem)]})
    files, problems = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if _is_audio(path):
            files.append(Utterance(path, None, uid=path.stem))
        else:
            problems.append(
                {"split": "predict", "path": str(path), "reason": "not audio: an unknown suffix, not read"}
            )
    return Corpus("audio_files", {"all": files}, problems)


def _from_manifest(path: Path) -> Corpus:
    """A manifest given by name; the val/test manifests beside it join as their splits."""
    if not path.is_file():
        raise InputError(f"manifest {str(path)!r} does not exist", field="manifest")
    utterances, problems = read_manifest(path, "train")
    if _manifest_split(path.stem) != "train":  # a val/test manifest given alone: evaluate on it
        return Corpus("manifest", {"test": utterances}, problems)
    splits = {"train": utterances}
    for split, sibling in _manifests_in(path.parent).items():
        if split != "train" and sibling != path:
            splits[split], more = read_manifest(sibling, split)
            problems += more
    return Corpus("manifest", splits, problems)


def find_corpus(root: str | Path | None = None, manifest: str | Path | None = None) -> Corpus:
    """The utterances under ``root`` or in ``manifest`` (see the module's docstring for the layouts).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "train.jsonl").write_text('{"audio_filepath": "a.wav", "text": "one"}\\n')
        >>> corpus = find_corpus(folder)
        >>> corpus.layout, corpus.splits["train"][0].path == folder / "a.wav"
        ('manifest', True)
    """
    if manifest is not None:
        return _from_manifest(Path(manifest))
    if root is None:
        raise InputError("give --data.root (a folder or an audio file) or --data.manifest", field="root")
    root = Path(root)
    if not root.exists():
        raise InputError(f"{str(root)!r} does not exist", field="root")
    if root.is_file():
        if root.suffix in (".jsonl", ".json"):
            return find_corpus(manifest=root)
        return _audio_files(root)
    manifests = _manifests_in(root)
    if manifests:
        splits, problems = {}, []
        for split, path in manifests.items():
            splits[split], more = read_manifest(path, split)
            problems += more
        return Corpus("manifest", splits, problems)
    if any((root / name).is_file() for name in ("train.tsv", "dev.tsv", "test.tsv")):
        return _common_voice(root)
    if (root / "wav.scp").is_file() or any((p / "wav.scp").is_file() for p in root.iterdir() if p.is_dir()):
        return _kaldi(root)
    transcripts = sorted(root.rglob("*.trans.txt"))
    if transcripts:
        return _librispeech(root, transcripts)
    corpus = _audio_files(root)
    if not corpus.splits["all"]:
        raise InputError(
            f"no speech data under {str(root)!r}: expected JSON-lines manifests, LibriSpeech, Common Voice "
            f"or Kaldi folders, or audio files ({', '.join(AUDIO_SUFFIXES)})",
            field="root",
        )
    return corpus
