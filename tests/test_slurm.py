"""The submitit launcher against a real one-node Slurm cluster started by the tests (``tests/slurm_cluster.py``,
the ``slurm_cluster`` fixture): the records of a job array equal the in-process ones apart from timing, the
array's parallelism limit holds, a task cancelled with ``scancel`` mid-run is reported with its jobs and
recovered by a rerun that leaves the finished records untouched, a submission Slurm rejects is one line
naming the setting, and the learning curves go through ``python -m synthlib curves run --launcher slurm``
(on MNIST when the real data is here). ``./run_tests.sh -m slurm`` runs these alone; they skip with the
reason where the cluster cannot start (not root, no packages), and fail instead under CI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import cloudpickle
import pytest
import submitit

from synthlib.data import load_dataset
from synthlib.engine import Job, Outcome, PlannedRun, RunContext, RunResult
from synthlib.launch import LaunchError, LaunchSettings, job_name, launch
from synthlib.learning_curves import LEARNING_CURVES
from synthlib.runner import run_study
from tests.conftest import REPO_ROOT
from tests.test_launch import PROTOCOL, fresh_root, quiet, record_texts
from tests.test_learning_curves import write_sound_tuning

pytestmark = pytest.mark.slurm

SLURM = LaunchSettings("slurm", time_limit_min=10, jobs_per_task=2, array_parallelism=1, wait_timeout_min=4, poll_s=1)
"""Three array tasks of two jobs, one at a time (the node has room for two), a GPU-less default; waiting
gives up on a task after 4 minutes, so no test can hang."""


@pytest.fixture(autouse=True)
def local_results(monkeypatch):
    """The results are on this machine's disk: no wait for a late result file (submitit waits 15 s)."""
    monkeypatch.setattr(submitit.core.core.Job, "_results_timeout_s", 1)


@pytest.fixture(scope="module")
def gray():
    return load_dataset("synthetic_gray")


