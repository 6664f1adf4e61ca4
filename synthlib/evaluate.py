"""Does my kernel prior help? A researcher's own sampler evaluated against the whole study.

``python -m synthlib evaluate SPEC`` (``synthlib.cli``) and notebook ``08_evaluate`` both call
``evaluate``. SPEC names a function with the sampler signature of ``synthlib.samplers.registry``
(``fn(out_channels, in_channels, size, generator, **params) -> Tensor``): ``package.module:function``,
``path/to/file.py:function``, or the name of a registered sampler (built in, or from an installed
package's ``synthlib.samplers`` entry point). Then:

1. ``validate_sampler`` draws the study's layer shapes (64 kernels 5x5 over 1 and 3 input channels) and
   checks the type, shape, dtype (float32, CPU) and finiteness, and that the function draws only from
   the generator it is given: its draws leave the global random generators (torch, numpy, random)
   alone, two calls with equal generators give equal kernels, and generators of different seeds give
   different kernels. A failure is a ``ValueError`` of one line.
2. The function becomes a frozen one-conv column of the learning curves (``Evaluation``: the learning
   curves' rules, ``synthlib.learning_curves``): ``sound``'s options and tuned frozen setting
   (``results/sound/tuning/<dataset>.json``) at the step budget of ``train_setting``, the validation
   split of ``val_per_class``, seeds 0-4; every (dataset, seed, size) draws the same training subset and
   validation split as the committed learning curves, so each run pairs seed by seed with their records.
   Its records (``<results>/runs/<dataset>/<name>__n<size>__seed<seed>.json``) are keyed by the complete
   configuration, which holds a SHA-256 of the sampler's source file and its parameters: an edited
   sampler is rerun, an unchanged one reused (``synthlib.engine``).
3. The reference columns (``synthlib.curves.DEFAULT_REFERENCES`` and any asked for) are the committed
   learning-curve records of the same seeds and sizes, read, never written; a record that is missing
   or whose key the current code does not plan (stale) is reported as not run and never compared.
4. ``report.md`` holds the paired comparisons judged by the learning curves' own functions
   (``synthlib.curves.size_comparisons``: paired t-test and TOST within ±``EQUIVALENCE_MARGIN`` of the
   reference's error rate, Shaffer's procedure within each family). A family is, as in the learning
   curves, every column compared with one reference on one dataset at every size: the new column
   together with every committed learning-curve column of the same seeds, as if the sampler were one
   more column of the study. The folder also gets the figure
   (``learning_curves.png``), the tables (``curves.csv``, ``comparisons.csv``) and the records.

The records check (``python -m synthlib records check results``) looks at ``results/<study>/runs/``
only; the default folder ``results/evaluate/<name>/`` is one level deeper, so evaluations are never
taken for records of the study.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import json
import random
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from synthlib.atomic import write_text_atomic
from synthlib.columns import Method
from synthlib.curves import (
    DEFAULT_REFERENCES,
    NOT_RUN,
    best_by_size,
    best_table,
    comparison_sentence,
    curve_table,
    curve_table_markdown,
    different_rules_text,
    size_comparisons,
    with_length_rules,
)
from synthlib.data import ImageDataset, load_dataset
from synthlib.engine import Outcome
from synthlib.learning_curves import LEARNING_CURVES, SIZES, CurveColumn, LearningCurves, full_per_class
from synthlib.models import ArchitectureConfig
from synthlib.plots import plot_learning_curves
from synthlib.records import RunRecord, finished_record
from synthlib.runner import run_study
from synthlib.samplers import get_sampler, register_sampler, resolve_params, sampler_names, unregister_sampler
from synthlib.samplers.registry import SamplerFn
from synthlib.stats import DEFAULT_MAX_SEEDS
from synthlib.tuning import TuningResult
from synthlib.verdict import ALPHA, EQUIVALENCE_MARGIN, margin_words

DEFAULT_DATASETS: tuple[str, ...] = ("mnist", "cifar10")
DEFAULT_SIZES: tuple[int, ...] = tuple(sorted({*(n for n in SIZES if n <= 100), 38}))
"""The learning curves' sizes up to 100 images per class (38, ``sound``'s size, among them)."""

VALIDATION_CHANNELS: tuple[int, ...] = (1, 3)
"""The input channels of the validation draws: MNIST's and CIFAR-10's."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# ---------------------------------------------------------------------------------------------
# The sampler: loading, its source, validation
# ---------------------------------------------------------------------------------------------


