"""Beyond one machine: the jobs a study plans, sent as one job array through submitit
(https://github.com/facebookincubator/submitit) to a Slurm cluster, or to processes on this machine.

Launchers (``LAUNCHERS``):

- ``inprocess`` (the default): ``engine.execute`` in this process, the study's ordinary path
  (``synthlib.runner.run_study`` chooses between them);
- ``local``: submitit's ``LocalExecutor``, one process per array task on this machine, at most
  ``array_parallelism`` at a time;
- ``slurm``: a Slurm job array (``sbatch --array=0-<n-1>%<array_parallelism>``) through submitit's
  ``AutoExecutor(cluster="slurm")``, with a partition, GPUs and CPUs per task and a time limit. The
  log names the array (``job array 16``); its tasks are ``16_0``, ``16_1``, ...

Only the jobs with a *pending* run (``engine.pending_runs``: no finished record of the run's key)
are sent, ``jobs_per_task`` engine ``Job``s per array task, or the jobs of one ``key`` together (the
learning curves: one task per dataset, column and seed, ``synthlib.beyond``). A task (``RunTask``) loads its dataset
itself (``load_dataset(name, data_root)``), builds a ``RunContext`` and calls ``engine.execute``,
so its records are written by the same code as in process: one file per run, atomically, with the
code's provenance, as soon as the run is done. The tasks import the launcher's own synthlib (its
source folder leads ``PYTHONPATH`` in the task's environment), so records name the same code.

A task is a ``submitit.helpers.Checkpointable``: when Slurm pre-empts it or its time limit comes,
submitit requeues it (up to ``max_requeues`` times) and the requeued task reuses every record it
already wrote. The launcher waits for every task (``wait_for``), reports each failed one (raised,
killed, cancelled, timed out or pre-empted beyond its requeues) with its jobs' labels, its state and
its log files, and returns an ``Outcome`` read back from the record files: every planned run is a
reused record, a new one, or part of a failure. Nothing is lost silently, and a rerun sends only the
runs still missing.

Waiting never hangs: every ``poll_s`` seconds the launcher reads the array's states itself (``squeue``,
which lists a finished task for a few minutes, and ``sacct`` where Slurm keeps accounting), so a task
cancelled or killed is seen even without accounting; a task that neither lists is reported as
disappeared; a task still unfinished ``wait_timeout_min`` minutes after it started is cancelled and
reported. A submission that Slurm rejects raises ``LaunchError``, one line naming the setting to
change, and leaves no job file behind.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import shlex
import subprocess
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import submitit
from submitit.core.utils import FailedJobError
from submitit.slurm.slurm import read_job_id

from synthlib.data import data_root, load_dataset
from synthlib.engine import Job, Outcome, RunContext, execute, pending_runs, reusable_record
from synthlib.provenance import REPO_ROOT

LAUNCHERS = ("inprocess", "local", "slurm")


@dataclass(frozen=True)
class LaunchSettings:
    """How the runs are executed: the launcher and, beyond one process, the job array's resources.

    Defaults: no GPU per task unless the device is ``cuda`` (then one: a run uses one device), two
    hours per task (the longest job, the 24 settings of one ``authors_code`` column and seed, takes
    about 10 minutes on the reference machine's CPU at 25 s per run, ``synthlib.protocols``), at most
    32 tasks at a time, one engine job per task, three requeues after a time limit or pre-emption
    (submitit's own ``max_num_timeout`` default), the array's states read every 10 s, and a task given
    up on ``wait_timeout_min`` after it started (default: its time limit times its tries, plus 10)."""

    launcher: str = "inprocess"
    folder: str | Path | None = None
    """submitit's job files and logs; None: ``<results_root>/submitit``."""
    partition: str | None = None
    """Slurm partition; None: the cluster's default."""
    gpus_per_task: int | None = None
    """GPUs per task; None: 1 when the device is ``cuda``, else 0 (``gpus``)."""
    cpus_per_task: int | None = None
    """Slurm CPUs per task; None: the cluster's default."""
    time_limit_min: int = 120
    array_parallelism: int = 32
    jobs_per_task: int = 1
    max_requeues: int = 3
    wait_timeout_min: float | None = None
    """How long the launcher waits for a task once it has started (a pending one: that times the waves
    of ``array_parallelism`` tasks ahead of it), then cancels and reports it; None: ``wait_limit_min``."""
    poll_s: float = 10.0
    """Seconds between two readings of the array's states."""

    def check(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"unknown launcher {self.launcher!r}; valid values are: {', '.join(LAUNCHERS)}")
        for name in ("time_limit_min", "array_parallelism", "jobs_per_task"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if (self.gpus_per_task or 0) < 0 or self.max_requeues < 0:
            raise ValueError("gpus_per_task and max_requeues cannot be negative")
        if self.poll_s <= 0 or (self.wait_timeout_min is not None and self.wait_timeout_min <= 0):
            raise ValueError("poll_s and wait_timeout_min must be positive")

    def gpus(self, device: str = "auto") -> int:
        """GPUs per task: ``gpus_per_task``, or by default 1 for a ``cuda`` device and 0 otherwise (a cluster
        without GPUs rejects a request for one)."""
        if self.gpus_per_task is not None:
            return self.gpus_per_task
        return 1 if str(device).startswith("cuda") else 0

    @property
    def wait_limit_min(self) -> float:
        """``wait_timeout_min``, or the task's time limit times its tries (first run and requeues), plus 10."""
        if self.wait_timeout_min is not None:
            return self.wait_timeout_min
        return self.time_limit_min * (self.max_requeues + 1) + 10


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


def task_groups(
    jobs: Sequence[Job], jobs_per_task: int, key: Callable[[Job], Hashable] | None = None
) -> list[list[Job]]:
    """The array's tasks: the jobs with a pending run, in plan order, ``jobs_per_task`` at a time; with
    ``key``, the jobs of one key together in one task (e.g. the sizes of one learning curve)."""
    pending = [job for job in jobs if pending_runs(job)]
    if key is not None:
        groups: dict[Hashable, list[Job]] = {}
        for job in pending:
            groups.setdefault(key(job), []).append(job)
        return list(groups.values())
    return [pending[start : start + jobs_per_task] for start in range(0, len(pending), jobs_per_task)]


class LaunchError(RuntimeError):
    """A job array that could not be submitted; the message is one line naming the setting to change."""


SETTING_NAMES = {
    "gpus_per_task": "SLURM_GPUS (gpus_per_task, --gpus-per-task)",
    "partition": "SLURM_PARTITION (partition, --partition)",
    "time_limit_min": "SLURM_TIME_MIN (time_limit_min, --time-limit-min)",
    "cpus_per_task": "SLURM_CPUS (cpus_per_task, --cpus-per-task)",
}
"""A setting under its names in run_all.sh, ``LaunchSettings`` and the learning curves' command line."""

REJECTIONS: tuple[tuple[str, str, str], ...] = (
    ("generic resource", "gpus_per_task", "0 on a cluster or partition without GPUs"),
    ("gres", "gpus_per_task", "0 on a cluster or partition without GPUs"),
    ("partition", "partition", "a partition that `sinfo` lists"),
    ("time limit", "time_limit_min", "at most the partition's limit (`sinfo -o '%P %l'`)"),
    ("processors", "cpus_per_task", "at most a node's CPUs (`sinfo -o '%P %c'`)"),
    ("cpu count", "cpus_per_task", "at most a node's CPUs (`sinfo -o '%P %c'`)"),
    ("node configuration is not available", "cpus_per_task", "fewer CPUs or GPUs than a node has"),
)
"""Words of sbatch's error, the setting that causes it, and what to set it to."""


def rejection_message(error: str, settings: LaunchSettings) -> str:
    """One line: Slurm's reason for rejecting the array, and the setting to change."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if "error" in line.lower()), lines[-1] if lines else "no reason")
    reason = reason.split("error:")[-1].strip()
    for words, setting, advice in REJECTIONS:
        if words in reason.lower():
            value = getattr(settings, setting)
            return f"Slurm rejected the job array: {reason}. Change {SETTING_NAMES[setting]}, now {value}: {advice}"
    return (
        f"Slurm rejected the job array: {reason}. Check the job array's settings ({', '.join(SETTING_NAMES.values())})"
    )


def make_executor(settings: LaunchSettings, folder: Path, device: str = "auto") -> submitit.AutoExecutor:
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
        gpus_per_node=settings.gpus(device),
        cpus_per_task=settings.cpus_per_task,
        slurm_partition=settings.partition,
        slurm_array_parallelism=settings.array_parallelism,
        slurm_setup=setup,
        local_setup=setup,
    )
    return executor


def submit(
    executor: submitit.AutoExecutor, settings: LaunchSettings, folder: Path, args: Sequence[list[Any]]
) -> list[submitit.Job[Any]]:
    """``executor.map_array(RunTask(), *args)``; a rejected submission raises ``LaunchError`` (one line) after
    removing the job files it wrote (submitit's copy of sbatch's message on stderr is kept out)."""
    existed = folder.exists()
    before = set(folder.rglob("*")) if existed else set()
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            return executor.map_array(RunTask(), *args)
    except (FailedJobError, subprocess.CalledProcessError, OSError) as error:
        for path in sorted(set(folder.rglob("*")) - before, key=lambda p: len(p.parts), reverse=True):
            if not path.is_dir() or path.is_symlink():
                path.unlink(missing_ok=True)
            elif not any(path.iterdir()):
                path.rmdir()
        if not existed and folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
        if settings.launcher != "slurm":
            raise
        raise LaunchError(rejection_message(str(error) or captured.getvalue(), settings)) from None


ACTIVE_STATES = frozenset(
    {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SUSPENDED", "COMPLETING"}
    | {"CONFIGURING", "SIGNALING", "STAGE_OUT", "STOPPED", "PREEMPTED", "READY"}
)
"""Slurm states (and the local executor's RUNNING) of a task that may still produce its result."""
GONE = "UNLISTED"
"""The state of a task that neither ``squeue`` nor ``sacct`` lists."""


def _command(command: list[str], timeout: float = 60) -> str | None:
    """A Slurm client command's stdout, None if it fails or times out (the state is then unknown)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def slurm_states(array_id: str) -> dict[str, str] | None:
    """Each task of the array ``array_id`` by id (``16_3``) with its state: ``sacct`` where Slurm keeps
    accounting, overridden by ``squeue`` (the controller's current view, which lists a finished task for
    ``MinJobAge``, 300 s by default). None if neither answered."""
    states: dict[str, str] = {}
    accounted = _command(["sacct", "-n", "-P", "-X", "-j", array_id, "-o", "JobID,State"])
    for line in (accounted or "").splitlines():
        job_id, _, state = line.partition("|")
        try:
            ranges = read_job_id(job_id.strip())  # 16_3, or 16_[4-7%2] for tasks not started yet
        except ValueError:
            continue
        for main, *bounds in ranges:
            if not bounds:  # a one-task "array" is a plain job (submitit's map_array of one)
                states[main] = state.strip()
            for index in range(int(bounds[0]), int(bounds[-1]) + 1) if bounds else ():
                states[f"{main}_{index}"] = state.strip()
    queued = _command(["squeue", "-h", "-r", "-j", array_id, "-o", "%i|%T"])
    if queued is None and accounted is None:
        return None
    for line in (queued or "").splitlines():
        job_id, _, state = line.partition("|")
        states[job_id.strip()] = state.strip()
    return states


def _cancel(job: submitit.Job[Any], launcher: str) -> None:
    if launcher == "slurm":
        _command(["scancel", job.job_id])
    else:
        job.cancel(check=False)


def wait_for(
    submitted: Sequence[submitit.Job[Any]],
    settings: LaunchSettings,
    on_done: Callable[[submitit.Job[Any], str | None, str], None] | None = None,
) -> dict[str, str | None]:
    """Wait for every task, polling its state every ``settings.poll_s`` seconds, and return, by task id,
    None for a task that wrote its result, or why it has none: it ended without one (its state, e.g.
    ``CANCELLED by 0``), it disappeared (listed by neither squeue nor sacct), or it was still unfinished
    ``settings.wait_limit_min`` minutes after it started (it is then cancelled). A task's result file may
    appear late on a shared file system: an ended task without one gets submitit's grace
    (``Job._results_timeout_s``, 15 s) first. ``on_done(job, reason, state)`` is called as each task ends."""
    limit_s = settings.wait_limit_min * 60
    submitted_at = time.monotonic()
    waves = math.ceil(len(submitted) / settings.array_parallelism)
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    reasons: dict[str, str | None] = {}
    array_id = submitted[0].job_id.split("_")[0] if submitted else ""
    while len(reasons) < len(submitted):
        now = time.monotonic()
        states = slurm_states(array_id) if settings.launcher == "slurm" else {j.job_id: j.state for j in submitted}
        for job in submitted:
            if job.job_id in reasons:
                continue
            reason: str | None = None
            state = "UNKNOWN" if states is None else states.get(job.job_id, GONE)
            if job.paths.result_pickle.exists():
                reasons[job.job_id] = None
                if on_done is not None:
                    on_done(job, None, state)
                continue
            word = state.split()[0].upper() if state else GONE
            if word not in ACTIVE_STATES and word != "UNKNOWN":
                ended.setdefault(job.job_id, now)
                if now - ended[job.job_id] >= job._results_timeout_s:
                    if word == GONE:
                        reason = f"task {job.job_id} disappeared: neither squeue nor sacct lists it"
                    else:
                        reason = f"task {job.job_id} ended without a result (state {state})"
            else:
                ended.pop(job.job_id, None)
                if word != "PENDING":
                    started.setdefault(job.job_id, now)
                if job.job_id in started:
                    late = now - started[job.job_id] > limit_s
                else:
                    late = now - submitted_at > limit_s * waves
                if late:
                    _cancel(job, settings.launcher)
                    reason = (
                        f"task {job.job_id} did not finish within wait_timeout_min={settings.wait_limit_min:g} "
                        f"(state {state}); cancelled"
                    )
            if reason is not None:
                reasons[job.job_id] = reason
                if on_done is not None:
                    on_done(job, reason, state)
        if len(reasons) < len(submitted):
            time.sleep(settings.poll_s)
    return reasons


def launch(
    jobs: Sequence[Job],
    settings: LaunchSettings,
    folder: str | Path,
    root: str | Path | None = None,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    log: Callable[[str], None] = print,
    key: Callable[[Job], Hashable] | None = None,
) -> Outcome:
    """Send the pending runs of ``jobs`` to submitit as one job array, wait, report failed tasks, and
    return the outcome read back from the record files (see the module docstring). ``jobs`` should
    name absolute record paths: a task may start in another working folder. ``root``: the data root
    (``synthlib.data.data_root``). ``key``: jobs of one key share a task (``task_groups``)."""
    settings.check()
    finished_before = {run.path for job in jobs for run in job.runs if reusable_record(run) is not None}
    tasks = task_groups(jobs, settings.jobs_per_task, key)
    reasons: dict[int, str] = {}  # id(job) -> why its runs are missing
    task_of: dict[str, list[Job]] = {}  # array task id -> its engine jobs

    def report(job: submitit.Job[Any], crash: str | None, state: str) -> None:
        task = task_of[job.job_id]
        if crash is None and job.exception() is not None:
            crash = f"task {job.job_id} raised (state {state})"
        if crash is not None:
            crash += f"; logs: {job.paths.stdout}, {job.paths.stderr}"
            log(f"FAILED: {crash}; its jobs: {', '.join(job_name(engine_job) for engine_job in task)}")
            reasons.update((id(engine_job), crash) for engine_job in task)
            return
        for line in job.result():  # jobs that failed inside the run loop of a finished task
            log(f"FAILED in task {job.job_id}: {line}")
        reason = f"failed in task {job.job_id}; log: {job.paths.stdout}"
        reasons.update((id(engine_job), reason) for engine_job in task)
        log(f"task {job.job_id} finished ({len(task)} job(s))")

    if tasks:
        folder = Path(folder)
        executor = make_executor(settings, folder, device)
        cache = None if cache_dir is None else str(Path(cache_dir).resolve())
        wave = settings.array_parallelism if settings.launcher == "local" else len(tasks)
        for start in range(0, len(tasks), wave):
            group = tasks[start : start + wave]
            n = len(group)
            args: list[list[Any]] = [group, [str(data_root(root))] * n, [device] * n, [cache] * n]
            submitted = submit(executor, settings, folder, args)
            task_of.update((job.job_id, task) for job, task in zip(submitted, group))
            if settings.launcher == "slurm" and n > 1:
                array = submitted[0].job_id.split("_")[0]
                where = f"job array {array} (tasks {array}_0-{n - 1}, at most {settings.array_parallelism} at once)"
            elif settings.launcher == "slurm":  # submitit sends a single task as a plain job
                where = f"job {submitted[0].job_id}"
            else:
                where = f"processes {', '.join(job.job_id for job in submitted)}"
            log(f"{settings.launcher}: {n} task(s) submitted as {where}; logs in {folder}")
            wait_for(submitted, settings, report)
    return read_outcome(jobs, finished_before, reasons)


def job_name(job: Job) -> str:
    """A job in the launcher's reports: its label, with its run's setting when it has one run (a learning
    curve's size, ``n0002``)."""
    return job.runs[0].label if len(job.runs) == 1 else job.label


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
            outcome.failures.append(f"{job_name(job)} ({len(missing)} run(s)): {reason}; rerun to recover them")
    return outcome


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    """The launcher's options on a command line (``python -m synthlib curves run``), named as in
    ``LaunchSettings``; ``launch_settings`` reads them back."""
    parser.add_argument("--launcher", default="inprocess", choices=LAUNCHERS, help="where the runs execute")
    parser.add_argument("--partition", default=None, help="Slurm partition (default: the cluster's)")
    parser.add_argument("--gpus-per-task", type=int, default=None, help="default: 1 with --device cuda, else 0")
    parser.add_argument("--cpus-per-task", type=int, default=None, help="Slurm CPUs per task (default: the cluster's)")
    parser.add_argument("--time-limit-min", type=int, default=LaunchSettings.time_limit_min)
    parser.add_argument("--array-parallelism", type=int, default=LaunchSettings.array_parallelism)
    parser.add_argument("--wait-timeout-min", type=float, default=None, help="default: the time limit x tries + 10")
    parser.add_argument("--poll-s", type=float, default=LaunchSettings.poll_s, help="seconds between state readings")


def launch_settings(args: argparse.Namespace) -> LaunchSettings:
    """``LaunchSettings`` from the options of ``add_launch_arguments``."""
    settings = LaunchSettings(
        args.launcher,
        partition=args.partition,
        gpus_per_task=args.gpus_per_task,
        cpus_per_task=args.cpus_per_task,
        time_limit_min=args.time_limit_min,
        array_parallelism=args.array_parallelism,
        wait_timeout_min=args.wait_timeout_min,
        poll_s=args.poll_s,
    )
    settings.check()
    return settings


__all__ = [
    "LAUNCHERS",
    "LaunchError",
    "LaunchSettings",
    "RunTask",
    "add_launch_arguments",
    "launch",
    "launch_settings",
    "make_executor",
    "job_name",
    "read_outcome",
    "slurm_states",
    "task_groups",
    "wait_for",
]
