"""Short Moving MNIST recipe comparisons: a plain training loop, every metric beside blank frames.

What each recipe change does to MSE, MAE, SSIM and PSNR after a few hundred updates on CPU, for
choosing the presets' settings (output activation, loss, scoring the input-frame predictions,
batch, learning rate). Training sequences are fresh generated ones (train digit pool, seed 0);
the evaluation set is the first ``--num_eval`` sequences of the validation set (``--eval_split
val``: train digits, the data module's validation seed; for choosing settings) or of the fixed
test set (``--eval_split test``, the default: test digit pool, seed 2015; for reporting), scored with :class:`~cnnlstm.tasks.forecasting.FrameForecastMetrics` beside all-zero
and copied-last-frame predictions of the same sequences. AdamW, cosine over the updates, gradient
norm clipped at 1, seed 0. One JSON line per evaluation, with the CPU minutes used.

    OMP_NUM_THREADS=1 python benchmarks/moving_mnist_recipes.py --name convlstm_single_stack \\
        --kw '{"hidden_channels": [32, 32], "kernel_size": 3, "patch_size": 4, "output": "linear"}' \\
        --loss mse+l1 --input_loss 1 --steps 250 --lr 3e-3 --num_eval 100
"""

from __future__ import annotations

import argparse
import json
import time
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F

from cnnlstm.data.moving_mnist import MovingMNIST
from cnnlstm.data.moving_mnist_data import _VAL_SEED_OFFSET, TEST_SEED
from cnnlstm.models import create_model
from cnnlstm.tasks.forecasting import FrameForecastMetrics, binary_cross_entropy, ssim_loss


def batch_of(sequences: MovingMNIST, start: int, size: int) -> torch.Tensor:
    """Sequences ``start ... start + size - 1`` as ``(B, T, 1, H, W)`` floats in [0, 1]."""
    array = np.stack([sequences[i] for i in range(start, start + size)])
    return torch.from_numpy(array).float().div(255)[:, :, None]


def time_updates(model: torch.nn.Module, optimizer: torch.optim.Optimizer, args: argparse.Namespace) -> int:
    """Print the CPU seconds of one update (MSE on the future frames, random frames of the batch)."""
    x, y = torch.rand(args.batch, 10, 1, 64, 64), torch.rand(args.batch, 10, 1, 64, 64)

    def update() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            pred = model(x, 10)
        loss = F.mse_loss(pred.float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    update()  # warm-up
    start = time.process_time()
    for _ in range(args.time_updates):
        update()
    seconds = (time.process_time() - start) / args.time_updates
    parameters = sum(p.numel() for p in model.parameters())
    print(
        json.dumps(
            {
                "name": args.name,
                "kw": args.kw,
                "bf16": args.bf16,
                "parameters": parameters,
                "threads": torch.get_num_threads(),
                "cpu_s_per_update": round(seconds, 2),
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="convlstm_single_stack")
    parser.add_argument("--kw", default='{"hidden_channels": [32, 32], "kernel_size": 3, "patch_size": 4}')
    parser.add_argument("--loss", choices=("mse", "l1", "mse+l1", "bce"), default="mse+l1")
    parser.add_argument("--l1_weight", type=float, default=1.0, help="weight of L1 in mse+l1")
    parser.add_argument(
        "--ssim_weight", type=float, default=0.0, help="weight of 1 - SSIM (of frames clipped to [0, 1])"
    )
    parser.add_argument("--input_loss", type=float, default=0.0, help="weight of the input-frame loss")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--eval_every", type=int, default=125)
    parser.add_argument("--num_eval", type=int, default=100)
    parser.add_argument(
        "--eval_split",
        choices=("val", "test"),
        default="test",
        help="score on the validation sequences (train digits, the data module's val seed: for choosing "
        "settings) or the fixed test set (for reporting)",
    )
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    parser.add_argument(
        "--time_updates", type=int, default=0, help="only time this many updates (after one warm-up)"
    )
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = create_model(args.name, **json.loads(args.kw))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)

    def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if args.loss == "bce":
            return binary_cross_entropy(pred, target)
        mse, l1 = F.mse_loss(pred, target), F.l1_loss(pred, target)
        loss = {"mse": mse, "l1": l1, "mse+l1": mse + args.l1_weight * l1}[args.loss]
        if args.ssim_weight > 0:
            loss = loss + args.ssim_weight * ssim_loss(pred, target)
        return loss

    if args.time_updates:
        return time_updates(model, optimizer, args)
    train = MovingMNIST(10**7, seq_len=20, seed=0, split="train")
    seed, pool = (TEST_SEED, "test") if args.eval_split == "test" else (_VAL_SEED_OFFSET, "train")
    test = batch_of(MovingMNIST(args.num_eval, seq_len=20, seed=seed, split=pool), 0, args.num_eval)
    baselines = {"zeros": torch.zeros_like(test[:, 10:]), "copy_last": test[:, 9:10].expand_as(test[:, 10:])}
    for name, guess in baselines.items():
        metric = FrameForecastMetrics(horizon=10)
        metric.update(guess, test[:, 10:])
        print(
            json.dumps(
                {
                    "baseline": name,
                    "split": args.eval_split,
                    **{k: round(float(v), 4) for k, v in metric.compute().items()},
                }
            )
        )

    def evaluate() -> dict[str, float]:
        model.eval()
        metric = FrameForecastMetrics(horizon=10)
        with torch.no_grad():
            for i in range(0, len(test), 50):
                metric.update(model(test[i : i + 50, :10], 10), test[i : i + 50, 10:])
        model.train()
        return {k: round(float(v), 4) for k, v in metric.compute().items()}

    cpu0, wall0 = time.process_time(), time.time()
    for step in range(1, args.steps + 1):
        seqs = batch_of(train, (step - 1) * args.batch, args.batch)
        x, y = seqs[:, :10], seqs[:, 10:]
        extra = {"predict_inputs": True} if args.input_loss > 0 else {}
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            pred = model(x, 10, **extra)
        loss = loss_fn(pred.float(), y)
        if args.input_loss > 0:
            read = cast(torch.Tensor, model.input_predictions)  # forward(predict_inputs=True) set it
            loss = loss + args.input_loss * loss_fn(read.float(), x[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % args.eval_every == 0 or step == args.steps:
            row = {
                "step": step,
                "cpu_minutes": round((time.process_time() - cpu0) / 60, 2),
                "wall_minutes": round((time.time() - wall0) / 60, 2),
                "train_loss": round(loss.item(), 5),
                **evaluate(),
            }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
