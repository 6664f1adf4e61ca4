"""Statistics that claim only what the runs can support: intervals, equivalence, multiplicity, power.

Every comparison in the study is *paired*: two columns run on the same seeds, and a seed fixes the
training subset (and, unless a protocol shares draws, the kernels and initial weights). Three rules
follow from that design:

- Seeds that share a draw count as one. A protocol with ``shared_draws`` gives every seed the
  subset, kernels and initial weights of seed 0, so its seeds differ only in minibatch order and
  flips; its effective number of independent runs (``independent_draws``) is 1, and no interval or
  test is computed from it.
- "Match" is equivalence within a stated margin, tested by two one-sided tests (TOST; Schuirmann
  1987, Lakens 2017) rather than read off a non-significant difference.
- Each claim is a family of comparisons, each with two hypotheses ("no difference", "not
  equivalent"), which cannot both be true. The family's p-values are adjusted by Shaffer's (1986)
  sequentially rejective procedure, which uses that logical constraint (``shaffer_exclusive``),
  before any comparison is judged: the chance of any false conclusion in the family, a difference
  or an equivalence, is at most alpha.
- The equivalence margin may be a fixed number of points (``tost_paired``) or a fraction of the
  reference column's error rate (``tost_relative``: the same relative change on every dataset).
- A study's number of seeds is planned from the pilot's paired standard deviation and the margin
  only (``seeds_for_margin``), never from an observed difference (``synthlib.seed_count``).

All functions are pure and work on numpy arrays of paired differences in accuracy points
(scipy.stats throughout).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, special, stats

if TYPE_CHECKING:
    from synthlib.records import RunRecord

OUTCOMES = ("supported", "contradicted", "equivalent", "inconclusive", "not judged")
DEFAULT_MAX_SEEDS = 1000  # the search bound of ``seeds_to_resolve``: far beyond any study budget


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean (scipy.stats); NaNs for fewer than two values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    if np.all(values == values[0]):  # no spread: the interval is the point itself
        return float(values[0]), float(values[0])
    low, high = stats.t.interval(confidence, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return float(low), float(high)


def draw_seed(record: RunRecord) -> int:
    """The seed of a run's random draws (training subset, kernels, initial weights).

    A baseline's configuration states it (``config["draw_seed"]``); a CNN run whose protocol shares
    draws (``config["options"]["shared_draws"]``) drew everything from seed 0; otherwise, and for
    records that state neither, the run's own seed.
    """
    config = record.config
    if config.get("draw_seed") is not None:
        return int(config["draw_seed"])
    if (config.get("options") or {}).get("shared_draws"):
        return 0
    return int(record.seed)


def independent_draws(records: Iterable[RunRecord]) -> int:
    """The effective number of independent runs of ``records``: the number of distinct draw seeds."""
    return len({draw_seed(r) for r in records})


def mean_per_draw(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """``values`` averaged within each draw (one value per distinct entry of ``draws``, in sorted
    draw order): runs that share a draw count as one observation."""
    values, draws = np.asarray(values, dtype=float), np.asarray(draws)
    keys, inverse = np.unique(draws, return_inverse=True)
    return np.bincount(inverse, weights=values, minlength=len(keys)) / np.bincount(inverse, minlength=len(keys))


def _constant(diff: np.ndarray) -> bool:
    return bool(np.all(diff == diff[0]))


def paired_t_pvalue(diff: np.ndarray) -> float:
    """Two-sided p-value of the paired t-test that the mean difference is 0
    (``scipy.stats.ttest_1samp``). NaN for fewer than two differences; for identical differences
    (no spread, t undefined) 0 if they are non-zero and 1 if they are zero."""
    diff = np.asarray(diff, dtype=float)
    if len(diff) < 2:
        return float("nan")
    if _constant(diff):
        return 0.0 if diff[0] != 0 else 1.0
    return float(stats.ttest_1samp(diff, 0.0).pvalue)


def _greater_than_zero_pvalue(values: np.ndarray) -> float:
    """One-sided p-value of a one-sample t-test of H0: mean <= 0 against mean > 0; for identical
    values (no spread) 0 if they are positive and 1 otherwise."""
    if _constant(values):
        return 0.0 if values[0] > 0 else 1.0
    return float(stats.ttest_1samp(values, 0.0, alternative="greater").pvalue)


def tost_paired(diff: np.ndarray, margin: float) -> float:
    """p-value of equivalence by two one-sided paired t-tests (TOST; Schuirmann 1987).

    H0: |mean difference| >= ``margin``. The p-value is the larger of the one-sided p-values of
    ``ttest_1samp(diff, -margin, alternative="greater")`` and ``ttest_1samp(diff, +margin,
    alternative="less")``; equivalence is concluded at level alpha when it is below alpha (the 90%
    interval lies inside ±margin for alpha = 0.05). NaN for fewer than two differences; for
    identical differences 0 if they lie strictly inside the margin and 1 otherwise.
    """
    diff = np.asarray(diff, dtype=float)
    if len(diff) < 2:
        return float("nan")
    if _constant(diff):
        return 0.0 if abs(diff[0]) < margin else 1.0
    return max(_greater_than_zero_pvalue(diff + margin), _greater_than_zero_pvalue(margin - diff))


def tost_relative(diff: np.ndarray, reference_error: np.ndarray, fraction: float) -> float:
    """p-value of equivalence within ±``fraction`` of the reference column's error rate (TOST).

    H0: |mean(diff)| >= ``fraction`` * mean(reference_error), with ``diff`` the paired differences a - b
    and ``reference_error`` b's error rate (100 - accuracy, in points) on the same draws. Each one-sided
    hypothesis is linear in the two means, so it is tested exactly by a one-sample t-test of a paired
    linear combination (the Fieller-type test of a ratio margin; Hauschke, Kieser & Hothorn 1999,
    Biometrical J 41:295): H0 mean(diff + fraction * error) <= 0 and H0 mean(fraction * error - diff) <= 0.
    The p-value is the larger of the two. The margin's own uncertainty (the reference's error is
    estimated on the same seeds) is thereby part of the test. NaN for fewer than two differences.
    """
    diff = np.asarray(diff, dtype=float)
    error = np.asarray(reference_error, dtype=float)
    if diff.shape != error.shape:
        raise ValueError(f"got {len(diff)} differences and {len(error)} reference errors: pass one of each per draw")
    if len(diff) < 2:
        return float("nan")
    return max(_greater_than_zero_pvalue(diff + fraction * error), _greater_than_zero_pvalue(fraction * error - diff))


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (Holm 1979), in input order.

    With the m non-NaN p-values sorted p_(1) <= ... <= p_(m), the adjusted p_(i) is
    max_{j <= i} min(1, (m - j + 1) p_(j)): monotone in the raw p-values and capped at 1. Rejecting
    where the adjusted value is below alpha controls the family-wise error rate at alpha. NaN
    entries stay NaN and do not count towards m.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    if m == 0:
        return adjusted
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def shaffer_exclusive(
    p_difference: Sequence[float] | np.ndarray, p_equivalence: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shaffer-adjusted p-values of k comparisons that each test two mutually exclusive hypotheses.

    Comparison i tests H0 "no difference" (``p_difference[i]``) and H0 "not equivalent", |difference|
    >= margin (``p_equivalence[i]``). With a margin above zero the two cannot both be true, so at most
    one true hypothesis per comparison: of the 2k hypotheses at most k are true, not 2k as Holm (1979)
    assumes. Shaffer's (1986, JASA 81:826) sequentially rejective procedure uses that: with the m
    p-values sorted, step j multiplies p_(j) by t_j, the largest number of hypotheses that can be true
    together among those not yet rejected; here t_j is the number of comparisons with a hypothesis
    among p_(j), ..., p_(m). The adjusted p_(j) is max over i <= j of min(1, t_i p_(i)). It is the
    closed test of Bonferroni intersection tests over every set of hypotheses that can be true
    together, so rejecting where the adjusted value is below alpha controls the family-wise error rate
    at alpha over both kinds of conclusion together (a false difference or a false equivalence), under
    any dependence between the tests. Against Holm over all 2k it divides by at most k; against two
    separate Holm procedures (k differences, k equivalences; each at alpha) it does not let the two
    kinds of error add up to 2 alpha. NaN entries stay NaN and do not count.
    """
    p_diff, p_eq = np.asarray(p_difference, dtype=float), np.asarray(p_equivalence, dtype=float)
    if p_diff.shape != p_eq.shape:
        raise ValueError(f"got {len(p_diff)} difference p-values for {len(p_eq)} equivalence p-values")
    k = len(p_diff)
    p = np.concatenate([p_diff, p_eq])
    comparison = np.concatenate([np.arange(k), np.arange(k)])
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    if len(tested) == 0:
        return adjusted[:k], adjusted[k:]
    order = tested[np.argsort(p[tested], kind="stable")]
    possible = np.empty(len(order))  # t_j: comparisons with a hypothesis among order[j:]
    seen: set[int] = set()
    for j in range(len(order) - 1, -1, -1):
        seen.add(int(comparison[order[j]]))
        possible[j] = len(seen)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(possible * p[order]))
    return adjusted[:k], adjusted[k:]


