"""ConvLSTM speed: cnnlstm.nn.ConvLSTM against a plain reference, forward + backward, per precision.

The reference is written here in the style of the common public ConvLSTM implementations: a
cell holding one ``nn.Conv2d`` over the concatenation ``[x_t, h_{t-1}]`` with ``4 × hidden``
outputs, split into the gates, and a Python loop over layers and steps. Every variant runs the same
problem with the same weights (copied from one cnnlstm layer into all the others and into the
reference) and the same input.

Variants (``--list`` prints them): a model (``reference`` or ``cnnlstm-<impl>``), a precision
(``fp32``; ``tf32``, CUDA only, with ``torch.backends.cuda.matmul.allow_tf32`` and
``torch.backends.cudnn.allow_tf32`` set only around that variant's calls; ``bf16``,
``torch.autocast`` with bfloat16) and a graph capture (eager; ``compile``: ``torch.compile(model,
fullgraph=True)``, inductor, with ``mode="reduce-overhead"`` (CUDA graphs) on CUDA; ``cuda-graph``:
one manual ``torch.cuda.CUDAGraph`` of the whole forward + backward, warmed up on a side stream,
autocast with ``cache_enabled=False``, replayed on a static input). On CUDA, ``fp32`` means TF32 off
for matmuls *and* convolutions (PyTorch's default leaves cuDNN convolutions in TF32).

* CPU: reference fp32; cnnlstm auto/fused/split fp32; cnnlstm auto bf16; cnnlstm auto fp32 and bf16
  compiled.
* CUDA: reference fp32/tf32/bf16; cnnlstm auto (the split path on CUDA) fp32/tf32/bf16, each eager,
  compiled and as a manual CUDA graph.

Each variant is prepared first (built, weights copied, compiled or captured, run once: its output
and weight gradients are compared with the fp32 reference's, relative to the reference's largest
value — a variant outside tolerance is marked ``check: FAIL`` and never counts toward a target).
Then the variants are timed interleaved (reference, ours, reference, ...) so drift in machine load
hits all alike: ``--warmup`` untimed rounds, then ``--repeats`` timed rounds; the table reports
medians. One iteration is forward + backward of ``mean(out ** 2)``. A variant that raises (a
capture a torch build does not support, say) gets ``error`` in its row and the run goes on; the
process exits non-zero only if no variant ran at all.

Configurations (``--configs``): ``small`` (B16, T10, 16 channels 16×16, 2 layers of 64, 3×3),
``convlstm-s`` (B16, T20, 16 channels 16×16, 4 layers of 128, 5×5; the "large" repeats apply),
``64x64`` (B8, T10, 1 channel 64×64, 2 layers of 64, 3×3); ``tiny`` (B2, T3, 2 channels 8×8,
1 layer of 4) exists for tests and is not in the default set.

FLOPs are counted analytically, convolutions only: per layer and step the forward is
``2·B·H·W·4h·(c_in + h)·k²`` (``c_in`` the layer's input channels, ``h`` its hidden channels), and
forward + backward is taken as 3× the forward (the backward computes the input and the weight
gradients, one forward's worth each; the first layer's input gradient is not needed, so this
slightly overcounts). Achieved TFLOP/s = those FLOPs / median time. The peak is a bf16 matmul timed
in the same run (``--peak-size``³: 2048 on CPU, 8192 on CUDA; an fp32 one too, and tf32 on CUDA);
each row reports its fraction of the bf16 matmul peak.

Per row: ms per iteration (median), ms per time step (iteration / T), TFLOP/s, % of the bf16
peak, ``× ref`` = median / median of the fp32 reference (< 1 is faster), speed-up = its inverse,
params, and the check. Then the targets (issue: CPU fp32 ≤ 1.0× the reference's time; CPU bf16
≥ 2× faster than the fp32 reference; CUDA bf16 with graph capture ≥ 8× the fp32 reference on
``small`` and ≥ 3× on ``convlstm-s``), each met / not met / not measured, with the best row.

Run time (CPU, 2 cores, torch's default 2 threads): the default run should take about 25–35
minutes. Measured parts (one thread): an inductor compilation of ``small`` (20 unrolled cell steps,
forward + backward) takes 50–60 s per compiled variant; a ``convlstm-s`` fp32 forward + backward
takes about 55 s (roughly half with 2 threads), its bf16 one about 25 s. So ``small`` is about 3
minutes, ``64x64`` about 6 (about 6 s per fp32 iteration), and ``convlstm-s`` the rest: 7 variants
× (1 prepare call + ``--repeats-large``, default 2 on CPU, after ``--warmup-large``, default 0 on
CPU) plus two compilations of 80 unrolled steps (estimated, not measured: a few minutes each). On
CUDA the large repeats default to ``--repeats``/``--warmup``; ``benchmarks/gpu_check.sh`` budgets
the GPU run (``--budget-s`` skips compile variants not yet prepared once the run has taken that
long; their rows say so).

Usage:
    python benchmarks/convlstm_speed.py [--device cpu|cuda] [--configs small,convlstm-s,64x64]
        [--variants TERMS] [--skip TERMS] [--repeats 5] [--warmup 1] [--repeats-large N]
        [--warmup-large N] [--budget-s S] [--peak-size N] [--threads N] [--out FILE] [--list]

``--variants``/``--skip`` take comma-separated terms; a term selects the variants carrying all of
its space-separated words, e.g. ``--variants "bf16 compile,fused"`` or ``--skip compile``. Words:
``reference``, ``cnnlstm``, ``auto``/``fused``/``split``, ``fp32``/``tf32``/``bf16``,
``eager``/``compile``/``cuda-graph``. The fp32 reference always runs (ratios and checks need it).

Writes JSON (default ``benchmarks/results/convlstm_speed-<device>.json``), rewritten after every
configuration so an interrupted run keeps the configurations it finished (``"finished": false``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from cnnlstm.nn import ConvLSTM, ConvLSTMCell
from cnnlstm.nn.convlstm import Impl


class ReferenceConvLSTMCell(nn.Module):
    """One conv over [x, h] per step, gates split from its output (the usual public code)."""

    def __init__(self, in_channels: int, hidden: int, kernel: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel, padding=kernel // 2)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        i, f, g, o = torch.split(self.conv(torch.cat([x, h], dim=1)), self.hidden, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ReferenceConvLSTM(nn.Module):
    def __init__(self, in_channels: int, hidden: int, kernel: int, layers: int) -> None:
        super().__init__()
        self.cells = nn.ModuleList(
            ReferenceConvLSTMCell(in_channels if i == 0 else hidden, hidden, kernel) for i in range(layers)
        )

    def forward(self, x: Tensor) -> Tensor:  # (B, T, C, H, W)
        b, t, _, h, w = x.shape
        layer_input = x
        for cell in cast(Iterable[ReferenceConvLSTMCell], self.cells):  # built from those alone
            state = (x.new_zeros(b, cell.hidden, h, w), x.new_zeros(b, cell.hidden, h, w))
            outputs = []
            for step in range(t):
                state = cell(layer_input[:, step], state)
                outputs.append(state[0])
            layer_input = torch.stack(outputs, dim=1)
        return layer_input


# -- configurations ----------------------------------------------------------------------------


@dataclass
class Config:
    name: str
    batch: int
    steps: int
    channels: int
    size: int
    hidden: int
    layers: int
    kernel: int
    large: bool = False  # timed with --repeats-large / --warmup-large

    @property
    def shape(self) -> str:
        return (
            f"B{self.batch} T{self.steps} C{self.channels} {self.size}x{self.size} "
            f"h{self.hidden}x{self.layers} k{self.kernel}"
        )

    def forward_flops(self) -> int:
        """Convolution FLOPs of one forward: sum over layers and steps of 2·B·H·W·4h·(c_in+h)·k²."""
        total = 0
        for layer in range(self.layers):
            c_in = self.channels if layer == 0 else self.hidden
            total += 2 * self.batch * self.size**2 * 4 * self.hidden * (c_in + self.hidden) * self.kernel**2
        return total * self.steps

    def train_flops(self) -> int:
        """Forward + backward, taken as 3× the forward."""
        return 3 * self.forward_flops()


CONFIGS = {
    "small": Config("small", batch=16, steps=10, channels=16, size=16, hidden=64, layers=2, kernel=3),
    "convlstm-s": Config(
        "convlstm-s", batch=16, steps=20, channels=16, size=16, hidden=128, layers=4, kernel=5, large=True
    ),
    "64x64": Config("64x64", batch=8, steps=10, channels=1, size=64, hidden=64, layers=2, kernel=3),
    "tiny": Config("tiny", batch=2, steps=3, channels=2, size=8, hidden=4, layers=1, kernel=3),
}
DEFAULT_CONFIGS = ("small", "convlstm-s", "64x64")  # "tiny" is for tests

# Checks against the fp32 reference: max |out - ref| / max |ref| per precision, and the same per
# weight gradient (looser: a gradient sums over B·H·W·T terms). Measured on CPU, convlstm-s: fp32
# 3.7e-7 / 9.6e-6 (split), bf16 9.6e-3 / 1.1e-2. A variant computing something else is off by O(1).
TOLERANCE = {"fp32": 1e-4, "tf32": 2e-2, "bf16": 5e-2}
GRAD_TOLERANCE = {"fp32": 1e-3, "tf32": 4e-2, "bf16": 1e-1}

# The issue's CUDA targets: cnnlstm bf16 with graph capture, speed-up over the fp32 reference, per
# config. The CPU targets (fp32 <= 1.0x the reference's time, bf16 >= 2x faster) apply to every config.
GPU_TARGETS = {"small": 8.0, "convlstm-s": 3.0}


# -- variants ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    model: str  # "reference" | "cnnlstm"
    impl: Impl | None = None  # cnnlstm's impl: "auto" | "fused" | "split"
    precision: str = "fp32"  # "fp32" | "tf32" | "bf16"
    capture: str = "eager"  # "eager" | "compile" | "cuda-graph"
    channels_last: bool = False  # cnnlstm's ConvLSTM(channels_last=True): NHWC steps

    @property
    def name(self) -> str:
        model = self.model if self.impl is None else f"{self.model}-{self.impl}"
        layout = " channels-last" if self.channels_last else ""
        return f"{model} {self.precision}{layout}" + ("" if self.capture == "eager" else f" {self.capture}")

    @property
    def tokens(self) -> set[str]:
        tokens = {self.model, self.precision, self.capture} | (
            {"channels-last"} if self.channels_last else set()
        )
        if self.impl is not None:
            tokens |= {self.impl, f"{self.model}-{self.impl}"}
        return tokens


REFERENCE = Variant("reference")


def device_variants(device_type: str) -> list[Variant]:
    if device_type == "cpu":
        return [
            REFERENCE,
            Variant("cnnlstm", "auto"),
            Variant("cnnlstm", "fused"),
            Variant("cnnlstm", "split"),
            Variant("cnnlstm", "auto", "bf16"),
            Variant("cnnlstm", "auto", "fp32", "compile"),
            Variant("cnnlstm", "auto", "bf16", "compile"),
        ]
    precisions = ("fp32", "tf32", "bf16")
    return (
        [Variant("reference", None, p) for p in precisions]
        + [
            Variant("cnnlstm", "auto", p, capture)
            for capture in ("eager", "compile", "cuda-graph")
            for p in precisions
        ]
        + [
            Variant("cnnlstm", "auto", "bf16", capture, channels_last=True)
            for capture in ("eager", "cuda-graph")
        ]
    )


def _terms(text: str | None) -> list[set[str]]:
    return [set(t.split()) for t in (text or "").split(",") if t.strip()]


def select_variants(variants: list[Variant], include: str | None, skip: str | None) -> list[Variant]:
    inc, exc = _terms(include), _terms(skip)
    for term in inc + exc:
        if not any(term <= v.tokens for v in variants):
            print(f"note: the term {' '.join(sorted(term))!r} matches no variant on this device", flush=True)
    chosen = [
        v
        for v in variants
        if v == REFERENCE
        or ((not inc or any(t <= v.tokens for t in inc)) and not any(t <= v.tokens for t in exc))
    ]
    return chosen


# -- helpers -----------------------------------------------------------------------------------


class _Skipped(Exception):
    """A variant left out on purpose (--budget-s); its message is the row's error text."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if isinstance(exc, _Skipped):
        return text[0]
    msg = f"{type(exc).__name__}: {text[0] if text else ''}".strip()
    return msg if len(msg) <= 300 else msg[:297] + "..."


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def _tf32(enabled: bool, device: torch.device):
    """TF32 for matmuls and cuDNN convolutions on (tf32 rows) or off (every other CUDA row)."""
    if device.type != "cuda":
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def matmul_peak(device: torch.device, precision: str, n: int, repeats: int) -> dict:
    """Median time and TFLOP/s of an n×n×n matmul (2n³ FLOPs)."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    with _tf32(precision == "tf32", device):
        for i in range(2 + repeats):
            _sync(device)
            start = time.perf_counter()
            torch.mm(a, b)
            _sync(device)
            if i >= 2:
                times.append(time.perf_counter() - start)
    med = statistics.median(times)
    tflops = 2 * n**3 / med / 1e12
    return dict(n=n, precision=precision, median_ms=round(med * 1e3, 4), tflops=float(f"{tflops:.4g}"))


def cnnlstm_to_reference(src: ConvLSTM, dst: ReferenceConvLSTM) -> None:
    """The reference cell's kernel is cat([W_ih, W_hh], dim=1) of ours; its bias is our bias_ih."""
    cells = cast(Iterable[ConvLSTMCell], src.cells)  # each ModuleList holds only these
    refs = cast(Iterable[ReferenceConvLSTMCell], dst.cells)
    with torch.no_grad():
        for cell, ref in zip(cells, refs, strict=True):
            assert ref.conv.bias is not None and cell.bias_ih is not None  # both built with a bias
            ref.conv.weight.copy_(torch.cat([cell.weight_ih, cell.weight_hh], dim=1))
            ref.conv.bias.copy_(cell.bias_ih)


