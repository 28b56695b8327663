"""Export a translator as two ONNX graphs: the encoder, and one decoder step.

``encoder.onnx``: ``source`` ``(B, S)`` int64 → ``keys``, ``values`` ``(B, S, A)``, ``mask``
``(B, S)`` bool and the decoder's initial state ``h``, ``c`` ``(L, B, H)``, ``feed`` ``(B, E)``.
``decoder_step.onnx``: ``token`` ``(B,)``, ``h``, ``c``, ``feed``, ``keys``, ``values``, ``mask``
→ ``logits`` ``(B, V)``, ``new_h``, ``new_c``, ``new_feed`` and the ``attention`` ``(B, S)``. Batch and
source length are free. A model with the copy mechanism (``copy=True``) has one more step input,
``source`` ``(B, S)`` int64 (the token ids the encoder read, padded alike), and its ``logits`` are
log-probabilities (softmax or argmax of them reads the same as of logits). A deployment runs
the encoder once and the step once per output token, feeding back the state, exactly as
:func:`cnnlstm.models.decoding.greedy_decode` does; :func:`export_translator` checks that loop in onnxruntime against the eager greedy decode over
whole sentences (the same tokens, logits within ``tolerance``) and writes ``translation.json``
(file names, shapes, special ids, the tokeniser as JSON, the placeholder rule, the check's figures).

A model trained with placeholder protection reads masked text: a deployment masks each source
with ``translation.json``'s ``placeholders`` rule before tokenising and restores the source's
placeholders in the output (:class:`cnnlstm.data.text_placeholders.PlaceholderMasker`,
``PlaceholderMasker.from_json(rule)``; ``null``: no protection).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cnnlstm._io import atomic_write_json
from cnnlstm.deploy._common import quiet_exporter, require
from cnnlstm.models.decoding import greedy_decode, length_limits
from cnnlstm.models.translation import BOS, EOS, PAD, DecoderState, Memory, Translator

__all__ = ["export_translator", "onnx_greedy_decode"]

STATE = ["h", "c", "feed"]
NEW_STATE = [f"new_{n}" for n in STATE]
MEMORY = ["keys", "values", "mask"]


class _Encoder(nn.Module):
    def __init__(self, model: Translator) -> None:
        super().__init__()
        self.model = model

    def forward(self, source: Tensor) -> tuple[Tensor, ...]:
        memory = self.model.encoder(source)
        return (*memory[: len(MEMORY)], *self.model.decoder.init_state(memory))


class _Step(nn.Module):
    def __init__(self, model: Translator) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(
        self, token: Tensor, h: Tensor, c: Tensor, feed: Tensor, *memory: Tensor
    ) -> tuple[Tensor, ...]:
        """``memory``: keys, values, mask, and with copy the source ids."""
        logits, state, attention = self.decoder.step(token, DecoderState(h, c, feed), Memory(*memory))
        return (logits, *state, attention)


def onnx_greedy_decode(
    encoder: Any, step: Any, source: np.ndarray, *, max_len_a: float = 1.5, max_len_b: int = 10
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Greedy decoding with two onnxruntime sessions; ``(tokens (B, T), logits per step)``.

    The same rules as :func:`~cnnlstm.models.decoding.greedy_decode`: never ``PAD`` or ``BOS``,
    ``EOS`` forced at each sentence's length limit, ``PAD`` after ``EOS``.
    """
    fixed = encoder.get_inputs()[0].shape[1]
    if isinstance(fixed, int) and source.shape[1] != fixed:  # an encoder unrolled for one length (BiLSTM)
        if source.shape[1] > fixed:
            raise ValueError(
                f"this encoder takes sources of at most {fixed} tokens; received {source.shape[1]}"
            )
        source = np.pad(source, ((0, 0), (0, fixed - source.shape[1])), constant_values=PAD)
    keys, values, mask, h, c, feed = encoder.run(None, {"source": source})
    memory = {"keys": keys, "values": values, "mask": mask}
    if "source" in {i.name for i in step.get_inputs()}:  # a copying decoder reads the source ids
        memory["source"] = source
    limits = length_limits(torch.from_numpy(source), max_len_a, max_len_b).numpy()
    batch = source.shape[0]
    token = np.full((batch,), BOS, dtype=np.int64)
    done = np.zeros(batch, dtype=bool)
    tokens, all_logits = [], []
    for t in range(int(limits.max())):
        feeds = {"token": token, "h": h, "c": c, "feed": feed, **memory}
        logits, h, c, feed, _ = step.run(None, feeds)
        all_logits.append(logits)
        choice = logits.copy()
        choice[:, [PAD, BOS]] = -np.inf
        token = choice.argmax(-1).astype(np.int64)
        token = np.where(limits <= t + 1, EOS, token)
        token = np.where(done, PAD, token)
        tokens.append(token)
        done = done | (token == EOS)
        if done.all():
            break
    return np.stack(tokens, 1), all_logits


