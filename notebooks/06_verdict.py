# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: synthlib
#     language: python
#     name: synthlib
# ---

# %% [markdown]
# # 6 · Verdict: how much does the paper's conclusion depend on unstated choices?
#
# The paper concludes that on tiny training sets (38 images per class) frozen kernels sampled from
# biological synapse distributions beat normally distributed kernels and match or beat a CNN
# trained end to end. This notebook puts the three protocols' results beside the paper's Table 1
# and judges each claim per dataset under each protocol:
#
# * **paper**: the text, gaps filled, choices on validation, 3 fresh seeds;
# * **authors' code, test-set selection**: what the authors' code did, including choosing each
#   column's setting from 24 by its *test* accuracy (optimistic by construction);
# * **authors' code, validation selection**: the same runs, each column's setting chosen on a
#   validation split instead: the difference is what test-set selection was worth;
# * **sound**: 10 fresh seeds, choices on validation, standardised features.
#
# A claim "a beats b" is **supported** when the 95% interval of the paired difference a − b (same
# seeds, same subsets) lies above zero, **contradicted** when it lies below, **unresolved**
# otherwise. Under `authors_code` the three runs share their subset and kernels (as in the
# authors' code), so its intervals reflect only minibatch order and flips: narrow, and not
# evidence about the samplers in general. Every number and sentence below is generated from the
# run records in `results/<protocol>/runs/`; nothing is typed in.

# %% tags=["parameters"]
results_dir = "../results"  # records are read from <results_dir>/<protocol>/runs
output_dir = None  # verdict files go to <output_dir>; None: <results_dir>
figures_dir = "../figures"
protocols = ["paper", "authors_code", "sound"]

# %%
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from synthlib.baselines import BASELINE_NAMES
from synthlib.experiment import PAPER_METHODS
from synthlib.plots import plot_protocols
from synthlib.records import load_records, write_text_atomic
from synthlib.tables import summarise
from synthlib.verdict import VARIANT_LABELS, claim_table, protocol_variants, summary_lines, verdict_markdown

records_by_protocol = {name: load_records(Path(results_dir) / name / "runs") for name in protocols}
missing = [name for name, records in records_by_protocol.items() if not records]
if missing:
    raise FileNotFoundError(f"no run records for protocol(s) {missing}: run ./run_all.sh (PROTOCOLS) first")
LABELS = {r.method: r.config["method"]["label"] for records in records_by_protocol.values() for r in records}
ORDER = [m.name for m in PAPER_METHODS] + list(BASELINE_NAMES)
variants = protocol_variants(records_by_protocol)
for variant, records in variants.items():
    print(f"{VARIANT_LABELS.get(variant, variant)}: {len(records)} runs")

# %% [markdown]
# ## All protocols beside the paper (test accuracy %, mean [95% CI], seeds)

# %%
long = pd.concat(
    [summarise(records, ORDER).assign(variant=variant) for variant, records in variants.items()], ignore_index=True
)
cells = long.assign(
    cell=[
        f"{m:.2f} [{lo:.2f}, {hi:.2f}] (n={n})"
        for m, lo, hi, n in zip(long["mean"], long["ci95_low"], long["ci95_high"], long["n_seeds"])
    ],
    column=[VARIANT_LABELS.get(v, v) for v in long["variant"]],
)
side_by_side = cells.pivot_table(index=["dataset", "method"], columns="column", values="cell", aggfunc="first")
side_by_side = side_by_side[[VARIANT_LABELS.get(v, v) for v in variants]]
paper = long.drop_duplicates(["dataset", "method"]).set_index(["dataset", "method"])
side_by_side.insert(
    0,
    "paper (Table 1)",
    [
        f"{paper.loc[i, 'paper_mean']:.2f} ± {paper.loc[i, 'paper_std']:.2f}"
        if pd.notna(paper.loc[i, "paper_mean"])
        else "—"
        for i in side_by_side.index
    ],
)
rank = {m: k for k, m in enumerate(ORDER)}
side_by_side = side_by_side.loc[sorted(side_by_side.index, key=lambda i: (i[0], rank.get(i[1], len(ORDER))))]
side_by_side.index = [f"{dataset} · {LABELS.get(method, method)}" for dataset, method in side_by_side.index]
protocols_md = side_by_side.to_markdown()
display(Markdown(protocols_md))

# %%
figure = plot_protocols(long, LABELS, VARIANT_LABELS)
Path(figures_dir).mkdir(parents=True, exist_ok=True)
figure.savefig(Path(figures_dir) / "protocols.png", dpi=150)

# %% [markdown]
# ## The claims, judged

# %%
claims = claim_table(variants)
verdict_md = verdict_markdown(claims, LABELS)
display(Markdown(verdict_md))

# %% [markdown]
# ## In short (this block is copied into the README)

# %%
summary = summary_lines(claims)
display(Markdown(summary))
out = Path(output_dir or results_dir)
out.mkdir(parents=True, exist_ok=True)
write_text_atomic(out / "protocols.md", protocols_md + "\n")
write_text_atomic(out / "verdict.md", summary)
write_text_atomic(out / "verdict_claims.md", verdict_md)
write_text_atomic(out / "verdict_claims.csv", claims.to_csv(index=False, float_format="%.6g"))
