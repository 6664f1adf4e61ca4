"""The learning-curve study (``synthlib.learning_curves``): its size, validation and step-budget rules, sampled
initialisation, deeper networks, and a small run on synthetic data."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from benchmarks.curves_timing import scaled_run_seconds, timed_curves
from synthlib.audit import check_results
from synthlib.columns import Method
from synthlib.data import load_dataset
from synthlib.engine import PlannedRun, RunContext, execute
from synthlib.experiment import CnnJob, RunConfig, RunOptions, at_default_init_scale, build_model, cnn_run
from synthlib.learning_curves import (
    CPU_GRID,
    CURVE_STUDIES,
    DEEP2_ARCH,
    DEEP3_ARCH,
    LEARNING_CURVES,
    LEARNING_CURVES_PLATEAU,
    PLATEAU_STOPPING,
    SIZES,
    CurveJob,
    CurveStopping,
    budget_steps,
    full_per_class,
    train_setting,
    val_per_class,
)
from synthlib.lengths import record_length_rule
from synthlib.models import PaperCNN
from synthlib.records import RunRecord, config_hash, load_records, record_path, write_record
from synthlib.runner import run_study
from synthlib.samplers import sample_kernels
from synthlib.seeding import make_generator
from synthlib.training import TrainConfig
from synthlib.tuning import TuningResult
from tests.conftest import REPO_ROOT
from tests.test_real_data import tolerance_pp

QUIET = {"log": lambda _: None, "device": "cpu"}
FROZEN = TrainConfig(epochs=2, batch_size=16, input_norm="unit")
TRAINED = TrainConfig(epochs=1, batch_size=16, input_norm="standardize", learning_rate=3e-3)


@pytest.fixture(scope="module")
def gray():
    return load_dataset("synthetic_gray")


def write_sound_tuning(root, dataset: str) -> None:
    """A stand-in for sound's tuning result: small settings, and a C per baseline."""
    path = LEARNING_CURVES.protocol.tuning_path(root, dataset)
    path.parent.mkdir(parents=True)
    result = TuningResult(
        dataset, {"frozen": FROZEN, "trained": TRAINED}, pd.DataFrame(), "test", {"logreg_pixels": 0.1, "scattering": 1}
    )
    path.write_text(result.to_json())


def test_validation_grows_with_the_subset_within_its_bounds():
    assert [val_per_class(n) for n in (1, 5, 10, 38, 300, 1000, 4921)] == [10, 10, 10, 38, 300, 500, 500]


def test_the_full_set_is_balanced_and_leaves_its_validation_split():
    mnist_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    labels = np.repeat(np.arange(10), mnist_counts)
    assert full_per_class(labels) == 5421 - 500 == 4921
    assert full_per_class(np.repeat(np.arange(10), 5000)) == 4500
    assert full_per_class(np.repeat(np.arange(10), 100)) == 50  # a small pool: half for validation
    assert val_per_class(50) == 50
    with pytest.raises(ValueError, match="too few"):
        full_per_class(np.array([0, 1, 1]))


@pytest.mark.parametrize("per_class", [1, 2, 5, 10, 20, 38, 100, 300, 1000, 4500])
def test_every_size_gets_the_step_budget_of_the_tuned_setting_at_38_per_class(per_class):
    setting = TrainConfig(epochs=200, batch_size=64)
    budget = budget_steps(setting, 10)
    assert budget == 200 * 6
    chosen = train_setting(setting, 10, per_class)
    per_epoch = math.ceil(10 * per_class / 64)
    steps = chosen.epochs * per_epoch
    assert abs(steps - budget) <= per_epoch / 2 or chosen.epochs == 1
    assert replace(chosen, epochs=200) == setting
    assert train_setting(setting, 10, 38) == setting


def test_sampled_initialisation_keeps_the_shapes_at_the_default_scale():
    kernels = sample_kernels("lognormal", 64, 3, 5, torch.Generator().manual_seed(0), preset="paper_text")
    scaled = at_default_init_scale(kernels)
    assert float(scaled.std()) == pytest.approx(1 / math.sqrt(3 * 75), rel=1e-5)
    assert torch.allclose(scaled / scaled.flatten()[0], kernels / kernels.flatten()[0], rtol=1e-4)
    with pytest.raises(ValueError, match="all equal"):
        at_default_init_scale(torch.ones(4, 1, 3, 3))


