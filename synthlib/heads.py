"""Train many ``ClassifierHead``s on frozen features at once, as one batched model.

A study trains hundreds of small heads (Flatten -> Linear(D, 64) -> ReLU -> Linear(64, 10)) on features
computed once; one at a time, each optimiser step costs less arithmetic than per-step overhead.
``fit_heads`` stacks the parameters of K heads into tensors of shape ``(K, ...)`` and takes one step of all
of them per minibatch.

Why this is exact: the batched loss is the *sum* of the K heads' own mean cross-entropies, and head k's
parameters enter only its own term, so the gradient with respect to head k's slice is exactly the gradient
of its own loss, as in ``training.fit``. The optimiser updates are elementwise, with head k's own learning
rate, weight decay, momentum and schedule. Each head's generator is consumed exactly as ``fit`` consumes it
(per epoch ``torch.randperm(n)``, then per minibatch ``torch.rand(())`` when ``hflip``), so each head sees
the same minibatches and flips, and the generators end in the same state. Results agree with one-by-one
``fit`` to floating-point rounding (a batched matmul sums in a different order).

Heads are trained in groups sharing (batch size, optimiser, epochs), which fix the step sequence. Within a
group, heads that will draw identical minibatches (the same feature tensor, the same ``hflip`` and generators
in the same state, e.g. the settings of one grid for one seed and sampler) share one gathered minibatch and
one matmul with their concatenated first-layer weights (this matters for 16,384-wide features); other heads
gather a ``(K, B, D)`` minibatch each and go through ``torch.bmm``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from synthlib.models import ClassifierHead
from synthlib.training import TrainConfig

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, as training.make_optimizer uses them
ADAM_EPS = 1e-8

HeadCallback = Callable[[int, int, ClassifierHead], None]
"""``on_checkpoint(epoch, k, head)``: head ``k`` (its index in the call) after ``epoch``, parameters written back."""


@dataclass
class HeadGroup:
    """Heads trained in one batched loop, in the order of their stacked parameters.

    ``members[i]`` is the call index of stacked head i; ``shared`` lists ``(start, stop)`` ranges of heads
    that draw identical minibatches (one gather, one matmul each); heads from ``singles_start`` on draw
    their own.
    """

    members: list[int]
    shared: list[tuple[int, int]]
    singles_start: int


def schedule_groups(configs: Sequence[TrainConfig]) -> list[list[int]]:
    """Indices of heads with the same (batch size, optimiser, epochs), which fix the sequence of steps."""
    groups: dict[tuple[int, str, int], list[int]] = {}
    for k, config in enumerate(configs):
        groups.setdefault((config.batch_size, config.optimizer, config.epochs), []).append(k)
    return list(groups.values())


def draw_classes(
    members: Sequence[int],
    features: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
) -> HeadGroup:
    """Order a schedule group so heads that will draw identical minibatches are adjacent.

    Within a schedule group the draws are a function of the generator's state and ``hflip`` only, so
    heads with the same feature tensor, ``hflip`` and generator state see identical minibatches throughout.
    """
    classes: dict[tuple[int, bool, bytes], list[int]] = {}
    for k in members:
        state = generators[k].get_state().numpy().tobytes()
        classes.setdefault((id(features[k]), configs[k].hflip, state), []).append(k)
    shared_classes = [c for c in classes.values() if len(c) > 1]
    ordered: list[int] = []
    shared: list[tuple[int, int]] = []
    for c in shared_classes:
        shared.append((len(ordered), len(ordered) + len(c)))
        ordered.extend(c)
    singles_start = len(ordered)
    ordered.extend(c[0] for c in classes.values() if len(c) == 1)
    return HeadGroup(ordered, shared, singles_start)


def feature_table(
    members: Sequence[int], features: Sequence[torch.Tensor], configs: Sequence[TrainConfig]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flattened distinct feature tensors (and their left-right flips where a head flips), stacked ``(S, N, D)``,
    with each member's row of plain and of flipped features (flipping the maps is a permutation: exact)."""
    rows: dict[tuple[int, bool], int] = {}
    tables: list[torch.Tensor] = []
    for k in members:
        for flipped in (False, True) if configs[k].hflip else (False,):
            key = (id(features[k]), flipped)
            if key not in rows:
                rows[key] = len(tables)
                maps = features[k].flip(-1) if flipped else features[k]
                tables.append(maps.flatten(1))
    plain = torch.tensor([rows[(id(features[k]), False)] for k in members])
    flips = torch.tensor([rows.get((id(features[k]), True), -1) for k in members])
    return torch.stack(tables), plain, flips


