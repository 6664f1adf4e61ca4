"""A name -> sampler registry.

A *sampler* is a plain function

    sampler(out_channels, in_channels, size, generator, **params) -> Tensor

returning convolution weights of shape ``(out_channels, in_channels, size, size)`` in float32 on
the CPU, drawn only from ``generator``. Adding a sampler is one decorated function::

    @register_sampler("uniform", presets={"small": {"half_width": 0.1}})
    def uniform(out_channels, in_channels, size, generator, *, half_width=1.0):
        shape = (out_channels, in_channels, size, size)
        return (torch.rand(shape, generator=generator) * 2 - 1) * half_width

Presets are named parameter sets (e.g. "what the paper's text says" versus "what the authors'
code did"); explicit keyword arguments override a preset's values.

Dale's law is an option of every sampler, not a sampler: ``sample_kernels(...,
dale_inhibitory_fraction=0.2)`` makes each output channel single-signed after the sampler has
drawn (see ``synthlib.samplers.dale``).

A *designed* filter bank (e.g. Morlet wavelets) is registered with ``deterministic=True``: it
takes the generator to keep the one calling convention but ignores it, so every seed gives the
same kernels and repeated draws of it are copies, not samples.

Installed packages add samplers through the ``synthlib.samplers`` entry-point group (the standard
plug-in mechanism, ``importlib.metadata``), e.g. in the package's ``pyproject.toml``::

    [project.entry-points."synthlib.samplers"]
    laplace = "my_package.samplers:laplace"

``load_plugins`` (called when ``synthlib.samplers`` is imported) registers each entry point's function
under the entry point's name; an entry point may also name a module whose import registers its samplers
with ``register_sampler``. A plug-in that fails to load is reported in a warning and left out.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from synthlib.samplers.dale import apply_dale, check_inhibitory_fraction

SamplerFn = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class SamplerInfo:
    """A registered sampler: its function, its named presets, and whether it ignores the generator
    (``deterministic``: a designed filter bank, the same kernels for every seed)."""

    name: str
    fn: SamplerFn
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    deterministic: bool = False

    @property
    def description(self) -> str:
        doc = (self.fn.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else self.name


_REGISTRY: dict[str, SamplerInfo] = {}


def register_sampler(
    name: str, presets: Mapping[str, Mapping[str, Any]] | None = None, *, deterministic: bool = False
) -> Callable[[SamplerFn], SamplerFn]:
    """Register ``fn`` under ``name`` (decorator). Names are unique.

    ``deterministic=True`` declares that ``fn`` ignores its generator (a designed, not sampled,
    filter bank): the same arguments give the same kernels whatever the seed.
    """

    def decorator(fn: SamplerFn) -> SamplerFn:
        if name in _REGISTRY:
            raise ValueError(f"a sampler named {name!r} is already registered")
        _REGISTRY[name] = SamplerInfo(name=name, fn=fn, presets=dict(presets or {}), deterministic=deterministic)
        return fn

    return decorator


def unregister_sampler(name: str) -> None:
    """Remove a sampler (e.g. one a test or an evaluation registered for a while)."""
    _REGISTRY.pop(name, None)
    _PLUGINS.pop(name, None)


ENTRY_POINT_GROUP = "synthlib.samplers"
"""The entry-point group through which installed packages register samplers."""

_PLUGINS: dict[str, str] = {}  # sampler name -> the entry point that registered it ("name = value")


def load_plugins(entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> list[str]:
    """Register the samplers of the ``synthlib.samplers`` entry points (None: those of the installed
    packages); returns the names registered. An entry point whose object is a function registers it
    under the entry point's name (unless that function is registered already); one whose object is a
    module registers what the module's import registered. A name taken by another sampler, or an entry
    point that cannot be loaded, is skipped with a warning: a broken plug-in never breaks the library."""
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    added = []
    for entry in entry_points:
        before = set(_REGISTRY)
        try:
            loaded = entry.load()
            if isinstance(loaded, types.ModuleType):
                names = sorted(set(_REGISTRY) - before)
            elif callable(loaded):
                known = [info.name for info in _REGISTRY.values() if info.fn is loaded]
                names = known or [entry.name]
                if not known:
                    register_sampler(entry.name)(loaded)
            else:
                raise TypeError(f"{entry.value} is neither a sampler function nor a module")
        except Exception as error:  # a plug-in's failure is its own; the library goes on without it
            warnings.warn(
                f"sampler plug-in {entry.name!r} ({entry.value}) was not loaded: {type(error).__name__}: {error}",
                stacklevel=2,
            )
            continue
        for name in names:
            _PLUGINS.setdefault(name, f"{entry.name} = {entry.value}")
        added += names
    return added


def plugin_sampler_names() -> list[str]:
    """The registered samplers that came from entry points (``load_plugins``), sorted."""
    return sorted(name for name in _PLUGINS if name in _REGISTRY)


def sampler_names() -> list[str]:
    """Names of all registered samplers, sorted."""
    return sorted(_REGISTRY)


def get_sampler(name: str) -> SamplerInfo:
    """Look a sampler up by name; an unknown name lists the valid ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; valid samplers are: {', '.join(sampler_names())}") from None


