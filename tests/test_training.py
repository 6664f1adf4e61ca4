"""Training and runs on the built-in synthetic dataset (offline, a few seconds)."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import replace

import pytest
import torch
from torch import nn

from synthlib.columns import PAPER_METHODS, Method, get_methods
from synthlib.data import load_dataset
from synthlib.engine import RunContext, execute
from synthlib.experiment import RunConfig, build_model, cnn_jobs, prepare_split, run_one, train_and_score
from synthlib.features import FeatureScaler, extract_features
from synthlib.models import ArchitectureConfig, PaperCNN, conv_features, init_
from synthlib.samplers import register_sampler, sample_kernels
from synthlib.seeding import make_generator
from synthlib.stopping import EarlyStopping, stop_on
from synthlib.training import TrainConfig, accuracy, fit, fit_until_plateau, predict

CPU = torch.device("cpu")
PER_CLASS, VAL_PER_CLASS = 10, 5
TRAIN = TrainConfig(epochs=3)
FROZEN = [m for m in PAPER_METHODS if m.regime == "frozen"]
TRAINED = next(m for m in PAPER_METHODS if m.regime == "trained")


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic_gray")


@pytest.fixture(scope="module")
def split(data):
    return prepare_split(data, PER_CLASS, VAL_PER_CLASS, seed=0, input_norm="standardize", device=CPU)


def run_config(data, method: Method, seed: int = 0, train: TrainConfig = TRAIN) -> RunConfig:
    return RunConfig(data.name, method, seed, train, PER_CLASS, VAL_PER_CLASS)


def fresh_init(config: RunConfig) -> PaperCNN:
    """The network build_model starts from, before any kernels are copied in or training."""
    return init_(PaperCNN(1, 28, config.arch), make_generator(config.seed, config.dataset, "init", config.method.name))


def all_differ(before: nn.Module, after: nn.Module) -> bool:
    return all(not torch.equal(a, b) for a, b in zip(before.parameters(), after.parameters()))


# ---------------------------------------------------------------------------------------------
# Frozen versus trained weights
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", FROZEN, ids=lambda m: m.name)
def test_frozen_conv_holds_sampled_kernels_after_training(data, split, method):
    config = run_config(data, method)
    run_model = train_and_score(config, split, CPU)
    model, val_scores = run_model.model, run_model.val_scores
    expected = sample_kernels(
        method.sampler,
        64,
        1,
        5,
        make_generator(config.seed, data.name, "kernels", method.name),
        **method.sampler_params,
    )
    assert torch.equal(model.conv_weight, expected)
    assert not model.conv_weight.requires_grad
    assert all_differ(fresh_init(config).head, model.head)  # the head did train
    assert set(val_scores) == {TRAIN.epochs}


def test_build_model_frozen_and_trained(data):
    frozen = build_model(run_config(data, FROZEN[0]), 1, 28, CPU)
    assert not frozen.conv_weight.requires_grad
    trained_config = run_config(data, TRAINED)
    trained = build_model(trained_config, 1, 28, CPU)
    assert trained.conv_weight.requires_grad
    assert all(torch.equal(a, b) for a, b in zip(trained.parameters(), fresh_init(trained_config).parameters()))


def test_fit_leaves_frozen_conv_unchanged(split):
    model = init_(PaperCNN(1, 28), torch.Generator().manual_seed(0))
    model.conv_weight.requires_grad_(False)
    before = [p.detach().clone() for p in model.parameters()]
    fit(model, split.x_train, split.y_train, TrainConfig(epochs=1, batch_size=50), torch.Generator().manual_seed(1))
    after = list(model.parameters())
    assert torch.equal(after[0], before[0])
    assert all(not torch.equal(a, b) for a, b in zip(after[1:], before[1:]))


def test_fully_trained_conv_changes(data, split):
    config = run_config(data, TRAINED)
    model = train_and_score(config, split, CPU).model
    assert model.conv_weight.requires_grad
    assert all_differ(fresh_init(config), model)


def test_checkpoints_score_each_requested_epoch(data, split):
    config = run_config(data, FROZEN[0], train=TrainConfig(epochs=4))
    val_scores = train_and_score(config, split, CPU, checkpoint_epochs=(1, 3)).val_scores
    assert sorted(val_scores) == [1, 3, 4]
    assert all(score * len(split.y_val) == round(score * len(split.y_val)) for score in val_scores.values())


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [FROZEN[0], TRAINED], ids=lambda m: m.name)
def test_run_one_is_deterministic(data, split, method):
    first, _ = run_one(run_config(data, method), split, CPU)
    second, _ = run_one(run_config(data, method), split, CPU)
    assert (first.test_accuracy, first.val_accuracy) == (second.test_accuracy, second.val_accuracy)
    assert (first.n_train, first.n_val, first.n_test) == (10 * PER_CLASS, 10 * VAL_PER_CLASS, len(data.y_test))


def test_train_and_score_is_bitwise_deterministic(data, split):
    config = run_config(data, TRAINED, train=TrainConfig(epochs=2))
    run_a = train_and_score(config, split, CPU)
    a, scores_a = run_a.model, run_a.val_scores
    run_b = train_and_score(config, split, CPU)
    b, scores_b = run_b.model, run_b.val_scores
    assert scores_a == scores_b
    assert all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))


def study(data, methods, runs_dir, configs=None, per_class=5, val_per_class=2):
    """Seed 0 of ``methods`` through the run loop, as a protocol's plan would run them."""
    configs = configs or {"frozen": TrainConfig(epochs=1), "trained": TrainConfig(epochs=1)}
    runs = [(RunConfig(data.name, m, 0, configs[m.regime], per_class, val_per_class), "") for m in methods]
    logs: list[str] = []
    outcome = execute(cnn_jobs("test", runs_dir, runs), RunContext(data, "cpu"), logs.append)
    return outcome.records, outcome.failures, logs


