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
# # 8 · Does my kernel prior help? A sampler of your own against the whole study
#
# Name a function with the sampler signature (`synthlib/samplers/registry.py`):
#
# ```python
# def my_sampler(out_channels, in_channels, size, generator, **params) -> torch.Tensor  # float32, CPU
# ```
#
# as `sampler` below (`path/to/file.py:function`, `package.module:function`, or the name of a
# registered sampler, e.g. one an installed package adds through the `synthlib.samplers` entry points).
# This notebook then does what `python -m synthlib evaluate SPEC` does (`synthlib.evaluate`), and shows it:
#
# 1. checks the function on a small draw: type, shape, dtype, finiteness, and that it draws only from
#    the generator it is given;
# 2. shows its kernels and the density of its weights;
# 3. runs it as a frozen one-conv column of the learning curves (notebook 7): `sound`'s rules and tuned
#    frozen setting, the same seeds, training subsets and validation splits as the committed records,
#    at every requested size. Its records are keyed by the sampler's source and parameters, so a rerun
#    reuses them and an edited sampler runs again;
# 4. compares it seed by seed with the committed records of the normal layer, full training and the
#    scattering transform (read from `results/learning_curves/`, never written), judged by the learning
#    curves' own rules (paired t-test, equivalence within ±10% of the reference's error rate, Shaffer–Holm
#    within each family), and writes
#    `report.md`, the figure and the records to `results/evaluate/<name>/`.

# %% tags=["parameters"]
sampler = "../examples/laplace_sampler.py:laplace"  # file.py:function, package.module:function or a registered name
params = {}  # keyword arguments of the sampler, e.g. {"scale": 0.5}
name = None  # the column's name (None: the function's)
datasets = ["mnist", "cifar10"]
sizes = None  # training images per class (None: 1, 2, 5, 10, 20, 38, 100)
seeds = None  # None: the learning curves' seeds, 0-4
references_dir = "../results"  # the committed results: sound's tuning and the learning curves' records (read only)
results_dir = None  # None: <references_dir>/evaluate/<name>
against = []  # further learning-curve columns to compare with (python -m synthlib curves show)
run_references = False  # True: run the reference columns here too (data without committed curves, e.g. CI's)
data_root = None  # None: $SYNTHLIB_DATA if set, else the repository's data/ folder
cache_dir = None  # scattering features of run_references; None: $SYNTHLIB_CACHE or ~/.cache/synthlib
device = "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from scipy import stats

from synthlib.evaluate import DEFAULT_SIZES, candidate, evaluate, registered, resolved_params, validate_sampler
from synthlib.plots import plot_kernel_grid
from synthlib.samplers import sample_kernels
from synthlib.seeding import make_generator

chosen = candidate(sampler, params, name)
with registered(chosen):
    every_param = resolved_params(chosen)
    validate_sampler(chosen.fn, every_param)
print(f"{chosen.name}: {chosen.source['function']}, source SHA-256 {chosen.source['sha256'][:16]}")
print(f"parameters: {every_param}")
print("valid: float32 kernels of the right shape, finite, drawn only from the generator it is given")

# %% [markdown]
# ## Its kernels
# The first layer as the runs of seed 0 draw it (64 kernels 5×5), for one input channel (MNIST) and
# for three (CIFAR-10, shown as RGB).

# %%
with registered(chosen):
    layers = {
        channels: sample_kernels(
            chosen.sampler, 64, channels, 5, make_generator(0, dataset, "kernels", chosen.name), **chosen.params
        )
        for channels, dataset in ((1, "mnist"), (3, "cifar10"))
    }
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6), constrained_layout=True)
for ax, (channels, kernels) in zip(axes, layers.items()):
    plot_kernel_grid(kernels, f"{chosen.name}, {channels} input channel{'s' * (channels > 1)}", ax=ax)

# %% [markdown]
# ## The density of its weights
# Every weight of 500 layers of 64 kernels 5×5 (one input channel), beside the normal density of the
# same mean and standard deviation; the right panel's log scale shows the tails.

# %%
with registered(chosen):
    weights = np.concatenate(
        [
            sample_kernels(chosen.sampler, 64, 1, 5, make_generator(k, "density", chosen.name), **chosen.params)
            .double()
            .numpy()
            .ravel()
            for k in range(500)
        ]
    )
mean, sd = weights.mean(), weights.std(ddof=1)
low, high = np.quantile(weights, [0.001, 0.999])
grid = np.linspace(low, high, 400)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
for ax, scale in zip(axes, ("linear", "log")):
    ax.hist(weights, bins=np.linspace(low, high, 120), density=True, alpha=0.5, label=f"{len(weights)} weights")
    ax.plot(grid, stats.norm(mean, sd).pdf(grid), color="black", lw=1.2, label="normal, same mean and sd")
    ax.set_yscale(scale)
    ax.set_xlabel("weight")
    ax.set_ylabel("density")
axes[0].legend(fontsize=8)
axes[0].set_title(f"{chosen.name}: mean {mean:.3g}, sd {sd:.3g}, excess kurtosis {stats.kurtosis(weights):.2f}")

# %% [markdown]
# ## Run, pair with the committed records, judge
# Finished records are reused; only what is missing runs.

# %%
result = evaluate(
    sampler,
    params,
    name,
    datasets,
    sizes or DEFAULT_SIZES,
    seeds,
    results_dir,
    references_dir,
    against,
    data_root,
    device,
    run_references,
    cache_dir,
    log=lambda _: None,
)
print(f"{result.outcome.ran} run(s), {result.outcome.reused} reused; {len(result.records)} records compared")
print(f"written: {', '.join(sorted(p.name for p in result.folder.iterdir()))}")

# %% [markdown]
# ## The learning curve beside the references
# Test accuracy (%) against training images per class; bands: 95% intervals over seeds. Solid: frozen
# columns, dashed: full training, dotted: the scattering baseline.

# %%
display(result.figure)
plt.close(result.figure)

# %% [markdown]
# ## The report (`report.md`)

# %%
display(Markdown(result.report))
