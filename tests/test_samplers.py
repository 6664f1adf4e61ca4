"""Kernel samplers: the registry's contract, and each sampler's distribution checked with scipy.stats.

Every random draw uses a fixed seed, so the statistical tests are deterministic; the thresholds
(p > 0.001 to accept, p < 0.001 to reject, errors within 5 standard errors) make a failure mean a
wrong distribution, not bad luck.
"""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest
import torch
from scipy import stats

from synthlib.samplers import get_sampler, register_sampler, resolve_params, sample_kernels, sampler_names
from synthlib.samplers.center_surround import (
    center_surround_covariance,
    correlation_matrix,
    dog_profile,
)
from synthlib.samplers.lognormal import SONG2005_MU, SONG2005_SIGMA, authors_code_lognormal_params

BUILTIN = ("normal", "lognormal", "center_surround")
ALL_PRESETS = [(name, preset) for name in BUILTIN for preset in (None, *sorted(get_sampler(name).presets))]
ACCEPT_P = 1e-3  # a correct distribution is rejected by chance 0.1% of the time (and never, with fixed seeds)

LOGNORMAL_PARAMS = {  # preset -> (mu, sigma, scale) of log-magnitudes, as the study documents them
    "paper_text": (-0.702, math.sqrt(0.9355), 1.0),
    "song2005": (-0.702, 0.9355, 1.0),
    "authors_code": (*authors_code_lognormal_params(), 0.001),
}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def draw(name: str, out_channels: int, in_channels: int = 1, size: int = 5, seed: int = 0, **params) -> torch.Tensor:
    return sample_kernels(name, out_channels, in_channels, size, gen(seed), **params)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def lognorm_dist(mu: float, sigma: float):
    return stats.lognorm(s=sigma, scale=math.exp(mu))


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def test_builtin_samplers_are_registered():
    assert set(BUILTIN) <= set(sampler_names())
    assert sampler_names() == sorted(sampler_names())


def test_unknown_sampler_lists_valid_names():
    with pytest.raises(ValueError, match="no_such_sampler") as info:
        draw("no_such_sampler", 2)
    for name in BUILTIN:
        assert name in str(info.value)


def test_unknown_preset_lists_valid_presets():
    with pytest.raises(ValueError, match="no_such_preset") as info:
        draw("normal", 2, preset="no_such_preset")
    assert "authors_code" in str(info.value) and "paper_text" in str(info.value)


def test_explicit_params_override_preset():
    assert resolve_params("normal", "authors_code") == {"sigma": 0.01}
    assert resolve_params("normal", "authors_code", sigma=3.0) == {"sigma": 3.0}
    assert resolve_params("lognormal", None, sigma=2.0) == {"sigma": 2.0}


def test_register_new_sampler_and_draw_it():
    name = unique_name("uniform")

    @register_sampler(name, presets={"wide": {"half_width": 5.0}})
    def uniform(out_channels, in_channels, size, generator, *, half_width=1.0):
        """Uniform weights in +-half_width."""
        shape = (out_channels, in_channels, size, size)
        return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * half_width

    assert name in sampler_names()
    assert get_sampler(name).description == "Uniform weights in +-half_width."
    narrow = draw(name, 50, 2, 3)
    wide = draw(name, 50, 2, 3, preset="wide")
    assert narrow.shape == (50, 2, 3, 3) and narrow.dtype == torch.float32  # float64 is converted
    assert narrow.abs().max() <= 1.0 < wide.abs().max() <= 5.0
    torch.testing.assert_close(wide, narrow * 5, rtol=1e-6, atol=0)  # same stream, scaled
    with pytest.raises(ValueError, match="already registered"):
        register_sampler(name)(uniform)


def test_sampler_returning_wrong_shape_is_a_runtime_error():
    name = unique_name("wrong_shape")

    @register_sampler(name)
    def wrong_shape(out_channels, in_channels, size, generator):
        return torch.zeros(out_channels, in_channels, size + 1, size)

    with pytest.raises(RuntimeError, match=rf"{name}.*\(4, 2, 4, 3\).*\(4, 2, 3, 3\)"):
        draw(name, 4, 2, 3)


