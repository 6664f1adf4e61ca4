"""The protocol registry: every named protocol of the study, and the one place that turns a
(protocol, dataset) into the runs to do.

A protocol is one complete configuration: its columns (samplers and their presets, and the
fixed-feature baselines), the architecture, the seeds, how settings are chosen (tuned on
validation, or a grid run in full), the ``RunOptions`` that differ, where its files go and how
tables label it. The shell script (``python -m synthlib protocols list``), the notebooks, the
benchmark and the verdict ask a ``Protocol`` for all of this; none of them re-derives it. Adding a
protocol is one ``register_protocol(Protocol(...))`` call.

The registered protocols:

- ``paper``: the text of Karimi et al. 2017, with its gaps filled as in Table 1 (``experiment``):
  kernels at the text's scales, a 4x4 grid pool to the stated 1024 FC inputs, Adam settings and
  input normalisation chosen on validation splits (tuning seeds 1000-1002, searched until each
  choice is interior: ``synthlib.tuning``), 3 seeds, fresh draws each.
- ``authors_code``: the authors' MatConvNet code (STUDY_BRIEF section 2; ``runLarpTests``,
  ``cnnInit``, ``constructCifarImdb``): the one-conv network (pool 3x3 stride 2, pad [0 1 0 1],
  16x16x64 = 16,384 FC inputs, FC weights 0.05 N(0, 1), biases zero and frozen; a trained conv
  starts from 0.01 N(0, 1)), the code's
  sampler scales, per-dataset preprocessing, random flips of the images at feature extraction
  and per minibatch (a frozen head's flipped minibatch takes the features of the flipped images,
  extracted once), SGD with momentum 0.9 for 100 epochs at the step schedule 1, 0.3, 0.1 (epochs 1,
  26, 51), and the grid of 24 settings (base learning rate 0.1 / {1, 3, 10, 30} x batch {50, 100}
  x weight decay {1e-2, 1e-3, 1e-4}). The three runs share the subset, kernels and initial
  weights. Every setting is run; the table shows the setting chosen on the test set, as the
  authors did (test-set selection), and the one chosen on a validation split. How the code
  trained the full network is not known; the fully trained column runs the grid's four learning
  rates at batch 50 and weight decay 1e-3 (the whole grid would take about an hour of CPU per
  dataset: 25 s per run on the reference machine) and five further steps down (0.1 / 100 to
  / 10,000), so that the chosen rate is inside the searched range: at the grid's own rates the
  whole network diverges on both datasets (chance accuracy in every run). The code's per-layer
  multiplier of 0.1 on weight learning rates (``constructConvLayer``) points the same way.
- ``sound``: the paper's samplers and network, fresh kernels and subsets per seed: 10 pilot seeds,
  then as many as the pilot's power estimate asks, at most 30 (``synthlib.seed_count``), every
  choice made on a validation split, and frozen features standardised before the head so a
  sampler's weight scale stops being a confound. Columns are compared pairwise on the same seeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from synthlib.baseline_runs import BaselineConfig, BaselineJob, baseline_run
from synthlib.baselines import DEFAULT_CS
from synthlib.columns import AUTHORS_CODE_METHODS, BASELINES, PAPER_METHODS, Baseline, Method, pick
from synthlib.data import PAPER_PER_CLASS, ImageDataset
from synthlib.engine import Job, PlannedRun
from synthlib.experiment import RunConfig, RunOptions, cnn_jobs, setting_tag
from synthlib.models import ArchitectureConfig
from synthlib.records import RunRecord
from synthlib.seed_count import SeedRule
from synthlib.selection import grid_edges, select_setting
from synthlib.study import Study, get_study, register_study, study_names, unregister_study
from synthlib.training import TrainConfig
from synthlib.tuning import TuningGrid, TuningRequest, TuningResult, load_tuning, tune

SELECTIONS = ("tuned", "grid")

AUTHORS_CODE_ARCH = ArchitectureConfig(pool_kernel=3, pool_stride=2, pool_pad_after=1, feature_grid=None)
"""``larpV1P1`` in ``cnnInit.m``: conv 5x5 pad 2, max-pool 3x3 stride 2 pad [0 1 0 1], ReLU, FC 16x16x64."""

AUTHORS_CODE_LR_SCHEDULE = ((26, 0.3), (51, 0.1))
"""``[0.1*ones(1,25) 0.03*ones(1,25) 0.01*ones(1,50)]``: factors of the base rate by epoch."""


def authors_code_settings(
    base_learning_rate: float = 0.1,
    dividers: Sequence[float] = (1, 3, 10, 30),
    batch_sizes: Sequence[int] = (50, 100),
    weight_decays: Sequence[float] = (1e-2, 1e-3, 1e-4),
    epochs: int = 100,
) -> tuple[TrainConfig, ...]:
    """The authors' grid of 24 settings (``runLarpTests``), in their order."""
    return tuple(
        TrainConfig(
            optimizer="sgd",
            learning_rate=base_learning_rate / divider,
            weight_decay=weight_decay,
            epochs=epochs,
            batch_size=batch_size,
            momentum=0.9,
            input_norm="authors_code",
            lr_schedule=AUTHORS_CODE_LR_SCHEDULE,
            train_biases=False,
            hflip=True,
        )
        for divider, batch_size, weight_decay in itertools.product(dividers, batch_sizes, weight_decays)
    )


