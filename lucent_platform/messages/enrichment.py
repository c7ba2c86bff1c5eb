"""Derived figures the processor adds to a normalized price update (``data.enrichment``).

Connectors never set them; the processor does, from the price updates and order books it has
seen (``lucent_platform.processing.enrichment``). Every figure is optional: a series too
short for a span, a pair quoted on one venue only, or a venue without a book leaves it out.
An enriched Binance BTC-USDT ticker::

    "enrichment": {
      "movingAverages": [{"span": 20, "sma": 60012.4, "ema": 60013.1},
                         {"span": 50, "sma": 60009.8, "ema": 60010.6}],
      "volatility": 0.000084, "volatilityWindow": 50,
      "crossVenue": {"bestBidExchange": "kraken", "bestBid": 60018.2,
                     "bestAskExchange": "coinbase", "bestAsk": 60021.0,
                     "buyHereBps": 0.6, "sellHereBps": -1.5},
      "depth": {"bandBps": 10.0, "mid": 60014.15, "bidSize": 7.8, "askSize": 6.9, "ageMs": 210}}
"""

from __future__ import annotations

from lucent_platform.messages.base import Int64, WireStruct


class MovingAverage(WireStruct, frozen=True):
    """Simple and exponential moving averages of the venue's price over ``span`` updates
    (EMA weight ``2 / (span + 1)``), in quote units; given once ``span`` updates are seen."""

    span: Int64
    sma: float
    ema: float


class CrossVenueSpread(WireStruct, frozen=True):
    """This venue against the best current quotes of the pair's other venues.

    ``bestBid``/``bestAsk`` are the highest bid and the lowest ask among the other venues
    (quotes no older than the processor's quote TTL), with the venue of each.
    ``buyHereBps = (bestBid - ask) / ask`` and ``sellHereBps = (bid - bestAsk) / bestAsk``, in
    basis points, with this venue's own bid/ask (its price when it quotes none): positive
    means buying here and selling there (or the reverse) gains before fees.
    """

    best_bid_exchange: str
    best_bid: float
    best_ask_exchange: str
    best_ask: float
    buy_here_bps: float
    sell_here_bps: float


class BookDepth(WireStruct, frozen=True):
    """Liquidity within ``bandBps`` of the venue's order-book mid, in base-asset units.

    From the latest book of the same venue and pair (snapshot plus deltas, in sequence);
    ``ageMs`` is this update's event time minus the book's last change.
    """

    band_bps: float
    mid: float
    bid_size: float
    ask_size: float
    age_ms: Int64


class PriceEnrichment(WireStruct, frozen=True):
    """Moving averages, volatility, cross-venue spread and book depth of one price update.

    ``volatility`` is the sample standard deviation of the last ``volatilityWindow``
    update-to-update log returns of this venue's price (dimensionless: 0.0001 is 1 bp per
    update; not annualised, since updates are not evenly spaced).
    """

    moving_averages: list[MovingAverage] | None = None
    volatility: float | None = None
    volatility_window: Int64 | None = None
    cross_venue: CrossVenueSpread | None = None
    depth: BookDepth | None = None
