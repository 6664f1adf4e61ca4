"""Time of training many classifier heads one by one (``training.fit``) against all at once
(``heads.fit_heads``), on random features of the study's shapes.

    python -m benchmarks.heads [--threads N] [--authors-epochs 10] [--tuning-epochs 20] [--repeats 1]

- authors' grid: the 24 settings of ``protocols.authors_code_settings`` (SGD, momentum 0.9, step schedule,
  per-minibatch flips, frozen zero biases, batch sizes 50 and 100) for one (seed, sampler): one feature
  tensor 380 x 64 x 16 x 16 (16,384 wide), one initial head, generators in the same state;
- paper tuning: the 16 Adam settings of ``tuning.TuningGrid`` for 3 samplers: 1024-wide features
  (380 x 64 x 4 x 4) per (sampler, input normalisation), one initial head and generator state per sampler.

Prints seconds of each path, their ratio, and how far the trained heads differ (rounding differences grow
during training; most under unstable settings, such as the grid's largest learning rates on these unscaled
features). On a CPU shared with other jobs ``--threads 1`` gives steadier times: with several threads each
small operation waits for all of them.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from synthlib.heads import fit_heads
from synthlib.models import ClassifierHead, init_
from synthlib.protocols import authors_code_settings
from synthlib.training import TrainConfig, accuracy, fit
from synthlib.tuning import TuningGrid

N_IMAGES, N_CLASSES, HIDDEN = 380, 10, 64
SAMPLERS = ("normal", "lognormal", "center_surround")


@dataclass
class HeadRuns:
    """K runs to train: initial heads, features, configs and the seed of each run's order generator."""

    name: str
    heads: list[ClassifierHead]
    features: list[torch.Tensor]
    configs: list[TrainConfig]
    order_seeds: list[int]
    labels: torch.Tensor


def random_maps(shape: Sequence[int], seed: int) -> torch.Tensor:
    return torch.randn((N_IMAGES, *shape), generator=torch.Generator().manual_seed(seed)).relu()


def initial_head(width: int, seed: int, train_biases: bool) -> ClassifierHead:
    head = init_(ClassifierHead(width, HIDDEN, N_CLASSES), torch.Generator().manual_seed(seed))
    if not train_biases:
        for name, param in head.named_parameters():
            if name.endswith("bias"):
                param.detach().zero_()
                param.requires_grad_(False)
    return head


def authors_grid(epochs: int) -> HeadRuns:
    configs = [replace(c, epochs=epochs) for c in authors_code_settings()]
    features = random_maps((64, 16, 16), 0)
    head = initial_head(features[0].numel(), 0, train_biases=False)
    return HeadRuns(
        "authors' grid (SGD, 16,384 wide)",
        [head] * len(configs),
        [features] * len(configs),
        configs,
        [0] * len(configs),
        torch.randint(N_CLASSES, (N_IMAGES,), generator=torch.Generator().manual_seed(1)),
    )


def paper_tuning(epochs: int) -> HeadRuns:
    settings = [replace(c, epochs=epochs) for c in TuningGrid().settings()]
    norms = sorted({c.input_norm for c in settings})
    maps = {
        (sampler, norm): random_maps((64, 4, 4), 10 * i + j)
        for i, sampler in enumerate(SAMPLERS)
        for j, norm in enumerate(norms)
    }
    runs = [(i, s, c) for i, s in enumerate(SAMPLERS) for c in settings]
    return HeadRuns(
        "paper tuning (Adam, 1024 wide)",
        [initial_head(1024, i, train_biases=True) for i, _, _ in runs],
        [maps[(s, c.input_norm)] for _, s, c in runs],
        [c for _, _, c in runs],
        [i for i, _, _ in runs],
        torch.randint(N_CLASSES, (N_IMAGES,), generator=torch.Generator().manual_seed(1)),
    )


def train_one_by_one(runs: HeadRuns) -> list[ClassifierHead]:
    heads = [copy.deepcopy(h) for h in runs.heads]
    for head, maps, config, seed in zip(heads, runs.features, runs.configs, runs.order_seeds):
        fit(head, maps, runs.labels, config, torch.Generator().manual_seed(seed))
    return heads


def train_batched(runs: HeadRuns) -> list[ClassifierHead]:
    heads = [copy.deepcopy(h) for h in runs.heads]
    generators = [torch.Generator().manual_seed(seed) for seed in runs.order_seeds]
    return fit_heads(heads, runs.features, runs.labels, runs.configs, generators)


def timed(train: Callable[[HeadRuns], list[ClassifierHead]], runs: HeadRuns) -> tuple[float, list[ClassifierHead]]:
    started = time.perf_counter()
    heads = train(runs)
    return time.perf_counter() - started, heads


def time_both(runs: HeadRuns, repeats: int) -> dict[str, float]:
    """Best seconds of ``repeats`` (alternating) one by one and batched; per head, the largest difference of
    trained parameters relative to the largest absolute value of the parameter; how many heads classify their
    training features equally often."""
    alone_times, batched_times = [], []
    for _ in range(repeats):
        alone_s, alone = timed(train_one_by_one, runs)
        batched_s, batched = timed(train_batched, runs)
        alone_times.append(alone_s)
        batched_times.append(batched_s)
    alone_s, batched_s = min(alone_times), min(batched_times)
    with torch.no_grad():
        differences = [
            max(
                float((a - b).abs().max() / a.abs().max().clamp(min=1e-30))
                for a, b in zip(one.parameters(), many.parameters())
            )
            for one, many in zip(alone, batched)
        ]
    same_accuracy = sum(
        accuracy(one, maps, runs.labels) == accuracy(many, maps, runs.labels)
        for one, many, maps in zip(alone, batched, runs.features)
    )
    return {
        "one_by_one_s": alone_s,
        "batched_s": batched_s,
        "median_relative_difference": float(np.median(differences)),
        "max_relative_difference": max(differences),
        "heads_with_equal_training_accuracy": same_accuracy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--authors-epochs", type=int, default=10)
    parser.add_argument("--tuning-epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=1, help="best of this many alternating timings")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"threads: {torch.get_num_threads()}")
    for runs in (authors_grid(args.authors_epochs), paper_tuning(args.tuning_epochs)):
        result = time_both(runs, args.repeats)
        print(
            f"{runs.name}, K={len(runs.heads)}, {runs.configs[0].epochs} epochs: "
            f"one by one {result['one_by_one_s']:.2f} s, batched {result['batched_s']:.2f} s, "
            f"ratio {result['one_by_one_s'] / result['batched_s']:.1f}x, "
            f"parameter difference / largest |parameter|: median {result['median_relative_difference']:.1e}, "
            f"max {result['max_relative_difference']:.1e}; equal training accuracy for "
            f"{result['heads_with_equal_training_accuracy']} of {len(runs.heads)} heads"
        )


if __name__ == "__main__":
    main()
