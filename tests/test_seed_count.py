"""The seed rule: how many seeds a protocol runs after its pilot, from the pilot's paired SDs and the
margin only, on hand-made records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthlib.runner import pilot_estimate
from synthlib.seed_count import SeedRule
from synthlib.stats import seeds_for_margin
from synthlib.verdict import EQUIVALENCE_MARGIN
from tests.test_verdict import record

RULE = SeedRule(minimum=10, maximum=30)


def plan_rows(*needs):
    return pd.DataFrame({"seeds_needed": [float(n) for n in needs]})


def test_choose_takes_the_largest_need_within_the_bounds():
    assert RULE.choose(plan_rows(3, float("nan"))) == 10  # never below the pilot; no need without two draws
    assert RULE.choose(plan_rows(14, 21, 2)) == 21
    assert RULE.choose(plan_rows(14, float("inf"))) == 30  # beyond reach: the cap
    np.testing.assert_array_equal(RULE.seeds_for(np.array([[3.0, 14.0], [np.inf, 2.0]])), [14, 30])
    with pytest.raises(ValueError, match="seeds_needed"):
        RULE.choose(pd.DataFrame({"judgement": ["inconclusive"]}))


def test_the_plan_of_a_known_case_reads_the_sd_and_never_the_difference():
    """Ten pilot seeds where lognormal - normal has paired differences of SD 2 points at normal's error rate
    of 20%: the seeds asked for are those ``seeds_for_margin`` gives at a margin of 10% of 20 points and
    the family's strictest level, which the test computes itself; shifting the differences changes nothing."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(10)
    noise = (noise - noise.mean()) / noise.std(ddof=1)  # exactly mean 0, SD 1

    def records_with(shift: float):
        diffs = shift + 2.0 * noise
        records = []
        for seed in range(10):
            records += [
                record("normal", seed, 0.80),
                record("lognormal", seed, 0.80 + diffs[seed] / 100),
                record("center_surround", seed, 0.90 + 0.003 * (seed % 3)),
                record("fully_trained", seed, 0.60 + 0.003 * (seed % 4)),
                record("scattering", seed, 0.50 + 0.003 * (seed % 5)),
            ]
        return records + [record("normal", 10, 0.5)]  # beyond the pilot: not part of the plan

    plan = pilot_estimate("sound", RULE, records_with(1.5))
    row = plan[(plan["a"] == "lognormal") & (plan["b"] == "normal")].iloc[0]
    assert row["n_draws"] == 10 and row["sd_diff"] == pytest.approx(2.0) and "diff" not in plan.columns
    assert row["reference_error"] == pytest.approx(20.0) and row["margin"] == pytest.approx(2.0)
    hypotheses_level = 0.05 / 2  # claim 1's family on one dataset: two comparisons
    assert row["alpha_planned"] == pytest.approx(hypotheses_level)
    expected = seeds_for_margin(2.0, EQUIVALENCE_MARGIN * 20.0, hypotheses_level, 0.8, 30)
    assert 10 < expected <= 30 and row["seeds_needed"] == expected
    assert RULE.choose(plan) == expected
    assert RULE.choose(pilot_estimate("sound", RULE, records_with(-4.0))) == expected


def test_a_rule_needs_sensible_bounds():
    with pytest.raises(ValueError, match="2 <= minimum <= maximum"):
        SeedRule(minimum=12, maximum=10)
