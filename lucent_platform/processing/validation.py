"""Validation: the design record's data quality checks, one named reason per failure.

Stateless checks of one decoded message live here, one function per message kind, each
returning ``None`` (valid) or a ``Failure`` (reason, detail). The stateful check, outliers
against a rolling median, is ``outliers.RollingMedian``; thresholds for both are in
``ValidationConfig``.

Times: a message is judged by its own two clocks, ``eventTimeMs`` (the venue's) and
``receivedTimeMs`` (our connector's), never by how old it is on the processor's clock, so a
recording replayed a year later passes exactly as it did live. The processor's clock only
matters when ``max_clock_skew_ms`` is set (then a receive time far from it is ``clock_skew``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.envelope import Header
from lucent_platform.messages import (
    BridgeTransfer,
    Liquidation,
    OrderBookDelta,
    OrderBookSnapshot,
    PoolSwap,
    PriceLevel,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.processing.deadletter import Reason

Failure = tuple[Reason, str]
_INF = float("inf")


@dataclass(frozen=True)
class ValidationConfig:
    """Validation thresholds; the defaults suit CEX tickers and the simulated market.

    - ``max_future_ms`` (5 s): an event time this far ahead of its receive time is
      ``future_timestamp`` (venue clocks run a little ahead; more is a broken clock).
    - ``max_latency_ms`` (30 s): prices, trades and books received this long after the event
      are ``stale_event``; too old for the real-time path (signals would act on them).
    - ``max_defi_latency_ms`` (``None``: no limit): the same for yields, liquidations,
      governance, bridge transfers and pool swaps, and for every on-chain message (source
      ``{chain}-rpc``, DEX and oracle prices and trades included): their event time is a block
      time, read after the chain's confirmations (minutes), and their history is still news.
    - ``max_clock_skew_ms`` (``None``: off): receive time this far from the processor's clock
      is ``clock_skew``. Off by default so replays and backfills are never rejected as old.
    - ``price_bounds``: ``{"BTC-USDT": (1000.0, 1e7)}``, inclusive, per canonical pair; pairs
      without bounds are only checked for positive, finite prices.
    - ``max_spread_bps`` (500): a quote with ``ask - bid`` wider than this, relative to mid, is
      ``spread_too_wide`` (a thin or broken book, not a price to act on).
    - ``spread_tolerance`` (1e-6): ``|spread - (ask - bid)|`` allowed, relative to the price,
      for rounding by the venue (a grid step is far larger).
    - ``outlier_window`` (50 ticks), ``outlier_threshold`` (8 robust z), ``outlier_min_scale_bps``
      (50 bps), ``outlier_reset_after`` (5): see ``outliers.RollingMedian``. The scale floor
      keeps real moves (a venue 0.7-1.5 % out of line is an arbitrage gap, not an error) from
      being flagged when the window happens to be flat; ×10 and ÷10 prices always are.
    - ``min_apy``/``max_apy`` (-100 / 10 000 %): the range of a believable yield.
    - ``max_instruments`` (1,000): venue × pair instruments one input partition keeps state
      for (outlier window, price series, book: ~3.8 kB each); a message of a new one past it is
      ``too_many_instruments``. A raw topic carries one instrument, so only garbage (random
      pairs on one topic) reaches it; without it, 100k invented pairs held 386 MB.
    """

    max_future_ms: int = 5_000
    max_latency_ms: int = 30_000
    max_defi_latency_ms: int | None = None
    max_clock_skew_ms: int | None = None
    price_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    max_spread_bps: float = 500.0
    spread_tolerance: float = 1e-6
    outlier_window: int = 50
    outlier_threshold: float = 8.0
    outlier_min_scale_bps: float = 50.0
    outlier_reset_after: int = 5
    min_apy: float = -100.0
    max_apy: float = 10_000.0
    max_instruments: int = 1_000

    def __post_init__(self) -> None:
        if self.max_instruments < 1:
            raise ValueError("max_instruments must be at least 1")
        if self.outlier_window < 2 or self.outlier_reset_after < 1:
            raise ValueError("outlier_window must be at least 2 and outlier_reset_after 1")
        for pair, (low, high) in self.price_bounds.items():
            if not 0.0 <= low <= high:
                raise ValueError(f"price bounds of {pair} must satisfy 0 <= low <= high")


MAX_HEADER_TEXT = 200


def check_header(header: Header) -> Failure | None:
    """``source`` and ``messageId``: 1..200 printable characters, not blank. They become log
    lines, metric labels, de-duplication keys and ClickHouse values: a NUL, a newline or a
    terminal escape sequence never should, nor a 10 kB "id"."""
    for name, text in (("source", header.source), ("messageId", header.message_id)):
        if not (0 < len(text) <= MAX_HEADER_TEXT and text.isprintable()) or text.isspace():
            shown = text if len(text) <= 60 else f"{text[:60]}… ({len(text)} chars)"
            return Reason.INVALID_HEADER, (
                f"header.{name} {shown!r} is not 1..{MAX_HEADER_TEXT} printable characters"
            )
    return None


PLAUSIBLE_MS = range(946_684_800_000, 4_102_444_800_000)
"""Event and receive times must fall within 2000-01-01..2100-01-01 UTC, whatever the clock:
outside is a unit mix-up (seconds or nanoseconds where milliseconds belong) or garbage, which
would otherwise pass when both times are wrong alike (clock skew is off by default). Fixed,
not relative to now, so replays and backfills of any real market history still pass."""


def check_times(
    header: Header, max_latency_ms: int | None, now_ms: int, config: ValidationConfig
) -> Failure | None:
    """Timestamp drift: event time vs receive time, and (if configured) receive time vs now."""
    event_ms, received_ms = header.event_time_ms, header.received_time_ms
    if event_ms not in PLAUSIBLE_MS or received_ms not in PLAUSIBLE_MS:
        return Reason.IMPLAUSIBLE_TIME, (
            f"event time {event_ms} / receive time {received_ms} is not epoch ms within "
            "2000..2100 UTC (seconds or nanoseconds for milliseconds?)"
        )
    if event_ms - received_ms > config.max_future_ms:
        return Reason.FUTURE_TIMESTAMP, (
            f"event time {event_ms} is {event_ms - received_ms} ms after receive time "
            f"{received_ms} (limit {config.max_future_ms} ms)"
        )
    if max_latency_ms is not None and received_ms - event_ms > max_latency_ms:
        return Reason.STALE_EVENT, (
            f"received {received_ms - event_ms} ms after the event (limit {max_latency_ms} ms)"
        )
    skew = config.max_clock_skew_ms
    if skew is not None and abs(now_ms - received_ms) > skew:
        return Reason.CLOCK_SKEW, (
            f"receive time {received_ms} is {now_ms - received_ms} ms from the processor's "
            f"clock {now_ms} (limit {skew} ms)"
        )
    return None


def check_price(price: float, pair: str, config: ValidationConfig) -> Failure | None:
    """Price sanity: positive, finite, and within the pair's bounds when configured."""
    if not 0.0 < price < _INF:
        return Reason.INVALID_PRICE, f"price {price} is not positive and finite"
    if config.price_bounds:
        bounds = config.price_bounds.get(pair)
        if bounds is not None and not bounds[0] <= price <= bounds[1]:
            return Reason.PRICE_OUT_OF_BOUNDS, f"price {price} outside {pair} bounds {bounds}"
    return None


