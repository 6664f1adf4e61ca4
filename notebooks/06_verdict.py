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
# * **sound**: fresh seeds (10 pilot seeds, then as many as the pilot's power estimate asks, at
#   most 30), choices on validation, standardised features.
#
# Each comparison a − b is paired (same seeds, same subsets) and judged within its claim's family,
# Holm-corrected at 0.05 (`synthlib.verdict`): **supported** (a wins) or **contradicted** (b wins)
# by the paired t-test, **equivalent** when two one-sided tests (TOST) put the difference within
# ±1 point (the margin, `EQUIVALENCE_MARGIN`), **inconclusive** otherwise, with the number of
# independent seeds that would resolve it. Under `authors_code` the three runs share their subset
# and kernels (as in the authors' code), so they are one draw: no interval and no judgement.
# A compared column whose chosen setting is still at an edge of its searched range is named.
# Every number and sentence below is generated from the run records in
# `results/<protocol>/runs/` and the tuning results; nothing is typed in.

# %% tags=["parameters"]
results_dir = "../results"  # records are read from <results_dir>/<protocol>/runs
output_dir = None  # verdict files go to <output_dir>; None: <results_dir>
figures_dir = "../figures"
protocols = None  # None: every registered protocol with run records (python -m synthlib protocols list)

# %%
from pathlib import Path

from IPython.display import Markdown, display

from synthlib.atomic import write_text_atomic
from synthlib.plots import plot_protocols
from synthlib.protocols import get_protocol, protocol_names, variant_labels
from synthlib.records import load_records
from synthlib.runner import pilot_estimate
from synthlib.tables import protocols_side_by_side, variants_long
from synthlib.verdict import claim_table, protocol_variants, summary_lines, verdict_markdown

asked = [get_protocol(name) for name in protocols or protocol_names()]
found = {setup.name: load_records(setup.runs_dir(results_dir)) for setup in asked}
not_run = [setup for setup in asked if not found[setup.name]]
setups = [setup for setup in asked if found[setup.name]]
if not setups:
    raise FileNotFoundError(f"no run records under {results_dir} for any protocol: run ./run_all.sh first")
for setup in not_run:
    print(f"not judged: protocol {setup.name} has no run records under {setup.runs_dir(results_dir)}")
records_by_protocol = {setup.name: found[setup.name] for setup in setups}
LABELS = {r.method: r.config["method"]["label"] for records in records_by_protocol.values() for r in records}
ORDER = list(dict.fromkeys(name for setup in setups for name in setup.column_order()))
VARIANT_LABELS = variant_labels()
variants = protocol_variants(records_by_protocol)
for variant, records in variants.items():
    print(f"{VARIANT_LABELS[variant]}: {len(records)} runs")

# %% [markdown]
# ## All protocols beside the paper (test accuracy %, mean [95% CI], seeds)

# %%
long = variants_long(variants, ORDER)
protocols_md = protocols_side_by_side(long, LABELS, VARIANT_LABELS).to_markdown()
display(Markdown(protocols_md))

# %%
figure = plot_protocols(long, LABELS, VARIANT_LABELS)
Path(figures_dir).mkdir(parents=True, exist_ok=True)
figure.savefig(Path(figures_dir) / "protocols.png", dpi=150)

# %% [markdown]
# ## The claims, judged

# %%
edges = {
    variant: notes
    for setup in setups
    for variant, notes in setup.edge_notes(records_by_protocol[setup.name], results_dir).items()
}
claims = claim_table(variants, edges=edges)
verdict_md = verdict_markdown(claims, LABELS)
display(Markdown(verdict_md))

# %% [markdown]
# ## How many seeds: the power estimate on the pilot
# A protocol with a seed rule (`sound`) runs its pilot seeds first; every comparison is then judged on
# the pilot alone, and the protocol runs as many seeds as its inconclusive comparisons need for
# power 0.8 at the pilot's observed paired difference and SD, within its bounds
# (`synthlib.seed_count`, `synthlib.runner.pilot_estimate`). The estimate is recomputed here from the pilot's records.

# %%
for setup in setups:
    if setup.seed_rule is None:
        continue
    for dataset in sorted({r.dataset for r in records_by_protocol[setup.name]}):
        records = [r for r in records_by_protocol[setup.name] if r.dataset == dataset]
        estimate = pilot_estimate(setup.name, setup.seed_rule, records)
        chosen = setup.seed_rule.choose(estimate)
        ran = len({r.seed for r in records})
        display(
            Markdown(
                f"**{setup.label}, {dataset}**: pilot of {len(setup.seed_rule.pilot)} seeds; the estimate asks for "
                f"{chosen} (bounds {setup.seed_rule.minimum}-{setup.seed_rule.maximum}); {ran} seeds ran."
            )
        )
        display(estimate.round(3))

# %% [markdown]
# ## In short (this block is copied into `docs/statistics.md`)

# %%
summary = summary_lines(claims, not_run=[setup.label for setup in not_run])
display(Markdown(summary))
out = Path(output_dir or results_dir)
out.mkdir(parents=True, exist_ok=True)
write_text_atomic(out / "protocols.md", protocols_md + "\n")
write_text_atomic(out / "verdict.md", summary)
write_text_atomic(out / "verdict_claims.md", verdict_md)
write_text_atomic(out / "verdict_claims.csv", claims.to_csv(index=False, float_format="%.6g"))
