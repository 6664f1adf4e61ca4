"""Runs sent through submitit (``synthlib.launch``), checked with its local executor on synthetic data:
the records equal those of the in-process path, and an array task killed mid-run is reported and
recovered by a rerun that recomputes nothing it finished. Every test name contains ``submitit``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import cloudpickle
import pytest
import submitit

from synthlib.columns import BASELINES, PAPER_METHODS
from synthlib.data import load_dataset
from synthlib.engine import Job, PlannedRun, RunContext, RunResult
from synthlib.launch import (
    LaunchSettings,
    job_name,
    launch,
    make_executor,
    rejection_message,
    slurm_states,
    task_groups,
    wait_for,
)
from synthlib.protocols import get_protocol
from synthlib.runner import run_study
from tests.test_protocols import SMALL_GRID as GRID  # one setting, 1-2 epochs, one tuning seed

PROTOCOL = replace(
    get_protocol("paper").with_overrides(seeds=(0, 1), per_class=6, val_per_class=4),
    tuning_grid=GRID,
    methods=tuple(m for m in PAPER_METHODS if m.name in ("normal", "fully_trained")),
    baselines=BASELINES[:1],
)
"""The paper's protocol at test size: 2 seeds x (a frozen column, full training, a baseline) = 6 jobs
of one run each."""
N_RUNS = 6
LOCAL = LaunchSettings("local", gpus_per_task=0, time_limit_min=10, jobs_per_task=3, array_parallelism=1)
"""Two array tasks of three jobs each, one process at a time (the runs use every core)."""


def quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def gray():
    return load_dataset("synthetic_gray")


@pytest.fixture(scope="module")
def tuned_root(gray, tmp_path_factory) -> Path:
    """A results folder holding the small protocol's tuning result (shared by the tests)."""
    root = tmp_path_factory.mktemp("tuned")
    PROTOCOL.tune(gray, root, device="cpu", log=quiet)
    return root


def fresh_root(tuned_root: Path, path: Path) -> Path:
    shutil.copytree(PROTOCOL.folder(tuned_root) / "tuning", PROTOCOL.folder(path) / "tuning")
    return path


def record_texts(root: Path) -> dict[str, dict]:
    """Each record under ``root`` by its path in the runs folder, without its timing."""
    runs = PROTOCOL.runs_dir(root)
    records = {str(p.relative_to(runs)): json.loads(p.read_text()) for p in sorted(runs.glob("*/*.json"))}
    return {name: {k: v for k, v in record.items() if k != "timing"} for name, record in records.items()}


class DiesAfterItsRuns(Job):
    """A job that runs ``inner``'s runs and then kills its own process, as the kernel's OOM killer or a
    node failure would: the records it finished are on disk, the jobs after it in its task never run."""

    def __init__(self, inner: Job) -> None:
        self.inner = inner
        self.runs = inner.runs

    def run(self, pending: Sequence[PlannedRun], context: RunContext) -> Iterator[tuple[PlannedRun, RunResult]]:
        yield from self.inner.run(pending, context)
        os.kill(os.getpid(), signal.SIGKILL)


class RaisesBeforeItsRuns(Job):
    """A job whose first run raises: the run loop in the task catches it, reports it, and goes on."""

    def __init__(self, inner: Job) -> None:
        self.inner = inner
        self.runs = inner.runs

    def run(self, pending: Sequence[PlannedRun], context: RunContext) -> Iterator[tuple[PlannedRun, RunResult]]:
        raise RuntimeError("out of memory")
        yield from ()


def test_submitit_launcher_settings_are_checked():
    with pytest.raises(ValueError, match="unknown launcher 'slurmm'; valid values are: inprocess, local, slurm"):
        LaunchSettings("slurmm").check()
    with pytest.raises(ValueError, match="jobs_per_task must be at least 1"):
        LaunchSettings("local", jobs_per_task=0).check()


def test_submitit_slurm_parameters_reach_the_job_array(tmp_path, monkeypatch):
    """The settings become sbatch parameters under submitit's own names (a stand-in ``srun`` lets
    submitit build a Slurm executor here; nothing is submitted)."""
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 1\n")
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")
    settings = LaunchSettings("slurm", partition="gpu", gpus_per_task=1, cpus_per_task=4, array_parallelism=8)
    executor = make_executor(settings, tmp_path / "submitit")
    assert executor.cluster == "slurm"
    parameters = executor.parameters
    assert parameters["partition"] == "gpu" and parameters["gpus_per_node"] == 1 and parameters["cpus_per_task"] == 4
    assert parameters["time"] == 120 and parameters["array_parallelism"] == 8
    assert any("PYTHONPATH=" in line for line in parameters["setup"])