@dataclass(frozen=True)
class Protocol(Study):
    """One complete, named configuration of the study.

    ``selection="tuned"``: one setting per regime and one C per baseline are chosen on validation
    data (``tune``, over ``tuning_grid``), then every seed runs with them. ``selection="grid"``: every
    setting of ``settings`` (and every C of ``baseline_cs``) is run for every seed, and the tables
    choose per column, on the test set (as the authors did) and on validation.
    """

    name: str
    label: str
    """The protocol's name in tables and sentences."""
    title: str
    methods: tuple[Method, ...]
    seeds: tuple[int, ...]
    selection: str
    arch: ArchitectureConfig = ArchitectureConfig()
    options: RunOptions = RunOptions()
    tuning_grid: TuningGrid = TuningGrid()
    settings: tuple[TrainConfig, ...] = ()
    trained_settings: tuple[TrainConfig, ...] | None = None
    """``grid`` protocols: the settings run for full training, when not all of ``settings``."""
    trained_setting_from: str | None = None
    """A protocol whose tuned setting for full training this one takes, when its own options cannot
    change that choice (``sound`` standardises frozen features only), instead of repeating the search."""
    baselines: tuple[Baseline, ...] = BASELINES
    baseline_cs: tuple[float, ...] = DEFAULT_CS
    per_class: int = PAPER_PER_CLASS
    val_per_class: int = PAPER_PER_CLASS
    seed_rule: SeedRule | None = None
    """When set, ``seeds`` is a pilot: ``run`` then runs as many seeds as the pilot's power estimate asks
    (``synthlib.seed_count``), at most ``seed_rule.maximum``."""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"protocol name {self.name!r} must be a plain identifier (it names a folder)")
        if self.selection not in SELECTIONS:
            raise ValueError(f"unknown selection {self.selection!r}; valid values are: {', '.join(SELECTIONS)}")
        if self.selection == "grid" and not self.settings:
            raise ValueError(f"protocol {self.name!r} selects on a grid but has no settings")
        if self.seed_rule is not None and self.seeds != self.seed_rule.pilot:
            pilot = list(self.seed_rule.pilot)
            raise ValueError(f"protocol {self.name!r}: with a seed rule, seeds must be its pilot {pilot}")

    def with_overrides(
        self, seeds: Sequence[int] | None = None, per_class: int | None = None, val_per_class: int | None = None
    ) -> Protocol:
        """The same protocol on other evaluation seeds or subset sizes (None keeps the protocol's own),
        e.g. fewer seeds and images for a quick check. Seeds given replace a seed rule."""
        return replace(
            self,
            seeds=self.seeds if seeds is None else tuple(int(s) for s in seeds),
            seed_rule=self.seed_rule if seeds is None else None,
            per_class=self.per_class if per_class is None else int(per_class),
            val_per_class=self.val_per_class if val_per_class is None else int(val_per_class),
        )

    # --- where its files go -------------------------------------------------------------------

    def folder(self, results_root: str | Path) -> Path:
        """``<results_root>/<name>``: tables, comparisons, tuning and runs of this protocol."""
        return Path(results_root) / self.name

    def runs_dir(self, results_root: str | Path) -> Path:
        return self.folder(results_root) / "runs"

    def tuning_path(self, results_root: str | Path, dataset: str) -> Path:
        return self.folder(results_root) / "tuning" / f"{dataset}.json"

    # --- how tables name it ---------------------------------------------------------------------

    @property
    def needs_tuning(self) -> bool:
        return self.selection == "tuned"

    def variants(self) -> dict[str, str]:
        """The protocol's rows in the verdict: itself, or for a grid the two selection rules."""
        if self.selection == "grid":
            return {
                f"{self.name}/test": f"{self.label}, test-set selection",
                f"{self.name}/validation": f"{self.label}, validation selection",
            }
        return {self.name: self.label}

    def variant_records(self, records: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
        """``records`` per variant: for a grid, each column's setting chosen on test and on validation."""
        if self.selection == "grid":
            return {f"{self.name}/{by}": select_setting(records, by)[0] for by in ("test", "validation")}
        return {self.name: list(records)}

    def comparison_records(self, records: Sequence[RunRecord]) -> list[RunRecord]:
        """The records whose columns are compared pairwise: for a grid, the settings chosen on validation."""
        return list(self.variant_records(records).values())[-1]

    def edge_notes(
        self, records: Sequence[RunRecord], results_root: str | Path
    ) -> dict[str, dict[tuple[str, str], str]]:
        """Per variant, the (dataset, column)s whose chosen setting is still at an edge of its searched range,
        with a note naming it: from the tuning results (``TuningResult.edges``) or, for a grid, from the
        settings run (``selection.grid_edges``)."""
        if self.selection == "grid":
            selections = ("test", "validation")
            return {f"{self.name}/{by}": grid_edges(records, select_setting(records, by)[1]) for by in selections}
        notes: dict[tuple[str, str], str] = {}
        columns = {m.name: m.regime for m in self.methods} | {b.name: b.name for b in self.baselines}
        for dataset in sorted({r.dataset for r in records}):
            path = self.tuning_path(results_root, dataset)
            if not path.exists():
                continue
            edges = load_tuning(path).edges
            for column, key in columns.items():
                at_edge = [axis.replace("_", " ") for axis, status in edges.get(key, {}).items() if status == "edge"]
                if at_edge:
                    notes[(dataset, column)] = f"{', '.join(at_edge)} at the edge of the range searched"
        return {self.name: notes}

    def column_order(self) -> list[str]:
        return [m.name for m in self.methods] + [b.name for b in self.baselines]

    def column_labels(self) -> dict[str, str]:
        return {m.name: m.label for m in self.methods} | {b.name: b.label for b in self.baselines}

    @property
    def requires(self) -> tuple[str, ...]:
        """The protocol whose tuned full-training setting this one takes (``trained_setting_from``), if any."""
        return (self.trained_setting_from,) if self.trained_setting_from else ()

    # --- choosing settings ----------------------------------------------------------------------

    def tune(
        self,
        data: ImageDataset,
        results_root: str | Path,
        grid: TuningGrid | None = None,
        methods: Sequence[str] | None = None,
        baselines: Sequence[str] | None = None,
        device: str = "auto",
        cache_dir: str | Path | None = None,
        log: Callable[[str], None] = print,
    ) -> TuningResult:
        """Choose this protocol's settings for ``data`` on validation splits (``synthlib.tuning``) and
        write them to ``tuning_path``; a finished result of the same request is reused."""
        if not self.needs_tuning:
            raise ValueError(f"protocol {self.name!r} runs its whole grid of settings; it has nothing to tune")
        fixed = {}
        if self.trained_setting_from:
            other = get_protocol(self.trained_setting_from)
            if not other.tuning_path(results_root, data.name).exists():
                log(f"tune {data.name}: {self.name!r} takes {other.name!r}'s full-training setting; tuning it first")
                other.tune(data, results_root, grid, device=device, cache_dir=cache_dir, log=log)
            fixed["trained"] = load_tuning(other.tuning_path(results_root, data.name)).selected["trained"]
            log(f"tune {data.name}: full training takes protocol {other.name!r}'s choice {fixed['trained']}")
        request = TuningRequest(
            data.name,
            tuple(pick(methods, self.methods, "method")),
            grid or self.tuning_grid,
            self.per_class,
            self.val_per_class,
            self.arch,
            self.options,
            tuple(pick(baselines, self.baselines, "baseline")),
            self.baseline_cs,
            fixed,
        )
        return tune(data, request, self.tuning_path(results_root, data.name), device, log, cache_dir)

    def _cnn_settings(self, regime: str, dataset: str, results_root: str | Path) -> list[tuple[TrainConfig, str]]:
        if self.needs_tuning:
            return [(load_tuning(self.tuning_path(results_root, dataset)).selected[regime], "")]
        grid = self.trained_settings if regime == "trained" and self.trained_settings else self.settings
        return [(config, setting_tag(config)) for config in grid]

    def _baseline_cs(self, baseline: Baseline, dataset: str, results_root: str | Path) -> list[tuple[float, str]]:
        if self.needs_tuning:
            tuning = load_tuning(self.tuning_path(results_root, dataset))
            if baseline.name not in tuning.baseline_c:
                raise ValueError(
                    f"the tuning result for {dataset} under {self.name!r} has no C for {baseline.name!r}: "
                    f"rerun notebooks/03_tuning.py with that baseline"
                )
            return [(tuning.baseline_c[baseline.name], "")]
        return [(float(c), f"C{c:g}") for c in self.baseline_cs]

    # --- the runs -------------------------------------------------------------------------------

    def plan(
        self,
        data: ImageDataset | str,
        results_root: str | Path,
        seeds: Sequence[int] | None = None,
        methods: Sequence[str] | None = None,
        baselines: Sequence[str] | None = None,
        settings_limit: int | None = None,
    ) -> list[Job]:
        """Every job of this protocol on ``data`` (a dataset or its name), seed by seed (the columns of a
        seed share their split): per seed a ``CnnJob`` over its frozen methods' settings (their heads train as
        one model) and one per (seed, trained method) over its settings, per (seed, baseline) a
        ``BaselineJob`` over its Cs. ``settings_limit`` keeps the first settings of a grid (a quick check)."""
        dataset = data if isinstance(data, str) else data.name
        runs_dir = self.runs_dir(results_root)
        columns = pick(methods, self.methods, "method")
        fixed = pick(baselines, self.baselines, "baseline")
        cnn = {m.regime: self._cnn_settings(m.regime, dataset, results_root)[:settings_limit] for m in columns}
        cs = {b.name: self._baseline_cs(b, dataset, results_root)[:settings_limit] for b in fixed}
        jobs: list[Job] = []
        for seed in self.seeds if seeds is None else seeds:
            configs = [
                (
                    RunConfig(
                        dataset, method, seed, train, self.per_class, self.val_per_class, self.arch, self.options
                    ),
                    tag,
                )
                for method in columns
                for train, tag in cnn[method.regime]
            ]
            jobs += cnn_jobs(self.name, runs_dir, configs)
            draw_seed = 0 if self.options.shared_draws else seed
            selection = "grid" if self.selection == "grid" else "validation"
            for baseline in fixed:
                runs = tuple(
                    baseline_run(
                        self.name,
                        runs_dir,
                        BaselineConfig(
                            dataset,
                            baseline,
                            seed,
                            draw_seed,
                            c,
                            selection,
                            self.per_class,
                            self.val_per_class,
                            self.options,
                        ),
                        tag,
                    )
                    for c, tag in cs[baseline.name]
                )
                jobs.append(BaselineJob(runs))
        return jobs

    def planned_run(self, record: RunRecord, results_root: str | Path) -> PlannedRun | None:
        """The run this protocol plans at ``record``'s place: its seed, column and setting, at the record's
        subset sizes."""
        config = record.config
        sizes = (config.get("per_class"), config.get("val_per_class"))
        protocol = self.with_overrides([record.seed], *sizes)
        method, baseline = record.method, "baseline" in config.get("method", {})
        jobs = protocol.plan(
            record.dataset,
            results_root,
            methods=[] if baseline else [method],
            baselines=[method] if baseline else [],
        )
        return next((run for job in jobs for run in job.runs if run.setting == record.setting), None)


def register_protocol(protocol: Protocol) -> Protocol:
    """Add ``protocol`` to the study registry (``synthlib.study``; its name must be new); returns it."""
    register_study(protocol)
    return protocol


def unregister_protocol(name: str) -> None:
    """Remove a protocol (e.g. one a test registered)."""
    unregister_study(name)


def protocol_names() -> list[str]:
    """The registered protocols, in registration order (the study's order)."""
    return [name for name in study_names() if isinstance(get_study(name), Protocol)]


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``; an unknown name lists the valid ones."""
    study = get_study(name) if name in study_names() else None
    if not isinstance(study, Protocol):
        raise ValueError(f"unknown protocol {name!r}; valid protocols are: {', '.join(protocol_names())}")
    return study


def default_protocol() -> Protocol:
    """The first registered protocol (notebooks use it when no protocol is named)."""
    return get_protocol(protocol_names()[0])


def variant_labels() -> dict[str, str]:
    """Every registered protocol's verdict rows and their labels."""
    return {key: label for name in protocol_names() for key, label in get_protocol(name).variants().items()}


register_protocol(
    Protocol(
        name="paper",
        label="paper",
        title="The paper's text (gaps filled; choices on validation)",
        methods=PAPER_METHODS,
        seeds=(0, 1, 2),
        selection="tuned",
    )
)
register_protocol(
    Protocol(
        name="authors_code",
        label="authors' code",
        title="The authors' code (shared draws, 24-setting grid, selection on test and on validation)",
        methods=AUTHORS_CODE_METHODS,
        seeds=(0, 1, 2),
        selection="grid",
        arch=AUTHORS_CODE_ARCH,
        options=RunOptions(shared_draws=True, extraction_flips=True, head_init_std=0.05, conv_init_std=0.01),
        settings=authors_code_settings(),
        trained_settings=authors_code_settings(
            dividers=(1, 3, 10, 30, 100, 300, 1000, 3000, 10000), batch_sizes=(50,), weight_decays=(1e-3,)
        ),
    )
)
register_protocol(
    Protocol(
        name="sound",
        label="sound",
        title="Sound (10-30 fresh seeds by a power estimate, choices on validation, standardised features, paired "
        "tests)",
        methods=PAPER_METHODS,
        seeds=tuple(range(10)),
        seed_rule=SeedRule(minimum=10, maximum=30),
        selection="tuned",
        options=RunOptions(feature_norm="standardize"),
        trained_setting_from="paper",
    )
)


__all__ = [
    "AUTHORS_CODE_ARCH",
    "Protocol",
    "authors_code_settings",
    "default_protocol",
    "get_protocol",
    "protocol_names",
    "register_protocol",
    "unregister_protocol",
    "variant_labels",
]
