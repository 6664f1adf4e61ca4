"""Hyperparameter choice on the validation split, never the test set.

The paper gives no optimiser, learning rate, epochs, batch size or input normalisation. They are
chosen here, once per dataset and regime, by a search on validation accuracy:

- settings are scored on three *tuning seeds* (1000, 1001, 1002), each its own subset, validation
  split and kernels, disjoint in randomness from the evaluation seeds (0, 1, 2, ...), so selection
  never sees an evaluation run, let alone its test set, and one split's noise does not decide;
- the starting grid is scored whole and its best mean is the first choice; then every numeric axis
  (learning rate, weight decay, epochs) whose chosen value sits at an end of the values searched is
  extended beyond it, the choice's missing neighbours are scored, and a neighbour replaces the
  choice when it beats it by more than one standard error of their paired difference (over tuning
  seeds and samplers; the one-standard-error rule), until no neighbour does: each axis is then
  interior, at a hard limit (weight decay 0), or extended ``max_extensions`` times (an edge that
  remains, recorded in ``TuningResult.edges`` and shown by the tables and the verdict;
  ``synthlib.search``);
- training length is scored at several checkpoint epochs within one training run;
- optionally (``TuningRequest.halving = Halving(eta, first_rung)``), the starting grid's settings drop out
  early by *successive halving* (Jamieson & Talwalkar 2016; Li et al. 2017 Hyperband; ``synthlib.stopping``):
  at each checkpoint epoch of at least ``first_rung`` but the last (a *rung*), the training runs still going
  are ranked by their mean validation accuracy
  over tuning seeds and methods, the best ``ceil(n / eta)`` go on (ties to the earlier in grid order) and
  the others stop there; their scores at the rungs they reached stay candidates. Frozen heads that drop out
  leave the batched model (``heads.HeadsTraining``); a fully trained run that drops out is not continued.
  ``replay_halving`` replays the rule on a committed score table;
- one setting is chosen per regime: all frozen samplers share theirs (the mean validation
  accuracy over the samplers decides), and full training gets its own, since it trains a
  different set of parameters. Ties go to the earlier setting in grid order
  (``synthlib.selection.best_by_mean``);
- each fixed-feature baseline gets its regularisation C the same way, on the same splits, its range
  of C extended by decades at an edge in the same way.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthlib.atomic import write_text_atomic
from synthlib.baseline_runs import choose_c
from synthlib.baselines import DEFAULT_CS
from synthlib.columns import Baseline, Method
from synthlib.data import ImageDataset
from synthlib.device import resolve_device
from synthlib.experiment import (
    RunConfig,
    RunOptions,
    SplitTensors,
    build_model,
    prepare_frozen,
    prepare_split,
    train_and_score,
    train_frozen_together,
)
from synthlib.heads import HeadsTraining
from synthlib.models import ArchitectureConfig
from synthlib.progress import progress_bar
from synthlib.records import RESULTS_VERSION, config_hash
from synthlib.search import Ladder
from synthlib.seeding import make_generator
from synthlib.selection import best_by_mean
from synthlib.stopping import Halving, halving_survivors
from synthlib.training import TrainConfig, accuracy, train_epochs


@dataclass(frozen=True)
class TuningGrid:
    """The settings searched: every combination of these values first, then each numeric axis extended
    at an edge until the choice is interior (``synthlib.search``; at most ``max_extensions`` rungs beyond
    each end). Epochs are checkpoints of one training run."""

    input_norms: tuple[str, ...] = ("unit", "standardize")
    learning_rates: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    weight_decays: tuple[float, ...] = (0.0, 1e-3)
    epochs: tuple[int, ...] = (25, 50, 100, 200)
    optimizer: str = "adam"
    batch_size: int = 64
    seeds: tuple[int, ...] = (1000, 1001, 1002)
    max_extensions: int = 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def settings(self) -> list[TrainConfig]:
        """One TrainConfig per (input_norm, lr, weight decay) of the starting grid, trained to the longest
        epoch count."""
        return [
            TrainConfig(self.optimizer, lr, wd, max(self.epochs), self.batch_size, input_norm=norm)
            for norm, lr, wd in itertools.product(self.input_norms, self.learning_rates, self.weight_decays)
        ]

    def ladders(self) -> dict[str, Ladder]:
        """The numeric axes as ladders (``synthlib.search``): weight decay stops at 0 (and goes up from a grid
        of 0 alone to 1e-4, then by decades), epochs at 1."""
        return {
            "learning_rate": Ladder("learning_rate", tuple(sorted(self.learning_rates)), "one_three"),
            "weight_decay": Ladder(
                "weight_decay", tuple(sorted(self.weight_decays)), "decade", lower_limit=0.0, first_positive=1e-4
            ),
            "epochs": Ladder("epochs", tuple(float(e) for e in sorted(self.epochs)), "double", lower_limit=1.0),
        }


Point = tuple[str, float, float]
"""(input normalisation, learning rate, weight decay): one training run, scored at several epochs."""


@dataclass
class SplitCache:
    """The tuning splits of ``data``, one per (seed, input normalisation), made when first needed."""

    data: ImageDataset
    per_class: int
    val_per_class: int
    device: torch.device
    splits: dict[tuple[int, str], SplitTensors] = field(default_factory=dict)

    def get(self, seed: int, norm: str) -> SplitTensors:
        if (seed, norm) not in self.splits:  # the test set is not loaded
            self.splits[(seed, norm)] = prepare_split(
                self.data, self.per_class, self.val_per_class, seed, norm, self.device, include_test=False
            )
        return self.splits[(seed, norm)]


def score_points(
    points: Sequence[Point],
    epochs: int,
    checkpoints: Sequence[int],
    methods: Sequence[Method],
    grid: TuningGrid,
    splits: SplitCache,
    arch: ArchitectureConfig,
    options: RunOptions,
    progress: Any = None,
) -> list[dict[str, Any]]:
    """Validation accuracy of every (method, tuning seed, point, checkpoint): one row each, method by method.
    Frozen methods (one regime: ``methods`` share it) train the heads of every method and point of one input
    normalisation at once, as one model, on each method's features computed once."""
    rows: list[dict[str, Any]] = []
    name = splits.data.name
    for seed in grid.seeds:
        for norm in dict.fromkeys(point[0] for point in points):
            split = splits.get(seed, norm)
            settings = [
                TrainConfig(grid.optimizer, lr, wd, epochs, grid.batch_size, input_norm=norm)
                for point_norm, lr, wd in points
                if point_norm == norm
            ]
            configs = [
                RunConfig(name, method, seed, setting, splits.per_class, splits.val_per_class, arch, options)
                for method in methods
                for setting in settings
            ]
            if methods[0].regime == "frozen":  # every sampler's heads of this seed as one model
                runs = train_frozen_together(configs, split, splits.device, checkpoints)
            else:
                runs = [train_and_score(config, split, splits.device, checkpoints) for config in configs]
            for config, run in zip(configs, runs):
                rows += [
                    {
                        "method": config.method.name,
                        "regime": config.method.regime,
                        "seed": seed,
                        **replace(config.train, epochs=checkpoint).to_dict(),
                        "val_accuracy": run.val_scores[checkpoint],
                    }
                    for checkpoint in checkpoints
                ]
            if progress is not None:
                progress.update(len(configs))
    return rows


