"""Translation data made offline: numbers written out by ``num2words``, and software strings from gettext catalogues.

**Numbers.** Each number has exactly one correct translation (German units before tens, French
base 20, ...), so exact match is a fair metric. :func:`magnitude_split` draws distinct numbers
below ``10 ** max_exponent`` (every digit count equally often) for train / val / test, and a
``beyond`` set one magnitude higher to test length generalisation. Everything depends only on
the seed.

**Software strings.** :func:`build_software_corpus` collects the human translations that
installed packages ship as compiled gettext catalogues (``locale/<lang>/LC_MESSAGES/*.mo``: Django,
Sphinx, ...) and, when Babel is installed, the CLDR display names of languages, territories,
scripts and currencies; de-duplicates by source string, splits by source string, and writes the
two-file layout plus ``sources.json`` (each source's package, licence and count). The corpus is
built from what is installed and never stored in the repository.

Example:
    >>> [(p.source, p.target) for p in number_pairs([21], target_lang="de")]
    [('twenty-one', 'einundzwanzig')]
    >>> split = magnitude_split(max_exponent=3, sizes={"train": 50, "test": 10}, seed=0)
    >>> len(split["train"]), len(split["test"]), max(split["beyond"]) < 10_000 <= 10 * min(split["beyond"])
    (50, 10, True)
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cnnlstm._validation import InputError, check_choice, check_non_negative_int, check_positive_int
from cnnlstm.data.text import ParallelTextDataModule
from cnnlstm.data.text_files import Corpus, Pair

__all__ = ["NumbersDataModule", "build_software_corpus", "magnitude_split", "number_pairs", "read_mo"]

FORMS = ("cardinal", "ordinal", "year", "currency")
_INSTALL_HINT = 'the numbers task needs num2words: pip install "cnnlstm[text]"'


def _num2words() -> Any:
    try:
        from num2words import num2words  # type: ignore[import-untyped]
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    return num2words


def _write(n: int, lang: str, form: str) -> str:
    """``n`` in words; ``currency`` reads ``n`` as cents of a euro amount."""
    num2words = _num2words()
    if form == "currency":
        return str(num2words(n, lang=lang, to="currency", currency="EUR"))
    return str(num2words(n, lang=lang, to=form))


def number_pairs(
    numbers: Iterable[int],
    *,
    source_lang: str = "en",
    target_lang: str = "de",
    form: str | Sequence[str] = "cardinal",
    seed: int = 0,
) -> list[Pair]:
    """``Pair(source words, target words)`` per number; with several forms each number gets one (seeded).

    ``year`` applies to numbers below 10,000; larger ones take another of the given forms.
    """
    forms = [form] if isinstance(form, str) else list(form)
    for f in forms:
        check_choice("form", f, FORMS)
    for lang in (source_lang, target_lang):
        for f in forms:
            try:
                _write(21, lang, f)
            except (NotImplementedError, KeyError, AttributeError) as err:
                raise InputError(
                    f"num2words cannot write form {f!r} in language {lang!r} ({err})", field="form"
                ) from None
    rng = random.Random(seed)
    pairs = []
    for n in numbers:
        usable = [f for f in forms if f != "year" or n < 10_000] or ["cardinal"]
        f = usable[rng.randrange(len(usable))]
        pairs.append(Pair(_write(n, source_lang, f), _write(n, target_lang, f), f"{f}:{n}"))
    return pairs


def magnitude_split(
    *, max_exponent: int, sizes: Mapping[str, int], seed: int = 0, beyond_size: int | None = None
) -> dict[str, list[int]]:
    """Distinct numbers below ``10 ** max_exponent`` per split, plus ``"beyond"``: numbers with one digit more.

    Each number's digit count is uniform over ``1..max_exponent``, then the number uniform among
    those digits; no number is in two splits. ``beyond_size`` defaults to the test size.
    """
    check_positive_int("max_exponent", max_exponent)
    rng = random.Random(seed)
    wanted = sum(check_non_negative_int(f"sizes[{k!r}]", v) for k, v in sizes.items())
    if wanted > 0.5 * 10**max_exponent:
        raise InputError(
            f"{wanted} distinct numbers asked for below 10**{max_exponent}; lower the sizes or raise max_exponent",
            field="max_exponent",
        )
    seen: set[int] = set()
    out: dict[str, list[int]] = {}
    for split, size in sizes.items():
        numbers: list[int] = []
        while len(numbers) < size:
            digits = rng.randint(1, max_exponent)
            n = rng.randrange(0 if digits == 1 else 10 ** (digits - 1), 10**digits)
            if n not in seen:
                seen.add(n)
                numbers.append(n)
        out[split] = numbers
    beyond = beyond_size if beyond_size is not None else sizes.get("test", 100)
    low, high = 10**max_exponent, 10 ** (max_exponent + 1)
    out["beyond"] = [rng.randrange(low, high) for _ in range(beyond)]
    return out


class NumbersDataModule(ParallelTextDataModule):
    """The num2words translation task: English (or another language's) number words to another language's.

    Args:
        source_lang, target_lang: num2words language codes (``en``, ``de``, ``fr``, ``ru``, ``ja`` ...).
        forms: any of ``cardinal``, ``ordinal``, ``year``, ``currency``.
        max_exponent: training, validation and test numbers lie below ``10 ** max_exponent``.
        train_size, val_size, test_size: distinct numbers per split.
        test_split: ``"same"`` (held-out numbers of the training magnitudes) or ``"beyond"``
            (numbers with one digit more than any seen in training).
        **kwargs: see :class:`~cnnlstm.data.text.ParallelTextDataModule` (``tokenizer``,
            ``batch_size``, ``seed`` ...); ``seed`` also fixes the numbers.

    Example:
        >>> dm = NumbersDataModule(train_size=40, val_size=8, test_size=8, max_exponent=3)
        >>> dm.num_classes > 20, len(dm.make_dataset("train"))
        (True, 40)
    """

    def __init__(
        self,
        *,
        source_lang: str = "en",
        target_lang: str = "de",
        forms: Sequence[str] = ("cardinal",),
        max_exponent: int = 5,
        train_size: int = 20_000,
        val_size: int = 500,
        test_size: int = 1000,
        test_split: str = "same",
        **kwargs: Any,
    ) -> None:
        super().__init__(source_lang=source_lang, target_lang=target_lang, **kwargs)
        self.forms = [check_choice("forms", f, FORMS) for f in forms]
        self.max_exponent = check_positive_int("max_exponent", max_exponent)
        self.sizes = {
            "train": check_positive_int("train_size", train_size),
            "val": check_positive_int("val_size", val_size),
            "test": check_positive_int("test_size", test_size),
        }
        self.test_split = check_choice("test_split", test_split, ("same", "beyond"))

    def read_corpora(self) -> dict[str, Corpus]:
        split = magnitude_split(max_exponent=self.max_exponent, sizes=self.sizes, seed=self.seed)
        if self.test_split == "beyond":
            split["test"] = split["beyond"]
        self.layout = {"format": "generated", "generator": "num2words", "forms": self.forms}
        langs = {"source_lang": str(self.source_lang), "target_lang": str(self.target_lang)}
        return {
            name: Corpus(pairs=number_pairs(split[name], form=self.forms, seed=self.seed + i, **langs))
            for i, name in enumerate(("train", "val", "test"))
        }

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "max_exponent": self.max_exponent, "test_split": self.test_split}


# --- the software-strings corpus -------------------------------------------------------------------


def read_mo(path: Path) -> dict[str, str]:
    """``{msgid: msgstr}`` of a compiled gettext catalogue (``.mo``); plural entries give their singular.

    The header (empty ``msgid``), untranslated entries and message contexts are dropped.
    """
    data = path.read_bytes()
    if len(data) < 20:
        raise InputError(f"{str(path)!r} is not a gettext .mo file (too short)")
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">" if magic == 0xDE120495 else None
    if order is None:
        raise InputError(f"{str(path)!r} is not a gettext .mo file (magic {magic:#x})")
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    out: dict[str, str] = {}
    for k in range(count):
        n_len, n_off = struct.unpack(order + "2I", data[originals + 8 * k : originals + 8 * k + 8])
        t_len, t_off = struct.unpack(order + "2I", data[translations + 8 * k : translations + 8 * k + 8])
        try:
            msgid = data[n_off : n_off + n_len].decode("utf-8")
            msgstr = data[t_off : t_off + t_len].decode("utf-8")
        except UnicodeDecodeError:
            continue
        msgid = msgid.split("\x04")[-1].split("\x00")[0]  # drop the context; the singular form
        msgstr = msgstr.split("\x00")[0]
        if msgid and msgstr:
            out[msgid] = msgstr
    return out


def _distributions() -> list[tuple[Path, set[str], str, str]]:
    """``(base folder, top-level names, name, licence)`` of every installed distribution."""
    from importlib import metadata

    out = []
    for dist in metadata.distributions():
        top = {Path(str(f)).parts[0] for f in dist.files or [] if Path(str(f)).parts}
        meta = dist.metadata
        info = meta.json
        licence = _licence(info)
        out.append(
            (
                Path(str(dist.locate_file(""))),
                top,
                str(info.get("name", "unknown")),
                str(licence).splitlines()[0],
            )
        )
    return out


def _licence(info: dict[str, Any]) -> str:
    """A distribution's licence: its SPDX expression, else its trove classifiers, else its licence text."""
    if info.get("license_expression"):
        return str(info["license_expression"])
    classifiers = [c.split(" :: ")[-1] for c in info.get("classifier", []) if c.startswith("License ::")]
    if classifiers:
        return "; ".join(classifiers)
    return str(info.get("license") or "unknown")


def _distribution_of(path: Path, installed: list[tuple[Path, set[str], str, str]]) -> tuple[str, str]:
    """``(distribution name, licence)`` owning a file under site-packages, or ``("unknown", "unknown")``."""
    for base, top, name, licence in installed:
        try:
            rel = path.relative_to(base)
        except ValueError:
            continue
        if rel.parts and rel.parts[0] in top:
            return name, licence
    return "unknown", "unknown"


def locale_folders(lang: str) -> tuple[str, ...]:
    """Locale folder names that hold ``lang``'s catalogues: the language and its default region.

    Packages name the same language ``de`` (Django, Wagtail) or ``de_DE`` (JupyterLab's language
    packs, Sphinx); other regions (``de_AT``, ``pt_BR``) are other variants and are not included.
    The default region comes from CLDR's likely subtags when Babel is installed, else the language
    code in capitals. A code that already names a region is taken as it is.

    >>> locale_folders("de")
    ('de', 'de_DE')
    >>> locale_folders("pt_BR")
    ('pt_BR',)
    """
    if "_" in lang or "-" in lang:
        return (lang.replace("-", "_"),)
    region = lang.upper()
    try:
        from babel.core import get_global

        likely = str(get_global("likely_subtags").get(lang, ""))
        region = likely.split("_")[-1] if likely.count("_") >= 1 else region
    except ImportError:
        pass
    return (lang, f"{lang}_{region}")


def _catalogues(target_lang: str, search: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for base in search:
        if base.is_dir():
            for folder in locale_folders(target_lang):
                found += sorted(base.glob(f"**/locale/{folder}/LC_MESSAGES/*.mo"))
    return sorted(set(found))


def _cldr_names(source_lang: str, target_lang: str) -> tuple[list[tuple[str, str]], str | None]:
    try:
        import babel
    except ImportError:
        return [], None
    src, tgt = babel.Locale.parse(source_lang), babel.Locale.parse(target_lang)
    pairs = []
    for attr in ("languages", "territories", "scripts", "currencies"):
        a, b = getattr(src, attr), getattr(tgt, attr)
        pairs += [(a[k], b[k]) for k in sorted(a) if k in b]
    return pairs, f"babel {babel.__version__} (CLDR data, Unicode licence; Babel BSD-3-Clause)"


def _bucket(source: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{source}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _collect(
    paths: Sequence[Path], source_lang: str, target_lang: str, *, cldr: bool
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``({source: first translation}, per-source report)`` from the catalogues under ``paths`` (and CLDR)."""
    pairs: dict[str, str] = {}
    sources: list[dict[str, Any]] = []
    installed: list[tuple[Path, set[str], str, str]] | None = (
        None  # read once, when a package's file shows up
    )
    for mo in _catalogues(target_lang, paths):
        try:
            entries = read_mo(mo)
        except InputError:
            continue
        added = 0
        for msgid, msgstr in entries.items():
            s, t = " ".join(msgid.split()), " ".join(msgstr.split())
            if s and t and s not in pairs:
                pairs[s] = t
                added += 1
        if installed is None and "site-packages" in mo.parts:
            installed = _distributions()
        package, licence = _distribution_of(mo, installed or [])
        sources.append(
            {"file": str(mo), "package": package, "licence": licence, "entries": len(entries), "added": added}
        )
    if cldr:
        names, origin = _cldr_names(source_lang, target_lang)
        added = 0
        for s, t in names:
            if s not in pairs:
                pairs[s] = t
                added += 1
        if origin:
            sources.append(
                {
                    "file": "babel CLDR display names",
                    "package": "babel",
                    "licence": origin,
                    "entries": len(names),
                    "added": added,
                }
            )
    return pairs, sources


def build_software_corpus(
    output: str | Path,
    *,
    source_lang: str = "en",
    target_lang: str = "de",
    search: Sequence[str | Path] | None = None,
    cldr: bool = True,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> dict[str, Any]:
    """Write ``{train,valid,test}.{source_lang,target_lang}`` and ``sources.json`` under ``output``.

    gettext catalogues translate from English message ids, so ``source_lang`` must be ``"en"``.
    Strings are joined onto one line (newlines become spaces); a source string keeps its first
    translation (catalogues in sorted path order); the split goes by a hash of the source string,
    so one string is never in two splits. Returns the ``sources.json`` content.
    """
    if source_lang != "en":
        raise InputError(
            "gettext catalogues translate from English; use source_lang='en'", field="source_lang"
        )
    paths = [
        Path(p) for p in (search if search is not None else [p for p in sys.path if "site-packages" in p])
    ]
    pairs, sources = _collect(paths, source_lang, target_lang, cldr=cldr)
    if not pairs:
        raise InputError(
            f"no {target_lang!r} gettext catalogues found under {[str(p) for p in paths]}; install packages "
            "that ship translations (e.g. pip install django babel)",
            field="target_lang",
        )
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "valid": [], "test": []}
    for s in sorted(pairs):
        u = _bucket(s, seed)
        split = "test" if u < test_fraction else "valid" if u < test_fraction + val_fraction else "train"
        splits[split].append((s, pairs[s]))
    for split, items in splits.items():
        (out / f"{split}.{source_lang}").write_text("".join(s + "\n" for s, _ in items), encoding="utf-8")
        (out / f"{split}.{target_lang}").write_text("".join(t + "\n" for _, t in items), encoding="utf-8")
    report = {
        "source_lang": source_lang,
        "target_lang": target_lang,
        "pairs": len(pairs),
        "splits": {k: len(v) for k, v in splits.items()},
        "seed": seed,
        "sources": sources,
    }
    (out / "sources.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cnnlstm.data.text_synth software --output DIR [--source_lang en --target_lang de]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cnnlstm.data.text_synth", description=main.__doc__)
    parser.add_argument("what", choices=["software"], help="the corpus to build")
    parser.add_argument("--output", required=True, type=Path, help="folder for train/valid/test files")
    parser.add_argument("--source_lang", default="en")
    parser.add_argument("--target_lang", default="de")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no_cldr", action="store_true", help="gettext catalogues only")
    args = parser.parse_args(argv)
    report = build_software_corpus(
        args.output,
        source_lang=args.source_lang,
        target_lang=args.target_lang,
        seed=args.seed,
        cldr=not args.no_cldr,
    )
    print(
        f"{report['pairs']} pairs {report['splits']} from {len(report['sources'])} sources -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
