"""The seed rule: how many seeds a protocol runs after its pilot, from the pilot's power estimate, on
hand-made records and end to end on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthlib.runner import pilot_estimate
from synthlib.seed_count import SeedRule
from synthlib.stats import seeds_to_resolve
from synthlib.verdict import EQUIVALENCE_MARGIN
from tests.test_verdict import record

RULE = SeedRule(minimum=10, maximum=30)


def estimate_rows(*rows):
    return pd.DataFrame(rows, columns=["judgement", "seeds_to_resolve"]).astype({"seeds_to_resolve": "Int64"})


def test_choose_takes_the_largest_need_within_the_bounds():
    assert RULE.choose(estimate_rows(("supported", pd.NA), ("equivalent", pd.NA))) == 10
    assert RULE.choose(estimate_rows(("inconclusive", 14), ("inconclusive", 21), ("supported", pd.NA))) == 21
    assert RULE.choose(estimate_rows(("inconclusive", 4))) == 10  # never below the pilot
    assert RULE.choose(estimate_rows(("inconclusive", 14), ("inconclusive", pd.NA))) == 30  # beyond reach: the cap


def test_the_estimate_of_a_known_case():
    """Ten pilot seeds where lognormal - normal has paired differences of mean 1.5 and SD 2 points and every
    other comparison is clear: the seeds asked for are those ``seeds_to_resolve`` gives at the family's
    strictest Holm level, which the test computes itself."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(10)
    noise = (noise - noise.mean()) / noise.std(ddof=1)  # exactly mean 0, SD 1
    diffs = 1.5 + 2.0 * noise
    records = []
    for seed in range(10):
        base = 0.80 + 0.002 * seed
        records += [
            record("normal", seed, base),
            record("lognormal", seed, base + diffs[seed] / 100),
            record("center_surround", seed, base + 0.10 + 0.003 * (seed % 3)),
            record("fully_trained", seed, base - 0.20 + 0.003 * (seed % 4)),
            record("scattering", seed, base - 0.30 + 0.003 * (seed % 5)),
        ]
    records += [record("normal", 10, 0.5)]  # beyond the pilot: not part of the estimate
    estimate = pilot_estimate("sound", RULE, records)
    row = estimate[(estimate["a"] == "lognormal") & (estimate["b"] == "normal")].iloc[0]
    assert row["judgement"] == "inconclusive" and row["n_draws"] == 10
    assert row["diff"] == pytest.approx(1.5) and row["sd_diff"] == pytest.approx(2.0)
    hypotheses = 2 * 2  # claim 1's family on one dataset: two comparisons, a t-test and a TOST each
    expected = seeds_to_resolve(1.5, 2.0, EQUIVALENCE_MARGIN, 0.05 / hypotheses, 0.8, 30)
    assert expected is not None and 10 < expected <= 30
    assert int(row["seeds_to_resolve"]) == expected
    assert RULE.choose(pilot_estimate("sound", RULE, records)) == expected


def test_a_rule_needs_sensible_bounds():
    with pytest.raises(ValueError, match="2 <= minimum <= maximum"):
        SeedRule(minimum=12, maximum=10)
