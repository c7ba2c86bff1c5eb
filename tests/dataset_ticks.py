"""Scripted and random inputs for the training-dataset tests, and the per-bar reduction the
dataset's ClickHouse queries perform, written out plainly to compare against."""

from __future__ import annotations

import math
import random

from lucent_platform.datasets.features import QuoteTick, TradeFlow, YieldTick

Ticks = tuple[list[QuoteTick], list[TradeFlow], list[YieldTick]]
VENUES = ("binance", "coinbase", "kraken")


def random_ticks(seed: int, seconds: int = 120, start_ms: int = 0) -> Ticks:
    """Quotes of three venues every ~100 ms (some without sizes or depth), trades and yields,
    each list in event-time order."""
    rng = random.Random(seed)
    quotes, trades, yields = [], [], []
    price = 100.0
    t = start_ms
    while t < start_ms + seconds * 1000:
        t += rng.randint(1, 200)
        price *= math.exp(rng.gauss(0.0, 0.0005))
        venue = rng.choice(VENUES)
        half = price * rng.uniform(0.00005, 0.0005)
        skew = price * rng.gauss(0.0, 0.0002)
        sizes = (rng.uniform(0.1, 5), rng.uniform(0.1, 5)) if venue != "kraken" else (None, None)
        depth = (rng.uniform(1, 50), rng.uniform(1, 50)) if venue == "binance" else (None, None)
        quotes.append(QuoteTick(venue, t, price + skew, price + skew - half, price + skew + half,
                                *sizes, *depth))  # fmt: skip
        if rng.random() < 0.5:
            trades.append(TradeFlow(t, rng.uniform(0.01, 2), rng.choice(("buy", "sell", None))))
        if rng.random() < 0.05:
            pool, asset = rng.choice((("aave/ethereum/btc", "BTC"), ("comp/ethereum/usdt", "USDT")))
            yields.append(YieldTick(pool, asset, t, rng.uniform(1, 8)))
    return quotes, trades, yields


def reduce_per_bar(ticks: Ticks, bar_ms: int) -> Ticks:
    """What ``datasets.source`` asks ClickHouse for: the last quote per venue and bar, trade
    sums per bar and side (stamped with the side's last trade), the last rate per pool and
    bar; each in event-time order."""
    quotes, trades, yields = ticks
    last_quote: dict[tuple[str, int], QuoteTick] = {}
    for q in quotes:
        last_quote[(q.exchange, q.event_ms // bar_ms)] = q
    sums: dict[tuple[int, str | None], list[float]] = {}
    for f in trades:
        held = sums.setdefault((f.event_ms // bar_ms, f.side), [0, 0.0, 0])
        held[0] = max(held[0], f.event_ms)
        held[1] += f.amount
        held[2] += f.count
    flows = [TradeFlow(int(ms), amount, side, int(n))
             for (_, side), (ms, amount, n) in sums.items()]  # fmt: skip
    last_yield: dict[tuple[str, int], YieldTick] = {}
    for y in yields:
        last_yield[(y.pool, y.event_ms // bar_ms)] = y
    return (
        sorted(last_quote.values(), key=lambda q: (q.event_ms, q.exchange)),
        sorted(flows, key=lambda f: f.event_ms),
        sorted(last_yield.values(), key=lambda y: (y.event_ms, y.pool)),
    )
