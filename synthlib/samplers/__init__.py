"""Weight samplers: plain functions registered by name (see ``registry``).

Importing this package registers the built-in samplers: ``normal``, ``lognormal`` and
``center_surround``.
"""

from synthlib.samplers import center_surround, lognormal, normal  # noqa: F401  (registers them)
from synthlib.samplers.registry import (
    SamplerInfo,
    get_sampler,
    register_sampler,
    resolve_params,
    sample_kernels,
    sampler_names,
)

__all__ = ["SamplerInfo", "get_sampler", "register_sampler", "resolve_params", "sample_kernels", "sampler_names"]
