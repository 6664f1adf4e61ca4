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
# # 3 · Hyperparameters, chosen on validation data
#
# Karimi et al. (2017) give no optimiser, learning rate, number of epochs, batch size or input
# normalisation. This notebook chooses them for one dataset by a search on a **validation
# split carved from the training pool** — never on the test set (the authors' code scored its
# grid on the test set; see `STUDY_BRIEF.md`, section 2).
#
# * Settings are scored on three *tuning seeds* (1000, 1001, 1002): their few-shot subsets,
#   validation splits and kernels are drawn independently of the evaluation seeds, so the choice
#   never sees an evaluation run, and no single split's noise decides it.
# * The starting grid is scored whole; its best mean is the first choice. Then every numeric
#   axis whose chosen value sits at an end of the values searched gets one more value beyond that
#   end (learning rates on the 1-3-10 scale, weight decays and C by decades, epochs doubled), the
#   choice's missing neighbours are scored, and a neighbour replaces the choice only when it beats
#   it by more than one standard error of their paired difference over tuning seeds and samplers
#   (the one-standard-error rule: a gain within the noise of the validation splits moves
#   nothing). The search stops when no neighbour does: every axis is then interior, at a hard
#   limit (weight decay 0), or extended three times (an edge that remains: the tables and the
#   verdict say so).
# * One setting per regime: the three frozen samplers share one (highest mean validation accuracy
#   over the samplers), full training gets its own.
# * Training length is scored at checkpoint epochs inside one run.
#
# * Each fixed-feature baseline gets its regularisation C on the same validation splits.
#
# The chosen settings are written to `results/<protocol>/tuning/<dataset>.json`, which the
# experiment notebook reads; a finished tuning file for the same request is reused. Protocols that
# choose on validation tune here (`sound` standardises frozen features; for full training, which
# standardisation does not touch, it takes `paper`'s choice); a protocol that runs a whole grid
# (`authors_code`) has nothing to tune. `synthlib.protocols.Protocol.tune` does all of this.

# %% tags=["parameters"]
protocol = None  # None: the registry's first protocol (python -m synthlib protocols list)
dataset = "mnist"
methods = None  # None: the protocol's columns
baselines = None  # None: the protocol's baselines
results_dir = "../results"
data_root = None  # None: $SYNTHLIB_DATA if set, else the repository's data/ folder
cache_dir = None  # scattering features; None: $SYNTHLIB_CACHE or ~/.cache/synthlib
device = "auto"
# Grid overrides; None keeps the protocol's tuning grid (synthlib.tuning.TuningGrid).
input_norms = None
learning_rates = None
weight_decays = None
epochs = None
tuning_seeds = None
max_extensions = None  # rungs added beyond each end of an axis at most
per_class = None  # None: the protocol's (38 per class, as the paper)
val_per_class = None

# %%
from dataclasses import replace

import pandas as pd
from IPython.display import Markdown, display

from synthlib.data import load_dataset
from synthlib.protocols import default_protocol, get_protocol

setup = get_protocol(protocol) if protocol else default_protocol()
setup = setup.with_overrides(per_class=per_class, val_per_class=val_per_class)
overrides = {
    "input_norms": input_norms,
    "learning_rates": learning_rates,
    "weight_decays": weight_decays,
    "epochs": epochs,
    "seeds": tuning_seeds,
}
grid = replace(setup.tuning_grid, **{key: tuple(value) for key, value in overrides.items() if value is not None})
if max_extensions is not None:
    grid = replace(grid, max_extensions=int(max_extensions))
data = load_dataset(dataset, data_root)
print(f"protocol {setup.name}; {dataset}: {len(data.x_train)} training-pool images {data.image_shape}; grid: {grid}")

# %%
result = setup.tune(data, results_dir, grid, methods, baselines, device, cache_dir)

# %% [markdown]
# ## Validation accuracy (%) over the settings searched
# Mean over the tuning seeds and, for the frozen regime, over the three samplers; a blank cell
# was not needed by the search.

# %%
scores = result.scores.assign(val_accuracy=lambda df: 100 * df["val_accuracy"])
summary = scores.pivot_table(
    index=["regime", "input_norm", "learning_rate", "weight_decay"],
    columns="epochs",
    values="val_accuracy",
    aggfunc="mean",
)
summary.round(2)

# %% [markdown]
# ## Per sampler, at the chosen frozen setting

# %%
chosen = result.selected
frozen = chosen.get("frozen")
if frozen is not None:
    mask = (
        (scores["regime"] == "frozen")
        & (scores["input_norm"] == frozen.input_norm)
        & (scores["learning_rate"] == frozen.learning_rate)
        & (scores["weight_decay"] == frozen.weight_decay)
        & (scores["epochs"] == frozen.epochs)
    )
    display(scores[mask].groupby("method")["val_accuracy"].mean().round(2).to_frame("val accuracy (%)"))

# %% [markdown]
# ## Chosen settings, and each baseline's regularisation C

# %%
selected_table = pd.DataFrame({regime: config.to_dict() for regime, config in chosen.items()})
display(Markdown(selected_table.to_markdown()))
display(Markdown("\n".join(f"* {name}: C = {c:g}" for name, c in result.baseline_c.items()) or "No baselines."))

# %% [markdown]
# ## Where each choice lies in its searched range
# `interior`: both neighbouring values were scored and neither beats the choice by more than one
# standard error; `hard limit`: the
# range cannot go further (weight decay 0); `edge`: the search stopped at its extension limit,
# so the best value may lie beyond it.

# %%
display(pd.DataFrame(result.edges).T.fillna(""))
edges = result.edge_notes()
display(Markdown("\n".join(f"* {note}" for note in edges) or "No choice is at an edge of its searched range."))
