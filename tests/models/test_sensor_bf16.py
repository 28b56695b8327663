"""The sensor classifiers under bf16 autocast (Lightning's ``precision="bf16-mixed"`` on a CPU).

Autocast runs convolutions and matrix products in bf16 and keeps the weights in float32. What must
stay float32: BatchNorm's statistics (batch and running), the LSTM's cell state, the loss and the
probabilities. Logits then differ from float32 logits of the same weights only by bf16's rounding.

Why the tolerance: bf16 keeps 8 significant bits, a unit roundoff of ``u = 2**-8``. Each product
rounds its two operands (activations and weights) to bf16 and accumulates in float32, so it adds a
relative error of at most about ``2u`` of the scale of its output; the tiny models stack at most
six such products on the way to a logit (three or four convolutions, the LSTM's input and recurrent
products, the head), which bounds the error by about ``12u`` (0.047) of the logits' scale in the
worst case, errors of one sign everywhere. That bound is the tolerance; independent roundings give
far less (measured: 0.6-1.9u).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlstm import create_model
from cnnlstm.nn import LSTM, MaskedBatchNorm1d
from cnnlstm.tasks import ClassificationTask

U = 2.0**-8  # bf16's unit roundoff (8 significant bits)
TINY = ["lstm_fcn_tiny", "mlstm_fcn_tiny", "cnn_bilstm_tiny", "deepconvlstm_tiny"]


def _bf16() -> torch.autocast:
    return torch.autocast("cpu", dtype=torch.bfloat16)


def _scaled_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """``max |out - ref|`` in units of ``max |ref|`` (the scale every rounding is relative to)."""
    return float((out.float() - ref).abs().max() / ref.abs().max())


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("padded", [False, True])
def test_eval_logits_under_autocast_are_float32_logits_within_bf16_rounding(name, padded):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, in_channels=3).train()
    x = torch.randn(6, 32, 3)
    lengths = torch.tensor([32, 30, 25, 32, 28, 20]) if padded else None
    with torch.no_grad():
        model(x, lengths)  # one training pass: BatchNorm's running statistics are not the identity
    model.eval()
    with torch.no_grad():
        ref = model(x, lengths)
        with _bf16():
            out = model(x, lengths)
    assert out.shape == ref.shape
    assert not torch.equal(out.float(), ref)  # autocast did round something
    assert _scaled_error(out, ref) <= 12 * U
    # the weights and buffers stay float32 (what a checkpoint saves)
    assert {t.dtype for t in model.state_dict().values() if t.is_floating_point()} == {torch.float32}


def test_masked_batchnorm_takes_float32_statistics_of_a_bf16_input():
    """A padded batch under autocast: the mean and variance of the valid steps in float32.

    In bf16 the running mean of this batch (mean 5, std 3) was off by 5e-3 relative; BatchNorm's
    own kernel (the unmasked path) is off by 1e-7.
    """
    torch.manual_seed(0)
    x = (torch.randn(8, 6, 300) * 3 + 5).bfloat16()  # what a bf16 convolution hands over
    mask = (
        torch.arange(300)[None, :] < torch.tensor([300, 120, 300, 77, 300, 300, 250, 300])[:, None]
    ).unsqueeze(1)
    bn, ref = MaskedBatchNorm1d(num_features=6), MaskedBatchNorm1d(num_features=6)
    expected = ref(x.float(), mask)  # the same bf16 values, in float32 throughout
    with _bf16():
        out = bn(x, mask)
    assert out.dtype == torch.bfloat16  # the input's dtype, as nn.BatchNorm1d under autocast
    assert bn.running_mean.dtype == bn.running_var.dtype == torch.float32
    torch.testing.assert_close(bn.running_mean, ref.running_mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bn.running_var, ref.running_var, rtol=1e-5, atol=1e-6)
    valid = mask.expand_as(x)
    # only the output's own rounding to bf16 is left: half a unit in the last place
    error = (out.float() - expected).abs()[valid]
    assert bool((error <= U * expected.abs()[valid] + 1e-6).all())


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize(
    "kwargs", [dict(bias=False), dict(bias=False, proj_size=4), dict(bidirectional=True)]
)
def test_lstm_state_keeps_the_weights_dtype_under_autocast(kwargs, padded):
    """Without biases nothing promoted bf16 gates back to float32: the cell state ran in bf16."""
    torch.manual_seed(0)
    lstm = LSTM(8, 16, batch_first=True, **kwargs)
    x = torch.randn(3, 40, 8)
    lengths = torch.tensor([40, 25, 9]) if padded else None
    ref, (ref_h, ref_c) = lstm(x, lengths=lengths)
    with _bf16():
        out, (h, c) = lstm(x.bfloat16(), lengths=lengths)
    assert out.dtype == h.dtype == c.dtype == torch.float32
    for a, b in ((out, ref), (h, ref_h), (c, ref_c)):
        assert _scaled_error(a.detach(), b.detach()) <= 12 * U


def test_predicted_probabilities_are_float32_and_sum_to_one_under_autocast():
    torch.manual_seed(0)
    task = ClassificationTask(name="lstm_fcn_tiny", num_classes=4, input_shape=[32, 3]).eval()
    x = torch.randn(5, 32, 3) * 4  # confident logits: bf16 probabilities would not sum to one
    with torch.no_grad(), _bf16():
        out = task.predict_step((x, torch.zeros(5, dtype=torch.long)), 0)
    assert out["probs"].dtype == torch.float32
    torch.testing.assert_close(out["probs"].sum(-1), torch.ones(5), rtol=0, atol=1e-6)


def test_a_bf16_training_step_updates_float32_weights():
    """Forward under autocast, loss and backward as Lightning does: gradients and weights float32."""
    torch.manual_seed(0)
    model = create_model("cnn_bilstm_tiny", num_classes=3, in_channels=3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(4, 32, 3), torch.tensor([0, 1, 2, 0])
    with _bf16():
        loss = nn.functional.cross_entropy(model(x, torch.tensor([32, 20, 32, 16])), y)
    assert loss.dtype == torch.float32
    loss.backward()
    optimizer.step()
    assert {p.grad.dtype for p in model.parameters() if p.grad is not None} == {torch.float32}
    assert {p.dtype for p in model.parameters()} == {torch.float32}