def copy_cnnlstm(src: ConvLSTM, dst: ConvLSTM) -> None:
    """Weights of one cnnlstm layer into another (every cnnlstm variant starts from the same)."""
    dst.load_state_dict(src.state_dict())


def _grad(param: Tensor | None) -> Tensor:
    """``param.grad``, which the backward just run filled."""
    assert param is not None and param.grad is not None
    return param.grad


def grads_in_reference_layout(model: nn.Module) -> list[Tensor]:
    grads = []
    for cell in cast(nn.ModuleList, model.cells):  # a ReferenceConvLSTM or a ConvLSTM
        if isinstance(model, ReferenceConvLSTM):
            assert isinstance(cell, ReferenceConvLSTMCell)
            weight, bias = _grad(cell.conv.weight), _grad(cell.conv.bias)
        else:
            assert isinstance(cell, ConvLSTMCell)
            weight, bias = (
                torch.cat([_grad(cell.weight_ih), _grad(cell.weight_hh)], dim=1),
                _grad(cell.bias_ih),
            )
        grads += [weight.detach().float().clone(), bias.detach().float().clone()]
    return grads


def _rel_diff(a: Tensor, ref: Tensor) -> tuple[float, float]:
    """(max |a - ref|, that divided by max |ref|)."""
    diff = float((a.float() - ref.float()).abs().max())
    scale = float(ref.float().abs().max())
    return diff, diff / scale if scale > 0 else diff


