"""How a resource finds its service: its own config first, else the settings / running stack."""

from __future__ import annotations

from lucent_platform.config import Settings, load_settings
from lucent_platform.stack.endpoints import Endpoints, resolve


def platform_settings() -> Settings:
    """Read at execution time (never at import), so definitions load anywhere."""
    return load_settings()


def platform_endpoints(settings: Settings) -> Endpoints:
    return resolve(settings)