def export_translator(
    model: Translator,
    output_dir: str | Path,
    *,
    example_source: Tensor | None = None,
    model_name: str = "",
    model_kwargs: dict[str, Any] | None = None,
    tokenizer: dict[str, Any] | None = None,
    placeholders: dict[str, Any] | None = None,
    source_len: int | None = None,
    max_len_a: float = 1.5,
    max_len_b: int = 10,
    tolerance: float = 1e-4,
) -> dict[str, Any]:
    """Write ``encoder.onnx``, ``decoder_step.onnx`` and ``translation.json``; check them in onnxruntime.

    A convolutional encoder takes any source length. A recurrent one (BiLSTM) is unrolled for the
    length it is traced with: give ``source_len`` (the data's ``max_source_tokens``); shorter
    sources are padded to it (padding changes no output), and ``translation.json`` records it.

    ``example_source`` ``(B, S)`` (default: three random padded sentences) is decoded greedily
    by both the eager model and the ONNX loop; a different token or a logit further than
    ``tolerance`` raises ``RuntimeError``.

    Example:
        >>> import tempfile
        >>> from cnnlstm import create_model
        >>> model = create_model("conv_lstm_translator_tiny", num_classes=20)
        >>> report = export_translator(model, tempfile.mkdtemp(), max_len_b=4)
        >>> report["same_tokens"], report["max_abs_logit_diff"] < 1e-4
        (True, True)
    """
    ort = require("onnxruntime", "checking the exported translator")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model = model.eval()
    if example_source is None:
        generator = torch.Generator().manual_seed(0)
        example_source = torch.randint(4, model.num_classes, (3, 7), generator=generator)
        example_source[:, -1] = EOS
        example_source[1, 4:] = PAD
        example_source[1, 3] = EOS
    if source_len is not None and source_len > example_source.shape[1]:
        pad = source_len - example_source.shape[1]
        example_source = nn.functional.pad(example_source, (0, pad), value=PAD)
    copy = bool(getattr(model.decoder, "copy", False))
    step_inputs = ["token", *STATE, *MEMORY, *(["source"] if copy else [])]
    batch, steps = torch.export.Dim("batch"), torch.export.Dim("source_len")
    with torch.no_grad(), quiet_exporter():
        torch.onnx.export(
            _Encoder(model).eval(),
            (example_source,),
            str(out / "encoder.onnx"),
            dynamo=True,
            verbose=False,
            input_names=["source"],
            output_names=[*MEMORY, *STATE],
            dynamic_shapes=({0: batch, 1: steps},),
        )
        memory = model.encoder(example_source)
        state = model.decoder.init_state(memory)
        token = torch.full((example_source.shape[0],), BOS, dtype=torch.long)
        step_memory = [*memory[: len(MEMORY)], *([example_source] if copy else [])]
        torch.onnx.export(
            _Step(model).eval(),
            (token, *state, *step_memory),
            str(out / "decoder_step.onnx"),
            dynamo=True,
            verbose=False,
            input_names=step_inputs,
            output_names=["logits", *NEW_STATE, "attention"],
            dynamic_shapes=(
                {0: batch},
                {1: batch},
                {1: batch},
                {0: batch},
                tuple({0: batch, 1: steps} for _ in step_memory),
            ),
        )
    options = {"providers": ["CPUExecutionProvider"]}
    encoder = ort.InferenceSession(str(out / "encoder.onnx"), **options)
    step = ort.InferenceSession(str(out / "decoder_step.onnx"), **options)
    tokens, logits = onnx_greedy_decode(
        encoder, step, example_source.numpy(), max_len_a=max_len_a, max_len_b=max_len_b
    )
    eager = greedy_decode(model, example_source, max_len_a=max_len_a, max_len_b=max_len_b)
    fixed = encoder.get_inputs()[0].shape[1]
    same = tokens.shape == tuple(eager.tokens.shape) and bool((tokens == eager.tokens.numpy()).all())
    worst = _eager_logit_gap(model, example_source, eager.tokens, logits)
    model.train(was_training)
    report: dict[str, Any] = {
        "model_name": model_name,
        "model_kwargs": model_kwargs or {},
        "files": {"encoder": "encoder.onnx", "decoder_step": "decoder_step.onnx"},
        "encoder": {
            "inputs": {"source": ["batch", fixed if isinstance(fixed, int) else "source_len"]},
            "outputs": [*MEMORY, *STATE],
        },
        "source_len": fixed if isinstance(fixed, int) else "any (pad shorter sources with pad_id)",
        "decoder_step": {
            "inputs": step_inputs,
            "outputs": ["logits", *NEW_STATE, "attention"],
            # copy: "logits" are the pointer-generator's log-probabilities
            "logits": "log_probabilities" if copy else "logits",
        },
        "copy": copy,
        "special_ids": {"pad": PAD, "bos": BOS, "eos": EOS, "unk": 3},
        "decoding": {"max_len_a": max_len_a, "max_len_b": max_len_b, "never_output": ["pad", "bos"]},
        "tokenizer": tokenizer,
        "placeholders": placeholders,
        "checked_sentences": int(example_source.shape[0]),
        "checked_steps": len(logits),
        "same_tokens": same,
        "max_abs_logit_diff": worst,
    }
    atomic_write_json(out / "translation.json", report)
    if not same or worst > tolerance:
        raise RuntimeError(
            f"the ONNX greedy decode differs from eager (same tokens: {same}, largest logit difference "
            f"{worst:.3g}, tolerance {tolerance})"
        )
    return report


def _eager_logit_gap(
    model: Translator, source: Tensor, tokens: Tensor, onnx_logits: list[np.ndarray]
) -> float:
    """Largest |onnx - eager| logit over the decode, the eager logits from teacher forcing the tokens."""
    inputs = torch.cat([torch.full((source.shape[0], 1), BOS), tokens[:, :-1]], dim=1)
    with torch.no_grad():
        eager = model(source, inputs)  # (B, T, V)
    worst = 0.0
    for t, logits in enumerate(onnx_logits):
        alive = tokens[:, t] != PAD  # rows still decoding at step t
        diff = (torch.from_numpy(logits) - eager[:, t]).abs()[alive]
        worst = max(worst, float(diff.max()) if diff.numel() else 0.0)
    return worst
