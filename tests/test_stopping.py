"""The rules that stop training early (``synthlib.stopping``) on tiny hand-made accuracy sequences."""

from __future__ import annotations

import pytest

from synthlib.stopping import (
    EarlyStopping,
    Progress,
    Stopping,
    halving_count,
    halving_survivors,
    observe,
    stop_on,
)


def test_stops_after_patience_epochs_without_a_strict_improvement():
    stopping = stop_on(EarlyStopping(2), [0.5, 0.6, 0.55, 0.58, 0.9], max_epochs=10)
    assert stopping == Stopping(epoch_kept=2, epochs_run=4, stopped_at_max=False, best_validation_accuracy=0.6)


def test_a_tie_does_not_move_the_best_epoch_nor_reset_patience():
    stopping = stop_on(EarlyStopping(2), [0.5, 0.7, 0.7, 0.7], max_epochs=10)
    assert (stopping.epoch_kept, stopping.epochs_run) == (2, 4)


def test_an_improvement_resets_patience():
    stopping = stop_on(EarlyStopping(2), [0.1, 0.2, 0.1, 0.3, 0.3, 0.2], max_epochs=10)
    assert (stopping.epoch_kept, stopping.epochs_run, stopping.best_validation_accuracy) == (4, 6, 0.3)


def test_stops_at_the_maximum():
    stopping = stop_on(EarlyStopping(3), [0.1, 0.2, 0.3, 0.25], max_epochs=4)
    assert stopping == Stopping(3, 4, True, 0.3)
    # patience runs out exactly at the maximum: the rule stopped it, not the maximum
    assert stop_on(EarlyStopping(1), [0.1, 0.2, 0.3, 0.25], max_epochs=4).stopped_at_max is False
    assert stop_on(EarlyStopping(5), [0.4], max_epochs=1) == Stopping(1, 1, True, 0.4)


def test_stopping_to_dict_and_bad_input():
    assert Stopping(3, 5, False, 0.5).to_dict() == {
        "epoch_kept": 3,
        "epochs_run": 5,
        "stopped_at_max": False,
        "best_validation_accuracy": 0.5,
    }
    for patience in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="patience"):
            EarlyStopping(patience)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        observe(Progress(), float("nan"))
    with pytest.raises(ValueError, match="end before"):
        stop_on(EarlyStopping(3), [0.1, 0.2], max_epochs=10)


def test_halving_keeps_the_best_fraction_ties_to_the_earlier():
    assert halving_count(12, 2) == 6 and halving_count(12, 3) == 4 and halving_count(3, 2) == 2
    assert halving_count(1, 3) == 1 and halving_count(0, 2) == 0
    assert halving_survivors([0.1, 0.5, 0.3, 0.5], 2) == [1, 3]
    assert halving_survivors([0.5, 0.5, 0.5], 3) == [0]
    assert halving_survivors([0.2, 0.9, 0.4, 0.8, 0.1], 2) == [1, 2, 3]
    with pytest.raises(ValueError, match="eta"):
        halving_survivors([0.1], 1)
