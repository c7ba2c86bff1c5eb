"""Exchange market data: price updates, trades and order books (CEX and DEX venues).

Prices and sizes are Float64 as in the design record; sizes and volumes are in base-asset units
(``BTC`` for ``BTC-USDT``), prices in quote-asset units. Pairs are normalised ``BASE-QUOTE``
upper-case (``ETH-USDC``); exchanges are lower-case venue ids (``binance``).
"""

from __future__ import annotations

from typing import Literal

from lucent_platform.messages.base import Int64, MessageData, PriceLevel, WireStruct
from lucent_platform.messages.enrichment import PriceEnrichment


class Liquidity(WireStruct, frozen=True):
    """Size resting at the best bid and best ask, in base-asset units."""

    bid_size: float
    ask_size: float


class PriceUpdate(MessageData, frozen=True):
    """A venue's current price for a pair (``messageType`` ``price_update``).

    Only ``exchange``, ``pair`` and ``price`` are always known: a book-ticker feed has no 24-hour
    statistics and an oracle round has no book, so the rest are ``None`` rather than a made-up
    zero. ``change24h`` is in percent (``2.45`` is +2.45 %), ``spread`` is ``ask - bid`` in
    quote units. ``enrichment`` is set by the processor on normalized updates only (schema v2;
    v1 data, without it, still decodes). ``chain``/``blockNumber``/``txHash``/``logIndex``
    (schema v3) locate a DEX price decoded from a chain log, as on ``Liquidation``. The design
    record's example ``data``::

        {"exchange": "binance", "pair": "ETH-USDC", "price": 2847.52,
         "volume24h": 1234567.89, "change24h": 2.45, "bid": 2847.40, "ask": 2847.60,
         "spread": 0.20, "liquidity": {"bidSize": 100.5, "askSize": 85.3}}
    """

    message_type = "price_update"
    schema_version = 3

    exchange: str
    pair: str
    price: float
    volume24h: float | None = None
    change24h: float | None = None
    bid: float | None = None
    ask: float | None = None
    spread: float | None = None
    liquidity: Liquidity | None = None
    enrichment: PriceEnrichment | None = None
    chain: str | None = None
    block_number: Int64 | None = None
    tx_hash: str | None = None
    log_index: Int64 | None = None


class Trade(MessageData, frozen=True):
    """One executed trade (``messageType`` ``trade``).

    ``side`` is the taker's side, ``None`` where the venue does not say; ``tradeId`` is the
    venue's id, ``None`` where it gives none (Kraken's v1 trade feed). ``chain``/``blockNumber``/
    ``txHash``/``logIndex`` (schema v2) locate a DEX swap decoded from a chain log. From the
    recorded Binance aggTrade
    ``{"s":"BTCUSDT","a":665076760,"p":"58001.03000000","q":"0.08620500","m":true}``
    (buyer is maker, so the taker sold)::

        {"exchange": "binance", "pair": "BTC-USDT", "price": 58001.03, "amount": 0.086205,
         "tradeId": "665076760", "side": "sell"}
    """

    message_type = "trade"
    schema_version = 2

    exchange: str
    pair: str
    price: float
    amount: float
    trade_id: str | None = None
    side: Literal["buy", "sell"] | None = None
    chain: str | None = None
    block_number: Int64 | None = None
    tx_hash: str | None = None
    log_index: Int64 | None = None


class OrderBookSnapshot(MessageData, frozen=True):
    """A full order book (``messageType`` ``orderbook_snapshot``), best level first.

    ``sequence`` is the venue's book sequence where it has one (Binance ``lastUpdateId``), used to
    line up the deltas that follow. From the recorded Binance DOTUSDT depth snapshot::

        {"exchange": "binance", "pair": "DOT-USDT", "sequence": 1513939277,
         "bids": [[43.5224, 0.28], [43.522, 4.59]], "asks": [[43.5225, 625.7], [43.5257, 22.08]]}
    """

    message_type = "orderbook_snapshot"

    exchange: str
    pair: str
    bids: list[PriceLevel]
    asks: list[PriceLevel]
    sequence: Int64 | None = None


class OrderBookDelta(MessageData, frozen=True):
    """Changed order-book levels (``messageType`` ``orderbook_delta``).

    Each level carries the new total size at that price; size ``0`` removes the level.
    ``firstSequence``/``sequence`` are the first and last venue update ids covered (Binance
    ``U``/``u``) where the venue gives them. From the recorded Binance ETHUSDT depthUpdate::

        {"exchange": "binance", "pair": "ETH-USDT", "firstSequence": 6591598764,
         "sequence": 6591598769, "bids": [[2033.0, 175.43634]],
         "asks": [[2066.07, 0.0], [2066.66, 55.41648]]}
    """

    message_type = "orderbook_delta"

    exchange: str
    pair: str
    bids: list[PriceLevel]
    asks: list[PriceLevel]
    first_sequence: Int64 | None = None
    sequence: Int64 | None = None
