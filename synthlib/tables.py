"""Result tables from run records: mean, std, 95% interval per (dataset, method), beside the paper."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from synthlib.paper import paper_table1
from synthlib.records import RunRecord

TABLE1_COLUMNS = [
    "dataset", "method", "n_seeds", "seeds", "mean", "std", "ci95_low", "ci95_high",
    "paper_mean", "paper_std", "diff_vs_paper",
]  # fmt: skip


def records_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: dataset, method, seed, test and validation accuracy in percent."""
    return pd.DataFrame(
        [
            {
                "dataset": r.dataset,
                "method": r.method,
                "seed": r.seed,
                "test_accuracy": 100 * r.test_accuracy,
                "val_accuracy": 100 * r.val_accuracy,
                "wall_time_s": r.timing.get("wall_time_s", np.nan),
            }
            for r in records
        ],
        columns=["dataset", "method", "seed", "test_accuracy", "val_accuracy", "wall_time_s"],
    )


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean (scipy.stats); NaNs for fewer than two values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    if np.all(values == values[0]):  # no spread: the interval is the point itself
        return float(values[0]), float(values[0])
    low, high = stats.t.interval(confidence, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return float(low), float(high)


def summarise(records: Sequence[RunRecord], method_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Table 1 rows: per (dataset, method) n_seeds, mean, std (ddof 1), 95% t-interval, the paper's
    mean and std, and the difference (ours - paper), all in percent."""
    runs = records_frame(records)
    rows = []
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=False):
        values = group["test_accuracy"].to_numpy()
        low, high = t_interval(values)
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "n_seeds": len(values),
                "seeds": " ".join(str(s) for s in sorted(group["seed"])),
                "mean": values.mean(),
                "std": values.std(ddof=1) if len(values) > 1 else float("nan"),
                "ci95_low": low,
                "ci95_high": high,
            }
        )
    table = pd.DataFrame(rows, columns=TABLE1_COLUMNS[:8]).merge(paper_table1(), on=["dataset", "method"], how="left")
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
            "95% CI": [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(table["ci95_low"], table["ci95_high"])],
            "paper": [
                f"{m:.2f} ± {s:.2f}" if pd.notna(m) else "—" for m, s in zip(table["paper_mean"], table["paper_std"])
            ],
            "ours − paper": [f"{d:+.2f}" if pd.notna(d) else "—" for d in table["diff_vs_paper"]],
        }
    )
    return shown.to_markdown(index=False, disable_numparse=True) + "\n"


SELECTION_LABELS = {"test": "test set (as the authors)", "validation": "validation split"}


def protocol_table(records: Sequence[RunRecord], grid: bool, method_order: Sequence[str] | None = None) -> pd.DataFrame:
    """``summarise`` for one protocol. For a grid of settings, two blocks of rows: the setting chosen
    per column on the test set (``selection="test"``) and on validation (``"validation"``), with the
    chosen ``setting``; otherwise the rows as they are (``selection="validation"``)."""
    if not grid:
        return summarise(records, method_order).assign(selection="validation", setting="")
    blocks = []
    for by in ("test", "validation"):
        kept, chosen = select_setting(records, by)
        table = summarise(kept, method_order).assign(selection=by)
        table["setting"] = [chosen.get((d, m), "") for d, m in zip(table["dataset"], table["method"])]
        blocks.append(table)
    return (
        pd.concat(blocks, ignore_index=True).sort_values(["dataset", "selection"], kind="stable").reset_index(drop=True)
    )


def select_setting(records: Sequence[RunRecord], by: str) -> tuple[list[RunRecord], dict[tuple[str, str], str]]:
    """For records of a grid of settings: per (dataset, method) keep the setting whose mean accuracy
    over seeds is highest on ``by`` = ``"test"`` (what the authors' code did: test-set selection)
    or ``"validation"``; ties go to the first setting in name order. Records without a setting are
    kept as they are. Returns the kept records and the chosen setting per (dataset, method).
    """
    if by not in SELECTION_LABELS:
        raise ValueError(f"unknown selection {by!r}; valid values are: {', '.join(SELECTION_LABELS)}")
    key = "test_accuracy" if by == "test" else "val_accuracy"
    frame = pd.DataFrame(
        [{"dataset": r.dataset, "method": r.method, "setting": r.setting, "score": getattr(r, key)} for r in records],
        columns=["dataset", "method", "setting", "score"],
    )
    chosen: dict[tuple[str, str], str] = {}
    for (dataset, method), group in frame[frame["setting"] != ""].groupby(["dataset", "method"], sort=True):
        means = group.groupby("setting", sort=True)["score"].mean()
        chosen[(str(dataset), str(method))] = str(means.index[int(means.to_numpy().argmax())])
    kept = [r for r in records if not r.setting or chosen.get((r.dataset, r.method)) == r.setting]
    return kept, chosen


def paired_comparisons(
    records: Sequence[RunRecord], pairs: Sequence[tuple[str, str]] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Every pair of columns (or ``pairs``) per dataset, compared on the seeds both ran (paired: the
    same seed means the same subset): mean difference a - b in points, its t-interval, the paired
    t statistic and two-sided p-value (``scipy.stats.ttest_rel``) and the Wilcoxon signed-rank p-value.
    """
    runs = records_frame(records)
    rows = []
    for dataset, group in runs.groupby("dataset", sort=True):
        wide = group.pivot_table(index="seed", columns="method", values="test_accuracy", aggfunc="mean")
        methods = list(dict.fromkeys(group["method"]))
        wanted = pairs or [(a, b) for i, a in enumerate(methods) for b in methods[i + 1 :]]
        for a, b in wanted:
            if a not in wide or b not in wide:
                continue
            both = wide[[a, b]].dropna()
            diff = (both[a] - both[b]).to_numpy()
            n = len(diff)
            row = {"dataset": dataset, "a": a, "b": b, "n": n, "mean_a": both[a].mean(), "mean_b": both[b].mean()}
            row["diff"] = diff.mean() if n else float("nan")
            row["ci95_low"], row["ci95_high"] = t_interval(diff, confidence)
            constant = n < 2 or np.allclose(diff, diff[0])
            if constant:  # t is undefined for identical differences
                row["t"], row["p_ttest"] = float("nan"), float("nan")
            else:
                result = stats.ttest_rel(both[a], both[b])
                row["t"], row["p_ttest"] = float(result.statistic), float(result.pvalue)
            row["p_wilcoxon"] = float(stats.wilcoxon(diff).pvalue) if n >= 6 and np.any(diff != 0) else float("nan")
            rows.append(row)
    columns = [
        "dataset",
        "a",
        "b",
        "n",
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
