"""The ``morlet`` reference: kymatio's Morlet wavelets on the kernel grid, a designed filter bank.

kymatio periodises its filters over the image grid; on a 5x5 grid that folds the envelope's tails
back in, so the comparisons with kymatio use a width whose tails are negligible one period away
(``morlet_2d`` itself), or kymatio's ``gabor_2d`` on a large grid cropped to 5x5 (the bank's own
widths).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from kymatio.scattering2d.filter_bank import gabor_2d, morlet_2d

from synthlib.samplers import get_sampler, sample_kernels
from synthlib.samplers.morlet import (
    KYMATIO_SIGMA0,
    KYMATIO_XI0,
    kymatio_angle,
    kymatio_slant,
    morlet_bank,
    morlet_on_grid,
)

KYMATIO_ATOL = 1e-6  # kymatio computes in complex64
ZERO_MEAN_ATOL = 1e-6  # float32 rounding of 25 unit-norm weights
BANK = 2 * 2 * 8  # J = 2 scales x L = 8 orientations x (real, imaginary)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def draw(out_channels: int, in_channels: int = 1, size: int = 5, seed: int = 0, **params) -> torch.Tensor:
    return sample_kernels("morlet", out_channels, in_channels, size, gen(seed), **params)


def unit(values: np.ndarray) -> np.ndarray:
    return values / np.linalg.norm(values)


# --- agreement with kymatio -------------------------------------------------------------------


def test_filter_equals_kymatio_morlet_2d_on_the_same_grid():
    """sigma 0.5, slant 1: one period (5 px) away the envelope is exp(-18) ~ 2e-8 of its peak, so
    kymatio's periodisation is invisible and its ``morlet_2d`` (offset -2 centres the grid) is ours."""
    sigma, theta, xi = 0.5, kymatio_angle(1, 8), KYMATIO_XI0
    theirs = morlet_2d(5, 5, sigma, theta, xi, 1.0, -2)
    ours = morlet_on_grid(5, sigma, theta, xi, 1.0).numpy()
    np.testing.assert_allclose(unit(ours.real), unit(theirs.real), rtol=0, atol=KYMATIO_ATOL)
    np.testing.assert_allclose(unit(ours.imag), unit(theirs.imag), rtol=0, atol=KYMATIO_ATOL)