def test_an_initialising_column_trains_its_conv_from_the_samplers_kernels(gray):
    method = Method("init_gabor_v1", "Gabor init", "gabor_v1", {"preset": "biological"}, init_only=True)
    assert method.regime == "trained" and method.to_dict()["init_only"] is True
    model = build_model(RunConfig("synthetic_gray", method, 3, TRAINED), 1, 28, torch.device("cpu"))
    assert model.conv_weight.requires_grad
    drawn = sample_kernels(
        "gabor_v1", 64, 1, 5, make_generator(3, "synthetic_gray", "kernels", method.name), preset="biological"
    )
    assert torch.allclose(model.conv_weight.detach(), at_default_init_scale(drawn))


def test_plain_columns_record_what_they_always_recorded():
    method = Method("normal", "Normal", "normal", {"preset": "paper_text"})
    assert set(method.to_dict()) == {"name", "label", "sampler", "sampler_params", "resolved_sampler_params"}
    assert "deeper_layers" not in RunConfig("mnist", method, 0, FROZEN).to_dict()["architecture"]
    with pytest.raises(ValueError, match="needs a sampler"):
        Method("x", "x", init_only=True)
    with pytest.raises(ValueError, match="frozen sampled networks"):
        Method("x", "x", deeper_samplers=("normal",))


@pytest.mark.parametrize("arch", [DEEP2_ARCH, DEEP3_ARCH], ids=["2 layers", "3 layers"])
@pytest.mark.parametrize("channels, side", [(1, 28), (3, 32)])
def test_deeper_networks_end_in_the_papers_1024_features(arch, channels, side):
    model = PaperCNN(channels, side, arch)
    assert len(model.conv_weights) == arch.depth
    assert model.features(torch.zeros(2, channels, side, side)).flatten(1).shape[1] == 1024
    assert model(torch.zeros(2, channels, side, side)).shape == (2, 10)


def test_a_frozen_deep_column_draws_each_layer_from_its_named_sampler(gray):
    method = next(c.column for c in LEARNING_CURVES.columns if c.name == "deep3_frozen")
    config = RunConfig("synthetic_gray", method, 0, FROZEN, arch=DEEP3_ARCH)
    model = build_model(config, 1, 28, torch.device("cpu"))
    assert not any(w.requires_grad for w in model.conv_weights)
    first, second, third = model.conv_weights
    assert first.shape == (32, 1, 5, 5) and second.shape == (32, 32, 3, 3) and third.shape == (64, 32, 3, 3)
    assert float(second.std()) == pytest.approx(1.0, abs=0.1)  # normal, sigma 1
    assert not torch.equal(second[:, :, :1], third[:32, :, :1])
    assert [d["sampler"] for d in method.to_dict()["deeper_samplers"]] == ["normal", "normal"]
    wrong = RunConfig("synthetic_gray", method, 0, FROZEN, arch=DEEP2_ARCH)
    with pytest.raises(ValueError, match="one sampler per layer"):
        build_model(wrong, 1, 28, torch.device("cpu"))


def test_the_cpu_grid_stops_trained_columns_at_smaller_sizes():
    columns = {c.name: c for c in LEARNING_CURVES.columns}
    full = 4500
    assert LEARNING_CURVES.planned_sizes(columns["gabor_v1"], "cifar10", full)[-2:] == [1000, full]
    assert max(LEARNING_CURVES.planned_sizes(columns["fully_trained"], "mnist", full)) == 38
    assert max(LEARNING_CURVES.planned_sizes(columns["init_gabor_v1"], "mnist", full)) == 5
    assert max(LEARNING_CURVES.planned_sizes(columns["deep3_trained"], "cifar10", full)) == 38
    assert max(LEARNING_CURVES.planned_sizes(columns["scattering"], "cifar10", full)) == 300
    assert LEARNING_CURVES.planned_sizes(columns["deep3_trained"], "cifar10", full, "full")[-1] == full
    assert "5 (MNIST)" in CPU_GRID.description
    with pytest.raises(ValueError, match="valid grids are: cpu, full"):
        LEARNING_CURVES.grid("gpu")


