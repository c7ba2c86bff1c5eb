"""The topic catalog: every Kafka topic name, partition count, key and config lives here.

Names follow the design record (``market.prices.binance.eth-usdc``): dot-separated segments,
each lower-case ``[a-z0-9-]``. Raw per-source topics are
``market.{kind}.{exchange}.{pair}`` (prices, trades, orderbook), ``market.yields.{protocol}.{pool}``
and ``market.{kind}.{protocol}`` (liquidations, governance); on-chain bridge transfers are
``market.bridges.{l2}`` and unknown pools' swaps ``market.swaps.{chain}``. The processor
subscribes to them by regex and writes one normalized stream per kind, ``market.{kind}.all``.
``all`` is therefore reserved and can never be a source name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DAY_MS = 24 * 60 * 60 * 1000
HOT_RETENTION_MS = 7 * DAY_MS  # the design record: 7 days for hot data
DEADLETTER_RETENTION_MS = 30 * DAY_MS  # long enough for someone to look and replay
RETENTION_BYTES = 107_374_182_400  # the design record: 100 GB per partition

_SEGMENT = re.compile(r"[a-z0-9-]+")
_SEPARATORS = str.maketrans({"/": "-", ":": "-", "_": "-", " ": "-"})
RESERVED_SEGMENTS = frozenset({"all"})


class TopicNameError(ValueError):
    """A topic name part cannot be made into a valid segment."""


class Kind(StrEnum):
    """The market data kinds, each with one raw family and one normalized topic."""

    PRICES = "prices"
    TRADES = "trades"
    ORDERBOOK = "orderbook"
    YIELDS = "yields"
    LIQUIDATIONS = "liquidations"
    GOVERNANCE = "governance"
    BRIDGES = "bridges"
    SWAPS = "swaps"

    @property
    def key_field(self) -> str:
        """The envelope ``data`` field that keys (and so partitions) this kind."""
        return "pair" if self in _PAIR_KEYED else _OTHER_KEYS.get(self, "protocol")


_PAIR_KEYED = frozenset({Kind.PRICES, Kind.TRADES, Kind.ORDERBOOK})
_OTHER_KEYS = {Kind.BRIDGES: "l2", Kind.SWAPS: "pool"}
"""Bridge transfers meet per L2, an unknown pool's swaps per pool (in chain order)."""


def segment(value: str) -> str:
    """Turn one name part into a topic segment: ``ETH/USDC`` → ``eth-usdc``.

    Pair separators (``/``, ``:``, ``_``, space) become ``-``; anything else outside
    ``[a-z0-9-]`` is an error rather than silently dropped, so two instruments can never map
    onto one topic.
    """
    cleaned = value.strip().lower().translate(_SEPARATORS)
    if not _SEGMENT.fullmatch(cleaned):
        bad = sorted({ch for ch in cleaned if not re.fullmatch(r"[a-z0-9-]", ch)})
        raise TopicNameError(
            f"{value!r} cannot be part of a topic name: characters {bad} are outside [a-z0-9-]"
            if bad
            else f"{value!r} cannot be part of a topic name: it is empty"
        )
    if cleaned in RESERVED_SEGMENTS:
        raise TopicNameError(f"{value!r} is reserved for the normalized topics")
    return cleaned


# --- raw per-source topics -----------------------------------------------------------------


def prices(exchange: str, pair: str) -> str:
    return f"market.prices.{segment(exchange)}.{segment(pair)}"


def trades(exchange: str, pair: str) -> str:
    return f"market.trades.{segment(exchange)}.{segment(pair)}"


def orderbook(exchange: str, pair: str) -> str:
    return f"market.orderbook.{segment(exchange)}.{segment(pair)}"


def yields(protocol: str, pool: str) -> str:
    return f"market.yields.{segment(protocol)}.{segment(pool)}"


def liquidations(protocol: str) -> str:
    return f"market.liquidations.{segment(protocol)}"


def governance(protocol: str) -> str:
    return f"market.governance.{segment(protocol)}"


def bridges(l2: str) -> str:
    """Canonical-bridge transfers of one L2, from either side: ``market.bridges.optimism``."""
    return f"market.bridges.{segment(l2)}"