def _import_file(path: Path) -> Any:
    """The module of a Python file, imported under a name of its own (its path's hash)."""
    if not path.is_file():
        raise ValueError(f"no file {path}")
    module_name = f"synthlib_evaluated_{path.stem}_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise ValueError(f"importing {path} failed: {type(error).__name__}: {_first_line(error)}") from None
    return module


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def load_sampler(spec: str) -> SamplerFn:
    """The function SPEC names: ``package.module:function``, ``path/to/file.py:function`` (relative to the
    working directory), or a registered sampler's name. Anything else is a ``ValueError`` of one line."""
    if ":" not in spec:
        if spec in sampler_names():
            return get_sampler(spec).fn
        raise ValueError(
            f"{spec!r} is neither package.module:function, path/to/file.py:function nor a registered sampler "
            f"({', '.join(sampler_names())})"
        )
    where, _, attribute = spec.rpartition(":")
    if not where or not attribute:
        raise ValueError(f"{spec!r}: expected package.module:function or path/to/file.py:function")
    if where.endswith(".py") or "/" in where or "\\" in where:
        module = _import_file(Path(where))
    else:
        try:
            module = importlib.import_module(where)
        except Exception as error:
            raise ValueError(f"importing {where} failed: {type(error).__name__}: {_first_line(error)}") from None
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"{where} has no {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise ValueError(f"{spec} is a {type(found).__name__}, not a function")
    return found


def sampler_source(fn: SamplerFn) -> dict[str, str]:
    """What identifies the sampler's code in its runs' keys: its name and the SHA-256 of its source file
    (the whole file, so that an edited helper or constant of the module counts as an edit too; the
    function's own source where there is no file)."""
    target = inspect.unwrap(fn)
    try:
        source_file = inspect.getsourcefile(target)
        text = Path(source_file).read_text() if source_file else inspect.getsource(target)
    except (OSError, TypeError):
        raise ValueError(
            f"the source of {getattr(fn, '__qualname__', fn)!r} cannot be read: define the sampler in a file"
        ) from None
    return {
        "function": getattr(target, "__qualname__", repr(target)),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def _global_states() -> tuple[Any, ...]:
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _same_states(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    (torch_a, numpy_a, python_a), (torch_b, numpy_b, python_b) = a, b
    numpy_same = numpy_a[0] == numpy_b[0] and all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(numpy_a[1:], numpy_b[1:])
    )
    return bool(torch.equal(torch_a, torch_b)) and numpy_same and python_a == python_b


def _draw(fn: SamplerFn, shape: tuple[int, int, int], seed: int, params: Mapping[str, Any]) -> torch.Tensor:
    """One call of ``fn`` with a fresh generator of ``seed``; what it returns is checked for type, shape,
    dtype, device and finiteness, and the call must leave the global random generators as they were."""
    out_channels, in_channels, size = shape
    before = _global_states()
    try:
        kernels = fn(out_channels, in_channels, size, torch.Generator().manual_seed(seed), **params)
    except Exception as error:
        raise ValueError(f"the sampler raised {type(error).__name__}: {_first_line(error)}") from None
    if not _same_states(before, _global_states()):
        raise ValueError(
            "the sampler drew from a global random generator (torch, numpy or random) instead of the generator it "
            "is given: draw with generator=generator"
        )
    if not isinstance(kernels, torch.Tensor):
        raise ValueError(f"the sampler returned a {type(kernels).__name__}, expected a torch.Tensor")
    expected = (out_channels, in_channels, size, size)
    if tuple(kernels.shape) != expected:
        raise ValueError(f"the sampler returned shape {tuple(kernels.shape)}, expected {expected}")
    if kernels.dtype != torch.float32:
        raise ValueError(f"the sampler returned dtype {kernels.dtype}, expected torch.float32")
    if kernels.device.type != "cpu":
        raise ValueError(f"the sampler returned a tensor on {kernels.device}, expected the CPU")
    bad = int((~torch.isfinite(kernels)).sum())
    if bad:
        raise ValueError(f"the sampler returned {bad} non-finite value(s) (NaN or inf) among {kernels.numel()}")
    return kernels


def validate_sampler(
    fn: SamplerFn,
    params: Mapping[str, Any] | None = None,
    n_kernels: int = ArchitectureConfig().n_kernels,
    size: int = ArchitectureConfig().kernel_size,
    in_channels: Sequence[int] = VALIDATION_CHANNELS,
) -> torch.Tensor:
    """Check ``fn`` on small draws of the study's layer shapes (see the module docstring); returns the
    kernels of the last draw. A failure is a ``ValueError`` whose message is one line."""
    params = dict(params or {})
    kernels = torch.empty(0)
    for channels in in_channels:
        shape = (n_kernels, channels, size)
        kernels = _draw(fn, shape, 0, params)
        if not torch.equal(kernels, _draw(fn, shape, 0, params)):
            raise ValueError(
                "two calls with equal generators gave different kernels: the sampler draws from a source other than "
                "the generator it is given"
            )
        if torch.equal(kernels, _draw(fn, shape, 1, params)):
            raise ValueError(
                "generators of different seeds gave equal kernels: the sampler ignores the generator it is given"
            )
    return kernels


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as keyword arguments: a VALUE that reads as JSON or a Python literal (0.5,
    true, "x", [1, 2]) is that value, anything else the string itself."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--param {pair!r}: expected NAME=VALUE")
        try:
            params[name] = json.loads(text)
        except ValueError:
            try:
                params[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                params[name] = text
    return params


# ---------------------------------------------------------------------------------------------
# The column and the study it runs in
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluatedMethod(Method):
    """A frozen column of a researcher's sampler: a ``Method`` whose recorded configuration, and so its
    key, also holds the sampler's source (``sampler_source``)."""

    source: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "sampler_source": dict(self.source)}


