"""The column catalogue: every column a results table can have, in one place.

A column is either a CNN column (``Method``: a frozen sampler with its parameters, or full
training) or a fixed-feature baseline (``Baseline``). Protocols choose their columns from here;
labels shown in tables and figures come from here (and are recorded in each run's configuration).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from synthlib.samplers import resolve_params


@dataclass(frozen=True)
class Method:
    """A CNN column: a frozen sampler (with its parameters, e.g. ``{"preset": "paper_text"}``) or,
    with ``sampler=None``, the same CNN trained end to end."""

    name: str
    label: str
    sampler: str | None = None
    sampler_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def regime(self) -> str:
        """The training regime: ``"frozen"`` (sampled conv, only the head trains) or ``"trained"`` (all)."""
        return "frozen" if self.sampler is not None else "trained"

    def resolved_sampler_params(self) -> dict[str, Any] | None:
        """Every keyword the sampler is called with: its defaults, overridden by the preset, overridden by
        explicit parameters. Part of each run's key, so a changed default makes old records stale."""
        if self.sampler is None:
            return None
        params = dict(self.sampler_params)
        return resolve_params(self.sampler, params.pop("preset", None), with_defaults=True, **params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "sampler": self.sampler,
            "sampler_params": dict(self.sampler_params),
            "resolved_sampler_params": self.resolved_sampler_params(),
        }


@dataclass(frozen=True)
class Baseline:
    """A fixed-feature baseline column (``synthlib.baselines``): features, then a linear classifier."""

    name: str
    label: str

    @property
    def regime(self) -> str:
        return "baseline"


PAPER_METHODS: tuple[Method, ...] = (
    Method("normal", "Normal", "normal", {"preset": "paper_text"}),
    Method("lognormal", "Log-Normal", "lognormal", {"preset": "paper_text"}),
    Method("center_surround", "Center-Surround", "center_surround", {"preset": "biological"}),
    Method("fully_trained", "Fully Trained"),
)
"""Table 1's columns at the scales of the paper's text."""

AUTHORS_CODE_METHODS: tuple[Method, ...] = (
    Method("normal", "Normal", "normal", {"preset": "authors_code"}),
    Method("lognormal", "Log-Normal", "lognormal", {"preset": "authors_code"}),
    Method("center_surround", "Center-Surround", "center_surround", {"preset": "authors_code"}),
    Method("fully_trained", "Fully Trained"),
)
"""Table 1's columns at the scales of the authors' code (STUDY_BRIEF section 2)."""

BASELINES: tuple[Baseline, ...] = (
    Baseline("logreg_pixels", "LogReg (pixels)"),
    Baseline("scattering", "Scattering + linear"),
)
"""Reference points the paper omits (STUDY_BRIEF section 4)."""

BASELINE_NAMES: tuple[str, ...] = tuple(b.name for b in BASELINES)

ColumnT = TypeVar("ColumnT", Method, Baseline)


def pick(names: Iterable[str] | None, available: Sequence[ColumnT], kind: str = "column") -> list[ColumnT]:
    """Columns by name, in the order given (None: all of ``available``); an unknown name lists the valid ones."""
    if names is None:
        return list(available)
    names = list(names)
    by_name = {c.name: c for c in available}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown {kind} {unknown[0]!r}; valid {kind}s are: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def get_methods(names: Iterable[str], available: Sequence[Method] = PAPER_METHODS) -> list[Method]:
    """CNN columns by name (see ``pick``)."""
    return pick(names, available, "method")


def column_labels(columns: Iterable[Method | Baseline]) -> dict[str, str]:
    return {c.name: c.label for c in columns}


__all__ = [
    "AUTHORS_CODE_METHODS",
    "BASELINES",
    "BASELINE_NAMES",
    "PAPER_METHODS",
    "Baseline",
    "Method",
    "column_labels",
    "get_methods",
    "pick",
]
