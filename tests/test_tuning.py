"""Hyperparameter selection on validation data: the choice rule, the search until the choice is
interior (on a known response surface), the cache, the edge notes."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from synthlib import tuning
from synthlib.columns import PAPER_METHODS
from synthlib.data import load_dataset
from synthlib.protocols import get_protocol
from synthlib.stopping import Halving
from synthlib.training import TrainConfig
from synthlib.tuning import (
    SETTING_COLUMNS,
    TuningGrid,
    TuningRequest,
    TuningResult,
    load_tuning,
    select_settings,
    tune,
)
from tests.conftest import REPO_ROOT

SMALL = TuningGrid(
    input_norms=("standardize",),
    learning_rates=(1e-3, 3e-3),
    weight_decays=(0.0,),
    epochs=(2, 4),
    seeds=(1000,),
    max_extensions=0,
)


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


def surface(peak: dict[str, float]):
    """A stand-in for ``score_points``: validation accuracy falls with the log-distance of learning rate,
    weight decay and epochs from ``peak`` (a weight decay of 0 counts as 1e-5), and is higher for the
    "unit" input normalisation; it records every (point, epochs) it was asked to score."""
    asked: list[tuple] = []

    def score(points, epochs, checkpoints, methods, grid, splits, arch, options, progress=None):
        rows = []
        for norm, lr, wd in points:
            for checkpoint in checkpoints:
                asked.append((norm, lr, wd, checkpoint))
                distance = (
                    abs(math.log10(lr / peak["learning_rate"]))
                    + abs(math.log10(max(wd, 1e-5) / max(peak["weight_decay"], 1e-5)))
                    + abs(math.log2(checkpoint / peak["epochs"]))
                )
                setting = TrainConfig(grid.optimizer, lr, wd, checkpoint, grid.batch_size, input_norm=norm)
                for method in methods:
                    for seed in grid.seeds:
                        value = 0.9 - 0.05 * distance - (0.01 if norm == "standardize" else 0.0)
                        rows.append(
                            {"method": method.name, "regime": method.regime, "seed": seed, **setting.to_dict(),
                             "val_accuracy": value}
                        )  # fmt: skip
        return rows

    return score, asked


def search(monkeypatch, peak, grid=TuningGrid(seeds=(1000, 1001))):
    score, asked = surface(peak)
    monkeypatch.setattr(tuning, "score_points", score)
    splits = tuning.SplitCache(load_dataset("synthetic_gray"), 4, 4, "cpu")
    _, chosen, statuses = tuning.search_regime(PAPER_METHODS[:2], grid, splits, None, None, lambda _: None, False)
    return chosen, statuses, asked


def test_search_extends_each_axis_until_the_choice_is_interior(monkeypatch):
    """The optimum lies outside the starting grid on every axis: learning rate above it, weight decay
    above it, epochs above it; the search walks there and scores both neighbours of each choice."""
    chosen, statuses, asked = search(monkeypatch, {"learning_rate": 3e-2, "weight_decay": 1e-1, "epochs": 800})
    assert (chosen.learning_rate, chosen.weight_decay, chosen.epochs, chosen.input_norm) == (3e-2, 1e-1, 800, "unit")
    assert statuses == {"learning_rate": "interior", "weight_decay": "interior", "epochs": "interior"}
    for neighbour in [("unit", 1e-2, 1e-1, 800), ("unit", 1e-1, 1e-1, 800), ("unit", 3e-2, 1e-2, 800),
                      ("unit", 3e-2, 1.0, 800), ("unit", 3e-2, 1e-1, 400), ("unit", 3e-2, 1e-1, 1600),
                      ("standardize", 3e-2, 1e-1, 800)]:  # fmt: skip
        assert neighbour in asked
    assert ("standardize", 1e-1, 1.0, 1600) not in asked  # only the chosen setting's neighbours


def test_search_stops_at_a_hard_limit_and_flags_an_edge_it_cannot_pass(monkeypatch):
    """Weight decay 0 is a hard limit; a learning rate optimum four rungs below the grid is beyond the
    three extensions allowed, so the choice stays at an edge, reported as such."""
    chosen, statuses, _ = search(monkeypatch, {"learning_rate": 1e-6, "weight_decay": 0.0, "epochs": 50})
    assert chosen.weight_decay == 0.0 and chosen.epochs == 50
    assert chosen.learning_rate == 1e-5  # 3e-4 -> 1e-4 -> 3e-5 -> 1e-5, then no further
    assert statuses == {"learning_rate": "edge", "weight_decay": "hard limit", "epochs": "interior"}


def test_edge_notes_name_each_choice_at_an_edge():
    result = TuningResult(
        "mnist",
        {"frozen": TrainConfig(learning_rate=1e-5)},
        pd.DataFrame(),
        "hash",
        baseline_c={"scattering": 1e-6},
        edges={"frozen": {"learning_rate": "edge", "epochs": "interior"}, "scattering": {"C": "edge"}},
    )
    assert result.edge_notes() == [
        "frozen: learning_rate = 1e-05 is at the edge of the range searched",
        "scattering: C = 1e-06 is at the edge of the range searched",
    ]
    assert TuningResult.from_json(result.to_json()).edges == result.edges


@pytest.mark.slow
def test_tune_chooses_on_validation_writes_and_reuses(tmp_path):
    data = load_dataset("synthetic_gray")
    path = tmp_path / "tuning.json"
    logs: list[str] = []
    request = TuningRequest("synthetic_gray", PAPER_METHODS, SMALL, per_class=10, val_per_class=5)
    first = tune(data, request, path, log=logs.append)
    assert set(first.selected) == {"frozen", "trained"}
    assert len(first.scores) == len(PAPER_METHODS) * 2 * 2  # methods x learning rates x epochs
    assert first.edges["frozen"]["learning_rate"] in ("edge", "interior")
    assert first.selected["frozen"].epochs in SMALL.epochs
    assert load_tuning(path).selected == first.selected
    again = tune(data, request, path, log=logs.append)
    assert logs[-1].endswith(f"reused {path.name}") and again.selected == first.selected
    other = TuningGrid(**{**SMALL.to_dict(), "epochs": (3,)})
    changed = tune(data, replace(request, grid=other), path, log=logs.append)
    assert changed.selected["frozen"].epochs == 3  # a different request is recomputed, not reused


def test_tuning_needs_a_validation_split():
    with pytest.raises(ValueError, match="val_per_class"):
        TuningRequest("synthetic_gray", PAPER_METHODS, SMALL, per_class=10, val_per_class=0)


def test_a_tuning_request_hashes_as_committed_tuning_results_were_keyed():
    """The request's hash is the key of every committed tuning result: the current code reproduces it
    from the protocol's own request, so the committed results are reused, not recomputed."""
    for name in ("paper", "sound"):
        protocol = get_protocol(name)
        for dataset in ("mnist", "cifar10"):
            committed = load_tuning(protocol.tuning_path(REPO_ROOT / "results", dataset))
            fixed = {"trained": committed.selected["trained"]} if protocol.trained_setting_from else {}
            request = TuningRequest(
                dataset,
                protocol.methods,
                protocol.tuning_grid,
                protocol.per_class,
                protocol.val_per_class,
                protocol.arch,
                protocol.options,
                protocol.baselines,
                protocol.baseline_cs,
                fixed,
            )
            assert request.hash() == committed.request_hash, (name, dataset)


