"""Log-normal synaptic strengths (Song et al. 2005): the paper's "Log-Normal" column.

Song, Sjöström, Reigl, Nelson & Chklovskii (2005), "Highly nonrandom features of synaptic
connectivity in local cortical circuits", PLoS Biol 3(3):e68, appendix S1: the amplitudes of
unitary EPSPs between layer-5 pyramidal neurons (in mV) are log-normal; the underlying normal has
mean mu = -0.702 and variance 0.8752, i.e. sigma = 0.9355. Then exp(N(-0.702, 0.9355^2)) has
mean 0.77 mV, median 0.50 mV and mode 0.21 mV, as Song et al. report.

The paper prints "mu = -0.702, sigma^2 = 0.9355", mislabelling sigma as the variance; the
authors' code did a third thing (see ``authors_code_lognormal_params``). All three readings are
presets, so the study can show what the choice is worth.

A log-normal magnitude is always positive, but real synapses are excitatory or inhibitory
(Dale's law), so a sign rule is an explicit parameter:

- ``"positive"``: every weight positive (the paper's text: "all samples are positive");
- ``"random"``: an independent fair +-1 sign per weight (the authors' code);
- ``"inhibitory_fraction"``: Dale's law per kernel: each kernel (one presynaptic "neuron" type)
  is wholly inhibitory with probability ``inhibitory_fraction``. The default 0.2 is the share of
  GABAergic interneurons among cortical neurons (about 20%; Markram et al. 2004, Nat Rev
  Neurosci 5:793).
"""

from __future__ import annotations

import math

import torch

from synthlib.samplers.registry import register_sampler

SONG2005_MU = -0.702
"""Mean of the underlying normal of EPSP amplitudes in mV (Song et al. 2005, appendix S1)."""
SONG2005_SIGMA = 0.9355
"""Standard deviation of the underlying normal (Song et al. 2005: variance 0.8752)."""
SIGN_RULES = ("positive", "random", "inhibitory_fraction")


def authors_code_lognormal_params(mean: float = SONG2005_MU, variance: float = SONG2005_SIGMA) -> tuple[float, float]:
    """(mu, sigma) of the authors' code: -0.702 and 0.9355 taken as the log-normal's own mean and
    variance and moment-matched, mu = log(m^2 / sqrt(v + m^2)), sigma = sqrt(log(1 + v / m^2)).
    Gives mu ~ -0.886, sigma ~ 1.032 (m enters squared, so its sign is lost)."""
    m2 = mean * mean
    return math.log(m2 / math.sqrt(variance + m2)), math.sqrt(math.log1p(variance / m2))


_AUTHORS_MU, _AUTHORS_SIGMA = authors_code_lognormal_params()


@register_sampler(
    "lognormal",
    presets={
        "paper_text": {"mu": SONG2005_MU, "sigma": math.sqrt(0.9355), "sign_rule": "positive"},
        "song2005": {"mu": SONG2005_MU, "sigma": SONG2005_SIGMA, "sign_rule": "positive"},
        "authors_code": {"mu": _AUTHORS_MU, "sigma": _AUTHORS_SIGMA, "sign_rule": "random", "scale": 0.001},
    },
)
def lognormal(
    out_channels: int,
    in_channels: int,
    size: int,
    generator: torch.Generator,
    *,
    mu: float = SONG2005_MU,
    sigma: float = SONG2005_SIGMA,
    sign_rule: str = "positive",
    inhibitory_fraction: float = 0.2,
    scale: float = 1.0,
) -> torch.Tensor:
    """Magnitudes exp(N(mu, sigma^2)) (Song et al. 2005 by default), a sign rule, times ``scale``.

    Defaults: mu = -0.702, sigma = 0.9355 (Song et al. 2005, PLoS Biol 3:e68, appendix S1),
    all weights positive as the paper's text says. ``scale`` converts mV to weight units (1 by
    default; the authors' code used 0.001).
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if sign_rule not in SIGN_RULES:
        raise ValueError(f"unknown sign_rule {sign_rule!r}; valid sign rules are: {', '.join(SIGN_RULES)}")
    if not 0.0 <= inhibitory_fraction <= 1.0:
        raise ValueError(f"inhibitory_fraction must lie in [0, 1], got {inhibitory_fraction}")
    shape = (out_channels, in_channels, size, size)
    normal = torch.randn(shape, generator=generator, dtype=torch.float64)
    weights = torch.exp(normal * sigma + mu)
    if sign_rule == "random":
        signs = torch.randint(0, 2, shape, generator=generator, dtype=torch.float64) * 2 - 1
        weights = weights * signs
    elif sign_rule == "inhibitory_fraction":
        inhibitory = torch.rand((out_channels, 1, 1, 1), generator=generator, dtype=torch.float64) < inhibitory_fraction
        weights = torch.where(inhibitory, -weights, weights)
    return (weights * scale).float()
