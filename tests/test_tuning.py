"""Hyperparameter selection on validation data: the choice rule, the cache, the grid-edge notes."""

from __future__ import annotations

import pandas as pd
import pytest

from synthlib.columns import PAPER_METHODS
from synthlib.data import load_dataset
from synthlib.training import TrainConfig
from synthlib.tuning import SETTING_COLUMNS, TuningGrid, grid_edges, load_tuning, select_settings, tune

SMALL = TuningGrid(input_norms=("standardize",), learning_rates=(1e-3, 3e-3), weight_decays=(0.0,), epochs=(2, 4))


def scores_row(regime: str, lr: float, val: float, method: str = "m") -> dict:
    return {
        "method": method,
        "regime": regime,
        "seed": 1000,
        **TrainConfig(learning_rate=lr).to_dict(),
        "val_accuracy": val,
    }


def test_select_settings_takes_the_best_mean_per_regime_and_the_first_on_ties():
    scores = pd.DataFrame(
        [
            scores_row("frozen", 1e-3, 0.5, "a"), scores_row("frozen", 1e-3, 0.7, "b"),  # mean 0.6
            scores_row("frozen", 3e-3, 0.9, "a"), scores_row("frozen", 3e-3, 0.2, "b"),  # mean 0.55
            scores_row("trained", 1e-3, 0.4), scores_row("trained", 3e-3, 0.4),  # tie: first wins
        ]
    )  # fmt: skip
    selected = select_settings(scores)
    assert selected["frozen"].learning_rate == 1e-3
    assert selected["trained"].learning_rate == 1e-3
    assert all(type(getattr(selected["frozen"], c)) in (int, float, str) for c in SETTING_COLUMNS)


def test_grid_edges_names_values_at_the_ends_of_an_axis():
    grid = TuningGrid(learning_rates=(1e-4, 1e-3, 1e-2), weight_decays=(0.0,), epochs=(10, 20, 40))
    notes = grid_edges(grid, {"frozen": TrainConfig(learning_rate=1e-2, epochs=20)})
    assert notes == ["frozen: learning_rate = 0.01 is the largest value of the grid [0.0001, 0.001, 0.01]"]


@pytest.mark.slow
def test_tune_chooses_on_validation_writes_and_reuses(tmp_path):
    data = load_dataset("synthetic_gray")
    path = tmp_path / "tuning.json"
    logs: list[str] = []
    first = tune(data, PAPER_METHODS, SMALL, path, per_class=10, val_per_class=5, log=logs.append)
    assert set(first.selected) == {"frozen", "trained"}
    assert len(first.scores) == len(PAPER_METHODS) * 2 * 2  # methods x learning rates x epochs
    assert first.selected["frozen"].epochs in SMALL.epochs
    assert load_tuning(path).selected == first.selected
    again = tune(data, PAPER_METHODS, SMALL, path, per_class=10, val_per_class=5, log=logs.append)
    assert logs[-1].endswith(f"reused {path.name}") and again.selected == first.selected
    other = TuningGrid(**{**SMALL.to_dict(), "epochs": (3,)})
    changed = tune(data, PAPER_METHODS, other, path, per_class=10, val_per_class=5, log=logs.append)
    assert changed.selected["frozen"].epochs == 3  # a different request is recomputed, not reused


def test_tuning_needs_a_validation_split(tmp_path):
    with pytest.raises(ValueError, match="val_per_class"):
        tune(load_dataset("synthetic_gray"), PAPER_METHODS, SMALL, tmp_path / "t.json", per_class=10, val_per_class=0)


def test_missing_tuning_file_names_the_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="03_tuning"):
        load_tuning(tmp_path / "absent.json")
