"""Exchange connectors' parsing core: raw venue frames in, envelopes out, with ccxt's parsers.

The same code serves the live feed (frames off a websocket), replays of recordings and tests:
a ``Connector`` does no I/O. ::

    connector = connector_for("binance")
    result = connector.parse(RawFrame("binance", received_ns, frame))
    result.envelopes     # PriceUpdate / Trade / OrderBookSnapshot / OrderBookDelta envelopes
    result.resnapshot    # pairs whose book the live feed must fetch again

These modules are the exchange adapters of the core, the one place that imports ccxt.
"""

from __future__ import annotations

from collections.abc import Iterable

from lucent_platform.connectors.base import DEFAULT_DEPTH, Connector, ParseResult
from lucent_platform.connectors.binance import BinanceConnector
from lucent_platform.connectors.books import BookFigures
from lucent_platform.connectors.coinbase import CoinbaseConnector
from lucent_platform.connectors.exchanges import VENUES, venue_for
from lucent_platform.connectors.frames import FrameError, RawFrame
from lucent_platform.connectors.kraken import KrakenConnector
from lucent_platform.connectors.pairs import Instrument, PairError, normalize_pair

_CONNECTORS: dict[str, type[Connector]] = {
    "binance": BinanceConnector,
    "binanceus": BinanceConnector,
    "coinbase": CoinbaseConnector,
    "kraken": KrakenConnector,
}
EXCHANGES = tuple(sorted(_CONNECTORS))


def connector_for(
    exchange: str,
    *,
    markets: object = None,
    pairs: Iterable[str] | None = None,
    depth: int = DEFAULT_DEPTH,
) -> Connector:
    """A fresh connector (its own ccxt instance and books) for one of ``EXCHANGES``.

    ``markets``: None for the markets snapshot shipped under ``connectors/markets/``; the venue's
    raw markets response (or a path to a JSON file of it) to use another; ``[]`` for none, so
    every symbol is mapped by its quote asset. ``pairs``: only envelopes of these pairs (any
    spelling, ``ETH/USDC`` or ``ETH-USDC``) are returned; None for all. ``depth``: levels per
    side in published snapshots.
    """
    venue = venue_for(exchange)
    return _CONNECTORS[venue.id](venue, markets=markets, pairs=pairs, depth=depth)


__all__ = [
    "DEFAULT_DEPTH",
    "EXCHANGES",
    "VENUES",
    "BookFigures",
    "Connector",
    "FrameError",
    "Instrument",
    "PairError",
    "ParseResult",
    "RawFrame",
    "connector_for",
    "normalize_pair",
]