def _greater_pvalues(values: np.ndarray) -> np.ndarray:
    """``_greater_than_zero_pvalue`` along axis -2 of ``values`` (..., n, k), n >= 2, vectorised."""
    n = values.shape[-2]
    mean, sd = values.mean(axis=-2), values.std(axis=-2, ddof=1)
    spread = sd > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.t.sf(mean / (sd / math.sqrt(n)), n - 1)
    return np.where(spread, p, np.where(mean > 0, 0.0, 1.0))


def shaffer_exclusive_batch(p_difference: np.ndarray, p_equivalence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``shaffer_exclusive`` for many families at once: arrays (..., k) without NaN, one family per row."""
    p = np.concatenate([p_difference, p_equivalence], axis=-1)
    k = p_difference.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")  # each hypothesis's place in the sorted order
    last = np.maximum(rank[..., :k], rank[..., k:])  # a comparison's later hypothesis
    possible = (last[..., None, :] >= np.arange(2 * k)[:, None]).sum(axis=-1)  # t_j
    ordered = np.take_along_axis(p, order, axis=-1)
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(possible * ordered, axis=-1))
    adjusted = np.take_along_axis(adjusted_sorted, rank, axis=-1)
    return adjusted[..., :k], adjusted[..., k:]


def family_outcomes(
    diffs: np.ndarray, reference_errors: np.ndarray, fraction: float, alpha: float = 0.05
) -> np.ndarray:
    """The outcomes ``judge_family`` gives (relative margin), for many families at once.

    ``diffs`` and ``reference_errors`` have shape (..., n, k): per family (leading axes) n >= 2
    independent draws of k comparisons. The same tests (paired t-test, ``tost_relative``), the same
    adjustment (``shaffer_exclusive_batch``) and the same decision rule as ``judge``, vectorised with
    numpy; for simulating many studies (``tests/test_simulation.py``). Returns the outcomes (..., k).
    """
    diffs, errors = np.asarray(diffs, dtype=float), np.asarray(reference_errors, dtype=float)
    if diffs.shape != errors.shape or diffs.ndim < 2 or diffs.shape[-2] < 2:
        raise ValueError(
            f"diffs and reference_errors need one shape (..., n >= 2, k), got {diffs.shape}, {errors.shape}"
        )
    upper, lower = _greater_pvalues(diffs), _greater_pvalues(-diffs)
    mean = diffs.mean(axis=-2)
    p_difference = np.minimum(1.0, 2 * np.minimum(upper, lower))
    constant = diffs.std(axis=-2, ddof=1) == 0
    p_difference = np.where(constant, np.where(mean != 0, 0.0, 1.0), p_difference)
    p_equivalence = np.maximum(_greater_pvalues(diffs + fraction * errors), _greater_pvalues(fraction * errors - diffs))
    adjusted_difference, adjusted_equivalence = shaffer_exclusive_batch(p_difference, p_equivalence)
    return np.where(
        adjusted_difference < alpha,
        np.where(mean > 0, "supported", "contradicted"),
        np.where(adjusted_equivalence < alpha, "equivalent", "inconclusive"),
    )


def difference_power(n: int, mean_diff: float, sd_diff: float, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` pairs when the true mean
    difference is ``mean_diff`` and its standard deviation ``sd_diff`` (noncentral t,
    ``scipy.special.nctdtr``, noncentrality mean / sd * sqrt(n))."""
    df = n - 1
    critical = special.stdtrit(df, 1 - alpha / 2)
    noncentrality = mean_diff / sd_diff * math.sqrt(n)
    return float(1 - special.nctdtr(df, noncentrality, critical) + special.nctdtr(df, noncentrality, -critical))


_QUANTILE_NODES, _QUANTILE_WEIGHTS = np.polynomial.legendre.leggauss(256)


@lru_cache(maxsize=4096)
def _chi_quantiles(df: int) -> np.ndarray:
    """chi(df) at the Gauss-Legendre nodes mapped to (0, 1): the abscissae of ``equivalence_power``."""
    return stats.chi(df).ppf(0.5 * (_QUANTILE_NODES + 1))


def equivalence_power(n: int, mean_diff: float, sd_diff: float, margin: float, alpha: float = 0.05) -> float:
    """Exact power of the paired TOST at level ``alpha`` with ``n`` pairs, margin ±``margin``.

    TOST rejects when -margin + t s / sqrt(n) < mean < margin - t s / sqrt(n), with t the one-sided
    critical value on n - 1 degrees of freedom. The sample mean is normal and independent of the
    sample sd s, with s / sd ~ chi(n - 1) / sqrt(n - 1), so the power is one integral over s
    (Owen 1965), computed by Gauss-Legendre quadrature on the quantile scale of chi(n - 1).
    """
    df = n - 1
    critical = special.stdtrit(df, 1 - alpha)
    standard_error = sd_diff / math.sqrt(n)
    upper = (margin - mean_diff) / standard_error
    lower = (-margin - mean_diff) / standard_error
    chi_values = _chi_quantiles(df)
    shrink = critical * chi_values / math.sqrt(df)
    accepted = np.maximum(0.0, special.ndtr(upper - shrink) - special.ndtr(lower + shrink))
    return float(0.5 * np.dot(_QUANTILE_WEIGHTS, accepted))


def _smallest_n(power_at: Callable[[int], float], target: float, max_seeds: int) -> int | None:
    """The smallest n in [2, max_seeds] with power_at(n) >= target, assuming power grows with n."""
    if max_seeds < 2 or power_at(max_seeds) < target:
        return None
    low, high = 1, 2  # power_at(low) < target is assumed for n = 1 (no test possible)
    while power_at(high) < target:
        low, high = high, min(2 * high, max_seeds)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if power_at(middle) >= target else (middle, high)
    return high


def seeds_to_resolve(
    mean_diff: float,
    sd_diff: float,
    margin: float,
    alpha: float = 0.05,
    power: float = 0.8,
    max_seeds: int = DEFAULT_MAX_SEEDS,
) -> int | None:
    """The smallest number of paired independent seeds at which a comparison with the observed
    mean difference and paired standard deviation would be resolved with probability ``power``.

    Rule: the observed values are taken as the truth, and a comparison is resolved when either test
    of ``judge`` succeeds at level ``alpha``:

    - a difference (two-sided paired t-test; power from the noncentral t, ``difference_power``),
      possible when ``mean_diff`` is not 0;
    - equivalence within ±``margin`` (TOST; exact power, ``equivalence_power``), possible when
      ``|mean_diff| < margin``.

    The answer is the smaller of the two sample sizes. None when neither reaches ``power`` within
    ``max_seeds`` (a zero difference with a zero margin, or an effect far smaller than its spread),
    and None when ``sd_diff`` is NaN (fewer than two independent draws). With no spread
    (``sd_diff == 0``) two seeds resolve any difference or any effect inside the margin.
    """
    if math.isnan(mean_diff) or math.isnan(sd_diff):
        return None
    can_differ, can_match = mean_diff != 0, abs(mean_diff) < margin
    if sd_diff == 0:
        return 2 if (can_differ or can_match) and max_seeds >= 2 else None
    candidates = []
    if can_differ:
        candidates.append(_smallest_n(lambda n: difference_power(n, mean_diff, sd_diff, alpha), power, max_seeds))
    if can_match:
        candidates.append(
            _smallest_n(lambda n: equivalence_power(n, mean_diff, sd_diff, margin, alpha), power, max_seeds)
        )
    found = [n for n in candidates if n is not None]
    return min(found) if found else None


def _planned_effect_size(n: int, alpha: float, power: float) -> float:
    """The smallest margin / sd at which ``n`` pairs give ``power`` both to the two-sided paired t-test
    at a true difference of one margin and to TOST at a true difference of 0 (each at ``alpha``)."""

    def shortfall(test: Callable[[float], float]) -> float:
        # scipy's noncentral t gives NaN far in its tail, where the power is 1
        return optimize.brentq(lambda ratio: np.nan_to_num(test(ratio), nan=1.0) - power, 1e-6, 1e4, xtol=1e-10)

    difference = shortfall(lambda ratio: difference_power(n, ratio, 1.0, alpha))
    equivalence = shortfall(lambda ratio: equivalence_power(n, 0.0, 1.0, ratio, alpha))
    return max(difference, equivalence)


@lru_cache(maxsize=256)
def _planned_effect_sizes(alpha: float, power: float, max_seeds: int) -> np.ndarray:
    """``_planned_effect_size`` for n = 2 .. ``max_seeds`` (decreasing in n)."""
    return np.array([_planned_effect_size(n, alpha, power) for n in range(2, max_seeds + 1)])


def seeds_for_margin(
    sd_diff: float | np.ndarray,
    margin: float | np.ndarray,
    alpha: float = 0.05,
    power: float = 0.8,
    max_seeds: int = 30,
) -> np.ndarray:
    """The number of paired independent seeds a comparison needs, planned from its paired standard
    deviation and its margin only, never from an observed difference (vectorised).

    The planned effect is the margin: n is the smallest number of pairs at which, at level ``alpha``,
    the two-sided paired t-test finds a true difference of one margin with probability ``power``
    (noncentral t, ``difference_power``) *and* TOST shows equivalence when the true difference is 0
    with probability ``power`` (``equivalence_power``). Both depend on margin / sd only, so the
    answer is read off a table of the smallest margin / sd each n suffices for (computed once per
    ``alpha``, ``power``, ``max_seeds``). With ``sd_diff`` from a pilot this is the sample-size
    re-estimation of an internal pilot from the variance alone (Wittes & Brittain 1990, Stat Med 9:65).

    Returns floats: n in [2, ``max_seeds``]; inf where ``max_seeds`` pairs do not suffice; NaN where
    ``sd_diff`` or ``margin`` is NaN; 2 where ``sd_diff`` is 0 and the margin is above 0.
    """
    sd, edge = np.broadcast_arrays(np.asarray(sd_diff, dtype=float), np.asarray(margin, dtype=float))
    if max_seeds < 2:
        raise ValueError(f"max_seeds must be at least 2 (one paired difference has no spread), got {max_seeds}")
    if np.any(edge[~np.isnan(edge)] < 0) or np.any(sd[~np.isnan(sd)] < 0):
        raise ValueError("a standard deviation and a margin cannot be negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sd == 0, np.where(edge > 0, np.inf, 0.0), edge / sd)
    needed_ratio = _planned_effect_sizes(float(alpha), float(power), int(max_seeds))
    # the first n (from 2) whose needed margin / sd is at most the comparison's; past the end: inf
    index = np.searchsorted(-needed_ratio, -ratio, side="left")
    needed = np.where(index < len(needed_ratio), index + 2.0, np.inf)
    return np.where(np.isnan(ratio), np.nan, needed)


@dataclass(frozen=True)
class Judgement:
    """One paired comparison a - b, judged.

    ``mean_diff`` and ``sd_diff`` are over independent draws (seeds that share a draw averaged
    first); the p-values are raw and adjusted within the comparison's family by Shaffer's modification
    of Holm's procedure (``shaffer_exclusive``; the ``_holm`` fields keep their names); ``margin`` is
    the equivalence margin in points (for a relative margin: at the reference's mean error rate).
    """

    outcome: str
    n_draws: int
    mean_diff: float
    sd_diff: float
    p_difference: float
    p_equivalence: float
    p_difference_holm: float
    p_equivalence_holm: float
    seeds_to_resolve: int | None
    margin: float = float("nan")


def judge(
    mean_diff: float,
    sd_diff: float,
    n_draws: int,
    p_difference_holm: float,
    p_equivalence_holm: float,
    margin: float,
    alpha: float = 0.05,
    power: float = 0.8,
    resolve_alpha: float | None = None,
    max_seeds: int = DEFAULT_MAX_SEEDS,
) -> tuple[str, int | None]:
    """The outcome of one comparison a - b (a claimed to be at least as good as b) and, when it is
    inconclusive, the number of seeds that would resolve it.

    Decision rule, in order:

    1. fewer than two independent draws: ``"not judged"`` (the runs measure minibatch order and
       flips only, not the draw);
    2. adjusted paired t-test p < ``alpha``: ``"supported"`` if a - b > 0, else ``"contradicted"``;
    3. adjusted TOST p < ``alpha``: ``"equivalent"`` (|a - b| < ``margin``, in points);
    4. otherwise ``"inconclusive"``, with ``seeds_to_resolve`` at the observed mean and paired sd,
       at level ``resolve_alpha`` (default ``alpha``; ``judge_family`` passes alpha / k, the strictest
       step of Shaffer's procedure over k comparisons, so the estimate suffices at any step). This
       number describes the data; it plans nothing (the seeds a study runs: ``seeds_for_margin``).

    A significant difference takes precedence over equivalence: a small but consistent win is a win.
    """
    if n_draws < 2:
        return "not judged", None
    if p_difference_holm < alpha:
        return ("supported" if mean_diff > 0 else "contradicted"), None
    if p_equivalence_holm < alpha:
        return "equivalent", None
    level = alpha if resolve_alpha is None else resolve_alpha
    return "inconclusive", seeds_to_resolve(mean_diff, sd_diff, margin, level, power, max_seeds)


def judge_family(
    diffs: Sequence[np.ndarray],
    n_draws: Sequence[int],
    margin: float,
    alpha: float = 0.05,
    power: float = 0.8,
    max_seeds: int | Sequence[int] = DEFAULT_MAX_SEEDS,
    reference_errors: Sequence[np.ndarray] | None = None,
) -> list[Judgement]:
    """Judge a family of comparisons together.

    ``diffs[i]`` holds comparison i's paired differences a - b in points, one per independent draw
    (see ``mean_per_draw``) when ``n_draws[i] >= 2``; with one draw it may hold the per-seed
    differences, which are only averaged. The margin: without ``reference_errors``, ``margin`` is in
    points (``tost_paired``); with them, ``reference_errors[i]`` holds b's error rate (100 - accuracy,
    points) on the same draws as ``diffs[i]`` and ``margin`` is a fraction of it (``tost_relative``).

    The family's hypotheses are, for every comparison with at least two draws, "no difference"
    (paired t-test) and "not equivalent within the margin" (TOST). The two of one comparison cannot
    both be true, so they are adjusted by Shaffer's procedure (``shaffer_exclusive``), which controls
    the family-wise error rate at ``alpha`` over both kinds of conclusion together. Each comparison is
    then classified by ``judge``; ``max_seeds`` bounds the search of ``seeds_to_resolve``, for all
    comparisons or one per comparison (below 2: not searched).
    """
    if len(diffs) != len(n_draws):
        raise ValueError(f"got {len(diffs)} difference arrays for {len(n_draws)} draw counts")
    limits = [max_seeds] * len(diffs) if isinstance(max_seeds, int) else [int(n) for n in max_seeds]
    if len(limits) != len(diffs):
        raise ValueError(f"got {len(limits)} seed limits for {len(diffs)} comparisons")
    if not margin > 0:
        raise ValueError(
            f"the equivalence margin must be above 0 (it keeps the two hypotheses exclusive), got {margin}"
        )
    arrays = [np.asarray(d, dtype=float) for d in diffs]
    if reference_errors is not None and len(reference_errors) != len(arrays):
        raise ValueError(f"got {len(reference_errors)} reference error arrays for {len(arrays)} comparisons")
    errors = None if reference_errors is None else [np.asarray(e, dtype=float) for e in reference_errors]
    for d, draws in zip(arrays, n_draws):
        if draws >= 2 and len(d) != draws:
            raise ValueError(f"a comparison with {draws} independent draws needs one difference per draw, got {len(d)}")
    judged = [draws >= 2 for draws in n_draws]
    p_difference = np.array([paired_t_pvalue(d) if ok else np.nan for d, ok in zip(arrays, judged)])
    if errors is None:
        margins = [float(margin)] * len(arrays)
        p_equivalence = np.array([tost_paired(d, margin) if ok else np.nan for d, ok in zip(arrays, judged)])
    else:
        margins = [float(margin * e.mean()) if len(e) else float("nan") for e in errors]
        p_equivalence = np.array(
            [tost_relative(d, e, margin) if ok else np.nan for d, e, ok in zip(arrays, errors, judged)]
        )
    adjusted_difference, adjusted_equivalence = shaffer_exclusive(p_difference, p_equivalence)
    resolve_alpha = alpha / max(sum(judged), 1)
    results = []
    for i, (d, draws) in enumerate(zip(arrays, n_draws)):
        mean = float(d.mean()) if len(d) else float("nan")
        sd = float(d.std(ddof=1)) if judged[i] else float("nan")
        p_diff_adj, p_eq_adj = float(adjusted_difference[i]), float(adjusted_equivalence[i])
        outcome, needed = judge(
            mean, sd, int(draws), p_diff_adj, p_eq_adj, margins[i], alpha, power, resolve_alpha, limits[i]
        )
        results.append(
            Judgement(
                outcome=outcome,
                n_draws=int(draws),
                mean_diff=mean,
                sd_diff=sd,
                p_difference=float(p_difference[i]),
                p_equivalence=float(p_equivalence[i]),
                p_difference_holm=p_diff_adj,
                p_equivalence_holm=p_eq_adj,
                seeds_to_resolve=needed,
                margin=margins[i],
            )
        )
    return results
