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


__all__ = ["SELECTION_LABELS", "best_by_mean", "select_setting"]