class RungScoring:
    """The training runs of some points (every method and tuning seed), trained rung by rung for successive
    halving: ``advance(points, checkpoint)`` stops the runs of points not in ``points``, trains the others on
    to ``checkpoint`` epochs and returns their score rows there (as ``score_points`` makes them). Frozen
    methods of a (seed, input normalisation) train as one batched model (``heads.HeadsTraining``); fully
    trained runs one by one (``training.train_epochs``)."""

    def __init__(
        self,
        points: Sequence[Point],
        epochs: int,
        methods: Sequence[Method],
        grid: TuningGrid,
        splits: SplitCache,
        arch: ArchitectureConfig,
        options: RunOptions,
    ) -> None:
        self.units: list[tuple[SplitTensors, list[RunConfig], list[Point], Any]] = []
        name = splits.data.name
        for seed in grid.seeds:
            for norm in dict.fromkeys(point[0] for point in points):
                split = splits.get(seed, norm)
                norm_points = [point for point in points if point[0] == norm]
                configs, config_points = [], []
                for method in methods:
                    for point in norm_points:
                        setting = TrainConfig(
                            grid.optimizer, point[1], point[2], epochs, grid.batch_size, input_norm=norm
                        )
                        configs.append(
                            RunConfig(
                                name, method, seed, setting, splits.per_class, splits.val_per_class, arch, options
                            )
                        )
                        config_points.append(point)
                self.units.append((split, configs, config_points, self.start(configs, split, splits.device)))

    @staticmethod
    def start(configs: Sequence[RunConfig], split: SplitTensors, device: torch.device) -> Any:
        """The training state of one (seed, input normalisation): a ``HeadsTraining`` and each run's
        validation features for frozen methods, else each run's model and epoch iterator."""
        if configs[0].method.regime == "frozen":
            models, features, _ = prepare_frozen(configs, split, device)
            generators = [make_generator(c.seed, c.dataset, "order", c.method.name) for c in configs]
            heads = [model.head for model in models]
            training = HeadsTraining(
                heads, [f.train for f in features], split.y_train, [c.train for c in configs], generators
            )
            return training, [f.val for f in features]
        runs = []
        for config in configs:
            model = build_model(config, split.x_train.shape[1], split.x_train.shape[2], device)
            order = make_generator(config.seed, config.dataset, "order", config.method.name)
            runs.append((model, train_epochs(model, split.x_train, split.y_train, config.train, order)))
        return runs

    def advance(self, points: Sequence[Point], checkpoint: int) -> list[dict[str, Any]]:
        keep = set(points)
        rows: list[dict[str, Any]] = []
        for split, configs, config_points, state in self.units:
            going = [k for k, point in enumerate(config_points) if point in keep]
            scores: dict[int, float] = {}
            if configs[0].method.regime == "frozen":
                training, val_features = state
                training.stop(set(training.active) - set(going))
                while training.epoch < checkpoint:
                    training.run_epoch()
                    training.end_epoch()
                for k in going:
                    training.write_back(k)
                    scores[k] = accuracy(training.heads[k], val_features[k], split.y_val)
            else:
                for k in going:
                    model, epochs = state[k]
                    for epoch in epochs:
                        if epoch == checkpoint:
                            break
                    scores[k] = accuracy(model, split.x_val, split.y_val)
            rows += [
                {
                    "method": configs[k].method.name,
                    "regime": configs[k].method.regime,
                    "seed": configs[k].seed,
                    **replace(configs[k].train, epochs=checkpoint).to_dict(),
                    "val_accuracy": scores[k],
                }
                for k in going
            ]
        return rows