def test_columns_have_the_kinds_the_issue_names():
    kinds = LEARNING_CURVES.kinds()
    for sampler in ("gabor_v1", "dog_color", "morlet", "lognormal_dale", "deep2_frozen", "deep3_frozen"):
        assert kinds[sampler] == "frozen"
    for trained in (
        "fully_trained",
        "init_normal",
        "init_gabor_v1",
        "init_dog_color",
        "deep2_trained",
        "deep3_trained",
    ):
        assert kinds[trained] == "trained"
    assert kinds["scattering"] == "baseline"
    assert set(LEARNING_CURVES.biological()) <= {name for name, kind in kinds.items() if kind == "frozen"}
    assert "step" in LEARNING_CURVES.deviations() and "Validation split" in LEARNING_CURVES.deviations()


def test_a_small_curve_runs_reuses_and_records_every_size(gray, tmp_path):
    write_sound_tuning(tmp_path, "synthetic_gray")
    study = replace(LEARNING_CURVES, sizes=(1, 2), seeds=(0, 1))
    columns = ["normal", "deep2_frozen", "fully_trained", "init_dog_color", "logreg_pixels"]
    outcome = run_study(study, gray, tmp_path, columns=columns, **QUIET)
    assert not outcome.failures and outcome.ran == 2 * 3 * len(columns)  # sizes 1, 2 and the full set (50)
    records = load_records(study.runs_dir(tmp_path))
    assert {(r.method, r.config["per_class"]) for r in records} == {(c, n) for c in columns for n in (1, 2, 50)}
    assert {r.config["val_per_class"] for r in records if r.config["per_class"] == 50} == {50}
    epochs = {r.config["per_class"]: r.config["train"]["epochs"] for r in records if r.method == "normal"}
    assert epochs == {1: 48, 2: 24, 50: 2}  # budget: 2 epochs x 24 steps at 38 per class; 48 / 32 rounds to 2
    again = run_study(study, gray, tmp_path, columns=columns, **QUIET)
    assert again.ran == 0 and again.reused == outcome.ran


def test_shared_test_features_give_the_same_result_as_a_plain_run(gray, tmp_path):
    method = next(c.column for c in LEARNING_CURVES.columns if c.name == "gabor_v1")
    options = RunOptions(feature_norm="standardize")
    configs = [RunConfig("synthetic_gray", method, 0, FROZEN, n, val_per_class(n), options=options) for n in (2, 5)]

    def runs(folder: str) -> list[PlannedRun]:
        return [cnn_run(folder, tmp_path / folder, c, f"n{c.per_class}") for c in configs]

    plain = execute([CnnJob((run,)) for run in runs("plain")], RunContext(gray, "cpu"), lambda _: None)
    context = RunContext(gray, "cpu")
    shared = execute([CurveJob((run,)) for run in runs("curve")], context, lambda _: None)
    assert len(context._memo["curve_test_features"]) == 1  # one test-set extraction for both sizes
    assert [r.test_accuracy for r in shared.records] == [r.test_accuracy for r in plain.records]
    assert [r.config_hash for r in shared.records] == [r.config_hash for r in plain.records]
    assert shared.records[0].test_accuracy != shared.records[1].test_accuracy


def test_the_command_line_lists_columns_and_grids():
    shown = subprocess.run(
        [sys.executable, "-m", "synthlib", "curves", "show"], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    ).stdout
    assert "deep3_trained" in shown and "grid cpu:" in shown


def curve_record(column: str, per_class: int, seed: int, train: dict | None, seconds: float = 6.0) -> RunRecord:
    """A learning-curve record whose configuration holds only what the text functions read."""
    config = {"per_class": per_class, "val_per_class": 10}
    config.update({"train": train} if train is not None else {"features": {"max_iter": 10000}})
    return RunRecord(
        "mnist", column, seed, 0.5, 0.5, 10 * per_class, 100, 10000, config, "0" * 16, "cpu (2 threads)", {},
        timing={"wall_time_s": seconds}, protocol=LEARNING_CURVES.name,
    )  # fmt: skip


