"""Learning curves: tables, paired comparisons per size, choices on validation, sentences and the
figure, on hand-made records whose right answers are known."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from synthlib.curves import (  # noqa: E402
    NOT_RUN,
    best_by_size,
    best_lines,
    curve_frame,
    curve_sentences,
    curve_table,
    curve_table_markdown,
    headline,
    range_text,
    size_comparisons,
    size_ranges,
    stopping_lines,
    with_length_rules,
)
from synthlib.lengths import DECIDED_BY_RUN, length_key, length_rule, rules_text  # noqa: E402
from synthlib.paper import LITERATURE_ANCHORS  # noqa: E402
from synthlib.plots import plot_learning_curves  # noqa: E402
from synthlib.records import RunRecord  # noqa: E402
from synthlib.stats import shaffer_exclusive  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # differences of exactly 3

SEEDS = range(5)
FULL = 4500
SIZES = (1, 2, 5, 10, 20, FULL)
LABELS = {"normal": "Normal", "gabor": "Gabor", "trained": "Trained", "noisy": "Noisy", "picky": "Picky"}
KINDS = {"normal": "frozen", "gabor": "frozen", "noisy": "frozen", "picky": "frozen", "trained": "trained"}
NOISE = np.array([0.0, 1.3, -0.8, 2.1, -1.7])  # per seed, shared by every column: the pairing removes it
WOBBLE = np.array([0.1, -0.1, 0.05, -0.05, 0.0])  # tiny paired differences: equivalent within the margin
SPREAD = np.array([4.0, -3.5, 2.5, -2.0, 1.0])  # large paired differences of mean 0.4: inconclusive


def base(per_class: int, seed: int) -> float:
    return 80 + 2 * np.log10(per_class) + NOISE[seed]  # an error rate near 20%: a margin near 2 points


def gabor(per_class: int, seed: int) -> float:
    """3 points above Normal at 1-5 per class, equivalent at 10, 3 points below from 20 to the full set."""
    shift = {1: 3.0, 2: 3.0, 5: 3.0, 10: WOBBLE[seed], 20: -3.0, FULL: -3.0}[per_class]
    return base(per_class, seed) + shift


def record(column: str, per_class: int, seed: int, test: float, val: float | None = None, dataset: str = "cifar10"):
    config = {"per_class": per_class, "val_per_class": 50}
    val = test if val is None else val
    return RunRecord(
        dataset, column, seed, test / 100, val / 100, 10 * per_class, 500, 10000, config, "0" * 16, "cpu", {},
        protocol="learning_curves",
    )  # fmt: skip


def study() -> list[RunRecord]:
    """Normal and Gabor at every size; Trained (1 point above Normal) only up to 5 per class; Noisy
    (Normal plus large paired noise) everywhere; Picky at 10 per class only, best on validation and
    worst on test."""
    records = []
    for n in SIZES:
        for s in SEEDS:
            records.append(record("normal", n, s, base(n, s)))
            records.append(record("gabor", n, s, gabor(n, s)))
            records.append(record("noisy", n, s, base(n, s) + SPREAD[s]))
            if n <= 5:
                records.append(record("trained", n, s, base(n, s) + 1.0))
    records += [record("picky", 10, s, 5.0, val=99.0) for s in SEEDS]
    return records


COLUMNS = ["normal", "gabor", "noisy", "picky", "trained"]


@pytest.fixture(scope="module")
def comparisons() -> pd.DataFrame:
    return size_comparisons(study(), COLUMNS, references=("normal", "trained"))


def outcomes(comparisons: pd.DataFrame, column: str, reference: str) -> dict[int, str]:
    rows = comparisons[(comparisons["column"] == column) & (comparisons["reference"] == reference)]
    return dict(zip(rows["per_class"], rows["outcome"]))


# ---------------------------------------------------------------------------------------------
# Runs and the table
# ---------------------------------------------------------------------------------------------


def test_curve_frame_in_percent_and_marks_the_full_set():
    frame = curve_frame(study())
    assert len(frame) == len(study())
    row = frame[(frame["column"] == "picky")].iloc[0]
    assert row["test"] == pytest.approx(5.0) and row["val"] == pytest.approx(99.0)
    assert set(frame.loc[frame["full"], "per_class"]) == {FULL}
    given = curve_frame(study(), full={"cifar10": 20})  # the full set named explicitly
    assert set(given.loc[given["full"], "per_class"]) == {20}


def test_curve_table_interval_matches_scipy():
    table = curve_table(study(), order=COLUMNS)
    row = table[(table["column"] == "gabor") & (table["per_class"] == 2)].iloc[0]
    values = np.array([gabor(2, s) for s in SEEDS])
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert row["n_seeds"] == 5 and row["seeds"] == "0 1 2 3 4"
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((low, high))
    assert list(dict.fromkeys(table["column"])) == COLUMNS  # in the given order


def test_curve_table_markdown_marks_cells_not_run():
    text = curve_table_markdown(curve_table(study(), order=COLUMNS), LABELS)
    lines = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("|")}
    header = next(line for line in text.splitlines() if "per class" in line and line.startswith("|"))
    assert f"full ({FULL}/class)" in header
    cells = [c.strip() for c in lines["Trained"].split("|")[2:-1]]
    assert len(cells) == len(SIZES)
    assert cells[3:] == [NOT_RUN] * 3  # 10, 20 and the full set
    assert NOT_RUN not in cells[:3] and cells[0].startswith(f"{np.mean([base(1, s) + 1 for s in SEEDS]):.1f} [")
    assert [c.strip() for c in lines["Picky"].split("|")[2:-1]].count(NOT_RUN) == len(SIZES) - 1


# ---------------------------------------------------------------------------------------------
# Paired comparisons
# ---------------------------------------------------------------------------------------------


def test_a_column_better_small_and_worse_large_is_judged_at_the_right_sizes(comparisons):
    assert outcomes(comparisons, "gabor", "normal") == {
        1: "supported", 2: "supported", 5: "supported", 10: "equivalent", 20: "contradicted", FULL: "contradicted",
    }  # fmt: skip
    rows = comparisons[(comparisons["column"] == "gabor") & (comparisons["reference"] == "normal")]
    small = rows[rows["per_class"] == 1].iloc[0]
    assert small["mean_diff"] == pytest.approx(3.0) and small["n_seeds"] == 5
    assert set(outcomes(comparisons, "noisy", "normal").values()) == {"inconclusive"}
    noisy = comparisons[(comparisons["column"] == "noisy") & (comparisons["reference"] == "normal")]
    assert noisy["seeds_to_resolve"].notna().all() and (noisy["seeds_to_resolve"] > 5).all()


def test_comparison_interval_is_the_t_interval_of_the_paired_differences(comparisons):
    row = comparisons[
        (comparisons["column"] == "noisy") & (comparisons["reference"] == "normal") & (comparisons["per_class"] == 5)
    ].iloc[0]
    low, high = stats.t.interval(0.95, 4, loc=SPREAD.mean(), scale=stats.sem(SPREAD))
    assert row["mean_diff"] == pytest.approx(SPREAD.mean())
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((low, high))


def test_missing_cells_and_single_seeds_are_not_compared(comparisons):
    assert set(outcomes(comparisons, "gabor", "trained")) == {1, 2, 5}  # Trained was not run above 5
    assert "normal" not in set(comparisons.loc[comparisons["reference"] == "normal", "column"])
    one_seed = [*study(), record("lonely", 1, 0, 50.0)]
    assert "lonely" not in set(size_comparisons(one_seed, [*COLUMNS, "lonely"], ("normal",))["column"])


def test_one_family_per_dataset_and_reference_across_every_size(comparisons):
    against_normal = comparisons[comparisons["reference"] == "normal"]
    adjusted = shaffer_exclusive(against_normal["p_difference"], against_normal["p_equivalence"])
    np.testing.assert_allclose(against_normal["p_difference_holm"], adjusted[0])
    np.testing.assert_allclose(against_normal["p_equivalence_holm"], adjusted[1])
    assert against_normal["per_class"].nunique() > 1
    row = against_normal.iloc[0]
    assert row["margin"] == pytest.approx(0.1 * (100 - np.mean([base(row["per_class"], s) for s in SEEDS])))
    alone = size_comparisons(study(), COLUMNS, references=("normal",))
    np.testing.assert_allclose(
        alone["p_difference_holm"], against_normal["p_difference_holm"]
    )  # other references play no part


def test_seeds_to_resolve_can_be_searched_for_some_columns_only(comparisons):
    """The search is the slow part; leaving it out for other columns changes no judgement."""
    some = size_comparisons(study(), COLUMNS, references=("normal", "trained"), resolve=["gabor"])
    judged = [c for c in some.columns if c != "seeds_to_resolve"]
    pd.testing.assert_frame_equal(some[judged], comparisons[judged])
    searched = comparisons["seeds_to_resolve"].notna()
    assert searched.any() and set(comparisons.loc[searched, "column"]) - {"gabor"}
    assert some.loc[some["column"] != "gabor", "seeds_to_resolve"].isna().all()
    gabor = some["column"] == "gabor"
    assert some.loc[gabor, "seeds_to_resolve"].equals(comparisons.loc[gabor, "seeds_to_resolve"])


def test_seeds_sharing_a_draw_count_once():
    records = [record(c, 1, s, 50 + (3 if c == "gabor" else 0) + s) for c in ("normal", "gabor") for s in SEEDS]
    for r in records:
        r.config["draw_seed"] = 0  # every seed reuses one draw
    row = size_comparisons(records, ["gabor"], ("normal",)).iloc[0]
    assert row["n_seeds"] == 5 and row["n_draws"] == 1 and row["outcome"] == "not judged"
    assert np.isnan(row["ci95_low"])


# ---------------------------------------------------------------------------------------------
# Best on validation
# ---------------------------------------------------------------------------------------------


def test_best_by_size_chooses_on_validation_even_when_test_disagrees():
    best = best_by_size(study(), COLUMNS).set_index("per_class")
    assert best.loc[10, "column"] == "picky"  # best validation, worst test
    assert best.loc[10, "test_mean"] == pytest.approx(5.0)
    assert best.loc[10, "n_columns"] == 4  # normal, gabor, noisy, picky
    assert best.loc[1, "column"] == "gabor" and best.loc[20, "column"] == "noisy"  # +3, then +0.4 over Normal
    assert best.loc[1, "n_columns"] == 4 and best.loc[20, "n_columns"] == 3
    assert best.loc[FULL, "full"] and not best.loc[20, "full"]
    assert best_by_size(study(), ["normal", "gabor"]).set_index("per_class").loc[20, "column"] == "normal"


def test_best_by_size_gives_the_lead_over_the_next_column_with_a_paired_bootstrap_interval():
    best = best_by_size(study(), COLUMNS).set_index("per_class")
    row = best.loc[1]  # Gabor 3 points above Normal and Noisy's mean 0.4 above Normal: Gabor leads Trained (+1)
    assert row["runner_up"] == "trained" and row["margin"] == pytest.approx(2.0) and row["margin_seeds"] == 5
    assert row["margin_low"] == pytest.approx(2.0) and row["margin_high"] == pytest.approx(2.0)  # no spread
    noisy = best.loc[20]  # Noisy over Normal: the paired SPREAD
    expected = stats.bootstrap(
        (SPREAD,), np.mean, n_resamples=9999, method="percentile", rng=np.random.default_rng(0)
    ).confidence_interval
    assert noisy["margin"] == pytest.approx(SPREAD.mean())
    assert (noisy["margin_low"], noisy["margin_high"]) == pytest.approx((expected.low, expected.high))
    assert best.loc[10, "not_run"] == "trained" and best.loc[1, "not_run"] == "picky"
    assert best.loc[1, "compared"].split() == ["gabor", "trained", "noisy", "normal"]


def test_best_by_size_ranks_columns_that_ran_different_seeds_on_the_seeds_all_of_them_ran():
    """A grid not yet finished: Gabor has run seeds 0-2, Normal 0-4. Over its own seeds Normal's validation mean
    is higher (66 against 60) only because of seeds 3 and 4; on the seeds both ran Gabor leads by 10 points."""
    normal = [record("normal", 1, s, 70.0, val=50.0 if s < 3 else 90.0) for s in SEEDS]
    gabor_runs = [record("gabor", 1, s, 71.0, val=60.0) for s in range(3)]
    row = best_by_size(normal + gabor_runs, ["normal", "gabor"]).iloc[0]
    assert (row["column"], row["runner_up"], row["n_seeds"], row["margin_seeds"]) == ("gabor", "normal", 3, 3)
    assert row["margin"] == pytest.approx(10.0) and row["margin_low"] == pytest.approx(10.0)
    assert row["val_mean"] == pytest.approx(60.0) and row["test_mean"] == pytest.approx(71.0)
    complete = normal + gabor_runs + [record("gabor", 1, s, 71.0, val=60.0) for s in (3, 4)]
    finished = best_by_size(complete, ["normal", "gabor"]).iloc[0]  # every seed run: ranked on all five
    assert (finished["column"], finished["n_seeds"], finished["margin_seeds"]) == ("normal", 5, 5)
    apart = [record("normal", 1, s, 70.0) for s in (0, 1)] + [record("gabor", 1, s, 71.0) for s in (2, 3)]
    assert best_by_size(apart, ["normal", "gabor"]).empty  # no seed in common: no ranking


def test_best_lines_name_each_size_its_best_column_its_margin_and_what_did_not_run():
    text = best_lines(best_by_size(study(), COLUMNS), LABELS)
    assert text.startswith("**cifar10**. Best on validation at each size (lead over the next column")
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["1"] == "| 1 | Gabor | +2.00 [+2.00, +2.00] over Trained, n=5 | 4 | Picky |"
    assert rows["10"].startswith("| 10 | Picky | ") and rows["10"].endswith(" | 4 | Trained |")
    assert rows["20"].endswith(" | 3 | Picky, Trained |")  # the set of columns not run changed
    assert rows["full set"] == rows["full set"].split(": not separated")[0] + ": not separated | 3 | as above |"
    assert rows["full set"].startswith("| full set | Noisy | +0.40 [")


# ---------------------------------------------------------------------------------------------
# Sentences and the headline
# ---------------------------------------------------------------------------------------------


def test_size_ranges_merge_consecutive_sizes_only():
    assert size_ranges([1, 2, 5, 20], SIZES) == [[1, 2, 5], [20]]
    assert size_ranges([], SIZES) == []
    assert range_text([1, 2, 5], FULL) == "at 1–5 per class"
    assert range_text([10], FULL) == "at 10 per class"
    assert range_text([20, FULL], FULL) == "from 20 per class to the full set"
    assert range_text([FULL], FULL) == "on the full set"


def test_sentences_name_the_right_ranges(comparisons):
    table = curve_table(study(), order=COLUMNS)
    text = curve_sentences(with_length_rules(comparisons, table), best_by_size(study(), COLUMNS), LABELS)
    assert (
        "Gabor beats Normal at 1–5 per class, is equivalent to it within ±10% of the reference's error rate at 10 "
        "per class, "
        "and is worse than it from 20 per class to the full set." in text
    )
    assert "Noisy is inconclusive against Normal from 1 per class to the full set." in text
    assert "Gabor beats Trained at 1–5 per class." in text
    assert "Best on validation at each size (lead over the next column" in text and "| 10 | Picky | " in text
    assert f"### cifar10 (full set: {FULL} per class)" in text
    with pytest.raises(ValueError, match="with_length_rules"):
        curve_sentences(comparisons, best_by_size(study(), COLUMNS), LABELS)


def judged(comparisons: pd.DataFrame) -> pd.DataFrame:
    return with_length_rules(comparisons, curve_table(study(), order=COLUMNS))


def test_headline_names_sizes_where_a_biological_sampler_beats_both(comparisons):
    text = headline(judged(comparisons), LABELS, biological=("gabor",), normal="normal", trained="trained")
    assert "beats both Normal and Trained" in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in lines] == [f"- cifar10, at {n} per class" for n in (1, 2, 5)]
    assert "Gabor beats Normal by +3.00 points" in lines[0] and "Trained by +2.00 points" in lines[0]
    assert "up to 5 per class" in text


def test_headline_says_how_the_evidence_stands_when_there_is_none(comparisons):
    text = headline(
        judged(comparisons), LABELS, biological=("noisy",), normal="normal", trained="trained", max_seeds=30
    )
    assert text.startswith(
        "No significant evidence (5 seeds, paired t-test, Shaffer–Holm at 0.05) that a biological frozen sampler beats "
        "both Normal and Trained at any size compared (full training was compared on cifar10 up to 5 per class)."
    )
    rows = comparisons[(comparisons["column"] == "noisy") & comparisons["reference"].isin(["normal", "trained"])]
    inconclusive = rows[rows["outcome"] == "inconclusive"]
    beyond = int((inconclusive["seeds_to_resolve"].isna() | (inconclusive["seeds_to_resolve"] > 30)).sum())
    assert beyond > 0 and (
        f"Of the {len(rows)} comparisons of a biological frozen sampler with Normal or Trained, {len(inconclusive)} "
        f"are inconclusive, {beyond} of which would need more than 30 seeds." in text
    )
    only_normal = judged(comparisons)[lambda c: c["reference"] == "normal"]
    assert "No significant evidence" in headline(
        only_normal, LABELS, biological=("gabor",), normal="normal", trained="trained"
    )


# ---------------------------------------------------------------------------------------------
# Sentences claim only what ran, under one length rule
# ---------------------------------------------------------------------------------------------


def test_length_rule_is_read_from_the_configuration():
    fixed = {"per_class": 10, "train": {"epochs": 30, "batch_size": 64}}
    assert length_rule(fixed) == "a fixed 60 optimiser steps"  # 30 epochs of ceil(100 / 64) = 2 minibatches
    early = {"per_class": 10, "train": {"epochs": 500, "batch_size": 64, "patience": 20}}
    assert length_rule(early) == "early stopping on validation (patience 20 epochs, at most 500 epochs)"
    solver = {"per_class": 10, "features": {"max_iter": 10000}}
    assert length_rule(solver) == "a solver run to convergence (at most 10000 iterations)"
    assert length_key(length_rule(early)) == length_key(length_rule(solver)) == DECIDED_BY_RUN
    assert length_key(length_rule(fixed)) == "a fixed 60 optimiser steps"
    later = {"per_class": 300, "train": {"epochs": 100, "batch_size": 64, "patience": 20}}
    assert rules_text([length_rule(early), length_rule(later), length_rule(fixed), length_rule(solver)]) == (
        "a fixed 60 optimiser steps or early stopping on validation (patience 20 epochs, at most 100–500 epochs, "
        "by size) or a solver run to convergence (at most 10000 iterations)"
    )


def ruled(column: str, per_class: int, seed: int, test: float, train: dict | None) -> RunRecord:
    """A record whose configuration says how its training length was decided (``train``; None: a solver)."""
    made = record(column, per_class, seed, test)
    made.config.update({"train": train} if train is not None else {"features": {"max_iter": 100}})
    return made


def confounded_study() -> list[RunRecord]:
    """Normal and Gabor frozen for a fixed 1200 steps (Gabor missing at 10 per class), Trained for a fixed 300
    steps, far better everywhere; Early early-stopped and Solver fitted to convergence, 3 points apart."""
    frozen, trained = {"epochs": 1200, "batch_size": 640}, {"epochs": 300, "batch_size": 640}
    early = {"epochs": 500, "batch_size": 640, "patience": 20}
    records = []
    for n in (1, 2, 5, 10, 20):
        for s in SEEDS:
            records.append(ruled("normal", n, s, base(n, s), frozen))
            if n != 10:
                records.append(ruled("gabor", n, s, gabor(n, s), frozen))
            records.append(ruled("trained", n, s, base(n, s) + 10.0, trained))
            records.append(ruled("early", n, s, base(n, s) + 5.0, early))
            records.append(ruled("solver", n, s, base(n, s) + 2.0, None))
    return records


def test_no_sentence_compares_a_column_where_it_did_not_run_or_under_another_length_rule():
    records = confounded_study()
    columns = ["normal", "gabor", "trained", "early", "solver"]
    labels = {**LABELS, "early": "Early", "solver": "Solver"}
    full = {"cifar10": FULL}  # not run: every size is below the full set
    table = curve_table(records, order=columns, full=full)
    comparisons = with_length_rules(
        size_comparisons(records, columns, references=("normal", "trained", "solver"), full=full, max_seeds=30), table
    )
    assert 10 not in set(comparisons.loc[comparisons["column"] == "gabor", "per_class"])
    best = best_by_size(records, columns, full=full)
    text = curve_sentences(comparisons, best, labels)
    text += headline(comparisons, labels, biological=("gabor",), normal="normal", trained="trained", max_seeds=30)
    text += best_lines(best, labels)
    sentences = [s for line in text.splitlines() for s in line.split(". ")]

    def naming(*names: str) -> list[str]:
        return [s for s in sentences if all(name in s for name in names)]

    verbs = ("beats", "worse than", "equivalent to", "inconclusive against")
    # Gabor was not run at 10 per class: no outcome of it there, the ranges stop either side
    assert "Gabor beats Normal at 1–5 per class and is worse than it at 20 per class." in text
    assert all("10 per class" not in line for line in text.splitlines() if line.startswith("- Gabor"))
    # fixed 1200 steps against fixed 300 steps, and fixed steps against a length decided by the run: not compared
    for column, reference in [("Normal", "Trained"), ("Gabor", "Trained"), ("Early", "Normal"), ("Solver", "Trained")]:
        for sentence in naming(column, reference):
            assert not any(f"{column} {verb}" in sentence for verb in verbs), sentence
    assert (
        "- Gabor is not compared with Trained; not compared at 1–5 per class and at 20 per class: trained under "
        "different length rules (a fixed 1200 optimiser steps against a fixed 300 optimiser steps)." in text
    )
    # runs that both decided their own length are compared: early stopping against a solver's convergence
    assert "Early beats Solver at 1–20 per class." in text
    assert "| 20 | Normal | +3.00 [+3.00, +3.00] over Gabor, n=5 | 2 | a fixed 1200 optimiser steps |" in text
    # the headline counts what was not made, and claims nothing about Trained
    assert "beats both" not in text.split("No significant evidence")[0]
    assert "0 comparisons of a biological frozen sampler" not in text
    assert "were not made: the two columns' training lengths were decided by different rules" in text
    # best on validation ranks each rule's columns apart and never names Gabor at 10 per class
    at_10 = best[best["per_class"] == 10]
    assert set(at_10["length"]) == {"a fixed 1200 optimiser steps", "a fixed 300 optimiser steps", DECIDED_BY_RUN}
    assert all("gabor" not in compared.split() for compared in at_10["compared"])
    assert (at_10["not_run"] == "gabor").all()
    assert "| 10 | Normal | the only column ranked | 1 | a fixed 1200 optimiser steps | Gabor |" in text


def test_each_cell_counts_its_early_stopped_runs_that_reached_the_maximum():
    early = {"epochs": 500, "batch_size": 640, "patience": 20}
    records = [ruled("early", 5, s, base(5, s), early) for s in SEEDS]
    for seed, made in enumerate(records):
        made.stopping = {
            "epoch_kept": 10 + seed, "epochs_run": 30 + seed if seed else 500, "stopped_at_max": seed == 0,
            "best_validation_accuracy": made.val_accuracy,
        }  # fmt: skip
    table = curve_table(records, full={"cifar10": FULL})
    assert table.loc[0, "n_at_max"] == 1 and table.loc[0, "epochs_kept_median"] == 12
    assert "n=5, 1 at max" in curve_table_markdown(table, LABELS)
    lines = stopping_lines(table, {"early": "Early"})
    assert "- **cifar10**: 1 of 5 early-stopped runs reached the maximum: Early at 5 (1 of 5)." in lines
    assert "  - Early, median epoch kept / epochs run by size: 5: 12/33" in lines
    assert stopping_lines(curve_table(study()), LABELS).startswith("No run stopped early")
    fixed = curve_table(study())
    assert fixed["n_at_max"].isna().all() and "at max |" not in curve_table_markdown(fixed, LABELS)


# ---------------------------------------------------------------------------------------------
# Anchors and the figure
# ---------------------------------------------------------------------------------------------


def test_literature_anchors_as_quoted():
    found = {(a.method, a.per_class): a.accuracy for a in LITERATURE_ANCHORS}
    assert found[("fixed Morlet scattering + linear", 50)] == 48.1
    assert found[("CNTK", 64)] == 42.6 and found[("ResNet-34", 16)] == 28.3
    assert all(a.dataset == "cifar10" and a.difference for a in LITERATURE_ANCHORS)


@pytest.fixture
def curves_figure():
    records = study() + [record("normal", n, s, base(n, s) + 40, dataset="mnist") for n in (1, 10) for s in SEEDS]
    fig = plot_learning_curves(curve_table(records, order=COLUMNS), LABELS, columns=COLUMNS, kinds=KINDS)
    yield fig
    plt.close(fig)


def test_plot_learning_curves_one_log_panel_per_dataset(curves_figure):
    axes = curves_figure.axes
    assert [ax.get_title() for ax in axes] == ["cifar10", "mnist"]
    assert all(ax.get_xscale() == "log" for ax in axes)
    cifar = axes[0]
    assert [t.get_text() for t in cifar.get_xticklabels()] == ["1", "2", "5", "10", "20", "full"]
    lines = {line.get_label(): line for line in cifar.get_lines()}
    np.testing.assert_allclose(lines["Trained"].get_xdata(), [1, 2, 5])
    assert lines["Trained"].get_linestyle() == "--" and lines["Gabor"].get_linestyle() == "-"
    assert len(cifar.collections) >= len(COLUMNS)  # a 95% band per column


def test_plot_learning_curves_marks_the_anchors_on_their_dataset_only(curves_figure):
    cifar, mnist = curves_figure.axes
    anchors = [line for line in cifar.get_lines() if line.get_linestyle() == "None"]
    assert len(anchors) == 3
    assert {line.get_marker() for line in anchors} == {"*", "P", "X"}
    assert any("Gauthier" in line.get_label() and "augmentation" in line.get_label() for line in anchors)
    np.testing.assert_allclose(
        sorted(y for line in anchors for y in line.get_ydata()), sorted(a.accuracy for a in LITERATURE_ANCHORS)
    )
    assert not [line for line in mnist.get_lines() if line.get_linestyle() == "None"]
    assert mnist.get_legend() is not None and cifar.get_legend() is None  # one legend per row, on its right


def test_plot_learning_curves_panels_split_the_columns_into_rows_with_fixed_colours():
    records = study()
    panels = {"frozen": ["gabor", "normal"], "trained": ["trained", "normal"]}
    fig = plot_learning_curves(curve_table(records, order=COLUMNS), LABELS, [], COLUMNS, KINDS, panels)
    try:
        top, bottom = fig.axes
        assert top.get_title() == "cifar10: frozen" and bottom.get_title() == "cifar10: trained"
        labels = [[ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")] for ax in fig.axes]
        assert labels == [[LABELS["gabor"], LABELS["normal"]], [LABELS["trained"], LABELS["normal"]]]
        colour = [
            line.get_color() for ax in fig.axes for line in ax.get_lines() if line.get_label() == LABELS["normal"]
        ]
        assert colour[0] == colour[1]
        assert top.get_legend() is not None and bottom.get_legend() is not None
    finally:
        plt.close(fig)