def point_of_row(row: Mapping[str, Any]) -> Point:
    """The training run (``Point``) of a score row."""
    return (str(row["input_norm"]), float(row["learning_rate"]), float(row["weight_decay"]))


def halving_rung(rows: Sequence[Mapping[str, Any]], points: Sequence[Point], eta: int) -> list[Point]:
    """The points that go on past a rung: the best ``ceil(n / eta)`` by mean validation accuracy of their
    ``rows`` (over tuning seeds and methods), ties to the earlier in ``points`` (grid order)."""
    totals: dict[Point, list[float]] = {point: [] for point in points}
    for row in rows:
        totals[point_of_row(row)].append(float(row["val_accuracy"]))
    means = [float(np.mean(totals[point])) for point in points]
    return [points[i] for i in halving_survivors(means, eta)]


def score_with_halving(
    advance: Callable[[Sequence[Point], int], list[dict[str, Any]]],
    points: Sequence[Point],
    checkpoints: Sequence[int],
    halving: Halving,
) -> list[dict[str, Any]]:
    """Score ``points`` at ``checkpoints`` (ascending) with successive halving: after each checkpoint but the
    last that is a rung of ``halving`` (``Halving.prunes_after``) only ``halving_rung``'s survivors are trained
    on (``advance(points, checkpoint)`` trains them there and returns their rows)."""
    going, rows = list(points), []
    for index, checkpoint in enumerate(checkpoints):
        rung_rows = advance(going, checkpoint)
        rows += rung_rows
        if index < len(checkpoints) - 1 and halving.prunes_after(checkpoint):
            going = halving_rung(rung_rows, going, halving.eta)
    return rows


SETTING_COLUMNS = ["optimizer", "learning_rate", "weight_decay", "epochs", "batch_size", "momentum", "input_norm"]
AXES = ("learning_rate", "weight_decay", "epochs")


def candidate_of(row: Mapping[str, Any]) -> TrainConfig:
    """The candidate setting of a score row (its ``SETTING_COLUMNS``)."""
    return TrainConfig(**{column: row[column] for column in SETTING_COLUMNS})


def setting_values(candidate: TrainConfig) -> dict[str, Any]:
    """A candidate's ``SETTING_COLUMNS``, by name, in order."""
    return {column: getattr(candidate, column) for column in SETTING_COLUMNS}


