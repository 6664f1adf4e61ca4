"""The benchmark's analysis: phases, FLOP rates against the ceilings, subtotals, speed-ups, accuracies,
peak memory, the project's performance targets, and the report as JSON, Markdown and a text summary.

Everything here is a pure function of the plan, the ceilings, the two workers' results and the
machine; nothing is measured here.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import torch

from benchmarks.allocator import KEEP_FREED
from benchmarks.ceilings import Ceilings
from benchmarks.flops import PHASES_WITH_FLOPS, naive_run_flops, phase_flops
from benchmarks.plan import BenchmarkPlan
from benchmarks.runs import PROJECT_TIMING_KEYS, BenchmarkRun
from benchmarks.study_timing import REFERENCE_MATMUL_GFLOPS, scaled_to_reference
from benchmarks.workers import NaiveResult, ProjectResult
from synthlib.device import describe_device
from synthlib.provenance import environment_info

SCHEMA = 2
"""2: ``environment`` (``synthlib.provenance.environment_info``) replaces ``git``; paths are relative."""
NOTES = (
    "project phases come from each RunRecord's timing (split_s, features_s, fit_s, test_features_s, test_eval_s); "
    "a key the library does not record counts as 0 s",
    "frozen-feature extraction = features_s + test_features_s of frozen runs (train, val and full test set); "
    "evaluation = test_eval_s of all runs (classifying the full test sets)",
    "run subtotals: a project run's wall_time_s including the split preparation charged to it; a naive run's wall "
    "including its setup; data loading is outside both",
    "end to end: from the first load_dataset to the built table inside the worker process (interpreter start-up, "
    "imports and copying the tuning files into the scratch results folder excluded)",
    "the project path runs the protocol's own plan (Protocol.plan, synthlib.engine.execute) for its CNN columns; "
    "the fixed-feature baselines are not part of the benchmark",
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


def kib_to_gb(kib: int | None) -> float | None:
    return None if kib is None else kib * 1024 / 1e9


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


# --- phases, subtotals, speed-ups -----------------------------------------------------------------


@dataclass(frozen=True)
class PhaseEntry:
    """Seconds, FLOPs, achieved GFLOP/s and its fraction of the matmul ceiling (None where not meaningful)."""

    seconds: float
    flops: int | None
    gflops_per_s: float | None
    fraction_of_matmul_ceiling: float | None

    @classmethod
    def of(cls, seconds: float, flops: int | None, ceiling_gflops: float) -> PhaseEntry:
        rate = flops / seconds / 1e9 if flops and seconds > 0 else None
        return cls(seconds, flops, rate, ratio(rate, ceiling_gflops))


@dataclass(frozen=True)
class Subtotal:
    """Runs, seconds and FLOPs of a group of runs."""

    runs: int
    seconds: float
    flops: int


@dataclass(frozen=True)
class Subtotals:
    frozen_columns: Subtotal
    fully_trained: Subtotal
    all_runs: Subtotal


def by_regime(runs: Sequence[BenchmarkRun], regime: str) -> list[BenchmarkRun]:
    return [run for run in runs if run.regime == regime]


def total_seconds(runs: Sequence[BenchmarkRun], *keys: str) -> float:
    return sum(run.seconds(*keys) for run in runs)


def split_in_wall(runs: Sequence[BenchmarkRun], tolerance_s: float = 1e-3) -> bool:
    """Whether the library's ``wall_time_s`` includes the run's ``split_s`` (as the library documents it).

    A wall shorter than split plus the run's other phases proves it does not; then the split is added.
    """
    inner = ("split_s", "features_s", "fit_s", "test_features_s", "test_eval_s")
    return all(run.timing["wall_time_s"] + tolerance_s >= run.seconds(*inner) for run in runs)


def project_flops(run: BenchmarkRun) -> int:
    return sum(phase_flops(run.shape).values())


def naive_flops(run: BenchmarkRun) -> int:
    return naive_run_flops(run.shape)


def subtotals(
    runs: Sequence[BenchmarkRun], seconds: Callable[[BenchmarkRun], float], flops: Callable[[BenchmarkRun], int]
) -> Subtotals:
    """Subtotals of the frozen columns, the fully trained column and all runs."""

    def subtotal(group: Sequence[BenchmarkRun]) -> Subtotal:
        return Subtotal(len(group), sum(map(seconds, group)), sum(map(flops, group)))

    return Subtotals(subtotal(by_regime(runs, "frozen")), subtotal(by_regime(runs, "trained")), subtotal(runs))


def project_phases(project: ProjectResult, ceiling_gflops: float) -> dict[str, PhaseEntry]:
    """The project path's phases. Test-set feature extraction of frozen runs counts as frozen-feature
    extraction; evaluation is classifying the test sets (the head on features, or the whole net)."""
    runs = project.runs
    frozen, trained = by_regime(runs, "frozen"), by_regime(runs, "trained")
    flops = {phase: sum(phase_flops(run.shape)[phase] for run in runs) for phase in PHASES_WITH_FLOPS}
    seconds = {
        "data_loading": sum(project.loading_s.values()),
        "data_preparation": total_seconds(runs, "split_s"),
        "frozen_feature_extraction": total_seconds(frozen, "features_s", "test_features_s"),
        "fc_training": total_seconds(frozen, "fit_s"),
        "full_training": total_seconds(trained, "fit_s"),
        "evaluation": total_seconds(runs, "test_eval_s"),
        "table_building": project.table_s,
    }
    seconds["unattributed"] = max(0.0, project.wall_s - sum(seconds.values()))
    seconds["end_to_end"] = project.wall_s
    flops_of: dict[str, int | None] = {**flops, "end_to_end": sum(flops.values())}
    return {name: PhaseEntry.of(value, flops_of.get(name), ceiling_gflops) for name, value in seconds.items()}


def extraction_by_dataset(runs: Sequence[BenchmarkRun], ceiling_gflops: float) -> dict[str, PhaseEntry]:
    """Frozen-feature extraction per dataset: its seconds, FLOPs and fraction of the matmul ceiling
    (a one-channel and a three-channel convolution differ much in arithmetic intensity)."""
    frozen = by_regime(runs, "frozen")
    result = {}
    for dataset in dict.fromkeys(run.dataset for run in frozen):
        group = [run for run in frozen if run.dataset == dataset]
        flops = sum(phase_flops(run.shape)["frozen_feature_extraction"] for run in group)
        result[dataset] = PhaseEntry.of(total_seconds(group, "features_s", "test_features_s"), flops, ceiling_gflops)
    return result


@dataclass(frozen=True)
class ProjectSummary:
    """The project worker's result with its phases and subtotals."""

    result: ProjectResult
    wall_time_includes_split: bool
    library_phase_timing: bool
    """Whether every run's record held every phase timing (a missing one counts as 0 s)."""
    phases: dict[str, PhaseEntry]
    subtotals: Subtotals
    feature_extraction_by_dataset: dict[str, PhaseEntry]

    @property
    def end_to_end_s(self) -> float:
        return self.result.wall_s

    def to_dict(self) -> dict[str, Any]:
        own = {key: value for key, value in asdict(self).items() if key != "result"}
        return {**self.result.to_dict(), "end_to_end_s": self.end_to_end_s, **own}