# -- running one variant -----------------------------------------------------------------------


@dataclass(eq=False)  # compared by identity (list.remove)
class Runner:
    variant: Variant
    module: nn.Module
    x: Tensor
    device: torch.device
    fn: Callable[[Tensor], Any] | None = None
    graph: Any = None
    static_out: Tensor | None = None
    prepare_calls: int = 1
    prepare_s: float | None = None
    times: list[float] = field(default_factory=list)
    error: str | None = None
    out: Tensor | None = None
    grads: list[Tensor] | None = None
    notes: dict = field(default_factory=dict)

    def autocast(self, cache_enabled: bool = True):
        bf16 = self.variant.precision == "bf16"
        return torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=bf16, cache_enabled=cache_enabled
        )

    def fwd_bwd(self, cache_enabled: bool = True) -> Tensor:
        with _tf32(self.variant.precision == "tf32", self.device):
            with self.autocast(cache_enabled):
                out = (self.fn if self.fn is not None else self.module)(self.x)
            out = out[0] if isinstance(out, tuple) else out
            out.float().pow(2).mean().backward()
        return out

    def prepare(self) -> None:
        """Compile or capture, then run once; keep the output and gradients for the check."""
        start = time.perf_counter()
        v = self.variant
        if v.capture == "compile":
            mode = "reduce-overhead" if self.device.type == "cuda" else None
            self.notes["compile_mode"] = mode or "default"
            self.fn = torch.compile(self.module, fullgraph=True, mode=mode)
            # CUDA graph trees: the 1st call warms up, the 2nd records, the 3rd replays; check a replay.
            self.prepare_calls = 3 if self.device.type == "cuda" else 1
        if v.capture == "cuda-graph":
            self.capture()
            self.graph.replay()
            assert self.static_out is not None  # capture() set it
            out = self.static_out
        else:
            skips = _cudagraph_skips()
            for _ in range(self.prepare_calls):
                self.before()
                out = self.fwd_bwd()
            if v.capture == "compile" and self.device.type == "cuda":
                self.notes["cudagraph_skips"] = _cudagraph_skips() - skips
        _sync(self.device)
        self.out = out.detach().float().clone()
        self.grads = grads_in_reference_layout(self.module)
        self.prepare_s = time.perf_counter() - start

    def capture(self) -> None:
        """Whole forward + backward as one CUDA graph (PyTorch docs, "whole network capture")."""
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                self.module.zero_grad(set_to_none=True)
                self.fwd_bwd(cache_enabled=False)
        torch.cuda.current_stream(self.device).wait_stream(side)
        self.module.zero_grad(set_to_none=True)  # backward in the capture allocates static grads
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self.fwd_bwd(cache_enabled=False)
        self.graph, self.static_out = graph, out

    def before(self) -> None:
        """Untimed work before a call: fresh gradients (a captured graph owns its own)."""
        if self.graph is None:
            self.module.zero_grad(set_to_none=True)
        if self.variant.capture == "compile" and self.device.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()

    def timed_call(self) -> float:
        self.before()
        _sync(self.device)
        start = time.perf_counter()
        if self.graph is not None:
            self.graph.replay()
        else:
            self.fwd_bwd()
        _sync(self.device)
        return (time.perf_counter() - start) * 1e3

    def release(self) -> None:
        self.fn = self.graph = self.static_out = None
        self.module.zero_grad(set_to_none=True)


