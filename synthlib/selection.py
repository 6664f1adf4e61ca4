"""Choosing a setting: the one rule every choice in the study follows.

A setting (training hyperparameters, a grid entry of the authors' code, a baseline's C) is chosen
by the highest mean score over the runs that scored it (tuning seeds, samplers, evaluation seeds);
ties go to the setting listed first. What the score is (validation accuracy, or test accuracy
for the authors' test-set selection) is the caller's choice and is always named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from synthlib.records import RunRecord

SELECTION_LABELS = {"test": "test set (as the authors)", "validation": "validation split"}
"""What a grid's setting can be chosen on, as tables name it."""


def best_by_mean(scores: pd.DataFrame, by: Sequence[str], score: str) -> dict[str, Any]:
    """The values of the columns ``by`` whose rows have the highest mean ``score``; ties go to the
    combination that appears first in ``scores``. Values come back as plain Python numbers and strings."""
    if scores.empty:
        raise ValueError("no scores to select from")
    means = scores.groupby(list(by), sort=False, dropna=False)[score].mean()
    best = means.index[int(means.to_numpy().argmax())]
    values = best if isinstance(best, tuple) else (best,)
    return {column: getattr(value, "item", lambda v=value: v)() for column, value in zip(by, values)}


def select_setting(records: Sequence[RunRecord], by: str) -> tuple[list[RunRecord], dict[tuple[str, str], str]]:
    """For records of a grid of settings: per (dataset, method) keep the setting whose mean accuracy over
    seeds is highest on ``by`` = ``"test"`` (what the authors' code did) or ``"validation"``; ties go
    to the first setting in name order. Records without a setting are kept as they are. Returns the
    kept records and the chosen setting per (dataset, method)."""
    if by not in SELECTION_LABELS:
        raise ValueError(f"unknown selection {by!r}; valid values are: {', '.join(SELECTION_LABELS)}")
    key = "test_accuracy" if by == "test" else "val_accuracy"
    frame = pd.DataFrame(
        [{"dataset": r.dataset, "method": r.method, "setting": r.setting, "score": getattr(r, key)} for r in records],
        columns=["dataset", "method", "setting", "score"],
    )
    frame = frame[frame["setting"] != ""].sort_values(["dataset", "method", "setting"], kind="stable")
    chosen = {
        (str(dataset), str(method)): str(best_by_mean(group, ["setting"], "score")["setting"])
        for (dataset, method), group in frame.groupby(["dataset", "method"], sort=True)
    }
    kept = [r for r in records if not r.setting or chosen.get((r.dataset, r.method)) == r.setting]
    return kept, chosen


EDGE_AXES = {"learning_rate": "learning rate", "weight_decay": "weight decay", "C": "C"}
"""The continuous settings of a grid whose chosen value is checked against the ends of the values run."""


def setting_values(record: RunRecord) -> dict[str, float]:
    """The values of ``EDGE_AXES`` in a record's configuration (training settings, or a baseline's C)."""
    train = record.config.get("train") or {}
    values = {axis: train[axis] for axis in ("learning_rate", "weight_decay") if axis in train}
    if "C" in record.config:
        values["C"] = record.config["C"]
    return {axis: float(value) for axis, value in values.items()}


def grid_edges(records: Sequence[RunRecord], chosen: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """Per (dataset, method) whose setting ``chosen`` (``select_setting``) lies at the end of a value range
    its grid ran (of ``EDGE_AXES``; a weight decay of 0 is a hard limit, not an edge): a note naming it."""
    notes = {}
    for (dataset, method), tag in chosen.items():
        runs = [r for r in records if r.dataset == dataset and r.method == method and r.setting]
        picked = next((setting_values(r) for r in runs if r.setting == tag), {})
        found = []
        for axis, value in picked.items():
            values = {v for r in runs if (v := setting_values(r).get(axis)) is not None}
            if len(values) < 2 or (axis == "weight_decay" and value == 0):
                continue
            if value in (min(values), max(values)):
                end = "smallest" if value == min(values) else "largest"
                found.append(f"{EDGE_AXES[axis]} {value:g} is the {end} run")
        if found:
            notes[(dataset, method)] = "; ".join(found)
    return notes


__all__ = ["EDGE_AXES", "SELECTION_LABELS", "best_by_mean", "grid_edges", "select_setting", "setting_values"]
