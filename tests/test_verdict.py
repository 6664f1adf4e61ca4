"""Grid selection, paired comparisons and the generated verdict, on hand-made run records."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from synthlib.records import RunRecord
from synthlib.tables import paired_comparisons, protocol_table, select_setting, t_interval, table1_markdown
from synthlib.verdict import CLAIMS, claim_table, protocol_variants, sentence, summary_lines, verdict_markdown


def record(method: str, seed: int, test: float, val: float | None = None, setting: str = "", dataset: str = "mnist"):
    return RunRecord(
        dataset=dataset,
        method=method,
        seed=seed,
        test_accuracy=test,
        val_accuracy=test if val is None else val,
        n_train=380,
        n_val=380,
        n_test=10000,
        config={"method": {"label": method.title()}},
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
    table = protocol_table(grid_records(), grid=True)
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


def variants_with(lognormal: list[float], normal: list[float], trained: list[float]):
    records = []
    for method, values in (("lognormal", lognormal), ("normal", normal), ("fully_trained", trained)):
        records += [record(method, seed, value) for seed, value in enumerate(values)]
    return {"sound": records}


def test_claims_are_judged_by_the_interval_of_the_paired_difference():
    variants = variants_with([0.80, 0.82, 0.81, 0.83], [0.70, 0.71, 0.69, 0.72], [0.90, 0.91, 0.92, 0.90])
    table = claim_table(variants).set_index(["claim", "a", "b"])
    assert table.loc[("biological_beats_normal", "lognormal", "normal"), "judgement"] == "supported"
    assert table.loc[("frozen_beats_trained", "lognormal", "fully_trained"), "judgement"] == "contradicted"
    paper_diff = table.loc[("biological_beats_normal", "lognormal", "normal"), "paper_diff"]
    assert paper_diff == pytest.approx(80.89 - 72.52)  # the paper's MNIST Table 1


def test_overlapping_columns_are_unresolved_and_sentences_say_so():
    variants = variants_with([0.80, 0.70, 0.82, 0.69], [0.75, 0.76, 0.74, 0.77], [0.5, 0.5, 0.5, 0.5])
    table = claim_table(variants)
    row = table[(table["a"] == "lognormal") & (table["b"] == "normal")].iloc[0]
    assert row["judgement"] == "unresolved"
    text = sentence(row, {"lognormal": "Log-Normal", "normal": "Normal"})
    assert text.startswith("sound: Log-Normal − Normal = ") and text.endswith("the seeds do not separate them.")
    assert f"{row['diff']:+.2f} points" in text and "(paper: +8.37)" in text


def test_verdict_markdown_and_summary_come_from_the_table():
    variants = variants_with([0.80, 0.82, 0.81, 0.83], [0.70, 0.71, 0.69, 0.72], [0.90, 0.91, 0.92, 0.90])
    table = claim_table(variants)
    markdown = verdict_markdown(table, {})
    assert markdown.count("\n- ") == len(table) and CLAIMS[0].statement in markdown
    summary = summary_lines(table)
    assert "sound: 1 supported, 0 unresolved, 0 contradicted" in summary  # lognormal > normal
    assert "sound: 0 supported, 0 unresolved, 1 contradicted" in summary  # trained wins


def test_protocol_variants_split_grid_protocols_by_selection():
    variants = protocol_variants({"paper": [record("normal", 0, 0.5)], "authors_code": grid_records()})
    assert list(variants) == ["paper", "authors_code/test", "authors_code/validation"]
    assert {r.setting for r in variants["authors_code/test"]} == {"a"}