def _cudagraph_skips() -> int:
    try:
        from torch._dynamo.utils import counters

        return int(counters["inductor"]["cudagraph_skips"])
    except Exception:  # noqa: BLE001 - only a diagnostic
        return 0


def build_model(v: Variant, cfg: Config, master: ConvLSTM, device: torch.device) -> nn.Module:
    model: nn.Module
    if v.model == "reference":
        model = ReferenceConvLSTM(cfg.channels, cfg.hidden, cfg.kernel, cfg.layers)
        cnnlstm_to_reference(master, model)
    else:
        assert v.impl is not None  # every cnnlstm variant names its impl
        model = ConvLSTM(
            cfg.channels, cfg.hidden, cfg.kernel, cfg.layers, impl=v.impl, channels_last=v.channels_last
        )
        copy_cnnlstm(master, model)
    return model.to(device).train()


# -- one configuration -------------------------------------------------------------------------


def bench_config(
    cfg: Config,
    variants: list[Variant],
    device: torch.device,
    repeats: int,
    warmup: int,
    peak_bf16: float | None,
    deadline: float | None = None,
) -> list[dict]:
    """Prepare every variant on one configuration, time them interleaved, return one row each."""
    if any(v.capture == "compile" for v in variants):
        _fresh_dynamo()
    torch.manual_seed(0)
    master = ConvLSTM(cfg.channels, cfg.hidden, cfg.kernel, cfg.layers)
    x = torch.randn(cfg.batch, cfg.steps, cfg.channels, cfg.size, cfg.size).to(device)
    # The fp32 reference first: the checks compare with it.
    runners = [prepare_variant(v, cfg, master, x, device, deadline) for v in variants]
    time_interleaved(runners, device, warmup, repeats)
    rows = config_rows(cfg, runners, x, peak_bf16)
    del runners
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return rows


