"""The commands that are not Lightning runs: ``presets``, ``models``, ``export``, and the report of
``data check`` (whose data module the Lightning CLI builds)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from cnnlstm._io import safe_torch_load
from cnnlstm._validation import check_positive_int
from cnnlstm.cli.errors import CLIError
from cnnlstm.cli.presets import list_presets

__all__ = ["cmd_export", "cmd_models", "cmd_presets", "data_check"]


def data_check(datamodule: Any) -> int:
    """Set up every split and report the files that cannot be used, without training."""
    problem = None
    try:
        datamodule.setup(None)
    except ValueError as err:  # e.g. no usable video at all: still list every file and why
        problem = err
    sizes = {split: len(getattr(datamodule, f"{split}_dataset") or []) for split in ("train", "val", "test")}
    print("usable samples: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    skipped = getattr(datamodule, "skipped", [])
    print(f"skipped: {len(skipped)}")
    for item in skipped:
        line = f"{item['file']}:{item['line']}" if "file" in item else None  # text corpora
        where = item.get("path") or item.get("sequence") or line or "?"
        print(f"  [{item.get('split', '?')}] {where}: {item.get('reason', '')}")
    outside = getattr(datamodule, "outside_vocabulary", [])
    if outside:  # speech: kept and scored, but the model cannot spell these characters
        print(f"transcripts with characters outside the vocabulary (kept): {len(outside)}")
        for item in outside:
            print(f"  [{item.get('split', '?')}] {item.get('path')}: {item.get('characters')!r}")
    if problem is None and callable(getattr(datamodule, "describe", None)):
        print("resolved inputs:")
        for key, value in datamodule.describe().items():
            print(f"  {key}: {json.dumps(value, default=str)}")
    if problem is not None:
        raise problem
    return 0


def cmd_presets(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="cnnlstm presets", description="List the shipped presets.").parse_args(argv)
    presets = list_presets()
    width = max(map(len, presets), default=0)
    for name, description in presets.items():
        print(f"{name:<{width}}  {description}")
    return 0


def cmd_models(argv: list[str]) -> int:
    from cnnlstm.models import create_model, list_models, model_info

    parser = argparse.ArgumentParser(prog="cnnlstm models", description="List registered models.")
    parser.add_argument("pattern", nargs="?", default="*", help="wildcard, e.g. 'lrcn*'")
    args = parser.parse_args(argv)
    names = list_models(args.pattern)
    if not names:
        raise CLIError(f"no model matches {args.pattern!r}; `cnnlstm models` lists all")
    rows = []
    for name in names:
        info = model_info(name)
        params = sum(p.numel() for p in create_model(name).parameters())
        rows.append(
            (name, info.task, info.modality, f"{params:,}", "(" + ", ".join(map(str, info.input_size)) + ")")
        )
    header = ("model", "task", "input", "params", "one sample: (T, C, H, W) frames, (T, C) series")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnnlstm export", description="Export a checkpoint.")
    parser.add_argument(
        "--ckpt_path",
        required=True,
        help="a .ckpt file written by `cnnlstm fit`, or 'last' / 'best' of the run given by --run "
        "(or of the newest run of --config PRESET)",
    )
    parser.add_argument(
        "--run", type=Path, help="run folder for --ckpt_path last|best (runs/<preset>/<time>)"
    )
    parser.add_argument("--config", help="preset whose newest run --ckpt_path last|best picks")
    parser.add_argument("--output", required=True, type=Path, help="folder for the exported files")
    parser.add_argument("--batch_size", type=int, default=2, help="batch size of the check batch")
    parser.add_argument(
        "--step",
        action="store_true",
        help="also write step.onnx, the one-frame streaming step, for any sequence length (streaming models; "
        "for cnn_lstm_ctc_stream: acoustic_step.onnx, the chunk step)",
    )
    return parser


def _export_checkpoint(args: argparse.Namespace) -> Path:
    """The checkpoint ``--ckpt_path`` names: a file, or ``last``/``best`` of ``--run`` or of the
    newest run of ``--config`` (resolved as ``fit``/``test`` resolve them)."""
    from cnnlstm.cli.presets import preset_path
    from cnnlstm.cli.run_folders import _checkpoint_in, _newest_run

    if args.ckpt_path not in ("last", "best"):
        path = Path(args.ckpt_path)
        if not path.is_file():
            raise CLIError(
                f"--ckpt_path {args.ckpt_path!r} does not exist; give a .ckpt file, 'last' or 'best'"
            )
        return path
    if args.run is not None:
        if not (args.run / "checkpoints").is_dir():
            raise CLIError(
                f"--run {str(args.run)!r} has no checkpoints/ folder; give a run folder of `cnnlstm fit`"
            )
        return _checkpoint_in(args.run, args.ckpt_path)
    if args.config:
        config = preset_path(args.config)
        # A run's own config.yaml names its folder, as for `cnnlstm test --config runs/x/<time>/config.yaml`.
        root = config.parent if (config.parent / "checkpoints").is_dir() else _newest_run(config.stem)
        return _checkpoint_in(root, args.ckpt_path)
    raise CLIError(
        f"--ckpt_path {args.ckpt_path} needs --run RUN_FOLDER or --config PRESET (whose newest run is used)"
    )


def _export_metadata(ckpt: dict[str, Any], hp: dict[str, Any], where: str) -> dict[str, Any]:
    """``class_names`` and ``preprocessing`` for export_model, from the checkpoint's ``"cnnlstm"``
    entry (PreprocessingCallback); older checkpoints give the task's class names only."""
    from cnnlstm.training.preprocessing import CHECKPOINT_KEY

    entry = ckpt.get(CHECKPOINT_KEY)
    if entry is not None and not isinstance(entry, dict):
        raise CLIError(
            f"{where}: checkpoint entry {CHECKPOINT_KEY!r} must be a dict; found {type(entry).__name__}"
        )
    entry = entry or {}
    names = entry.get("class_names") or hp.get("class_names")
    preprocessing = entry.get("preprocessing")
    if preprocessing is None:
        print(
            f"note: {where} holds no preprocessing (written before cnnlstm stored it); config.json "
            "will not say how to prepare inputs"
        )
    return {"class_names": list(names) if names else None, "preprocessing": preprocessing}


