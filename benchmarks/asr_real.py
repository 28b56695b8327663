"""What the spoken-digits models hear on real recorded voices: PocketSphinx's own test recordings.

Evaluation only. The ``pocketsphinx`` source distribution on the package index ships a few real
recordings with their reference text; this script fetches it once (``--cache``, the sha256 of the
index link checked), extracts only ``test/data``, and keeps the utterances whose reference text
the distribution itself gives:

* ``test/data/tidigits/dhd.2934z.raw``: a TIDIGITS-style digit string, named after its digits
  (``z`` is zero, ``o`` is "oh"); ``tidigits/tidigits.lsn`` spells out the same naming
  (``two nine three four zero (man.ah.2934za)``);
* ``test/data/goforward.raw``: "go forward ten meters" (``test/unit/test_jsgf.c``,
  ``goforward.gram``);
* ``test/data/cards/00[1-5].wav``: playing cards (``cards/cards.transcription``); mostly words
  the digits models never heard ("of", "clubs", "queen", "ten").

Utterances without a reference in the distribution (``numbers.raw``, ``something.raw``) and the
LibriVox book excerpts (no digit or command word) are listed as skipped, with the reason.

Texts are normalised as the corpus is (:func:`cnnlstm.data.speech_corpora.normalize_text`; the
generator writes digits as words). For each ``--ckpt`` (greedy decoding, via ``benchmarks/asr.py``)
and for PocketSphinx 5 with the digit/command JSGF grammar of ``benchmarks/asr.py`` (if
installed): the hypothesis of each utterance, and corpus CER/WER (jiwer) over all of them and over
the utterances whose words are all in the corpus's vocabulary. Prints a table, writes ``--out``.

Example:
    OMP_NUM_THREADS=1 python benchmarks/asr_real.py --ckpt runs/speech-digits/<time>/checkpoints/last.ckpt \\
        --out docs/results/asr_real.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asr import load, pocketsphinx_transcripts, transcribe, write_grammar  # noqa: E402

from cnnlstm.data.audio import read_audio  # noqa: E402
from cnnlstm.data.speech_corpora import normalize_text  # noqa: E402
from cnnlstm.data.speech_synth import COMMAND_WORDS, DIGIT_WORDS  # noqa: E402
from cnnlstm.tasks.speech import jiwer_scores  # noqa: E402

INDEX = "https://pypi.org/simple/pocketsphinx/"
SDIST = "pocketsphinx-5.1.1.tar.gz"
VOCABULARY = frozenset(DIGIT_WORDS + COMMAND_WORDS)
TIDIGITS_NAMES = {"z": "zero", "o": "oh", **{str(k): w for k, w in enumerate(DIGIT_WORDS)}}
SKIPPED = {
    "test/data/numbers.raw": "no reference text in the distribution",
    "test/data/something.raw": "no reference text in the distribution",
    "test/data/librivox/*.wav": "book excerpts: no digit or command word to hear",
    "test/data/tidigits/*.mfc": "cepstra, not audio",
}


@dataclass(frozen=True)
class Utterance:
    """One real recording: its path inside the distribution, the reference and where it is cited."""

    path: str
    reference: str
    source: str


def sdist_link(html: str, filename: str) -> tuple[str, str]:
    """The URL and sha256 of ``filename`` in a PEP 503 simple-index page.

    Example:
        >>> page = '<a href="https://f.org/p/x-1.tar.gz#sha256=ab12">x-1.tar.gz</a>'
        >>> sdist_link(page, "x-1.tar.gz")
        ('https://f.org/p/x-1.tar.gz', 'ab12')
    """
    for href in re.findall(r'href="([^"]+)"', html):
        url, _, fragment = href.partition("#")
        if url.rsplit("/", 1)[-1] == filename and fragment.startswith("sha256="):
            return url, fragment.removeprefix("sha256=")
    raise ValueError(f"{filename!r} with a sha256 is not linked from the index page")


def parse_transcription(text: str) -> dict[str, str]:
    """Sphinx transcription lines (``<s> words </s> (id)`` or ``words (id)``) as ``{id: words}``.

    Example:
        >>> parse_transcription("<s> ten of clubs  </s> (001)\\nthree oh (man.ah.3oa)\\n")
        {'001': 'ten of clubs', 'man.ah.3oa': 'three oh'}
    """
    out = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(.*?)\s*\(([^()]+)\)\s*", line)
        if match:
            words = [w for w in match.group(1).split() if w not in ("<s>", "</s>")]
            out[match.group(2)] = " ".join(words)
    return out


def tidigits_reference(name: str) -> str:
    """The words of a TIDIGITS-style file name (``dhd.2934z.raw``: digits, ``z`` zero, ``o`` oh).

    Example:
        >>> tidigits_reference("dhd.2934z.raw"), tidigits_reference("man.ah.35oa")
        ('two nine three four zero', 'three five oh')
    """
    digits = name.split(".")[-2] if name.endswith(".raw") else name.split(".")[-1]
    return " ".join(TIDIGITS_NAMES[c] for c in digits if c in TIDIGITS_NAMES)


def read_raw_pcm(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """Headerless 16-bit little-endian mono PCM as float32 in [-1, 1], shape ``(N,)``.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "a.raw"
        >>> _ = path.write_bytes(np.array([0, 16384, -32768], "<i2").tobytes())
        >>> read_raw_pcm(path).tolist()
        [0.0, 0.5, -1.0]
    """
    audio, _ = soundfile.read(
        path,
        samplerate=sample_rate,
        channels=1,
        format="RAW",
        subtype="PCM_16",
        endian="LITTLE",
        dtype="float32",
    )
    return np.asarray(audio, dtype=np.float32)


def real_utterances(data: Path) -> list[Utterance]:
    """The recordings of ``test/data`` (under ``data``) whose reference the distribution gives."""
    lsn = parse_transcription((data / "tidigits" / "tidigits.lsn").read_text())
    # the file-name convention the dhd.2934z.raw reference relies on, checked on every listed name
    for name, words in lsn.items():
        if tidigits_reference(name) != words:
            raise SystemExit(f"tidigits.lsn: {name!r} is {words!r}, not what its name spells; not using it")
    out = [
        Utterance(
            "tidigits/dhd.2934z.raw", tidigits_reference("dhd.2934z.raw"), "file name, as tidigits.lsn"
        ),
        Utterance("goforward.raw", "go forward ten meters", "goforward.gram, test/unit/test_jsgf.c"),
    ]
    cards = parse_transcription((data / "cards" / "cards.transcription").read_text())
    out += [Utterance(f"cards/{k}.wav", v, "cards/cards.transcription") for k, v in sorted(cards.items())]
    return [Utterance(u.path, normalize_text(u.reference), u.source) for u in out]


def read_utterance(data: Path, utterance: Utterance) -> np.ndarray:
    path = data / utterance.path
    return read_raw_pcm(path) if path.suffix == ".raw" else read_audio(path, sample_rate=16000)


def fetch_test_data(cache: Path) -> Path:
    """``test/data`` of the pocketsphinx sdist, downloaded (sha256 checked) and extracted once."""
    root = cache / SDIST.removesuffix(".tar.gz")
    data = root / "test" / "data"
    if (data / "cards" / "cards.transcription").is_file():
        return data
    archive = cache / SDIST
    if not archive.is_file():
        with urllib.request.urlopen(INDEX, timeout=60) as page:
            url, sha256 = sdist_link(page.read().decode(), SDIST)
        with urllib.request.urlopen(url, timeout=300) as response:
            blob = response.read()
        if hashlib.sha256(blob).hexdigest() != sha256:
            raise SystemExit(f"{url}: sha256 differs from the index's {sha256}; not using it")
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache, delete=False) as tmp:
            tmp.write(blob)
        Path(tmp.name).replace(archive)
    prefix = f"{root.name}/test/data/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()]
        tar.extractall(cache, members=members, filter="data")
    return data


def in_vocabulary(text: str) -> bool:
    return all(word in VOCABULARY for word in text.split())


def scores(refs: list[str], hyps: list[str]) -> dict[str, Any]:
    keep = [k for k, r in enumerate(refs) if in_vocabulary(r)]
    return {
        "all": jiwer_scores(refs, hyps),
        "in_vocabulary": jiwer_scores([refs[k] for k in keep], [hyps[k] for k in keep]),
    }


def means(systems: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per model with several checkpoints (seeds): the mean of their CER/WER, all and in-vocabulary."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for system in systems:
        if "model" in system:
            by_model.setdefault(system["model"], []).append(system["scores"])
    return {
        f"{model}: mean of {len(runs)}": {
            f"{part}_{metric}": float(np.mean([r[part][metric] for r in runs]))
            for part in ("all", "in_vocabulary")
            for metric in ("cer", "wer")
        }
        for model, runs in by_model.items()
        if len(runs) > 1
    }


def print_table(results: dict[str, Any]) -> None:
    systems = results["systems"]
    print(f"{'utterance':26} {'reference':42} " + " | ".join(s["label"] for s in systems))
    for k, utterance in enumerate(results["utterances"]):
        hyps = " | ".join(repr(s["hypotheses"][k]) for s in systems)
        print(f"{utterance['path']:26} {utterance['reference']:42} {hyps}")
    print(f"\n{'system':60} {'CER':>7} {'WER':>7} {'in-vocab CER':>13} {'in-vocab WER':>13}")
    for s in systems:
        a, v = s["scores"]["all"], s["scores"]["in_vocabulary"]
        print(f"{s['label'][:60]:60} {a['cer']:7.3f} {a['wer']:7.3f} {v['cer']:13.3f} {v['wer']:13.3f}")
    for name, m in results["means"].items():
        print(
            f"{name[:60]:60} {m['all_cer']:7.3f} {m['all_wer']:7.3f} "
            f"{m['in_vocabulary_cer']:13.3f} {m['in_vocabulary_wer']:13.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, action="append", default=[], help="a speech checkpoint")
    parser.add_argument("--label", action="append", default=[], help="a name per --ckpt (optional)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cnnlstm" / "pocketsphinx")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("asr_real.json"))
    args = parser.parse_args(argv)
    if args.label and len(args.label) != len(args.ckpt):
        parser.error("give one --label per --ckpt, or none")
    torch.set_num_threads(args.threads)
    data = fetch_test_data(args.cache)
    utterances = real_utterances(data)
    waves = [read_utterance(data, u) for u in utterances]
    refs = [u.reference for u in utterances]
    systems: list[dict[str, Any]] = []
    for k, ckpt in enumerate(args.ckpt):
        model, hp, prep = load(ckpt)
        if prep["sample_rate"] != 16000:
            raise SystemExit(f"{ckpt}: expects {prep['sample_rate']} Hz audio; the recordings are 16 kHz")
        hyps = [normalize_text(h) for h in transcribe(model, prep, waves, 1)]
        label = args.label[k] if args.label else f"{hp['name']} ({ckpt.name})"
        systems.append({"label": label, "model": hp["name"], "checkpoint": str(ckpt), "hypotheses": hyps})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    peer = pocketsphinx_transcripts(waves, write_grammar(args.out.with_suffix(".gram")))
    if peer is not None:
        systems.append({"label": "PocketSphinx 5, en-us, digit/command JSGF", "hypotheses": peer[0]})
    for system in systems:
        system["scores"] = scores(refs, system["hypotheses"])
    results_means = means(systems)
    results = {
        "settings": {"sdist": SDIST, "index": INDEX, "threads": args.threads, "torch": torch.__version__},
        "utterances": [
            {**asdict(u), "seconds": round(len(w) / 16000, 2), "in_vocabulary": in_vocabulary(u.reference)}
            for u, w in zip(utterances, waves, strict=True)
        ],
        "skipped": SKIPPED,
        "systems": systems,
        "means": results_means,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
