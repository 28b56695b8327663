"""Example inputs for any registered model, one recipe per task: what tests, the demo and docs feed a model.

A new task adds its recipe to ``_RECIPES``; every model of that task then gets example inputs, and
the registry-wide test suite (``tests/models/test_registry_suite.py``) can run it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from cnnlstm._validation import check_positive_int
from cnnlstm.models._registry import ModelInfo, model_info

__all__ = ["SEQ2SEQ_VOCAB", "example_inputs"]

Recipe = Callable[[tuple[int, ...], torch.Generator], tuple[Tensor, ...]]

SEQ2SEQ_VOCAB = 16
"""Example token ids of the ``seq2seq`` recipe lie in ``[0, SEQ2SEQ_VOCAB)``: build with ``num_classes >= 16``."""


def _token_pair(shape: tuple[int, ...], generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``(source (B, S), target (B, S + 1))``: ordinary ids in ``[4, 16)``, the source ending in ``EOS`` (2),
    the decoder input starting with ``BOS`` (1). Only the first two dimensions of ``shape`` are read."""
    batch, steps = shape[0], shape[1]
    words = torch.randint(4, SEQ2SEQ_VOCAB, (batch, steps), generator=generator)
    source = torch.cat([words[:, 1:], torch.full((batch, 1), 2)], dim=1)
    target = torch.cat([torch.ones(batch, 1, dtype=torch.long), words], dim=1)
    return source, target


_RECIPES: dict[str, Recipe] = {
    # logits from standard-normal frames or series
    "classification": lambda shape, generator: (torch.randn(shape, generator=generator),),
    # frames in [0, 1], the range of the forecasts (a sigmoid output)
    "forecasting": lambda shape, generator: (torch.rand(shape, generator=generator),),
    # log-mel features after per-utterance normalisation: standard normal (B, T, n_mels)
    "speech": lambda shape, generator: (torch.randn(shape, generator=generator),),
    # series normalised per channel (z-scores), as anomaly detectors read them
    "anomaly": lambda shape, generator: (torch.randn(shape, generator=generator),),
    # token ids: a source sentence and the teacher-forced decoder input
    "seq2seq": _token_pair,
}


def example_inputs(
    model: str | ModelInfo, batch_size: int = 2, *, seed: int = 0, nominal: bool = False
) -> tuple[Tensor, ...]:
    """The positional arguments of one forward call of a registered model, seeded.

    Args:
        model: a registered name or its :class:`ModelInfo`.
        batch_size: samples in the batch.
        seed: seed of the values (the same seed gives the same inputs).
        nominal: the model's nominal sample size (``input_size``) instead of the smaller
            ``test_input_size``.

    Example:
        >>> (x,) = example_inputs("lrcn_tiny", batch_size=3)
        >>> x.shape
        torch.Size([3, 6, 3, 32, 32])
    """
    info = model if isinstance(model, ModelInfo) else model_info(model)
    size = info.input_size if nominal else info.test_input_size
    shape = (check_positive_int("batch_size", batch_size), *size)
    return _RECIPES[info.task](shape, torch.Generator().manual_seed(seed))