@dataclass(frozen=True)
class Evaluation(LearningCurves):
    """The learning curves of an evaluated column: the learning-curve study's rules, sizes and seeds, its
    records in one folder (``folder(results_root)`` is ``results_root`` itself) and ``settings_from``'s
    tuned settings read from ``settings_root`` (the repository's ``results/``)."""

    name: str = "evaluate"
    label: str = "evaluation of a sampler"
    settings_root: str | Path = "results"

    def folder(self, results_root: str | Path) -> Path:
        return Path(results_root)

    def tuning(self, results_root: str | Path, dataset: str) -> TuningResult:
        return super().tuning(self.settings_root, dataset)


@dataclass(frozen=True)
class Candidate:
    """The sampler under evaluation: its column name, label, parameters and where it came from."""

    name: str
    label: str
    fn: SamplerFn
    params: Mapping[str, Any]
    spec: str
    source: Mapping[str, str]
    """``sampler_source`` of ``fn``: part of every run's key."""
    registered_as: str | None = None
    """The name it has in the sampler registry already, if any (else it is registered as ``name`` while
    it runs)."""

    @property
    def sampler(self) -> str:
        return self.registered_as or self.name

    def column(self) -> CurveColumn:
        return CurveColumn(EvaluatedMethod(self.name, self.label, self.sampler, dict(self.params), source=self.source))


def candidate(spec: str, params: Mapping[str, Any] | None = None, name: str | None = None) -> Candidate:
    """The sampler SPEC names (``load_sampler``) as a column: ``name`` (default: the function's or registered
    sampler's name) must be a plain identifier that no learning-curve column has."""
    fn = load_sampler(spec)
    registered = [n for n in sampler_names() if get_sampler(n).fn is fn]
    chosen = str(name or (registered[0] if registered else getattr(fn, "__name__", "")))
    if not _NAME.match(chosen):
        raise ValueError(f"column name {chosen!r}: use letters, digits and underscores, starting with a letter")
    if chosen in LEARNING_CURVES.column_labels():
        raise ValueError(f"{chosen!r} is a column of the learning curves already: choose another name with --name")
    if not registered and chosen in sampler_names():
        raise ValueError(f"a sampler named {chosen!r} is registered already: choose another name with --name")
    return Candidate(
        chosen, chosen, fn, dict(params or {}), spec, sampler_source(fn), registered[0] if registered else None
    )


