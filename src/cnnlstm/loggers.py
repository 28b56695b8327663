"""Deprecated location of :mod:`cnnlstm.training.loggers`, kept for one release; import from ``cnnlstm.training.loggers``."""

import warnings

from cnnlstm.training.loggers import ResumableCSVLogger  # noqa: F401

warnings.warn(
    "cnnlstm.loggers moved to cnnlstm.training.loggers; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