def _fresh_dynamo() -> None:
    """A fresh compile cache per configuration, with room enough that nothing falls back to eager."""
    import torch._dynamo as dynamo

    dynamo.reset()
    for name in ("cache_size_limit", "recompile_limit"):
        if hasattr(dynamo.config, name):
            setattr(dynamo.config, name, max(64, getattr(dynamo.config, name)))


def prepare_variant(
    v: Variant, cfg: Config, master: ConvLSTM, x: Tensor, device: torch.device, deadline: float | None
) -> Runner:
    """Build, compile or capture and run one variant once; a failure is kept in ``runner.error``."""
    runner = Runner(v, nn.Identity(), x, device)
    try:
        runner.module = build_model(v, cfg, master, device)
        if v.capture == "compile" and deadline is not None and time.perf_counter() > deadline:
            raise _Skipped("skipped: --budget-s spent before this variant's compilation")
        runner.prepare()
        print(f"  prepared {v.name:<30} {runner.prepare_s:8.2f} s", flush=True)
    except Exception as exc:  # noqa: BLE001 - one variant's failure must not lose the run
        runner.error = _one_line(exc)
        print(f"  prepared {v.name:<30} ERROR {runner.error}", flush=True)
        _recover(runner, device)
    return runner


def time_interleaved(runners: list[Runner], device: torch.device, warmup: int, repeats: int) -> None:
    """``warmup`` untimed then ``repeats`` timed rounds, one call of each working runner per round."""
    active = [r for r in runners if r.error is None]
    for i in range(warmup + repeats):
        for runner in list(active):  # interleaved
            try:
                ms = runner.timed_call()
            except Exception as exc:  # noqa: BLE001
                runner.error = _one_line(exc)
                print(f"  {runner.variant.name}: ERROR {runner.error}", flush=True)
                active.remove(runner)
                _recover(runner, device)
                continue
            if i >= warmup:
                runner.times.append(ms)


def config_rows(cfg: Config, runners: list[Runner], x: Tensor, peak_bf16: float | None) -> list[dict]:
    """One row per runner (timings and check unless it failed); each runner is released after."""
    ref = runners[0] if runners and runners[0].variant == REFERENCE and runners[0].error is None else None
    ref_median = statistics.median(ref.times) if ref is not None else None
    same_precision_ref = {
        r.variant.precision: statistics.median(r.times)
        for r in runners
        if r.variant.model == "reference" and r.error is None
    }
    rows = []
    for r in runners:
        v = r.variant
        row: dict[str, Any] = dict(
            config=cfg.name,
            shape=cfg.shape,
            variant=v.name,
            model=v.model,
            impl=v.impl,
            resolved_impl=_resolved_impl(r.module, x) if v.model == "cnnlstm" else None,
            precision=v.precision,
            capture=v.capture,
            params=sum(p.numel() for p in r.module.parameters()),
            error=r.error,
            **r.notes,
        )
        if r.error is None:
            row.update(_timings(r, cfg, peak_bf16, ref_median, same_precision_ref))
            row.update(_check(r, ref))
        rows.append(row)
        r.release()
    return rows


