"""The two paths the benchmark times, each in a subprocess of its own so that each one's peak
resident memory is its own:

- ``project``: the protocol's own plan (``Protocol.plan``) run by the study engine
  (``synthlib.engine.execute``) into a scratch results folder that holds a copy of the tuning files,
  then the protocol's table (``synthlib.tables.protocol_table``); the phase seconds come from the
  ``RunRecord``s the engine returns;
- ``naive``: the same runs written the straightforward way (``benchmarks.naive``).

    python -m benchmarks.workers {project,naive} [--quick] [--data DIR] [--device auto] [--threads N]

prints the worker's result as one JSON line on stdout (progress goes to stderr). Both workers run with the
allocator the study runs with (``benchmarks.allocator.KEEP_FREED``, which ``scripts/bootstrap.sh`` exports),
whatever the calling process has, so the two paths are timed alike.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from benchmarks.allocator import KEEP_FREED
from benchmarks.naive import naive_run
from benchmarks.plan import BenchmarkPlan, add_plan_arguments, plan_arguments, plan_from_args
from benchmarks.runs import BenchmarkRun
from synthlib.data import ImageDataset, load_dataset
from synthlib.engine import RunContext, execute
from synthlib.provenance import REPO_ROOT
from synthlib.records import RunRecord
from synthlib.tables import protocol_table


def log(message: str) -> None:
    """One progress line on stderr (a worker's stdout carries only its JSON)."""
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ProjectResult:
    """What the project path measured: loading and study seconds per dataset, the table's seconds,
    end to end, every run, the table itself and the worker's peak memory."""

    loading_s: dict[str, float]
    study_s: dict[str, float]
    table_s: float
    wall_s: float
    runs: tuple[BenchmarkRun, ...]
    table: list[dict[str, Any]]
    peak_rss_kib: int
    gpu_peak_allocated_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> ProjectResult:
        return cls(**{**payload, "runs": tuple(BenchmarkRun.from_dict(run) for run in payload["runs"])})


@dataclass(frozen=True)
class NaiveResult:
    """What the naive path measured: loading seconds per dataset, end to end, every run, peak memory."""

    loading_s: dict[str, float]
    wall_s: float
    runs: tuple[BenchmarkRun, ...]
    peak_rss_kib: int
    gpu_peak_allocated_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> NaiveResult:
        return cls(**{**payload, "runs": tuple(BenchmarkRun.from_dict(run) for run in payload["runs"])})


def peak_rss_kib() -> int:
    """This process's peak resident set (``ru_maxrss``, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def gpu_peak_allocated_bytes(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def timed_load(name: str, root: Path) -> tuple[ImageDataset, float]:
    """``load_dataset`` and its wall time."""
    started = time.perf_counter()
    data = load_dataset(name, root)
    return data, time.perf_counter() - started


def project_worker(plan: BenchmarkPlan) -> ProjectResult:
    """The protocol as the project runs it: per dataset load, ``protocol.plan`` + ``execute``; then its table."""
    protocol, device = plan.protocol, torch.device(plan.device)
    regimes = {method.name: method.regime for method in plan.methods}
    loading: dict[str, float] = {}
    studies: dict[str, float] = {}
    runs: list[BenchmarkRun] = []
    records: list[RunRecord] = []
    with tempfile.TemporaryDirectory(prefix="synthlib-benchmark-results-") as scratch:
        results_root = Path(scratch)
        plan.write_tuning(results_root)
        started = time.perf_counter()
        for name in plan.dataset_names:
            data, loading[name] = timed_load(name, plan.data_root)
            log(f"project: loaded {name} in {loading[name]:.2f} s")
            study_started = time.perf_counter()
            jobs = protocol.plan(name, results_root, seeds=plan.seeds, baselines=())
            outcome = execute(jobs, RunContext(data, device), lambda line: log(f"project: {line}"))
            studies[name] = time.perf_counter() - study_started
            outcome.raise_failures()
            if outcome.reused:
                raise RuntimeError(f"the scratch folder held {outcome.reused} finished record(s); nothing was timed")
            runs.extend(BenchmarkRun.from_record(record, data, regimes[record.method]) for record in outcome.records)
            records.extend(outcome.records)
            del data
        table_started = time.perf_counter()
        table = protocol_table(records, protocol)
        table_s = time.perf_counter() - table_started
        wall_s = time.perf_counter() - started
    log(f"project: table built in {table_s:.3f} s; end to end {wall_s:.1f} s")
    return ProjectResult(
        loading_s=loading,
        study_s=studies,
        table_s=table_s,
        wall_s=wall_s,
        runs=tuple(runs),
        table=table.to_dict(orient="records"),
        peak_rss_kib=peak_rss_kib(),
        gpu_peak_allocated_bytes=gpu_peak_allocated_bytes(device),
    )


def naive_worker(plan: BenchmarkPlan) -> NaiveResult:
    """The same runs the naive way (``benchmarks.naive``), each timed."""
    protocol, device = plan.protocol, torch.device(plan.device)
    loading: dict[str, float] = {}
    runs: list[BenchmarkRun] = []
    started = time.perf_counter()
    for dataset in plan.datasets:
        data, loading[dataset.name] = timed_load(dataset.name, plan.data_root)
        log(f"naive: loaded {dataset.name} in {loading[dataset.name]:.2f} s")
        for seed in plan.seeds:
            for method in plan.methods:
                config = dataset.train_configs[method.regime]
                run = naive_run(
                    data, method, seed, config, protocol.per_class, protocol.val_per_class, device, protocol.arch
                )
                log(
                    f"naive: {dataset.name} {method.name} seed={seed}: test accuracy {run.test_accuracy:.4f} "
                    f"({run.timing['wall_s']:.1f} s)"
                )
                runs.append(run)
        del data
    return NaiveResult(
        loading_s=loading,
        wall_s=time.perf_counter() - started,
        runs=tuple(runs),
        peak_rss_kib=peak_rss_kib(),
        gpu_peak_allocated_bytes=gpu_peak_allocated_bytes(device),
    )


WORKERS: dict[str, Callable[[BenchmarkPlan], ProjectResult | NaiveResult]] = {
    "project": project_worker,
    "naive": naive_worker,
}


def run_in_subprocess(kind: str, plan: BenchmarkPlan) -> dict[str, Any]:
    """Run worker ``kind`` for ``plan`` in a subprocess (its log lines pass through on stderr); its JSON."""
    log(f"starting the {kind} path in a subprocess")
    command = [sys.executable, "-m", "benchmarks.workers", kind, *plan_arguments(plan)]
    environment = {**os.environ, **KEEP_FREED}
    completed = subprocess.run(command, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the {kind} worker failed with exit status {completed.returncode}")
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])


def run_project(plan: BenchmarkPlan) -> ProjectResult:
    return ProjectResult.from_dict(run_in_subprocess("project", plan))


def run_naive(plan: BenchmarkPlan) -> NaiveResult:
    return NaiveResult.from_dict(run_in_subprocess("naive", plan))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(WORKERS))
    add_plan_arguments(parser)
    args = parser.parse_args(argv)
    plan = plan_from_args(args)
    result = WORKERS[args.kind](plan)
    print(json.dumps(result.to_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
