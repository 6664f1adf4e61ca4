"""How many seeds a protocol runs: a pilot, then as many seeds as the pilot's *variance* asks for.

A protocol with a ``SeedRule`` first runs its pilot seeds (``minimum``, e.g. seeds 0-9) on a dataset.
Nothing is judged on the pilot and nothing stops early. For every comparison of the verdict
(``synthlib.verdict.seed_plan``, called by ``synthlib.runner.pilot_estimate``) the pilot gives only
its paired standard deviation and the reference column's error rate, which sets the margin in points
(``synthlib.verdict.EQUIVALENCE_MARGIN``: 10% of it). ``synthlib.stats.seeds_for_margin`` then gives
the independent seeds at which, at the strictest level of the comparison's family (alpha / k; the
same family as the verdict's test, ``synthlib.verdict.FAMILY``), the paired t-test would find a true
difference of one margin with power 0.8 and TOST would show equivalence at a true difference of 0
with power 0.8. The protocol runs the largest such number, at least ``minimum`` and at most
``maximum``; a comparison that no number up to ``maximum`` would serve asks for ``maximum``. The
verdict then tests every comparison once, on all the seeds, at the nominal level.

Why this design. The rule it replaces (``old_two_look_rule`` in ``tests/test_simulation.py``) judged
the pilot, stopped when every comparison was decided and otherwise ran the seeds the pilot's
*observed difference* asked for, then tested everything again at the nominal level: two looks tested as
one, which raises the error rates above their nominal level (optional stopping). Two remedies are
standard: a group-sequential design with alpha spending (e.g. Lan & DeMets 1983, O'Brien-Fleming
boundaries), or an internal pilot that re-estimates only the variance (Wittes & Brittain 1990, Stat
Med 9:65), whose type I error stays close to nominal because the sample size does not depend on the
observed effect (Kieser & Friede 2003, Stat Med 22:3571). This rule is the second: it keeps the
study's single, nominal-level test (one verdict, one set of p-values, no spending function to
report), and a pilot of 10 seeds already measures the paired SD well enough to size the study. Its
price is that a large observed effect cannot end the study early. ``tests/test_simulation.py``
simulates whole studies under known truths and checks that the family-wise error and the rate of false
equivalence stay at most 0.05 within a binomial bound, and that the old rule fails the same check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SeedRule:
    """Seeds 0 .. ``minimum`` - 1 are the pilot; the protocol runs up to ``maximum`` as the pilot's
    variance-only plan asks."""

    minimum: int = 10
    maximum: int = 30

    def __post_init__(self) -> None:
        if not 2 <= self.minimum <= self.maximum:
            raise ValueError(f"a seed rule needs 2 <= minimum <= maximum, got {self.minimum} and {self.maximum}")

    @property
    def pilot(self) -> tuple[int, ...]:
        return tuple(range(self.minimum))

    def choose(self, plan: pd.DataFrame) -> int:
        """The number of seeds to run: the largest ``seeds_needed`` of the plan (``verdict.seed_plan``),
        within [``minimum``, ``maximum``]; ``maximum`` where a comparison needs more than it (inf).
        Comparisons without a need (NaN: fewer than two independent draws) ask for nothing."""
        if "seeds_needed" not in plan.columns:
            raise ValueError("choose takes a seed plan with a seeds_needed column (synthlib.verdict.seed_plan)")
        return int(self.seeds_for(plan["seeds_needed"].to_numpy(dtype=float)))

    def seeds_for(self, needs: np.ndarray) -> np.ndarray:
        """``choose`` for many plans at once: ``needs`` (..., comparisons) -> seeds (...)."""
        needs = np.asarray(needs, dtype=float)
        largest = np.max(np.where(np.isnan(needs), -np.inf, np.ceil(needs)), axis=-1, initial=-np.inf)
        return np.clip(largest, self.minimum, self.maximum).astype(int)


__all__ = ["SeedRule"]