def length_study() -> list[RunRecord]:
    """Normal frozen for a fixed 1200 steps at 38 per class and 4921 (the full set), Fully Trained early-stopped
    at 38 only, the scattering baseline at 38 only; two seeds each."""
    records = []
    for seed in (0, 1):
        records.append(curve_record("normal", 38, seed, {"epochs": 200, "batch_size": 64}))
        records.append(curve_record("normal", 4921, seed, {"epochs": 2, "batch_size": 64}))
        records.append(curve_record("fully_trained", 38, seed, {"epochs": 300, "batch_size": 64, "patience": 20}))
        records.append(curve_record("scattering", 38, seed, None))
    return records


def test_the_length_lines_are_read_from_the_records_one_line_each():
    text = LEARNING_CURVES.length_lines(length_study())
    lines = text.splitlines()
    assert lines == [
        "- mnist, frozen columns (1), at 38, full per class: a fixed 1200–1538 optimiser steps; epochs: 200 at 38, "
        "2 at the full set.",
        "- mnist, trained columns (1), at 38 per class: early stopping on validation (patience 20 epochs, at most "
        "300 epochs); epochs: 300 at 38.",
        "- mnist, baseline columns (1), at 38 per class: a solver run to convergence (at most 10000 iterations).",
    ]
    assert len(set(lines)) == len(lines)
    assert "reason" not in text and "flattens" not in text  # no causal sentence the data did not test


def test_the_runs_are_summed_from_the_records():
    text = LEARNING_CURVES.runs_markdown(length_study())
    assert text.splitlines()[0] == (
        "- mnist: 8 runs of 3 columns, 2 seeds per point, at 38 per class and the full set (4921 per class); "
        "Normal up to the full set; Fully Trained, Scattering + linear up to 38 per class; 0.8 minutes of run time "
        "summed over the records (cpu (2 threads))."
    )
    assert text.splitlines()[-1] == "- In all: 8 runs, 0.8 minutes of run time."
    below_full = LEARNING_CURVES.runs_markdown([r for r in length_study() if r.config["per_class"] == 38])
    assert below_full.startswith("- mnist: 6 runs of 3 columns, 2 seeds per point, at 38 per class; ")


def test_an_unknown_column_names_the_valid_ones(gray, tmp_path):
    write_sound_tuning(tmp_path, "synthetic_gray")
    with pytest.raises(ValueError, match="unknown column 'gabor'.*gabor_v1"):
        LEARNING_CURVES.plan(gray, tmp_path, columns=["gabor"])


def test_the_records_check_recomputes_each_curve_records_key(gray, tmp_path):
    write_sound_tuning(tmp_path, "synthetic_gray")
    study = replace(LEARNING_CURVES, sizes=(1,), seeds=(0,))
    run_study(study, gray, tmp_path, columns=["gabor_v1", "logreg_pixels"], **QUIET)
    findings, checked, _ = check_results(tmp_path)
    assert checked == 4 and not [f for f in findings if f.kind not in ("dirty tree", "unknown commit")]
    path = study.runs_dir(tmp_path) / "synthetic_gray" / "gabor_v1__n0001__seed0.json"
    record = json.loads(path.read_text())
    record["config"]["train"]["epochs"] += 1  # a record of a setting the study does not plan
    record["config_hash"] = config_hash(record["config"])
    path.write_text(json.dumps(record))
    stale = [f for f in check_results(tmp_path)[0] if f.kind == "stale"]
    assert [f.path.name for f in stale] == [path.name]


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_committed_curves_at_38_per_class_are_sounds_own_runs(dataset):
    """At the size sound ran, the learning curves plan sound's runs exactly: the same key, seed by seed (the
    step budget at 38 per class is the tuned setting itself). The test accuracy is the same to within the
    column's measured rounding tolerance (``tests/test_real_data.py``): the curves train a seed's frozen heads
    in one batched model with more columns than sound's, and a batched matmul of another width rounds
    otherwise (measured: every fully trained run and baseline identical, frozen heads within 1.71 points,
    sound's unstable MNIST log-normal)."""
    sound_runs = REPO_ROOT / "results" / "sound" / "runs" / dataset
    curve_runs = LEARNING_CURVES.runs_dir(REPO_ROOT / "results") / dataset
    compared = 0
    for column in ("normal", "lognormal", "center_surround", "fully_trained", "logreg_pixels", "scattering"):
        for seed in LEARNING_CURVES.seeds:
            ours = json.loads((curve_runs / f"{column}__n0038__seed{seed}.json").read_text())
            theirs = json.loads((sound_runs / f"{column}__seed{seed}.json").read_text())
            assert ours["config_hash"] == theirs["config_hash"], (column, seed)
            tolerance, why = tolerance_pp("sound", dataset, column)
            difference = abs(100 * ours["test_accuracy"] - 100 * theirs["test_accuracy"])
            if column in ("fully_trained", "logreg_pixels", "scattering"):
                assert difference == 0, (column, seed, difference)
            assert difference <= tolerance, (column, seed, difference, why)
            compared += 1
    assert compared == 30