@contextmanager
def registered(chosen: Candidate) -> Iterator[None]:
    """``chosen``'s function in the sampler registry while the block runs (the runs draw through it)."""
    if chosen.registered_as is not None or (
        chosen.name in sampler_names() and get_sampler(chosen.name).fn is chosen.fn
    ):  # registered already (by name, or by an enclosing block)
        yield
        return
    register_sampler(chosen.name)(chosen.fn)
    try:
        yield
    finally:
        unregister_sampler(chosen.name)


def resolved_params(chosen: Candidate) -> dict[str, Any]:
    """Every keyword the runs call the sampler with: its defaults, a ``preset`` of a registered sampler,
    the parameters given."""
    with registered(chosen):
        params = dict(chosen.params)
        return resolve_params(chosen.sampler, params.pop("preset", None), with_defaults=True, **params)


def default_results(name: str, root: str | Path = "results") -> Path:
    """``<root>/evaluate/<name>``: where an evaluation's records, figure and report go by default."""
    return Path(root) / "evaluate" / name


# ---------------------------------------------------------------------------------------------
# The committed references
# ---------------------------------------------------------------------------------------------


@dataclass
class References:
    """The committed learning-curve records an evaluation reads: every current record of the requested
    seeds and sizes (``records``), and per reference column, where it has none (``missing``: rows of
    dataset, column, per_class, seed, why)."""

    records: list[RunRecord] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)


def committed_records(
    data: ImageDataset,
    reference_root: str | Path,
    seeds: Sequence[int],
    sizes: Sequence[int],
    references: Sequence[str],
    study: LearningCurves = LEARNING_CURVES,
) -> References:
    """The records of ``study`` (the committed learning curves under ``reference_root``) on ``data`` at
    ``seeds`` and ``sizes``, each only if the current code plans a run of that key at its path (a missing
    or stale record is never compared). Every column's records are read, since a family holds them all;
    ``missing`` lists where the ``references`` have none."""
    tuning = study.tuning(reference_root, data.name)
    n_classes = len(np.unique(data.y_train))
    found = References()
    for column in study.column_labels():
        for per_class in sizes:
            for seed in seeds:
                planned = study.column_run(data.name, reference_root, column, seed, per_class, n_classes, tuning)
                record = finished_record(planned.path, planned.key)
                if record is not None:
                    found.records.append(record)
                elif column in references:
                    why = "stale (the current code plans another key)" if planned.path.exists() else "no record"
                    found.missing.append(
                        {"dataset": data.name, "column": column, "per_class": per_class, "seed": seed, "why": why}
                    )
    return found


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _sizes_text(sizes: Sequence[int]) -> str:
    return ", ".join(str(n) for n in sorted(sizes))


