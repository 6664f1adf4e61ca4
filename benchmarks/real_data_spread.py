"""How far the real-data tier's accuracies move when only the CPU code path changes.

    python -m benchmarks.real_data_spread [--out DIR] [--variants reference threads1 ...]
    python -m benchmarks.real_data_spread --run VARIANT --out DIR   # one variant, in this process

The real-data tier (``tests/test_real_data.py``) reruns the first seed of every (protocol, dataset,
column), at the setting the committed tables chose, and compares its test accuracy with the committed
record. A record made on another machine went through other kernels (another instruction set, another
summation order, another thread count), and training amplifies their rounding differences. This script
measures that amplification on one machine: it reruns the tier once per *variant* of the code path, each
in a fresh process with its environment variables set before PyTorch loads:

- ``reference``: this machine's own paths, at the thread count the committed records name;
- ``threads1``: one thread (other reduction splits in MKL, oneDNN and ATen);
- ``aten_default``: ``ATEN_CPU_CAPABILITY=default``, ATen's kernels without vector instructions;
- ``onednn_sse41``: ``ONEDNN_MAX_CPU_ISA=SSE41``, oneDNN's convolutions without AVX;
- ``mkl_sse42``: ``MKL_ENABLE_INSTRUCTIONS=SSE4_2``, MKL's matrix products without AVX;
- ``all_forced``: all three at once, on one thread.

Every variant runs with ``OMP_WAIT_POLICY=PASSIVE`` (threads waiting at a barrier sleep instead of
spinning): it changes no arithmetic, and on a CPU shared with other jobs it makes two-thread runs
several times faster. Each variant's records go to ``OUT/<variant>``, laid out as a results folder, so that
``python -m synthlib records compare results OUT/<variant>`` compares it with the committed results.
Then, per (protocol, dataset, column), the *spread* is the largest minus the smallest test accuracy over
the committed record and every variant, in points; it is written with each accuracy to
``tests/real_data_spread.json``, from which the tier derives each column's tolerance.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "results"
SPREAD_FILE = Path(__file__).resolve().parent.parent / "tests" / "real_data_spread.json"
DATASETS = ("mnist", "cifar10")

VARIANTS: dict[str, dict[str, str]] = {
    "reference": {},
    "threads1": {"threads": "1"},
    "aten_default": {"ATEN_CPU_CAPABILITY": "default"},
    "onednn_sse41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "mkl_sse42": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "all_forced": {
        "threads": "1",
        "ATEN_CPU_CAPABILITY": "default",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    },
}
"""Each variant: the environment variables it sets (``threads``: ``torch.set_num_threads``, else the
committed record's thread count)."""


def chosen_settings(protocol_name: str, dataset: str, results: Path = RESULTS) -> dict[str, str]:
    """Per column, the committed setting to rerun: the one chosen on validation for a grid, else ''."""
    from synthlib.protocols import get_protocol
    from synthlib.records import load_records
    from synthlib.selection import select_setting

    records = [r for r in load_records(get_protocol(protocol_name).runs_dir(results)) if r.dataset == dataset]
    return {method: setting for (_, method), setting in select_setting(records, "validation")[1].items()}


def one_run_per_column(
    protocol_name: str, dataset: str, scratch: Path, results: Path = RESULTS, columns: Sequence[str] = ("*",)
) -> list:
    """The first seed's run of every column, as the protocol plans it from ``results`` (its tuning), at
    the committed setting, redirected to ``scratch/<protocol>/runs/<dataset>/``: a results folder. With
    ``columns``, only those whose "protocol/dataset/column" matches one of the patterns."""
    from fnmatch import fnmatch

    from synthlib.protocols import get_protocol

    protocol = get_protocol(protocol_name)
    settings = chosen_settings(protocol_name, dataset, results)
    jobs = []
    for job in protocol.plan(dataset, results, seeds=protocol.seeds[:1]):
        runs = tuple(
            replace(run, path=protocol.runs_dir(scratch) / dataset / run.path.name)
            for run in job.runs
            if run.setting == settings.get(run.method, "")
            and any(fnmatch(f"{protocol_name}/{dataset}/{run.method}", pattern) for pattern in columns)
        )
        if runs:
            jobs.append(type(job)(runs))
    return jobs


def committed_threads(record: Any) -> int | None:
    """The CPU thread count a record ran with: its machine's, or its device's ("cpu (N threads)")."""
    import re

    machine = record.environment.get("machine") or {}
    if machine.get("threads"):
        return int(machine["threads"])
    match = re.fullmatch(r"cpu \((\d+) threads?\)", record.device)
    return int(match.group(1)) if match else None


def run_variant(out: Path, threads: int | None, data_root: Path, columns: Sequence[str] = ("*",), log=print) -> list:
    """Rerun every (protocol, dataset, column)'s first seed (those matching ``columns``) into ``out``;
    the records made."""
    import torch

    from synthlib.data import load_dataset
    from synthlib.engine import RunContext, execute
    from synthlib.protocols import get_protocol, protocol_names
    from synthlib.records import read_record

    default_threads = torch.get_num_threads()
    records = []
    with tempfile.TemporaryDirectory() as cache:  # a fresh cache: no features of another path are reused
        try:
            for dataset in DATASETS:
                data = load_dataset(dataset, data_root)
                for protocol_name in protocol_names():
                    jobs = one_run_per_column(protocol_name, dataset, out, RESULTS, columns)
                    if not jobs:
                        continue
                    first = jobs[0].runs[0].path.name
                    committed = read_record(get_protocol(protocol_name).runs_dir(RESULTS) / dataset / first)
                    torch.set_num_threads(threads or (committed and committed_threads(committed)) or default_threads)
                    start = time.perf_counter()
                    outcome = execute(jobs, RunContext(data, "cpu", cache), lambda _: None)
                    outcome.raise_failures()
                    log(
                        f"{protocol_name} {dataset}: {len(outcome.records)} runs "
                        f"in {time.perf_counter() - start:.0f} s",
                        flush=True,
                    )
                    records += outcome.records
        finally:
            torch.set_num_threads(default_threads)
    return records


def spread_table(out: Path, variants: list[str]) -> dict[str, Any]:
    """Per (protocol, dataset, column): the committed test accuracy, each variant's, and the spread."""
    from synthlib.audit import record_machine
    from synthlib.records import read_record, record_files

    columns: dict[str, Any] = {}
    machines: dict[str, str] = {}
    for variant in variants:
        for runs in sorted((out / variant).glob("*/runs")):
            for path in record_files(runs):
                record = read_record(path)
                if record is None:
                    continue
                machines[variant] = record_machine(record)
                committed = read_record(RESULTS / runs.parent.name / "runs" / path.relative_to(runs))
                key = f"{record.protocol}/{record.dataset}/{record.method}"
                entry = columns.setdefault(
                    key,
                    {
                        "record": path.name,
                        "committed": committed.test_accuracy if committed else None,
                        "test_accuracy": {},
                    },
                )
                entry["test_accuracy"][variant] = record.test_accuracy
    for entry in columns.values():
        values = [v for v in [entry["committed"], *entry["test_accuracy"].values()] if v is not None]
        entry["spread_pp"] = round(100 * (max(values) - min(values)), 4)
        entry["identical_to_committed"] = sorted(
            v for v, acc in entry["test_accuracy"].items() if acc == entry["committed"]
        )
    return {
        "variants": {v: VARIANTS[v] for v in variants},
        "machines": machines,
        "columns": dict(sorted(columns.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "synthlib_real_data_spread")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--run", choices=list(VARIANTS), help="run one variant in this process")
    parser.add_argument(
        "--columns", nargs="*", default=["*"], help='only these "protocol/dataset/column" (patterns, e.g. "paper/*/*")'
    )
    parser.add_argument("--data", type=Path, default=None, help="the datasets' folder (default: as the tests find it)")
    parser.add_argument("--spread-file", type=Path, default=SPREAD_FILE)
    parser.add_argument("--summarise-only", action="store_true", help="only write the spread of runs already made")
    args = parser.parse_args(argv)
    if args.data is None:
        from tests.conftest import real_data_dir

        args.data = real_data_dir()
        if args.data is None:
            parser.error("no mnist.npz and cifar10.npz in $SYNTHLIB_DATA or ../shared/data; pass --data")
    if args.run:
        threads = VARIANTS[args.run].get("threads")
        run_variant(args.out / args.run, int(threads) if threads else None, args.data, args.columns)
        return 0
    if not args.summarise_only:
        for variant in args.variants:
            env = {
                **os.environ,
                "OMP_WAIT_POLICY": "PASSIVE",
                **{k: v for k, v in VARIANTS[variant].items() if k != "threads"},
            }
            command = [sys.executable, "-m", "benchmarks.real_data_spread", "--run", variant, "--out", str(args.out)]
            start = time.perf_counter()
            print(f"variant {variant}: {VARIANTS[variant] or 'this machine as it is'}", flush=True)
            subprocess.run([*command, "--data", str(args.data), "--columns", *args.columns], env=env, check=True)
            print(f"variant {variant}: {time.perf_counter() - start:.0f} s", flush=True)
    done = [v for v in args.variants if (args.out / v).is_dir()]
    table = spread_table(args.out, done)
    args.spread_file.write_text(json.dumps(table, indent=2) + "\n")
    for key, entry in table["columns"].items():
        print(
            f"{key:45s} spread {entry['spread_pp']:.2f} points; "
            f"identical to committed: {entry['identical_to_committed']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
