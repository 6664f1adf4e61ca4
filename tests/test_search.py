"""Ladders of searched values (``synthlib.search``): their rungs, extension at an end, hard limits and
the status of a choice."""

from __future__ import annotations

import pytest

from synthlib.search import Ladder, next_rung


@pytest.mark.parametrize(
    ("value", "scale", "direction", "expected"),
    [
        (3e-3, "one_three", 1, 1e-2), (1e-2, "one_three", 1, 3e-2), (3e-4, "one_three", -1, 1e-4),
        (1e-4, "one_three", -1, 3e-5), (1e-3, "decade", 1, 1e-2), (1e-3, "decade", -1, 1e-4),
        (200, "double", 1, 400), (25, "double", -1, 12), (1, "double", -1, 1),
    ],
)  # fmt: skip
def test_next_rung_follows_each_scale(value, scale, direction, expected):
    assert next_rung(value, scale, direction) == pytest.approx(expected, rel=1e-12)


def test_next_rung_rejects_what_it_cannot_extend():
    with pytest.raises(ValueError, match="start its ladder at a positive value"):
        next_rung(0.0, "decade", 1)
    with pytest.raises(ValueError, match="unknown scale 'linear'"):
        next_rung(1.0, "linear", 1)


def test_extend_adds_one_rung_beyond_the_end_the_choice_sits_at():
    ladder = Ladder("learning_rate", (3e-4, 1e-3, 3e-3), "one_three")
    assert ladder.extend(1e-3, 3) == ladder  # interior: nothing to add
    up = ladder.extend(3e-3, 3)
    assert up.values == (3e-4, 1e-3, 3e-3, 1e-2) and up.extended_high == 1
    down = ladder.extend(3e-4, 3)
    assert down.values == (1e-4, 3e-4, 1e-3, 3e-3) and down.extended_low == 1
    assert Ladder("x", (1.0,), "decade").extend(1.0, 3).values == (0.1, 1.0, 10.0)  # one value: both ways


def test_extension_stops_at_its_limit_and_at_a_hard_limit():
    ladder = Ladder("learning_rate", (1e-3,), "one_three")
    for _ in range(5):
        ladder = ladder.extend(ladder.values[-1], 2)
    assert ladder.values == (3e-4, 1e-3, 3e-3, 1e-2) and ladder.extended_high == 2
    decay = Ladder("weight_decay", (0.0, 1e-3), "decade", lower_limit=0.0)
    assert decay.extend(0.0, 3) == decay
    epochs = Ladder("epochs", (1.0, 2.0), "double", lower_limit=1.0)
    assert epochs.extend(1.0, 3) == epochs
    zero = Ladder("weight_decay", (0.0,), "decade", lower_limit=0.0, first_positive=1e-4)
    assert zero.extend(0.0, 3).values == (0.0, 1e-4)
    assert Ladder("weight_decay", (0.0,), "decade", lower_limit=0.0).extend(0.0, 3).values == (0.0,)


def test_status_of_a_choice():
    decay = Ladder("weight_decay", (0.0, 1e-3, 1e-2), "decade", lower_limit=0.0)
    assert decay.status(1e-3, {0.0, 1e-3, 1e-2}) == "interior"
    assert decay.status(1e-3, {1e-3, 1e-2}) == "edge"  # a neighbour that was not scored
    assert decay.status(0.0, {0.0, 1e-3}) == "hard limit"
    assert decay.status(1e-2, {0.0, 1e-3, 1e-2}) == "edge"


def test_ladder_rejects_bad_values():
    with pytest.raises(ValueError, match="distinct and ascending"):
        Ladder("x", (2.0, 1.0), "decade")
    with pytest.raises(ValueError, match="below its limit"):
        Ladder("weight_decay", (-1.0, 0.0), "decade", lower_limit=0.0)
    with pytest.raises(ValueError, match="at least one value"):
        Ladder("x", (), "decade")
