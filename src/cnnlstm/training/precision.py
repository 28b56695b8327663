"""The float precision a CPU trains fastest in: bf16 autocast where the CPU computes bf16 natively.

On a CPU with AVX512-BF16 or AMX instructions (Intel Cooper Lake, Sapphire Rapids and later; AMD
Zen 4 and later), bf16 autocast (Lightning's ``precision="bf16-mixed"``) runs convolutions and
matrix products 2-3 times faster than float32. Without them oneDNN emulates bf16, which is slower
than float32, so float32 stays the default there. Autocast keeps the weights, the optimizer and
the losses that ask for it in float32; bf16 results differ from float32 ones in the last bits,
so a run in each precision is a different run.
"""

from __future__ import annotations

import torch

__all__ = ["cpu_has_native_bf16", "fastest_cpu_precision"]

# torch's own CPU feature checks (torch.cpu); older builds lack some, which then count as absent.
_BF16_CHECKS = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX tiles), as torch detects them.

    >>> isinstance(cpu_has_native_bf16(), bool)
    True
    """
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in _BF16_CHECKS)


def fastest_cpu_precision() -> str:
    """Lightning's ``precision`` for CPU training: ``"bf16-mixed"`` with native bf16, else ``"32-true"``.

    >>> fastest_cpu_precision() in ("bf16-mixed", "32-true")
    True
    """
    return "bf16-mixed" if cpu_has_native_bf16() else "32-true"
