"""Benchmark of the paper protocol on this machine: phase times, FLOP rates against the machine's
ceilings, a naive implementation for comparison, peak memory, and the project's performance targets.

    python -m benchmarks.run_benchmark [--quick] [--output results/benchmark.json] [--data DIR]
                                       [--threads N] [--tuning-dir DIR] [--skip-naive] [--device auto]

The project path (``synthlib.experiment.run_study`` into a fresh temporary runs folder, then
``synthlib.tables.summarise``) and the naive path (``benchmarks.naive``) each run in a subprocess of
their own (``--worker project`` / ``--worker naive``, JSON on stdout), so that each one's peak resident
memory is its own. The ceilings are measured in this process, at the same thread count.

``--quick`` runs the synthetic datasets, one seed and two epochs: seconds, every code path, numbers
that mean nothing. Without it: MNIST and CIFAR-10, seeds 0, 1, 2, the committed tuning's settings.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from benchmarks.ceilings import Ceilings, measure_ceilings
from benchmarks.flops import PHASES_WITH_FLOPS, RunShape, naive_run_flops, phase_flops
from benchmarks.naive import naive_run
from synthlib.columns import PAPER_METHODS, Method
from synthlib.data import DATA_ENV_VAR, PAPER_PER_CLASS, ImageDataset, load_dataset
from synthlib.device import describe_device, resolve_device
from synthlib.engine import RunContext, execute
from synthlib.experiment import RunConfig, cnn_jobs
from synthlib.records import RunRecord
from synthlib.tables import summarise
from synthlib.training import TrainConfig
from synthlib.tuning import load_tuning

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = 1
PAPER_DATASETS = ("mnist", "cifar10")
PAPER_SEEDS: tuple[int, ...] = (0, 1, 2)
QUICK_DATASETS = {"synthetic_gray": "mnist", "synthetic_rgb": "cifar10"}  # dataset -> tuning file it borrows
QUICK_SEEDS: tuple[int, ...] = (0,)
QUICK_EPOCHS = 2
TUNING_DIRS = ("results/paper/tuning", "results/tuning")  # default --tuning-dir: the first that exists
TIMING_KEYS = ("split_s", "features_s", "fit_s", "test_features_s", "test_eval_s", "wall_time_s")
Run = dict[str, Any]  # one run as a worker reports it (see project_run_row, naive.NaiveRun)
NOTES = (
    "project phases come from each RunRecord's timing (split_s, features_s, fit_s, test_features_s, test_eval_s); "
    "a key the library does not record counts as 0 s",
    "frozen-feature extraction = features_s + test_features_s of frozen runs (train, val and full test set); "
    "evaluation = test_eval_s of all runs (classifying the full test sets)",
    "run subtotals: a project run's wall_time_s including the split preparation charged to it; a naive run's wall "
    "including its setup; data loading is outside both",
    "end to end: from the first load_dataset to the built table inside the worker process (interpreter start-up "
    "and imports excluded)",
    "FLOPs (benchmarks/flops.py): conv 2*H*W*Cin*k*k*n per image, FC 2*in*out per layer; training 3x forward, "
    "the fully trained conv 2x (no input gradient); pooling, ReLU, loss and optimiser not counted",
    "peak RSS: ru_maxrss of each path's worker process, Python interpreter and libraries included",
)
PHASE_LABELS = {
    "data_loading": "data loading",
    "data_preparation": "data preparation",
    "frozen_feature_extraction": "frozen-feature extraction (incl. test set)",
    "fc_training": "FC training (frozen)",
    "full_training": "full training",
    "evaluation": "evaluation (full test sets)",
    "table_building": "table building",
    "unattributed": "unattributed (model build, records, ...)",
    "end_to_end": "end to end",
}


def log(message: str) -> None:
    """One progress line on stderr (stdout of a worker carries only its JSON)."""
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The configuration both paths run: datasets, seeds, methods and each dataset's TrainConfigs."""

    quick: bool
    datasets: tuple[str, ...]
    seeds: tuple[int, ...]
    train_configs: dict[str, dict[str, TrainConfig]]
    tuning_sources: dict[str, str]
    tuning_dir: str
    data_root: str
    device: str
    threads: int
    per_class: int = PAPER_PER_CLASS
    val_per_class: int = PAPER_PER_CLASS
    methods: tuple[Method, ...] = field(default=PAPER_METHODS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": "quick" if self.quick else "full",
            "datasets": list(self.datasets),
            "seeds": list(self.seeds),
            "methods": [method.name for method in self.methods],
            "per_class": self.per_class,
            "val_per_class": self.val_per_class,
            "train_configs": {
                name: {regime: config.to_dict() for regime, config in configs.items()}
                for name, configs in self.train_configs.items()
            },
            "tuning_sources": self.tuning_sources,
            "data_root": self.data_root,
            "device": self.device,
            "threads": self.threads,
        }


