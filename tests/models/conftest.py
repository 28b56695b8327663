"""Shared setup of the model tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy machine idle OpenMP workers
    waiting for a descheduled one make step-by-step loops many times slower (a stepped LSTM up to
    50×). Every model test runs with one torch thread; the setting is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
