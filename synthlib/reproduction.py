"""``python -m synthlib records compare A B``: does a rerun of the study reproduce the committed one?

``A`` and ``B`` are two results folders (``<folder>/<protocol>/runs/<dataset>/<record>.json``) of the
same configurations, e.g. the committed ``results`` and a rerun on another machine. Records are
paired by their path. For every protocol, dataset and column the report gives

- how many records both folders hold and how many of those are *bit-identical*: the same key
  (``config_hash``) and exactly the same test and validation accuracy and split sizes (timing,
  device and environment are not compared: they name the machine, not the result);
- the largest difference in test and in validation accuracy, in points, and the record it is in;
- pairs whose keys differ (not the same configuration: such a pair is not a reproduction).

Then, per registered protocol, every cell of its Table 1 (``tables.protocol_table``: mean ± std, seeds,
95% interval, chosen setting, edge notes) and every verdict judgement (``verdict.claim_table``) is
computed from ``A`` and from ``B`` and the cells and judgements that changed are listed. ``B`` may be a
partial rerun: its tables and judgements are then those of ``A``'s records with ``B``'s put in their
place (``overlay``), so they show whether the rerun records alone would change what a reader sees.
Tables and judgements are computed by the study's own functions, as ``notebooks/05_results.py`` and
``06_verdict.py`` compute them (without the tuning edges, which do not come from run records).

Exit status: 0 when no table cell and no judgement changed and every paired record has the same key,
1 otherwise, 2 when a folder is missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synthlib.records import RecordError, RunRecord, parse_record, record_files

Folder = dict[str, dict[str, RunRecord]]
"""Records of one results folder: per protocol folder, per ``<dataset>/<file name>``."""


@dataclass(frozen=True)
class ColumnReport:
    """One (protocol, dataset, column) of two results folders."""

    protocol: str
    dataset: str
    column: str
    in_a: int
    in_b: int
    paired: int  # records both folders hold
    other_key: int  # paired records of different keys (not the same configuration)
    identical: int  # paired records with the same key and bit-identical results
    max_test_diff: float  # largest |test accuracy B - A| in points over the paired records of the same key
    max_val_diff: float
    worst: str  # the record with the largest test difference ("" when none differs)


@dataclass(frozen=True)
class CellChange:
    protocol: str
    row: str  # "dataset selection column"
    cell: str
    a: str
    b: str


@dataclass(frozen=True)
class JudgementChange:
    claim: str
    variant: str
    dataset: str
    pair: str
    a: str
    b: str


def read_folder(root: str | Path) -> Folder:
    """Every record under ``root/<protocol>/runs``, per protocol folder and ``<dataset>/<file name>``;
    ``RecordError`` naming every unusable file (``python -m synthlib records check`` lists them too)."""
    folder: Folder = {}
    problems = []
    for runs in sorted(p for p in Path(root).glob("*/runs") if p.is_dir()):
        records = folder.setdefault(runs.parent.name, {})
        for path in record_files(runs):
            try:
                records[path.relative_to(runs).as_posix()] = parse_record(path)
            except RecordError as error:
                problems.append(str(error))
    if problems:
        raise RecordError(f"{len(problems)} unusable record file(s) under {root}:\n  " + "\n  ".join(problems))
    return folder


def same_result(a: RunRecord, b: RunRecord) -> bool:
    """Whether two records of one configuration hold bit-identical results (not timing or machine)."""
    fields = ("config_hash", "test_accuracy", "val_accuracy", "n_train", "n_val", "n_test")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def compare_records(a: Folder, b: Folder) -> list[ColumnReport]:
    """Per (protocol, dataset, column) of either folder: counts, bit-identical records, largest differences."""
    groups: dict[tuple[str, str, str], tuple[list[str], list[str]]] = {}
    for side, folder in enumerate((a, b)):
        for protocol, records in folder.items():
            for path, record in records.items():
                groups.setdefault((protocol, record.dataset, record.method), ([], []))[side].append(path)
    reports = []
    for (protocol, dataset, column), (paths_a, paths_b) in sorted(groups.items()):
        paired = sorted(set(paths_a) & set(paths_b))
        pairs = [(a[protocol][p], b[protocol][p], p) for p in paired]
        same_key = [(x, y, p) for x, y, p in pairs if x.config_hash == y.config_hash]
        test = [(100 * abs(y.test_accuracy - x.test_accuracy), p) for x, y, p in same_key]
        val = [100 * abs(y.val_accuracy - x.val_accuracy) for x, y, _ in same_key]
        largest, worst = max(test, default=(0.0, ""))
        reports.append(
            ColumnReport(
                protocol=protocol,
                dataset=dataset,
                column=column,
                in_a=len(paths_a),
                in_b=len(paths_b),
                paired=len(pairs),
                other_key=len(pairs) - len(same_key),
                identical=sum(same_result(x, y) for x, y, _ in same_key),
                max_test_diff=largest,
                max_val_diff=max(val, default=0.0),
                worst=worst.split("/", 1)[-1] if largest > 0 else "",
            )
        )
    return reports


def overlay(a: Folder, b: Folder) -> Folder:
    """``a`` with every record of ``b`` in its place (added where ``a`` has none): a partial rerun
    seen as the whole study it belongs to."""
    merged = {protocol: dict(records) for protocol, records in a.items()}
    for protocol, records in b.items():
        merged.setdefault(protocol, {}).update(records)
    return merged


def _number(value: float, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def table_cells(records: Sequence[RunRecord], protocol_name: str) -> dict[tuple[str, str], str]:
    """Every cell a reader sees in a protocol's Table 1, as ``table1_markdown`` writes it: per
    (row, cell) with row "dataset selection column"."""
    from synthlib.protocols import get_protocol
    from synthlib.tables import interval_cell, protocol_table

    table = protocol_table(records, get_protocol(protocol_name))
    cells = {}
    for _, row in table.iterrows():
        name = f"{row['dataset']} {row['selection']} {row['method']}"
        cells[(name, "ours (mean ± std)")] = f"{_number(row['mean'])} ± {_number(row['std'])}"
        cells[(name, "seeds")] = str(row["n_seeds"])
        cells[(name, "95% CI")] = interval_cell(row["ci95_low"], row["ci95_high"], row["n_draws"])
        cells[(name, "ours − paper")] = f"{row['diff_vs_paper']:+.2f}" if pd.notna(row["diff_vs_paper"]) else "—"
        cells[(name, "setting")] = str(row.get("setting", ""))
        cells[(name, "setting at an edge")] = str(row.get("edge", "")) or "—"
    return cells


def table_changes(a: Folder, b: Folder) -> tuple[list[CellChange], int]:
    """The Table 1 cells of every registered protocol in both folders that differ, and the number compared."""
    from synthlib.protocols import protocol_names

    changes, compared = [], 0
    for protocol in protocol_names():
        if not a.get(protocol) or not b.get(protocol):
            continue
        cells_a = table_cells(list(a[protocol].values()), protocol)
        cells_b = table_cells(list(b[protocol].values()), protocol)
        for key in sorted(set(cells_a) | set(cells_b)):
            compared += 1
            old, new = cells_a.get(key, "(absent)"), cells_b.get(key, "(absent)")
            if old != new:
                changes.append(CellChange(protocol, key[0], key[1], old, new))
    return changes, compared


def judgements(folder: Folder) -> dict[tuple[str, str, str, str], str]:
    """Every verdict judgement of ``folder``'s registered protocols, per (claim, variant, dataset, "a - b")."""
    from synthlib.protocols import protocol_names
    from synthlib.verdict import claim_table, protocol_variants

    by_protocol = {name: list(folder[name].values()) for name in protocol_names() if folder.get(name)}
    if not by_protocol:
        return {}
    table = claim_table(protocol_variants(by_protocol))
    return {
        (row["claim"], row["variant"], row["dataset"], f"{row['a']} − {row['b']}"): str(row["judgement"])
        for _, row in table.iterrows()
    }


