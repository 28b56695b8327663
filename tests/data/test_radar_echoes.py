"""Generated radar echoes: the HKO-7 encoding, the Z-R relation, determinism, motion, windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cnnlstm
from cnnlstm.data.radar_echoes import (
    RadarEchoes,
    dbz_to_pixel,
    dbz_to_rain_rate,
    generate_radar_echoes,
    pixel_to_dbz,
    pixel_to_rain_rate,
    rain_rate_to_pixel,
)
from cnnlstm.data.radar_echoes_data import RadarEchoDataModule


def test_encoding_and_marshall_palmer():
    pixels = np.arange(256)
    np.testing.assert_allclose(dbz_to_pixel(pixel_to_dbz(pixels)), pixels, atol=1e-9)
    z = 200.0 * np.array([0.5, 2.0, 30.0]) ** 1.6  # Z = 200 R^1.6
    np.testing.assert_allclose(dbz_to_rain_rate(10 * np.log10(z)), [0.5, 2.0, 30.0], rtol=1e-9)
    for rate in (0.5, 5.0, 30.0):
        assert pixel_to_rain_rate(np.array(rain_rate_to_pixel(rate))) == pytest.approx(rate)


def test_sequences_are_reproducible_moving_and_rainy():
    echoes = RadarEchoes(6, seq_len=8, image_size=48, seed=3)
    first = echoes[2]
    assert first.dtype == np.uint8 and first.shape == (8, 48, 48)
    np.testing.assert_array_equal(first, RadarEchoes(6, seq_len=8, image_size=48, seed=3)[2])
    assert not np.array_equal(first, echoes[3])
    batch = generate_radar_echoes(6, seq_len=8, image_size=48, seed=3)
    np.testing.assert_array_equal(batch[2], first)
    # frames change over time (advection, growth) and hold both rain and no echo
    assert all(not np.array_equal(s[0], s[-1]) for s in batch)
    rain = pixel_to_rain_rate(batch) >= 0.5
    assert 0.02 < rain.mean() < 0.8
    with pytest.raises(IndexError):
        echoes[6]


def test_data_module_windows_and_fixed_test_split():
    dm = RadarEchoDataModule(num_train=4, num_val=2, num_test=3, image_size=32, batch_size=2, seed=1)
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert tuple(x.shape) == (2, 5, 1, 32, 32) and tuple(y.shape) == (2, 10, 1, 32, 32)
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    dm.setup("test")
    other = RadarEchoDataModule(num_train=4, num_val=2, num_test=3, image_size=32, batch_size=2, seed=9)
    other.setup("test")
    np.testing.assert_array_equal(dm.test_dataset[0][1].numpy(), other.test_dataset[0][1].numpy())


@pytest.mark.parametrize("name", ["nowcasting-convlstm", "nowcasting-convlstm-advection"])
def test_nowcasting_preset_balances_the_loss_at_hko7_rain_rates(name):
    import yaml

    from cnnlstm.tasks.nowcasting_metrics import BALANCE_EDGES

    preset = Path(cnnlstm.__file__).parent / "presets" / f"{name}.yaml"
    args = yaml.safe_load(preset.read_text())["model"]["init_args"]
    expected = [rain_rate_to_pixel(r) / 255 for r in BALANCE_EDGES]  # 2, 5, 10, 30 mm/h
    np.testing.assert_allclose(args["balance_edges"], expected, atol=5e-5)
