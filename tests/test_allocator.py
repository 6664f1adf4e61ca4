"""The allocator setting of scripts/bootstrap.sh: the benchmark measures the values the scripts export, and
keeping freed memory leaves every trained weight and prediction the same, bit for bit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from benchmarks import workers
from benchmarks.allocator import KEEP_FREED, measure
from benchmarks.plan import build_plan
from benchmarks.report import Machine, malloc_line
from synthlib.provenance import machine_info

ROOT = Path(__file__).resolve().parent.parent


def test_bootstrap_exports_the_values_the_benchmark_measures():
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    exported = dict(re.findall(r'^export (MALLOC_\w+)="\$\{MALLOC_\w+:-(\d+)\}"$', text, flags=re.MULTILINE))
    assert exported == KEEP_FREED


def test_keeping_freed_memory_trains_the_same_weights_bit_for_bit():
    default, kept = (measure("cifar10", steps=20, threads=1, keep_freed=keep) for keep in (False, True))
    assert default["checksum"] == kept["checksum"]
    assert default["minor_faults"] > 0 and kept["minor_faults"] > 0  # both measured a real run


def test_a_record_names_the_malloc_settings_it_ran_with(monkeypatch):
    for name in KEEP_FREED:
        monkeypatch.delenv(name, raising=False)
    assert machine_info("cpu")["malloc"] == {}
    for name, value in KEEP_FREED.items():
        monkeypatch.setenv(name, value)
    assert machine_info("cpu")["malloc"] == KEEP_FREED


def test_both_benchmark_paths_run_with_the_studys_malloc_settings(monkeypatch, tmp_path):
    for name in KEEP_FREED:
        monkeypatch.setenv(name, "1")  # the caller's own values do not reach the timed workers
    seen: list[dict[str, str]] = []

    def fake_run(command, env, **_):
        seen.append(env)
        return subprocess.CompletedProcess(command, 0, stdout='{"ok": 1}\n')

    monkeypatch.setattr(workers.subprocess, "run", fake_run)
    plan = build_plan(quick=True, data_root=tmp_path, device="cpu", threads=1)
    assert workers.run_in_subprocess("project", plan) == {"ok": 1}
    assert workers.run_in_subprocess("naive", plan) == {"ok": 1}
    assert [{name: env[name] for name in KEEP_FREED} for env in seen] == [KEEP_FREED, KEEP_FREED]
    machine = Machine("CPU", 2, 2, 1, 1, "cpu", "CPU", "Linux", (0.0,))
    assert machine.worker_malloc == KEEP_FREED
    assert malloc_line(machine) == "`MALLOC_MMAP_THRESHOLD_=33554432` `MALLOC_TRIM_THRESHOLD_=4294967296`"
