"""The analytics tables' columns: name, ClickHouse type, and where each comes from in the JSON.

The DDL itself lives in the migrations (``migrations/*.sql``, frozen once applied); this module
is the column catalog that ``rows`` fills and ``kafka_engine`` extracts, and a test checks it
against the tables the migrations create, so the three never drift apart.

Every raw table starts with the same five columns: ``message_id``, ``event_time`` and
``received_time`` (``DateTime64(3, 'UTC')``, the envelope's integer milliseconds), ``source``,
and ``inserted_at`` (filled by the server, ``DEFAULT now64(3)``: the ReplacingMergeTree
version, so of two copies of a message the later insert survives). ``inserted_at`` is never
inserted by clients and so is not in ``COLUMNS``.

``expr`` is the ClickHouse expression that reads the column from one envelope held as JSON text
in a column named ``raw`` (the Kafka-engine mode's materialized views).
"""

from __future__ import annotations

from dataclasses import dataclass

BOOK_LEVELS = 20
"""Levels per side kept in ``orderbook_top`` (best first)."""

TIME = "DateTime64(3, 'UTC')"


@dataclass(frozen=True)
class Column:
    """One inserted column: its name, ClickHouse type, and JSON extraction expression."""

    name: str
    type: str
    expr: str


def _path(*keys: str) -> str:
    return ", ".join(f"'{key}'" for key in keys)


def _json(name: str, type_: str, *keys: str) -> Column:
    """A scalar read with ``JSONExtract`` into the column's base type (LowCardinality and the
    MV's cast to the table's type do the rest; a missing optional field reads as NULL)."""
    base = type_.removeprefix("LowCardinality(").removesuffix(")") if "LowC" in type_ else type_
    return Column(name, type_, f"JSONExtract(raw, {_path(*keys)}, '{base}')")


def _time(name: str, *keys: str) -> Column:
    return Column(
        name, TIME, f"fromUnixTimestamp64Milli(JSONExtractInt(raw, {_path(*keys)}), 'UTC')"
    )


def _data(name: str, type_: str, wire: str | None = None) -> Column:
    return _json(name, type_, "data", wire or _camel(name))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


LC = "LowCardinality(String)"
LCN = "LowCardinality(Nullable(String))"
F = "Float64"
FN = "Nullable(Float64)"
IN = "Nullable(Int64)"
SN = "Nullable(String)"

COMMON = (
    _json("message_id", "String", "header", "messageId"),
    _time("event_time", "header", "eventTimeMs"),
    _time("received_time", "header", "receivedTimeMs"),
    _json("source", LC, "header", "source"),
)


def _enrichment(name: str, type_: str, *keys: str) -> Column:
    return _json(name, type_, "data", "enrichment", *keys)


def _ma(name: str, field: str, element: str) -> Column:
    averages = "JSONExtractArrayRaw(raw, 'data', 'enrichment', 'movingAverages')"
    return Column(
        name,
        f"Array({element})",
        f"arrayMap(x -> JSONExtract(x, '{field}', '{element}'), {averages})",
    )


def _levels(name: str, side: str, index: int) -> Column:
    levels = f"arraySlice(JSONExtractArrayRaw(raw, 'data', '{side}'), 1, {BOOK_LEVELS})"
    return Column(name, "Array(Float64)", f"arrayMap(x -> JSONExtractFloat(x, {index}), {levels})")


PRICES = (
    *COMMON,
    _data("exchange", LC),
    _data("pair", LC),
    _data("price", F),
    _data("bid", FN),
    _data("ask", FN),
    _data("spread", FN),
    _data("volume24h", FN),
    _data("change24h", FN),
    _json("bid_size", FN, "data", "liquidity", "bidSize"),
    _json("ask_size", FN, "data", "liquidity", "askSize"),
    _ma("ma_spans", "span", "UInt32"),
    _ma("sma", "sma", "Float64"),
    _ma("ema", "ema", "Float64"),
    _enrichment("volatility", FN, "volatility"),
    _enrichment("cross_best_bid_exchange", LCN, "crossVenue", "bestBidExchange"),
    _enrichment("cross_best_bid", FN, "crossVenue", "bestBid"),
    _enrichment("cross_best_ask_exchange", LCN, "crossVenue", "bestAskExchange"),
    _enrichment("cross_best_ask", FN, "crossVenue", "bestAsk"),
    _enrichment("buy_here_bps", FN, "crossVenue", "buyHereBps"),
    _enrichment("sell_here_bps", FN, "crossVenue", "sellHereBps"),
    _enrichment("depth_band_bps", FN, "depth", "bandBps"),
    _enrichment("depth_bid_size", FN, "depth", "bidSize"),
    _enrichment("depth_ask_size", FN, "depth", "askSize"),
)

