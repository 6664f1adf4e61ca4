"""``python -m synthlib records check RESULTS_DIR``: is every committed number traceable and current?

For every run record under ``RESULTS_DIR/<study>/runs/`` it checks that the record

- can be read (valid JSON of the current schema, its stored hash matching its configuration);
- belongs to a registered study (a protocol or the learning curves: ``synthlib.all_studies``), and is
  *current*: the study plans a run at the record's path (the record's seed, column and setting) whose key,
  computed by the current code with every default merged in, equals the record's. A changed default,
  preprocessing step, architecture, training setting, tuning choice or ``RESULTS_VERSION`` makes it
  *stale*;
- was made from a clean tree (``environment.git_dirty`` false) at a commit this repository has.

Records whose library source hash differs from the current one are counted, not failed: a change
that leaves every configuration's result alone (a docstring, a new module) is allowed to follow
the records. The command prints one line per problem and exits 1 if there is any, else 0.

It then names the machines behind the records (``machine_summary``): per machine (CPU model, PyTorch's
CPU capability, thread count, GPU), how many records of each protocol it made. Records made before
records named their machine (no ``environment["machine"]``) are counted as "machine unknown", with
the device they name; they are not a problem.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from synthlib.all_studies import get_study, study_names
from synthlib.provenance import commit_exists, in_git_checkout, machine_label, source_sha256
from synthlib.records import RecordError, RunRecord, parse_record, record_files


@dataclass(frozen=True)
class Finding:
    path: Path
    kind: str  # "unreadable", "unknown study", "stale", "dirty tree", "unknown commit"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"


def check_results(results_root: str | Path) -> tuple[list[Finding], int, int]:
    """Every problem with the records under ``results_root``; also the number of records checked and
    of those made by another library source (for information)."""
    results_root = Path(results_root)
    findings: list[Finding] = []
    checked = other_source = 0
    known = set(study_names())
    commits: dict[str, bool] = {}
    current_source = source_sha256()
    for folder in sorted(p for p in results_root.iterdir() if (p / "runs").is_dir()):
        for path in record_files(folder / "runs"):
            checked += 1
            try:
                record = parse_record(path)
            except RecordError as error:
                findings.append(Finding(path, "unreadable", str(error).split(": ", 1)[-1]))
                continue
            if record.protocol not in known or record.protocol != folder.name:
                findings.append(Finding(path, "unknown study", f"{record.protocol!r} in folder {folder.name!r}"))
                continue
            try:
                planned = get_study(record.protocol).planned_run(record, results_root)
            except (ValueError, OSError, KeyError) as error:
                findings.append(Finding(path, "stale", f"its run cannot be planned: {error}"))
                continue
            if planned is None or planned.path.resolve() != path.resolve():
                findings.append(Finding(path, "stale", "the study plans no such run"))
            elif planned.key != record.config_hash:
                current = json.loads(json.dumps(planned.config))  # as stored: tuples become lists
                changed = sorted(k for k in current if current.get(k) != record.config.get(k))
                findings.append(
                    Finding(path, "stale", f"key {record.config_hash} != current {planned.key} ({', '.join(changed)})")
                )
            environment = record.environment
            if environment.get("git_dirty") is not False:
                findings.append(
                    Finding(path, "dirty tree", f"made from an uncommitted tree at {environment.get('git_commit')}")
                )
            commit = str(environment.get("git_commit", "unknown"))
            if in_git_checkout():
                if commit not in commits:
                    commits[commit] = commit != "unknown" and commit_exists(commit)
                if not commits[commit]:
                    findings.append(Finding(path, "unknown commit", f"{commit} is not a commit of this repository"))
            if environment.get("source_sha256") != current_source:
                other_source += 1
    return findings, checked, other_source


def record_machine(record: RunRecord) -> str:
    """The machine that made ``record``, in one line: ``provenance.machine_label`` of its
    ``environment["machine"]``, or "machine unknown" with the device the record names."""
    machine = record.environment.get("machine")
    return machine_label(machine) if machine else f"machine unknown (device {record.device!r})"


def machine_summary(results_root: str | Path) -> dict[str, Counter[str]]:
    """Per machine (``record_machine``), the number of readable records under
    ``RESULTS_ROOT/<study>/runs`` that it made, per study folder; most records first."""
    counts: dict[str, Counter[str]] = {}
    for folder in sorted(p for p in Path(results_root).iterdir() if (p / "runs").is_dir()):
        for path in record_files(folder / "runs"):
            try:
                record = parse_record(path)
            except RecordError:
                continue  # check_results reports it
            counts.setdefault(record_machine(record), Counter())[folder.name] += 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1].total(), item[0])))


def machine_lines(summary: dict[str, Counter[str]]) -> list[str]:
    """``machine_summary`` for a reader: one line per machine with its records per study."""
    lines = [f"machines behind the records: {len(summary)}"]
    for machine, per_protocol in summary.items():
        protocols = ", ".join(f"{name} {n}" for name, n in sorted(per_protocol.items()))
        lines.append(f"  {per_protocol.total()} record(s) on {machine}: {protocols}")
    return lines


__all__ = ["Finding", "check_results", "machine_lines", "machine_summary", "record_machine"]