def check_price_update(data: PriceUpdate, config: ValidationConfig) -> Failure | None:
    """Price sanity, volume validation and spread analysis of a ticker."""
    price = data.price
    if not 0.0 < price < _INF or config.price_bounds:
        failure = check_price(price, data.pair, config)
        if failure is not None:
            return failure
    volume = data.volume24h
    if volume is not None and not 0.0 <= volume < _INF:
        return Reason.INVALID_VOLUME, f"volume24h {volume} is negative or not finite"
    change = data.change24h
    if change is not None and not -_INF < change < _INF:
        return Reason.INVALID_PRICE, f"change24h {change} is not finite"
    liquidity = data.liquidity
    if liquidity is not None and not (
        0.0 <= liquidity.bid_size < _INF and 0.0 <= liquidity.ask_size < _INF
    ):
        return Reason.INVALID_VOLUME, f"liquidity sizes {liquidity} negative or not finite"
    bid, ask = data.bid, data.ask
    if bid is not None and not 0.0 < bid < _INF:
        return Reason.INVALID_PRICE, f"bid {bid} is not positive and finite"
    if ask is not None and not 0.0 < ask < _INF:
        return Reason.INVALID_PRICE, f"ask {ask} is not positive and finite"
    if bid is None or ask is None:
        return None
    if bid > ask:
        return Reason.CROSSED_QUOTE, f"bid {bid} is above ask {ask}"
    spread = data.spread
    if spread is not None and not abs(spread - (ask - bid)) <= config.spread_tolerance * price:
        return Reason.INCONSISTENT_SPREAD, f"spread {spread} but ask - bid is {ask - bid}"
    if (ask - bid) * 20_000.0 > config.max_spread_bps * (ask + bid):
        spread_bps = (ask - bid) / (ask + bid) * 20_000.0
        return Reason.SPREAD_TOO_WIDE, (
            f"spread {spread_bps:.1f} bps is wider than {config.max_spread_bps} bps"
        )
    return None