def _export_speech(model: Any, output: Path, metadata: dict[str, Any]) -> None:
    from cnnlstm.deploy.speech_export import export_acoustic_model

    vocabulary = metadata["class_names"]
    if not vocabulary:
        raise CLIError("the checkpoint holds no vocabulary (class_names); was it written by `cnnlstm fit`?")
    report = export_acoustic_model(
        model, output_dir=output, vocabulary=vocabulary, preprocessing=metadata["preprocessing"]
    )
    lengths = ", ".join(report["max_abs_diff_per_frames"])
    print(
        f"{report['file']}: dynamic batch and length, max |onnx - eager| = {report['max_abs_diff']:.3g} "
        f"at {lengths} frames; vocabulary.json: {len(vocabulary)} tokens"
    )


def _export_translator(
    model: Any, args: argparse.Namespace, hp: dict[str, Any], kwargs: dict[str, Any], metadata: dict[str, Any]
) -> int:
    """A translator: encoder.onnx + decoder_step.onnx, checked over a whole greedy decode in onnxruntime."""
    from cnnlstm.deploy.translation import export_translator

    report = export_translator(
        model,
        args.output,
        model_name=hp["name"],
        model_kwargs=kwargs,
        tokenizer=(metadata.get("preprocessing") or {}).get("tokenizer"),
        placeholders=(metadata.get("preprocessing") or {}).get("placeholders"),
        source_len=None if getattr(model, "encoder_kind", "") == "conv" else int(hp["input_shape"][0]),
        max_len_a=float(hp.get("max_len_a", 1.5)),
        max_len_b=int(hp.get("max_len_b", 10)),
    )
    print(
        f"exported {hp['name']} to {args.output}: encoder.onnx + decoder_step.onnx; greedy decode of "
        f"{report['checked_sentences']} sentences in onnxruntime gives the eager tokens, max |logit diff| = "
        f"{report['max_abs_logit_diff']:.3g} (translation.json)"
    )
    return 0


