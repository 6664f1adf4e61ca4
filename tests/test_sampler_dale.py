"""Dale's law as an option of every sampler: exact inhibitory counts, single-signed channels, kept
magnitudes, a uniform choice of channels (chi-squared), and unchanged draws when the option is off.

Every random draw uses a fixed seed, so the statistical tests are deterministic; p > 0.001 accepts
and p < 0.001 rejects, as in ``test_samplers.py``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats

from synthlib.samplers import get_sampler, resolve_params, sample_kernels, sampler_names
from synthlib.samplers.dale import (
    CORTICAL_INHIBITORY_FRACTION,
    apply_dale,
    check_inhibitory_fraction,
    inhibitory_channels,
    inhibitory_count,
)

ACCEPT_P = 1e-3
ALL_PRESETS = [(name, preset) for name in sampler_names() for preset in (None, *sorted(get_sampler(name).presets))]
N_SEEDS = 3000  # layers drawn for the uniformity tests


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def previous_sample_kernels(name, out_channels, in_channels, size, generator, preset=None, **params):
    """``sample_kernels`` as it was before the Dale option: the sampler's output, as float32."""
    kwargs = resolve_params(name, preset, with_defaults=True, **params)
    return get_sampler(name).fn(out_channels, in_channels, size, generator, **kwargs).to(torch.float32)


def single_signed(weights: torch.Tensor) -> torch.Tensor:
    """Per output channel: True where all its weights are >= 0 or all are <= 0."""
    flat = weights.reshape(weights.shape[0], -1)
    return (flat >= 0).all(dim=1) | (flat <= 0).all(dim=1)


def inhibitory_frequency(chooser, out_channels: int, fraction: float, n_seeds: int = N_SEEDS) -> np.ndarray:
    """How often each channel index is inhibitory over ``n_seeds`` layers, one generator seed each."""
    counts = np.zeros(out_channels)
    for seed in range(n_seeds):
        counts += chooser(out_channels, fraction, gen(seed)).numpy()
    return counts


def marginal_uniformity_pvalue(counts: np.ndarray, n_seeds: int, chosen: int) -> float:
    """Chi-squared p-value that every channel is inhibitory equally often, ``chosen`` per layer.

    Each layer picks ``chosen`` of the n channels, so the counts are not multinomial: with
    p = chosen / n their covariance is N p (1 - p) n / (n - 1) (I - J / n), and Pearson's statistic
    divided by (1 - p) n / (n - 1) is chi-squared with n - 1 degrees of freedom (with one channel
    per layer the factor is 1, the multinomial case).
    """
    n = len(counts)
    p = chosen / n
    pearson = stats.chisquare(counts).statistic
    return float(stats.chi2.sf(pearson / ((1 - p) * n / (n - 1)), n - 1))


def biased_chooser(out_channels: int, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """The right count, but low channel indices up to 50% more likely to be inhibitory than high ones."""
    weights = torch.linspace(1.5, 1.0, out_channels, dtype=torch.float64)
    picked = torch.multinomial(weights, inhibitory_count(out_channels, fraction), generator=generator)
    mask = torch.zeros(out_channels, dtype=torch.bool)
    mask[picked] = True
    return mask


# ---------------------------------------------------------------------------------------------
# apply_dale and its mask
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("out_channels", [1, 2, 5, 10, 64, 97])
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.2, 0.25, 0.5, 0.8, 1.0])
def test_exact_inhibitory_count(out_channels, fraction):
    weights = torch.randn(out_channels, 3, 5, 5, generator=gen(1))
    mask = inhibitory_channels(out_channels, fraction, gen(2))
    assert mask.shape == (out_channels,) and mask.dtype == torch.bool
    assert int(mask.sum()) == round(fraction * out_channels) == inhibitory_count(out_channels, fraction)
    dale = apply_dale(weights, fraction, gen(2))
    assert int((dale.reshape(out_channels, -1) < 0).all(dim=1).sum()) == round(fraction * out_channels)


def test_count_rounds_half_to_even():
    assert [inhibitory_count(n, 0.5) for n in (1, 3, 5, 7)] == [0, 2, 2, 4]
    assert inhibitory_count(64, CORTICAL_INHIBITORY_FRACTION) == 13


