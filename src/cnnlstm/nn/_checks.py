"""Deprecated location of :mod:`cnnlstm._validation`; kept for one release."""

import warnings  # noqa: E402

from cnnlstm._validation import (  # noqa: F401
    check_choice,
    check_non_negative_float,
    check_num_classes,
    check_positive_int,
    per_layer,
    to_tuple,
)

warnings.warn(
    "cnnlstm.nn._checks moved to cnnlstm._validation; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
