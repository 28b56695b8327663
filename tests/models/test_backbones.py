"""LRCN with a torchvision backbone: the wiring, with a stand-in torchvision module.

The real torchvision is an optional extra that this machine cannot install for its CPU torch
(the PyPI wheel is built against another torch), so these tests replace ``torchvision.models``
with a small module that has its API (``get_model(name, weights=...)``) and records the calls.
What they check is ours: which weights path is taken, the local-file loading (never unpickling),
the removed classifier, freezing and the clear error when torchvision is missing.
"""

from __future__ import annotations

import sys
import types

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from cnnlstm import create_model
from cnnlstm._io import UnsafeCheckpointError
from cnnlstm.nn.backbones import TorchvisionBackbone


class _TinyResNet(nn.Module):
    """Stands in for torchvision's resnet18: features, global pooling, a classifier named ``fc``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.bn = nn.BatchNorm2d(12)
        self.fc = nn.Linear(12, 1000)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3)))


@pytest.fixture
def fake_torchvision(monkeypatch):
    calls = []

    def get_model(name, *, weights=None):
        calls.append((name, weights))
        torch.manual_seed(123 if weights is not None else 0)  # "pretrained" differs from random
        return _TinyResNet()

    package = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")
    models.get_model = get_model
    package.models = models
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    return calls


def test_lrcn_with_a_torchvision_backbone_drops_its_classifier(fake_torchvision):
    model = create_model("lrcn_tiny", num_classes=5, backbone="resnet18")
    assert fake_torchvision == [("resnet18", None)]  # random init: nothing downloaded
    assert isinstance(model.encoder.module.network.fc, nn.Identity)
    assert model.encoder.module.out_features == 12
    assert model(torch.randn(2, 4, 3, 32, 32)).shape == (2, 5)


def test_a_weights_name_takes_torchvisions_hub_path(fake_torchvision):
    TorchvisionBackbone(name="resnet18", weights="DEFAULT")
    assert fake_torchvision == [("resnet18", "DEFAULT")]


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_file_loads_exactly(fake_torchvision, tmp_path, suffix):
    torch.manual_seed(7)
    source = _TinyResNet()
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        save_file(source.state_dict(), str(path))
    else:
        torch.save(source.state_dict(), path)
    backbone = TorchvisionBackbone(name="resnet18", weights=str(path))
    assert fake_torchvision == [("resnet18", None)]  # built empty, then filled from the file
    torch.testing.assert_close(backbone.network.conv.weight, source.conv.weight, rtol=0, atol=0)
    torch.testing.assert_close(backbone.network.bn.running_mean, source.bn.running_mean, rtol=0, atol=0)


def test_local_weights_file_is_never_unpickled(fake_torchvision, tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv.weight": torch.zeros(1), "payload": types.SimpleNamespace(x=1)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"refusing to load .*evil\.pth.*SimpleNamespace"):
        TorchvisionBackbone(name="resnet18", weights=str(path))


def test_local_weights_that_do_not_fit_name_the_file(fake_torchvision, tmp_path):
    path = tmp_path / "other.pth"
    torch.save(nn.Linear(3, 4).state_dict(), path)
    with pytest.raises(ValueError, match=r"other\.pth does not fit torchvision's resnet18"):
        TorchvisionBackbone(name="resnet18", weights=str(path))
    with pytest.raises(FileNotFoundError, match="missing.pth does not exist"):
        TorchvisionBackbone(name="resnet18", weights=str(tmp_path / "missing.pth"))


def test_frozen_backbone_keeps_weights_and_batchnorm_statistics(fake_torchvision):
    model = create_model("lrcn_tiny", num_classes=3, backbone="resnet18", freeze_backbone=True).train()
    network = model.encoder.module.network
    before = network.bn.running_mean.clone()
    loss = model(torch.randn(2, 4, 3, 32, 32) + 3.0).sum()
    loss.backward()
    assert all(p.grad is None for p in network.parameters())
    assert not network.training and torch.equal(network.bn.running_mean, before)
    assert model.lstm.weight_ih_l0.grad is not None


def test_backbone_arguments_are_validated():
    with pytest.raises(ValueError, match=r"backbone must be one of .*resnet18.*received backbone='resnet19'"):
        create_model("lrcn_tiny", backbone="resnet19")
    with pytest.raises(ValueError, match="apply to torchvision backbones"):
        create_model("lrcn_tiny", backbone_weights="DEFAULT")


def test_missing_torchvision_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    with pytest.raises(ImportError, match=r'pip install "cnnlstm\[vision\]"') as info:
        create_model("lrcn_tiny", backbone="mobilenet_v3_small")
    assert "\n" not in str(info.value)
