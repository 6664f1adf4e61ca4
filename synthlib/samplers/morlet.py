r"""Morlet wavelets on the kernel grid: a designed (not sampled) reference filter bank.

These are the filters of kymatio's 2-D scattering transform (``kymatio.scattering2d.filter_bank``,
after Bruna & Mallat 2013, IEEE TPAMI 35:1872), the fixed front end of the scattering anchors the
study compares against (Gauthier et al. 2022: fixed Morlet scattering + linear classifier).
A Morlet filter is a Gabor filter minus a multiple of its envelope, so that it has zero mean:

.. math::

    \psi(u) = g(u)\,\bigl(e^{i\,\xi\,(u_1\cos\theta + u_2\sin\theta)} - \beta\bigr), \qquad
    g(u) = \exp\!\bigl(-u^\top R_\theta\,\mathrm{diag}(1, s^2)\,R_\theta^{-1}\,u / (2\sigma^2)\bigr),
    \qquad \beta = \frac{\sum_u g(u)\,e^{i\,\xi\,(\dots)}}{\sum_u g(u)}

with :math:`u = (u_1, u_2)` the (row, column) position relative to the kernel's centre, :math:`s`
the slant (the envelope is :math:`\sigma / s` long along the wave fronts). The parameters are
kymatio's: scale *j* has :math:`\sigma = 0.8 \cdot 2^j` and :math:`\xi = \tfrac{3}{4}\pi / 2^j`,
orientation *k* of *L* has :math:`\theta = (\lfloor L - L/2 - 1 \rfloor - k)\,\pi / L`, and the
slant is :math:`4 / L`. The defaults J = 2, L = 8 are the study's scattering baseline's.

Evaluated on the ``size x size`` kernel grid itself, with two differences from kymatio, which
builds image-sized filters: no periodisation (kymatio sums the Gaussian over neighbouring periods
of its grid; a convolution kernel is not periodic), and the zero-mean correction :math:`\beta` is
taken over the kernel's footprint (kymatio takes it over its grid), so every filter sums to zero on
the footprint, Morlet's admissibility, up to float rounding. At scale 1 the envelope (1.6 px,
3.2 px along the wave fronts) is wider than a 5x5 kernel and is truncated to it.

Each filter's real and imaginary parts are separate kernels, each scaled to unit L2 norm. The
``out_channels`` kernels take the filters in kymatio's order, scale outermost, then orientation,
then the part (real, imaginary) innermost: kernel *n* is filter
:math:`q = n \bmod 2JL` with :math:`j = \lfloor q / 2L \rfloor`, :math:`k = \lfloor q/2 \rfloor \bmod L`,
part :math:`q \bmod 2`; past :math:`2JL` kernels the bank repeats. With several input channels the
same filter is on every channel, divided by the channel count: the kernel responds to the
channels' mean (luminance), as the filter does on a grayscale image.

Not biological, and not random: the bank ignores the generator (registered ``deterministic``).
"""

from __future__ import annotations

import math

import torch

from synthlib.samplers.registry import register_sampler

KYMATIO_SIGMA0 = 0.8
"""Envelope width of scale 0 in pixels (kymatio's ``filter_bank``: sigma = 0.8 * 2**j)."""
KYMATIO_XI0 = 3.0 / 4.0 * math.pi
"""Centre frequency of scale 0 in radians per pixel (kymatio: xi = 3/4 * pi / 2**j)."""
SCATTERING_J = 2
"""Number of scales, as in the study's scattering baseline (J = 2)."""
SCATTERING_L = 8
"""Number of orientations, as in the study's scattering baseline (L = 8)."""
PARTS = ("real", "imag")
"""The parts of a filter, in the bank's order."""
_VANISHING_NORM = 1e-9


def kymatio_angle(orientation: int, n_orientations: int) -> float:
    """Angle theta of orientation ``orientation`` of ``n_orientations``, as kymatio numbers them."""
    return (int(n_orientations - n_orientations / 2 - 1) - orientation) * math.pi / n_orientations


def kymatio_slant(n_orientations: int) -> float:
    """kymatio's slant for ``n_orientations`` orientations: 4 / L (0.5 for L = 8)."""
    return 4.0 / n_orientations


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column offsets from the kernel's centre, float64 ``(size, size)`` each."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")
    return rows, cols