def _seeds_text(seeds: Sequence[int]) -> str:
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def missing_lines(missing: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> list[str]:
    """One line per (dataset, reference, size) without records: "mnist: Fully Trained at 100 per class:
    not run (no record, seeds 0–4)"."""
    if not missing:
        return []
    frame = pd.DataFrame(list(missing))
    lines = []
    for (dataset, column, per_class, why), group in frame.groupby(["dataset", "column", "per_class", "why"]):
        lines.append(
            f"- {dataset}: {labels.get(column, column)} at {per_class} per class: {NOT_RUN} "
            f"({why}; seed(s) {_seeds_text(list(group['seed']))})"
        )
    return lines


def in_short(
    comparisons: pd.DataFrame,
    best: pd.DataFrame,
    name: str,
    references: Sequence[str],
    labels: Mapping[str, str],
    sizes: Mapping[str, Sequence[int]],
    full: Mapping[str, int],
    margin: float = EQUIVALENCE_MARGIN,
) -> str:
    """Per dataset, one sentence per reference (``synthlib.curves.comparison_sentence``: the size ranges
    where the new column beats, matches, loses to or is inconclusive against it), where it was not
    compared, and the best of the shown columns on validation (``best_table``)."""
    parts = []
    for dataset in sorted(sizes):  # in the order of the curve table's datasets
        ladder = sorted(sizes[dataset])
        lines = []
        for reference in references:
            rows = comparisons[
                (comparisons["dataset"] == dataset)
                & (comparisons["reference"] == reference)
                & (comparisons["column"] == name)
            ]
            reference_label = labels.get(reference, reference)
            absent = [n for n in ladder if n not in set(rows["per_class"])]
            same = rows["same_length"].astype(bool) if "same_length" in rows else pd.Series(True, index=rows.index)
            unlike, rows = rows[~same], rows[same]
            if rows.empty and unlike.empty:
                lines.append(f"- {labels.get(name, name)} is not compared with {reference_label} ({NOT_RUN}).")
                continue
            sentence = (
                comparison_sentence(rows, labels.get(name, name), reference_label, ladder, full.get(dataset))
                if not rows.empty
                else f"{labels.get(name, name)} is not compared with {reference_label}."
            )
            if not unlike.empty:
                sentence = sentence[:-1] + f"; {different_rules_text(unlike, ladder, full.get(dataset))}."
            if absent:
                sentence = sentence[:-1] + f" ({reference_label} {NOT_RUN} at {_sizes_text(absent)} per class)."
            lines.append(f"- {sentence}")
        shown = best[best["dataset"] == dataset]
        parts.append(f"**{dataset}**\n\n" + "\n".join(lines) + "\n\n" + best_table(shown, labels, full.get(dataset)))
    return "\n\n".join(parts)


def comparisons_markdown(comparisons: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """The new column's comparisons as one markdown table: dataset, reference, size, seeds, the mean
    paired difference in points with its 95% interval, the outcome ("not compared" where the two columns'
    training lengths were decided by different rules: ``curves.with_length_rules``) and the adjusted
    p-values (Shaffer's modification of Holm)."""
    if comparisons.empty:
        return "No comparison was made: no reference has records of the same seeds and sizes.\n"
    shown = pd.DataFrame(
        {
            "dataset": comparisons["dataset"],
            "against": [labels.get(c, c) for c in comparisons["reference"]],
            "per class": comparisons["per_class"],
            "seeds": comparisons["n_seeds"],
            "difference (points) [95% CI]": [
                f"{d:+.2f}" + ("" if np.isnan(lo) else f" [{lo:+.2f}, {hi:+.2f}]")
                for d, lo, hi in zip(comparisons["mean_diff"], comparisons["ci95_low"], comparisons["ci95_high"])
            ],
            "outcome": [
                outcome if same else "not compared: length rules differ"
                for outcome, same in zip(
                    comparisons["outcome"],
                    comparisons["same_length"] if "same_length" in comparisons else [True] * len(comparisons),
                )
            ],
            "p difference (adjusted)": [f"{p:.3g}" for p in comparisons["p_difference_holm"]],
            "p equivalence (adjusted)": [f"{p:.3g}" for p in comparisons["p_equivalence_holm"]],
            "seeds to resolve": [
                "" if pd.isna(s) else str(int(s)) for s in comparisons["seeds_to_resolve"].astype("object")
            ],
        }
    )
    return shown.to_markdown(index=False, disable_numparse=True) + "\n"


# ---------------------------------------------------------------------------------------------
# The evaluation
# ---------------------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    """What ``evaluate`` made: the new column's name, every record it judged (the new column's and the
    committed ones), the curve table and comparisons shown in the report, the report's text, the figure,
    and the run loop's outcome."""

    name: str
    folder: Path
    records: list[RunRecord]
    table: pd.DataFrame
    comparisons: pd.DataFrame
    report: str
    figure: Figure
    outcome: Outcome
    missing: list[dict[str, Any]]


def evaluate(
    spec: str,
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
    datasets: Sequence[str] = DEFAULT_DATASETS,
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: Sequence[int] | None = None,
    results_dir: str | Path | None = None,
    reference_root: str | Path = "results",
    against: Sequence[str] = (),
    data_root: str | Path | None = None,
    device: str = "auto",
    run_references: bool = False,
    cache_dir: str | Path | None = None,
    max_seeds: int = DEFAULT_MAX_SEEDS,
    log: Callable[[str], None] = print,
) -> EvaluationResult:
    """Validate, run and judge the sampler ``spec`` (see the module docstring) and write the report.

    ``reference_root`` is the repository's ``results/``: ``sound``'s tuned settings and the committed
    learning curves, read only. ``results_dir`` (default ``<reference_root>/evaluate/<name>``) gets the
    records, ``report.md``, ``learning_curves.png``, ``curves.csv`` and ``comparisons.csv``.
    ``run_references`` runs the reference columns into ``results_dir`` too instead of reading them (for
    data without committed learning curves, e.g. the built-in synthetic sets); ``cache_dir`` is where their
    scattering features are cached (None: ``$SYNTHLIB_CACHE`` or ``~/.cache/synthlib``)."""
    chosen = candidate(spec, params, name)
    references = list(dict.fromkeys([*DEFAULT_REFERENCES, *against]))
    LEARNING_CURVES.pick_columns(references)  # an unknown reference lists the valid ones
    seeds = tuple(LEARNING_CURVES.seeds if seeds is None else seeds)
    folder = Path(results_dir) if results_dir is not None else default_results(chosen.name, reference_root)
    with registered(chosen):
        validate_sampler(chosen.fn, resolved_params(chosen))
        column = chosen.column()
        ran_columns = [column, *(LEARNING_CURVES.pick_columns(references) if run_references else [])]
        study = Evaluation(columns=tuple(ran_columns), seeds=seeds, settings_root=reference_root)
        labels = {**LEARNING_CURVES.column_labels(), chosen.name: chosen.label}
        kinds = {**LEARNING_CURVES.kinds(), chosen.name: "frozen"}
        records: list[RunRecord] = []
        outcome, missing = Outcome(), []
        full: dict[str, int] = {}
        sizes_run: dict[str, list[int]] = {}
        for dataset in datasets:
            data = load_dataset(dataset, data_root)
            full[dataset] = full_per_class(data.y_train)
            sizes_run[dataset] = [n for n in sorted(set(sizes)) if n < full[dataset]]
            if len(sizes_run[dataset]) < len(set(sizes)):
                log(f"{dataset}: sizes of {full[dataset]} per class or more are its full set or beyond; not run")
            ran = run_study(
                study, data, folder, seeds=seeds, device=device, cache_dir=cache_dir, sizes=sizes_run[dataset], log=log
            )
            outcome.extend(ran)
            records += ran.records
            if not run_references:
                found = committed_records(data, reference_root, seeds, sizes_run[dataset], references)
                records += found.records
                missing += found.missing
    outcome.raise_failures()
    shown = [chosen.name, *references]
    columns = [chosen.name, *(c for c in LEARNING_CURVES.column_labels() if c != chosen.name)]
    comparisons = size_comparisons(records, columns, references, full=full, max_seeds=max_seeds, resolve=[chosen.name])
    comparisons = comparisons[comparisons["column"] == chosen.name].reset_index(drop=True)
    shown_records = [r for r in records if r.method in shown]
    table = curve_table(shown_records, order=shown, full=full)
    comparisons = with_length_rules(comparisons, table)  # sentences compare only lengths decided alike
    best = best_by_size(shown_records, shown, full=full)
    figure = plot_learning_curves(table, labels, anchors=[], columns=shown, kinds=kinds)
    context = {
        "spec": spec,
        "params": resolved_params(chosen),
        "source": chosen.source,
        "seeds": seeds,
        "sizes": sizes_run,
        "reference_root": reference_root,
        "run_references": run_references,
        "n_columns": len({r.method for r in records}),
    }
    report = report_markdown(chosen.name, labels, references, comparisons, best, table, missing, full, context)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "report.md", report)
    write_text_atomic(folder / "curves.csv", table.to_csv(index=False, float_format="%.6g"))
    write_text_atomic(folder / "comparisons.csv", comparisons.to_csv(index=False, float_format="%.6g"))
    figure.savefig(folder / "learning_curves.png", dpi=120)
    plt.close(figure)  # shown where asked (display(result.figure)), not by every notebook cell that evaluates
    return EvaluationResult(chosen.name, folder, records, table, comparisons, report, figure, outcome, missing)


