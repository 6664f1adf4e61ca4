"""What the benchmark runs, taken from the protocol registry: the default protocol (the paper's),
its columns, seeds and subset sizes, and the settings its committed tuning chose.

Full mode: MNIST and CIFAR-10, the protocol's seeds, the settings of
``protocol.tuning_path("results", dataset)``. Quick mode (``--quick``): the built-in synthetic datasets,
seed 0, each borrowing a real dataset's committed settings shrunk to ``QUICK_EPOCHS`` epochs: seconds,
every code path, numbers that mean nothing. Both paths of the benchmark (``benchmarks.workers``) run
exactly this plan; each worker subprocess rebuilds it from the same command-line options.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from synthlib.atomic import write_text_atomic
from synthlib.columns import Method
from synthlib.data import DATA_ENV_VAR, data_root
from synthlib.device import resolve_device
from synthlib.protocols import Protocol, default_protocol
from synthlib.provenance import REPO_ROOT
from synthlib.training import TrainConfig
from synthlib.tuning import TuningResult, load_tuning

RESULTS_ROOT = REPO_ROOT / "results"
"""Where the committed study outputs (and each protocol's tuning) live."""
PAPER_DATASETS = ("mnist", "cifar10")
QUICK_DATASETS: Mapping[str, str] = {"synthetic_gray": "mnist", "synthetic_rgb": "cifar10"}
"""Quick mode: dataset -> the real dataset whose committed tuning it borrows."""
QUICK_SEEDS: tuple[int, ...] = (0,)
QUICK_EPOCHS = 2
DEFAULT_SETTINGS = {"frozen": TrainConfig(input_norm="standardize"), "trained": TrainConfig(input_norm="unit")}
"""Quick mode without a committed tuning file (a fresh checkout): ``TrainConfig`` defaults."""


def portable_path(path: str | Path) -> str:
    """``path`` relative to the repository if it lies inside it, else its name only: nothing the
    benchmark writes holds an absolute path of the machine."""
    resolved = Path(path).resolve()
    if resolved.is_relative_to(REPO_ROOT):
        return resolved.relative_to(REPO_ROOT).as_posix() or "."
    return resolved.name


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset of the benchmark and the tuning result its runs use."""

    name: str
    tuning: TuningResult
    """The settings every seed runs with (quick mode: borrowed and shrunk)."""
    tuning_source: str
    """Where they came from, relative to the repository (and how they were changed)."""

    @property
    def train_configs(self) -> dict[str, TrainConfig]:
        return dict(self.tuning.selected)


@dataclass(frozen=True)
class BenchmarkPlan:
    """The configuration both paths run: protocol, datasets with their settings, seeds, machine options."""

    protocol: Protocol
    quick: bool
    datasets: tuple[DatasetPlan, ...]
    seeds: tuple[int, ...]
    data_root: Path
    device: str
    threads: int

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"

    @property
    def methods(self) -> tuple[Method, ...]:
        return self.protocol.methods

    @property
    def dataset_names(self) -> tuple[str, ...]:
        return tuple(dataset.name for dataset in self.datasets)

    @property
    def n_runs(self) -> int:
        return len(self.datasets) * len(self.methods) * len(self.seeds)

    def dataset(self, name: str) -> DatasetPlan:
        return next(dataset for dataset in self.datasets if dataset.name == name)

    def write_tuning(self, results_root: Path) -> None:
        """Put each dataset's settings where ``protocol.plan`` reads them under ``results_root`` (a scratch
        folder: the project path runs the protocol's own plan there)."""
        for dataset in self.datasets:
            write_text_atomic(self.protocol.tuning_path(results_root, dataset.name), dataset.tuning.to_json())

    def to_dict(self) -> dict[str, Any]:
        """The configuration as the report states it (paths relative to the repository, or names)."""
        return {
            "mode": self.mode,
            "protocol": self.protocol.name,
            "datasets": list(self.dataset_names),
            "seeds": list(self.seeds),
            "methods": [method.name for method in self.methods],
            "per_class": self.protocol.per_class,
            "val_per_class": self.protocol.val_per_class,
            "train_configs": {
                dataset.name: {regime: config.to_dict() for regime, config in dataset.train_configs.items()}
                for dataset in self.datasets
            },
            "tuning_sources": {dataset.name: dataset.tuning_source for dataset in self.datasets},
            "data_root": portable_path(self.data_root),
            "device": self.device,
            "threads": self.threads,
        }


def committed_tuning(protocol: Protocol, dataset: str, results_root: Path = RESULTS_ROOT) -> DatasetPlan:
    """``dataset`` with the settings the protocol's committed tuning chose for it."""
    path = protocol.tuning_path(results_root, dataset)
    return DatasetPlan(dataset, load_tuning(path), portable_path(path))


def quick_tuning(protocol: Protocol, dataset: str, source: str, results_root: Path = RESULTS_ROOT) -> DatasetPlan:
    """``dataset`` with ``source``'s committed settings (``DEFAULT_SETTINGS`` if it has none), shrunk to
    ``QUICK_EPOCHS`` epochs."""
    path = protocol.tuning_path(results_root, source)
    if path.exists():
        selected, origin = load_tuning(path).selected, portable_path(path)
    else:
        selected, origin = DEFAULT_SETTINGS, "TrainConfig defaults"
    shrunk = {regime: replace(config, epochs=QUICK_EPOCHS) for regime, config in selected.items()}
    tuning = TuningResult(dataset, shrunk, pd.DataFrame(), request_hash=f"benchmark quick mode from {origin}")
    return DatasetPlan(dataset, tuning, f"{origin} with epochs={QUICK_EPOCHS}")


def build_plan(
    quick: bool,
    data_root: Path,
    device: str,
    threads: int,
    protocol: Protocol | None = None,
    results_root: Path = RESULTS_ROOT,
) -> BenchmarkPlan:
    """The benchmark of ``protocol`` (default: the registry's default, the paper protocol)."""
    protocol = protocol or default_protocol()
    if not protocol.needs_tuning:
        raise ValueError(f"the benchmark runs a protocol with one tuned setting per regime, not {protocol.name!r}")
    if quick:
        datasets = tuple(quick_tuning(protocol, name, source, results_root) for name, source in QUICK_DATASETS.items())
        seeds = QUICK_SEEDS
    else:
        datasets = tuple(committed_tuning(protocol, name, results_root) for name in PAPER_DATASETS)
        seeds = protocol.seeds
    return BenchmarkPlan(protocol, quick, datasets, seeds, data_root, device, threads)


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that fix a plan (the benchmark's command line and each worker's take the same)."""
    parser.add_argument("--quick", action="store_true", help=f"synthetic data, seed 0, {QUICK_EPOCHS} epochs (seconds)")
    parser.add_argument("--data", default=None, help=f"dataset folder (default ${DATA_ENV_VAR}, else data/)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default torch's own choice)")


def plan_from_args(args: argparse.Namespace) -> BenchmarkPlan:
    """The plan named by ``add_plan_arguments``' options; sets torch's thread count to the plan's."""
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be positive, got {args.threads}")
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    return build_plan(args.quick, data_root(args.data), str(resolve_device(args.device)), threads)


def plan_arguments(plan: BenchmarkPlan) -> list[str]:
    """The options that make ``plan_from_args`` rebuild ``plan`` in a worker subprocess."""
    options = ["--data", str(plan.data_root), "--device", plan.device, "--threads", str(plan.threads)]
    return options + (["--quick"] if plan.quick else [])
