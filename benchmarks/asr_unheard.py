"""What the spoken-digits models do on synthesisers they never heard: CMU Flite and Festival.

Evaluation only. The ``speech-digits`` models are trained on espeak-ng voices alone (formant
synthesis). This script speaks the corpus's own texts with two other synthesisers, installed from
Debian's packages (``apt-get install flite festival festvox-kallpc16k``), never by a test or the
demo:

* CMU Flite 2 (``flite``), its five built-in English voices: ``kal`` (diphone, 8 kHz: telephone
  band), ``kal16`` (diphone, 16 kHz), ``awb``, ``rms`` and ``slt`` (statistical parametric
  "clustergen" voices, 16 kHz);
* Festival 2.5 (``text2wave``) with its ``kal_diphone`` voice (residual-excited LPC diphones).

For each utterance ``k``, ``numpy.random.default_rng([seed, 7, k])`` draws the same kind of settings
as the corpus generator (:func:`cnnlstm.data.speech_synth.draw_settings`: text, rate, silence, SNR);
the voice cycles through the synthesiser's voices; the espeak-ng rate in words/min becomes the
synthesiser's duration stretch (175 / rate); pitch is left at each voice's own. The speech is
resampled to the model's rate (soxr, as :func:`cnnlstm.data.audio.read_audio` does) and framed with
the same silence and white noise as the corpus (:func:`cnnlstm.data.speech_synth.surround`).

For each ``--ckpt`` (greedy decoding, through ``benchmarks/asr.py``) and for PocketSphinx 5 with the
digit/command grammar (if installed): corpus CER/WER (jiwer) per synthesiser and per voice. Prints a
table, writes ``--out`` (JSON) and the generated wav files under ``--workdir``.

Example:
    OMP_NUM_THREADS=1 python benchmarks/asr_unheard.py --ckpt runs/speech-digits/<time>/checkpoints/last.ckpt \\
        --utterances 200 --out docs/results/asr_unheard.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asr import load, pocketsphinx_transcripts, transcribe, write_grammar  # noqa: E402

from cnnlstm.data.audio import read_audio  # noqa: E402
from cnnlstm.data.speech_corpora import normalize_text  # noqa: E402
from cnnlstm.data.speech_synth import draw_settings, surround  # noqa: E402
from cnnlstm.tasks.speech import jiwer_scores  # noqa: E402

SYNTHESISERS: dict[str, tuple[str, ...]] = {
    "flite": ("kal", "kal16", "awb", "rms", "slt"),
    "festival": ("kal_diphone",),
}
ESPEAK_DEFAULT_RATE = 175  # words/min at which espeak-ng speaks with no rate given
SPLIT_ID = 7  # the corpus generator's split ids are 0-3; 7 keeps these draws apart from all of them


def duration_stretch(rate: int) -> float:
    """The Flite/Festival duration factor that matches an espeak-ng rate in words per minute.

    Example:
        >>> duration_stretch(175), round(duration_stretch(230), 3)
        (1.0, 0.761)
    """
    return ESPEAK_DEFAULT_RATE / rate


def speak(synth: str, voice: str, text: str, stretch: float, wav: Path) -> None:
    """Write ``text`` spoken by ``synth``'s ``voice`` to ``wav`` (the synthesiser's own rate)."""
    if synth == "flite":
        command = [
            "flite",
            "-voice",
            voice,
            "-t",
            text,
            "-o",
            str(wav),
            "--setf",
            f"duration_stretch={stretch:.4f}",
        ]
        subprocess.run(command, check=True, capture_output=True)
        return
    text_file = wav.with_suffix(".txt")
    text_file.write_text(text + "\n")
    command = [
        "text2wave",
        "-o",
        str(wav),
        "-eval",
        f"(voice_{voice})",
        "-eval",
        f"(Parameter.set 'Duration_Stretch {stretch:.4f})",
        str(text_file),
    ]
    subprocess.run(command, check=True, capture_output=True)


def build_set(
    synth: str, workdir: Path, count: int, seed: int, sample_rate: int
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """``count`` utterances of ``synth``: waveforms at ``sample_rate``, reference texts, voices."""
    voices = SYNTHESISERS[synth]
    folder = workdir / synth
    folder.mkdir(parents=True, exist_ok=True)
    waves, texts, used = [], [], []
    for index in range(count):
        rng = np.random.default_rng([seed, SPLIT_ID, index])
        voice = voices[index % len(voices)]
        settings = draw_settings(rng, [voice])
        raw = folder / f"{index:06d}-raw.wav"
        speak(synth, voice, settings.text, duration_stretch(settings.rate), raw)
        speech = read_audio(raw, sample_rate=sample_rate)
        waves.append(surround(speech, settings, rng, sample_rate=sample_rate))
        texts.append(normalize_text(settings.text))
        used.append(voice)
    return waves, texts, used


def score(hypotheses: list[str], references: list[str], voices: list[str]) -> dict[str, Any]:
    """Corpus CER/WER over all utterances and per voice."""
    per_voice = {
        voice: jiwer_scores(
            [r for r, v in zip(references, voices, strict=True) if v == voice],
            [h for h, v in zip(hypotheses, voices, strict=True) if v == voice],
        )
        for voice in dict.fromkeys(voices)
    }
    return {"all": jiwer_scores(references, hypotheses), "per_voice": per_voice}


def check_tools() -> None:
    missing = [tool for tool in ("flite", "text2wave") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"error: {', '.join(missing)} not found; install the synthesisers with "
            "`apt-get install flite festival festvox-kallpc16k`"
        )


def print_table(results: dict[str, Any]) -> None:
    rows = [(name, r["synthesisers"]) for name, r in results["systems"].items()]
    header = "| system | " + " | ".join(f"{s} CER / WER" for s in SYNTHESISERS) + " |"
    print(header)
    print("|---" * (len(SYNTHESISERS) + 1) + "|")
    for name, by_synth in rows:
        cells = [
            f"{100 * by_synth[s]['all']['cer']:.1f} % / {100 * by_synth[s]['all']['wer']:.1f} %"
            for s in SYNTHESISERS
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ckpt", type=Path, action="append", default=[], help="a speech checkpoint (repeatable)"
    )
    parser.add_argument("--label", action="append", default=[], help="a name for each --ckpt, in order")
    parser.add_argument("--utterances", type=int, default=200, help="utterances per synthesiser")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated audio here")
    parser.add_argument("--out", type=Path, default=Path("asr_unheard.json"))
    args = parser.parse_args(argv)
    if not args.ckpt:
        parser.error("give at least one --ckpt")
    if args.label and len(args.label) != len(args.ckpt):
        parser.error("give one --label per --ckpt, or none")
    check_tools()
    labels = args.label or [str(c) for c in args.ckpt]
    models = [load(path) for path in args.ckpt]
    sample_rate = int(models[0][2]["sample_rate"])
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="asr_unheard-"))
    sets = {
        synth: build_set(synth, workdir, args.utterances, args.seed, sample_rate) for synth in SYNTHESISERS
    }
    systems: dict[str, Any] = {}
    for label, path, (model, hp, prep) in zip(labels, args.ckpt, models, strict=True):
        by_synth = {}
        for synth, (waves, texts, voices) in sets.items():
            hypotheses = [normalize_text(h) for h in transcribe(model, prep, waves, args.batch_size)]
            by_synth[synth] = score(hypotheses, texts, voices)
        systems[label] = {"checkpoint": str(path), "model": hp["name"], "synthesisers": by_synth}
    grammar = write_grammar(workdir / "digits.gram")
    sphinx = {synth: pocketsphinx_transcripts(waves, grammar) for synth, (waves, _, _) in sets.items()}
    if all(result is not None for result in sphinx.values()):
        systems["PocketSphinx 5 + digit grammar"] = {
            "model": "pocketsphinx en-us",
            "synthesisers": {
                synth: score(result[0], sets[synth][1], sets[synth][2])
                for synth, result in sphinx.items()
                if result is not None
            },
        }
    results = {
        "data": {
            "synthesisers": {s: list(v) for s, v in SYNTHESISERS.items()},
            "utterances_per_synthesiser": args.utterances,
            "seed": args.seed,
            "settings": "corpus draw_settings (text, rate, silence, SNR); pitch left at each voice's own",
            "sample_rate": sample_rate,
        },
        "threads": torch.get_num_threads(),
        "systems": systems,
    }
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out} (audio under {workdir})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
