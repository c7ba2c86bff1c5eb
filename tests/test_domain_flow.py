"""The design record's event flow, steps 1–7, on the real broker, nats-server and the
embedded event store: a high APY in ``yield.opportunities`` → command on NATS → event
appended → position recommended → notifications seen by subscribers; with a NATS restart in
the middle, duplicate records and commands, and malformed input dead-lettered."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain import commands, events
from lucent_platform.domain.bridge import command_for
from lucent_platform.domain.config import DomainConfig
from lucent_platform.eventstore import SQLiteEventStore
from lucent_platform.processing import deadletter
from lucent_platform.topics import DEADLETTER, USER_ALERTS, YIELD_OPPORTUNITIES
from tests.domain_flow import (
    NOW,
    Listener,
    alert_signal,
    bridge_in_thread,
    domain_in_thread,
    produce,
    provision_topics,
    wait_until,
    yield_signal,
)
from tests.fixtures.nats import RestartableNats

CONFIG = DomainConfig(portfolio="flow", owner="u-7", capital_usd=100_000.0)
SUBJECTS = ["trading.>", "agents.signals.>", "notify.>"]


def portfolio_events(path: Path, name: str = "flow") -> list[events.Event]:
    with SQLiteEventStore(path) as store:
        if store.get_current_version(events.portfolio_stream(name)) is None:
            return []
        recorded = store.get_stream(events.portfolio_stream(name))
        return [events.decode_data(e.type, e.data) for e in recorded]


def recommendations(path: Path) -> list[events.PositionRecommendationEvent]:
    return [e for e in portfolio_events(path) if isinstance(e, events.PositionRecommendationEvent)]


def test_high_apy_becomes_a_recommendation_with_its_causal_chain(
    settings: Settings, own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    store = tmp_path / "events.sqlite3"
    provision_topics(settings, own_broker)
    market_id = "9e3c1b7a-0000-4000-8000-000000000001"  # 1. the yield rate (8.5 % APY)
    record, signal_id = yield_signal("eth-lending", market_id=market_id)  # 2. the opportunity
    command_id = commands.command_id_for(signal_id)
    with (
        Listener(settings, own_nats.url, SUBJECTS) as listener,
        domain_in_thread(settings, own_nats.url, store, CONFIG) as domain,
        bridge_in_thread(settings, own_broker, own_nats.url) as bridge,
    ):
        produce(settings, own_broker, YIELD_OPPORTUNITIES, [record])
        listener.wait_for(lambda seen: len(seen.on(f"notify.user.{CONFIG.owner}")) >= 1)

        # 4. the command on its subject, de-duplicated by its id
        async def command_on_nats() -> tuple[bytes, dict[str, str]]:
            client = await nats_adapter.connect(settings, own_nats.url)
            try:
                msg = await nats_adapter.jetstream(client).get_last_msg(
                    "SIGNALS", "yield.opportunity.detected"
                )
                return msg.data or b"", dict(msg.headers or {})
            finally:
                await client.close()

        data, headers = asyncio.run(command_on_nats())
    command = commands.decode(data)
    assert headers["Nats-Msg-Id"] == command.command_id == command_id
    assert (command.correlation_id, command.causation_id) == (market_id, signal_id)

    # 4. → EventStore: the opportunity's own stream, event id = command id
    recommended = listener.on("trading.position.recommended")
    assert len(recommended) == 1
    body = recommended[0]
    opportunity = events.opportunity_id("aave-v3", "eth-lending", NOW)
    with SQLiteEventStore(store) as s:
        (detected,) = s.get_stream(events.yield_opportunity_stream(opportunity))
    assert detected.type == events.YIELD_OPPORTUNITY_DETECTED and str(detected.id) == command_id
    meta = events.decode_metadata(detected.metadata)
    assert (meta.correlation_id, meta.causation_id, meta.causation_kind) == (
        market_id,
        signal_id,
        "signal",
    )
    assert meta.command_id == command_id and meta.source is not None
    assert meta.source.topic == YIELD_OPPORTUNITIES

    # 5.–6. the position, sized and appended to the portfolio's stream
    (position,) = recommendations(store)
    assert position.opportunity_id == opportunity and position.venues == ["aave-v3"]
    assert position.limited_by == "venue_cap" and position.notional_usd == 20_000.0
    assert body["type"] == events.POSITION_RECOMMENDED and body["stream"] == "portfolio-flow"
    assert body["metadata"] == {
        "correlationId": market_id, "causationId": command_id, "causationKind": "event",
        "commandId": command_id,
    }  # fmt: skip

    # 7. the trading engine, the agents and the user were told, once each
    agents = listener.on("agents.signals.YieldOpportunityDetected")
    assert [b["eventId"] for b in agents] == [command_id]
    assert [b["eventId"] for b in listener.on("agents.signals.PositionRecommendationEvent")] == [
        body["eventId"]
    ]
    assert [b["eventId"] for b in listener.on("notify.user.u-7")] == [body["eventId"]]
    assert bridge.counts["published"] == 1
    assert domain.counts["acked"] == 1 and domain.counts["malformed"] == 0


def test_nats_restart_in_the_middle_loses_and_duplicates_nothing(
    settings: Settings, own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    store = tmp_path / "events.sqlite3"
    provision_topics(settings, own_broker)
    config = DomainConfig(portfolio="flow", owner="u-7", max_share_per_venue=0.05, risk_budget=1.0)
    pools = [f"pool-{i}" for i in range(6)]
    records = [yield_signal(pool, protocol=f"proto-{i}")[0] for i, pool in enumerate(pools)]
    with (
        domain_in_thread(settings, own_nats.url, store, config) as domain,
        bridge_in_thread(settings, own_broker, own_nats.url, max_backoff_s=0.5) as bridge,
    ):
        produce(settings, own_broker, YIELD_OPPORTUNITIES, records[:2])
        wait_until(lambda: len(recommendations(store)) == 2, what="the first two recommendations")
        own_nats.stop()
        produce(settings, own_broker, YIELD_OPPORTUNITIES, records[2:])
        # the bridge cannot get its commands acknowledged: it pauses its input and retries
        wait_until(lambda: bridge.counts["publish_retries"] >= 1, what="the bridge retrying")
        time.sleep(1.0)
        own_nats.start()
        wait_until(lambda: len(recommendations(store)) == 6, what="all six recommendations")
        # acknowledged after its events are stored and announced (an announcement NATS missed
        # while restarting waits for the redelivery, ack_wait 30 s): wait for the last ack too
        wait_until(lambda: domain.counts["acked"] >= 6, 60, "all six commands acknowledged")
    bridge_counts, domain_counts = bridge.counts, domain.counts
    assert bridge_counts["publish_retries"] >= 1 and bridge_counts["pauses"] >= 1
    assert bridge_counts["published"] + bridge_counts["duplicates"] >= 6
    positions = recommendations(store)
    assert sorted(p.instrument for p in positions) == pools  # each once
    with SQLiteEventStore(store) as s:
        streams = {e.stream_name for e in s.read_all()}
        assert sum(1 for e in s.read_all() if e.type == events.YIELD_OPPORTUNITY_DETECTED) == 6
    assert len(streams) == 7  # six opportunities and the portfolio
    assert domain_counts["acked"] >= 6


def test_duplicates_record_one_event_and_bad_records_are_dead_lettered(
    settings: Settings, own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    store = tmp_path / "events.sqlite3"
    provision_topics(settings, own_broker)
    record, signal_id = yield_signal("dup-pool")
    alert, _ = alert_signal("u-9")
    with (
        Listener(settings, own_nats.url, ["notify.>"]) as listener,
        domain_in_thread(settings, own_nats.url, store, CONFIG) as domain,
        bridge_in_thread(settings, own_broker, own_nats.url) as bridge,
    ):
        # the same record twice (a replay), a record that is no envelope, an alert
        produce(settings, own_broker, YIELD_OPPORTUNITIES, [record, record, b"{not json"])
        produce(settings, own_broker, USER_ALERTS, [alert])
        listener.wait_for(lambda seen: len(seen.on("notify.user.u-9")) == 1)
        wait_until(lambda: len(recommendations(store)) == 1, what="the recommendation")

        # the same command again past JetStream's de-duplication (another Nats-Msg-Id): the
        # event store's idempotency is what keeps it single
        command = command_for(YIELD_OPPORTUNITIES, 0, 0, record, 0)

        async def republish() -> None:
            client = await nats_adapter.connect(settings, own_nats.url)
            try:
                js = nats_adapter.jetstream(client)
                await nats_adapter.publish_once(
                    js, command.type, commands.encode(command), "another-id"
                )
            finally:
                await client.close()

        asyncio.run(republish())
        wait_until(lambda: domain.counts["already_recorded"] >= 1, what="the repeat handled")
    with SQLiteEventStore(store) as s:
        all_events = list(s.read_all())
    detected = [e for e in all_events if e.type == events.YIELD_OPPORTUNITY_DETECTED]
    assert [str(e.id) for e in detected] == [commands.command_id_for(signal_id)]
    assert len(recommendations(store)) == 1
    assert [e.type for e in all_events].count(events.PRICE_ALERT_TRIGGERED) == 1
    counts = bridge.counts
    assert (counts["published"], counts["duplicates"], counts["dead_lettered"]) == (2, 1, 1)

    letters = kafka.read_topic(settings, own_broker, DEADLETTER)
    (letter,) = [deadletter.decode(r.value) for r in letters if r.value]
    assert letter.reason == "undecodable" and letter.source_topic == YIELD_OPPORTUNITIES
    assert letter.original_base64 == b"{not json"


def test_workers_started_while_nats_is_down_wait_for_it(
    settings: Settings, own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    store = tmp_path / "events.sqlite3"
    provision_topics(settings, own_broker)
    own_nats.stop()
    produce(settings, own_broker, YIELD_OPPORTUNITIES, [yield_signal("late-pool")[0]])
    with (
        domain_in_thread(settings, own_nats.url, store, CONFIG),
        bridge_in_thread(settings, own_broker, own_nats.url) as bridge,
    ):
        time.sleep(1.5)  # both retrying their first connection
        assert bridge.counts["consumed"] == 0  # nothing read before JetStream can take it
        own_nats.start()
        wait_until(lambda: len(recommendations(store)) == 1, what="the recommendation")
    assert [p.instrument for p in recommendations(store)] == ["late-pool"]
