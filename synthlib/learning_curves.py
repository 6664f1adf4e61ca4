"""The learning curves: every column at a ladder of training sizes, with samplers closer to V1 and LGN,
sampled initialisation and deeper synthesized networks (a study beside the protocols: ``synthlib.study``).

The study asks where, in training images per class, a frozen biological layer helps, and which one.
It runs under the ``sound`` protocol's rules (``synthlib.protocols``): fresh subsets and kernels for
every seed, features standardised before the head, every choice made on validation data, and columns
compared pairwise on the same seeds (``synthlib.curves``). It takes from ``sound``, per dataset, the
settings tuned on validation at 38 images per class (``results/sound/tuning/<dataset>.json``): the
frozen and the fully trained setting, and each baseline's C.

What differs from ``sound`` (each named in ``LearningCurves.deviations``):

- **Sizes.** ``SIZES`` images per class, and the full training set (``full_per_class``: every class
  cut to the smallest class's count less the validation split, so classes stay balanced).
- **Validation split.** ``val_per_class``: as many images per class as the training subset, at least
  ``VALIDATION_FLOOR`` and at most ``VALIDATION_CAP`` (38 at 38 per class, as in ``sound``).
- **A step budget instead of epochs.** A setting tuned at 38 per class trains for ``epochs`` passes
  over 380 images; at another size the same number of epochs would be a different amount of training.
  Each run takes the number of optimiser steps the tuned setting takes at 38 per class, rounded to
  whole epochs of its own subset (``train_setting``). At 38 per class a run is exactly ``sound``'s.
- **Settings are not re-tuned per size, depth or initialisation**: the tuned frozen setting serves every
  frozen column, the tuned fully trained one every column that trains its conv.
- **Seeds.** ``SEEDS`` (0-4), five per point, not ``sound``'s power rule.
- **Grids.** On a 2-core CPU the columns that train the conv stop at smaller sizes (``CPU_GRID``; the
  tables say "not run" there); ``FULL_GRID`` runs every column at every size (a GPU: ``python -m
  synthlib curves run --grid full --device cuda mnist cifar10``).

The columns (``COLUMNS``):

- frozen one-conv layers: the paper's three samplers (``sound``'s presets), ``gabor_v1`` (macaque V1
  simple cells), ``dog_color`` (LGN colour-opponent difference of Gaussians), ``morlet`` (kymatio's
  designed Morlet bank, the same for every seed) and log-normal weights under Dale's law (20% of output
  channels inhibitory: ``samplers.dale.CORTICAL_INHIBITORY_FRACTION``, Markram et al. 2004);
- frozen deeper networks: 2 and 3 conv layers of 32, (32,) 64 kernels (the channel counts of the authors'
  three-conv network, STUDY_BRIEF section 2), a V1 Gabor first layer and normal weights above it,
  each followed by max-pool and ReLU, the same 1024-64-10 head;
- trained: the one-conv CNN from PyTorch's default initialisation (``fully_trained``), from each
  sampler's kernels (``init_<sampler>``, rescaled to the default initialisation's standard deviation:
  ``experiment.at_default_init_scale``), and the 2- and 3-layer networks trained end to end;
- baselines: logistic regression on pixels, and the scattering transform + linear classifier.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from synthlib.baseline_runs import BaselineConfig, BaselineJob, baseline_run
from synthlib.columns import BASELINES, PAPER_METHODS, Baseline, Method
from synthlib.data import ImageDataset
from synthlib.engine import Job, PlannedRun, RunContext, RunResult
from synthlib.experiment import RunConfig, SplitTensors, build_model, cnn_run, run_one, run_split
from synthlib.features import FrozenFeatures, extract_features, frozen_features
from synthlib.lengths import record_length_rule, rules_text
from synthlib.models import ArchitectureConfig
from synthlib.protocols import Protocol, get_protocol
from synthlib.records import RunRecord
from synthlib.samplers.dale import CORTICAL_INHIBITORY_FRACTION
from synthlib.study import Study, register_study
from synthlib.training import TrainConfig
from synthlib.tuning import TuningResult, load_tuning

SIZES: tuple[int, ...] = (1, 2, 5, 10, 20, 38, 100, 300, 1000)
"""Training images per class, below the full training set."""

SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)

VALIDATION_FLOOR = 10
VALIDATION_CAP = 500

BUDGET_PER_CLASS = 38
"""The size at which ``sound`` tuned the settings, whose optimiser steps are every run's budget."""

FULL = "full"

