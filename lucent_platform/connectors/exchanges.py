"""ccxt.pro exchanges built offline, with markets parsed by ccxt from stored exchange responses.

Each venue's markets come from the raw REST response the project ships under
``connectors/markets/`` (see its PROVENANCE.md): Binance ``/api/v3/exchangeInfo``, Coinbase
Exchange ``/products``, Kraken ``/0/public/AssetPairs``. ccxt's own ``fetch_markets`` turns the
response into unified markets: we run it on ccxt's *synchronous* class of the venue with the
instance's ``fetch`` serving the stored response, then hand the markets to the ccxt.pro instance
with ``set_markets``. Synchronous on purpose: ``connector_for`` may be called from inside the
live feed's running event loop, where ``asyncio.run(load_markets())`` is not allowed; and
Coinbase Exchange builds markets only inside ``fetch_markets`` (its ``parse_market`` raises
``NotSupported``), so going through ``fetch_markets`` is the one path that works for all three.
Nothing here opens a socket: any request other than the stored one raises.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ccxt.pro

MARKETS_DIR = Path(__file__).parent / "markets"


@dataclass(frozen=True)
class Venue:
    """How one of our venue ids maps onto ccxt."""

    id: str  # our venue id, lower-case: the ``exchange`` of envelopes and topics
    ccxt_id: str  # the ccxt (and ccxt.pro) class
    ws_url_key: str | None  # key of ``urls['api']['ws']`` for the public feed; None: a plain URL
    markets_file: str | None  # stored raw markets response under MARKETS_DIR, if we ship one
    options: dict[str, Any] = field(default_factory=dict)


VENUES: dict[str, Venue] = {
    venue.id: venue
    for venue in (
        # only spot markets: the stored exchangeInfo is the spot one, so fetch_markets must not
        # ask for the futures endpoints (fapi/dapi) it would otherwise request too
        Venue("binance", "binance", "spot", "binance_exchangeInfo.json",
              {"fetchMarkets": {"types": ["spot"]}}),
        Venue("binanceus", "binanceus", "spot", None, {"fetchMarkets": {"types": ["spot"]}}),
        Venue("coinbase", "coinbaseexchange", None, "coinbase_products.json"),
        Venue("kraken", "kraken", "public", "kraken_AssetPairs.json"),
    )
}  # fmt: skip


class OfflineFetchError(RuntimeError):
    """ccxt asked for something other than the stored markets response."""


def venue_for(exchange: str) -> Venue:
    venue = VENUES.get(exchange)
    if venue is None:
        raise ValueError(f"unknown exchange {exchange!r}; known: {sorted(VENUES)}")
    return venue


def ws_url(exchange: ccxt.pro.Exchange, venue: Venue) -> str:
    """The public websocket URL ccxt would connect to (handlers look at it, see capture.py)."""
    urls = exchange.urls["api"]["ws"]
    return str(urls if venue.ws_url_key is None else urls[venue.ws_url_key])


def build_exchange(venue: Venue, markets: object = None) -> ccxt.pro.Exchange:
    """A ccxt.pro instance of ``venue`` with markets set, never touching the network.

    ``markets``: None for the snapshot we ship (no markets for a venue without one); the venue's
    raw markets response (the JSON value ``fetch_markets`` would receive); or a path to a file
    holding it. An empty list means no markets: every symbol then goes by the quote fallback.
    """
    import ccxt.pro  # here, not at the top: importing ccxt takes seconds (every exchange)

    options = copy.deepcopy(venue.options)  # ccxt may write into its options
    exchange: ccxt.pro.Exchange = getattr(ccxt.pro, venue.ccxt_id)({"options": options})
    exchange.set_markets(list(_markets(venue, markets)))
    return exchange


def _markets(venue: Venue, markets: object) -> tuple[dict[str, Any], ...]:
    if markets is None:
        return _shipped_markets(venue.id) if venue.markets_file else ()
    if isinstance(markets, str | Path):
        markets = json.loads(Path(markets).read_text())
    if markets == []:
        return ()
    return _parse_markets(venue, markets)


@cache
def _shipped_markets(venue_id: str) -> tuple[dict[str, Any], ...]:
    venue = VENUES[venue_id]
    if venue.markets_file is None:
        return ()
    raw = json.loads((MARKETS_DIR / venue.markets_file).read_text())
    return _parse_markets(venue, raw)


def _parse_markets(venue: Venue, response: object) -> tuple[dict[str, Any], ...]:
    """ccxt's own ``fetch_markets`` over a stored response (sync class, stubbed ``fetch``)."""
    import ccxt

    exchange = getattr(ccxt, venue.ccxt_id)({"options": copy.deepcopy(venue.options)})

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> object:
        if _is_markets_url(venue, url):
            return response
        raise OfflineFetchError(f"{venue.id}: no stored response for {method} {url}")

    exchange.fetch = fetch
    return tuple(exchange.fetch_markets())


def _is_markets_url(venue: Venue, url: str) -> bool:
    path = url.split("?", 1)[0]
    return path.endswith(("/exchangeInfo", "/products", "/AssetPairs"))


def ensure_market(exchange: ccxt.pro.Exchange, market_id: str, base: str, quote: str) -> str:
    """Register a plain spot market for an id missing from the markets; its unified symbol.

    Coinbase's trade parser looks its symbol up with ``exchange.market()``, which raises for an
    unknown product; with this market added, ccxt parses the frame like any other.
    """
    found = exchange.markets_by_id.get(market_id) if exchange.markets_by_id else None
    if found:
        return str(found[0]["symbol"])
    symbol = f"{base}/{quote}"
    market = {
        "id": market_id,
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "baseId": base,
        "quoteId": quote,
        "type": "spot",
        "spot": True,
        "active": None,
        "info": {"synthetic": True},
    }
    known = list(exchange.markets.values()) if exchange.markets else []
    exchange.set_markets([*known, market])
    return symbol