def test_submitit_local_executor_writes_the_in_process_records(gray, tuned_root, tmp_path):
    inprocess_root = fresh_root(tuned_root, tmp_path / "inprocess")
    local_root = fresh_root(tuned_root, tmp_path / "local")
    inprocess = run_study(PROTOCOL, gray, inprocess_root, device="cpu", log=quiet)
    local = run_study(PROTOCOL, gray, local_root, LOCAL, device="cpu", log=quiet)
    assert not inprocess.failures and not local.failures, local.failures
    assert (local.ran, local.reused, len(local.records)) == (N_RUNS, 0, N_RUNS)
    assert record_texts(local_root) == record_texts(inprocess_root)
    assert len(record_texts(local_root)) == N_RUNS
    assert any((local_root / "submitit").glob("*_log.out")), "the tasks' logs go to <results_dir>/submitit"
    again = run_study(PROTOCOL, gray, local_root, LOCAL, device="cpu", log=quiet)
    assert (again.ran, again.reused, again.failures) == (0, N_RUNS, [])


@pytest.fixture
def tests_pickled_by_value() -> Iterator[None]:
    """Send this module's classes to the tasks by value: the tasks' processes cannot import the tests."""
    this_module = sys.modules[DiesAfterItsRuns.__module__]
    cloudpickle.register_pickle_by_value(this_module)
    yield
    cloudpickle.unregister_pickle_by_value(this_module)


@pytest.mark.usefixtures("tests_pickled_by_value")
def test_submitit_killed_or_failing_tasks_are_reported_and_a_rerun_recovers_them(
    gray, tuned_root, tmp_path, monkeypatch
):
    # submitit waits up to 15 s for a result file a cluster's shared file system may show late; here it is local
    monkeypatch.setattr(submitit.core.core.Job, "_results_timeout_s", 1)
    root = fresh_root(tuned_root, tmp_path / "results")
    jobs = PROTOCOL.plan(gray.name, root.resolve())
    assert len(jobs) == N_RUNS and [len(task) for task in task_groups(jobs, LOCAL.jobs_per_task)] == [3, 3]
    # the first task dies after its second job; in the second, the run loop catches a raising job
    failing = [jobs[0], DiesAfterItsRuns(jobs[1]), jobs[2], jobs[3], RaisesBeforeItsRuns(jobs[4]), jobs[5]]
    lines: list[str] = []
    first = launch(failing, LOCAL, root / "submitit", device="cpu", log=lines.append)
    assert (first.ran, first.reused) == (4, 0)
    assert [line.split(" (")[0] for line in first.failures] == [job_name(jobs[2]), job_name(jobs[4])]
    assert "ended without a result" in first.failures[0] and "failed in task" in first.failures[1]
    assert all("rerun" in line for line in first.failures)
    assert any(line.startswith("FAILED: task") and jobs[1].label in line for line in lines)
    assert any(line.startswith("FAILED in task") and "RuntimeError: out of memory" in line for line in lines)
    finished = {path: path.read_bytes() for path in PROTOCOL.runs_dir(root).glob("*/*.json")}
    assert len(finished) == 4

    rerun = launch(jobs, LOCAL, root / "submitit", device="cpu", log=quiet)
    assert (rerun.ran, rerun.reused, rerun.failures) == (2, 4, [])
    assert all(path.read_bytes() == text for path, text in finished.items()), "a finished record was recomputed"
    assert len(list(PROTOCOL.runs_dir(root).glob("*/*.json"))) == N_RUNS


