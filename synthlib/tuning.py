"""Hyperparameter choice on the validation split, never the test set.

The paper gives no optimiser, learning rate, epochs, batch size or input normalisation. They are
chosen here, once per dataset and regime, by grid search on validation accuracy:

- the grid is scored on *tuning seeds* (by default 1000), whose subsets and kernels are disjoint
  in randomness from the evaluation seeds (0, 1, 2, ...), so selection never sees an evaluation
  run, let alone its test set;
- training length is scored at several checkpoint epochs within one training run;
- one setting is chosen per regime: all frozen samplers share theirs (the mean validation
  accuracy over the samplers decides), and full training gets its own, since it trains a
  different set of parameters. Ties go to the earlier setting in grid order
  (``synthlib.selection.best_by_mean``);
- each fixed-feature baseline gets its regularisation C the same way, on the same splits.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from synthlib.atomic import write_text_atomic
from synthlib.baseline_runs import choose_c
from synthlib.baselines import DEFAULT_CS
from synthlib.columns import Baseline, Method
from synthlib.data import ImageDataset
from synthlib.device import resolve_device
from synthlib.experiment import RunConfig, RunOptions, prepare_split, train_and_score, train_frozen_together
from synthlib.models import ArchitectureConfig
from synthlib.records import RESULTS_VERSION, config_hash
from synthlib.selection import best_by_mean
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
    settings = grid.settings()
    scores: dict[tuple[int, int, int], dict[int, float]] = {}  # (seed, setting, method) -> epochs -> accuracy
    for seed in grid.seeds:
        for norm in grid.input_norms:  # one split per normalisation; the test set is not loaded
            split = prepare_split(data, per_class, val_per_class, seed, norm, resolved, include_test=False)
            chosen = [i for i, setting in enumerate(settings) if setting.input_norm == norm]
            for m, method in enumerate(methods):
                configs = [
                    RunConfig(data.name, method, seed, settings[i], per_class, val_per_class, arch, options)
                    for i in chosen
                ]
                if method.regime == "frozen":  # every setting's head at once, on features computed once
                    runs = train_frozen_together(configs, split, resolved, grid.epochs)
                else:
                    runs = [train_and_score(config, split, resolved, grid.epochs) for config in configs]
                for i, run in zip(chosen, runs):
                    scores[(seed, i, m)] = run.val_scores
                log(f"tune {data.name} seed={seed} norm={norm} {method.name}: {len(chosen)} settings done")
    rows = [
        {
            "method": method.name,
            "regime": method.regime,
            "seed": seed,
            **asdict(replace(setting, epochs=epochs)),
            "val_accuracy": scores[(seed, i, m)][epochs],
        }
        for seed in grid.seeds
        for i, setting in enumerate(settings)
        for m, method in enumerate(methods)
        for epochs in grid.epochs
    ]
    return pd.DataFrame(rows)


SETTING_COLUMNS = ["optimizer", "learning_rate", "weight_decay", "epochs", "batch_size", "momentum", "input_norm"]


def select_settings(scores: pd.DataFrame) -> dict[str, TrainConfig]:
    """Per regime, the setting with the highest mean validation accuracy (first in grid order on ties)."""
    return {
        str(regime): TrainConfig(**best_by_mean(group, SETTING_COLUMNS, "val_accuracy"))
        for regime, group in scores.groupby("regime", sort=False)
    }


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
    """The settings chosen for one dataset: a ``TrainConfig`` per CNN regime and a C per baseline, with
    every validation score behind the choices and the hash of the request that made them."""

    dataset: str
    selected: dict[str, TrainConfig]
    scores: pd.DataFrame
    request_hash: str
    baseline_c: dict[str, float] = field(default_factory=dict)
    baseline_scores: pd.DataFrame = field(default_factory=pd.DataFrame)

    def searched(self) -> dict[str, TrainConfig]:
        """The chosen settings of the regimes this tuning searched (not those it took as given)."""
        regimes = set(self.scores["regime"]) if "regime" in self.scores else set()
        return {regime: config for regime, config in self.selected.items() if regime in regimes}

    def to_json(self) -> str:
        payload = {
            "dataset": self.dataset,
            "request_hash": self.request_hash,
            "selected": {regime: config.to_dict() for regime, config in self.selected.items()},
            "scores": self.scores.to_dict(orient="records"),
            "baseline_c": self.baseline_c,
            "baseline_scores": self.baseline_scores.to_dict(orient="records"),
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
            baseline_c={name: float(c) for name, c in payload.get("baseline_c", {}).items()},
            baseline_scores=pd.DataFrame(payload.get("baseline_scores", [])),
        )


def tuning_request_hash(
    dataset: str,
    methods: Sequence[Method],
    grid: TuningGrid,
    per_class: int,
    val_per_class: int,
    arch: ArchitectureConfig,
    options: RunOptions = RunOptions(),
    baselines: Sequence[Baseline] = (),
    baseline_cs: Sequence[float] = DEFAULT_CS,
    fixed: Mapping[str, TrainConfig] | None = None,
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
            "baselines": [b.name for b in baselines],
            "baseline_cs": [float(c) for c in baseline_cs],
            "fixed": {regime: config.to_dict() for regime, config in (fixed or {}).items()},
            "results_version": RESULTS_VERSION,
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
    baselines: Sequence[Baseline] = (),
    baseline_cs: Sequence[float] = DEFAULT_CS,
    cache_dir: str | Path | None = None,
    fixed: Mapping[str, TrainConfig] | None = None,
) -> TuningResult:
    """Select a TrainConfig per regime and a C per baseline for ``data`` on the validation splits of
    ``grid.seeds``; reuse ``path`` if it holds the same request. A regime in ``fixed`` is not searched:
    its given setting is taken (e.g. one chosen under another protocol whose options cannot change it)."""
    fixed = dict(fixed or {})
    request = tuning_request_hash(
        data.name, methods, grid, per_class, val_per_class, arch, options, baselines, baseline_cs, fixed
    )
    path = Path(path)
    if path.exists():
        try:
            cached = TuningResult.from_json(path.read_text())
            if cached.request_hash == request:
                log(f"tune {data.name}: reused {path.name}")
                return cached
        except (ValueError, KeyError, TypeError):
            log(f"tune {data.name}: {path.name} is unreadable; tuning again")
    searched = [m for m in methods if m.regime not in fixed]
    scores = grid_scores(data, searched, grid, per_class, val_per_class, arch, device, log, options)
    baseline_c, baseline_rows = {}, []
    for baseline in baselines:
        c, rows = choose_c(
            baseline, data, grid.seeds, per_class, val_per_class, baseline_cs, cache_dir, resolve_device(device)
        )
        baseline_c[baseline.name] = c
        baseline_rows.append(rows)
        log(f"tune {data.name} {baseline.name}: C = {c:g}")
    selected = {**(select_settings(scores) if len(scores) else {}), **fixed}
    baseline_scores = pd.concat(baseline_rows, ignore_index=True) if baseline_rows else pd.DataFrame()
    result = TuningResult(data.name, selected, scores, request, baseline_c, baseline_scores)
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
