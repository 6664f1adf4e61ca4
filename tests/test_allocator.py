"""The allocator setting of scripts/bootstrap.sh: the benchmark measures the values the scripts export, and
keeping freed memory leaves every trained weight and prediction the same, bit for bit."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.allocator import KEEP_FREED, measure

ROOT = Path(__file__).resolve().parent.parent


def test_bootstrap_exports_the_values_the_benchmark_measures():
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    exported = dict(re.findall(r'^export (MALLOC_\w+)="\$\{MALLOC_\w+:-(\d+)\}"$', text, flags=re.MULTILINE))
    assert exported == KEEP_FREED


def test_keeping_freed_memory_trains_the_same_weights_bit_for_bit():
    default, kept = (measure("cifar10", steps=20, threads=1, keep_freed=keep) for keep in (False, True))
    assert default["checksum"] == kept["checksum"]
    assert default["minor_faults"] > 0 and kept["minor_faults"] > 0  # both measured a real run
