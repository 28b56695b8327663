"""Recurrent cell speed: cnnlstm's ConvGRU and STLSTM (PredRNN) against plain references, CPU fp32.

The companion of ``benchmarks/convlstm_speed.py`` (issue 7) for the cells added after ConvLSTM.
Each reference is written here in the style of the common public implementations:

* ConvGRU: a cell holding one ``nn.Conv2d`` over ``[x_t, h_{t-1}]`` for the reset and update
  gates and one over ``[x_t, r ∘ h_{t-1}]`` for the candidate, stepped in a Python loop;
* STLSTM: OpenSTL's ``SpatioTemporalLSTMCell`` layout (``conv_x``, ``conv_h``, ``conv_m``,
  ``conv_o``, ``conv_last`` as ``nn.Conv2d`` without bias, forget bias 1.0 added), the PredRNN
  loop over steps and layers with the zig-zag memory;
* ConvLSTM: the reference of ``convlstm_speed.py`` (one ``nn.Conv2d`` over ``[x_t, h_{t-1}]``).

Weights are copied from the cnnlstm layer into the reference, the outputs
are compared (relative to the reference's largest value), then both are timed interleaved
(reference, ours, ...): ``--warmup`` untimed rounds and ``--repeats`` timed ones of forward +
backward of ``mean(out ** 2)``; the table shows medians and ``× ref`` (< 1: ours is faster).

Configuration: B8, T10, 16 channels 16×16, 2 layers of 32, 3×3 (``--batch`` etc. change it).

Usage:
    OMP_NUM_THREADS=1 python benchmarks/cell_speed.py [--threads 1] [--repeats 5] [--out FILE]

Writes JSON (default ``benchmarks/results/cell_speed-cpu.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import cast

import torch
from torch import Tensor, nn

from cnnlstm.nn import STLSTM, ConvGRU, ConvGRUCell, ConvLSTM


class ReferenceConvGRU(nn.Module):
    def __init__(self, in_channels: int, hidden: int, kernel: int, layers: int) -> None:
        super().__init__()
        self.hidden = hidden
        pad = kernel // 2
        self.gates = nn.ModuleList(
            nn.Conv2d((in_channels if i == 0 else hidden) + hidden, 2 * hidden, kernel, padding=pad)
            for i in range(layers)
        )
        self.candidates = nn.ModuleList(
            nn.Conv2d((in_channels if i == 0 else hidden) + hidden, hidden, kernel, padding=pad)
            for i in range(layers)
        )

    def forward(self, x: Tensor) -> Tensor:
        for gates, candidate in zip(self.gates, self.candidates, strict=True):
            h = x.new_zeros(x.shape[0], self.hidden, *x.shape[3:])
            outs = []
            for t in range(x.shape[1]):
                r, z = torch.sigmoid(gates(torch.cat([x[:, t], h], 1))).chunk(2, 1)
                n = torch.tanh(candidate(torch.cat([x[:, t], r * h], 1)))
                h = (1 - z) * h + z * n
                outs.append(h)
            x = torch.stack(outs, 1)
        return x


def copy_convgru(src: ConvGRU, dst: ReferenceConvGRU) -> None:
    cells = cast(Iterable[ConvGRUCell], src.cells)  # each ModuleList holds only these
    gate_convs = cast(Iterable[nn.Conv2d], dst.gates)
    candidate_convs = cast(Iterable[nn.Conv2d], dst.candidates)
    with torch.no_grad():
        for cell, gates, candidate in zip(cells, gate_convs, candidate_convs, strict=True):
            assert cell.bias_ih is not None and gates.bias is not None and candidate.bias is not None
            h = cell.hidden_channels
            gates.weight.copy_(torch.cat([cell.weight_ih[: 2 * h], cell.weight_hh[: 2 * h]], 1))
            gates.bias.copy_(cell.bias_ih[: 2 * h])
            candidate.weight.copy_(torch.cat([cell.weight_ih[2 * h :], cell.weight_hh[2 * h :]], 1))
            candidate.bias.copy_(cell.bias_ih[2 * h :])


class ReferenceSTCell(nn.Module):
    def __init__(self, in_channels: int, hidden: int, kernel: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.hidden = hidden
        self.conv_x = nn.Conv2d(in_channels, 7 * hidden, kernel, padding=pad, bias=False)
        self.conv_h = nn.Conv2d(hidden, 4 * hidden, kernel, padding=pad, bias=False)
        self.conv_m = nn.Conv2d(hidden, 3 * hidden, kernel, padding=pad, bias=False)
        self.conv_o = nn.Conv2d(2 * hidden, hidden, kernel, padding=pad, bias=False)
        self.conv_last = nn.Conv2d(2 * hidden, hidden, 1, bias=False)

    def forward(self, x: Tensor, h: Tensor, c: Tensor, m: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        i_x, f_x, g_x, i_xp, f_xp, g_xp, o_x = torch.split(self.conv_x(x), self.hidden, 1)
        i_h, f_h, g_h, o_h = torch.split(self.conv_h(h), self.hidden, 1)
        i_m, f_m, g_m = torch.split(self.conv_m(m), self.hidden, 1)
        c_new = torch.sigmoid(f_x + f_h + 1.0) * c + torch.sigmoid(i_x + i_h) * torch.tanh(g_x + g_h)
        m_new = torch.sigmoid(f_xp + f_m + 1.0) * m + torch.sigmoid(i_xp + i_m) * torch.tanh(g_xp + g_m)
        mem = torch.cat([c_new, m_new], 1)
        o = torch.sigmoid(o_x + o_h + self.conv_o(mem))
        return o * torch.tanh(self.conv_last(mem)), c_new, m_new


class ReferencePredRNN(nn.Module):
    def __init__(self, in_channels: int, hidden: int, kernel: int, layers: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.cells = nn.ModuleList(
            ReferenceSTCell(in_channels if i == 0 else hidden, hidden, kernel) for i in range(layers)
        )

    def forward(self, x: Tensor) -> Tensor:
        zeros = x.new_zeros(x.shape[0], self.hidden, *x.shape[3:])
        h, c, m = [zeros] * len(self.cells), [zeros] * len(self.cells), zeros
        outs = []
        for t in range(x.shape[1]):
            below = x[:, t]
            for i, cell in enumerate(self.cells):
                h[i], c[i], m = cell(below, h[i], c[i], m)
                below = h[i]
            outs.append(below)
        return torch.stack(outs, 1)


def copy_stlstm(src: STLSTM, dst: ReferencePredRNN) -> None:
    with torch.no_grad():
        for cell, ref in zip(src.cells, dst.cells, strict=True):
            for name in ("x", "h", "m", "o", "last"):
                getattr(ref, f"conv_{name}").weight.copy_(getattr(cell, f"weight_{name}"))


class ReferenceConvLSTM(nn.Module):
    def __init__(self, in_channels: int, hidden: int, kernel: int, layers: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.convs = nn.ModuleList(
            nn.Conv2d((in_channels if i == 0 else hidden) + hidden, 4 * hidden, kernel, padding=kernel // 2)
            for i in range(layers)
        )

    def forward(self, x: Tensor) -> Tensor:
        for conv in self.convs:
            h = c = x.new_zeros(x.shape[0], self.hidden, *x.shape[3:])
            outs = []
            for t in range(x.shape[1]):
                i, f, g, o = conv(torch.cat([x[:, t], h], 1)).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outs.append(h)
            x = torch.stack(outs, 1)
        return x


def copy_convlstm(src: ConvLSTM, dst: ReferenceConvLSTM) -> None:
    with torch.no_grad():
        for index, conv in enumerate(cast(Iterable[nn.Conv2d], dst.convs)):  # built from those alone
            cell = src.cell(index)
            assert conv.bias is not None and cell.bias_ih is not None  # both built with a bias
            conv.weight.copy_(cell.fused_weight())
            conv.bias.copy_(cell.bias_ih)


def _iteration(model: nn.Module, x: Tensor) -> float:
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    out.square().mean().backward()
    return time.perf_counter() - start


def _check(ours: nn.Module, ref: nn.Module, x: Tensor) -> float:
    """Largest difference of the outputs, relative to the largest reference output."""
    out = ours(x)[0]
    expected = ref(x)
    return float((out - expected).abs().max() / expected.abs().max())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/cell_speed-cpu.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.steps, args.channels, args.size, args.size)
    dims = (args.channels, args.hidden, args.kernel, args.layers)
    pairs: list[tuple[str, nn.Module, nn.Module]] = []
    ours_gru = ConvGRU(args.channels, args.hidden, args.kernel, args.layers)
    ref_gru = ReferenceConvGRU(*dims)
    copy_convgru(ours_gru, ref_gru)
    pairs.append(("ConvGRU", ours_gru, ref_gru))
    ours_st = STLSTM(args.channels, args.hidden, args.kernel, args.layers)
    ref_st = ReferencePredRNN(*dims)
    copy_stlstm(ours_st, ref_st)
    pairs.append(("STLSTM (PredRNN)", ours_st, ref_st))
    ours_lstm = ConvLSTM(args.channels, args.hidden, args.kernel, args.layers)
    ref_lstm = ReferenceConvLSTM(*dims)
    copy_convlstm(ours_lstm, ref_lstm)
    pairs.append(("ConvLSTM", ours_lstm, ref_lstm))

    rows = []
    for name, ours, ref in pairs:
        with torch.no_grad():
            diff = _check(ours, ref, x)
        times: dict[str, list[float]] = {"reference": [], "cnnlstm": []}
        for round_index in range(args.warmup + args.repeats):
            for label, model in (("reference", ref), ("cnnlstm", ours)):
                seconds = _iteration(model, x)
                if round_index >= args.warmup:
                    times[label].append(seconds)
        ref_ms = statistics.median(times["reference"]) * 1e3
        our_ms = statistics.median(times["cnnlstm"]) * 1e3
        rows.append(
            {
                "cell": name,
                "reference_ms": ref_ms,
                "cnnlstm_ms": our_ms,
                "x_ref": our_ms / ref_ms,
                "max_rel_diff": diff,
                "check": "ok" if diff < 1e-4 else "FAIL",
            }
        )
    print(
        f"B{args.batch} T{args.steps} C{args.channels} {args.size}x{args.size}, {args.layers} layers of "
        f"{args.hidden}, {args.kernel}x{args.kernel}, {args.threads} thread(s), fp32, forward + backward, "
        f"median of {args.repeats}"
    )
    print(f"{'cell':<18} {'reference ms':>13} {'cnnlstm ms':>11} {'x ref':>6} {'rel diff':>9} check")
    for r in rows:
        print(
            f"{r['cell']:<18} {r['reference_ms']:>13.1f} {r['cnnlstm_ms']:>11.1f} {r['x_ref']:>6.2f} "
            f"{r['max_rel_diff']:>9.1e} {r['check']}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "cell_speed",
        "settings": vars(args),
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "rows": rows,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
