"""ClickHouse adapter: the one place that builds a clickhouse-connect client.

Every component (sink, Dagster resources, CLI) talks to ClickHouse through this client, whether
the URL points at a production server or at the embedded server
(``lucent_platform.embedded.clickhouse_server``), so DDL, queries and inserts are the same
code in both modes (DESIGN.md, decision 5). This is the only core module that imports
clickhouse_connect.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lucent_platform.redaction import redact_urls

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

    from lucent_platform.config import Settings


def credentials(settings: Settings) -> dict[str, Any]:
    """User, password and TLS CA from the settings, as ``connect`` keyword arguments (every
    caller that has settings passes these, so a new security setting lands everywhere)."""
    options: dict[str, Any] = {
        "username": settings.clickhouse_user,
        "password": settings.clickhouse_password.get_secret_value(),
    }
    if settings.clickhouse_ca_cert is not None:
        options["ca_cert"] = str(settings.clickhouse_ca_cert)
    return options


def explain(exc: BaseException) -> str | None:
    """One line for a ClickHouse connection error that reached the command line (server down,
    refused, its certificate not trusted); None if not one. URLs in it lose their credentials."""
    if not type(exc).__module__.startswith("clickhouse_connect"):
        return None
    from clickhouse_connect.driver.exceptions import OperationalError

    if not isinstance(exc, OperationalError):
        return None
    return (
        f"ClickHouse: {redact_urls(str(exc))} — is the server at LUCENT_CLICKHOUSE_URL up and "
        "reachable, and for https:// does LUCENT_CLICKHOUSE_CA_CERT name the CA that signed "
        "its certificate?"
    )


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (where the embedded server listens)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(
    url: str,
    *,
    username: str = "default",
    password: str = "",
    database: str = "default",
    **kwargs: Any,
) -> Client:
    """Open a clickhouse-connect client for ``url`` (``http[s]://host:port[/proxy_path]``).

    Compression defaults to off for loopback hosts, where it only costs CPU (the embedded
    server accepts compressed request bodies but always answers plain). Remote servers keep
    clickhouse-connect's default (lz4). Pass ``compress=...`` to choose explicitly.

    User and password in the URL take precedence over the arguments. Other keyword arguments
    (``settings``, ``send_receive_timeout``, ...) go to ``clickhouse_connect.get_client``
    unchanged. Call this lazily, never at import time.
    """
    import clickhouse_connect  # deferred: importing it costs ~0.3 s, keep it off import paths

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"ClickHouse URL must look like http://host:8123, got {redact_urls(url)!r}"
        )
    kwargs.setdefault("compress", not is_loopback(parts.hostname))
    if parts.path.strip("/"):
        kwargs.setdefault("proxy_path", parts.path)
    return clickhouse_connect.get_client(
        interface=parts.scheme,
        host=parts.hostname,
        port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username) if parts.username else username,
        password=unquote(parts.password) if parts.password else password,
        database=database,
        **kwargs,
    )
