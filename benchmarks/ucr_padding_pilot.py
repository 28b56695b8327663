"""Pilot for padded (unequal-length) UCR sets: does the model fit TRAIN, and what stops it?

A short training loop (the archive recipe's optimiser: AdamW lr 1e-3, weight decay 1e-4, batch
16, a cosine schedule over ``--steps`` updates, the seeded batch order of the data modules) on a
stratified ``1 - --val-fraction`` part of the archive's TRAIN split; it reports the accuracy on
that part (eval mode: does the model fit?) and on the held-out part of TRAIN. The test split is
never read. Each factor that padding or scale could touch is switched separately:

* ``--norm channel`` (the data modules' per-channel statistics over the training part) or
  ``--norm series`` (each series and channel z-normalised over its own real steps);
* ``--norm padded_series``: each series zero-padded to the set's longest and z-normalised over all
  of those steps, padding included (with ``--no-mask``, the input of the published FCN/ResNet/
  InceptionTime runs on the archive's padded files: Ismail Fawaz et al.'s code z-normalises each
  row of the padded file);
* ``--trim``: every batch cut to its longest series (otherwise padded to the set's longest);
* whatever BatchNorm the ``cnnlstm`` on ``PYTHONPATH`` has: run it once with the code before the
  fix (``git archive <commit> src | tar -x -C /tmp/base``; ``PYTHONPATH=/tmp/base/src``) and once
  with the current code to compare BatchNorm over padding with BatchNorm over real steps only;
* ``--steps``: the schedule's length (does a longer one fix under-fitting?);
* ``--scale-channels std`` / ``std_mean``: beside the per-series z-normalised series, each series'
  log standard deviation (and ``asinh`` of its mean) as constant channels, standardised over the
  fitting part: does the scale that per-series normalisation removes carry the class?
* ``--no-mask``: the model gets no lengths and sees the zero padding as data, as a network trained
  on the archive's equal-length (``_eq``) files does;
* ``--kernel-sizes``: the model's convolution kernels (a wider receptive field);
* ``--optimizer adam_plateau``: the anchors' optimiser instead of the recipe's (Ismail Fawaz et
  al.'s FCN and ResNet: Adam at 1e-3 without weight decay, the learning rate halved when the
  epoch's training loss has not improved for 50 epochs, down to 1e-4, and the model of the epoch
  with the lowest training loss kept rather than the last one);
* ``--eval-every E``: every ``E`` epochs, the held-out accuracy of the model a run stopped there
  would keep (the lowest-epoch-loss model under ``adam_plateau``, else the current one) and of the
  current model, as ``heldout_curve`` rows ``[epoch, updates, kept, current]``: a learning curve of
  the held-out part against the budget, from one run. ``SIGTERM`` ends the run at the end of the
  current epoch and writes the row as usual, with ``stopped_early``;
* ``--precision bf16``: the forward passes (training and evaluation) under
  ``torch.autocast("cpu", dtype=torch.bfloat16)``, what Lightning's ``precision="bf16-mixed"``
  does on a CPU; the weights, the optimizer and the loss stay float32.

    OMP_NUM_THREADS=1 python benchmarks/ucr_padding_pilot.py --dataset PLAID --steps 250 --norm series
    OMP_NUM_THREADS=1 python benchmarks/ucr_padding_pilot.py --dataset ACSF1 --steps 4500 --precision bf16

The model is the one after the last update (no selection); with the cosine schedule's learning
rate at 0 there, it is close to the archive recipe's lowest-training-loss epoch.

Prints one JSON line per run (and appends it to ``--json`` when given) with the CPU seconds of the
process.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import signal
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch.nn import functional as F

from cnnlstm.data.base import EpochSeededSampler
from cnnlstm.data.timeseries import UCRDataModule
from cnnlstm.models import create_model, shape_kwargs_for
from cnnlstm.models.sensor import _SameConvBlock, _step_mask, _time_mean
from cnnlstm.nn import MaskedBatchNorm1d


class PilotResNet(torch.nn.Module):
    """Wang et al. 2017's ResNet for series (a pilot's model, not the library's): three residual
    blocks of three 'same' convolutions (kernels 8, 5, 3; 64, 128, 128 filters) with BatchNorm and
    ReLU, a 1x1-convolution (or BatchNorm) shortcut, global average pooling over the real steps,
    a linear layer. With ``lstm_hidden`` an LSTM-FCN-style LSTM branch (dimension shuffle,
    dropout 0.8) is concatenated before the linear layer."""

    def __init__(self, *, num_classes: int, in_channels: int, seq_len: int, lstm_hidden: int = 0) -> None:
        super().__init__()
        widths = (64, 128, 128)
        self.blocks = torch.nn.ModuleList()
        self.shortcuts = torch.nn.ModuleList()
        c_in = in_channels
        for width in widths:
            self.blocks.append(
                torch.nn.ModuleList(
                    _SameConvBlock(a, width, k) for a, k in zip((c_in, width, width), (8, 5, 3), strict=True)
                )
            )
            conv = torch.nn.Conv1d(c_in, width, 1, bias=False) if c_in != width else None
            self.shortcuts.append(torch.nn.ModuleDict({"bn": MaskedBatchNorm1d(num_features=width)}))
            if conv is not None:
                cast(torch.nn.ModuleDict, self.shortcuts[-1])["conv"] = conv
            c_in = width
        self.seq_len = seq_len
        self.lstm = torch.nn.LSTM(seq_len, lstm_hidden, batch_first=True) if lstm_hidden else None
        self.drop = torch.nn.Dropout(0.8)
        self.head = torch.nn.Linear(widths[-1] + lstm_hidden, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = None
        if lengths is not None:
            step_mask = _step_mask(lengths, x.shape[1], x.dtype)
            x = x * step_mask.unsqueeze(-1)
            mask = step_mask.unsqueeze(1)
        y = x.transpose(1, 2)
        # What __init__ put in them: ModuleLists of _SameConvBlock, and ModuleDicts.
        blocks = cast(Iterable[Sequence[_SameConvBlock]], self.blocks)
        shortcuts = cast(Iterable[torch.nn.ModuleDict], self.shortcuts)
        for convs, shortcut in zip(blocks, shortcuts, strict=True):
            short = shortcut["conv"](y) if "conv" in shortcut else y
            short = shortcut["bn"](short, mask)
            for i, conv in enumerate(convs):
                if i == len(convs) - 1:  # the last convolution: BN, then the sum, then ReLU
                    z = conv.conv(F.pad(y, conv.input_pad) if conv.input_pad is not None else y)
                    y = conv.bn(z, mask)
                else:
                    y = conv(y, mask)
                if mask is not None:
                    y = y * mask
            y = F.relu(y + short)
            if mask is not None:
                y = y * mask
        features = [_time_mean(y, mask)]
        if self.lstm is not None:
            padded = F.pad(x, (0, 0, 0, self.seq_len - x.shape[1]))
            _, (h_n, _) = self.lstm(padded.transpose(1, 2))
            features.insert(0, self.drop(h_n[-1]))
        return self.head(torch.cat(features, dim=1))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def series_znorm(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each series and channel of ``x (N, T, C)`` z-normalised over its real steps; padding stays 0."""
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(x.dtype)[..., None]  # (N, T, 1)
    count = mask.sum(dim=1, keepdim=True)
    mean = (x * mask).sum(dim=1, keepdim=True) / count
    var = (((x - mean) * mask) ** 2).sum(dim=1, keepdim=True) / count
    std = var.sqrt().clamp(min=1e-8)
    return (x - mean) / std * mask


