"""The whole study's wall time, as ``run_all.sh`` measures it, beside the machine's matmul ceiling.

``run_all.sh`` calls ``start`` before its first notebook and ``finish`` after its last; ``finish`` writes
``<results>/study_timing.json``: the wall seconds, whether the study started from a results folder without
run records (*from scratch*), the fp32 matmul ceiling measured at the start in the same process tree, the
seconds of each notebook it executed (papermill's own timing), the code's commit and the settings.
``benchmarks/run_benchmark.py`` reads it for the ``whole_study_from_scratch_s`` target: seconds are only
comparable between machines when scaled by their ceilings (``scaled_to_reference``).

    python -m benchmarks.study_timing start RESULTS_DIR
    python -m benchmarks.study_timing finish RESULTS_DIR [FAILED...]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.ceilings import measure_ceilings
from benchmarks.study_phases import CURVES, phase_flops_of_results, phase_of, phase_table
from benchmarks.study_step import STEPS, read_steps
from synthlib.atomic import write_text_atomic
from synthlib.device import resolve_device
from synthlib.provenance import environment_info

REFERENCE_MATMUL_GFLOPS = 359.0
"""The ceiling the project's second thresholds are stated for: the fastest 2-core machine measured."""
STARTED = ".study_started.json"
TIMING = "study_timing.json"
SETTINGS = ("DATASETS", "PROTOCOLS", "SEEDS", "DEVICE", "LAUNCHER", "BASELINES", "SKIP_EXPLORATION", "CURVES_GRID")


def scaled_to_reference(seconds: float, matmul_gflops: float) -> float:
    """``seconds`` on a machine whose fp32 matmul ceiling is ``matmul_gflops``, as they would read on the
    reference machine (359 GFLOP/s): a machine half as fast takes twice as long, so its seconds count half."""
    return seconds * matmul_gflops / REFERENCE_MATMUL_GFLOPS


def has_records(results: Path) -> bool:
    return any(results.glob("*/runs/*/*.json"))


def start(results: Path) -> dict[str, Any]:
    """Note the start time, whether ``results`` holds run records already, and the matmul ceiling."""
    device = resolve_device(os.environ.get("DEVICE", "auto"))
    ceilings = measure_ceilings(device)
    started = {
        "started_unix": time.time(),
        "from_scratch": not has_records(results),
        "ceilings": ceilings.to_dict(),
        "torch_threads": torch.get_num_threads(),
    }
    write_text_atomic(results / STARTED, json.dumps(started, indent=2) + "\n")
    (results / STEPS).unlink(missing_ok=True)  # steps of an earlier, unfinished study
    return started


def notebook_seconds(results: Path, since_unix: float) -> dict[str, float]:
    """papermill's duration of every notebook executed into ``results/notebooks`` since ``since_unix``."""
    durations = {}
    for path in sorted((results / "notebooks").glob("*.ipynb")):
        if path.stat().st_mtime < since_unix:
            continue
        metadata = json.loads(path.read_text()).get("metadata", {}).get("papermill", {})
        if metadata.get("duration") is not None:
            durations[path.stem] = round(float(metadata["duration"]), 1)
    return durations


def finish(results: Path, failed: Sequence[str] = ()) -> dict[str, Any]:
    """Write ``study_timing.json`` from the start note; returns its content."""
    marker = results / STARTED
    if not marker.exists():
        raise FileNotFoundError(f"no {STARTED} in {results}: run 'python -m benchmarks.study_timing start' first")
    started = json.loads(marker.read_text())
    wall = time.time() - started["started_unix"]
    environment = environment_info()
    timing = {
        "wall_s": round(wall, 1),
        "from_scratch": started["from_scratch"],
        "matmul_gflops": started["ceilings"]["matmul_gflops"],
        "scaled_to_reference_s": round(scaled_to_reference(wall, started["ceilings"]["matmul_gflops"]), 1),
        "reference_matmul_gflops": REFERENCE_MATMUL_GFLOPS,
        "ceilings": started["ceilings"],
        "torch_threads": started["torch_threads"],
        "notebooks_s": notebook_seconds(results, started["started_unix"]),
        "failed": list(failed),
        "settings": {name: os.environ[name] for name in SETTINGS if name in os.environ},
        "git_commit": environment["git_commit"],
        "git_dirty": environment["git_dirty"],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    timing.update(step_summary(results, wall, started["ceilings"]["matmul_gflops"], timing["notebooks_s"]))
    write_text_atomic(results / TIMING, json.dumps(timing, indent=2) + "\n")
    marker.unlink()
    (results / STEPS).unlink(missing_ok=True)
    return timing


def step_summary(results: Path, wall_s: float, matmul_gflops: float, notebooks_s: dict[str, float]) -> dict[str, Any]:
    """The learning curves' seconds and the rest's, each step's seconds and peak memory, the study's peak
    memory and its phase table, from ``benchmarks.study_step``'s lines (papermill's notebook seconds where a
    step was not measured)."""
    steps = read_steps(results)
    seconds = {**notebooks_s, **{line["step"]: float(line["seconds"]) for line in steps}}
    curves_s = sum(value for step, value in seconds.items() if phase_of(step) == CURVES)
    peaks = [int(line["peak_rss_kib"]) for line in steps]
    return {
        "learning_curves_s": round(curves_s, 1) if curves_s else None,
        "before_learning_curves_s": round(wall_s - curves_s, 1),
        "before_learning_curves_scaled_to_reference_s": round(scaled_to_reference(wall_s - curves_s, matmul_gflops), 1),
        "learning_curves_scaled_to_reference_s": round(scaled_to_reference(curves_s, matmul_gflops), 1)
        if curves_s
        else None,
        "peak_rss_gb": round(max(peaks) * 1024 / 1e9, 3) if peaks else None,
        "steps": {
            line["step"]: {"seconds": line["seconds"], "peak_rss_gb": round(line["peak_rss_kib"] * 1024 / 1e9, 3)}
            for line in steps
        },
        "phases": phase_table(seconds, phase_flops_of_results(results), matmul_gflops),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.study_timing", description=__doc__)
    parser.add_argument("command", choices=("start", "finish"))
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("failed", nargs="*", help="notebooks that failed (finish)")
    args = parser.parse_args(argv)
    if args.command == "start":
        started = start(args.results_dir)
        print(
            f"study timing: matmul ceiling {started['ceilings']['matmul_gflops']:.0f} GFLOP/s; "
            f"from scratch: {started['from_scratch']}"
        )
    else:
        timing = finish(args.results_dir, args.failed)
        print(
            f"study timing: {timing['wall_s']:.0f} s at {timing['matmul_gflops']:.0f} GFLOP/s "
            f"({timing['scaled_to_reference_s']:.0f} s scaled to {REFERENCE_MATMUL_GFLOPS:.0f} GFLOP/s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
