"""Who writes and who reads every topic: the streams' lineage, as data.

The Dagster asset graph (``assets/streams.py``) draws it, and the observation sensor measures
consumer lag for the groups named here::

    flow = flows(raw)["market.prices.all"]
    flow.writer     # "processor"
    flow.upstream   # the raw market.prices.{exchange}.{pair} topics
    flow.readers    # ("lucent-clickhouse-sink", "lucent-arbitrage", "lucent-alerts", …)

The group names are the workers' own (``streaming.*.GROUP_ID``; a test checks they agree), kept
here because the core may not import ``streaming``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lucent_platform import topics
from lucent_platform.analytics.rows import TABLE_FOR_TOPIC
from lucent_platform.simulator.config import DEFAULT_POOLS
from lucent_platform.topics import Kind, normalized

PROCESSOR = "lucent-processor"
SINK = "lucent-clickhouse-sink"
YIELD = "lucent-yield"
ARBITRAGE = "lucent-arbitrage"
PATTERNS = "lucent-patterns"
ALERTS = "lucent-alerts"

GROUPS = (PROCESSOR, SINK, YIELD, ARBITRAGE, PATTERNS, ALERTS)

# Apps reading a normalized stream besides the ClickHouse sink, which reads all of them.
_APPS_READING: dict[Kind, tuple[str, ...]] = {
    Kind.PRICES: (ARBITRAGE, ALERTS, PATTERNS),
    Kind.YIELDS: (YIELD,),
    Kind.LIQUIDATIONS: (PATTERNS,),
}


@dataclass(frozen=True)
class Flow:
    """One topic in the pipeline: who writes it, from which topics, and which groups read it."""

    topic: str
    writer: str  # the worker (``lucent worker NAME``) or command that produces its records
    upstream: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()  # consumer groups that commit offsets on it


def raw_topics(exchanges: list[str], pairs: list[str], feed: str) -> list[str]:
    """The raw topics the feed writes: the catalog's exchanges × pairs and, when the feed is
    the simulator (``LUCENT_FEED=simulate``), its DeFi pools' yields."""
    names = [spec.name for spec in topics.instrument_topics(exchanges, pairs)]
    if feed == "simulate":
        names += [topics.yields(pool.protocol, pool.pool) for pool in DEFAULT_POOLS]
    return names


def raw_kind(topic: str) -> Kind | None:
    """The kind of a raw per-source topic (``market.prices.binance.btc-usdt`` → prices)."""
    for kind in Kind:
        prefix = f"market.{kind.value}."
        if topic.startswith(prefix) and topic != normalized(kind):
            return kind
    return None


def flows(raw_topics: Iterable[str]) -> dict[str, Flow]:
    """Every topic the workers write, by name, given the raw topics the feeds write."""
    raw = sorted(set(raw_topics))
    found = {name: Flow(name, "feed", readers=(PROCESSOR,)) for name in raw}
    prices = normalized(Kind.PRICES)
    for kind in Kind:
        name = normalized(kind)
        found[name] = Flow(
            name,
            "processor",
            tuple(t for t in raw if raw_kind(t) is kind),
            (SINK, *_APPS_READING.get(kind, ())),
        )
    fixed = (
        Flow(topics.DEADLETTER, "processor", tuple(raw), (SINK,)),
        Flow(topics.RETRACTIONS, "processor", tuple(raw), (SINK,)),
        Flow(topics.YIELD_OPPORTUNITIES, "yield", (normalized(Kind.YIELDS),), (SINK,)),
        Flow(topics.ARBITRAGE_OPPORTUNITIES, "arbitrage", (prices,), (SINK,)),
        Flow(topics.PATTERNS, "patterns", (normalized(Kind.LIQUIDATIONS), prices), (SINK,)),
        Flow(topics.USER_ALERTS, "alerts", (prices, topics.USER_ALERT_RULES), (SINK,)),
        # Written by `lucent alerts add|remove`; the alert engine reads it whole, without a group.
        Flow(topics.USER_ALERT_RULES, "lucent alerts add|remove"),
        Flow(topics.CHECKPOINTS, "the micro-batch runtime of every windowed worker"),
        # The predictions worker's model outputs (features from these three streams, published
        # on NATS), recorded by the agents worker from the AGENTS stream for the analytics store.
        Flow(
            topics.AGENTS_PREDICTIONS,
            "agents (from NATS agents.predictions.>, published by predictions)",
            (prices, normalized(Kind.TRADES), normalized(Kind.YIELDS)),
            (SINK,),
        ),
    )
    found |= {flow.topic: flow for flow in fixed}
    # A catalog topic this module does not describe yet still appears, with what is known.
    for spec in topics.fixed_topics():
        if spec.name not in found:
            readers = (SINK,) if spec.name in TABLE_FOR_TOPIC else ()
            found[spec.name] = Flow(
                spec.name, "not described in lucent_platform.topology", (), readers
            )
    return found
