"""Deprecated location of :mod:`cnnlstm.training.plots`, kept for one release; import from ``cnnlstm.training.plots``."""

import warnings

from cnnlstm.training.plots import (  # noqa: F401
    frames_to_images,
    plot_confusion_matrix,
    plot_curves,
    plot_forecast_grid,
    plot_horizon_metrics,
    read_metrics_csv,
    save_forecast_gif,
)

warnings.warn(
    "cnnlstm.plots moved to cnnlstm.training.plots; the old module will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
