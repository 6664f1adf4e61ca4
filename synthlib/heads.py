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
gather a ``(K, B, D)`` minibatch each and go through ``torch.bmm``. Groups are trained side by side, epoch
by epoch.

Early stopping (``synthlib.stopping``): a head whose config sets ``patience`` is scored on its validation
split after every epoch (``accuracy`` of the head written back, as ``training.fit_until_plateau`` scores it);
when its rule says stop, the head is taken out of its block (the block is restacked without it, the other
heads' optimiser states carried over), draws nothing more from its generator, and ends with its best epoch's
parameters: the same as training it alone with the same rule. ``fit_heads_until_plateau`` returns each head's
``Stopping``; ``HeadsTraining`` runs the loop epoch by epoch for a caller that stops heads itself
(successive halving across several calls, ``synthlib.tuning``).

Per step, every head's gradient lands in buffers allocated once (backward adds into zeroed buffers), and the
optimiser's lists of tensors (views of the stacked parameters, gradients and states) are made once per epoch,
so a step of K heads is the forward and backward kernels plus one functional ``torch.optim`` call per
distinct (learning rate, weight decay, momentum).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch.optim.sgd import sgd

from synthlib.models import ClassifierHead
from synthlib.stopping import Progress, Stopping, observe, scored, should_stop, stopping_of
from synthlib.training import TrainConfig, Validation, accuracy, check_validation

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
    else:  # rows of the (S * N, D) table: one contiguous row copy each
        flat = (torch.tensor(rows, device=table.device)[:, None] * table.shape[1] + batches).flatten()
        inputs = table.flatten(0, 1).index_select(0, flat).view(*batches.shape, width)  # (K, B, D)
        hidden = torch.baddbmm(bias1[:, None, :], inputs, weight1.transpose(1, 2))
    return torch.baddbmm(bias2[:, None, :], F.relu(hidden), weight2.transpose(1, 2))


@dataclass
class HeadOptimizerState:
    """One head's trained parameters (views of the stacked ones) and their optimiser state, as
    ``torch.optim.Adam`` / ``SGD`` keep it."""

    indices: list[int]  # which of the stacked parameters this head trains
    params: list[torch.Tensor]
    grads: list[torch.Tensor]  # views of the stacked parameters' gradient buffers
    exp_avgs: list[torch.Tensor] = field(default_factory=list)
    exp_avg_sqs: list[torch.Tensor] = field(default_factory=list)
    momentum_buffers: list[torch.Tensor | None] = field(default_factory=list)


def optimizer_state(
    stacked: Sequence[torch.Tensor], index: int, head: ClassifierHead, optimizer: str
) -> HeadOptimizerState:
    """Fresh optimiser state of head ``index`` of the stacked parameters, for the parameters ``head`` trains."""
    indices = [i for i, param in enumerate(head.parameters()) if param.requires_grad]
    params = [stacked[i][index] for i in indices]
    grads = [stacked[i].grad[index] for i in indices]  # type: ignore[index]
    if optimizer != "adam":
        return HeadOptimizerState(indices, params, grads, momentum_buffers=[None for _ in params])
    return HeadOptimizerState(
        indices,
        params,
        grads,
        exp_avgs=[torch.zeros_like(p) for p in params],
        exp_avg_sqs=[torch.zeros_like(p) for p in params],
    )


@dataclass
class OptimizerCall:
    """The heads of one epoch that share (learning rate, weight decay, momentum): one call of ``torch.optim``'s
    functional update over all their tensors, lists made once per epoch (the tensors are views of the stacked
    parameters, their gradients and each head's state)."""

    lr: float
    weight_decay: float
    momentum: float
    heads: list[HeadOptimizerState]
    params: list[torch.Tensor]
    grads: list[torch.Tensor]
    exp_avgs: list[torch.Tensor]
    exp_avg_sqs: list[torch.Tensor]
    steps: list[torch.Tensor]  # the group's one step count, once per parameter
    momentum_buffers: list[torch.Tensor | None]


def optimizer_calls(
    states: Sequence[HeadOptimizerState], configs: Sequence[TrainConfig], lrs: Sequence[float], step: torch.Tensor
) -> list[OptimizerCall]:
    """One ``OptimizerCall`` per distinct (learning rate, weight decay, momentum) of the heads; ``step`` is
    the number of steps the group has taken (every head of a group takes the same steps)."""
    by_setting: dict[tuple[float, float, float], list[HeadOptimizerState]] = {}
    for state, config, lr in zip(states, configs, lrs):
        by_setting.setdefault((lr, config.weight_decay, config.momentum), []).append(state)
    return [
        OptimizerCall(
            lr,
            weight_decay,
            momentum,
            heads,
            [p for h in heads for p in h.params],
            [g for h in heads for g in h.grads],
            [t for h in heads for t in h.exp_avgs],
            [t for h in heads for t in h.exp_avg_sqs],
            [step for h in heads for _ in h.params],
            [b for h in heads for b in h.momentum_buffers],
        )
        for (lr, weight_decay, momentum), heads in by_setting.items()
    ]


@torch.no_grad()
def optimizer_step(call: OptimizerCall, optimizer: str) -> None:
    """One step of the heads of ``call``, as ``training.make_optimizer``'s optimiser takes it: the kernel of
    ``torch.optim``'s fused Adam, given the step count already advanced (``torch.optim.adam`` advances one
    count per tensor first; here all share the group's), or SGD's functional update."""
    if optimizer == "adam":
        torch._fused_adam_(
            call.params,
            call.grads,
            call.exp_avgs,
            call.exp_avg_sqs,
            [],
            call.steps,
            amsgrad=False,
            beta1=ADAM_BETAS[0],
            beta2=ADAM_BETAS[1],
            lr=call.lr,
            weight_decay=call.weight_decay,
            eps=ADAM_EPS,
            maximize=False,
        )
        return
    sgd(
        call.params,
        call.grads,
        call.momentum_buffers,  # sgd puts a new buffer in place of each None on the first step
        weight_decay=call.weight_decay,
        momentum=call.momentum,
        lr=call.lr,
        dampening=0.0,
        nesterov=False,
        maximize=False,
    )


def keep_momentum_buffers(call: OptimizerCall) -> None:
    """Hand the momentum buffers that ``sgd`` made back to each head's state."""
    buffers = list(call.momentum_buffers)
    for head in call.heads:
        count = len(head.params)
        head.momentum_buffers, buffers = buffers[:count], buffers[count:]


@dataclass
class BlockRun:
    """A block's heads being trained: their stacked parameters (each trained one with a gradient buffer of
    the same shape, filled by every backward pass) and each member's optimiser state."""

    members: list[int]
    shared: bool
    params: list[torch.Tensor]
    states: list[HeadOptimizerState]


def start_block(
    heads: Sequence[ClassifierHead],
    members: list[int],
    shared: bool,
    optimizer: str,
    states: Mapping[int, HeadOptimizerState] | None = None,
) -> BlockRun:
    """Stack the current parameters of ``heads[members]``; their optimiser states are fresh, or those of
    ``states`` rebound to the new stacked tensors (a block restacked without heads that stopped)."""
    params = stack_parameters([heads[k] for k in members])
    for param in params:
        if param.requires_grad:  # backward adds into it in place (0 + g is g exactly), so views stay valid
            param.grad = torch.zeros_like(param)
    block_states = []
    for j, k in enumerate(members):
        state = optimizer_state(params, j, heads[k], optimizer)
        if states is not None:
            state = replace(states[k], params=state.params, grads=state.grads)
        block_states.append(state)
    return BlockRun(members, shared, params, block_states)


class HeadGroupRun:
    """The heads of one schedule group, trained together epoch by epoch (see the module docstring); heads
    can stop between epochs, and the others go on without them."""

    def __init__(
        self,
        heads: Sequence[ClassifierHead],
        features: Sequence[torch.Tensor],
        labels: torch.Tensor,
        configs: Sequence[TrainConfig],
        generators: Sequence[torch.Generator],
        blocks: Sequence[HeadBlock],
        flipped_features: Sequence[torch.Tensor | None],
    ) -> None:
        members = [k for block in blocks for k in block.members]
        self.heads, self.labels, self.configs, self.generators = heads, labels, configs, generators
        self.config = configs[members[0]]  # batch size, optimiser and epochs are the group's
        self.table, self.plain_rows, self.flip_rows = feature_table(members, features, configs, flipped_features)
        self.blocks = [start_block(heads, list(b.members), b.shared, self.config.optimizer) for b in blocks]
        self.epoch = 0
        self.step = torch.zeros((), dtype=torch.float32, device=self.table.device)  # as fused Adam counts
        for k in members:
            heads[k].train()

    @property
    def members(self) -> list[int]:
        """The heads still training, block by block."""
        return [k for block in self.blocks for k in block.members]

    def run_epoch(self) -> None:
        """One more epoch of every head still training."""
        self.epoch = epoch = self.epoch + 1
        n, batch_size = len(self.labels), self.config.batch_size
        members = self.members
        states = [state for block in self.blocks for state in block.states]
        member_configs = [self.configs[k] for k in members]
        lrs = [c.learning_rate * c.lr_factor(epoch) for c in member_configs]
        calls = optimizer_calls(states, member_configs, lrs, self.step)
        draws = {k: draw_epoch(self.generators[k], n, self.configs[k]) for k in members}
        orders = [torch.stack([draws[k][0] for k in b.members]).to(self.table.device) for b in self.blocks]
        grads = [param.grad for block in self.blocks for param in block.params if param.grad is not None]
        for index, start in enumerate(range(0, n, batch_size)):
            block_losses = []
            for block, order in zip(self.blocks, orders):
                batches = order[:, start : start + batch_size]
                rows = [self.flip_rows[k] if draws[k][1][index] else self.plain_rows[k] for k in block.members]
                logits = block_logits(block.params, self.table, rows, batches, block.shared)
                losses = F.cross_entropy(logits.flatten(0, 1), self.labels[batches].flatten(), reduction="none")
                block_losses.append(losses.view(len(block.members), -1).mean(dim=1).sum())
            torch._foreach_zero_(grads)
            torch.stack(block_losses).sum().backward()
            self.step += 1
            for call in calls:
                optimizer_step(call, self.config.optimizer)
        if self.config.optimizer != "adam":
            for call in calls:
                keep_momentum_buffers(call)

    def write_back(self, k: int) -> None:
        """Copy head ``k``'s trained parameters into ``heads[k]``."""
        for block in self.blocks:
            if k in block.members:
                write_back(block.params, block.members.index(k), self.heads[k])

    def stop(self, stopping: set[int]) -> None:
        """Write back the heads of ``stopping`` and go on without them."""
        blocks = []
        for block in self.blocks:
            if not stopping.intersection(block.members):
                blocks.append(block)
                continue
            for j, k in enumerate(block.members):
                write_back(block.params, j, self.heads[k])
            remaining = [k for k in block.members if k not in stopping]
            if remaining:
                states = dict(zip(block.members, block.states))
                blocks.append(start_block(self.heads, remaining, block.shared, self.config.optimizer, states))
        self.blocks = blocks


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


class HeadsTraining:
    """Heads trained together epoch by epoch, as ``fit_heads`` trains them, for a caller that decides
    between epochs which heads go on (``stop``: e.g. successive halving across several calls).

    Each epoch: ``run_epoch()`` trains every head still training, ``write_back(k)`` puts head ``k``'s
    parameters into ``heads[k]`` (e.g. to score it), and ``end_epoch()`` applies each head's own
    early-stopping rule (``TrainConfig.patience``, on its validation split) and stops heads at their maximum
    epochs. ``finish()`` writes every head back, restores the best epoch of heads with a rule, and returns
    their ``Stopping`` (``None`` for heads without one). A stopped head draws nothing more from its generator
    and takes no more steps, so it ends exactly as if it had been trained alone and stopped there.
    """

    def __init__(
        self,
        heads: Sequence[ClassifierHead],
        features: Sequence[torch.Tensor],
        labels: torch.Tensor,
        configs: Sequence[TrainConfig],
        generators: Sequence[torch.Generator],
        flipped_features: Sequence[torch.Tensor | None] | None = None,
        validation: Validation | Sequence[Validation] | None = None,
    ) -> None:
        check_inputs(heads, features, labels, configs, generators)
        flipped = list(flipped_features) if flipped_features is not None else [None] * len(heads)
        if len(flipped) != len(heads):
            raise ValueError(f"need one flipped feature tensor (or None) per head, got {len(flipped)} for {len(heads)}")
        self.heads, self.configs = heads, configs
        self.rules = [config.early_stopping() for config in configs]
        self.validation = per_head_validation(validation, len(heads))
        for k, rule in enumerate(self.rules):
            if rule is not None:
                check_validation(self.validation[k])
        self.progress = [Progress() for _ in heads]
        self.kept: dict[int, list[torch.Tensor]] = {}
        self.groups = [
            HeadGroupRun(
                heads, features, labels, configs, generators, draw_blocks(m, features, configs, generators), flipped
            )
            for m in schedule_groups(configs)
        ]
        self.epoch = 0

    @property
    def active(self) -> list[int]:
        """The heads still training (ascending)."""
        return sorted(k for group in self.groups for k in group.members)

    def run_epoch(self) -> int:
        """Train every head still training for one more epoch; return the epoch's number (1-based)."""
        self.epoch += 1
        for group in self.groups:
            if group.members:
                group.run_epoch()
        return self.epoch

    def write_back(self, k: int) -> None:
        """Copy head ``k``'s current parameters into ``heads[k]`` (a head that stopped is there already)."""
        for group in self.groups:
            group.write_back(k)

    def end_epoch(self) -> list[int]:
        """Apply the heads' rules after an epoch; return the heads that stopped."""
        stopping = set()
        for k in self.active:
            rule, config = self.rules[k], self.configs[k]
            if rule is None:
                if self.epoch >= config.epochs:
                    stopping.add(k)
                continue
            if not scored(rule, self.epoch, config.epochs):
                continue
            self.write_back(k)
            inputs, labels = self.validation[k]  # type: ignore[misc]
            self.progress[k] = observe(self.progress[k], accuracy(self.heads[k], inputs, labels), self.epoch)
            if self.progress[k].best_epoch == self.epoch:
                self.kept[k] = [p.detach().clone() for p in self.heads[k].parameters()]
            if should_stop(rule, self.progress[k], config.epochs):
                stopping.add(k)
        self.stop(stopping)
        return sorted(stopping)

    def stop(self, stopping: set[int]) -> None:
        """Stop training the heads of ``stopping``; their parameters are written back."""
        for group in self.groups:
            group.stop(stopping)

    def finish(self) -> list[Stopping | None]:
        """Stop every head, restore the best epoch of heads with an early-stopping rule, return their
        ``Stopping`` (``None`` for heads trained a fixed number of epochs)."""
        self.stop(set(self.active))
        stoppings: list[Stopping | None] = []
        for k, (head, rule) in enumerate(zip(self.heads, self.rules)):
            if rule is None or self.progress[k].epochs_run == 0:
                stoppings.append(None)
                continue
            with torch.no_grad():
                for param, values in zip(head.parameters(), self.kept[k]):
                    param.copy_(values)
            stoppings.append(stopping_of(rule, self.progress[k], self.configs[k].epochs))
        return stoppings


def per_head_validation(validation: Validation | Sequence[Validation] | None, n_heads: int) -> list[Validation | None]:
    """One validation split per head: ``validation`` is ``None``, one ``(features, labels)`` pair shared by
    every head, or one pair per head."""
    if validation is None:
        return [None] * n_heads
    if len(validation) == 2 and isinstance(validation[0], torch.Tensor):
        return [validation] * n_heads  # type: ignore[list-item]
    splits = list(validation)
    if len(splits) != n_heads:
        raise ValueError(
            f"need one validation (features, labels) per head, or one shared; got {len(splits)} for {n_heads}"
        )
    return splits  # type: ignore[return-value]


def train_heads(
    heads: Sequence[ClassifierHead],
    features: Sequence[torch.Tensor],
    labels: torch.Tensor,
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: HeadCallback | None = None,
    flipped_features: Sequence[torch.Tensor | None] | None = None,
    validation: Validation | Sequence[Validation] | None = None,
) -> list[Stopping | None]:
    """``fit_heads``, returning each head's ``Stopping`` (``None`` for a head without early stopping)."""
    training = HeadsTraining(heads, features, labels, configs, generators, flipped_features, validation)
    checkpoints = set(checkpoint_epochs)
    while training.active:
        trained = training.active
        epoch = training.run_epoch()
        if epoch in checkpoints and on_checkpoint is not None:
            for k in trained:
                training.write_back(k)
                on_checkpoint(epoch, k, heads[k])
        training.end_epoch()
    return training.finish()


def fit_heads(
    heads: Sequence[ClassifierHead],
    features: Sequence[torch.Tensor],
    labels: torch.Tensor,
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: HeadCallback | None = None,
    flipped_features: Sequence[torch.Tensor | None] | None = None,
    validation: Validation | Sequence[Validation] | None = None,
) -> list[ClassifierHead]:
    """Train each ``heads[k]`` as ``training.fit(heads[k], features[k], labels, configs[k], generators[k],
    flipped_inputs=flipped_features[k], validation=validation[k])`` would, all together; the trained
    parameters are written back into the heads, which are returned.

    ``features[k]`` is ``(N, C, H, W)`` (the same tensor object for heads that share features). Parameters
    with ``requires_grad`` False stay untouched. After each epoch in ``checkpoint_epochs`` that a head reaches
    ``on_checkpoint(epoch, k, heads[k])`` is called with its parameters written back. A head whose config
    sets ``patience`` stops early on its validation split (``validation``: one ``(features, labels)`` shared
    by every head, or one per head) and keeps its best epoch; ``fit_heads_until_plateau`` returns how each
    stopped.
    """
    train_heads(
        heads, features, labels, configs, generators, checkpoint_epochs, on_checkpoint, flipped_features, validation
    )
    return list(heads)


def fit_heads_until_plateau(
    heads: Sequence[ClassifierHead],
    features: Sequence[torch.Tensor],
    labels: torch.Tensor,
    configs: Sequence[TrainConfig],
    generators: Sequence[torch.Generator],
    validation: Validation | Sequence[Validation],
    checkpoint_epochs: Sequence[int] = (),
    on_checkpoint: HeadCallback | None = None,
    flipped_features: Sequence[torch.Tensor | None] | None = None,
) -> list[Stopping]:
    """``fit_heads`` with early stopping for every head (each config must set ``patience``): each head as
    ``training.fit_until_plateau`` would train it alone. Returns how each head stopped."""
    missing = [k for k, config in enumerate(configs) if config.patience is None]
    if missing:
        raise ValueError(
            f"fit_heads_until_plateau needs TrainConfig.patience for every head; heads {missing} have none"
        )
    stoppings = train_heads(
        heads, features, labels, configs, generators, checkpoint_epochs, on_checkpoint, flipped_features, validation
    )
    return [s for s in stoppings if s is not None]
