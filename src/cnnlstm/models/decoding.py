"""Batched greedy and beam-search decoding for :class:`~cnnlstm.models.translation.Translator`.

Both run the decoder's ``init_state`` / ``step`` (the functions teacher-forced training runs),
one token per step for the whole batch, and stop a sentence at ``EOS`` or at its length limit
``max_len_a * source_length + max_len_b`` (the source's own length, without padding). Both take
``log_softmax`` of the step's output: logits, or a copying decoder's log-probabilities (which
``log_softmax`` leaves as they are).

Example:
    >>> from cnnlstm.models.translation import Translator
    >>> model = Translator(num_classes=12, embed_dim=8, hidden_size=8, channels=8).eval()
    >>> source = torch.tensor([[5, 6, 7, 2], [8, 2, 0, 0]])
    >>> greedy_decode(model, source, max_len_b=3).tokens.shape[0]
    2
    >>> beam_search(model, source, beam_size=3, max_len_b=3).tokens.shape[0]
    2
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from cnnlstm._validation import check_non_negative_float, check_non_negative_int, check_positive_int
from cnnlstm.models.translation import BOS, EOS, PAD, Memory, Translator

__all__ = ["Decoded", "beam_search", "greedy_decode", "length_limits"]


class Decoded(NamedTuple):
    """``tokens`` ``(B, T)`` (each row ends in ``EOS`` or at its limit, then ``PAD``), ``scores`` ``(B,)``
    (summed log-probabilities), ``attention`` ``(B, T, S)`` (greedy only, else None)."""

    tokens: Tensor
    scores: Tensor
    attention: Tensor | None


def length_limits(source: Tensor, max_len_a: float, max_len_b: int) -> Tensor:
    """Each sentence's most output tokens (``EOS`` included): ``a * source length + b``, at least 1."""
    lengths = source.ne(PAD).sum(1).to(torch.float32)
    return (
        (
            lengths * check_non_negative_float("max_len_a", max_len_a)
            + check_non_negative_int("max_len_b", max_len_b)
        )
        .floor()
        .long()
        .clamp(min=1)
    )


@torch.no_grad()
def greedy_decode(
    model: Translator, source: Tensor, *, max_len_a: float = 1.5, max_len_b: int = 10
) -> Decoded:
    """The most likely token at each step, for the whole batch ``source`` ``(B, S)``."""
    memory = model.encode(source)
    state = model.decoder.init_state(memory)
    limits = length_limits(source, max_len_a, max_len_b)
    batch = source.shape[0]
    token = torch.full((batch,), BOS, dtype=torch.long, device=source.device)
    done = torch.zeros(batch, dtype=torch.bool, device=source.device)
    scores = torch.zeros(batch, device=source.device)
    tokens, weights = [], []
    for t in range(int(limits.max())):
        logits, state, attention = model.decoder.step(token, state, memory)
        logp = _never_pad_or_bos(torch.log_softmax(logits.float(), dim=-1))
        token = logp.argmax(-1)
        token = torch.where(limits <= t + 1, torch.full_like(token, EOS), token)  # the limit reached: end
        scores = scores + torch.where(done, 0.0, logp.gather(1, token[:, None])[:, 0])
        token = torch.where(done, torch.full_like(token, PAD), token)
        tokens.append(token)
        weights.append(attention * (~done)[:, None])
        done = done | token.eq(EOS)
        if bool(done.all()):
            break
    return Decoded(torch.stack(tokens, 1), scores, torch.stack(weights, 1))


def _never_pad_or_bos(logp: Tensor) -> Tensor:
    """Log-probabilities with ``PAD`` and ``BOS`` ruled out: neither is ever an output token."""
    return logp.index_fill(-1, torch.tensor([PAD, BOS], device=logp.device), float("-inf"))


def _repeat(memory: Memory, k: int) -> Memory:
    """Each sentence's memory ``k`` times in a row (its beam), the source ids included when present."""
    keys, values, mask = (m.repeat_interleave(k, dim=0) for m in memory[:3])
    source = None if memory.source is None else memory.source.repeat_interleave(k, dim=0)
    return Memory(keys, values, mask, source)


@torch.no_grad()
def beam_search(
    model: Translator,
    source: Tensor,
    *,
    beam_size: int = 5,
    length_penalty: float = 1.0,
    max_len_a: float = 1.5,
    max_len_b: int = 10,
) -> Decoded:
    """Beam search over the batch: ``beam_size`` hypotheses per sentence, all in one decoder batch.

    Finished hypotheses stay in the beam (extended by ``PAD`` at no cost); the best final one
    maximises ``score / ((5 + length) / 6) ** length_penalty`` (Wu et al. 2016; 0 ranks by score).
    """
    k = check_positive_int("beam_size", beam_size)
    alpha = check_non_negative_float("length_penalty", length_penalty)
    batch, device = source.shape[0], source.device
    memory = _repeat(model.encode(source), k)
    state = model.decoder.init_state(memory)
    limits = length_limits(source, max_len_a, max_len_b).repeat_interleave(k)
    token = torch.full((batch * k,), BOS, dtype=torch.long, device=device)
    scores = torch.zeros(batch, k, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: keep one
    done = torch.zeros(batch * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch * k, device=device)
    history = torch.zeros(batch * k, 0, dtype=torch.long, device=device)
    offsets = (torch.arange(batch, device=device) * k)[:, None]
    for t in range(int(limits.max())):
        logits, state, _ = model.decoder.step(token, state, memory)
        logp = _never_pad_or_bos(torch.log_softmax(logits.float(), dim=-1))  # (B*K, V)
        vocab = logp.shape[-1]
        at_limit = limits <= t + 1
        forced = torch.full_like(logp, float("-inf"))
        forced[:, EOS] = logp[:, EOS]
        logp = torch.where(at_limit[:, None], forced, logp)
        finished = torch.full_like(logp, float("-inf"))
        finished[:, PAD] = 0.0
        logp = torch.where(done[:, None], finished, logp)
        candidates = (scores.view(-1, 1) + logp).view(batch, k * vocab)
        scores, flat = candidates.topk(k, dim=-1)  # (B, K)
        rows = (offsets + torch.div(flat, vocab, rounding_mode="floor")).view(-1)
        token = (flat % vocab).view(-1)
        state = model.decoder.reorder_state(state, rows)
        history = torch.cat([history[rows], token[:, None]], dim=1)
        was_done = done[rows]
        lengths = lengths[rows] + (~was_done).float()
        done = was_done | token.eq(EOS)
        if bool(done.all()):
            break
    normalised = scores / ((5.0 + lengths.view(batch, k)) / 6.0) ** alpha
    best = normalised.argmax(-1)
    pick = (offsets[:, 0] + best).view(-1)
    return Decoded(history[pick], scores.gather(1, best[:, None])[:, 0], None)
