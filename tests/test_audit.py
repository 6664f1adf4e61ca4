"""The records check (``python -m synthlib records check``) and provenance: it passes on records the
current code would make, and names a stale record, a record from a dirty tree, a record from an
unknown commit and a truncated record; the committed results pass it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from synthlib import engine, provenance
from synthlib.audit import check_results, machine_lines, machine_summary
from synthlib.data import load_dataset
from synthlib.protocols import get_protocol
from synthlib.records import record_files
from synthlib.runner import run_study
from synthlib.samplers import registry
from synthlib.tuning import TuningGrid
from tests.conftest import REPO_ROOT

GRID = TuningGrid(
    input_norms=("standardize",),
    learning_rates=(1e-3,),
    weight_decays=(0.0,),
    epochs=(1,),
    seeds=(1000,),
    max_extensions=0,
)
HEAD = provenance.git_commit()


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A small ``paper`` study under ``tmp_path``, its records stamped as made from a clean HEAD."""
    clean = {**provenance.environment_info(), "git_commit": HEAD, "git_dirty": False}
    monkeypatch.setattr(engine, "environment_info", lambda: clean)
    paper = replace(get_protocol("paper").with_overrides((0,), 5, 3), tuning_grid=GRID, baseline_cs=(1.0,))
    data = load_dataset("synthetic_gray")
    paper.tune(data, tmp_path, baselines=["logreg_pixels"], device="cpu", log=lambda _: None)
    outcome = run_study(paper, data, tmp_path, baselines=["logreg_pixels"], device="cpu", log=lambda _: None)
    assert outcome.failures == [] and len(outcome.records) == 5
    return tmp_path


def kinds(results_root) -> list[tuple[str, str]]:
    findings, _, _ = check_results(results_root)
    return sorted((f.path.name, f.kind) for f in findings)


def edit(path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_records_the_current_code_would_make_pass(results):
    findings, checked, other_source = check_results(results)
    assert findings == [] and checked == 5 and other_source == 0


def test_a_changed_sampler_default_makes_records_stale(results, monkeypatch):
    info = registry.get_sampler("normal")
    monkeypatch.setitem(
        registry._REGISTRY, "normal", replace(info, presets={**info.presets, "paper_text": {"sigma": 2.0}})
    )
    assert kinds(results) == [("normal__seed0.json", "stale")]


def test_a_record_from_a_dirty_tree_or_an_unknown_commit_is_named(results):
    path = results / "paper" / "runs" / "synthetic_gray" / "lognormal__seed0.json"
    edit(path, lambda r: r["environment"].update(git_dirty=True))
    other = results / "paper" / "runs" / "synthetic_gray" / "normal__seed0.json"
    edit(other, lambda r: r["environment"].update(git_commit="0" * 40))
    assert kinds(results) == [("lognormal__seed0.json", "dirty tree"), ("normal__seed0.json", "unknown commit")]


def test_a_truncated_or_edited_record_is_named(results):
    path = results / "paper" / "runs" / "synthetic_gray" / "fully_trained__seed0.json"
    path.write_text(path.read_text()[:200])
    edited = results / "paper" / "runs" / "synthetic_gray" / "logreg_pixels__seed0.json"
    edit(edited, lambda r: r["config"].update(C=10.0))
    assert kinds(results) == [("fully_trained__seed0.json", "unreadable"), ("logreg_pixels__seed0.json", "unreadable")]


def test_the_command_line_lists_problems_and_fails(results):
    command = [sys.executable, "-m", "synthlib", "records", "check", str(results)]
    clean = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "5 record(s) checked" in clean.stdout and "0 problem(s)" in clean.stdout
    path = results / "paper" / "runs" / "synthetic_gray" / "normal__seed0.json"
    path.write_text("{")
    broken = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert broken.returncode == 1 and "unreadable: " in broken.stdout and "normal__seed0.json" in broken.stdout


def test_records_name_their_machine_outside_their_key(results):
    """A record names the machine it ran on (CPU model, PyTorch's CPU capability, threads); the key
    leaves it out, so a record from another machine is still current."""
    path = results / "paper" / "runs" / "synthetic_gray" / "normal__seed0.json"
    machine = json.loads(path.read_text())["environment"]["machine"]
    assert machine == provenance.machine_info("cpu")
    assert (
        machine["device"] == "cpu"
        and machine["cpu_model"]
        and machine["cpu_capability"] == (torch.backends.cpu.get_cpu_capability())
    )
    assert machine["threads"] >= 1 and "gpu" not in machine
    edit(path, lambda r: r["environment"]["machine"].update(cpu_model="Other CPU", cpu_capability="AVX512"))
    assert kinds(results) == []
    summary = machine_summary(results)
    assert sum(n.total() for n in summary.values()) == 5
    assert summary[f"{provenance.machine_label(machine)}"]["paper"] == 4
    assert any(label.startswith("Other CPU, cpu AVX512") for label in summary)


def test_records_made_before_machines_were_recorded_are_machine_unknown_not_a_problem(results):
    for path in record_files(results / "paper" / "runs"):
        edit(path, lambda r: r["environment"].pop("machine"))
    assert kinds(results) == []
    lines = machine_lines(machine_summary(results))
    assert lines[0] == "machines behind the records: 1"
    assert lines[1].startswith("  5 record(s) on machine unknown (device 'cpu (") and lines[1].endswith(": paper 5")
    command = [sys.executable, "-m", "synthlib", "records", "check", str(results)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "record(s) on machine unknown" in done.stdout


def test_machine_info_names_a_gpu_with_its_cuda_and_cudnn_versions():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    machine = provenance.machine_info(torch.device("cuda"))
    assert machine["device"] == "cuda" and machine["gpu"] and machine["cuda"] == torch.version.cuda
    assert "cudnn" in machine


def test_committed_results_pass_the_records_check():
    """Every committed record is current, from a clean tree, at a commit of this repository."""
    findings, checked, _ = check_results(REPO_ROOT / "results")
    assert checked > 0
    assert [str(f) for f in findings] == []


def test_committed_files_hold_no_machine_path():
    tracked = subprocess.run(
        ["git", "ls-files", "results", "figures", "README.md", "docs"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.split()
    markers = ('"/tmp/', '"/root/', '"/home/', '"/work/', str(REPO_ROOT.parent) + "/")
    holding = [
        p
        for p in tracked
        if p.endswith((".json", ".md", ".ipynb", ".csv"))
        and any(m in (REPO_ROOT / p).read_text(errors="ignore") for m in markers)
    ]
    assert holding == []


def test_dirty_paths_ignore_the_study_outputs_but_not_the_code(tmp_path, monkeypatch):
    assert all(not path.startswith(provenance.STUDY_OUTPUTS) for path in provenance.dirty_paths())
    probe = REPO_ROOT / "synthlib" / "_dirty_probe.py"
    probe.write_text("# an uncommitted file makes the tree dirty\n")
    try:
        assert "synthlib/_dirty_probe.py" in provenance.dirty_paths()
        assert provenance.environment_info()["git_dirty"] is True
    finally:
        probe.unlink()


def test_record_files_are_found_per_dataset(results):
    assert len(record_files(results / "paper" / "runs")) == 5
