"""run_all.sh end to end on the built-in synthetic data: an interrupted study resumes, recomputes
only unfinished runs, and never takes a half-written record for a finished one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest

from synthlib.records import read_record
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
DATASET = "synthetic_gray"
METHODS = ("normal", "lognormal", "center_surround", "fully_trained")
SEEDS = (0, 1, 2)
SMALL_GRID = (
    "input_norms: [standardize]\nlearning_rates: [0.001]\nweight_decays: [0.0]\nepochs: [30]\n"
    "tuning_seeds: [1000]\nmax_extensions: 0\n"
)


def study_env(tmp_path) -> dict[str, str]:
    grid = tmp_path / "grid.yaml"
    grid.write_text(SMALL_GRID)
    return {
        **os.environ,
        "SYNTHLIB_DATA": str(tmp_path / "data"),
        "DATASETS": DATASET,
        "SEEDS": "[0, 1, 2]",
        "RESULTS_DIR": str(tmp_path / "results"),
        "FIGURES_DIR": str(tmp_path / "figures"),
        "TUNING_PARAMS": str(grid),
        "SKIP_EXPLORATION": "1",
        "PROTOCOLS": "paper",
        "BASELINES": "",
    }


def record_files(tmp_path):
    return sorted((tmp_path / "results" / "paper" / "runs" / DATASET).glob("*.json"))


def test_interrupted_study_resumes_without_recomputing(tmp_path):
    env = study_env(tmp_path)
    first = subprocess.Popen(
        ["./run_all.sh"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while len(record_files(tmp_path)) < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the whole process group: papermill and its kernel
    first.wait()
    finished = {p.name: p.read_bytes() for p in record_files(tmp_path)}
    assert 3 <= len(finished) < len(METHODS) * len(SEEDS), "the kill should land mid-study"

    # A record cut off mid-write (as a crash without atomic writes would leave) and a stray temp file.
    missing = next(f"{m}__seed{s}.json" for s in SEEDS for m in METHODS if f"{m}__seed{s}.json" not in finished)
    half = tmp_path / "results" / "paper" / "runs" / DATASET / missing
    half.write_text('{"dataset": "synthetic_gray", "test_accuracy": 0.9')
    (half.parent / f".{missing}.abc.tmp").write_text("{")

    second = subprocess.run(["./run_all.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]

    after = {p.name: p for p in record_files(tmp_path)}
    assert sorted(after) == sorted(f"{m}__seed{s}.json" for m in METHODS for s in SEEDS)
    for name, content in finished.items():
        assert after[name].read_bytes() == content, f"{name} was recomputed"
    assert read_record(after[missing]) is not None, "the half-written record must be recomputed"
    reused = [line for line in second.stdout.splitlines() if "reused finished record" in line]
    assert len(reused) == len(finished)
    table = pd.read_csv(tmp_path / "results" / "paper" / "table1.csv")
    assert sorted(table["method"]) == sorted(METHODS) and set(table["n_seeds"]) == {3}
    assert (tmp_path / "figures" / "paper_table1.png").exists()


def test_unknown_dataset_is_reported_and_skipped(tmp_path):
    env = {**study_env(tmp_path), "DATASETS": "no_such_dataset"}
    result = subprocess.run(["./run_all.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "no_such_dataset skipped: unknown dataset 'no_such_dataset'" in result.stdout
    assert result.returncode == 1  # nothing to tabulate: 05_results fails, and the script says so


def test_a_dirty_tree_does_not_write_the_committed_results(tmp_path):
    """In a clone of this commit with one uncommitted file, ``./run_all.sh`` into the clone's own
    results/ stops before running anything and says why; the same clone, clean, goes ahead."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, timeout=120)
    shutil.rmtree(clone / "results")  # the clean run below then has nothing to tabulate and stops early
    env = {key: value for key, value in study_env(tmp_path).items() if key not in ("RESULTS_DIR", "FIGURES_DIR")}
    env.update(SYNTHLIB_VENV=str(REPO_ROOT / ".venv"), DATASETS="no_such_dataset")
    probe = clone / "synthlib" / "uncommitted_probe.py"
    probe.write_text("# not committed\n")
    dirty = subprocess.run(["./run_all.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert dirty.returncode == 2, dirty.stdout + dirty.stderr
    assert "uncommitted changes (synthlib/uncommitted_probe.py)" in dirty.stderr and "RESULTS_DIR=" in dirty.stderr
    assert not any((clone / "results").rglob("*"))  # nothing written
    probe.unlink()
    clean = subprocess.run(["./run_all.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert "uncommitted changes" not in clean.stderr
    assert "no_such_dataset skipped" in clean.stdout


def test_a_protocol_named_alone_runs_after_the_one_it_takes_results_from(tmp_path):
    """``sound`` takes ``paper``'s tuned full-training setting: ``PROTOCOLS=sound`` runs ``paper`` first and
    says so; the verdict judges the protocols that ran and names the one that did not (``authors_code``).
    ``PROTOCOLS="paper sound"`` then reuses every record and ends with the same verdict."""
    env = {**study_env(tmp_path), "PROTOCOLS": "sound", "CURVES_GRID": "none", "SEEDS": "[0, 1]"}
    alone = subprocess.run(["./run_all.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert alone.returncode == 0, alone.stdout[-3000:] + alone.stderr[-3000:]
    assert 'running "paper sound" (a protocol runs after those it takes results from)' in alone.stdout
    results = tmp_path / "results"
    assert (results / "paper" / "tuning" / f"{DATASET}.json").exists()
    assert (results / "sound" / "tuning" / f"{DATASET}.json").exists()
    assert "not run, so not judged: authors_code" in alone.stdout
    verdict = (results / "verdict.md").read_text()
    assert "paper:" in verdict and "sound:" in verdict and "Not run, so not judged: authors' code." in verdict
    claims = pd.read_csv(results / "verdict_claims.csv")
    assert set(claims["variant"]) == {"paper", "sound"}

    env["PROTOCOLS"] = "paper sound"
    both = subprocess.run(["./run_all.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert both.returncode == 0, both.stdout[-3000:] + both.stderr[-3000:]
    assert "a protocol runs after those it takes results from" not in both.stdout
    assert (results / "verdict.md").read_text() == verdict
