"""Benchmark of the paper protocol on this machine: phase times, FLOP rates against the machine's
ceilings, a naive implementation for comparison, peak memory, and the project's performance targets.

    python -m benchmarks.run_benchmark [--quick] [--output results/benchmark.json] [--data DIR]
                                       [--threads N] [--skip-naive] [--device auto]

The configuration comes from the protocol registry (``benchmarks.plan``); the project path (the
protocol's own plan run by the study engine) and the naive path each run in a subprocess of their own
(``benchmarks.workers``); the ceilings are measured in this process at the same thread count; the
analysis, targets and Markdown are ``benchmarks.report``. Writes ``--output`` (JSON) and the same
name with ``.md``; every path in them is relative to the repository, and ``environment`` holds the
code's commit, dirty flag and source hash.

``--quick`` runs the synthetic datasets, one seed and two epochs: seconds, every code path, numbers
that mean nothing. Without it: MNIST and CIFAR-10, the protocol's seeds, its committed tuning.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from benchmarks.ceilings import measure_ceilings
from benchmarks.plan import add_plan_arguments, plan_from_args
from benchmarks.report import build_report, machine_info, report_markdown, summary_text
from benchmarks.workers import log, run_naive, run_project
from synthlib.atomic import write_text_atomic

DEFAULT_OUTPUT = Path("results/benchmark.json")
DEFAULT_STUDY_TIMING = Path("results/study_timing.json")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_benchmark", description=__doc__.split("\n\n")[0])
    add_plan_arguments(parser)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON report (default %(default)s)")
    parser.add_argument("--skip-naive", action="store_true", help="do not time the naive path")
    parser.add_argument(
        "--study-timing",
        type=Path,
        default=DEFAULT_STUDY_TIMING,
        help="run_all.sh's timing of the whole study, for the whole_study_from_scratch_s target (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be positive, got {args.threads}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plan_from_args(args)
    device = torch.device(plan.device)
    machine = machine_info(device)
    log(
        f"{plan.mode} benchmark of protocol {plan.protocol.name!r}: {len(plan.datasets)} datasets x "
        f"{len(plan.methods)} methods x {len(plan.seeds)} seeds on {machine.device_name}"
    )
    ceilings = measure_ceilings(device, quick=plan.quick)
    log(f"ceilings: matmul {ceilings.matmul_gflops:.1f} GFLOP/s, bandwidth {ceilings.bandwidth_gbs:.1f} GB/s")
    project = run_project(plan)
    naive = None if args.skip_naive else run_naive(plan)
    timing = json.loads(args.study_timing.read_text()) if args.study_timing.exists() else None
    report = build_report(plan, ceilings, project, naive, machine, timing)
    output: Path = args.output
    write_text_atomic(output, json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    write_text_atomic(output.with_suffix(".md"), report_markdown(report))
    print(summary_text(report))
    print(f"\nwritten: {output} and {output.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
