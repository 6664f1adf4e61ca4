"""The command line: ``python -m synthlib <command> ...``; ``--help`` at every level.

- ``protocols``: the registered protocols (``list``, ``show``, ``needs-tuning``, ``order``, ``missing``),
  as ``run_all.sh`` asks for them;
- ``records``: the records check (``check``: is every record current and traceable to a commit, and
  which machines made them) and ``compare`` (two results folders of the same configurations);
- ``curves``: the learning curves (``run``, ``show``);
- ``evaluate``: a researcher's own sampler against the whole study (``synthlib.evaluate``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from synthlib.all_studies import dependency_order
from synthlib.audit import check_results, machine_lines, machine_summary
from synthlib.data import DatasetError, load_dataset
from synthlib.evaluate import DEFAULT_DATASETS, DEFAULT_SIZES, evaluate, parse_params
from synthlib.launch import LaunchError, add_launch_arguments, launch_settings
from synthlib.learning_curves import CURVE_STUDIES, GRIDS, LEARNING_CURVES
from synthlib.protocols import get_protocol, protocol_names
from synthlib.reproduction import compare_folders
from synthlib.runner import run_study


def _command(commands: argparse._SubParsersAction, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example: {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _protocols_parser(commands: argparse._SubParsersAction) -> None:
    parser = _command(commands, "protocols", "the registered protocols", "python -m synthlib protocols list")
    sub = parser.add_subparsers(dest="action", required=True)
    _command(sub, "list", "the registered protocols, one name a line", "python -m synthlib protocols list")
    _command(
        sub, "show", "one protocol's title, seeds and selection", "python -m synthlib protocols show sound"
    ).add_argument("name")
    _command(
        sub,
        "needs-tuning",
        "exit status 0 if the protocol chooses its settings on validation first, else 1",
        "python -m synthlib protocols needs-tuning paper",
    ).add_argument("name")
    _command(
        sub,
        "order",
        "the protocols named, with every protocol they take results from, each after what it requires",
        "python -m synthlib protocols order sound   # prints: paper sound",
    ).add_argument("names", nargs="+")
    _command(
        sub,
        "missing",
        "the protocols without run records in RESULTS_DIR (exit status 0 when there is none)",
        "python -m synthlib protocols missing results",
    ).add_argument("results_dir", type=Path)


def _records_parser(commands: argparse._SubParsersAction) -> None:
    parser = _command(commands, "records", "the run records", "python -m synthlib records check results")
    sub = parser.add_subparsers(dest="action", required=True)
    _command(
        sub,
        "check",
        "list stale, dirty-tree and unreadable records (exit status 1 if there is any)",
        "python -m synthlib records check results",
    ).add_argument("results_dir", type=Path)
    compare = _command(
        sub,
        "compare",
        "compare two results folders of the same configurations: bit-identical records, largest differences, "
        "changed table cells and verdict judgements (exit status 1 if a cell or judgement changed)",
        "python -m synthlib records compare results /tmp/rerun/results",
    )
    compare.add_argument("a", type=Path, help="a results folder, e.g. the committed results")
    compare.add_argument("b", type=Path, help="a results folder of the same configurations, e.g. a rerun")
    compare.add_argument("--all", action="store_true", help="list every column, also those only one folder has")


def _curves_parser(commands: argparse._SubParsersAction) -> None:
    parser = _command(commands, "curves", "the learning curves", "python -m synthlib curves run mnist cifar10")
    sub = parser.add_subparsers(dest="action", required=True)
    run = _command(
        sub,
        "run",
        "run the learning curves of each dataset (finished records are reused)",
        "python -m synthlib curves run --grid full --device cuda mnist cifar10",
    )
    run.add_argument("datasets", nargs="+")
    run.add_argument(
        "--study",
        default=LEARNING_CURVES.name,
        choices=sorted(CURVE_STUDIES),
        help=f"which learning curves (default {LEARNING_CURVES.name}; learning_curves_plateau: every run stopped "
        "on its own validation split)",
    )
    run.add_argument("--grid", default="cpu", choices=sorted(GRIDS))
    run.add_argument("--results", default="results", type=Path)
    run.add_argument("--device", default="auto")
    run.add_argument("--seeds", type=int, nargs="*", default=None)
    run.add_argument("--columns", nargs="*", default=None)
    run.add_argument("--sizes", type=int, nargs="*", default=None)
    add_launch_arguments(run)
    _command(sub, "show", "the columns and the grids", "python -m synthlib curves show")


def _evaluate_parser(commands: argparse._SubParsersAction) -> None:
    parser = _command(
        commands,
        "evaluate",
        "does my kernel prior help? a sampler of your own against the whole study",
        "python -m synthlib evaluate examples/laplace_sampler.py:laplace --param scale=0.5",
    )
    parser.description = (
        "Validate the sampler SPEC, run it as a frozen one-conv column of the learning curves (sound's rules and "
        "tuned frozen setting, the committed seeds, subsets and validation splits), compare it seed by seed with "
        "the committed records of the reference columns, and write report.md, learning_curves.png and the records."
    )
    parser.add_argument(
        "spec",
        metavar="SPEC",
        help="package.module:function, path/to/file.py:function, or a registered sampler's name; the function has "
        "the sampler signature fn(out_channels, in_channels, size, generator, **params) -> float32 Tensor",
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a keyword argument of the sampler"
    )
    parser.add_argument("--name", default=None, help="the column's name and label (default: the function's name)")
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS), metavar="DATASET")
    parser.add_argument(
        "--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES), metavar="N", help="training images per class"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=None, metavar="SEED", help="default: 0 1 2 3 4")
    parser.add_argument(
        "--results", type=Path, default=None, help="where its records and report go (default: results/evaluate/NAME)"
    )
    parser.add_argument(
        "--references",
        type=Path,
        default=Path("results"),
        help="the committed results: sound's tuned settings and the learning curves' records, read only",
    )
    parser.add_argument(
        "--against", nargs="+", default=[], metavar="COLUMN", help="learning-curve columns to compare with as well"
    )
    parser.add_argument("--data", type=Path, default=None, help="the dataset folder (default: $SYNTHLIB_DATA)")
    parser.add_argument("--device", default="auto")


def parser() -> argparse.ArgumentParser:
    """The whole command line."""
    main_parser = argparse.ArgumentParser(
        prog="python -m synthlib",
        description="synthlib: frozen CNN kernels sampled from biological synapse distributions, a reproducible study",
        epilog="example: python -m synthlib records check results",
    )
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _protocols_parser(commands)
    _records_parser(commands)
    _curves_parser(commands)
    _evaluate_parser(commands)
    return main_parser


def _protocols(args: argparse.Namespace) -> int:
    if args.action == "list":
        print("\n".join(protocol_names()))
        return 0
    if args.action == "missing":
        missing = [
            name for name in protocol_names() if not any(get_protocol(name).runs_dir(args.results_dir).glob("*/*.json"))
        ]
        print(" ".join(missing))
        return 0 if not missing else 1
    try:
        if args.action == "order":
            for name in args.names:
                get_protocol(name)
            print(" ".join(dependency_order(args.names)))
            return 0
        protocol = get_protocol(args.name)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if args.action == "needs-tuning":
        return 0 if protocol.needs_tuning else 1
    print(f"{protocol.name}: {protocol.title}; seeds {list(protocol.seeds)}; selection {protocol.selection}")
    if protocol.requires:
        print(f"{protocol.name} takes results from: {', '.join(protocol.requires)} (run first)")
    return 0


def _records(args: argparse.Namespace) -> int:
    if args.action == "compare":
        for folder in (args.a, args.b):
            if not folder.is_dir():
                print(f"no results folder at {folder}", flush=True)
                return 2
        lines, changed = compare_folders(args.a, args.b, args.all)
        print("\n".join(lines))
        return 1 if changed else 0
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


def _curves(args: argparse.Namespace) -> int:
    if args.action == "show":
        for column in LEARNING_CURVES.columns:
            print(f"{column.name:22s} {column.kind:9s} {column.label}")
        for study in CURVE_STUDIES.values():
            for grid in study.grids.values():
                print(f"{study.name}, grid {grid.name}: {grid.description}")
            if study.stopping is not None:
                print(f"{study.name}, training length: {study.stopping.describe()}")
        return 0
    failures = []
    try:
        settings = launch_settings(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for dataset in args.datasets:
        data = load_dataset(dataset)
        try:
            outcome = run_study(
                CURVE_STUDIES[args.study],
                data,
                args.results,
                settings,
                args.seeds,
                device=args.device,
                grid=args.grid,
                columns=args.columns,
                sizes=args.sizes,
            )
        except LaunchError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{dataset}: {outcome.ran} run(s), {outcome.reused} reused, {len(outcome.failures)} failed", flush=True)
        failures += outcome.failures
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _evaluate(args: argparse.Namespace) -> int:
    try:
        result = evaluate(
            args.spec,
            parse_params(args.param),
            args.name,
            args.datasets,
            args.sizes,
            args.seeds,
            args.results,
            args.references,
            args.against,
            args.data,
            args.device,
            log=lambda _: None,
        )
    except (ValueError, OSError, DatasetError) as error:  # a bad sampler, name, option or missing file: one line
        print(f"evaluate: {_one_line(error)}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # runs that failed: the run loop lists them
        print(f"evaluate: {error}", file=sys.stderr)
        return 1
    outcome = result.outcome
    print(f"{result.name}: {outcome.ran} run(s), {outcome.reused} reused; report: {result.folder / 'report.md'}")
    return 0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def main(argv: Sequence[str]) -> int:
    """Run the command line on ``argv``; returns the exit status."""
    args = parser().parse_args(list(argv))
    handlers = {"protocols": _protocols, "records": _records, "curves": _curves, "evaluate": _evaluate}
    return handlers[args.command](args)


__all__ = ["main", "parser"]
