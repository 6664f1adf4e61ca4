"""The one run loop of the study: reuse, run, catch, write, report.

A protocol turns (dataset, seeds, columns) into ``Job``s (``synthlib.protocols``). A job is a group
of runs that share work: the settings of one (seed, sampler) share the frozen features, the Cs of
one (seed, baseline) share the fixed features. Each run has a planned path and its complete
configuration (``PlannedRun``); ``execute`` then, for every job:

1. reuses each run whose record on disk has the run's key (its configuration's hash);
2. runs the rest through ``Job.run``, which yields one result per run as soon as it is known;
3. writes each result at once, atomically, as a ``RunRecord`` with the code's provenance and the
   machine it ran on (``environment["machine"]``), so an interrupted study loses nothing it finished;
4. catches a failing job, reports it, and goes on with the others.

CNN jobs live in ``synthlib.experiment`` and baseline jobs in ``synthlib.baseline_runs``; both
share this loop and its record format.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from synthlib.data import ImageDataset
from synthlib.device import describe_device, resolve_device
from synthlib.progress import progress_bar
from synthlib.provenance import environment_info, machine_info
from synthlib.records import RESULTS_VERSION, RunRecord, config_hash, finished_record, write_record


@dataclass(frozen=True)
class PlannedRun:
    """One run to do: its identity, its file, and its complete resolved configuration."""

    protocol: str
    dataset: str
    method: str
    seed: int
    setting: str
    path: Path
    config: dict[str, Any]
    payload: Any = field(default=None, compare=False)
    """What the job needs to run it (e.g. the ``RunConfig``); not recorded."""

    @property
    def key(self) -> str:
        """The run's key: the hash of its configuration and ``RESULTS_VERSION``."""
        return config_hash(self.config)

    @property
    def label(self) -> str:
        setting = f" {self.setting}" if self.setting else ""
        return f"{self.protocol} {self.dataset} {self.method} seed={self.seed}{setting}"


def full_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run's configuration as recorded and hashed: ``config`` and the code's ``RESULTS_VERSION``."""
    return {**config, "results_version": RESULTS_VERSION}


@dataclass(frozen=True)
class RunResult:
    """What one run measured."""

    test_accuracy: float
    val_accuracy: float
    n_train: int
    n_val: int
    n_test: int
    timing: dict[str, float] = field(default_factory=dict)
    stopping: dict[str, Any] | None = None
    """How an early-stopped run stopped (``synthlib.stopping.Stopping.to_dict()``); None: a fixed length."""


class RunContext:
    """What the jobs of one dataset share: the data, the device, where caches go, and a small memo of
    expensive intermediate values (few-shot splits, dataset-wide preprocessing) keyed by what they
    depend on. The memo keeps the ``memo_size`` latest entries of each kind, so a study over many seeds
    holds a few splits at a time, not all of them."""

    def __init__(
        self,
        data: ImageDataset,
        device: str | torch.device = "auto",
        cache_dir: str | Path | None = None,
        memo_size: int = 2,
    ) -> None:
        self.data = data
        self.device = resolve_device(device)
        self.cache_dir = cache_dir
        self.memo_size = memo_size
        self._memo: dict[str, dict[Any, Any]] = {}

    def memo(self, kind: str, key: Any, make: Callable[[], Any], keep: int | None = None) -> Any:
        """``make()``, computed once per (``kind``, ``key``) while it stays among the latest ``keep``
        entries of its kind (default ``memo_size``)."""
        entries = self._memo.setdefault(kind, {})
        if key not in entries:
            entries[key] = make()
            while len(entries) > (self.memo_size if keep is None else keep):
                entries.pop(next(iter(entries)))
        return entries[key]


class Job(abc.ABC):
    """A group of runs that share work. ``run`` gets the runs that have no finished record and yields
    ``(run, result)`` for each, as soon as each is known."""

    runs: tuple[PlannedRun, ...]

    @property
    def label(self) -> str:
        """The job's name in logs: its first run's protocol, dataset, column and seed."""
        first = self.runs[0]
        return f"{first.protocol} {first.dataset} {first.method} seed={first.seed}"

    @abc.abstractmethod
    def run(self, pending: Sequence[PlannedRun], context: RunContext) -> Iterator[tuple[PlannedRun, RunResult]]: ...


@dataclass
class Outcome:
    """What ``execute`` did: every record (reused or new) and the failures, one line each."""

    records: list[RunRecord] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    reused: int = 0
    ran: int = 0

    def extend(self, other: Outcome) -> None:
        self.records += other.records
        self.failures += other.failures
        self.reused += other.reused
        self.ran += other.ran

    def raise_failures(self) -> None:
        """Raise ``RuntimeError`` listing every failed run, if any failed."""
        if self.failures:
            raise RuntimeError(f"{len(self.failures)} run(s) failed:\n" + "\n".join(self.failures))


def make_record(run: PlannedRun, result: RunResult, device: torch.device, environment: dict[str, Any]) -> RunRecord:
    return RunRecord(
        protocol=run.protocol,
        dataset=run.dataset,
        method=run.method,
        seed=run.seed,
        setting=run.setting,
        test_accuracy=result.test_accuracy,
        val_accuracy=result.val_accuracy,
        n_train=result.n_train,
        n_val=result.n_val,
        n_test=result.n_test,
        config=run.config,
        config_hash=run.key,
        device=describe_device(device),
        environment=environment,
        timing={**{k: round(v, 4) for k, v in result.timing.items()}, "finished_unix": round(time.time(), 3)},
        stopping=result.stopping,
    )


def reusable_record(run: PlannedRun) -> RunRecord | None:
    """The reuse rule: the record on disk of ``run`` if it is finished and has the run's key, else None."""
    return finished_record(run.path, run.key)


