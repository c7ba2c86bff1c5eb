"""Kraken public websocket frames → envelopes, both protocol versions, with ccxt's parsers.

Kraken runs two public feeds, and one connector reads both, frame by frame:

- v1 (``wss://ws.kraken.com``): data frames are lists, ``[321, [["58721.20000",
  "0.02798644", "1617666461.465618", "s", "m", ""]], "trade", "XBT/USD"]``; events are
  objects with an ``event``. The shared recordings are v1. See ``kraken_v1.py``.
- v2 (``wss://ws.kraken.com/v2``): every frame is an object with a ``channel`` (data,
  heartbeat, status) or a ``method`` (responses to requests), ``{"channel": "trade", "type":
  "update", "data": [{"symbol": "MATIC/USD", "side": "sell", "price": 0.5117, …}]}``. ccxt.pro
  4.5 subscribes on v2, so the live feed receives these. See ``kraken_v2.py`` and
  ``kraken_v2_book.py``.

Both map to the same envelopes: pairs normalised alike (``XBT``→``BTC``), the same quality
marks, books checked against the version's checksum and re-snapshotted on a mismatch.
"""

from __future__ import annotations

from typing import Any

from lucent_platform.connectors.base import ParseResult
from lucent_platform.connectors.kraken_v1 import KrakenV1
from lucent_platform.connectors.kraken_v2 import KrakenV2


class KrakenConnector(KrakenV2, KrakenV1):
    """Kraken websocket public frames, v1 and v2: ticker, trade, spread (v1) and book."""

    def _parse(self, message: Any, received_ms: int, url: str | None) -> ParseResult:
        if isinstance(message, dict) and ("channel" in message or "method" in message):
            return self._parse_v2(message, received_ms)
        return self._parse_v1(message, received_ms)
