r"""Correlated centre-surround kernels modelled on LGN receptive fields: the "Center-Surround" column.

Each kernel (one input channel of it) is a draw from a zero-mean multivariate normal over its
``size * size`` synapses, :math:`w \sim \mathcal{N}(0, \Sigma)`, with

.. math::

    \Sigma = d\,d^\top + \sigma_n^2 K_\ell, \qquad
    d = \kappa\,\bigl(G_{\sigma_c} - g\,G_{\sigma_s}\bigr), \qquad
    K_\ell[i, j] = \exp\!\bigl(-\lVert p_i - p_j \rVert^2 / (2\ell^2)\bigr)

where :math:`p_i` is the position of synapse *i* on the kernel grid, :math:`G_\sigma` is a 2-D
Gaussian sampled on the grid and normalised to unit sum, :math:`g` the surround gain, and
:math:`\kappa` scales the profile to a peak of 1 (``normalise_peak``). A draw is equivalently
:math:`w = z\,d + \varepsilon` with :math:`z \sim \mathcal{N}(0, 1)` and
:math:`\varepsilon \sim \mathcal{N}(0, \sigma_n^2 K_\ell)`: the sign of *z* makes the cell
ON-centre or OFF-centre with equal probability, and the rank-one term :math:`d\,d^\top` is what
correlates synapses: centre synapses positively with each other and negatively with the surround.
With :math:`\ell = 0`, :math:`K_\ell = I` (independent synaptic noise).

Biological defaults (STUDY_BRIEF section 3):

- difference-of-Gaussians receptive field (Rodieck 1965, Vision Res 5:583);
- surround/centre radius ratio 4.4: parvocellular marmoset LGN, 0.333 / 0.076 deg
  (magnocellular 0.647 / 0.135 = 4.8);
- surround/centre integrated gain 0.55 (Croner & Kaplan 1995, Vision Res 35:7, macaque), so the
  field is *not* zero-sum; here the integral is taken over the kernel's footprint;
- ON- and OFF-centre cells in equal numbers.

Not biological, and stated as such: the centre width in pixels (0.5 px: there is no
pixels-per-degree in the paper, so the centre is made to cover one pixel and the surround, 2.2 px,
the 5x5 kernel), the noise level (0.1 of the peak, the level the authors' code used) and the
noise correlation length (1 px).

The ``authors_code`` preset is the variant the authors' code used (STUDY_BRIEF section 2): a 5x5
Gaussian of sigma = 1 px minus its own mean (a flat, exactly zero-sum surround), random +-1
polarity, i.i.d. noise of std 0.1, scaled by 0.01. The authors estimated mean and covariance from
100,000 such kernels; the exact values are mean 0 and :math:`\Sigma = d\,d^\top + 0.1^2 I`, which
is this module's form with ``surround_ratio=inf``, ``surround_gain="zero_sum"``,
``normalise_peak=False`` and ``noise_correlation_length=0``.

Colour: with ``channel_mode="independent"`` each input channel is an independent draw (as the
authors did); ``"shared"`` repeats one draw over all channels (a broadband, type III cell of
Wiesel & Hubel 1966).
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from synthlib.samplers.registry import register_sampler

PARVO_SURROUND_RATIO = 0.333 / 0.076
"""Surround/centre radius ratio of parvocellular marmoset LGN cells (about 4.4)."""
CRONER_KAPLAN_SURROUND_GAIN = 0.55
"""Integrated surround/centre strength of macaque LGN cells (Croner & Kaplan 1995)."""
CHANNEL_MODES = ("independent", "shared")


def _grid_squared_radius(size: int) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    return coords[:, None] ** 2 + coords[None, :] ** 2


def _unit_sum_gaussian(size: int, sigma: float) -> torch.Tensor:
    if math.isinf(sigma):
        return torch.full((size, size), 1.0 / size**2, dtype=torch.float64)
    g = torch.exp(-_grid_squared_radius(size) / (2 * sigma**2))
    return g / g.sum()


def dog_profile(
    size: int,
    center_sigma: float,
    surround_ratio: float,
    surround_gain: float | Literal["zero_sum"],
    normalise_peak: bool = True,
) -> torch.Tensor:
    """The mean receptive-field profile d: centre Gaussian minus gain times surround Gaussian.

    Both Gaussians are sampled on the ``size x size`` grid and normalised to unit sum, so
    ``surround_gain`` is the integrated surround/centre ratio over the kernel; ``"zero_sum"``
    picks the gain that makes the profile sum to exactly zero. ``surround_ratio=inf`` gives a flat
    surround. Returns a float64 ``(size, size)`` tensor.
    """
    if center_sigma <= 0 or surround_ratio <= 0:
        raise ValueError(f"center_sigma and surround_ratio must be positive, got {center_sigma}, {surround_ratio}")
    center = _unit_sum_gaussian(size, center_sigma)
    surround = _unit_sum_gaussian(size, center_sigma * surround_ratio)
    gain = 1.0 if surround_gain == "zero_sum" else float(surround_gain)
    profile = center - gain * surround
    if normalise_peak:
        profile = profile / profile.abs().max()
    return profile


def correlation_matrix(size: int, length: float) -> torch.Tensor:
    """K_l: squared-exponential correlation of synapse positions; the identity when length == 0."""
    if length < 0:
        raise ValueError(f"noise_correlation_length must be >= 0, got {length}")
    if length == 0:
        return torch.eye(size * size, dtype=torch.float64)
    coords = torch.stack(
        torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij"),
        dim=-1,
    ).reshape(-1, 2)
    squared_distance = torch.cdist(coords, coords) ** 2
    return torch.exp(-squared_distance / (2 * length**2))


def center_surround_covariance(
    size: int,
    *,
    center_sigma: float = 0.5,
    surround_ratio: float = PARVO_SURROUND_RATIO,
    surround_gain: float | Literal["zero_sum"] = CRONER_KAPLAN_SURROUND_GAIN,
    normalise_peak: bool = True,
    noise_std: float = 0.1,
    noise_correlation_length: float = 1.0,
) -> torch.Tensor:
    """Sigma = d d^T + noise_std^2 K_l over the size*size synapses (row-major), float64."""
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    d = dog_profile(size, center_sigma, surround_ratio, surround_gain, normalise_peak).reshape(-1)
    return torch.outer(d, d) + noise_std**2 * correlation_matrix(size, noise_correlation_length)


def _cholesky_factor(covariance: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor, with the smallest diagonal jitter that makes Sigma positive definite."""
    jitter = 0.0
    eye = torch.eye(covariance.shape[0], dtype=covariance.dtype)
    for _ in range(8):
        factor, info = torch.linalg.cholesky_ex(covariance + jitter * eye)
        if int(info) == 0:
            return factor
        jitter = 1e-12 if jitter == 0.0 else jitter * 100
    raise ValueError("the centre-surround covariance is not positive semi-definite; use noise_std > 0")


