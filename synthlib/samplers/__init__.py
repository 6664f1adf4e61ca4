"""Weight samplers: plain functions registered by name (see ``registry``).

Importing this package registers the built-in samplers: ``normal``, ``lognormal``,
``center_surround``, ``dog_color`` (colour-opponent LGN cells) and ``morlet`` (kymatio's Morlet
wavelets, a designed reference that ignores the generator).
"""

from synthlib.samplers import center_surround, dog_color, lognormal, morlet, normal  # noqa: F401  (registers them)
from synthlib.samplers.registry import (
    SamplerInfo,
    get_sampler,
    register_sampler,
    resolve_params,
    sample_kernels,
    sampler_names,
)

__all__ = ["SamplerInfo", "get_sampler", "register_sampler", "resolve_params", "sample_kernels", "sampler_names"]