DEEP2_ARCH = ArchitectureConfig(n_kernels=32, pool_pad_after=1, deeper_layers=((64, 3),))
"""Two conv layers (32 kernels 5x5, then 64 kernels 3x3), each followed by max-pool 2x2 and ReLU. The
pooling pads the bottom and right edge by one (a padded cell never wins a max) so that MNIST's odd
sides (7) round up: both datasets end at 8x8, then the 4x4 grid pool gives the paper's 1024 features."""

DEEP3_ARCH = ArchitectureConfig(n_kernels=32, pool_pad_after=1, deeper_layers=((32, 3), (64, 3)))
"""Three conv layers of 32, 32 and 64 kernels (the authors' three-conv network's channel counts), 5x5
then 3x3, pooled as ``DEEP2_ARCH``: both datasets end at 4x4x64 = 1024 features."""

GABOR = {"preset": "biological"}


@dataclass(frozen=True)
class CurveColumn:
    """A column of the learning curves: a CNN column with its architecture, or a baseline."""

    column: Method | Baseline
    arch: ArchitectureConfig = ArchitectureConfig()

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def label(self) -> str:
        return self.column.label

    @property
    def kind(self) -> str:
        """``"frozen"``, ``"trained"`` or ``"baseline"``."""
        return self.column.regime if isinstance(self.column, Method) else "baseline"


def _init_column(method: Method) -> CurveColumn:
    return CurveColumn(
        replace(method, name=f"init_{method.name}", label=f"{method.label} init, trained", init_only=True)
    )


NEW_SAMPLERS: tuple[Method, ...] = (
    Method("gabor_v1", "Gabor (V1)", "gabor_v1", GABOR),
    Method("dog_color", "DoG colour (LGN)", "dog_color", {"preset": "biological"}),
    Method("morlet", "Morlet (designed)", "morlet", {"preset": "scattering"}),
)
"""The samplers closer to measured V1 and LGN, and the designed reference."""

COLUMNS: tuple[CurveColumn, ...] = (
    *(CurveColumn(m) for m in PAPER_METHODS if m.regime == "frozen"),
    *(CurveColumn(m) for m in NEW_SAMPLERS),
    CurveColumn(
        Method(
            "lognormal_dale",
            "Log-Normal, Dale 20%",
            "lognormal",
            {"preset": "paper_text", "dale_inhibitory_fraction": CORTICAL_INHIBITORY_FRACTION},
        )
    ),
    CurveColumn(
        Method("deep2_frozen", "2 layers: Gabor, normal", "gabor_v1", GABOR, deeper_samplers=("normal",)), DEEP2_ARCH
    ),
    CurveColumn(
        Method(
            "deep3_frozen", "3 layers: Gabor, normal, normal", "gabor_v1", GABOR, deeper_samplers=("normal", "normal")
        ),
        DEEP3_ARCH,
    ),
    CurveColumn(Method("fully_trained", "Fully Trained")),
    *(_init_column(m) for m in (*PAPER_METHODS[:3], *NEW_SAMPLERS)),
    CurveColumn(Method("deep2_trained", "2 layers, fully trained"), DEEP2_ARCH),
    CurveColumn(Method("deep3_trained", "3 layers, fully trained"), DEEP3_ARCH),
    *(CurveColumn(b) for b in BASELINES),
)

BIOLOGICAL: tuple[str, ...] = ("lognormal", "center_surround", "gabor_v1", "dog_color", "lognormal_dale")
"""The frozen one-layer columns whose kernels are drawn from biological measurements."""


@dataclass(frozen=True)
class CurveGrid:
    """Which sizes each column runs at: ``largest[column name or kind][dataset]`` is the largest number of
    images per class it runs (``math.inf``: every size and the full set); a column's name takes
    precedence over its kind; an unlisted column runs everything."""

    name: str
    description: str
    largest: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def limit(self, column: CurveColumn, dataset: str) -> float:
        for key in (column.name, column.kind):
            if key in self.largest:
                return self.largest[key].get(dataset, math.inf)
        return math.inf


CPU_GRID = CurveGrid(
    "cpu",
    "2-core CPU, within an hour: frozen columns at every size and the full set; fixed-feature baselines up to "
    "300 per class; full training up to 38 (MNIST) and 1000 (CIFAR-10) per class; the sampled-initialisation "
    "and deeper trained columns up to 5 (MNIST) and 38 (CIFAR-10) per class",
    {
        "baseline": {"mnist": 300, "cifar10": 300},
        "fully_trained": {"mnist": 38, "cifar10": 1000},
        "trained": {"mnist": 5, "cifar10": 38},
    },
)
FULL_GRID = CurveGrid("full", "every column at every size and on the full training set (a GPU)")
GRIDS: dict[str, CurveGrid] = {grid.name: grid for grid in (CPU_GRID, FULL_GRID)}


