"""Hyperparameter choice on the validation split, never the test set.

The paper gives no optimiser, learning rate, epochs, batch size or input normalisation. They are
chosen here, once per dataset and regime, by grid search on validation accuracy:

- the grid is scored on *tuning seeds* (by default 1000), whose subsets and kernels are disjoint
  in randomness from the evaluation seeds (0, 1, 2, ...), so selection never sees an evaluation
  run, let alone its test set;
- training length is scored at several checkpoint epochs within one training run;
- one setting is chosen per regime: all frozen samplers share theirs (the mean validation
  accuracy over the samplers decides), and full training gets its own, since it trains a
  different set of parameters. Ties go to the earlier setting in grid order.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from synthlib.data import ImageDataset
from synthlib.device import resolve_device
from synthlib.experiment import Method, RunConfig, RunOptions, prepare_split, train_and_score
from synthlib.models import ArchitectureConfig
from synthlib.records import config_hash, write_text_atomic
from synthlib.training import TrainConfig


@dataclass(frozen=True)
class TuningGrid:
    """The settings searched. Every combination is trained; epochs are checkpoints of one run."""

    input_norms: tuple[str, ...] = ("unit", "standardize")
    learning_rates: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3)
    weight_decays: tuple[float, ...] = (0.0, 1e-3)
    epochs: tuple[int, ...] = (25, 50, 100, 200)
    optimizer: str = "adam"
    batch_size: int = 64
    seeds: tuple[int, ...] = (1000,)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def settings(self) -> list[TrainConfig]:
        """One TrainConfig per (input_norm, lr, weight decay), trained to the longest epoch count."""
        return [
            TrainConfig(self.optimizer, lr, wd, max(self.epochs), self.batch_size, input_norm=norm)
            for norm, lr, wd in itertools.product(self.input_norms, self.learning_rates, self.weight_decays)
        ]


def grid_scores(
    data: ImageDataset,
    methods: Sequence[Method],
    grid: TuningGrid,
    per_class: int,
    val_per_class: int,
    arch: ArchitectureConfig = ArchitectureConfig(),
    device: str | torch.device = "auto",
    log: Callable[[str], None] = print,
    options: RunOptions = RunOptions(),
) -> pd.DataFrame:
    """Validation accuracy of every (method, tuning seed, setting, epochs): one row each."""
    if val_per_class < 1:
        raise ValueError(f"tuning needs a validation split: val_per_class must be >= 1, got {val_per_class}")
    resolved = resolve_device(device)
    rows = []
    for seed in grid.seeds:
        splits = {  # one split per normalisation, shared by all settings; the test set is not loaded
            norm: prepare_split(data, per_class, val_per_class, seed, norm, resolved, include_test=False)
            for norm in grid.input_norms
        }
        for setting in grid.settings():
            split = splits[setting.input_norm]
            for method in methods:
                config = RunConfig(data.name, method, seed, setting, per_class, val_per_class, arch, options)
                scores = train_and_score(config, split, resolved, grid.epochs).val_scores
                for epochs in grid.epochs:
                    rows.append(
                        {
                            "method": method.name,
                            "regime": method.regime,
                            "seed": seed,
                            **asdict(replace(setting, epochs=epochs)),
                            "val_accuracy": scores[epochs],
                        }
                    )
            log(
                f"tune {data.name} seed={seed} norm={setting.input_norm} lr={setting.learning_rate:g} "
                f"wd={setting.weight_decay:g}: done"
            )
    return pd.DataFrame(rows)


SETTING_COLUMNS = ["optimizer", "learning_rate", "weight_decay", "epochs", "batch_size", "momentum", "input_norm"]


def select_settings(scores: pd.DataFrame) -> dict[str, TrainConfig]:
    """Per regime, the setting with the highest mean validation accuracy (first in grid order on ties)."""
    selected = {}
    for regime, group in scores.groupby("regime", sort=False):
        mean = group.groupby(SETTING_COLUMNS, sort=False)["val_accuracy"].mean()
        best = mean.index[int(mean.to_numpy().argmax())]
        values = {column: getattr(value, "item", lambda v=value: v)() for column, value in zip(SETTING_COLUMNS, best)}
        selected[regime] = TrainConfig(**values)
    return selected


def grid_edges(grid: TuningGrid, selected: dict[str, TrainConfig]) -> list[str]:
    """Sentences naming every chosen value that sits at the end of a numeric grid axis
    (a hint that the optimum may lie outside the grid)."""
    axes = {"learning_rate": grid.learning_rates, "weight_decay": grid.weight_decays, "epochs": grid.epochs}
    notes = []
    for regime, config in selected.items():
        for axis, values in axes.items():
            value = getattr(config, axis)
            if len(values) > 1 and value in (min(values), max(values)):
                end = "largest" if value == max(values) else "smallest"
                notes.append(f"{regime}: {axis} = {value:g} is the {end} value of the grid {list(values)}")
    return notes


@dataclass(frozen=True)
class TuningResult:
    dataset: str
    selected: dict[str, TrainConfig]
    scores: pd.DataFrame
    request_hash: str

    def to_json(self) -> str:
        payload = {
            "dataset": self.dataset,
            "request_hash": self.request_hash,
            "selected": {regime: config.to_dict() for regime, config in self.selected.items()},
            "scores": self.scores.to_dict(orient="records"),
        }
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> TuningResult:
        payload = json.loads(text)
        return cls(
            dataset=payload["dataset"],
            selected={regime: TrainConfig(**values) for regime, values in payload["selected"].items()},
            scores=pd.DataFrame(payload["scores"]),
            request_hash=payload["request_hash"],
        )


def tuning_request_hash(
    dataset: str,
    methods: Sequence[Method],
    grid: TuningGrid,
    per_class: int,
    val_per_class: int,
    arch: ArchitectureConfig,
    options: RunOptions = RunOptions(),
) -> str:
    return config_hash(
        {
            "options": asdict(options),
            "dataset": dataset,
            "methods": [m.to_dict() for m in methods],
            "grid": grid.to_dict(),
            "per_class": per_class,
            "val_per_class": val_per_class,
            "architecture": arch.to_dict(),
        }
    )


def tune(
    data: ImageDataset,
    methods: Sequence[Method],
    grid: TuningGrid,
    path: str | Path,
    per_class: int = 38,
    val_per_class: int = 38,
    arch: ArchitectureConfig = ArchitectureConfig(),
    device: str | torch.device = "auto",
    log: Callable[[str], None] = print,
    options: RunOptions = RunOptions(),
) -> TuningResult:
    """Select a TrainConfig per regime for ``data``; reuse ``path`` if it holds the same request."""
    request = tuning_request_hash(data.name, methods, grid, per_class, val_per_class, arch, options)
    path = Path(path)
    if path.exists():
        try:
            cached = TuningResult.from_json(path.read_text())
            if cached.request_hash == request:
                log(f"tune {data.name}: reused {path}")
                return cached
        except (ValueError, KeyError, TypeError):
            pass
    scores = grid_scores(data, methods, grid, per_class, val_per_class, arch, device, log, options)
    result = TuningResult(data.name, select_settings(scores), scores, request)
    write_text_atomic(path, result.to_json())
    return result


def load_tuning(path: str | Path) -> TuningResult:
    """Read a tuning result; a missing file names the notebook that makes it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no tuning result at {path}: run notebooks/03_tuning.py for this dataset first")
    return TuningResult.from_json(path.read_text())


__all__ = [
    "TuningGrid",
    "TuningResult",
    "grid_edges",
    "grid_scores",
    "load_tuning",
    "select_settings",
    "tune",
]
