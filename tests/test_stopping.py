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
    scored,
    stop_on,
)
from synthlib.training import TrainConfig


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


def test_a_training_strip_scores_every_kth_epoch_and_the_last():
    """Prechelt's training strips: only epochs 2, 4, ... and the maximum are read; the others' accuracies,
    however high, are never seen, and the kept epoch is a scored one."""
    rule = EarlyStopping(patience=4, every=2)
    accuracies = [0.9, 0.1, 0.95, 0.2, 0.1, 0.3, 0.99, 0.25, 0.2, 0.2]
    assert stop_on(rule, accuracies, max_epochs=12) == Stopping(6, 10, False, 0.3)
    assert [scored(rule, epoch, 5) for epoch in range(1, 6)] == [False, True, False, True, True]
    # the maximum is scored even off the strip, and a run that reaches it there stopped at the maximum
    assert stop_on(EarlyStopping(10, every=3), [0.1, 0.2, 0.3, 0.4, 0.5], max_epochs=5) == Stopping(5, 5, True, 0.5)
    # every=1 is the plain rule
    plain = [0.1, 0.2, 0.1, 0.3, 0.3, 0.2]
    assert stop_on(EarlyStopping(2, every=1), plain, 10) == stop_on(EarlyStopping(2), plain, 10)


def test_a_training_strip_rejects_bad_input():
    for every in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="validation every"):
            EarlyStopping(2, every=every)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not after"):
        observe(Progress(epochs_run=3, best_epoch=3, best_accuracy=0.5), 0.6, epoch=3)
    with pytest.raises(ValueError, match="set patience"):
        TrainConfig(validation_every=2).check()
    assert "validation_every" not in TrainConfig(patience=3).to_dict()
    assert TrainConfig(patience=3, validation_every=2).to_dict()["validation_every"] == 2
    assert TrainConfig(patience=3, validation_every=2).early_stopping() == EarlyStopping(3, every=2)
