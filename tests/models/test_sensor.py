"""Model-specific behaviour of the sensor classifiers: DeepConvLSTM, (M)LSTM-FCN, CNN-BiLSTM."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlstm import create_model, list_models, model_info
from cnnlstm.models.sensor import LSTMFCN, CNNBiLSTM, DeepConvLSTM, SqueezeExcite1d
from cnnlstm.nn import LSTM

SENSOR_MODELS = [n for n in list_models() if model_info(n).modality == "sensor"]
TINY = [n for n in SENSOR_MODELS if n.endswith("_tiny")]


def _randomise_batchnorm(model: nn.Module) -> None:
    """Non-trivial BN statistics, so that eval-mode BN maps a zero step to a non-zero one."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            with torch.no_grad():
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_()
                m.bias.normal_()


def test_the_sensor_models_are_registered():
    assert set(SENSOR_MODELS) == {
        "deepconvlstm",
        "deepconvlstm_tiny",
        "lstm_fcn",
        "lstm_fcn_tiny",
        "mlstm_fcn",
        "mlstm_fcn_tiny",
        "cnn_bilstm",
        "cnn_bilstm_tiny",
    }


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("steps", [24, 32])
def test_shapes_with_the_data_s_channels(name, steps):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, in_channels=6).eval()
    x = torch.randn(3, steps, 6)
    with torch.no_grad():
        feats = model.forward_features(x)
        out = model(x)
        out_lengths = model(x, lengths=torch.tensor([steps, 20, 18]))
    assert feats.shape == (3, model.num_features)
    assert out.shape == out_lengths.shape == (3, 5)
    torch.testing.assert_close(model.forward_head(feats), out)


# --- DeepConvLSTM --------------------------------------------------------------------------------


def test_deepconvlstm_layers_are_the_paper_s():
    model = create_model("deepconvlstm", num_classes=4, in_channels=6)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # 4 convolutions of 64 filters, 5 long in time and 1 wide across channels, valid padding
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 64, (5, 1), (0, 0))
    ] + [(64, 64, (5, 1), (0, 0))] * 3
    assert sum(isinstance(m, nn.ReLU) for m in model.convs) == 4
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.MaxPool2d)) for m in model.modules())
    # two LSTM layers of 128 (ours, not torch's) reading the 64 maps × 6 channels of one step
    assert isinstance(model.lstm, LSTM) and not isinstance(model.lstm, nn.LSTM)
    assert (model.lstm.input_size, model.lstm.hidden_size, model.lstm.num_layers) == (64 * 6, 128, 2)
    assert not model.lstm.bidirectional
    # dropout 0.5 on the inputs of both LSTM layers and of the softmax layer
    assert model.lstm_drop.p == model.lstm.dropout == model.head_drop.p == 0.5
    assert (model.fc.in_features, model.fc.out_features) == (128, 4)


def test_deepconvlstm_shortens_time_by_16_and_predicts_from_the_last_step():
    torch.manual_seed(0)
    model = create_model("deepconvlstm_tiny", num_classes=4).eval()
    seen = {}
    model.lstm.register_forward_hook(lambda m, args, out: seen.update(inp=args[0], out=out[0]))
    x = torch.randn(2, 30, 3)
    with torch.no_grad():
        feats = model.forward_features(x)
    assert seen["inp"].shape == (2, 30 - 16, 8 * 3)  # T - 16 steps of conv_channels × C features
    torch.testing.assert_close(feats, seen["out"][:, -1])  # the last step's LSTM output

    changed = x.clone()
    changed[:, -1] += 5.0  # the final input step is in the last output step's receptive field
    with torch.no_grad():
        assert (model.forward_features(changed) - feats).abs().amax(dim=1).min() > 1e-3


def test_deepconvlstm_rejects_series_too_short_for_its_valid_convolutions():
    model = create_model("deepconvlstm_tiny")
    with pytest.raises(ValueError, match=r"T >= 17; received T=16"):
        model(torch.randn(1, 16, 3))
    assert model(torch.randn(1, 17, 3)).shape == (1, model.num_classes)
    with pytest.raises(ValueError, match=r"T >= 21; received T=20"):
        create_model("deepconvlstm_tiny", num_conv=5)(torch.randn(1, 20, 3))