def test_the_timed_grid_writes_wall_time_ceiling_and_time_per_column_kind(tmp_path):
    write_sound_tuning(tmp_path, "synthetic_gray")
    argv = ["--results", str(tmp_path), "--device", "cpu", "--columns", "normal", "fully_trained"]
    status, timing = timed_curves([*argv, "--sizes", "1", "--seeds", "0", "--", "synthetic_gray"])
    assert status == 0
    written = json.loads((LEARNING_CURVES.folder(tmp_path) / "timing.json").read_text())
    assert written == timing and written["grid"] == "cpu" and written["matmul_gflops"] > 0
    assert written["scaled_to_reference_s"] == pytest.approx(
        written["wall_s"] * written["matmul_gflops"] / 359, abs=0.1
    )
    assert {k: v["runs"] for k, v in written["by_kind"].items()} == {"all": 2, "frozen": 1, "trained": 1}
    _, again = timed_curves([*argv, "--sizes", "1", "--seeds", "0", "--", "synthetic_gray"])
    assert again["by_kind"] == {}  # reused records took no time in this call
    # ...but the grid's whole run time, over every call, is still there
    assert again["all_records"]["by_kind"] == written["by_kind"]
    assert sum(again["all_records"]["machines"].values()) == 2
    assert written["study"] == "learning_curves"


def test_the_timed_grid_of_the_plateau_curves_writes_into_their_own_folder(tmp_path):
    write_sound_tuning(tmp_path, "synthetic_gray")
    argv = ["--study", "learning_curves_plateau", "--results", str(tmp_path), "--device", "cpu"]
    other = curve_record("normal", 5, 0, None, seconds=100.0)
    elsewhere = replace(  # finished during the call by another dataset's process: not this call's
        other, protocol=LEARNING_CURVES_PLATEAU.name, config_hash=config_hash(other.config)
    )
    elsewhere.timing["finished_unix"] = 4e9
    write_record(record_path(LEARNING_CURVES_PLATEAU.runs_dir(tmp_path), "mnist", "normal", 0, "n0005"), elsewhere)
    status, timing = timed_curves([*argv, "--columns", "normal", "--sizes", "5", "--", "synthetic_gray"])
    assert status == 0 and timing["study"] == "learning_curves_plateau"
    written = json.loads((LEARNING_CURVES_PLATEAU.folder(tmp_path) / "timing.json").read_text())
    assert written == timing and timing["by_kind"]["frozen"]["runs"] == 5  # seeds 0-4 at 5 per class
    assert timing["all_records"]["by_dataset"]["synthetic_gray"]["frozen"]["runs"] == 5
    assert timing["all_records"]["by_dataset"]["mnist"]["all"] == {"runs": 1, "run_s": 100.0}
    assert timing["all_records"]["by_kind"]["frozen"]["runs"] == 6
    assert not LEARNING_CURVES.folder(tmp_path).exists()
    (call,) = timing["calls"]
    assert call["runs"] == 5 and call["sizes"] == [5] and call["columns"] == ["normal"]
    assert timing["all_records"]["scaled_to_reference_s"] is None  # the other record's machine has no call
    ours = [r for r in load_records(LEARNING_CURVES_PLATEAU.runs_dir(tmp_path)) if r.dataset == "synthetic_gray"]
    assert scaled_run_seconds(ours, [call]) == pytest.approx(call["run_s"] * call["matmul_gflops"] / 359, abs=0.2)
    _, again = timed_curves([*argv, "--columns", "normal", "--sizes", "1", "--seeds", "0", "--", "synthetic_gray"])
    assert [c["sizes"] for c in again["calls"]] == [[5], [1]]  # every call kept, the earlier read from the file
    assert again["all_records"]["by_dataset"]["synthetic_gray"]["frozen"]["runs"] == 6
    records = [r for r in load_records(LEARNING_CURVES_PLATEAU.runs_dir(tmp_path)) if r.dataset == "synthetic_gray"]
    assert len(records) == 6 and {r.protocol for r in records} == {"learning_curves_plateau"}
    for record in records:  # one strip of at least 20 optimiser steps between validations
        per_epoch = math.ceil(record.n_train / record.config["train"]["batch_size"])
        assert record.stopping is not None and record.config["train"]["validation_every"] == math.ceil(20 / per_epoch)


