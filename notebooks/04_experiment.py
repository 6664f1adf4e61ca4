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
# # 4 · The experiment: frozen sampled kernels versus full training, under one protocol
#
# For one dataset and each seed: draw a class-balanced few-shot subset (38 images per class, as in
# the paper) and a disjoint validation split from the training pool; then for each column train
# and test on the **full official test set**:
#
# | column | conv layer | trained |
# |---|---|---|
# | `normal` | 64 kernels drawn i.i.d. from a normal distribution, frozen | FC layers |
# | `lognormal` | log-normal magnitudes (Song et al. 2005), signs by the preset, frozen | FC layers |
# | `center_surround` | draws from N(0, Σ), Σ a centre-surround LGN covariance (notebook 2), frozen | FC layers |
# | `fully_trained` | same CNN, initialised from the seed | everything |
# | `logreg_pixels` | none: logistic regression on the raw pixels | linear classifier |
# | `scattering` | a fixed scattering transform (kymatio, J = 2, L = 8) | linear classifier |
#
# All columns of a seed share the same subset (paired comparison). Each finished run is written
# at once to `results/<protocol>/runs/<dataset>/<column>[__<setting>]__seed<k>.json`; a rerun
# reuses finished records of the same configuration, so an interrupted study loses nothing.
# With `launcher` `"local"` or `"slurm"` the same runs go to a submitit job array, local processes or a
# Slurm cluster (`synthlib.launch`; `docs/beyond_one_machine.md`); the records are the same files.
#
# ## The three protocols (`synthlib.protocols`)
# * **`paper`**: the text, gaps filled; settings chosen on validation (notebook 3); 3 seeds with
#   fresh kernels and subsets.
# * **`authors_code`**: what the authors' MatConvNet code did (STUDY_BRIEF section 2): one-conv
#   network with a 3×3 stride-2 pool (pad [0 1 0 1]) and 16×16×64 = 16,384 FC inputs, FC weights
#   0.05·N(0, 1) with biases zero and frozen, the code's sampler scales (0.01 normal; log-normal
#   moment-matched, random signs, ×0.001; zero-sum centre-surround from an empirical covariance,
#   ×0.01), MNIST padded to 32×32 and replicated to 3 channels, CIFAR-10 contrast-normalised and
#   whitened (0–255 scale, statistics of the whole training set), random flips of the images at
#   extraction and per minibatch (a frozen head's flipped minibatch takes the features of the
#   flipped images), SGD (momentum 0.9, 100 epochs, learning rate ×1, ×0.3, ×0.1 from epochs 1, 26,
#   51) over the grid of 24 settings, and the same subset, kernels and initial weights in all
#   three runs. The fully trained column, whose training in the code is not known, runs the
#   grid's 4 learning rates at batch 50 and weight decay 1e-3, and five more steps down (0.001
#   to 0.00001), so that its best rate lies inside the range run: at the grid's own rates the
#   whole network diverges (chance accuracy). **Every setting is run; the results notebook shows
#   both the setting chosen on the test set (test-set selection, what the authors did) and the
#   one chosen on a validation split.**
# * **`sound`**: the paper's samplers and network, fresh kernels and subsets per seed: 10 pilot
#   seeds, then as many as the pilot's power estimate asks, at most 30 (`synthlib.seed_count`);
#   every choice made on validation (notebook 3), frozen features standardised before the head (so the
#   samplers' weight scale is not a confound), paired comparisons of every pair of columns.

# %% tags=["parameters"]
protocol = None  # None: the registry's first protocol (python -m synthlib protocols list)
dataset = "mnist"
methods = None  # None: the protocol's CNN columns
baselines = None  # None: the protocol's baselines ([] for none)
seeds = None  # None: the protocol's seeds (with its seed rule, if any: a pilot, then as many as it asks)
settings_limit = None  # a grid protocol: run only its first N settings (None: all)
per_class = None  # None: the protocol's (38 per class, as the paper)
val_per_class = None
results_dir = "../results"
cache_dir = None  # scattering features; None: $SYNTHLIB_CACHE or ~/.cache/synthlib
data_root = None  # None: $SYNTHLIB_DATA if set, else the repository's data/ folder
device = "auto"
launcher = "inprocess"  # inprocess | local | slurm (synthlib.launch)
slurm_partition = None  # launcher slurm: None is the cluster's default partition
gpus_per_task = None  # launcher local / slurm: GPUs of each array task (None: 1 with device cuda, else 0)
cpus_per_task = None  # launcher slurm: None is the cluster's default
time_limit_min = 120  # launcher local / slurm: time limit of each array task, then it is requeued
array_parallelism = 32  # launcher local / slurm: array tasks running at once

# %%
from IPython.display import Markdown, display

from synthlib.data import load_dataset
from synthlib.deviations import deviations_markdown
from synthlib.device import describe_device, resolve_device
from synthlib.launch import LaunchSettings
from synthlib.protocols import default_protocol, get_protocol
from synthlib.runner import run_study
from synthlib.tables import records_frame

setup = get_protocol(protocol) if protocol else default_protocol()
setup = setup.with_overrides(seeds, per_class, val_per_class)
data = load_dataset(dataset, data_root)
print(f"protocol {setup.name}: {setup.title}")
print(
    f"{dataset}: {len(data.x_test)} test images; seeds {list(setup.seeds)}; device {describe_device(resolve_device(device))}"
)
if setup.seed_rule is not None:
    print(
        f"seeds {list(setup.seeds)} are a pilot: then as many as its power estimate asks, at most "
        f"{setup.seed_rule.maximum} (synthlib.seed_count)"
    )

# %% [markdown]
# ## Deviations from the paper's text (protocol `paper`; the others deviate on purpose, above)
# One list, in `synthlib/deviations.py`; `docs/protocols.md` holds a copy generated from it.

# %%
display(Markdown(deviations_markdown()))

# %%
launch = LaunchSettings(
    launcher,
    partition=slurm_partition,
    gpus_per_task=gpus_per_task,
    cpus_per_task=cpus_per_task,
    time_limit_min=time_limit_min,
    array_parallelism=array_parallelism,
)
outcome = run_study(
    setup,
    data,
    results_dir,
    launch,
    seeds,
    data_root,
    device,
    cache_dir,
    methods=methods,
    baselines=baselines,
    settings_limit=settings_limit,
)
print(f"{outcome.ran} run(s) done, {outcome.reused} reused, {len(outcome.failures)} failed")

# %% [markdown]
# ## Runs (test accuracy in %; for a grid, the mean over its settings is not a result, only a check)

# %%
runs = records_frame(outcome.records).drop(columns="wall_time_s")
order = [name for name in setup.column_order() if name in set(runs["method"])]
display(runs.pivot_table(index="seed", columns="method", values="test_accuracy")[order].round(2))

# %%
outcome.raise_failures()