def summarise_project(project: ProjectResult, ceilings: Ceilings) -> ProjectSummary:
    includes_split = split_in_wall(project.runs)

    def seconds(run: BenchmarkRun) -> float:
        """A project run's wall (training and test) including the split preparation charged to it."""
        return run.timing["wall_time_s"] + (0.0 if includes_split else run.timing["split_s"])

    return ProjectSummary(
        result=project,
        wall_time_includes_split=includes_split,
        library_phase_timing=all(len(run.timing_keys_recorded) == len(PROJECT_TIMING_KEYS) for run in project.runs),
        phases=project_phases(project, ceilings.matmul_gflops),
        subtotals=subtotals(project.runs, seconds, project_flops),
        feature_extraction_by_dataset=extraction_by_dataset(project.runs, ceilings.matmul_gflops),
    )


@dataclass(frozen=True)
class NaiveSummary:
    """The naive worker's result with its subtotals and per-phase totals."""

    result: NaiveResult
    phases_s: dict[str, float]
    subtotals: Subtotals

    @property
    def end_to_end_s(self) -> float:
        return self.result.wall_s

    def to_dict(self) -> dict[str, Any]:
        own = {key: value for key, value in asdict(self).items() if key != "result"}
        return {**self.result.to_dict(), "end_to_end_s": self.end_to_end_s, **own}


