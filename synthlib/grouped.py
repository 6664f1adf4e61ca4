"""Train many fully trained ``PaperCNN``s at once, as one grouped network.

A study trains many small CNNs of one architecture on a few hundred images each: the learning rates of one
tuning seed, the settings of the authors' grid, the seeds of one column. One at a time, each step is a small
conv and two small matmuls. ``fit_models`` trains K of them together, one forward and one backward pass per
minibatch for all of them:

- the first conv of models that draw *identical* minibatches (the same input tensor, batch size, ``hflip``
  and generator state, e.g. the settings of one seed, whose order generator does not depend on the setting)
  is one conv of their kernels side by side (``64 K`` output channels on one input batch), a much larger and
  more efficient product; models with minibatches of their own (other seeds, other data) get their own conv;
- every further conv layer is one grouped convolution (``groups=K``), the models' channels side by side
  (Krizhevsky et al. 2012 split one network into two such groups; PyTorch's ``conv2d(groups=...)``);
- pooling and ReLU act per channel, so they act per model;
- the FC layers are batched matmuls (``torch.baddbmm``) of stacked ``(K, out, in)`` weights, as
  ``synthlib.heads`` does for frozen-feature heads.

Why it is exact: the loss is the *sum* of the K models' own mean cross-entropies, and model k's parameters
enter only its own term, so each model's gradient is the gradient of its own loss, as in ``training.fit``.
The parameters stay each model's own tensors (leaves), concatenated anew each step, so each model keeps its
own optimiser (``training.make_optimizer``: fused Adam or SGD with momentum), learning rate, weight decay and
schedule. Each model's generator is consumed exactly as ``fit`` consumes it (per epoch ``torch.randperm(n)``,
then per minibatch ``torch.rand(())`` when ``hflip``), so it sees the same minibatches and flips. Results agree
with one-by-one ``fit`` to floating-point rounding (a wider conv and a batched matmul sum in another order).

Models may train for different numbers of epochs and may stop early on validation (``TrainConfig.patience``,
``synthlib.stopping``'s rule, as ``training.fit_until_plateau`` applies it): a model that is done drops out of
the group at the end of that epoch (nothing more is drawn from its generator), and a model that stopped early
gets the parameters of its best epoch back.

PyTorch's own model-ensembling path (``torch.func.stack_module_state`` + ``vmap`` over ``functional_call``,
https://pytorch.org/tutorials/intermediate/ensembling.html) computes the same thing; ``vmap_logits`` is it,
kept for the benchmark (``benchmarks/grouped.py``), which measures both on the study's shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from synthlib.models import ArchitectureConfig, PaperCNN
from synthlib.stopping import EarlyStopping, Progress, Stopping, observe, scored, should_stop, stopping_of
from synthlib.training import TrainConfig, Validation, accuracy, check_validation, make_optimizer, snapshot

ModelCallback = Callable[[int, int, PaperCNN], bool | None]
"""``on_checkpoint(epoch, k, model)``: model ``k`` (its index in the call) after ``epoch``; returning True stops
that model's training there (early stopping), anything else lets it go on."""


@dataclass(frozen=True)
class DrawClass:
    """Models of one step group that draw identical minibatches: one gathered batch, one wide first conv."""

    members: tuple[int, ...]


def schedule_groups(configs: Sequence[TrainConfig], inputs: Sequence[torch.Tensor]) -> list[list[int]]:
    """Indices of models with the same (batch size, training-set size), which fix the sequence of steps
    within an epoch; epochs and optimisers may differ."""
    groups: dict[tuple[int, int], list[int]] = {}
    for k, (config, images) in enumerate(zip(configs, inputs)):
        groups.setdefault((config.batch_size, len(images)), []).append(k)
    return list(groups.values())


def draw_classes(
    members: Sequence[int],
    inputs: Sequence[torch.Tensor],
    labels: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
) -> list[DrawClass]:
    """Split a step group into classes of models that will draw identical minibatches: the same input and
    label tensors, ``hflip`` and generator state (the draws depend on nothing else)."""
    classes: dict[tuple[int, int, bool, bytes], list[int]] = {}
    for k in members:
        state = generators[k].get_state().numpy().tobytes()
        classes.setdefault((id(inputs[k]), id(labels[k]), configs[k].hflip, state), []).append(k)
    return [DrawClass(tuple(c)) for c in classes.values()]


