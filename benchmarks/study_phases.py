"""The whole study's phase table: the seconds ``run_all.sh`` spent on each phase, the floating-point work each
phase did (counted from the run records and tuning files it wrote, as ``benchmarks.flops`` counts a run), and
the rate as a fraction of the matmul ceiling measured at the study's start.

Phases, from the steps ``run_all.sh`` times (``benchmarks.study_timing``; its notebooks and the curves run):
exploration (01, 02), tuning (03, every protocol that tunes), the protocols' runs (04, one phase per protocol;
the authors' code is the authors' grid), tables and verdict (05, 06, 08) and the learning curves (the curves
run and 07). Work is counted where it can be: the CNN run records of a protocol (``<results>/<protocol>/runs``)
and of the curves (``<results>/learning_curves/runs``), and the tuning's scored settings
(``<results>/<protocol>/tuning/*.json``: each (column, seed, setting) trained once to its longest scored epoch
count, scored on validation at each; a frozen column's features taken once per (column, seed, input
normalisation)). Fixed-feature baselines, plotting and notebooks' own work are not counted: a phase with only
those has no GFLOP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.flops import RunShape, conv_forward_flops, head_forward_flops, phase_flops
from synthlib.models import ArchitectureConfig

IMAGE_SHAPES = {"mnist": (1, 28), "fashion_mnist": (1, 28), "cifar10": (3, 32), "svhn": (3, 32)}
"""(channels, side) of each dataset's images as stored; the authors' preprocessing may pad and replicate them."""
CURVES = "learning_curves"
PHASE_ORDER = ("exploration", "tuning", "runs", "authors_grid", "tables_and_verdict", CURVES, "other")


def phase_of(step: str) -> str:
    """The phase of one step ``run_all.sh`` timed: a notebook's output name, or ``learning_curves``."""
    if step.startswith(("01_", "02_")):
        return "exploration"
    if step.startswith("03_"):
        return "tuning"
    if step.startswith("04_experiment_authors_code"):
        return "authors_grid"
    if step.startswith("04_"):
        return "runs_" + step.removeprefix("04_experiment_").rsplit("_", 1)[0]
    if step.startswith(("05_", "06_", "08_")):
        return "tables_and_verdict"
    if step.startswith("07_") or step == CURVES:
        return CURVES
    return "other"


def image_shape(dataset: str, preprocessing: Mapping[str, Any]) -> tuple[int, int]:
    """(channels, side) of the images a run's network sees, after its preprocessing steps."""
    channels, side = IMAGE_SHAPES[dataset]
    steps = preprocessing.get("steps", [])
    return (3 if "gray_to_rgb" in steps else channels), (32 if "pad_to_32" in steps else side)


def record_shape(record: Mapping[str, Any]) -> RunShape | None:
    """The ``RunShape`` of a CNN run record (None for a fixed-feature baseline's record)."""
    config = record["config"]
    method = config["method"]
    if "baseline" in method or "architecture" not in config:
        return None
    regime = "frozen" if method.get("sampler") is not None and not method.get("init_only") else "trained"
    arch = dict(config["architecture"])
    arch["deeper_layers"] = tuple(tuple(layer) for layer in arch.get("deeper_layers", ()))
    channels, side = image_shape(record["dataset"], config["preprocessing"])
    epochs = int(record.get("stopping", {}).get("epochs_run", config["train"]["epochs"]))
    return RunShape(
        regime,
        channels,
        side,
        int(record["n_train"]),
        int(record["n_val"]),
        int(record["n_test"]),
        epochs,
        ArchitectureConfig(**arch),
    )


def records_flops(records: Iterable[Mapping[str, Any]]) -> int:
    """FLOPs of every CNN run among ``records`` (all four of ``benchmarks.flops``' phases)."""
    total = 0
    for record in records:
        shape = record_shape(record)
        if shape is not None:
            total += sum(phase_flops(shape).values())
    return total


def tuning_flops(tuning: Mapping[str, Any], arch: ArchitectureConfig, per_class: int, val_per_class: int) -> int:
    """FLOPs of one tuning file's scored settings (see the module docstring)."""
    channels, side = IMAGE_SHAPES[tuning["dataset"]]
    n_train, n_val = 10 * per_class, 10 * val_per_class
    conv, head = conv_forward_flops(channels, side, arch), head_forward_flops(side, arch)
    longest: dict[tuple, int] = {}
    scored: dict[tuple, int] = {}
    extractions: set[tuple] = set()
    for row in tuning["scores"]:
        key = (row["method"], row["regime"], row["seed"], row["input_norm"], row["learning_rate"], row["weight_decay"])
        longest[key] = max(longest.get(key, 0), int(row["epochs"]))
        scored[key] = scored.get(key, 0) + 1
        if row["regime"] == "frozen":
            extractions.add((row["method"], row["seed"], row["input_norm"]))
    total = len(extractions) * conv * (n_train + n_val)
    for key, epochs in longest.items():
        per_sample = 3 * head if key[1] == "frozen" else 2 * conv + 3 * head
        forward = head if key[1] == "frozen" else conv + head
        total += per_sample * epochs * n_train + forward * n_val * scored[key]
    return total


def read_records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*/*.json"))]


def phase_flops_of_results(results: Path) -> dict[str, int]:
    """FLOPs per phase that the records and tuning files under ``results`` account for."""
    from synthlib.protocols import get_protocol, protocol_names

    flops: dict[str, int] = {}
    for name in protocol_names():
        protocol = get_protocol(name)
        phase = "authors_grid" if name == "authors_code" else f"runs_{name}"
        if (results / name / "runs").is_dir():
            flops[phase] = records_flops(read_records(results / name / "runs"))
        for path in sorted((results / name / "tuning").glob("*.json")):
            tuning = json.loads(path.read_text())
            count = tuning_flops(tuning, protocol.arch, protocol.per_class, protocol.val_per_class)
            flops["tuning"] = flops.get("tuning", 0) + count
    if (results / CURVES / "runs").is_dir():
        flops[CURVES] = records_flops(read_records(results / CURVES / "runs"))
    return flops


def phase_table(
    step_seconds: Mapping[str, float], flops: Mapping[str, int], matmul_gflops: float
) -> dict[str, dict[str, float | None]]:
    """Seconds, GFLOP, GFLOP/s and fraction of the matmul ceiling per phase, in the study's order."""
    seconds: dict[str, float] = {}
    for step, value in step_seconds.items():
        phase = phase_of(step)
        seconds[phase] = seconds.get(phase, 0.0) + float(value)

    def rank(phase: str) -> int:
        return PHASE_ORDER.index("runs" if phase.startswith("runs_") else phase)

    table = {}
    for phase in sorted(seconds, key=rank):
        gflop = flops[phase] / 1e9 if flops.get(phase) else None
        rate = gflop / seconds[phase] if gflop is not None and seconds[phase] > 0 else None
        table[phase] = {
            "seconds": round(seconds[phase], 1),
            "gflop": None if gflop is None else round(gflop, 1),
            "gflops_per_s": None if rate is None else round(rate, 2),
            "fraction_of_matmul_ceiling": None if rate is None else round(rate / matmul_gflops, 4),
        }
    return table


__all__ = ["phase_flops_of_results", "phase_of", "phase_table", "record_shape", "records_flops", "tuning_flops"]
