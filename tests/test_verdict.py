"""Grid selection, paired comparisons and the generated verdict, on hand-made run records."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from synthlib.protocols import get_protocol
from synthlib.records import RunRecord
from synthlib.selection import select_setting
from synthlib.tables import (
    paired_comparisons,
    protocol_table,
    protocols_side_by_side,
    summarise,
    t_interval,
    table1_markdown,
    variants_long,
)
from synthlib.verdict import (
    CLAIMS,
    EQUIVALENCE_MARGIN,
    best_frozen,
    claim_table,
    margin_sensitivity,
    protocol_variants,
    sensitivity_markdown,
    sentence,
    summary_lines,
    verdict_markdown,
)

FROZEN = ("normal", "lognormal", "center_surround")


def record(
    method: str,
    seed: int,
    test: float,
    val: float | None = None,
    setting: str = "",
    dataset: str = "mnist",
    shared_draws: bool = False,
):
    """A run record as the study writes it: frozen samplers name their sampler, and a protocol that
    shares draws says so in its options."""
    sampler = method if method in FROZEN else None
    return RunRecord(
        dataset=dataset,
        method=method,
        seed=seed,
        test_accuracy=test,
        val_accuracy=test if val is None else val,
        n_train=380,
        n_val=380,
        n_test=10000,
        config={"method": {"label": method.title(), "sampler": sampler}, "options": {"shared_draws": shared_draws}},
        config_hash="x",
        device="cpu",
        environment={},
        setting=setting,
    )


def grid_records():
    """Setting 'a' is best on test, 'b' on validation; both seeds."""
    return [
        record("normal", seed, test, val, setting)
        for seed in (0, 1)
        for setting, test, val in (("a", 0.60 + seed / 100, 0.50), ("b", 0.55 + seed / 100, 0.70))
    ]


def test_select_setting_by_test_and_by_validation():
    records = grid_records()
    by_test, chosen_test = select_setting(records, "test")
    by_val, chosen_val = select_setting(records, "validation")
    assert chosen_test == {("mnist", "normal"): "a"} and chosen_val == {("mnist", "normal"): "b"}
    assert {r.setting for r in by_test} == {"a"} and len(by_test) == 2
    assert {r.setting for r in by_val} == {"b"} and len(by_val) == 2
    with pytest.raises(ValueError, match="unknown selection 'train'"):
        select_setting(records, "train")


def test_protocol_table_shows_both_selections_with_their_settings():
    table = protocol_table(grid_records(), get_protocol("authors_code"))
    assert list(table["selection"]) == ["test", "validation"]
    assert list(table["setting"]) == ["a", "b"]
    assert table["mean"].round(4).tolist() == [60.5, 55.5]
    markdown = table1_markdown(table)
    assert "test set (as the authors)" in markdown and "validation split" in markdown


def test_paired_comparisons_match_scipy():
    a = [0.50, 0.55, 0.61, 0.58]
    b = [0.48, 0.50, 0.60, 0.51]
    records = [record("lognormal", s, x) for s, x in enumerate(a)] + [record("normal", s, x) for s, x in enumerate(b)]
    row = paired_comparisons(records, [("lognormal", "normal")]).iloc[0]
    diff = 100 * (np.array(a) - np.array(b))
    expected = stats.ttest_rel(100 * np.array(a), 100 * np.array(b))
    assert row["n"] == 4 and row["diff"] == pytest.approx(diff.mean())
    assert row["t"] == pytest.approx(expected.statistic) and row["p_ttest"] == pytest.approx(expected.pvalue)
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx(t_interval(diff))
    assert np.isnan(row["p_wilcoxon"])  # fewer than 6 seeds


def test_paired_comparisons_use_only_shared_seeds():
    records = [record("a", 0, 0.5), record("a", 1, 0.6), record("b", 1, 0.4), record("b", 2, 0.1)]
    row = paired_comparisons(records).iloc[0]
    assert row["n"] == 1 and row["diff"] == pytest.approx(20.0) and np.isnan(row["t"])


def test_t_interval_of_identical_values_is_the_point():
    assert t_interval(np.array([3.0, 3.0, 3.0])) == (3.0, 3.0)
    assert all(np.isnan(t_interval(np.array([3.0]))))


def variants_with(lognormal: list[float], normal: list[float], trained: list[float], shared_draws: bool = False):
    records = []
    for method, values in (("lognormal", lognormal), ("normal", normal), ("fully_trained", trained)):
        records += [record(method, seed, value, shared_draws=shared_draws) for seed, value in enumerate(values)]
    return {"sound": records}


def row_of(table, claim: str, a: str, b: str):
    return table.set_index(["claim", "a", "b"]).loc[(claim, a, b)]


def test_claims_are_judged_by_the_adjusted_paired_tests():
    variants = variants_with([0.80, 0.82, 0.81, 0.83], [0.70, 0.71, 0.69, 0.72], [0.90, 0.91, 0.92, 0.90])
    table = claim_table(variants)
    beats = row_of(table, "biological_beats_normal", "lognormal", "normal")
    assert beats["judgement"] == "supported" and beats["n_draws"] == 4
    assert beats["p_ttest_holm"] >= beats["p_ttest"] and beats["margin_fraction"] == EQUIVALENCE_MARGIN == 0.1
    assert beats["reference_error"] == pytest.approx(100 - 70.5) and beats["margin"] == pytest.approx(2.95)
    assert row_of(table, "frozen_beats_trained", "lognormal", "fully_trained")["judgement"] == "contradicted"
    assert beats["paper_diff"] == pytest.approx(80.89 - 72.52)  # the paper's MNIST Table 1


def test_a_match_within_the_margin_is_equivalent_and_counts_for_claim_two():
    variants = variants_with([0.801, 0.812, 0.797, 0.805], [0.70, 0.71, 0.69, 0.72], [0.800, 0.810, 0.799, 0.803])
    table = claim_table(variants)
    row = row_of(table, "frozen_beats_trained", "lognormal", "fully_trained").copy()
    assert row["judgement"] == "equivalent" and row["p_tost_holm"] < 0.05 <= row["p_ttest_holm"]
    row["claim"], row["a"], row["b"] = "frozen_beats_trained", "lognormal", "fully_trained"
    text = sentence(row, {"lognormal": "Log-Normal", "fully_trained": "Fully Trained"})
    assert text.endswith(
        "equivalent within ±1.97 points (10% of the error rate of 19.70%), which the claim counts as 'match'."
    )
    narrower = claim_table(variants, margin=0.005)
    assert row_of(narrower, "frozen_beats_trained", "lognormal", "fully_trained")["judgement"] == "inconclusive"
    sensitivity = margin_sensitivity(variants, factors=(0.05, 1.0))
    row = sensitivity.set_index(["claim", "a", "b"]).loc[("frozen_beats_trained", "lognormal", "fully_trained")]
    assert row["judgement at 0.05 x margin"] == "inconclusive" and row["judgement at 1 x margin"] == "equivalent"
    shown = sensitivity_markdown(sensitivity, {})
    assert "±0.5% of b's error" in shown and "±10% of b's error" in shown and "change between" in shown


def test_overlapping_columns_are_inconclusive_and_sentences_say_how_many_seeds_would_resolve_them():
    variants = variants_with([0.80, 0.70, 0.82, 0.69], [0.75, 0.76, 0.74, 0.77], [0.5, 0.5, 0.5, 0.5])
    table = claim_table(variants)
    row = table[(table["a"] == "lognormal") & (table["b"] == "normal")].iloc[0]
    assert row["judgement"] == "inconclusive" and row["seeds_to_resolve"] > 4
    text = sentence(row, {"lognormal": "Log-Normal", "normal": "Normal"})
    assert text.startswith("sound: Log-Normal − Normal = ") and "(paper: +8.37)" in text
    assert f"inconclusive: about {row['seeds_to_resolve']} independent seeds would resolve it" in text
    assert f"observed paired SD of {row['sd_diff']:.2f} points" in text and "over 4 independent draws" in text


def test_a_protocol_whose_seeds_share_one_draw_gets_no_interval_and_no_judgement():
    variants = variants_with(
        [0.80, 0.82, 0.81], [0.70, 0.71, 0.69], [0.90, 0.91, 0.92], shared_draws=True
    )  # a clear win that only minibatch order and flips could have varied
    table = claim_table(variants)
    assert set(table["judgement"]) == {"not judged"} and set(table["n_draws"]) == {1}
    assert table[["ci95_low", "ci95_high", "p_ttest", "p_tost"]].isna().all().all()
    row = row_of(table, "biological_beats_normal", "lognormal", "normal").copy()
    row["claim"], row["a"], row["b"] = "biological_beats_normal", "lognormal", "normal"
    text = sentence(row, {})
    assert "3 runs share one draw" in text and "minibatch order and flips only" in text
    assert text.endswith("not judged.") and "CI" not in text
    summary = summarise(variants["sound"])
    assert set(summary["n_draws"]) == {1} and summary[["ci95_low", "ci95_high"]].isna().all().all()
    assert table1_markdown(summary).count("| 1 draw ") == 3
    compared = paired_comparisons(variants["sound"], [("lognormal", "normal")]).iloc[0]
    assert compared["n"] == 3 and compared["n_draws"] == 1 and np.isnan(compared["ci95_low"])
    assert np.isnan(compared["p_ttest"])


def test_a_baseline_on_one_subset_shows_no_interval():
    records = [record("scattering", seed, 0.2947) for seed in range(3)]
    for r in records:
        r.config["draw_seed"] = 0
    summary = summarise(records)
    assert summary["n_draws"].tolist() == [1] and "1 draw" in table1_markdown(summary)


def test_claim_three_compares_the_best_frozen_sampler_chosen_on_validation():
    records = []
    for seed in range(4):
        records += [
            record("lognormal", seed, 0.90 + seed / 1000, val=0.60),  # best on test, not on validation
            record("center_surround", seed, 0.80 + seed / 1000, val=0.70),
            record("normal", seed, 0.70, val=0.65),
            record("fully_trained", seed, 0.95, val=0.99),  # not frozen
            record("scattering", seed, 0.85 - seed / 500, val=0.99),  # not frozen
        ]
    assert best_frozen(records, "mnist") == "center_surround" and best_frozen(records, "cifar10") is None
    table = claim_table({"sound": records})
    third = table[table["claim"] == "beats_fixed_baseline"]
    assert third[["a", "b"]].values.tolist() == [["center_surround", "scattering"]] and third["best_frozen"].all()
    text = verdict_markdown(table, {"center_surround": "Center-Surround", "scattering": "Scattering"})
    assert "Center-Surround (best frozen on validation) − Scattering" in text


def test_the_adjustment_runs_over_each_claims_family_per_variant_and_dataset():
    variants = variants_with([0.80, 0.82, 0.81, 0.83], [0.70, 0.71, 0.69, 0.72], [0.90, 0.91, 0.92, 0.90])
    variants["paper"] = variants["sound"]
    table = claim_table(variants)
    first = table[(table["claim"] == "biological_beats_normal") & (table["variant"] == "sound")].iloc[0]
    # one comparison in the family: its two hypotheses cannot both be true, so at most one true hypothesis
    assert first["p_ttest_holm"] == pytest.approx(first["p_ttest"])
    cifar = [record(r.method, r.seed, r.test_accuracy, dataset="cifar10") for r in variants["sound"]]
    both = claim_table({"sound": variants["sound"] + cifar})
    assert both.groupby("dataset")["p_ttest_holm"].first().tolist() == pytest.approx([first["p_ttest"]] * 2)
    same = table[(table["claim"] == "biological_beats_normal")]
    assert same["p_ttest_holm"].nunique() == 1  # the same records under two variants: two separate families


def test_verdict_markdown_and_summary_come_from_the_table():
    variants = variants_with([0.80, 0.82, 0.81, 0.83], [0.70, 0.71, 0.69, 0.72], [0.90, 0.91, 0.92, 0.90])
    table = claim_table(variants)
    markdown = verdict_markdown(table, {})
    assert markdown.count("\n- ") == len(table) and CLAIMS[0].statement in markdown
    assert "within ±10% of the reference's error rate" in markdown.split("###")[0]  # the rules name the margin
    summary = summary_lines(table)
    assert "sound: 1 supported, 0 equivalent, 0 contradicted, 0 inconclusive, 0 not judged" in summary
    assert "sound: 0 supported, 0 equivalent, 1 contradicted, 0 inconclusive, 0 not judged" in summary
    assert "Shaffer's modification of Holm's procedure at 0.05" in summary and "±10% of" in summary


def test_protocol_variants_split_grid_protocols_by_selection():
    variants = protocol_variants({"paper": [record("normal", 0, 0.5)], "authors_code": grid_records()})
    assert list(variants) == ["paper", "authors_code/test", "authors_code/validation"]
    assert {r.setting for r in variants["authors_code/test"]} == {"a"}


def test_protocols_side_by_side_puts_each_variant_beside_the_paper():
    variants = {
        "paper": [
            record(m, s, v)
            for m, vals in (("normal", (0.70, 0.72, 0.74)), ("lognormal", (0.80, 0.81, 0.82)))
            for s, v in enumerate(vals)
        ],
        "authors_code/test": [record("normal", s, 0.5 + s / 100, shared_draws=True) for s in range(3)],
    }
    long = variants_long(variants, ["normal", "lognormal"])
    labels = {"paper": "paper", "authors_code/test": "authors' code, test-set selection"}
    table = protocols_side_by_side(long, {"normal": "Normal", "lognormal": "Log-Normal"}, labels)
    assert list(table.columns) == ["paper (Table 1)", "paper", "authors' code, test-set selection"]
    assert list(table.index) == ["mnist · Normal", "mnist · Log-Normal"]
    low, high = t_interval(np.array([70.0, 72.0, 74.0]))
    assert table.loc["mnist · Normal", "paper"] == f"72.00 [{low:.2f}, {high:.2f}] (n=3)"
    assert table.loc["mnist · Normal", "authors' code, test-set selection"] == "51.00 1 draw (n=3)"
    assert table.loc["mnist · Log-Normal", "authors' code, test-set selection"] == "—"  # not run there
    assert table.loc["mnist · Normal", "paper (Table 1)"] == "72.52 ± 0.21"  # the paper's own Table 1


def test_a_grid_choice_at_the_end_of_its_values_is_flagged_in_the_table():
    """Learning rates 0.1, 0.01 and 0.001 run; validation picks 0.001 (the smallest: an edge), the test set
    0.01 (interior). Weight decay 0 is a hard limit, never an edge."""
    records = []
    for seed in (0, 1):
        for lr, test, val in ((0.1, 0.50, 0.40), (0.01, 0.70, 0.60), (0.001, 0.65, 0.65)):
            run = record("fully_trained", seed, test, val, setting=f"lr{lr:g}")
            run.config["train"] = {"learning_rate": lr, "weight_decay": 0.0}
            records.append(run)
    table = protocol_table(records, get_protocol("authors_code"))
    assert table.set_index("selection")["edge"].to_dict() == {
        "test": "",
        "validation": "learning rate 0.001 is the smallest run",
    }
    assert "learning rate 0.001 is the smallest run" in table1_markdown(table)


def test_a_tuned_choice_at_an_edge_is_named_in_the_table_and_the_verdict():
    variants = variants_with([0.80, 0.82, 0.81, 0.83], [0.70, 0.71, 0.69, 0.72], [0.75, 0.74, 0.76, 0.75])
    edges = {"sound": {("mnist", "fully_trained"): "learning rate at the edge of the range searched"}}
    table = protocol_table(variants["sound"], get_protocol("sound"), edges)
    assert table.set_index("method").loc["fully_trained", "edge"] == "learning rate at the edge of the range searched"
    assert table.set_index("method").loc["normal", "edge"] == ""
    claims = claim_table(variants, edges=edges)
    row = claims[(claims["a"] == "lognormal") & (claims["b"] == "fully_trained")].iloc[0]
    assert row["edge"] == "fully_trained: learning rate at the edge of the range searched"
    text = sentence(row, {})
    assert text.endswith(
        "A chosen setting is at an edge of the range searched (fully_trained: learning rate at the edge of the range "
        "searched): a wider search might change it."
    )
    assert row_of(claims, "biological_beats_normal", "lognormal", "normal")["edge"] == ""
