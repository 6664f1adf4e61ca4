"""Searching until the choice is interior: ladders of values, extended at an edge.

A choice made at the end of a searched range says only that the best value may lie beyond it. So
every numeric axis of a search is a *ladder* of values, and the search goes on while the chosen
value sits at an end of its ladder: the ladder gets one more rung beyond that end, the settings that
the comparison needs are scored, and the choice is made again. It stops when, on every axis, the
chosen value has a scored neighbour on both sides at the chosen values of the other axes (no
neighbour scores higher, since the choice is the best; a neighbour may tie), or its end is a *hard
limit* that cannot be passed (a weight decay of 0, one epoch), or that end has been extended
``max_extensions`` times. An end reached that way is an *edge* that remains, and is reported.

Rungs follow a fixed scale per axis: learning rates the 1-3-10 steps of the study's grids
(3e-3 -> 1e-2 -> 3e-2), weight decays and regularisation strengths decades, epochs doublings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

Scale = Literal["one_three", "decade", "double"]
SCALES: tuple[str, ...] = ("one_three", "decade", "double")
Status = Literal["interior", "hard limit", "edge"]
STATUSES: tuple[str, ...] = ("interior", "hard limit", "edge")


def next_rung(value: float, scale: str, direction: int) -> float:
    """The value one rung above (``direction`` 1) or below (-1) ``value`` on ``scale``."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1, got {direction}")
    if scale == "double":
        return float(max(1, round(value * 2.0**direction)))
    if value <= 0:
        raise ValueError(f"a {scale} scale has no rung next to {value}; start its ladder at a positive value")
    if scale == "decade":
        return float(f"{value * 10.0**direction:.6g}")
    if scale == "one_three":
        exponent = math.floor(math.log10(value) + 1e-9)
        mantissa = value / 10.0**exponent
        if mantissa < 2:  # 1 x 10^e: up to 3 x 10^e, down to 3 x 10^(e-1)
            result = 3 * 10.0**exponent if direction > 0 else 3 * 10.0 ** (exponent - 1)
        else:  # 3 x 10^e (or anything above 2): up to 10^(e+1), down to 10^e
            result = 10.0 ** (exponent + 1) if direction > 0 else 10.0**exponent
        return float(f"{result:.6g}")
    raise ValueError(f"unknown scale {scale!r}; valid scales are: {', '.join(SCALES)}")


@dataclass(frozen=True)
class Ladder:
    """The values of one axis searched so far, ascending, with how to extend them.

    ``lower_limit``: a value that cannot be passed below (0 for a weight decay, 1 for epochs); ``None``
    when the axis extends downwards without end. ``first_positive``: the rung above 0 on a ladder that
    holds only 0 so far (a scale of ratios has none).
    """

    name: str
    values: tuple[float, ...]
    scale: str
    lower_limit: float | None = None
    extended_low: int = 0
    extended_high: int = 0
    first_positive: float | None = None

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"axis {self.name!r} needs at least one value")
        if list(self.values) != sorted(set(self.values)):
            raise ValueError(f"axis {self.name!r}: values must be distinct and ascending, got {list(self.values)}")
        if self.scale not in SCALES:
            raise ValueError(f"unknown scale {self.scale!r}; valid scales are: {', '.join(SCALES)}")
        if self.lower_limit is not None and self.values[0] < self.lower_limit:
            raise ValueError(f"axis {self.name!r}: {self.values[0]} is below its limit {self.lower_limit}")

    def at_hard_limit(self, value: float) -> bool:
        return self.lower_limit is not None and value <= self.lower_limit

    def extend(self, value: float, max_extensions: int) -> Ladder:
        """This ladder with one more rung beyond ``value``'s end when ``value`` is at an end that may
        still be passed; else unchanged."""
        ladder = self
        if value == self.values[0] and not self.at_hard_limit(value) and self.extended_low < max_extensions:
            lower = next_rung(value, self.scale, -1)
            if self.lower_limit is not None:
                lower = max(lower, self.lower_limit)
            if lower < value:
                ladder = replace(ladder, values=(lower, *ladder.values), extended_low=ladder.extended_low + 1)
        if value == self.values[-1] and self.extended_high < max_extensions:
            upper = next_rung(value, self.scale, 1) if value > 0 or self.scale == "double" else self.first_positive
            if upper is not None:
                ladder = replace(ladder, values=(*ladder.values, upper), extended_high=ladder.extended_high + 1)
        return ladder

    def neighbours(self, value: float) -> list[float]:
        """The rungs next to ``value`` (one or two)."""
        i = self.values.index(value)
        return [self.values[j] for j in (i - 1, i + 1) if 0 <= j < len(self.values)]

    def status(self, value: float, scored: set[float]) -> str:
        """``interior`` when both neighbours of ``value`` are in ``scored``, ``hard limit`` when the missing
        side is this axis' lower limit, else ``edge``."""
        i = self.values.index(value)
        below = i > 0 and self.values[i - 1] in scored
        above = i < len(self.values) - 1 and self.values[i + 1] in scored
        if not above or not (below or self.at_hard_limit(value)):
            return "edge"
        return "interior" if below else "hard limit"


__all__ = ["Ladder", "SCALES", "STATUSES", "next_rung"]
