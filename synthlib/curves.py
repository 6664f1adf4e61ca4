"""Learning curves: test accuracy against the number of training images per class, from run records.

The learning-curve study runs many columns at a ladder of training sizes (samples per class), the
full training set included, with several seeds per size. Within one (dataset, seed, size) every
column shares the training subset and the validation split, so every comparison of two columns at
one size is *paired* by seed. This module turns the records into

- a table of mean test accuracy with a 95% t-interval per (dataset, column, size) (``curve_table``),
  and its readable markdown form, where a (column, size) cell without records reads "not run";
- paired comparisons of each column against reference columns at every size, judged by the
  study's rules (``synthlib.stats.judge_family``: paired t-test and TOST within ±``EQUIVALENCE_MARGIN``
  of the reference's error rate, adjusted by Shaffer's procedure within a family of every size and
  column against one reference on one dataset; ``size_comparisons``);
- the column with the best mean *validation* accuracy at each size (``best_by_size``);
- generated sentences and a headline (``curve_sentences``, ``headline``).

Accuracies are fractions in the records and percent (points) everywhere here. The full training
set appears in the records as its own class-balanced per-class count; functions that need to know
which size is the full set take ``full`` (dataset -> per-class count of the full set) and, without
it, take the largest size of each dataset to be the full set. Seeds that share a draw (training
subset, kernels, initial weights; ``synthlib.stats.draw_seed``) count as one independent run, as
everywhere in the study. All functions are pure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthlib.records import RunRecord
from synthlib.stats import DEFAULT_MAX_SEEDS, draw_seed, judge_family, mean_per_draw, t_interval
from synthlib.verdict import ALPHA, EQUIVALENCE_MARGIN, POWER, margin_words

FRAME_COLUMNS = ["dataset", "column", "per_class", "full", "seed", "draw_seed", "test", "val"]
TABLE_COLUMNS = [
    "dataset", "column", "per_class", "full", "n_seeds", "n_draws", "seeds", "mean", "sd", "ci95_low", "ci95_high",
    "val_mean",
]  # fmt: skip
COMPARISON_COLUMNS = [
    "dataset", "reference", "column", "per_class", "full", "n_seeds", "n_draws", "mean_diff", "sd_diff", "ci95_low",
    "ci95_high", "outcome", "p_difference", "p_difference_holm", "p_equivalence", "p_equivalence_holm", "margin",
    "seeds_to_resolve",
]  # fmt: skip
BEST_COLUMNS = [
    "dataset", "per_class", "full", "column", "n_columns", "n_seeds", "val_mean", "test_mean", "ci95_low", "ci95_high",
]  # fmt: skip
NOT_RUN = "not run"
DEFAULT_REFERENCES = ("normal", "fully_trained", "scattering")


# ---------------------------------------------------------------------------------------------
# Runs and the table of means
# ---------------------------------------------------------------------------------------------


def curve_frame(records: Iterable[RunRecord], full: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per run: dataset, column (the record's method), per_class (``config["per_class"]``),
    full (whether that size is the full training set: ``full[dataset]``, or without ``full`` the
    largest size of the dataset), seed, draw_seed (``stats.draw_seed``), test and val accuracy in
    percent."""
    frame = pd.DataFrame(
        [
            {
                "dataset": r.dataset,
                "column": r.method,
                "per_class": int(r.config["per_class"]),
                "full": False,
                "seed": int(r.seed),
                "draw_seed": draw_seed(r),
                "test": 100 * r.test_accuracy,
                "val": 100 * r.val_accuracy,
            }
            for r in records
        ],
        columns=FRAME_COLUMNS,
    )
    if frame.empty:
        return frame
    largest = frame.groupby("dataset")["per_class"].transform("max")
    full_size = frame["dataset"].map(dict(full)) if full is not None else largest
    frame["full"] = frame["per_class"] == full_size
    return frame.sort_values(["dataset", "per_class", "column", "seed"], kind="stable").reset_index(drop=True)


def _ordered(names: Iterable[str], order: Sequence[str] | None) -> list[str]:
    """``names`` in ``order`` (unlisted names last, in their first-seen order)."""
    present = list(dict.fromkeys(names))
    if order is None:
        return present
    return [n for n in order if n in present] + [n for n in present if n not in order]