def summarise_naive(naive: NaiveResult) -> NaiveSummary:
    phases = {key: total_seconds(naive.runs, key) for key in ("setup_s", "fit_s", "val_eval_s", "test_eval_s")}
    return NaiveSummary(
        result=naive,
        phases_s={"data_loading_s": sum(naive.loading_s.values()), **phases},
        subtotals=subtotals(naive.runs, lambda run: run.timing["wall_s"], naive_flops),
    )


@dataclass(frozen=True)
class Speedups:
    """Naive seconds over project seconds (None without the naive path)."""

    frozen_columns: float | None = None
    fully_trained: float | None = None
    overall: float | None = None
    end_to_end: float | None = None


def speedups(project: ProjectSummary, naive: NaiveSummary | None) -> Speedups:
    """Frozen columns, fully trained, all runs, and end to end."""
    if naive is None:
        return Speedups()
    ours, theirs = project.subtotals, naive.subtotals
    return Speedups(
        frozen_columns=ratio(theirs.frozen_columns.seconds, ours.frozen_columns.seconds),
        fully_trained=ratio(theirs.fully_trained.seconds, ours.fully_trained.seconds),
        overall=ratio(theirs.all_runs.seconds, ours.all_runs.seconds),
        end_to_end=ratio(naive.end_to_end_s, project.end_to_end_s),
    )


@dataclass(frozen=True)
class AccuracyRow:
    """Mean test accuracy of both paths for one (dataset, method), and their difference, in percent."""

    dataset: str
    method: str
    project_mean_pct: float
    naive_mean_pct: float | None
    difference_pp: float | None


def mean_accuracies(runs: Sequence[BenchmarkRun]) -> dict[tuple[str, str], float]:
    """Mean test accuracy per (dataset, method)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.method), []).append(run.test_accuracy)
    return {key: sum(values) / len(values) for key, values in groups.items()}


def accuracy_comparison(project: ProjectResult, naive: NaiveResult | None) -> list[AccuracyRow]:
    ours = mean_accuracies(project.runs)
    theirs = mean_accuracies(naive.runs) if naive is not None else {}
    rows = []
    for (dataset, method), value in ours.items():
        other = theirs.get((dataset, method))
        rows.append(
            AccuracyRow(
                dataset,
                method,
                100 * value,
                None if other is None else 100 * other,
                None if other is None else 100 * (value - other),
            )
        )
    return rows


@dataclass(frozen=True)
class PeakRss:
    project_kib: int
    project_gb: float | None
    naive_kib: int | None
    naive_gb: float | None


def peak_rss(project: ProjectResult, naive: NaiveResult | None) -> PeakRss:
    naive_kib = naive.peak_rss_kib if naive else None
    return PeakRss(project.peak_rss_kib, kib_to_gb(project.peak_rss_kib), naive_kib, kib_to_gb(naive_kib))


# --- targets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A performance target and whether ``value`` meets it (None when not measured).

    A target in seconds is stated for a machine whose fp32 matmul ceiling is 359 GFLOP/s: its ``value`` is the
    measured time and ``scaled_value`` that time times the ceiling measured with it over 359
    (``study_timing.scaled_to_reference``), which is what ``met`` compares with the threshold.
    """

    comparison: str
    threshold: float
    unit: str
    value: float | None
    met: bool | None
    note: str = ""
    scaled_value: float | None = None
    matmul_gflops: float | None = None

    @classmethod
    def of(
        cls,
        comparison: str,
        threshold: float,
        value: float | None,
        unit: str,
        note: str = "",
        matmul_gflops: float | None = None,
    ) -> Target:
        if comparison not in (">=", "<="):
            raise ValueError(f"a target compares with '>=' or '<=', not {comparison!r}")
        scaled = scaled_to_reference(value, matmul_gflops) if value is not None and matmul_gflops else None
        judged = scaled if matmul_gflops else value
        met = None if judged is None else (judged >= threshold if comparison == ">=" else judged <= threshold)
        return cls(comparison, threshold, unit, value, met, note, scaled, matmul_gflops)


