"""One CNN run = (dataset, method, seed[, setting]): draw the subset, build the network, train, test.

Methods (``synthlib.columns``) are the CNN columns of the paper's Table 1: frozen-kernel samplers
and full training. ``CnnJob`` is the unit of work the run loop (``synthlib.engine``) executes: the
settings of one (seed, method), which share the split and, for a frozen method, the features.

Within a seed all methods share the same few-shot subset and validation split
(paired comparisons); each seed draws a fresh subset and fresh kernels, unless ``RunOptions``
says the draws are shared across seeds (as in the authors' code).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthlib.columns import Method
from synthlib.data import ImageDataset, few_shot_split
from synthlib.engine import Job, PlannedRun, RunContext, RunResult, full_config
from synthlib.features import FrozenFeatures, ensure_test_features, frozen_features
from synthlib.heads import train_heads
from synthlib.models import ArchitectureConfig, PaperCNN, init_
from synthlib.preprocess import (
    AUTHORS_CODE_DEFAULT_STEPS,
    AUTHORS_CODE_STEPS,
    AuthorsCodePreprocessing,
    normalise,
    preprocessing_description,
    to_unit_tensor,
)
from synthlib.records import record_path
from synthlib.samplers import sample_kernels
from synthlib.seeding import derive_seed, make_generator
from synthlib.stopping import Stopping
from synthlib.training import TrainConfig, accuracy, fit, fit_until_plateau

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
            "preprocessing": preprocessing_description(self.dataset, self.train.input_norm),
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
            if method.init_only:
                kernels = at_default_init_scale(kernels)
            model.conv_weight.copy_(kernels)
            model.conv_weight.requires_grad_(method.init_only)
        if len(method.deeper_samplers) != len(config.arch.deeper_layers) and method.regime == "frozen":
            raise ValueError(
                f"column {method.name!r} names {len(method.deeper_samplers)} deeper sampler(s) for a network with "
                f"{len(config.arch.deeper_layers)} conv layer(s) after the first; name one sampler per layer"
            )
        for number, (weight, sampler) in enumerate(zip(model.deeper_weights, method.deeper_samplers), start=2):
            out_channels, layer_in, size, _ = weight.shape
            generator = make_generator(config.draw_seed, config.dataset, "kernels", method.name, f"layer{number}")
            weight.copy_(sample_kernels(sampler, out_channels, layer_in, size, generator))
            weight.requires_grad_(False)
    return model.to(device=device).to(memory_format=torch.channels_last)


def at_default_init_scale(kernels: torch.Tensor) -> torch.Tensor:
    """``kernels`` times one factor that gives them the standard deviation of PyTorch's default conv
    initialisation (Kaiming-uniform with a = sqrt(5): uniform in +-1/sqrt(fan_in), so sd 1/sqrt(3 fan_in)).
    Used when sampled kernels start a conv that then trains: their shapes are kept, their overall scale,
    which would otherwise act as a different learning rate, is not."""
    fan_in = kernels[0].numel()
    spread = float(kernels.std())
    if not spread > 0:
        raise ValueError("sampled kernels are all equal; they cannot be rescaled to an initialisation scale")
    return kernels * (1 / math.sqrt(3 * fan_in) / spread)


@dataclass
class TrainedRun:
    model: PaperCNN
    val_scores: dict[int, float]
    features: FrozenFeatures | None
    timing: dict[str, float]
    stopping: Stopping | None = None
    """How the run stopped, when its setting stops early (``TrainConfig.patience``); else ``None``."""

    @property
    def val_accuracy(self) -> float:
        """Validation accuracy of the parameters kept: the best epoch's under early stopping, else the last's."""
        if self.stopping is not None:
            return self.stopping.best_validation_accuracy
        return self.val_scores[max(self.val_scores)]


def train_and_score(
    config: RunConfig,
    split: SplitTensors,
    device: torch.device,
    checkpoint_epochs: Sequence[int] = (),
    features: FrozenFeatures | None = None,
) -> TrainedRun:
    """Train one run; return the model and validation accuracy at each checkpoint epoch (and the last).
    With early stopping (``config.train.patience``) the run stops on its validation split, keeps its best
    epoch, and checkpoints after the stop are not scored; ``TrainedRun.stopping`` says how it stopped.

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
            standardize = config.options.feature_norm == "standardize"
            features = frozen_features(
                model.conv_weights, config.arch, split.x_train, split.x_val, standardize, config.train.hflip
            )
            timing["features_s"] = time.perf_counter() - started
        train_inputs, val_inputs, trainable = features.train, features.val, model.head
        flipped_inputs = features.train_flipped
    else:
        train_inputs, val_inputs, trainable = split.x_train, split.x_val, model
        flipped_inputs = None

    def score(epoch: int, module: torch.nn.Module) -> None:
        val_scores[epoch] = accuracy(module, val_inputs, split.y_val) if len(val_inputs) else float("nan")

    started = time.perf_counter()
    if config.train.hflip and config.method.regime == "frozen" and flipped_inputs is None:
        raise ValueError("a frozen run that flips needs features of the flipped images (frozen_features(flipped=True))")
    stopping = None
    if config.train.patience is None:
        fit(trainable, train_inputs, split.y_train, config.train, order, checkpoints, score, flipped_inputs)
    else:
        validation = (val_inputs, split.y_val)
        stopping = fit_until_plateau(
            trainable, train_inputs, split.y_train, config.train, order, validation, checkpoints, score, flipped_inputs
        )
    timing["fit_s"] = time.perf_counter() - started
    return TrainedRun(model, val_scores, features, timing, stopping)


