"""Rules that stop training early: early stopping on validation, and successive halving of a search.

Both are pure functions of validation accuracies, so the single-model loop (``training.fit``), the batched
heads (``heads.fit_heads``), grouped models and a replay on a committed score table apply the same rule.

**Early stopping** (Prechelt 1998, "Early stopping -- but when?", in *Neural Networks: Tricks of the
Trade*, LNCS 1524; his criterion "UP"/patience family): after each epoch, or at the end of each *training
strip* of ``every`` epochs (Prechelt measures validation error once per strip of k epochs), the validation
accuracy is measured (``scored``).
The *best epoch* is the first with the highest accuracy so far: a later epoch replaces it only by a strict
improvement, so ties keep the earlier (shorter) training. Training stops once ``patience`` epochs have passed
without an improvement, or at the maximum number of epochs (``TrainConfig.epochs``), and the parameters of
the best epoch are kept. Use it as::

    progress = Progress()
    for epoch in range(1, max_epochs + 1):
        ...train one epoch...
        if not scored(rule, epoch, max_epochs): continue
        progress = observe(progress, validation_accuracy, epoch)
        if progress.best_epoch == epoch: ...keep a copy of the parameters...
        if should_stop(rule, progress, max_epochs): break
    stopping = stopping_of(rule, progress, max_epochs)  # a ``Stopping``; restore the kept parameters

``stop_on(rule, accuracies, max_epochs)`` replays the rule on a whole sequence of accuracies.

**Successive halving** (Jamieson & Talwalkar 2016, "Non-stochastic best arm identification and
hyperparameter optimization", AISTATS; Li et al. 2017, "Hyperband", JMLR 18(185)): settings trained side by
side are scored at a rung (a checkpoint epoch); the best ``ceil(n / eta)`` of the ``n`` still training go on,
the others stop there (``halving_survivors``; ties go to the earlier setting in the given order). Rounding
up keeps at least one setting and never drops more than the classical ``floor(n / eta)`` rule would keep.
``Halving(eta, first_rung)`` states the rule: no setting is dropped before ``first_rung`` epochs (Li et al.'s
minimum resource), so a slow learner is judged only once it has trained that long.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class EarlyStopping:
    """Stop once ``patience`` epochs have passed without a strict improvement of validation accuracy, and
    keep the best (first highest) epoch (Prechelt 1998). Validation is measured after every ``every``-th epoch
    (Prechelt's training strip) and after the last epoch allowed; the best epoch is one of those."""

    patience: int
    every: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.patience, int) or isinstance(self.patience, bool) or self.patience < 1:
            raise ValueError(f"patience must be a positive integer number of epochs, got {self.patience!r}")
        if not isinstance(self.every, int) or isinstance(self.every, bool) or self.every < 1:
            raise ValueError(f"validation every k epochs needs a positive integer k, got {self.every!r}")


def scored(rule: EarlyStopping, epoch: int, max_epochs: int) -> bool:
    """Whether validation is measured after ``epoch``: at the end of each strip of ``rule.every`` epochs and
    after the last epoch allowed (``max_epochs``)."""
    return epoch % rule.every == 0 or epoch >= max_epochs


@dataclass(frozen=True)
class Progress:
    """What the rule remembers of one run so far: epochs run, the best epoch (0: none yet) and its accuracy."""

    epochs_run: int = 0
    best_epoch: int = 0
    best_accuracy: float = -math.inf


def observe(progress: Progress, accuracy: float, epoch: int | None = None) -> Progress:
    """``progress`` after ``epoch`` (default: one more epoch than ``progress`` has run) whose validation
    accuracy is ``accuracy``; the epoch becomes the best only if it beats the best so far strictly."""
    if math.isnan(accuracy):
        raise ValueError("early stopping needs a validation accuracy, got NaN (is the validation split empty?)")
    if epoch is None:
        epoch = progress.epochs_run + 1
    if epoch <= progress.epochs_run:
        raise ValueError(f"epoch {epoch} is not after the {progress.epochs_run} epoch(s) already observed")
    if accuracy > progress.best_accuracy:
        return Progress(epoch, epoch, float(accuracy))
    return replace(progress, epochs_run=epoch)


