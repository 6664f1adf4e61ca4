"""Three named protocols: what the paper's text says, what the authors' code did, and a sound study.

A protocol is one complete configuration: the columns (samplers and their presets), the
architecture, the seeds, how hyperparameters are chosen and the ``RunOptions`` that differ. Every
protocol also runs the two fixed-feature baselines of ``synthlib.baselines`` on the same subsets.

- ``paper``: the text of Karimi et al. 2017, with its gaps filled as in Table 1 (``experiment``):
  kernels at the text's scales, a 4x4 grid pool to the stated 1024 FC inputs, Adam settings and
  input normalisation chosen on a validation split (tuning seed 1000), 3 seeds, fresh draws each.
- ``authors_code``: the authors' MatConvNet code (STUDY_BRIEF section 2; ``runLarpTests``,
  ``cnnInit``, ``constructCifarImdb``): the one-conv network (pool 3x3 stride 2, pad [0 1 0 1],
  16x16x64 = 16,384 FC inputs, FC weights 0.05 N(0, 1), biases zero and frozen; a trained conv
  starts from 0.01 N(0, 1)), the code's
  sampler scales, per-dataset preprocessing, random flips at feature extraction and per
  minibatch, SGD with momentum 0.9 for 100 epochs at the step schedule 1, 0.3, 0.1 (epochs 1,
  26, 51), and the grid of 24 settings (base learning rate 0.1 / {1, 3, 10, 30} x batch {50, 100}
  x weight decay {1e-2, 1e-3, 1e-4}). The three runs share the subset, kernels and initial
  weights. Every setting is run; the table shows the setting chosen on the test set, as the
  authors did (test-set selection), and the one chosen on a validation split. How the code
  trained the full network is not known; the fully trained column runs the grid's four learning
  rates at batch 50 and weight decay 1e-3 (the whole grid would take about an hour of CPU per
  dataset: 25 s per run on the reference machine) and two further steps down (0.1 / 100 and
  / 300): at the grid's own rates the whole network diverges on both datasets (chance accuracy in
  every run). The code's per-layer multiplier of 0.1 on weight learning rates
  (``constructConvLayer``) points the same way.
- ``sound``: the paper's samplers and network, 10 seeds with fresh kernels and subsets, every
  choice made on a validation split, and frozen features standardised before the head so a
  sampler's weight scale stops being a confound. Columns are compared pairwise on the same seeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from synthlib.experiment import PAPER_METHODS, Method, RunOptions
from synthlib.models import ArchitectureConfig
from synthlib.training import TrainConfig
from synthlib.tuning import TuningGrid

SELECTIONS = ("tuned", "grid")

AUTHORS_CODE_METHODS: tuple[Method, ...] = (
    Method("normal", "Normal", "normal", {"preset": "authors_code"}),
    Method("lognormal", "Log-Normal", "lognormal", {"preset": "authors_code"}),
    Method("center_surround", "Center-Surround", "center_surround", {"preset": "authors_code"}),
    Method("fully_trained", "Fully Trained"),
)

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
class Protocol:
    """One complete, named configuration of the study.

    ``selection="tuned"``: one setting per regime is chosen on validation data by
    ``synthlib.tuning`` (``tuning_grid``), then every seed runs with it. ``selection="grid"``: every
    setting of ``settings`` is run for every seed and the tables choose per column.
    """

    name: str
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
    baseline_seeds: tuple[int, ...] = field(default=(1000,))
    """Seeds whose validation split chooses a baseline's regularisation (``tuned`` protocols)."""
    trained_setting_from: str | None = None
    """A protocol whose tuned setting for full training this one shares, when its own options
    cannot change that choice (``sound`` standardises frozen features only), instead of repeating
    the same search."""

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise ValueError(f"unknown selection {self.selection!r}; valid values are: {', '.join(SELECTIONS)}")
        if self.selection == "grid" and not self.settings:
            raise ValueError(f"protocol {self.name!r} selects on a grid but has no settings")

    def with_seeds(self, seeds: Sequence[int]) -> Protocol:
        """The same protocol run on other evaluation seeds (e.g. fewer, for a quick check)."""
        return replace(self, seeds=tuple(int(s) for s in seeds))


PROTOCOLS: dict[str, Protocol] = {
    "paper": Protocol(
        name="paper",
        title="The paper's text (gaps filled; choices on validation)",
        methods=PAPER_METHODS,
        seeds=(0, 1, 2),
        selection="tuned",
    ),
    "authors_code": Protocol(
        name="authors_code",
        title="The authors' code (shared draws, 24-setting grid, selection on test and on validation)",
        methods=AUTHORS_CODE_METHODS,
        seeds=(0, 1, 2),
        selection="grid",
        arch=AUTHORS_CODE_ARCH,
        options=RunOptions(shared_draws=True, extraction_flips=True, head_init_std=0.05, conv_init_std=0.01),
        settings=authors_code_settings(),
        trained_settings=authors_code_settings(
            dividers=(1, 3, 10, 30, 100, 300), batch_sizes=(50,), weight_decays=(1e-3,)
        ),
    ),
    "sound": Protocol(
        name="sound",
        title="Sound (10 fresh seeds, choices on validation, standardised features, paired tests)",
        methods=PAPER_METHODS,
        seeds=tuple(range(10)),
        selection="tuned",
        options=RunOptions(feature_norm="standardize"),
        trained_setting_from="paper",
    ),
}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``; an unknown name lists the valid ones."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; valid protocols are: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


__all__ = [
    "AUTHORS_CODE_ARCH",
    "AUTHORS_CODE_METHODS",
    "PROTOCOLS",
    "Protocol",
    "authors_code_settings",
    "get_protocol",
]