STUDY_TARGETS_S = {"whole_study_from_scratch_s": 600.0, "learning_curves_cpu_grid_s": 3600.0}
"""Goals in seconds at the reference ceiling: everything ``run_all.sh`` does before the learning curves, and
the learning curves' CPU grid (``CURVES_GRID=cpu``, its default)."""
PAPER_PROTOCOL_TARGET_S = 30.0


def study_timing_unusable(timing: Mapping[str, Any] | None) -> str | None:
    """Why ``study_timing.json`` cannot measure a from-scratch target, or None when it can."""
    if timing is None:
        return "no study_timing.json: run ./run_all.sh from an empty results folder"
    if not timing.get("from_scratch") or timing.get("failed"):
        why = "it reused run records" if not timing.get("from_scratch") else f"{timing['failed']} failed"
        return f"run_all.sh at {str(timing['git_commit'])[:10]} is not usable: {why}"
    return None


def whole_study_target(timing: Mapping[str, Any] | None) -> Target:
    """``whole_study_from_scratch_s`` from ``run_all.sh``'s ``study_timing.json`` (its own ceiling): everything
    before the learning curves (``before_learning_curves_s``; a file older than that key has only the whole
    wall time), measured only when that run started from a results folder without run records and nothing
    failed."""
    threshold = STUDY_TARGETS_S["whole_study_from_scratch_s"]
    why = study_timing_unusable(timing)
    if why is not None or timing is None:
        return Target.of("<=", threshold, None, "s", why or "")
    seconds = timing.get("before_learning_curves_s", timing["wall_s"])
    part = "before the learning curves" if "before_learning_curves_s" in timing else "whole wall time"
    note = (
        f"run_all.sh at {str(timing['git_commit'])[:10]}, finished {timing['finished']} "
        f"(results/study_timing.json, {part})"
    )
    return Target.of("<=", threshold, float(seconds), "s", note, float(timing["matmul_gflops"]))


def curves_target(timing: Mapping[str, Any] | None) -> Target:
    """``learning_curves_cpu_grid_s``: the learning curves' seconds in ``study_timing.json`` (the curves run
    and their notebook), measured when that study ran the CPU grid from scratch."""
    threshold = STUDY_TARGETS_S["learning_curves_cpu_grid_s"]
    why = study_timing_unusable(timing)
    if why is None and timing is not None and not timing.get("learning_curves_s"):
        why = "study_timing.json has no learning_curves_s (the curves did not run, or it predates the key)"
    if why is None and timing is not None and timing.get("settings", {}).get("CURVES_GRID", "cpu") != "cpu":
        why = f"the study ran the {timing['settings']['CURVES_GRID']!r} grid of the curves, not 'cpu'"
    if why is not None or timing is None:
        return Target.of("<=", threshold, None, "s", why or "")
    note = f"run_all.sh at {str(timing['git_commit'])[:10]} (results/study_timing.json)"
    return Target.of("<=", threshold, float(timing["learning_curves_s"]), "s", note, float(timing["matmul_gflops"]))


