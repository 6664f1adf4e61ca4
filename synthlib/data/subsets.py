"""Seeded, class-balanced few-shot subsets of a training pool, with a disjoint validation split.

The paper trains on 38 images per class drawn at random from the training set (380 for 10
classes). Hyperparameters are chosen on a validation split carved from the *rest of the training
pool*, never from the test set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAPER_PER_CLASS = 38
"""Training images per class in Karimi et al. 2017."""


@dataclass(frozen=True)
class FewShotSplit:
    """Indices into the training pool: a class-balanced training subset and a disjoint validation set."""

    train: np.ndarray
    val: np.ndarray


def few_shot_split(
    labels: np.ndarray, per_class: int = PAPER_PER_CLASS, val_per_class: int = PAPER_PER_CLASS, seed: int = 0
) -> FewShotSplit:
    """Draw ``per_class`` training and ``val_per_class`` validation indices per class, disjoint.

    Deterministic in ``seed`` (numpy ``default_rng``). Indices are returned sorted. Raises
    ``ValueError`` naming the offending value when a count is not positive or a class has fewer
    than ``per_class + val_per_class`` images.
    """
    if not isinstance(per_class, (int, np.integer)) or isinstance(per_class, bool) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
    if not isinstance(val_per_class, (int, np.integer)) or val_per_class < 0:
        raise ValueError(f"val_per_class must be a non-negative integer, got {val_per_class!r}")
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    needed = per_class + val_per_class
    short = [(int(c), int(n)) for c, n in zip(classes, counts) if n < needed]
    if short:
        cls, have = short[0]
        raise ValueError(
            f"per_class={per_class} + val_per_class={val_per_class} = {needed} images per class, but class "
            f"{cls} has only {have} in the training pool; lower per_class or val_per_class"
        )
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in classes:
        chosen = rng.permutation(np.flatnonzero(labels == cls))[:needed]
        train.append(chosen[:per_class])
        val.append(chosen[per_class:])
    return FewShotSplit(train=np.sort(np.concatenate(train)), val=np.sort(np.concatenate(val)))