def gabor_on_grid(size: int, sigma: float, theta: float, xi: float, slant: float) -> torch.Tensor:
    """kymatio's ``gabor_2d`` without periodisation or normalising factor: the complex128
    ``(size, size)`` values g(u) exp(i xi (u1 cos theta + u2 sin theta)) on the centred grid."""
    rows, cols = _grid(size)
    cos, sin = math.cos(theta), math.sin(theta)
    rotation = torch.tensor([[cos, -sin], [sin, cos]], dtype=torch.float64)
    stretch = torch.diag(torch.tensor([1.0, slant * slant], dtype=torch.float64))
    curvature = rotation @ stretch @ rotation.T / (2 * sigma * sigma)
    quadratic = (
        curvature[0, 0] * rows**2 + (curvature[0, 1] + curvature[1, 0]) * rows * cols + curvature[1, 1] * cols**2
    )
    phase = xi * (rows * cos + cols * sin)
    return torch.exp(torch.complex(-quadratic, phase))


def morlet_on_grid(size: int, sigma: float, theta: float, xi: float, slant: float) -> torch.Tensor:
    """The Morlet filter psi = gabor - beta * envelope on the centred ``size x size`` grid, complex128,
    with beta chosen so that psi sums to zero over the grid (kymatio's ``morlet_2d`` rule)."""
    wave = gabor_on_grid(size, sigma, theta, xi, slant)
    envelope = gabor_on_grid(size, sigma, theta, 0.0, slant)
    beta = wave.sum() / envelope.sum()
    return wave - beta * envelope


def _check_bank_params(n_scales: int, n_orientations: int, sigma0: float, xi0: float, slant: float) -> None:
    for label, count in (("n_scales", n_scales), ("n_orientations", n_orientations)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{label} must be a positive integer, got {count!r}")
    if not sigma0 > 0:
        raise ValueError(f"sigma0 must be positive, got {sigma0}")
    if not 0 < xi0 <= math.pi:
        raise ValueError(f"xi0 must lie in (0, pi] radians per pixel (below Nyquist), got {xi0}")
    if not slant > 0:
        raise ValueError(f"slant must be positive, got {slant}")


def morlet_bank(
    size: int,
    n_scales: int = SCATTERING_J,
    n_orientations: int = SCATTERING_L,
    sigma0: float = KYMATIO_SIGMA0,
    xi0: float = KYMATIO_XI0,
    slant: float | None = None,
) -> torch.Tensor:
    """The ``2 * n_scales * n_orientations`` real kernels, float64 ``(2JL, size, size)``, in the order
    scale, orientation, part (real then imaginary), each of unit L2 norm. ``slant=None`` is 4 / L."""
    slant = kymatio_slant(n_orientations) if slant is None else slant
    _check_bank_params(n_scales, n_orientations, sigma0, xi0, slant)
    filters = []
    for scale in range(n_scales):
        for orientation in range(n_orientations):
            theta = kymatio_angle(orientation, n_orientations)
            psi = morlet_on_grid(size, sigma0 * 2**scale, theta, xi0 / 2**scale, slant)
            for part, values in zip(PARTS, (psi.real, psi.imag)):
                norm = torch.linalg.vector_norm(values)
                if norm < _VANISHING_NORM:
                    raise ValueError(
                        f"the {part} part of the Morlet filter at scale {scale}, orientation {orientation} "
                        f"vanishes on a {size}x{size} grid; use a larger size"
                    )
                filters.append(values / norm)
    return torch.stack(filters)


@register_sampler("morlet", presets={"scattering": {}}, deterministic=True)
def morlet(
    out_channels: int,
    in_channels: int,
    size: int,
    generator: torch.Generator,
    *,
    n_scales: int = SCATTERING_J,
    n_orientations: int = SCATTERING_L,
    sigma0: float = KYMATIO_SIGMA0,
    xi0: float = KYMATIO_XI0,
    slant: float | None = None,
) -> torch.Tensor:
    """kymatio's Morlet wavelets on the kernel grid, real and imaginary parts: a designed reference.

    Defaults: J = 2 scales, L = 8 orientations (the study's scattering baseline), sigma = 0.8 * 2**j
    px, xi = 3/4 pi / 2**j rad/px, slant 4 / L, as kymatio's ``filter_bank``; each kernel of unit L2
    norm, zero-sum on the footprint. Not biological and not random: ``generator`` is ignored.
    """
    del generator  # a designed filter bank: the same kernels for every seed
    bank = morlet_bank(size, n_scales, n_orientations, sigma0, xi0, slant)
    kernels = bank[torch.arange(out_channels) % bank.shape[0]]
    return (kernels[:, None] / in_channels).expand(out_channels, in_channels, size, size).float().contiguous()