def default_data_root() -> Path:
    """``$SYNTHLIB_DATA``, else the first of ``../shared/data``, ``shared/data``, ``data`` holding mnist.npz."""
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR])
    candidates = [REPO_ROOT.parent / "shared" / "data", REPO_ROOT / "shared" / "data", REPO_ROOT / "data"]
    return next((path for path in candidates if (path / "mnist.npz").exists()), REPO_ROOT / "data")


def resolve_tuning_dir(tuning_dir: str | None) -> Path:
    """The given folder, else the first of ``TUNING_DIRS`` (in the repository) that exists."""
    if tuning_dir:
        return Path(tuning_dir).resolve()
    candidates = [REPO_ROOT / relative for relative in TUNING_DIRS]
    return next((path for path in candidates if path.is_dir()), candidates[-1])


def quick_configs(tuning_dir: Path, source: str) -> tuple[dict[str, TrainConfig], str]:
    """A real dataset's tuned settings (or defaults if its file is absent), shrunk to ``QUICK_EPOCHS`` epochs."""
    path = tuning_dir / f"{source}.json"
    if path.exists():
        selected, origin = load_tuning(path).selected, str(path)
    else:
        selected = {"frozen": TrainConfig(input_norm="standardize"), "trained": TrainConfig(input_norm="unit")}
        origin = "TrainConfig defaults"
    shrunk = {regime: replace(config, epochs=QUICK_EPOCHS) for regime, config in selected.items()}
    return shrunk, f"{origin} with epochs={QUICK_EPOCHS}"


def build_plan(args: argparse.Namespace) -> Plan:
    """The configuration named by the command line (the same in every process of one benchmark)."""
    tuning_dir = resolve_tuning_dir(args.tuning_dir)
    configs: dict[str, dict[str, TrainConfig]] = {}
    sources: dict[str, str] = {}
    if args.quick:
        datasets, seeds = tuple(QUICK_DATASETS), QUICK_SEEDS
        for name, source in QUICK_DATASETS.items():
            configs[name], sources[name] = quick_configs(tuning_dir, source)
    else:
        datasets, seeds = PAPER_DATASETS, PAPER_SEEDS
        for name in datasets:
            path = tuning_dir / f"{name}.json"
            configs[name], sources[name] = load_tuning(path).selected, str(path)
    return Plan(
        quick=args.quick,
        datasets=datasets,
        seeds=seeds,
        train_configs=configs,
        tuning_sources=sources,
        tuning_dir=str(tuning_dir),
        data_root=str(Path(args.data).resolve() if args.data else default_data_root()),
        device=str(resolve_device(args.device)),
        threads=args.threads,
    )


# --- workers (each in its own process) --------------------------------------------------------------


def timed_load(name: str, root: str) -> tuple[ImageDataset, float]:
    """``load_dataset`` and its wall time."""
    started = time.perf_counter()
    data = load_dataset(name, root)
    return data, time.perf_counter() - started


