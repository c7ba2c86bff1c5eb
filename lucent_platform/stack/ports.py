"""Loopback ports: pick free ones, refuse busy ones with a message that says what to fix."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

from lucent_platform.stack.errors import StackError

LOOPBACK = "127.0.0.1"  # the local broker listens on IPv4 only (DESIGN.md)


def free_port(host: str = LOOPBACK) -> int:
    """A port the OS reports free right now (bind to 0, read it back, release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def claim_port(port: int, *, what: str, setting: str, host: str = LOOPBACK) -> int:
    """Return ``port`` (or a free one for 0), or raise if something already holds it."""
    if port == 0:
        return free_port(host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise StackError(
                f"port {port} for {what} is already in use on {host} — stop whatever holds it "
                f"(`lsof -i :{port}`) or set {setting} to another port (0 picks a free one)"
            ) from None
    return port


def metrics_ports(base: int, workers: Sequence[str], host: str = LOOPBACK) -> dict[str, int]:
    """Each worker's metrics port for ``lucent up``: ``base``, ``base + 1``, … in order (a
    busy one refused, naming ``LUCENT_METRICS_PORT``), or a free one each when ``base`` is 0."""
    ports: dict[str, int] = {}
    for i, name in enumerate(workers):
        wanted = base + i if base else 0
        what = f"worker {name}'s metrics"
        ports[name] = claim_port(wanted, what=what, setting="LUCENT_METRICS_PORT", host=host)
    return ports


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
