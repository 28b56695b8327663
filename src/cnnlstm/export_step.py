"""Deprecated location of :mod:`cnnlstm.deploy.step`, kept for one release; import from ``cnnlstm.deploy``."""

import warnings

from cnnlstm.deploy.step import export_step  # noqa: F401

warnings.warn(
    "cnnlstm.export_step moved to cnnlstm.deploy.step; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