@pytest.fixture(scope="module")
def tuned_root(gray, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tuned")
    PROTOCOL.tune(gray, root, device="cpu", log=quiet)
    return root


def sacct_times(array_id: str, tasks: int) -> list[tuple[datetime, datetime]]:
    """(start, end) of each task of the array, from Slurm's accounting, once it has them all (a task's
    result file is there before the task ends)."""
    deadline = time.monotonic() + 60
    while True:
        out = subprocess.run(
            ["sacct", "-n", "-P", "-X", "-j", array_id, "-o", "JobID,Start,End"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        rows = [line.split("|")[1:] for line in out.splitlines() if line.strip()]
        if (len(rows) == tasks and "Unknown" not in out) or time.monotonic() > deadline:
            return [(datetime.fromisoformat(start), datetime.fromisoformat(end)) for start, end in rows]
        time.sleep(1)


def array_ids(lines: Sequence[str]) -> list[str]:
    return [line.split("job array ")[1].split()[0] for line in lines if "job array " in line]


def digests(root: Path) -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in PROTOCOL.runs_dir(root).glob("*/*.json")}


def test_slurm_job_array_writes_the_in_process_records_one_task_at_a_time(slurm_cluster, gray, tuned_root, tmp_path):
    inprocess_root = fresh_root(tuned_root, tmp_path / "inprocess")
    slurm_root = fresh_root(tuned_root, tmp_path / "slurm")
    inprocess = run_study(PROTOCOL, gray, inprocess_root, device="cpu", log=quiet)
    lines: list[str] = []
    sent = run_study(PROTOCOL, gray, slurm_root, SLURM, device="cpu", log=lines.append)
    assert not inprocess.failures and not sent.failures, sent.failures
    assert (sent.ran, sent.reused) == (6, 0)
    assert record_texts(slurm_root) == record_texts(inprocess_root)
    (array,) = array_ids(lines)  # the log names the array, not its first task
    assert any(f"job array {array} (tasks {array}_0-2, at most 1 at once)" in line for line in lines), lines
    times = sorted(sacct_times(array, 3))
    assert len(times) == 3
    assert all(later[0] >= earlier[1] for earlier, later in zip(times, times[1:])), f"tasks overlapped: {times}"
    again = run_study(PROTOCOL, gray, slurm_root, SLURM, device="cpu", log=lines.append)
    assert (again.ran, again.reused, again.failures) == (0, 6, [])
    assert array_ids(lines) == [array], "a rerun with every record finished submits nothing"


class BlocksAfterItsRuns(Job):
    """A job that runs ``inner``'s runs (their records are written), then says which array task it is in
    (``marker``) and sleeps, until the test cancels its task with ``scancel``."""

    def __init__(self, inner: Job, marker: Path) -> None:
        self.inner = inner
        self.runs = inner.runs
        self.marker = marker

    def run(self, pending: Sequence[PlannedRun], context: RunContext) -> Iterator[tuple[PlannedRun, RunResult]]:
        yield from self.inner.run(pending, context)
        self.marker.write_text(f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}")
        time.sleep(600)


@pytest.fixture
def tests_pickled_by_value() -> Iterator[None]:
    """Send this module's classes to the tasks by value: the tasks cannot import the tests."""
    this_module = sys.modules[BlocksAfterItsRuns.__module__]
    cloudpickle.register_pickle_by_value(this_module)
    yield
    cloudpickle.unregister_pickle_by_value(this_module)


@pytest.mark.usefixtures("tests_pickled_by_value")
def test_slurm_task_cancelled_mid_run_is_reported_and_only_it_is_recomputed(slurm_cluster, gray, tuned_root, tmp_path):
    root = fresh_root(tuned_root, tmp_path / "results")
    jobs = PROTOCOL.plan(gray.name, root.resolve())
    marker = tmp_path / "blocked"
    # two tasks of three jobs, side by side: the first blocks after its second job until it is cancelled
    settings = replace(SLURM, jobs_per_task=3, array_parallelism=2)
    blocking = [jobs[0], BlocksAfterItsRuns(jobs[1], marker), *jobs[2:]]
    lines: list[str] = []
    outcomes: list[Outcome] = []
    sender = threading.Thread(
        target=lambda: outcomes.append(launch(blocking, settings, root / "submitit", device="cpu", log=lines.append)),
        daemon=True,  # a failed test does not keep pytest waiting for it
    )
    sender.start()
    deadline = time.monotonic() + 180
    while not marker.exists() and sender.is_alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert marker.exists(), f"the blocking task never got there: {lines}"
    task = marker.read_text()
    subprocess.run(["scancel", task], timeout=30, check=True)
    sender.join(timeout=240)
    assert not sender.is_alive(), f"the launcher did not see the cancelled task: {lines}"
    (first,) = outcomes
    assert (first.ran, first.reused) == (5, 0)
    assert [line.split(" (")[0] for line in first.failures] == [job_name(jobs[2])]
    assert f"task {task} ended without a result (state CANCELLED" in first.failures[0]
    assert "rerun" in first.failures[0]
    assert any(line.startswith(f"FAILED: task {task}") and job_name(jobs[2]) in line for line in lines), lines
    finished = digests(root)
    assert len(finished) == 5

    relaunched: list[str] = []
    rerun = launch(jobs, settings, root / "submitit", device="cpu", log=relaunched.append)
    assert (rerun.ran, rerun.reused, rerun.failures) == (1, 5, [])
    assert relaunched[0].startswith("slurm: 1 task(s) submitted as job "), "only the missing job is sent"
    after = digests(root)
    assert len(after) == 6
    assert all(after[path] == digest for path, digest in finished.items()), "a finished record was recomputed"


def test_slurm_rejected_submission_is_one_line_naming_the_setting_and_leaves_nothing(
    slurm_cluster, gray, tuned_root, tmp_path
):
    root = fresh_root(tuned_root, tmp_path / "results")
    with pytest.raises(LaunchError) as rejected:
        run_study(PROTOCOL, gray, root, replace(SLURM, gpus_per_task=1), device="cpu", log=quiet)
    message = str(rejected.value)
    assert "\n" not in message and "SLURM_GPUS" in message and "gres" in message, message
    assert not (root / "submitit").exists(), list((root / "submitit").rglob("*"))
    assert not list(PROTOCOL.runs_dir(root).glob("*/*.json"))

    write_sound_tuning(tmp_path / "curves", "synthetic_gray")
    command = [sys.executable, "-m", "synthlib", "curves", "run", "synthetic_gray", "--launcher", "slurm"]
    command += ["--results", str(tmp_path / "curves"), "--partition", "nosuchpartition", "--seeds", "0"]
    shown = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert shown.returncode == 2, shown.stdout + shown.stderr
    assert shown.stderr.strip().splitlines() == [shown.stderr.strip()], shown.stderr
    assert "SLURM_PARTITION" in shown.stderr and "nosuchpartition" in shown.stderr
    assert not (tmp_path / "curves" / "submitit").exists() and not (tmp_path / "curves" / "learning_curves").exists()


def curve_texts(root: Path) -> dict[str, dict]:
    runs = LEARNING_CURVES.runs_dir(root)
    records = {str(p.relative_to(runs)): json.loads(p.read_text()) for p in sorted(runs.glob("*/*.json"))}
    return {name: {k: v for k, v in record.items() if k != "timing"} for name, record in records.items()}


@pytest.mark.real_data
def test_slurm_learning_curves_of_mnist_at_two_sizes_equal_the_in_process_ones(slurm_cluster, real_data_root, tmp_path):
    """``python -m synthlib curves run --launcher slurm`` on MNIST, one frozen column and one seed at 1 and 2
    images per class (small stand-in settings), as ``run_all.sh`` sends it with ``LAUNCHER=slurm``."""
    for name in ("inprocess", "slurm"):
        write_sound_tuning(tmp_path / name, "mnist")
    env = {**os.environ, "SYNTHLIB_DATA": str(real_data_root)}
    base = [sys.executable, "-m", "synthlib", "curves", "run", "mnist", "--device", "cpu", "--seeds", "0"]
    base += ["--sizes", "1", "2", "--columns", "normal", "logreg_pixels"]
    for name, extra in (
        ("inprocess", []),
        ("slurm", ["--launcher", "slurm", "--poll-s", "1", "--wait-timeout-min", "5"]),
    ):
        done = subprocess.run(
            [*base, "--results", str(tmp_path / name), *extra],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "mnist: 4 run(s), 0 reused, 0 failed" in done.stdout, done.stdout
    assert "slurm: 2 task(s) submitted as job array" in done.stdout  # one per column and seed
    assert len(curve_texts(tmp_path / "slurm")) == 4
    assert curve_texts(tmp_path / "slurm") == curve_texts(tmp_path / "inprocess")
    shutil.rmtree(tmp_path / "inprocess")
