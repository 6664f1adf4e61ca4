"""The paper's claims, tested under each protocol, in sentences generated from the run records.

Karimi et al. (2017) claim that on tiny training sets (1) kernels sampled from biological
distributions beat normally distributed kernels, and (2) such frozen kernels match or beat the
same CNN trained end to end. Each claim is a set of paired comparisons of two columns; each is
judged per dataset under each protocol *variant* (``authors_code`` counts twice: settings chosen
on the test set, as the authors did, and on validation). A claim is *supported* when the 95%
interval of the paired difference lies above zero, *contradicted* when it lies below, and
*unresolved* otherwise. Nothing in a sentence is typed by hand: every number comes from records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthlib.paper import paper_table1
from synthlib.records import RunRecord
from synthlib.tables import paired_comparisons, select_setting


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    pairs: tuple[tuple[str, str], ...]  # (a, b): the claim says a >= b


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "biological_beats_normal",
        "Kernels sampled from biological distributions beat normally distributed kernels",
        (("lognormal", "normal"), ("center_surround", "normal")),
    ),
    Claim(
        "frozen_beats_trained",
        "Frozen biological kernels match or beat the fully trained CNN (an unresolved comparison is "
        "consistent with 'match')",
        (("lognormal", "fully_trained"), ("center_surround", "fully_trained")),
    ),
    Claim(
        "beats_fixed_baseline",
        "(Not a claim of the paper; a reference point) The best frozen sampler beats a fixed scattering transform",
        (("center_surround", "scattering"), ("normal", "scattering")),
    ),
)

VARIANT_LABELS = {
    "paper": "paper",
    "authors_code/test": "authors' code, test-set selection",
    "authors_code/validation": "authors' code, validation selection",
    "sound": "sound",
}


def protocol_variants(records_by_protocol: Mapping[str, Sequence[RunRecord]]) -> dict[str, list[RunRecord]]:
    """Records per variant: grid protocols split into ``<name>/test`` and ``<name>/validation``."""
    variants: dict[str, list[RunRecord]] = {}
    for name, records in records_by_protocol.items():
        if any(r.setting for r in records):
            for by in ("test", "validation"):
                variants[f"{name}/{by}"] = select_setting(records, by)[0]
        else:
            variants[name] = list(records)
    return variants


def _judgement(low: float, high: float) -> str:
    if np.isnan(low) or np.isnan(high):
        return "unresolved"
    if low > 0:
        return "supported"
    if high < 0:
        return "contradicted"
    return "unresolved"


def claim_table(variants: Mapping[str, Sequence[RunRecord]], claims: Sequence[Claim] = CLAIMS) -> pd.DataFrame:
    """One row per (claim, pair, dataset, variant): the paired difference a - b, its interval and p-value,
    the paper's own difference, and the judgement."""
    paper = paper_table1().set_index(["dataset", "method"])["paper_mean"]
    rows = []
    for claim in claims:
        for variant, records in variants.items():
            comparisons = paired_comparisons(records, claim.pairs)
            for row in comparisons.itertuples(index=False):
                paper_a, paper_b = paper.get((row.dataset, row.a), np.nan), paper.get((row.dataset, row.b), np.nan)
                rows.append(
                    {
                        "claim": claim.key,
                        "dataset": row.dataset,
                        "a": row.a,
                        "b": row.b,
                        "variant": variant,
                        "n": row.n,
                        "diff": row.diff,
                        "ci95_low": row.ci95_low,
                        "ci95_high": row.ci95_high,
                        "p_ttest": row.p_ttest,
                        "paper_diff": paper_a - paper_b,
                        "judgement": _judgement(row.ci95_low, row.ci95_high),
                    }
                )
    return pd.DataFrame(rows)


def _p(value: float) -> str:
    return "p n/a" if np.isnan(value) else (f"p = {value:.2g}" if value >= 1e-3 else "p < 0.001")


def sentence(row: pd.Series, labels: Mapping[str, str]) -> str:
    """One plain sentence for one row of ``claim_table``."""
    a, b = labels.get(row["a"], row["a"]), labels.get(row["b"], row["b"])
    variant = VARIANT_LABELS.get(row["variant"], row["variant"])
    verdict = {
        "supported": f"{a} wins",
        "contradicted": f"{b} wins",
        "unresolved": "the seeds do not separate them",
    }[row["judgement"]]
    paper = "" if np.isnan(row["paper_diff"]) else f" (paper: {row['paper_diff']:+.2f})"
    return (
        f"{variant}: {a} − {b} = {row['diff']:+.2f} points{paper}, 95% CI [{row['ci95_low']:+.2f}, "
        f"{row['ci95_high']:+.2f}], paired t-test {_p(row['p_ttest'])}, {row['n']} seeds: {verdict}."
    )


def verdict_markdown(table: pd.DataFrame, labels: Mapping[str, str], claims: Sequence[Claim] = CLAIMS) -> str:
    """Every claim, per dataset, as a list of sentences (one per pair and protocol variant)."""
    parts = []
    for claim in claims:
        rows = table[table["claim"] == claim.key]
        if rows.empty:
            continue
        parts.append(f"### {claim.statement}")
        for dataset, group in rows.groupby("dataset", sort=True):
            parts.append(f"**{dataset}**")
            parts.append("\n".join(f"- {sentence(row, labels)}" for _, row in group.iterrows()))
    return "\n\n".join(parts) + "\n"


def summary_lines(table: pd.DataFrame, claims: Sequence[Claim] = CLAIMS) -> str:
    """A few lines for the README: per claim, under which variants it holds on which datasets."""
    lines = []
    for claim in claims:
        rows = table[table["claim"] == claim.key]
        if rows.empty:
            continue
        parts = []
        for variant in dict.fromkeys(rows["variant"]):
            judged = rows[rows["variant"] == variant]
            counts = judged["judgement"].value_counts()
            parts.append(
                f"{VARIANT_LABELS.get(variant, variant)}: "
                + ", ".join(f"{counts.get(j, 0)} {j}" for j in ("supported", "unresolved", "contradicted"))
            )
        total = len(rows[rows["variant"] == rows["variant"].iloc[0]])
        lines.append(f"- **{claim.statement}** ({total} comparisons per protocol) — " + "; ".join(parts) + ".")
    return "\n".join(lines) + "\n"