def peak_rss_target(rss: PeakRss, timing: Mapping[str, Any] | None) -> Target:
    """``project_peak_rss_gb`` everywhere: the larger of the benchmark's project worker and the largest
    process of the whole study (``study_timing.json``'s ``peak_rss_gb``, every notebook and the learning
    curves, when ``run_all.sh`` measured it)."""
    study_gb = timing.get("peak_rss_gb") if timing is not None else None
    if study_gb is None or (rss.project_gb is not None and rss.project_gb >= study_gb):
        note = "the benchmark's project worker" + ("" if study_gb is None else f" (whole study: {study_gb:.2f} GB)")
        return Target.of("<=", 4.0, rss.project_gb, "GB (1e9 bytes)", note)
    steps = timing.get("steps", {}) if timing is not None else {}
    largest = max(steps, key=lambda step: steps[step]["peak_rss_gb"], default="?")
    return Target.of("<=", 4.0, float(study_gb), "GB (1e9 bytes)", f"the whole study's largest step: {largest}")


def evaluate_targets(
    quick: bool,
    project: ProjectSummary,
    naive: NaiveSummary | None,
    ratios: Speedups,
    rss: PeakRss,
    ceilings: Ceilings,
    study_timing: Mapping[str, Any] | None = None,
) -> dict[str, Target]:
    """The project's performance targets, each with its measured value."""
    extraction = project.phases["frozen_feature_extraction"].fraction_of_matmul_ceiling
    return {
        "whole_study_from_scratch_s": whole_study_target(study_timing),
        "learning_curves_cpu_grid_s": curves_target(study_timing),
        "paper_protocol_end_to_end_s": Target.of(
            "<=",
            PAPER_PROTOCOL_TARGET_S,
            project.end_to_end_s,
            "s",
            "quick mode: synthetic data, not the paper protocol" if quick else "",
            ceilings.matmul_gflops,
        ),
        "frozen_columns_speedup_vs_naive": Target.of(
            ">=", 10.0, ratios.frozen_columns, "x", "" if naive else "naive path skipped"
        ),
        "frozen_feature_extraction_fraction_of_matmul_ceiling": Target.of(
            ">=", 0.5, extraction, "fraction", "" if extraction is not None else "library records no features_s"
        ),
        "project_peak_rss_gb": peak_rss_target(rss, study_timing),
    }


# --- machine and report -----------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class Machine:
    """The CPU, its cores and threads, the device, the load average at start and end and the malloc settings
    both paths ran with (library versions are in the report's ``environment``)."""

    cpu_model: str
    logical_cpus: int | None
    usable_cpus: int | None
    torch_threads: int
    torch_interop_threads: int
    device: str
    device_name: str
    platform: str
    load_average_at_start: tuple[float, ...]
    load_average_at_end: tuple[float, ...] = ()
    worker_malloc: dict[str, str] = field(default_factory=lambda: dict(KEEP_FREED))
    """The glibc malloc variables both workers run with (``benchmarks.workers.run_in_subprocess``)."""


def machine_info(device: torch.device) -> Machine:
    return Machine(
        cpu_model=cpu_model(),
        logical_cpus=os.cpu_count(),
        usable_cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        device=str(device),
        device_name=describe_device(device),
        platform=platform.platform(),
        load_average_at_start=tuple(os.getloadavg()),
    )


@dataclass(frozen=True)
class Report:
    """Everything the benchmark measured (``to_dict`` is the JSON report)."""

    schema: int
    notes: tuple[str, ...]
    mode: str
    date: str
    environment: dict[str, Any]
    """``synthlib.provenance.environment_info()``: versions, git commit, dirty flag, source hash."""
    machine: Machine
    configuration: dict[str, Any]
    ceilings: Ceilings
    project: ProjectSummary
    naive: NaiveSummary | None
    speedups: Speedups
    accuracy: list[AccuracyRow]
    peak_rss: PeakRss
    targets: dict[str, Target]
    study_phases: dict[str, Any] | None = None
    """The whole study's phase table (``study_timing.json``'s ``phases``), when it has one."""

    def to_dict(self) -> dict[str, Any]:
        payload = {key: getattr(self, key) for key in self.__dataclass_fields__}
        payload["project"] = self.project.to_dict()
        payload["naive"] = self.naive.to_dict() if self.naive else None
        for key in ("machine", "ceilings", "speedups", "peak_rss"):
            payload[key] = asdict(payload[key])
        payload["accuracy"] = [asdict(row) for row in self.accuracy]
        payload["targets"] = {name: asdict(target) for name, target in self.targets.items()}
        return finite(payload)


