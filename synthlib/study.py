"""What a study is, and the one registry of the study's studies.

A *study* is a named set of runs with its own results folder: each of the protocols
(``synthlib.protocols``: the paper's experiment under one complete configuration) and the learning
curves (``synthlib.learning_curves``: every column at a ladder of training sizes). Everything that
handles runs without caring which kind it has (the records check ``synthlib.audit``, the runner and its
pilot loop ``synthlib.runner``, the launcher ``synthlib.launch``, the command line) goes through this
interface:

- ``name`` (a plain identifier: it names the folder ``<results>/<name>``), ``label`` (its name in
  tables and sentences);
- ``folder`` and ``runs_dir`` (``<results>/<name>/runs/<dataset>/<record>.json``);
- ``column_labels``: column name -> label;
- ``plan``: the engine jobs of a dataset (``synthlib.engine.Job``), for given seeds or the study's own;
- ``planned_run``: the run the current code plans at a record's place, so that a committed record can
  be checked against the code (``None`` when it plans none there);
- ``requires``: the studies whose results it reads (``sound`` takes ``paper``'s tuned full-training
  setting; the learning curves take ``sound``'s tuned settings), run before it;
- ``seed_rule``: when set, the study's seeds are a pilot and the runner runs as many more as the pilot's
  power estimate asks (``synthlib.seed_count``).

Registering a study (``register_study``) makes it known by name; ``synthlib.all_studies`` imports every
built-in study, so that importing it gives the whole registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import TypeVar

from synthlib.data import ImageDataset
from synthlib.engine import Job, PlannedRun
from synthlib.records import RunRecord
from synthlib.seed_count import SeedRule


class Study(ABC):
    """A named set of runs with a results folder (see the module's docstring)."""

    name: str
    label: str
    seed_rule: SeedRule | None

    @property
    def requires(self) -> tuple[str, ...]:
        """The studies whose results this one reads; they run first."""
        return ()

    def folder(self, results_root: str | Path) -> Path:
        """``<results_root>/<name>``: the study's records, tables and other outputs."""
        return Path(results_root) / self.name

    def runs_dir(self, results_root: str | Path) -> Path:
        return self.folder(results_root) / "runs"

    def array_task_key(self) -> Callable[[Job], Hashable] | None:
        """Sent through a launcher (``synthlib.launch``), the jobs of one key share an array task; None:
        ``LaunchSettings.jobs_per_task`` jobs per task, in plan order."""
        return None

    @abstractmethod
    def column_labels(self) -> dict[str, str]:
        """Every column's name and its label in tables and figures."""

    @abstractmethod
    def plan(self, data: ImageDataset | str, results_root: str | Path, seeds: Sequence[int] | None = None) -> list[Job]:
        """The jobs of ``data`` (a dataset, or for a study that needs no images to plan, its name) at ``seeds``
        (None: the study's own). A study may take further keyword options that narrow its plan (columns,
        sizes, ...), each with a default."""

    @abstractmethod
    def planned_run(self, record: RunRecord, results_root: str | Path) -> PlannedRun | None:
        """The run the current code plans at ``record``'s place (its seed, column and setting), or None."""


_REGISTRY: dict[str, Study] = {}
StudyType = TypeVar("StudyType", bound=Study)


def register_study(study: StudyType) -> StudyType:
    """Add ``study`` to the registry (its name must be new); returns it."""
    if study.name in _REGISTRY:
        raise ValueError(f"a study named {study.name!r} is already registered")
    _REGISTRY[study.name] = study
    return study


def unregister_study(name: str) -> None:
    """Remove a study (e.g. one a test registered)."""
    _REGISTRY.pop(name, None)


def study_names() -> list[str]:
    """The registered studies, in registration order."""
    return list(_REGISTRY)


def get_study(name: str) -> Study:
    """The study called ``name``; an unknown name lists the valid ones."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown study {name!r}; valid studies are: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def dependency_order(names: Sequence[str]) -> list[str]:
    """``names`` with every study they require, each after the studies it requires (a required study
    first, the order of ``names`` otherwise kept); an unknown name lists the valid ones."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"studies require each other in a circle: {' -> '.join((*path, name))}")
        if name in ordered:
            return
        for required in get_study(name).requires:
            visit(required, (*path, name))
        ordered.append(name)

    for name in names:
        visit(name, ())
    return ordered


__all__ = [
    "Study",
    "dependency_order",
    "get_study",
    "register_study",
    "study_names",
    "unregister_study",
]
