"""One registry of studies (``synthlib.study``): the protocols and the learning curves side by side, what
each takes from another, and the command line that asks for them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from synthlib.all_studies import dependency_order, get_study, study_names
from synthlib.learning_curves import LEARNING_CURVES, LEARNING_CURVES_PLATEAU, LearningCurves
from synthlib.protocols import Protocol, get_protocol, protocol_names
from synthlib.study import Study, register_study, unregister_study
from tests.conftest import REPO_ROOT


def test_one_registry_lists_the_protocols_and_the_learning_curves():
    assert study_names() == ["paper", "authors_code", "sound", "learning_curves", "learning_curves_plateau"]
    assert all(isinstance(get_study(name), Study) for name in study_names())
    assert isinstance(get_study("learning_curves"), LearningCurves) and get_study("learning_curves") is LEARNING_CURVES
    assert get_study("learning_curves_plateau") is LEARNING_CURVES_PLATEAU
    assert protocol_names() == ["paper", "authors_code", "sound"]  # the protocols are the studies of that kind
    with pytest.raises(ValueError, match="unknown protocol 'learning_curves'; valid protocols are: paper"):
        get_protocol("learning_curves")
    with pytest.raises(ValueError, match="unknown study 'beyond'; valid studies are: paper, authors_code"):
        get_study("beyond")


def test_every_study_has_its_folder_labels_and_dependencies(tmp_path):
    for name in study_names():
        study = get_study(name)
        assert study.runs_dir(tmp_path) == tmp_path / name / "runs"
        assert study.column_labels() and all(isinstance(label, str) for label in study.column_labels().values())
    assert get_study("sound").requires == ("paper",)
    assert get_study("paper").requires == ()
    assert LEARNING_CURVES.requires == ("sound",)


def test_a_study_runs_after_the_studies_it_takes_results_from():
    assert dependency_order(["sound"]) == ["paper", "sound"]
    assert dependency_order(["sound", "paper"]) == ["paper", "sound"]
    assert dependency_order(["authors_code", "sound"]) == ["authors_code", "paper", "sound"]
    assert dependency_order(["learning_curves"]) == ["paper", "sound", "learning_curves"]
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        dependency_order(["nope"])


def test_studies_that_require_each_other_are_refused():
    first = replace(get_protocol("paper"), name="circle_a", trained_setting_from="circle_b")
    second = replace(get_protocol("paper"), name="circle_b", trained_setting_from="circle_a")
    register_study(first)
    register_study(second)
    try:
        with pytest.raises(ValueError, match="in a circle: circle_a -> circle_b -> circle_a"):
            dependency_order(["circle_a"])
        with pytest.raises(ValueError, match="already registered"):
            register_study(first)
    finally:
        unregister_study("circle_a")
        unregister_study("circle_b")
    assert isinstance(first, Protocol)


def synthlib_command(*words: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthlib", *words], cwd=REPO_ROOT, capture_output=True, text=True)


def test_the_command_line_lists_its_commands_with_an_example():
    shown = synthlib_command("--help")
    assert shown.returncode == 0
    for command in ("protocols", "records", "curves"):
        assert command in shown.stdout
    for words in (("protocols", "order", "--help"), ("records", "check", "--help"), ("curves", "run", "--help")):
        help_text = synthlib_command(*words)
        assert help_text.returncode == 0 and "example: python -m synthlib " in help_text.stdout, words


def test_the_command_line_orders_protocols_by_what_they_take():
    ordered = synthlib_command("protocols", "order", "sound")
    assert ordered.returncode == 0 and ordered.stdout.split() == ["paper", "sound"]
    shown = synthlib_command("protocols", "show", "sound")
    assert "sound takes results from: paper (run first)" in shown.stdout
    unknown = synthlib_command("protocols", "order", "snd")
    assert unknown.returncode == 2 and "unknown protocol 'snd'; valid protocols are: paper" in unknown.stderr