def curve_table(
    records: Iterable[RunRecord], order: Sequence[str] | None = None, full: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Per (dataset, column, per_class) with records: n_seeds, n_draws (independent draws), seeds,
    mean and sd (ddof 1) of the test accuracy in percent over seeds, the 95% t-interval of the mean
    over independent draws (``stats.t_interval``; NaN with fewer than two), the mean validation
    accuracy, and whether the size is the full set. Rows by dataset, column (in ``order``, unlisted
    columns last) and size."""
    frame = curve_frame(records, full)
    rows = []
    for (dataset, column, per_class), group in frame.groupby(["dataset", "column", "per_class"], sort=True):
        values = group["test"].to_numpy()
        per_draw = mean_per_draw(values, group["draw_seed"].to_numpy())
        low, high = t_interval(per_draw) if len(per_draw) > 1 else (np.nan, np.nan)
        rows.append(
            {
                "dataset": dataset,
                "column": column,
                "per_class": int(per_class),
                "full": bool(group["full"].iloc[0]),
                "n_seeds": len(values),
                "n_draws": len(per_draw),
                "seeds": " ".join(str(s) for s in sorted(group["seed"])),
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if len(values) > 1 else np.nan,
                "ci95_low": low,
                "ci95_high": high,
                "val_mean": float(group["val"].mean()),
            }
        )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    if table.empty:
        return table
    columns = _ordered(table["column"], order)
    table["rank"] = table["column"].map({c: i for i, c in enumerate(columns)})
    table = table.sort_values(["dataset", "rank", "per_class"], kind="stable").drop(columns="rank")
    return table.reset_index(drop=True)


def size_label(per_class: int, full: bool) -> str:
    """A size as a table heading: "38", or "full (4500/class)" for the full set."""
    return f"full ({per_class}/class)" if full else str(per_class)


def _cell(row: pd.Series, usual_seeds: int) -> str:
    seeds = "" if row["n_seeds"] == usual_seeds else f" (n={row['n_seeds']})"
    if row["n_draws"] < 2:
        return f"{row['mean']:.1f}{' (1 draw)' if row['n_seeds'] > 1 else ''}{seeds}"
    return f"{row['mean']:.1f} [{row['ci95_low']:.1f}, {row['ci95_high']:.1f}]{seeds}"


def curve_table_markdown(table: pd.DataFrame, labels: Mapping[str, str], columns: Sequence[str] | None = None) -> str:
    """The curve table as one markdown table per dataset: a row per column (its label), a column per
    size (the full set headed "full (N/class)"), cells "mean [95% CI]" of test accuracy in percent.
    A (column, size) cell without records reads "not run"; a cell with fewer seeds than the dataset's
    usual number says how many ("n=k"); a cell whose runs share one draw has no interval.
    ``columns`` (default: the table's, in its order) chooses and orders the rows."""
    parts = []
    for dataset, rows in table.groupby("dataset", sort=True):
        sizes = rows.drop_duplicates("per_class").sort_values("per_class")
        headings = [size_label(int(n), bool(f)) for n, f in zip(sizes["per_class"], sizes["full"])]
        names = [c for c in (columns or list(dict.fromkeys(rows["column"]))) if c in set(rows["column"])]
        usual = int(rows["n_seeds"].mode().max())
        cells = {(r["column"], r["per_class"]): _cell(r, usual) for _, r in rows.iterrows()}
        shown = pd.DataFrame(
            [[cells.get((c, n), NOT_RUN) for n in sizes["per_class"]] for c in names],
            index=[labels.get(c, c) for c in names],
            columns=headings,
        )
        shown.index.name = "column \\ per class"
        parts.append(
            f"**{dataset}**: test accuracy %, mean [95% CI] over {usual} seeds (n=k where fewer or more); "
            f"{NOT_RUN}: no records at that size\n\n" + shown.to_markdown(disable_numparse=True)
        )
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# Paired comparisons and the best column on validation
# ---------------------------------------------------------------------------------------------


def _paired(group: pd.DataFrame, column: str, reference: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one (dataset, size): the per-seed differences column - reference in test points over the
    seeds both ran, the reference's test error rate (100 - accuracy) on those seeds, and per seed the
    draw that counts as its independent run (that of whichever column has fewer distinct draws, as in
    ``synthlib.tables.paired_runs``)."""
    test = group.pivot_table(index="seed", columns="column", values="test", aggfunc="mean")
    draws = group.pivot_table(index="seed", columns="column", values="draw_seed", aggfunc="first")
    both = test[[column, reference]].dropna()
    paired_draws = draws.loc[both.index, [column, reference]]
    fewer = column if paired_draws[column].nunique() <= paired_draws[reference].nunique() else reference
    return (
        (both[column] - both[reference]).to_numpy(),
        (100 - both[reference]).to_numpy(),
        paired_draws[fewer].to_numpy(),
    )


def comparison_rules(margin: float = EQUIVALENCE_MARGIN, alpha: float = ALPHA) -> str:
    """How ``size_comparisons`` judges, in one sentence (for the summaries that show its outcomes)."""
    return (
        "Each column is compared with each reference at every size both ran (paired by seed, test accuracy); "
        f"every comparison against one reference on one dataset, at all sizes, forms one family, adjusted by "
        f"Shaffer's modification of Holm's procedure at {alpha:g} (at most a {alpha:g} chance of any false "
        f"clause about that reference on that dataset): better or worse by the paired t-test, equivalent within "
        f"±{margin_words(margin)} by two one-sided tests (TOST)."
    )


def size_comparisons(
    records: Iterable[RunRecord],
    columns: Sequence[str],
    references: Sequence[str] = DEFAULT_REFERENCES,
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
    full: Mapping[str, int] | None = None,
    max_seeds: int = DEFAULT_MAX_SEEDS,
    resolve: Collection[str] | None = None,
) -> pd.DataFrame:
    """Every column of ``columns`` against every reference, at every size where both have at least two
    common seeds: the paired differences column - reference in test points over those seeds.

    Equivalence: within ±``margin`` (a fraction) of the reference's error rate at that size
    (``stats.tost_relative``), the verdict's margin. The family: one per (dataset, reference), holding
    the comparisons of every other column with that reference at every size. Each comparison tests "no
    difference" (paired t-test) and "not equivalent" (TOST), which cannot both be true, and
    ``judge_family`` adjusts all of the family's p-values by Shaffer's procedure (Shaffer 1986,
    ``stats.shaffer_exclusive``). That controls the family-wise error rate at ``alpha`` across sizes and
    columns: the chance that any clause of the sentences about one reference on one dataset (a
    difference or an equivalence, at any size) is false is at most ``alpha``, whatever the number of
    sizes run. (Families per size, as before, bounded each size alone; over 10 sizes the chance of a
    false clause somewhere could approach 10 alpha.) Seeds that share a draw are averaged into one
    independent run first; a comparison with a single draw is "not judged".

    One row per comparison: dataset, reference, column, per_class, full, n_seeds (common seeds),
    n_draws, mean_diff and sd_diff (over draws), ci95_low / ci95_high (t-interval of the paired
    differences over draws; NaN with one draw), outcome ("supported": the column is better,
    "contradicted": worse, "equivalent", "inconclusive", "not judged"), the raw and adjusted
    p-values (``_holm`` columns: Shaffer's modification of Holm), the margin in points, and the
    independent seeds that would resolve an inconclusive comparison (searched up to ``max_seeds``, at
    power ``synthlib.verdict.POWER`` and the family's strictest level; ``stats.seeds_to_resolve``), for
    the columns of ``resolve`` only when it is given (the search is the slow part; the judgements do
    not depend on it)."""
    frame = curve_frame(records, full)
    frame = frame[frame["column"].isin([*columns, *references])]
    rows = []
    for dataset, runs in frame.groupby("dataset", sort=True):
        for reference in references:
            if reference not in set(runs["column"]):
                continue
            family: list[dict[str, Any]] = []
            for per_class, group in runs.groupby("per_class", sort=True):
                present = set(group["column"])
                for column in columns:
                    if column == reference or column not in present or reference not in present:
                        continue
                    diff, error, draws = _paired(group, column, reference)
                    if len(diff) < 2:
                        continue
                    family.append(
                        {
                            "per_class": int(per_class),
                            "full": bool(group["full"].iloc[0]),
                            "column": column,
                            "diff": diff,
                            "per_draw": mean_per_draw(diff, draws),
                            "error": error,
                            "error_per_draw": mean_per_draw(error, draws),
                        }
                    )
            one_draw = [len(c["per_draw"]) < 2 for c in family]
            judgements = judge_family(
                [c["diff"] if alone else c["per_draw"] for c, alone in zip(family, one_draw)],
                [len(c["per_draw"]) for c in family],
                margin,
                alpha,
                POWER,
                [max_seeds if resolve is None or c["column"] in resolve else 0 for c in family],
                reference_errors=[c["error"] if alone else c["error_per_draw"] for c, alone in zip(family, one_draw)],
            )
            for c, judgement in zip(family, judgements):
                low, high = t_interval(c["per_draw"]) if len(c["per_draw"]) > 1 else (np.nan, np.nan)
                rows.append(
                    {
                        "dataset": dataset,
                        "reference": reference,
                        "column": c["column"],
                        "per_class": c["per_class"],
                        "full": c["full"],
                        "n_seeds": len(c["diff"]),
                        "n_draws": judgement.n_draws,
                        "mean_diff": judgement.mean_diff,
                        "sd_diff": judgement.sd_diff,
                        "ci95_low": low,
                        "ci95_high": high,
                        "outcome": judgement.outcome,
                        "p_difference": judgement.p_difference,
                        "p_difference_holm": judgement.p_difference_holm,
                        "p_equivalence": judgement.p_equivalence,
                        "p_equivalence_holm": judgement.p_equivalence_holm,
                        "margin": judgement.margin,
                        "seeds_to_resolve": judgement.seeds_to_resolve,
                    }
                )
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    table["seeds_to_resolve"] = table["seeds_to_resolve"].astype("Int64")
    if table.empty:
        return table
    rank = {c: i for i, c in enumerate(_ordered([*columns, *references], None))}
    table["rank"] = table["column"].map(rank)
    table = table.sort_values(["dataset", "reference", "rank", "per_class"], kind="stable").drop(columns="rank")
    return table.reset_index(drop=True)


def best_by_size(
    records: Iterable[RunRecord], columns: Sequence[str], full: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Per dataset and size, the column of ``columns`` with the highest mean *validation* accuracy
    among those with records at that size (ties: the first in ``columns``). The test set plays no part
    in the choice; the row gives the chosen column's test mean and 95% t-interval (over independent
    draws), its number of seeds, and n_columns, the number of columns compared at that size."""
    table = curve_table([r for r in records if r.method in set(columns)], order=columns, full=full)
    rows = []
    for (dataset, per_class), group in table.groupby(["dataset", "per_class"], sort=True):
        ranked = group.assign(rank=group["column"].map({c: i for i, c in enumerate(columns)}))
        ranked = ranked.sort_values(["val_mean", "rank"], ascending=[False, True], kind="stable")
        best = ranked.iloc[0]
        rows.append(
            {
                "dataset": dataset,
                "per_class": int(per_class),
                "full": bool(best["full"]),
                "column": best["column"],
                "n_columns": len(group),
                "n_seeds": int(best["n_seeds"]),
                "val_mean": best["val_mean"],
                "test_mean": best["mean"],
                "ci95_low": best["ci95_low"],
                "ci95_high": best["ci95_high"],
            }
        )
    return pd.DataFrame(rows, columns=BEST_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------


def size_ranges(sizes: Iterable[int], ladder: Sequence[int]) -> list[list[int]]:
    """``sizes`` grouped into runs that are consecutive on ``ladder`` (the dataset's sizes in
    increasing order): a size of the ladder missing from ``sizes`` breaks a run."""
    wanted = set(sizes)
    runs: list[list[int]] = []
    previous_in = False
    for size in sorted(ladder):
        if size in wanted:
            if previous_in:
                runs[-1].append(size)
            else:
                runs.append([size])
        previous_in = size in wanted
    return runs


def range_text(run: Sequence[int], full_size: int | None) -> str:
    """A run of sizes in words: "at 5 per class", "at 1–10 per class", "on the full set",
    "from 100 per class to the full set"."""
    first, last = run[0], run[-1]
    if last == full_size:
        return "on the full set" if first == last else f"from {first} per class to the full set"
    return f"at {first} per class" if first == last else f"at {first}–{last} per class"


def _ranges_text(sizes: Iterable[int], ladder: Sequence[int], full_size: int | None) -> str:
    return " and ".join(range_text(run, full_size) for run in size_ranges(sizes, ladder))


def _ladders(*tables: pd.DataFrame) -> tuple[dict[str, list[int]], dict[str, int | None]]:
    """Per dataset, every size that appears in ``tables`` and the size of the full set (if any)."""
    ladder: dict[str, set[int]] = {}
    full_size: dict[str, int | None] = {}
    for table in tables:
        for dataset, per_class, is_full in zip(table["dataset"], table["per_class"], table["full"]):
            ladder.setdefault(dataset, set()).add(int(per_class))
            if is_full:
                full_size[dataset] = int(per_class)
    return {d: sorted(s) for d, s in ladder.items()}, {d: full_size.get(d) for d in ladder}


_VERBS = {  # outcome -> (first clause with the reference named, later clause)
    "supported": ("beats {ref}", "beats it"),
    "equivalent": ("is equivalent to {ref} within ±{margin}", "is equivalent to it within ±{margin}"),
    "contradicted": ("is worse than {ref}", "is worse than it"),
    "inconclusive": ("is inconclusive against {ref}", "is inconclusive against it"),
    "not judged": ("is not judged against {ref} (one draw)", "is not judged against it (one draw)"),
}


def comparison_sentence(
    rows: pd.DataFrame,
    label: str,
    reference_label: str,
    ladder: Sequence[int],
    full_size: int | None,
    margin: float = EQUIVALENCE_MARGIN,
) -> str:
    """One sentence for one column against one reference on one dataset (``size_comparisons`` rows):
    the size ranges of each outcome, clauses in order of their smallest size, e.g. "Gabor beats
    Normal at 1–10 per class, is equivalent to it within ±1 point at 20–38 per class, and is worse
    than it from 100 per class to the full set."."""
    groups = {outcome: sorted(group["per_class"]) for outcome, group in rows.groupby("outcome")}
    ordered = sorted(groups, key=lambda outcome: groups[outcome][0])
    clauses = []
    for i, outcome in enumerate(ordered):
        verb = _VERBS[outcome][0 if i == 0 else 1].format(ref=reference_label, margin=margin_words(margin))
        clauses.append(f"{verb} {_ranges_text(groups[outcome], ladder, full_size)}")
    if len(clauses) > 1:
        clauses[-1] = "and " + clauses[-1]
    return f"{label} " + (", " if len(clauses) > 2 else " ").join(clauses) + "."


def best_sentence(best: pd.DataFrame, labels: Mapping[str, str], ladder: Sequence[int], full_size: int | None) -> str:
    """Which column is best on validation at each size of one dataset (``best_by_size`` rows),
    consecutive sizes with the same best column merged."""
    if best.empty:
        return "No column was run."
    parts = []
    for column, group in best.groupby("column", sort=False):
        counts = sorted(set(group["n_columns"]))
        among = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        parts.append(
            (
                int(group["per_class"].min()),
                f"{labels.get(column, column)} {_ranges_text(group['per_class'], ladder, full_size)} "
                f"(among {among} columns)",
            )
        )
    return "Best on validation: " + "; ".join(text for _, text in sorted(parts)) + "."


def best_lines(best: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """Markdown, one line per dataset: which column is best on validation at each size (``best_sentence``)."""
    ladders, full_sizes = _ladders(best)
    return "\n".join(
        f"- **{dataset}**: {best_sentence(best[best['dataset'] == dataset], labels, ladder, full_sizes[dataset])}"
        for dataset, ladder in ladders.items()
    )


def curve_sentences(
    comparisons: pd.DataFrame,
    best: pd.DataFrame,
    labels: Mapping[str, str],
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
) -> str:
    """Markdown, per dataset: for each reference, one sentence per column naming the size ranges (in
    samples per class) where it is better than, equivalent to, worse than or inconclusive against
    the reference (``size_comparisons``), then which column is best on validation at each size
    (``best_by_size``). Consecutive sizes with the same outcome are merged into a range; a size at
    which a comparison was not made breaks a range."""
    ladders, full_sizes = _ladders(comparisons, best)
    best_rule = "The best column at each size is chosen on validation accuracy, never on test."
    parts = [f"{comparison_rules(margin, alpha)} {best_rule}"]
    for dataset in sorted(ladders):
        ladder, full_size = ladders[dataset], full_sizes[dataset]
        heading = f"### {dataset}"
        if full_size is not None:
            heading += f" (full set: {full_size} per class)"
        parts.append(heading)
        rows = comparisons[comparisons["dataset"] == dataset]
        for reference in dict.fromkeys(rows["reference"]):
            against = rows[rows["reference"] == reference]
            reference_label = labels.get(reference, reference)
            lines = [
                "- "
                + comparison_sentence(group, labels.get(column, column), reference_label, ladder, full_size, margin)
                for column, group in against.groupby("column", sort=False)
            ]
            parts.append(f"**Against {reference_label}**\n\n" + "\n".join(lines))
        parts.append(best_sentence(best[best["dataset"] == dataset], labels, ladder, full_size))
    return "\n\n".join(parts) + "\n"


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def headline(
    comparisons: pd.DataFrame,
    labels: Mapping[str, str],
    biological: Sequence[str],
    normal: str = "normal",
    trained: str = "fully_trained",
) -> str:
    """The sizes, if any, at which a biological frozen column (``biological``) beats *both* the normal
    layer (``normal``) and full training (``trained``): both comparisons "supported" in
    ``size_comparisons``, with the mean paired differences and their 95% intervals; otherwise a
    sentence that there is none, saying up to which size full training was compared."""
    normal_label, trained_label = labels.get(normal, normal), labels.get(trained, trained)
    keys = ["dataset", "column", "per_class"]
    wins = comparisons[comparisons["column"].isin(biological) & (comparisons["outcome"] == "supported")]
    both = wins[wins["reference"] == normal].merge(
        wins[wins["reference"] == trained], on=keys, suffixes=("_normal", "_trained")
    )
    both = both.sort_values(keys, kind="stable")
    compared = comparisons[comparisons["reference"] == trained]
    reach = "; ".join(
        f"on {dataset} up to " + ("the full set" if g["full"].any() else f"{int(g['per_class'].max())} per class")
        for dataset, g in compared.groupby("dataset", sort=True)
    )
    scope = f"full training was compared {reach}" if reach else "full training was not compared at any size"
    if both.empty:
        return (
            f"At no size does a biological frozen sampler beat both {normal_label} and {trained_label} "
            f"(both paired comparisons significant after Holm; {scope}).\n"
        )
    lines = [f"Sizes at which a biological frozen sampler beats both {normal_label} and {trained_label} ({scope}):"]
    for _, row in both.iterrows():
        where = range_text([int(row["per_class"])], int(row["per_class"]) if row["full_normal"] else None)
        lines.append(
            f"- {row['dataset']}, {where}: {labels.get(row['column'], row['column'])} beats {normal_label} by "
            f"{_signed(row['mean_diff_normal'])} points (95% CI [{_signed(row['ci95_low_normal'])}, "
            f"{_signed(row['ci95_high_normal'])}]) and {trained_label} by {_signed(row['mean_diff_trained'])} points "
            f"(95% CI [{_signed(row['ci95_low_trained'])}, {_signed(row['ci95_high_trained'])}])."
        )
    return "\n".join(lines) + "\n"


__all__ = [
    "BEST_COLUMNS",
    "COMPARISON_COLUMNS",
    "DEFAULT_REFERENCES",
    "FRAME_COLUMNS",
    "NOT_RUN",
    "TABLE_COLUMNS",
    "best_by_size",
    "best_lines",
    "best_sentence",
    "comparison_rules",
    "comparison_sentence",
    "curve_frame",
    "curve_sentences",
    "curve_table",
    "curve_table_markdown",
    "headline",
    "range_text",
    "size_comparisons",
    "size_label",
    "size_ranges",
]