def draw_epoch(generator: torch.Generator, n: int, config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """One epoch's minibatch order and per-minibatch flips, drawn exactly as ``training.fit`` draws them."""
    order = torch.randperm(n, generator=generator)
    n_steps = -(-n // config.batch_size)
    flips = [config.hflip and bool(torch.rand((), generator=generator) < 0.5) for _ in range(n_steps)]
    return order, torch.tensor(flips, dtype=torch.bool)


def stack_parameters(heads: Sequence[ClassifierHead]) -> tuple[list[torch.Tensor], list[list[bool]]]:
    """Each parameter of the heads stacked along a new first axis (a leaf that needs a gradient when any
    head trains it), and for each parameter which heads train it (``requires_grad``)."""
    per_head = [list(head.parameters()) for head in heads]
    stacked, trains = [], []
    for i in range(len(per_head[0])):
        trains.append([params[i].requires_grad for params in per_head])
        stacked.append(torch.stack([params[i].detach() for params in per_head]).requires_grad_(any(trains[-1])))
    return stacked, trains


def write_back(stacked: Sequence[torch.Tensor], heads: Sequence[ClassifierHead]) -> None:
    """Copy stacked parameters into the heads; parameters that do not train are left untouched."""
    with torch.no_grad():
        for i, head in enumerate(heads):
            for param, values in zip(head.parameters(), stacked):
                if param.requires_grad:
                    param.copy_(values[i])


def batched_logits(
    params: Sequence[torch.Tensor], table: torch.Tensor, rows: list[int], batches: torch.Tensor, group: HeadGroup
) -> torch.Tensor:
    """Logits ``(K, B, classes)`` of the stacked heads for minibatch indices ``batches`` ``(K, B)`` into
    rows ``rows`` (one per head) of the feature table."""
    weight1, bias1, weight2, bias2 = params
    n_heads, hidden_units, width = weight1.shape
    parts = []
    for start, stop in group.shared:  # one gather, one matmul with the concatenated first-layer weights
        inputs = table[rows[start]].index_select(0, batches[start])  # rows are ints: a view, no copy
        hidden = torch.addmm(bias1[start:stop].reshape(-1), inputs, weight1[start:stop].reshape(-1, width).t())
        parts.append(hidden.view(len(inputs), stop - start, hidden_units).transpose(0, 1))
    if group.singles_start < n_heads:
        start = group.singles_start
        singles_rows = torch.tensor(rows[start:], device=table.device)
        inputs = table[singles_rows[:, None], batches[start:]]  # (K_singles, B, D)
        parts.append(torch.baddbmm(bias1[start:, None, :], inputs, weight1[start:].transpose(1, 2)))
    hidden = F.relu(torch.cat(parts) if len(parts) > 1 else parts[0])
    return torch.baddbmm(bias2[:, None, :], hidden, weight2.transpose(1, 2))


def per_head(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """``values`` (one per head) shaped to broadcast over a stacked parameter ``like`` ``(K, ...)``."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *[1] * (like.ndim - 1))


@torch.no_grad()
def sgd_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor | None,
    lr: torch.Tensor,
    weight_decay: torch.Tensor,
    momentum: torch.Tensor,
) -> torch.Tensor:
    """torch.optim.SGD's update (dampening 0, not Nesterov) with per-head tensors; returns the buffer."""
    grad = grad + weight_decay * param
    if momentum_buffer is None:
        momentum_buffer = grad.clone()
    else:
        momentum_buffer.mul_(momentum).add_(grad)
    param.sub_(lr * momentum_buffer)
    return momentum_buffer


@torch.no_grad()
def adam_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    step: int,
    lr: torch.Tensor,
    weight_decay: torch.Tensor,
) -> None:
    """torch.optim.Adam's update (weight decay added to the gradient, default betas and eps) with
    per-head learning rate and weight decay; ``step`` counts from 1."""
    beta1, beta2 = ADAM_BETAS
    grad = grad + weight_decay * param
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(ADAM_EPS)
    param.sub_((lr / (1 - beta1**step)) * exp_avg / denom)


def fit_group(
    heads: Sequence[ClassifierHead],
    features: Sequence[torch.Tensor],
    labels: torch.Tensor,
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    group: HeadGroup,
    checkpoints: set[int],
    on_checkpoint: HeadCallback | None,
) -> None:
    """Train the heads of one schedule group together (see the module docstring)."""
    members = group.members
    group_heads = [heads[k] for k in members]
    group_configs = [configs[k] for k in members]
    config = group_configs[0]  # batch size, optimiser and epochs are the group's
    params, trains = stack_parameters(group_heads)
    table, plain_rows, flip_rows = feature_table(members, features, configs)
    device = table.device
    trained = [i for i, param in enumerate(params) if param.requires_grad]
    weight_decays = {i: per_head([c.weight_decay for c in group_configs], params[i]) for i in trained}
    momenta = {i: per_head([c.momentum for c in group_configs], params[i]) for i in trained}
    state: dict[int, list[torch.Tensor]] = {}
    n, step = len(labels), 0
    for head in group_heads:
        head.train()
    for epoch in range(1, config.epochs + 1):
        factors = [c.learning_rate * c.lr_factor(epoch) for c in group_configs]
        lrs = {i: per_head([f if t else 0.0 for f, t in zip(factors, trains[i])], params[i]) for i in trained}
        draws = [draw_epoch(generators[k], n, configs[k]) for k in members]
        orders = torch.stack([order for order, _ in draws]).to(device)
        step_rows = torch.where(torch.stack([flips for _, flips in draws]), flip_rows[:, None], plain_rows[:, None])
        for index, start in enumerate(range(0, n, config.batch_size)):
            batches = orders[:, start : start + config.batch_size]
            logits = batched_logits(params, table, step_rows[:, index].tolist(), batches, group)
            losses = F.cross_entropy(logits.flatten(0, 1), labels[batches].flatten(), reduction="none")
            grads = torch.autograd.grad(losses.view(len(members), -1).mean(dim=1).sum(), [params[i] for i in trained])
            step += 1
            for i, grad in zip(trained, grads):
                if config.optimizer == "adam":
                    buffers = state.setdefault(i, [torch.zeros_like(grad), torch.zeros_like(grad)])
                    adam_step(params[i], grad, buffers[0], buffers[1], step, lrs[i], weight_decays[i])
                else:
                    previous = state[i][0] if i in state else None
                    state[i] = [sgd_step(params[i], grad, previous, lrs[i], weight_decays[i], momenta[i])]
        if epoch in checkpoints and on_checkpoint is not None:
            write_back(params, group_heads)
            for k, head in zip(members, group_heads):
                on_checkpoint(epoch, k, head)
    write_back(params, group_heads)


def check_inputs(
    heads: Sequence[ClassifierHead],
    features: Sequence[torch.Tensor],
    labels: torch.Tensor,
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
) -> None:
    """Raise ``ValueError`` naming what cannot be trained together."""
    if not len(heads) == len(features) == len(configs) == len(generators):
        raise ValueError(
            f"need one feature tensor, config and generator per head, got {len(heads)} heads, "
            f"{len(features)} feature tensors, {len(configs)} configs and {len(generators)} generators"
        )
    if len({id(g) for g in generators}) < len(generators):
        raise ValueError("each head needs a generator of its own (fit would draw from a shared one in sequence)")
    for k, maps in enumerate(features):
        if len(maps) != len(labels):
            raise ValueError(f"features[{k}] has {len(maps)} rows for {len(labels)} labels")
    for config in configs:
        config.check()


def fit_heads(
    heads: Sequence[ClassifierHead],
    features: Sequence[torch.Tensor],
    labels: torch.Tensor,
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: HeadCallback | None = None,
) -> list[ClassifierHead]:
    """Train each ``heads[k]`` as ``training.fit(heads[k], features[k], labels, configs[k], generators[k])``
    would, all together; the trained parameters are written back into the heads, which are returned.

    ``features[k]`` is ``(N, C, H, W)`` (the same tensor object for heads that share features). Parameters
    with ``requires_grad`` False stay untouched. After each epoch in ``checkpoint_epochs`` (up to a head's own
    epochs) ``on_checkpoint(epoch, k, heads[k])`` is called with the parameters written back.
    """
    check_inputs(heads, features, labels, configs, generators)
    checkpoints = set(checkpoint_epochs)
    for members in schedule_groups(configs):
        group = draw_classes(members, features, configs, generators)
        fit_group(heads, features, labels, configs, generators, group, checkpoints, on_checkpoint)
    return list(heads)