def test_under_early_stopping_every_trained_column_stops_on_its_validation_split_and_says_how(gray, tmp_path):
    write_sound_tuning(tmp_path, "synthetic_gray")
    rule = CurveStopping(patience_epochs=2, patience_steps=8, max_epochs_floor=6, max_steps=20)
    study = replace(LEARNING_CURVES, sizes=(2,), seeds=(0,), more_seeds={2: (1,)}, stopping=rule)
    columns = ["normal", "deep2_frozen", "fully_trained", "init_dog_color", "logreg_pixels"]
    outcome = run_study(study, gray, tmp_path, columns=columns, sizes=[2], **QUIET)
    assert not outcome.failures and outcome.ran == 2 * len(columns)  # seeds 0 and 1 at 2 per class
    records = load_records(study.runs_dir(tmp_path))
    for record in records:
        if record.method == "logreg_pixels":
            assert record.stopping is None and "train" not in record.config
            continue
        train, stopping = record.config["train"], record.stopping
        assert (train["patience"], train["epochs"]) == (4, 10)  # 2 x 10 images: 2 minibatches of 16 per epoch
        assert 1 <= stopping["epoch_kept"] <= stopping["epochs_run"] <= 10
        assert stopping["stopped_at_max"] == (
            stopping["epochs_run"] == 10 and stopping["epochs_run"] - stopping["epoch_kept"] < 4
        )
        assert record.val_accuracy == stopping["best_validation_accuracy"]
        assert record_length_rule(record) == "early stopping on validation (patience 4 epochs, at most 10 epochs)"
    assert "early stopping on each run's own validation split: patience 2 epochs" in study.deviations()
    assert "2 at 2 per class (seeds 0, 1)" in study.deviations()
    plain = LEARNING_CURVES.column_run("synthetic_gray", tmp_path, "normal", 0, 2)
    assert "patience" not in plain.payload.to_dict()["train"]  # the default keeps the step budget


def test_the_stopping_rule_rejects_a_maximum_below_its_patience():
    with pytest.raises(ValueError, match="maximum must exceed the patience"):
        CurveStopping(patience_epochs=20, patience_steps=800, max_epochs_floor=10, max_steps=4000)
    rule = CurveStopping(patience_epochs=20, patience_steps=800, max_epochs_floor=100, max_steps=4000)
    assert (rule.patience(1), rule.max_epochs(1)) == (800, 4000)  # one minibatch per epoch
    assert (rule.patience(47), rule.max_epochs(47)) == (20, 100)  # 300 per class, batches of 64


