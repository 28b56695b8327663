"""CTC decoding: the greedy (best-path) label sequence and its alignment to output frames.

The best path is the argmax token of every output frame; collapsing repeats and removing blanks
(id 0) gives the labels. :func:`ctc_word_times` turns the same path into words with start and
end frames (a word runs from the first frame of its first character to the last frame of its
last one; ``space_id`` separates words), which times words in seconds given the frame duration.

Example:
    >>> log_probs = torch.log(torch.tensor([[[.1, .9, 0], [.1, .9, 0], [.9, .1, 0], [.1, .9, 0], [.1, 0, .9]]]))
    >>> ctc_greedy_decode(log_probs)
    [[1, 1, 2]]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["ctc_beam_decode", "ctc_best_path", "ctc_greedy_decode", "ctc_word_times"]


def ctc_best_path(log_probs: Tensor, lengths: Tensor | None = None) -> list[list[int]]:
    """The argmax token per valid frame of ``log_probs`` ``(B, T, V)``, one list per utterance."""
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (B, T, V); received {tuple(log_probs.shape)}")
    best = log_probs.argmax(dim=-1).cpu()
    if lengths is None:
        return best.tolist()
    return [row[: int(n)].tolist() for row, n in zip(best, torch.as_tensor(lengths).cpu(), strict=True)]


def _collapse(path: Sequence[int], blank: int) -> list[int]:
    out, previous = [], None
    for token in path:
        if token != previous and token != blank:
            out.append(token)
        previous = token
    return out


def ctc_greedy_decode(log_probs: Tensor, lengths: Tensor | None = None, *, blank: int = 0) -> list[list[int]]:
    """Greedy CTC decoding of ``log_probs`` ``(B, T, V)``: best path, repeats merged, blanks removed."""
    return [_collapse(path, blank) for path in ctc_best_path(log_probs, lengths)]


def ctc_word_times(
    path: Sequence[int], *, space_id: int | None, blank: int = 0
) -> list[tuple[list[int], int, int]]:
    """Words of a best path as ``(labels, first_frame, end_frame)`` (end exclusive).

    Example:
        >>> ctc_word_times([0, 3, 3, 0, 4, 1, 0, 5, 0], space_id=1)
        [([3, 4], 1, 5), ([5], 7, 8)]
    """
    words: list[tuple[list[int], int, int]] = []
    labels: list[int] = []
    start = end = 0
    previous = None
    for frame, token in enumerate(path):
        new = token != previous
        previous = token
        if token == blank:
            continue
        if token == space_id:
            if labels:
                words.append((labels, start, end))
                labels = []
            continue
        if new:
            if not labels:
                start = frame
            labels.append(token)
        end = frame + 1
    if labels:
        words.append((labels, start, end))
    return words


def ctc_beam_decode(
    log_probs: Tensor,
    lengths: Tensor | None = None,
    *,
    beam_size: int = 16,
    beam_threshold: float = 25.0,
    blank: int = 0,
    space_id: int | None = None,
) -> list[list[int]]:
    """Lexicon-free CTC beam search (flashlight-text's decoder, no language model).

    ``pip install "cnnlstm[speech-beam]"``. Keeps the ``beam_size`` best label prefixes per frame
    (scores within ``beam_threshold`` of the best); returns the best hypothesis per utterance,
    repeats merged and blanks removed, like :func:`ctc_greedy_decode`. The flashlight-text wheels
    are built without KenLM, so no n-gram language model is offered here.

    Example:
        >>> log_probs = torch.log_softmax(torch.randn(1, 12, 5), dim=-1)
        >>> all(0 < t < 5 for t in ctc_beam_decode(log_probs)[0])
        True
    """
    try:
        from flashlight.lib.text.decoder import (
            CriterionType,
            LexiconFreeDecoder,
            LexiconFreeDecoderOptions,
            ZeroLM,
        )
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            'CTC beam search needs flashlight-text: pip install "cnnlstm[speech-beam]"'
        ) from err
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (B, T, V); received {tuple(log_probs.shape)}")
    options = LexiconFreeDecoderOptions(
        beam_size=int(beam_size),
        beam_size_token=log_probs.shape[-1],
        beam_threshold=float(beam_threshold),
        lm_weight=0.0,
        sil_score=0.0,
        log_add=True,  # a prefix scores the sum over its paths
        criterion_type=CriterionType.CTC,
    )
    silence = space_id if space_id is not None else blank
    decoder = LexiconFreeDecoder(options, ZeroLM(), silence, blank, [])
    emissions = log_probs.detach().float().cpu().contiguous()
    steps = lengths.cpu().tolist() if lengths is not None else [emissions.shape[1]] * emissions.shape[0]
    out = []
    for b in range(emissions.shape[0]):
        frames = int(steps[b])
        pointer = emissions.data_ptr() + b * emissions.stride(0) * emissions.element_size()
        results = decoder.decode(pointer, frames, emissions.shape[-1])
        # the hypothesis holds a start token, then one token per frame, then an end token
        out.append(_collapse(list(results[0].tokens)[1 : frames + 1], blank) if results else [])
    return out
