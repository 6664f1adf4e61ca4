"""Training and evaluation, the same loop for both regimes.

- Frozen conv: features of the frozen conv are computed once per run (``synthlib.features``) and
  only the ``ClassifierHead`` is trained on them.
- Fully trained: the whole ``PaperCNN`` is trained on the images.

Minibatch order comes from an explicit CPU generator, so a run is deterministic for its seed on a
given machine (and thread count).

Early stopping (``synthlib.stopping``): with ``TrainConfig.patience`` set, ``epochs`` is the maximum; ``fit``
then needs ``validation=(inputs, labels)``, scores it after every epoch (or every ``validation_every``-th, a
training strip, and the last), stops by the rule and restores the parameters of the best scored epoch.
``fit_until_plateau`` does the same and returns the run's ``Stopping`` (epoch kept, epochs run, whether it
stopped at the maximum, best validation accuracy). Without ``patience`` nothing
is scored and training is exactly the fixed-length loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from synthlib.stopping import EarlyStopping, Progress, Stopping, observe, scored, should_stop, stopping_of

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
    patience: int | None = None
    """Early stopping on validation (``synthlib.stopping``): ``epochs`` is then the maximum. ``None``: train
    exactly ``epochs`` epochs (and the key is absent from ``to_dict``, so existing records keep their hash)."""
    validation_every: int | None = None
    """With ``patience``: validation is measured after every ``validation_every``-th epoch (a training strip,
    ``stopping.EarlyStopping.every``) and after the last. ``None``: after every epoch (absent from ``to_dict``)."""

    def __post_init__(self) -> None:  # JSON gives lists; keep the schedule hashable and comparable
        object.__setattr__(self, "lr_schedule", tuple((int(e), float(f)) for e, f in self.lr_schedule))

    def to_dict(self) -> dict:
        values = asdict(self)
        for optional in ("patience", "validation_every"):
            if values[optional] is None:
                del values[optional]
        return values

    def early_stopping(self) -> EarlyStopping | None:
        """The early-stopping rule of this setting, or ``None`` when it trains a fixed number of epochs."""
        if self.patience is None:
            return None
        return EarlyStopping(self.patience, 1 if self.validation_every is None else self.validation_every)

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
        if self.validation_every is not None and self.patience is None:
            raise ValueError("validation_every needs early stopping: set patience too (or validation_every=None)")
        self.early_stopping()  # checks patience and validation_every


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam uses PyTorch's fused kernel (the same update; a quarter faster for the small FC head)."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay)


PREDICT_CHUNK = 64
"""Images per forward pass when predicting: a chunk's conv maps (64 x 64 x 32 x 32 floats, 16 MiB on
CIFAR-10) stay in the CPU's cache through pooling, as in ``features.extract_features``; on the reference
2-core CPU prediction in chunks of 64 ran 1.9-2.6x faster than in chunks of 1000 (``python -m
benchmarks.conv_layout``)."""


@torch.inference_mode()
def predict(model: nn.Module, inputs: torch.Tensor, batch_size: int = PREDICT_CHUNK) -> torch.Tensor:
    """Predicted class of every input, in inference mode and in chunks of ``batch_size``."""
    was_training = model.training
    model.eval()
    predictions = torch.cat(
        [model(inputs[i : i + batch_size]).argmax(dim=1) for i in range(0, len(inputs), batch_size)]
    )
    model.train(was_training)
    return predictions


def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = PREDICT_CHUNK) -> float:
    """Fraction of ``inputs`` classified correctly (an exact count divided by the number of inputs)."""
    correct = int((predict(model, inputs, batch_size) == labels).sum())
    return correct / len(labels)


Validation = tuple[torch.Tensor, torch.Tensor]
"""``(inputs, labels)`` of a validation split."""


def train_epochs(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    flipped_inputs: torch.Tensor | None = None,
) -> Iterator[int]:
    """Train ``model`` epoch by epoch, yielding each epoch's number (1-based) after its last step; a caller
    that stops iterating stops training there (nothing more is drawn from ``generator``).

    Only parameters with ``requires_grad`` are optimised. The learning rate follows ``config.lr_schedule``;
    with ``config.hflip`` each minibatch is flipped left-right with probability 1/2 (a whole batch at once,
    as MatConvNet's ``getBatch`` did), drawn from ``generator``: its rows are taken from ``flipped_inputs``
    when given (frozen features of the flipped images), else ``inputs`` are flipped along their last axis.
    """
    config.check()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, config)
    model.train()
    n = len(inputs)
    for epoch in range(1, config.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * config.lr_factor(epoch)
        order = torch.randperm(n, generator=generator).to(inputs.device)
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            batch_inputs = inputs[batch]
            if config.hflip and bool(torch.rand((), generator=generator) < 0.5):
                batch_inputs = flipped_inputs[batch] if flipped_inputs is not None else batch_inputs.flip(-1)
            loss = F.cross_entropy(model(batch_inputs), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        yield epoch


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s parameters and buffers."""
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def fit_until_plateau(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    validation: Validation,
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: Callable[[int, nn.Module], None] | None = None,
    flipped_inputs: torch.Tensor | None = None,
) -> Stopping:
    """``fit`` with early stopping (``config.patience`` must be set): after every epoch (every
    ``config.validation_every``-th with a training strip, and the last) the accuracy on ``validation`` is
    measured; training stops by ``synthlib.stopping``'s rule and the parameters of the best scored epoch are
    restored into ``model``. Returns how it stopped. ``on_checkpoint`` sees the parameters of each checkpoint
    epoch reached, before any restoring."""
    rule = config.early_stopping()
    if rule is None:
        raise ValueError("fit_until_plateau needs a setting with early stopping: set TrainConfig.patience")
    check_validation(validation)
    progress, kept = Progress(), snapshot(model)
    checkpoints = set(checkpoint_epochs)
    for epoch in train_epochs(model, inputs, labels, config, generator, flipped_inputs):
        if epoch in checkpoints and on_checkpoint is not None:
            on_checkpoint(epoch, model)
        if not scored(rule, epoch, config.epochs):
            continue
        progress = observe(progress, accuracy(model, *validation), epoch)
        if progress.best_epoch == epoch:
            kept = snapshot(model)
        if should_stop(rule, progress, config.epochs):
            break
    model.load_state_dict(kept)
    return stopping_of(rule, progress, config.epochs)


def check_validation(validation: Validation | None) -> None:
    """Raise ``ValueError`` unless ``validation`` is a non-empty ``(inputs, labels)`` pair of equal length."""
    if validation is None:
        raise ValueError("early stopping (TrainConfig.patience) needs validation=(inputs, labels)")
    inputs, labels = validation
    if len(labels) == 0 or len(inputs) != len(labels):
        raise ValueError(
            f"validation needs as many inputs as labels, at least one: got {len(inputs)} inputs, {len(labels)} labels"
        )


def fit(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: Callable[[int, nn.Module], None] | None = None,
    flipped_inputs: torch.Tensor | None = None,
    validation: Validation | None = None,
) -> nn.Module:
    """Minimise cross-entropy over ``config.epochs`` epochs of shuffled minibatches (``train_epochs``);
    return ``model``.

    After each epoch listed in ``checkpoint_epochs`` ``on_checkpoint(epoch, model)`` is called (e.g. to
    score a validation split), so one run can score several training lengths. With ``config.patience`` set,
    training stops early on ``validation`` as ``fit_until_plateau`` does (use that to get the ``Stopping``).
    """
    if config.patience is not None:
        check_validation(validation)
        assert validation is not None
        fit_until_plateau(
            model, inputs, labels, config, generator, validation, checkpoint_epochs, on_checkpoint, flipped_inputs
        )
        return model
    checkpoints = set(checkpoint_epochs)
    for epoch in train_epochs(model, inputs, labels, config, generator, flipped_inputs):
        if epoch in checkpoints and on_checkpoint is not None:
            on_checkpoint(epoch, model)
    return model