def setting_of(candidate: TrainConfig) -> tuple:
    """A candidate's ``SETTING_COLUMNS`` as the index of a frame grouped by them."""
    return tuple(setting_values(candidate).values())


def point_of(candidate: TrainConfig) -> Point:
    """The training run that scores ``candidate`` (its epochs are a checkpoint of that run)."""
    return (str(candidate.input_norm), float(candidate.learning_rate), float(candidate.weight_decay))


def paired_gain(frame: pd.DataFrame, challenger: TrainConfig, incumbent: TrainConfig) -> tuple[float, float]:
    """Mean validation-accuracy gain of ``challenger`` over ``incumbent``, paired by (method, tuning seed),
    and its standard error (0 with one pair)."""

    def scores(setting: TrainConfig) -> pd.Series:
        mask = pd.Series(True, index=frame.index)
        for column, value in setting_values(setting).items():
            mask &= frame[column] == value
        return frame[mask].set_index(["method", "seed"])["val_accuracy"]

    gains = (scores(challenger) - scores(incumbent)).dropna()
    se = float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0
    return float(gains.mean()), se


def search_regime(
    methods: Sequence[Method],
    grid: TuningGrid,
    splits: SplitCache,
    arch: ArchitectureConfig,
    options: RunOptions,
    log: Callable[[str], None],
    show_progress: bool = True,
    halving: Halving | None = None,
    start_scoring: Callable[..., Any] | None = None,
    score: Callable[..., list[dict[str, Any]]] | None = None,
) -> tuple[pd.DataFrame, TrainConfig, dict[str, str]]:
    """Search one regime's setting (its methods share it).

    The starting grid is scored whole and its best mean is the first choice. Then, round by round: an axis
    whose chosen value sits at an end of its ladder gets one more rung (``synthlib.search``), the choice's
    missing neighbours (one rung either way on each axis, and the other input normalisations) are scored, and
    the best neighbour replaces the choice when it beats it by more than one standard error of their paired
    difference over tuning seeds and methods (the one-standard-error rule of Breiman et al. 1984: a gain
    within the noise of the validation splits does not move the choice, nor the search). It stops when no
    neighbour does. Returns every score, the chosen setting and each axis' status.

    With ``halving``, the starting grid is scored by successive halving (the few neighbours of later
    rounds are scored whole: the one-standard-error comparison needs them) (``score_with_halving``;
    ``start_scoring(points, length, methods, grid, splits, arch, options)`` makes their ``RungScoring``, or a
    stand-in with its ``advance``, e.g. a committed score table's in ``replay_halving``); ``score`` stands in
    for ``score_points`` likewise.
    """
    ladders = grid.ladders()
    scored: dict[Point, set[int]] = {}
    rows: list[dict[str, Any]] = []
    regime = methods[0].regime
    name = splits.data.name
    wanted: dict[Point, set[int]] = {
        (norm, lr, wd): {int(e) for e in ladders["epochs"].values}
        for norm, lr, wd in itertools.product(grid.input_norms, grid.learning_rates, grid.weight_decays)
    }
    chosen: TrainConfig | None = None
    for round_number in itertools.count(1):
        if wanted:
            by_length: dict[int, list[Point]] = {}
            for point, epochs in wanted.items():
                by_length.setdefault(max(epochs), []).append(point)
            total = len(wanted) * len(grid.seeds) * len(methods)
            with progress_bar(total, f"tune {name} {regime} round {round_number}", disable=not show_progress) as bar:
                for length, points in sorted(by_length.items()):
                    checkpoints = sorted(int(e) for e in ladders["epochs"].values if e <= length)
                    first_new = len(rows)
                    if halving is None or round_number > 1:  # neighbours are compared whole
                        scorer = score or score_points
                        rows += scorer(points, length, checkpoints, methods, grid, splits, arch, options, bar)
                    else:
                        scoring = (start_scoring or RungScoring)(points, length, methods, grid, splits, arch, options)
                        rows += score_with_halving(scoring.advance, points, checkpoints, halving)
                        bar.update(len(points) * len(grid.seeds) * len(methods))
                    for row in rows[first_new:]:  # with halving, a point dropped at a rung has no later scores
                        scored.setdefault(point_of_row(row), set()).add(int(row["epochs"]))
        frame = pd.DataFrame(rows).drop_duplicates(["method", "seed", *SETTING_COLUMNS], keep="first")
        if chosen is None:
            chosen = candidate_of(best_by_mean(frame, SETTING_COLUMNS, "val_accuracy"))
        else:
            neighbours = [c for c in neighbour_settings(chosen, ladders, grid) if is_scored(c, scored)]
            means = frame.groupby(SETTING_COLUMNS, sort=False)["val_accuracy"].mean()
            challenger = max(neighbours, key=lambda candidate: means[setting_of(candidate)], default=None)
            if challenger is None:
                break
            gain, se = paired_gain(frame, challenger, chosen)
            log(
                f"tune {name} {regime} round {round_number}: {len(wanted)} setting(s) scored; best neighbour "
                f"{gain * 100:+.2f} points (SE {se * 100:.2f})"
            )
            if not gain > se:
                break
            chosen = challenger
        for axis in AXES:
            ladders[axis] = ladders[axis].extend(float(getattr(chosen, axis)), grid.max_extensions)
        wanted = {}
        for candidate in neighbour_settings(chosen, ladders, grid):
            if not is_scored(candidate, scored):
                wanted.setdefault(point_of(candidate), set()).add(int(candidate.epochs))
    assert chosen is not None
    statuses = {
        axis: ladders[axis].status(
            float(getattr(chosen, axis)),
            {float(getattr(c, axis)) for c in neighbour_settings(chosen, ladders, grid) if is_scored(c, scored)},
        )
        for axis in AXES
    }
    log(f"tune {name} {regime}: chosen {setting_values(chosen)}; " + ", ".join(f"{a} {s}" for a, s in statuses.items()))
    return frame, chosen, statuses


