"""Seconds of frozen-column head training as the study ran it per seed, against the heads of one seed
trained as one model (``heads.fit_heads``), on random features of the paper's shapes.

    python -m benchmarks.heads_speed [--epochs 100] [--threads N] [--repeats 3]

- samplers of a seed: the paper protocol's frozen columns (3 samplers, one setting each: Adam, lr 3e-4,
  batch 64, 380 images, 1024-wide features of their own, a generator each): one ``training.fit`` per sampler
  (one job per (seed, sampler)) against one ``fit_heads`` call of the three (``experiment.CnnJob``);
- tuning of a seed: the 12 settings of ``tuning.TuningGrid`` for 3 samplers (36 heads): one ``fit_heads``
  call per sampler (the settings of one sampler) against one call of all 36;
- three seeds' samplers: one ``fit_heads`` call per seed (3 heads) against one call of all 9
  (``samplers_of_three_seeds``: shared labels, so an upper bound of batching across seeds).

Prints the seconds of each path and their ratio (best of ``--repeats``, alternating), and how far the
trained heads of the two paths end apart. Run it on the library before and after a change of ``heads.py``
(``PYTHONPATH=<the other tree>``) to compare the loops themselves.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from benchmarks.heads import SAMPLERS, initial_head, random_maps
from synthlib.heads import fit_heads
from synthlib.models import ClassifierHead
from synthlib.training import TrainConfig, fit
from synthlib.tuning import TuningGrid

N_IMAGES, N_CLASSES = 380, 10
PAPER_FROZEN = TrainConfig(optimizer="adam", learning_rate=3e-4, batch_size=64, input_norm="standardize")

Runs = tuple[list[ClassifierHead], list[torch.Tensor], list[TrainConfig], list[int], list[int]]
"""Initial heads, features, configs, generator seeds, and which sampler each head belongs to."""


def samplers_of_a_seed(epochs: int) -> Runs:
    maps = [random_maps((64, 4, 4), 30 + i) for i in range(len(SAMPLERS))]
    heads = [initial_head(1024, 30 + i, train_biases=True) for i in range(len(SAMPLERS))]
    configs = [replace(PAPER_FROZEN, epochs=epochs)] * len(SAMPLERS)
    return heads, maps, configs, [30 + i for i in range(len(SAMPLERS))], list(range(len(SAMPLERS)))


def samplers_of_three_seeds(epochs: int) -> Runs:
    """The frozen columns of three seeds (3 samplers each): the study trains a seed's three heads as one model
    (``experiment.CnnJob``); here "per sampler" means per seed, against the nine heads as one model. The heads
    share the labels (``fit_heads`` takes one label tensor), which the seeds' subsets would not: an upper bound of
    what batching across seeds would save."""
    heads, maps, configs, seeds, _ = samplers_of_a_seed(epochs)
    more = [samplers_of_a_seed(epochs) for _ in range(2)]
    return (
        heads + [initial_head(1024, 50 + k, train_biases=True) for k in range(6)],
        maps + [random_maps((64, 4, 4), 50 + k) for k in range(6)],
        configs + more[0][2] + more[1][2],
        seeds + [50 + k for k in range(6)],
        [k // len(SAMPLERS) for k in range(3 * len(SAMPLERS))],
    )


def tuning_of_a_seed(epochs: int) -> Runs:
    settings = [replace(c, epochs=epochs) for c in TuningGrid().settings() if c.input_norm == "standardize"]
    maps = [random_maps((64, 4, 4), 40 + i) for i in range(len(SAMPLERS))]
    runs = [(i, c) for i in range(len(SAMPLERS)) for c in settings]
    return (
        [initial_head(1024, 40 + i, train_biases=True) for i, _ in runs],
        [maps[i] for i, _ in runs],
        [c for _, c in runs],
        [40 + i for i, _ in runs],
        [i for i, _ in runs],
    )


def per_sampler(runs: Runs, labels: torch.Tensor) -> list[ClassifierHead]:
    """As the study trains them: a sampler's heads together (one alone: ``fit``), sampler after sampler."""
    heads, features, configs, seeds, samplers = runs
    trained = [copy.deepcopy(h) for h in heads]
    for sampler in dict.fromkeys(samplers):
        members = [k for k, s in enumerate(samplers) if s == sampler]
        if len(members) == 1:
            k = members[0]
            fit(trained[k], features[k], labels, configs[k], torch.Generator().manual_seed(seeds[k]))
        else:
            fit_heads(
                [trained[k] for k in members],
                [features[k] for k in members],
                labels,
                [configs[k] for k in members],
                [torch.Generator().manual_seed(seeds[k]) for k in members],
            )
    return trained


def as_one_model(runs: Runs, labels: torch.Tensor) -> list[ClassifierHead]:
    heads, features, configs, seeds, _ = runs
    trained = [copy.deepcopy(h) for h in heads]
    return fit_heads(trained, features, labels, configs, [torch.Generator().manual_seed(s) for s in seeds])


def best_seconds(
    train: Callable[[Runs, torch.Tensor], list[ClassifierHead]], runs: Runs, labels: torch.Tensor
) -> tuple[float, list[ClassifierHead]]:
    started = time.perf_counter()
    heads = train(runs, labels)
    return time.perf_counter() - started, heads


def compare(name: str, runs: Runs, labels: torch.Tensor, repeats: int) -> None:
    before, after = [], []
    for _ in range(repeats):
        seconds, separate = best_seconds(per_sampler, runs, labels)
        before.append(seconds)
        seconds, together = best_seconds(as_one_model, runs, labels)
        after.append(seconds)
    with torch.no_grad():
        difference = max(
            float((a - b).abs().max())
            for one, many in zip(separate, together)
            for a, b in zip(one.parameters(), many.parameters())
        )
    steps = runs[2][0].epochs * -(-N_IMAGES // runs[2][0].batch_size)
    print(
        f"{name}: K={len(runs[0])} heads, {steps} steps each: per sampler {min(before):.2f} s, "
        f"as one model {min(after):.2f} s, ratio {min(before) / min(after):.2f}x "
        f"({min(after) / steps * 1e3:.3f} ms per step of all K); largest parameter difference {difference:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    labels = torch.randint(N_CLASSES, (N_IMAGES,), generator=torch.Generator().manual_seed(1))
    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    compare("samplers of a seed (paper frozen setting)", samplers_of_a_seed(args.epochs), labels, args.repeats)
    compare("tuning of a seed (12 settings x 3 samplers)", tuning_of_a_seed(args.epochs), labels, args.repeats)
    compare("three seeds' samplers (per seed / as one)", samplers_of_three_seeds(args.epochs), labels, args.repeats)


if __name__ == "__main__":
    main()
