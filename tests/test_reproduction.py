"""``python -m synthlib records compare A B`` (``synthlib.reproduction``) on tiny synthetic results
folders: identical folders report every record bit-identical and nothing changed; a changed record is
reported as not bit-identical with its difference; a changed Table 1 cell and a changed verdict
judgement are named; a partial rerun is compared over the records it holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from synthlib.records import RunRecord, config_hash, record_path, write_record
from synthlib.reproduction import compare_records, judgement_changes, overlay, read_folder, report_lines, table_changes
from tests.conftest import REPO_ROOT

FROZEN = ("normal", "lognormal", "center_surround")
COLUMNS = (*FROZEN, "fully_trained")
SEEDS = range(6)
BASE = {"normal": 0.70, "lognormal": 0.80, "center_surround": 0.78, "fully_trained": 0.75}


def record(method: str, seed: int, test: float, machine: dict | None = None) -> RunRecord:
    config = {"method": {"label": method.title(), "sampler": method if method in FROZEN else None}, "seed": seed}
    environment = {"torch": "x", "git_commit": "abc"} | ({"machine": machine} if machine else {})
    return RunRecord(
        protocol="paper",
        dataset="mnist",
        method=method,
        seed=seed,
        test_accuracy=test,
        val_accuracy=test,
        n_train=380,
        n_val=380,
        n_test=10000,
        config=config,
        config_hash=config_hash(config),
        device="cpu (2 threads)",
        environment=environment,
    )


def accuracy(method: str, seed: int) -> float:
    noise = ((seed * 7 + len(method) * 3) % 5 - 2) * 0.003  # seed-to-seed noise, different per column
    return round(BASE[method] + noise, 4)


def write_folder(root: Path, change=lambda method, seed, test: test, seeds=SEEDS, machine=None) -> Path:
    for method in COLUMNS:
        for seed in seeds:
            path = record_path(root / "paper" / "runs", "mnist", method, seed)
            write_record(path, record(method, seed, change(method, seed, accuracy(method, seed)), machine))
    return root


@pytest.fixture
def committed(tmp_path) -> Path:
    return write_folder(tmp_path / "a")


def test_identical_folders_report_every_record_bit_identical_and_nothing_changed(committed, tmp_path):
    machine = {"device": "cpu", "cpu_model": "Other CPU", "cpu_capability": "AVX512", "threads": 4, "forced": {}}
    rerun = write_folder(tmp_path / "b", machine=machine)  # another machine: environment differs, results do not
    a, b = read_folder(committed), read_folder(rerun)
    reports = compare_records(a, b)
    assert [(r.column, r.paired, r.identical, r.max_test_diff) for r in reports] == [
        (c, 6, 6, 0.0) for c in sorted(COLUMNS)
    ]
    assert table_changes(a, b)[0] == [] and table_changes(a, b)[1] > 0
    assert judgement_changes(a, b)[0] == [] and judgement_changes(a, b)[1] > 0
    lines, changed = report_lines("a", "b", a, b)
    assert not changed
    assert "records in both: 24, of which 24 bit-identical" in "\n".join(lines)
    assert any("Other CPU, cpu AVX512, 4 threads" in line for line in lines)
    assert any("machine unknown" in line for line in lines)  # the committed records name no machine


def test_a_changed_record_is_reported_with_its_difference(committed, tmp_path):
    rerun = write_folder(tmp_path / "b", lambda m, s, t: t + 0.0003 if (m, s) == ("normal", 2) else t)
    reports = {r.column: r for r in compare_records(read_folder(committed), read_folder(rerun))}
    normal = reports["normal"]
    assert (normal.paired, normal.identical, normal.worst) == (6, 5, "normal__seed2.json")
    assert normal.max_test_diff == pytest.approx(0.03)
    assert reports["lognormal"].identical == 6 and reports["lognormal"].max_test_diff == 0.0


def test_a_changed_table_cell_and_judgement_are_reported(committed, tmp_path):
    # lognormal falls below normal on every seed: its mean changes, and "beats normal" turns around
    rerun = write_folder(tmp_path / "b", lambda m, s, t: t - 0.2 if m == "lognormal" else t)
    a, b = read_folder(committed), read_folder(rerun)
    cells, _ = table_changes(a, b)
    assert {(c.row, c.cell) for c in cells} >= {("mnist validation lognormal", "ours (mean ± std)")}
    assert all("lognormal" in c.row for c in cells)
    change = next(c for c in cells if c.cell == "ours (mean ± std)")
    assert change.a.startswith("80.") and change.b.startswith("60.")
    verdicts, _ = judgement_changes(a, b)
    flipped = [v for v in verdicts if v.claim == "biological_beats_normal" and v.pair == "lognormal − normal"]
    assert [(v.a, v.b) for v in flipped] == [("supported", "contradicted")]
    lines, changed = report_lines("a", "b", a, b)
    assert changed
    assert any(line.startswith("  paper: mnist validation lognormal: ours (mean ± std): 80.") for line in lines)


def test_a_partial_rerun_is_compared_over_the_records_it_holds(committed, tmp_path):
    rerun = write_folder(tmp_path / "b", seeds=[0])
    a, b = read_folder(committed), read_folder(rerun)
    assert sum(r.paired for r in compare_records(a, b)) == 4
    assert overlay(a, b)["paper"].keys() == a["paper"].keys()
    assert table_changes(a, overlay(a, b))[0] == []  # the rerun's records are the committed ones
    lines, changed = report_lines("a", "b", a, b)
    text = "\n".join(lines)
    assert not changed and "only in A: 20; only in B: 0" in text and "B holds 4 of A's 24" in text


def test_records_compare_command(committed, tmp_path):
    rerun = write_folder(tmp_path / "b", lambda m, s, t: t - 0.2 if m == "lognormal" else t)
    command = [sys.executable, "-m", "synthlib", "records", "compare", str(committed), str(rerun)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "verdict judgements" in done.stdout and "lognormal" in done.stdout
    same = subprocess.run([*command[:-1], str(committed)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert same.returncode == 0 and "24 bit-identical" in same.stdout
    missing = subprocess.run([*command[:-1], str(tmp_path / "none")], cwd=REPO_ROOT, capture_output=True, text=True)
    assert missing.returncode == 2


def test_an_unreadable_record_is_named(committed, tmp_path):
    rerun = write_folder(tmp_path / "b")
    broken = record_path(rerun / "paper" / "runs", "mnist", "normal", 0)
    broken.write_text(json.dumps({"schema": 2})[:-3])
    with pytest.raises(ValueError, match="normal__seed0.json"):
        read_folder(rerun)