def pending_runs(job: Job) -> list[PlannedRun]:
    """The runs of ``job`` that ``execute`` would run: those without a reusable record."""
    return [run for run in job.runs if reusable_record(run) is None]


def execute(jobs: Sequence[Job], context: RunContext, log: Callable[[str], None] = print) -> Outcome:
    """Run every job's runs that have no finished record; reuse the others (see the module docstring)."""
    outcome = Outcome()
    with progress_bar(sum(len(job.runs) for job in jobs), "runs") as bar:
        for job in jobs:
            _execute_job(job, context, log, outcome)
            bar.update(len(job.runs))
    return outcome


def _execute_job(job: Job, context: RunContext, log: Callable[[str], None], outcome: Outcome) -> None:
    """``execute`` for one job: reuse its finished runs, run the others, record a failure."""
    pending = []
    for run in job.runs:
        existing = reusable_record(run)
        if existing is not None:
            outcome.records.append(existing)
            outcome.reused += 1
            log(f"run {run.label}: reused finished record, test accuracy {existing.test_accuracy:.4f}")
            continue
        if run.path.exists():
            log(f"run {run.label}: the record on disk is stale or unreadable; recomputing it")
        pending.append(run)
    if not pending:
        return
    environment = {**environment_info(), "machine": machine_info(context.device)}  # the machine is not in the key
    done: set[Path] = set()
    try:
        for run, result in job.run(pending, context):
            record = make_record(run, result, context.device, environment)
            write_record(run.path, record)
            outcome.records.append(record)
            outcome.ran += 1
            done.add(run.path)
            seconds = result.timing.get("wall_time_s", float("nan"))
            log(f"run {run.label}: test accuracy {record.test_accuracy:.4f} ({seconds:.1f} s, {record.device})")
    except Exception as error:  # keep going: the other jobs are independent
        missed = [run.label for run in pending if run.path not in done]
        outcome.failures.append(f"{job.label} ({len(missed)} run(s)): {type(error).__name__}: {error}")
        log(f"job {job.label}: FAILED ({type(error).__name__}: {error}); not run: {', '.join(missed)}")


__all__ = [
    "Job",
    "Outcome",
    "PlannedRun",
    "RunContext",
    "RunResult",
    "execute",
    "full_config",
    "make_record",
    "pending_runs",
    "reusable_record",
]
