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
    with ``sampler=None``, the same CNN trained end to end.

    - ``init_only``: the conv starts from the sampler's kernels and then trains with everything else
      (sampled initialisation). The kernels are rescaled by one factor so that their standard deviation
      is that of PyTorch's default initialisation (Kaiming-uniform, a = sqrt(5): 1 / sqrt(3 fan_in)):
      the sampler gives the shapes and relative sizes of the weights, not a learning-rate-changing scale.
    - ``deeper_samplers``: for a network with further conv layers (``ArchitectureConfig.deeper_layers``),
      the sampler of each further layer, with its default parameters (frozen columns only).
    """

    name: str
    label: str
    sampler: str | None = None
    sampler_params: Mapping[str, Any] = field(default_factory=dict)
    init_only: bool = False
    deeper_samplers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.init_only and self.sampler is None:
            raise ValueError(f"column {self.name!r}: init_only needs a sampler to initialise the conv from")
        if self.deeper_samplers and (self.sampler is None or self.init_only):
            raise ValueError(f"column {self.name!r}: deeper_samplers are for frozen sampled networks only")

    @property
    def regime(self) -> str:
        """The training regime: ``"frozen"`` (sampled conv, only the head trains) or ``"trained"`` (all,
        from PyTorch's default initialisation or, with ``init_only``, from the sampler's kernels)."""
        return "frozen" if self.sampler is not None and not self.init_only else "trained"

    def resolved_sampler_params(self) -> dict[str, Any] | None:
        """Every keyword the sampler is called with: its defaults, overridden by the preset, overridden by
        explicit parameters. Part of each run's key, so a changed default makes old records stale."""
        if self.sampler is None:
            return None
        params = dict(self.sampler_params)
        return resolve_params(self.sampler, params.pop("preset", None), with_defaults=True, **params)

    def to_dict(self) -> dict[str, Any]:
        """The column as recorded in each run's configuration (``init_only`` and ``deeper_samplers`` only
        when set, so the configuration and key of every other column is what it always was)."""
        values: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "sampler": self.sampler,
            "sampler_params": dict(self.sampler_params),
            "resolved_sampler_params": self.resolved_sampler_params(),
        }
        if self.init_only:
            values["init_only"] = True
        if self.deeper_samplers:
            values["deeper_samplers"] = [
                {"sampler": name, "resolved_sampler_params": resolve_params(name, with_defaults=True)}
                for name in self.deeper_samplers
            ]
        return values


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