@register_sampler(
    "center_surround",
    presets={
        "biological": {},
        "authors_code": {
            "center_sigma": 1.0,
            "surround_ratio": math.inf,
            "surround_gain": "zero_sum",
            "normalise_peak": False,
            "noise_std": 0.1,
            "noise_correlation_length": 0.0,
            "scale": 0.01,
        },
    },
)
def center_surround(
    out_channels: int,
    in_channels: int,
    size: int,
    generator: torch.Generator,
    *,
    center_sigma: float = 0.5,
    surround_ratio: float = PARVO_SURROUND_RATIO,
    surround_gain: float | Literal["zero_sum"] = CRONER_KAPLAN_SURROUND_GAIN,
    normalise_peak: bool = True,
    noise_std: float = 0.1,
    noise_correlation_length: float = 1.0,
    channel_mode: str = "independent",
    scale: float = 1.0,
) -> torch.Tensor:
    """Kernels drawn from N(0, Sigma), Sigma = d d^T + noise_std^2 K_l with d a DoG LGN profile.

    Defaults: surround/centre radius ratio 4.4 (marmoset parvocellular LGN), integrated surround
    gain 0.55 (Croner & Kaplan 1995), ON and OFF centres equally likely; see the module docstring
    for Sigma in full and for which defaults are not biological.
    """
    if channel_mode not in CHANNEL_MODES:
        raise ValueError(f"unknown channel_mode {channel_mode!r}; valid modes are: {', '.join(CHANNEL_MODES)}")
    covariance = center_surround_covariance(
        size,
        center_sigma=center_sigma,
        surround_ratio=surround_ratio,
        surround_gain=surround_gain,
        normalise_peak=normalise_peak,
        noise_std=noise_std,
        noise_correlation_length=noise_correlation_length,
    )
    factor = _cholesky_factor(covariance)
    n_draws = out_channels * (in_channels if channel_mode == "independent" else 1)
    standard = torch.randn((n_draws, size * size), generator=generator, dtype=torch.float64)
    draws = (standard @ factor.T).reshape(out_channels, -1, size, size)
    if channel_mode == "shared":
        draws = draws.expand(out_channels, in_channels, size, size)
    return (draws * scale).float().contiguous()


def _full_params(preset: str | None, params: dict) -> dict:
    """The sampler's keyword defaults, overridden by the preset, overridden by ``params``."""
    from synthlib.samplers.registry import resolve_params

    return resolve_params("center_surround", preset, with_defaults=True, **params)


def preset_profile(size: int, preset: str | None = None, **params) -> torch.Tensor:
    """The mean ON profile d, times the scale, that ``center_surround`` uses for these settings."""
    p = _full_params(preset, params)
    return (
        dog_profile(size, p["center_sigma"], p["surround_ratio"], p["surround_gain"], p["normalise_peak"]) * p["scale"]
    )


def preset_covariance(size: int, preset: str | None = None, **params) -> torch.Tensor:
    """The covariance Sigma (times scale^2) of one kernel channel that ``center_surround`` draws from."""
    p = _full_params(preset, params)
    sigma = center_surround_covariance(
        size,
        center_sigma=p["center_sigma"],
        surround_ratio=p["surround_ratio"],
        surround_gain=p["surround_gain"],
        normalise_peak=p["normalise_peak"],
        noise_std=p["noise_std"],
        noise_correlation_length=p["noise_correlation_length"],
    )
    return sigma * p["scale"] ** 2
