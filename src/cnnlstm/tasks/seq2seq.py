"""Translation (sequence to sequence): teacher-forced label-smoothed cross-entropy, decoded metrics.

Batches are ``(source (B, S), target (B, T), source_lengths)`` of token ids (see
:mod:`cnnlstm.data.text`): the model reads ``target[:, :-1]`` and is scored on ``target[:, 1:]``,
padding masked. A model with the copy mechanism (``model_kwargs: {copy: true}``) returns
log-probabilities where other models return logits; the cross-entropy's ``log_softmax`` leaves
them as they are, so the loss, label smoothing included, is the same code. Validation and test also translate every source (greedy, or beam search with
``beam_size > 1``) and score the detokenised output against the original reference text with
sacrebleu (BLEU and its signature, chrF, TER), exact match and CER; a few sample translations
are printed each validation epoch and kept in ``summary.json``; the test split's attention
matrices of the first sentences are drawn as heat maps in the run folder.

The tokeniser comes from the data module (``trainer.datamodule.tokenizer``); a checkpoint keeps
it as JSON under ``checkpoint["cnnlstm"]["preprocessing"]["tokenizer"]`` (written by the run's
:class:`~cnnlstm.training.preprocessing.PreprocessingCallback`), and evaluating or translating
with a checkpoint refuses a data module whose tokeniser differs.

Placeholders: when the data module masks them (``protect_placeholders``, see
:mod:`cnnlstm.data.text_placeholders`), every decoded translation goes through its
``restore_placeholders(translation, source)`` before it is scored or written; the checkpoint
stores the rule (``preprocessing["placeholders"]``) and a data module with another rule is
refused. Validation and test log the share of masked source placeholders the outputs dropped and
the marks they invented (removed, never filled in); ``predict`` returns them per sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._validation import (
    check_non_negative_float,
    check_non_negative_int,
    check_positive_int,
    check_probability,
)
from cnnlstm.models.decoding import beam_search, greedy_decode
from cnnlstm.models.translation import BOS, PAD, Translator
from cnnlstm.tasks.base import BaseTask
from cnnlstm.tasks.text_metrics import placeholder_survival, translation_scores
from cnnlstm.training.progress import log_learning_rate

__all__ = ["Seq2SeqTask"]


def _rule(rule: dict[str, Any]) -> str:
    """A placeholder rule in words: ``off`` or ``on, N reserved tokens``."""
    return "off" if rule.get("off") else f"on, {rule.get('slots')} reserved tokens"


class Seq2SeqTask(BaseTask):
    """Translation with a registered ``seq2seq`` model (``conv_lstm_translator``, ``bilstm_translator``).

    Logs ``{train,val,test}/loss`` (label-smoothed, per target token) and, for val and test,
    ``/bleu``, ``/chrf``, ``/ter``, ``/exact_match``, ``/cer`` and ``/placeholders`` (the share of
    outputs keeping every placeholder of a source that has one); with placeholder protection also
    ``/placeholders_dropped`` (share of masked source placeholders missing from the outputs) and
    ``/placeholders_invented`` (marks of indices the source lacks, per output).

    Args:
        label_smoothing: cross-entropy label smoothing in [0, 1].
        beam_size: 1 decodes greedily; more runs beam search in validation, test and predict.
        length_penalty: beam search's length normalisation exponent.
        max_len_a, max_len_b: an output has at most ``a * source length + b`` tokens.
        samples: sample translations printed each validation epoch.
        attention_pictures: test sentences whose attention is drawn.
        **kwargs: see :class:`~cnnlstm.tasks.base.BaseTask`; ``num_classes`` is the vocabulary
            size, linked from the data by the CLI.

    Example:
        >>> task = Seq2SeqTask(name="conv_lstm_translator_tiny", num_classes=20)
        >>> task(torch.tensor([[5, 6, 2]])).shape  # one decoder step from BOS
        torch.Size([1, 1, 20])
    """

    def __init__(
        self,
        *,
        name: str = "conv_lstm_translator_tiny",
        label_smoothing: float = 0.1,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        max_len_a: float = 1.5,
        max_len_b: int = 10,
        samples: int = 3,
        attention_pictures: int = 3,
        **kwargs: Any,
    ) -> None:
        self.label_smoothing = check_probability("label_smoothing", label_smoothing)
        self.beam_size = check_positive_int("beam_size", beam_size)
        self.length_penalty = check_non_negative_float("length_penalty", length_penalty)
        self.max_len_a = check_non_negative_float("max_len_a", max_len_a)
        self.max_len_b = check_non_negative_int("max_len_b", max_len_b)
        self.num_samples = check_non_negative_int("samples", samples)
        self.attention_pictures = check_non_negative_int("attention_pictures", attention_pictures)
        kwargs.pop("class_names", None)  # linked by the CLI; a vocabulary has no class names
        super().__init__(name=name, **kwargs)
        self.translations: dict[
            str, list[tuple[str, str, str]]
        ] = {}  # split -> (source, hypothesis, reference)
        self.samples: dict[str, list[dict[str, str]]] = {}
        self.signature: dict[str, str] = {}
        self.checkpoint_tokenizer: dict[str, Any] | None = None
        self.checkpoint_placeholders: dict[str, Any] | None = None
        self.placeholder_issues: dict[
            str, list[tuple[int, int, int]]
        ] = {}  # split -> (masked, dropped, invented)
        self._attention: list[tuple[Tensor, list[int], list[int]]] = []
        self._predicted = 0  # predict: translations written so far (their sources' index)

    @property
    def translator(self) -> Translator:
        if not isinstance(self.model, Translator) and not isinstance(
            getattr(self.model, "_orig_mod", None), Translator
        ):
            raise TypeError(f"model {self.hparams['name']!r} is not a translator (task seq2seq)")
        return self.model  # type: ignore[return-value]

    def configure_losses(self) -> None:
        self.criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=self.label_smoothing)

    def _from_data(self, name: str) -> Any:
        """Attribute ``name`` of the trainer's data module; None without a data module or the attribute."""
        return getattr(getattr(self.trainer, "datamodule", None), name, None)

    # -- the tokeniser ---------------------------------------------------------------------------
    @property
    def tokenizer(self) -> Any:
        """The data module's tokeniser (duck-typed: ``decode``, ``pieces``, ``to_json``)."""
        tokenizer = self._from_data("tokenizer")
        if tokenizer is None:
            raise RuntimeError(
                "Seq2SeqTask needs a data module with a trained tokenizer (ParallelTextDataModule)"
            )
        return tokenizer

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        stored = (checkpoint.get("cnnlstm") or {}).get("preprocessing") or {}
        self.checkpoint_tokenizer = stored.get("tokenizer")
        if "placeholders" in stored:  # checkpoints from before placeholder protection have no rule
            self.checkpoint_placeholders = stored["placeholders"] or {"off": True}

    def _check_tokenizer(self) -> None:
        if self.checkpoint_placeholders is not None:  # first: a different rule also changes the tokenizer
            describe = self._from_data("preprocessing")
            rule = ((describe() if callable(describe) else {}) or {}).get("placeholders") or {"off": True}
            if rule != self.checkpoint_placeholders:
                raise ValueError(
                    f"the data's placeholder protection ({_rule(rule)}) differs from the checkpoint's "
                    f"({_rule(self.checkpoint_placeholders)}); set --data.protect_placeholders and "
                    "--data.max_placeholders as in the checkpoint's run (its config.yaml)"
                )
        if self.checkpoint_tokenizer is not None and self.checkpoint_tokenizer != self.tokenizer.to_json():
            raise ValueError(
                "the data's tokenizer differs from the one this checkpoint was trained with; use the "
                "training data and tokenizer settings of the checkpoint's run (its config.yaml)"
            )

    def _restore(self, translation: str, source: str) -> tuple[str, tuple[int, int, int]]:
        """``translation`` with its source's placeholders restored by the data module (when it masks
        them), and (masked, dropped, invented) counts."""
        restore = self._from_data("restore_placeholders")
        if restore is None:
            return translation, (0, 0, 0)
        restored = restore(translation, source)
        return restored.text, (restored.masked, len(restored.dropped), len(restored.invented))

    def on_test_start(self) -> None:
        self._check_tokenizer()

    def on_validation_start(self) -> None:
        if self.trainer.state.fn == "validate":
            self._check_tokenizer()

    def on_predict_start(self) -> None:
        self._check_tokenizer()

    # -- steps -----------------------------------------------------------------------------------
    def forward(self, source: Tensor, target: Tensor | None = None) -> Tensor:
        """Teacher-forced logits ``(B, T, V)``; without ``target``, one step from ``BOS`` ``(B, 1, V)``."""
        if target is None:
            target = torch.full((source.shape[0], 1), BOS, dtype=torch.long, device=source.device)
        return self.model(source, target)

    def output_mismatch(self, out: Tensor, data: Any) -> str | None:
        if out.dim() != 3 or out.shape[-1] != data.num_classes:
            return (
                f"outputs {tuple(out.shape)} but the data's vocabulary has {data.num_classes} tokens; remove a "
                "conflicting num_classes from --model.model_kwargs"
            )
        return None

    def _loss(self, batch: Any) -> tuple[Tensor, int]:
        source, target = batch[0], batch[1]
        logits = self.model(source, target[:, :-1])
        gold = target[:, 1:]
        loss = self.criterion(logits.flatten(0, 1), gold.flatten())
        return loss, int(gold.ne(PAD).sum())

    def on_train_epoch_start(self) -> None:
        log_learning_rate(self)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        loss, tokens = self._loss(batch)
        self.check_loss(loss, batch_idx)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=tokens)
        return loss

    def translate(self, source: Tensor) -> tuple[Tensor, Tensor | None]:
        """Output token ids ``(B, T)`` (and greedy's attention ``(B, T, S)``) for a source batch."""
        a, b = self.max_len_a, self.max_len_b
        if self.beam_size > 1:
            decoded = beam_search(
                self.translator,
                source,
                beam_size=self.beam_size,
                length_penalty=self.length_penalty,
                max_len_a=a,
                max_len_b=b,
            )
        else:
            decoded = greedy_decode(self.translator, source, max_len_a=a, max_len_b=b)
        return decoded.tokens, decoded.attention

    def _texts(self, split: str, count: int) -> list[tuple[str, str]]:
        """The next ``count`` original (source, reference) texts of the split's (unshuffled) dataset."""
        dataset = self._from_data(f"{split}_dataset")
        texts = getattr(dataset, "texts", [])
        start = len(self.translations.get(split, []))
        return [(p.source, p.target) for p in texts[start : start + count]]

    def _evaluate(self, batch: Any, split: str) -> None:
        loss, tokens = self._loss(batch)
        self.log(f"{split}/loss", loss, on_epoch=True, prog_bar=True, batch_size=tokens, sync_dist=True)
        source = batch[0]
        output, attention = self.translate(source)
        texts = self._texts("val" if split == "val" else "test", source.shape[0])
        for i, row in enumerate(output.tolist()):
            src, ref = texts[i] if i < len(texts) else ("", self.tokenizer.decode(batch[1][i].tolist()))
            hypothesis, counts = self._restore(self.tokenizer.decode(row), src)
            self.translations.setdefault(split, []).append((src, hypothesis, ref))
            self.placeholder_issues.setdefault(split, []).append(counts)
            if split == "test" and attention is not None and len(self._attention) < self.attention_pictures:
                n_src = int(source[i].ne(PAD).sum())
                n_out = int(output[i].ne(PAD).sum())
                self._attention.append(
                    (attention[i, :n_out, :n_src].cpu(), source[i, :n_src].tolist(), row[:n_out])
                )

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_validation_epoch_start(self) -> None:
        self.translations["val"] = []
        self.placeholder_issues["val"] = []

    def on_test_epoch_start(self) -> None:
        self.translations["test"] = []
        self.placeholder_issues["test"] = []
        self._attention = []

    def _finish(self, split: str) -> None:
        rows = self.translations.get(split) or []
        if not rows:
            return
        sources, hyps, refs = zip(*rows, strict=True)
        scores = translation_scores(hyps, refs)
        self.signature[split] = scores.pop("bleu_signature")
        pattern = self._from_data("placeholder_pattern")
        kept = placeholder_survival(sources, hyps, pattern=pattern) if pattern else None
        if kept is not None:
            scores["placeholders"] = kept
        issues = self.placeholder_issues.get(split) or []
        masked, dropped, invented = (sum(c[k] for c in issues) for k in range(3))
        if masked or invented:
            scores["placeholders_dropped"] = dropped / max(masked, 1)
            scores["placeholders_invented"] = invented / len(rows)
        self.log_dict({f"{split}/{k}": float(v) for k, v in scores.items()}, prog_bar=split == "val")
        self.samples[split] = [
            {"source": s, "output": h, "reference": r} for s, h, r in rows[: self.num_samples]
        ]
        if not self.trainer.sanity_checking:
            for sample in self.samples[split]:
                self.print(
                    f"  {sample['source']!r} -> {sample['output']!r} (reference {sample['reference']!r})"
                )

    def on_validation_epoch_end(self) -> None:
        self._finish("val")

    def on_test_epoch_end(self) -> None:
        self._finish("test")

    def on_predict_epoch_start(self) -> None:
        self._predicted = 0

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, Any]:
        """``{"translations": [...], "placeholder_issues": [...]}``: the translations with their
        sources' placeholders restored, and per translation the source placeholders it dropped and
        the marks it invented (``None`` where everything matched)."""
        output, _ = self.translate(batch[0])
        texts = getattr(self._from_data("predict_dataset"), "texts", [])
        restore = self._from_data("restore_placeholders")
        translations: list[str] = []
        issues: list[dict[str, list[int]] | None] = []
        for row in output.tolist():
            decoded = self.tokenizer.decode(row)
            source = texts[self._predicted].source if self._predicted < len(texts) else ""
            self._predicted += 1
            if restore is None:
                translations.append(decoded)
                issues.append(None)
                continue
            restored = restore(decoded, source)
            translations.append(restored.text)
            issues.append(
                None
                if restored.ok
                else {
                    "dropped": list(restored.dropped),
                    "invented": list(restored.invented),
                    "repeated": list(restored.repeated),
                }
            )
        return {"translations": translations, "placeholder_issues": issues}

    def evaluation_artifacts(self, split: str, root: Path) -> dict[str, Any]:
        """The split's samples, BLEU signature and (test) attention heat maps for summary.json."""
        out: dict[str, Any] = {"samples": self.samples.get(split, [])}
        if split in self.signature:
            out["bleu_signature"] = self.signature[split]
        if split == "test" and self._attention:
            from cnnlstm.training.plots import plot_attention

            pictures = []
            for k, (weights, source, output) in enumerate(self._attention):
                path = root / f"attention_{k}.png"
                pieces = [self._piece(i) for i in source]
                plot_attention(
                    weights, path, source_tokens=pieces, target_tokens=[self._piece(i) for i in output]
                )
                pictures.append(path.name)
            out["pictures"] = pictures
        return out

    def _piece(self, token: int) -> str:
        special = {0: "<pad>", 1: "<s>", 2: "</s>", 3: "<unk>"}
        return special.get(token) or self.tokenizer.decode([token]) or "▁"
