"""Tests of synthlib.records: run records, their hashes, atomic writes and loading."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from synthlib import atomic
from synthlib.atomic import write_text_atomic
from synthlib.records import (
    RECORD_SCHEMA,
    RecordError,
    RunRecord,
    config_hash,
    finished_record,
    load_records,
    read_record,
    record_path,
    write_record,
)

CONFIG = {"dataset": "mnist", "method": "normal", "lr": 0.01, "epochs": 5, "arch": {"channels": [8, 16], "k": 5}}


def make_record(dataset: str = "mnist", method: str = "normal", seed: int = 0, config=None, **changes) -> RunRecord:
    config = dict(config or CONFIG, dataset=dataset, method=method, seed=seed)
    record = RunRecord(
        dataset=dataset,
        method=method,
        seed=seed,
        test_accuracy=0.875,
        val_accuracy=0.9,
        n_train=380,
        n_val=100,
        n_test=10000,
        config=config,
        config_hash=config_hash(config),
        device="cpu (4 threads)",
        environment={"python": "3.11", "torch": "2.14.1", "git_commit": "abc"},
        timing={"train_s": 1.5},
    )
    return replace(record, **changes)


def files_in(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# --- paths and hashes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("runs_dir", ["results/runs", Path("/abs/results/runs")])
def test_record_path_layout(runs_dir):
    path = record_path(runs_dir, "cifar10", "gamma", 3)
    assert path == Path(runs_dir) / "cifar10" / "gamma__seed3.json"
    assert record_path("results/runs", "mnist", "normal", 12).as_posix() == "results/runs/mnist/normal__seed12.json"


def test_config_hash_stable_and_order_independent():
    reordered = {"arch": {"k": 5, "channels": [8, 16]}, "epochs": 5, "lr": 0.01, "method": "normal", "dataset": "mnist"}
    assert list(reordered) != list(CONFIG)
    assert config_hash(CONFIG) == config_hash(reordered)
    h = config_hash(CONFIG)
    assert len(h) == 16 and all(c in "0123456789abcdef" for c in h)
    # Regression: the hash of a fixed configuration must never change (it keys finished runs).
    assert config_hash({"a": 1, "b": [1, 2]}) == "e6f20bdc3757e5e7"


@pytest.mark.parametrize(
    "change",
    [{"lr": 0.02}, {"epochs": 6}, {"arch": {"channels": [8, 16], "k": 3}}, {"extra": None}],
)
def test_config_hash_changes_with_config(change):
    assert config_hash({**CONFIG, **change}) != config_hash(CONFIG)


# --- round trip ---------------------------------------------------------------------------------------------


def test_write_read_round_trip(tmp_path):
    record = make_record(seed=4)
    path = record_path(tmp_path / "runs", "mnist", "normal", 4)
    write_record(path, record)
    assert path.exists()
    assert read_record(path) == record
    assert json.loads(path.read_text()) == {k: v for k, v in asdict(record).items() if k != "stopping"}
    assert json.loads(path.read_text())["schema"] == RECORD_SCHEMA
    assert [n for n in files_in(path.parent) if n.endswith(".tmp")] == []


def test_a_record_of_fixed_length_has_no_stopping_field_and_an_early_stopped_one_keeps_it(tmp_path):
    """Records written before early stopping read back unchanged; an early-stopped run says how it stopped."""
    fixed = make_record(seed=1)
    assert fixed.stopping is None and "stopping" not in json.loads(fixed.to_json())
    stopping = {"epoch_kept": 12, "epochs_run": 32, "stopped_at_max": False, "best_validation_accuracy": 0.5}
    early = replace(make_record(seed=2), stopping=stopping)
    path = record_path(tmp_path / "runs", "mnist", "normal", 2)
    write_record(path, early)
    assert read_record(path) == early and json.loads(path.read_text())["stopping"] == stopping


def test_to_json_deterministic_and_sorted():
    a, b = make_record(), make_record()
    assert a.to_json() == b.to_json()
    keys = list(json.loads(a.to_json()))
    assert keys == sorted(keys)
    assert a.to_json().endswith("\n")


def test_read_record_missing_is_none(tmp_path):
    assert read_record(tmp_path / "nope.json") is None


# --- finished records ------------------------------------------------------------------------------------


def test_finished_record_matching_hash(tmp_path):
    record = make_record()
    path = tmp_path / "r.json"
    write_record(path, record)
    assert finished_record(path, record.config_hash) == record


def test_finished_record_other_hash_is_none(tmp_path):
    record = make_record()
    path = tmp_path / "r.json"
    write_record(path, record)
    assert finished_record(path, config_hash({**CONFIG, "lr": 0.5})) is None


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9])
def test_finished_record_truncated_is_none(tmp_path, fraction):
    record = make_record()
    path = tmp_path / "r.json"
    text = record.to_json()
    path.write_text(text[: int(len(text) * fraction)])
    assert read_record(path) is None
    assert finished_record(path, record.config_hash) is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(schema=RECORD_SCHEMA + 1),
        lambda d: d.pop("schema"),
        lambda d: d.pop("test_accuracy"),  # missing field
        lambda d: d.update(unexpected_field=1),  # a field this schema does not have
    ],
    ids=["other-schema", "no-schema", "missing-field", "extra-field"],
)
def test_finished_record_other_schema_is_none(tmp_path, mutate):
    record = make_record()
    data = asdict(record)
    mutate(data)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    assert read_record(path) is None
    assert finished_record(path, record.config_hash) is None


@pytest.mark.parametrize("content", ["[]", "null", "3", '"text"'])
def test_read_record_non_object_json_is_none(tmp_path, content):
    """JSON that is not an object is not a record (and must not crash load_records)."""
    path = tmp_path / "r.json"
    path.write_text(content)
    assert read_record(path) is None


# --- atomic writes ------------------------------------------------------------------------------------------


def test_write_text_atomic_creates_parents_and_no_temp_files(tmp_path):
    path = tmp_path / "a" / "b" / "r.json"
    write_text_atomic(path, '{"x": 1}\n')
    assert path.read_text() == '{"x": 1}\n'
    write_text_atomic(path, '{"x": 2}\n')
    assert path.read_text() == '{"x": 2}\n'
    assert files_in(path.parent) == ["r.json"]


def test_write_text_atomic_failure_keeps_original(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    write_text_atomic(path, "original\n")

    def broken_replace(src, dst):
        assert Path(src).read_text() == "new contents, complete\n"  # the full text, before the rename
        assert path.read_text() == "original\n"  # readers still see the old file
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        write_text_atomic(path, "new contents, complete\n")
    assert path.read_text() == "original\n"
    assert [n for n in files_in(tmp_path) if not n.endswith(".tmp")] == ["r.json"]


def test_write_text_atomic_failure_first_write_exposes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        write_text_atomic(path, "text\n")
    assert not path.exists()
    assert read_record(path) is None


# --- loading all records ---------------------------------------------------------------------------------


def test_load_records_sorted(tmp_path):
    runs = tmp_path / "runs"
    wanted = [("cifar10", "gamma", 0), ("mnist", "gamma", 1), ("mnist", "normal", 2), ("mnist", "normal", 10)]
    for dataset, method, seed in reversed(wanted):  # written out of order; seed 10 sorts after 2 as a number
        write_record(record_path(runs, dataset, method, seed), make_record(dataset, method, seed))
    (runs / "mnist" / "notes.txt").write_text("not a record")

    loaded = load_records(runs)
    assert [(r.dataset, r.method, r.seed) for r in loaded] == wanted
    assert all(isinstance(r, RunRecord) for r in loaded)


def test_load_records_never_skips_a_bad_file(tmp_path):
    runs = tmp_path / "runs"
    write_record(record_path(runs, "mnist", "normal", 0), make_record())
    (runs / "mnist" / "broken__seed3.json").write_text('{"dataset": "mnist", "meth')
    other = asdict(make_record("mnist", "old", 5))
    other["schema"] = RECORD_SCHEMA + 1
    (runs / "mnist" / "old__seed5.json").write_text(json.dumps(other))
    edited = asdict(make_record("mnist", "edited", 6))
    edited["config"]["lr"] = 0.5  # changed by hand: the stored hash no longer matches
    (runs / "mnist" / "edited__seed6.json").write_text(json.dumps(edited))
    with pytest.raises(RecordError) as raised:
        load_records(runs)
    message = str(raised.value)
    assert "3 unusable record file(s)" in message
    assert "broken__seed3.json: not valid JSON" in message
    assert f"old__seed5.json: record schema {RECORD_SCHEMA + 1}" in message
    assert "edited__seed6.json: its config_hash does not match its configuration" in message
    assert "python -m synthlib records check" in message


def test_load_records_empty_or_missing_dir(tmp_path):
    assert load_records(tmp_path) == []
    assert load_records(tmp_path / "missing") == []
