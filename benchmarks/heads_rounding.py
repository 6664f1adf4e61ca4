"""How much a few epochs of head training amplify float32 rounding: the measurement behind
``tests/test_heads.py``'s ``ROUNDING_AMPLIFICATION``.

    python -m benchmarks.heads_rounding
    ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2 \
        python -m benchmarks.heads_rounding

Runs every test of ``tests/test_heads.py`` that compares batched with one-by-one training; each trains
the same heads in float32 and in float64. Per test and parameter tensor it prints, in units of float32's
machine epsilon, how far float32 training ends from the same training in float64 (all but exact), for
the one-by-one and the batched path, and how far the two float32 paths are from each other. Two float32
code paths (batched or not, this CPU or another) differ by at most the sum of their distances to the
exact result.
"""

from __future__ import annotations

import sys

import torch

import tests.test_heads as heads_tests
from synthlib.provenance import machine_info, machine_label

TESTS = (
    "test_adam_heads_with_shared_features_match_fit",
    "test_sgd_schedule_flips_and_frozen_biases_match_fit",
    "test_heads_with_different_features_and_generators_match_fit",
    "test_features_of_flipped_images_match_fit_and_differ_from_flipped_maps",
)


def main() -> int:
    eps = torch.finfo(torch.float32).eps
    original = heads_tests.compare_in
    print(f"machine: {machine_label(machine_info('cpu'))}")
    print(f"{'test':<72} {'largest |fit32 - fit64|':>24} {'|batched32 - fit64|':>20} {'|batched32 - fit32|':>20}")
    overall = 0.0
    for name in TESTS:
        trained: dict[torch.dtype, tuple] = {}

        def recording(dtype, *args, trained=trained, **kwargs):
            trained[dtype] = original(dtype, *args, **kwargs)
            return trained[dtype]

        heads_tests.compare_in = recording
        try:
            getattr(heads_tests, name)()
        finally:
            heads_tests.compare_in = original
        (alone32, batched32), (alone64, _) = trained[torch.float32], trained[torch.float64]
        worst = [0.0, 0.0, 0.0]
        for one32, many32, one64 in zip(alone32, batched32, alone64):
            for p32, q32, p64 in zip(one32.parameters(), many32.parameters(), one64.parameters()):
                worst[0] = max(worst[0], (p32.double() - p64).abs().max().item() / eps)
                worst[1] = max(worst[1], (q32.double() - p64).abs().max().item() / eps)
                worst[2] = max(worst[2], (q32 - p32).abs().max().item() / eps)
        overall = max(overall, *worst)
        print(f"{name:<72} {worst[0]:>20.0f} eps {worst[1]:>16.0f} eps {worst[2]:>16.0f} eps")
    print(
        f"largest: {overall:.0f} float32 eps ({overall * eps:.2g}); "
        f"ROUNDING_AMPLIFICATION = {heads_tests.ROUNDING_AMPLIFICATION}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