def check_trade(data: Trade, config: ValidationConfig) -> Failure | None:
    """Price sanity and a positive, finite amount."""
    price = data.price
    if not 0.0 < price < _INF or config.price_bounds:
        failure = check_price(price, data.pair, config)
        if failure is not None:
            return failure
    if not 0.0 < data.amount < _INF:
        return Reason.INVALID_VOLUME, f"trade amount {data.amount} is not positive and finite"
    return None


def check_snapshot(data: OrderBookSnapshot, config: ValidationConfig) -> Failure | None:
    """Order-book sanity: levels positive and best first on each side, bid below ask."""
    failure = _side(data.bids, descending=True) or _side(data.asks, descending=False)
    if failure is not None:
        return Reason.INVALID_BOOK, failure
    if data.bids and data.asks and data.bids[0][0] >= data.asks[0][0]:
        return Reason.CROSSED_BOOK, f"best bid {data.bids[0][0]} >= best ask {data.asks[0][0]}"
    return None


def check_delta(data: OrderBookDelta, config: ValidationConfig) -> Failure | None:
    """Delta sanity: prices positive, sizes non-negative (0 removes), sequences in order,
    and the levels it adds do not cross each other."""
    best_bid = 0.0
    for price, size in data.bids:
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            return Reason.INVALID_BOOK, f"bid level [{price}, {size}] is not a price and a size"
        if size > 0.0 and price > best_bid:
            best_bid = price
    best_ask = _INF
    for price, size in data.asks:
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            return Reason.INVALID_BOOK, f"ask level [{price}, {size}] is not a price and a size"
        if size > 0.0 and price < best_ask:
            best_ask = price
    if best_bid >= best_ask:
        return Reason.CROSSED_BOOK, f"delta adds bid {best_bid} >= ask {best_ask}"
    first, last = data.first_sequence, data.sequence
    if first is not None and last is not None and first > last:
        return Reason.INVALID_BOOK, f"firstSequence {first} is after sequence {last}"
    return None


def _side(levels: list[PriceLevel], *, descending: bool) -> str | None:
    """What is wrong with one side of a full book, if anything."""
    previous = _INF if descending else 0.0
    for price, size in levels:
        if not 0.0 < price < _INF:
            return f"level price {price} is not positive and finite"
        if not 0.0 < size < _INF:
            return f"level size {size} at {price} is not positive and finite"
        if price >= previous if descending else price <= previous:
            return f"levels not sorted best first at {price}"
        previous = price
    return None


def check_yield(data: YieldRate, config: ValidationConfig) -> Failure | None:
    """Yield sanity: APYs finite within ``[min_apy, max_apy]`` %, TVL non-negative."""
    low, high = config.min_apy, config.max_apy
    for name, apy in (
        ("apy", data.apy),
        ("supplyApy", data.supply_apy),
        ("borrowApy", data.borrow_apy),
    ):
        if apy is not None and not low <= apy <= high:
            return Reason.INVALID_YIELD, f"{name} {apy} % outside [{low}, {high}]"
    tvl = data.tvl_usd
    if tvl is not None and not 0.0 <= tvl < _INF:
        return Reason.INVALID_YIELD, f"tvlUsd {tvl} is negative or not finite"
    return None


def check_liquidation(data: Liquidation, config: ValidationConfig) -> Failure | None:
    """Amounts and USD value non-negative and finite."""
    for name, amount in (
        ("collateralAmount", data.collateral_amount),
        ("debtAmount", data.debt_amount),
        ("valueUsd", data.value_usd),
    ):
        if amount is not None and not 0.0 <= amount < _INF:
            return Reason.INVALID_VOLUME, f"{name} {amount} is negative or not finite"
    return None