def neighbour_settings(chosen: TrainConfig, ladders: Mapping[str, Ladder], grid: TuningGrid) -> list[TrainConfig]:
    """The settings one rung away from ``chosen`` on each axis, and with each other input normalisation."""
    found = []
    for axis in AXES:
        for value in ladders[axis].neighbours(float(getattr(chosen, axis))):
            changed: dict[str, Any] = {axis: int(value) if axis == "epochs" else value}
            found.append(replace(chosen, **changed))
    found += [replace(chosen, input_norm=norm) for norm in grid.input_norms if norm != chosen.input_norm]
    return found


def is_scored(candidate: TrainConfig, scored: Mapping[Point, set[int]]) -> bool:
    return int(candidate.epochs) in scored.get(point_of(candidate), set())


class MissingScores(LookupError):
    """A replayed search asked for a score that the committed table does not hold."""


class TableScoring:
    """Scores served from a committed score table (one regime's rows) in place of training, for
    ``replay_halving``; counts the training epochs each served scoring would have taken."""

    def __init__(self, frame: pd.DataFrame, n_runs_per_point: int) -> None:
        self.groups = {
            (str(norm), float(lr), float(wd), int(epochs)): group.to_dict(orient="records")
            for (norm, lr, wd, epochs), group in frame.groupby(
                ["input_norm", "learning_rate", "weight_decay", "epochs"], sort=False
            )
        }
        self.n_runs_per_point = n_runs_per_point
        self.epochs = 0
        self.reached: dict[Point, int] = {}

    def rows(self, point: Point, checkpoint: int) -> list[dict[str, Any]]:
        key = (*point, checkpoint)
        if key not in self.groups:
            raise MissingScores(f"no committed score for {point} at {checkpoint} epochs")
        self.epochs += (checkpoint - self.reached.get(point, 0)) * self.n_runs_per_point
        self.reached[point] = checkpoint
        return self.groups[key]

    def score(self, points: Sequence[Point], epochs: int, checkpoints: Sequence[int], *_: Any) -> list[dict[str, Any]]:
        """``score_points`` from the table: every point trained to ``epochs``, scored at ``checkpoints``."""
        self.reached = {}
        return [row for point in points for checkpoint in checkpoints for row in self.rows(point, checkpoint)]

    def start(self, *_: Any) -> TableScoring:
        """A fresh ``RungScoring`` stand-in (the runs of one scoring start from epoch 0)."""
        self.reached = {}
        return self

    def advance(self, points: Sequence[Point], checkpoint: int) -> list[dict[str, Any]]:
        return [row for point in points for row in self.rows(point, checkpoint)]


@dataclass(frozen=True)
class ScoredMethod:
    """A method as a score table names it (all a replayed search needs of a ``Method``)."""

    name: str
    regime: str


