"""The learning curves' grid timed beside the machine's matmul ceiling, measured in the same run.

``python -m benchmarks.curves_timing ARGS...`` measures the fp32 matmul ceiling (``benchmarks.ceilings``),
runs ``python -m synthlib curves run ARGS...`` in this process, and writes ``<results>/<study>/timing.json``
(the study ``--study`` names; ``learning_curves`` by default):

- the wall seconds, the ceiling and the seconds scaled to the reference ceiling
  (``study_timing.scaled_to_reference``: 359 GFLOP/s);
- ``by_kind``: the run time per column kind of the records this call wrote for its datasets (their
  ``timing.wall_time_s``; records it reused, and those another process wrote meanwhile for another dataset,
  count nothing), with the number of runs each;
- ``all_records``: the same summed over every record in the study's folder, whichever call wrote it, in all
  and per dataset, with the machines and thread counts the records name; a grid run in several calls
  (resumed after an interruption, one process per dataset, several sessions) has its whole run time there;
- ``calls``: every call's own entry (arguments, wall seconds, ceiling, machine, the runs it finished and
  their run time), the earlier ones read from the file under a lock, so that no call of a grid is lost;
- ``all_records["scaled_to_reference_s"]``: the records' run time, each machine's seconds scaled by the mean
  ceiling its calls measured at their thread count (null while a machine has no call). With one-thread runs and
  one-thread ceilings it is about the grid's wall time on a 2-core machine of the reference ceiling running
  two such processes.

``run_all.sh`` runs the learning curves through it.

    python -m benchmarks.curves_timing --grid cpu --results results mnist cifar10
    python -m benchmarks.curves_timing --study learning_curves_plateau --sizes 1 2 5 -- mnist
"""

from __future__ import annotations

import fcntl
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.ceilings import measure_ceilings
from benchmarks.study_timing import REFERENCE_MATMUL_GFLOPS, scaled_to_reference
from synthlib.atomic import write_text_atomic
from synthlib.audit import record_machine
from synthlib.cli import main as synthlib_main
from synthlib.cli import parser as synthlib_parser
from synthlib.device import resolve_device
from synthlib.learning_curves import CURVE_STUDIES
from synthlib.provenance import environment_info, machine_info, machine_label
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


def scaled_run_seconds(records: Iterable[RunRecord], calls: Sequence[dict[str, Any]]) -> float | None:
    """The records' summed run time, each machine's seconds scaled to the reference ceiling by the mean matmul
    ceiling that ``calls`` measured on it (``scaled_to_reference``); None when a machine has no call."""
    ceilings: dict[str, list[float]] = {}
    for call in calls:
        ceilings.setdefault(call["machine"], []).append(call["matmul_gflops"])
    total = 0.0
    for record in records:
        measured = ceilings.get(record_machine(record))
        if not measured:
            return None
        total += scaled_to_reference(record.timing.get("wall_time_s", 0.0), sum(measured) / len(measured))
    return round(total, 1)


def _earlier_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return list(json.loads(path.read_text()).get("calls", []))


def timed_curves(argv: Sequence[str]) -> tuple[int, dict[str, Any]]:
    """Run ``python -m synthlib curves run *argv`` after measuring the ceiling; the exit status and the timing."""
    args = synthlib_parser().parse_args(["curves", "run", *argv])
    ceilings = measure_ceilings(resolve_device(args.device))
    started_unix, started = time.time(), time.perf_counter()
    status = synthlib_main(["curves", "run", *argv])
    wall = time.perf_counter() - started
    study = CURVE_STUDIES[args.study]
    records = load_records(study.runs_dir(args.results)) if study.runs_dir(args.results).is_dir() else []
    environment = environment_info()
    of_datasets = [r for r in records if r.dataset in args.datasets]
    this_call = seconds_by_kind(of_datasets, started_unix, study.kinds()).get("all", {"runs": 0, "run_s": 0.0})
    call = {
        "datasets": list(args.datasets),
        "grid": args.grid,
        "sizes": args.sizes,
        "columns": args.columns,
        "wall_s": round(wall, 1),
        "matmul_gflops": ceilings.matmul_gflops,
        "torch_threads": torch.get_num_threads(),
        "machine": machine_label(machine_info(resolve_device(args.device))),
        "runs": this_call["runs"],
        "run_s": this_call["run_s"],
        "git_commit": environment["git_commit"],
        "git_dirty": environment["git_dirty"],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    timing = {
        "study": study.name,
        "grid": args.grid,
        "datasets": list(args.datasets),
        "wall_s": round(wall, 1),
        "matmul_gflops": ceilings.matmul_gflops,
        "scaled_to_reference_s": round(scaled_to_reference(wall, ceilings.matmul_gflops), 1),
        "reference_matmul_gflops": REFERENCE_MATMUL_GFLOPS,
        "by_kind": seconds_by_kind(of_datasets, started_unix, study.kinds()),
        "all_records": {
            "by_kind": seconds_by_kind(records, 0.0, study.kinds()),
            "by_dataset": {
                dataset: seconds_by_kind([r for r in records if r.dataset == dataset], 0.0, study.kinds())
                for dataset in sorted({r.dataset for r in records})
            },
            "machines": machines_of(records),
        },
        "ceilings": ceilings.to_dict(),
        "torch_threads": torch.get_num_threads(),
        "exit_status": status,
        "git_commit": environment["git_commit"],
        "git_dirty": environment["git_dirty"],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    folder = study.folder(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".timing.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another dataset's process may be writing its call
        calls = [*_earlier_calls(folder / TIMING), call]
        timing["calls"] = calls
        timing["all_records"]["scaled_to_reference_s"] = scaled_run_seconds(records, calls)
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


__all__ = ["TIMING", "machines_of", "main", "scaled_run_seconds", "seconds_by_kind", "timed_curves"]
