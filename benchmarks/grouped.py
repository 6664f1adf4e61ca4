"""Fully trained CNNs trained as one versus one by one, on the study's shapes, on this machine.

For each regime that the study could group (``synthlib.grouped``), K models are trained for a few epochs
three ways, and the seconds per epoch of all K are compared:

- ``alone``: ``training.fit`` once per model (the study's path until now);
- ``grouped``: ``grouped.fit_models`` (one wide first conv for models that draw the same minibatches, grouped
  convs and batched matmuls otherwise; each model its own optimiser);
- ``vmap``: PyTorch's ensembling path, ``torch.func.stack_module_state`` + ``vmap`` over ``functional_call``,
  its stacked parameters stepped by one fused Adam / SGD (a lower bound on its optimiser's cost: per-model
  hyperparameters would need one call per setting).

The shapes are the committed study's: 380 training images (38 per class), PaperCNN on 28x28x1 (MNIST) and
32x32x3 (CIFAR-10) at batch 64 with Adam (the tuning's six learning rates x weight decays of one seed and
input normalisation; the seeds of one column), and the authors' one-conv network (16,384 FC inputs) on
32x32x3 at batch 50 with SGD, flips and the step schedule (the nine learning rates of its fully trained
column). Each line gives the ratio alone / grouped (> 1: grouping is faster) and the GFLOP/s of each path as
a fraction of the fp32 matmul ceiling measured in the same run (``benchmarks.ceilings``; FLOPs counted as
``benchmarks.flops`` counts full training).

    python -m benchmarks.grouped [--epochs 2] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from benchmarks.ceilings import measure_ceilings, synchronize
from benchmarks.flops import RunShape, full_training_flops
from synthlib.grouped import fit_models
from synthlib.models import ArchitectureConfig, PaperCNN, init_
from synthlib.protocols import AUTHORS_CODE_ARCH, AUTHORS_CODE_LR_SCHEDULE
from synthlib.provenance import cpu_model
from synthlib.training import TrainConfig, fit

N_TRAIN = 380


@dataclass(frozen=True)
class Case:
    """One regime's group: K models of one architecture on images of one shape."""

    name: str
    channels: int
    side: int
    arch: ArchitectureConfig
    configs: tuple[TrainConfig, ...]
    shared: bool  # one input and one generator state for all (settings of one seed), else one each (seeds)


def study_cases(epochs: int) -> list[Case]:
    """The study's groups of fully trained runs (see the module docstring)."""
    paper = ArchitectureConfig()
    tuning = tuple(TrainConfig("adam", lr, wd, epochs, 64) for lr in (3e-4, 1e-3, 3e-3) for wd in (0.0, 1e-3))
    seeds = tuple(TrainConfig("adam", 3e-3, 0.0, epochs, 64) for _ in range(3))
    authors = tuple(
        TrainConfig(
            "sgd",
            0.1 / d,
            1e-3,
            epochs,
            50,
            0.9,
            "authors_code",
            AUTHORS_CODE_LR_SCHEDULE,
            train_biases=False,
            hflip=True,
        )
        for d in (1, 3, 10, 30, 100, 300, 1000, 3000, 10000)
    )
    return [
        Case("tuning MNIST (6 settings, one seed)", 1, 28, paper, tuning, True),
        Case("tuning CIFAR-10 (6 settings, one seed)", 3, 32, paper, tuning, True),
        Case("seeds MNIST (3 seeds, one column)", 1, 28, paper, seeds, False),
        Case("seeds CIFAR-10 (3 seeds, one column)", 3, 32, paper, seeds, False),
        Case("authors' grid CIFAR-10 (9 learning rates)", 3, 32, AUTHORS_CODE_ARCH, authors, True),
    ]


DEVICE = torch.device("cpu")


def make_models(case: Case) -> list[PaperCNN]:
    models = []
    for k, config in enumerate(case.configs):
        model = init_(PaperCNN(case.channels, case.side, case.arch), torch.Generator().manual_seed(k))
        if not config.train_biases:
            with torch.no_grad():
                for name, param in model.named_parameters():
                    if name.endswith("bias"):
                        param.zero_().requires_grad_(False)
        models.append(model.to(DEVICE).to(memory_format=torch.channels_last))
    return models


def make_data(case: Case) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    count = 1 if case.shared else len(case.configs)
    generator = torch.Generator().manual_seed(0)
    xs = [
        torch.randn(N_TRAIN, case.channels, case.side, case.side, generator=generator)
        .to(DEVICE)
        .contiguous(memory_format=torch.channels_last)
        for _ in range(count)
    ]
    ys = [torch.randint(10, (N_TRAIN,), generator=generator).to(DEVICE) for _ in range(count)]
    if case.shared:
        return xs * len(case.configs), ys * len(case.configs)
    return xs, ys


def generators(case: Case) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(0 if case.shared else k) for k in range(len(case.configs))]


def run_alone(case: Case) -> None:
    xs, ys = make_data(case)
    for model, x, y, config, generator in zip(make_models(case), xs, ys, case.configs, generators(case)):
        fit(model, x, y, config, generator)