# --- LSTM-FCN and MLSTM-FCN ----------------------------------------------------------------------


@pytest.mark.parametrize("name, se", [("lstm_fcn", False), ("mlstm_fcn", True)])
def test_lstm_fcn_layers_are_the_paper_s(name, se):
    model = create_model(name, num_classes=4, in_channels=6, seq_len=100)
    convs = [b.conv for b in model.blocks]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (6, 128, (8,)),
        (128, 256, (5,)),
        (256, 128, (3,)),
    ]
    assert [b.pad for b in model.blocks] == [(3, 4), (2, 2), (1, 1)]  # 'same', extra on the right
    assert all(isinstance(b.bn, nn.BatchNorm1d) for b in model.blocks)
    # SE (reduction 16) after the first two conv blocks only, for MLSTM-FCN
    expected_se = [(128, 8), (256, 16)] if se else []
    assert [(s.fc1.in_features, s.fc1.out_features) for s in model.se] == expected_se
    # dimension shuffle: the LSTM reads C steps of seq_len features, 8 cells, dropout 0.8
    assert isinstance(model.lstm, LSTM) and model.dimension_shuffle
    assert (model.lstm.input_size, model.lstm.hidden_size, model.lstm.num_layers) == (100, 8, 1)
    assert model.lstm_drop.p == 0.8
    assert (model.fc.in_features, model.fc.out_features) == (8 + 128, 4)


def test_dimension_shuffle_feeds_the_lstm_variables_as_steps():
    torch.manual_seed(0)
    seen = []
    shuffled = create_model("mlstm_fcn_tiny", in_channels=5, seq_len=40).eval()
    over_time = create_model("mlstm_fcn_tiny", in_channels=5, dimension_shuffle=False).eval()
    for model in (shuffled, over_time):
        model.lstm.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    x = torch.randn(2, 30, 5)
    with torch.no_grad():
        shuffled(x)
        over_time(x)
    assert seen[0].shape == (2, 5, 40)  # 5 variables as steps; T=30 zero-padded to seq_len=40
    torch.testing.assert_close(seen[0][:, :, :30], x.transpose(1, 2))
    assert not seen[0][:, :, 30:].any()
    assert seen[1].shape == (2, 30, 5)  # over time: T steps of C features
    with pytest.raises(ValueError, match=r"seq_len=40 steps; received T=41"):
        shuffled(torch.randn(1, 41, 5))


def test_squeeze_excite_averages_valid_steps_only():
    torch.manual_seed(0)
    se = SqueezeExcite1d(8, reduction=2)
    x = torch.randn(1, 8, 10)
    mask = torch.zeros(1, 1, 10)
    mask[..., :6] = 1
    garbage = x.clone()
    garbage[..., 6:] = 100.0
    torch.testing.assert_close(se(garbage, mask)[..., :6], se(x[..., :6])[..., :6])


# --- CNN-BiLSTM ----------------------------------------------------------------------------------


def test_cnn_bilstm_structure_and_short_series():
    model = create_model("cnn_bilstm", num_classes=4, in_channels=6)
    assert isinstance(model.lstm, LSTM) and model.lstm.bidirectional and model.lstm.hidden_size == 128
    assert [b.conv.out_channels for b in model.blocks] == [64, 128]
    assert model.fc.in_features == 4 * 128  # mean (2H) and last states (2H)
    with pytest.raises(ValueError, match=r"T >= 4; received T=3"):
        model(torch.randn(1, 3, 6))


