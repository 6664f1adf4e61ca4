"""Explicit randomness: every random draw in synthlib comes from a generator built here."""

from __future__ import annotations

import hashlib

import torch


def derive_seed(base_seed: int, *labels: object) -> int:
    """A 63-bit seed determined by ``base_seed`` and ``labels`` (stable across runs and machines).

    ``derive_seed(0, "mnist", "subset")`` and ``derive_seed(0, "mnist", "kernels", "normal")`` are
    unrelated streams, so changing one part of a run never shifts the randomness of another.
    """
    text = "/".join([str(base_seed), *map(str, labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & ((1 << 63) - 1)


def make_generator(base_seed: int, *labels: object) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``derive_seed(base_seed, *labels)``."""
    return torch.Generator(device="cpu").manual_seed(derive_seed(base_seed, *labels))
