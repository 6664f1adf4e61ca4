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
# # 7 · Learning curves: at which training sizes does a frozen biological layer help?
#
# The paper tests one training size (38 images per class). This notebook asks the question along
# the whole learning curve, from 1 image per class to the full training set, on MNIST and CIFAR-10:
#
# * **at which data sizes does a frozen biological first layer help**, against normally
#   distributed kernels and against the same CNN trained end to end, and from which size on does
#   training win;
# * **samplers closer to biology**: Gabor receptive fields drawn from V1 simple-cell statistics,
#   colour-opponent LGN centre-surround kernels, a Dale's-law lognormal layer, beside a designed
#   Morlet filter bank (deterministic reference) and a scattering transform;
# * **sampled kernels as initialisation**: the conv layer initialised from each sampler, then the
#   whole network trained;
# * **deeper synthesized networks**: two and three sampled layers, frozen or trained.
#
# The study's sound rules hold throughout: fresh draws of training subset, kernels and initial
# weights for every seed; every choice (settings, the best column) made on validation, never on
# test; comparisons paired by seed (all columns of one seed and size share the training subset
# and validation split), judged by the paired t-test and by equivalence within ±10% of the reference's
# error rate (TOST), adjusted by Shaffer's modification of Holm's procedure within each family: the
# comparisons with one reference on one dataset, at every size (`synthlib.curves.size_comparisons`). Two columns are compared only at sizes where both ran, and only
# when their training lengths were decided by the same rule, as each record's configuration says
# (`synthlib.curves.length_rule`: both stopped on their own validation split or a solver's convergence,
# or both were given the same number of optimiser steps). Published small-data results are drawn as
# anchors, with how their protocols differ. Every number and sentence below is generated from the run
# records in `results/learning_curves/runs/`; nothing is typed in.

# %% tags=["parameters"]
results_dir = "../results"  # records are read from <results_dir>/learning_curves/runs
output_dir = None  # tables go to <output_dir>/learning_curves; None: <results_dir>
figures_dir = "../figures"

# %%
from pathlib import Path

from IPython.display import Markdown, display

from synthlib.atomic import write_text_atomic
from synthlib.curves import (
    best_by_size,
    best_lines,
    curve_sentences,
    curve_table,
    curve_table_markdown,
    headline,
    size_comparisons,
    stopping_lines,
    with_length_rules,
)
from synthlib.learning_curves import LEARNING_CURVES
from synthlib.paper import LITERATURE_ANCHORS
from synthlib.plots import plot_learning_curves
from synthlib.records import load_records

records = [r for r in load_records(LEARNING_CURVES.runs_dir(results_dir)) if r.protocol == LEARNING_CURVES.name]
if not records:
    raise FileNotFoundError(
        f"no learning-curve records under {LEARNING_CURVES.runs_dir(results_dir)}: run the study first"
    )
MAX_SEEDS = 30  # an inconclusive comparison reports the seeds that would resolve it, up to this many
LABELS = LEARNING_CURVES.column_labels()
KINDS = LEARNING_CURVES.kinds()
FULL = LEARNING_CURVES.full_sizes(records)  # per dataset, the full training set's images per class
COLUMNS = list(LABELS)
runs_md = LEARNING_CURVES.runs_markdown(records)
display(Markdown(runs_md))

# %% [markdown]
# ## Test accuracy by training size (%, mean [95% CI] over n seeds)
# A cell reads "not run" where the column has no records at that size; every cell gives its number of
# seeds.

# %%
table = curve_table(records, order=COLUMNS, full=FULL)
table_md = curve_table_markdown(table, LABELS, COLUMNS)
display(Markdown(table_md))

# %% [markdown]
# ## How long each run trained
# Under early stopping a run stops when its validation accuracy has not improved for its patience and keeps
# its best epoch; a run that reached the maximum number of epochs was not stopped by the rule, and its cell
# says so ("j at max"). Below: how many did, per dataset and cell, and the median epoch kept and epochs run.

# %%
stopping_md = stopping_lines(table, LABELS)
display(Markdown(stopping_md))

# %% [markdown]
# ## Learning curves
# Top row: the frozen one-conv samplers; bottom row: sampled initialisation and the deeper networks;
# the normal layer, full training and scattering in both for reference. Solid: frozen sampled layers,
# only the classifier trained; dashed: the whole network trained; dotted: baselines. Bands: 95% intervals over seeds. Black markers: published CIFAR-10 results
# (`synthlib.paper.LITERATURE_ANCHORS`), under protocols that differ from this study's as labelled.

# %%
REFERENCES = ["normal", "fully_trained", "scattering"]
PANELS = {
    "frozen samplers": [c for c in COLUMNS if KINDS[c] == "frozen" and not c.startswith("deep")] + REFERENCES[1:],
    "sampled initialisation, depth": [
        c
        for c in COLUMNS
        if c not in REFERENCES and KINDS[c] != "baseline" and (KINDS[c] == "trained" or c.startswith("deep"))
    ]
    + REFERENCES,
}
figure = plot_learning_curves(table, LABELS, LITERATURE_ANCHORS, COLUMNS, KINDS, PANELS)
Path(figures_dir).mkdir(parents=True, exist_ok=True)
figure.savefig(Path(figures_dir) / "learning_curves.png", dpi=120)

# %% [markdown]
# ## Each column against the normal layer, full training and scattering, size by size

# %%
comparisons = with_length_rules(size_comparisons(records, COLUMNS, full=FULL, max_seeds=MAX_SEEDS), table)
best = best_by_size(records, COLUMNS, full=FULL)
sentences_md = curve_sentences(comparisons, best, LABELS)
display(Markdown(sentences_md))

# %% [markdown]
# ## The best column at each size (chosen on validation; its test accuracy %)
# Columns whose training lengths were decided by different rules are ranked apart; margin: the lead on
# validation over the runner-up, in points, with a 95% paired bootstrap interval over seeds.

# %%
display(best.assign(column=[LABELS.get(c, c) for c in best["column"]]).round(2))

# %% [markdown]
# ## In short

# %%
headline_md = headline(comparisons, LABELS, biological=LEARNING_CURVES.biological(), max_seeds=MAX_SEEDS)
best_md = best_lines(best, LABELS)
display(Markdown(headline_md + "\n\n" + best_md))

# %% [markdown]
# ## Deviations from the paper and what was not run

# %%
deviations_md = (
    LEARNING_CURVES.deviations()
    + "\n\nHow long each run trained, as its record's configuration says:\n\n"
    + LEARNING_CURVES.length_lines(records)
    + "\n\nThe runs:\n\n"
    + runs_md
)
display(Markdown(deviations_md))

# %%
out = LEARNING_CURVES.folder(output_dir or results_dir)
out.mkdir(parents=True, exist_ok=True)
write_text_atomic(out / "curves.csv", table.to_csv(index=False, float_format="%.6g"))
write_text_atomic(out / "comparisons.csv", comparisons.to_csv(index=False, float_format="%.6g"))
write_text_atomic(out / "headline.md", headline_md.strip() + "\n\n" + best_md.strip() + "\n")
write_text_atomic(
    out / "summary.md",
    "\n\n".join(
        [
            "# Learning curves: at which training sizes does a frozen biological layer help?",
            headline_md.strip(),
            sentences_md.strip(),
            "## Test accuracy by training size",
            table_md.strip(),
            "## How long each run trained",
            stopping_md.strip(),
            "## Deviations from the paper and what was not run",
            deviations_md.strip(),
        ]
    )
    + "\n",
)