def test_run_loop_twice_gives_identical_records(data, tmp_path):
    """Two fresh studies write the same records, timing apart (records.py's promise)."""
    configs = {"frozen": TRAIN, "trained": TrainConfig(epochs=2)}
    outputs = []
    for name in ("a", "b"):
        records, failures, _ = study(data, [FROZEN[0], TRAINED], tmp_path / name, configs, PER_CLASS, VAL_PER_CLASS)
        assert failures == []
        outputs.append(records)
    for first, second in zip(*outputs):
        assert (first.test_accuracy, first.val_accuracy) == (second.test_accuracy, second.val_accuracy)
    for path in sorted((tmp_path / "a").rglob("*.json")):
        read = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "timing"}  # noqa: E731
        assert read(path) == read(tmp_path / "b" / path.relative_to(tmp_path / "a"))


def test_split_depends_on_seed(data, split):
    same = prepare_split(data, PER_CLASS, VAL_PER_CLASS, 0, "standardize", CPU)
    other = prepare_split(data, PER_CLASS, VAL_PER_CLASS, 1, "standardize", CPU)
    assert torch.equal(same.x_train, split.x_train) and torch.equal(same.y_val, split.y_val)
    assert not torch.equal(other.x_train, split.x_train)
    assert torch.equal(torch.bincount(split.y_train), torch.full((10,), PER_CLASS))
    assert torch.equal(torch.bincount(split.y_val), torch.full((10,), VAL_PER_CLASS))


def test_split_is_standardised_on_training_images(split):
    mean, std = split.x_train.mean(), split.x_train.std()
    assert abs(float(mean)) < 1e-5 and float(std) == pytest.approx(1.0, abs=1e-4)


