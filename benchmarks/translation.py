"""Translation: conv_lstm_translator against bilstm_translator at equal parameters and equal training time.

For each corpus, seed and model: train from scratch with AdamW (lr 3e-3 on a cosine over the
budget, label smoothing 0.1, gradient clipping 1.0, the data module's bucketed seeded batches;
the model sizes of the ``numbers-en-de`` preset) for ``--budget`` seconds of
this process's CPU time (``time.process_time``: on a shared machine, wall-clock time counts other
people's work), then translate the test split greedily and with beam search (5) and score the
detokenised output with :func:`cnnlstm.tasks.text_metrics.translation_scores` (sacrebleu BLEU,
chrF, TER; exact match; CER).

Corpora:

* ``numbers-<lang>``: num2words, English words → ``<lang>`` words, SentencePiece BPE with 200
  pieces trained on the training split (``--numbers-tokenizer char`` for characters), training / test
  numbers below ``10 ** --max-exponent``; the ``beyond`` row scores numbers with one digit more.
* ``software``: the gettext + CLDR corpus built by :func:`cnnlstm.data.text_synth.build_software_corpus`
  from the installed packages (``--software-root`` to reuse a built one), BPE; a ``copy source``
  row (the output is the source) gives chrF a floor, and ``placeholders`` is the share of test
  outputs keeping every placeholder of their source. Placeholders are masked as reserved tokens
  and restored after decoding (the data module's default; ``--placeholders off`` for the rows
  measured before that existed); ``placeholders_dropped`` / ``_invented`` count what the
  restoration could not match.

``--models`` trains only some of the two (the BiLSTM's size still matches the conv model's).
``--copy`` gives both models the copy mechanism (``copy=True``: See et al.'s pointer-generator
decoder; the rows are named ``<model>+copy``; both models gain the same gate, so the sizes still
match), and the speed comparison then alternates the four models (with and without copy).

The two models get the same decoder; the encoders' widths are chosen so that the totals are
within a few percent (the table prints both counts). Speed: training target tokens per CPU
second, and test sentences per CPU second for greedy and beam-5 decoding (batch 64), all with
``torch.set_num_threads(--threads)``.

Before the runs, ``--speed-batches`` training batches are timed with the two models alternating
on the same batches (medians of tokens per CPU second, the whole step and the encoder alone):
less exposed to a shared machine's load than the per-run averages.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/translation.py --corpora numbers-de numbers-fr software \\
        --seeds 0 1 2 --budget 300 --json docs/results/translation.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from cnnlstm import create_model
from cnnlstm.data.text import ParallelTextDataModule
from cnnlstm.data.text_placeholders import PLACEHOLDER
from cnnlstm.data.text_synth import NumbersDataModule, build_software_corpus
from cnnlstm.models.decoding import beam_search, greedy_decode
from cnnlstm.models.translation import PAD, Translator
from cnnlstm.tasks.text_metrics import placeholder_survival, translation_scores

# The numbers-en-de / numbers-en-fr presets' model (src/cnnlstm/presets/numbers-en-*.yaml).
DECODER: dict[str, Any] = {"embed_dim": 64, "hidden_size": 128, "dropout": 0.1}
CONV: dict[str, Any] = {"channels": 64, "key_layers": 3, "value_layers": 2, "kernel_size": 3}
LR = 3e-3


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def matched_models(vocab: int, copy: bool = False) -> dict[str, dict[str, Any]]:
    """Model arguments: the conv encoder fixed, the BiLSTM's hidden size chosen to match its total;
    ``copy``: both with the copy mechanism (the same gate on the same decoder)."""
    decoder = {**DECODER, **({"copy": True} if copy else {})}
    conv = {**decoder, **CONV}
    target = _params(create_model("conv_lstm_translator", num_classes=vocab, **conv))
    best = min(
        range(16, 257, 4),
        key=lambda h: abs(
            _params(create_model("bilstm_translator", num_classes=vocab, **decoder, encoder_hidden=h))
            - target
        ),
    )
    return {
        "conv_lstm_translator": conv,
        "bilstm_translator": {**decoder, "encoder_hidden": best},
    }


def make_data(
    corpus: str, args: argparse.Namespace, seed: int, test_split: str = "same"
) -> ParallelTextDataModule:
    if corpus.startswith("numbers-"):
        dm: ParallelTextDataModule = NumbersDataModule(
            target_lang=corpus.split("-", 1)[1],
            max_exponent=args.max_exponent,
            train_size=args.train_size,
            val_size=100,
            test_size=args.test_size,
            test_split=test_split,
            tokenizer=args.numbers_tokenizer,
            vocab_size=args.numbers_vocab,
            batch_size=64,
            seed=seed,
        )
    else:
        dm = ParallelTextDataModule(
            root=args.software_root,
            source_lang="en",
            target_lang="de",
            tokenizer="bpe",
            vocab_size=args.vocab_size,
            protect_placeholders=args.placeholders == "protect",
            max_source_tokens=96,
            max_target_tokens=96,
            batch_size=32,
            seed=0,  # the corpus and its split stay fixed; the seed varies the model
        )
    dm.setup(None)
    return dm


def train(model: nn.Module, dm: ParallelTextDataModule, budget: float, seed: int) -> dict[str, float]:
    """Train for ``budget`` CPU seconds; return steps, epochs, target tokens and tokens / CPU second.

    The learning rate follows a cosine from ``LR`` to 0 over the budget (the CPU time used so far
    sets each step's rate), as the presets' cosine does over their epochs.
    """
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    loader = dm.train_dataloader()
    model.train()
    used, tokens, steps, epoch = 0.0, 0, 0, 0
    while used < budget:
        loader.batch_sampler.set_epoch(epoch)  # type: ignore[union-attr]
        for source, target, _ in loader:
            start = time.process_time()
            for group in optimizer.param_groups:
                group["lr"] = LR * 0.5 * (1.0 + math.cos(math.pi * min(1.0, used / budget)))
            logits = model(source, target[:, :-1])
            loss = criterion(logits.flatten(0, 1), target[:, 1:].flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            used += time.process_time() - start
            tokens += int(target[:, 1:].ne(PAD).sum())
            steps += 1
            if used >= budget:
                break
        epoch += 1
    return {
        "train_cpu_s": round(used, 1),
        "steps": steps,
        "epochs_started": epoch,
        "train_tokens_per_s": round(tokens / used, 1),
    }


def translate(
    model: nn.Module,
    dm: ParallelTextDataModule,
    dataset: Any,
    *,
    beam: int,
    limit: int | None = None,
    issues: dict[str, int] | None = None,
) -> tuple[list[str], float]:
    """Hypotheses for the first ``limit`` test pairs (placeholders restored by the data module where
    it masks them: :func:`restored`), and sentences per CPU second (decoding only)."""
    from cnnlstm.data.text import collate_pairs

    model.eval()
    items = [dataset[i] for i in range(len(dataset) if limit is None else min(limit, len(dataset)))]
    out: list[str] = []
    used = 0.0
    for start in range(0, len(items), 64):
        source, _, _ = collate_pairs(items[start : start + 64])
        began = time.process_time()
        if beam > 1:
            tokens = beam_search(model, source, beam_size=beam, length_penalty=1.0).tokens  # type: ignore[arg-type]
        else:
            tokens = greedy_decode(model, source).tokens  # type: ignore[arg-type]
        used += time.process_time() - began
        out += [dm.tokenizer.decode(row) for row in tokens.tolist()]  # type: ignore[union-attr]
    found = restored(dm, dataset, out)
    if issues is not None:
        issues["masked"] = sum(r.masked for r in found)
        issues["dropped"] = sum(len(r.dropped) for r in found)
        issues["invented"] = sum(len(r.invented) for r in found)
    return [r.text for r in found], len(items) / used


def restored(dm: ParallelTextDataModule, dataset: Any, decoded: list[str]) -> list[Any]:
    """The data module's :class:`~cnnlstm.data.text_placeholders.Restored` of each decoded text."""
    sources = [p.source for p in dataset.texts[: len(decoded)]]
    return [dm.restore_placeholders(h, s) for h, s in zip(decoded, sources, strict=True)]


def evaluate(model: nn.Module, dm: ParallelTextDataModule, args: argparse.Namespace) -> dict[str, Any]:
    test = dm.make_dataset("test")
    refs = [p.target for p in test.texts]  # type: ignore[attr-defined]
    sources = [p.source for p in test.texts]  # type: ignore[attr-defined]
    issues: dict[str, int] = {}
    hyps, greedy_speed = translate(model, dm, test, beam=1, issues=issues)
    row: dict[str, Any] = {**_scores(hyps, refs), "greedy_sent_per_s": round(greedy_speed, 1)}
    beam_hyps, beam_speed = translate(model, dm, test, beam=5, limit=args.beam_sentences)
    beam_scores = _scores(beam_hyps, refs[: len(beam_hyps)])
    row.update({f"beam5_{k}": v for k, v in beam_scores.items() if k in ("exact_match", "chrf", "bleu")})
    row["beam5_sent_per_s"] = round(beam_speed, 1)
    row["beam5_sentences"] = len(beam_hyps)
    kept = placeholder_survival(sources, hyps, pattern=PLACEHOLDER)
    if kept is not None:
        row["placeholders"] = round(kept, 4)
    if issues["masked"] or issues["invented"]:
        row.update({f"placeholders_{k}": v for k, v in issues.items()})
    row["samples"] = [
        {"source": s, "output": h, "reference": r}
        for s, h, r in list(zip(sources, hyps, refs, strict=True))[:5]
    ]
    return row


def _scores(hyps: list[str], refs: list[str]) -> dict[str, Any]:
    scores = translation_scores(hyps, refs)
    return {k: scores[k] for k in ("exact_match", "chrf", "bleu", "ter", "cer", "bleu_signature")}


def interleaved_speed(
    dm: ParallelTextDataModule, repeats: int, seed: int = 0, copy: bool = False
) -> list[dict[str, Any]]:
    """Training speed on the same batches, the models alternating (conv, BiLSTM, conv, ...) so that
    machine load hits both alike: median target tokens per CPU second of a whole training step, and
    median source tokens per CPU second of the encoder alone (forward + backward). ``copy``: the
    two models with the copy mechanism (``<name>+copy``) alternate with the two without, which
    measures what the copy costs."""
    torch.manual_seed(seed)
    vocab = dm.num_classes
    kinds = [(n, kw) for n, kw in matched_models(vocab).items()]
    if copy:
        kinds += [(f"{n}+copy", kw) for n, kw in matched_models(vocab, copy=True).items()]
    models = {  # both names are Translators
        n: cast(Translator, create_model(n.removesuffix("+copy"), num_classes=vocab, **kw)).train()
        for n, kw in kinds
    }
    batches = []
    for source, target, _ in dm.train_dataloader():
        batches.append((source, target))
        if len(batches) == repeats:
            break
    timings: dict[str, dict[str, list[float]]] = {n: {"step": [], "encoder": []} for n in models}
    for source, target in batches:
        for name, model in models.items():
            start = time.process_time()
            model(source, target[:, :-1]).logsumexp(-1).mean().backward()
            timings[name]["step"].append(int(target[:, 1:].ne(PAD).sum()) / (time.process_time() - start))
            start = time.process_time()
            memory = model.encoder(source)
            (memory.keys.sum() + memory.values.sum()).backward()
            timings[name]["encoder"].append(int(source.ne(PAD).sum()) / (time.process_time() - start))
            model.zero_grad(set_to_none=True)
    return [
        {
            "model": name,
            "params": _params(models[name]),
            "encoder_params": _params(models[name].encoder),
            "batches": len(batches),
            "step_tokens_per_s_median": round(statistics.median(t["step"]), 1),
            "encoder_tokens_per_s_median": round(statistics.median(t["encoder"]), 1),
        }
        for name, t in timings.items()
    ]


def speed_ratios(entries: list[dict[str, Any]]) -> dict[str, float]:
    """conv_lstm_translator's tokens per second over bilstm_translator's: whole step and encoder alone
    (and, when measured, each model's whole step with copy over without)."""
    by = {e["model"]: e for e in entries}
    conv, bilstm = by["conv_lstm_translator"], by["bilstm_translator"]
    ratios = {
        f"{k}_ratio": round(conv[f"{k}_tokens_per_s_median"] / bilstm[f"{k}_tokens_per_s_median"], 3)
        for k in ("step", "encoder")
    }
    for name, short in (("conv_lstm_translator", "conv"), ("bilstm_translator", "bilstm")):
        if f"{name}+copy" in by:  # with copy over without: the whole training step
            with_copy = by[f"{name}+copy"]["step_tokens_per_s_median"]
            ratios[f"{short}_copy_step_ratio"] = round(with_copy / by[name]["step_tokens_per_s_median"], 3)
    return ratios


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    if "software" in args.corpora and not (args.software_root / "train.en").is_file():
        report = build_software_corpus(args.software_root)
        print(f"built the software corpus: {report['pairs']} pairs {report['splits']}", flush=True)
    results: dict[str, Any] = {
        "rows": [],
        "settings": vars(args) | {"software_root": str(args.software_root)},
    }
    results["speed"] = {}
    for corpus in args.corpora:
        if args.speed_batches:
            entries = interleaved_speed(make_data(corpus, args, 0), args.speed_batches, copy=args.copy)
            results["speed"][corpus] = entries
            results.setdefault("speed_ratios", {})[corpus] = speed_ratios(entries)
            for entry in entries:
                print(f"{corpus:<12} speed {entry}", flush=True)
            print(f"{corpus:<12} conv / BiLSTM {results['speed_ratios'][corpus]}", flush=True)
        for seed in args.seeds:
            dm = make_data(corpus, args, seed)
            vocab = dm.num_classes
            for name, kwargs in matched_models(vocab, args.copy).items():
                if name not in args.models:
                    continue
                torch.manual_seed(seed)
                model = create_model(name, num_classes=vocab, **kwargs)
                row: dict[str, Any] = {
                    "corpus": corpus,
                    "seed": seed,
                    "model": f"{name}+copy" if args.copy else name,
                    "params": _params(model),
                    "model_kwargs": kwargs,
                }
                row.update(train(model, dm, args.budget, seed))
                row.update(evaluate(model, dm, args))
                if corpus.startswith("numbers-"):
                    beyond = make_data(corpus, args, seed, test_split="beyond")
                    hyps, _ = translate(model, beyond, beyond.make_dataset("test"), beam=1)
                    refs = [p.target for p in beyond.make_dataset("test").texts]  # type: ignore[attr-defined]
                    row["beyond_exact_match"] = _scores(hyps, refs)["exact_match"]
                    row["beyond_chrf"] = _scores(hyps, refs)["chrf"]
                results["rows"].append(row)
                print(_line(row), flush=True)
                if args.json:
                    _write(args.json, results)
            if corpus == "software" and seed == args.seeds[0]:
                test = dm.make_dataset("test")
                sources = [p.source for p in test.texts]  # type: ignore[attr-defined]
                refs = [p.target for p in test.texts]  # type: ignore[attr-defined]
                copy = {"corpus": corpus, "model": "copy source", **_scores(sources, refs)}
                copy["placeholders"] = placeholder_survival(sources, sources, pattern=PLACEHOLDER)
                results["rows"].append(copy)
                print(_line(copy), flush=True)
    results["summary"] = summarise(results["rows"])
    results["environment"] = {
        "machine": f"{platform.machine()} CPU",
        "threads": args.threads,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }
    return results


def _line(row: dict[str, Any]) -> str:
    keys = (
        "exact_match",
        "chrf",
        "bleu",
        "train_tokens_per_s",
        "greedy_sent_per_s",
        "beam5_sent_per_s",
        "beyond_exact_match",
        "placeholders",
    )
    shown = " ".join(f"{k}={row[k]}" for k in keys if k in row)
    return f"{row['corpus']:<12} {row['model']:<22} seed={row.get('seed', '-')} params={row.get('params', '-')} {shown}"


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean (and standard deviation) over seeds per corpus and model."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["corpus"], row["model"]), []).append(row)
    out = []
    metrics = (
        "exact_match",
        "chrf",
        "bleu",
        "cer",
        "beam5_exact_match",
        "beam5_chrf",
        "beam5_bleu",
        "train_tokens_per_s",
        "greedy_sent_per_s",
        "beam5_sent_per_s",
        "beyond_exact_match",
        "placeholders",
        "steps",
    )
    for (corpus, model), group in groups.items():
        entry: dict[str, Any] = {
            "corpus": corpus,
            "model": model,
            "seeds": len(group),
            "params": group[0].get("params"),
        }
        for m in metrics:
            values = [r[m] for r in group if isinstance(r.get(m), (int, float))]
            if values:
                entry[m] = round(statistics.fmean(values), 4)
                if len(values) > 1:
                    entry[f"{m}_std"] = round(statistics.stdev(values), 4)
        out.append(entry)
    return out


def to_markdown(summary: list[dict[str, Any]]) -> str:
    cols = (
        "corpus",
        "model",
        "seeds",
        "params",
        "exact_match",
        "chrf",
        "bleu",
        "beam5_exact_match",
        "beam5_chrf",
        "beyond_exact_match",
        "placeholders",
        "train_tokens_per_s",
        "greedy_sent_per_s",
        "beam5_sent_per_s",
    )
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in summary:
        cells = []
        for c in cols:
            v = row.get(c)
            cells.append(
                ""
                if v is None
                else f"{v:,}"
                if isinstance(v, int)
                else f"{v:.3f}"
                if isinstance(v, float) and abs(v) < 10
                else f"{v:.1f}"
                if isinstance(v, float)
                else str(v)
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=["numbers-de", "numbers-fr", "software"])
    parser.add_argument(
        "--seeds", nargs="*", type=int, default=[0, 1, 2], help="none: the speed comparison only"
    )
    parser.add_argument("--budget", type=float, default=300.0, help="training CPU seconds per model and seed")
    parser.add_argument("--max-exponent", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--beam-sentences", type=int, default=200, help="test sentences decoded with beam 5")
    parser.add_argument("--vocab-size", type=int, default=2000, help="BPE vocabulary of the software corpus")
    parser.add_argument("--numbers-tokenizer", default="bpe", choices=["char", "bpe", "unigram"])
    parser.add_argument(
        "--numbers-vocab", type=int, default=200, help="SentencePiece vocabulary of the numbers"
    )
    parser.add_argument("--software-root", type=Path, default=Path("data/software-en-de"))
    parser.add_argument(
        "--models",
        nargs="+",
        default=["conv_lstm_translator", "bilstm_translator"],
        choices=["conv_lstm_translator", "bilstm_translator"],
        help="the models trained (the BiLSTM's size still matches the conv model's)",
    )
    parser.add_argument(
        "--placeholders",
        default="protect",
        choices=["protect", "off"],
        help="software corpus: mask placeholders as reserved tokens (the data module's default) or not",
    )
    parser.add_argument(
        "--copy",
        action="store_true",
        help="both models with the copy mechanism (copy=True, a pointer-generator decoder)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--speed-batches", type=int, default=20, help="batches of the interleaved speed comparison (0: none)"
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--summarise",
        nargs="+",
        type=Path,
        default=None,
        help="print the table of saved JSON results (merged); no runs",
    )
    args = parser.parse_args(argv)
    if args.summarise:
        rows = [row for path in args.summarise for row in json.loads(path.read_text())["rows"]]
        print(to_markdown(summarise(rows)))
        return 0
    if not math.isfinite(args.budget) or args.budget <= 0:
        parser.error("--budget must be a positive number of seconds")
    results = run(args)
    print("\n" + to_markdown(results["summary"]))
    if args.json:
        _write(args.json, results)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
