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