# --- lengths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("deepconvlstm_tiny", {}),
        ("mlstm_fcn_tiny", {"dimension_shuffle": False}),
        ("mlstm_fcn_tiny", {"seq_len": 40}),  # with the shuffle too: the LSTM sees zero padding either way
        ("lstm_fcn_tiny", {"seq_len": 40}),
        ("cnn_bilstm_tiny", {}),
    ],
)
def test_padded_series_with_lengths_give_their_unpadded_logits(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, num_classes=4, **kwargs)
    _randomise_batchnorm(model)
    model.eval()
    lengths = torch.tensor([40, 27, 19, 33])
    series = [torch.randn(1, int(n), 3) for n in lengths]
    batch = torch.randn(4, 40, 3) * 5  # garbage, not zeros, past each length
    for i, s in enumerate(series):
        batch[i, : s.shape[1]] = s[0]
    with torch.no_grad():
        padded = model(batch, lengths=lengths)
        alone = torch.cat([model(s) for s in series])
        ignoring_lengths = model(batch)
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(ignoring_lengths[1:], alone[1:], atol=1e-3)  # the padding matters without them


def test_invalid_lengths_raise():
    model = create_model("cnn_bilstm_tiny")
    x = torch.randn(2, 16, 3)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=16\]; received \[16, 17\]"):
        model(x, lengths=torch.tensor([16, 17]))
    with pytest.raises(ValueError, match="integer tensor of shape \\(2,\\)"):
        model(x, lengths=torch.tensor([16.0, 8.0]))
    with pytest.raises(ValueError, match="integer tensor of shape \\(2,\\)"):
        model(x, lengths=torch.tensor([16]))
    wrong_channels = r"expects sensor series \(B, T, C\) with C=3; received \(2, 16, 4\)"
    with pytest.raises(ValueError, match=wrong_channels):
        model(torch.randn(2, 16, 4))