def _timings(
    r: Runner,
    cfg: Config,
    peak_bf16: float | None,
    ref_median: float | None,
    same_precision_ref: dict[str, float],
) -> dict[str, Any]:
    """A working runner's timing fields: medians, rates, ratios to the references, compile time."""
    v = r.variant
    assert r.prepare_s is not None  # set by a prepare() that succeeded
    flops = cfg.train_flops()
    med = statistics.median(r.times)
    timings: dict[str, Any] = dict(
        median_ms=round(med, 4),
        min_ms=round(min(r.times), 4),
        ms_per_step=round(med / cfg.steps, 4),
        tflops=float(f"{flops / (med / 1e3) / 1e12:.4g}"),  # significant digits: a slow run stays > 0
        pct_bf16_peak=round(100 * flops / (med / 1e3) / 1e12 / peak_bf16, 3) if peak_bf16 else None,
        ratio_to_reference=round(med / ref_median, 4) if ref_median else None,
        speedup=round(ref_median / med, 4) if ref_median else None,
        prepare_s=round(r.prepare_s, 3),
        times_ms=[round(t, 4) for t in r.times],
    )
    if v.model == "cnnlstm" and v.precision in same_precision_ref and v.precision != "fp32":
        timings["speedup_vs_reference_same_precision"] = round(same_precision_ref[v.precision] / med, 4)
    if v.capture != "eager":
        timings["compile_s"] = round(max(0.0, r.prepare_s - r.prepare_calls * med / 1e3), 3)
    return timings


def _resolved_impl(module: nn.Module, x: Tensor) -> str | None:
    if not isinstance(module, ConvLSTM):  # a variant that failed to build keeps its nn.Identity
        return None
    try:
        return module.resolved_impl(x)
    except Exception:  # noqa: BLE001 - informative only
        return None


def _check(r: Runner, ref: Runner | None) -> dict:
    tol, grad_tol = TOLERANCE[r.variant.precision], GRAD_TOLERANCE[r.variant.precision]
    if ref is None or r.out is None:
        return dict(
            max_abs_diff=None,
            rel_diff=None,
            grad_rel_diff=None,
            tolerance=tol,
            grad_tolerance=grad_tol,
            check_ok=None,
        )
    # A runner without an error kept its output and gradients (_recover drops them on errors).
    assert ref.out is not None and ref.grads is not None and r.grads is not None
    abs_diff, rel = _rel_diff(r.out, ref.out)
    grad_rel = max((_rel_diff(g, g_ref)[1] for g, g_ref in zip(r.grads, ref.grads, strict=True)), default=0.0)
    finite = math.isfinite(abs_diff) and math.isfinite(grad_rel)
    return dict(
        max_abs_diff=abs_diff,
        rel_diff=rel,
        grad_rel_diff=grad_rel,
        tolerance=tol,
        grad_tolerance=grad_tol,
        check_ok=bool(finite and rel <= tol and grad_rel <= grad_tol and len(r.grads) == len(ref.grads)),
    )


def _recover(runner: Runner, device: torch.device) -> None:
    runner.fn = runner.graph = runner.static_out = None
    runner.out = runner.grads = None
    with contextlib.suppress(Exception):
        runner.module.zero_grad(set_to_none=True)
    with contextlib.suppress(Exception):
        _sync(device)


# -- targets -----------------------------------------------------------------------------------


def evaluate_targets(rows: list[dict], device_type: str) -> list[dict]:
    """Each target: the best qualifying row (check passed, no error) against the threshold."""
    good = [r for r in rows if r.get("error") is None and r.get("check_ok") and r.get("speedup")]
    configs = list(dict.fromkeys(r["config"] for r in rows))
    targets = []

    def target(name: str, config: str, rule: str, threshold: float, candidates: list[dict], **extra) -> None:
        best = max(candidates, key=lambda r: r["speedup"], default=None)
        targets.append(
            dict(
                target=name,
                config=config,
                rule=rule,
                threshold=threshold,
                best_variant=best["variant"] if best else None,
                best_speedup=best["speedup"] if best else None,
                best_ratio_to_reference=best["ratio_to_reference"] if best else None,
                best_speedup_vs_reference_same_precision=(
                    best.get("speedup_vs_reference_same_precision") if best else None
                ),
                met=None if best is None else bool(best["speedup"] >= threshold),
                candidates={r["variant"]: r["speedup"] for r in candidates},
                **extra,
            )
        )

    for cfg in configs:
        in_cfg = [r for r in good if r["config"] == cfg and r["model"] == "cnnlstm"]
        if device_type == "cpu":
            default = next((r for r in in_cfg if r["variant"] == "cnnlstm-auto fp32"), None)
            target(
                "cpu fp32 <= 1.0x reference time",
                cfg,
                "reference fp32 time / cnnlstm fp32 time >= 1.0",
                1.0,
                [r for r in in_cfg if r["precision"] == "fp32"],
                default_variant_speedup=default["speedup"] if default else None,
            )
            target(
                "cpu bf16 >= 2x faster than reference fp32",
                cfg,
                "reference fp32 time / cnnlstm bf16 time >= 2.0",
                2.0,
                [r for r in in_cfg if r["precision"] == "bf16"],
            )
        elif cfg in GPU_TARGETS:
            thr = GPU_TARGETS[cfg]
            target(
                f"cuda bf16 with graph capture >= {thr:g}x reference fp32",
                cfg,
                f"reference fp32 time / cnnlstm bf16 (compile or cuda-graph) time >= {thr:g}",
                thr,
                [r for r in in_cfg if r["precision"] == "bf16" and r["capture"] != "eager"],
            )
    return targets