def test_the_plateau_curves_run_every_column_up_to_300_per_class_with_ten_seeds_at_the_anchored_sizes():
    study, full = LEARNING_CURVES_PLATEAU, 4500
    runs = {"frozen": 0, "trained": 0, "baseline": 0}
    for dataset in ("mnist", "cifar10"):
        for column in study.columns:
            sizes = study.planned_sizes(column, dataset, full)
            assert max(sizes) == (300 if column.kind == "trained" else 1000), (column.name, dataset)
            assert sizes == [n for n in SIZES if n <= max(sizes)]
            if dataset == "cifar10":
                runs[column.kind] += sum(len(study.seeds_at(n)) for n in sizes)
        assert study.planned_sizes(study.pick_columns(["deep3_trained"])[0], dataset, full, "full")[-1] == full
    assert runs == {"frozen": 540, "trained": 495, "baseline": 120}  # per dataset: 2,310 runs on both
    assert [len(study.seeds_at(n)) for n in SIZES] == [5, 5, 5, 10, 5, 10, 10, 5, 5]
    assert study.stopping == PLATEAU_STOPPING and LEARNING_CURVES.stopping is None
    assert CURVE_STUDIES == {"learning_curves": LEARNING_CURVES, "learning_curves_plateau": study}
    assert "10 at 38 per class (seeds 0–9)" in study.deviations()


def test_the_plateau_maximum_is_250_epochs_from_300_per_class_and_4000_steps_below():
    """Batches of 64 on ten classes: an epoch is 1, 1, 1, 2, 4, 6, 16, 47 and 157 minibatches at 1 to 1000 per
    class; up to 100 per class 4,000 steps are at least 250 epochs, so the floor changes nothing there."""
    setting = TrainConfig(epochs=7, batch_size=64)
    rule = PLATEAU_STOPPING
    for per_class in SIZES:
        per_epoch = math.ceil(10 * per_class / 64)
        trained = train_setting(setting, 10, per_class, rule)
        by_steps = math.ceil(4000 / per_epoch)
        assert trained.epochs == (250 if per_class >= 300 else by_steps)
        assert trained.epochs == max(250, by_steps)
        assert trained.patience == max(20, math.ceil(800 / per_epoch))
        assert trained.epochs > trained.patience
    assert train_setting(setting, 10, 100, rule).epochs == 250  # 16 minibatches: 4,000 steps are 250 epochs


@pytest.mark.parametrize("per_class, every", [(1, 20), (2, 20), (10, 10), (38, 4), (100, 2), (300, 1), (1000, 1)])
def test_validation_is_scored_once_per_strip_of_20_steps(per_class, every):
    trained = train_setting(TrainConfig(epochs=7, batch_size=64), 10, per_class, PLATEAU_STOPPING)
    assert trained.validation_every == every
    assert every * math.ceil(10 * per_class / 64) >= 20 or every == 1
    assert trained.early_stopping().every == every
    no_strips = replace(PLATEAU_STOPPING, strip_steps=None)
    assert train_setting(TrainConfig(epochs=7, batch_size=64), 10, per_class, no_strips).validation_every is None
    assert "once per strip of at least 20 optimiser steps" in PLATEAU_STOPPING.describe()
    with pytest.raises(ValueError, match="strip_steps must be a positive integer"):
        replace(PLATEAU_STOPPING, strip_steps=0)


def test_the_plateau_grids_progress_is_read_from_the_records():
    study = LEARNING_CURVES_PLATEAU
    records = []
    for column in study.columns:
        for seed in study.seeds_at(1):
            stopped = None if column.kind == "baseline" else {"epoch_kept": 3, "epochs_run": 9, "stopped_at_max": False}
            records.append(replace(curve_record(column.name, 1, seed, None), protocol=study.name, stopping=stopped))
    records.append(
        replace(
            curve_record("normal", 2, 0, None),
            protocol=study.name,
            stopping={"epoch_kept": 9, "epochs_run": 9, "stopped_at_max": True},
        )
    )
    text = study.progress_markdown(records, ["mnist", "cifar10"])
    mnist, cifar10 = text.splitlines()
    assert mnist.startswith(
        "- mnist: 101 of 1155 planned runs (frozen 46 of 540; trained 45 of 495; baseline 10 of 120); complete at 1 "
        "per class; 1 of 91 early-stopped runs stopped at the maximum; 10.1 minutes of run time"
    )  # 20 columns x 5 seeds at 1 per class, and one run at 2; 6 s each
    assert cifar10.startswith("- cifar10: 0 of 1155 planned runs") and "no size complete yet" in cifar10
