"""The verdict matrix: one symbol per comparison, dataset and protocol variant, read from the verdict's table."""

from __future__ import annotations

import ast

import pandas as pd
import pytest

from synthlib.verdict_matrix import NOT_RUN, SYMBOLS, comparison_label, verdict_matrix
from tests.conftest import REPO_ROOT


def row(claim, dataset, a, b, variant, judgement, best_frozen=False):
    return {
        "claim": claim,
        "dataset": dataset,
        "a": a,
        "b": b,
        "best_frozen": best_frozen,
        "variant": variant,
        "margin": 1.0,
        "judgement": judgement,
    }


def cells(matrix: str) -> dict[str, dict[str, str]]:
    """Row label -> column header -> cell, from the Markdown table."""
    lines = [line for line in matrix.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    table = {}
    for line in lines[2:]:
        values = [c.strip() for c in line.strip("|").split("|")]
        table[values[0]] = dict(zip(header[1:], values[1:]))
    return table


@pytest.fixture
def claims() -> pd.DataFrame:
    return pd.DataFrame(
        [
            row("biological_beats_normal", "mnist", "lognormal", "normal", "paper", "supported"),
            row("biological_beats_normal", "mnist", "lognormal", "normal", "sound", "contradicted"),
            row("biological_beats_normal", "cifar10", "lognormal", "normal", "paper", "equivalent"),
            row("biological_beats_normal", "cifar10", "lognormal", "normal", "sound", "inconclusive"),
            row("frozen_beats_trained", "mnist", "center_surround", "fully_trained", "paper", "not judged"),
            row("beats_fixed_baseline", "mnist", "normal", "scattering", "paper", "contradicted", best_frozen=True),
            row("beats_fixed_baseline", "mnist", "lognormal", "scattering", "sound", "supported", best_frozen=True),
        ]
    )


def test_each_cell_shows_the_symbol_of_its_judgement(claims):
    table = cells(verdict_matrix(claims))
    assert table["log-normal > normal"] == {
        "MNIST paper": SYMBOLS["supported"],
        "MNIST sound": SYMBOLS["contradicted"],
        "CIFAR-10 paper": SYMBOLS["equivalent"],
        "CIFAR-10 sound": SYMBOLS["inconclusive"],
    }
    assert table["centre-surround ≥ fully trained"]["MNIST paper"] == SYMBOLS["not judged"]


def test_the_best_frozen_sampler_is_one_row_whichever_sampler_it_is(claims):
    table = cells(verdict_matrix(claims))
    assert table["best frozen > scattering"]["MNIST paper"] == SYMBOLS["contradicted"]
    assert table["best frozen > scattering"]["MNIST sound"] == SYMBOLS["supported"]
    assert not any("log-normal > scattering" in label for label in table)


def test_a_missing_cell_shows_not_run_with_its_legend_entry(claims):
    matrix = verdict_matrix(claims)
    table = cells(matrix)
    assert table["centre-surround ≥ fully trained"]["CIFAR-10 sound"] == NOT_RUN
    assert table["best frozen > scattering"]["CIFAR-10 paper"] == NOT_RUN
    assert f"{NOT_RUN} not run" in matrix
    complete = claims[claims["claim"] == "biological_beats_normal"]
    assert f"{NOT_RUN} not run" not in verdict_matrix(complete)


def test_columns_follow_the_datasets_then_the_variants_order(claims):
    shuffled = claims.iloc[::-1]
    header = verdict_matrix(shuffled).splitlines()[0]
    assert header == "| comparison | MNIST paper | MNIST sound | CIFAR-10 paper | CIFAR-10 sound |"
    unknown = pd.concat(
        [claims, pd.DataFrame([row("biological_beats_normal", "svhn", "lognormal", "normal", "x", "supported")])]
    )
    header = verdict_matrix(unknown).splitlines()[0]
    assert header.endswith("| SVHN paper | SVHN sound | SVHN x |")


def test_the_legend_names_every_symbol_and_the_margin(claims):
    matrix = verdict_matrix(claims)
    legend = matrix.split("\n\n", 1)[1]
    for judgement, symbol in SYMBOLS.items():
        assert f"{symbol} {judgement}" in legend
    assert "±1 point" in legend
    assert "A ≥ row claims" in legend


def test_labels_read_as_the_claim():
    assert comparison_label("biological_beats_normal", "center_surround", "normal", False) == "centre-surround > normal"
    assert comparison_label("frozen_beats_trained", "lognormal", "fully_trained", False) == "log-normal ≥ fully trained"
    assert comparison_label("a_new_claim", "new_sampler", "normal", False) == "new sampler vs normal"


def test_a_bad_table_is_refused(claims):
    with pytest.raises(ValueError, match="two rows"):
        verdict_matrix(pd.concat([claims, claims.iloc[[0]]]))
    with pytest.raises(ValueError, match="unknown judgement"):
        verdict_matrix(claims.assign(judgement="maybe"))
    with pytest.raises(ValueError, match="lacks the columns"):
        verdict_matrix(claims.drop(columns=["judgement"]))


def test_the_committed_matrix_fits_a_laptop_screen():
    matrix = verdict_matrix(pd.read_csv(REPO_ROOT / "results" / "verdict_claims.csv"))
    assert max(len(line) for line in matrix.splitlines()) <= 160
    assert NOT_RUN not in matrix  # every comparison of the committed verdict ran under every variant


def test_the_module_imports_nothing_else_of_the_library():
    """It sits at the top of the library: no import of synthlib can make a cycle through it."""
    tree = ast.parse((REPO_ROOT / "synthlib" / "verdict_matrix.py").read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names] + [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ]
    assert [name for name in imported if name.startswith("synthlib")] == []
