"""How a run's training length was decided, read from its record's configuration.

A run's length is decided either *by the run itself* (early stopping on its own validation split:
``train.patience`` in its configuration; or a convex solver run to convergence: the baselines) or
*imposed* (a fixed number of epochs, i.e. of optimiser steps). Two columns are compared only when both
decided their own length, or when both were imposed the same number of optimiser steps (``length_key``):
a difference between a column trained for 1,200 steps and one trained for 300 measures the budget as much
as the columns. All functions are pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from synthlib.records import RunRecord

DECIDED_BY_RUN = "decided by each run"
"""The length key of runs that decided their own training length (early stopping, a solver's convergence)."""


def length_rule(config: Mapping[str, Any], n_train: int | None = None) -> str:
    """How a run's training length was decided, read from its configuration (a record's ``config``):

    - ``train.patience`` present: "early stopping on validation (patience P epochs, at most E epochs)";
    - a ``train`` setting without it: "a fixed S optimiser steps" (``epochs`` times the minibatches of an
      epoch of ``n_train`` images, default ``per_class`` times ``architecture.n_classes`` or 10);
    - no ``train`` but a solver's ``max_iter`` (the baselines): "a solver run to convergence (at most N
      iterations)";
    - otherwise "not recorded"."""
    train = config.get("train")
    if train is None:
        max_iter = config.get("features", {}).get("max_iter") if isinstance(config.get("features"), Mapping) else None
        return "not recorded" if max_iter is None else f"a solver run to convergence (at most {max_iter} iterations)"
    if train.get("patience") is not None:
        return f"early stopping on validation (patience {train['patience']} epochs, at most {train['epochs']} epochs)"
    if n_train is None:
        n_classes = config.get("architecture", {}).get("n_classes", 10)
        n_train = int(config["per_class"]) * int(n_classes)
    steps = int(train["epochs"]) * math.ceil(n_train / int(train["batch_size"]))
    return f"a fixed {steps} optimiser steps"


def length_key(rule: str) -> str:
    """What two runs must share to be compared: ``DECIDED_BY_RUN`` for a length the run decided itself
    (early stopping, a solver's convergence), else the rule itself (the same number of imposed steps)."""
    return DECIDED_BY_RUN if rule.startswith(("early stopping", "a solver run")) else rule


def record_length_rule(record: RunRecord) -> str:
    """``length_rule`` of a record's configuration and training-set size."""
    return length_rule(record.config, int(record.n_train) if record.n_train else None)


EARLY = re.compile(r"early stopping on validation \(patience (\d+) epochs, at most (\d+) epochs\)")


def _span(values: Iterable[int]) -> str:
    ordered = sorted(set(values))
    return str(ordered[0]) if ordered[0] == ordered[-1] else f"{ordered[0]}–{ordered[-1]}"


def rules_text(rules: Iterable[str]) -> str:
    """Length rules in few words: fixed step counts merged into a range ("a fixed 1200–1256 optimiser
    steps"), early stopping's patience and maximum likewise ("early stopping on validation (patience 20–400
    epochs, at most 100–2000 epochs, by size)"), other rules listed once each."""
    distinct = list(dict.fromkeys(rules))
    fixed = [int(r.split()[2]) for r in distinct if r.startswith("a fixed ")]
    early = [match for r in distinct if (match := EARLY.fullmatch(r))]
    others = [r for r in distinct if not r.startswith("a fixed ") and not EARLY.fullmatch(r)]
    merged = []
    if fixed:
        merged.append(f"a fixed {_span(fixed)} optimiser steps")
    if early:
        patience, most = _span(int(m.group(1)) for m in early), _span(int(m.group(2)) for m in early)
        by_size = ", by size" if len(early) > 1 else ""
        merged.append(f"early stopping on validation (patience {patience} epochs, at most {most} epochs{by_size})")
    return " or ".join(merged + others)


__all__ = ["DECIDED_BY_RUN", "length_key", "length_rule", "record_length_rule", "rules_text"]
