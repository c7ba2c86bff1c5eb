"""Features of one pair per bar, the same online (the predictions worker) and offline
(the training datasets): one ``PairFeatures`` fed in event-time order either way.

Inputs are three small values: a venue's ``QuoteTick`` (price, bid/ask, top-of-book sizes and
the processor's book depth), a ``TradeFlow`` (traded amount on one side) and a ``YieldTick``
(a pool's APY). Quotes drive the bar clock: a quote at or past the open bar's end closes that
bar (and any empty ones before it) and yields a ``FeatureRow`` stamped with the bar's end;
``advance(t)`` closes bars ending by ``t`` when the caller knows all input up to ``t`` is in
(the end of a dataset's range, the worker's reorder watermark). Trades and yields wait until
the bar they fall in closes. So **a row at time t uses only data
with event time < t** (point-in-time correct by construction); anything older than the open
bar when it arrives is late, counted and ignored (online only: offline input is sorted).

A bar's figures depend only on each venue's latest quote, the bar's trade sums and each pool's
latest rate, which is why a dataset may read just the last quote per venue per bar and
per-bar trade sums from ClickHouse and still get exactly the rows the worker computes from
every update (``tests/test_datasets_features.py`` checks it).

The figures come from the processor's own definitions: moving averages and log-return
volatility from ``processing.rolling.PriceSeries`` (over bar closes instead of updates), the
cross-venue spread from ``processing.enrichment.cross_venue``, imbalances from
``processing.enrichment.book_imbalance``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from lucent_platform.datasets.config import DatasetConfig
from lucent_platform.processing.enrichment import book_imbalance, cross_venue
from lucent_platform.processing.rolling import PriceSeries

NAN = float("nan")
FeatureRow = dict[str, float | int | str]
"""``time`` (bar end, UTC ms), ``pair``, ``close`` and one float per ``feature_names``."""


@dataclass(frozen=True, slots=True)
class QuoteTick:
    """A venue's price update: ``bid``/``ask`` fall back to ``price`` where the venue quotes
    no book; sizes in base units (top of book, and within the processor's depth band)."""

    exchange: str
    event_ms: int
    price: float
    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None
    depth_bid: float | None = None
    depth_ask: float | None = None


@dataclass(frozen=True, slots=True)
class TradeFlow:
    """``count`` trades of ``amount`` base units in total on the taker's ``side``."""

    event_ms: int
    amount: float
    side: str | None = None
    count: int = 1


@dataclass(frozen=True, slots=True)
class YieldTick:
    """A pool's (``protocol/chain/pool``) APY in percent for ``asset``."""

    pool: str
    asset: str
    event_ms: int
    apy: float


class VenueQuote:
    """A venue's latest quote (``enrichment.Quoted``)."""

    __slots__ = ("ask", "ask_size", "bid", "bid_size", "depth_ask", "depth_bid", "event_ms")

    def __init__(self, tick: QuoteTick) -> None:
        self.event_ms = tick.event_ms
        self.bid = tick.bid if tick.bid is not None else tick.price
        self.ask = tick.ask if tick.ask is not None else tick.price
        self.bid_size, self.ask_size = tick.bid_size, tick.ask_size
        self.depth_bid, self.depth_ask = tick.depth_bid, tick.depth_ask

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


def feature_names(config: DatasetConfig) -> list[str]:
    """The model's inputs, in column order."""
    names = [f"ret_{lag}" for lag in config.return_lags]
    for span in config.spans:
        names += [f"sma_gap_{span}", f"ema_gap_{span}"]
    return [
        *names,
        "volatility",
        "venues",
        "cross_spread_bps",
        "quoted_spread_bps",
        "top_imbalance",
        "depth_imbalance",
        "volume",
        "volume_ratio",
        "trade_imbalance",
        "trades",
        "base_apy",
        "quote_apy",
    ]


class PairFeatures:
    """One pair's bar clock and state; ``add_*`` return the rows of the bars they closed."""

    def __init__(self, pair: str, config: DatasetConfig) -> None:
        self.pair = pair
        self.config = config
        self.base, _, self.quote = pair.partition("-")
        self.bar_ms = config.interval_ms
        self.bar_end: int | None = None
        self.late = 0
        self._venues: dict[str, VenueQuote] = {}
        self._series = PriceSeries(config.spans, config.volatility_window)
        self._closes: deque[tuple[int, float]] = deque(maxlen=max(config.return_lags))
        self._volumes: deque[float] = deque(maxlen=config.volume_window)
        self._pending: list[TradeFlow | YieldTick] = []
        self._apy: dict[str, tuple[int, str, float]] = {}  # pool → (event ms, asset, apy)

    def add_quote(self, tick: QuoteTick) -> list[FeatureRow]:
        if self._is_late(tick.event_ms):
            return []
        rows = self.advance(tick.event_ms)
        held = self._venues.get(tick.exchange)
        if held is None or tick.event_ms >= held.event_ms:
            self._venues[tick.exchange] = VenueQuote(tick)
        return rows

    def add_trades(self, flow: TradeFlow) -> None:
        if not self._is_late(flow.event_ms):
            self._pending.append(flow)

    def add_yield(self, tick: YieldTick) -> None:
        if not self._is_late(tick.event_ms):
            self._pending.append(tick)

    def advance(self, until_ms: int) -> list[FeatureRow]:
        """Close every bar that ends at or before ``until_ms``; their rows (none for a bar
        when no venue's quote is current at its end: a gap; the moving averages and
        volatility skip it, returns and labels across it are NaN)."""
        rows = []
        while self.bar_end is not None and self.bar_end <= until_ms:
            row = self._close(self.bar_end)
            if row is not None:
                rows.append(row)
            self.bar_end += self.bar_ms
        return rows

    # --- internals -----------------------------------------------------------------------
    def _is_late(self, event_ms: int) -> bool:
        if self.bar_end is None:  # the first input starts the clock
            self.bar_end = event_ms - event_ms % self.bar_ms + self.bar_ms
        if event_ms < self.bar_end - self.bar_ms:
            self.late += 1
            return True
        return False

    def _close(self, end: int) -> FeatureRow | None:
        volume = buys = sells = 0.0
        trades = 0
        keep: list[TradeFlow | YieldTick] = []
        for item in self._pending:
            if item.event_ms >= end:
                keep.append(item)
            elif isinstance(item, TradeFlow):
                volume += item.amount
                trades += item.count
                buys += item.amount if item.side == "buy" else 0.0
                sells += item.amount if item.side == "sell" else 0.0
            else:
                held = self._apy.get(item.pool)
                if held is None or item.event_ms >= held[0]:
                    self._apy[item.pool] = (item.event_ms, item.asset, item.apy)
        self._pending = keep
        past_volumes = list(self._volumes)
        self._volumes.append(volume)
        return self._row(end, volume, buys, sells, trades, past_volumes)

    def _row(
        self,
        end: int,
        volume: float,
        buys: float,
        sells: float,
        trades: int,
        past_volumes: list[float],
    ) -> FeatureRow | None:
        config = self.config
        ttl = config.quote_ttl_ms
        current = {v: q for v, q in self._venues.items() if end - q.event_ms <= ttl}
        if not current:  # no venue quoted lately: a gap, not a row of stale prices
            return None
        close = math.fsum(q.mid for q in current.values()) / len(current)
        self._series.update(close)
        past = dict(self._closes)
        self._closes.append((end, close))
        row: FeatureRow = {"time": end, "pair": self.pair, "close": close}
        for lag in config.return_lags:
            before = past.get(end - lag * self.bar_ms)
            row[f"ret_{lag}"] = NAN if before is None else math.log(close / before)
        averages = {m.span: m for m in self._series.moving_averages() or ()}
        for span in config.spans:
            m = averages.get(span)
            row[f"sma_gap_{span}"] = close / m.sma - 1.0 if m else NAN
            row[f"ema_gap_{span}"] = close / m.ema - 1.0 if m else NAN
        volatility = self._series.volatility()
        row["volatility"] = NAN if volatility is None else volatility
        row["venues"] = float(len(current))
        row["cross_spread_bps"] = _best_cross(current, end, ttl)
        row["quoted_spread_bps"] = _mean(
            [(q.ask - q.bid) / q.mid * 10_000.0 for q in current.values()]
        )
        row["top_imbalance"] = _imbalance([(q.bid_size, q.ask_size) for q in current.values()])
        row["depth_imbalance"] = _imbalance([(q.depth_bid, q.depth_ask) for q in current.values()])
        row["volume"] = volume
        mean_volume = sum(past_volumes) / len(past_volumes) if past_volumes else 0.0
        row["volume_ratio"] = volume / mean_volume if mean_volume > 0.0 else NAN
        trade_imbalance = book_imbalance(buys, sells)
        row["trade_imbalance"] = NAN if trade_imbalance is None else trade_imbalance
        row["trades"] = float(trades)
        row["base_apy"] = self._asset_apy(self.base)
        row["quote_apy"] = self._asset_apy(self.quote)
        return row

    def _asset_apy(self, asset: str) -> float:
        return _mean([apy for _, held, apy in self._apy.values() if held == asset])


def _best_cross(current: dict[str, VenueQuote], end: int, ttl: int) -> float:
    """The largest gain (bps, before fees) of buying on one current venue and selling on
    another: ``cross_venue``'s figures of each venue against the others, at the bar's end."""
    best = NAN
    for venue, q in current.items():
        cross = cross_venue(current, venue, q.bid, q.ask, end, ttl)
        if cross is not None:
            gain = max(cross.buy_here_bps, cross.sell_here_bps)
            best = gain if math.isnan(best) else max(best, gain)
    return best


def _imbalance(sizes: list[tuple[float | None, float | None]]) -> float:
    known = [(b, a) for b, a in sizes if b is not None and a is not None]
    if not known:
        return NAN
    value = book_imbalance(sum(b for b, _ in known), sum(a for _, a in known))
    return NAN if value is None else value


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else NAN