def project_run_row(record: RunRecord, data: ImageDataset, regimes: dict[str, str]) -> Run:
    """One project run as the benchmark keeps it: result, sizes and the library's phase timings."""
    return {
        "dataset": record.dataset,
        "method": record.method,
        "regime": regimes[record.method],
        "seed": record.seed,
        "test_accuracy": record.test_accuracy,
        "val_accuracy": record.val_accuracy,
        "n_train": record.n_train,
        "n_val": record.n_val,
        "n_test": record.n_test,
        "epochs": int(record.config["train"]["epochs"]),
        "in_channels": int(data.x_train.shape[3]),
        "image_size": int(data.x_train.shape[1]),
        "timing": {key: float(record.timing.get(key, 0.0)) for key in TIMING_KEYS},
        "timing_keys_recorded": sorted(key for key in TIMING_KEYS if key in record.timing),
    }


def project_worker(plan: Plan) -> dict[str, Any]:
    """The paper protocol as the project runs it: load, ``run_study`` per dataset, ``summarise``."""
    regimes = {method.name: method.regime for method in plan.methods}
    device = torch.device(plan.device)
    loading: dict[str, float] = {}
    studies: dict[str, float] = {}
    runs: list[Run] = []
    records: list[RunRecord] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="synthlib-benchmark-runs-") as runs_dir:
        for name in plan.datasets:
            data, loading[name] = timed_load(name, plan.data_root)
            log(f"project: loaded {name} in {loading[name]:.2f} s")
            study_started = time.perf_counter()
            configs = [
                (RunConfig(name, m, seed, plan.train_configs[name][m.regime], plan.per_class, plan.val_per_class), "")
                for seed in plan.seeds
                for m in plan.methods
            ]
            outcome = execute(
                cnn_jobs("benchmark", Path(runs_dir), configs),
                RunContext(data, device),
                lambda line: log(f"project: {line}"),
            )
            found = outcome.records
            studies[name] = time.perf_counter() - study_started
            outcome.raise_failures()
            runs.extend(project_run_row(record, data, regimes) for record in found)
            records.extend(found)
            del data
        table_started = time.perf_counter()
        table = summarise(records, [method.name for method in plan.methods])
        table_s = time.perf_counter() - table_started
        wall_s = time.perf_counter() - started
    log(f"project: table built in {table_s:.3f} s; end to end {wall_s:.1f} s")
    return {
        "loading_s": loading,
        "study_s": studies,
        "table_s": table_s,
        "wall_s": wall_s,
        "runs": runs,
        "table": table.to_dict(orient="records"),
    }


def naive_worker(plan: Plan) -> dict[str, Any]:
    """The same runs the naive way (``benchmarks.naive``), each timed."""
    device = torch.device(plan.device)
    loading: dict[str, float] = {}
    runs: list[Run] = []
    started = time.perf_counter()
    for name in plan.datasets:
        data, loading[name] = timed_load(name, plan.data_root)
        log(f"naive: loaded {name} in {loading[name]:.2f} s")
        for seed in plan.seeds:
            for method in plan.methods:
                config = plan.train_configs[name][method.regime]
                run = naive_run(data, method, seed, config, plan.per_class, plan.val_per_class, device)
                log(
                    f"naive: {name} {method.name} seed={seed}: test accuracy {run.test_accuracy:.4f} "
                    f"({run.timing['wall_s']:.1f} s)"
                )
                runs.append(run.to_dict())
        del data
    return {"loading_s": loading, "wall_s": time.perf_counter() - started, "runs": runs}


WORKERS: dict[str, Callable[[Plan], dict[str, Any]]] = {"project": project_worker, "naive": naive_worker}


