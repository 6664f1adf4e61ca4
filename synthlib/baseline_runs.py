"""The fixed-feature baselines as jobs of the run loop: one record per (baseline, seed[, C]).

Each baseline sees exactly the subsets the CNN columns of the same seed see (``experiment``'s
``subset_seed``, with the protocol's draw seed). Its regularisation strength C follows the
protocol's rule: chosen on the validation splits of the tuning seeds (``choose_c``, called by
``synthlib.tuning``) and then fixed, or, for a grid protocol, every C run and recorded as a setting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthlib.baselines import baseline_parameters, baseline_scores
from synthlib.columns import Baseline
from synthlib.data import ImageDataset, few_shot_split
from synthlib.engine import Job, PlannedRun, RunContext, RunResult, full_config
from synthlib.experiment import RunOptions, subset_seed
from synthlib.records import record_path
from synthlib.selection import best_by_mean


def baseline_split(
    data: ImageDataset, per_class: int, val_per_class: int, draw_seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices of ``draw_seed``'s few-shot split (the CNN columns' split)."""
    split = few_shot_split(data.y_train, per_class, val_per_class, subset_seed(data.name, draw_seed))
    return split.train, split.val


def choose_c(
    baseline: Baseline,
    data: ImageDataset,
    tuning_seeds: Sequence[int],
    per_class: int,
    val_per_class: int,
    Cs: Sequence[float],
    cache_dir: str | Path | None,
    device: torch.device,
) -> tuple[float, pd.DataFrame]:
    """The C with the highest mean validation accuracy over ``tuning_seeds`` (first in ``Cs`` on ties),
    and every (seed, C) score; the test set is not read."""
    rows = []
    for seed in tuning_seeds:
        train_idx, val_idx = baseline_split(data, per_class, val_per_class, seed)
        for score in baseline_scores(baseline.name, data, train_idx, val_idx, Cs, seed, False, cache_dir, device):
            rows.append({"method": baseline.name, "seed": seed, "C": score["C"], "val_accuracy": score["val_accuracy"]})
    scores = pd.DataFrame(rows)
    return float(best_by_mean(scores, ["C"], "val_accuracy")["C"]), scores


@dataclass(frozen=True)
class BaselineConfig:
    """Everything that decides a baseline run's result."""

    dataset: str
    baseline: Baseline
    seed: int
    draw_seed: int
    C: float
    selection: str  # "validation" (C chosen on the tuning seeds) or "grid" (every C run)
    per_class: int
    val_per_class: int
    options: RunOptions

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "method": {"name": self.baseline.name, "label": self.baseline.label, "baseline": self.baseline.name},
            "seed": self.seed,
            "draw_seed": self.draw_seed,
            "C": self.C,
            "selection": self.selection,
            "per_class": self.per_class,
            "val_per_class": self.val_per_class,
            "features": baseline_parameters(self.baseline.name),
            "options": asdict(self.options),
        }


def baseline_run(protocol: str, runs_dir: Path, config: BaselineConfig, setting: str) -> PlannedRun:
    """The planned run of ``config`` under ``protocol``, recorded in ``runs_dir``."""
    name = config.baseline.name
    return PlannedRun(
        protocol=protocol,
        dataset=config.dataset,
        method=name,
        seed=config.seed,
        setting=setting,
        path=record_path(runs_dir, config.dataset, name, config.seed, setting),
        config=full_config(config.to_dict()),
        payload=config,
    )


@dataclass(frozen=True)
class BaselineJob(Job):
    """The Cs of one (dataset, baseline, seed): the features are computed (or read from the cache) once."""

    runs: tuple[PlannedRun, ...]

    def run(self, pending: Sequence[PlannedRun], context: RunContext) -> Iterator[tuple[PlannedRun, RunResult]]:
        configs: list[BaselineConfig] = [run.payload for run in pending]
        first = configs[0]
        started = time.perf_counter()
        train_idx, val_idx = baseline_split(context.data, first.per_class, first.val_per_class, first.draw_seed)
        scores = baseline_scores(
            first.baseline.name,
            context.data,
            train_idx,
            val_idx,
            [c.C for c in configs],
            first.seed,
            True,
            context.cache_dir,
            context.device,
        )
        seconds = (time.perf_counter() - started) / len(pending)
        for run, score in zip(pending, scores):
            yield (
                run,
                RunResult(
                    test_accuracy=float(score["test_accuracy"]),
                    val_accuracy=float(score["val_accuracy"]),
                    n_train=len(train_idx),
                    n_val=len(val_idx),
                    n_test=len(context.data.y_test),
                    timing={"wall_time_s": seconds},
                ),
            )


__all__ = ["BaselineConfig", "BaselineJob", "baseline_run", "baseline_split", "choose_c"]
