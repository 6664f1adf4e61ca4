"""The protocol registry and each protocol: configuration, small end-to-end runs on synthetic data
(tuning, runs, reuse, tables, verdict, records check), a fourth protocol registered in one place,
and the authors' preprocessing, network and training details."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synthlib.audit import check_results
from synthlib.columns import BASELINES, PAPER_METHODS
from synthlib.data import load_dataset
from synthlib.experiment import (
    RunConfig,
    RunOptions,
    authors_code_preprocessing,
    build_model,
    prepare_run_split,
    prepare_split,
    train_and_score,
)
from synthlib.features import FeatureScaler, frozen_features
from synthlib.models import ArchitectureConfig, conv2d_same, conv_features
from synthlib.preprocess import AUTHORS_CODE_STEPS, FIT_ROWS, AuthorsCodePreprocessing, _flat_float
from synthlib.protocols import (
    AUTHORS_CODE_ARCH,
    Protocol,
    authors_code_settings,
    get_protocol,
    protocol_names,
    register_protocol,
    unregister_protocol,
    variant_labels,
)
from synthlib.records import load_records
from synthlib.runner import pilot_estimate, run_study
from synthlib.seed_count import SeedRule
from synthlib.tables import protocol_table
from synthlib.training import TrainConfig, fit
from synthlib.tuning import TuningGrid
from synthlib.verdict import claim_table, protocol_variants
from tests.conftest import REPO_ROOT

CPU = torch.device("cpu")
PER_CLASS, VAL_PER_CLASS = 6, 4
SMALL_GRID = TuningGrid(
    input_norms=("standardize",),
    learning_rates=(1e-3,),
    weight_decays=(0.0,),
    epochs=(1, 2),
    seeds=(1000,),
    max_extensions=0,
)
QUIET = {"log": lambda _: None, "device": "cpu"}


@pytest.fixture(scope="module")
def gray():
    return load_dataset("synthetic_gray")


def small(protocol: Protocol) -> Protocol:
    """The protocol at test size: 2 seeds, 6 + 4 images per class, one tuning setting of 1-2 epochs,
    or the first 2 settings of its grid at 2 epochs and 2 values of C."""
    shorter = tuple(replace(c, epochs=2) for c in protocol.settings[:2])
    return replace(
        protocol.with_overrides(seeds=(0, 1), per_class=PER_CLASS, val_per_class=VAL_PER_CLASS),
        tuning_grid=SMALL_GRID,
        settings=shorter,
        trained_settings=shorter if protocol.trained_settings else None,
        baseline_cs=(0.01, 1.0),
        baselines=BASELINES[:1],
    )


def run_small(protocol: Protocol, data, root):
    """Tune (when the protocol does; a protocol that borrows full training's setting gets it tuned
    first) and run ``protocol`` at test size under ``root``."""
    if protocol.trained_setting_from:
        small(get_protocol(protocol.trained_setting_from)).tune(data, root, **QUIET)
    if protocol.needs_tuning:
        protocol.tune(data, root, **QUIET)
    return run_study(protocol, data, root, **QUIET)


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def test_registry_names_and_unknown_protocol():
    assert protocol_names() == ["paper", "authors_code", "sound"]
    with pytest.raises(ValueError, match="unknown protocol 'papr'; valid protocols are: paper, authors_code, sound"):
        get_protocol("papr")
    assert variant_labels() == {
        "paper": "paper",
        "authors_code/test": "authors' code, test-set selection",
        "authors_code/validation": "authors' code, validation selection",
        "sound": "sound",
    }


def test_registry_listing_on_the_command_line(tmp_path):
    def cli(*words: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "synthlib", "protocols", *words], cwd=REPO_ROOT, capture_output=True, text=True
        )

    assert cli("list").stdout.split() == protocol_names()
    assert cli("needs-tuning", "paper").returncode == 0 and cli("needs-tuning", "authors_code").returncode == 1
    unknown = cli("needs-tuning", "papr")
    assert unknown.returncode == 2 and "unknown protocol 'papr'" in unknown.stderr
    missing = cli("missing", str(tmp_path))
    assert missing.returncode == 1 and missing.stdout.split() == protocol_names()


def test_paper_protocol_is_the_text_with_gaps_filled():
    paper = get_protocol("paper")
    assert paper.methods == PAPER_METHODS and paper.seeds == (0, 1, 2) and paper.per_class == 38
    assert paper.selection == "tuned" and paper.options == RunOptions() and paper.arch == ArchitectureConfig()


def test_sound_protocol_standardises_features_over_ten_fresh_seeds():
    sound = get_protocol("sound")
    assert len(sound.seeds) >= 10 and len(set(sound.seeds)) == len(sound.seeds)
    assert sound.selection == "tuned" and sound.options.feature_norm == "standardize"
    assert not sound.options.shared_draws and sound.trained_setting_from == "paper"


def test_authors_code_grid_is_their_24_settings():
    settings = authors_code_settings()
    assert len(settings) == 24 == len(set(settings))
    assert sorted({round(c.learning_rate, 6) for c in settings}) == [0.003333, 0.01, 0.033333, 0.1]
    assert {c.batch_size for c in settings} == {50, 100}
    assert {c.weight_decay for c in settings} == {1e-2, 1e-3, 1e-4}
    for config in settings:
        assert (config.optimizer, config.momentum, config.epochs) == ("sgd", 0.9, 100)
        assert config.input_norm == "authors_code" and config.hflip and not config.train_biases
        assert [config.lr_factor(e) for e in (1, 25, 26, 50, 51, 100)] == [1, 1, 0.3, 0.3, 0.1, 0.1]


def test_authors_code_protocol_options_and_network():
    authors = get_protocol("authors_code")
    assert authors.selection == "grid" and authors.arch == AUTHORS_CODE_ARCH
    assert authors.options == RunOptions(
        shared_draws=True, extraction_flips=True, head_init_std=0.05, conv_init_std=0.01
    )
    assert [m.sampler_params.get("preset") for m in authors.methods if m.sampler] == ["authors_code"] * 3
    assert AUTHORS_CODE_ARCH.pooled_size(32) == 16 and AUTHORS_CODE_ARCH.feature_width(32) == 16384


def test_protocol_rejects_bad_definitions():
    with pytest.raises(ValueError, match="selects on a grid but has no settings"):
        Protocol("x", "x", "x", PAPER_METHODS, (0,), "grid")
    with pytest.raises(ValueError, match="unknown selection 'best'"):
        Protocol("x", "x", "x", PAPER_METHODS, (0,), "best")
    with pytest.raises(ValueError, match="must be a plain identifier"):
        Protocol("../x", "x", "x", PAPER_METHODS, (0,), "tuned")
    with pytest.raises(ValueError, match="already registered"):
        register_protocol(get_protocol("paper"))


def test_a_grid_protocol_has_nothing_to_tune(gray, tmp_path):
    with pytest.raises(ValueError, match="'authors_code' runs its whole grid of settings; it has nothing to tune"):
        get_protocol("authors_code").tune(gray, tmp_path, **QUIET)


def test_running_a_tuned_protocol_before_tuning_names_the_notebook(gray, tmp_path):
    with pytest.raises(FileNotFoundError, match="03_tuning"):
        get_protocol("paper").plan(gray.name, tmp_path)


# ---------------------------------------------------------------------------------------------
# A small run of each protocol
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["paper", "authors_code", "sound"])
def test_small_run_of_each_protocol(gray, tmp_path, name):
    protocol = small(get_protocol(name))
    outcome = run_small(protocol, gray, tmp_path)
    n_settings = 2 if protocol.selection == "grid" else 1
    assert outcome.failures == [] and outcome.reused == 0
    n_runs = (len(protocol.methods) + len(protocol.baselines)) * 2 * n_settings
    assert len(outcome.records) == n_runs == len(load_records(protocol.runs_dir(tmp_path)))
    for record in outcome.records:
        assert record.protocol == name and 0 <= record.test_accuracy <= 1 and 0 <= record.val_accuracy <= 1
        assert record.config["options"] == asdict(protocol.options)
        assert bool(record.setting) == (protocol.selection == "grid")
        assert record.environment["git_commit"] and "source_sha256" in record.environment
        if "baseline" not in record.config["method"]:
            assert record.config["architecture"] == protocol.arch.to_dict()
            assert {"split_s", "features_s", "fit_s", "test_features_s", "test_eval_s"} <= set(record.timing)
    again = run_study(protocol, gray, tmp_path, **QUIET)
    assert again.ran == 0 and again.reused == n_runs
    assert [r.to_json() for r in again.records] == [r.to_json() for r in outcome.records]  # reused, not recomputed


def test_changing_a_sampler_default_makes_its_records_stale(gray, tmp_path, monkeypatch):
    protocol = small(get_protocol("paper"))
    run_small(protocol, gray, tmp_path)
    from synthlib.samplers import registry

    info = registry.get_sampler("center_surround")
    changed = replace(info, presets={**info.presets, "biological": {"surround_gain": 0.5}})
    monkeypatch.setitem(registry._REGISTRY, "center_surround", changed)
    logs: list[str] = []
    again = run_study(protocol, gray, tmp_path, device="cpu", log=logs.append)
    assert again.ran == 2 and again.reused == len(again.records) - 2  # the two centre-surround runs
    assert sum("stale" in line for line in logs) == 2
    rerun = [r for r in again.records if r.method == "center_surround"]
    assert [r.config["method"]["resolved_sampler_params"]["surround_gain"] for r in rerun] == [0.5, 0.5]


def test_a_fourth_protocol_is_one_registration(gray, tmp_path):
    """A new protocol is one ``register_protocol`` call; tuning, runs, tables, the verdict and the
    records check then work for it with no other change."""
    tiny = Protocol(
        name="tiny",
        label="tiny",
        title="A fourth protocol: two samplers and full training, standardised features, one C",
        methods=tuple(m for m in PAPER_METHODS if m.name != "lognormal"),
        seeds=(0, 1, 2),
        selection="tuned",
        options=RunOptions(feature_norm="standardize"),
        tuning_grid=SMALL_GRID,
        baselines=BASELINES[:1],
        baseline_cs=(1.0,),
        per_class=PER_CLASS,
        val_per_class=VAL_PER_CLASS,
    )
    register_protocol(tiny)
    try:
        assert "tiny" in protocol_names() and variant_labels()["tiny"] == "tiny"
        tiny.tune(gray, tmp_path, **QUIET)
        outcome = run_study(tiny, gray, tmp_path, **QUIET)
        assert outcome.failures == [] and len(outcome.records) == 4 * 3
        records = load_records(tiny.runs_dir(tmp_path))
        table = protocol_table(records, tiny)
        assert list(table["method"]) == ["normal", "center_surround", "fully_trained", "logreg_pixels"]
        assert (table["n_seeds"] == 3).all()
        claims = claim_table(protocol_variants({"tiny": records}))
        assert set(claims["variant"]) == {"tiny"} and len(claims) > 0
        findings, checked, _ = check_results(tmp_path)
        assert checked == 12 and [f.kind for f in findings if f.kind not in ("dirty tree", "unknown commit")] == []
    finally:
        unregister_protocol("tiny")
    assert "tiny" not in protocol_names()


@pytest.mark.slow
def test_a_seed_rule_runs_the_seeds_its_pilots_power_estimate_asks_for(gray, tmp_path):
    rule = SeedRule(minimum=3, maximum=5)
    protocol = replace(small(get_protocol("sound")), seeds=rule.pilot, seed_rule=rule)
    outcome = run_small(protocol, gray, tmp_path)
    seeds = {r.seed for r in outcome.records}
    pilot = [r for r in outcome.records if r.seed in rule.pilot]
    assert seeds == set(range(rule.choose(pilot_estimate("sound", rule, pilot)))) and 3 <= len(seeds) <= 5
    with pytest.raises(ValueError, match="seeds must be its pilot"):
        replace(protocol, seeds=(0, 1))
    assert protocol.with_overrides(seeds=(0,)).seed_rule is None  # seeds given replace the rule


def test_authors_code_runs_share_subset_kernels_and_init_but_not_order(gray):
    protocol = get_protocol("authors_code")
    setting = replace(protocol.settings[0], epochs=1)
    configs = [
        RunConfig(
            gray.name, protocol.methods[0], seed, setting, PER_CLASS, VAL_PER_CLASS, protocol.arch, protocol.options
        )
        for seed in (0, 1)
    ]
    preprocessing = authors_code_preprocessing(gray)
    splits = [prepare_run_split(c, gray, CPU, True, preprocessing) for c in configs]
    assert torch.equal(splits[0].y_train, splits[1].y_train)  # the same images...
    assert not torch.equal(splits[0].x_train, splits[1].x_train)  # ...flipped differently per run
    torch.testing.assert_close(splits[0].x_train.abs().sum(), splits[1].x_train.abs().sum())
    models = [build_model(c, 3, 32, CPU) for c in configs]
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), models[1].parameters()))
    assert models[0].head[1].weight.std().item() == pytest.approx(0.05, rel=0.05)
    trained = train_and_score(configs[0], splits[0], CPU).model
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in (trained.head[1], trained.head[3]))
    full = RunConfig(
        gray.name, protocol.methods[3], 0, setting, PER_CLASS, VAL_PER_CLASS, protocol.arch, protocol.options
    )
    assert build_model(full, 3, 32, CPU).conv_weight.std().item() == pytest.approx(0.01, rel=0.1)


def test_authors_code_frozen_heads_flip_the_images_before_the_conv(gray):
    """A flipped minibatch of a frozen head takes the features of the flipped images, extracted once
    (the authors' code flipped images, then ran the frozen conv), not the feature maps flipped."""
    protocol = get_protocol("authors_code")
    config = RunConfig(
        gray.name,
        protocol.methods[0],
        0,
        replace(protocol.settings[0], epochs=1),
        PER_CLASS,
        VAL_PER_CLASS,
        protocol.arch,
        protocol.options,
    )
    split = prepare_run_split(config, gray, CPU, True, authors_code_preprocessing(gray))
    run = train_and_score(config, split, CPU)
    assert run.features is not None and run.features.train_flipped is not None
    expected = conv_features(split.x_train.flip(-1), run.model.conv_weight, protocol.arch)
    torch.testing.assert_close(run.features.train_flipped, expected)
    assert not torch.allclose(run.features.train_flipped, run.features.train.flip(-1))
    plain = train_and_score(replace(config, train=replace(config.train, hflip=False)), split, CPU)
    assert plain.features is not None and plain.features.train_flipped is None


def test_paper_runs_draw_fresh_subsets_and_kernels_per_seed(gray):
    configs = [
        RunConfig(gray.name, PAPER_METHODS[0], seed, TrainConfig(epochs=1), PER_CLASS, VAL_PER_CLASS) for seed in (0, 1)
    ]
    splits = [prepare_run_split(c, gray, CPU) for c in configs]
    assert not torch.equal(splits[0].x_train, splits[1].x_train)
    models = [build_model(c, 1, 28, CPU) for c in configs]
    assert not torch.equal(models[0].conv_weight, models[1].conv_weight)


def test_sound_features_are_standardised_with_training_statistics(gray):
    protocol = get_protocol("sound")
    config = RunConfig(
        gray.name, PAPER_METHODS[1], 0, TrainConfig(epochs=1), PER_CLASS, VAL_PER_CLASS, options=protocol.options
    )
    split = prepare_run_split(config, gray, CPU)
    kernels = build_model(config, 1, 28, CPU).conv_weight
    features = frozen_features(kernels, config.arch, split.x_train, split.x_val, standardize=True)
    assert features.scaler is not None
    flat = features.train.flatten(1)
    varying = flat.std(dim=0) > 0
    torch.testing.assert_close(flat.mean(dim=0), torch.zeros(flat.shape[1]), atol=1e-4, rtol=0)
    torch.testing.assert_close(flat.std(dim=0)[varying], torch.ones(int(varying.sum())), atol=1e-4, rtol=0)


def test_options_are_checked():
    with pytest.raises(ValueError, match="unknown feature_norm 'whiten'; valid values are: none, standardize"):
        RunOptions(feature_norm="whiten").check()
    with pytest.raises(ValueError, match="head_init_std must be positive"):
        RunOptions(head_init_std=0.0).check()


# ---------------------------------------------------------------------------------------------
# Baselines as columns
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["paper", "authors_code"])
def test_baseline_records_follow_the_protocol(gray, tmp_path, name):
    protocol = small(get_protocol(name))
    if protocol.needs_tuning:
        result = protocol.tune(gray, tmp_path, methods=[], **QUIET)
        assert set(result.baseline_c) == {"logreg_pixels"} and result.baseline_c["logreg_pixels"] in (0.01, 1.0)
    records = run_study(protocol, gray, tmp_path, methods=[], **QUIET).records
    if protocol.selection == "grid":
        assert sorted(r.setting for r in records) == ["C0.01", "C0.01", "C1", "C1"]
        by_setting: dict[str, set[float]] = {}
        for r in records:  # shared draws: both seeds see the same subset, so the same result
            by_setting.setdefault(r.setting, set()).add(r.test_accuracy)
        assert all(len(values) == 1 for values in by_setting.values())
    else:
        assert len(records) == 2 and {r.setting for r in records} == {""}
        assert {r.config["C"] for r in records} == {result.baseline_c["logreg_pixels"]}