def peak_memory(device: torch.device) -> dict[str, int | None]:
    """This process's peak resident set (``ru_maxrss``, KiB on Linux) and, on a GPU, peak allocated bytes."""
    gpu = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {"peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "gpu_peak_allocated_bytes": gpu}


def run_worker_here(kind: str, plan: Plan) -> None:
    """Body of ``--worker KIND``: run it and print its result, with peak memory, as one JSON line."""
    result = WORKERS[kind](plan)
    result.update(peak_memory(torch.device(plan.device)))
    print(json.dumps(finite(result)), flush=True)


def worker_command(kind: str, plan: Plan) -> list[str]:
    """The command line of a worker subprocess for ``plan``."""
    command = [sys.executable, "-m", "benchmarks.run_benchmark", "--worker", kind, "--threads", str(plan.threads)]
    command += ["--device", plan.device, "--data", plan.data_root, "--tuning-dir", plan.tuning_dir]
    return command + (["--quick"] if plan.quick else [])


def run_worker(kind: str, plan: Plan) -> dict[str, Any]:
    """Run ``--worker KIND`` in a subprocess (its log lines pass through on stderr) and parse its JSON."""
    log(f"starting the {kind} path in a subprocess")
    completed = subprocess.run(worker_command(kind, plan), cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"the {kind} worker failed with exit status {completed.returncode}")
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])


# --- analysis -------------------------------------------------------------------------------------


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (strict JSON), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def split_in_wall(project: dict[str, Any], tolerance_s: float = 1e-3) -> bool:
    """Whether the library's ``wall_time_s`` includes the run's ``split_s`` (as the library documents it).

    A wall shorter than split plus the run's other phases proves it does not; then the split is added.
    """
    inner = ("split_s", "features_s", "fit_s", "test_features_s", "test_eval_s")
    return all(
        run["timing"]["wall_time_s"] + tolerance_s >= sum(run["timing"][key] for key in inner)
        for run in project["runs"]
    )


def project_run_seconds(run: Run, includes_split: bool) -> float:
    """A project run's time: its wall (training and test) including the split preparation charged to it."""
    timing = run["timing"]
    return timing["wall_time_s"] + (0.0 if includes_split else timing["split_s"])


def sum_timing(runs: Sequence[Run], *keys: str) -> float:
    return sum(run["timing"][key] for run in runs for key in keys)


def by_regime(runs: Sequence[Run], regime: str) -> list[Run]:
    return [run for run in runs if run["regime"] == regime]


def phase_entry(seconds: float, flops: int | None, ceiling_gflops: float) -> dict[str, Any]:
    """Seconds, FLOPs, achieved GFLOP/s and its fraction of the matmul ceiling (None where not meaningful)."""
    rate = flops / seconds / 1e9 if flops and seconds > 0 else None
    return {
        "seconds": seconds,
        "flops": flops,
        "gflops_per_s": rate,
        "fraction_of_matmul_ceiling": ratio(rate, ceiling_gflops),
    }


def project_phases(project: dict[str, Any], ceiling_gflops: float) -> dict[str, dict[str, Any]]:
    """The project path's phases. Test-set feature extraction of frozen runs counts as frozen-feature
    extraction; evaluation is classifying the test sets (the head on features, or the whole net)."""
    runs = project["runs"]
    frozen, trained = by_regime(runs, "frozen"), by_regime(runs, "trained")
    flops = {phase: sum(phase_flops(RunShape.from_run(run))[phase] for run in runs) for phase in PHASES_WITH_FLOPS}
    seconds = {
        "data_loading": sum(project["loading_s"].values()),
        "data_preparation": sum_timing(runs, "split_s"),
        "frozen_feature_extraction": sum_timing(frozen, "features_s", "test_features_s"),
        "fc_training": sum_timing(frozen, "fit_s"),
        "full_training": sum_timing(trained, "fit_s"),
        "evaluation": sum_timing(runs, "test_eval_s"),
        "table_building": project["table_s"],
    }
    seconds["unattributed"] = max(0.0, project["wall_s"] - sum(seconds.values()))
    seconds["end_to_end"] = project["wall_s"]
    flops_of: dict[str, int | None] = {**flops, "end_to_end": sum(flops.values())}
    return {name: phase_entry(value, flops_of.get(name), ceiling_gflops) for name, value in seconds.items()}