TRADES = (
    *COMMON,
    _data("exchange", LC),
    _data("pair", LC),
    _data("price", F),
    _data("amount", F),
    _data("trade_id", "String"),  # '' where the venue gives none (Kraken v1)
    _data("side", LCN),
)

ORDERBOOK_TOP = (
    *COMMON,
    _data("exchange", LC),
    _data("pair", LC),
    _data("sequence", IN),
    _levels("bid_prices", "bids", 1),
    _levels("bid_sizes", "bids", 2),
    _levels("ask_prices", "asks", 1),
    _levels("ask_sizes", "asks", 2),
)

YIELDS = (
    *COMMON,
    _data("protocol", LC),
    _data("pool", LC),
    _data("asset", LC),
    _data("chain", LC),
    _data("apy", F),
    _data("tvl_usd", FN),
    _data("supply_apy", FN),
    _data("borrow_apy", FN),
)

LIQUIDATIONS = (
    *COMMON,
    _data("protocol", LC),
    _data("chain", LC),
    _data("tx_hash", "String"),
    _data("log_index", IN),
    _data("block_number", IN),
    _data("borrower", "String"),
    _data("liquidator", "String"),
    _data("collateral_asset", LC),
    _data("debt_asset", LC),
    _data("collateral_amount", F),
    _data("debt_amount", F),
    _data("value_usd", FN),
)

GOVERNANCE = (
    *COMMON,
    _data("protocol", LC),
    _data("proposal_id", "String"),
    _data("event_type", LC),
    _data("title", SN),
    _data("chain", LCN),
    _data("proposer", SN),
    _data("voter", SN),
    _data("support", LCN),
    _data("votes", FN),
    _data("tx_hash", SN),
    _data("block_number", IN),
)

YIELD_OPPORTUNITIES = (
    *COMMON,
    _data("protocol", LC),
    _data("pool", LC),
    _data("asset", LC),
    _data("chain", LC),
    _time("window_start", "data", "windowStartMs"),
    _time("window_end", "data", "windowEndMs"),
    _data("max_apy", F),
    _data("avg_apy", F),
    _data("samples", "Int64"),
    _data("tvl_usd", FN),
    _data("min_apy", FN),  # v2 (migration 0005)
    _data("apy_stdev", FN),
    _data("window_samples", "Nullable(Int64)"),
    _data("phase", LCN),
)

LIQUIDATION_CASCADES = (  # migration 0005
    *COMMON,
    _data("protocol", LC),
    _data("chain", LC),
    _data("collateral_asset", LC),
    _time("window_start", "data", "windowStartMs"),
    _time("window_end", "data", "windowEndMs"),
    _data("liquidations", "Int64"),
    _data("collateral_amount", F),
    _data("price_pair", LC),
    _data("price_high", F),
    _data("price_low", F),
    _data("drop_pct", F),
    _data("value_usd", FN),
)

PRICE_ALERTS = (
    *COMMON,
    _data("rule_id", "String"),
    _data("user_id", "String"),
    _data("pair", LC),
    _data("exchange", LC),
    _data("target_price", F),
    _data("direction", LC),
    _data("price", F),
    _data("rule_type", LCN),
    _data("level", FN),
    _data("value", FN),
    _data("window_ms", IN),
    _data("reference_price", FN),
    _data("reference_exchange", LCN),
)

ARBITRAGE_OPPORTUNITIES = (
    *COMMON,
    _data("pair", LC),
    _data("buy_exchange", LC),
    _data("sell_exchange", LC),
    _data("buy_price", F),
    _data("sell_price", F),
    _data("spread_bps", F),
    _data("fees_bps", F),
    _data("net_profit_bps", F),
    _time("window_start", "data", "windowStartMs"),
    _time("window_end", "data", "windowEndMs"),
    _data("size", FN),
    _data("estimated_profit", FN),
    _data("buy_size", FN),  # v2 (migration 0007)
    _data("sell_size", FN),
    _data("detection_latency_ms", FN),
)

MODEL_PREDICTIONS = (  # migration 0010
    *COMMON,
    _data("model", LC),
    _data("version", SN),
    _data("pair", LC),
    _data("interval", LCN),
    _data("horizon", "Int64"),
    _time("features_time", "data", "time"),
    _data("probability_up", FN),
    _data("value", FN),
    _data("close", FN),
    Column(
        "published_at",
        f"Nullable({TIME})",
        "if(JSONHas(raw, 'data', 'publishedAtMs'), "
        "fromUnixTimestamp64Milli(JSONExtractInt(raw, 'data', 'publishedAtMs'), 'UTC'), NULL)",
    ),
)


