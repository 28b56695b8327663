"""Deprecated: the dataset layouts moved to :mod:`cnnlstm.data.video_layouts` (one module per layout).

This module only re-exports the old public names, and is kept for one release; import from
``cnnlstm.data.video_layouts`` instead.
"""

from __future__ import annotations

from cnnlstm.data.video_layouts import (
    FORMATS,
    IMAGE_EXTENSIONS,
    SPLITS,
    VIDEO_EXTENSIONS,
    DatasetLayoutError,
    VideoIndex,
    VideoSample,
    detect_format,
    index_videos,
    list_video_files,
)

__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "SPLITS",
    "VIDEO_EXTENSIONS",
    "DatasetLayoutError",
    "VideoIndex",
    "VideoSample",
    "detect_format",
    "index_videos",
    "list_video_files",
]

import warnings  # noqa: E402

warnings.warn(
    "cnnlstm.data.video_index moved to cnnlstm.data.video_layouts; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
