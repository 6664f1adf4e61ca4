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
- Each claim is a family of comparisons; its p-values are Holm-adjusted (Holm 1979) before any
  comparison is judged.

All functions are pure and work on numpy arrays of paired differences in accuracy points
(scipy.stats throughout).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

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
    above_lower = stats.ttest_1samp(diff, -margin, alternative="greater").pvalue
    below_upper = stats.ttest_1samp(diff, margin, alternative="less").pvalue
    return float(max(above_lower, below_upper))


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


def difference_power(n: int, mean_diff: float, sd_diff: float, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` pairs when the true mean
    difference is ``mean_diff`` and its standard deviation ``sd_diff`` (noncentral t,
    ``scipy.stats.nct``, noncentrality mean / sd * sqrt(n))."""
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    noncentrality = mean_diff / sd_diff * math.sqrt(n)
    return float(stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality))


def equivalence_power(n: int, mean_diff: float, sd_diff: float, margin: float, alpha: float = 0.05) -> float:
    """Exact power of the paired TOST at level ``alpha`` with ``n`` pairs, margin ±``margin``.

    TOST rejects when -margin + t s / sqrt(n) < mean < margin - t s / sqrt(n), with t the one-sided
    critical value on n - 1 degrees of freedom. The sample mean is normal and independent of the
    sample sd s, with s / sd ~ chi(n - 1) / sqrt(n - 1), so the power is one integral over s
    (Owen 1965; computed with ``scipy.stats.chi.expect``).
    """
    df = n - 1
    critical = stats.t.ppf(1 - alpha, df)
    standard_error = sd_diff / math.sqrt(n)
    upper = (margin - mean_diff) / standard_error
    lower = (-margin - mean_diff) / standard_error

    def accepted(chi_value: float) -> float:
        shrink = critical * chi_value / math.sqrt(df)
        return max(0.0, float(stats.norm.cdf(upper - shrink) - stats.norm.cdf(lower + shrink)))

    return float(stats.chi(df).expect(accepted))


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


@dataclass(frozen=True)
class Judgement:
    """One paired comparison a - b, judged.

    ``mean_diff`` and ``sd_diff`` are over independent draws (seeds that share a draw averaged
    first); the p-values are raw and Holm-adjusted within the comparison's family.
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
    2. Holm-adjusted paired t-test p < ``alpha``: ``"supported"`` if a - b > 0, else ``"contradicted"``;
    3. Holm-adjusted TOST p < ``alpha``: ``"equivalent"`` (|a - b| < ``margin``);
    4. otherwise ``"inconclusive"``, with ``seeds_to_resolve`` at the observed mean and paired sd,
       at level ``resolve_alpha`` (default ``alpha``; ``judge_family`` passes the Bonferroni level
       alpha / hypotheses, the strictest Holm step, so the estimate suffices at any step).

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
) -> list[Judgement]:
    """Judge a family of comparisons together.

    ``diffs[i]`` holds comparison i's paired differences a - b in points, one per independent draw
    (see ``mean_per_draw``) when ``n_draws[i] >= 2``; with one draw it may hold the per-seed
    differences, which are only averaged. The family's hypotheses are, for every comparison with at
    least two draws, "no difference" (paired t-test) and "not equivalent within ±margin" (TOST):
    all of them are Holm-adjusted together, which controls the family-wise error rate at ``alpha``
    over both kinds of conclusion. Each comparison is then classified by ``judge``; ``max_seeds`` bounds
    the search of ``seeds_to_resolve``, for all comparisons or one per comparison (below 2: not searched).
    """
    if len(diffs) != len(n_draws):
        raise ValueError(f"got {len(diffs)} difference arrays for {len(n_draws)} draw counts")
    limits = [max_seeds] * len(diffs) if isinstance(max_seeds, int) else [int(n) for n in max_seeds]
    if len(limits) != len(diffs):
        raise ValueError(f"got {len(limits)} seed limits for {len(diffs)} comparisons")
    arrays = [np.asarray(d, dtype=float) for d in diffs]
    for d, draws in zip(arrays, n_draws):
        if draws >= 2 and len(d) != draws:
            raise ValueError(f"a comparison with {draws} independent draws needs one difference per draw, got {len(d)}")
    judged = [draws >= 2 for draws in n_draws]
    p_difference = np.array([paired_t_pvalue(d) if ok else np.nan for d, ok in zip(arrays, judged)])
    p_equivalence = np.array([tost_paired(d, margin) if ok else np.nan for d, ok in zip(arrays, judged)])
    raw = np.concatenate([p_difference, p_equivalence])
    adjusted = holm(raw)
    resolve_alpha = alpha / max(int(np.count_nonzero(~np.isnan(raw))), 1)
    results = []
    for i, (d, draws) in enumerate(zip(arrays, n_draws)):
        mean = float(d.mean()) if len(d) else float("nan")
        sd = float(d.std(ddof=1)) if judged[i] else float("nan")
        p_diff_holm, p_eq_holm = float(adjusted[i]), float(adjusted[len(arrays) + i])
        outcome, needed = judge(
            mean, sd, int(draws), p_diff_holm, p_eq_holm, margin, alpha, power, resolve_alpha, limits[i]
        )
        results.append(
            Judgement(
                outcome=outcome,
                n_draws=int(draws),
                mean_diff=mean,
                sd_diff=sd,
                p_difference=float(p_difference[i]),
                p_equivalence=float(p_equivalence[i]),
                p_difference_holm=p_diff_holm,
                p_equivalence_holm=p_eq_holm,
                seeds_to_resolve=needed,
            )
        )
    return results