@pytest.mark.parametrize("label", ["out_channels", "in_channels", "size"])
@pytest.mark.parametrize("bad", [0, -2, 2.0, True, "3"])
def test_impossible_sizes_name_the_argument(label, bad):
    sizes = {"out_channels": 4, "in_channels": 1, "size": 5, label: bad}
    with pytest.raises(ValueError, match=rf"{label} must be a positive integer, got {bad!r}"):
        sample_kernels("normal", sizes["out_channels"], sizes["in_channels"], sizes["size"], gen())


# ---------------------------------------------------------------------------------------------
# Contract shared by every sampler and preset
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
@pytest.mark.parametrize("sizes", [(7, 3, 5), (2, 1, 3)])
def test_shape_dtype_device(name, preset, sizes):
    weights = sample_kernels(name, *sizes, gen(), preset=preset)
    assert weights.shape == (sizes[0], sizes[1], sizes[2], sizes[2])
    assert weights.dtype == torch.float32
    assert weights.device.type == "cpu"
    assert torch.isfinite(weights).all()


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
def test_same_seed_same_kernels_different_seed_different(name, preset):
    first = draw(name, 16, 3, seed=7, preset=preset)
    assert torch.equal(first, draw(name, 16, 3, seed=7, preset=preset))
    assert not torch.equal(first, draw(name, 16, 3, seed=8, preset=preset))


# ---------------------------------------------------------------------------------------------
# Normal
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "sigma"), [(None, 1.0), ("paper_text", 1.0), ("authors_code", 0.01)])
def test_normal_matches_gaussian(preset, sigma):
    weights = draw("normal", 800, 1, preset=preset).double().numpy().ravel()  # 20,000 weights
    assert stats.kstest(weights, stats.norm(0, sigma).cdf).pvalue > ACCEPT_P


def test_normal_ks_rejects_wrong_sigma():
    weights = draw("normal", 800, 1, sigma=1.1).double().numpy().ravel()
    assert stats.kstest(weights, stats.norm(0, 1).cdf).pvalue < ACCEPT_P


def test_normal_rejects_non_positive_sigma():
    with pytest.raises(ValueError, match="sigma must be positive"):
        draw("normal", 2, sigma=0.0)


# ---------------------------------------------------------------------------------------------
# Log-normal
# ---------------------------------------------------------------------------------------------


def lognormal_magnitudes(preset: str, n_kernels: int = 8000, seed: int = 0) -> np.ndarray:
    """|w| / scale for ``n_kernels`` 5x5 single-channel kernels (200,000 weights by default)."""
    scale = LOGNORMAL_PARAMS[preset][2]
    return draw("lognormal", n_kernels, 1, seed=seed, preset=preset).double().abs().numpy().ravel() / scale


def test_authors_code_params_are_moment_matched():
    mu, sigma = authors_code_lognormal_params()
    assert round(mu, 3) == -0.886 and round(sigma, 3) == 1.032
    dist = lognorm_dist(mu, sigma)  # -0.702 and 0.9355 taken as the log-normal's mean and variance
    assert dist.mean() == pytest.approx(abs(SONG2005_MU), rel=1e-12)
    assert dist.var() == pytest.approx(SONG2005_SIGMA, rel=1e-12)


def test_song2005_preset_reproduces_reported_summary():
    """Song et al. (2005) report mean 0.77 mV, median 0.50 mV and mode 0.21 mV."""
    params = get_sampler("lognormal").presets["song2005"]
    mu, sigma = params["mu"], params["sigma"]
    assert round(math.exp(mu + sigma**2 / 2), 2) == 0.77
    assert round(math.exp(mu), 2) == 0.50
    assert round(math.exp(mu - sigma**2), 2) == 0.21
    assert round(sigma**2, 4) == 0.8752  # the variance Song et al. give


@pytest.mark.parametrize("preset", sorted(LOGNORMAL_PARAMS))
def test_lognormal_presets_match_their_distribution(preset):
    mu, sigma, _ = LOGNORMAL_PARAMS[preset]
    assert stats.kstest(lognormal_magnitudes(preset), lognorm_dist(mu, sigma).cdf).pvalue > ACCEPT_P


