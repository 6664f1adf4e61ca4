"""The straightforward way to write the study, as a user would, timed on the same configuration.

A per-image ``Dataset`` over the uint8 arrays with torchvision transforms, a shuffling
``DataLoader``, and the same ``PaperCNN`` (conv frozen with ``requires_grad=False`` for the sampled
methods). The network's forward recomputes the conv features for every batch of every epoch, and
evaluation goes image by image through a ``DataLoader`` over the full test set. Subset, kernels,
initialisation, minibatch order, optimiser settings and epochs are the library's, so only the way of computing
differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision import transforms  # type: ignore[import-untyped]

from benchmarks.ceilings import synchronize
from benchmarks.runs import BenchmarkRun
from synthlib.columns import Method
from synthlib.data import ImageDataset, few_shot_split
from synthlib.experiment import RunConfig, build_model, subset_seed
from synthlib.models import ArchitectureConfig
from synthlib.seeding import make_generator
from synthlib.training import TrainConfig, make_optimizer

EVAL_BATCH_SIZE = 256


class ImageArrayDataset(Dataset[tuple[torch.Tensor, int]]):
    """uint8 ``(N, H, W, C)`` images served one at a time through ``transform``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable[[np.ndarray], torch.Tensor]) -> None:
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), int(self.labels[index])


def image_transform(train_images: np.ndarray, input_norm: str) -> Callable[[np.ndarray], torch.Tensor]:
    """``ToTensor`` and, for ``"standardize"``, ``Normalize`` with the training subset's per-channel mean and std."""
    steps: list[Callable[..., Any]] = [transforms.ToTensor()]
    if input_norm == "standardize":
        unit = train_images.astype(np.float64) / 255.0
        mean = unit.mean(axis=(0, 1, 2))
        std = np.maximum(unit.std(axis=(0, 1, 2), ddof=1), 1e-6)
        steps.append(transforms.Normalize(mean.tolist(), std.tolist()))
    elif input_norm != "unit":
        raise ValueError(f"the naive path reproduces input_norm 'unit' and 'standardize' only, not {input_norm!r}")
    return transforms.Compose(steps)


class EpochPermutations(Sampler[int]):
    """One ``torch.randperm(n, generator=order)`` per epoch, nothing else drawn: the project's order
    (``training.fit``). PyTorch's own shuffling draws more from the generator: ``DataLoader(shuffle=True,
    generator=order)`` takes its iterator's base seed from it before each epoch's permutation, and
    ``RandomSampler`` draws a second (empty-sliced) permutation at the end of each epoch."""

    def __init__(self, n: int, order: torch.Generator) -> None:
        self.n = n
        self.order = order

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        yield from torch.randperm(self.n, generator=self.order).tolist()


def shuffled_loader(dataset: ImageArrayDataset, batch_size: int, order: torch.Generator) -> DataLoader:
    """A ``DataLoader`` reshuffled every epoch in the project's order (``EpochPermutations``)."""
    return DataLoader(dataset, batch_size=batch_size, sampler=EpochPermutations(len(dataset), order))


def train_epochs(
    model: nn.Module, loader: DataLoader, config: TrainConfig, device: torch.device, flips: torch.Generator
) -> None:
    """Cross-entropy over ``config.epochs`` passes of ``loader``; only parameters with requires_grad move.

    Follows the config's learning-rate schedule and whole-batch left-right flips where it has them.
    """
    optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], config)
    lr_factor: Callable[[int], float] = getattr(config, "lr_factor", lambda epoch: 1.0)
    model.train()
    for epoch in range(1, config.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * lr_factor(epoch)
        for images, labels in loader:
            if getattr(config, "hflip", False) and bool(torch.rand((), generator=flips) < 0.5):
                images = images.flip(-1)
            loss = F.cross_entropy(model(images.to(device)), labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    """Fraction of the loader's images classified correctly."""
    model.eval()
    correct = total = 0
    for images, labels in loader:
        predictions = model(images.to(device)).argmax(dim=1).cpu()
        correct += int((predictions == labels).sum())
        total += len(labels)
    return correct / total if total else float("nan")


def naive_run(
    data: ImageDataset,
    method: Method,
    seed: int,
    train_config: TrainConfig,
    per_class: int,
    val_per_class: int,
    device: torch.device,
    arch: ArchitectureConfig = ArchitectureConfig(),
) -> BenchmarkRun:
    """Train and test one (dataset, method, seed) the naive way, timing setup, training and evaluation."""
    started = time.perf_counter()
    split = few_shot_split(data.y_train, per_class, val_per_class, subset_seed(data.name, seed))
    transform = image_transform(data.x_train[split.train], train_config.input_norm)

    def loader(images: np.ndarray, labels: np.ndarray, **options: Any) -> DataLoader:
        return DataLoader(ImageArrayDataset(images, labels, transform), **options)

    train_loader = shuffled_loader(
        ImageArrayDataset(data.x_train[split.train], data.y_train[split.train], transform),
        train_config.batch_size,
        make_generator(seed, data.name, "order", method.name),
    )
    val_loader = loader(data.x_train[split.val], data.y_train[split.val], batch_size=EVAL_BATCH_SIZE)
    test_loader = loader(data.x_test, data.y_test, batch_size=EVAL_BATCH_SIZE)
    image_size, in_channels = data.x_train.shape[1], data.x_train.shape[3]
    config = RunConfig(data.name, method, seed, train_config, per_class, val_per_class, arch)
    model = build_model(config, in_channels, image_size, device)
    marks = [time.perf_counter()]
    train_epochs(model, train_loader, train_config, device, make_generator(seed, data.name, "naive-flips"))
    synchronize(device)
    marks.append(time.perf_counter())
    val_accuracy = evaluate(model, val_loader, device)
    marks.append(time.perf_counter())
    test_accuracy = evaluate(model, test_loader, device)
    marks.append(time.perf_counter())
    return BenchmarkRun(
        dataset=data.name,
        method=method.name,
        regime=method.regime,
        seed=seed,
        test_accuracy=test_accuracy,
        val_accuracy=val_accuracy,
        n_train=len(split.train),
        n_val=len(split.val),
        n_test=len(data.y_test),
        epochs=train_config.epochs,
        in_channels=in_channels,
        image_size=image_size,
        timing={
            "setup_s": marks[0] - started,
            "fit_s": marks[1] - marks[0],
            "val_eval_s": marks[2] - marks[1],
            "test_eval_s": marks[3] - marks[2],
            "wall_s": marks[3] - started,
        },
    )