@pytest.mark.parametrize("shape", [(7, 3, 5, 5), (16, 1, 3, 3), (4, 2, 7, 7), (5,)])
@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 1.0])
def test_channels_single_signed_magnitudes_kept(shape, fraction):
    weights = torch.randn(shape, generator=gen(3))
    dale = apply_dale(weights, fraction, gen(4))
    assert dale.shape == weights.shape and dale.dtype == weights.dtype
    assert single_signed(dale).all()
    assert torch.equal(dale.abs(), weights.abs())
    mask = inhibitory_channels(shape[0], fraction, gen(4))  # the same draw
    expected = torch.where(mask.reshape(-1, *[1] * (len(shape) - 1)), -weights.abs(), weights.abs())
    assert torch.equal(dale, expected)


def test_input_is_not_modified():
    weights = torch.randn(8, 3, 5, 5, generator=gen(0))
    before = weights.clone()
    apply_dale(weights, 0.5, gen(1))
    assert torch.equal(weights, before)


def test_fraction_zero_all_non_negative_one_all_non_positive():
    weights = torch.randn(20, 3, 5, 5, generator=gen(0))
    assert (apply_dale(weights, 0.0, gen(1)) >= 0).all()
    assert (apply_dale(weights, 1.0, gen(1)) <= 0).all()
    assert (apply_dale(weights, 0, gen(1)) >= 0).all() and (apply_dale(weights, 1, gen(1)) <= 0).all()


def test_zero_weight_stays_zero():
    weights = torch.zeros(4, 1, 3, 3)
    assert torch.equal(apply_dale(weights, 0.5, gen(0)).abs(), weights)


def test_same_generator_same_channels_different_seed_different():
    weights = torch.randn(32, 3, 5, 5, generator=gen(0))
    first = apply_dale(weights, 0.25, gen(7))
    assert torch.equal(first, apply_dale(weights, 0.25, gen(7)))
    assert not torch.equal(first, apply_dale(weights, 0.25, gen(8)))


def test_one_permutation_drawn_whatever_the_fraction():
    """The generator moves on by the same one draw for every fraction, 0 and 1 included."""
    states = set()
    for fraction in (0.0, 0.3, 1.0):
        generator = gen(5)
        inhibitory_channels(10, fraction, generator)
        states.add(bytes(generator.get_state().numpy()))
    reference = gen(5)
    torch.randperm(10, generator=reference)
    assert states == {bytes(reference.get_state().numpy())}


# ---------------------------------------------------------------------------------------------
# Uniform choice of the inhibitory channels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("out_channels", "fraction"), [(10, 0.2), (10, 0.1), (16, 0.5), (7, 0.3)])
def test_each_channel_inhibitory_equally_often(out_channels, fraction):
    counts = inhibitory_frequency(inhibitory_channels, out_channels, fraction)
    chosen = inhibitory_count(out_channels, fraction)
    assert counts.sum() == N_SEEDS * chosen
    assert marginal_uniformity_pvalue(counts, N_SEEDS, chosen) > ACCEPT_P


def test_uniformity_test_rejects_a_biased_chooser():
    counts = inhibitory_frequency(biased_chooser, 10, 0.2)
    assert counts.sum() == N_SEEDS * 2  # the count is right; only the choice is biased
    assert marginal_uniformity_pvalue(counts, N_SEEDS, 2) < ACCEPT_P


def test_every_subset_equally_likely():
    """Not only each channel: each of the C(5, 2) = 10 possible pairs is chosen equally often."""
    pairs = list(itertools.combinations(range(5), 2))
    counts = np.zeros(len(pairs))
    for seed in range(N_SEEDS):
        chosen = tuple(torch.nonzero(inhibitory_channels(5, 0.4, gen(seed))).flatten().tolist())
        counts[pairs.index(chosen)] += 1
    assert stats.chisquare(counts).pvalue > ACCEPT_P


def test_subset_test_rejects_a_biased_chooser():
    pairs = list(itertools.combinations(range(5), 2))
    counts = np.zeros(len(pairs))
    for seed in range(N_SEEDS):
        chosen = tuple(torch.nonzero(biased_chooser(5, 0.4, gen(seed))).flatten().tolist())
        counts[pairs.index(chosen)] += 1
    assert stats.chisquare(counts).pvalue < ACCEPT_P