@pytest.mark.parametrize(
    ("sampled", "other"), [("paper_text", "song2005"), ("song2005", "paper_text"), ("authors_code", "song2005")]
)
def test_lognormal_ks_has_power_to_tell_presets_apart(sampled, other):
    """sigma = 0.967 versus 0.9355 differ by 3%; 200,000 draws are enough for KS to see it."""
    mu, sigma, _ = LOGNORMAL_PARAMS[other]
    assert stats.kstest(lognormal_magnitudes(sampled), lognorm_dist(mu, sigma).cdf).pvalue < ACCEPT_P


def test_lognormal_positive_sign_rule():
    assert (draw("lognormal", 400, 3, sign_rule="positive") > 0).all()
    assert (draw("lognormal", 400, 3, preset="paper_text") > 0).all()


def test_lognormal_random_signs_are_fair():
    weights = draw("lognormal", 800, 1, preset="authors_code")  # 20,000 weights
    negative = int((weights < 0).sum())
    assert 0 < negative < weights.numel()
    assert stats.binomtest(negative, weights.numel(), 0.5).pvalue > ACCEPT_P


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.0, 1.0])
def test_lognormal_inhibitory_fraction_is_per_kernel(fraction):
    weights = draw("lognormal", 4000, 3, sign_rule="inhibitory_fraction", inhibitory_fraction=fraction)
    per_kernel = weights.reshape(4000, -1)
    negative = (per_kernel < 0).all(dim=1)
    assert (negative | (per_kernel > 0).all(dim=1)).all(), "a kernel mixes signs"
    n_negative = int(negative.sum())
    if fraction in (0.0, 1.0):
        assert n_negative == fraction * 4000
    else:
        assert stats.binomtest(n_negative, 4000, fraction).pvalue > ACCEPT_P


def test_lognormal_default_inhibitory_fraction_is_20_percent():
    negative = int((draw("lognormal", 4000, 1, sign_rule="inhibitory_fraction")[:, 0, 0, 0] < 0).sum())
    assert stats.binomtest(negative, 4000, 0.2).pvalue > ACCEPT_P


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"sign_rule": "dale"},
            "unknown sign_rule 'dale'; valid sign rules are: positive, random, inhibitory_fraction",
        ),
        ({"inhibitory_fraction": 1.5}, r"inhibitory_fraction must lie in \[0, 1\], got 1.5"),
        ({"inhibitory_fraction": -0.1}, r"inhibitory_fraction must lie in \[0, 1\], got -0.1"),
        ({"sigma": -1.0}, "sigma must be positive"),
    ],
)
def test_lognormal_invalid_params(params, message):
    with pytest.raises(ValueError, match=message):
        draw("lognormal", 2, **params)


# ---------------------------------------------------------------------------------------------
# Centre-surround
# ---------------------------------------------------------------------------------------------

N_CS = 40_000
CS_PRESETS = {  # preset -> (covariance parameters, scale)
    "biological": ({}, 1.0),
    "authors_code": (
        {
            "center_sigma": 1.0,
            "surround_ratio": math.inf,
            "surround_gain": "zero_sum",
            "normalise_peak": False,
            "noise_std": 0.1,
            "noise_correlation_length": 0.0,
        },
        0.01,
    ),
}


@pytest.fixture(scope="module")
def cs_draws() -> dict[str, np.ndarray]:
    """40,000 single-channel 5x5 kernels per preset, divided by the preset's scale, as (N, 25)."""
    return {
        preset: draw("center_surround", N_CS, 1, preset=preset, seed=3).double().numpy().reshape(N_CS, -1) / scale
        for preset, (_, scale) in CS_PRESETS.items()
    }


def covariance_standard_error(sigma: np.ndarray, n: int) -> np.ndarray:
    """Std of each entry of the empirical covariance of n Gaussian draws: sqrt((S_ii S_jj + S_ij^2) / n)."""
    diag = np.diag(sigma)
    return np.sqrt((np.outer(diag, diag) + sigma**2) / n)


@pytest.mark.parametrize("preset", sorted(CS_PRESETS))
def test_center_surround_empirical_covariance_matches_sigma(cs_draws, preset):
    sigma = center_surround_covariance(5, **CS_PRESETS[preset][0]).numpy()
    empirical = np.cov(cs_draws[preset], rowvar=False)
    error = np.abs(empirical - sigma)
    assert (error <= 5 * covariance_standard_error(sigma, N_CS)).all()
    assert error.max() <= 0.05 * np.abs(sigma).max()


