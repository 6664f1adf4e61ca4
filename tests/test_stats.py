"""Equivalence, multiplicity, power and independent draws (synthlib.stats), against scipy, hand
computations and published sample sizes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from synthlib.records import RunRecord
from synthlib.stats import (
    difference_power,
    draw_seed,
    equivalence_power,
    holm,
    independent_draws,
    judge,
    judge_family,
    mean_per_draw,
    paired_t_pvalue,
    seeds_for_margin,
    seeds_to_resolve,
    shaffer_exclusive,
    shaffer_exclusive_batch,
    t_interval,
    tost_paired,
    tost_relative,
)


def run(seed: int, config: dict) -> RunRecord:
    return RunRecord(
        dataset="mnist",
        method="normal",
        seed=seed,
        test_accuracy=0.5,
        val_accuracy=0.5,
        n_train=380,
        n_val=380,
        n_test=10000,
        config=config,
        config_hash="x",
        device="cpu",
        environment={},
    )


# --- independent draws -------------------------------------------------------------------------


def test_shared_draws_make_one_independent_run():
    shared = [run(seed, {"options": {"shared_draws": True}}) for seed in range(3)]
    fresh = [run(seed, {"options": {"shared_draws": False}}) for seed in range(3)]
    assert [draw_seed(r) for r in shared] == [0, 0, 0] and independent_draws(shared) == 1
    assert [draw_seed(r) for r in fresh] == [0, 1, 2] and independent_draws(fresh) == 3


def test_a_baseline_states_its_draw_seed_and_records_without_options_use_their_seed():
    baseline = [run(seed, {"draw_seed": 0, "options": {"shared_draws": True}}) for seed in range(3)]
    assert independent_draws(baseline) == 1
    assert independent_draws([run(seed, {"draw_seed": seed}) for seed in range(4)]) == 4
    assert independent_draws([run(seed, {"method": {"label": "Normal"}}) for seed in range(2)]) == 2


def test_mean_per_draw_averages_runs_that_share_a_draw():
    values = np.array([1.0, 3.0, 10.0, 5.0])
    np.testing.assert_allclose(mean_per_draw(values, np.array([0, 0, 1, 2])), [2.0, 10.0, 5.0])
    np.testing.assert_allclose(mean_per_draw(values, np.array([7, 7, 7, 7])), [4.75])


def test_t_interval_is_scipys_and_needs_two_values():
    values = np.array([1.0, 2.0, 4.0])
    expected = stats.t.interval(0.95, 2, loc=values.mean(), scale=values.std(ddof=1) / np.sqrt(3))
    assert t_interval(values) == pytest.approx(expected)
    assert all(np.isnan(t_interval(np.array([3.0]))))


# --- TOST --------------------------------------------------------------------------------------

DIFFS = np.array([0.31, -0.42, 0.12, 0.55, -0.08, 0.21, 0.02])


def test_tost_is_the_larger_of_two_one_sided_t_tests():
    n, mean, se = len(DIFFS), DIFFS.mean(), DIFFS.std(ddof=1) / np.sqrt(len(DIFFS))
    for margin in (0.3, 0.5, 1.0):
        above_lower = stats.t.sf((mean + margin) / se, n - 1)  # H0: mean <= -margin
        below_upper = stats.t.cdf((mean - margin) / se, n - 1)  # H0: mean >= +margin
        assert tost_paired(DIFFS, margin) == pytest.approx(max(above_lower, below_upper), rel=1e-10)


def test_tost_rejects_exactly_when_the_90_percent_interval_lies_inside_the_margin():
    low, high = stats.t.interval(0.90, len(DIFFS) - 1, loc=DIFFS.mean(), scale=stats.sem(DIFFS))
    inside = max(abs(low), abs(high))
    assert tost_paired(DIFFS, inside * 1.001) < 0.05 < tost_paired(DIFFS, inside * 0.999)


def test_tost_and_t_test_of_degenerate_differences():
    assert np.isnan(tost_paired(np.array([0.1]), 1.0)) and np.isnan(paired_t_pvalue(np.array([0.1])))
    assert tost_paired(np.array([0.5, 0.5, 0.5]), 1.0) == 0.0
    assert tost_paired(np.array([1.5, 1.5, 1.5]), 1.0) == 1.0
    assert paired_t_pvalue(np.array([2.0, 2.0])) == 0.0 and paired_t_pvalue(np.zeros(3)) == 1.0
    assert paired_t_pvalue(DIFFS) == pytest.approx(stats.ttest_1samp(DIFFS, 0.0).pvalue)


# --- Holm --------------------------------------------------------------------------------------


def test_holm_against_a_hand_computation():
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> 0.06 (monotone)
    p = [0.01, 0.04, float("nan"), 0.03, 0.005]
    adjusted = holm(p)
    np.testing.assert_allclose(adjusted[[0, 1, 3, 4]], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[2])


def test_holm_caps_at_one_and_keeps_an_empty_family_empty():
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])  # 0.5 x 2 = 1.0; 0.6 -> max(1.0, 0.6)
    assert np.isnan(holm([float("nan")])).all() and holm([]).shape == (0,)


# --- seeds to resolve --------------------------------------------------------------------------


@pytest.mark.parametrize(("effect", "expected"), [(0.5, 34), (0.8, 15)])
def test_seeds_for_a_difference_match_the_published_paired_t_test_sample_sizes(effect, expected):
    """G*Power 3.1 ("t tests - Means: difference from constant", two-tailed, alpha 0.05, power 0.8)
    gives 34 pairs for an effect dz = 0.5 (actual power 0.808) and 15 for dz = 0.8 (0.821); the
    margin is below the effect, so only the difference can resolve the comparison."""
    assert seeds_to_resolve(effect, 1.0, margin=0.1) == expected
    assert seeds_to_resolve(2 * effect, 2.0, margin=0.1) == expected  # only mean / sd matters


def test_seeds_for_equivalence_match_a_simulation():
    """Mean 0.2, sd 1, margin 1: TOST needs 12 seeds (the difference alone would need about 200).
    A simulation of 20,000 studies per size reaches 80% power at 12 seeds and not at 11; the
    exact power (0.774 at 11, 0.816 at 12) is about 9 and 6 simulation standard errors from 0.8."""
    needed = seeds_to_resolve(0.2, 1.0, margin=1.0)
    assert needed == 12
    rng = np.random.default_rng(2017)
    simulated = {}
    for n in (needed - 1, needed):
        samples = rng.normal(0.2, 1.0, size=(20_000, n))
        above_lower = stats.ttest_1samp(samples, -1.0, axis=1, alternative="greater").pvalue
        below_upper = stats.ttest_1samp(samples, 1.0, axis=1, alternative="less").pvalue
        simulated[n] = float(np.mean(np.maximum(above_lower, below_upper) < 0.05))
        assert equivalence_power(n, 0.2, 1.0, 1.0) == pytest.approx(simulated[n], abs=0.015)
    assert simulated[needed - 1] < 0.8 <= simulated[needed]


def test_seeds_take_whichever_test_resolves_first():
    # 0.9 +- 1 inside a 1-point margin: equivalence is nearly hopeless, the difference is not
    assert seeds_to_resolve(0.9, 1.0, margin=1.0) == seeds_to_resolve(0.9, 1.0, margin=0.1)
    # stricter level, more seeds
    assert seeds_to_resolve(0.5, 1.0, margin=0.1, alpha=0.005) > 34


def test_unresolvable_comparisons_give_none():
    assert seeds_to_resolve(0.0, 1.0, margin=0.0) is None  # no difference, no margin to be inside
    assert seeds_to_resolve(0.01, 10.0, margin=0.02, max_seeds=50) is None
    assert seeds_to_resolve(0.3, float("nan"), margin=1.0) is None
    assert seeds_to_resolve(0.3, 0.0, margin=1.0) == 2  # no spread: two seeds settle it


# --- judging -----------------------------------------------------------------------------------


def test_judge_follows_its_decision_rule_in_order():
    assert judge(5.0, 1.0, 1, 0.0, 0.0, margin=1.0) == ("not judged", None)
    assert judge(5.0, 1.0, 3, 0.01, 0.9, margin=1.0) == ("supported", None)
    assert judge(-5.0, 1.0, 3, 0.01, 0.9, margin=1.0) == ("contradicted", None)
    assert judge(0.1, 1.0, 3, 0.6, 0.01, margin=1.0) == ("equivalent", None)
    outcome, needed = judge(0.5, 1.0, 3, 0.2, 0.3, margin=0.1)
    assert outcome == "inconclusive" and needed == 34


def test_shaffer_against_a_hand_computation():
    """Two comparisons, four hypotheses, at most two true together. Sorted: d0 = 0.001 (t = 2: both
    comparisons still have a hypothesis), d1 = 0.01 (t = 2), e1 = 0.02 (t = 2: comparison 0 keeps e0),
    e0 = 0.3 (t = 1)."""
    adjusted_difference, adjusted_equivalence = shaffer_exclusive([0.001, 0.01], [0.3, 0.02])
    np.testing.assert_allclose(adjusted_difference, [0.002, 0.02])
    np.testing.assert_allclose(adjusted_equivalence, [0.3, 0.04])
    # Holm over all four would multiply by 4, 3, 2, 1: the smallest by 4, not 2
    assert holm([0.001, 0.01, 0.3, 0.02])[0] == pytest.approx(0.004)


def test_shaffer_ignores_untested_comparisons_and_the_batch_form_agrees():
    adjusted_difference, adjusted_equivalence = shaffer_exclusive([0.01, np.nan], [0.5, np.nan])
    assert adjusted_difference[0] == pytest.approx(0.01) and np.isnan(adjusted_difference[1])
    rng = np.random.default_rng(0)
    p_diff, p_eq = rng.uniform(size=(50, 3)), rng.uniform(size=(50, 3))
    batch = shaffer_exclusive_batch(p_diff, p_eq)
    for row in range(50):
        one = shaffer_exclusive(p_diff[row], p_eq[row])
        np.testing.assert_allclose(batch[0][row], one[0])
        np.testing.assert_allclose(batch[1][row], one[1])


def test_relative_tost_is_two_one_sided_t_tests_of_paired_linear_combinations():
    errors = np.array([6.1, 5.8, 6.4, 6.0, 5.9, 6.2, 6.0])
    for fraction in (0.05, 0.1, 0.2):
        lower = stats.ttest_1samp(DIFFS + fraction * errors, 0.0, alternative="greater").pvalue
        upper = stats.ttest_1samp(fraction * errors - DIFFS, 0.0, alternative="greater").pvalue
        assert tost_relative(DIFFS, errors, fraction) == pytest.approx(max(lower, upper), rel=1e-10)
    constant = np.full(7, 6.0)  # a reference error without spread: the fixed margin 0.1 x 6
    assert tost_relative(DIFFS, constant, 0.1) == pytest.approx(tost_paired(DIFFS, 0.6), rel=1e-10)
    with pytest.raises(ValueError, match="one of each per draw"):
        tost_relative(DIFFS, errors[:3], 0.1)


def test_seeds_for_margin_are_the_smallest_that_give_both_tests_their_power():
    needed = seeds_for_margin(np.array([1.0, 2.0, 0.5]), np.array([1.2, 2.4, 0.6]), alpha=0.025, max_seeds=30)
    assert needed[0] == needed[1] == needed[2]  # only margin / sd matters
    n = int(needed[0])
    assert difference_power(n, 1.2, 1.0, 0.025) >= 0.8 and equivalence_power(n, 0.0, 1.0, 1.2, 0.025) >= 0.8
    assert min(difference_power(n - 1, 1.2, 1.0, 0.025), equivalence_power(n - 1, 0.0, 1.0, 1.2, 0.025)) < 0.8
    far, none, flat = seeds_for_margin(np.array([3.0, np.nan, 0.0]), np.array([0.6, 1.0, 1.0]), 0.025, max_seeds=30)
    assert np.isinf(far) and np.isnan(none) and flat == 2


def test_judge_family_adjusts_by_shaffer_over_both_tests_of_every_judged_comparison():
    wins = np.array([3.1, 2.6, 3.4, 2.9])
    ties = np.array([0.1, -0.2, 0.05, 0.12])
    judged = judge_family([wins, ties, np.array([9.0, 9.5, 9.2])], [4, 4, 1], margin=1.0)
    raw_difference = [paired_t_pvalue(wins), paired_t_pvalue(ties)]
    raw_equivalence = [tost_paired(wins, 1.0), tost_paired(ties, 1.0)]
    expected = shaffer_exclusive(raw_difference, raw_equivalence)  # the one-draw comparison is not tested
    assert [j.p_difference_holm for j in judged[:2]] == pytest.approx(list(expected[0]))
    assert [j.p_equivalence_holm for j in judged[:2]] == pytest.approx(list(expected[1]))
    assert [j.outcome for j in judged] == ["supported", "equivalent", "not judged"]
    assert judged[2].mean_diff == pytest.approx(9.233333) and np.isnan(judged[2].p_difference)
    assert judged[0].sd_diff == pytest.approx(wins.std(ddof=1)) and judged[0].margin == 1.0


def test_judge_family_with_a_margin_relative_to_the_reference_error():
    ties = np.array([0.1, -0.2, 0.05, 0.12])
    errors = np.array([5.0, 5.2, 4.8, 5.0])
    (judged,) = judge_family([ties], [4], margin=0.1, reference_errors=[errors])
    assert judged.margin == pytest.approx(0.1 * errors.mean())
    assert judged.p_equivalence == pytest.approx(tost_relative(ties, errors, 0.1))
    with pytest.raises(ValueError, match="margin must be above 0"):
        judge_family([ties], [4], margin=0.0)


def test_judge_family_estimates_seeds_at_the_strictest_level():
    noisy = np.array([1.5, -0.5, 2.0, 0.2])
    (judged,) = judge_family([noisy], [4], margin=0.5)
    assert judged.outcome == "inconclusive"
    assert judged.seeds_to_resolve == seeds_to_resolve(noisy.mean(), noisy.std(ddof=1), 0.5, alpha=0.05)


def test_judge_family_needs_one_difference_per_draw():
    with pytest.raises(ValueError, match="needs one difference per draw"):
        judge_family([np.array([1.0, 2.0, 3.0])], [2], margin=1.0)