_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_TX_HASH = re.compile(r"0x[0-9a-f]{64}")
_UINT = re.compile(r"[0-9]{1,78}")  # a uint256 has at most 78 decimal digits
_INT = re.compile(r"-?[0-9]{1,78}")


def _chain_location(tx_hash: str, block_number: int, log_index: int) -> Failure | None:
    if not _TX_HASH.fullmatch(tx_hash):
        return Reason.INVALID_ADDRESS, f"txHash {tx_hash!r:.80} is not a 32-byte 0x hash"
    if block_number < 0 or log_index < 0:
        return Reason.INVALID_AMOUNT, f"blockNumber {block_number}/logIndex {log_index} < 0"
    return None


def _addresses(pairs: tuple[tuple[str, str | None], ...]) -> Failure | None:
    for name, value in pairs:
        if value is not None and not _ADDRESS.fullmatch(value):
            return Reason.INVALID_ADDRESS, f"{name} {value!r:.80} is not a 20-byte 0x address"
    return None


def check_bridge_transfer(data: BridgeTransfer, config: ValidationConfig) -> Failure | None:
    """Addresses and hash well-formed, the raw amount an unsigned integer, ``amount``
    non-negative and finite when given."""
    failure = _chain_location(data.tx_hash, data.block_number, data.log_index) or _addresses(
        (
            ("l1Token", data.l1_token),
            ("l2Token", data.l2_token),
            ("fromAddress", data.from_address),
            ("toAddress", data.to_address),
            ("bridge", data.bridge),
        )
    )
    if failure is not None:
        return failure
    for name, number in (("amountRaw", data.amount_raw), ("sequenceNumber", data.sequence_number)):
        if number is not None and not _UINT.fullmatch(number):
            return Reason.INVALID_AMOUNT, f"{name} {number!r:.80} is no uint256 text"
    amount = data.amount
    if amount is not None and not 0.0 <= amount < _INF:
        return Reason.INVALID_VOLUME, f"amount {amount} is negative or not finite"
    return None


def check_pool_swap(data: PoolSwap, config: ValidationConfig) -> Failure | None:
    """Addresses and hash well-formed; a ``swap`` has both signed amounts, a ``sync`` both
    unsigned reserves, each integer text; a price, if any, positive and finite."""
    failure = _chain_location(data.tx_hash, data.block_number, data.log_index) or _addresses(
        (
            ("pool", data.pool),
            ("token0", data.token0),
            ("token1", data.token1),
            ("sender", data.sender),
            ("recipient", data.recipient),
        )
    )
    if failure is not None:
        return failure
    if data.event == "swap":
        needed = (("amount0", data.amount0, _INT), ("amount1", data.amount1, _INT))
    else:
        needed = (("reserve0", data.reserve0, _UINT), ("reserve1", data.reserve1, _UINT))
    for name, value, form in (
        *needed,
        ("sqrtPriceX96", data.sqrt_price_x96, _UINT),
        ("liquidity", data.liquidity, _UINT),
    ):
        if value is None and name in ("amount0", "amount1", "reserve0", "reserve1"):
            return Reason.INVALID_AMOUNT, f"a {data.event} without {name}"
        if value is not None and not form.fullmatch(value):
            return Reason.INVALID_AMOUNT, f"{name} {value!r:.80} is no integer text"
    price = data.price
    if price is not None and not 0.0 < price < _INF:
        return Reason.INVALID_PRICE, f"price {price} is not positive and finite"
    return None


def no_check(data: Any, config: ValidationConfig) -> Failure | None:
    """Kinds with nothing to check beyond their schema (governance events)."""
    return None


CHECKS: dict[str, Callable[[Any, ValidationConfig], Failure | None]] = {
    "price_update": check_price_update,
    "trade": check_trade,
    "orderbook_snapshot": check_snapshot,
    "orderbook_delta": check_delta,
    "yield_rate": check_yield,
    "liquidation": check_liquidation,
    "governance_event": no_check,
    "bridge_transfer": check_bridge_transfer,
    "pool_swap": check_pool_swap,
}
"""The stateless check of each raw market kind, by ``header.messageType``."""