# --- constructor, head, learning -----------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (DeepConvLSTM, {"dropout": 1.0}, "dropout=1.0"),
        (DeepConvLSTM, {"num_conv": 0}, "num_conv=0"),
        (LSTMFCN, {"kernel_sizes": (8, 5)}, "kernel_sizes=\\(8, 5\\)"),
        (LSTMFCN, {"seq_len": 0}, "seq_len=0"),
        (CNNBiLSTM, {"conv_channels": ()}, "conv_channels=\\(\\)"),
        (CNNBiLSTM, {"pool": 0}, "pool=0"),
    ],
)
def test_bad_arguments_name_the_received_value(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


@pytest.mark.parametrize("name", TINY)
def test_a_tiny_model_learns_a_separable_task(name):
    """Two classes told apart by the sign of a slow oscillation's offset: >= 90% train accuracy."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    labels = torch.arange(32) % 2
    t = torch.linspace(0, 6.28, 32)
    x = 0.5 * torch.randn(32, 32, 3, generator=generator) + torch.sin(t)[None, :, None]
    x = x + (labels.float() * 2 - 1)[:, None, None]
    model = create_model(name, num_classes=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(15):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), labels).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == labels).float().mean().item()
    assert accuracy >= 0.9


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("channels", [1, 3])
def test_lengths_without_padding_give_what_no_lengths_give_to_the_bit(name, channels):
    # Every batch of an equal-length data set carries lengths == T; the models then skip the
    # masks, which must not change a bit of the logits or of the gradients, in training too.
    torch.manual_seed(0)
    model = create_model(name, num_classes=3, in_channels=channels).train()
    x = torch.randn(4, 32, channels)
    results = []
    for lengths in (torch.full((4,), 32), None):
        torch.manual_seed(1)  # the same dropout masks
        logits = model(x, lengths=lengths)
        grads = torch.autograd.grad((logits**2).sum(), list(model.parameters()), allow_unused=True)
        results.append((logits, grads))
    (a, grads_a), (b, grads_b) = results
    assert torch.equal(a, b)
    assert all(
        (ga is None and gb is None) or torch.equal(ga, gb) for ga, gb in zip(grads_a, grads_b, strict=True)
    )


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("kernel", [3, 8])
def test_same_conv_block_is_the_padded_valid_convolution_to_the_bit(channels, kernel):
    # The block pads inside the convolution where it can; the reference pads a copy first,
    # the Keras 'same' rule (one step more on the right for an even kernel).
    from torch.nn import functional as F

    from cnnlstm.models.sensor import _SameConvBlock

    torch.manual_seed(0)
    block = _SameConvBlock(channels, 8, kernel).train()
    x = torch.randn(4, 20, channels).transpose(1, 2).requires_grad_()  # (B, C, T) view, as the models give
    left = (kernel - 1) // 2
    padded = F.pad(x, (left, kernel - 1 - left))
    want = F.relu(
        F.batch_norm(F.conv1d(padded, block.conv.weight), None, None, block.bn.weight, block.bn.bias, True)
    )
    got = block(x)
    assert torch.equal(got, want)
    params = [x, block.conv.weight, block.bn.weight]
    for g, w in zip(
        torch.autograd.grad(got.sum(), params), torch.autograd.grad(want.sum(), params), strict=True
    ):
        assert torch.equal(g, w)


# --- padding in training: BatchNorm over valid steps, batches cut to their longest series -------


def _padded(series: list[torch.Tensor], steps: int, fill: float) -> torch.Tensor:
    batch = torch.full((len(series), steps, series[0].shape[1]), fill)
    for i, s in enumerate(series):
        batch[i, : len(s)] = s
    return batch


@pytest.mark.parametrize("name", TINY)
def test_padding_changes_no_training_update(name):
    # In train mode BatchNorm's batch statistics count valid steps only: a batch cut to its longest
    # series, or padded further with garbage, gives the same logits, gradients and running
    # statistics (dropout off, so that only padding differs).
    lengths = torch.tensor([24, 19, 21, 17])
    series = [
        torch.randn(int(n), 3, generator=torch.Generator().manual_seed(i)) for i, n in enumerate(lengths)
    ]
    results = []
    for steps, fill in ((24, 0.0), (32, 7.0)):
        torch.manual_seed(0)
        model = create_model(name, num_classes=3, dropout=0.0).train()
        logits = model(_padded(series, steps, fill), lengths=lengths)
        grads = torch.autograd.grad((logits**2).sum(), list(model.parameters()), allow_unused=True)
        buffers = [b.clone() for b in model.buffers()]
        results.append((logits, grads, buffers))
    (a, grads_a, buf_a), (b, grads_b, buf_b) = results
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        assert (ga is None) == (gb is None)
        if ga is not None:
            torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5)
    for x, y in zip(buf_a, buf_b, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", TINY)
def test_a_series_logits_depend_neither_on_its_padding_nor_on_its_batch(name):
    # Eval mode after a few training updates on padded batches: each series gets the logits it
    # gets alone and unpadded, in any batch.
    torch.manual_seed(0)
    model = create_model(name, num_classes=3).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    lengths = torch.tensor([30, 18, 25, 20, 32, 17])
    series = [torch.randn(int(n), 3) for n in lengths]
    for _ in range(3):
        optimizer.zero_grad()
        model(_padded(series, 32, 0.0), lengths=lengths).square().mean().backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        alone = torch.cat([model(s[None]) for s in series])
        whole = model(_padded(series, 32, -4.0), lengths=lengths)
        pairs = torch.cat(
            [model(_padded(series[i : i + 2], 32, 3.0), lengths=lengths[i : i + 2]) for i in range(0, 6, 2)]
        )
    torch.testing.assert_close(whole, alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pairs, alone, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["deepconvlstm_tiny", "cnn_bilstm_tiny"])
@pytest.mark.parametrize("training", [True, False])
def test_a_batch_cut_below_the_receptive_field_is_padded_back(name, training):
    # A data module that cuts batches to their longest series can give fewer steps than the valid
    # convolutions (DeepConvLSTM: 17) or the poolings (CNN-BiLSTM: 4) need; with lengths, the
    # model pads the batch back with zeros and gives what the longer padding gave.
    torch.manual_seed(0)
    model = create_model(name, num_classes=3, dropout=0.0).train(training)
    lengths = torch.tensor([3, 2])
    series = [torch.randn(3, 3), torch.randn(2, 3)]
    with torch.no_grad():
        torch.manual_seed(1)
        cut = model(_padded(series, 3, 0.0), lengths=lengths)
        torch.manual_seed(1)
        long = model(_padded(series, 24, 0.0), lengths=lengths)
    torch.testing.assert_close(cut, long, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="T >= "):
        model(_padded(series, 3, 0.0))  # without lengths the series are the caller's: too short