def val_per_class(per_class: int) -> int:
    """The validation split's size rule: as many images per class as the training subset, at least
    ``VALIDATION_FLOOR`` (a split of one image per class cannot rank columns) and at most ``VALIDATION_CAP``."""
    return int(min(max(per_class, VALIDATION_FLOOR), VALIDATION_CAP))


def full_per_class(labels: np.ndarray) -> int:
    """The full training set as a class-balanced size: the smallest class's count less its validation split
    (``VALIDATION_CAP``, or half the class when that is smaller), so that ``val_per_class`` of the result is
    that split (MNIST 5421 - 500 = 4921, CIFAR-10 5000 - 500 = 4500)."""
    smallest = int(np.unique(np.asarray(labels), return_counts=True)[1].min())
    size = smallest - min(VALIDATION_CAP, smallest // 2)
    if size < 1 or size + val_per_class(size) > smallest:
        raise ValueError(
            f"the smallest class has {smallest} image(s): too few for a training subset and a validation split of "
            f"at least {VALIDATION_FLOOR}"
        )
    return size


def budget_steps(setting: TrainConfig, n_classes: int) -> int:
    """The optimiser steps ``setting`` takes at ``BUDGET_PER_CLASS`` images per class."""
    return setting.epochs * math.ceil(n_classes * BUDGET_PER_CLASS / setting.batch_size)


@dataclass(frozen=True)
class CurveStopping:
    """Early stopping of every column that trains (``training.fit_until_plateau``, ``synthlib.stopping``): a run
    stops once its validation accuracy has not improved for ``patience`` epochs and keeps its best epoch, or
    stops at ``max_epochs``. Both are set per size from the minibatches of one epoch, so that one rule holds
    from 1 image per class (one minibatch per epoch) to the full set (hundreds):

    - patience: ``patience_epochs``, or ``patience_steps`` optimiser steps where an epoch is shorter;
    - maximum: ``max_epochs_floor`` epochs, or ``max_steps`` optimiser steps where an epoch is shorter;
    - validation (``strip_steps``, optional): scored once per training strip of at least ``strip_steps``
      optimiser steps (Prechelt 1998's strips): after every epoch where an epoch has that many minibatches,
      else every ``ceil(strip_steps / minibatches per epoch)`` epochs, and after the last epoch allowed.
      At 1 image per class an epoch is one minibatch, and scoring the validation split after each took
      three times as long as the step itself (``docs/learning_curves.md``)."""

    patience_epochs: int
    patience_steps: int
    max_epochs_floor: int
    max_steps: int
    strip_steps: int | None = None

    def __post_init__(self) -> None:
        names = ("patience_epochs", "patience_steps", "max_epochs_floor", "max_steps")
        for name in (*names, *(("strip_steps",) if self.strip_steps is not None else ())):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_steps <= self.patience_steps or self.max_epochs_floor <= self.patience_epochs:
            raise ValueError(
                "the maximum must exceed the patience (max_steps > patience_steps, "
                "max_epochs_floor > patience_epochs), or no run could stop by the rule"
            )

    def patience(self, steps_per_epoch: int) -> int:
        return max(self.patience_epochs, math.ceil(self.patience_steps / steps_per_epoch))

    def max_epochs(self, steps_per_epoch: int) -> int:
        return max(self.max_epochs_floor, math.ceil(self.max_steps / steps_per_epoch))

    def validation_every(self, steps_per_epoch: int) -> int | None:
        """Epochs per training strip (None without ``strip_steps``: validation after every epoch)."""
        if self.strip_steps is None:
            return None
        return max(1, math.ceil(self.strip_steps / steps_per_epoch))

    def describe(self) -> str:
        return (
            f"early stopping on each run's own validation split: patience {self.patience_epochs} epochs, or "
            f"{self.patience_steps} optimiser steps where an epoch is shorter; at most {self.max_epochs_floor} "
            f"epochs, or {self.max_steps} steps where an epoch is shorter; the best epoch's parameters kept"
            + (
                ""
                if self.strip_steps is None
                else f"; validation scored once per strip of at least {self.strip_steps} optimiser steps (every "
                f"epoch where an epoch has {self.strip_steps} minibatches or more) and after the last epoch"
            )
        )


def train_setting(
    setting: TrainConfig, n_classes: int, per_class: int, stopping: CurveStopping | None = None
) -> TrainConfig:
    """``setting`` for a subset of ``per_class`` images per class. Without ``stopping``: its epochs set so that
    the subset gets the step budget, ``max(1, round(budget / steps per epoch))`` epochs (the same setting at
    38 per class). With it: ``stopping``'s maximum as ``epochs`` and its ``patience``, per size."""
    per_epoch = math.ceil(n_classes * per_class / setting.batch_size)
    if stopping is not None:
        return replace(
            setting,
            epochs=stopping.max_epochs(per_epoch),
            patience=stopping.patience(per_epoch),
            validation_every=stopping.validation_every(per_epoch),
        )
    return replace(setting, epochs=max(1, round(budget_steps(setting, n_classes) / per_epoch)))


def curve_features(config: RunConfig, split: SplitTensors, context: RunContext) -> FrozenFeatures:
    """A frozen run's features: train and validation from its subset, test from the run context's memo of
    raw test features per (seed, column), standardised with this subset's statistics."""
    in_channels, image_size = split.x_train.shape[1], split.x_train.shape[2]
    kernels = build_model(config, in_channels, image_size, context.device).conv_weights
    standardize = config.options.feature_norm == "standardize"
    features = frozen_features(kernels, config.arch, split.x_train, split.x_val, standardize)
    subset_scaled = config.train.input_norm == "standardize"  # test images scaled by the subset's statistics
    key = (
        config.dataset,
        config.draw_seed,
        config.method.name,
        repr(config.arch),
        config.train.input_norm,
        config.per_class if subset_scaled else None,
    )
    raw_test = context.memo(
        "curve_test_features", key, lambda: extract_features(split.x_test, kernels, config.arch), keep=16
    )
    features.test = features.scaler(raw_test) if features.scaler is not None else raw_test
    return features


@dataclass(frozen=True)
class CurveJob(Job):
    """One CNN run of the learning curves. A frozen column's kernels depend on the seed, not on the size, so
    the test set's raw features are computed once per (seed, column) and shared by its sizes (through the
    run context); only the standardisation, fitted on each size's training subset, differs. A run whose
    setting has ``patience`` stops on its own validation split (``training.fit_until_plateau``) and its
    record says how (``RunRecord.stopping``)."""

    runs: tuple[PlannedRun, ...]

    def run(self, pending: Sequence[PlannedRun], context: RunContext) -> Iterator[tuple[PlannedRun, RunResult]]:
        for planned in pending:
            config: RunConfig = planned.payload
            split, split_s = run_split(config, context)
            features = curve_features(config, split, context) if config.method.regime == "frozen" else None
            result, trained = run_one(config, split, context.device, features)
            timing = {"split_s": split_s, **result.timing, "wall_time_s": result.timing["wall_time_s"] + split_s}
            stopping = trained.stopping.to_dict() if trained.stopping is not None else None
            yield planned, replace(result, timing=timing, stopping=stopping)


def curve_task(job: Job) -> tuple[str, str, int]:
    """The array task of a learning-curve job: its dataset, column and seed."""
    run = job.runs[0]
    return run.dataset, run.method, run.seed


def _seeds_text(seeds: Sequence[int]) -> str:
    ordered = sorted(seeds)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{ordered[0]}–{ordered[-1]}"
    return ", ".join(map(str, ordered))


def size_tag(per_class: int) -> str:
    """The record file's setting tag of a size, e.g. ``n0038`` (sorts by size)."""
    return f"n{per_class:04d}"


@dataclass(frozen=True)
class LearningCurves(Study):
    """The learning-curve study: its columns, sizes, seeds and grids, under ``settings_from``'s rules."""

    name: str = "learning_curves"
    label: str = "learning curves"
    settings_from: str = "sound"
    columns: tuple[CurveColumn, ...] = COLUMNS
    sizes: tuple[int, ...] = SIZES
    seeds: tuple[int, ...] = SEEDS
    grids: Mapping[str, CurveGrid] = field(default_factory=lambda: dict(GRIDS))
    seed_rule: None = None
    """A fixed number of seeds per point (``seeds``, and ``more_seeds`` at some sizes), not a power rule."""
    more_seeds: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    """Seeds run at some sizes (images per class) beyond ``seeds``."""
    stopping: CurveStopping | None = None
    """None: every run takes the step budget (``train_setting``); else early stopping under this rule."""

    def seeds_at(self, per_class: int) -> tuple[int, ...]:
        """The seeds of one size: ``seeds``, then ``more_seeds`` of that size."""
        return (*self.seeds, *self.more_seeds.get(per_class, ()))

    @property
    def requires(self) -> tuple[str, ...]:
        """The protocol whose tuned settings every run takes."""
        return (self.settings_from,)

    @property
    def protocol(self) -> Protocol:
        """The registered protocol whose rules, options and tuned settings this study takes."""
        return get_protocol(self.settings_from)

    def array_task_key(self) -> Callable[[Job], Hashable]:
        """Through a launcher, one array task per dataset, column and seed: its sizes share the frozen
        kernels' test features (``CurveJob``)."""
        return curve_task

    def tuning(self, results_root: str | Path, dataset: str) -> TuningResult:
        """``settings_from``'s tuned settings of ``dataset`` (``<results_root>/<settings_from>/tuning/``)."""
        return load_tuning(self.protocol.tuning_path(results_root, dataset))

    def column_labels(self) -> dict[str, str]:
        return {c.name: c.label for c in self.columns}

    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns}

    def biological(self) -> tuple[str, ...]:
        return tuple(name for name in BIOLOGICAL if name in self.kinds())

    def full_sizes(self, records: Sequence[RunRecord]) -> dict[str, int]:
        """Per dataset, the full training set's size in ``records`` (the one size not in ``sizes``)."""
        return {r.dataset: int(r.config["per_class"]) for r in records if r.config["per_class"] not in self.sizes}

    def grid(self, name: str) -> CurveGrid:
        if name not in self.grids:
            raise ValueError(f"unknown grid {name!r}; valid grids are: {', '.join(self.grids)}")
        return self.grids[name]

    def pick_columns(self, names: Sequence[str] | None) -> list[CurveColumn]:
        """Columns by name, in the order given (None: all); an unknown name lists the valid ones."""
        if names is None:
            return list(self.columns)
        by_name = {c.name: c for c in self.columns}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"unknown column {unknown[0]!r}; valid columns are: {', '.join(by_name)}")
        return [by_name[n] for n in names]

    def planned_sizes(self, column: CurveColumn, dataset: str, full_size: int, grid: str = "cpu") -> list[int]:
        """The sizes (images per class) ``column`` runs at on ``grid``; ``full_size`` is the full set's."""
        largest = self.grid(grid).limit(column, dataset)
        return [n for n in self.curve_sizes(full_size) if n <= largest]

    def curve_sizes(self, full_size: int) -> list[int]:
        """Every size of the curves, in images per class: ``sizes`` below the full set's, then the full set."""
        return [n for n in self.sizes if n < full_size] + [full_size]

    def plan(
        self,
        data: ImageDataset | str,
        results_root: str | Path,
        seeds: Sequence[int] | None = None,
        grid: str = "cpu",
        columns: Sequence[str] | None = None,
        sizes: Sequence[int] | None = None,
    ) -> list[Job]:
        """Every run on ``data``, seed by seed and size by size (the columns of a seed and size share their
        split), frozen columns first, on ``grid``; each size at its own seeds (``seeds_at``) unless ``seeds``
        names them for every size. ``columns`` and ``sizes`` keep only those (a quick check).
        The full set's size comes from the images' labels, so ``data`` must be the dataset itself."""
        if isinstance(data, str):
            raise TypeError("the learning curves plan from the dataset's labels: pass the dataset, not its name")
        tuning = self.tuning(results_root, data.name)
        full_size = full_per_class(data.y_train)
        n_classes = len(np.unique(data.y_train))
        chosen = sorted(self.pick_columns(columns), key=lambda c: ("frozen", "trained", "baseline").index(c.kind))
        planned = {c.name: self.planned_sizes(c, data.name, full_size, grid) for c in chosen}
        jobs: list[Job] = []
        every_seed = dict.fromkeys(self.seeds_at(n) for n in self.curve_sizes(full_size))
        for seed in dict.fromkeys(s for at_size in every_seed for s in at_size) if seeds is None else seeds:
            for per_class in self.curve_sizes(full_size):
                if sizes is not None and per_class not in sizes:
                    continue
                if seeds is None and seed not in self.seeds_at(per_class):
                    continue
                for column in chosen:
                    if per_class in planned[column.name]:
                        run = self.column_run(data.name, results_root, column.name, seed, per_class, n_classes, tuning)
                        jobs.append(BaselineJob((run,)) if column.kind == "baseline" else CurveJob((run,)))
        return jobs

    def planned_run(self, record: RunRecord, results_root: str | Path) -> PlannedRun | None:
        """The run of ``record``'s column at its seed and size (whatever the grid), or None for a column the
        study does not have."""
        if record.method not in self.column_labels():
            return None
        n_classes = record.config.get("architecture", {}).get("n_classes", 10)
        per_class = int(record.config["per_class"])
        return self.column_run(record.dataset, results_root, record.method, record.seed, per_class, n_classes)

    def column_run(
        self,
        dataset: str,
        results_root: str | Path,
        column_name: str,
        seed: int,
        per_class: int,
        n_classes: int = 10,
        tuning: TuningResult | None = None,
    ) -> PlannedRun:
        """The run of one column at one seed and size, with its record's path and key (whatever the grid)."""
        (column,) = self.pick_columns([column_name])
        protocol = self.protocol
        tuning = tuning or self.tuning(results_root, dataset)
        runs_dir, val, tag = self.runs_dir(results_root), val_per_class(per_class), size_tag(per_class)
        if isinstance(column.column, Baseline):
            c = tuning.baseline_c[column.name]
            config = BaselineConfig(
                dataset, column.column, seed, seed, c, "validation", per_class, val, protocol.options
            )
            return baseline_run(self.name, runs_dir, config, tag)
        setting = train_setting(tuning.selected[column.kind], n_classes, per_class, self.stopping)
        run_config = RunConfig(dataset, column.column, seed, setting, per_class, val, column.arch, protocol.options)
        return cnn_run(self.name, runs_dir, run_config, tag)

    def deviations(self, grid: str = "cpu") -> str:
        """The differences from the paper and from ``sound``, and what the grid did not run, as markdown."""
        lines = [
            f"- Rules of the `{self.settings_from}` protocol: fresh subsets and kernels per seed, frozen features "
            "standardised with training-subset statistics, choices on validation, paired comparisons.",
            f"- Sizes: {', '.join(map(str, self.sizes))} images per class and the full training set, balanced: "
            f"every class cut to the smallest class's count less {VALIDATION_CAP} (MNIST 4921, CIFAR-10 4500 per "
            "class). The paper ran 38 per class only.",
            f"- Validation split per class: the training size, at least {VALIDATION_FLOOR}, at most "
            f"{VALIDATION_CAP}; it ranks columns (the best column per size)"
            + ("" if self.stopping is None else " and decides each run's training length (early stopping)")
            + ", it chooses no setting.",
            (
                f"- Training length of every column that trains (frozen heads, full training, sampled initialisation, "
                f"deeper networks): {self.stopping.describe()}. Every other setting is `{self.settings_from}`'s."
                if self.stopping is not None
                else f"- Training length: the number of optimiser steps `{self.settings_from}`'s tuned setting takes "
                f"at {BUDGET_PER_CLASS} per class, rounded to whole epochs of each subset (a step budget, not epochs)."
            ),
            f"- Settings were tuned once, at {BUDGET_PER_CLASS} per class, for the one-conv network "
            f"(`results/{self.settings_from}/tuning/`): they are not re-tuned per size, per depth or per "
            "initialisation, nor are the baselines' C.",
            f"- Seeds {_seeds_text(self.seeds)} ({len(self.seeds)} per point)"
            + "".join(
                f"; {len(self.seeds_at(n))} at {n} per class (seeds {_seeds_text(self.seeds_at(n))})"
                for n in sorted(self.more_seeds)
            )
            + f", not the power rule of `{self.settings_from}`.",
            "- Sampled initialisation: the sampler's kernels are rescaled by one factor to the standard deviation "
            "of PyTorch's default initialisation, then trained with everything else.",
            "- Deeper networks: 32 kernels 5x5, then 3x3 layers of (32,) 64 kernels, max-pool 2x2 (padded by one "
            "at the bottom and right) and ReLU after each, a 4x4 grid pool and the same 1024-64-10 head. The "
            "frozen ones draw the first layer from `gabor_v1` and the others from `normal`.",
            f"- Grid `{grid}`: {self.grid(grid).description}.",
        ]
        return "\n".join(lines)

    def length_lines(self, records: Sequence[RunRecord]) -> str:
        """Markdown, per dataset and column kind, read from the records' configurations: how each run's
        training length was decided (``lengths.length_rule``) and, size by size, the epochs it trained
        (``train.epochs``: the fixed length, or the maximum under early stopping). Baselines fit to their
        solver's convergence. One line per (dataset, kind); nothing here is typed in."""
        kinds = self.kinds()
        full = self.full_sizes(records)
        by_line: dict[tuple[str, str], list[RunRecord]] = {}
        for record in records:
            by_line.setdefault((record.dataset, kinds.get(record.method, "other")), []).append(record)
        lines = []
        order = ("frozen", "trained", "baseline", "other")
        for (dataset, kind), group in sorted(by_line.items(), key=lambda item: (item[0][0], order.index(item[0][1]))):
            rules = rules_text(record_length_rule(r) for r in group)
            sizes = sorted({int(r.config["per_class"]) for r in group})
            where = ", ".join("full" if n == full.get(dataset) else str(n) for n in sizes)
            line = f"- {dataset}, {kind} columns ({len({r.method for r in group})}), at {where} per class: {rules}"
            epochs = {
                int(r.config["per_class"]): int(r.config["train"]["epochs"]) for r in group if "train" in r.config
            }
            if epochs:
                shown = ", ".join(
                    f"{e} at {'the full set' if n == full.get(dataset) else n}" for n, e in sorted(epochs.items())
                )
                line += f"; epochs: {shown}"
            lines.append(line + ".")
        return "\n".join(lines)

    def _columns_text(self, names: Sequence[str]) -> str:
        """Columns in words: labels, or "the k frozen columns" where all k columns of one kind."""
        kinds, labels = self.kinds(), self.column_labels()
        of_kind = {kinds.get(n) for n in names}
        if len(names) > 2 and len(of_kind) == 1:
            return f"{len(names)} {next(iter(of_kind))} columns"
        return ", ".join(labels.get(n, n) for n in names)

    def runs_markdown(self, records: Sequence[RunRecord]) -> str:
        """Markdown, per dataset, read from the records: the runs, columns and seeds per point, the sizes,
        the largest size each column ran, the run time the records add up to, and the machines."""
        full = self.full_sizes(records)
        lines = []
        for dataset in sorted({r.dataset for r in records}):
            runs = [r for r in records if r.dataset == dataset and r.protocol in ("", self.name)]
            per_point: dict[tuple[str, int], int] = {}
            for r in runs:
                per_point[(r.method, int(r.config["per_class"]))] = (
                    per_point.get((r.method, int(r.config["per_class"])), 0) + 1
                )
            seeds = sorted(set(per_point.values()))
            seeds_text = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
            largest: dict[str, int] = {}
            for method, per_class in per_point:
                largest[method] = max(largest.get(method, 0), per_class)
            reach = "; ".join(
                f"{self._columns_text(names)} up to " + ("the full set" if n == full.get(dataset) else f"{n} per class")
                for n, names in sorted(_invert(largest).items(), reverse=True)
            )
            sizes = sorted({n for _, n in per_point})
            minutes = sum(r.timing.get("wall_time_s", 0.0) for r in runs) / 60
            devices = ", ".join(sorted({r.device for r in runs}))
            has_full = sizes[-1] == full.get(dataset)
            where = f"at {', '.join(str(n) for n in (sizes[:-1] if has_full else sizes))} per class" + (
                f" and the full set ({sizes[-1]} per class)" if has_full else ""
            )
            lines.append(
                f"- {dataset}: {len(runs)} runs of {len({r.method for r in runs})} columns, {seeds_text} seeds per "
                f"point, {where}; {reach}; {minutes:.1f} minutes of run time summed over the records ({devices})."
            )
        total = sum(r.timing.get("wall_time_s", 0.0) for r in records) / 60
        lines.append(f"- In all: {len(records)} runs, {total:.1f} minutes of run time.")
        return "\n".join(lines)

    def planned_count(self, column: CurveColumn, dataset: str, grid: str = "cpu") -> int:
        """The runs ``grid`` plans for ``column`` on ``dataset``, the full set (if the grid runs it) counted once
        per seed of ``seeds``."""
        largest = self.grid(grid).limit(column, dataset)
        below_full = sum(len(self.seeds_at(n)) for n in self.sizes if n <= largest)
        return below_full + (len(self.seeds) if largest == math.inf else 0)

    def _size_complete(self, records: Sequence[RunRecord], dataset: str, per_class: int, grid: str) -> bool:
        """Whether ``records`` hold every run ``grid`` plans at ``per_class`` on ``dataset`` (one that plans none
        there is not complete)."""
        planned = {
            (c.name, seed)
            for c in self.columns
            if per_class <= self.grid(grid).limit(c, dataset)
            for seed in self.seeds_at(per_class)
        }
        ran = {(r.method, r.seed) for r in records if r.dataset == dataset and int(r.config["per_class"]) == per_class}
        return bool(planned) and planned <= ran

    def progress_markdown(self, records: Sequence[RunRecord], datasets: Sequence[str], grid: str = "cpu") -> str:
        """Markdown, per dataset of ``datasets``: how many of ``grid``'s planned runs have a record, per column
        kind, and how many early-stopped runs stopped at the maximum rather than on a plateau; read from the
        records, so a grid that runs over several sessions shows where it stands."""
        kinds = self.kinds()
        lines = []
        for dataset in datasets:
            ran = [r for r in records if r.dataset == dataset and r.protocol == self.name]
            parts = []
            for kind in ("frozen", "trained", "baseline"):
                planned = sum(self.planned_count(c, dataset, grid) for c in self.columns if c.kind == kind)
                of_kind = [r for r in ran if kinds.get(r.method) == kind]
                parts.append(f"{kind} {len(of_kind)} of {planned}")
            minutes = sum(r.timing.get("wall_time_s", 0.0) for r in ran) / 60
            complete = [n for n in self.sizes if self._size_complete(ran, dataset, n, grid)]
            lines.append(
                f"- {dataset}: {len(ran)} of {sum(self.planned_count(c, dataset, grid) for c in self.columns)} "
                f"planned runs ({'; '.join(parts)}); "
                + (f"complete at {', '.join(map(str, complete))} per class" if complete else "no size complete yet")
                + f"; {_at_max_text(ran)} early-stopped runs stopped at the maximum; {minutes:.1f} minutes of run "
                "time summed over the records."
            )
        return "\n".join(lines)


