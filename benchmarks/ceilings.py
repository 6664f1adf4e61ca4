"""The machine's ceilings at the thread count in use: fp32 matrix-multiply GFLOP/s and memory bandwidth.

Both are measured in the benchmark's own run, so achieved rates of the study's phases can be read as
a fraction of what this machine (and this ``torch.get_num_threads()``) can do at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

MIB = 1 << 20


@dataclass(frozen=True)
class Ceilings:
    """Best observed fp32 matmul rate and copy bandwidth on ``device`` with ``threads`` threads."""

    matmul_gflops: float
    matmul_size: int
    matmul_repeats: int
    bandwidth_gbs: float
    bandwidth_buffer_bytes: int
    bandwidth_repeats: int
    threads: int
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (no-op on the CPU), so that wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_seconds(work: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Shortest wall time of ``repeats`` calls of ``work`` after one untimed warm-up call."""
    work()
    synchronize(device)
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        synchronize(device)
        best = min(best, time.perf_counter() - started)
    return best


def matmul_gflops(size: int, repeats: int, device: torch.device) -> float:
    """fp32 GFLOP/s of ``size`` x ``size`` matrix products (2 n^3 FLOPs each), best of ``repeats``."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device)
    b = torch.randn(size, size, generator=generator).to(device)
    out = torch.empty_like(a)
    seconds = best_seconds(lambda: torch.mm(a, b, out=out), repeats, device)
    return 2 * size**3 / seconds / 1e9


def memory_bandwidth_gbs(buffer_bytes: int, repeats: int, device: torch.device) -> float:
    """GB/s of copying one fp32 buffer of ``buffer_bytes`` into another, counting read plus write bytes."""
    n = buffer_bytes // 4
    source = torch.ones(n, device=device)
    target = torch.empty_like(source)
    seconds = best_seconds(lambda: target.copy_(source), repeats, device)
    return 2 * n * 4 / seconds / 1e9


def measure_ceilings(device: torch.device, quick: bool = False) -> Ceilings:
    """Matmul and bandwidth ceilings; ``quick`` uses small sizes (seconds, not a faithful ceiling)."""
    if quick:
        size, buffer_bytes, repeats = 1024, 32 * MIB, 3
    else:
        size, buffer_bytes, repeats = (8192 if device.type == "cuda" else 2048), 256 * MIB, 5
    return Ceilings(
        matmul_gflops=matmul_gflops(size, repeats, device),
        matmul_size=size,
        matmul_repeats=repeats,
        bandwidth_gbs=memory_bandwidth_gbs(buffer_bytes, repeats, device),
        bandwidth_buffer_bytes=buffer_bytes,
        bandwidth_repeats=repeats,
        threads=torch.get_num_threads(),
        device=str(device),
    )
