"""Deprecated location of :mod:`cnnlstm.training.callbacks`, kept for one release; import from ``cnnlstm.training.callbacks``."""

import warnings

from cnnlstm.training.callbacks import (  # noqa: F401
    MetricsHistoryCallback,
    PredictionWriter,
    RNGStateCallback,
    RunArtifacts,
)

warnings.warn(
    "cnnlstm.callbacks moved to cnnlstm.training.callbacks; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
