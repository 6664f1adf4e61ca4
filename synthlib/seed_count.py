"""How many seeds a protocol runs: as many as its comparisons need, by a power estimate on a pilot.

A protocol with a ``SeedRule`` first runs its pilot seeds (``minimum``, e.g. seeds 0-9) on a
dataset. Every comparison of the verdict (``synthlib.verdict.claim_table``) is then judged on the
pilot alone (``synthlib.runner.pilot_estimate``, beside the code that runs the pilot); for each
that is still inconclusive, ``synthlib.stats.seeds_to_resolve`` gives the number of independent
seeds that would resolve it with power 0.8 at the pilot's observed mean difference and paired
standard deviation (at the family's strictest Holm level). The protocol runs
the largest such number, at least ``minimum`` and at most ``maximum``; a comparison that no number
up to ``maximum`` would resolve asks for ``maximum``. The pilot's seeds stay in the sample (an
*internal pilot*, Wittes & Brittain 1990, Stat Med 9:65): the choice is a function of the pilot's
records, recomputed from them, so it can be checked. Choosing the sample size from the
pilot's observed difference, not its variance alone, can raise the error rates a little above
their nominal level; the verdict notebook shows the estimate beside the judgements.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class SeedRule:
    """Seeds 0 .. ``minimum`` - 1 are the pilot; the protocol runs up to ``maximum`` as the pilot's power
    estimate asks."""

    minimum: int = 10
    maximum: int = 30

    def __post_init__(self) -> None:
        if not 2 <= self.minimum <= self.maximum:
            raise ValueError(f"a seed rule needs 2 <= minimum <= maximum, got {self.minimum} and {self.maximum}")

    @property
    def pilot(self) -> tuple[int, ...]:
        return tuple(range(self.minimum))

    def choose(self, estimate: pd.DataFrame) -> int:
        """The number of seeds to run: the largest need of an inconclusive comparison, within
        [``minimum``, ``maximum``]; ``maximum`` when one cannot be resolved within it."""
        inconclusive = estimate[estimate["judgement"] == "inconclusive"]["seeds_to_resolve"]
        needs = [self.maximum if pd.isna(n) else int(n) for n in inconclusive]
        return min(self.maximum, max([self.minimum, *needs]))


__all__ = ["SeedRule"]
