"""ImageNet frame encoders from torchvision (an optional extra), as feature extractors.

torchvision is imported only when one of these backbones is asked for; the package never needs it
otherwise, and nothing here downloads unless the caller names a torchvision weights entry.

Weights, by ``weights``:

- ``None``: random initialisation (nothing is read or downloaded).
- a torchvision weights name (``"DEFAULT"``, ``"IMAGENET1K_V1"`` ...): torchvision's own hub path —
  downloaded once into ``$TORCH_HOME/hub/checkpoints`` and reused from there.
- a path to a local ``.pth``/``.pt`` state dict (read with ``weights_only=True``) or a
  ``.safetensors`` file, in torchvision's parameter names: for machines without internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._io import read_state_dict

__all__ = ["TORCHVISION_BACKBONES", "TorchvisionBackbone"]

# name -> the attribute holding the classifier, which the extractor replaces by an identity.
TORCHVISION_BACKBONES: dict[str, str] = {
    "resnet18": "fc",
    "resnet34": "fc",
    "resnet50": "fc",
    "mobilenet_v3_small": "classifier",
    "mobilenet_v3_large": "classifier",
}
_LOCAL_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


def _import_torchvision() -> Any:
    try:
        import torchvision.models  # type: ignore[import-not-found, unused-ignore]
    except ImportError as err:  # not installed, or built for another torch
        raise ImportError(
            f"torchvision backbones need torchvision built for torch {torch.__version__} "
            f'(pip install "cnnlstm[vision]" with torch pinned); import failed: {err}'
        ) from err
    return torchvision.models


def _load_local(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights file {path} does not exist")
    return read_state_dict(path)


def _build_network(name: str, weights: str | Path | None) -> nn.Module:
    """torchvision's ``name`` with ``weights``: none, a torchvision weights name, or a local file."""
    models = _import_torchvision()
    if weights is None:
        return models.get_model(name, weights=None)
    if not (isinstance(weights, Path) or str(weights).endswith(_LOCAL_SUFFIXES) or "/" in str(weights)):
        return models.get_model(name, weights=weights)  # torchvision's hub path for a name
    network = models.get_model(name, weights=None)
    state = _load_local(Path(weights))
    try:
        network.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise ValueError(
            f"backbone weights file {weights} does not fit torchvision's {name}: "
            f"{first[1].strip() if len(first) > 1 else first[0]}"
        ) from err
    return network


class TorchvisionBackbone(nn.Module):
    """A torchvision classification network without its classifier: frames → feature vectors.

    Args:
        name: one of :data:`TORCHVISION_BACKBONES`.
        weights: ``None``, a torchvision weights name, or a local weights file (see the module
            docstring).
        freeze: keep the backbone fixed: ``requires_grad=False`` and its BatchNorm statistics
            frozen too (the network stays in eval mode when the model trains).

    Input ``(N, 3, H, W)`` normalised with ImageNet's mean and std (the default of the video
    data); output ``(N, out_features)``.

    Example:
        >>> backbone = TorchvisionBackbone(name="resnet18")  # doctest: +SKIP
        >>> backbone(torch.randn(2, 3, 112, 112)).shape  # doctest: +SKIP
        torch.Size([2, 512])
    """

    def __init__(self, *, name: str, weights: str | Path | None = None, freeze: bool = False) -> None:
        super().__init__()
        if name not in TORCHVISION_BACKBONES:
            raise ValueError(
                f"backbone must be one of {sorted(TORCHVISION_BACKBONES)}; received backbone={name!r}"
            )
        network = _build_network(name, weights)
        head = TORCHVISION_BACKBONES[name]
        setattr(network, head, nn.Identity())
        self.network = network
        self.name = name
        with torch.no_grad():
            was_training = network.training
            network.eval()
            self.out_features = int(network(torch.zeros(1, 3, 64, 64)).shape[-1])
            network.train(was_training)
        self.freeze = bool(freeze)
        if self.freeze:
            for parameter in self.network.parameters():
                parameter.requires_grad_(False)
            self.network.eval()

    def train(self, mode: bool = True) -> TorchvisionBackbone:
        super().train(mode)
        if self.freeze:
            self.network.eval()
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self.network(x)
