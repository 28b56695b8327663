"""Deprecated location of :mod:`cnnlstm.deploy.stream`, kept for one release; import from ``cnnlstm.deploy``."""

import warnings

from cnnlstm.deploy.stream import Stream  # noqa: F401

warnings.warn(
    "cnnlstm.predict moved to cnnlstm.deploy.stream; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
