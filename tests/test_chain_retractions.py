"""A chain reorg's retraction downstream: the processor routes it to ``market.retractions`` (not
swallowed as a duplicate of the original it shares an id with, never on the normalized topics
the signal apps read), and the sink deletes the original's row from ClickHouse, whichever of
the two lands first.

The original is a recorded real log (Uniswap V2 USDC/WETH Swap, block 11017338); the retraction
is the same log as a node reports it after a reorg (``removed: true``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from lucent_platform import topics
from lucent_platform.analytics.insert import delete_retracted, insert_rows
from lucent_platform.analytics.migrate import migrate
from lucent_platform.chains.dex import dex_envelopes
from lucent_platform.chains.logs import parse_log
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import Envelope, encode
from lucent_platform.processing import InRecord, MarketProcessor, ProcessorConfig, Result
from streaming.sink.mapping import retraction_checks, rows_of

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

BLOCK = Path(__file__).parent / "fixtures/chain/uniswap_v2/logs_block_11017338.json"
USDC_WETH = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
SWAP = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
SYNC = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
BLOCK_TIME_MS = 1_602_143_990_000
RECEIVED_MS = BLOCK_TIME_MS + 2_000


def pool_log(topic0: str, *, removed: bool = False) -> dict[str, Any]:
    logs = json.loads(BLOCK.read_text())
    obj = next(o for o in logs if o["address"] == USDC_WETH and o["topics"][0] == topic0)
    return {**obj, "removed": removed}


def envelopes(*, removed: bool = False, topic0: str = SWAP) -> list[Envelope[Any]]:
    log = parse_log(pool_log(topic0, removed=removed), chain_id=1)
    found = dex_envelopes(log, received_ms=RECEIVED_MS, block_time_ms=BLOCK_TIME_MS)
    assert found
    return found


def trade(*, removed: bool = False) -> Envelope[Any]:
    return next(e for e in envelopes(removed=removed) if e.header.message_type == "trade")


def run(processor: MarketProcessor, *items: Envelope[Any]) -> Result:
    topic = topics.trades("uniswap-v2", "WETH-USDC")
    batch = [
        InRecord(topic, 0, offset, RECEIVED_MS + 5, b"WETH-USDC", encode(envelope))
        for offset, envelope in enumerate(items)
    ]
    return processor.process(batch)


def test_the_processor_routes_a_retraction_to_its_topic_not_the_apps() -> None:
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: RECEIVED_MS + 50)
    original, retraction = trade(), trade(removed=True)
    assert original.header.message_id == retraction.header.message_id

    result = run(processor, original, retraction, retraction)

    assert [out.topic for out in result.outputs] == [
        topics.normalized(topics.Kind.TRADES),
        topics.RETRACTIONS,
    ]
    counts = result.counts
    assert (counts["normalized"], counts["retracted"], counts["duplicates"]) == (1, 1, 1)
    assert counts["in"] == (
        counts["normalized"] + counts["retracted"] + counts["dead_lettered"] + counts["duplicates"]
    )


@pytest.fixture
def db(clickhouse: Client, settings: Settings) -> Client:
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    return clickhouse


def store(client: Client, topic: str, envelope: Envelope[Any]) -> None:
    """What the sink does with one record's batch: insert its rows, then the retraction checks."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table, row in rows_of(topic, encode(envelope)):
        rows.setdefault(table, []).append(row)
    for table, table_rows in rows.items():
        insert_rows(client, client.database, table, table_rows)
    for table, ids in retraction_checks(rows).items():
        delete_retracted(client, client.database, table, ids)


def trade_ids(client: Client) -> list[str]:
    return [row[0] for row in client.query("SELECT message_id FROM trades FINAL").result_rows]


@pytest.mark.parametrize("retraction_first", [False, True], ids=["in-order", "retraction-first"])
def test_the_sink_deletes_the_retracted_row(db: Client, retraction_first: bool) -> None:
    original, retraction = trade(), trade(removed=True)
    other = next(e for e in envelopes(topic0=SYNC) if e.header.message_type == "price_update")
    trades_topic = topics.normalized(topics.Kind.TRADES)
    store(db, topics.normalized(topics.Kind.PRICES), other)
    steps = [(trades_topic, original), (topics.RETRACTIONS, retraction)]
    for topic, envelope in reversed(steps) if retraction_first else steps:
        store(db, topic, envelope)

    assert trade_ids(db) == []
    recorded = db.query(
        "SELECT message_id, message_type, target_table, chain, block_number, log_index "
        "FROM retractions FINAL"
    ).result_rows
    header, data = retraction.header, retraction.data
    assert recorded == [
        (header.message_id, "trade", "trades", "ethereum", data.block_number, data.log_index)
    ]
    # the pool's price from its Sync log was not retracted: it stays
    assert db.query("SELECT count() FROM prices FINAL").result_rows == [(1,)]
    # a batch replayed after a crash deletes nothing more and fails nothing
    store(db, topics.RETRACTIONS, retraction)
    assert trade_ids(db) == []


def test_on_chain_prices_and_trades_are_judged_by_block_time_not_the_30_s_limit() -> None:
    """A log is read after its confirmations (12 blocks, ~2.4 min on Ethereum) and stamped with
    its block's time: the exchanges' 30 s staleness limit would dead-letter every one."""
    confirmed_ms = BLOCK_TIME_MS + 12 * 12_000 + 900
    log = parse_log(pool_log(SWAP), chain_id=1)
    (chain_trade,) = dex_envelopes(log, received_ms=confirmed_ms, block_time_ms=BLOCK_TIME_MS)
    exchange_trade = msgspec.structs.replace(
        chain_trade,
        header=msgspec.structs.replace(
            chain_trade.header, source="binance-websocket", message_id="exchange"
        ),
        data=msgspec.structs.replace(chain_trade.data, trade_id="exchange-1"),
    )
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: confirmed_ms + 50)
    topic = topics.trades("uniswap-v2", "WETH-USDC")
    batch = [
        InRecord(topic, 0, offset, confirmed_ms, b"WETH-USDC", encode(envelope))
        for offset, envelope in enumerate([chain_trade, exchange_trade])
    ]
    outputs = processor.process(batch).outputs
    assert outputs[0].topic == topics.normalized(topics.Kind.TRADES)
    assert outputs[1].topic == topics.DEADLETTER
    assert dict(outputs[1].headers or ())["reason"] == b"stale_event"