def scale_channels(x: torch.Tensor, lengths: torch.Tensor, which: str) -> torch.Tensor:
    """Per-series level and scale of ``x (N, T, C)`` over its real steps, as constant channels.

    ``which`` is ``"std"`` (``log`` of each channel's standard deviation) or ``"std_mean"`` (that
    and ``asinh`` of each channel's mean); returned as ``(N, T, C')`` to sit beside the
    z-normalised series (padding 0; standardised over the fitting part by the caller).
    """
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(x.dtype)[..., None]
    count = mask.sum(dim=1, keepdim=True)
    mean = (x * mask).sum(dim=1, keepdim=True) / count
    std = ((((x - mean) * mask) ** 2).sum(dim=1, keepdim=True) / count).sqrt()
    feats = [torch.log(std.clamp(min=1e-8))]
    if which == "std_mean":
        feats.append(torch.asinh(mean))
    return torch.cat(feats, dim=-1).expand(-1, x.shape[1], -1) * mask


def autocast(precision: str) -> torch.autocast:
    """The CPU autocast of ``precision`` (``"bf16"``; disabled for ``"32"``)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


def cpu_flags() -> dict[str, object]:
    """The CPU's model name and whether it has the bf16 instructions oneDNN uses."""
    info = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), ""
    )
    flags = set(
        next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    )
    return {"cpu": model, "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags}


def accuracy(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    lengths: torch.Tensor,
    trim: bool,
    precision: str = "32",
    no_mask: bool = False,
) -> float:
    model.eval()
    correct = 0
    with torch.no_grad(), autocast(precision):
        for start in range(0, len(x), 64):
            xb, lb = x[start : start + 64], lengths[start : start + 64]
            if trim:
                xb = xb[:, : int(lb.max())]
            logits = model(xb, lengths=None if no_mask else lb).float()
            correct += int((logits.argmax(-1) == y[start : start + 64]).sum())
    model.train()
    return correct / len(x)


class _StopRequest:
    """Set by ``SIGTERM``: the training loop ends at the end of the current epoch."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, signum: int, frame: object) -> None:
        self.requested = True


def train(
    model: torch.nn.Module,
    dataset: torch.utils.data.Dataset,
    x: torch.Tensor,
    y: torch.Tensor,
    lengths: torch.Tensor,
    args: argparse.Namespace,
    heldout: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> tuple[list[float], int, int, list[list[float]], bool]:
    """``args.steps`` updates of batch 16 in the data modules' seeded order; returns the losses,
    the epochs begun, the epoch whose model is kept (the last, or the lowest epoch loss's), the
    held-out curve (every ``args.eval_every`` epochs, given ``heldout``) and whether ``SIGTERM``
    ended the run early."""
    plateau = args.optimizer == "adam_plateau"
    if plateau:
        optimizer: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        per_epoch = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.5, patience=50, min_lr=1e-4
        )
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        per_step = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
    sampler = EpochSeededSampler(dataset, seed=args.seed)
    best_loss, best_state, kept_epoch, best_epoch = float("inf"), None, -1, -1
    model.train()
    losses: list[float] = []
    curve: list[list[float]] = []
    stop = _StopRequest()
    epoch = 0
    while len(losses) < args.steps and not stop.requested:
        sampler.set_epoch(epoch)
        order = list(sampler)
        epoch_losses = []
        for first in range(0, len(order), 16):
            idx = torch.tensor(order[first : first + 16])
            xb, yb, lb = x[idx], y[idx], lengths[idx]
            if args.trim:
                xb = xb[:, : int(lb.max())]
            with autocast(args.precision):
                logits = model(xb, lengths=None if args.no_mask else lb)
            loss = F.cross_entropy(logits.float(), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if not plateau:
                per_step.step()
            epoch_losses.append(loss.item())
            if len(losses) + len(epoch_losses) >= args.steps:
                break
        losses += epoch_losses
        kept_epoch = epoch
        if plateau:  # Keras' epoch loss: the mean over the epoch's batches
            epoch_loss = float(np.mean(epoch_losses))
            per_epoch.step(epoch_loss)
            if epoch_loss < best_loss:
                best_loss, best_state = (
                    epoch_loss,
                    {k: v.detach().clone() for k, v in model.state_dict().items()},
                )
                best_epoch = epoch
        epoch += 1
        if heldout is not None and args.eval_every and epoch % args.eval_every == 0:
            curve.append(_curve_point(model, best_state, heldout, epoch, len(losses), args))
    if best_state is not None:
        model.load_state_dict(best_state)
        kept_epoch = best_epoch
    return losses, epoch, kept_epoch, curve, stop.requested


def _curve_point(
    model: torch.nn.Module,
    best_state: dict[str, torch.Tensor] | None,
    heldout: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    epoch: int,
    updates: int,
    args: argparse.Namespace,
) -> list[float]:
    """``[epoch, updates, kept model's held-out acc, current model's]``, printed as it is measured."""
    current = accuracy(model, *heldout, args.trim, args.precision, args.no_mask)
    kept = current
    if best_state is not None:
        kept_model = copy.deepcopy(model)
        kept_model.load_state_dict(best_state)
        kept = accuracy(kept_model, *heldout, args.trim, args.precision, args.no_mask)
    point = [epoch, updates, round(kept, 4), round(current, 4)]
    print(json.dumps({"heldout_curve_point": point, "cpu_s": round(cpu_seconds(), 1)}), flush=True)
    return point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="PLAID")
    parser.add_argument("--model", default="lstm_fcn")
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument(
        "--norm",
        choices=["channel", "series", "padded_series"],
        default="channel",
        help="padded_series: each series zero-padded to the set's longest, then z-normalised over "
        "all those steps (pad, then normalise: the archive's published deep models' input)",
    )
    parser.add_argument("--trim", action="store_true")
    parser.add_argument(
        "--no-mask",
        action="store_true",
        help="give the model no lengths: it sees the zero padding as data (as on an archive _eq file)",
    )
    parser.add_argument(
        "--scale-channels",
        choices=["none", "std", "std_mean"],
        default="none",
        help="append each series' log std (and asinh mean) as constant channels",
    )
    parser.add_argument(
        "--kernel-sizes", type=int, nargs="+", help="the model's kernel_sizes (default: its own)"
    )
    parser.add_argument(
        "--optimizer",
        choices=["adamw_cosine", "adam_plateau"],
        default="adamw_cosine",
        help="the recipe's AdamW with a cosine schedule, or the anchors' Adam with plateau halving",
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="every E epochs, score the held-out part (kept and current model): a learning curve",
    )
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["32", "bf16"], default="32")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    start = cpu_seconds()

    dm = UCRDataModule(
        name=args.dataset, val_fraction=args.val_fraction, normalize=args.norm == "channel", batch_size=16
    )
    dm.setup("fit")
    parts = {}
    for split in ("train", "val"):
        ds = getattr(dm, f"{split}_dataset")
        x, y, lengths = ds.x, ds.y, ds.lengths
        if args.norm == "series":
            x_norm = series_znorm(x, lengths)
        elif args.norm == "padded_series":
            x_norm = series_znorm(x, torch.full_like(lengths, x.shape[1]))
        else:
            x_norm = x
        if args.scale_channels != "none":
            x_norm = torch.cat([x_norm, scale_channels(x, lengths, args.scale_channels)], dim=-1)
        parts[split] = (x_norm, y, lengths)
    if args.scale_channels != "none":  # the extra channels standardised with the fitting part's statistics
        fx = parts["train"][0]
        extra = slice(dm.input_shape[1], None)
        first = fx[torch.arange(len(fx)), 0, extra]  # (N, C'): constant over the steps
        mu, sd = first.mean(0), first.std(0).clamp(min=1e-8)
        for split, (px, py, pl) in parts.items():
            mask = (torch.arange(px.shape[1])[None, :] < pl[:, None]).to(px.dtype)[..., None]
            px = px.clone()
            px[..., extra] = (px[..., extra] - mu) / sd * mask
            parts[split] = (px, py, pl)
    x, y, lengths = parts["train"]
    if args.model in ("pilot_resnet", "pilot_resnet_lstm"):
        model: torch.nn.Module = PilotResNet(
            num_classes=dm.num_classes,
            in_channels=parts["train"][0].shape[-1],
            seq_len=dm.input_shape[0],
            lstm_hidden=8 if args.model == "pilot_resnet_lstm" else 0,
        )
    else:
        shape = shape_kwargs_for(args.model, [dm.input_shape[0], parts["train"][0].shape[-1]])
        model = create_model(
            args.model,
            num_classes=dm.num_classes,
            **shape,
            **({"kernel_sizes": args.kernel_sizes} if args.kernel_sizes else {}),
        )
    assert dm.train_dataset is not None  # setup("fit") built it
    losses, epoch, kept_epoch, heldout_curve, stopped_early = train(
        model, dm.train_dataset, x, y, lengths, args, heldout=parts["val"]
    )
    fit_cpu = cpu_seconds() - start
    tenth = max(1, len(losses) // 10)  # the mean loss of each tenth of the updates: the curve
    curve = [round(float(np.mean(losses[i : i + tenth])), 4) for i in range(0, tenth * 10, tenth)]
    row = dict(
        label=args.label,
        dataset=args.dataset,
        model=args.model,
        steps=args.steps,
        norm=args.norm,
        trim=args.trim,
        scale_channels=args.scale_channels,
        no_mask=args.no_mask,
        kernel_sizes=args.kernel_sizes,
        seed=args.seed,
        precision=args.precision,
        optimizer=args.optimizer,
        kept_epoch=kept_epoch,
        epochs=epoch,
        cnnlstm=str(Path(sys.modules["cnnlstm"].__file__ or "").parent),
        last_epoch_train_loss=round(float(np.mean(losses[-max(1, len(x) // 16) :])), 4),
        train_loss_by_tenth=curve,
        fit_acc=round(accuracy(model, *parts["train"], args.trim, args.precision, args.no_mask), 4),
        heldout_acc=round(accuracy(model, *parts["val"], args.trim, args.precision, args.no_mask), 4),
        n_fit=len(x),
        n_heldout=len(parts["val"][0]),
        fit_cpu_s=round(fit_cpu, 1),
        cpu_s_per_update=round(fit_cpu / len(losses), 4),
        updates=len(losses),
        stopped_early=stopped_early,
        eval_every=args.eval_every,
        heldout_curve=heldout_curve,
        cpu_s=round(cpu_seconds() - start, 1),
        torch=torch.__version__,
        **cpu_flags(),
    )
    print(json.dumps(row), flush=True)
    if args.json is not None:
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