def run_grouped(case: Case) -> None:
    xs, ys = make_data(case)
    fit_models(make_models(case), xs, ys, list(case.configs), generators(case))


def run_vmap(case: Case) -> None:
    """``vmap`` over ``functional_call``: the same minibatches, one optimiser over the stacked parameters."""
    xs, ys = make_data(case)
    models = make_models(case)
    params, _ = torch.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    leaves = [p for p in params.values() if p.requires_grad]
    config = case.configs[0]
    optimizer = (
        torch.optim.Adam(leaves, lr=config.learning_rate, fused=True)
        if config.optimizer == "adam"
        else torch.optim.SGD(leaves, lr=config.learning_rate, momentum=config.momentum)
    )

    def call(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(base, p, (x,))

    gens = generators(case)
    n = len(xs[0])
    for _ in range(config.epochs):
        orders = [torch.randperm(n, generator=g) for g in gens]
        for start in range(0, n, config.batch_size):
            if case.shared:
                batch = orders[0][start : start + config.batch_size]
                logits = torch.vmap(call, in_dims=(0, None))(params, xs[0][batch])
                targets = ys[0][batch].repeat(len(models))
            else:
                batches = [order[start : start + config.batch_size] for order in orders]
                stacked = torch.stack([x[b] for x, b in zip(xs, batches)])
                logits = torch.vmap(call, in_dims=(0, 0))(params, stacked)
                targets = torch.cat([y[b] for y, b in zip(ys, batches)])
            losses = F.cross_entropy(logits.flatten(0, 1), targets, reduction="none")
            loss = losses.view(len(models), -1).mean(dim=1).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def interleaved_seconds(works: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Best wall seconds of each of ``works`` over ``repeats`` rounds, the paths taking turns within each
    round (so that a busy spell of a shared machine slows all of them, not one), after one warm-up round."""
    best = {name: float("inf") for name in works}
    for round_number in range(repeats + 1):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            synchronize(DEVICE)
            if round_number:
                best[name] = min(best[name], time.perf_counter() - started)
    return best


def case_flops(case: Case) -> float:
    """FLOPs of training all K models for their epochs (``benchmarks.flops``' count of full training)."""
    shape = RunShape("trained", case.channels, case.side, N_TRAIN, 0, 0, case.configs[0].epochs, case.arch)
    return float(full_training_flops(shape) * len(case.configs))


def measure(case: Case, ceiling_gflops: float, repeats: int) -> dict[str, Any]:
    flops = case_flops(case)
    works: dict[str, Callable[[], None]] = {path: functools.partial(work, case) for path, work in PATHS.items()}
    timed = interleaved_seconds(works, repeats)
    return {
        "case": case.name,
        "models": len(case.configs),
        "epochs": case.configs[0].epochs,
        "gflop": flops / 1e9,
        "seconds": timed,
        "alone_over_grouped": timed["alone"] / timed["grouped"],
        "alone_over_vmap": timed["alone"] / timed["vmap"],
        "fraction_of_ceiling": {path: flops / s / 1e9 / ceiling_gflops for path, s in timed.items()},
    }


PATHS: dict[str, Callable[[Case], None]] = {"alone": run_alone, "grouped": run_grouped, "vmap": run_vmap}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grouped", description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a small ceiling measurement and the first case only")
    parser.add_argument("--cases", nargs="*", type=int, help="indices of the cases to run (default: all)")
    parser.add_argument("--threads", type=int, help="torch threads (default: PyTorch's)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (models and images there; generators on the CPU)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    global DEVICE
    DEVICE = torch.device(args.device)
    ceilings = measure_ceilings(DEVICE, quick=args.quick)
    cases = study_cases(args.epochs)
    chosen = [cases[i] for i in args.cases] if args.cases else cases[:1] if args.quick else cases
    print(
        f"{cpu_model() if DEVICE.type == 'cpu' else torch.cuda.get_device_name(DEVICE)}, "
        f"{torch.get_num_threads()} threads, "
        f"matmul ceiling {ceilings.matmul_gflops:.0f} GFLOP/s"
    )
    rows = []
    for case in chosen:
        row = measure(case, ceilings.matmul_gflops, args.repeats)
        rows.append(row)
        s, f = row["seconds"], row["fraction_of_ceiling"]
        print(
            f"{row['case']}: alone {s['alone']:.2f} s, grouped {s['grouped']:.2f} s, vmap {s['vmap']:.2f} s "
            f"for {row['epochs']} epochs; alone/grouped {row['alone_over_grouped']:.2f}x, "
            f"alone/vmap {row['alone_over_vmap']:.2f}x; fraction of ceiling: alone {f['alone']:.2f}, "
            f"grouped {f['grouped']:.2f}, vmap {f['vmap']:.2f}",
            flush=True,
        )
    if args.json:
        args.json.write_text(
            json.dumps({"cpu_model": cpu_model(), "ceilings": ceilings.to_dict(), "cases": rows}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
