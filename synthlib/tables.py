"""Result tables from run records: mean, std, 95% interval per (dataset, method), beside the paper.

Seeds that share a draw (training subset, kernels, initial weights) count as one independent run
(``synthlib.stats.independent_draws``): where a column or a comparison has only one, the tables give
no interval and no test, since its seeds measure minibatch order and flips only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from synthlib.paper import paper_table1
from synthlib.records import RunRecord
from synthlib.selection import SELECTION_LABELS, grid_edges, select_setting
from synthlib.stats import draw_seed, mean_per_draw, t_interval

if TYPE_CHECKING:
    from synthlib.protocols import Protocol

TABLE1_COLUMNS = [
    "dataset", "method", "n_seeds", "n_draws", "seeds", "mean", "std", "ci95_low", "ci95_high",
    "paper_mean", "paper_std", "diff_vs_paper",
]  # fmt: skip


def records_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: dataset, method, seed, the seed of its draws (``stats.draw_seed``), test and
    validation accuracy in percent."""
    return pd.DataFrame(
        [
            {
                "dataset": r.dataset,
                "method": r.method,
                "seed": r.seed,
                "draw_seed": draw_seed(r),
                "test_accuracy": 100 * r.test_accuracy,
                "val_accuracy": 100 * r.val_accuracy,
                "wall_time_s": r.timing.get("wall_time_s", np.nan),
            }
            for r in records
        ],
        columns=["dataset", "method", "seed", "draw_seed", "test_accuracy", "val_accuracy", "wall_time_s"],
    )