# ---------------------------------------------------------------------------------------------
# Features and scoring
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature_grid", [4, None])
def test_extract_features_chunked_equals_unchunked(split, feature_grid):
    arch = ArchitectureConfig(feature_grid=feature_grid)
    kernels = sample_kernels("center_surround", 64, 1, 5, torch.Generator().manual_seed(0))
    images = split.x_test[:150]  # 21 full chunks of 7 and a last one of 3
    chunked = extract_features(images, kernels, arch, batch_size=7)
    whole = extract_features(images, kernels, arch, batch_size=1000)
    assert chunked.flatten(1).shape == (150, arch.feature_width(28))
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-5)
    torch.testing.assert_close(whole, conv_features(images, kernels, arch), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("feature_grid", [4, None])
def test_extract_features_equals_a_concatenation_of_its_chunks_bit_for_bit(split, feature_grid):
    """The features are written chunk by chunk into one tensor; the same values, bit for bit, as the chunks'
    concatenation, in the contiguous ``(N, C, H, W)`` layout, with the last chunk short."""
    arch = ArchitectureConfig(feature_grid=feature_grid)
    kernels = sample_kernels("lognormal", 64, 1, 5, torch.Generator().manual_seed(1))
    images = split.x_test[:150].contiguous(memory_format=torch.channels_last)
    ours = extract_features(images, kernels, arch, batch_size=64)
    layout = [kernels.contiguous(memory_format=torch.channels_last)]
    chunks = [conv_features(images[i : i + 64], layout, arch) for i in range(0, 150, 64)]
    assert torch.equal(ours, torch.cat(chunks).contiguous())
    assert ours.is_contiguous() and ours.shape[0] == 150
    assert extract_features(images[:0], kernels, arch).shape == (0, *ours.shape[1:])


def test_feature_scaler_in_place_equals_the_copy_bit_for_bit():
    features = torch.randn(40, 8, 3, 3, generator=torch.Generator().manual_seed(2)) * 5 + 3
    scaler = FeatureScaler.fit(features[:30])
    copied = scaler(features)
    in_place = features.clone()
    assert scaler.standardise_(in_place) is not None and torch.equal(in_place, copied)


def test_accuracy_is_an_exact_fraction():
    predictions = torch.tensor([0, 1, 2, 3, 4, 5, 6])
    labels = torch.tensor([0, 1, 2, 0, 0, 0, 0])  # 3 of 7 right
    model = nn.Identity()
    model.train()
    inputs = nn.functional.one_hot(predictions, 10).float()
    assert accuracy(model, inputs, labels, batch_size=2) == 3 / 7
    assert torch.equal(predict(model, inputs, batch_size=3), predictions)
    assert model.training  # predict restores the mode


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'; valid optimizers are: adam, sgd"),
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer, got 2.5"),
        ({"learning_rate": 0.0}, "learning_rate must be positive, got 0.0"),
    ],
)
def test_train_config_check(changes, message):
    config = replace(TrainConfig(), **changes)
    with pytest.raises(ValueError, match=message):
        config.check()
    with pytest.raises(ValueError, match=message):  # fit checks before training
        fit(nn.Linear(2, 2), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), config, torch.Generator())


def test_sgd_training_lowers_the_loss(split):
    features = extract_features(
        split.x_train,
        sample_kernels("normal", 64, 1, 5, torch.Generator().manual_seed(0), preset="authors_code"),
        ArchitectureConfig(),
    ).flatten(1)
    head = init_(nn.Sequential(nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 10)), torch.Generator().manual_seed(0))

    def loss() -> float:
        with torch.no_grad():  # features are inference tensors: not for autograd outside fit's indexing
            return float(nn.functional.cross_entropy(head(features), split.y_train))

    before = loss()
    fit(
        head,
        features,
        split.y_train,
        TrainConfig(optimizer="sgd", learning_rate=0.2, epochs=10, batch_size=50),
        torch.Generator().manual_seed(0),
    )
    assert loss() < 0.98 * before
    assert accuracy(head, features, split.y_train) > 0.3  # chance is 0.1


# ---------------------------------------------------------------------------------------------
# Methods and studies
# ---------------------------------------------------------------------------------------------


def test_get_methods():
    assert [m.name for m in get_methods(["fully_trained", "normal"])] == ["fully_trained", "normal"]
    with pytest.raises(ValueError, match="unknown method 'gabor'; valid methods are: ") as info:
        get_methods(["normal", "gabor"])
    for method in PAPER_METHODS:
        assert method.name in str(info.value)


def test_run_loop_records_a_failing_sampler_and_continues(data, tmp_path):
    name = f"broken_{uuid.uuid4().hex}"

    @register_sampler(name)
    def broken(out_channels, in_channels, size, generator):
        raise ArithmeticError("sampler exploded")

    methods = [Method("broken", "Broken", name), FROZEN[0]]
    records, failures, logs = study(data, methods, tmp_path)
    assert [r.method for r in records] == [FROZEN[0].name]
    assert len(failures) == 1
    # the frozen columns of a seed are one job; the broken one's run alone is missed
    assert failures[0] == "test synthetic_gray broken+normal seed=0 (1 run(s)): ArithmeticError: sampler exploded"
    assert any("FAILED" in line for line in logs)
    assert not (tmp_path / "synthetic_gray" / "broken__seed0.json").exists()
    assert (tmp_path / "synthetic_gray" / f"{FROZEN[0].name}__seed0.json").exists()


def test_an_unknown_sampler_is_named_when_the_runs_are_planned(data, tmp_path):
    methods = [Method("bogus", "Bogus", "no_such_sampler"), FROZEN[0]]
    with pytest.raises(ValueError, match="unknown sampler 'no_such_sampler'; valid samplers are: .*normal"):
        study(data, methods, tmp_path)
    assert not any(tmp_path.rglob("*.json"))  # nothing ran