def patience_exhausted(rule: EarlyStopping, progress: Progress) -> bool:
    """Whether ``rule.patience`` epochs have passed since the best epoch."""
    return progress.epochs_run - progress.best_epoch >= rule.patience


def should_stop(rule: EarlyStopping, progress: Progress, max_epochs: int) -> bool:
    """Whether training stops after ``progress.epochs_run`` epochs: patience exhausted or maximum reached."""
    return patience_exhausted(rule, progress) or progress.epochs_run >= max_epochs


@dataclass(frozen=True)
class Stopping:
    """How one run stopped: the epoch whose parameters were kept, the epochs trained, whether it ran to the
    maximum without the rule stopping it, and the validation accuracy of the kept epoch."""

    epoch_kept: int
    epochs_run: int
    stopped_at_max: bool
    best_validation_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stopping_of(rule: EarlyStopping, progress: Progress, max_epochs: int) -> Stopping:
    """The ``Stopping`` of a run that ended at ``progress``."""
    if progress.epochs_run < 1:
        raise ValueError("a run stops after at least one epoch")
    at_max = progress.epochs_run >= max_epochs and not patience_exhausted(rule, progress)
    return Stopping(progress.best_epoch, progress.epochs_run, at_max, progress.best_accuracy)


def stop_on(rule: EarlyStopping, accuracies: Sequence[float], max_epochs: int) -> Stopping:
    """Replay the rule on the validation accuracies of epochs 1, 2, ... (at least as many as it runs); only
    the epochs it scores (``scored``) are read."""
    progress = Progress()
    for epoch, accuracy in enumerate(accuracies, start=1):
        if not scored(rule, epoch, max_epochs):
            continue
        progress = observe(progress, accuracy, epoch)
        if should_stop(rule, progress, max_epochs):
            return stopping_of(rule, progress, max_epochs)
    raise ValueError(f"{len(accuracies)} accuracies end before the rule stops (maximum {max_epochs} epochs)")


def halving_count(n_settings: int, eta: int) -> int:
    """How many of ``n_settings`` go on past a rung: ``ceil(n / eta)``, at least one."""
    check_eta(eta)
    return max(1, -(-n_settings // eta)) if n_settings else 0


def halving_survivors(scores: Sequence[float], eta: int) -> list[int]:
    """Indices (ascending) of the settings that go on past a rung: the ``halving_count`` highest ``scores``,
    ties to the earlier index (Jamieson & Talwalkar 2016; Li et al. 2017)."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(ranked[: halving_count(len(scores), eta)])


@dataclass(frozen=True)
class Halving:
    """Successive halving's rule: at each checkpoint epoch of at least ``first_rung`` but the last (a rung),
    keep the best ``ceil(n / eta)`` of the ``n`` settings still training (``halving_survivors``); before
    ``first_rung`` epochs none is dropped (Li et al. 2017's minimum resource; 0: from the first checkpoint)."""

    eta: int = 3
    first_rung: int = 0

    def __post_init__(self) -> None:
        check_eta(self.eta)
        if not isinstance(self.first_rung, int) or isinstance(self.first_rung, bool) or self.first_rung < 0:
            raise ValueError(
                f"successive halving's first rung is a number of epochs >= 0 (0: drop settings from the first "
                f"checkpoint on), got {self.first_rung!r}"
            )

    def prunes_after(self, checkpoint: int) -> bool:
        """Whether settings are dropped after scoring at ``checkpoint`` epochs (the last checkpoint aside)."""
        return checkpoint >= self.first_rung

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def describe(self) -> str:
        start = "from the first checkpoint" if self.first_rung == 0 else f"from {self.first_rung} epochs on"
        return f"successive halving, eta {self.eta} (the best 1/{self.eta} go on at each rung), {start}"


def check_eta(eta: int) -> None:
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise ValueError(f"the halving rate eta must be an integer >= 2 (keep 1/eta at each rung), got {eta!r}")


__all__ = [
    "EarlyStopping",
    "Halving",
    "Progress",
    "Stopping",
    "check_eta",
    "halving_count",
    "halving_survivors",
    "observe",
    "scored",
    "should_stop",
    "stop_on",
    "stopping_of",
]
