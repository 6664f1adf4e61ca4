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
# # 4 · The experiment: frozen sampled kernels versus full training
#
# For one dataset and each seed: draw a class-balanced few-shot subset (38 images per class, as in
# the paper) and a disjoint validation split from the training pool; then for each method train
# and test on the **full official test set**:
#
# | method | conv layer | trained |
# |---|---|---|
# | `normal` | 64 kernels drawn i.i.d. from N(0, 1), frozen | FC layers |
# | `lognormal` | magnitudes exp(N(−0.702, 0.9355)) as the paper prints it, all positive, frozen | FC layers |
# | `center_surround` | draws from N(0, Σ), Σ a difference-of-Gaussians LGN covariance (notebook 2), frozen | FC layers |
# | `fully_trained` | same CNN, initialised from the seed | everything |
#
# All methods of a seed share the same subset (paired comparison); each seed draws a fresh subset
# and fresh kernels. Optimisation settings come from notebook 3 (validation data only).
# Each finished run is written at once to `results/runs/<dataset>/<method>__seed<k>.json`; a rerun
# reuses finished records of the same configuration, so an interrupted study loses nothing.
#
# ## Deviations from the paper's text
# 1. **FC input of 1024.** One 5×5 conv and a stride-2 max-pool leave 16×16×64 = 16,384 features
#    on 32×32 images, not 1024. Here the map is max-pooled further to a 4×4 grid (4·4·64 = 1024),
#    `ArchitectureConfig.feature_grid` (None keeps the full map, as the authors' one-conv code did).
# 2. **Max-pool window** 2×2 (the text gives only the stride 2; the authors' code used 3×3).
# 3. **MNIST** is used at 28×28, one channel (the authors' code padded it to 32×32 and replicated
#    it to 3 channels).
# 4. **Unstated choices made on validation data**: optimiser (Adam), learning rate, weight decay,
#    epochs, batch size 64, input normalisation (notebook 3). The authors scored their grid on the test set.
# 5. **Log-normal**: the text's "σ² = 0.9355" is used as printed (σ = 0.967); Song et al. (2005)
#    have σ = 0.9355. Both are presets of the `lognormal` sampler, as is the authors' code's reading.
# 6. **Centre-surround Σ** is written down explicitly (notebook 2): biological defaults
#    (surround/centre radius 4.4, surround gain 0.55, ON and OFF centres); the text gives no formula.
# 7. **Weight scale**: the text's scales are used (N(0, 1); log-normal in mV; centre-surround peak 1),
#    not the authors' code's 0.01 / 0.001 / 0.01 factors.
# 8. **Runs**: each seed draws fresh kernels and a fresh subset (the authors' code repeated the same
#    kernels and images in all three runs). Conv biases are absent in both regimes.

# %% tags=["parameters"]
dataset = "mnist"
methods = ["normal", "lognormal", "center_surround", "fully_trained"]
seeds = [0, 1, 2]
per_class = 38
val_per_class = 38
results_dir = "../results"
data_root = None  # None: $SYNTHLIB_DATA if set, else the repository's data/ folder
device = "auto"

# %%
import os
from pathlib import Path

from IPython.display import display

from synthlib.data import DATA_ENV_VAR, load_dataset
from synthlib.device import describe_device, resolve_device
from synthlib.experiment import get_methods, run_study
from synthlib.tables import records_frame
from synthlib.tuning import load_tuning

results = Path(results_dir)
data = load_dataset(dataset, data_root or os.environ.get(DATA_ENV_VAR) or "../data")
tuning = load_tuning(results / "tuning" / f"{dataset}.json")
print(f"{dataset}: {len(data.x_test)} test images; device {describe_device(resolve_device(device))}")
for regime, config in tuning.selected.items():
    print(f"{regime}: {config}")

# %%
records, failures = run_study(
    data,
    get_methods(methods),
    seeds,
    tuning.selected,
    results / "runs",
    per_class=per_class,
    val_per_class=val_per_class,
    device=device,
)

# %% [markdown]
# ## Runs (accuracy in %)

# %%
runs = records_frame(records).drop(columns="wall_time_s")
display(runs.pivot_table(index="seed", columns="method", values="test_accuracy")[methods].round(2))

# %%
if failures:
    raise RuntimeError(f"{len(failures)} run(s) failed:\n" + "\n".join(failures))