def test_unknown_baseline_names_the_valid_ones(gray, tmp_path):
    with pytest.raises(ValueError, match="unknown baseline 'sift'; valid baselines are: logreg_pixels, scattering"):
        get_protocol("authors_code").plan(gray.name, tmp_path, baselines=["sift"])


# ---------------------------------------------------------------------------------------------
# The authors' preprocessing, network and training details
# ---------------------------------------------------------------------------------------------


def test_authors_preprocessing_pads_replicates_and_subtracts_the_mean(gray):
    steps = ("pad_to_32", "gray_to_rgb", "mean")
    pre = AuthorsCodePreprocessing.fit(gray.x_train, gray.x_test, steps)
    out = pre(gray.x_train)
    assert out.shape == (len(gray.x_train), 3, 32, 32)
    torch.testing.assert_close(out.mean(dim=0), torch.zeros(3, 32, 32), atol=1e-3, rtol=0)
    assert torch.equal(out[:, 0], out[:, 2]) and float(out.abs().max()) > 10  # the 0-255 scale
    assert torch.all(out[:, :, :2, :] == out[:1, :, :2, :])  # padding: the same (mean-subtracted) zeros


def test_authors_whitening_follows_constructCifarImdb():
    """Mean image, contrast normalisation and whitening, recomputed here in float64 numpy from the
    MatConvNet code's formulas, on data where some eigenvalues fall under the floor of 10."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(48, 48))
    train = np.clip(128 + (rng.normal(size=(3000, 48)) @ mixing) * 3, 0, 255).astype(np.uint8).reshape(-1, 4, 4, 3)
    test = train[:500]
    pre = AuthorsCodePreprocessing.fit(train, test, ("mean", "contrast", "whiten"))

    def flat(images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float64)

    mean_image = flat(train).mean(axis=0)
    centred = [flat(x) - mean_image for x in (train, test)]
    stds = [(z - z.mean(axis=1, keepdims=True)).std(axis=1, ddof=1) for z in centred]
    mean_n = np.concatenate(stds).mean()
    z = centred[0] - centred[0].mean(axis=1, keepdims=True)
    z = z * (mean_n / np.maximum(stds[0], 40))[:, None]
    eigenvalues, vectors = np.linalg.eigh(z.T @ z / (len(train) + len(test)))
    eigenvalues = np.clip(eigenvalues, 0, None)
    assert (np.sqrt(eigenvalues) < 10).any() and (np.sqrt(eigenvalues) > 10).any()  # both regimes
    scale = np.sqrt(eigenvalues.mean()) / np.maximum(np.sqrt(eigenvalues), 10)
    expected = z @ (vectors * scale) @ vectors.T
    ours = pre(train).permute(0, 2, 3, 1).reshape(len(train), -1).double().numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-3)


def _fit_whole_array(train_images: np.ndarray, test_images: np.ndarray, steps: tuple[str, ...]):
    """``AuthorsCodePreprocessing.fit``'s arithmetic on whole arrays, as the authors' code does it: float copies
    of every image set, per-image statistics over the full array (the reference for the block-wise fit)."""

    def flat(images: np.ndarray) -> np.ndarray:
        x = images.astype(np.float32)
        if "pad_to_32" in steps:
            pad = (32 - x.shape[1]) // 2
            x = np.pad(x, ((0, 0), (pad, 32 - x.shape[1] - pad), (pad, 32 - x.shape[2] - pad), (0, 0)))
        if "gray_to_rgb" in steps and x.shape[3] == 1:
            x = np.repeat(x, 3, axis=3)
        return x.reshape(len(x), -1)

    train = flat(train_images)
    mean_image = train.mean(axis=0)
    mean_std, whitening = 1.0, None
    if "contrast" in steps:
        stds = [
            (z - z.mean(axis=1, keepdims=True)).std(axis=1, ddof=1)
            for z in (train - mean_image, flat(test_images) - mean_image)
        ]
        mean_std = float(np.concatenate(stds).mean())
        z = train - mean_image
        z = z - z.mean(axis=1, keepdims=True)
        train = z * (mean_std / np.maximum(z.std(axis=1, ddof=1, keepdims=True), 40.0))
    else:
        train = train - mean_image
    if "whiten" in steps:
        z = torch.from_numpy(np.ascontiguousarray(train))
        covariance = (z.T @ z).double() / (len(train_images) + len(test_images))
        eigenvalues, vectors = torch.linalg.eigh(covariance)
        scale = eigenvalues.clamp_min(0).mean().sqrt() / eigenvalues.clamp_min(0).sqrt().clamp_min(10.0)
        whitening = ((vectors * scale) @ vectors.T).float().numpy()
    return mean_image, mean_std, whitening, flat(train_images)


@pytest.mark.parametrize(
    ("shape", "steps"),
    [
        ((4, 4, 3), ("mean", "contrast", "whiten")),
        ((4, 4, 3), ("mean", "contrast")),
        ((5, 5, 1), AUTHORS_CODE_STEPS["mnist"]),
    ],
)
def test_block_wise_fit_equals_the_whole_array_fit_bit_for_bit(shape, steps):
    """The fit holds one float copy of the training set and computes per-image statistics in blocks of
    ``FIT_ROWS`` images (the whole-array arithmetic took a process to 3.22 GB on CIFAR-10); every statistic, and every
    preprocessed image, is the same bit for bit. More images than one block, so the blocks' seams are tested."""
    rng = np.random.default_rng(2)
    train = rng.integers(0, 256, size=(FIT_ROWS + 37, *shape), dtype=np.uint8)
    test = rng.integers(0, 256, size=(300, *shape), dtype=np.uint8)
    pre = AuthorsCodePreprocessing.fit(train, test, steps)
    mean_image, mean_std, whitening, flat_train = _fit_whole_array(train, test, steps)
    np.testing.assert_array_equal(pre.mean_image, mean_image)
    assert pre.mean_std == mean_std
    if whitening is None:
        assert pre.whitening is None
    else:
        np.testing.assert_array_equal(pre.whitening, whitening)
    np.testing.assert_array_equal(_flat_float(train, steps), flat_train)