def build_report(
    plan: BenchmarkPlan,
    ceilings: Ceilings,
    project: ProjectResult,
    naive: NaiveResult | None,
    machine: Machine,
    study_timing: Mapping[str, Any] | None = None,
) -> Report:
    """The report of one benchmark: analysis of both paths, targets and the code's provenance."""
    project_summary = summarise_project(project, ceilings)
    naive_summary = summarise_naive(naive) if naive is not None else None
    ratios = speedups(project_summary, naive_summary)
    rss = peak_rss(project, naive)
    return Report(
        schema=SCHEMA,
        notes=NOTES,
        mode=plan.mode,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=environment_info(),
        machine=Machine(**{**asdict(machine), "load_average_at_end": tuple(os.getloadavg())}),
        configuration=plan.to_dict(),
        ceilings=ceilings,
        project=project_summary,
        naive=naive_summary,
        speedups=ratios,
        accuracy=accuracy_comparison(project, naive),
        peak_rss=rss,
        targets=evaluate_targets(plan.quick, project_summary, naive_summary, ratios, rss, ceilings, study_timing),
        study_phases=study_timing.get("phases") if study_timing is not None else None,
    )


# --- Markdown and text ------------------------------------------------------------------------------


def malloc_line(machine: Machine) -> str:
    """The workers' malloc variables as ``NAME=value`` pairs (``"glibc's defaults"`` when none)."""
    return " ".join(f"`{name}={value}`" for name, value in sorted(machine.worker_malloc.items())) or "glibc's defaults"


def code_line(report: Report) -> str:
    """The code the report measured: its commit, and whether the working tree had uncommitted changes."""
    dirty = " with uncommitted changes" if report.environment["git_dirty"] else ""
    return f"commit {str(report.environment['git_commit'])[:10]}{dirty}"