@dataclass(frozen=True)
class HalvingReplay:
    """One regime's search replayed on its committed scores, without and with successive halving: the
    choices, their mean validation accuracy (over tuning seeds and methods), and the training epochs (over
    every run) each search took. ``missing`` names a score the halving search needed but the table lacks
    (then its choice is ``None``)."""

    regime: str
    halving: Halving
    chosen: TrainConfig
    chosen_with_halving: TrainConfig | None
    val_accuracy: float
    val_accuracy_with_halving: float | None
    epochs: int
    epochs_with_halving: int | None
    missing: str = ""

    @property
    def same_choice(self) -> bool:
        return self.chosen_with_halving == self.chosen

    @property
    def epochs_saved(self) -> float | None:
        """The fraction of training epochs halving saves."""
        return None if self.epochs_with_halving is None else 1 - self.epochs_with_halving / self.epochs


def replay_grid_halving(scores: pd.DataFrame, grid: TuningGrid, halving: Halving) -> list[HalvingReplay]:
    """Successive halving on the starting grid alone (every (input normalisation, learning rate, weight
    decay) of ``grid`` at its checkpoint epochs), replayed on a committed score table: per regime, the grid's
    best setting scored whole against the best among the scores halving would have made, and the training
    epochs of each. Always answerable from a committed table (the whole grid was scored)."""
    points = [
        (norm, float(lr), float(wd))
        for norm, lr, wd in itertools.product(grid.input_norms, grid.learning_rates, grid.weight_decays)
    ]
    checkpoints = sorted(grid.epochs)
    replays = []
    for regime, frame in scores.groupby("regime", sort=False):
        on_grid = frame[
            [
                point_of_row(row) in points and int(row["epochs"]) in checkpoints
                for row in frame.to_dict(orient="records")
            ]
        ]
        n_runs = frame["method"].nunique() * len(grid.seeds)
        whole = TableScoring(on_grid, n_runs)
        all_rows = whole.score(points, max(checkpoints), checkpoints)
        halved = TableScoring(on_grid, n_runs)
        kept_rows = score_with_halving(halved.advance, points, checkpoints, halving)
        chosen = [
            candidate_of(best_by_mean(pd.DataFrame(rows), SETTING_COLUMNS, "val_accuracy"))
            for rows in (all_rows, kept_rows)
        ]
        means = pd.DataFrame(all_rows).groupby(SETTING_COLUMNS, sort=False)["val_accuracy"].mean()
        replays.append(
            HalvingReplay(
                str(regime),
                halving,
                chosen[0],
                chosen[1],
                float(means[setting_of(chosen[0])]),
                float(means[setting_of(chosen[1])]),
                whole.epochs,
                halved.epochs,
            )
        )
    return replays


def replay_halving(
    scores: pd.DataFrame, grid: TuningGrid, halving: Halving, dataset: str = "replay"
) -> list[HalvingReplay]:
    """Replay each regime's search of a committed tuning (``TuningResult.scores``, searched with ``grid``)
    from its score table, without halving (it must make the committed choice) and with ``halving``; the
    scores a halving search asks for come from the table (a search that needs one the committed search never
    made is reported as ``missing``)."""
    replays = []
    splits: Any = type("ReplaySplits", (), {"data": type("ReplayData", (), {"name": dataset})})
    unused: Any = None  # the architecture and options: a table needs neither
    for regime, frame in scores.groupby("regime", sort=False):
        methods: Any = [ScoredMethod(str(name), str(regime)) for name in dict.fromkeys(frame["method"])]
        n_runs = len(methods) * len(grid.seeds)
        plain = TableScoring(frame, n_runs)
        _, chosen, _ = search_regime(methods, grid, splits, unused, unused, lambda _: None, False, score=plain.score)
        means = frame.groupby(SETTING_COLUMNS, sort=False)["val_accuracy"].mean()
        halved = TableScoring(frame, n_runs)
        try:
            _, halved_choice, _ = search_regime(
                methods,
                grid,
                splits,
                unused,
                unused,
                lambda _: None,
                False,
                halving,
                halved.start,
                halved.score,
            )
        except MissingScores as missing:
            replays.append(
                HalvingReplay(
                    str(regime),
                    halving,
                    chosen,
                    None,
                    float(means[setting_of(chosen)]),
                    None,
                    plain.epochs,
                    None,
                    str(missing),
                )
            )
            continue
        replays.append(
            HalvingReplay(
                str(regime),
                halving,
                chosen,
                halved_choice,
                float(means[setting_of(chosen)]),
                float(means[setting_of(halved_choice)]),
                plain.epochs,
                halved.epochs,
            )
        )
    return replays


