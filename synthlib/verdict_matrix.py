"""The verdict at a glance: one symbol per comparison, dataset and protocol variant, as a Markdown table.

It reads the verdict's committed table (``results/verdict_claims.csv``, written by ``06_verdict``: one row
per claim, compared pair, dataset and protocol variant, with its ``judgement``) and judges nothing itself:
each cell is the symbol of the row's judgement. The README shows the matrix (``scripts/update_readme.py``
copies it between ``<!-- matrix:start -->`` and ``<!-- matrix:end -->``; a test checks it is this
function's output on the committed table).

The module needs only pandas and imports nothing else of the library, so anything may import it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

SYMBOLS: dict[str, str] = {
    "supported": "✓",
    "contradicted": "✗",
    "equivalent": "=",
    "inconclusive": "?",
    "not judged": "○",
}
"""The symbol of each judgement of ``synthlib.verdict``."""

NOT_RUN = "—"
"""The symbol of a (comparison, dataset, variant) that the table does not hold."""

MEANINGS: dict[str, str] = {
    "supported": "supported (the left side wins)",
    "contradicted": "contradicted (the right side wins)",
    "equivalent": "equivalent (within ±{margin})",
    "inconclusive": "inconclusive (more seeds needed)",
    "not judged": "not judged (the seeds share one draw)",
}

CLAIM_RELATIONS: dict[str, str] = {
    "biological_beats_normal": ">",
    "frozen_beats_trained": "≥",  # "match or beat": equivalence agrees with the claim
    "beats_fixed_baseline": ">",
}
"""How each claim relates its two columns, in the row labels (an unknown claim reads "vs")."""

COLUMN_LABELS: dict[str, str] = {
    "normal": "normal",
    "lognormal": "log-normal",
    "center_surround": "centre-surround",
    "fully_trained": "fully trained",
    "scattering": "scattering",
    "logreg_pixels": "pixels",
}
BEST_FROZEN_LABEL = "best frozen"

DATASET_LABELS: dict[str, str] = {"mnist": "MNIST", "cifar10": "CIFAR-10", "svhn": "SVHN"}

VARIANT_LABELS: dict[str, str] = {
    "paper": "paper",
    "authors_code/test": "code/test",
    "authors_code/validation": "code/val",
    "sound": "sound",
}
"""Short column headers; the variants' order is this one, then any other in the table's order."""


LEGEND_WIDTH = 110
"""The legend's line width in characters (the whole matrix stays under 160, for a laptop screen)."""


def _packed(items: list[str], width: int) -> list[str]:
    """The items joined by spaces into lines of at most ``width`` characters, never splitting an item."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 1 + len(item) <= width:
            lines[-1] += " " + item
        else:
            lines.append(item)
    return lines


def _label(name: str, labels: Mapping[str, str]) -> str:
    return labels.get(name, name.replace("_", " "))


def _flag(value: object) -> bool:
    return str(value).strip().lower() in {"true", "1"}


def comparison_label(claim: str, a: str, b: str, best_frozen: bool) -> str:
    """A row's label, e.g. ``log-normal > normal``; the best frozen sampler reads ``best frozen``."""
    left = BEST_FROZEN_LABEL if best_frozen else _label(a, COLUMN_LABELS)
    return f"{left} {CLAIM_RELATIONS.get(claim, 'vs')} {_label(b, COLUMN_LABELS)}"


def verdict_matrix(claims: pd.DataFrame, datasets: tuple[str, ...] = ("mnist", "cifar10")) -> str:
    """The Markdown matrix of ``claims`` (the columns ``claim``, ``dataset``, ``a``, ``b``, ``best_frozen``,
    ``variant``, ``judgement``; ``margin`` for the legend): one row per compared pair of a claim, one
    column per dataset and variant, then a legend.

    ``datasets`` come first in the given order, then any other dataset of the table. A cell the table does
    not hold shows ``NOT_RUN``; two rows for one cell, or an unknown judgement, raise ``ValueError``.
    """
    missing = {"claim", "dataset", "a", "b", "best_frozen", "variant", "judgement"} - set(claims.columns)
    if missing:
        raise ValueError(f"the verdict table lacks the columns {sorted(missing)}")
    present = list(dict.fromkeys(claims["dataset"]))
    dataset_order = [d for d in datasets if d in present] + [d for d in present if d not in datasets]
    in_table = list(dict.fromkeys(claims["variant"]))
    variant_order = [v for v in VARIANT_LABELS if v in in_table] + [v for v in in_table if v not in VARIANT_LABELS]

    rows: dict[str, dict[tuple[str, str], str]] = {}
    for record in claims.to_dict("records"):
        label = comparison_label(str(record["claim"]), str(record["a"]), str(record["b"]), _flag(record["best_frozen"]))
        judgement = str(record["judgement"])
        if judgement not in SYMBOLS:
            raise ValueError(f"unknown judgement {judgement!r} for {label}")
        cells = rows.setdefault(label, {})
        cell = (str(record["dataset"]), str(record["variant"]))
        if cell in cells:
            raise ValueError(f"two rows for {label} on {cell[0]} under {cell[1]}")
        cells[cell] = SYMBOLS[judgement]

    columns = [(d, v) for d in dataset_order for v in variant_order]
    header = [f"{_label(d, DATASET_LABELS)} {_label(v, VARIANT_LABELS)}" for d, v in columns]
    lines = [
        "| comparison | " + " | ".join(header) + " |",
        "|:--|" + ":-:|" * len(columns),
    ]
    for label, cells in rows.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(c, NOT_RUN) for c in columns) + " |")

    if "margin_fraction" in claims.columns:  # a margin relative to the right side's error rate
        fractions = sorted({f"{100 * float(m):g}" for m in claims["margin_fraction"]})
        margin = f"{fractions[0]}% of the right side's error rate" if len(fractions) == 1 else "the margin"
    else:
        margins = sorted({f"{float(m):g}" for m in claims["margin"]}) if "margin" in claims.columns else []
        margin = f"{margins[0]} point" if len(margins) == 1 else "the margin"
    legend = [f"{SYMBOLS[j]} {MEANINGS[j].format(margin=margin)}" for j in SYMBOLS]
    if any(len(cells) < len(columns) for cells in rows.values()):
        legend.append(f"{NOT_RUN} not run")
    legend = [f"{item}," for item in legend[:-1]] + [f"{legend[-1]}."]
    if any(" ≥ " in label for label in rows):
        legend.append("A ≥ row claims that its left side matches or beats its right: = agrees with it.")
    return "\n".join(lines) + "\n\n" + "\n".join(_packed(legend, LEGEND_WIDTH))


__all__ = ["NOT_RUN", "SYMBOLS", "comparison_label", "verdict_matrix"]
