"""Frame forecasting: predict the next frames of a sequence (ConvLSTM, Moving MNIST, nowcasting).

Metrics follow the convention of OpenSTL and PredRNN so that numbers compare with theirs:
``mse`` and ``mae`` are the squared / absolute error **summed over a frame's pixels** and averaged
over frames and sequences, on frames scaled to [0, 1]; ``ssim`` and ``psnr`` are per frame
(torchmetrics, data range 1) and averaged. Every metric is also kept per horizon (future frame
1, 2, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from cnnlstm._validation import check_choice, check_non_negative_float, check_probability
from cnnlstm.tasks.base import BaseTask
from cnnlstm.tasks.nowcasting_metrics import BALANCE_WEIGHTS, balanced_mse_mae, check_balance
from cnnlstm.training.progress import log_learning_rate

__all__ = ["ForecastingTask", "FrameForecastMetrics", "ssim_loss"]

LOSSES = ("mse", "l1", "mse+l1", "bce", "balanced")
METRICS = ("mse", "mae", "ssim", "psnr")


def binary_cross_entropy(pred: Tensor, target: Tensor) -> Tensor:
    """Per-pixel BCE of sigmoid outputs, in float32 even under mixed precision.

    Autocast refuses ``F.binary_cross_entropy`` on half-precision inputs (the log of a rounded
    probability is unstable); the forecasters output probabilities, so the loss leaves autocast.
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        return F.binary_cross_entropy(pred.float(), target.float())


def mse_plus_l1(pred: Tensor, target: Tensor, l1_weight: float = 1.0) -> Tensor:
    """Mean squared plus ``l1_weight`` × mean absolute error: the squared error's fit of the digits'
    positions, and the absolute error's pull of uncertain pixels to exactly black rather than to a
    grey mean."""
    return F.mse_loss(pred, target) + l1_weight * F.l1_loss(pred, target)


# SSIM's window (torchmetrics' defaults, which the metrics use): Gaussian, 11 wide, σ 1.5.
_SSIM_WINDOW, _SSIM_SIGMA, _SSIM_C1, _SSIM_C2 = 11, 1.5, 0.01**2, 0.03**2


@functools.lru_cache(maxsize=8)
def _ssim_blur_matrix(size: int, device: torch.device) -> Tensor:
    """``(size, size)`` matrix ``B`` with ``x @ B`` = ``x`` reflect-padded and filtered by SSIM's
    Gaussian window, along the last axis: torchmetrics' padding and convolution as one product."""
    half = _SSIM_WINDOW // 2
    if size <= half:
        raise ValueError(f"ssim_loss needs frames larger than {half} pixels a side; received {size}")
    offsets = torch.arange(_SSIM_WINDOW, dtype=torch.float64) - half
    window = torch.exp(-((offsets / _SSIM_SIGMA) ** 2) / 2)
    window = window / window.sum()
    padding = F.pad(torch.eye(size, dtype=torch.float64)[None], (half, half), mode="reflect")[0]
    filtering = torch.zeros(size + 2 * half, size, dtype=torch.float64)
    for i in range(size):  # output i reads padded inputs i ... i + window - 1
        filtering[i : i + _SSIM_WINDOW, i] = window
    return (padding @ filtering).float().to(device)


