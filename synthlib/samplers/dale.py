"""Dale's law as a sign constraint on any sampler's kernels: a stated share of output channels is inhibitory.

Biology. A neuron releases the same fast transmitter at all its synapses, so its outgoing
synapses are all excitatory (glutamatergic) or all inhibitory (GABAergic): Dale's principle.
About 20% of cortical neurons are GABAergic interneurons and about 80% are excitatory, the usual
80/20 E/I split (review: Markram et al. 2004, "Interneurons of the neocortical inhibitory system",
Nat Rev Neurosci 5:793-807; a primary count for visual cortex: Gabbott & Somogyi 1986, Exp Brain
Res 61:323, GABA-immunoreactive neurons in cat area 17).

What this module implements. ``apply_dale`` makes every output channel ``weights[o]`` (all its
input channels and kernel positions) single-signed, keeping each weight's magnitude:

- exactly ``round(inhibitory_fraction * out_channels)`` channels are inhibitory (Python's
  ``round``: to the nearest integer, ties to the even one, so 0.5 * 5 gives 2);
- which channels they are is uniform over all subsets of that size: the first ones of one
  ``torch.randperm(out_channels, generator=generator)``, one draw whatever the fraction;
- an inhibitory channel becomes ``-|w|``, an excitatory one ``+|w|`` (a weight of exactly 0
  stays 0).

An exact count, not an independent coin per channel, so a layer of 64 kernels with fraction 0.2
always has 13 inhibitory ones and the fraction is a controlled variable, not a random one.

What it models, and its limits. In a convolution, ``weights[o]`` holds the synapses *onto*
postsynaptic unit ``o`` from all its inputs; Dale's law proper constrains a *presynaptic*
neuron's outgoing synapses, which here would be ``weights[:, i]``, one input channel across all
output channels. For the study's single sampled layer the inputs are pixels (stand-ins for LGN
afferents, which are all excitatory), and Dale's law proper would make all weights from each
input channel one sign: with one input channel, the whole layer. So this option implements the weaker
constraint the study asks for, the one the ``lognormal`` sampler's ``"inhibitory_fraction"`` sign
rule already applies: each kernel is one sign, read as "unit ``o`` is driven by a single
population of one transmitter type", with inhibitory kernels in the cortical 20% proportion. It
says nothing about the signs of the trained head's weights (the layer after), where Dale's law
would apply to each feature map's outgoing synapses.

Only the signs change, so the magnitudes are whatever the sampler drew: for a zero-mean sampler
(``normal``, ``center_surround``) a kernel becomes ``+-|w|``, which removes structure carried by
signs, e.g. the opposite-signed surround of a difference-of-Gaussians receptive field.
"""

from __future__ import annotations

import math
from numbers import Real

import torch

CORTICAL_INHIBITORY_FRACTION = 0.2
"""Share of GABAergic interneurons among cortical neurons (about 20%; Markram et al. 2004, Nat Rev Neurosci 5:793)."""


def check_inhibitory_fraction(inhibitory_fraction: float) -> float:
    """``inhibitory_fraction`` as a float, or a ValueError if it is not a number in [0, 1]."""
    if (
        not isinstance(inhibitory_fraction, Real)
        or isinstance(inhibitory_fraction, bool)
        or math.isnan(inhibitory_fraction)
        or not 0.0 <= inhibitory_fraction <= 1.0
    ):
        raise ValueError(
            f"inhibitory_fraction must be a number in [0, 1] (the share of inhibitory output channels), "
            f"got {inhibitory_fraction!r}"
        )
    return float(inhibitory_fraction)


def inhibitory_count(out_channels: int, inhibitory_fraction: float) -> int:
    """How many of ``out_channels`` channels are inhibitory: ``round(inhibitory_fraction * out_channels)``."""
    return round(check_inhibitory_fraction(inhibitory_fraction) * out_channels)


def inhibitory_channels(out_channels: int, inhibitory_fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Boolean mask of shape ``(out_channels,)``, True for the inhibitory channels.

    Exactly ``inhibitory_count(out_channels, inhibitory_fraction)`` of them, chosen uniformly at
    random among all subsets of that size: the first entries of one ``torch.randperm`` drawn from
    ``generator`` (drawn even when the count is 0 or ``out_channels``).
    """
    if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels < 1:
        raise ValueError(f"out_channels must be a positive integer, got {out_channels!r}")
    count = inhibitory_count(out_channels, inhibitory_fraction)
    order = torch.randperm(out_channels, generator=generator)
    mask = torch.zeros(out_channels, dtype=torch.bool)
    mask[order[:count]] = True
    return mask


def apply_dale(weights: torch.Tensor, inhibitory_fraction: float, generator: torch.Generator) -> torch.Tensor:
    """A copy of ``weights`` (output channels first) with each output channel single-signed.

    The inhibitory channels (``inhibitory_channels``, drawn from ``generator``) become ``-|w|``,
    the others ``+|w|``; magnitudes, shape, dtype and device are kept. See the module docstring
    for what this models.
    """
    if weights.dim() < 1:
        raise ValueError("weights must have at least one dimension, the output channels")
    mask = inhibitory_channels(int(weights.shape[0]), inhibitory_fraction, generator)
    mask = mask.to(weights.device).reshape(-1, *([1] * (weights.dim() - 1)))
    magnitudes = weights.abs()
    return torch.where(mask, -magnitudes, magnitudes)