def train_frozen_together(
    configs: Sequence[RunConfig],
    split: SplitTensors,
    device: torch.device,
    checkpoint_epochs: Sequence[int] = (),
    features: FrozenFeatures | None = None,
) -> list[TrainedRun]:
    """``train_and_score`` for frozen runs that share their kernels and split (the settings of one
    (seed, method, input normalisation)), with every head trained at once (``heads.fit_heads``: the
    same result as one by one, to floating-point rounding). The features are computed once; each
    run's ``timing`` holds its share of the group's seconds."""
    if any(c.method.regime != "frozen" for c in configs):
        raise ValueError("train_frozen_together trains frozen runs only")
    in_channels, image_size = split.x_train.shape[1], split.x_train.shape[2]
    models = [build_model(c, in_channels, image_size, device) for c in configs]
    kernels = models[0].conv_weights
    if any(not all(torch.equal(a, b) for a, b in zip(m.conv_weights, kernels)) for m in models[1:]):
        raise ValueError("train_frozen_together needs runs with the same kernels (one seed and method)")
    timing = {"features_s": 0.0}
    if features is None:
        started = time.perf_counter()
        standardize = configs[0].options.feature_norm == "standardize"
        flipped = any(c.train.hflip for c in configs)
        features = frozen_features(kernels, configs[0].arch, split.x_train, split.x_val, standardize, flipped)
        timing["features_s"] = time.perf_counter() - started
    if any(c.train.hflip for c in configs) and features.train_flipped is None:
        raise ValueError("frozen runs that flip need features of the flipped images (frozen_features(flipped=True))")
    scores: list[dict[int, float]] = [{} for _ in configs]
    wanted = [set(checkpoint_epochs) | {c.train.epochs} for c in configs]

    def score(epoch: int, k: int, head: torch.nn.Module) -> None:
        if epoch in wanted[k]:
            scores[k][epoch] = accuracy(head, features.val, split.y_val) if len(split.y_val) else float("nan")

    generators = [make_generator(c.seed, c.dataset, "order", c.method.name) for c in configs]
    started = time.perf_counter()
    stoppings = train_heads(
        [m.head for m in models],
        [features.train] * len(configs),
        split.y_train,
        [c.train for c in configs],
        generators,
        sorted(set().union(*wanted)),
        score,
        [features.train_flipped if c.train.hflip else None for c in configs],
        (features.val, split.y_val) if any(c.train.patience is not None for c in configs) else None,
    )
    timing["fit_s"] = time.perf_counter() - started
    share = {key: seconds / len(configs) for key, seconds in timing.items()}
    return [TrainedRun(model, scores[k], features, dict(share), stoppings[k]) for k, model in enumerate(models)]


def score_test_set(run: TrainedRun, config: RunConfig, split: SplitTensors) -> tuple[float, dict[str, float]]:
    """Accuracy on the full test set, and the seconds spent on test features and on classifying.

    Frozen methods take test features in chunks once (kept in ``run.features`` for reuse)."""
    timing = {"test_features_s": 0.0}
    if config.method.regime == "frozen":
        assert run.features is not None
        if run.features.test is None:
            started = time.perf_counter()
            ensure_test_features(run.features, run.model.conv_weights, config.arch, split.x_test)
            timing["test_features_s"] = time.perf_counter() - started
        assert run.features.test is not None
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
    trained: TrainedRun | None = None,
) -> tuple[RunResult, TrainedRun]:
    """Train (unless ``trained`` is given) and test one run; return what it measured (with the seconds
    of each phase) and the trained run."""
    started = time.perf_counter()
    run = trained or train_and_score(config, split, device, features=features)
    test_acc, test_timing = score_test_set(run, config, split)
    elapsed = (
        time.perf_counter() - started + (run.timing.get("features_s", 0.0) + run.timing["fit_s"] if trained else 0.0)
    )
    timing = {**run.timing, **test_timing, "wall_time_s": elapsed}
    result = RunResult(
        test_accuracy=test_acc,
        val_accuracy=run.val_accuracy if run.stopping is not None else run.val_scores[config.train.epochs],
        n_train=len(split.y_train),
        n_val=len(split.y_val),
        n_test=len(split.y_test),
        timing=timing,
    )
    return result, run