def report_markdown(report: Report) -> str:
    """The headline figures and the phase table as Markdown (docs/speed.md shows this file)."""
    machine, ceilings, targets = report.machine, report.ceilings, report.targets
    phases = report.project.phases
    config = report.configuration

    def met(name: str) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[targets[name].met]

    n_runs = len(config["datasets"]) * len(config["methods"]) * len(config["seeds"])
    extraction = "; ".join(
        f"{dataset} {fmt(entry.fraction_of_matmul_ceiling, '.0%')}"
        for dataset, entry in report.project.feature_extraction_by_dataset.items()
    )
    extraction_fraction = fmt(phases["frozen_feature_extraction"].fraction_of_matmul_ceiling, ".0%")

    def seconds(name: str) -> str:
        target = targets[name]
        if target.value is None:
            return f"target ≤ {target.threshold:g} s: not measured ({target.note})"
        return (
            f"**{target.value:.0f} s** at {target.matmul_gflops:.0f} GFLOP/s, {fmt(target.scaled_value, '.0f')} s "
            f"scaled to {REFERENCE_MATMUL_GFLOPS:.0f} GFLOP/s (target ≤ {target.threshold:g} s: {met(name)})"
        )

    lines = [
        f"Measured {report.date[:10]} on {machine.cpu_model} ({ceilings.threads} threads, "
        f"{machine.device_name}), torch {report.environment['torch']}, {report.mode} mode, {code_line(report)}, "
        f"malloc for both paths: {malloc_line(machine)}. Ceilings: fp32 matmul {ceilings.matmul_gflops:.0f} GFLOP/s, "
        f"copy bandwidth {ceilings.bandwidth_gbs:.1f} GB/s. Targets in seconds are stated for a "
        f"{REFERENCE_MATMUL_GFLOPS:.0f} GFLOP/s ceiling: a time counts scaled by the ceiling measured with it.",
        "",
        f"- The whole study from scratch (`./run_all.sh`, every protocol, tuning and baseline, MNIST and CIFAR-10): "
        f"{seconds('whole_study_from_scratch_s')}.",
        f"- Paper protocol, {' + '.join(config['datasets'])}, {len(config['methods'])} columns × "
        f"{len(config['seeds'])} seeds ({n_runs} runs), data loading to table: "
        f"{seconds('paper_protocol_end_to_end_s')}.",
        f"- Frozen columns against the straightforward `Dataset`/`DataLoader` loop: "
        f"**{fmt(report.speedups.frozen_columns, '.1f')}× faster** "
        f"(target ≥ 10×: {met('frozen_columns_speedup_vs_naive')}); all runs "
        f"{fmt(report.speedups.overall, '.1f')}×.",
        f"- Frozen-feature extraction at **{extraction_fraction}** of the matmul ceiling "
        f"(target ≥ 50%: {met('frozen_feature_extraction_fraction_of_matmul_ceiling')}); "
        f"per dataset: {extraction}.",
        f"- The learning curves' CPU grid: {seconds('learning_curves_cpu_grid_s')}.",
        f"- Peak resident memory **{fmt(targets['project_peak_rss_gb'].value, '.2f')} GB**, "
        f"{targets['project_peak_rss_gb'].note} (target ≤ 4 GB: {met('project_peak_rss_gb')}).",
        f"- Accuracy of the two paths: {accuracy_note(report)}",
        "",
        "| phase | seconds | GFLOP | GFLOP/s | of matmul ceiling |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, entry in phases.items():
        flops = entry.flops / 1e9 if entry.flops else None
        lines.append(
            f"| {PHASE_LABELS[name]} | {entry.seconds:.2f} | {fmt(flops, '.1f')} | "
            f"{fmt(entry.gflops_per_s, '.1f')} | {fmt(entry.fraction_of_matmul_ceiling, '.1%')} |"
        )
    if report.study_phases:
        lines += [
            "",
            "The whole study (`./run_all.sh`, `results/study_timing.json`; GFLOP counted from the records and tuning "
            "files it wrote, `benchmarks/study_phases.py`; baselines and plots not counted):",
            "",
            "| study phase | seconds | GFLOP | GFLOP/s | of matmul ceiling |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, row in report.study_phases.items():
            lines.append(
                f"| {name} | {row['seconds']:.0f} | {fmt(row['gflop'], '.0f')} | {fmt(row['gflops_per_s'], '.1f')} | "
                f"{fmt(row['fraction_of_matmul_ceiling'], '.1%')} |"
            )
    return "\n".join(lines) + "\n"


LOGNORMAL_ORDER_NOTE = (
    "both paths train on the same subset, kernels, initial weights and settings; until this report they did not "
    "train on the same minibatch order: the naive path's DataLoader(shuffle=True, generator=order) drew its "
    "iterator's base seed from the order generator before each epoch's permutation (and RandomSampler a second, "
    "empty-sliced permutation after it), so every epoch's order differed from the project's; it now draws one "
    "permutation per epoch (benchmarks.naive.EpochPermutations), the order training.fit draws. A column whose "
    "result depends strongly on the order then differs by more than rounding: CIFAR-10 log-normal (positive "
    "kernels on [0, 1] images, unstandardised features) gave 14.3% to 23.0% test accuracy over the orders of "
    "one seed tried, so its 2.7-point gap at the DataLoader's orders (3 seeds) was order noise, not another "
    "computation"
)


def accuracy_note(report: Report) -> str:
    """The largest difference between the two paths' mean accuracies, and why they may differ at all."""
    rows = [row for row in report.accuracy if row.difference_pp is not None]
    if not rows:
        return "the naive path was not run."
    worst = max(rows, key=lambda row: abs(row.difference_pp or 0.0))
    return (
        f"the largest difference of a column's mean is {worst.difference_pp:+.2f} points "
        f"({worst.dataset} {worst.method}); {LOGNORMAL_ORDER_NOTE}."
    )


def phase_lines(report: Report) -> list[str]:
    """The project's phase table."""
    lines = [f"{'phase':44} {'seconds':>9} {'GFLOP':>9} {'GFLOP/s':>9} {'% ceiling':>10}"]
    for name, entry in report.project.phases.items():
        flops = entry.flops / 1e9 if entry.flops else None
        lines.append(
            f"{PHASE_LABELS[name]:44} {entry.seconds:9.2f} {fmt(flops, '9.1f'):>9} "
            f"{fmt(entry.gflops_per_s, '9.1f'):>9} {fmt(entry.fraction_of_matmul_ceiling, '.1%'):>10}"
        )
    return lines


def comparison_lines(report: Report) -> list[str]:
    """Project versus naive seconds and speed-ups per group of runs."""
    lines = [f"{'runs':16} {'n':>3} {'project s':>10} {'naive s':>10} {'speed-up':>9}"]
    groups = (("frozen_columns", "frozen_columns"), ("fully_trained", "fully_trained"), ("all_runs", "overall"))
    for group, key in groups:
        ours: Subtotal = getattr(report.project.subtotals, group)
        theirs = getattr(report.naive.subtotals, group).seconds if report.naive else None
        lines.append(
            f"{group:16} {ours.runs:3d} {ours.seconds:10.2f} {fmt(theirs, '10.2f'):>10} "
            f"{fmt(getattr(report.speedups, key), '8.1f'):>8}x"
        )
    return lines


def accuracy_lines(report: Report) -> list[str]:
    lines = [f"{'dataset':16} {'method':16} {'project %':>9} {'naive %':>9} {'diff pp':>8}"]
    for row in report.accuracy:
        lines.append(
            f"{row.dataset:16} {row.method:16} {row.project_mean_pct:9.2f} "
            f"{fmt(row.naive_mean_pct, '9.2f'):>9} {fmt(row.difference_pp, '+8.2f'):>8}"
        )
    return lines


def target_lines(report: Report) -> list[str]:
    lines = []
    for name, entry in report.targets.items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[entry.met]
        note = f"  ({entry.note})" if entry.note else ""
        scaled = f" (scaled {fmt(entry.scaled_value, '.3g')})" if entry.matmul_gflops else ""
        lines.append(
            f"{name:54} {fmt(entry.value, '.3g'):>8}{scaled} {entry.comparison} {entry.threshold:g} "
            f"{entry.unit}: {verdict}{note}"
        )
    return lines


def summary_text(report: Report) -> str:
    """A short human-readable account of the report."""
    ceilings, machine, rss, environment = report.ceilings, report.machine, report.peak_rss, report.environment
    blocks = [
        [
            f"benchmark ({report.mode}) on {machine.cpu_model}, {machine.device_name}, torch {environment['torch']}, "
            f"{code_line(report)}",
            f"ceilings: fp32 matmul {ceilings.matmul_gflops:.1f} GFLOP/s ({ceilings.matmul_size}^2), "
            f"copy bandwidth {ceilings.bandwidth_gbs:.1f} GB/s, {ceilings.threads} threads",
        ]
    ]
    if not report.project.library_phase_timing:
        blocks[0].append("note: the library did not record every phase timing; missing phases count as 0 s")
    blocks += [lines(report) for lines in (phase_lines, comparison_lines, accuracy_lines, target_lines)]
    blocks.append([f"peak RSS: project {fmt(rss.project_gb, '.2f')} GB, naive {fmt(rss.naive_gb, '.2f')} GB"])
    return "\n\n".join("\n".join(block) for block in blocks)