def swaps(chain: str) -> str:
    """Raw swaps and syncs of pools the registry does not know: ``market.swaps.ethereum``."""
    return f"market.swaps.{segment(chain)}"


# librdkafka subscribes with POSIX extended regexes: no look-ahead, so "any segment but
# `all`" is spelled out: 1-2 or 4+ characters, or 3 characters differing from a-l-l somewhere.
_ANY = "[a-z0-9-]"
_NOT_ALL = f"({_ANY}{{1,2}}|{_ANY}{{4,}}|[b-z0-9-]{_ANY}{{2}}|a[a-km-z0-9-]{_ANY}|al[a-km-z0-9-])"


def raw_pattern(kind: Kind) -> str:
    """Regex subscription (leading ``^``) matching every raw topic of ``kind``, never ``.all``."""
    if kind in _PAIR_KEYED or kind is Kind.YIELDS:
        return rf"^market\.{kind.value}\.{_ANY}+\.{_ANY}+$"
    return rf"^market\.{kind.value}\.{_NOT_ALL}$"


def normalized(kind: Kind) -> str:
    """The processor's output for ``kind``: ``market.prices.all`` and so on."""
    return f"market.{kind.value}.all"


# --- fixed topics --------------------------------------------------------------------------

DEADLETTER = "market.deadletter"
RETRACTIONS = "market.retractions"
"""On-chain messages a chain reorg took back (``retracted`` flag): the processor routes them
here, never to the normalized topics the signal apps read; the sink deletes their rows."""
YIELD_OPPORTUNITIES = "yield.opportunities"
USER_ALERTS = "user.alerts"
MONITORING_ALERTS = "monitoring.alerts"
"""Data-quality alerts of ``lucent worker monitor``, keyed by alert id: an opening, then its
resolution (``lucent_platform.monitoring``)."""
USER_ALERT_RULES = "user.alert-rules"
ARBITRAGE_OPPORTUNITIES = "arbitrage.opportunities"
PATTERNS = "market.patterns"
CHECKPOINTS = "lucent.checkpoints"
AGENTS_PREDICTIONS = "agents.predictions"


@dataclass(frozen=True)
class TopicSpec:
    """A topic as it should exist on the broker. Every config is explicit (see DESIGN.md)."""

    name: str
    partitions: int
    compacted: bool = False
    retention_ms: int = HOT_RETENTION_MS
    key: str = ""
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def config(self, min_insync_replicas: int) -> dict[str, str]:
        conf = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": "-1" if self.compacted else str(self.retention_ms),
            "retention.bytes": "-1" if self.compacted else str(RETENTION_BYTES),
            "min.insync.replicas": str(min_insync_replicas),
        }
        return {**conf, **self.extra}


RAW_PARTITIONS = 1  # one instrument per raw topic: order matters more than parallelism
NORMALIZED_PARTITIONS = 6  # keyed by pair/protocol: the unit of scale-out for every worker
SIGNAL_PARTITIONS = 3


def fixed_topics() -> tuple[TopicSpec, ...]:
    """Every topic that exists whatever the configured instruments are."""
    specs = [
        TopicSpec(
            normalized(kind),
            NORMALIZED_PARTITIONS,
            key=kind.key_field,
            description=f"normalized {kind.value}, one format across sources",
        )
        for kind in Kind
    ]
    specs += [
        TopicSpec(
            DEADLETTER,
            SIGNAL_PARTITIONS,
            retention_ms=DEADLETTER_RETENTION_MS,
            key="source topic",
            description="messages that failed decoding or validation, with the reason",
        ),
        TopicSpec(RETRACTIONS, SIGNAL_PARTITIONS, key="pair or protocol",
                  description="on-chain messages retracted by a chain reorg (removed logs)"),
        TopicSpec(YIELD_OPPORTUNITIES, SIGNAL_PARTITIONS, key="protocol",
                  description="viable yield windows (APY above threshold)"),
        TopicSpec(USER_ALERTS, SIGNAL_PARTITIONS, key="user",
                  description="price alerts that fired"),
        TopicSpec(USER_ALERT_RULES, 1, compacted=True, key="rule id",
                  description="users' price alert rules (a table: latest per key)"),
        TopicSpec(ARBITRAGE_OPPORTUNITIES, SIGNAL_PARTITIONS, key="pair",
                  description="cross-exchange price gaps worth trading"),
        TopicSpec(PATTERNS, SIGNAL_PARTITIONS, key="protocol",
                  description="complex event patterns (liquidation cascades)"),
        TopicSpec(CHECKPOINTS, 1, compacted=True, key="group/topic/partition",
                  description="where each worker restarts its window state"),
        TopicSpec(AGENTS_PREDICTIONS, SIGNAL_PARTITIONS, key="pair",
                  description="AI agents' model predictions recorded from NATS, for evaluation"),
        TopicSpec(MONITORING_ALERTS, 1, key="alert id",
                  description="data-quality alerts opened and resolved by the stream monitor"),
    ]  # fmt: skip
    return tuple(specs)


