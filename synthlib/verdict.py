"""The paper's claims, tested under each protocol, in sentences generated from the run records.

Karimi et al. (2017) claim that on tiny training sets (1) kernels sampled from biological
distributions beat normally distributed kernels, and (2) such frozen kernels match or beat the
same CNN trained end to end. Each claim is a set of paired comparisons a - b, judged per dataset
under each protocol *variant* (``authors_code`` counts twice: settings chosen on the test set, as
the authors did, and on validation).

How a comparison is judged (``synthlib.stats``):

- Seeds that share a draw (training subset, kernels, initial weights) count as one independent run.
  A comparison with a single independent draw is *not judged*: its seeds measure minibatch order
  and flips only.
- The *family* of a claim under one variant is all its comparisons (every pair on every dataset).
  For each comparison two hypotheses are tested: "no difference" (two-sided paired t-test) and "not
  equivalent within ±margin" (two one-sided tests, TOST); all of the family's p-values are
  Holm-adjusted together.
- A comparison is *supported* (a wins) or *contradicted* (b wins) when the adjusted t-test p is
  below alpha, *equivalent* when instead the adjusted TOST p is, and *inconclusive* otherwise, with
  the number of independent seeds that would resolve it at the observed paired standard deviation.

Nothing in a sentence is typed by hand: every number comes from records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthlib.paper import paper_table1
from synthlib.protocols import get_protocol, variant_labels
from synthlib.records import RunRecord
from synthlib.stats import DEFAULT_MAX_SEEDS, judge_family, mean_per_draw, t_interval
from synthlib.tables import paired_runs, records_frame

EQUIVALENCE_MARGIN = 1.0
"""The equivalence margin, in points of test accuracy: two columns "match" when their paired
difference lies within ±1 point (TOST). One point is of the order of the seed-to-seed standard
deviations in the paper's Table 1 (0.17 to 1.79 points) and about twice the binomial standard error of
one accuracy measured on 10,000 test images (0.4 points at 80%)."""

ALPHA = 0.05  # family-wise error rate of each claim's family (Holm)
POWER = 0.8  # the power at which ``seeds_to_resolve`` counts a comparison as resolved (Cohen 1988)

BEST_FROZEN = "best_frozen"
"""A placeholder column in a claim's pairs: the frozen sampler (a record with
``config["method"]["sampler"]`` set) with the highest mean validation accuracy on that dataset
under that variant."""


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    pairs: tuple[tuple[str, str], ...]  # (a, b): the claim says a >= b; a may be BEST_FROZEN
    equivalence_agrees: bool = False  # True when "equivalent" is consistent with the claim ("match")


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "biological_beats_normal",
        "Kernels sampled from biological distributions beat normally distributed kernels",
        (("lognormal", "normal"), ("center_surround", "normal")),
    ),
    Claim(
        "frozen_beats_trained",
        "Frozen biological kernels match or beat the fully trained CNN (equivalence within the margin counts as "
        "'match')",
        (("lognormal", "fully_trained"), ("center_surround", "fully_trained")),
        equivalence_agrees=True,
    ),
    Claim(
        "beats_fixed_baseline",
        "(Not a claim of the paper; a reference point) The best frozen sampler, chosen on validation, beats a fixed "
        "scattering transform",
        ((BEST_FROZEN, "scattering"),),
    ),
)

CLAIM_COLUMNS = [
    "claim", "dataset", "a", "b", "best_frozen", "variant", "n", "n_draws", "diff", "sd_diff", "ci95_low",
    "ci95_high", "p_ttest", "p_ttest_holm", "p_tost", "p_tost_holm", "margin", "alpha", "power", "paper_diff",
    "judgement", "seeds_to_resolve", "edge",
]  # fmt: skip


def protocol_variants(records_by_protocol: Mapping[str, Sequence[RunRecord]]) -> dict[str, list[RunRecord]]:
    """Records per verdict row (``Protocol.variant_records``): grid protocols split into their
    test-set and validation selections."""
    variants: dict[str, list[RunRecord]] = {}
    for name, records in records_by_protocol.items():
        variants.update(get_protocol(name).variant_records(records))
    return variants


def best_frozen(records: Sequence[RunRecord], dataset: str) -> str | None:
    """The frozen sampler with the highest mean validation accuracy on ``dataset`` among ``records``
    (frozen: ``config["method"]["sampler"]`` is set); ties go to the first name in alphabetical
    order; None when there is none. The test set plays no part in the choice."""
    scores: dict[str, list[float]] = {}
    for r in records:
        if r.dataset == dataset and (r.config.get("method") or {}).get("sampler") is not None:
            scores.setdefault(r.method, []).append(r.val_accuracy)
    if not scores:
        return None
    names = sorted(scores)
    return names[int(np.argmax([np.mean(scores[name]) for name in names]))]


def _comparisons(records: Sequence[RunRecord], claim: Claim) -> list[dict]:
    """The claim's comparisons under one variant: per dataset and pair, the paired differences a - b
    in points per seed and per independent draw."""
    runs = records_frame(records)
    found = []
    for dataset, group in runs.groupby("dataset", sort=True):
        methods = set(group["method"])
        for a, b in claim.pairs:
            chosen = best_frozen(records, str(dataset)) if a == BEST_FROZEN else a
            if chosen is None or chosen not in methods or b not in methods:
                continue
            both, draws = paired_runs(group, chosen, b)
            diff = (both[chosen] - both[b]).to_numpy()
            if len(diff) == 0:
                continue
            found.append(
                {
                    "dataset": dataset,
                    "a": chosen,
                    "b": b,
                    "best_frozen": a == BEST_FROZEN,
                    "per_seed": diff,
                    "per_draw": mean_per_draw(diff, draws),
                }
            )
    return found


def claim_table(
    variants: Mapping[str, Sequence[RunRecord]],
    claims: Sequence[Claim] = CLAIMS,
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
    power: float = POWER,
    max_seeds: int = DEFAULT_MAX_SEEDS,
    edges: Mapping[str, Mapping[tuple[str, str], str]] | None = None,
) -> pd.DataFrame:
    """One row per (claim, pair, dataset, variant): the paired difference a - b in points, its number
    of seeds and of independent draws, the 95% interval over draws (NaN with one draw), the raw and
    Holm-adjusted p-values of the paired t-test and of TOST at ±``margin`` points, the paper's own
    difference, the judgement and, when inconclusive, the independent seeds that would resolve it.
    Holm runs over each claim's family under each variant (see the module docstring). ``edge`` names a
    compared column whose chosen setting is still at an edge of its searched range (``edges``, per variant:
    ``Protocol.edge_notes``)."""
    paper = paper_table1().set_index(["dataset", "method"])["paper_mean"]
    rows = []
    for claim in claims:
        for variant, records in variants.items():
            comparisons = _comparisons(records, claim)
            judgements = judge_family(
                [c["per_draw"] if len(c["per_draw"]) > 1 else c["per_seed"] for c in comparisons],
                [len(c["per_draw"]) for c in comparisons],
                margin,
                alpha,
                power,
                max_seeds,
            )
            for comparison, judgement in zip(comparisons, judgements):
                dataset, a, b = comparison["dataset"], comparison["a"], comparison["b"]
                low, high = t_interval(comparison["per_draw"]) if judgement.n_draws > 1 else (np.nan, np.nan)
                rows.append(
                    {
                        "claim": claim.key,
                        "dataset": dataset,
                        "a": a,
                        "b": b,
                        "best_frozen": comparison["best_frozen"],
                        "variant": variant,
                        "n": len(comparison["per_seed"]),
                        "n_draws": judgement.n_draws,
                        "diff": judgement.mean_diff,
                        "sd_diff": judgement.sd_diff,
                        "ci95_low": low,
                        "ci95_high": high,
                        "p_ttest": judgement.p_difference,
                        "p_ttest_holm": judgement.p_difference_holm,
                        "p_tost": judgement.p_equivalence,
                        "p_tost_holm": judgement.p_equivalence_holm,
                        "margin": margin,
                        "alpha": alpha,
                        "power": power,
                        "paper_diff": paper.get((dataset, a), np.nan) - paper.get((dataset, b), np.nan),
                        "judgement": judgement.outcome,
                        "seeds_to_resolve": judgement.seeds_to_resolve,
                        "edge": "; ".join(
                            f"{column}: {note}"
                            for column in (a, b)
                            if (note := (edges or {}).get(variant, {}).get((dataset, column)))
                        ),
                    }
                )
    table = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    table["seeds_to_resolve"] = table["seeds_to_resolve"].astype("Int64")
    return table


def _p(value: float) -> str:
    return "p n/a" if np.isnan(value) else (f"p = {value:.2g}" if value >= 1e-3 else "p < 0.001")


def points(value: float) -> str:
    """A number of accuracy points in words: "1 point", "0.5 points"."""
    return f"{value:g} point" + ("" if value == 1 else "s")


def _outcome(row: pd.Series, a: str, b: str, equivalence_agrees: bool) -> str:
    margin = points(row["margin"])
    if row["judgement"] in ("supported", "contradicted"):
        winner = a if row["judgement"] == "supported" else b
        within = row["p_tost_holm"] < row["alpha"]  # a real difference, yet smaller than the margin
        return f"{winner} wins" + (f", by less than the ±{margin} margin (equivalent too, TOST)" if within else "")
    if row["judgement"] == "equivalent":
        agrees = ", which the claim counts as 'match'" if equivalence_agrees else ""
        return f"equivalent within ±{margin}{agrees}"
    needed = row["seeds_to_resolve"]
    how_many = (
        f"about {needed} independent seeds would resolve it"
        if pd.notna(needed)
        else f"more than {DEFAULT_MAX_SEEDS} independent seeds would be needed to resolve it"
    )
    return f"inconclusive: {how_many} (power {row['power']:g} at the observed paired SD of {row['sd_diff']:.2f} points)"


def sentence(row: pd.Series, labels: Mapping[str, str], claims: Sequence[Claim] = CLAIMS) -> str:
    """One plain sentence for one row of ``claim_table``: what the runs show, or why they cannot."""
    a, b = labels.get(row["a"], row["a"]), labels.get(row["b"], row["b"])
    if row["best_frozen"]:
        a = f"{a} (best frozen on validation)"
    variant = variant_labels().get(row["variant"], row["variant"])
    paper = "" if np.isnan(row["paper_diff"]) else f" (paper: {row['paper_diff']:+.2f})"
    start = f"{variant}: {a} − {b} = {row['diff']:+.2f} points{paper}"
    edge = row.get("edge", "")
    caveat = (
        f" A chosen setting is at an edge of the range searched ({edge}): a wider search might change it."
        if isinstance(edge, str) and edge
        else ""
    )
    if row["judgement"] == "not judged":
        runs = f"{row['n']} runs share" if row["n"] != 1 else "1 run has"
        return (
            f"{start}; {runs} one draw of training subset, kernels and initial weights: they measure minibatch "
            f"order and flips only and cannot show whether the difference holds for another draw: not judged.{caveat}"
        )
    agrees = {c.key: c.equivalence_agrees for c in claims}.get(row["claim"], False)
    return (
        f"{start}, 95% CI [{row['ci95_low']:+.2f}, {row['ci95_high']:+.2f}] over {row['n_draws']} independent draws; "
        f"paired t-test {_p(row['p_ttest'])} (Holm {_p(row['p_ttest_holm'])}), equivalence within "
        f"±{points(row['margin'])} (TOST) {_p(row['p_tost'])} (Holm {_p(row['p_tost_holm'])}): "
        f"{_outcome(row, a, b, agrees)}.{caveat}"
    )


def rules_line(table: pd.DataFrame) -> str:
    """The rules every judgement of ``table`` follows, in one sentence naming the margin and alpha."""
    margin = points(float(table["margin"].iloc[0])) if len(table) else points(EQUIVALENCE_MARGIN)
    alpha = float(table["alpha"].iloc[0]) if len(table) else ALPHA
    return (
        f"Each claim is judged per protocol variant on its family of comparisons, Holm-corrected at "
        f"{alpha:g}: a difference by the paired t-test, equivalence within ±{margin} by two one-sided tests "
        "(TOST); runs that share one draw of subset and kernels count as one and are not judged; an "
        "inconclusive comparison names the independent seeds that would resolve it at the observed paired SD, "
        "at the family's strictest Holm level; a compared column whose chosen setting is still at an edge of "
        "its searched range is named."
    )


def verdict_markdown(table: pd.DataFrame, labels: Mapping[str, str], claims: Sequence[Claim] = CLAIMS) -> str:
    """The rules, then every claim per dataset as a list of sentences (one per pair and variant)."""
    parts = [rules_line(table)]
    for claim in claims:
        rows = table[table["claim"] == claim.key]
        if rows.empty:
            continue
        parts.append(f"### {claim.statement}")
        for dataset, group in rows.groupby("dataset", sort=True):
            parts.append(f"**{dataset}**")
            parts.append("\n".join(f"- {sentence(row, labels, claims)}" for _, row in group.iterrows()))
    return "\n\n".join(parts) + "\n"


SUMMARY_OUTCOMES = ("supported", "equivalent", "contradicted", "inconclusive", "not judged")


def summary_lines(table: pd.DataFrame, claims: Sequence[Claim] = CLAIMS, not_run: Sequence[str] = ()) -> str:
    """A few lines for docs/statistics.md: per claim and variant, how many comparisons are supported,
    equivalent, contradicted, inconclusive or not judged; then the rules with the margin; then the
    protocols ``not_run`` (without records, so not judged), when there are any."""
    lines = []
    for claim in claims:
        rows = table[table["claim"] == claim.key]
        if rows.empty:
            continue
        parts = []
        for variant in dict.fromkeys(rows["variant"]):
            counts = rows[rows["variant"] == variant]["judgement"].value_counts()
            parts.append(
                f"{variant_labels().get(variant, variant)}: "
                + ", ".join(f"{counts.get(j, 0)} {j}" for j in SUMMARY_OUTCOMES)
            )
        total = len(rows[rows["variant"] == rows["variant"].iloc[0]])
        lines.append(f"- **{claim.statement}** ({total} comparisons per protocol) — " + "; ".join(parts) + ".")
    lines.append(f"- {rules_line(table)}")
    if not_run:
        lines.append(f"- Not run, so not judged: {', '.join(not_run)}.")
    return "\n".join(lines) + "\n"
