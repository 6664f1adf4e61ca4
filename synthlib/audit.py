"""``python -m synthlib.records check RESULTS_DIR``: is every committed number traceable and current?

For every run record under ``RESULTS_DIR/<protocol>/runs/`` it checks that the record

- can be read (valid JSON of the current schema, its stored hash matching its configuration);
- belongs to a registered protocol (or the learning curves, ``synthlib.beyond``), and is *current*:
  the protocol plans a run at the record's path (the record's seed, column and setting) whose key,
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

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synthlib.beyond import BEYOND
from synthlib.engine import PlannedRun
from synthlib.protocols import get_protocol, protocol_names
from synthlib.provenance import commit_exists, in_git_checkout, machine_label, source_sha256
from synthlib.records import RecordError, RunRecord, parse_record, record_files


@dataclass(frozen=True)
class Finding:
    path: Path
    kind: str  # "unreadable", "unknown protocol", "stale", "dirty tree", "unknown commit"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"


def _planned_run(record: RunRecord, results_root: Path) -> PlannedRun | None:
    """The run the current code plans at the record's place, or None if it plans none there."""
    config = record.config
    if record.protocol == BEYOND.name:  # the learning curves: a column at a seed and size, on any grid
        n_classes = config.get("architecture", {}).get("n_classes", 10)
        return BEYOND.planned_run(
            record.dataset, results_root, record.method, record.seed, config["per_class"], n_classes
        )
    sizes = (config.get("per_class"), config.get("val_per_class"))
    protocol = get_protocol(record.protocol).with_overrides([record.seed], *sizes)
    method, baseline = record.method, "baseline" in config.get("method", {})
    jobs = protocol.plan(
        record.dataset,
        results_root,
        methods=[] if baseline else [method],
        baselines=[method] if baseline else [],
    )
    return next((run for job in jobs for run in job.runs if run.setting == record.setting), None)


def check_results(results_root: str | Path) -> tuple[list[Finding], int, int]:
    """Every problem with the records under ``results_root``; also the number of records checked and
    of those made by another library source (for information)."""
    results_root = Path(results_root)
    findings: list[Finding] = []
    checked = other_source = 0
    known = {*protocol_names(), BEYOND.name}
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
                findings.append(Finding(path, "unknown protocol", f"{record.protocol!r} in folder {folder.name!r}"))
                continue
            try:
                planned = _planned_run(record, results_root)
            except (ValueError, OSError, KeyError) as error:
                findings.append(Finding(path, "stale", f"its run cannot be planned: {error}"))
                continue
            if planned is None or planned.path.resolve() != path.resolve():
                findings.append(Finding(path, "stale", "the protocol plans no such run"))
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
    ``RESULTS_ROOT/<protocol>/runs`` that it made, per protocol folder; most records first."""
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
    """``machine_summary`` for a reader: one line per machine with its records per protocol."""
    lines = [f"machines behind the records: {len(summary)}"]
    for machine, per_protocol in summary.items():
        protocols = ", ".join(f"{name} {n}" for name, n in sorted(per_protocol.items()))
        lines.append(f"  {per_protocol.total()} record(s) on {machine}: {protocols}")
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthlib.records", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="list stale, dirty-tree and unreadable records")
    check.add_argument("results_dir", type=Path)
    args = parser.parse_args(list(argv))
    if not args.results_dir.is_dir():
        print(f"no results folder at {args.results_dir}", flush=True)
        return 2
    findings, checked, other_source = check_results(args.results_dir)
    for finding in findings:
        print(finding)
    print(
        f"{checked} record(s) checked under {args.results_dir}: {len(findings)} problem(s); "
        f"{other_source} made by another library source with an unchanged configuration"
    )
    for line in machine_lines(machine_summary(args.results_dir)):
        print(line)
    return 1 if findings else 0


__all__ = ["Finding", "check_results", "machine_lines", "machine_summary", "main", "record_machine"]