RETRACTIONS = (  # migration 0012: the envelope of any on-chain kind, flagged retracted
    *COMMON,
    _json("message_type", LC, "header", "messageType"),
    Column(
        "target_table",
        LC,
        # the sink's TABLE_FOR_TYPE, for the Kafka-engine mode (which records, never deletes)
        "transform(JSONExtractString(raw, 'header', 'messageType'), "
        "['price_update', 'trade', 'yield_rate', 'liquidation', 'governance_event'], "
        "['prices', 'trades', 'yields', 'liquidations', 'governance'], '')",
    ),
    _data("chain", LCN),
    _data("block_number", IN),
    _data("tx_hash", SN),
    _data("log_index", IN),
)


BRIDGE_TRANSFERS = (  # migration 0011
    *COMMON,
    _data("chain", LC),
    _data("l2", LC),
    _data("direction", LC),
    _data("stage", LC),
    _data("l1_token", "String"),
    _data("l2_token", SN),
    _data("token", LCN),
    _data("amount", FN),
    _data("amount_raw", "String"),
    _data("from_address", "String"),
    _data("to_address", "String"),
    _data("bridge", LC),
    _data("block_number", "Int64"),
    _data("tx_hash", "String"),
    _data("log_index", "Int64"),
    _data("sequence_number", SN),
)

POOL_SWAPS = (  # migration 0011; raw integers as decimal text, exact (int256 / uint256)
    *COMMON,
    _data("chain", LC),
    _data("pool", "String"),
    _data("event", LC),
    _data("dex", LCN),
    _data("token0", SN),
    _data("token1", SN),
    _data("amount0", SN),
    _data("amount1", SN),
    _data("reserve0", SN),
    _data("reserve1", SN),
    _data("sqrt_price_x96", SN, "sqrtPriceX96"),
    _data("liquidity", SN),
    _data("tick", IN),
    _data("sender", SN),
    _data("recipient", SN),
    _data("price", FN),
    _data("block_number", "Int64"),
    _data("tx_hash", "String"),
    _data("log_index", "Int64"),
)


def _top(name: str, type_: str, wire: str | None = None) -> Column:
    return _json(name, type_, wire or _camel(name))


# A dead letter is not an envelope: its id is where the record was (``topic/partition/offset``), its
# event time is the source record's timestamp, its received time when it was dead-lettered.
# The original bytes are not kept: Kafka keeps them (30 days) for anyone replaying.
DEAD_LETTERS = (
    Column(
        "message_id",
        "String",
        "concat(JSONExtractString(raw, 'sourceTopic'), '/', "
        "toString(JSONExtractInt(raw, 'sourcePartition')), '/', "
        "toString(JSONExtractInt(raw, 'sourceOffset')))",
    ),
    _time("event_time", "sourceTimestampMs"),
    _time("received_time", "deadLetteredAtMs"),
    Column(
        "source",
        LC,
        "if(startsWith(JSONExtractString(raw, 'sourceTopic'), 'agents.'), 'agents', 'processor')",
    ),
    _top("reason", LC),
    _top("detail", "String"),
    _top("source_topic", LC),
    _top("source_partition", "Int32"),
    _top("source_offset", "Int64"),
    _top("original_message_id", SN, "messageId"),
    _top("message_type", LCN),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "prices": PRICES,
    "trades": TRADES,
    "orderbook_top": ORDERBOOK_TOP,
    "yields": YIELDS,
    "liquidations": LIQUIDATIONS,
    "governance": GOVERNANCE,
    "dead_letters": DEAD_LETTERS,
    "yield_opportunities": YIELD_OPPORTUNITIES,
    "price_alerts": PRICE_ALERTS,
    "arbitrage_opportunities": ARBITRAGE_OPPORTUNITIES,
    "liquidation_cascades": LIQUIDATION_CASCADES,
    "model_predictions": MODEL_PREDICTIONS,
    "bridge_transfers": BRIDGE_TRANSFERS,
    "pool_swaps": POOL_SWAPS,
    "retractions": RETRACTIONS,
}
"""Every raw table the sink (or the Kafka engine) fills, with its inserted columns in order."""

COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(column.name for column in columns) for table, columns in TABLES.items()
}
"""Column names per table, in the order of the tuples ``rows.to_row`` returns."""