@pytest.mark.parametrize("preset", sorted(CS_PRESETS))
def test_center_surround_mean_is_zero(cs_draws, preset):
    sigma = center_surround_covariance(5, **CS_PRESETS[preset][0]).numpy()
    mean = cs_draws[preset].mean(axis=0)
    assert (np.abs(mean) <= 5 * np.sqrt(np.diag(sigma) / N_CS)).all()


def test_center_surround_covariance_check_has_power(cs_draws):
    """The same check rejects Sigma with independent noise: the correlated-noise term is visible."""
    wrong = center_surround_covariance(5, noise_correlation_length=0.0).numpy()
    empirical = np.cov(cs_draws["biological"], rowvar=False)
    assert not (np.abs(empirical - wrong) <= 5 * covariance_standard_error(wrong, N_CS)).all()


@pytest.mark.parametrize("preset", sorted(CS_PRESETS))
def test_center_surround_on_and_off_centres_equally_likely(cs_draws, preset):
    on = int((cs_draws[preset][:, 12] > 0).sum())  # pixel 12 = centre of the 5x5 grid
    assert 0 < on < N_CS
    assert stats.binomtest(on, N_CS, 0.5).pvalue > ACCEPT_P


def test_biological_dog_profile_is_not_zero_sum():
    profile = dog_profile(5, 0.5, 0.333 / 0.076, 0.55)
    assert profile.dtype == torch.float64 and profile.shape == (5, 5)
    assert profile.sum() > 0
    assert profile[2, 2] == profile.abs().max() == 1.0  # peak-normalised, positive centre
    assert (profile[[0, 0, 4, 4], [0, 4, 0, 4]] < 0).all()
    torch.testing.assert_close(profile, profile.T, rtol=0, atol=0)
    torch.testing.assert_close(profile, profile.flip(0).flip(1), rtol=0, atol=0)


def test_authors_code_dog_profile_is_zero_sum():
    profile = dog_profile(5, 1.0, math.inf, "zero_sum", normalise_peak=False)
    assert abs(float(profile.sum())) < 1e-12
    assert profile[2, 2] > 0 > profile[0, 0]


def test_dog_profile_rejects_non_positive_widths():
    with pytest.raises(ValueError, match="must be positive"):
        dog_profile(5, 0.0, 4.0, 0.55)


def test_correlation_matrix():
    torch.testing.assert_close(correlation_matrix(5, 0), torch.eye(25, dtype=torch.float64), rtol=0, atol=0)
    k = correlation_matrix(3, 1.0)
    assert k.shape == (9, 9)
    torch.testing.assert_close(torch.diag(k), torch.ones(9, dtype=torch.float64))
    assert k[0, 1] == pytest.approx(math.exp(-0.5)) and k[0, 8] == pytest.approx(math.exp(-4.0))
    with pytest.raises(ValueError, match="noise_correlation_length must be >= 0"):
        correlation_matrix(3, -1.0)


def test_center_surround_channel_modes():
    shared = draw("center_surround", 20, 3, channel_mode="shared")
    assert torch.equal(shared[:, 0], shared[:, 1]) and torch.equal(shared[:, 0], shared[:, 2])
    independent = draw("center_surround", 20, 3, channel_mode="independent")
    assert not torch.equal(independent[:, 0], independent[:, 1])
    with pytest.raises(ValueError, match="unknown channel_mode 'mixed'; valid modes are: independent, shared"):
        draw("center_surround", 2, 3, channel_mode="mixed")


def test_center_surround_without_noise_is_rank_one():
    """noise_std=0 leaves Sigma = d d^T, singular; a tiny jitter still factorises it, and every
    kernel is then a multiple of the DoG profile d."""
    kernels = draw("center_surround", 500, 1, noise_std=0.0).double().reshape(500, -1)
    singular = torch.linalg.svdvals(kernels)
    assert singular[1] / singular[0] < 1e-4
    direction = torch.linalg.svd(kernels, full_matrices=False).Vh[0]
    d = dog_profile(5, 0.5, 0.333 / 0.076, 0.55).reshape(-1)
    assert abs(float(direction @ d)) / float(d.norm()) == pytest.approx(1.0, abs=1e-6)


def test_center_surround_negative_noise_rejected():
    with pytest.raises(ValueError, match="noise_std must be >= 0"):
        draw("center_surround", 2, noise_std=-0.1)