def extraction_by_dataset(project: dict[str, Any], ceiling_gflops: float) -> dict[str, dict[str, Any]]:
    """Frozen-feature extraction per dataset: its seconds, FLOPs and fraction of the matmul ceiling
    (a one-channel and a three-channel convolution differ much in arithmetic intensity)."""
    frozen = by_regime(project["runs"], "frozen")
    result = {}
    for dataset in dict.fromkeys(run["dataset"] for run in frozen):
        runs = [run for run in frozen if run["dataset"] == dataset]
        flops = sum(phase_flops(RunShape.from_run(run))["frozen_feature_extraction"] for run in runs)
        result[dataset] = phase_entry(sum_timing(runs, "features_s", "test_features_s"), flops, ceiling_gflops)
    return result


def subtotal(runs: Sequence[Run], seconds: Callable[[Run], float], flops: Callable[[Run], int]) -> dict[str, Any]:
    """Runs, seconds and FLOPs of a group of runs."""
    return {"runs": len(runs), "seconds": sum(map(seconds, runs)), "flops": sum(map(flops, runs))}


def project_flops(run: Run) -> int:
    return sum(phase_flops(RunShape.from_run(run)).values())


def naive_flops(run: Run) -> int:
    return naive_run_flops(RunShape.from_run(run))


def subtotals(
    runs: Sequence[Run], seconds: Callable[[Run], float], flops: Callable[[Run], int]
) -> dict[str, dict[str, Any]]:
    """Subtotals of the frozen columns, the fully trained column and all runs."""
    return {
        "frozen_columns": subtotal(by_regime(runs, "frozen"), seconds, flops),
        "fully_trained": subtotal(by_regime(runs, "trained"), seconds, flops),
        "all_runs": subtotal(runs, seconds, flops),
    }


def speedups(project: dict[str, Any], naive: dict[str, Any] | None) -> dict[str, float | None]:
    """Naive seconds over project seconds: frozen columns, fully trained, all runs, and end to end."""
    if naive is None:
        return dict.fromkeys(("frozen_columns", "fully_trained", "overall", "end_to_end"))
    ours, theirs = project["subtotals"], naive["subtotals"]
    return {
        "frozen_columns": ratio(theirs["frozen_columns"]["seconds"], ours["frozen_columns"]["seconds"]),
        "fully_trained": ratio(theirs["fully_trained"]["seconds"], ours["fully_trained"]["seconds"]),
        "overall": ratio(theirs["all_runs"]["seconds"], ours["all_runs"]["seconds"]),
        "end_to_end": ratio(naive["wall_s"], project["wall_s"]),
    }


def mean_accuracies(runs: Sequence[Run]) -> dict[tuple[str, str], float]:
    """Mean test accuracy per (dataset, method)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for run in runs:
        groups.setdefault((run["dataset"], run["method"]), []).append(run["test_accuracy"])
    return {key: sum(values) / len(values) for key, values in groups.items()}


def accuracy_comparison(project: dict[str, Any], naive: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per (dataset, method): mean test accuracy of both paths and their difference, in percent."""
    ours = mean_accuracies(project["runs"])
    theirs = mean_accuracies(naive["runs"]) if naive is not None else {}
    rows = []
    for (dataset, method), value in ours.items():
        other = theirs.get((dataset, method))
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "project_mean_pct": 100 * value,
                "naive_mean_pct": None if other is None else 100 * other,
                "difference_pp": None if other is None else 100 * (value - other),
            }
        )
    return rows


def target(comparison: str, threshold: float, value: float | None, unit: str, note: str = "") -> dict[str, Any]:
    """A performance target and whether ``value`` meets it (None when not measured)."""
    met = None if value is None else (value >= threshold if comparison == ">=" else value < threshold)
    return {"comparison": comparison, "threshold": threshold, "unit": unit, "value": value, "met": met, "note": note}


