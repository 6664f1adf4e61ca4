"""The published reference values: Table 1 of Karimi et al. (CCN 2017, arXiv 1707.00081).

Test accuracy in percent, mean and std over 3 runs, 38 training images per class. These are the
paper's numbers, kept only to compare the study's own results against; nothing is computed from them.
"""

from __future__ import annotations

import pandas as pd

PAPER_TABLE1: dict[tuple[str, str], tuple[float, float]] = {
    ("cifar10", "normal"): (19.83, 0.74),
    ("cifar10", "lognormal"): (25.67, 0.17),
    ("cifar10", "center_surround"): (26.40, 0.74),
    ("cifar10", "fully_trained"): (20.37, 0.62),
    ("mnist", "normal"): (72.52, 0.21),
    ("mnist", "lognormal"): (80.89, 0.45),
    ("mnist", "center_surround"): (78.08, 1.19),
    ("mnist", "fully_trained"): (79.01, 1.39),
    ("svhn", "normal"): (26.40, 0.22),
    ("svhn", "lognormal"): (30.32, 0.17),
    ("svhn", "center_surround"): (30.86, 0.57),
    ("svhn", "fully_trained"): (27.70, 1.79),
}


def paper_table1() -> pd.DataFrame:
    """The paper's Table 1 as rows (dataset, method, paper_mean, paper_std), in percent."""
    return pd.DataFrame(
        [(d, m, mean, std) for (d, m), (mean, std) in PAPER_TABLE1.items()],
        columns=["dataset", "method", "paper_mean", "paper_std"],
    )