@dataclass(frozen=True)
class TuningResult:
    """The settings chosen for one dataset: a ``TrainConfig`` per CNN regime and a C per baseline, with
    every validation score behind the choices and the hash of the request that made them."""

    dataset: str
    selected: dict[str, TrainConfig]
    scores: pd.DataFrame
    request_hash: str
    baseline_c: dict[str, float] = field(default_factory=dict)
    baseline_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    edges: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per searched regime and baseline, each axis' status: ``interior``, ``hard limit`` or ``edge``."""

    def edge_notes(self) -> list[str]:
        """A sentence for every choice still at an edge of its searched range."""
        notes = []
        for column, axes in self.edges.items():
            for axis, status in axes.items():
                if status == "edge":
                    value = (
                        self.baseline_c[column] if column in self.baseline_c else getattr(self.selected[column], axis)
                    )
                    notes.append(f"{column}: {axis} = {value:g} is at the edge of the range searched")
        return notes

    def searched(self) -> dict[str, TrainConfig]:
        """The chosen settings of the regimes this tuning searched (not those it took as given)."""
        regimes = set(self.scores["regime"]) if "regime" in self.scores else set()
        return {regime: config for regime, config in self.selected.items() if regime in regimes}

    def to_json(self) -> str:
        payload = {
            "dataset": self.dataset,
            "request_hash": self.request_hash,
            "selected": {regime: config.to_dict() for regime, config in self.selected.items()},
            "scores": self.scores.to_dict(orient="records"),
            "baseline_c": self.baseline_c,
            "baseline_scores": self.baseline_scores.to_dict(orient="records"),
            "edges": self.edges,
        }
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> TuningResult:
        payload = json.loads(text)
        return cls(
            dataset=payload["dataset"],
            selected={regime: TrainConfig(**values) for regime, values in payload["selected"].items()},
            scores=pd.DataFrame(payload["scores"]),
            request_hash=payload["request_hash"],
            baseline_c={name: float(c) for name, c in payload.get("baseline_c", {}).items()},
            baseline_scores=pd.DataFrame(payload.get("baseline_scores", [])),
            edges={column: dict(axes) for column, axes in payload.get("edges", {}).items()},
        )


@dataclass(frozen=True)
class TuningRequest:
    """What a tuning search is asked: the dataset, the methods whose regimes are searched, the grid, the
    subset sizes, the architecture and run options, the baselines and their C values, and the regimes
    whose setting is given (``fixed``: not searched). ``hash`` keys the result file: a result is reused
    only for the same request."""

    dataset: str
    methods: tuple[Method, ...]
    grid: TuningGrid = TuningGrid()
    per_class: int = 38
    val_per_class: int = 38
    arch: ArchitectureConfig = ArchitectureConfig()
    options: RunOptions = RunOptions()
    baselines: tuple[Baseline, ...] = ()
    baseline_cs: tuple[float, ...] = DEFAULT_CS
    fixed: Mapping[str, TrainConfig] = field(default_factory=dict)
    halving: Halving | None = None
    """Successive halving's rule (``synthlib.stopping.Halving``; see the module docstring); ``None``: every
    setting is trained to its longest length. Part of the hash only when set."""

    def __post_init__(self) -> None:
        if self.val_per_class < 1:
            raise ValueError(f"tuning needs a validation split: val_per_class must be >= 1, got {self.val_per_class}")
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "baselines", tuple(self.baselines))
        object.__setattr__(self, "baseline_cs", tuple(float(c) for c in self.baseline_cs))
        object.__setattr__(self, "fixed", dict(self.fixed))
        if self.halving is not None and not isinstance(self.halving, Halving):
            raise TypeError(
                f"TuningRequest.halving is a synthlib.stopping.Halving (e.g. Halving(eta=3, first_rung=50)) or "
                f"None, got {self.halving!r}"
            )

    def hash(self) -> str:
        """SHA-256 (16 hex digits) of everything that decides the result, with ``RESULTS_VERSION``."""
        return config_hash(
            {
                "options": asdict(self.options),
                "dataset": self.dataset,
                "methods": [m.to_dict() for m in self.methods],
                "grid": self.grid.to_dict(),
                "per_class": self.per_class,
                "val_per_class": self.val_per_class,
                "architecture": self.arch.to_dict(),
                "baselines": [b.name for b in self.baselines],
                "baseline_cs": list(self.baseline_cs),
                "fixed": {regime: config.to_dict() for regime, config in self.fixed.items()},
                "results_version": RESULTS_VERSION,
                **({} if self.halving is None else {"halving": self.halving.to_dict()}),
            }
        )