def cmd_export(argv: list[str]) -> int:
    from cnnlstm.deploy._common import EXPORT_FORMATS
    from cnnlstm.deploy.export import export_model
    from cnnlstm.models import create_model, model_info
    from cnnlstm.tasks.base import build_kwargs

    args = _export_parser().parse_args(argv)
    check_positive_int("--batch_size", args.batch_size)
    ckpt_path = _export_checkpoint(args)
    ckpt = safe_torch_load(ckpt_path)
    hp = ckpt.get("hyper_parameters") or {}
    for field in ("name", "input_shape"):
        if not hp.get(field):
            raise CLIError(
                f"{ckpt_path}: checkpoint has no hyper_parameters.{field}; was it written by `cnnlstm fit`?"
            )
    kwargs = build_kwargs(
        hp.get("model_kwargs"), hp.get("num_classes"), name=hp.get("name"), input_shape=hp.get("input_shape")
    )
    model = create_model(hp["name"], **kwargs)
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state, strict=True)
    if model_info(hp["name"]).task == "seq2seq":
        return _export_translator(model, args, hp, kwargs, _export_metadata(ckpt, hp, str(ckpt_path)))
    if args.step and not model_info(hp["name"]).streams:
        raise CLIError(f"--step: {hp['name']} does not stream (no init_state/step); export without --step")
    example = torch.randn(args.batch_size, *hp["input_shape"], generator=torch.Generator().manual_seed(0))
    metadata = _export_metadata(ckpt, hp, str(ckpt_path))
    speech = model_info(hp["name"]).task == "speech"
    # speech: the graph for any utterance length is acoustic_model.onnx (_export_speech)
    formats = ("safetensors",) if speech else EXPORT_FORMATS
    report = export_model(
        model,
        model_name=hp["name"],
        model_kwargs=kwargs,
        example_input=example,
        output_dir=args.output,
        formats=formats,
        class_names=metadata["class_names"],
        preprocessing=metadata["preprocessing"],
    )
    if speech:
        _export_speech(model, args.output, metadata)
    if metadata["class_names"] or metadata["preprocessing"]:
        names, prep = metadata["class_names"] or [], metadata["preprocessing"] or {}
        print(f"config.json: {len(names)} class names, preprocessing {sorted(prep)}")
    for fmt, diff in report.get("max_abs_diff", {}).items():
        print(f"{fmt}: max |exported - eager| = {diff:.3g}")
    print(
        f"exported {hp['name']} from {ckpt_path} to {args.output} "
        f"(load with cnnlstm.load_pretrained({str(args.output)!r}))"
    )
    if args.step and speech:
        from cnnlstm.deploy.speech_export import export_acoustic_step

        step = export_acoustic_step(model, output_dir=args.output)
        print(
            f"{step['file']}: the streaming chunk step (any multiple of 4 frames, state as tensors); "
            f"utterances of {step['checked_frames']} frames fed in chunks of {step['checked_chunks']} in "
            f"onnxruntime: max |onnx - eager forward| = {step['max_abs_diff']:.3g}, same greedy transcripts "
            f"(inputs, state shapes and how to end an utterance in acoustic_step.json)"
        )
    elif args.step:
        from cnnlstm.deploy.sequence import export_sequence

        seq_report = export_sequence(model, example[:, 0], args.output)
        step_report = seq_report["step"]
        print(
            f"step.onnx: {step_report['steps_checked']} steps in onnxruntime, max |onnx - eager| = "
            f"{step_report['max_abs_diff']:.3g} (inputs and state shapes in step.json)"
        )
        print(
            f"sequence.onnx (any number of time steps): lengths {seq_report['lengths_checked']} in "
            f"onnxruntime, max |onnx - eager| = {seq_report['max_abs_diff']:.3g}"
        )
    return 0
