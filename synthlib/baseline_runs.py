"""The fixed-feature baselines as columns of a protocol's table: one run record per (baseline, seed).

Each baseline sees exactly the subsets the CNN columns of the same seed see (``experiment``'s
``subset_seed``, with the protocol's draw seed), and its regularisation strength C follows the
protocol's rule:

- ``tuned`` protocols: C is chosen on the validation split of the protocol's tuning seeds
  (``Protocol.baseline_seeds``, 1000 by default), as the CNN settings are, then fixed for every
  evaluation seed;
- ``grid`` protocols (the authors' code): every C is run and recorded as a setting, and the tables
  choose per column on the test set and on validation, as for the CNN columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthlib.baselines import BASELINE_LABELS, BASELINE_NAMES, DEFAULT_CS, baseline_scores, select_by_validation
from synthlib.data import ImageDataset, few_shot_split
from synthlib.device import describe_device, resolve_device
from synthlib.experiment import subset_seed
from synthlib.protocols import Protocol
from synthlib.records import RunRecord, config_hash, environment_info, finished_record, record_path, write_record


def _split(data: ImageDataset, per_class: int, val_per_class: int, draw_seed: int) -> tuple[np.ndarray, np.ndarray]:
    split = few_shot_split(data.y_train, per_class, val_per_class, subset_seed(data.name, draw_seed))
    return split.train, split.val


def choose_c(
    name: str,
    data: ImageDataset,
    protocol: Protocol,
    per_class: int,
    val_per_class: int,
    Cs: Sequence[float],
    cache_dir: str | Path | None,
    device: torch.device,
) -> tuple[float, list[dict[str, Any]]]:
    """The C with the highest mean validation accuracy over the protocol's tuning seeds (first on ties);
    the test set is not touched."""
    per_seed = []
    for seed in protocol.baseline_seeds:
        train_idx, val_idx = _split(data, per_class, val_per_class, seed)
        per_seed.append(baseline_scores(name, data, train_idx, val_idx, Cs, seed, False, cache_dir, device))
    means = [float(np.mean([scores[i]["val_accuracy"] for scores in per_seed])) for i in range(len(Cs))]
    best = select_by_validation([{"C": c, "val_accuracy": m} for c, m in zip(Cs, means)])
    return float(best["C"]), [{"C": c, "mean_val_accuracy": m} for c, m in zip(Cs, means)]


def _record(
    name: str,
    data: ImageDataset,
    seed: int,
    config: dict[str, Any],
    score: dict[str, Any],
    n: tuple[int, int],
    device: torch.device,
    seconds: float,
    setting: str,
) -> RunRecord:
    return RunRecord(
        dataset=data.name,
        method=name,
        seed=seed,
        test_accuracy=float(score["test_accuracy"]),
        val_accuracy=float(score["val_accuracy"]),
        n_train=n[0],
        n_val=n[1],
        n_test=len(data.y_test),
        config=config,
        config_hash=config_hash(config),
        device=describe_device(device),
        environment=environment_info(),
        timing={"wall_time_s": round(seconds, 4), "finished_unix": round(time.time(), 3)},
        setting=setting,
    )


def run_baseline_study(
    data: ImageDataset,
    names: Sequence[str],
    protocol: Protocol,
    runs_dir: str | Path,
    seeds: Sequence[int] | None = None,
    per_class: int = 38,
    val_per_class: int = 38,
    Cs: Sequence[float] = DEFAULT_CS,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    log: Callable[[str], None] = print,
) -> tuple[list[RunRecord], list[str]]:
    """Run each baseline for each seed of ``protocol`` (or ``seeds``); reuse finished records.

    Records go beside the CNN columns' (``record_path``); a failing baseline is reported in the
    returned failures and the others go ahead.
    """
    unknown = [name for name in names if name not in BASELINE_NAMES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; valid baselines are: {', '.join(BASELINE_NAMES)}")
    resolved = resolve_device(device)
    records: list[RunRecord] = []
    failures: list[str] = []
    seeds = protocol.seeds if seeds is None else seeds
    for name in names:
        try:
            base = {
                "dataset": data.name,
                "method": {"name": name, "label": BASELINE_LABELS[name], "baseline": name},
                "per_class": per_class,
                "val_per_class": val_per_class,
                "Cs": [float(c) for c in Cs],
                "options": asdict(protocol.options),
            }
            if protocol.selection == "grid":
                settings: list[tuple[str, list[float], dict[str, Any]]] = [
                    (f"C{c:g}", [float(c)], {"selection": "grid"}) for c in Cs
                ]
            else:  # the choice is cheap once features are cached, so it is redone rather than stored
                started = time.perf_counter()
                chosen_c, c_scores = choose_c(name, data, protocol, per_class, val_per_class, Cs, cache_dir, resolved)
                seconds = time.perf_counter() - started
                log(f"baseline {data.name} {name}: C = {chosen_c:g} chosen on validation ({seconds:.1f} s)")
                settings = [("", [chosen_c], {"selection": "validation", "validation_scores": c_scores})]
        except Exception as error:
            failures.append(f"{data.name} {name}: {type(error).__name__}: {error}")
            log(f"baseline {data.name} {name}: FAILED ({type(error).__name__}: {error})")
            continue
        for seed in seeds:
            draw_seed = 0 if protocol.options.shared_draws else seed
            label = f"{data.name} {name} seed={seed}"
            pending = []
            for setting, c_values, extra in settings:
                config = {**base, "seed": seed, "draw_seed": draw_seed, "C": c_values[0], **extra}
                path = record_path(runs_dir, data.name, name, seed, setting)
                existing = finished_record(path, config_hash(config))
                if existing is not None:
                    records.append(existing)
                    log(f"run {label} {setting}: reused finished record, test accuracy {existing.test_accuracy:.4f}")
                else:
                    pending.append((setting, c_values[0], config, path))
            if not pending:
                continue
            try:
                started = time.perf_counter()
                train_idx, val_idx = _split(data, per_class, val_per_class, draw_seed)
                scores = baseline_scores(
                    name, data, train_idx, val_idx, [c for _, c, _, _ in pending], seed, True, cache_dir, resolved
                )
                seconds = (time.perf_counter() - started) / len(pending)
            except Exception as error:
                failures.append(f"{label}: {type(error).__name__}: {error}")
                log(f"run {label}: FAILED ({type(error).__name__}: {error})")
                continue
            for (setting, _, config, path), score in zip(pending, scores):
                record = _record(
                    name, data, seed, config, score, (len(train_idx), len(val_idx)), resolved, seconds, setting
                )
                write_record(path, record)
                records.append(record)
                log(f"run {label} {setting}: test accuracy {record.test_accuracy:.4f} ({seconds:.1f} s)")
    return records, failures
