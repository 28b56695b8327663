"""Speech recognition with CTC: loss, greedy decoding, WER and CER.

Batches are dicts from :class:`cnnlstm.data.speech.SpeechDataModule` (after its
``on_after_batch_transfer``): ``x`` features ``(B, T, C)``, ``lengths`` ``(B,)``, ``targets``
``(B, S)`` label ids (0 = blank, never a target), ``target_lengths`` ``(B,)``, ``texts`` and
``paths``. The model returns log-probabilities ``(B, T', V)``.

Metrics: ``{val,test}/wer`` and ``/cer`` from torchmetrics (``WordErrorRate``,
``CharErrorRate``, reduced across devices); at the end of an evaluation the summary gets the same
figures from ``jiwer`` over every utterance of the split (``wer``, ``cer``, substitutions,
deletions, insertions), a few example transcripts, and a picture of the spectrogram with the
CTC best path under it for a few utterances.

Decoding is greedy (best path), or a lexicon-free CTC prefix beam search with ``decoder: beam``
(flashlight-text, ``pip install "cnnlstm[speech-beam]"``; no language model: its wheels have no
KenLM).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.text import CharErrorRate, WordErrorRate

from cnnlstm._validation import check_choice, check_positive_int
from cnnlstm.nn.ctc import ctc_beam_decode, ctc_best_path, ctc_greedy_decode, ctc_word_times
from cnnlstm.tasks.base import BaseTask
from cnnlstm.training.progress import log_learning_rate

__all__ = ["CTCTooShortError", "SpeechTask", "jiwer_scores"]

EXAMPLES = 4  # utterances drawn with their alignment, and transcripts kept in the summary


class CTCTooShortError(ValueError):
    """An utterance has fewer output frames than its transcript needs under CTC."""


def jiwer_scores(references: list[str], hypotheses: list[str]) -> dict[str, float | int]:
    """Corpus WER and CER with jiwer (edits over reference words / characters), and the word edit counts.

    Example:
        >>> scores = jiwer_scores(["one two three", "four"], ["one too three", ""])
        >>> scores["wer"], round(scores["cer"], 4), scores["substitutions"], scores["deletions"]  # 2/4 words, 5/17 chars
        (0.5, 0.2941, 1, 1)
    """
    import jiwer

    words = jiwer.process_words(references, hypotheses)
    chars = jiwer.process_characters(references, hypotheses)
    return {
        "wer": float(words.wer),
        "cer": float(chars.cer),
        "substitutions": int(words.substitutions),
        "deletions": int(words.deletions),
        "insertions": int(words.insertions),
        "words": sum(len(r.split()) for r in references),
    }


class SpeechTask(BaseTask):
    """CTC training of a registered speech model; greedy transcripts; WER/CER.

    Args:
        name: a registered speech model (``cnnlstm models '*ctc*'``).
        decoder: ``"greedy"`` (best path) or ``"beam"`` (prefix beam search, flashlight-text).
        beam_size: hypotheses kept per frame by the beam search.
        class_names: the vocabulary, blank first (linked from the data; stored in checkpoints).
        **kwargs: see :class:`~cnnlstm.tasks.base.BaseTask` (``num_classes`` is the vocabulary size).

    Example:
        >>> task = SpeechTask(name="cnn_bilstm_ctc_tiny", num_classes=5, input_shape=[40, 16],
        ...                   class_names=["<blank>", " ", "a", "b", "c"])
        >>> task(torch.randn(2, 40, 16)).shape
        torch.Size([2, 10, 5])
        >>> task.decode(torch.log_softmax(torch.randn(1, 10, 5), -1))[0].count("<blank>")
        0
    """

    def __init__(
        self,
        *,
        name: str = "cnn_bilstm_ctc_tiny",
        decoder: str = "greedy",
        beam_size: int = 16,
        **kwargs: Any,
    ) -> None:
        self.decoder = check_choice("decoder", decoder, ("greedy", "beam"))
        self.beam_size = check_positive_int("beam_size", beam_size)
        super().__init__(name=name, **kwargs)
        self.vocabulary: list[str] = list(self.hparams.get("class_names") or [])
        self.transcripts: dict[str, tuple[list[str], list[str]]] = {}
        self.examples: dict[str, dict[str, Any]] = {}
        self.scores: dict[str, dict[str, float | int]] = {}

    # -- building blocks ----------------------------------------------------------------------------
    def configure_losses(self) -> None:
        self.criterion = nn.CTCLoss(blank=0, reduction="mean", zero_infinity=False)

    def configure_metrics(self) -> None:
        metrics = MetricCollection({"wer": WordErrorRate(), "cer": CharErrorRate()})
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.model(x, lengths)

    def output_mismatch(self, out: Tensor, data: Any) -> str | None:
        if out.dim() != 3 or out.shape[0] != 2 or out.shape[-1] != data.num_classes:
            return (
                f"outputs {tuple(out.shape)} for a batch of 2 but CTC needs (2, T', {data.num_classes}) for the "
                "data's vocabulary; choose a speech model (cnnlstm models '*ctc*')"
            )
        return None

    def decode(self, log_probs: Tensor, lengths: Tensor | None = None) -> list[str]:
        """Transcripts of ``log_probs`` ``(B, T', V)`` (greedy or beam search, see ``decoder``)."""
        vocabulary = self.vocabulary
        if self.decoder == "beam":
            space = vocabulary.index(" ") if " " in vocabulary else None
            labels = ctc_beam_decode(log_probs, lengths, beam_size=self.beam_size, space_id=space)
        else:
            labels = ctc_greedy_decode(log_probs, lengths)
        texts = ("".join(vocabulary[i] if i < len(vocabulary) else "?" for i in ids) for ids in labels)
        return [" ".join(text.split()) for text in texts]  # no leading, trailing or doubled spaces

    def _output_lengths(self, lengths: Tensor) -> Tensor:
        output_lengths = cast(Callable[[Tensor], Tensor], self.model.output_lengths)
        return output_lengths(lengths)

    def _check_lengths(self, out_lengths: Tensor, batch: dict[str, Any]) -> None:
        targets, target_lengths = batch["targets"], batch["target_lengths"]
        steps = torch.arange(targets.shape[1], device=targets.device)[None]
        repeats = ((targets[:, 1:] == targets[:, :-1]) & (steps[:, 1:] < target_lengths[:, None])).sum(dim=1)
        short = (out_lengths < target_lengths + repeats).nonzero().flatten().tolist()
        if short:
            k = short[0]
            raise CTCTooShortError(
                f"utterance {batch['paths'][k]!r} has {int(out_lengths[k])} output frames but its transcript "
                f"{batch['texts'][k]!r} needs {int(target_lengths[k] + repeats[k])} under CTC; check its "
                "audio and transcript (cnnlstm data check lists such files), or drop it"
            )

    # -- steps --------------------------------------------------------------------------------------
    def _shared_step(self, batch: dict[str, Any], split: str, batch_idx: int) -> Tensor:
        log_probs = self(batch["x"], batch["lengths"])
        out_lengths = self._output_lengths(batch["lengths"])
        self._check_lengths(out_lengths, batch)
        # CTC in float32 (log-probabilities may be half precision under autocast); (T', B, V) layout
        loss = self.criterion(
            log_probs.float().transpose(0, 1), batch["targets"], out_lengths, batch["target_lengths"]
        )
        if split == "train":
            self.check_loss(loss, batch_idx)
        size = len(batch["texts"])
        self.log(
            f"{split}/loss",
            loss,
            on_step=split == "train",
            on_epoch=True,
            prog_bar=True,
            batch_size=size,
            sync_dist=True,
        )
        if split != "train":
            hypotheses = self.decode(log_probs, out_lengths)
            metrics = getattr(self, f"{split}_metrics")
            metrics.update(hypotheses, batch["texts"])
            self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=True, batch_size=size)
            refs, hyps = self.transcripts.setdefault(split, ([], []))
            refs.extend(batch["texts"])
            hyps.extend(hypotheses)
            if batch_idx == 0:
                self._keep_examples(split, batch, log_probs, out_lengths, hypotheses)
        return loss

    def _keep_examples(
        self, split: str, batch: dict[str, Any], log_probs: Tensor, out_lengths: Tensor, hypotheses: list[str]
    ) -> None:
        n = min(EXAMPLES, len(hypotheses))
        self.examples[split] = {
            "features": [batch["x"][k, : int(batch["lengths"][k])].float().cpu() for k in range(n)],
            "paths": ctc_best_path(log_probs[:n], out_lengths[:n]),
            "references": batch["texts"][:n],
            "hypotheses": hypotheses[:n],
            "names": [Path(p).name for p in batch["paths"][:n]],
        }

    def on_train_epoch_start(self) -> None:
        log_learning_rate(self)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train", batch_idx)

    def on_validation_epoch_start(self) -> None:
        self.transcripts.pop("val", None)

    def on_test_epoch_start(self) -> None:
        self.transcripts.pop("test", None)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "val", batch_idx)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "test", batch_idx)

    def _finish(self, split: str) -> None:
        refs, hyps = self.transcripts.get(split, ([], []))
        if refs:
            self.scores[split] = jiwer_scores(refs, hyps)

    def on_validation_epoch_end(self) -> None:
        self._finish("val")

    def on_test_epoch_end(self) -> None:
        self._finish("test")

    def evaluation_artifacts(self, split: str, root: Path) -> dict[str, Any]:
        """summary.json gets jiwer's WER/CER over the split, example transcripts and the alignment picture."""
        out: dict[str, Any] = {}
        if split in self.scores:
            out["jiwer"] = self.scores[split]
        example = self.examples.get(split)
        if example is not None:
            from cnnlstm.training.plots import plot_ctc_alignment

            picture = plot_ctc_alignment(
                **example,
                vocabulary=self.vocabulary,
                subsampling=self._subsampling(),
                path=root / f"alignment_{split}.png",
            )
            out["pictures"] = [picture.name]
            out["examples"] = [
                {"file": name, "reference": ref, "hypothesis": hyp}
                for name, ref, hyp in zip(
                    example["names"], example["references"], example["hypotheses"], strict=True
                )
            ]
        return out

    def _subsampling(self) -> int:
        return int(getattr(self.model, "subsampling", 1))

    # -- prediction ---------------------------------------------------------------------------------
    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        log_probs = self(batch["x"], batch["lengths"])
        out_lengths = self._output_lengths(batch["lengths"])
        out: dict[str, Any] = {
            "transcripts": self.decode(log_probs, out_lengths),
            "paths": list(batch["paths"]),
        }
        if batch.get("texts") and any(batch["texts"]):
            out["references"] = list(batch["texts"])
        frame_seconds = batch.get("frame_seconds")
        if frame_seconds:
            seconds = float(frame_seconds) * self._subsampling()
            space = self.vocabulary.index(" ") if " " in self.vocabulary else None
            out["words"] = [
                [
                    (
                        "".join(self.vocabulary[i] for i in labels),
                        round(start * seconds, 3),
                        round(end * seconds, 3),
                    )
                    for labels, start, end in ctc_word_times(path, space_id=space)
                ]
                for path in ctc_best_path(log_probs, out_lengths)
            ]
        return out
