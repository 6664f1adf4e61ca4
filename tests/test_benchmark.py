"""The performance benchmark (benchmarks/): structure of its JSON report in --quick mode, its plan from
the protocol registry, the analysis on hand-made runs, the FLOP formulas, and the naive path's inputs.
Timings are only checked to be present and positive, never compared with anything: they depend on
the machine."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from benchmarks.ceilings import Ceilings
from benchmarks.flops import RunShape, conv_forward_flops, head_forward_flops, naive_run_flops, phase_flops
from benchmarks.naive import ImageArrayDataset, image_transform, shuffled_loader
from benchmarks.plan import QUICK_DATASETS, QUICK_EPOCHS, RESULTS_ROOT, build_plan, portable_path
from benchmarks.report import (
    PHASE_LABELS,
    evaluate_targets,
    peak_rss,
    speedups,
    split_in_wall,
    summarise_naive,
    summarise_project,
)
from benchmarks.run_benchmark import DEFAULT_OUTPUT, parse_args
from benchmarks.runs import PROJECT_TIMING_KEYS, BenchmarkRun
from benchmarks.workers import NaiveResult, ProjectResult
from synthlib.data import few_shot_split, load_dataset
from synthlib.experiment import prepare_split, subset_seed
from synthlib.protocols import default_protocol
from synthlib.provenance import git_commit, source_sha256
from synthlib.tuning import load_tuning
from tests.conftest import REPO_ROOT

THREADS = 2
PROTOCOL = default_protocol()
TOP_LEVEL_KEYS = {
    "schema", "notes", "mode", "date", "environment", "machine", "configuration", "ceilings", "project", "naive",
    "speedups", "accuracy", "peak_rss", "targets", "study_phases",
}  # fmt: skip
TARGETS = {
    "whole_study_from_scratch_s",
    "learning_curves_cpu_grid_s",
    "frozen_columns_speedup_vs_naive",
    "frozen_feature_extraction_fraction_of_matmul_ceiling",
    "paper_protocol_end_to_end_s",
    "project_peak_rss_gb",
}


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON report of one ``--quick`` benchmark (every code path, synthetic data, seconds)."""
    output = tmp_path_factory.mktemp("benchmark") / "benchmark.json"
    command = [sys.executable, "-m", "benchmarks.run_benchmark", "--quick", "--output", str(output)]
    result = subprocess.run(
        [*command, "--threads", str(THREADS), "--device", "cpu"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "speed-up" in result.stdout and str(output) in result.stdout
    report = json.loads(output.read_text(), parse_constant=_reject_constant)
    report["_markdown"] = output.with_suffix(".md").read_text()
    return report


def test_report_has_every_section(quick_report: dict[str, Any]) -> None:
    assert TOP_LEVEL_KEYS <= set(quick_report)
    assert quick_report["mode"] == "quick"
    configuration = quick_report["configuration"]
    assert configuration["protocol"] == PROTOCOL.name
    assert configuration["datasets"] == list(QUICK_DATASETS)
    assert configuration["methods"] == [m.name for m in PROTOCOL.methods]
    assert configuration["per_class"] == PROTOCOL.per_class
    assert all(
        config["epochs"] == QUICK_EPOCHS
        for configs in configuration["train_configs"].values()
        for config in configs.values()
    )
    machine = quick_report["machine"]
    assert machine["cpu_model"] and machine["device"] == "cpu"
    assert machine["torch_threads"] == THREADS == quick_report["ceilings"]["threads"]
    assert quick_report["environment"]["torch"] == torch.__version__


def test_report_records_provenance(quick_report: dict[str, Any]) -> None:
    environment = quick_report["environment"]
    assert environment["git_commit"] == git_commit()
    assert isinstance(environment["git_dirty"], bool)
    assert environment["source_sha256"] == source_sha256()
    assert environment["git_commit"][:10] in quick_report["_markdown"]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_report_holds_no_absolute_path(quick_report: dict[str, Any]) -> None:
    machine_paths = {str(REPO_ROOT), str(Path.home()), tempfile.gettempdir(), str(Path(sys.executable).parent)}
    texts = [*_strings({k: v for k, v in quick_report.items() if k != "_markdown"}), quick_report["_markdown"]]
    for text in texts:
        assert not text.startswith(("/", "~")), text
        assert not any(path in text for path in machine_paths), text
    sources = quick_report["configuration"]["tuning_sources"]
    assert sources["synthetic_gray"].startswith(portable_path(PROTOCOL.tuning_path(RESULTS_ROOT, "mnist")))


def test_portable_path_is_relative_to_the_repository_or_a_name(tmp_path: Path) -> None:
    assert portable_path(REPO_ROOT / "results" / "paper" / "tuning" / "mnist.json") == "results/paper/tuning/mnist.json"
    assert portable_path(REPO_ROOT) == "."
    assert portable_path(tmp_path / "data") == "data"


def test_ceilings_are_positive(quick_report: dict[str, Any]) -> None:
    ceilings = quick_report["ceilings"]
    assert ceilings["matmul_gflops"] > 0 and ceilings["bandwidth_gbs"] > 0


def test_every_run_of_both_paths_is_reported(quick_report: dict[str, Any]) -> None:
    def keys(runs: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
        return sorted((run["dataset"], run["method"], run["seed"]) for run in runs)

    project, naive = quick_report["project"]["runs"], quick_report["naive"]["runs"]
    expected = sorted((d, m.name, 0) for d in QUICK_DATASETS for m in PROTOCOL.methods)
    assert keys(project) == keys(naive) == expected
    assert all(set(run["timing"]) == set(PROJECT_TIMING_KEYS) for run in project)
    assert all(run["epochs"] == QUICK_EPOCHS for run in project + naive)
    assert all(run["timing"]["wall_s"] > 0 and 0 <= run["test_accuracy"] <= 1 for run in naive)


def test_phases_have_positive_times_and_flops(quick_report: dict[str, Any]) -> None:
    project = quick_report["project"]
    phases = project["phases"]
    assert set(phases) == set(PHASE_LABELS)
    assert all(entry["seconds"] >= 0 for entry in phases.values())
    for name in ("data_loading", "table_building", "end_to_end"):
        assert phases[name]["seconds"] > 0, name
    for name in ("frozen_feature_extraction", "fc_training", "full_training", "evaluation", "end_to_end"):
        assert phases[name]["flops"] > 0, name
    if project["library_phase_timing"]:  # the library records every phase's seconds
        assert phases["data_preparation"]["seconds"] > 0
        for name in ("frozen_feature_extraction", "fc_training", "full_training", "evaluation"):
            entry = phases[name]
            assert entry["seconds"] > 0 and entry["gflops_per_s"] > 0, name
            assert entry["fraction_of_matmul_ceiling"] > 0, name


def test_subtotals_and_speedups_are_computed(quick_report: dict[str, Any]) -> None:
    n_frozen = sum(method.regime == "frozen" for method in PROTOCOL.methods)
    for path in ("project", "naive"):
        subtotals = quick_report[path]["subtotals"]
        assert subtotals["frozen_columns"]["runs"] == n_frozen * len(QUICK_DATASETS)
        assert subtotals["fully_trained"]["runs"] == (len(PROTOCOL.methods) - n_frozen) * len(QUICK_DATASETS)
        assert all(group["seconds"] > 0 and group["flops"] > 0 for group in subtotals.values())
    ratios = quick_report["speedups"]
    assert set(ratios) == {"frozen_columns", "fully_trained", "overall", "end_to_end"}
    assert all(value is not None and math.isfinite(value) and value > 0 for value in ratios.values())


def test_accuracies_of_both_paths_are_reported(quick_report: dict[str, Any]) -> None:
    rows = quick_report["accuracy"]
    assert len(rows) == len(QUICK_DATASETS) * len(PROTOCOL.methods)
    assert all(row["naive_mean_pct"] is not None and row["difference_pp"] is not None for row in rows)
    assert len(quick_report["project"]["table"]) == len(rows)


def test_peak_memory_and_targets_are_reported(quick_report: dict[str, Any]) -> None:
    rss = quick_report["peak_rss"]
    assert rss["project_kib"] > 0 and rss["naive_kib"] > 0
    targets = quick_report["targets"]
    assert set(targets) == TARGETS
    for name, entry in targets.items():
        assert {"comparison", "threshold", "unit", "value", "met"} <= set(entry), name
        assert entry["threshold"] > 0
        if entry["value"] is not None:
            assert isinstance(entry["met"], bool), name
    assert targets["frozen_columns_speedup_vs_naive"]["value"] == quick_report["speedups"]["frozen_columns"]


def test_markdown_summary_states_each_target_from_the_report(quick_report: dict[str, Any]) -> None:
    markdown = quick_report["_markdown"]
    phases = quick_report["project"]["phases"]
    assert f"**{phases['end_to_end']['seconds']:.0f} s**" in markdown
    assert markdown.count("target") == len(TARGETS)
    for dataset in QUICK_DATASETS:
        assert dataset in markdown
    assert "| end to end |" in markdown
    assert set(quick_report["project"]["feature_extraction_by_dataset"]) == set(QUICK_DATASETS)


# --- the plan, from the protocol registry ---------------------------------------------------------


def test_full_plan_is_the_protocol_with_its_committed_tuning(tmp_path: Path) -> None:
    plan = build_plan(quick=False, data_root=tmp_path, device="cpu", threads=1)
    assert plan.protocol is PROTOCOL and plan.seeds == PROTOCOL.seeds and plan.methods == PROTOCOL.methods
    assert plan.dataset_names == ("mnist", "cifar10")
    for dataset in plan.datasets:
        path = PROTOCOL.tuning_path(RESULTS_ROOT, dataset.name)
        assert dataset.train_configs == load_tuning(path).selected
        assert dataset.tuning_source == f"results/{PROTOCOL.name}/tuning/{dataset.name}.json"
    assert plan.n_runs == 2 * len(PROTOCOL.methods) * len(PROTOCOL.seeds)
    assert plan.to_dict()["data_root"] == tmp_path.name


def test_quick_plan_runs_through_the_protocols_own_plan(tmp_path: Path) -> None:
    """The project worker's contract: the tuning copied into a scratch results folder is what
    ``Protocol.plan`` schedules, for the plan's seeds and the CNN columns only."""
    plan = build_plan(quick=True, data_root=tmp_path, device="cpu", threads=1)
    plan.write_tuning(tmp_path / "results")
    for dataset in plan.datasets:
        source = load_tuning(PROTOCOL.tuning_path(RESULTS_ROOT, QUICK_DATASETS[dataset.name])).selected
        assert dataset.train_configs == {regime: replace(c, epochs=QUICK_EPOCHS) for regime, c in source.items()}
        jobs = PROTOCOL.plan(dataset.name, tmp_path / "results", seeds=plan.seeds, baselines=())
        runs = [run for job in jobs for run in job.runs]
        assert sorted((run.method, run.seed) for run in runs) == sorted((m.name, 0) for m in PROTOCOL.methods)
        assert all(run.config["train"]["epochs"] == QUICK_EPOCHS for run in runs)
        assert all(run.path.is_relative_to(PROTOCOL.runs_dir(tmp_path / "results")) for run in runs)


# --- the analysis, on hand-made runs ---------------------------------------------------------------


def _run(regime: str, method: str, dataset: str = "d", **timing: float) -> BenchmarkRun:
    return BenchmarkRun(
        dataset, method, regime, 0, 0.5, 0.5, 380, 380, 1000, 2, 1, 28, timing, tuple(PROJECT_TIMING_KEYS)
    )


PROJECT_TIMING = {"split_s": 0.1, "features_s": 1.0, "fit_s": 2.0, "test_features_s": 0.5, "test_eval_s": 0.2}
CEILINGS = Ceilings(100.0, 1024, 3, 10.0, 1 << 20, 3, 1, "cpu")


def _project() -> ProjectResult:
    runs = (
        _run("frozen", "normal", **PROJECT_TIMING, wall_time_s=4.0),
        _run(
            "trained", "fully_trained", **{**PROJECT_TIMING, "features_s": 0.0, "test_features_s": 0.0}, wall_time_s=2.5
        ),
    )
    return ProjectResult({"d": 0.3}, {"d": 6.5}, 0.01, 7.0, runs, [], 1_000_000, None)


def _naive(factor: float) -> NaiveResult:
    timing = {"setup_s": 0.1, "fit_s": 1.0, "val_eval_s": 0.1, "test_eval_s": 0.2}
    runs = (
        _run("frozen", "normal", **timing, wall_s=4.0 * factor),
        _run("trained", "fully_trained", **timing, wall_s=2.5 * factor),
    )
    return NaiveResult({"d": 0.3}, 7.0 * factor, runs, 900_000, None)


def test_results_travel_as_json_unchanged() -> None:
    project, naive = _project(), _naive(3.0)
    assert ProjectResult.from_dict(json.loads(json.dumps(project.to_dict()))) == project
    assert NaiveResult.from_dict(json.loads(json.dumps(naive.to_dict()))) == naive


def test_phases_speedups_and_targets_from_hand_made_runs() -> None:
    project = summarise_project(_project(), CEILINGS)
    assert project.wall_time_includes_split and project.library_phase_timing
    assert project.phases["frozen_feature_extraction"].seconds == pytest.approx(1.5)
    assert project.phases["fc_training"].seconds == pytest.approx(2.0)
    assert project.phases["evaluation"].seconds == pytest.approx(0.4)
    assert project.phases["unattributed"].seconds == pytest.approx(7.0 - 0.3 - 0.2 - 1.5 - 4.0 - 0.4 - 0.01)
    naive = summarise_naive(_naive(12.0))
    ratios = speedups(project, naive)
    assert ratios.frozen_columns == pytest.approx(12.0) and ratios.end_to_end == pytest.approx(12.0)
    rss = peak_rss(_project(), _naive(12.0))
    targets = evaluate_targets(False, project, naive, ratios, rss, CEILINGS)
    assert set(targets) == TARGETS
    assert targets["frozen_columns_speedup_vs_naive"].met is True
    assert targets["paper_protocol_end_to_end_s"].met is True
    assert targets["project_peak_rss_gb"].value == pytest.approx(1_000_000 * 1024 / 1e9)
    slower = evaluate_targets(
        False, project, summarise_naive(_naive(5.0)), speedups(project, summarise_naive(_naive(5.0))), rss, CEILINGS
    )
    assert slower["frozen_columns_speedup_vs_naive"].met is False


def test_targets_without_naive_path_are_not_measured() -> None:
    project = summarise_project(_project(), CEILINGS)
    ratios = speedups(project, None)
    assert all(value is None for value in vars(ratios).values())
    targets = evaluate_targets(True, project, None, ratios, peak_rss(_project(), None), CEILINGS)
    assert targets["frozen_columns_speedup_vs_naive"].met is None
    assert targets["frozen_columns_speedup_vs_naive"].note == "naive path skipped"
    assert isinstance(targets["project_peak_rss_gb"].met, bool)


def test_split_in_wall_detects_a_wall_without_the_split() -> None:
    timing = {"split_s": 1.0, "features_s": 1.0, "fit_s": 1.0, "test_features_s": 0.0, "test_eval_s": 0.0}
    assert split_in_wall([_run("frozen", "normal", **timing, wall_time_s=3.1)])
    assert not split_in_wall([_run("frozen", "normal", **timing, wall_time_s=2.1)])


# --- FLOPs and the naive path -------------------------------------------------------------------------


def test_conv_and_head_flops_follow_the_formula() -> None:
    assert conv_forward_flops(1, 28) == 2 * 28 * 28 * 1 * 5 * 5 * 64
    assert conv_forward_flops(3, 32) == 2 * 32 * 32 * 3 * 5 * 5 * 64
    assert head_forward_flops(32) == 2 * (1024 * 64 + 64 * 10)


def test_phase_flops_per_regime() -> None:
    frozen = RunShape("frozen", 3, 32, n_train=380, n_val=380, n_test=10_000, epochs=200)
    trained = RunShape("trained", 3, 32, n_train=380, n_val=380, n_test=10_000, epochs=200)
    conv, head = conv_forward_flops(3, 32), head_forward_flops(32)
    flops = phase_flops(frozen)
    assert flops["frozen_feature_extraction"] == conv * 10_760 and flops["full_training"] == 0
    assert flops["fc_training"] == 3 * head * 200 * 380 + head * 380
    assert flops["evaluation"] == head * 10_000
    flops = phase_flops(trained)
    assert flops["frozen_feature_extraction"] == flops["fc_training"] == 0
    assert flops["full_training"] == (2 * conv + 3 * head) * 200 * 380 + (conv + head) * 380
    assert naive_run_flops(frozen) > sum(phase_flops(frozen).values())  # the naive path recomputes the conv


@pytest.mark.parametrize("input_norm", ["unit", "standardize"])
def test_naive_inputs_match_the_library(input_norm: str) -> None:
    data = load_dataset("synthetic_rgb")
    split = prepare_split(data, 38, 38, 0, input_norm, torch.device("cpu"))
    indices = few_shot_split(data.y_train, 38, 38, subset_seed(data.name, 0))
    transform = image_transform(data.x_train[indices.train], input_norm)
    naive = torch.stack([transform(image) for image in data.x_train[indices.val]])
    np.testing.assert_allclose(naive.numpy(), split.x_val.numpy(), atol=1e-4)


def test_default_output_is_under_results() -> None:
    assert parse_args([]).output == DEFAULT_OUTPUT == Path("results/benchmark.json")


def test_seconds_count_scaled_by_the_ceiling_measured_with_them() -> None:
    """A 7 s paper protocol at a 100 GFLOP/s ceiling counts as 7 x 100 / 359 s; the whole study is read from
    run_all.sh's timing, and only when that run started from scratch and nothing failed."""
    project = summarise_project(_project(), CEILINGS)
    ratios, rss = speedups(project, None), peak_rss(_project(), None)
    timing = {
        "wall_s": 1200.0, "matmul_gflops": 150.0, "from_scratch": True, "failed": [], "git_commit": "abc",
        "finished": "2026-11-30T08:00:00Z",
    }  # fmt: skip
    targets = evaluate_targets(False, project, None, ratios, rss, CEILINGS, timing)
    paper = targets["paper_protocol_end_to_end_s"]
    assert paper.value == pytest.approx(7.0) and paper.matmul_gflops == CEILINGS.matmul_gflops
    assert paper.scaled_value == pytest.approx(7.0 * CEILINGS.matmul_gflops / 359.0) and paper.met is True
    whole = targets["whole_study_from_scratch_s"]
    assert whole.scaled_value == pytest.approx(1200.0 * 150.0 / 359.0) and whole.met is True  # 501 s <= 600
    slow = evaluate_targets(False, project, None, ratios, rss, CEILINGS, {**timing, "matmul_gflops": 359.0})
    assert slow["whole_study_from_scratch_s"].met is False
    resumed = evaluate_targets(False, project, None, ratios, rss, CEILINGS, {**timing, "from_scratch": False})
    assert (
        resumed["whole_study_from_scratch_s"].met is None
        and "reused run records" in resumed["whole_study_from_scratch_s"].note
    )
    assert evaluate_targets(False, project, None, ratios, rss, CEILINGS)["whole_study_from_scratch_s"].met is None


def test_naive_minibatches_are_the_projects_order() -> None:
    """The naive loader's epochs draw exactly the permutations ``training.fit`` draws from the same generator
    (a DataLoader given the generator itself would draw its base seed from it first)."""
    images = np.zeros((10, 4, 4, 1), dtype=np.uint8)
    dataset = ImageArrayDataset(images, np.arange(10), lambda image: torch.zeros(1))
    loader = shuffled_loader(dataset, 4, torch.Generator().manual_seed(3))
    fit_generator = torch.Generator().manual_seed(3)
    for _ in range(3):
        seen = torch.cat([labels for _, labels in loader])
        assert torch.equal(seen, torch.randperm(10, generator=fit_generator))


def test_study_phases_count_the_committed_study() -> None:
    """The whole study's phase table from the committed results: the paper protocol's runs count the GFLOP the
    benchmark counts for the same runs, and every phase with runs has a rate below the ceiling."""
    from benchmarks.study_phases import phase_flops_of_results, phase_of, phase_table

    timing = json.loads((REPO_ROOT / "results" / "study_timing.json").read_text())
    flops = phase_flops_of_results(REPO_ROOT / "results")
    benchmark = json.loads((REPO_ROOT / "results" / "benchmark.json").read_text())
    assert flops["runs_paper"] / 1e9 == pytest.approx(benchmark["project"]["phases"]["end_to_end"]["flops"] / 1e9)
    table = phase_table({**timing["notebooks_s"], "learning_curves": 100.0}, flops, timing["matmul_gflops"])
    assert list(table)[:2] == ["exploration", "tuning"] and list(table)[-1] == "learning_curves"
    for name in ("tuning", "runs_paper", "authors_grid", "learning_curves"):
        assert 0 < table[name]["fraction_of_matmul_ceiling"] < 1 or name == "learning_curves"
    assert table["exploration"]["gflop"] is None
    assert [phase_of(s) for s in ("03_tuning_sound_mnist", "04_experiment_sound_cifar10", "07_learning_curves")] == [
        "tuning",
        "runs_sound",
        "learning_curves",
    ]


def test_study_steps_give_the_curves_time_and_peak_memory(tmp_path: Path) -> None:
    """``benchmarks.study_step`` notes each step; ``study_timing.finish`` separates the learning curves from the
    rest and keeps the largest process's memory, which the targets then judge."""
    from benchmarks.report import curves_target, peak_rss_target, whole_study_target
    from benchmarks.study_timing import STARTED, finish

    (tmp_path / STARTED).write_text(
        json.dumps(
            {"started_unix": 0.0, "from_scratch": True, "ceilings": {"matmul_gflops": 359.0}, "torch_threads": 2}
        )
    )
    grow = "x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096])"

    def step(name: str, code: str) -> None:  # a process of its own, as run_all.sh runs it
        command = [sys.executable, "-m", "benchmarks.study_step", str(tmp_path), name, "--", sys.executable, "-c", code]
        assert subprocess.run(command, cwd=REPO_ROOT, check=False).returncode == 0

    step("04_experiment_paper_mnist", "pass")
    step("learning_curves", grow)
    timing = finish(tmp_path)
    assert set(timing["steps"]) == {"04_experiment_paper_mnist", "learning_curves"}
    assert timing["learning_curves_s"] == pytest.approx(timing["steps"]["learning_curves"]["seconds"], abs=0.1)
    assert timing["before_learning_curves_s"] == pytest.approx(timing["wall_s"] - timing["learning_curves_s"], abs=0.2)
    assert timing["peak_rss_gb"] == timing["steps"]["learning_curves"]["peak_rss_gb"] > 0.3
    assert curves_target(timing).value == timing["learning_curves_s"]
    assert whole_study_target(timing).value == timing["before_learning_curves_s"]
    rss = peak_rss(ProjectResult({}, {}, 0.0, 0.0, (), [], 1000, None), None)
    assert peak_rss_target(rss, timing).value == timing["peak_rss_gb"]
    assert "learning_curves" in peak_rss_target(rss, timing).note
