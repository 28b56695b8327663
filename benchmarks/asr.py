"""Speech recognition on the generated spoken digits: accuracy, a real-speech peer, and CPU speed.

For each checkpoint (``--ckpt``, a ``speech-digits`` / ``speech-stream`` run; or ``--train`` to
run ``cnnlstm fit`` first for each ``--seeds``), on the corpus the preset generates (``--data``,
default ``data/speech-digits``):

* accuracy: corpus CER and WER (jiwer) on ``test`` (new utterances of the training voices) and
  ``test_heldout`` (espeak-ng voices never heard in training), greedy decoding, mean over the
  checkpoints given, with each run's training time (``fit_wall_time_s`` of its summary.json);
* peer: PocketSphinx 5 (``pip install pocketsphinx``; its bundled US-English acoustic model,
  trained on real speech) constrained by a JSGF grammar of the corpus (a digit string or one
  command word), on the same test sets;
* trivial baseline: the empty transcript (WER 1, CER 1) and the most frequent training
  transcript;
* speed (``torch.set_num_threads(--threads)``): real-time factor (compute seconds per audio
  second, features included; wall-clock and the process's CPU time, which is the compute on a
  shared machine) of whole-utterance prediction at batch 1 and batched, and for a streaming
  checkpoint of :class:`cnnlstm.deploy.speech_stream.SpeechStream` fed 100 ms chunks, with the
  audio position at which the first label appears and the CPU time per chunk (median, 95th
  percentile).

Prints a table and writes ``--out`` (JSON). Run with ``OMP_NUM_THREADS=1`` for one-core figures.

Example:
    OMP_NUM_THREADS=1 python benchmarks/asr.py --ckpt runs/speech-digits/<time>/checkpoints/last.ckpt \\
        --ckpt runs/speech-stream/<time>/checkpoints/last.ckpt --out docs/results/asr.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from cnnlstm._io import safe_torch_load
from cnnlstm.data.audio import LogMel, cmvn, num_frames, read_audio
from cnnlstm.data.speech_corpora import normalize_text, read_manifest
from cnnlstm.data.speech_synth import COMMAND_WORDS, DIGIT_WORDS
from cnnlstm.deploy.speech_stream import SpeechStream
from cnnlstm.models import create_model, model_info
from cnnlstm.nn.ctc import ctc_greedy_decode
from cnnlstm.tasks.base import build_kwargs
from cnnlstm.tasks.speech import jiwer_scores

SPLITS = ("test", "test_heldout")


def load(ckpt_path: Path) -> tuple[torch.nn.Module, dict[str, Any], dict[str, Any]]:
    """The model of a checkpoint, its hyper-parameters and its data preprocessing."""
    ckpt = safe_torch_load(ckpt_path)
    hp = ckpt["hyper_parameters"]
    kwargs = build_kwargs(
        hp.get("model_kwargs"), hp["num_classes"], name=hp["name"], input_shape=hp["input_shape"]
    )
    model = create_model(hp["name"], **kwargs)
    model.load_state_dict(
        {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    )
    return model.eval(), hp, ckpt["cnnlstm"]["preprocessing"]


def features(prep: dict[str, Any], waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    mel = LogMel(
        sample_rate=prep["sample_rate"],
        n_mels=prep["n_mels"],
        win_ms=prep["win_length"] * 1000 / prep["sample_rate"],
        hop_ms=prep["hop_length"] * 1000 / prep["sample_rate"],
    )
    lengths = torch.tensor([len(w) for w in waves])
    batch = torch.zeros(len(waves), int(lengths.max()))
    for k, w in enumerate(waves):
        batch[k, : len(w)] = torch.from_numpy(w)
    x = mel(batch)
    frames = torch.clamp(num_frames(lengths, mel.hop_length), max=x.shape[1])
    if prep["normalization"] == "utterance":
        x = cmvn(x, frames)
    return x, frames


def transcribe(
    model: torch.nn.Module, prep: dict[str, Any], waves: list[np.ndarray], batch_size: int
) -> list[str]:
    vocabulary = prep["vocabulary"]
    out = []
    for start in range(0, len(waves), batch_size):
        x, frames = features(prep, waves[start : start + batch_size])
        with torch.no_grad():
            log_probs = model(x, frames)
        # Every speech model has output_lengths (frames -> output steps).
        output_lengths = cast(Callable[[torch.Tensor], torch.Tensor], model.output_lengths)
        ids = ctc_greedy_decode(log_probs, output_lengths(frames))
        out += ["".join(vocabulary[i] for i in row) for row in ids]
    return out


def load_split(data: Path, split: str, sample_rate: int) -> tuple[list[np.ndarray], list[str]]:
    utterances, _ = read_manifest(data / f"{split}.jsonl", split)
    waves = [read_audio(u.path, sample_rate=sample_rate) for u in utterances]
    return waves, [normalize_text(u.text or "") for u in utterances]


def pocketsphinx_transcripts(waves: list[np.ndarray], grammar: Path) -> tuple[list[str], float] | None:
    try:
        from pocketsphinx import Decoder
    except ImportError:
        return None
    decoder = Decoder(samprate=16000, jsgf=str(grammar), loglevel="FATAL")
    out, start = [], time.perf_counter()
    for wave in waves:
        pcm = (np.clip(wave, -1, 1) * 32767).astype(np.int16)
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        out.append(normalize_text(hyp.hypstr) if hyp is not None else "")
    return out, time.perf_counter() - start


def write_grammar(path: Path) -> Path:
    path.write_text(
        "#JSGF V1.0;\ngrammar digits;\npublic <utterance> = <command> | <digit>+;\n"
        f"<digit> = {' | '.join(DIGIT_WORDS)};\n<command> = {' | '.join(COMMAND_WORDS)};\n"
    )
    return path


def speed(
    model: torch.nn.Module, prep: dict[str, Any], waves: list[np.ndarray], batch: int, stream: bool
) -> dict[str, Any]:
    audio_s = sum(len(w) for w in waves) / prep["sample_rate"]
    out: dict[str, Any] = {"audio_s": round(audio_s, 2), "utterances": len(waves)}
    transcribe(model, prep, waves[:2], 1)  # warm-up
    # wall-clock and this process's CPU time: on a shared machine the CPU time is the compute
    for size in (1, batch):
        wall, cpu = time.perf_counter(), time.process_time()
        transcribe(model, prep, waves, size)
        out[f"rtf_batch{size}_wall"] = (time.perf_counter() - wall) / audio_s
        out[f"rtf_batch{size}_cpu"] = (time.process_time() - cpu) / audio_s
    if stream and model_info_streams(model):
        chunk = prep["sample_rate"] // 10  # 100 ms
        per_chunk, first_label_s = [], []
        streamer = SpeechStream.from_preprocessing(model, prep)
        wall, cpu = time.perf_counter(), time.process_time()
        for wave in waves:
            streamer.reset()
            for piece in np.array_split(wave, max(1, int(np.ceil(len(wave) / chunk)))):
                t0 = time.process_time()
                streamer.push(piece)
                per_chunk.append(time.process_time() - t0)
            streamer.finish()
            if streamer.first_token_frame is not None:
                first_label_s.append(streamer.first_token_frame * prep["hop_length"] / prep["sample_rate"])
        out["rtf_stream_wall"] = (time.perf_counter() - wall) / audio_s
        out["rtf_stream_cpu"] = (time.process_time() - cpu) / audio_s
        out["stream_chunk_cpu_ms_median"] = 1000 * float(np.median(per_chunk))
        out["stream_chunk_cpu_ms_p95"] = 1000 * float(np.percentile(per_chunk, 95))
        out["first_label_audio_s_median"] = float(np.median(first_label_s)) if first_label_s else None
    return out


def model_info_streams(model: torch.nn.Module) -> bool:
    return callable(getattr(model, "step", None))


def model_means(models: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model name with several runs (seeds): the mean CER/WER per split and fit time."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in models:
        by_model.setdefault(row["model"], []).append(row)
    means = {}
    for model, rows in by_model.items():
        if len(rows) > 1:
            mean = {
                f"{split}_{metric}": float(np.mean([r[split][metric] for r in rows]))
                for split in SPLITS
                for metric in ("cer", "wer")
            }
            mean["fit_wall_time_s"] = float(np.mean([r["fit_wall_time_s"] or 0 for r in rows]))
            means[model] = {"runs": len(rows), **mean}
    return means


def print_tables(results: dict[str, Any], threads: int) -> None:
    print(f"{'system':58} {'test CER':>9} {'test WER':>9} {'held-out CER':>13} {'held-out WER':>13}")
    for row in results["models"]:
        name = f"{row['model']} ({row['epochs']} epochs, {row['fit_wall_time_s'] or 0:.0f} s fit)"
        print(
            f"{name:58} {row['test']['cer']:9.4f} {row['test']['wer']:9.4f} "
            f"{row['test_heldout']['cer']:13.4f} {row['test_heldout']['wer']:13.4f}"
        )
    for model, mean in results["means"].items():
        name = f"{model}: mean of {mean['runs']} runs ({mean['fit_wall_time_s']:.0f} s fit)"
        print(
            f"{name:58} {mean['test_cer']:9.4f} {mean['test_wer']:9.4f} "
            f"{mean['test_heldout_cer']:13.4f} {mean['test_heldout_wer']:13.4f}"
        )
    for name, scores in results["peers"].items():
        print(
            f"{name[:58]:58} {scores['test']['cer']:9.4f} {scores['test']['wer']:9.4f} "
            f"{scores['test_heldout']['cer']:13.4f} {scores['test_heldout']['wer']:13.4f}"
        )
    print(f"\nspeed (compute s per audio s, features included; threads={threads})")
    for row in results["models"]:
        speed = {k: round(v, 4) if isinstance(v, float) else v for k, v in row["speed"].items()}
        print(f"  {row['model']}: {json.dumps(speed)}")


def train(seed: int, preset: str, extra: list[str]) -> Path:
    root = Path("runs/asr-benchmark") / f"{preset}-seed{seed}"
    cmd = [sys.executable, "-m", "cnnlstm", "fit", "--config", preset, f"--seed_everything={seed}"]
    cmd += [f"--trainer.default_root_dir={root}", "--quiet", *extra]
    subprocess.run(cmd, check=True)
    return root / "checkpoints" / "last.ckpt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ckpt", type=Path, action="append", default=[], help="a speech checkpoint (repeatable)"
    )
    parser.add_argument("--train", help="train this preset first, once per --seeds (e.g. speech-digits)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train_args", nargs="*", default=[], help="extra `cnnlstm fit` arguments")
    parser.add_argument("--data", type=Path, default=Path("data/speech-digits"))
    parser.add_argument("--limit", type=int, default=0, help="utterances per test split (0: all)")
    parser.add_argument("--speed_utterances", type=int, default=50)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("asr.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    checkpoints = list(args.ckpt)
    if args.train:
        checkpoints += [train(seed, args.train, args.train_args) for seed in args.seeds]
    if not checkpoints:
        parser.error("give --ckpt CHECKPOINT (repeatable) or --train PRESET")

    results: dict[str, Any] = {
        "settings": {**vars(args), "torch": torch.__version__},
        "models": [],
        "peers": {},
    }
    results["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in results["settings"].items()}
    results["settings"]["ckpt"] = [str(c) for c in checkpoints]
    data = {split: load_split(args.data, split, 16000) for split in SPLITS}
    if args.limit:
        data = {s: (w[: args.limit], t[: args.limit]) for s, (w, t) in data.items()}
    train_texts = [normalize_text(u.text or "") for u in read_manifest(args.data / "train.jsonl", "train")[0]]
    frequent = Counter(train_texts).most_common(1)[0][0]
    results["peers"]["empty transcript"] = {s: jiwer_scores(t, [""] * len(t)) for s, (_, t) in data.items()}
    results["peers"][f"most frequent training transcript ({frequent!r})"] = {
        s: jiwer_scores(t, [frequent] * len(t)) for s, (_, t) in data.items()
    }
    grammar = write_grammar(args.out.with_suffix(".gram"))
    peer = {s: pocketsphinx_transcripts(w, grammar) for s, (w, _) in data.items()}
    if all(p is not None for p in peer.values()):
        results["peers"]["pocketsphinx 5 (en-us model, digit/command JSGF grammar)"] = {
            s: {
                **jiwer_scores(data[s][1], p[0]),
                "rtf": p[1] / (sum(len(w) for w in data[s][0]) / 16000),
            }
            for s, p in peer.items()
            if p is not None
        }
    for ckpt in checkpoints:
        model, hp, prep = load(ckpt)
        summary_path = ckpt.parent.parent / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        row: dict[str, Any] = {
            "checkpoint": str(ckpt),
            "model": hp["name"],
            "model_kwargs": hp.get("model_kwargs"),
            "parameters": sum(p.numel() for p in model.parameters()),
            "epochs": summary.get("epochs"),
            "fit_wall_time_s": summary.get("fit_wall_time_s"),
            "seed": summary.get("seed"),
        }
        for split, (waves, texts) in data.items():
            row[split] = jiwer_scores(texts, transcribe(model, prep, waves, args.batch))
        waves = data["test"][0][: args.speed_utterances]
        row["speed"] = speed(model, prep, waves, args.batch, stream=model_info(hp["name"]).streams)
        results["models"].append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results["means"] = model_means(results["models"])
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_tables(results, args.threads)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
