"""De-duplication: the same message twice (message id), or the same update from two sources
(content key), within a bounded window per input partition.

Two windows per raw partition, each a ``SeenWindow``:

- **message ids**: a redelivery (producer retry, at-least-once restart, a connector sending
  twice) carries the same ``messageId``;
- **content keys**: the same update through two connectors (websocket and REST, two RPC
  nodes) has two message ids but the same facts: the venue's trade id, a book's sequence
  numbers, a ticker's event time, quote and 24-hour volume, a pool's rate at one block
  time, a liquidation's transaction and log index (``content_keys``, per kind). Messages
  without such facts (books without sequences; trades without a trade id unless
  ``DedupConfig.trades_without_id``, as identical fills do happen) are only de-duplicated
  by message id.

Duplicates are dropped and counted, never dead-lettered.

Bound and memory: a window forgets the oldest key once it holds ``max_entries`` keys or once
a key is older than ``ttl_ms`` by receive time (whichever comes first). Keys are 64-bit
hashes of the id or facts, not the text, to keep entries small (a false duplicate needs a
64-bit hash collision within one window: about 1e-9 at 200k keys). Measured with
``tracemalloc`` on CPython 3.11 (x86-64), a full window costs **~105 bytes per key** (dict
slot and hash int 36 B, deque slot 8 B, the receive-time int kept alive 32 B, dict slack): at
the default 200k keys, **~21 MB per window, ~42 MB per raw partition** with both windows
full. A raw partition fills 200k keys only above 333 msg/s (10 minutes first otherwise); the
simulator's busiest partition (order-book deltas, 3 msg/s) holds ~1,800 keys, ~190 kB.
Time goes by receive time, not the processor's clock, so a replay de-duplicates exactly as
the live run did.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DedupConfig:
    """Bounds of each de-duplication window (per raw partition): ``max_entries`` keys
    (200k) or ``ttl_ms`` of receive time (10 minutes), whichever is reached first."""

    max_entries: int = 200_000
    ttl_ms: int = 600_000
    content: bool = True
    trades_without_id: bool = False

    def __post_init__(self) -> None:
        if self.max_entries < 1 or self.ttl_ms < 0:
            raise ValueError("max_entries must be at least 1 and ttl_ms not negative")


class SeenWindow:
    """Keys seen recently, first-seen order, bounded by count and by age."""

    __slots__ = ("_front_ms", "_max", "_order", "_seen", "_ttl")

    def __init__(self, max_entries: int, ttl_ms: int) -> None:
        self._max = max_entries
        self._ttl = ttl_ms
        self._seen: dict[int, int] = {}  # key → receive time
        self._order: deque[int] = deque()
        self._front_ms = 0  # receive time of the oldest key

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: int) -> bool:
        return key in self._seen

    def add(self, key: int, time_ms: int) -> bool:
        """Remember ``key`` seen at ``time_ms``; ``False`` if it was already remembered."""
        seen = self._seen
        if key in seen:
            return False
        if not seen:
            self._front_ms = time_ms
        seen[key] = time_ms
        self._order.append(key)
        if len(seen) > self._max or time_ms - self._front_ms > self._ttl:
            self._evict(time_ms)
        return True

    def _evict(self, now_ms: int) -> None:
        # Times are receive times, in order within a partition up to connector jitter, so
        # the front is the oldest: evict from there.
        seen, order = self._seen, self._order
        while len(seen) > self._max:
            del seen[order.popleft()]
        horizon = now_ms - self._ttl
        while order and seen[order[0]] < horizon:
            del seen[order.popleft()]
        self._front_ms = seen[order[0]] if order else now_ms

    def clear(self) -> None:
        self._seen.clear()
        self._order.clear()


class Deduplicator:
    """The two windows of one raw partition."""

    __slots__ = ("contents", "ids")

    def __init__(self, config: DedupConfig) -> None:
        self.ids = SeenWindow(config.max_entries, config.ttl_ms)
        self.contents = SeenWindow(config.max_entries, config.ttl_ms)


ContentKey = Callable[[Any, int], int | None]


def content_keys(config: DedupConfig) -> dict[str, ContentKey]:
    """Per raw market kind, the function of (``data`` with canonical names, event time) that
    hashes the facts making two messages the same update, or gives ``None`` when the
    message has none."""
    return {
        "price_update": _price_key,
        "trade": _trade_key_or_facts if config.trades_without_id else _trade_key,
        "orderbook_snapshot": _snapshot_key,
        "orderbook_delta": _delta_key,
        "yield_rate": _yield_key,
        "liquidation": _liquidation_key,
        "governance_event": _governance_key,
    }


# Distinct first elements keep the kinds' keys apart.
_PRICE, _TRADE, _SNAPSHOT, _DELTA, _YIELD, _LIQUIDATION, _GOVERNANCE = range(7)


def _price_key(data: Any, event_ms: int) -> int | None:
    return hash(
        (_PRICE, data.exchange, data.pair, event_ms, data.price, data.bid, data.ask,
         data.volume24h)
    )  # fmt: skip


def _trade_key(data: Any, event_ms: int) -> int | None:
    if data.trade_id is None:
        return None
    return hash((_TRADE, data.exchange, data.pair, data.trade_id))


def _trade_key_or_facts(data: Any, event_ms: int) -> int | None:
    if data.trade_id is not None:
        return hash((_TRADE, data.exchange, data.pair, data.trade_id))
    return hash((_TRADE, data.exchange, data.pair, event_ms, data.price, data.amount, data.side))


def _snapshot_key(data: Any, event_ms: int) -> int | None:
    if data.sequence is None:
        return None
    return hash((_SNAPSHOT, data.exchange, data.pair, data.sequence))


def _delta_key(data: Any, event_ms: int) -> int | None:
    if data.sequence is None:
        return None
    return hash((_DELTA, data.exchange, data.pair, data.first_sequence, data.sequence))


def _yield_key(data: Any, event_ms: int) -> int | None:
    return hash((_YIELD, data.protocol, data.pool, event_ms, data.apy, data.tvl_usd))


def _liquidation_key(data: Any, event_ms: int) -> int | None:
    if data.log_index is not None:
        return hash((_LIQUIDATION, data.chain, data.tx_hash, data.log_index))
    return hash((_LIQUIDATION, data.chain, data.tx_hash, data.borrower, data.debt_amount))


def _governance_key(data: Any, event_ms: int) -> int | None:
    return hash(
        (_GOVERNANCE, data.protocol, data.proposal_id, data.event_type, data.tx_hash,
         data.voter, event_ms)
    )  # fmt: skip
