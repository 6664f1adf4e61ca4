"""Weight samplers: plain functions registered by name (see ``registry``).

Importing this package registers the built-in samplers: ``normal``, ``lognormal``,
``center_surround``, ``gabor_v1`` (macaque V1 simple cells), ``dog_color`` (colour-opponent LGN
cells) and ``morlet`` (kymatio's Morlet wavelets, a designed reference that ignores the generator).
"""

from synthlib.samplers import (  # noqa: F401  (registers them)
    center_surround,
    dog_color,
    gabor_v1,
    lognormal,
    morlet,
    normal,
)
from synthlib.samplers.registry import (
    SamplerInfo,
    get_sampler,
    register_sampler,
    resolve_params,
    sample_kernels,
    sampler_names,
)

__all__ = ["SamplerInfo", "get_sampler", "register_sampler", "resolve_params", "sample_kernels", "sampler_names"]
