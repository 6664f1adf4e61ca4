"""Running a study: its runs through a launcher, and for a study with a seed rule, its pilot first and
then the seeds a power calculation on the pilot's variance asks for.

``run_study`` is the one place that runs a study (``synthlib.study``: a protocol or the learning
curves): it plans the study's jobs, executes them in this process (``synthlib.engine.execute``) or as a
job array (``synthlib.launch``), and, when the study has a ``SeedRule`` and no seeds were given, plans
from the pilot seeds' paired SDs (``pilot_estimate``) and runs the seeds that plan asks for
(``seeds_after_pilot``). Finished records are reused at every step, so a rerun after an interruption
runs only what is missing.

The estimate judges nothing: for each comparison of the verdict it reads the pilot's paired standard
deviation and the reference column's error rate (which sets the margin), and
``synthlib.verdict.seed_plan`` gives the independent seeds it needs, never looking at the observed
difference (``synthlib.seed_count`` describes the rule, its error rates and its bounds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from synthlib.data import ImageDataset
from synthlib.engine import Job, Outcome, RunContext, execute
from synthlib.launch import LaunchSettings, launch
from synthlib.records import RunRecord
from synthlib.seed_count import SeedRule
from synthlib.study import Study
from synthlib.verdict import PLAN_COLUMNS, seed_plan

ESTIMATE_COLUMNS = PLAN_COLUMNS


def pilot_estimate(study_name: str, rule: SeedRule, records: Sequence[RunRecord]) -> pd.DataFrame:
    """Per comparison of the verdict, on the pilot seeds of ``records`` (one dataset or several) of study
    ``study_name``: its paired SD, the reference's error rate, the margin in points, the level it is
    planned at (its family's, as the verdict tests it) and the seeds it needs (``verdict.seed_plan``, up
    to ``rule.maximum``). Its differences are not read."""
    pilot = [r for r in records if r.seed in set(rule.pilot)]
    return seed_plan({study_name: pilot}, rule.maximum)


def seeds_after_pilot(
    study: Study, pilot: Outcome, seeds: Sequence[int] | None, log: Callable[[str], None] = print
) -> tuple[int, ...] | None:
    """With a seed rule and no ``seeds`` given: every seed to run after ``pilot`` when the plan on the
    pilot's variance asks for more than the pilot, else None."""
    rule = study.seed_rule
    if rule is None or seeds is not None or pilot.failures:
        return None
    chosen = rule.choose(pilot_estimate(study.name, rule, pilot.records))
    log(f"{study.name}: the pilot's variance asks for {chosen} seeds (pilot {len(rule.pilot)})")
    return tuple(range(chosen)) if chosen > len(rule.pilot) else None


def _execute(
    study: Study,
    jobs: Sequence[Job],
    data: ImageDataset,
    results_root: Path,
    settings: LaunchSettings,
    root: str | Path | None,
    device: str,
    cache_dir: str | Path | None,
    log: Callable[[str], None],
) -> Outcome:
    if settings.launcher == "inprocess":
        return execute(jobs, RunContext(data, device, cache_dir), log)
    folder = settings.folder if settings.folder is not None else results_root / "submitit"
    return launch(jobs, settings, folder, root, device, cache_dir, log, key=study.array_task_key())


def run_study(
    study: Study,
    data: ImageDataset,
    results_root: str | Path,
    settings: LaunchSettings = LaunchSettings(),
    seeds: Sequence[int] | None = None,
    root: str | Path | None = None,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    log: Callable[[str], None] = print,
    **plan_options: Any,
) -> Outcome:
    """Run ``study`` on ``data`` with ``settings.launcher`` (in process, or as a job array whose tasks load
    ``data.name`` from the data root ``root``), at ``seeds`` (None: the study's own, with its seed rule).
    ``plan_options`` go to ``study.plan`` (e.g. ``methods`` of a protocol, ``grid`` of the learning curves)."""
    settings.check()
    results = Path(results_root) if settings.launcher == "inprocess" else Path(results_root).resolve()
    jobs = study.plan(data, results, seeds, **plan_options)
    outcome = _execute(study, jobs, data, results, settings, root, device, cache_dir, log)
    more = seeds_after_pilot(study, outcome, seeds, log)
    if more is None:
        return outcome
    jobs = study.plan(data, results, more, **plan_options)
    return _execute(study, jobs, data, results, settings, root, device, cache_dir, log)


__all__ = ["ESTIMATE_COLUMNS", "pilot_estimate", "run_study", "seeds_after_pilot"]