def pool_topics(pools: list[tuple[str, str]]) -> tuple[TopicSpec, ...]:
    """Raw yields topics for every (protocol, pool)."""
    return tuple(
        TopicSpec(yields(protocol, pool), RAW_PARTITIONS, key="protocol", description="raw yields")
        for protocol, pool in pools
    )


def instrument_topics(exchanges: list[str], pairs: list[str]) -> tuple[TopicSpec, ...]:
    """Raw prices/trades/orderbook topics for every exchange × pair."""
    return tuple(
        TopicSpec(make(exchange, pair), RAW_PARTITIONS, key="pair", description=f"raw {kind}")
        for exchange in exchanges
        for pair in pairs
        for kind, make in (("prices", prices), ("trades", trades), ("orderbook", orderbook))
    )


def describe(spec: TopicSpec) -> dict[str, Any]:
    """A row for ``lucent topics list`` and the Dagster asset's metadata."""
    return {
        "topic": spec.name,
        "partitions": spec.partitions,
        "key": spec.key,
        "policy": "compact" if spec.compacted else f"delete after {spec.retention_ms // DAY_MS}d",
    }


# The field whose value keys (and so partitions) a message: what must meet in one partition
# (all venues' quotes for one pair, all events of one protocol, all alerts of one user).
_KEY_FIELDS = ("user_id", "pair", "protocol")
_KEY_OVERRIDES = {
    "price_alert": "user_id",
    "bridge_transfer": "l2",
    "pool_swap": "pool",
    "monitoring_alert": "alert_id",
}


def partition_key(message_type: str, data: object) -> bytes | None:
    """The Kafka key for a message's ``data``: pair, protocol, or user for alerts (the L2 of a
    bridge transfer, the pool of an unknown pool's swap)."""
    field_name = _KEY_OVERRIDES.get(message_type)
    candidates = (field_name,) if field_name else _KEY_FIELDS[1:]
    for name in candidates:
        value = getattr(data, name, None)
        if value:
            return str(value).encode()
    return None


_RAW_BY_MESSAGE_TYPE = {
    "price_update": prices,
    "trade": trades,
    "orderbook_snapshot": orderbook,
    "orderbook_delta": orderbook,
}


def raw_topic(message_type: str, data: object) -> str:
    """The raw topic a feed writes a message to, from its kind and its data."""
    make = _RAW_BY_MESSAGE_TYPE.get(message_type)
    if make is not None:
        return make(str(getattr(data, "exchange", "")), str(getattr(data, "pair", "")))
    if message_type == "yield_rate":
        return yields(str(getattr(data, "protocol", "")), str(getattr(data, "pool", "")))
    if message_type == "liquidation":
        return liquidations(str(getattr(data, "protocol", "")))
    if message_type == "governance_event":
        return governance(str(getattr(data, "protocol", "")))
    if message_type == "bridge_transfer":
        return bridges(str(getattr(data, "l2", "")))
    if message_type == "pool_swap":
        return swaps(str(getattr(data, "chain", "")))
    raise TopicNameError(f"{message_type!r} messages have no raw topic")
