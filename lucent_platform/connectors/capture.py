"""A stand-in for ccxt's websocket ``Client`` that records what ccxt's handlers hand back.

ccxt.pro's ``exchange.handle_message(client, message)`` parses a frame and calls
``client.resolve(result, message_hash)`` (or ``client.reject(error, message_hash)``) so that
pending ``watch_*`` futures wake up. Feeding frames to it with this client instead of a live
connection turns ccxt's parsers into a pure "frame in, values out" function: nothing is awaited,
nothing is sent. The attributes are the ones the Binance, Coinbase Exchange and Kraken handlers
touch (``ccxt/async_support/base/ws/client.py`` has the real ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Captured:
    """What one ``handle_message`` call produced, in call order."""

    resolved: list[tuple[str, Any]] = field(default_factory=list)
    rejected: list[tuple[str | None, Any]] = field(default_factory=list)

    def values(self, prefix: str) -> list[Any]:
        """Resolved values whose message hash starts with ``prefix``, each object once.

        ccxt resolves one value under several hashes (Coinbase tickers: by symbol and by market
        id; Binance bid/asks: per symbol and as a batch), so duplicates are dropped by identity.
        """
        seen: set[int] = set()
        out = []
        for message_hash, value in self.resolved:
            if message_hash.startswith(prefix) and id(value) not in seen:
                seen.add(id(value))
                out.append(value)
        return out


class CapturingClient:
    """Quacks like ``ccxt.async_support.base.ws.client.Client`` for the message handlers."""

    def __init__(self, url: str) -> None:
        self.url = url  # Binance tells spot from futures by it; Coinbase tells auth by a "?"
        self.subscriptions: dict[str, Any] = {}  # ccxt deletes a book's entry when it drops it
        self.futures: dict[str, Any] = {}
        self.rejections: dict[str, Any] = {}
        self.lastPong: int | None = None  # Kraken's pong handler sets it
        self.sent: list[Any] = []
        self.verbose = False
        self._captured = Captured()

    def resolve(self, result: Any, message_hash: str | None = None) -> Any:
        self._captured.resolved.append((str(message_hash), result))
        return result

    def reject(self, result: Any, message_hash: str | None = None) -> Any:
        self._captured.rejected.append((message_hash, result))
        return result

    def reset(self, error: Any) -> None:
        # Binance calls it on a fatal websocket-API error: the connection would be closed.
        self._captured.rejected.append((None, error))

    def future(self, message_hash: str) -> None:
        raise RuntimeError("no futures offline: the capturing client never waits")

    async def send(self, message: Any) -> None:
        self.sent.append(message)

    def take(self) -> Captured:
        """What was captured since the last ``take``; starts a fresh record."""
        captured, self._captured = self._captured, Captured()
        return captured