def _at_max_text(records: Sequence[RunRecord]) -> str:
    """How many of ``records``' early-stopped runs stopped at the maximum, e.g. ``"0 of 212"``."""
    stopped = [r.stopping for r in records if r.stopping is not None]
    return f"{sum(bool(s['stopped_at_max']) for s in stopped)} of {len(stopped)}"


def _invert(largest: Mapping[str, int]) -> dict[int, list[str]]:
    """``{column: size}`` as ``{size: [columns]}``."""
    inverted: dict[int, list[str]] = {}
    for name, size in largest.items():
        inverted.setdefault(size, []).append(name)
    return inverted


LEARNING_CURVES = register_study(LearningCurves())

PLATEAU_STOPPING = CurveStopping(
    patience_epochs=20, patience_steps=800, max_epochs_floor=250, max_steps=4000, strip_steps=20
)
"""Every column that trains stops on its own validation split. Chosen on per-epoch validation curves of reruns
of committed configurations (curves the records do not store; ``docs/learning_curves.md``): their best epochs
ranged 6-127 (CIFAR-10) and 129-1,609 (MNIST) for frozen heads and 2-38 and 5-308 for full training; a patience
of 10 epochs lost up to 7 points of the best validation accuracy there, 20 epochs up to 12 points on MNIST
(one-minibatch epochs), 20 epochs or 800 steps at most 2. The maximum, 4,000 steps or 250 epochs where an epoch
is longer than 16 minibatches (300 per class and up): at 100 per class 4,000 steps are already 250 epochs, so
the floor changes no smaller size's maximum, and at 300 per class frozen log-normal heads were still improving
at epoch 94 of a 100-epoch maximum. Validation once per strip of 20 steps (``CurveStopping.strip_steps``)."""