def sampler_defaults(name: str) -> dict[str, Any]:
    """The keyword-only parameters of sampler ``name`` with their default values."""
    parameters = inspect.signature(get_sampler(name).fn).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is not p.empty}


def resolve_params(
    name: str, preset: str | None = None, *, with_defaults: bool = False, **params: Any
) -> dict[str, Any]:
    """The keyword arguments a sampler gets: the preset's values, overridden by ``params``; with
    ``with_defaults``, on top of the function's own defaults (every parameter it will use)."""
    info = get_sampler(name)
    if preset is not None and preset not in info.presets:
        valid = ", ".join(sorted(info.presets)) or "(none)"
        raise ValueError(f"sampler {name!r} has no preset {preset!r}; valid presets are: {valid}")
    chosen = {**(info.presets[preset] if preset is not None else {}), **params}
    return {**sampler_defaults(name), **chosen} if with_defaults else chosen


def _check_sizes(out_channels: int, in_channels: int, size: int) -> None:
    for label, value in (("out_channels", out_channels), ("in_channels", in_channels), ("size", size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")


def sample_kernels(
    name: str,
    out_channels: int,
    in_channels: int,
    size: int,
    generator: torch.Generator,
    preset: str | None = None,
    *,
    dale_inhibitory_fraction: float | None = None,
    **params: Any,
) -> torch.Tensor:
    """Draw a ``(out_channels, in_channels, size, size)`` float32 weight tensor on the CPU.

    ``generator`` must be a CPU ``torch.Generator``; it is the only source of randomness, so the
    same generator state always gives the same kernels. Move the result to a device afterwards.

    ``dale_inhibitory_fraction`` (None: off) applies Dale's law after the sampler: exactly
    ``round(fraction * out_channels)`` output channels, chosen uniformly at random, become
    ``-|w|`` and the rest ``+|w|`` (``synthlib.samplers.dale.apply_dale``). The choice is drawn
    from ``generator`` after all of the sampler's own draws, so the magnitudes are the kernels
    drawn without the option, and with None the draws are exactly those of the sampler alone.
    It is not the ``lognormal`` sampler's own ``inhibitory_fraction`` parameter (a per-kernel coin
    of its ``"inhibitory_fraction"`` sign rule), which ``params`` passes through unchanged.
    """
    _check_sizes(out_channels, in_channels, size)
    if generator.device.type != "cpu":
        raise ValueError("samplers draw on the CPU: pass a CPU torch.Generator and move the weights after")
    if dale_inhibitory_fraction is not None:
        check_inhibitory_fraction(dale_inhibitory_fraction)
    out_channels, in_channels, size = int(out_channels), int(in_channels), int(size)
    kwargs = resolve_params(name, preset, with_defaults=True, **params)
    weights = get_sampler(name).fn(out_channels, in_channels, size, generator, **kwargs)
    expected = (out_channels, in_channels, size, size)
    if tuple(weights.shape) != expected:
        raise RuntimeError(f"sampler {name!r} returned shape {tuple(weights.shape)}, expected {expected}")
    weights = weights.to(torch.float32)
    if dale_inhibitory_fraction is not None:
        weights = apply_dale(weights, dale_inhibitory_fraction, generator)
    return weights
