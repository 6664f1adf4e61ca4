"""One timed run as either path of the benchmark reports it: identity, result, sizes and phase seconds.

The project path builds it from a ``RunRecord`` (``from_record``), the naive path from its own loop
(``benchmarks.naive``); both travel from the worker subprocess as JSON (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.flops import RunShape
from synthlib.data import ImageDataset
from synthlib.records import RunRecord

PROJECT_TIMING_KEYS = ("split_s", "features_s", "fit_s", "test_features_s", "test_eval_s", "wall_time_s")
"""The phase seconds a project run's ``RunRecord.timing`` holds (``synthlib.experiment.CnnJob``)."""


@dataclass(frozen=True)
class BenchmarkRun:
    """One (dataset, method, seed) run: its accuracies, the sizes that fix its FLOPs, its phase seconds."""

    dataset: str
    method: str
    regime: str
    seed: int
    test_accuracy: float
    val_accuracy: float
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    in_channels: int
    image_size: int
    timing: dict[str, float] = field(default_factory=dict)
    timing_keys_recorded: tuple[str, ...] = ()
    """Project runs: the ``PROJECT_TIMING_KEYS`` the record held (a missing one counts as 0 s)."""

    @property
    def shape(self) -> RunShape:
        return RunShape(
            self.regime, self.in_channels, self.image_size, self.n_train, self.n_val, self.n_test, self.epochs
        )

    def seconds(self, *keys: str) -> float:
        return sum(self.timing[key] for key in keys)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> BenchmarkRun:
        return cls(**{**payload, "timing_keys_recorded": tuple(payload.get("timing_keys_recorded", ()))})

    @classmethod
    def from_record(cls, record: RunRecord, data: ImageDataset, regime: str) -> BenchmarkRun:
        """A project run from the ``RunRecord`` the study engine wrote for it."""
        return cls(
            dataset=record.dataset,
            method=record.method,
            regime=regime,
            seed=record.seed,
            test_accuracy=record.test_accuracy,
            val_accuracy=record.val_accuracy,
            n_train=record.n_train,
            n_val=record.n_val,
            n_test=record.n_test,
            epochs=int(record.config["train"]["epochs"]),
            in_channels=int(data.x_train.shape[3]),
            image_size=int(data.x_train.shape[1]),
            timing={key: float(record.timing.get(key, 0.0)) for key in PROJECT_TIMING_KEYS},
            timing_keys_recorded=tuple(key for key in PROJECT_TIMING_KEYS if key in record.timing),
        )
