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
# normalisation. This notebook chooses them for one dataset by grid search on a **validation
# split carved from the training pool** — never on the test set (the authors' code scored its
# grid on the test set; see `STUDY_BRIEF.md`, section 2).
#
# * The grid is scored on *tuning seeds* (1000 by default): their few-shot subsets, validation
#   splits and kernels are drawn independently of the evaluation seeds (0, 1, 2), so the choice
#   never sees an evaluation run.
# * One setting per regime: the three frozen samplers share one (highest mean validation accuracy
#   over the samplers), full training gets its own.
# * Training length is scored at checkpoint epochs inside one run.
#
# The chosen settings are written to `results/<protocol>/tuning/<dataset>.json`, which the
# experiment notebook reads. A finished tuning file for the same request is reused. Protocols
# `paper` and `sound` tune here (`sound` with its frozen features standardised; for full
# training, which standardisation does not touch, it takes `paper`'s choice); `authors_code`
# runs its whole 24-setting grid in the experiment notebook instead, so there is nothing to tune.

# %% tags=["parameters"]
protocol = "paper"  # paper | sound (authors_code has nothing to tune)
dataset = "mnist"
methods = None  # None: the protocol's columns
per_class = 38
val_per_class = 38
results_dir = "../results"
data_root = None  # None: $SYNTHLIB_DATA if set, else the repository's data/ folder
device = "auto"
# Grid overrides; None keeps synthlib.tuning.TuningGrid's default.
input_norms = None
learning_rates = None
weight_decays = None
epochs = None
tuning_seeds = None

# %%
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from synthlib.data import DATA_ENV_VAR, load_dataset
from synthlib.experiment import get_methods
from synthlib.protocols import get_protocol
from synthlib.records import write_text_atomic
from synthlib.tuning import grid_edges, load_tuning, tune

setup = get_protocol(protocol)
if setup.selection != "tuned":
    raise ValueError(f"protocol {protocol!r} runs a grid in notebooks/04_experiment.py; it has nothing to tune")

overrides = {
    "input_norms": input_norms,
    "learning_rates": learning_rates,
    "weight_decays": weight_decays,
    "epochs": epochs,
    "seeds": tuning_seeds,
}
grid = replace(setup.tuning_grid, **{key: tuple(value) for key, value in overrides.items() if value is not None})
data = load_dataset(dataset, data_root or os.environ.get(DATA_ENV_VAR) or "../data")
print(f"{dataset}: {len(data.x_train)} training-pool images {data.image_shape}; grid: {grid}")

# %%
columns = get_methods(methods, setup.methods) if methods else list(setup.methods)
shared = setup.trained_setting_from
if shared:  # full training's choice is the other protocol's (this protocol's options do not touch it)
    shared_trained = load_tuning(Path(results_dir) / shared / "tuning" / f"{dataset}.json").selected["trained"]
    columns = [m for m in columns if m.regime != "trained"]
    print(f"trained regime: the setting chosen under protocol {shared!r}: {shared_trained}")
result = tune(
    data,
    columns,
    grid,
    Path(results_dir) / protocol / "tuning" / f"{dataset}.json",
    per_class=per_class,
    val_per_class=val_per_class,
    arch=setup.arch,
    device=device,
    options=setup.options,
)
if shared:
    result = replace(result, selected={**result.selected, "trained": shared_trained})
    write_text_atomic(Path(results_dir) / protocol / "tuning" / f"{dataset}.json", result.to_json())

# %% [markdown]
# ## Validation accuracy (%) over the grid
# Mean over the tuning seeds and, for the frozen regime, over the three samplers.

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
# ## Chosen settings

# %%
selected_table = pd.DataFrame({regime: config.to_dict() for regime, config in chosen.items()})
display(Markdown(selected_table.to_markdown()))

# %% [markdown]
# ## Choices at the edge of the grid
# A chosen value at the end of a grid axis means the best setting may lie beyond the grid.

# %%
edges = grid_edges(grid, chosen)
display(Markdown("\n".join(f"* {note}" for note in edges) or "None: every chosen value lies inside its grid axis."))