def report_markdown(
    name: str,
    labels: Mapping[str, str],
    references: Sequence[str],
    comparisons: pd.DataFrame,
    best: pd.DataFrame,
    table: pd.DataFrame,
    missing: Sequence[Mapping[str, Any]],
    full: Mapping[str, int],
    context: Mapping[str, Any],
    margin: float = EQUIVALENCE_MARGIN,
    alpha: float = ALPHA,
) -> str:
    """``report.md``: the answer first (``in_short``), then the curve table, every comparison, the
    references not run, and how the runs were made and judged."""
    params = ", ".join(f"{k}={v!r}" for k, v in context["params"].items()) or "none"
    where = (
        "run beside it in this folder"
        if context["run_references"]
        else f"the committed learning-curve records in `{Path(context['reference_root']) / 'learning_curves'}`, "
        "read, not rerun"
    )
    sizes = {dataset: list(run) for dataset, run in context["sizes"].items()}
    all_sizes = sorted({n for run in sizes.values() for n in run})
    reference_labels = ", ".join(labels.get(r, r) for r in references)
    lines = [
        f"# Does `{name}` help? A frozen layer against the learning curves",
        "",
        f"`{context['spec']}` as a frozen one-conv layer under `sound`'s rules at {_sizes_text(all_sizes)} images "
        f"per class, seeds {_seeds_text(context['seeds'])}; against {reference_labels}: {where}.",
        "",
        "## In short",
        "",
        in_short(comparisons, best, name, references, labels, sizes, full, margin),
        "",
        "## Test accuracy by training size",
        "",
        curve_table_markdown(table, labels, [name, *references]).strip(),
        "",
        "![learning curves](learning_curves.png)",
        "",
        "## Every comparison (paired by seed, test accuracy)",
        "",
        comparisons_markdown(comparisons, labels).strip(),
        "",
    ]
    not_run = missing_lines(missing, labels)
    if not_run:
        lines += ["## References not run (never compared)", "", *not_run, ""]
    lines += [
        "## How it was run and judged",
        "",
        f"- Sampler: `{context['spec']}`, function `{context['source']['function']}`, source SHA-256 "
        f"`{context['source']['sha256'][:16]}`; parameters: {params}. Both are part of every run's key: an edited "
        "sampler or other parameters run again, an unchanged one is reused.",
        "- Runs: exactly a frozen column of the learning curves (`synthlib.learning_curves`): the same training "
        "subsets, validation splits and seeds as the committed records, `sound`'s tuned frozen setting at the "
        "learning curves' step budget, features standardised with training-subset statistics.",
        f"- Judged by `synthlib.curves.size_comparisons`, as the learning curves are: paired differences over the "
        f"seeds both columns ran, a paired t-test (better or worse) and two one-sided tests (equivalent within "
        f"±{margin_words(margin)}), adjusted by Shaffer's modification of Holm's procedure at {alpha:g} within each "
        f"family. A family is every column compared with one reference on one dataset, at every size: this column "
        f"with the {context['n_columns'] - 1} other "
        "column(s) whose records were read, as if it were one more column of the study.",
        "- The best column at each size is chosen among the columns shown, on validation accuracy, never on test.",
        "- Evaluating many samplers, or one sampler at many parameters, and reporting the best is a comparison the "
        "families above do not correct for.",
    ]
    return "\n".join(lines) + "\n"


__all__ = [
    "DEFAULT_DATASETS",
    "DEFAULT_SIZES",
    "Candidate",
    "EvaluatedMethod",
    "Evaluation",
    "EvaluationResult",
    "References",
    "candidate",
    "committed_records",
    "comparisons_markdown",
    "default_results",
    "evaluate",
    "in_short",
    "load_sampler",
    "missing_lines",
    "parse_params",
    "registered",
    "report_markdown",
    "resolved_params",
    "sampler_source",
    "validate_sampler",
]