def evaluate_targets(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The project's performance targets, each with its measured value."""
    project = report["project"]
    quick_note = "quick mode: synthetic data, not the paper protocol" if report["mode"] == "quick" else ""
    extraction = project["phases"]["frozen_feature_extraction"]["fraction_of_matmul_ceiling"]
    return {
        "frozen_columns_speedup_vs_naive": target(
            ">=", 10.0, report["speedups"]["frozen_columns"], "x", "" if report["naive"] else "naive path skipped"
        ),
        "frozen_feature_extraction_fraction_of_matmul_ceiling": target(
            ">=", 0.5, extraction, "fraction", "" if extraction is not None else "library records no features_s"
        ),
        "paper_protocol_end_to_end_s": target("<", 120.0, project["end_to_end_s"], "s", quick_note),
        "project_peak_rss_gb": target("<", 4.0, report["peak_rss"]["project_gb"], "GB (1e9 bytes)"),
    }


def kib_to_gb(kib: int | None) -> float | None:
    return None if kib is None else kib * 1024 / 1e9


def summarise_project(raw: dict[str, Any], ceilings: Ceilings) -> dict[str, Any]:
    """The project worker's output with phases and subtotals added."""
    includes_split = split_in_wall(raw)
    return {
        **raw,
        "end_to_end_s": raw["wall_s"],
        "wall_time_includes_split": includes_split,
        "library_phase_timing": all(len(run["timing_keys_recorded"]) == len(TIMING_KEYS) for run in raw["runs"]),
        "phases": project_phases(raw, ceilings.matmul_gflops),
        "subtotals": subtotals(raw["runs"], lambda run: project_run_seconds(run, includes_split), project_flops),
    }


def summarise_naive(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The naive worker's output with subtotals and per-phase totals added."""
    if raw is None:
        return None
    phases = {key: sum_timing(raw["runs"], key) for key in ("setup_s", "fit_s", "val_eval_s", "test_eval_s")}
    return {
        **raw,
        "end_to_end_s": raw["wall_s"],
        "phases_s": {"data_loading_s": sum(raw["loading_s"].values()), **phases},
        "subtotals": subtotals(raw["runs"], lambda run: run["timing"]["wall_s"], naive_flops),
    }


# --- machine and report ---------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (else what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> dict[str, Any]:
    """The checkout's commit and whether the working tree differs from it."""

    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    return {"commit": commit or None, "dirty": bool(git("status", "--porcelain")) if commit else None}


def machine_info(device: torch.device) -> dict[str, Any]:
    """CPU, cores, threads, torch, device and the load average when the benchmark started."""
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch_version": torch.__version__,
        "device": str(device),
        "device_name": describe_device(device),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
    }


def build_report(
    plan: Plan,
    ceilings: Ceilings,
    project_raw: dict[str, Any],
    naive_raw: dict[str, Any] | None,
    machine: dict[str, Any],
) -> dict[str, Any]:
    """Everything the benchmark measured, as one JSON-ready dict."""
    project = summarise_project(project_raw, ceilings)
    naive = summarise_naive(naive_raw)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "notes": list(NOTES),
        "mode": "quick" if plan.quick else "full",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": {**machine, "load_average_at_end": list(os.getloadavg())},
        "configuration": plan.to_dict(),
        "ceilings": ceilings.to_dict(),
        "project": project,
        "naive": naive,
        "speedups": speedups(project, naive),
        "accuracy": accuracy_comparison(project, naive),
        "peak_rss": {
            "project_kib": project["peak_rss_kib"],
            "project_gb": kib_to_gb(project["peak_rss_kib"]),
            "naive_kib": naive["peak_rss_kib"] if naive else None,
            "naive_gb": kib_to_gb(naive["peak_rss_kib"]) if naive else None,
        },
    }
    report["project"]["feature_extraction_by_dataset"] = extraction_by_dataset(project_raw, ceilings.matmul_gflops)
    report["targets"] = evaluate_targets(report)
    return finite(report)


