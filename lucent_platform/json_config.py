"""Typed configs from JSON settings: one reader for every ``LUCENT_*_CONFIG``.

Each stage (the processor's sections, yield, alerts, arbitrage, patterns, quality, datasets,
domain) declares its config as a frozen dataclass with defaults; the setting holds only what
differs. ``from_json`` turns that JSON into the dataclass, naming what is wrong::

    from_json(YieldConfig, {"min_apy": 6}, "yield")          # YieldConfig(min_apy=6.0, …)
    from_json(YieldConfig, {"min_apr": 6}, "yield")          # ValueError: unknown yield config
                                                             # field(s) ['min_apr']: use [...]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


def from_json(
    kind: type[T],
    overrides: Mapping[str, Any],
    what: str,
    *,
    merged: Mapping[str, Mapping[str, Any]] | None = None,
    check: Callable[[T], object] | None = None,
) -> T:
    """``kind`` with ``overrides`` applied (strings convert to numbers where JSON allows).

    ``merged``: fields whose given mapping is laid over a default mapping key by key (fees per
    venue, ages per source) instead of replacing it. ``check``: a further validation of the
    built config (e.g. that its window fields make a valid window). Raises ``ValueError``
    naming ``what`` and the unknown field or bad value."""
    known = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    if wrong := sorted(set(overrides) - known):
        raise ValueError(f"unknown {what} config field(s) {wrong}: use {sorted(known)}")
    values = dict(overrides)
    for name, defaults in (merged or {}).items():
        if isinstance(values.get(name), Mapping):
            values[name] = {**defaults, **values[name]}
    try:
        config = msgspec.convert(values, kind, strict=False)
        if check is not None:
            check(config)
    except (msgspec.ValidationError, ValueError, TypeError) as exc:
        raise ValueError(f"{what} config: {exc}") from None
    return config
