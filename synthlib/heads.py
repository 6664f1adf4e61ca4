"""Train many ``ClassifierHead``s on frozen features at once, as one batched model.

A study trains hundreds of small heads (Flatten -> Linear(D, 64) -> ReLU -> Linear(64, 10)) on features
computed once; one at a time, each optimiser step costs less arithmetic than per-step overhead.
``fit_heads`` stacks the parameters of K heads into tensors of shape ``(K, ...)`` and takes one step of all
of them per minibatch.

Why this is exact: the batched loss is the *sum* of the K heads' own mean cross-entropies, and head k's
parameters enter only its own term, so the gradient with respect to head k's slice is exactly the gradient
of its own loss, as in ``training.fit``. The optimiser updates are elementwise: ``torch.optim``'s own
functional Adam (fused, as ``training.make_optimizer`` makes it) and SGD, applied to views of each head's
slices with its own learning rate, weight decay, momentum and schedule. Each head's generator is consumed
exactly as ``fit`` consumes it (per epoch ``torch.randperm(n)``, then per minibatch ``torch.rand(())`` when
``hflip``), so each head sees the same minibatches and flips, and the generators end in the same state.
Results agree with one-by-one ``fit`` to floating-point rounding (a batched matmul sums in another order).

Heads are trained in groups sharing (batch size, optimiser, epochs), which fix the step sequence. Within a
group, heads that will draw identical minibatches (the same feature tensor, the same ``hflip`` and generators
in the same state, e.g. the settings of one grid for one seed and sampler) share one gathered minibatch and
one matmul with their concatenated first-layer weights (this matters for 16,384-wide features); other heads
gather a ``(K, B, D)`` minibatch each and go through ``torch.bmm``. Groups are trained one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.optim.adam import adam
from torch.optim.sgd import sgd

from synthlib.models import ClassifierHead
from synthlib.training import TrainConfig

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, as training.make_optimizer uses them
ADAM_EPS = 1e-8

HeadCallback = Callable[[int, int, ClassifierHead], None]
"""``on_checkpoint(epoch, k, head)``: head ``k`` (its index in the call) after ``epoch``, parameters written back."""


@dataclass
class HeadBlock:
    """Heads of one schedule group whose parameters are stacked together ``(K_block, ...)``.

    ``shared``: the heads draw identical minibatches (one gather, one matmul); otherwise each head
    gathers its own and they go through ``torch.bmm``.
    """

    members: list[int]
    shared: bool


def schedule_groups(configs: Sequence[TrainConfig]) -> list[list[int]]:
    """Indices of heads with the same (batch size, optimiser, epochs), which fix the sequence of steps."""
    groups: dict[tuple[int, str, int], list[int]] = {}
    for k, config in enumerate(configs):
        groups.setdefault((config.batch_size, config.optimizer, config.epochs), []).append(k)
    return list(groups.values())


def draw_blocks(
    members: Sequence[int],
    features: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
) -> list[HeadBlock]:
    """Split a schedule group into blocks of heads that will draw identical minibatches, and one block of
    the others. Within a schedule group the draws are a function of the generator's state and ``hflip``
    only, so heads with the same feature tensor, ``hflip`` and generator state see identical minibatches.
    """
    classes: dict[tuple[int, bool, bytes], list[int]] = {}
    for k in members:
        state = generators[k].get_state().numpy().tobytes()
        classes.setdefault((id(features[k]), configs[k].hflip, state), []).append(k)
    blocks = [HeadBlock(c, shared=True) for c in classes.values() if len(c) > 1]
    singles = [c[0] for c in classes.values() if len(c) == 1]
    return blocks + ([HeadBlock(singles, shared=False)] if singles else [])


def feature_table(
    members: Sequence[int],
    features: Sequence[torch.Tensor],
    configs: Sequence[TrainConfig],
    flipped_features: Sequence[torch.Tensor | None],
) -> tuple[torch.Tensor, dict[int, int], dict[int, int]]:
    """Flattened distinct feature tensors (and, where a head flips, those of its flipped inputs), stacked
    ``(S, N, D)``, with each member's row of plain and of flipped features. A head's flipped features are
    ``flipped_features[k]`` when given, else its maps flipped left-right (as ``training.fit`` flips them)."""
    rows: dict[tuple[int, bool], int] = {}
    tables: list[torch.Tensor] = []
    for k in members:
        for flipped in (False, True) if configs[k].hflip else (False,):
            key = (id(features[k]), flipped)
            if key not in rows:
                rows[key] = len(tables)
                given = flipped_features[k]
                maps = (given if given is not None else features[k].flip(-1)) if flipped else features[k]
                tables.append(maps.flatten(1))
    plain = {k: rows[(id(features[k]), False)] for k in members}
    flips = {k: rows.get((id(features[k]), True), -1) for k in members}
    return torch.stack(tables), plain, flips


def draw_epoch(generator: torch.Generator, n: int, config: TrainConfig) -> tuple[torch.Tensor, list[bool]]:
    """One epoch's minibatch order and per-minibatch flips, drawn exactly as ``training.fit`` draws them."""
    order = torch.randperm(n, generator=generator)
    n_steps = -(-n // config.batch_size)
    return order, [config.hflip and bool(torch.rand((), generator=generator) < 0.5) for _ in range(n_steps)]


def stack_parameters(heads: Sequence[ClassifierHead]) -> list[torch.Tensor]:
    """Each parameter of the heads stacked along a new first axis: a leaf that needs a gradient when any
    head trains it (``requires_grad``)."""
    per_head = [list(head.parameters()) for head in heads]
    return [
        torch.stack([params[i].detach() for params in per_head]).requires_grad_(
            any(p[i].requires_grad for p in per_head)
        )
        for i in range(len(per_head[0]))
    ]


def write_back(stacked: Sequence[torch.Tensor], index: int, head: ClassifierHead) -> None:
    """Copy head ``index`` of the stacked parameters into ``head``; parameters that do not train stay untouched."""
    with torch.no_grad():
        for param, values in zip(head.parameters(), stacked):
            if param.requires_grad:
                param.copy_(values[index])


def block_logits(
    params: Sequence[torch.Tensor], table: torch.Tensor, rows: list[int], batches: torch.Tensor, shared: bool
) -> torch.Tensor:
    """Logits ``(K, B, classes)`` of a block's stacked heads for minibatch indices ``batches`` ``(K, B)`` into
    rows ``rows`` (one per head) of the feature table."""
    weight1, bias1, weight2, bias2 = params
    n_heads, hidden_units, width = weight1.shape
    if shared:  # one gather, one matmul with the concatenated first-layer weights
        inputs = table[rows[0]].index_select(0, batches[0])  # an int row: a view of the table, no copy
        hidden = torch.addmm(bias1.reshape(-1), inputs, weight1.reshape(-1, width).t())
        hidden = hidden.view(len(inputs), n_heads, hidden_units).transpose(0, 1)
    else:
        inputs = table[torch.tensor(rows, device=table.device)[:, None], batches]  # (K, B, D)
        hidden = torch.baddbmm(bias1[:, None, :], inputs, weight1.transpose(1, 2))
    return torch.baddbmm(bias2[:, None, :], F.relu(hidden), weight2.transpose(1, 2))


@dataclass
class HeadOptimizerState:
    """One head's trained parameters (views of the stacked ones) and their optimiser state, as
    ``torch.optim.Adam`` / ``SGD`` keep it."""

    indices: list[int]  # which of the stacked parameters this head trains
    params: list[torch.Tensor]
    exp_avgs: list[torch.Tensor] = field(default_factory=list)
    exp_avg_sqs: list[torch.Tensor] = field(default_factory=list)
    steps: list[torch.Tensor] = field(default_factory=list)
    momentum_buffers: list[torch.Tensor | None] = field(default_factory=list)


def optimizer_state(
    stacked: Sequence[torch.Tensor], index: int, head: ClassifierHead, optimizer: str
) -> HeadOptimizerState:
    """Fresh optimiser state of head ``index`` of the stacked parameters, for the parameters ``head`` trains."""
    indices = [i for i, param in enumerate(head.parameters()) if param.requires_grad]
    params = [stacked[i][index] for i in indices]
    if optimizer != "adam":
        return HeadOptimizerState(indices, params, momentum_buffers=[None for _ in params])
    return HeadOptimizerState(
        indices,
        params,
        exp_avgs=[torch.zeros_like(p) for p in params],
        exp_avg_sqs=[torch.zeros_like(p) for p in params],
        steps=[torch.zeros((), dtype=torch.float32, device=p.device) for p in params],  # as fused Adam keeps it
    )


@torch.no_grad()
def optimizer_steps(
    states: Sequence[HeadOptimizerState],
    grads: Sequence[Sequence[torch.Tensor]],
    configs: Sequence[TrainConfig],
    lrs: Sequence[float],
) -> None:
    """One step of each head's optimiser, as ``training.make_optimizer`` makes it, through the same
    functional updates of ``torch.optim`` (fused Adam; SGD's default), one call per distinct setting.
    Each head's tensors are views of the stacked parameters, small enough to stay in cache during the update."""
    calls: dict[tuple[float, float, float], list[int]] = {}
    for j, (config, lr) in enumerate(zip(configs, lrs)):
        calls.setdefault((lr, config.weight_decay, config.momentum), []).append(j)
    uses_adam = configs[0].optimizer == "adam"
    for (lr, weight_decay, momentum), heads in calls.items():
        params = [p for j in heads for p in states[j].params]
        head_grads = [g for j in heads for g in grads[j]]
        if uses_adam:
            adam(
                params,
                head_grads,
                [t for j in heads for t in states[j].exp_avgs],
                [t for j in heads for t in states[j].exp_avg_sqs],
                [],
                [t for j in heads for t in states[j].steps],
                fused=True,
                amsgrad=False,
                beta1=ADAM_BETAS[0],
                beta2=ADAM_BETAS[1],
                lr=lr,
                weight_decay=weight_decay,
                eps=ADAM_EPS,
                maximize=False,
            )
        else:
            buffers = [b for j in heads for b in states[j].momentum_buffers]
            sgd(
                params,
                head_grads,
                buffers,
                weight_decay=weight_decay,
                momentum=momentum,
                lr=lr,
                dampening=0.0,
                nesterov=False,
                maximize=False,
            )
            for j in heads:  # sgd fills new momentum buffers into the list it was given
                count = len(states[j].params)
                states[j].momentum_buffers, buffers = buffers[:count], buffers[count:]


def fit_group(
    heads: Sequence[ClassifierHead],
    features: Sequence[torch.Tensor],
    labels: torch.Tensor,
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    blocks: Sequence[HeadBlock],
    checkpoints: set[int],
    on_checkpoint: HeadCallback | None,
    flipped_features: Sequence[torch.Tensor | None],
) -> None:
    """Train the heads of one schedule group together (see the module docstring)."""
    members = [k for block in blocks for k in block.members]
    config = configs[members[0]]  # batch size, optimiser and epochs are the group's
    stacked = [stack_parameters([heads[k] for k in block.members]) for block in blocks]
    head_positions = [(params, j) for block, params in zip(blocks, stacked) for j in range(len(block.members))]
    states = [optimizer_state(params, j, heads[k], config.optimizer) for (params, j), k in zip(head_positions, members)]
    group_configs = [configs[k] for k in members]
    leaves = [param for params in stacked for param in params if param.requires_grad]
    table, plain_rows, flip_rows = feature_table(members, features, configs, flipped_features)
    n = len(labels)
    for k in members:
        heads[k].train()
    for epoch in range(1, config.epochs + 1):
        lrs = [c.learning_rate * c.lr_factor(epoch) for c in group_configs]
        draws = {k: draw_epoch(generators[k], n, configs[k]) for k in members}
        orders = [torch.stack([draws[k][0] for k in block.members]).to(table.device) for block in blocks]
        for index, start in enumerate(range(0, n, config.batch_size)):
            block_losses = []
            for block, params, order in zip(blocks, stacked, orders):
                batches = order[:, start : start + config.batch_size]
                rows = [flip_rows[k] if draws[k][1][index] else plain_rows[k] for k in block.members]
                logits = block_logits(params, table, rows, batches, block.shared)
                losses = F.cross_entropy(logits.flatten(0, 1), labels[batches].flatten(), reduction="none")
                block_losses.append(losses.view(len(block.members), -1).mean(dim=1).sum())
            total_loss = torch.stack(block_losses).sum()
            # contiguous like the parameters: fused Adam walks the gradient's memory in the parameter's order
            leaf_grads = {
                id(leaf): grad.contiguous() for leaf, grad in zip(leaves, torch.autograd.grad(total_loss, leaves))
            }
            head_grads = [
                [leaf_grads[id(params[i])][j] for i in states[h].indices]
                for h, (params, j) in enumerate(head_positions)
            ]
            optimizer_steps(states, head_grads, group_configs, lrs)
        if epoch in checkpoints and on_checkpoint is not None:
            for block, params in zip(blocks, stacked):
                for j, k in enumerate(block.members):
                    write_back(params, j, heads[k])
                    on_checkpoint(epoch, k, heads[k])
    for block, params in zip(blocks, stacked):
        for j, k in enumerate(block.members):
            write_back(params, j, heads[k])


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
    if len({id(head) for head in heads}) < len(heads):
        raise ValueError("each run needs a head of its own (copy a shared initial head)")
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
    flipped_features: Sequence[torch.Tensor | None] | None = None,
) -> list[ClassifierHead]:
    """Train each ``heads[k]`` as ``training.fit(heads[k], features[k], labels, configs[k], generators[k],
    flipped_inputs=flipped_features[k])`` would, all together; the trained parameters are written back into
    the heads, which are returned.

    ``features[k]`` is ``(N, C, H, W)`` (the same tensor object for heads that share features). Parameters
    with ``requires_grad`` False stay untouched. After each epoch in ``checkpoint_epochs`` (up to a head's own
    epochs) ``on_checkpoint(epoch, k, heads[k])`` is called with the parameters written back.
    """
    check_inputs(heads, features, labels, configs, generators)
    flipped = list(flipped_features) if flipped_features is not None else [None] * len(heads)
    if len(flipped) != len(heads):
        raise ValueError(f"need one flipped feature tensor (or None) per head, got {len(flipped)} for {len(heads)}")
    checkpoints = set(checkpoint_epochs)
    for members in schedule_groups(configs):
        blocks = draw_blocks(members, features, configs, generators)
        fit_group(heads, features, labels, configs, generators, blocks, checkpoints, on_checkpoint, flipped)
    return list(heads)