def report_markdown(report: dict[str, Any]) -> str:
    """The headline figures and the phase table as Markdown (the README shows this file)."""
    machine, ceilings, targets = report["machine"], report["ceilings"], report["targets"]
    phases = report["project"]["phases"]

    def met(name: str) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[targets[name]["met"]]

    config = report["configuration"]
    n_runs = len(config["datasets"]) * len(config["methods"]) * len(config["seeds"])
    extraction_fraction = fmt(phases["frozen_feature_extraction"]["fraction_of_matmul_ceiling"], ".0%")
    by_dataset = report["project"].get("feature_extraction_by_dataset", {})
    extraction = "; ".join(
        f"{dataset} {fmt(entry['fraction_of_matmul_ceiling'], '.0%')}" for dataset, entry in by_dataset.items()
    )
    lines = [
        f"Measured {report['date'][:10]} on {machine['cpu_model']} ({ceilings['threads']} threads, "
        f"{machine['device_name']}), torch {machine['torch_version']}, {report['mode']} mode. Ceilings: "
        f"fp32 matmul {ceilings['matmul_gflops']:.0f} GFLOP/s, copy bandwidth {ceilings['bandwidth_gbs']:.1f} GB/s.",
        "",
        f"- Paper protocol, {' + '.join(config['datasets'])}, {len(config['methods'])} columns × "
        f"{len(config['seeds'])} seeds ({n_runs} runs), data loading to table: "
        f"**{phases['end_to_end']['seconds']:.0f} s** (target < 120 s: {met('paper_protocol_end_to_end_s')}).",
        f"- Frozen columns against the straightforward `Dataset`/`DataLoader` loop: "
        f"**{fmt(report['speedups']['frozen_columns'], '.1f')}× faster** "
        f"(target ≥ 10×: {met('frozen_columns_speedup_vs_naive')}); all runs "
        f"{fmt(report['speedups']['overall'], '.1f')}×.",
        f"- Frozen-feature extraction at **{extraction_fraction}** of the matmul ceiling (target ≥ 50%: "
        f"{met('frozen_feature_extraction_fraction_of_matmul_ceiling')}); "
        f"per dataset: {extraction}.",
        f"- Peak resident memory **{fmt(report['peak_rss']['project_gb'], '.2f')} GB** "
        f"(target < 4 GB: {met('project_peak_rss_gb')}).",
        "",
        "| phase | seconds | GFLOP | GFLOP/s | of matmul ceiling |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, entry in phases.items():
        flops = entry["flops"] / 1e9 if entry["flops"] else None
        lines.append(
            f"| {PHASE_LABELS[name]} | {entry['seconds']:.2f} | {fmt(flops, '.1f')} | "
            f"{fmt(entry['gflops_per_s'], '.1f')} | {fmt(entry['fraction_of_matmul_ceiling'], '.1%')} |"
        )
    return "\n".join(lines) + "\n"


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def phase_lines(report: dict[str, Any]) -> list[str]:
    """The project's phase table."""
    lines = [f"{'phase':44} {'seconds':>9} {'GFLOP':>9} {'GFLOP/s':>9} {'% ceiling':>10}"]
    for name, entry in report["project"]["phases"].items():
        flops = entry["flops"] / 1e9 if entry["flops"] else None
        fraction = entry["fraction_of_matmul_ceiling"]
        lines.append(
            f"{PHASE_LABELS[name]:44} {entry['seconds']:9.2f} {fmt(flops, '9.1f'):>9} "
            f"{fmt(entry['gflops_per_s'], '9.1f'):>9} {fmt(fraction, '.1%'):>10}"
        )
    return lines


def comparison_lines(report: dict[str, Any]) -> list[str]:
    """Project versus naive seconds and speed-ups per group of runs."""
    naive = report["naive"]
    lines = [f"{'runs':16} {'n':>3} {'project s':>10} {'naive s':>10} {'speed-up':>9}"]
    groups = (("frozen_columns", "frozen_columns"), ("fully_trained", "fully_trained"), ("all_runs", "overall"))
    for group, key in groups:
        ours = report["project"]["subtotals"][group]
        theirs = naive["subtotals"][group]["seconds"] if naive else None
        lines.append(
            f"{group:16} {ours['runs']:3d} {ours['seconds']:10.2f} {fmt(theirs, '10.2f'):>10} "
            f"{fmt(report['speedups'][key], '8.1f'):>8}x"
        )
    return lines


def accuracy_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"{'dataset':16} {'method':16} {'project %':>9} {'naive %':>9} {'diff pp':>8}"]
    for row in report["accuracy"]:
        lines.append(
            f"{row['dataset']:16} {row['method']:16} {row['project_mean_pct']:9.2f} "
            f"{fmt(row['naive_mean_pct'], '9.2f'):>9} {fmt(row['difference_pp'], '+8.2f'):>8}"
        )
    return lines


