"""One run = (dataset, method, seed[, setting]): draw the subset, build the network, train, test, record.

Methods are the columns of the paper's Table 1: three frozen-kernel samplers and the fully
trained baseline. Within a seed all methods share the same few-shot subset and validation split
(paired comparisons); each seed draws a fresh subset and fresh kernels, unless ``RunOptions``
says the draws are shared across seeds (as in the authors' code).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthlib.data import ImageDataset, few_shot_split
from synthlib.device import describe_device, resolve_device
from synthlib.models import ArchitectureConfig, PaperCNN, init_
from synthlib.preprocess import (
    AUTHORS_CODE_DEFAULT_STEPS,
    AUTHORS_CODE_STEPS,
    AuthorsCodePreprocessing,
    normalise,
    to_unit_tensor,
)
from synthlib.records import RunRecord, config_hash, environment_info, finished_record, record_path, write_record
from synthlib.samplers import resolve_params, sample_kernels
from synthlib.seeding import derive_seed, make_generator
from synthlib.training import FeatureScaler, TrainConfig, accuracy, extract_features, fit


@dataclass(frozen=True)
class Method:
    """A column of the results table: a frozen sampler (with its parameters) or full training."""

    name: str
    label: str
    sampler: str | None = None
    sampler_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def regime(self) -> str:
        """The training regime: ``"frozen"`` (sampled conv, only the head trains) or ``"trained"`` (all)."""
        return "frozen" if self.sampler is not None else "trained"

    def to_dict(self) -> dict[str, Any]:
        resolved = None
        if self.sampler is not None:
            params = dict(self.sampler_params)
            resolved = resolve_params(self.sampler, params.pop("preset", None), **params)
        return {
            "name": self.name,
            "label": self.label,
            "sampler": self.sampler,
            "sampler_params": dict(self.sampler_params),
            "resolved_sampler_params": resolved,
        }


PAPER_METHODS: tuple[Method, ...] = (
    Method("normal", "Normal", "normal", {"preset": "paper_text"}),
    Method("lognormal", "Log-Normal", "lognormal", {"preset": "paper_text"}),
    Method("center_surround", "Center-Surround", "center_surround", {"preset": "biological"}),
    Method("fully_trained", "Fully Trained"),
)


def get_methods(names: Iterable[str], available: Sequence[Method] = PAPER_METHODS) -> list[Method]:
    """Methods by name, in the order given; an unknown name lists the valid ones."""
    by_name = {m.name: m for m in available}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; valid methods are: {', '.join(by_name)}")
    return [by_name[n] for n in names]


FEATURE_NORMS = ("none", "standardize")


@dataclass(frozen=True)
class RunOptions:
    """Choices that differ between protocols (see ``synthlib.protocols``); defaults: the paper's text.

    - ``shared_draws``: the subset, kernels and initial weights of every seed come from seed 0,
      so seeds differ only in minibatch order and flips (the authors' code seeded identically);
    - ``extraction_flips``: every image (training, validation and test) is flipped left-right with
      probability 1/2, once per run, before features are taken (the authors' ``getSimpleNNBatch``);
    - ``feature_norm``: ``"standardize"`` scales each frozen feature by training-subset statistics
      before the head, so a sampler's overall weight scale cannot matter;
    - ``head_init_std``: FC weights ~ N(0, std^2) and zero biases (MatConvNet ``'gaussian'``,
      0.05 in the authors' code) instead of PyTorch's default initialisation;
    - ``conv_init_std``: the fully trained network's conv starts from N(0, std^2) (0.01 in the
      authors' ``cnnInit``) instead of PyTorch's default.
    """

    shared_draws: bool = False
    extraction_flips: bool = False
    feature_norm: str = "none"
    head_init_std: float | None = None
    conv_init_std: float | None = None

    def check(self) -> None:
        if self.feature_norm not in FEATURE_NORMS:
            raise ValueError(
                f"unknown feature_norm {self.feature_norm!r}; valid values are: {', '.join(FEATURE_NORMS)}"
            )
        for label in ("head_init_std", "conv_init_std"):
            value = getattr(self, label)
            if value is not None and value <= 0:
                raise ValueError(f"{label} must be positive, got {value}")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's result."""

    dataset: str
    method: Method
    seed: int
    train: TrainConfig
    per_class: int = 38
    val_per_class: int = 38
    arch: ArchitectureConfig = ArchitectureConfig()
    options: RunOptions = RunOptions()

    @property
    def draw_seed(self) -> int:
        """The seed of the subset, kernels and initial weights (0 for every seed when draws are shared)."""
        return 0 if self.options.shared_draws else self.seed

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "method": self.method.to_dict(),
            "seed": self.seed,
            "per_class": self.per_class,
            "val_per_class": self.val_per_class,
            "architecture": self.arch.to_dict(),
            "train": self.train.to_dict(),
            "options": asdict(self.options),
        }


@dataclass(frozen=True)
class SplitTensors:
    """Preprocessed float tensors of one few-shot split, on the run's device (channels-last)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def subset_seed(dataset: str, seed: int) -> int:
    return derive_seed(seed, dataset, "subset")


def authors_code_preprocessing(data: ImageDataset) -> AuthorsCodePreprocessing:
    """The authors' preprocessing for ``data``, fitted on its whole training set (see ``preprocess``)."""
    steps = AUTHORS_CODE_STEPS.get(data.name, AUTHORS_CODE_DEFAULT_STEPS)
    return AuthorsCodePreprocessing.fit(data.x_train, data.x_test, steps)


def _flip_at_random(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = (torch.rand(len(images), generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def prepare_split(
    data: ImageDataset,
    per_class: int,
    val_per_class: int,
    seed: int,
    input_norm: str,
    device: torch.device,
    include_test: bool = True,
    dataset_preprocessing: AuthorsCodePreprocessing | None = None,
    flip_generator: torch.Generator | None = None,
) -> SplitTensors:
    """Draw the seed's few-shot split and convert train, val and (unless ``include_test`` is False,
    as in tuning, which never looks at it) the full test set, once, to channels-last tensors.

    ``input_norm="authors_code"`` needs ``dataset_preprocessing`` (``authors_code_preprocessing``).
    With ``flip_generator`` every image is flipped left-right with probability 1/2.
    """
    split = few_shot_split(data.y_train, per_class, val_per_class, subset_seed(data.name, seed))
    test_images = data.x_test if include_test else data.x_test[:0]
    if input_norm == "authors_code":
        if dataset_preprocessing is None:
            raise ValueError("input_norm 'authors_code' needs dataset_preprocessing=authors_code_preprocessing(data)")
        x_train = dataset_preprocessing(data.x_train[split.train], device)
        x_val = dataset_preprocessing(data.x_train[split.val], device)
        x_test = dataset_preprocessing(test_images, device)
    else:
        unit_train = to_unit_tensor(data.x_train[split.train], device)
        x_train = normalise(unit_train, unit_train, input_norm)
        x_val = normalise(to_unit_tensor(data.x_train[split.val], device), unit_train, input_norm)
        x_test = normalise(to_unit_tensor(test_images, device), unit_train, input_norm)
    if flip_generator is not None:
        x_train, x_val, x_test = (_flip_at_random(x, flip_generator) for x in (x_train, x_val, x_test))

    def labels(values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(values, dtype=np.int64)).to(device)

    def layout(images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last)

    return SplitTensors(
        x_train=layout(x_train),
        y_train=labels(data.y_train[split.train]),
        x_val=layout(x_val),
        y_val=labels(data.y_train[split.val]),
        x_test=layout(x_test),
        y_test=labels(data.y_test[: len(test_images)]),
    )


def prepare_run_split(
    config: RunConfig,
    data: ImageDataset,
    device: torch.device,
    include_test: bool = True,
    dataset_preprocessing: AuthorsCodePreprocessing | None = None,
) -> SplitTensors:
    """``prepare_split`` for ``config``: its draw seed, input normalisation and flips."""
    flips = make_generator(config.seed, config.dataset, "flips") if config.options.extraction_flips else None
    return prepare_split(
        data,
        config.per_class,
        config.val_per_class,
        config.draw_seed,
        config.train.input_norm,
        device,
        include_test,
        dataset_preprocessing,
        flips,
    )


def build_model(config: RunConfig, in_channels: int, image_size: int, device: torch.device) -> PaperCNN:
    """The run's network, initialised from its draw seed; for a frozen method the conv holds sampled
    kernels. Without ``train.train_biases`` the biases are zero and frozen."""
    config.options.check()
    model = init_(
        PaperCNN(in_channels, image_size, config.arch),
        make_generator(config.draw_seed, config.dataset, "init", config.method.name),
    )
    method = config.method
    with torch.no_grad():
        if config.options.head_init_std is not None:
            generator = make_generator(config.draw_seed, config.dataset, "head_init", config.method.name)
            for layer in model.head:
                if isinstance(layer, torch.nn.Linear):
                    layer.weight.copy_(
                        torch.randn(layer.weight.shape, generator=generator) * config.options.head_init_std
                    )
                    layer.bias.zero_()
        if config.options.conv_init_std is not None and method.sampler is None:
            generator = make_generator(config.draw_seed, config.dataset, "conv_init", config.method.name)
            model.conv_weight.copy_(
                torch.randn(model.conv_weight.shape, generator=generator) * config.options.conv_init_std
            )
        if not config.train.train_biases:
            for name, param in model.named_parameters():
                if name.endswith("bias"):
                    param.zero_()
                    param.requires_grad_(False)
        if method.sampler is not None:
            kernels = sample_kernels(
                method.sampler,
                config.arch.n_kernels,
                in_channels,
                config.arch.kernel_size,
                make_generator(config.draw_seed, config.dataset, "kernels", method.name),
                **dict(method.sampler_params),
            )
            model.conv_weight.copy_(kernels)
            model.conv_weight.requires_grad_(False)
    return model.to(device=device).to(memory_format=torch.channels_last)


@dataclass
class FrozenFeatures:
    """Features of a frozen run's train / val / test images, after its ``FeatureScaler`` if any."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor | None = None
    scaler: FeatureScaler | None = None


def frozen_features(model: PaperCNN, config: RunConfig, split: SplitTensors) -> FrozenFeatures:
    """Train and validation features of the frozen conv (the test set is done in ``test_accuracy``)."""
    train = extract_features(split.x_train, model.conv_weight, config.arch)
    val = extract_features(split.x_val, model.conv_weight, config.arch)
    scaler = FeatureScaler.fit(train) if config.options.feature_norm == "standardize" else None
    if scaler is not None:
        train, val = scaler(train), scaler(val)
    return FrozenFeatures(train, val, None, scaler)


@dataclass
class TrainedRun:
    model: PaperCNN
    val_scores: dict[int, float]
    features: FrozenFeatures | None
    timing: dict[str, float]


def train_and_score(
    config: RunConfig,
    split: SplitTensors,
    device: torch.device,
    checkpoint_epochs: Sequence[int] = (),
    features: FrozenFeatures | None = None,
) -> TrainedRun:
    """Train one run; return the model and validation accuracy at each checkpoint epoch (and the last).

    Frozen methods train only the head, on features computed once (or passed in as ``features``,
    which depend on the kernels and images but not on the training settings); full training trains all.
    """
    in_channels, image_size = split.x_train.shape[1], split.x_train.shape[2]
    model = build_model(config, in_channels, image_size, device)
    order = make_generator(config.seed, config.dataset, "order", config.method.name)
    checkpoints = sorted(set(checkpoint_epochs) | {config.train.epochs})
    val_scores: dict[int, float] = {}
    timing = {"features_s": 0.0}
    trainable: torch.nn.Module
    if config.method.regime == "frozen":
        if features is None:
            started = time.perf_counter()
            features = frozen_features(model, config, split)
            timing["features_s"] = time.perf_counter() - started
        train_inputs, val_inputs, trainable = features.train, features.val, model.head
    else:
        train_inputs, val_inputs, trainable = split.x_train, split.x_val, model

    def score(epoch: int, module: torch.nn.Module) -> None:
        val_scores[epoch] = accuracy(module, val_inputs, split.y_val) if len(val_inputs) else float("nan")

    started = time.perf_counter()
    fit(trainable, train_inputs, split.y_train, config.train, order, checkpoints, score)
    timing["fit_s"] = time.perf_counter() - started
    return TrainedRun(model, val_scores, features, timing)


def test_accuracy(run: TrainedRun, config: RunConfig, split: SplitTensors) -> tuple[float, dict[str, float]]:
    """Accuracy on the full test set, and the seconds spent on test features and on classifying.

    Frozen methods take test features in chunks once (kept in ``run.features`` for reuse)."""
    timing = {"test_features_s": 0.0}
    if config.method.regime == "frozen":
        assert run.features is not None
        if run.features.test is None:
            started = time.perf_counter()
            test = extract_features(split.x_test, run.model.conv_weight, config.arch)
            run.features.test = run.features.scaler(test) if run.features.scaler is not None else test
            timing["test_features_s"] = time.perf_counter() - started
        started = time.perf_counter()
        result = accuracy(run.model.head, run.features.test, split.y_test)
    else:  # images through the conv: 64 per chunk keep its output in cache (as extract_features)
        started = time.perf_counter()
        result = accuracy(run.model, split.x_test, split.y_test, batch_size=64)
    timing["test_eval_s"] = time.perf_counter() - started
    return result, timing


def run_one(
    config: RunConfig,
    split: SplitTensors,
    device: torch.device,
    features: FrozenFeatures | None = None,
    split_s: float = 0.0,
    setting: str = "",
) -> tuple[RunRecord, TrainedRun]:
    """Train and test one run; return its record (with the seconds of each phase) and the trained run."""
    started = time.perf_counter()
    run = train_and_score(config, split, device, features=features)
    test_acc, test_timing = test_accuracy(run, config, split)
    config_dict = config.to_dict()
    timing = {"split_s": split_s, **run.timing, **test_timing, "wall_time_s": time.perf_counter() - started + split_s}
    record = RunRecord(
        dataset=config.dataset,
        method=config.method.name,
        seed=config.seed,
        test_accuracy=test_acc,
        val_accuracy=run.val_scores[config.train.epochs],
        n_train=len(split.y_train),
        n_val=len(split.y_val),
        n_test=len(split.y_test),
        config=config_dict,
        config_hash=config_hash(config_dict),
        device=describe_device(device),
        environment=environment_info(),
        timing={**{k: round(v, 4) for k, v in timing.items()}, "finished_unix": round(time.time(), 3)},
        setting=setting,
    )
    return record, run


def setting_tag(config: TrainConfig) -> str:
    """A short file-name-safe name of a training setting, e.g. ``lr0.1_bs50_wd0.01``."""
    return f"lr{config.learning_rate:g}_bs{config.batch_size}_wd{config.weight_decay:g}"


def run_study(
    data: ImageDataset,
    methods: Sequence[Method],
    seeds: Sequence[int],
    train_configs: Mapping[str, TrainConfig | Sequence[TrainConfig]],
    runs_dir: str | Path,
    per_class: int = 38,
    val_per_class: int = 38,
    arch: ArchitectureConfig = ArchitectureConfig(),
    device: str | torch.device = "auto",
    log: Callable[[str], None] = print,
    options: RunOptions = RunOptions(),
) -> tuple[list[RunRecord], list[str]]:
    """Run every (method, seed, setting) on ``data`` that has no finished record yet; reuse the others.

    ``train_configs`` maps a regime ("frozen", "trained") to its TrainConfig, or to a grid of them
    (every setting is run and recorded under ``setting_tag``; see ``tables.select_setting``).
    Each finished run is written at once, so an interrupted study loses nothing it finished. A
    failing run is logged and reported in the returned list of failures; the other runs still go
    ahead. Frozen features are computed once per (seed, method) and shared by the grid's settings.
    """
    resolved = resolve_device(device)
    records: list[RunRecord] = []
    failures: list[str] = []
    grids = {regime: [c] if isinstance(c, TrainConfig) else list(c) for regime, c in train_configs.items()}
    preprocessing: AuthorsCodePreprocessing | None = None
    for seed in seeds:
        splits: dict[str, SplitTensors] = {}
        for method in methods:
            grid = grids[method.regime]
            shared_features: dict[str, FrozenFeatures] = {}  # per input_norm, for this (seed, method)
            for train_config in grid:
                config = RunConfig(data.name, method, seed, train_config, per_class, val_per_class, arch, options)
                setting = setting_tag(train_config) if len(grid) > 1 else ""
                path = record_path(runs_dir, data.name, method.name, seed, setting)
                label = f"{data.name} {method.name} seed={seed}" + (f" {setting}" if setting else "")
                try:
                    existing = finished_record(path, config_hash(config.to_dict()))
                    if existing is not None:
                        records.append(existing)
                        log(f"run {label}: reused finished record, test accuracy {existing.test_accuracy:.4f}")
                        continue
                    norm = train_config.input_norm
                    split_s = 0.0
                    if norm not in splits:
                        started = time.perf_counter()
                        if norm == "authors_code" and preprocessing is None:
                            preprocessing = authors_code_preprocessing(data)
                        splits[norm] = prepare_run_split(config, data, resolved, True, preprocessing)
                        split_s = time.perf_counter() - started
                    record, run = run_one(config, splits[norm], resolved, shared_features.get(norm), split_s, setting)
                    if run.features is not None:
                        shared_features[norm] = run.features
                except Exception as error:  # keep going: the other runs are independent
                    failures.append(f"{label}: {type(error).__name__}: {error}")
                    log(f"run {label}: FAILED ({type(error).__name__}: {error})")
                    continue
                write_record(path, record)
                records.append(record)
                log(
                    f"run {label}: test accuracy {record.test_accuracy:.4f} "
                    f"({record.timing['wall_time_s']:.1f} s, {record.device})"
                )
    return records, failures
