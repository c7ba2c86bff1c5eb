"""Secrets out of text: every URL cut to its scheme and host before it is logged or printed."""

from __future__ import annotations

import re

# scheme://[userinfo@]host[:port][,host2…][/path|?query|#fragment]
_URL = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^@\s'\"]+@)?([^/?#\s'\"]+)([/?#][^\s'\"]*)?")


def redact_urls(text: str) -> str:
    """``text`` with every URL cut to its scheme and host: node providers put the API key in
    the path (``https://mainnet.infura.io/v3/<key>`` → ``https://mainnet.infura.io/…``) or
    the query, and service URLs carry ``user:password@`` (``esdb://admin:pw@host:2113`` →
    ``esdb://host:2113``, ``nats://…``, ``https://…`` of ClickHouse); logs, error messages
    and settings dumps must carry none of it."""
    return _URL.sub(lambda m: m[1] + m[2] + ("/…" if m[3] else ""), text)