def test_contrast_normalisation_zeroes_each_image_mean():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(50, 4, 4, 3), dtype=np.uint8)
    pre = AuthorsCodePreprocessing.fit(images, images[:10], ("mean", "contrast"))
    out = pre(images).flatten(1)
    torch.testing.assert_close(out.mean(dim=1), torch.zeros(50), atol=1e-3, rtol=0)


def test_pool_pad_after_is_matconvnets_bottom_right_padding():
    maps = torch.arange(16.0).view(1, 1, 4, 4)
    arch = ArchitectureConfig(
        n_kernels=1, kernel_size=1, pool_kernel=3, pool_stride=2, pool_pad_after=1, feature_grid=None
    )
    pooled = conv_features(maps, torch.ones(1, 1, 1, 1), arch)
    assert pooled.shape == (1, 1, 2, 2) and arch.pooled_size(4) == 2
    assert pooled.flatten().tolist() == [10.0, 11.0, 14.0, 15.0]
    with pytest.raises(ValueError, match="pool_pad_after must be an integer from 0 to pool_kernel - 1 = 2"):
        ArchitectureConfig(pool_kernel=3, pool_pad_after=3).check(32)


@pytest.mark.parametrize("channels", [1, 3])
def test_conv2d_same_equals_conv2d(channels):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(5, channels, 12, 12, generator=generator)
    kernels = torch.randn(8, channels, 5, 5, generator=generator)
    torch.testing.assert_close(conv2d_same(images, kernels), F.conv2d(images, kernels, padding=2), atol=1e-4, rtol=1e-5)