def judgement_changes(a: Folder, b: Folder) -> tuple[list[JudgementChange], int]:
    """The verdict judgements that differ between the folders, and the number compared."""
    old, new = judgements(a), judgements(b)
    changes = [
        JudgementChange(*key, old.get(key, "(absent)"), new.get(key, "(absent)"))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    return changes, len(set(old) | set(new))


def machines(folder: Folder) -> dict[str, int]:
    """How many records of ``folder`` each machine made (``audit.record_machine``)."""
    from synthlib.audit import record_machine

    counts: dict[str, int] = {}
    for records in folder.values():
        for record in records.values():
            counts[record_machine(record)] = counts.get(record_machine(record), 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def records_table(reports: Sequence[ColumnReport], everything: bool = False) -> pd.DataFrame:
    """The per-column report as a table: the columns both folders ran (every column with ``everything``)."""
    rows = [
        {
            "protocol": r.protocol,
            "dataset": r.dataset,
            "column": r.column,
            "A": r.in_a,
            "B": r.in_b,
            "both": r.paired,
            "bit-identical": r.identical,
            "other key": r.other_key,
            "max |Δ test| (points)": _number(r.max_test_diff),
            "max |Δ val| (points)": _number(r.max_val_diff),
            "largest in": r.worst or "—",
        }
        for r in reports
        if everything or r.paired
    ]
    return pd.DataFrame(rows)


def report_lines(
    a_name: str,
    b_name: str,
    a: Folder,
    b: Folder,
    everything: bool = False,
) -> tuple[list[str], bool]:
    """The whole report, line by line, and whether it found a change (a table cell, a judgement, or
    a paired record of another key)."""
    reports = compare_records(a, b)
    n_a = sum(len(r) for r in a.values())
    n_b = sum(len(r) for r in b.values())
    paired = sum(r.paired for r in reports)
    identical = sum(r.identical for r in reports)
    other_key = sum(r.other_key for r in reports)
    lines = [f"A = {a_name}: {n_a} record(s); B = {b_name}: {n_b} record(s)"]
    for label, folder in (("A", a), ("B", b)):
        for machine, count in machines(folder).items():
            lines.append(f"  {label}: {count} record(s) on {machine}")
    lines.append(
        f"records in both: {paired}, of which {identical} bit-identical and {other_key} of another key "
        f"(not the same configuration); only in A: {n_a - paired}; only in B: {n_b - paired}"
    )
    same_key = [r for r in reports if r.paired > r.other_key]
    if same_key:
        largest = max(same_key, key=lambda r: r.max_test_diff)
        lines.append(
            f"largest test-accuracy difference: {largest.max_test_diff:.2f} points "
            f"({largest.protocol} {largest.dataset} {largest.worst or largest.column})"
        )
    lines.append("")
    lines.append("per protocol and column" + ("" if everything else " (columns with records in both folders)") + ":")
    table = records_table(reports, everything)
    lines.append(table.to_string(index=False) if not table.empty else "  (no record is in both folders)")
    merged = overlay(a, b)
    cells, n_cells = table_changes(a, merged)
    verdicts, n_verdicts = judgement_changes(a, merged)
    partial = n_b < n_a
    source = f"B's records over A's (B holds {n_b} of A's {n_a})" if partial else "B's records"
    lines.append("")
    lines.append(f"Table 1 cells, A against {source}: {len(cells)} of {n_cells} changed")
    lines.extend(f"  {c.protocol}: {c.row}: {c.cell}: {c.a} -> {c.b}" for c in cells)
    lines.append(f"verdict judgements, A against {source}: {len(verdicts)} of {n_verdicts} changed")
    lines.extend(f"  {v.claim} {v.variant} {v.dataset} {v.pair}: {v.a} -> {v.b}" for v in verdicts)
    return lines, bool(cells or verdicts or other_key)


def compare_folders(a: Path, b: Path, show_all: bool = False) -> tuple[list[str], bool]:
    """The report of ``python -m synthlib records compare A B`` and whether a table cell or judgement changed."""
    return report_lines(str(a), str(b), read_folder(a), read_folder(b), show_all)


__all__ = [
    "CellChange",
    "ColumnReport",
    "Folder",
    "JudgementChange",
    "compare_records",
    "judgement_changes",
    "judgements",
    "machines",
    "compare_folders",
    "overlay",
    "read_folder",
    "records_table",
    "report_lines",
    "same_result",
    "table_cells",
    "table_changes",
]
