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
    shown = pd.DataFrame(
        {
            "dataset": table["dataset"],
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