def tune(
    data: ImageDataset,
    request: TuningRequest,
    path: str | Path,
    device: str | torch.device = "auto",
    log: Callable[[str], None] = print,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
) -> TuningResult:
    """Select a TrainConfig per regime and a C per baseline for ``data`` as ``request`` asks, on the
    validation splits of its grid's tuning seeds; reuse ``path`` if it holds the same request. A regime in
    ``request.fixed`` is not searched: its given setting is taken (e.g. one chosen under another protocol
    whose options cannot change it)."""
    if data.name != request.dataset:
        raise ValueError(f"the tuning request is for dataset {request.dataset!r}, not {data.name!r}")
    fixed, grid, arch, options = request.fixed, request.grid, request.arch, request.options
    per_class, val_per_class = request.per_class, request.val_per_class
    request_hash = request.hash()
    path = Path(path)
    if path.exists():
        try:
            cached = TuningResult.from_json(path.read_text())
            if cached.request_hash == request_hash:
                log(f"tune {data.name}: reused {path.name}")
                return cached
        except (ValueError, KeyError, TypeError):
            log(f"tune {data.name}: {path.name} is unreadable; tuning again")
    searched = [m for m in request.methods if m.regime not in fixed]
    splits = SplitCache(data, per_class, val_per_class, resolve_device(device))
    if request.halving is not None and searched:
        log(f"tune {data.name}: the starting grid by {request.halving.describe()}")
    frames, edges, chosen = [], {}, {}
    for regime in dict.fromkeys(m.regime for m in searched):
        regime_methods = [m for m in searched if m.regime == regime]
        frame, chosen[regime], edges[regime] = search_regime(
            regime_methods, grid, splits, arch, options, log, show_progress, request.halving
        )
        frames.append(frame)
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    baseline_c, baseline_rows = {}, []
    for baseline in request.baselines:
        c, rows, edges[baseline.name] = search_c(
            baseline, data, grid, per_class, val_per_class, request.baseline_cs, cache_dir, resolve_device(device)
        )
        baseline_c[baseline.name] = c
        baseline_rows.append(rows)
        log(f"tune {data.name} {baseline.name}: C = {c:g} ({edges[baseline.name]['C']})")
    selected = {**chosen, **fixed}
    baseline_scores = pd.concat(baseline_rows, ignore_index=True) if baseline_rows else pd.DataFrame()
    result = TuningResult(data.name, selected, scores, request_hash, baseline_c, baseline_scores, edges)
    write_text_atomic(path, result.to_json())
    return result


def search_c(
    baseline: Baseline,
    data: ImageDataset,
    grid: TuningGrid,
    per_class: int,
    val_per_class: int,
    cs: Sequence[float],
    cache_dir: str | Path | None,
    device: torch.device,
) -> tuple[float, pd.DataFrame, dict[str, str]]:
    """A baseline's C on the tuning seeds (``choose_c``), its range extended by decades while the choice
    sits at an end (at most ``grid.max_extensions`` times each way); the C, every score and its status."""
    ladder = Ladder("C", tuple(sorted(float(c) for c in cs)), "decade")
    while True:
        c, rows = choose_c(baseline, data, grid.seeds, per_class, val_per_class, ladder.values, cache_dir, device)
        extended = ladder.extend(c, grid.max_extensions)
        if extended == ladder:
            return c, rows, {"C": ladder.status(c, set(ladder.values))}
        ladder = extended


def select_settings(scores: pd.DataFrame) -> dict[str, TrainConfig]:
    """Per regime, the setting with the highest mean validation accuracy (first in search order on ties)."""
    return {
        str(regime): TrainConfig(**best_by_mean(group, SETTING_COLUMNS, "val_accuracy"))
        for regime, group in scores.groupby("regime", sort=False)
    }


def load_tuning(path: str | Path) -> TuningResult:
    """Read a tuning result; a missing file names the notebook that makes it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no tuning result at {path}: run notebooks/03_tuning.py for this dataset first")
    return TuningResult.from_json(path.read_text())


__all__ = [
    "HalvingReplay",
    "RungScoring",
    "TuningGrid",
    "TuningRequest",
    "TuningResult",
    "load_tuning",
    "replay_grid_halving",
    "replay_halving",
    "score_with_halving",
    "search_c",
    "search_regime",
    "select_settings",
    "tune",
]
