"""Deprecated location of :mod:`cnnlstm.deploy.export`, kept for one release; import from ``cnnlstm.deploy``."""

import warnings

from cnnlstm.deploy._common import (  # noqa: F401
    CONFIG_FILE,
    EXPORT_FORMATS,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    ExportVerificationError,
)
from cnnlstm.deploy.export import export_model  # noqa: F401
from cnnlstm.deploy.pretrained import load_pretrained  # noqa: F401

warnings.warn(
    "cnnlstm.export moved to cnnlstm.deploy.export; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
