"""Generated radar echoes for precipitation nowcasting, in the HKO-7 pixel encoding.

No radar archive can be downloaded here, so sequences are simulated: rain cells (Gaussian in
linear reflectivity ``Z``) advected by a smooth wind field that turns slowly (a uniform wind whose
direction rotates by a fixed rate per frame, plus a weak solid-body rotation about the centre),
each cell growing or decaying at its own rate in dBZ; below 10 dBZ there is no echo. Frames are uint8 pixels with HKO-7's
mapping ``dBZ = pixel · 70 / 255 − 10`` (Shi et al. 2017), and rain rate follows the
Marshall–Palmer Z–R relation ``Z = 200 · R^1.6`` (``Z`` in mm⁶/m³, ``R`` in mm/h).

A sequence is generated when indexed, from ``np.random.default_rng([seed, index])``
(:class:`RadarEchoes`), so large sets cost no memory and every run sees the same data.

References:
    Shi et al., "Convolutional LSTM Network: A Machine Learning Approach for Precipitation
    Nowcasting", NeurIPS 2015; Shi et al., "Deep Learning for Precipitation Nowcasting: A Benchmark
    and a New Model" (HKO-7), NeurIPS 2017; Marshall & Palmer, J. Meteor. 1948.
"""

from __future__ import annotations

import numpy as np

from cnnlstm._validation import check_positive_int

__all__ = [
    "RadarEchoes",
    "dbz_to_pixel",
    "dbz_to_rain_rate",
    "generate_radar_echoes",
    "pixel_to_dbz",
    "pixel_to_rain_rate",
    "rain_rate_to_pixel",
]

_NO_ECHO_DBZ = -10.0  # pixel 0
_MIN_ECHO_Z = 10.0**1.0  # below 10 dBZ the radar shows no echo


def pixel_to_dbz(pixel: np.ndarray) -> np.ndarray:
    """HKO-7: ``dBZ = pixel · 70 / 255 − 10`` for uint8 pixels (or floats on the same scale).

    >>> float(pixel_to_dbz(np.array(255)))
    60.0
    """
    return np.asarray(pixel, dtype=np.float64) * 70.0 / 255.0 - 10.0


def dbz_to_pixel(dbz: np.ndarray) -> np.ndarray:
    """The inverse of :func:`pixel_to_dbz`, as floats in ``[0, 255]`` (clipped)."""
    return np.clip((np.asarray(dbz, dtype=np.float64) + 10.0) * 255.0 / 70.0, 0.0, 255.0)


def dbz_to_rain_rate(dbz: np.ndarray) -> np.ndarray:
    """Marshall–Palmer: ``R = (10^(dBZ/10) / 200)^(1/1.6)`` mm/h.

    >>> round(float(dbz_to_rain_rate(np.array(23.0))), 2)
    1.0
    """
    z = 10.0 ** (np.asarray(dbz, dtype=np.float64) / 10.0)
    return (z / 200.0) ** (1.0 / 1.6)


def pixel_to_rain_rate(pixel: np.ndarray) -> np.ndarray:
    """Rain rate in mm/h of HKO-7 pixels (0–255 scale)."""
    return dbz_to_rain_rate(pixel_to_dbz(pixel))


def rain_rate_to_pixel(rain_rate: float) -> float:
    """The pixel value (0–255 scale) of a rain rate in mm/h: where a threshold lies on the frames.

    >>> round(rain_rate_to_pixel(1.0), 1)
    120.3
    """
    dbz = 10.0 * np.log10(200.0 * float(rain_rate) ** 1.6)
    return float(dbz_to_pixel(np.array(dbz)))


def generate_one(rng: np.random.Generator, seq_len: int, image_size: int, max_cells: int) -> np.ndarray:
    """One sequence ``(T, H, W)`` uint8 from ``rng`` (see the module docstring)."""
    n = image_size
    speed = rng.uniform(0.5, 2.0)  # pixels per frame
    heading = rng.uniform(0.0, 2.0 * np.pi)
    turn = rng.uniform(-0.04, 0.04)  # radians per frame
    swirl = rng.uniform(-0.01, 0.01)  # solid-body rotation, radians per frame
    cells = int(rng.integers(2, max_cells + 1))
    pos = rng.uniform(-0.1 * n, 1.1 * n, size=(cells, 2))  # (row, col)
    sigma = rng.uniform(0.03 * n, 0.08 * n, size=cells)
    peak = rng.uniform(30.0, 55.0, size=cells)  # dBZ
    growth = rng.uniform(-1.2, 1.2, size=cells)  # dBZ per frame
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float64)
    centre = (n - 1) / 2.0
    frames = np.empty((seq_len, n, n), dtype=np.uint8)
    for t in range(seq_len):
        z = np.zeros((n, n))
        for k in range(cells):
            d2 = (rows - pos[k, 0]) ** 2 + (cols - pos[k, 1]) ** 2
            z += 10.0 ** (peak[k] / 10.0) * np.exp(-d2 / (2.0 * sigma[k] ** 2))
        dbz = np.where(z > _MIN_ECHO_Z, 10.0 * np.log10(np.maximum(z, 1.0)), _NO_ECHO_DBZ)
        frames[t] = np.rint(dbz_to_pixel(dbz)).astype(np.uint8)
        # advect the cells with the wind at their centres; the wind turns slowly
        direction = heading + turn * t
        wind = speed * np.array([np.sin(direction), np.cos(direction)])
        rel = pos - centre
        pos = pos + wind + swirl * np.stack([rel[:, 1], -rel[:, 0]], axis=1)
        peak = np.clip(peak + growth, 15.0, 60.0)
    return frames


def generate_radar_echoes(
    num: int, *, seq_len: int = 20, image_size: int = 64, max_cells: int = 6, seed: int = 0
) -> np.ndarray:
    """``num`` sequences ``(N, T, H, W)`` uint8 (HKO-7 pixels).

    Example:
        >>> frames = generate_radar_echoes(2, seq_len=5, image_size=32)
        >>> frames.shape, frames.dtype
        ((2, 5, 32, 32), dtype('uint8'))
    """
    echoes = RadarEchoes(num, seq_len=seq_len, image_size=image_size, max_cells=max_cells, seed=seed)
    return np.stack([echoes[i] for i in range(num)])


class RadarEchoes:
    """``num`` generated sequences, each made when indexed: ``echoes[i]`` is ``(T, H, W)`` uint8.

    Args:
        num: sequences.
        seq_len: frames per sequence.
        image_size: ``H = W``.
        max_cells: most rain cells in a sequence (at least 2).
        seed: with the index, the sequence's random generator.

    Has ``shape``, ``dtype`` and ``ndim`` like the array it stands for, so the forecasting
    datasets window it as they window a memory map.

    Example:
        >>> RadarEchoes(3, seq_len=4, image_size=16)[2].shape
        (4, 16, 16)
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(
        self, num: int, *, seq_len: int = 20, image_size: int = 64, max_cells: int = 6, seed: int = 0
    ) -> None:
        self.num = check_positive_int("num", num)
        self.seq_len = check_positive_int("seq_len", seq_len)
        self.image_size = check_positive_int("image_size", image_size)
        self.max_cells = max(2, check_positive_int("max_cells", max_cells))
        self.seed = int(seed)
        self.shape = (self.num, self.seq_len, self.image_size, self.image_size)

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < self.num:
            raise IndexError(f"sequence {index} out of range for {self.num} sequences")
        rng = np.random.default_rng([self.seed, index])
        return generate_one(rng, self.seq_len, self.image_size, self.max_cells)
