"""How series are normalised: per-channel statistics of a training set, per-series statistics, and
the ``normalize`` choices of the time-series data modules and estimators.

Every function takes padded series ``x (N, T, C)`` with their real ``lengths (N,)`` where padding
matters: statistics are taken over real steps only and padding stays exactly zero. Shared by
:mod:`cnnlstm.data.timeseries`, :mod:`cnnlstm.data.sensor`, :mod:`cnnlstm.data.series_arrays`,
:mod:`cnnlstm.sklearn` and the exported models' preprocessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnlstm._validation import InputError

__all__ = [
    "NORMALIZATIONS",
    "channel_stats",
    "check_normalization",
    "normalize_padded",
    "resolve_normalization",
    "series_stats",
    "standardize",
]


def channel_stats(
    x: np.ndarray, lengths: np.ndarray | None = None, names: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of ``x (N, T, C)`` over the real steps only.

    Padding (steps at or beyond ``lengths[i]``) is excluded. A constant channel gets std 1, so
    normalising leaves it at zero instead of dividing by zero. Computed in float64 on values
    scaled by each channel's largest magnitude, so huge values do not overflow the squares; a
    channel holding inf or NaN is an error naming it (``names[c]``, or its index).

    Example:
        >>> mean, std = channel_stats(np.array([[[1.0, 5.0], [3.0, 5.0]]]))
        >>> mean.tolist(), std.tolist()
        ([2.0, 5.0], [1.0, 1.0])
    """
    n, t, c = x.shape
    if lengths is None:
        values = x.reshape(-1, c)
    else:
        mask = np.arange(t)[None, :] < np.asarray(lengths)[:, None]  # (N, T)
        values = x[mask]  # (valid steps, C)
    values = values.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=0))
    if len(bad):
        channel = names[bad[0]] if names is not None else int(bad[0])
        count = int((~np.isfinite(values[:, bad[0]])).sum())
        raise ValueError(
            f"channel {channel!r} is not finite everywhere ({count} inf or NaN values), so its mean and "
            "std would not be either; fix or drop those values"
        )
    scale = np.abs(values).max(axis=0) if len(values) else np.ones(c)
    scale[scale == 0] = 1.0
    mean = (values / scale).mean(axis=0) * scale
    std = (values / scale).std(axis=0) * scale
    std[std < 1e-8] = 1.0
    return mean, std


def normalize_padded(x: np.ndarray, lengths: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` on the real steps of ``x (N, T, C)``; padding stays exactly zero.

    ``mean`` and ``std`` are ``(C,)`` (one per channel) or ``(N, 1, C)`` (one per series and channel).
    """
    out = ((x - mean) / std).astype(np.float32)
    out[np.arange(x.shape[1])[None, :] >= np.asarray(lengths)[:, None]] = 0.0
    return out


NORMALIZATIONS = ("channel", "series", "none", "auto")


def check_normalization(value: Any) -> str:
    """``normalize`` as one of :data:`NORMALIZATIONS`; ``True`` is ``"channel"``, ``False`` is ``"none"``.

    Example:
        >>> check_normalization(True), check_normalization("series"), check_normalization(False)
        ('channel', 'series', 'none')
    """
    if value is True or value is False:
        return "channel" if value else "none"
    if value not in NORMALIZATIONS:
        raise InputError(
            f"normalize must be true, false or one of {list(NORMALIZATIONS)}; received normalize={value!r}",
            field="normalize",
        )
    return str(value)


def resolve_normalization(choice: str, channels: int) -> str:
    """The normalisation ``choice`` (from :func:`check_normalization`) means for data of ``channels``.

    ``"auto"`` follows the two archives' conventions: a univariate series is z-normalised over its
    own steps (``"series"``; the UCR archive distributes its series so), the channels of
    multivariate data are standardised with the training set's statistics (``"channel"``; the
    UEA archive's series are not normalised, and their channels' levels can carry the class, as
    the speaker's cepstral means in JapaneseVowels do). Any other choice is returned unchanged.

    Example:
        >>> resolve_normalization("auto", 1), resolve_normalization("auto", 12), resolve_normalization("none", 3)
        ('series', 'channel', 'none')
    """
    if choice != "auto":
        return choice
    return "series" if channels == 1 else "channel"


def series_stats(x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each series' and channel's mean and std over its real steps: two ``(N, 1, C)`` arrays.

    As :func:`channel_stats` per series: padding excluded, float64 on values scaled by their
    largest magnitude, and a constant channel gets std 1 (it becomes zeros, not a division by zero).

    Example:
        >>> x = np.array([[[1.0], [3.0], [0.0]], [[4.0], [4.0], [4.0]]])
        >>> mean, std = series_stats(x, np.array([2, 3]))
        >>> mean.ravel().tolist(), std.ravel().tolist()
        ([2.0, 4.0], [1.0, 1.0])
    """
    x = np.asarray(x, dtype=np.float64)
    valid = (np.arange(x.shape[1])[None, :] < np.asarray(lengths)[:, None])[..., None]  # (N, T, 1)
    scale = np.abs(np.where(valid, x, 0.0)).max(axis=1, keepdims=True)  # (N, 1, C)
    scale[scale == 0] = 1.0
    scaled = np.where(valid, x / scale, 0.0)
    count = valid.sum(axis=1, keepdims=True)
    mean = scaled.sum(axis=1, keepdims=True) / count
    var = (np.where(valid, scaled - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / count
    std = np.sqrt(var) * scale
    std[std < 1e-8] = 1.0
    return mean * scale, std


def standardize(
    x: np.ndarray, lengths: np.ndarray, normalization: str, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """``x (N, T, C)`` normalised as ``normalization`` says, float32, padding kept at zero.

    ``"channel"`` and ``"none"`` apply the given per-channel ``mean`` and ``std`` (the training
    statistics, or zeros and ones); ``"series"`` z-normalises each series and channel over its
    own real steps (the UCR archive's convention), whatever ``mean`` and ``std`` are. Every mode
    refuses inf or NaN on a real step, naming the series and channel (padding is not looked at).
    """
    valid = np.arange(x.shape[1])[None, :] < np.asarray(lengths)[:, None]  # (N, T)
    bad = ~np.isfinite(x) & valid[..., None]
    if bad.any():
        series, _, channel = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"series {series}, channel {channel} is not finite everywhere ({int(bad[series, :, channel].sum())} "
            f"inf or NaN values; {int(bad.sum())} in all the series); fix or drop those values"
        )
    if normalization == "auto":
        raise ValueError("standardize takes a resolved normalization; call resolve_normalization first")
    if normalization == "series":
        mean, std = series_stats(x, lengths)
    return normalize_padded(x, lengths, mean, std)