def ssim_loss(pred: Tensor, target: Tensor) -> Tensor:
    """1 − the mean SSIM of frames ``(..., C, H, W)``, on ``pred`` clipped to [0, 1] as it is scored.

    The SSIM of the metrics (torchmetrics' definition: data range 1, reflect padding, Gaussian
    window 11 wide with σ 1.5), computed with the window as two matrix products, which trains
    about 30 times faster on CPU than torchmetrics' convolution and agrees with it to float
    precision; in float32 even under mixed precision. Its luminance term
    ``(2·μp·μt + C1) / (μp² + μt² + C1)``, with ``C1 = 1e-4``, makes a faint grey over an all-black
    window cost almost as much as a misplaced digit, which neither MSE nor L1 does. Values below
    0 (black once clipped) and above 1 are left free.

    Example:
        >>> frames = torch.rand(2, 3, 1, 32, 32)
        >>> round(float(ssim_loss(frames, frames)), 4)
        0.0
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        p = pred.float().clamp(0.0, 1.0)
        t = target.float()
        rows = _ssim_blur_matrix(p.shape[-2], p.device)
        cols = _ssim_blur_matrix(p.shape[-1], p.device)
        moments = rows.T @ torch.stack([p, t, p * p, t * t, p * t]) @ cols  # local means of each
        mu_p, mu_t, p2, t2, pt = moments.unbind(0)
        var_p = (p2 - mu_p.square()).clamp(min=0.0)
        var_t = (t2 - mu_t.square()).clamp(min=0.0)
        cov = pt - mu_p * mu_t
        ssim = ((2 * mu_p * mu_t + _SSIM_C1) * (2 * cov + _SSIM_C2)) / (
            (mu_p.square() + mu_t.square() + _SSIM_C1) * (var_p + var_t + _SSIM_C2)
        )
    return 1.0 - ssim.mean()


def _plus_ssim(
    base: Callable[[Tensor, Tensor], Tensor], weight: float, pred: Tensor, target: Tensor
) -> Tensor:
    return base(pred, target) + weight * ssim_loss(pred, target)


class FrameForecastMetrics(Metric):
    """Per-horizon sums of MSE, MAE (per frame, summed over pixels), SSIM and PSNR.

    ``update(pred, target)`` takes ``(B, T, C, H, W)`` in [0, 1]; :meth:`compute` returns the
    overall means and :meth:`per_horizon` a ``{metric: [value at frame 1, 2, ...]}`` table.

    Example:
        >>> metric = FrameForecastMetrics(horizon=2)
        >>> metric.update(torch.zeros(1, 2, 1, 16, 16), torch.ones(1, 2, 1, 16, 16))
        >>> float(metric.compute()["mse"])  # 256 pixels, each off by 1
        256.0
    """

    full_state_update = False
    # states registered by add_state (nn.Module's __getattr__ would type them Tensor | Module)
    sum_mse: Tensor
    sum_mae: Tensor
    sum_ssim: Tensor
    sum_psnr: Tensor
    count: Tensor

    def __init__(self, *, horizon: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.horizon = int(horizon)
        for name in METRICS:
            self.add_state(
                f"sum_{name}", default=torch.zeros(self.horizon, dtype=torch.float64), dist_reduce_fx="sum"
            )
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor) -> None:
        if pred.shape != target.shape or pred.dim() != 5 or pred.shape[1] != self.horizon:
            raise ValueError(
                f"FrameForecastMetrics(horizon={self.horizon}) takes pred and target (B, {self.horizon}, C, H, W); "
                f"received {tuple(pred.shape)} and {tuple(target.shape)}"
            )
        with torch.autocast(device_type=pred.device.type, enabled=False):  # metrics in float32 always
            self._update(pred.detach().float().clamp(0, 1), target.detach().float())

    def _update(self, pred: Tensor, target: Tensor) -> None:
        b, t = pred.shape[:2]
        diff = pred - target
        self.sum_mse += diff.square().sum(dim=(2, 3, 4)).sum(0).double()
        self.sum_mae += diff.abs().sum(dim=(2, 3, 4)).sum(0).double()
        flat_pred, flat_target = pred.flatten(0, 1), target.flatten(0, 1)  # (B·T, C, H, W)
        ssim = structural_similarity_index_measure(flat_pred, flat_target, data_range=1.0, reduction="none")
        assert isinstance(ssim, Tensor)  # a (tensor, full image) pair only with return_full_image=True
        psnr = peak_signal_noise_ratio(
            flat_pred, flat_target, data_range=1.0, reduction="none", dim=(1, 2, 3)
        )
        self.sum_ssim += ssim.reshape(b, t).sum(0).double()
        self.sum_psnr += psnr.clamp(max=100.0).reshape(b, t).sum(0).double()  # identical frames: capped
        self.count += b

    def per_horizon(self) -> dict[str, list[float]]:
        count = self.count.clamp(min=1)
        return {name: (getattr(self, f"sum_{name}") / count).tolist() for name in METRICS}

    def compute(self) -> dict[str, Tensor]:
        count = self.count.clamp(min=1)
        return {name: (getattr(self, f"sum_{name}") / count).mean().float() for name in METRICS}


class ForecastExample(TypedDict):
    """A few sequences of a split kept for the pictures, each ``(k, T, C, H, W)`` on the CPU."""

    inputs: Tensor
    targets: Tensor
    predictions: Tensor


class ForecastingTask(BaseTask):
    """Train a forecaster on batches ``(inputs, targets)``: ``(B, T_in, C, H, W)`` → ``(B, T_out, C, H, W)``.

    Logs ``{train,val,test}/loss`` (in training plus the model's ``auxiliary_loss`` when it sets
    one, e.g. PredRNN-V2's decoupling loss, also logged as ``train/auxiliary_loss``) and ``{val,test}/{mse,mae,ssim,psnr}``; after validation and
    test, ``self.horizon_metrics[split]`` holds the per-horizon table and ``self.examples[split]``
    a few sequences (inputs, targets, predictions) for the run's pictures. Tests (and
    ``cnnlstm validate``) also score two baselines on the same targets, kept in
    ``self.baselines[split]`` and recorded in the summary as ``test_baselines``: ``zeros`` (every
    frame blank) and ``copy_last`` (the last input frame repeated), so a model's numbers read
    against what doing nothing scores.

    Args:
        name: registered forecasting model (``cnnlstm models`` lists them).
        loss: ``"mse"``, ``"l1"``, ``"mse+l1"`` (MSE + ``l1_weight`` × L1) or ``"bce"`` (per-pixel
            binary cross-entropy, the paper's; it needs the model's default ``output="sigmoid"``) or
            ``"balanced"`` (HKO-7's balanced MSE + ``l1_weight`` × balanced MAE for radar echoes,
            Shi et al. 2017: each pixel's errors weighted by its observed value, see
            :func:`~cnnlstm.tasks.nowcasting_metrics.balanced_mse_mae`).
        l1_weight: weight of the L1 term of ``loss="mse+l1"`` and of the MAE of ``"balanced"``.
        ssim_weight: weight of a structural-similarity term added to ``loss``: ``ssim_weight ×
            (1 − SSIM)`` of the predictions clipped to [0, 1], as scored (:func:`ssim_loss`;
            0, the default, adds none). It pulls uncertain background to exactly black, which
            SSIM rewards and MSE and L1 barely do; it trains on a metric it is then scored on,
            so read SSIM beside MSE, MAE and PSNR. Early in training it can hold a model at
            blank frames (docs/forecasting.md: weight 1 did, for 200 updates of the small preset).
        balance_edges: ``loss="balanced"``: the frame values (on the [0, 1] scale of the data) from
            which the next weight applies, increasing; for HKO-7 pixels the rain rates 2, 5, 10
            and 30 mm/h: ``[0.5404, 0.6313, 0.7001, 0.8092]``
            (:func:`cnnlstm.data.radar_echoes.rain_rate_to_pixel` / 255).
        balance_weights: ``loss="balanced"``: one weight more than ``balance_edges`` (HKO-7: 1, 2,
            5, 10, 30).
        teacher_forcing: scheduled sampling: the probability of feeding the model a true frame
            instead of its own prediction in training, decayed linearly from this value to
            ``teacher_forcing_end`` over ``teacher_forcing_epochs`` epochs. 0 disables it.
        teacher_forcing_end: final probability.
        teacher_forcing_epochs: epochs of the decay (default: all of ``max_epochs``).
        reverse_sampling: PredRNN-V2's reverse scheduled sampling: the probability that a frame
            the model reads (after the first input) is the true one rather than its own
            prediction, rising linearly from this value to 1 over ``reverse_sampling_epochs``
            epochs (default: all). 1 disables it; models with ``supports_input_truth`` only
            (the next-frame forecasters: ``convlstm_single_stack``, ``convgru_forecaster``,
            ``predrnn_forecaster``).
        reverse_sampling_epochs: epochs of the rise.
        input_loss: weight of the loss on the model's predictions of input frames 2 ... T_in,
            made while reading them (next-frame forecasters only): OpenSTL trains its recurrent
            models on every next-frame prediction, which nearly doubles the supervision per
            sequence at no extra recurrent step. 0 (the default) scores the future frames only.
        future_frames: frames predicted in ``predict`` (default: the data's target length).
        num_examples: sequences kept for the pictures.
        **kwargs: see :class:`~cnnlstm.tasks.base.BaseTask`.

    Example:
        >>> task = ForecastingTask(name="convlstm_forecaster_tiny", input_shape=[4, 1, 16, 16])
        >>> task(torch.rand(2, 4, 1, 16, 16), 6).shape
        torch.Size([2, 6, 1, 16, 16])
    """

    def __init__(
        self,
        *,
        name: str = "convlstm_forecaster_tiny",
        loss: str = "mse",
        teacher_forcing: float = 0.0,
        teacher_forcing_end: float = 0.0,
        teacher_forcing_epochs: int | None = None,
        reverse_sampling: float = 1.0,
        reverse_sampling_epochs: int | None = None,
        input_loss: float = 0.0,
        l1_weight: float = 1.0,
        ssim_weight: float = 0.0,
        balance_edges: Sequence[float] | None = None,
        balance_weights: Sequence[float] = BALANCE_WEIGHTS,
        future_frames: int | None = None,
        num_examples: int = 4,
        **kwargs: Any,
    ) -> None:
        check_choice("loss", loss, LOSSES)
        check_probability("teacher_forcing", teacher_forcing)
        check_probability("teacher_forcing_end", teacher_forcing_end)
        check_probability("reverse_sampling", reverse_sampling)
        check_non_negative_float("input_loss", input_loss)
        check_non_negative_float("l1_weight", l1_weight)
        check_non_negative_float("ssim_weight", ssim_weight)
        if loss == "balanced":
            if balance_edges is None:
                raise ValueError(
                    "loss='balanced' needs balance_edges: the frame values where the weights step up "
                    "(HKO-7 pixels / 255 at 2, 5, 10, 30 mm/h: [0.5404, 0.6313, 0.7001, 0.8092])"
                )
            edges, weights = check_balance(balance_edges, balance_weights)
            balance_edges, balance_weights = list(edges), list(weights)  # lists: plain YAML in hparams
        kwargs["num_classes"] = None  # linked from the data by the CLI; a forecaster has no classes
        kwargs.pop("class_names", None)
        super().__init__(name=name, **kwargs)
        if input_loss > 0 and not getattr(self.model, "supports_input_truth", False):
            raise ValueError(
                f"input_loss={input_loss} needs a next-frame forecaster (convlstm_single_stack, "
                f"convgru_forecaster, predrnn_forecaster); {name} predicts no input frames"
            )
        if reverse_sampling < 1.0 and not getattr(self.model, "supports_input_truth", False):
            raise ValueError(
                f"reverse_sampling={reverse_sampling} needs a next-frame forecaster (convlstm_single_stack, "
                f"convgru_forecaster, predrnn_forecaster); {name} reads its inputs in one pass"
            )
        if loss == "bce" and getattr(self.model, "output_activation", "sigmoid") != "sigmoid":
            raise ValueError(
                f"loss='bce' needs frames in (0, 1) from output='sigmoid'; {name} has "
                f"output={self.model.output_activation!r}: use loss='mse', 'l1' or 'mse+l1'"
            )
        self.examples: dict[str, ForecastExample] = {}
        self.horizon_metrics: dict[str, dict[str, list[float]]] = {}
        self.baselines: dict[str, dict[str, dict[str, float]]] = {}

    def configure_losses(self) -> None:
        losses: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
            "mse": F.mse_loss,
            "l1": F.l1_loss,
            "mse+l1": functools.partial(mse_plus_l1, l1_weight=self.hparams["l1_weight"]),
            "bce": binary_cross_entropy,
        }
        if self.hparams["loss"] == "balanced":
            losses["balanced"] = functools.partial(
                balanced_mse_mae,
                edges=self.hparams["balance_edges"],
                weights=self.hparams["balance_weights"],
                l1_weight=self.hparams["l1_weight"],
            )
        base = losses[self.hparams["loss"]]
        weight = self.hparams.get("ssim_weight", 0.0)  # absent from checkpoints written before it
        self.criterion = functools.partial(_plus_ssim, base, weight) if weight > 0 else base

    def configure_metrics(self) -> None:
        self.frame_metrics: dict[str, FrameForecastMetrics] = {}
        self.baseline_metrics: dict[str, dict[str, FrameForecastMetrics]] = {}

    def _metric(self, split: str, horizon: int) -> FrameForecastMetrics:
        metric = self.frame_metrics.get(split)
        if metric is None or metric.horizon != horizon:
            metric = FrameForecastMetrics(horizon=horizon).to(self.device)
            self.frame_metrics[split] = metric
        return metric

    def forward(
        self,
        x: Tensor,
        future_frames: int | None = None,
        *,
        targets: Tensor | None = None,
        teacher_forcing: float = 0.0,
        **model_kwargs: Any,
    ) -> Tensor:
        steps = future_frames or self.hparams["future_frames"]
        return self.model(x, steps, targets=targets, teacher_forcing=teacher_forcing, **model_kwargs)

    def output_mismatch(self, out: Tensor, data: Any) -> str | None:
        frame = list(getattr(data, "target_shape", data.input_shape))[1:]
        if list(out.shape[2:]) != frame:
            return f"predicts frames of {list(out.shape[2:])} but the data's frames are {frame}"
        return None

    def teacher_forcing_now(self) -> float:
        """The scheduled-sampling probability of the current epoch."""
        hp = self.hparams
        start, end = hp["teacher_forcing"], hp["teacher_forcing_end"]
        if start <= 0 and end <= 0:
            return 0.0
        epochs = (
            hp["teacher_forcing_epochs"] or (self.trainer.max_epochs if self._trainer is not None else 1) or 1
        )
        progress = min(1.0, self.current_epoch / max(1, epochs))
        return start + (end - start) * progress

    def reverse_sampling_now(self) -> float:
        """The probability of reading a true input frame in the current epoch (1: always)."""
        hp = self.hparams
        start = hp.get("reverse_sampling", 1.0)
        if start >= 1.0:
            return 1.0
        epochs = (
            hp.get("reverse_sampling_epochs")
            or (self.trainer.max_epochs if self._trainer is not None else 1)
            or 1
        )
        progress = min(1.0, self.current_epoch / max(1, epochs))
        return start + (1.0 - start) * progress

    def on_train_epoch_start(self) -> None:
        log_learning_rate(self)  # the schedule's value, beside the losses in metrics.csv / TensorBoard

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        x, y = batch[0], batch[1]
        extra: dict[str, Any] = {"input_truth": p} if (p := self.reverse_sampling_now()) < 1.0 else {}
        weight = self.hparams.get("input_loss", 0.0)
        if weight > 0:
            extra["predict_inputs"] = True
        pred = self(x, y.shape[1], targets=y, teacher_forcing=self.teacher_forcing_now(), **extra)
        loss = self.criterion(pred, y)
        read = getattr(self.model, "input_predictions", None) if weight > 0 else None
        if isinstance(read, Tensor):
            loss = loss + weight * self.criterion(read, x[:, 1:])
        auxiliary = getattr(self.model, "auxiliary_loss", None)  # e.g. PredRNN-V2's decoupling loss
        if isinstance(auxiliary, Tensor):
            self.log(
                "train/auxiliary_loss",
                auxiliary,
                on_step=False,
                on_epoch=True,
                batch_size=len(x),
                sync_dist=True,
            )
            loss = loss + auxiliary
        self.check_loss(loss, batch_idx)
        self.log(
            "train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True
        )
        return loss

    def _evaluate(self, batch: Any, split: str, batch_idx: int) -> None:
        x, y = batch[0], batch[1]
        pred = self(x, y.shape[1])
        loss = self.criterion(pred, y)
        self.log(f"{split}/loss", loss, on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True)
        self._metric(split, y.shape[1]).update(pred, y)
        if split == "test" or (self._trainer is not None and self.trainer.state.fn == "validate"):
            self._update_baselines(split, x, y)
        if batch_idx == 0:
            k = self.hparams["num_examples"]
            self.examples[split] = {
                "inputs": x[:k].cpu(),
                "targets": y[:k].cpu(),
                "predictions": pred[:k].cpu(),
            }

    def _update_baselines(self, split: str, x: Tensor, y: Tensor) -> None:
        """Score the baselines on ``y``: blank frames, and the last input frame repeated."""
        guesses = {"zeros": torch.zeros_like(y)}
        if x.shape[2:] == y.shape[2:]:  # copying a frame needs inputs shaped like the targets
            guesses["copy_last"] = x[:, -1:].expand_as(y)
        metrics = self.baseline_metrics.setdefault(split, {})
        for name, guess in guesses.items():
            metric = metrics.get(name)
            if metric is None or metric.horizon != y.shape[1]:
                metric = metrics[name] = FrameForecastMetrics(horizon=y.shape[1]).to(self.device)
            metric.update(guess, y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "val", batch_idx)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, "test", batch_idx)

    def _finish(self, split: str) -> None:
        metric = self.frame_metrics.get(split)
        if metric is None:
            return
        values = metric.compute()
        self.log_dict({f"{split}/{k}": v for k, v in values.items()}, prog_bar=split == "val")
        self.horizon_metrics[split] = metric.per_horizon()
        metric.reset()
        self._finish_baselines(split)

    def _finish_baselines(self, split: str) -> None:
        baselines = self.baseline_metrics.pop(split, {})
        if baselines:
            self.baselines[split] = {
                name: {k: round(float(v), 6) for k, v in m.compute().items()} for name, m in baselines.items()
            }

    def on_validation_epoch_end(self) -> None:
        self._finish("val")

    def on_test_epoch_end(self) -> None:
        self._finish("test")

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, Tensor]:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        steps = self.hparams["future_frames"]
        if steps is None:
            target_shape = getattr(getattr(self.trainer, "datamodule", None), "target_shape", None)
            steps = target_shape[0] if target_shape else self.model.future_frames
        return {"inputs": x, "frames": self(x, steps)}

    def evaluation_artifacts(self, split: str, root: Path) -> dict[str, Any]:
        """Write the split's pictures into ``root``; return what goes into summary.json."""
        from cnnlstm.training.plots import plot_forecast_grid, plot_horizon_metrics, save_forecast_gif

        written: list[str] = []
        example = self.examples.get(split)
        if example is not None:
            written.append(plot_forecast_grid(**example, path=root / f"forecast_{split}.png").name)
            written.append(save_forecast_gif(**example, path=root / f"forecast_{split}.gif").name)
        horizon = self.horizon_metrics.get(split)
        if horizon is not None:
            written.append(plot_horizon_metrics(horizon, root / f"horizon_{split}.png").name)
        out: dict[str, Any] = {"pictures": written, "per_horizon": horizon}
        if split in self.baselines:
            out["baselines"] = self.baselines[split]
        return out