def test_run_loop_reuses_finished_records(data, tmp_path):
    first, _, _ = study(data, [FROZEN[0]], tmp_path)
    second, failures, logs = study(data, [FROZEN[0]], tmp_path)
    assert failures == [] and "reused finished record" in logs[0]
    assert second[0].timing == first[0].timing  # read back, not recomputed


@pytest.mark.parametrize("protocol_name", ["paper", "authors_code"])
def test_settings_trained_together_equal_each_setting_alone(tmp_path, protocol_name):
    """The run loop trains the frozen settings and samplers of one seed as one batched model (one job); each
    run's result equals the same run alone, to floating-point noise (real feature shapes: 64 x 4 x 4 for
    the paper's network, 64 x 16 x 16 for the authors')."""
    from dataclasses import replace as with_fields

    from synthlib.experiment import setting_tag
    from synthlib.protocols import get_protocol

    protocol = get_protocol(protocol_name)
    rgb = load_dataset("synthetic_rgb")
    if protocol.selection == "grid":
        settings = [with_fields(c, epochs=4) for c in protocol.settings[:4]]  # two batch sizes, SGD, flips
    else:
        settings = [TrainConfig(epochs=4, learning_rate=lr, weight_decay=wd) for lr in (1e-3, 3e-3) for wd in (0, 1e-3)]
    methods = [m for m in protocol.methods if m.regime == "frozen"][1:3]
    configs = [
        (RunConfig(rgb.name, method, 0, s, 10, 5, protocol.arch, protocol.options), setting_tag(s))
        for s in settings
        for method in methods  # interleaved: the job tests them method by method
    ]
    context = RunContext(rgb, "cpu")
    jobs = cnn_jobs("t", tmp_path / "together", configs)
    assert len(jobs) == 1
    together = sorted(execute(jobs, context, lambda _: None).records, key=lambda r: (r.setting, r.method))
    alone = [execute(cnn_jobs("t", tmp_path / "alone", [c]), context, lambda _: None).records[0] for c in configs]
    alone.sort(key=lambda r: (r.setting, r.method))
    assert len(together) == len(alone) == 8
    for a, b in zip(together, alone):
        assert a.config_hash == b.config_hash
        assert abs(a.test_accuracy - b.test_accuracy) * a.n_test <= 2  # at most two test images apart
        assert abs(a.val_accuracy - b.val_accuracy) * a.n_val <= 1


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------


def test_patience_is_absent_from_the_dict_unless_set():
    assert "patience" not in TrainConfig().to_dict()
    assert TrainConfig(patience=3).to_dict()["patience"] == 3
    assert TrainConfig(**TrainConfig(patience=3).to_dict()) == TrainConfig(patience=3)
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(patience=0).check()


def test_fit_until_plateau_equals_a_hand_rolled_reference(split):
    """Train to the maximum, scoring every epoch and keeping every epoch's parameters; replay the rule on
    the scores: early stopping keeps exactly that epoch's parameters, having run the epochs the rule says."""
    config = TrainConfig(epochs=12, learning_rate=0.03, batch_size=25, patience=2)
    initial = init_(PaperCNN(1, 28), torch.Generator().manual_seed(3))
    validation = (split.x_val, split.y_val)
    scores, kept = [], {}

    def record(epoch: int, model: nn.Module) -> None:
        scores.append(accuracy(model, *validation))
        kept[epoch] = [p.detach().clone() for p in model.parameters()]

    reference = copy.deepcopy(initial)
    fit(
        reference,
        split.x_train,
        split.y_train,
        replace(config, patience=None),
        torch.Generator().manual_seed(4),
        range(1, 13),
        record,
    )
    expected = stop_on(EarlyStopping(2), scores, 12)
    stopped = copy.deepcopy(initial)
    stopping = fit_until_plateau(
        stopped, split.x_train, split.y_train, config, torch.Generator().manual_seed(4), validation
    )
    assert stopping == expected
    assert stopping.epochs_run < 12  # the rule did stop this run
    assert all(torch.equal(a, b) for a, b in zip(stopped.parameters(), kept[stopping.epoch_kept]))
    assert accuracy(stopped, *validation) == stopping.best_validation_accuracy
    again = copy.deepcopy(initial)
    fit(again, split.x_train, split.y_train, config, torch.Generator().manual_seed(4), validation=validation)
    assert all(torch.equal(a, b) for a, b in zip(again.parameters(), stopped.parameters()))
    with pytest.raises(ValueError, match="validation"):
        fit(copy.deepcopy(initial), split.x_train, split.y_train, config, torch.Generator().manual_seed(4))