def target_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for name, entry in report["targets"].items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[entry["met"]]
        note = f"  ({entry['note']})" if entry["note"] else ""
        lines.append(
            f"{name:54} {fmt(entry['value'], '.3g'):>8} {entry['comparison']} {entry['threshold']:g} "
            f"{entry['unit']}: {verdict}{note}"
        )
    return lines


def print_summary(report: dict[str, Any]) -> None:
    """A short human-readable account of the report on stdout."""
    ceilings, machine, rss = report["ceilings"], report["machine"], report["peak_rss"]
    print(
        f"benchmark ({report['mode']}) on {machine['cpu_model']}, {machine['device_name']}, "
        f"torch {machine['torch_version']}, commit {str(report['git']['commit'])[:10]}"
    )
    print(
        f"ceilings: fp32 matmul {ceilings['matmul_gflops']:.1f} GFLOP/s ({ceilings['matmul_size']}^2), "
        f"copy bandwidth {ceilings['bandwidth_gbs']:.1f} GB/s, {ceilings['threads']} threads"
    )
    if not report["project"]["library_phase_timing"]:
        print("note: the library did not record every phase timing; missing phases count as 0 s")
    sections = (phase_lines, comparison_lines, accuracy_lines, target_lines)
    for lines in sections:
        print()
        print("\n".join(lines(report)))
    print(f"\npeak RSS: project {fmt(rss['project_gb'], '.2f')} GB, naive {fmt(rss['naive_gb'], '.2f')} GB")


# --- command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="synthetic data, one seed, 2 epochs (seconds)")
    parser.add_argument("--output", default="results/benchmark.json", help="JSON report (default %(default)s)")
    parser.add_argument("--data", default=None, help="dataset folder (default $SYNTHLIB_DATA, else ../shared/data)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default torch's own choice)")
    parser.add_argument("--tuning-dir", default=None, help=f"folder of <dataset>.json (default {TUNING_DIRS})")
    parser.add_argument("--skip-naive", action="store_true", help="do not time the naive path")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default %(default)s)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be positive, got {args.threads}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(args.threads)
    plan = build_plan(args)
    if args.worker:
        run_worker_here(args.worker, plan)
        return 0
    device = torch.device(plan.device)
    machine = machine_info(device)
    log(
        f"{plan.to_dict()['mode']} benchmark: {len(plan.datasets)} datasets x {len(plan.methods)} methods x "
        f"{len(plan.seeds)} seeds on {machine['device_name']}"
    )
    ceilings = measure_ceilings(device, quick=plan.quick)
    log(f"ceilings: matmul {ceilings.matmul_gflops:.1f} GFLOP/s, bandwidth {ceilings.bandwidth_gbs:.1f} GB/s")
    project = run_worker("project", plan)
    naive = None if args.skip_naive else run_worker("naive", plan)
    report = build_report(plan, ceilings, project, naive, machine)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(report_markdown(report))
    print_summary(report)
    print(f"\nwritten: {output} and {output.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
