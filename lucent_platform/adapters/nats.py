"""The NATS adapter: connections with the configured credentials. The only core module
that imports ``nats``."""

from __future__ import annotations

from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from lucent_platform.config import Settings


def connect_options(settings: Settings) -> dict[str, Any]:
    """Credentials from the settings, as ``nats.connect`` keyword arguments."""
    options: dict[str, Any] = {}
    if settings.nats_user:
        options["user"] = settings.nats_user
    if settings.nats_password is not None:
        options["password"] = settings.nats_password.get_secret_value()
    if settings.nats_token is not None:
        options["token"] = settings.nats_token.get_secret_value()
    if settings.nats_creds_file is not None:
        options["user_credentials"] = str(settings.nats_creds_file)
    return options


async def connect(settings: Settings, url: str, *, name: str = "lucent") -> Client:
    """An open connection; fails fast (no endless reconnect) when the server is absent."""
    return await nats.connect(
        servers=[url],
        name=name,
        connect_timeout=5,
        max_reconnect_attempts=5,
        allow_reconnect=True,
        **connect_options(settings),
    )


def jetstream(client: Client) -> JetStreamContext:
    return client.jetstream()