# -- report ------------------------------------------------------------------------------------


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict]) -> None:
    print(
        "| config | variant | ms/iter | ms/step | TFLOP/s | % bf16 peak | × ref | speed-up "
        "| rel diff (out/grad) | check | params |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        if r.get("error"):
            print(f"| {r['config']} | {r['variant']} | error: {r['error']} | | | | | | | | |")
            continue
        check = {True: "ok", False: "FAIL", None: "-"}[r["check_ok"]]
        diffs = f"{_fmt(r['rel_diff'], '.1e')} / {_fmt(r['grad_rel_diff'], '.1e')}"
        print(
            f"| {r['config']} | {r['variant']} | {r['median_ms']:.2f} | {r['ms_per_step']:.3f} | "
            f"{r['tflops']:.3f} | {_fmt(r['pct_bf16_peak'], '.2f')} | "
            f"{_fmt(r['ratio_to_reference'], '.3f')} | "
            f"{_fmt(r['speedup'], '.2f')}× | {diffs} | {check} | {r['params']} |"
        )


def print_targets(targets: list[dict]) -> None:
    if not targets:
        return
    print("| target | config | best variant | speed-up | met |\n|---|---|---|---:|---|")
    for t in targets:
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        print(
            f"| {t['target']} | {t['config']} | {t['best_variant'] or '-'} | "
            f"{_fmt(t['best_speedup'], '.2f')} | {met} |"
        )


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# -- main --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument(
        "--configs",
        default=",".join(DEFAULT_CONFIGS),
        help=f"comma-separated, from {', '.join(DEFAULT_CONFIGS)} (default: all)",
    )
    parser.add_argument("--variants", default=None, help="keep only variants matching a term (see above)")
    parser.add_argument("--skip", default=None, help="drop the variants matching a term")
    parser.add_argument("--repeats", type=int, default=5, help="timed interleaved rounds")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds after the prepare call")
    parser.add_argument(
        "--repeats-large",
        type=int,
        default=None,
        help="--repeats for large configs (convlstm-s); default 2 on CPU, --repeats on CUDA",
    )
    parser.add_argument(
        "--warmup-large",
        type=int,
        default=None,
        help="--warmup for large configs; default 0 on CPU, --warmup on CUDA",
    )
    parser.add_argument(
        "--peak-size",
        type=int,
        default=None,
        help="n of the n×n×n peak matmuls (default 2048 on CPU, 8192 on CUDA)",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="once the run has taken this many seconds, skip the compile variants not yet "
        "prepared (their rows say so); bounds a run's compile time",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--list", action="store_true", help="print configs and variants, run nothing")
    return parser


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, torch.device, list[Config]]:
    """The checked arguments, with the device-dependent defaults (large repeats, peak size) filled in."""
    args = _parser().parse_args(argv)
    device = _parse_device(args.device)
    configs = _parse_configs(args.configs)
    if (
        args.repeats < 1
        or args.warmup < 0
        or (args.repeats_large is not None and args.repeats_large < 1)
        or (args.warmup_large is not None and args.warmup_large < 0)
    ):
        raise SystemExit("convlstm_speed.py: repeats must be >= 1 and warm-ups >= 0")
    cpu = device.type == "cpu"
    if args.repeats_large is None:
        args.repeats_large = 2 if cpu else args.repeats
    if args.warmup_large is None:
        args.warmup_large = 0 if cpu else args.warmup
    args.peak_size = args.peak_size or (2048 if cpu else 8192)
    return args, device, configs


def _parse_device(text: str) -> torch.device:
    try:
        device = torch.device(text)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise SystemExit(f"convlstm_speed.py: --device must be cpu or cuda[:N]; received {text!r}")
    return device


def _parse_configs(text: str) -> list[Config]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown or not names:
        raise SystemExit(
            f"convlstm_speed.py: unknown --configs {unknown or names}; choose from {', '.join(CONFIGS)}"
        )
    return [CONFIGS[c] for c in names]


def print_list(configs: list[Config], variants: list[Variant]) -> None:
    for cfg in configs:
        print(f"{cfg.name}: {cfg.shape}, {cfg.train_flops() / 1e9:.4g} GFLOP per forward + backward")
    for v in variants:
        print(f"  {v.name}")


def claim_device(device: torch.device, args: argparse.Namespace) -> torch.device:
    """Check that CUDA is there when asked for, set the thread count and the current CUDA device."""
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            f"convlstm_speed.py: --device {args.device} needs CUDA, but torch "
            f"{torch.__version__} reports torch.cuda.is_available() == False"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        device = torch.device("cuda", index)
        torch.cuda.set_device(device)
    return device