def setting_tag(config: TrainConfig) -> str:
    """A short file-name-safe name of a training setting, e.g. ``lr0.1_bs50_wd0.01``."""
    return f"lr{config.learning_rate:g}_bs{config.batch_size}_wd{config.weight_decay:g}"


def run_split(config: RunConfig, context: RunContext) -> tuple[SplitTensors, float]:
    """The run's preprocessed split (shared through ``context`` by runs of the same draws and
    normalisation) and the seconds it took to make (0 when it was already there)."""
    started = time.perf_counter()
    preprocessing = None
    if config.train.input_norm == "authors_code":
        preprocessing = context.memo(
            "authors_code_preprocessing", context.data.name, lambda: authors_code_preprocessing(context.data)
        )
    key = (
        config.draw_seed,
        config.train.input_norm,
        config.options.extraction_flips and config.seed,
        config.per_class,
        config.val_per_class,
    )
    split = context.memo(
        "split", key, lambda: prepare_run_split(config, context.data, context.device, True, preprocessing)
    )
    return split, time.perf_counter() - started


@dataclass(frozen=True)
class CnnJob(Job):
    """The settings of one (dataset, seed, method): one split and, for a frozen method, one set of
    features shared by every setting."""

    runs: tuple[PlannedRun, ...]

    def run(self, pending: Sequence[PlannedRun], context: RunContext) -> Iterator[tuple[PlannedRun, RunResult]]:
        """Frozen settings of one input normalisation train together (``train_frozen_together``); full
        training runs one setting at a time."""
        by_norm: dict[str, list[PlannedRun]] = {}
        for planned in pending:
            by_norm.setdefault(planned.payload.train.input_norm, []).append(planned)
        for group in by_norm.values():
            configs: list[RunConfig] = [planned.payload for planned in group]
            split, split_s = run_split(configs[0], context)
            together: list[TrainedRun | None] = [None] * len(group)
            if configs[0].method.regime == "frozen" and len(group) > 1:
                together = list(train_frozen_together(configs, split, context.device))
            features = together[0].features if together[0] is not None else None
            for planned, config, trained in zip(group, configs, together):
                result, run = run_one(config, split, context.device, features, trained)
                features = features or run.features
                timing = {"split_s": split_s, **result.timing, "wall_time_s": result.timing["wall_time_s"] + split_s}
                split_s = 0.0
                yield planned, replace(result, timing=timing)


def cnn_run(protocol: str, runs_dir: Path, config: RunConfig, setting: str) -> PlannedRun:
    """The planned run of ``config`` under ``protocol``, recorded in ``runs_dir``."""
    return PlannedRun(
        protocol=protocol,
        dataset=config.dataset,
        method=config.method.name,
        seed=config.seed,
        setting=setting,
        path=record_path(runs_dir, config.dataset, config.method.name, config.seed, setting),
        config=full_config(config.to_dict()),
        payload=config,
    )


def cnn_jobs(protocol: str, runs_dir: Path, configs: Sequence[tuple[RunConfig, str]]) -> list[CnnJob]:
    """The jobs of ``(config, setting tag)`` pairs: one per (seed, method), in order of first appearance."""
    groups: dict[tuple[int, str], list[PlannedRun]] = {}
    for config, tag in configs:
        groups.setdefault((config.seed, config.method.name), []).append(cnn_run(protocol, runs_dir, config, tag))
    return [CnnJob(tuple(runs)) for runs in groups.values()]


__all__ = [
    "CnnJob",
    "cnn_jobs",
    "RunConfig",
    "RunOptions",
    "SplitTensors",
    "build_model",
    "cnn_run",
    "prepare_run_split",
    "prepare_split",
    "run_one",
    "run_split",
    "setting_tag",
    "subset_seed",
    "train_and_score",
    "train_frozen_together",
]
