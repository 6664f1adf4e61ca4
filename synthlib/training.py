"""Training and evaluation, the same loop for both regimes.

- Frozen conv: features of the frozen conv are computed once per run (``extract_features``, in
  inference mode and in chunks) and only the ``ClassifierHead`` is trained on them.
- Fully trained: the whole ``PaperCNN`` is trained on the images.

Minibatch order comes from an explicit CPU generator, so a run is deterministic for its seed on a
given machine (and thread count).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from synthlib.models import ArchitectureConfig, conv_features

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. The paper gives none of them; they are chosen on validation data."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 100
    batch_size: int = 64
    momentum: float = 0.9
    input_norm: str = "standardize"
    lr_schedule: tuple[tuple[int, float], ...] = ()
    train_biases: bool = True
    hflip: bool = False

    def __post_init__(self) -> None:  # JSON gives lists; keep the schedule hashable and comparable
        object.__setattr__(self, "lr_schedule", tuple((int(e), float(f)) for e, f in self.lr_schedule))

    def to_dict(self) -> dict:
        return asdict(self)

    def lr_factor(self, epoch: int) -> float:
        """Multiplier of ``learning_rate`` in ``epoch`` (1-based): the factor of the last
        ``(first_epoch, factor)`` step of ``lr_schedule`` reached, else 1."""
        factor = 1.0
        for first_epoch, step_factor in self.lr_schedule:
            if epoch >= first_epoch:
                factor = step_factor
        return factor

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid optimizers are: {', '.join(OPTIMIZERS)}")
        for label in ("epochs", "batch_size"):
            value = getattr(self, label)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        firsts = [first for first, _ in self.lr_schedule]
        if firsts != sorted(firsts) or any(first < 1 for first in firsts):
            raise ValueError(f"lr_schedule epochs must be increasing and >= 1, got {list(self.lr_schedule)}")


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam uses PyTorch's fused kernel (the same update; a quarter faster for the small FC head)."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay)


@torch.no_grad()
def extract_features(
    images: torch.Tensor, kernels: torch.Tensor, arch: ArchitectureConfig, batch_size: int = 64
) -> torch.Tensor:
    """Frozen-conv features of ``images`` ``(N, C, H, W)``, computed in chunks of ``batch_size``.

    Chunks keep the full-resolution conv output (``batch_size`` x 64 x H x W floats, 16 MiB for
    64 CIFAR-10 images) in the CPU's cache between the convolution and the pooling: on the
    reference 2-core CPU 64 images per chunk run at about 3.5x the speed of 1000. Channels-last
    layout lets the CPU convolution use its fast path.
    """
    kernels = kernels.to(images.device).contiguous(memory_format=torch.channels_last)
    chunks = [
        conv_features(images[i : i + batch_size].contiguous(memory_format=torch.channels_last), kernels, arch)
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(chunks).contiguous()


@dataclass(frozen=True)
class FeatureScaler:
    """Per-feature standardisation with statistics of the training subset's features only.

    A feature that does not vary over the training subset keeps scale 1 (as scikit-learn's
    ``StandardScaler`` does), so it cannot blow up on test images.
    """

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, features: torch.Tensor) -> FeatureScaler:
        mean = features.mean(dim=0, keepdim=True)
        std = features.std(dim=0, keepdim=True) if len(features) > 1 else torch.zeros_like(mean)
        return cls(mean, torch.where(std > 1e-6 * (1 + mean.abs()), std, torch.ones_like(std)))

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std


@torch.inference_mode()
def predict(model: nn.Module, inputs: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted class of every input, in inference mode and in chunks."""
    was_training = model.training
    model.eval()
    predictions = torch.cat(
        [model(inputs[i : i + batch_size]).argmax(dim=1) for i in range(0, len(inputs), batch_size)]
    )
    model.train(was_training)
    return predictions


def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``inputs`` classified correctly (an exact count divided by the number of inputs)."""
    correct = int((predict(model, inputs, batch_size) == labels).sum())
    return correct / len(labels)


def fit(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: Callable[[int, nn.Module], None] | None = None,
) -> nn.Module:
    """Minimise cross-entropy over ``config.epochs`` epochs of shuffled minibatches.

    Only parameters with ``requires_grad`` are optimised. The learning rate follows
    ``config.lr_schedule``; with ``config.hflip`` each minibatch is flipped left-right with
    probability 1/2 (a whole batch at once, as MatConvNet's ``getBatch`` did), drawn from
    ``generator``. After each epoch listed in ``checkpoint_epochs`` ``on_checkpoint(epoch, model)``
    is called (e.g. to score a validation split), so one run can score several training lengths.
    """
    config.check()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, config)
    model.train()
    n = len(inputs)
    checkpoints = set(checkpoint_epochs)
    for epoch in range(1, config.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * config.lr_factor(epoch)
        order = torch.randperm(n, generator=generator).to(inputs.device)
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            batch_inputs = inputs[batch]
            if config.hflip and bool(torch.rand((), generator=generator) < 0.5):
                batch_inputs = batch_inputs.flip(-1)
            loss = F.cross_entropy(model(batch_inputs), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if epoch in checkpoints and on_checkpoint is not None:
            on_checkpoint(epoch, model)
    return model
