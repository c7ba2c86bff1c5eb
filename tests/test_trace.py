"""``lucent trace``: a PositionRecommendationEvent walked back through the opportunity event,
the command, the signal record (Kafka, ClickHouse) to the market message (ClickHouse, by id),
on the real broker, embedded ClickHouse and the embedded event store; unknown ids fail clearly."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lucent_platform.adapters import kafka
from lucent_platform.analytics import migrate
from lucent_platform.analytics.insert import insert_rows
from lucent_platform.analytics.rows import TABLE_FOR_TYPE, to_row
from lucent_platform.cli.main import cli
from lucent_platform.config import Settings, with_overrides
from lucent_platform.domain import events
from lucent_platform.domain.commands import command_id_for
from lucent_platform.envelope import Envelope, encode, new_envelope
from lucent_platform.eventstore import ANY, NewEvent, SQLiteEventStore
from lucent_platform.topics import TopicSpec
from lucent_platform.tracing.chain import TraceError, walk
from lucent_platform.tracing.lookups import StoreLookups
from tests.message_samples import SAMPLES
from tests.test_runtime_loop import create_topics

T0 = 1_795_132_860_000


@dataclass
class Chain:
    market: Envelope[Any]
    signal: Envelope[Any]
    signal_offset: int
    command_id: str
    detected_id: str
    recommended_id: str
    topic: str


def _metadata(**fields: Any) -> bytes:
    source = fields.pop("source", None)
    meta = events.EventMetadata(
        **fields, source=None if source is None else events.SourceRecord(*source)
    )
    return events.encode(meta)


@pytest.fixture
def chain(
    settings: Settings, kafka_bootstrap: str, clickhouse: Any, event_store: SQLiteEventStore,
    unique: str,
) -> Chain:  # fmt: skip
    topic = f"tr.signals.{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(topic, 1))
    market = new_envelope(SAMPLES["yield_rate"], source="aave-test", event_time_ms=T0,
                          received_time_ms=T0 + 40, message_id=str(uuid.uuid4()))  # fmt: skip
    signal = new_envelope(SAMPLES["yield_opportunity"], source="yield-detector",
                          event_time_ms=T0 + 300_000, received_time_ms=T0 + 300_002,
                          message_id=str(uuid.uuid4()),
                          correlation_id=market.header.message_id)  # fmt: skip
    producer = kafka.producer(settings, kafka_bootstrap)
    producer.produce(topic, b"an earlier record")
    producer.produce(topic, encode(signal), b"aave-v2")
    assert producer.flush(30) == 0
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    for envelope in (market, signal):
        table = TABLE_FOR_TYPE[envelope.header.message_type]
        insert_rows(clickhouse, clickhouse.database, table, [to_row(envelope)])
    command_id = command_id_for(signal.header.message_id)
    correlation = market.header.message_id
    detected = NewEvent(
        events.YIELD_OPPORTUNITY_DETECTED,
        b'{"opportunityId": "o-1", "protocol": "aave-v2", "pool": "usdc-lending", "maxApy": 8.5}',
        _metadata(correlation_id=correlation, causation_id=signal.header.message_id,
                  causation_kind="signal", command_id=command_id, source=(topic, 0, 1)),
        uuid.UUID(command_id),
    )  # fmt: skip
    recommended = NewEvent(
        events.POSITION_RECOMMENDED,
        b'{"portfolio": "main", "opportunityId": "o-1", "notionalUsd": 1200.0}',
        _metadata(correlation_id=correlation, causation_id=command_id, causation_kind="event",
                  command_id=command_id),
        events.derived_id(command_id, "recommendation"),
    )  # fmt: skip
    event_store.append_to_stream(f"yield-opportunity-{unique}", current_version=ANY,
                                 events=[detected])  # fmt: skip
    event_store.append_to_stream(f"portfolio-{unique}", current_version=ANY, events=[recommended])
    return Chain(market, signal, 1, command_id, command_id, str(recommended.id), topic)


def _lookups(settings: Settings, bootstrap: str, store: Any, clickhouse: Any) -> StoreLookups:
    def read(topic: str, partition: int, offset: int) -> bytes | None:
        found = kafka.read_record(settings, bootstrap, topic, partition, offset)
        return None if found is None else found.value

    return StoreLookups(store, read_record=read, clickhouse=clickhouse)


def test_a_recommendation_is_traced_to_the_market_message(
    chain: Chain, settings: Settings, kafka_bootstrap: str, event_store: SQLiteEventStore,
    clickhouse: Any,
) -> None:  # fmt: skip
    links = walk(chain.recommended_id, _lookups(settings, kafka_bootstrap, event_store, clickhouse))
    assert [(link.kind, link.id, link.title) for link in links] == [
        ("event", chain.recommended_id, "PositionRecommendationEvent"),
        ("event", chain.detected_id, "YieldOpportunityDetected"),
        ("command", chain.command_id, "yield.opportunity.detected"),
        ("signal", chain.signal.header.message_id, "yield_opportunity"),
        ("market", chain.market.header.message_id, "yield_rate"),
    ]
    assert all(not link.notes for link in links), [link.notes for link in links]
    signal, market = links[3], links[4]
    assert signal.where == [f"kafka {chain.topic}/0/1", "clickhouse yield_opportunities"]
    assert signal.details["maxApy"] == 8.5 and signal.time_ms == T0 + 300_000
    assert market.where == ["clickhouse yields"]
    assert market.details["pool"] == "eth-lending" and market.time_ms == T0


def test_missing_links_are_marked_not_dropped(
    chain: Chain, settings: Settings, event_store: SQLiteEventStore
) -> None:
    links = walk(chain.recommended_id, StoreLookups(event_store))  # no Kafka, no ClickHouse
    assert [link.kind for link in links] == ["event", "event", "command", "signal", "market"]
    assert any("not readable" in note for note in links[3].notes)
    assert links[4].id == chain.market.header.message_id  # from the event's correlationId
    assert any("no row" in note for note in links[4].notes)


def test_an_unknown_event_id_is_an_error(event_store: SQLiteEventStore) -> None:
    with pytest.raises(TraceError, match="no event with id 'nope'"):
        walk("nope", StoreLookups(event_store))


def _env(settings: Settings, store: Path, bootstrap: str, clickhouse: Any, url: str) -> dict:
    return {"LUCENT_DATA_DIR": str(settings.data_dir), "LUCENT_EVENTSTORE_PATH": str(store),
            "LUCENT_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "LUCENT_CLICKHOUSE_URL": url,
            "LUCENT_CLICKHOUSE_DATABASE": clickhouse.database}  # fmt: skip


def test_lucent_trace_prints_the_chain_and_json(
    chain: Chain, settings: Settings, kafka_bootstrap: str, clickhouse: Any,
    clickhouse_server: Any, eventstore_path: Path,
) -> None:  # fmt: skip
    env = _env(settings, eventstore_path, kafka_bootstrap, clickhouse, clickhouse_server.url)
    result = CliRunner().invoke(cli, ["trace", chain.recommended_id], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"PositionRecommendationEvent {chain.recommended_id}")
    assert any(line.startswith("└─ YieldOpportunityDetected") for line in lines)
    assert any(line.strip().startswith(
        f"└─ market yield_rate {chain.market.header.message_id}  clickhouse yields"
    ) for line in lines)  # fmt: skip
    as_json = CliRunner().invoke(cli, ["trace", chain.recommended_id, "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    payload = json.loads(as_json.stdout)
    assert payload["eventId"] == chain.recommended_id
    assert [link["kind"] for link in payload["chain"]] == [
        "event", "event", "command", "signal", "market",
    ]  # fmt: skip


def test_lucent_trace_of_an_unknown_id_says_so(
    settings: Settings, kafka_bootstrap: str, clickhouse: Any, clickhouse_server: Any,
    eventstore_path: Path, event_store: SQLiteEventStore,
) -> None:  # fmt: skip
    event_store.get_current_version("trace-health")  # the session store file exists
    env = _env(settings, eventstore_path, kafka_bootstrap, clickhouse, clickhouse_server.url)
    result = CliRunner().invoke(cli, ["trace", "0000-not-an-event"], env=env)
    assert result.exit_code == 1
    assert "no event with id '0000-not-an-event' in the event store" in result.output
    missing = {**env, "LUCENT_EVENTSTORE_PATH": str(settings.data_dir / "none.sqlite")}
    result = CliRunner().invoke(cli, ["trace", "x"], env=missing)
    assert result.exit_code == 1 and "no event store at" in result.output