def fake_commands(tmp_path: Path, monkeypatch, **scripts: str) -> None:
    """Stand-ins for Slurm's commands on PATH: ``name`` runs the shell text ``scripts[name]``."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name, text in scripts.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{text}\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_submitit_tasks_ask_for_a_gpu_only_on_cuda(tmp_path, monkeypatch):
    fake_commands(tmp_path, monkeypatch, srun="exit 1")
    settings = LaunchSettings("slurm")
    assert (settings.gpus("cpu"), settings.gpus("auto"), settings.gpus("cuda"), settings.gpus("cuda:1")) == (0, 0, 1, 1)
    assert make_executor(settings, tmp_path / "submitit", "cpu").parameters["gpus_per_node"] == 0
    assert make_executor(settings, tmp_path / "submitit", "cuda").parameters["gpus_per_node"] == 1
    assert (
        make_executor(replace(settings, gpus_per_task=2), tmp_path / "submitit", "cpu").parameters["gpus_per_node"] == 2
    )


def test_submitit_a_rejection_names_the_setting_to_change_in_one_line():
    gres = "sbatch: error: Batch job submission failed: Invalid generic resource (gres) specification\n"
    message = rejection_message(gres, LaunchSettings("slurm", gpus_per_task=1))
    assert message == (
        "Slurm rejected the job array: Batch job submission failed: Invalid generic resource (gres) specification. "
        "Change SLURM_GPUS (gpus_per_task, --gpus-per-task), now 1: 0 on a cluster or partition without GPUs"
    )
    other = rejection_message("sbatch: error: Batch job submission failed: Invalid account", LaunchSettings("slurm"))
    assert "\n" not in other and "Invalid account" in other and "SLURM_PARTITION" in other
    assert "SLURM_TIME_MIN" in rejection_message("error: Requested time limit is invalid", LaunchSettings("slurm"))


def test_submitit_slurm_states_merge_accounting_and_the_queue(tmp_path, monkeypatch):
    sacct = "echo '16_0|COMPLETED'; echo '16_1|RUNNING'; echo '16_[2-3%1]|PENDING'"
    fake_commands(tmp_path, monkeypatch, sacct=sacct, squeue="echo '16_1|CANCELLED'")
    assert slurm_states("16") == {"16_0": "COMPLETED", "16_1": "CANCELLED", "16_2": "PENDING", "16_3": "PENDING"}
    fake_commands(tmp_path, monkeypatch, sacct="echo 'no accounting' >&2; exit 1", squeue="echo '16_0|RUNNING'")
    assert slurm_states("16") == {"16_0": "RUNNING"}
    fake_commands(tmp_path, monkeypatch, sacct="echo '17|CANCELLED by 0'", squeue="exit 1")
    assert slurm_states("17") == {"17": "CANCELLED by 0"}  # a one-task array is submitted as a plain job
    fake_commands(tmp_path, monkeypatch, sacct="exit 1", squeue="exit 1")
    assert slurm_states("16") is None


def test_submitit_array_is_named_and_a_vanished_task_reported_without_waiting_forever(
    gray, tuned_root, tmp_path, monkeypatch
):
    """sbatch accepts the array (job 16); then neither squeue nor sacct lists its tasks and no result comes:
    the launcher names the array, reports both tasks as disappeared, and returns."""
    fake_commands(
        tmp_path, monkeypatch, srun="exit 1", sbatch="echo 'Submitted batch job 16'", sacct="exit 0", squeue="exit 0"
    )
    monkeypatch.setattr(submitit.core.core.Job, "_results_timeout_s", 0)
    root = fresh_root(tuned_root, tmp_path / "results")
    jobs = PROTOCOL.plan(gray.name, root.resolve(), seeds=(0,))
    settings = LaunchSettings("slurm", jobs_per_task=2, poll_s=0.05, wait_timeout_min=1)
    lines: list[str] = []
    outcome = launch(jobs, settings, root / "submitit", device="cpu", log=lines.append)
    assert lines[0].startswith("slurm: 2 task(s) submitted as job array 16 (tasks 16_0-1, at most 32 at once)")
    assert [line.split(" (")[0] for line in outcome.failures] == [job_name(job) for job in jobs]
    assert "task 16_0 disappeared: neither squeue nor sacct lists it" in outcome.failures[0]
    assert "task 16_1 disappeared" in outcome.failures[2]


class Stuck:
    """A submitit job that runs forever and never writes its result."""

    def __init__(self, tmp_path: Path) -> None:
        self.job_id = "77"
        self.paths = type("Paths", (), {"result_pickle": tmp_path / "never.pkl"})()
        self.state = "RUNNING"
        self.cancelled = False
        self._results_timeout_s = 0

    def cancel(self, check: bool = True) -> None:
        self.cancelled = True


def test_submitit_a_task_running_past_its_wait_timeout_is_cancelled_and_reported(tmp_path):
    stuck = Stuck(tmp_path)
    settings = LaunchSettings("local", wait_timeout_min=0.01, poll_s=0.05)  # 0.6 s
    started = time.monotonic()
    reasons = wait_for([stuck], settings)  # type: ignore[list-item]
    assert time.monotonic() - started < 5
    assert reasons == {"77": "task 77 did not finish within wait_timeout_min=0.01 (state RUNNING); cancelled"}
    assert stuck.cancelled
    assert LaunchSettings("slurm", time_limit_min=30, max_requeues=3).wait_limit_min == 130