@pytest.mark.parametrize("scale", [0, 1])
@pytest.mark.parametrize("orientation", [0, 3, 6])
def test_bank_equals_kymatio_gabor_cropped_to_the_kernel(scale, orientation):
    """The bank's own widths: kymatio's ``gabor_2d`` on a 129x129 grid (no wrap-around), cropped to
    5x5, minus the envelope times ``morlet_2d``'s beta taken over the 5x5 footprint."""
    size, big = 5, 129
    sigma, xi = KYMATIO_SIGMA0 * 2**scale, KYMATIO_XI0 / 2**scale
    theta, slant = kymatio_angle(orientation, 8), kymatio_slant(8)
    crop = slice(big // 2 - size // 2, big // 2 + size // 2 + 1)
    wave = gabor_2d(big, big, sigma, theta, xi, slant, -(big // 2))[crop, crop]
    envelope = gabor_2d(big, big, sigma, theta, 0, slant, -(big // 2))[crop, crop]
    theirs = wave - wave.sum() / envelope.sum() * envelope
    index = 2 * (8 * scale + orientation)
    bank = morlet_bank(size).numpy()
    np.testing.assert_allclose(bank[index], unit(theirs.real), rtol=0, atol=KYMATIO_ATOL)
    np.testing.assert_allclose(bank[index + 1], unit(theirs.imag), rtol=0, atol=KYMATIO_ATOL)


# --- the contract -----------------------------------------------------------------------------


def test_registered_as_deterministic():
    assert get_sampler("morlet").deterministic is True
    assert get_sampler("normal").deterministic is False


@pytest.mark.parametrize("sizes", [(7, 3, 5), (2, 1, 3), (40, 3, 7), (3, 1, 7)])
def test_shape_dtype_device(sizes):
    weights = sample_kernels("morlet", *sizes, gen())
    assert weights.shape == (sizes[0], sizes[1], sizes[2], sizes[2])
    assert weights.dtype == torch.float32 and weights.device.type == "cpu"
    assert torch.isfinite(weights).all()


def test_same_kernels_for_every_seed():
    first = draw(BANK, 3, seed=0)
    for seed in (1, 7, 12345):
        assert torch.equal(first, draw(BANK, 3, seed=seed))


def test_kernels_follow_the_bank_in_order_and_cycle():
    bank = morlet_bank(5).float()
    kernels = draw(BANK + 5)[:, 0]
    assert torch.equal(kernels[:BANK], bank)
    assert torch.equal(kernels[BANK:], bank[:5])


def test_several_channels_carry_the_filter_divided_by_their_count():
    gray = draw(BANK, 1)
    rgb = draw(BANK, 3)
    for channel in range(3):
        torch.testing.assert_close(rgb[:, channel], gray[:, 0] / 3, rtol=1e-6, atol=0)
    torch.testing.assert_close(rgb.sum(dim=1), gray[:, 0], rtol=1e-6, atol=1e-7)


# --- the filters --------------------------------------------------------------------------------


def test_unit_norm_and_zero_mean():
    """Morlet's admissibility: every real and imaginary kernel sums to zero over the footprint."""
    kernels = draw(BANK)[:, 0].double()
    torch.testing.assert_close(kernels.norm(dim=(1, 2)), torch.ones(BANK, dtype=torch.float64), rtol=0, atol=1e-6)
    assert kernels.sum(dim=(1, 2)).abs().max() < ZERO_MEAN_ATOL


def test_orientations_differ():
    bank = morlet_bank(5)
    for scale in (0, 1):
        for part in (0, 1):
            filters = bank[[2 * (8 * scale + k) + part for k in range(8)]].reshape(8, -1)
            distances = torch.cdist(filters, filters) + torch.eye(8, dtype=torch.float64)
            assert distances.min() > 0.1, (scale, part)


def test_real_part_is_even_and_imaginary_part_odd():
    bank = morlet_bank(5)
    torch.testing.assert_close(bank[0::2], bank[0::2].flip(1).flip(2), rtol=0, atol=1e-12)
    torch.testing.assert_close(bank[1::2], -bank[1::2].flip(1).flip(2), rtol=0, atol=1e-12)


def test_scales_differ_in_frequency():
    """Scale 1 has half scale 0's centre frequency: its real part changes sign less across the kernel."""
    bank = morlet_bank(9)
    sign_changes = [int((torch.diff(torch.sign(bank[2 * 8 * scale, 4, :])) != 0).sum()) for scale in (0, 1)]
    assert sign_changes[0] > sign_changes[1]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_scales": 0}, "n_scales must be a positive integer, got 0"),
        ({"n_orientations": 2.5}, "n_orientations must be a positive integer, got 2.5"),
        ({"sigma0": -1.0}, "sigma0 must be positive"),
        ({"xi0": 4.0}, r"xi0 must lie in \(0, pi\] radians per pixel \(below Nyquist\), got 4.0"),
        ({"slant": 0.0}, "slant must be positive"),
    ],
)
def test_bad_inputs_name_the_fix(params, message):
    with pytest.raises(ValueError, match=message):
        draw(4, **params)


def test_a_grid_too_small_for_the_filter_is_refused():
    with pytest.raises(ValueError, match=r"vanishes on a 1x1 grid; use a larger size"):
        draw(4, size=1)


def test_kymatio_angles_and_slant():
    assert [kymatio_angle(k, 8) for k in (0, 3, 7)] == pytest.approx([3 * math.pi / 8, 0.0, -4 * math.pi / 8])
    assert kymatio_slant(8) == 0.5