PLATEAU_MORE_SEEDS: Mapping[int, tuple[int, ...]] = {n: (5, 6, 7, 8, 9) for n in (10, 38, 100)}
"""Ten seeds at 10, 38 and 100 images per class, the sizes the literature anchors report
(``synthlib.paper``); five elsewhere."""

PLATEAU_CPU_GRID = CurveGrid(
    "cpu",
    "2-core CPU: every column, trained or frozen, and both baselines at every size up to 300 per class; frozen "
    "columns and the baselines also at 1000 per class",
    {
        "trained": {"mnist": 300, "cifar10": 300},
        "frozen": {"mnist": 1000, "cifar10": 1000},
        "baseline": {"mnist": 1000, "cifar10": 1000},
    },
)

LEARNING_CURVES_PLATEAU = register_study(
    LearningCurves(
        name="learning_curves_plateau",
        label="learning curves, trained to plateau",
        grids={grid.name: grid for grid in (PLATEAU_CPU_GRID, FULL_GRID)},
        more_seeds=PLATEAU_MORE_SEEDS,
        stopping=PLATEAU_STOPPING,
    )
)
"""The learning curves with every training length decided per run by its own validation split
(``PLATEAU_STOPPING``), ten seeds at the anchored sizes and every column up to 300 per class on the CPU grid.
Its records (``results/learning_curves_plateau/runs``) accumulate over several sessions of the CPU grid, each
from a clean commit, reused by key; until the grid is complete the tables and the README are
``LEARNING_CURVES``', whose step budget they replace."""

CURVE_STUDIES: dict[str, LearningCurves] = {study.name: study for study in (LEARNING_CURVES, LEARNING_CURVES_PLATEAU)}
"""The learning-curve studies by name (``python -m synthlib curves run --study``)."""


__all__ = [
    "LEARNING_CURVES",
    "LEARNING_CURVES_PLATEAU",
    "LearningCurves",
    "PLATEAU_CPU_GRID",
    "PLATEAU_MORE_SEEDS",
    "PLATEAU_STOPPING",
    "BIOLOGICAL",
    "COLUMNS",
    "CURVE_STUDIES",
    "CPU_GRID",
    "DEEP2_ARCH",
    "DEEP3_ARCH",
    "FULL_GRID",
    "SIZES",
    "CurveColumn",
    "CurveGrid",
    "CurveJob",
    "CurveStopping",
    "budget_steps",
    "full_per_class",
    "size_tag",
    "train_setting",
    "val_per_class",
]