def new_result(
    args: argparse.Namespace, device: torch.device, configs: list[Config], variants: list[Variant]
) -> dict[str, Any]:
    """The JSON document before any measurement: environment, settings, configurations, variants."""
    cpu = device.type == "cpu"
    return dict(
        benchmark="convlstm_speed",
        device=device.type,
        device_name=_device_name(device),
        torch=torch.__version__,
        cuda=torch.version.cuda if not cpu else None,
        cudnn=torch.backends.cudnn.version() if not cpu else None,
        capability=".".join(map(str, torch.cuda.get_device_capability(device))) if not cpu else None,
        threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
        python=sys.version.split()[0],
        repeats=args.repeats,
        warmup=args.warmup,
        repeats_large=args.repeats_large,
        warmup_large=args.warmup_large,
        budget_s=args.budget_s,
        timing="forward + backward of mean(out**2); median of interleaved rounds; ms",
        flops_note="convolutions only; forward per layer and step 2*B*H*W*4h*(c_in+h)*k^2; "
        "forward + backward = 3 x forward",
        fp32_note=None if cpu else "on CUDA fp32 rows run with TF32 off for matmuls and cuDNN convolutions",
        configs=[
            dict(asdict(c), shape=c.shape, forward_flops=c.forward_flops(), train_flops=c.train_flops())
            for c in configs
        ],
        variants=[v.name for v in variants],
        peaks={},
        rows=[],
        targets=[],
        finished=False,
    )


def measure_peaks(device: torch.device, n: int) -> dict[str, dict]:
    """The n³ matmul peaks: bf16 and fp32, and tf32 on CUDA; a failing one records its error."""
    cpu = device.type == "cpu"
    peaks: dict[str, dict] = {}
    for precision in ("bf16", "fp32") + (() if cpu else ("tf32",)):
        try:
            peaks[precision] = matmul_peak(device, precision, n, 5 if cpu else 20)
        except Exception as exc:  # noqa: BLE001
            peaks[precision] = dict(n=n, precision=precision, error=_one_line(exc))
    return peaks


def print_header(result: dict[str, Any]) -> None:
    print(
        f"ConvLSTM forward+backward | device={result['device']} ({result['device_name']}) "
        f"| torch {torch.__version__} "
        f"| threads={result['threads']} | repeats {result['repeats']} (large {result['repeats_large']}), "
        f"warm-up {result['warmup']} (large {result['warmup_large']}), interleaved, medians",
        flush=True,
    )
    print(
        "matmul peaks: "
        + ", ".join(
            f"{p} {d['n']}³ {d['tflops']:.3f} TFLOP/s" if "tflops" in d else f"{p} error: {d['error']}"
            for p, d in result["peaks"].items()
        ),
        flush=True,
    )


def write_result(result: dict[str, Any], out: Path, started: float) -> None:
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(result, indent=2) + "\n")


def run_config(
    cfg: Config,
    variants: list[Variant],
    device: torch.device,
    args: argparse.Namespace,
    peak_bf16: float | None,
    started: float,
) -> list[dict]:
    """Announce, benchmark and print one configuration; its rows."""
    reps, warm = (args.repeats_large, args.warmup_large) if cfg.large else (args.repeats, args.warmup)
    print(
        f"{cfg.name}: {cfg.shape}, {cfg.train_flops() / 1e9:.4g} GFLOP per iteration, "
        f"{reps} repeats after {warm} warm-up",
        flush=True,
    )
    deadline = started + args.budget_s if args.budget_s is not None else None
    return bench_config(cfg, variants, device, reps, warm, peak_bf16, deadline)


def main(argv: list[str] | None = None) -> dict:
    args, device, configs = parse_args(argv)
    variants = select_variants(device_variants(device.type), args.variants, args.skip)
    if args.list:
        print_list(configs, variants)
        return {}
    device = claim_device(device, args)

    started = time.perf_counter()
    result = new_result(args, device, configs, variants)
    out = args.out or Path(__file__).parent / "results" / f"convlstm_speed-{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result["peaks"] = measure_peaks(device, args.peak_size)
    print_header(result)
    write_result(result, out, started)

    for cfg in configs:
        rows = run_config(cfg, variants, device, args, result["peaks"]["bf16"].get("tflops"), started)
        result["rows"] += rows
        result["targets"] = evaluate_targets(result["rows"], device.type)
        write_result(result, out, started)  # an interrupted run keeps the configurations it finished
        print()
        print_table(rows)
        print(flush=True)

    result["finished"] = True
    write_result(result, out, started)
    print_targets(result["targets"])
    print(f"wrote {out}")
    if not any(r.get("error") is None for r in result["rows"]):
        first = next((r["error"] for r in result["rows"] if r.get("error")), "no rows")
        raise SystemExit(f"convlstm_speed.py: no variant ran; first error: {first}")
    return result


if __name__ == "__main__":
    main()
