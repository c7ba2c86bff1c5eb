"""The control plane's pure core: lag and throughput from offsets, topic drift, the table
catalog read from the migrations, the streams' topology, and schema registry subjects."""

from __future__ import annotations

import json

import pytest

from lucent_platform import lag, topics, topology
from lucent_platform.analytics.catalog import downstream_tables, table_facts
from lucent_platform.analytics.rows import TABLE_FOR_TOPIC
from lucent_platform.lag import Mark
from lucent_platform.messages import MESSAGE_TYPES
from lucent_platform.schema_files import load, versions
from lucent_platform.schema_subjects import registrations, subject
from lucent_platform.topic_drift import drift
from lucent_platform.topics import Kind, normalized

P = "market.prices.all"


def test_group_lag_counts_what_the_group_has_not_committed_past() -> None:
    ends = {(P, 0): (0, 120), (P, 1): (10, 80), (P, 2): (0, 0)}
    assert lag.group_lag(ends, {(P, 0): 100, (P, 1): 80, (P, 2): -1001}) == 20
    # a partition never committed counts from its low watermark (all retained is unread)
    assert lag.group_lag(ends, {(P, 0): 100}) == 20 + 70
    # a group that committed nothing on the topic does not read it: no lag to report
    assert lag.group_lag(ends, {(P, 0): -1001}) is None
    assert lag.group_lag(ends, {}) is None
    # a commit beyond the end (the topic was recreated) is no negative lag
    assert lag.group_lag({(P, 0): (0, 5)}, {(P, 0): 9}) == 0


def test_throughput_is_records_written_per_second_between_marks() -> None:
    assert lag.written({(P, 0): (50, 120), (P, 1): (0, 80)}) == 200
    assert lag.throughput(Mark(150, 1_000), Mark(200, 11_000)) == 5.0
    assert lag.throughput(None, Mark(200, 11_000)) is None
    assert lag.throughput(Mark(150, 11_000), Mark(200, 11_000)) is None
    assert lag.throughput(Mark(300, 1_000), Mark(200, 11_000)) is None  # topic recreated
    assert lag.newest([None, 5, 17, 0]) == 17
    assert lag.newest([None]) is None


def test_marks_round_trip_through_the_cursor_and_garbage_reads_as_none() -> None:
    marks = {P: Mark(200, 11_000), "user.alerts": Mark(0, 11_000)}
    assert lag.decode_marks(lag.encode_marks(marks)) == marks
    for garbage in (None, "", "not json", "[1, 2]", '{"a": [1]}', '{"a": ["x", 1]}'):
        assert lag.decode_marks(garbage) == {}


def test_drift_repairs_configs_and_reports_missing_partitions() -> None:
    wanted = {"retention.ms": "604800000", "cleanup.policy": "delete"}
    same = drift("t", 6, wanted, partitions=6, config=dict(wanted))
    assert not same.drifted
    more = drift("t", 6, wanted, partitions=8, config={**wanted, "segment.ms": "1"})
    assert not more.drifted  # more partitions, or configs we do not manage, are not drift
    changed = drift("t", 6, wanted, partitions=3, config={"retention.ms": "86400000"})
    assert changed.drifted and changed.missing_partitions == 3
    assert changed.configs == {
        "retention.ms": ("86400000", "604800000"),
        "cleanup.policy": (None, "delete"),
    }
    assert changed.describe() == (
        "t: 3/6 partitions; cleanup.policy unset → delete; retention.ms 86400000 → 604800000"
    )


def test_table_catalog_reads_engines_order_and_views_from_the_migrations() -> None:
    facts = table_facts()
    assert set(TABLE_FOR_TOPIC.values()) <= set(facts)
    assert "schema_migrations" not in facts
    assert facts["prices"].engine == "ReplacingMergeTree(inserted_at)"
    assert facts["prices"].order_by == "(exchange, pair, event_time, message_id)"
    assert facts["market_data"].sources == ("trades",)
    assert facts["market_data"].views == ("market_data_mv",)
    assert facts["market_data_1d"].sources == ("market_data",)
    assert facts["yields_latest"].engine == "ReplacingMergeTree(event_time)"
    candles = {"market_data", "market_data_1h", "market_data_1d"}
    assert downstream_tables({"trades"}, facts) == candles
    assert downstream_tables({"prices", "yields"}, facts) == {"quote_candles", "yields_latest"}


def test_topology_draws_feeds_to_raw_to_normalized_to_signals() -> None:
    raw = [topics.prices("binance", "BTC-USDT"), topics.trades("kraken", "ETH-USDC")]
    raw.append(topics.yields("aave", "usdc-lending"))
    flows = topology.flows(raw)
    assert flows[raw[0]].writer == "feed" and flows[raw[0]].readers == (topology.PROCESSOR,)
    assert flows[P].upstream == (raw[0],)
    assert flows[normalized(Kind.TRADES)].upstream == (raw[1],)
    assert flows[normalized(Kind.YIELDS)].upstream == (raw[2],)
    assert flows[normalized(Kind.GOVERNANCE)].upstream == ()
    assert set(flows[topics.DEADLETTER].upstream) == set(raw)
    assert set(flows[P].readers) == {
        topology.SINK,
        topology.ARBITRAGE,
        topology.ALERTS,
        topology.PATTERNS,
    }
    assert flows[topics.USER_ALERTS].upstream == (P, topics.USER_ALERT_RULES)
    # every topic the sink stores is a flow the sink reads
    for topic in TABLE_FOR_TOPIC:
        assert topology.SINK in flows[topic].readers
    assert {s.name for s in topics.fixed_topics()} <= set(flows)
    assert topology.raw_kind(P) is None


def test_topology_group_names_are_the_workers_own() -> None:
    from streaming.apps import alerts, arbitrage, patterns, yields
    from streaming.processor import GROUP_ID as PROCESSOR
    from streaming.sink.worker import GROUP_ID as SINK

    workers = (PROCESSOR, SINK, yields.GROUP_ID, arbitrage.GROUP_ID)
    workers += (patterns.GROUP_ID, alerts.GROUP_ID)
    assert workers == topology.GROUPS


def test_registry_subjects_are_record_names_with_every_version_oldest_first() -> None:
    steps = registrations()
    assert {s.message_type for s in steps} == set(MESSAGE_TYPES)
    prices = [s for s in steps if s.message_type == "price_update"]
    assert [s.version for s in prices] == versions("price_update")
    assert {s.subject for s in prices} == {"lucent.market.PriceUpdateEnvelope"}
    assert json.loads(prices[-1].schema) == load("price_update", prices[-1].version)
    # one subject per kind: snapshots and deltas share a topic but never a subject
    assert len({s.subject for s in steps}) == len(MESSAGE_TYPES)
    assert subject({"name": "X", "namespace": "a.b"}) == "a.b.X"
    assert subject({"name": "c.d.X", "namespace": "a.b"}) == "c.d.X"


@pytest.mark.parametrize("cut", [0, 1, 2])
def test_lag_of_partial_commits(cut: int) -> None:
    ends = {(P, p): (0, 10) for p in range(3)}
    committed = {(P, p): 4 for p in range(cut + 1)}
    assert lag.group_lag(ends, committed) == 6 * (cut + 1) + 10 * (2 - cut)
