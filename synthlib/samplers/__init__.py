"""Weight samplers: plain functions registered by name (see ``registry``).

Importing this package registers the built-in samplers: ``normal``, ``lognormal``,
``center_surround``, ``gabor_v1`` (macaque V1 simple cells), ``dog_color`` (colour-opponent LGN
cells) and ``morlet`` (kymatio's Morlet wavelets, a designed reference that ignores the generator),
then those of installed packages' ``synthlib.samplers`` entry points (``registry.load_plugins``).
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
    ENTRY_POINT_GROUP,
    SamplerInfo,
    get_sampler,
    load_plugins,
    plugin_sampler_names,
    register_sampler,
    resolve_params,
    sample_kernels,
    sampler_names,
    unregister_sampler,
)

load_plugins()

__all__ = [
    "ENTRY_POINT_GROUP",
    "SamplerInfo",
    "get_sampler",
    "load_plugins",
    "plugin_sampler_names",
    "register_sampler",
    "resolve_params",
    "sample_kernels",
    "sampler_names",
    "unregister_sampler",
]
