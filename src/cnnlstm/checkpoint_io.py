"""Deprecated location of :mod:`cnnlstm.training.checkpoint_io`, kept for one release; import from ``cnnlstm.training.checkpoint_io``."""

import warnings

from cnnlstm.training.checkpoint_io import (  # noqa: F401
    SafeCheckpointIO,
    UnsafeCheckpointError,
    atomic_torch_save,
    safe_torch_load,
)

warnings.warn(
    "cnnlstm.checkpoint_io moved to cnnlstm.training.checkpoint_io; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