def draw_epoch(generator: torch.Generator, n: int, config: TrainConfig) -> tuple[torch.Tensor, list[bool]]:
    """One epoch's minibatch order and per-minibatch flips, drawn exactly as ``training.fit`` draws them."""
    order = torch.randperm(n, generator=generator)
    n_steps = -(-n // config.batch_size)
    return order, [config.hflip and bool(torch.rand((), generator=generator) < 0.5) for _ in range(n_steps)]


def side_by_side(weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """Conv weights of several models as one layer's, output channels side by side (one model: itself)."""
    return weights[0] if len(weights) == 1 else torch.cat(list(weights))


def grouped_features(
    batches: Sequence[torch.Tensor], classes: Sequence[Sequence[PaperCNN]], arch: ArchitectureConfig
) -> torch.Tensor:
    """The conv features of every model, ``(K, B, width)`` in the order of ``classes`` flattened: each class's
    first conv on its own batch with its models' kernels side by side, then each further conv layer grouped
    by model, pooling and ReLU per channel (as ``models.conv_features``)."""
    firsts = [
        F.conv2d(batch, side_by_side([m.conv_weight for m in models]), padding=arch.kernel_size // 2)
        for batch, models in zip(batches, classes)
    ]
    maps = firsts[0] if len(firsts) == 1 else torch.cat(firsts, dim=1)
    every = [m for models in classes for m in models]
    layers = [None, *[side_by_side([m.deeper_weights[i] for m in every]) for i in range(len(arch.deeper_layers))]]
    for weight in layers:
        if weight is not None:
            maps = F.conv2d(maps, weight, padding=weight.shape[-1] // 2, groups=len(every))
        if arch.pool_pad_after:
            maps = F.pad(maps, (0, arch.pool_pad_after, 0, arch.pool_pad_after), value=float("-inf"))
        maps = F.relu(F.max_pool2d(maps, arch.pool_kernel, arch.pool_stride))
    if arch.feature_grid is not None:
        maps = F.adaptive_max_pool2d(maps, arch.feature_grid)
    return maps.reshape(len(maps), len(every), -1).transpose(0, 1)


def head_logits(features: torch.Tensor, models: Sequence[PaperCNN]) -> torch.Tensor:
    """Logits ``(K, B, classes)`` of the models' heads on their features ``(K, B, width)``: batched matmuls."""
    first = [cast(nn.Linear, m.head[1]) for m in models]
    second = [cast(nn.Linear, m.head[3]) for m in models]
    hidden = torch.baddbmm(
        torch.stack([layer.bias for layer in first])[:, None, :],
        features,
        torch.stack([layer.weight for layer in first]).transpose(1, 2),
    )
    return torch.baddbmm(
        torch.stack([layer.bias for layer in second])[:, None, :],
        F.relu(hidden),
        torch.stack([layer.weight for layer in second]).transpose(1, 2),
    )


def grouped_logits(batches: Sequence[torch.Tensor], classes: Sequence[Sequence[PaperCNN]]) -> torch.Tensor:
    """Logits ``(K, B, classes)`` of every model (``classes`` flattened) on its class's minibatch."""
    every = [m for models in classes for m in models]
    return head_logits(grouped_features(batches, classes, every[0].arch), every)


def vmap_logits(batches: torch.Tensor, models: Sequence[PaperCNN]) -> torch.Tensor:
    """The same logits by PyTorch's ensembling path: ``torch.func.stack_module_state`` and ``vmap`` over
    ``functional_call`` (``batches``: one ``(B, C, H, W)`` batch shared by all, or ``(K, B, C, H, W)``). The
    stacked parameters are copies, so a training loop would have to own them; the benchmark times this path."""
    params, buffers = torch.func.stack_module_state(list(models))
    base = models[0]

    def call(p: dict, b: dict, x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(base, (p, b), (x,))

    shared = batches.dim() == 4
    return torch.vmap(call, in_dims=(0, 0, None if shared else 0))(params, buffers, batches)


def check_inputs(
    models: Sequence[PaperCNN],
    inputs: Sequence[torch.Tensor],
    labels: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
) -> None:
    """Raise ``ValueError`` naming what cannot be trained together."""
    if not len(models) == len(inputs) == len(labels) == len(configs) == len(generators):
        raise ValueError(
            f"need one input tensor, label tensor, config and generator per model, got {len(models)} models, "
            f"{len(inputs)} inputs, {len(labels)} labels, {len(configs)} configs and {len(generators)} generators"
        )
    if len({id(m) for m in models}) < len(models):
        raise ValueError("each run needs a model of its own (build one per run)")
    if len({id(g) for g in generators}) < len(generators):
        raise ValueError("each model needs a generator of its own (fit would draw from a shared one in sequence)")
    if any(not isinstance(m, PaperCNN) for m in models):
        raise ValueError("fit_models trains PaperCNNs; train other modules with training.fit")
    if len({m.arch for m in models}) > 1:
        raise ValueError("models trained together need one architecture; group them by ArchitectureConfig first")
    for k, (images, targets) in enumerate(zip(inputs, labels)):
        if len(images) != len(targets):
            raise ValueError(f"inputs[{k}] has {len(images)} images for {len(targets)} labels")
    for config in configs:
        config.check()


@dataclass
class Plateau:
    """One model's early stopping (``training.fit_until_plateau``'s rule, ``synthlib.stopping``): what the rule
    remembers and the parameters of the best epoch so far."""

    rule: EarlyStopping
    validation: Validation
    progress: Progress
    kept: dict[str, torch.Tensor]

    def observe(self, epoch: int, model: PaperCNN, max_epochs: int) -> bool:
        """Score ``model`` after ``epoch`` (when the rule scores it), keep its parameters when best; whether
        the rule stops it."""
        if not scored(self.rule, epoch, max_epochs):
            return False
        self.progress = observe(self.progress, accuracy(model, *self.validation), epoch)
        if self.progress.best_epoch == epoch:
            self.kept = snapshot(model)
        return should_stop(self.rule, self.progress, max_epochs)


def plateaus(
    models: Sequence[PaperCNN], configs: Sequence[TrainConfig], validations: Sequence[Validation | None]
) -> dict[int, Plateau]:
    """The early stopping of every model whose setting has ``patience``."""
    found = {}
    for k, (model, config, validation) in enumerate(zip(models, configs, validations)):
        rule = config.early_stopping()
        if rule is not None:
            check_validation(validation)
            assert validation is not None
            found[k] = Plateau(rule, validation, Progress(), snapshot(model))
    return found


def fit_step_group(
    models: Sequence[PaperCNN],
    inputs: Sequence[torch.Tensor],
    labels: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    members: Sequence[int],
    checkpoints: Sequence[set[int]],
    on_checkpoint: ModelCallback | None,
    stopping: dict[int, Plateau],
) -> None:
    """Train the models of one step group together (see the module docstring)."""
    optimizers = {
        k: make_optimizer([p for p in models[k].parameters() if p.requires_grad], configs[k]) for k in members
    }
    batch_size, n = configs[members[0]].batch_size, len(inputs[members[0]])
    active = list(members)
    for k in members:
        models[k].train()
    for epoch in range(1, max(configs[k].epochs for k in members) + 1):
        classes = draw_classes(active, inputs, labels, configs, generators)
        draws = {c.members[0]: draw_epoch(generators[c.members[0]], n, configs[c.members[0]]) for c in classes}
        for c in classes:  # the other members' generators advance exactly as the first's did
            for k in c.members[1:]:
                generators[k].set_state(generators[c.members[0]].get_state())
        for k in active:
            for group in optimizers[k].param_groups:
                group["lr"] = configs[k].learning_rate * configs[k].lr_factor(epoch)
        orders = {first: order.to(inputs[first].device) for first, (order, _) in draws.items()}
        every = [k for c in classes for k in c.members]
        for index, start in enumerate(range(0, n, batch_size)):
            batches, targets = [], []
            for c in classes:
                first = c.members[0]
                batch = orders[first][start : start + batch_size]
                images = inputs[first][batch]
                if draws[first][1][index]:
                    images = images.flip(-1)
                batches.append(images)
                targets += [labels[first][batch]] * len(c.members)
            logits = grouped_logits(batches, [[models[k] for k in c.members] for c in classes])
            losses = F.cross_entropy(logits.flatten(0, 1), torch.cat(targets), reduction="none")
            loss = losses.view(len(every), -1).mean(dim=1).sum()
            for k in every:
                optimizers[k].zero_grad(set_to_none=True)
            loss.backward()
            for k in every:
                optimizers[k].step()
        stopped = set()
        for k in every:  # as fit_until_plateau: the checkpoint first, then the rule
            if epoch in checkpoints[k] and on_checkpoint is not None and on_checkpoint(epoch, k, models[k]) is True:
                stopped.add(k)
            if k in stopping and stopping[k].observe(epoch, models[k], configs[k].epochs):
                stopped.add(k)
            if epoch >= configs[k].epochs:
                stopped.add(k)
        active = [k for k in active if k not in stopped]
        if not active:
            break


def train_models(
    models: Sequence[PaperCNN],
    inputs: Sequence[torch.Tensor],
    labels: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: ModelCallback | None = None,
    validation: Validation | Sequence[Validation | None] | None = None,
) -> list[Stopping | None]:
    """``fit_models``, returning how each model stopped: a ``Stopping`` for a model whose setting has
    ``patience`` (it trains as ``training.fit_until_plateau`` would: scored on its validation split after every
    epoch, stopped by ``synthlib.stopping``'s rule, its best epoch's parameters restored), else ``None``.
    ``validation``: one ``(inputs, labels)`` pair for every model, or one (or ``None``) per model."""
    check_inputs(models, inputs, labels, configs, generators)
    if validation is None or isinstance(validation, tuple):
        validations: list[Validation | None] = [validation] * len(models)
    else:
        validations = list(validation)
    if len(validations) != len(models):
        raise ValueError(f"need one validation pair (or None) per model, got {len(validations)} for {len(models)}")
    stopping = plateaus(models, configs, validations)
    checkpoints = [{e for e in checkpoint_epochs if e <= config.epochs} for config in configs]
    for members in schedule_groups(configs, inputs):
        fit_step_group(models, inputs, labels, configs, generators, members, checkpoints, on_checkpoint, stopping)
    for k, plateau in stopping.items():
        models[k].load_state_dict(plateau.kept)
    return [
        stopping_of(stopping[k].rule, stopping[k].progress, configs[k].epochs) if k in stopping else None
        for k in range(len(models))
    ]


def fit_models(
    models: Sequence[PaperCNN],
    inputs: Sequence[torch.Tensor],
    labels: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: ModelCallback | None = None,
    validation: Validation | Sequence[Validation | None] | None = None,
) -> list[PaperCNN]:
    """Train each ``models[k]`` as ``training.fit(models[k], inputs[k], labels[k], configs[k], generators[k],
    validation=...)`` would, all together, in place; returns the models.

    ``inputs[k]`` are images ``(N, C, H, W)``; models that share a tensor (the same object, and the same
    labels object) and a generator state draw one minibatch for all of them. After each epoch in
    ``checkpoint_epochs`` (up to a model's own epochs) ``on_checkpoint(epoch, k, models[k])`` is called; when it
    returns True, model k stops training there. A model whose setting has ``patience`` stops early on
    ``validation`` (``train_models``).
    """
    train_models(models, inputs, labels, configs, generators, checkpoint_epochs, on_checkpoint, validation)
    return list(models)


def trains_as_group(model: nn.Module) -> bool:
    """Whether ``fit_models`` can train ``model``: a ``PaperCNN`` whose every conv layer trains."""
    return isinstance(model, PaperCNN) and all(w.requires_grad for w in model.conv_weights)


__all__ = [
    "DrawClass",
    "ModelCallback",
    "draw_classes",
    "draw_epoch",
    "fit_models",
    "train_models",
    "grouped_features",
    "grouped_logits",
    "head_logits",
    "schedule_groups",
    "trains_as_group",
    "vmap_logits",
]
