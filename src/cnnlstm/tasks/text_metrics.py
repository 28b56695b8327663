"""Translation quality on detokenised text: sacrebleu's BLEU (with its signature), chrF and TER,
exact match, character error rate, and the share of outputs that keep their source's placeholders.

BLEU is word-based: on one-word outputs (numbers written as one German word) it is 0 for a
perfect system, so exact match, chrF and CER are the metrics there.

Example:
    >>> scores = translation_scores(["das ist gut"], ["das ist gut"])
    >>> scores["exact_match"], scores["chrf"], scores["cer"]
    (1.0, 100.0, 0.0)
    >>> placeholder_survival(["Delete {0}?"], ["{0} löschen?"], pattern="[{][0-9][}]")
    1.0
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["placeholder_survival", "translation_scores"]

_INSTALL_HINT = 'translation metrics need sacrebleu: pip install "cnnlstm[text]"'


def _char_error_rate(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    from torchmetrics.functional.text import char_error_rate

    if not any(references):
        return 0.0 if not any(hypotheses) else 1.0
    return float(char_error_rate(list(hypotheses), list(references)))


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """Corpus-level ``bleu``, ``chrf``, ``ter`` (0-100, sacrebleu defaults), ``exact_match`` and ``cer``
    (0-1), and ``bleu_signature`` (sacrebleu's string naming tokenisation, smoothing and version)."""
    try:
        import sacrebleu
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        return {}
    hyps, refs = [h.strip() for h in hypotheses], [r.strip() for r in references]
    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    ter = sacrebleu.metrics.TER()
    return {
        "bleu": round(float(bleu.corpus_score(hyps, [refs]).score), 4),
        "chrf": round(float(chrf.corpus_score(hyps, [refs]).score), 4),
        "ter": round(float(ter.corpus_score(hyps, [refs]).score), 4),
        "exact_match": round(sum(h == r for h, r in zip(hyps, refs, strict=True)) / len(hyps), 6),
        "cer": round(_char_error_rate(hyps, refs), 6),
        "bleu_signature": str(bleu.get_signature()),
    }


def placeholder_survival(
    sources: Sequence[str], hypotheses: Sequence[str], *, pattern: str | re.Pattern[str]
) -> float | None:
    """Share of the sources with placeholders whose output keeps every one of them (as a multiset).

    ``pattern`` says what a placeholder is: the data's rule
    (:data:`cnnlstm.data.text_placeholders.PLACEHOLDER`, ``ParallelTextDataModule.placeholder_pattern``).
    None when no source has a placeholder.
    """
    find = re.compile(pattern)
    kept = total = 0
    for source, hypothesis in zip(sources, hypotheses, strict=True):
        wanted = sorted(find.findall(source))
        if not wanted:
            continue
        total += 1
        got = find.findall(hypothesis)
        kept += all(got.count(p) >= wanted.count(p) for p in set(wanted))
    return kept / total if total else None