def summarise(records: Sequence[RunRecord], method_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Table 1 rows: per (dataset, method) n_seeds, n_draws (independent draws), mean, std (ddof 1),
    95% t-interval over the independent draws (NaN with a single draw), the paper's mean and std, and
    the difference (ours - paper), all in percent."""
    runs = records_frame(records)
    rows = []
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=False):
        values = group["test_accuracy"].to_numpy()
        n_draws = group["draw_seed"].nunique()
        low, high = t_interval(mean_per_draw(values, group["draw_seed"].to_numpy())) if n_draws > 1 else (np.nan,) * 2
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "n_seeds": len(values),
                "n_draws": n_draws,
                "seeds": " ".join(str(s) for s in sorted(group["seed"])),
                "mean": values.mean(),
                "std": values.std(ddof=1) if len(values) > 1 else float("nan"),
                "ci95_low": low,
                "ci95_high": high,
            }
        )
    table = pd.DataFrame(rows, columns=TABLE1_COLUMNS[:9]).merge(paper_table1(), on=["dataset", "method"], how="left")
    table["diff_vs_paper"] = table["mean"] - table["paper_mean"]
    if method_order is not None:
        order = list(dict.fromkeys([*method_order, *table["method"]]))  # unlisted methods go last
        table["method"] = pd.Categorical(table["method"], categories=order, ordered=True)
        table = table.sort_values(["dataset", "method"]).reset_index(drop=True)
        table["method"] = table["method"].astype(str)
    return table[TABLE1_COLUMNS]


def table1_markdown(table: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """A reader's Table 1: ours (mean +- std, n) beside the paper's, one row per dataset and method."""
    labels = labels or {}
    extra = {}
    if "selection" in table:
        extra["chosen on"] = [SELECTION_LABELS.get(s, s) for s in table["selection"]]
    if "setting" in table and (table["setting"] != "").any():
        extra["setting"] = table["setting"]
    shown = pd.DataFrame(
        {
            "dataset": table["dataset"],
            **extra,
            "method": [labels.get(m, m) for m in table["method"]],
            "ours (mean ± std)": [f"{m:.2f} ± {s:.2f}" for m, s in zip(table["mean"], table["std"])],
            "seeds": table["n_seeds"],
            "95% CI": [
                interval_cell(lo, hi, n) for lo, hi, n in zip(table["ci95_low"], table["ci95_high"], table["n_draws"])
            ],
            "paper": [
                f"{m:.2f} ± {s:.2f}" if pd.notna(m) else "—" for m, s in zip(table["paper_mean"], table["paper_std"])
            ],
            "ours − paper": [f"{d:+.2f}" if pd.notna(d) else "—" for d in table["diff_vs_paper"]],
        }
    )
    if "edge" in table and (table["edge"] != "").any():
        shown["setting at an edge"] = [note or "—" for note in table["edge"]]
    return shown.to_markdown(index=False, disable_numparse=True) + "\n"


def interval_cell(low: float, high: float, n_draws: int) -> str:
    """A table cell for an interval: "[low, high]", or "1 draw" where the runs share one draw."""
    return "1 draw" if n_draws < 2 else f"[{low:.2f}, {high:.2f}]"


def protocol_table(
    records: Sequence[RunRecord],
    protocol: Protocol,
    edges: Mapping[str, Mapping[tuple[str, str], str]] | None = None,
) -> pd.DataFrame:
    """``summarise`` for one protocol, in its column order. For a grid of settings, two blocks of rows:
    the setting chosen per column on the test set (``selection="test"``) and on validation
    (``"validation"``), with the chosen ``setting``; otherwise the rows as they are. ``edge`` notes a
    chosen setting still at an edge of its searched range: from ``edges`` (``Protocol.edge_notes``, per
    variant), or for a grid from its records."""
    order = protocol.column_order()
    if protocol.selection != "grid":
        notes = (edges or {}).get(protocol.name, {})
        table = summarise(records, order).assign(selection="validation", setting="")
        table["edge"] = [notes.get((d, m), "") for d, m in zip(table["dataset"], table["method"])]
        return table
    blocks = []
    for by in ("test", "validation"):
        kept, chosen = select_setting(records, by)
        table = summarise(kept, order).assign(selection=by)
        table["setting"] = [chosen.get((d, m), "") for d, m in zip(table["dataset"], table["method"])]
        notes = grid_edges(records, chosen)
        table["edge"] = [notes.get((d, m), "") for d, m in zip(table["dataset"], table["method"])]
        blocks.append(table)
    return (
        pd.concat(blocks, ignore_index=True).sort_values(["dataset", "selection"], kind="stable").reset_index(drop=True)
    )


def paired_runs(runs: pd.DataFrame, a: str, b: str) -> tuple[pd.DataFrame, np.ndarray]:
    """For one dataset's runs (``records_frame`` rows): the test accuracies of columns ``a`` and ``b``
    (columns of the frame, one row per seed both ran), and per seed the draw that counts as its
    independent run: the draw seed of whichever column has fewer distinct draws (``a`` on ties), so
    that a comparison has no more independent runs than its less varied column."""
    accuracy = runs.pivot_table(index="seed", columns="method", values="test_accuracy", aggfunc="mean")
    draws = runs.pivot_table(index="seed", columns="method", values="draw_seed", aggfunc="first")
    both = accuracy[[a, b]].dropna()
    paired_draws = draws.loc[both.index, [a, b]]
    fewer = a if paired_draws[a].nunique() <= paired_draws[b].nunique() else b
    return both, paired_draws[fewer].to_numpy()


def paired_comparisons(
    records: Sequence[RunRecord], pairs: Sequence[tuple[str, str]] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Every pair of columns (or ``pairs``) per dataset, compared on the seeds both ran (paired: the
    same seed means the same subset): mean difference a - b in points, the number of independent
    draws (``paired_runs``), and over the draws (seeds that share one averaged) the t-interval, the
    paired t statistic and two-sided p-value (``scipy.stats.ttest_1samp`` of the differences, the
    same as ``ttest_rel``) and the Wilcoxon signed-rank p-value. With a single draw the interval and
    the tests are NaN: the seeds then measure minibatch order and flips, not the columns.

    The p-values are *unadjusted*: each pair alone, with no correction for the many pairs compared
    (``comparisons_markdown`` labels them so). The claims are judged with a correction, within their
    families, by ``synthlib.verdict.claim_table``.
    """
    runs = records_frame(records)
    rows = []
    for dataset, group in runs.groupby("dataset", sort=True):
        methods = list(dict.fromkeys(group["method"]))
        wanted = pairs or [(a, b) for i, a in enumerate(methods) for b in methods[i + 1 :]]
        for a, b in wanted:
            if a not in methods or b not in methods:
                continue
            both, draws = paired_runs(group, a, b)
            diff = (both[a] - both[b]).to_numpy()
            per_draw = mean_per_draw(diff, draws)
            n, n_draws = len(diff), len(per_draw)
            row = {"dataset": dataset, "a": a, "b": b, "n": n, "n_draws": n_draws}
            row |= {"mean_a": both[a].mean(), "mean_b": both[b].mean(), "diff": diff.mean() if n else float("nan")}
            row["ci95_low"], row["ci95_high"] = t_interval(per_draw, confidence) if n_draws > 1 else (np.nan,) * 2
            constant = n_draws < 2 or np.allclose(per_draw, per_draw[0])
            if constant:  # t is undefined for identical differences
                row["t"], row["p_ttest"] = float("nan"), float("nan")
            else:
                result = stats.ttest_1samp(per_draw, 0.0)
                row["t"], row["p_ttest"] = float(result.statistic), float(result.pvalue)
            wilcoxon = n_draws >= 6 and np.any(per_draw != 0)
            row["p_wilcoxon"] = float(stats.wilcoxon(per_draw).pvalue) if wilcoxon else float("nan")
            rows.append(row)
    columns = [
        "dataset",
        "a",
        "b",
        "n",
        "n_draws",
        "mean_a",
        "mean_b",
        "diff",
        "ci95_low",
        "ci95_high",
        "t",
        "p_ttest",
        "p_wilcoxon",
    ]
    return pd.DataFrame(rows, columns=columns)


UNADJUSTED_LABELS = {"p_ttest": "p t-test (unadjusted)", "p_wilcoxon": "p Wilcoxon (unadjusted)"}
"""The headings of ``paired_comparisons``' p-value columns where they are shown."""


def comparisons_markdown(comparisons: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """``paired_comparisons`` as a markdown table: columns by their labels, the p-values headed as
    unadjusted (``UNADJUSTED_LABELS``), then a line that says what that means."""
    shown = comparisons.assign(
        a=[labels.get(m, m) for m in comparisons["a"]], b=[labels.get(m, m) for m in comparisons["b"]]
    ).rename(columns=UNADJUSTED_LABELS)
    return (
        shown.to_markdown(index=False, floatfmt=".4g")
        + "\n\nThe p-values are unadjusted: each pair alone, not corrected for the "
        f"{len(comparisons)} pairs shown. The claims are judged with a correction in `results/verdict_claims.md`."
    )


def variants_long(records_by_variant: Mapping[str, Sequence[RunRecord]], order: Sequence[str]) -> pd.DataFrame:
    """``summarise`` of every protocol variant, stacked, with a ``variant`` column."""
    return pd.concat(
        [summarise(records, order).assign(variant=variant) for variant, records in records_by_variant.items()],
        ignore_index=True,
    )


def protocols_side_by_side(
    long: pd.DataFrame, labels: Mapping[str, str], variant_labels: Mapping[str, str]
) -> pd.DataFrame:
    """All protocol variants beside the paper's Table 1, one row per (dataset, column), one column per
    variant: "mean [95% CI] (n=seeds)", or "mean 1 draw (n=seeds)" where the seeds share one draw.
    ``long`` comes from ``variants_long`` (its row order is kept);
    rows are labelled "dataset · column label"."""
    cells = long.assign(
        cell=[
            f"{m:.2f} {interval_cell(lo, hi, d)} (n={n})"
            for m, lo, hi, n, d in zip(
                long["mean"], long["ci95_low"], long["ci95_high"], long["n_seeds"], long["n_draws"]
            )
        ],
        column=[variant_labels.get(v, v) for v in long["variant"]],
    )
    rows = list(dict.fromkeys(zip(long["dataset"], long["method"])))
    wide = cells.pivot_table(index=["dataset", "method"], columns="column", values="cell", aggfunc="first")
    wide = wide.reindex(
        index=pd.MultiIndex.from_tuples(rows),
        columns=[variant_labels.get(v, v) for v in dict.fromkeys(long["variant"])],
    )
    paper = long.drop_duplicates(["dataset", "method"]).set_index(["dataset", "method"])
    wide.insert(
        0,
        "paper (Table 1)",
        [
            f"{paper.loc[i, 'paper_mean']:.2f} ± {paper.loc[i, 'paper_std']:.2f}"
            if pd.notna(paper.loc[i, "paper_mean"])
            else "—"
            for i in wide.index
        ],
    )
    wide.index = [f"{dataset} · {labels.get(method, method)}" for dataset, method in wide.index]
    return wide.fillna("—")
