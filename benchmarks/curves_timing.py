"""The learning curves' grid timed beside the machine's matmul ceiling, measured in the same run.

``python -m benchmarks.curves_timing ARGS...`` measures the fp32 matmul ceiling (``benchmarks.ceilings``),
runs ``python -m synthlib curves run ARGS...`` in this process, and writes
``<results>/learning_curves/timing.json``: the wall seconds, the ceiling, the seconds scaled to the reference
ceiling (``study_timing.scaled_to_reference``: 359 GFLOP/s), and the run time per column kind summed from the
records this call wrote (their ``timing.wall_time_s``; records it reused count nothing), with the number of runs
each. ``all_records`` sums the same over every record of the datasets in the results folder, whichever call wrote
it, and counts the machines and thread counts the records name: a grid run in several calls (resumed after an
interruption, or one process per dataset) has its whole run time there. ``run_all.sh`` runs the learning curves
through it.

    python -m benchmarks.curves_timing --grid cpu --results results mnist cifar10
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from benchmarks.ceilings import measure_ceilings
from benchmarks.study_timing import REFERENCE_MATMUL_GFLOPS, scaled_to_reference
from synthlib.atomic import write_text_atomic
from synthlib.audit import record_machine
from synthlib.cli import main as synthlib_main
from synthlib.cli import parser as synthlib_parser
from synthlib.device import resolve_device
from synthlib.learning_curves import LEARNING_CURVES
from synthlib.provenance import environment_info
from synthlib.records import RunRecord, load_records

TIMING = "timing.json"


def seconds_by_kind(records: Iterable[RunRecord], since_unix: float, kinds: dict[str, str]) -> dict[str, dict]:
    """Per column kind (and in all), the runs finished at or after ``since_unix`` and their summed
    ``wall_time_s``: the time each kind of column took in this call."""
    found: dict[str, dict[str, float]] = {}
    for record in records:
        if record.timing.get("finished_unix", 0.0) < since_unix:
            continue
        for key in (kinds.get(record.method, "other"), "all"):
            entry = found.setdefault(key, {"runs": 0, "run_s": 0.0})
            entry["runs"] += 1
            entry["run_s"] += record.timing.get("wall_time_s", 0.0)
    return {key: {"runs": int(v["runs"]), "run_s": round(v["run_s"], 1)} for key, v in sorted(found.items())}


def machines_of(records: Iterable[RunRecord]) -> dict[str, int]:
    """How many ``records`` each machine ran (``audit.record_machine``: CPU, capability, thread count)."""
    return dict(sorted(Counter(record_machine(record) for record in records).items()))


def timed_curves(argv: Sequence[str]) -> tuple[int, dict[str, Any]]:
    """Run ``python -m synthlib curves run *argv`` after measuring the ceiling; the exit status and the timing."""
    args = synthlib_parser().parse_args(["curves", "run", *argv])
    ceilings = measure_ceilings(resolve_device(args.device))
    started_unix, started = time.time(), time.perf_counter()
    status = synthlib_main(["curves", "run", *argv])
    wall = time.perf_counter() - started
    records = (
        load_records(LEARNING_CURVES.runs_dir(args.results)) if LEARNING_CURVES.runs_dir(args.results).is_dir() else []
    )
    environment = environment_info()
    of_datasets = [r for r in records if r.dataset in args.datasets]
    timing = {
        "grid": args.grid,
        "datasets": list(args.datasets),
        "wall_s": round(wall, 1),
        "matmul_gflops": ceilings.matmul_gflops,
        "scaled_to_reference_s": round(scaled_to_reference(wall, ceilings.matmul_gflops), 1),
        "reference_matmul_gflops": REFERENCE_MATMUL_GFLOPS,
        "by_kind": seconds_by_kind(records, started_unix, LEARNING_CURVES.kinds()),
        "all_records": {
            "by_kind": seconds_by_kind(of_datasets, 0.0, LEARNING_CURVES.kinds()),
            "machines": machines_of(of_datasets),
        },
        "ceilings": ceilings.to_dict(),
        "torch_threads": torch.get_num_threads(),
        "exit_status": status,
        "git_commit": environment["git_commit"],
        "git_dirty": environment["git_dirty"],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    folder = LEARNING_CURVES.folder(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / TIMING, json.dumps(timing, indent=2) + "\n")
    return status, timing


def main(argv: Sequence[str] | None = None) -> int:
    status, timing = timed_curves(sys.argv[1:] if argv is None else argv)
    print(
        f"learning curves ({timing['grid']}): {timing['wall_s']:.0f} s at {timing['matmul_gflops']:.0f} GFLOP/s "
        f"({timing['scaled_to_reference_s']:.0f} s scaled to {REFERENCE_MATMUL_GFLOPS:.0f} GFLOP/s); "
        + ", ".join(f"{kind} {v['run_s']:.0f} s ({v['runs']} runs)" for kind, v in timing["by_kind"].items())
    )
    return status


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["TIMING", "machines_of", "main", "seconds_by_kind", "timed_curves"]