# ---------------------------------------------------------------------------------------------
# Invalid fractions
# ---------------------------------------------------------------------------------------------

BAD_FRACTIONS = [-0.1, 1.5, math.nan, math.inf, True, "0.2", None]


@pytest.mark.parametrize("bad", BAD_FRACTIONS)
def test_bad_fraction_names_the_valid_range(bad):
    message = rf"inhibitory_fraction must be a number in \[0, 1\].*got {bad!r}"
    with pytest.raises(ValueError, match=message):
        check_inhibitory_fraction(bad)
    with pytest.raises(ValueError, match=message):
        apply_dale(torch.ones(4, 1, 3, 3), bad, gen())


@pytest.mark.parametrize("bad", [b for b in BAD_FRACTIONS if b is not None])
def test_sample_kernels_rejects_bad_fraction_before_drawing(bad):
    generator = gen(0)
    state = generator.get_state()
    with pytest.raises(ValueError, match=r"inhibitory_fraction must be a number in \[0, 1\]"):
        sample_kernels("normal", 4, 1, 3, generator, dale_inhibitory_fraction=bad)
    assert torch.equal(generator.get_state(), state)


def test_bad_weights_and_channels():
    with pytest.raises(ValueError, match="at least one dimension"):
        apply_dale(torch.tensor(1.0), 0.2, gen())
    with pytest.raises(ValueError, match="out_channels must be a positive integer, got 0"):
        inhibitory_channels(0, 0.2, gen())


# ---------------------------------------------------------------------------------------------
# The option of sample_kernels, with every sampler and preset
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
@pytest.mark.parametrize("sizes", [(16, 3, 5), (5, 1, 3), (10, 3, 7)])
def test_without_the_option_draws_are_unchanged(name, preset, sizes):
    """None, or no argument, gives bit for bit what the sampler alone draws, and leaves the
    generator where the sampler alone leaves it."""
    reference_generator, none_generator, omitted_generator = gen(11), gen(11), gen(11)
    reference = previous_sample_kernels(name, *sizes, reference_generator, preset=preset)
    with_none = sample_kernels(name, *sizes, none_generator, preset=preset, dale_inhibitory_fraction=None)
    omitted = sample_kernels(name, *sizes, omitted_generator, preset=preset)
    assert torch.equal(with_none, reference) and torch.equal(omitted, reference)
    assert torch.equal(none_generator.get_state(), reference_generator.get_state())
    assert torch.equal(omitted_generator.get_state(), reference_generator.get_state())


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 1.0])
def test_option_works_with_every_sampler(name, preset, fraction):
    sizes = (20, 3, 5)
    plain = sample_kernels(name, *sizes, gen(4), preset=preset)
    generator = gen(4)
    dale = sample_kernels(name, *sizes, generator, preset=preset, dale_inhibitory_fraction=fraction)
    assert dale.shape == (20, 3, 5, 5) and dale.dtype == torch.float32 and dale.device.type == "cpu"
    assert single_signed(dale).all()
    assert torch.equal(dale.abs(), plain.abs()), "the sampler's own draws come first and are unchanged"
    after_sampler = gen(4)
    previous_sample_kernels(name, *sizes, after_sampler, preset=preset)
    mask = inhibitory_channels(20, fraction, after_sampler)  # the choice is the next draw
    flat = dale.reshape(20, -1)
    assert (flat[mask] <= 0).all() and (flat[~mask] >= 0).all()
    assert int((flat < 0).any(dim=1).sum()) == round(fraction * 20)  # no kernel of these samplers is all zero
    assert torch.equal(generator.get_state(), after_sampler.get_state())
    assert torch.equal(dale, sample_kernels(name, *sizes, gen(4), preset=preset, dale_inhibitory_fraction=fraction))


def test_option_is_not_the_lognormal_sign_rule_parameter():
    """``inhibitory_fraction`` still reaches the lognormal sampler: its per-kernel coin, not Dale's option."""
    params = {"sign_rule": "inhibitory_fraction", "inhibitory_fraction": 1.0}
    assert (sample_kernels("lognormal", 50, 1, 3, gen(0), **params) < 0).all()
    flipped = sample_kernels("lognormal", 50, 1, 3, gen(0), dale_inhibitory_fraction=0.0, **params)
    assert (flipped > 0).all()
