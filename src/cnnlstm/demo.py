"""Deprecated location of :mod:`cnnlstm.cli.demo`, kept for one release; import from ``cnnlstm.cli.demo``."""

import warnings

from cnnlstm.cli.demo import DEMO_RUNS, VIDEO_TREE, fit_and_test, main, to_markdown, write_video_trees  # noqa: F401

warnings.warn(
    "cnnlstm.demo moved to cnnlstm.cli.demo; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
