"""Beyond one machine: the jobs a study plans, sent as one job array through submitit
(https://github.com/facebookincubator/submitit) to a Slurm cluster, or to processes on this machine.

Launchers (``LAUNCHERS``):

- ``inprocess`` (the default): ``engine.execute`` in this process, the study's ordinary path
  (``synthlib.runner.run_study`` chooses between them);
- ``local``: submitit's ``LocalExecutor``, one process per array task on this machine, at most
  ``array_parallelism`` at a time;
- ``slurm``: a Slurm job array (``sbatch --array=0-<n-1>%<array_parallelism>``) through submitit's
  ``AutoExecutor(cluster="slurm")``, with a partition, GPUs and CPUs per task and a time limit.

Only the jobs with a *pending* run (``engine.pending_runs``: no finished record of the run's key)
are sent, ``jobs_per_task`` engine ``Job``s per array task. A task (``RunTask``) loads its dataset
itself (``load_dataset(name, data_root)``), builds a ``RunContext`` and calls ``engine.execute``,
so its records are written by the same code as in process: one file per run, atomically, with the
code's provenance, as soon as the run is done. The tasks import the launcher's own synthlib (its
source folder leads ``PYTHONPATH`` in the task's environment), so records name the same code.

A task is a ``submitit.helpers.Checkpointable``: when Slurm pre-empts it or its time limit comes,
submitit requeues it (up to ``max_requeues`` times) and the requeued task reuses every record it
already wrote. The launcher waits for every task, reports each failed one (raised, killed, timed
out or pre-empted beyond its requeues) with its jobs' labels, its state and its log files, and
returns an ``Outcome`` read back from the record files: every planned run is a reused record, a new
one, or part of a failure. Nothing is lost silently, and a rerun sends only the runs still missing.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import submitit
from submitit.core.utils import FailedJobError

from synthlib.data import data_root, load_dataset
from synthlib.engine import Job, Outcome, RunContext, execute, pending_runs, reusable_record
from synthlib.provenance import REPO_ROOT

LAUNCHERS = ("inprocess", "local", "slurm")


@dataclass(frozen=True)
class LaunchSettings:
    """How the runs are executed: the launcher and, beyond one process, the job array's resources.

    Defaults: one GPU per task (a run uses one device), two hours per task (the longest job, the 24
    settings of one ``authors_code`` column and seed, takes about 10 minutes on the reference
    machine's CPU at 25 s per run, ``synthlib.protocols``), at most 32 tasks at a time, one engine
    job per task, and three requeues after a time limit or pre-emption (submitit's own
    ``max_num_timeout`` default)."""

    launcher: str = "inprocess"
    folder: str | Path | None = None
    """submitit's job files and logs; None: ``<results_root>/submitit``."""
    partition: str | None = None
    """Slurm partition; None: the cluster's default."""
    gpus_per_task: int = 1
    cpus_per_task: int | None = None
    """Slurm CPUs per task; None: the cluster's default."""
    time_limit_min: int = 120
    array_parallelism: int = 32
    jobs_per_task: int = 1
    max_requeues: int = 3

    def check(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"unknown launcher {self.launcher!r}; valid values are: {', '.join(LAUNCHERS)}")
        for name in ("time_limit_min", "array_parallelism", "jobs_per_task"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.gpus_per_task < 0 or self.max_requeues < 0:
            raise ValueError("gpus_per_task and max_requeues cannot be negative")


class RunTask(submitit.helpers.Checkpointable):
    """One array task: ``engine.execute`` on its jobs, dataset by dataset; returns the failures it
    reported. Requeued after a time limit or pre-emption with the same jobs (submitit's default
    ``checkpoint``), when ``execute`` reuses what the task finished before."""

    def __call__(
        self, jobs: Sequence[Job], root: str, device: str, cache_dir: str | None, log: Callable[[str], None] = print
    ) -> list[str]:
        failures: list[str] = []
        for dataset in dict.fromkeys(run.dataset for job in jobs for run in job.runs):
            of_dataset = [job for job in jobs if job.runs[0].dataset == dataset]
            context = RunContext(load_dataset(dataset, root), device, cache_dir)
            failures += execute(of_dataset, context, log).failures
        return failures


def task_groups(jobs: Sequence[Job], jobs_per_task: int) -> list[list[Job]]:
    """The array's tasks: the jobs with a pending run, ``jobs_per_task`` at a time, in plan order."""
    pending = [job for job in jobs if pending_runs(job)]
    return [pending[start : start + jobs_per_task] for start in range(0, len(pending), jobs_per_task)]


def make_executor(settings: LaunchSettings, folder: Path) -> submitit.AutoExecutor:
    """submitit's executor for ``settings.launcher`` ("local" or "slurm"), its tasks importing this synthlib."""
    if settings.launcher == "inprocess":
        raise ValueError("the in-process launcher has no executor; use synthlib.runner.run_study")
    setup = [f"export PYTHONPATH={shlex.quote(str(REPO_ROOT))}${{PYTHONPATH:+:$PYTHONPATH}}"]
    requeues = settings.max_requeues
    executor = submitit.AutoExecutor(
        folder, cluster=settings.launcher, slurm_max_num_timeout=requeues, local_max_num_timeout=requeues
    )
    executor.update_parameters(
        name="synthlib",
        timeout_min=settings.time_limit_min,
        gpus_per_node=settings.gpus_per_task,
        cpus_per_task=settings.cpus_per_task,
        slurm_partition=settings.partition,
        slurm_array_parallelism=settings.array_parallelism,
        slurm_setup=setup,
        local_setup=setup,
    )
    return executor


def _failure_reason(job: submitit.Job[Any]) -> str | None:
    """Why a finished array task failed (its error or its state), None if it returned."""
    error = job.exception()
    if error is None:
        return None
    kind = "raised" if isinstance(error, FailedJobError) else "ended without a result"
    return f"task {job.job_id} {kind} (state {job.state}); logs: {job.paths.stdout}, {job.paths.stderr}"


def launch(
    jobs: Sequence[Job],
    settings: LaunchSettings,
    folder: str | Path,
    root: str | Path | None = None,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Send the pending runs of ``jobs`` to submitit as one job array, wait, report failed tasks, and
    return the outcome read back from the record files (see the module docstring). ``jobs`` should
    name absolute record paths: a task may start in another working folder. ``root``: the data root
    (``synthlib.data.data_root``)."""
    settings.check()
    finished_before = {run.path for job in jobs for run in job.runs if reusable_record(run) is not None}
    tasks = task_groups(jobs, settings.jobs_per_task)
    reasons: dict[int, str] = {}  # id(job) -> why its runs are missing
    if tasks:
        executor = make_executor(settings, Path(folder))
        cache = None if cache_dir is None else str(Path(cache_dir).resolve())
        wave = settings.array_parallelism if settings.launcher == "local" else len(tasks)
        for start in range(0, len(tasks), wave):
            group = tasks[start : start + wave]
            submitted = executor.map_array(
                RunTask(), group, [str(data_root(root))] * len(group), [device] * len(group), [cache] * len(group)
            )
            log(f"{settings.launcher}: {len(group)} task(s) submitted (job {submitted[0].job_id}); logs in {folder}")
            for task, job in zip(group, submitted):
                crash = _failure_reason(job)
                if crash is not None:
                    log(f"FAILED: {crash}; its jobs: {', '.join(engine_job.label for engine_job in task)}")
                    reasons.update((id(engine_job), crash) for engine_job in task)
                    continue
                for line in job.result():  # jobs that failed inside the run loop of a finished task
                    log(f"FAILED in task {job.job_id}: {line}")
                reason = f"failed in task {job.job_id}; log: {job.paths.stdout}"
                reasons.update((id(engine_job), reason) for engine_job in task)
                log(f"task {job.job_id} finished ({len(task)} job(s))")
    return read_outcome(jobs, finished_before, reasons)


def read_outcome(jobs: Sequence[Job], finished_before: set[Path], reasons: dict[int, str]) -> Outcome:
    """Every planned run from its record file: reused (finished before the launch), ran (written by a
    task), or counted in a failure line per job, with the reason its task gave (``reasons``, by job id)."""
    outcome = Outcome()
    for job in jobs:
        missing = []
        for run in job.runs:
            record = reusable_record(run)
            if record is None:
                missing.append(run.label)
                continue
            outcome.records.append(record)
            if run.path in finished_before:
                outcome.reused += 1
            else:
                outcome.ran += 1
        if missing:
            reason = reasons.get(id(job), "not run")
            outcome.failures.append(f"{job.label} ({len(missing)} run(s)): {reason}; rerun to recover them")
    return outcome


__all__ = [
    "LAUNCHERS",
    "LaunchSettings",
    "RunTask",
    "launch",
    "make_executor",
    "read_outcome",
    "task_groups",
]
