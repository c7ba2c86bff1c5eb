"""Decoded envelopes (and dead letters) as rows of the analytics tables: pure, and fast.

The sink's whole mapping API::

    table = TABLE_FOR_TOPIC[record.topic]            # or TABLE_FOR_TYPE[message_type]
    row = to_row(envelope)                           # a tuple in COLUMNS[table] order, or None
    row = dead_letter_row(deadletter.decode(value))  # for market.deadletter
    client.insert(table, rows, column_names=COLUMNS[table], ...)   # see analytics.insert

Rows are plain tuples built straight from the msgspec structs' attributes (no dicts per row);
times stay integer epoch milliseconds, which clickhouse-connect writes to ``DateTime64(3)``
as they are. ``to_row`` returns ``None`` for a kind that has no table: order-book deltas
(``orderbook_top`` keeps snapshots' best ``BOOK_LEVELS`` levels per side; the book between
snapshots lives in the processor, whose depth figures land in ``prices``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lucent_platform.analytics.schema import BOOK_LEVELS, COLUMNS
from lucent_platform.envelope import Envelope
from lucent_platform.messages import (
    ArbitrageOpportunity,
    BridgeTransfer,
    GovernanceEvent,
    Liquidation,
    LiquidationCascade,
    MessageData,
    ModelPrediction,
    OrderBookSnapshot,
    PoolSwap,
    PriceAlert,
    PriceUpdate,
    Trade,
    YieldOpportunity,
    YieldRate,
)
from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.topics import (
    AGENTS_PREDICTIONS,
    ARBITRAGE_OPPORTUNITIES,
    DEADLETTER,
    PATTERNS,
    RETRACTIONS,
    USER_ALERTS,
    YIELD_OPPORTUNITIES,
    Kind,
    normalized,
)

__all__ = [
    "COLUMNS",
    "TABLE_FOR_TOPIC",
    "TABLE_FOR_TYPE",
    "dead_letter_row",
    "retraction_row",
    "to_row",
]

Row = tuple[Any, ...]

AGENT_SUBJECTS = "agents."
"""Dead letters from NATS ``agents.…`` subjects were written by the agents worker (rejected
predictions), every other one by the processor: the ``source`` column says which."""

TABLE_FOR_TOPIC: dict[str, str] = {
    normalized(Kind.PRICES): "prices",
    normalized(Kind.TRADES): "trades",
    normalized(Kind.ORDERBOOK): "orderbook_top",
    normalized(Kind.YIELDS): "yields",
    normalized(Kind.LIQUIDATIONS): "liquidations",
    normalized(Kind.GOVERNANCE): "governance",
    normalized(Kind.BRIDGES): "bridge_transfers",
    normalized(Kind.SWAPS): "pool_swaps",
    DEADLETTER: "dead_letters",
    YIELD_OPPORTUNITIES: "yield_opportunities",
    USER_ALERTS: "price_alerts",
    ARBITRAGE_OPPORTUNITIES: "arbitrage_opportunities",
    PATTERNS: "liquidation_cascades",
    AGENTS_PREDICTIONS: "model_predictions",
    RETRACTIONS: "retractions",
}
"""The topics the sink consumes and the table each fills (``market.orderbook.all`` also
carries deltas, for which ``to_row`` gives ``None``)."""

TABLE_FOR_TYPE: dict[str, str] = {
    PriceUpdate.message_type: "prices",
    Trade.message_type: "trades",
    OrderBookSnapshot.message_type: "orderbook_top",
    YieldRate.message_type: "yields",
    Liquidation.message_type: "liquidations",
    GovernanceEvent.message_type: "governance",
    BridgeTransfer.message_type: "bridge_transfers",
    PoolSwap.message_type: "pool_swaps",
    YieldOpportunity.message_type: "yield_opportunities",
    PriceAlert.message_type: "price_alerts",
    ArbitrageOpportunity.message_type: "arbitrage_opportunities",
    LiquidationCascade.message_type: "liquidation_cascades",
    ModelPrediction.message_type: "model_predictions",
}
"""The table of each stored ``header.messageType``."""


def to_row(envelope: Envelope[Any]) -> Row | None:
    """The envelope as a row of ``TABLE_FOR_TYPE[its messageType]``, or ``None`` if no table
    stores its kind."""
    make = _MAKERS.get(type(envelope.data))
    return None if make is None else make(envelope)


def retraction_row(envelope: Envelope[Any]) -> Row | None:
    """A retracted on-chain message as a ``retractions`` row: its id, kind, the table holding
    the original and where on chain it was; ``None`` for a kind no table stores."""
    h, d = envelope.header, envelope.data
    table = TABLE_FOR_TYPE.get(h.message_type)
    if table is None:
        return None
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source, h.message_type, table,
        getattr(d, "chain", None), getattr(d, "block_number", None),
        getattr(d, "tx_hash", None), getattr(d, "log_index", None),
    )  # fmt: skip


def dead_letter_row(letter: DeadLetter) -> Row:
    """A dead letter as a ``dead_letters`` row: why and where from, not the original bytes;
    ``source`` is the worker that wrote it (``agents`` for a rejected prediction).

    Its ``message_id`` is ``topic/partition/offset`` of the record that failed, so a dead
    letter written twice (an at-least-once processor) is one row.
    """
    return (
        f"{letter.source_topic}/{letter.source_partition}/{letter.source_offset}",
        letter.source_timestamp_ms,
        letter.dead_lettered_at_ms,
        "agents" if letter.source_topic.startswith(AGENT_SUBJECTS) else "processor",
        letter.reason,
        letter.detail,
        letter.source_topic,
        letter.source_partition,
        letter.source_offset,
        letter.message_id,
        letter.message_type,
    )


def _price(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    liquidity, enrichment = d.liquidity, d.enrichment
    head = (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.exchange, d.pair, d.price, d.bid, d.ask, d.spread, d.volume24h, d.change24h,
        None if liquidity is None else liquidity.bid_size,
        None if liquidity is None else liquidity.ask_size,
    )  # fmt: skip
    if enrichment is None:
        return head + _NO_ENRICHMENT
    averages, cross, depth = enrichment.moving_averages, enrichment.cross_venue, enrichment.depth
    spans: list[int] = []
    smas: list[float] = []
    emas: list[float] = []
    for average in averages or ():
        spans.append(average.span)
        smas.append(average.sma)
        emas.append(average.ema)
    figures: Row = (spans, smas, emas, enrichment.volatility)
    if cross is not None:
        figures += (
            cross.best_bid_exchange, cross.best_bid, cross.best_ask_exchange, cross.best_ask,
            cross.buy_here_bps, cross.sell_here_bps,
        )  # fmt: skip
    else:
        figures += _NO_CROSS
    if depth is not None:
        return head + figures + (depth.band_bps, depth.bid_size, depth.ask_size)
    return head + figures + _NO_DEPTH


_NO_CROSS = (None,) * 6
_NO_DEPTH = (None,) * 3
_NO_ENRICHMENT: Row = ([], [], [], None, *_NO_CROSS, *_NO_DEPTH)


def _trade(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.exchange, d.pair, d.price, d.amount, d.trade_id or "", d.side,
    )  # fmt: skip


def _book(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    bids, asks = d.bids[:BOOK_LEVELS], d.asks[:BOOK_LEVELS]
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.exchange, d.pair, d.sequence,
        [p for p, _ in bids], [s for _, s in bids], [p for p, _ in asks], [s for _, s in asks],
    )  # fmt: skip


def _yield(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.protocol, d.pool, d.asset, d.chain, d.apy, d.tvl_usd, d.supply_apy, d.borrow_apy,
    )  # fmt: skip


def _liquidation(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.protocol, d.chain, d.tx_hash, d.log_index, d.block_number, d.borrower, d.liquidator,
        d.collateral_asset, d.debt_asset, d.collateral_amount, d.debt_amount, d.value_usd,
    )  # fmt: skip


def _governance(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.protocol, d.proposal_id, d.event_type, d.title, d.chain, d.proposer, d.voter,
        d.support, d.votes, d.tx_hash, d.block_number,
    )  # fmt: skip


def _bridge_transfer(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.chain, d.l2, d.direction, d.stage, d.l1_token, d.l2_token, d.token, d.amount,
        d.amount_raw, d.from_address, d.to_address, d.bridge, d.block_number, d.tx_hash,
        d.log_index, d.sequence_number,
    )  # fmt: skip


def _pool_swap(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.chain, d.pool, d.event, d.dex, d.token0, d.token1, d.amount0, d.amount1, d.reserve0,
        d.reserve1, d.sqrt_price_x96, d.liquidity, d.tick, d.sender, d.recipient, d.price,
        d.block_number, d.tx_hash, d.log_index,
    )  # fmt: skip


def _yield_opportunity(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.protocol, d.pool, d.asset, d.chain, d.window_start_ms, d.window_end_ms,
        d.max_apy, d.avg_apy, d.samples, d.tvl_usd, d.min_apy, d.apy_stdev, d.window_samples,
        d.phase,
    )  # fmt: skip


def _cascade(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.protocol, d.chain, d.collateral_asset, d.window_start_ms, d.window_end_ms,
        d.liquidations, d.collateral_amount, d.price_pair, d.price_high, d.price_low,
        d.drop_pct, d.value_usd,
    )  # fmt: skip


def _price_alert(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.rule_id, d.user_id, d.pair, d.exchange, d.target_price, d.direction, d.price,
        d.rule_type, d.level, d.value, d.window_ms, d.reference_price, d.reference_exchange,
    )  # fmt: skip


def _arbitrage(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.pair, d.buy_exchange, d.sell_exchange, d.buy_price, d.sell_price, d.spread_bps,
        d.fees_bps, d.net_profit_bps, d.window_start_ms, d.window_end_ms, d.size,
        d.estimated_profit, d.buy_size, d.sell_size, d.detection_latency_ms,
    )  # fmt: skip


def _prediction(e: Envelope[Any]) -> Row:
    h, d = e.header, e.data
    return (
        h.message_id, h.event_time_ms, h.received_time_ms, h.source,
        d.model, d.version, d.pair, d.interval, d.horizon, d.time, d.probability_up, d.value,
        d.close, d.published_at_ms,
    )  # fmt: skip


_MAKERS: dict[type[MessageData], Callable[[Envelope[Any]], Row]] = {
    PriceUpdate: _price,
    Trade: _trade,
    OrderBookSnapshot: _book,
    YieldRate: _yield,
    Liquidation: _liquidation,
    GovernanceEvent: _governance,
    BridgeTransfer: _bridge_transfer,
    PoolSwap: _pool_swap,
    YieldOpportunity: _yield_opportunity,
    PriceAlert: _price_alert,
    ArbitrageOpportunity: _arbitrage,
    LiquidationCascade: _cascade,
    ModelPrediction: _prediction,
}
