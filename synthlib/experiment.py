"""One run = (dataset, method, seed): draw the subset, build the network, train, test, record.

Methods are the columns of the paper's Table 1: three frozen-kernel samplers and the fully
trained baseline. Within a seed all methods share the same few-shot subset and validation split
(paired comparisons); each seed draws a fresh subset and fresh kernels.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthlib.data import ImageDataset, few_shot_split
from synthlib.device import describe_device, resolve_device
from synthlib.models import ArchitectureConfig, PaperCNN, init_
from synthlib.preprocess import normalise, to_unit_tensor
from synthlib.records import RunRecord, config_hash, environment_info, finished_record, record_path, write_record
from synthlib.samplers import resolve_params, sample_kernels
from synthlib.seeding import derive_seed, make_generator
from synthlib.training import TrainConfig, accuracy, extract_features, fit


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "method": self.method.to_dict(),
            "seed": self.seed,
            "per_class": self.per_class,
            "val_per_class": self.val_per_class,
            "architecture": self.arch.to_dict(),
            "train": self.train.to_dict(),
        }


@dataclass(frozen=True)
class SplitTensors:
    """Normalised float tensors of one few-shot split, on the run's device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def subset_seed(dataset: str, seed: int) -> int:
    return derive_seed(seed, dataset, "subset")


def prepare_split(
    data: ImageDataset,
    per_class: int,
    val_per_class: int,
    seed: int,
    input_norm: str,
    device: torch.device,
    include_test: bool = True,
) -> SplitTensors:
    """Draw the seed's few-shot split and convert train, val and (unless ``include_test`` is False,
    as in tuning, which never looks at it) the full test set, once."""
    split = few_shot_split(data.y_train, per_class, val_per_class, subset_seed(data.name, seed))
    x_train = to_unit_tensor(data.x_train[split.train], device)
    test_images = data.x_test if include_test else data.x_test[:0]

    def labels(values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(values, dtype=np.int64)).to(device)

    return SplitTensors(
        x_train=normalise(x_train, x_train, input_norm),
        y_train=labels(data.y_train[split.train]),
        x_val=normalise(to_unit_tensor(data.x_train[split.val], device), x_train, input_norm),
        y_val=labels(data.y_train[split.val]),
        x_test=normalise(to_unit_tensor(test_images, device), x_train, input_norm),
        y_test=labels(data.y_test[: len(test_images)]),
    )


def build_model(config: RunConfig, in_channels: int, image_size: int, device: torch.device) -> PaperCNN:
    """The run's network, initialised from its seed; for a frozen method the conv holds sampled kernels."""
    model = init_(
        PaperCNN(in_channels, image_size, config.arch),
        make_generator(config.seed, config.dataset, "init", config.method.name),
    )
    method = config.method
    if method.sampler is not None:
        params = dict(method.sampler_params)
        kernels = sample_kernels(
            method.sampler,
            config.arch.n_kernels,
            in_channels,
            config.arch.kernel_size,
            make_generator(config.seed, config.dataset, "kernels", method.name),
            **params,
        )
        with torch.no_grad():
            model.conv_weight.copy_(kernels)
        model.conv_weight.requires_grad_(False)
    return model.to(device=device)


def train_and_score(
    config: RunConfig,
    split: SplitTensors,
    device: torch.device,
    checkpoint_epochs: Sequence[int] = (),
) -> tuple[PaperCNN, dict[int, float]]:
    """Train one run; return the model and validation accuracy at each checkpoint epoch (and the last).

    Frozen methods train only the head, on features computed once; full training trains all.
    """
    in_channels, image_size = split.x_train.shape[1], split.x_train.shape[2]
    model = build_model(config, in_channels, image_size, device)
    order = make_generator(config.seed, config.dataset, "order", config.method.name)
    checkpoints = sorted(set(checkpoint_epochs) | {config.train.epochs})
    val_scores: dict[int, float] = {}
    trainable: torch.nn.Module
    if config.method.regime == "frozen":
        train_inputs = extract_features(split.x_train, model.conv_weight, config.arch)
        val_inputs = extract_features(split.x_val, model.conv_weight, config.arch)
        trainable = model.head
    else:
        train_inputs, val_inputs, trainable = split.x_train, split.x_val, model

    def score(epoch: int, module: torch.nn.Module) -> None:
        val_scores[epoch] = accuracy(module, val_inputs, split.y_val) if len(val_inputs) else float("nan")

    fit(trainable, train_inputs, split.y_train, config.train, order, checkpoints, score)
    return model, val_scores


def test_accuracy(model: PaperCNN, config: RunConfig, split: SplitTensors) -> float:
    """Accuracy on the full test set (features in chunks for frozen methods)."""
    if config.method.regime == "frozen":
        return accuracy(model.head, extract_features(split.x_test, model.conv_weight, config.arch), split.y_test)
    return accuracy(model, split.x_test, split.y_test)


def run_one(config: RunConfig, split: SplitTensors, device: torch.device) -> RunRecord:
    """Train and test one (dataset, method, seed) and return its record."""
    started = time.perf_counter()
    model, val_scores = train_and_score(config, split, device)
    test_acc = test_accuracy(model, config, split)
    config_dict = config.to_dict()
    return RunRecord(
        dataset=config.dataset,
        method=config.method.name,
        seed=config.seed,
        test_accuracy=test_acc,
        val_accuracy=val_scores[config.train.epochs],
        n_train=len(split.y_train),
        n_val=len(split.y_val),
        n_test=len(split.y_test),
        config=config_dict,
        config_hash=config_hash(config_dict),
        device=describe_device(device),
        environment=environment_info(),
        timing={"wall_time_s": round(time.perf_counter() - started, 3), "finished_unix": round(time.time(), 3)},
    )


def run_study(
    data: ImageDataset,
    methods: Sequence[Method],
    seeds: Sequence[int],
    train_configs: Mapping[str, TrainConfig],
    runs_dir: str | Path,
    per_class: int = 38,
    val_per_class: int = 38,
    arch: ArchitectureConfig = ArchitectureConfig(),
    device: str | torch.device = "auto",
    log: Callable[[str], None] = print,
) -> tuple[list[RunRecord], list[str]]:
    """Run every (method, seed) on ``data`` that has no finished record yet; reuse the others.

    ``train_configs`` maps a regime ("frozen", "trained") to its TrainConfig. Each finished run is
    written at once, so an interrupted study loses nothing it finished. A failing run is logged and
    reported in the returned list of failures; the other runs still go ahead.
    """
    resolved = resolve_device(device)
    records: list[RunRecord] = []
    failures: list[str] = []
    for seed in seeds:
        splits: dict[str, SplitTensors] = {}
        for method in methods:
            config = RunConfig(data.name, method, seed, train_configs[method.regime], per_class, val_per_class, arch)
            path = record_path(runs_dir, data.name, method.name, seed)
            label = f"{data.name} {method.name} seed={seed}"
            try:
                existing = finished_record(path, config_hash(config.to_dict()))
                if existing is not None:
                    records.append(existing)
                    log(f"run {label}: reused finished record, test accuracy {existing.test_accuracy:.4f}")
                    continue
                norm = config.train.input_norm
                if norm not in splits:
                    splits[norm] = prepare_split(data, per_class, val_per_class, seed, norm, resolved)
                record = run_one(config, splits[norm], resolved)
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