def test_hflip_flips_whole_minibatches_and_schedule_steps_the_rate():
    seen: list[torch.Tensor] = []

    class Recorder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.detach().clone())
            return self.linear(x.flatten(1))

    inputs = torch.arange(8.0).view(2, 1, 1, 4)
    config = TrainConfig("sgd", 0.1, epochs=20, batch_size=2, lr_schedule=((3, 0.5),), hflip=True)
    model = Recorder()
    fit(model, inputs, torch.tensor([0, 1]), config, torch.Generator().manual_seed(0))
    flipped = [torch.equal(batch.sort(0).values, inputs.flip(-1)) for batch in seen]
    kept = [torch.equal(batch.sort(0).values, inputs) for batch in seen]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    assert [config.lr_factor(e) for e in (1, 2, 3, 20)] == [1, 1, 0.5, 0.5]


def test_train_config_rejects_an_unordered_schedule():
    with pytest.raises(ValueError, match="lr_schedule epochs must be increasing"):
        TrainConfig(lr_schedule=((50, 0.1), (26, 0.3))).check()


def test_feature_scaler_keeps_constant_features_finite():
    features = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
    scaler = FeatureScaler.fit(features)
    out = scaler(torch.tensor([[2.0, 7.0]]))
    assert out.tolist() == [[0.0, 2.0]]  # the constant feature keeps scale 1


def test_feature_scaler_returns_new_values_and_leaves_its_input():
    features = torch.randn(50, 8, generator=torch.Generator().manual_seed(0)) * 3 + 1
    before = features.clone()
    scaler = FeatureScaler.fit(features)
    assert torch.equal(scaler(features), (before - scaler.mean) / scaler.std)
    assert torch.equal(features, before)


def test_prepare_split_flips_each_image_or_leaves_it(gray):
    plain = prepare_split(gray, PER_CLASS, VAL_PER_CLASS, 0, "unit", CPU)
    flipped = prepare_split(
        gray, PER_CLASS, VAL_PER_CLASS, 0, "unit", CPU, flip_generator=torch.Generator().manual_seed(3)
    )
    same = [torch.equal(a, b) for a, b in zip(plain.x_test, flipped.x_test)]
    mirrored = [torch.equal(a.flip(-1), b) for a, b in zip(plain.x_test, flipped.x_test)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert 0.3 < np.mean(mirrored) < 0.7
