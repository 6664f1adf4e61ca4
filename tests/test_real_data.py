"""Real-data tier: one committed record of every (protocol, dataset, column) rerun on the genuine
datasets, baselines and the authors' grid included, and checked against what is committed.

For each registered protocol, dataset (MNIST, CIFAR-10) and column, the protocol plans the run of
its first seed from the committed tuning results (for a grid protocol, the setting that the table
chose on validation); the run goes into a scratch folder, and then

- its key must equal the committed record's (same configuration, same code version), and
- its test accuracy must equal the committed one to within ``SAME_RUN_TOLERANCE_PP`` percentage
  points: the same code and seed at the thread count the record names, where only floating-point
  differences between CPUs remain (on another machine, 20 of 24 paper-protocol accuracies came out
  bit-identical and the rest within 0.1 points).

Each committed record is also checked by ``tests/test_audit.py``. Skipped, with the reason, when
the datasets are absent.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch

from synthlib.data import load_dataset
from synthlib.engine import Job, RunContext, execute
from synthlib.protocols import get_protocol, protocol_names
from synthlib.records import RunRecord, load_records, read_record
from synthlib.selection import select_setting
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.real_data, pytest.mark.slow]
RESULTS = REPO_ROOT / "results"
DATASETS = ("mnist", "cifar10")
SAME_RUN_TOLERANCE_PP = 0.5


def chosen_settings(protocol_name: str, dataset: str) -> dict[str, str]:
    """Per column, the committed setting to rerun: the one chosen on validation for a grid, else ''."""
    records = [r for r in load_records(get_protocol(protocol_name).runs_dir(RESULTS)) if r.dataset == dataset]
    return {method: setting for (_, method), setting in select_setting(records, "validation")[1].items()}


def threads_of(record: RunRecord) -> int | None:
    """The CPU thread count a record ran with ("cpu (N threads)"), if it ran on a CPU."""
    match = re.fullmatch(r"cpu \((\d+) threads?\)", record.device)
    return int(match.group(1)) if match else None


def one_run_per_column(protocol_name: str, dataset: str, scratch) -> list[Job]:
    """The first seed's run of every column, as the protocol plans it, redirected to ``scratch``."""
    protocol = get_protocol(protocol_name)
    settings = chosen_settings(protocol_name, dataset)
    jobs = []
    for job in protocol.plan(dataset, RESULTS, seeds=protocol.seeds[:1]):
        runs = tuple(
            replace(run, path=scratch / protocol_name / run.path.name)
            for run in job.runs
            if run.setting == settings.get(run.method, "")
        )
        if runs:
            jobs.append(type(job)(runs))
    return jobs


CASES = [(p, d) for p in protocol_names() for d in DATASETS]


@pytest.fixture(scope="module")
def reruns(real_data_root, tmp_path_factory) -> dict[tuple[str, str], list[RunRecord]]:
    scratch = tmp_path_factory.mktemp("reruns")
    cache = tmp_path_factory.mktemp("cache")
    default_threads = torch.get_num_threads()
    done: dict[tuple[str, str], list[RunRecord]] = {}
    try:
        for dataset in DATASETS:
            data = load_dataset(dataset, real_data_root)
            for protocol_name in protocol_names():
                jobs = one_run_per_column(protocol_name, dataset, scratch)
                committed = read_record(
                    get_protocol(protocol_name).runs_dir(RESULTS) / dataset / jobs[0].runs[0].path.name
                )
                torch.set_num_threads((committed and threads_of(committed)) or default_threads)
                outcome = execute(jobs, RunContext(data, "cpu", cache), lambda _: None)
                assert outcome.failures == [] and outcome.reused == 0
                done[(protocol_name, dataset)] = outcome.records
    finally:
        torch.set_num_threads(default_threads)
    return done


@pytest.mark.parametrize(("protocol_name", "dataset"), CASES)
def test_every_column_reproduces_its_committed_record(reruns, protocol_name, dataset):
    protocol = get_protocol(protocol_name)
    records = reruns[(protocol_name, dataset)]
    assert sorted(r.method for r in records) == sorted(protocol.column_order())
    for ours in records:
        path = (
            protocol.runs_dir(RESULTS)
            / dataset
            / f"{ours.method}{'__' + ours.setting if ours.setting else ''}__seed{ours.seed}.json"
        )
        committed = read_record(path)
        assert committed is not None, f"no committed record at {path.relative_to(REPO_ROOT)}"
        assert ours.config_hash == committed.config_hash, f"{path.name}: committed under another configuration"
        difference = abs(100 * ours.test_accuracy - 100 * committed.test_accuracy)
        assert difference <= SAME_RUN_TOLERANCE_PP, f"{path.name}: {difference:.2f} points from the committed record"
