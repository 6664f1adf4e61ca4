"""The performance benchmark (benchmarks/): structure of its JSON report in --quick mode, the FLOP
formulas, and the naive path's inputs. Timings are only checked to be present and positive, never
compared with anything: they depend on the machine."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from benchmarks.flops import RunShape, conv_forward_flops, head_forward_flops, naive_run_flops, phase_flops
from benchmarks.naive import image_transform
from benchmarks.run_benchmark import (
    PHASE_LABELS,
    QUICK_DATASETS,
    TIMING_KEYS,
    evaluate_targets,
    speedups,
    split_in_wall,
)
from synthlib.columns import PAPER_METHODS
from synthlib.data import few_shot_split, load_dataset
from synthlib.experiment import prepare_split, subset_seed
from tests.conftest import REPO_ROOT

THREADS = 2
TOP_LEVEL_KEYS = {
    "schema", "notes", "mode", "date", "git", "machine", "configuration", "ceilings", "project", "naive", "speedups",
    "accuracy", "peak_rss", "targets",
}  # fmt: skip
TARGETS = {
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
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "speed-up" in result.stdout and str(output) in result.stdout
    report = json.loads(output.read_text(), parse_constant=_reject_constant)
    report["_markdown"] = output.with_suffix(".md").read_text()
    return report


def test_report_has_every_section(quick_report: dict[str, Any]) -> None:
    assert TOP_LEVEL_KEYS <= set(quick_report)
    assert quick_report["mode"] == "quick"
    assert quick_report["configuration"]["datasets"] == list(QUICK_DATASETS)
    assert quick_report["configuration"]["methods"] == [m.name for m in PAPER_METHODS]
    machine = quick_report["machine"]
    assert machine["cpu_model"] and machine["torch_version"] == torch.__version__
    assert machine["torch_threads"] == THREADS == quick_report["ceilings"]["threads"]
    assert quick_report["git"]["commit"]


def test_ceilings_are_positive(quick_report: dict[str, Any]) -> None:
    ceilings = quick_report["ceilings"]
    assert ceilings["matmul_gflops"] > 0 and ceilings["bandwidth_gbs"] > 0


def test_every_run_of_both_paths_is_reported(quick_report: dict[str, Any]) -> None:
    def keys(runs: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
        return sorted((run["dataset"], run["method"], run["seed"]) for run in runs)

    project, naive = quick_report["project"]["runs"], quick_report["naive"]["runs"]
    expected = sorted((d, m.name, 0) for d in QUICK_DATASETS for m in PAPER_METHODS)
    assert keys(project) == keys(naive) == expected
    assert all(set(run["timing"]) == set(TIMING_KEYS) for run in project)
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
    for path in ("project", "naive"):
        subtotals = quick_report[path]["subtotals"]
        assert subtotals["frozen_columns"]["runs"] == 3 * len(QUICK_DATASETS)
        assert subtotals["fully_trained"]["runs"] == len(QUICK_DATASETS)
        assert all(group["seconds"] > 0 and group["flops"] > 0 for group in subtotals.values())
    ratios = quick_report["speedups"]
    assert set(ratios) == {"frozen_columns", "fully_trained", "overall", "end_to_end"}
    assert all(value is not None and math.isfinite(value) and value > 0 for value in ratios.values())


def test_accuracies_of_both_paths_are_reported(quick_report: dict[str, Any]) -> None:
    rows = quick_report["accuracy"]
    assert len(rows) == len(QUICK_DATASETS) * len(PAPER_METHODS)
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


def test_targets_without_naive_path_are_not_measured(quick_report: dict[str, Any]) -> None:
    report = {**quick_report, "naive": None}
    report["speedups"] = speedups(report["project"], None)
    assert all(value is None for value in report["speedups"].values())
    targets = evaluate_targets(report)
    assert targets["frozen_columns_speedup_vs_naive"]["met"] is None
    assert isinstance(targets["project_peak_rss_gb"]["met"], bool)


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


def test_split_in_wall_detects_a_wall_without_the_split() -> None:
    timing = {"split_s": 1.0, "features_s": 1.0, "fit_s": 1.0, "test_features_s": 0.0, "test_eval_s": 0.0}
    assert split_in_wall({"runs": [{"timing": {**timing, "wall_time_s": 3.1}}]})
    assert not split_in_wall({"runs": [{"timing": {**timing, "wall_time_s": 2.1}}]})


def test_default_output_is_under_results() -> None:
    from benchmarks.run_benchmark import parse_args

    assert Path(parse_args([]).output) == Path("results/benchmark.json")


def test_markdown_summary_states_each_target_from_the_report(quick_report: dict[str, Any]) -> None:
    markdown = quick_report["_markdown"]
    phases = quick_report["project"]["phases"]
    assert f"**{phases['end_to_end']['seconds']:.0f} s**" in markdown
    assert markdown.count("target") == len(TARGETS)
    for dataset in QUICK_DATASETS:
        assert dataset in markdown
    assert "| end to end |" in markdown
    assert set(quick_report["project"]["feature_extraction_by_dataset"]) == set(QUICK_DATASETS)