def test_missing_tuning_file_names_the_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="03_tuning"):
        load_tuning(tmp_path / "absent.json")


def test_a_neighbour_within_one_standard_error_does_not_move_the_choice(monkeypatch):
    """Learning rate 1e-2 beats the grid's best, 3e-3, on the mean but by less than the standard error of
    their paired difference over the two tuning seeds (+0.5 and -0.3 points): the choice stays at 3e-3, and
    the search does not walk further; 3e-2, which would win by far, is never scored."""

    def score(points, epochs, checkpoints, methods, grid, splits, arch, options, progress=None):
        rows = []
        for norm, lr, wd in points:
            for checkpoint in checkpoints:
                setting = TrainConfig(grid.optimizer, lr, wd, checkpoint, grid.batch_size, input_norm=norm)
                for method in methods:
                    for seed in grid.seeds:
                        value = 0.80 + (0.01 if lr >= 3e-3 else 0.0) + (0.01 if checkpoint == 100 else 0.0)
                        value += {1e-2: {1000: 0.005, 1001: -0.003}, 3e-2: {1000: 0.2, 1001: 0.2}}.get(lr, {}).get(
                            seed, 0.0
                        )
                        value -= 0.02 if (norm, wd) != ("unit", 0.0) else 0.0
                        rows.append(
                            {"method": method.name, "regime": method.regime, "seed": seed, **setting.to_dict(),
                             "val_accuracy": value}
                        )  # fmt: skip
        return rows

    monkeypatch.setattr(tuning, "score_points", score)
    splits = tuning.SplitCache(load_dataset("synthetic_gray"), 4, 4, "cpu")
    grid = TuningGrid(seeds=(1000, 1001))
    frame, chosen, statuses = tuning.search_regime(PAPER_METHODS[:1], grid, splits, None, None, lambda _: None, False)
    assert (chosen.learning_rate, chosen.epochs, chosen.input_norm, chosen.weight_decay) == (
        3e-3,
        100,
        "unit",
        0.0,
    )
    assert statuses["learning_rate"] == "interior" and 1e-2 in set(frame["learning_rate"])
    assert 3e-2 not in set(frame["learning_rate"])


def halving_table() -> pd.DataFrame:
    """Four learning rates scored at 1, 2 and 4 epochs on two seeds: 1e-4 learns slowly but ends best."""
    curves = {1e-4: (0.1, 0.2, 0.9), 3e-4: (0.5, 0.6, 0.7), 1e-3: (0.6, 0.65, 0.66), 3e-3: (0.4, 0.3, 0.2)}
    rows = []
    for lr, values in curves.items():
        for epochs, value in zip((1, 2, 4), values):
            for seed, shift in ((1000, 0.0), (1001, 0.02)):
                setting = TrainConfig(learning_rate=lr, epochs=epochs, input_norm="unit")
                rows.append(
                    {
                        "method": "m",
                        "regime": "frozen",
                        "seed": seed,
                        **setting.to_dict(),
                        "val_accuracy": value + shift,
                    }
                )
    return pd.DataFrame(rows)


HALVING_GRID = TuningGrid(
    input_norms=("unit",), learning_rates=(1e-4, 3e-4, 1e-3, 3e-3), weight_decays=(0.0,), epochs=(1, 2, 4),
    seeds=(1000, 1001), max_extensions=0,
)  # fmt: skip


def epochs_reached(rows: list[dict]) -> dict[float, int]:
    """The last epoch scored of each learning rate in ``rows``."""
    reached: dict[float, int] = {}
    for row in rows:
        reached[row["learning_rate"]] = max(reached.get(row["learning_rate"], 0), row["epochs"])
    return reached


def test_successive_halving_keeps_the_best_fraction_at_each_rung():
    """eta 2 on four settings: two go on after epoch 1 (3e-4, 1e-3), one after epoch 2 (1e-3); the slow
    learner 1e-4, best at 4 epochs, is dropped at the first rung (halving's known cost)."""
    table = tuning.TableScoring(halving_table(), n_runs_per_point=2)
    points = [("unit", lr, 0.0) for lr in (1e-4, 3e-4, 1e-3, 3e-3)]
    rows = tuning.score_with_halving(table.advance, points, (1, 2, 4), Halving(eta=2))
    reached = epochs_reached(rows)
    assert reached == {1e-4: 1, 3e-4: 2, 1e-3: 4, 3e-3: 1}
    assert table.epochs == 2 * (1 + 2 + 4 + 1)  # two runs (seeds) per setting
    [replay] = tuning.replay_grid_halving(halving_table(), HALVING_GRID, Halving(eta=2))
    assert (replay.chosen.learning_rate, replay.chosen.epochs) == (1e-4, 4)
    assert (replay.chosen_with_halving.learning_rate, replay.chosen_with_halving.epochs) == (1e-3, 4)
    assert replay.val_accuracy_with_halving == pytest.approx(0.67)
    assert replay.val_accuracy == pytest.approx(0.91) and replay.epochs == 2 * 4 * 4
    assert replay.epochs_saved == pytest.approx(1 - 16 / 32)


def test_no_setting_is_dropped_before_the_first_rung():
    """eta 2 from epoch 2 on: all four settings train to 2 epochs (from epoch 1 on, two stop at epoch 1); then
    1e-4 (0.2) and 3e-3 stop and 3e-4 and 1e-3 go on. The rule is stated in words."""
    table = tuning.TableScoring(halving_table(), n_runs_per_point=2)
    points = [("unit", lr, 0.0) for lr in (1e-4, 3e-4, 1e-3, 3e-3)]
    rows = tuning.score_with_halving(table.advance, points, (1, 2, 4), Halving(eta=2, first_rung=2))
    reached = epochs_reached(rows)
    assert reached == {1e-4: 2, 3e-4: 4, 1e-3: 4, 3e-3: 2}
    assert table.epochs == 2 * (2 + 4 + 4 + 2)
    # a first rung past the last checkpoint drops nothing: the whole grid, the choice without halving
    [replay] = tuning.replay_grid_halving(halving_table(), HALVING_GRID, Halving(eta=2, first_rung=4))
    assert replay.same_choice and replay.epochs_saved == 0
    assert Halving(eta=3, first_rung=50).describe() == (
        "successive halving, eta 3 (the best 1/3 go on at each rung), from 50 epochs on"
    )
    with pytest.raises(ValueError, match="first rung"):
        Halving(eta=2, first_rung=-1)


def test_halving_is_absent_from_the_request_hash_unless_set():
    request = TuningRequest("synthetic_gray", PAPER_METHODS, SMALL, per_class=10, val_per_class=5)
    assert replace(request, halving=None).hash() == request.hash()
    assert replace(request, halving=Halving(eta=2)).hash() != request.hash()
    assert replace(request, halving=Halving(eta=2, first_rung=2)).hash() != replace(request, halving=Halving(2)).hash()
    with pytest.raises(ValueError, match="eta"):
        Halving(eta=1)
    with pytest.raises(TypeError, match="Halving"):
        replace(request, halving=2)


def test_tune_with_halving_trains_only_the_survivors(tmp_path):
    """A real search with eta 2 on two learning rates: at the one rung (2 epochs) one setting per regime
    stops, so the scores hold 3 of the 4 (setting, epochs) per method."""
    data = load_dataset("synthetic_gray")
    request = TuningRequest(
        "synthetic_gray", PAPER_METHODS, SMALL, per_class=10, val_per_class=5, halving=Halving(eta=2)
    )
    result = tune(data, request, tmp_path / "tuning.json", log=lambda _: None)
    assert len(result.scores) == len(PAPER_METHODS) * 3
    assert set(result.selected) == {"frozen", "trained"}
