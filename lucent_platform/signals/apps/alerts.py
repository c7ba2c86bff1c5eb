"""The price alert engine (issue #6 item 3): ``market.prices.all`` joined with the rules table
on ``user.alert-rules`` (a stream–table join) → ``price_alert`` envelopes on ``user.alerts``.

Every price update of a pair evaluates that pair's rules (``alert_rules.Rule``):

- ``above``/``below``: the venue's latest price (with ``exchange``), else any venue's whose
  latest quote is fresh (event time within ``stale_ms`` of the update's), is at or beyond
  ``level``;
- ``move``: on a venue (or any fresh one), the price moved at least ``level`` percent within
  ``windowMs``: up from the window's lowest price or down from its highest (a rolling window
  per pair, venue and period: monotonic min/max queues, O(1) per quote);
- ``spread``: the best bid across fresh venues is at least ``level`` bps over the best ask
  across fresh venues.

**Once per crossing**: a rule fires when its condition becomes true and is armed again only
after it was seen false. A rule's first evaluation (new rule, updated rule, or a start
without state) only establishes whether the condition holds, without firing: a rule created
while the price is already beyond its level waits for the next crossing.

**State after a restart** (``records.Stateful``): the crossing state is a function of the
recent prices alone (the latest fresh quote per venue, the move windows), so it is rebuilt by
re-reading them: the checkpoint mark is the offset of the oldest record of the partition still
within the lookback (``stale_ms`` or the longest move period), the runtime replays from there
through ``warm`` (outputs discarded) and live processing resumes with the state the crashed
run had. A pair quiet for longer than the lookback re-establishes its rules' state silently.

Output ids are ``message_id_for("price-alert", rule id, quote message id)``; the header's
``correlationId`` is the quote's message id, ``metadata.latencyMs`` now − its ``receivedTimeMs``.
Pure: the clock is injected.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lucent_platform.envelope import (
    Envelope,
    EnvelopeError,
    decode_as,
    encode,
    message_id_for,
    new_envelope,
)
from lucent_platform.json_config import from_json
from lucent_platform.messages import PriceAlert, PriceUpdate
from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals.apps.alert_rules import Rule, parse_rule, parse_rule_id
from lucent_platform.signals.keyed import PartitionedApp
from lucent_platform.signals.table import Table
from lucent_platform.signals.windows import Mark
from lucent_platform.topics import USER_ALERT_RULES, USER_ALERTS

Partition = tuple[str, int]
SOURCE = "lucent-alerts"


@dataclass(frozen=True)
class AlertsConfig:
    """``LUCENT_ALERTS_CONFIG``. ``stale_ms``: a venue's latest quote older than this (event
    time, relative to the update being evaluated) no longer counts for rules without an
    exchange and for spreads."""

    stale_ms: int = 30_000

    def __post_init__(self) -> None:
        if self.stale_ms <= 0:
            raise ValueError(f"alerts config stale_ms must be positive, got {self.stale_ms}")


def alerts_config(overrides: Mapping[str, Any]) -> AlertsConfig:
    """An ``AlertsConfig`` from JSON like ``{"stale_ms": 10000}``; ``ValueError`` naming the
    field for an unknown name or a wrong value."""
    return from_json(AlertsConfig, overrides, "alerts")


class _Extremes:
    """Lowest and highest price of the last ``window_ms`` (event time) of one venue."""

    __slots__ = ("highs", "lows", "window_ms")

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.lows: deque[tuple[int, float]] = deque()
        self.highs: deque[tuple[int, float]] = deque()

    def add(self, event_ms: int, price: float) -> None:
        while self.lows and self.lows[-1][1] >= price:
            self.lows.pop()
        self.lows.append((event_ms, price))
        while self.highs and self.highs[-1][1] <= price:
            self.highs.pop()
        self.highs.append((event_ms, price))
        cutoff = event_ms - self.window_ms
        while self.lows[0][0] <= cutoff:
            self.lows.popleft()
        while self.highs[0][0] <= cutoff:
            self.highs.popleft()


@dataclass
class _Quote:
    event_ms: int
    price: float
    bid: float | None
    ask: float | None


@dataclass(frozen=True)
class _Hit:
    """A condition that holds: what the alert reports."""

    exchange: str
    price: float
    target: float
    direction: str
    value: float
    reference_price: float | None = None
    reference_exchange: str | None = None


class _PartitionState:
    def __init__(self) -> None:
        self.quotes: dict[str, dict[str, _Quote]] = {}  # pair → venue → latest quote
        self.extremes: dict[tuple[str, str, int], _Extremes] = {}  # (pair, venue, period)
        self.crossing: dict[bytes, tuple[Rule, bool]] = {}  # rule id → (rule, condition)
        self.span: deque[tuple[int, int]] = deque()  # (event ms, offset) within the lookback
        self.latest_ms = 0


class AlertEngine(PartitionedApp[_PartitionState]):
    """The processor ``lucent worker alerts`` runs (``streaming.apps.alerts``)."""

    def __init__(
        self,
        config: AlertsConfig,
        *,
        clock_ms: Callable[[], int],
        out_topic: str = USER_ALERTS,
        rules_topic: str = USER_ALERT_RULES,
    ) -> None:
        super().__init__()
        self.config = config
        self.out_topic = out_topic
        self.rules: Table[Rule] = Table(rules_topic, parse_rule, parse_rule_id)
        self._clock_ms = clock_ms
        self._by_pair: dict[str, list[tuple[bytes, Rule]]] = {}
        self._indexed = -1
        self._lookback_ms = config.stale_ms

    # --- the processor (the rest is PartitionedApp's) --------------------------------------
    def tables(self) -> Sequence[Table[Any]]:
        return [self.rules]

    def new_partition(self) -> _PartitionState:
        return _PartitionState()

    def mark(self, state: _PartitionState) -> Mark | None:
        return Mark(state.span[0][1] if state.span else None, None)

    # --- evaluation ----------------------------------------------------------------------
    def run(
        self, records: Sequence[InRecord], outputs: list[Output] | None, counts: Counter[str]
    ) -> None:
        self._index()
        for record in records:
            if record.value is None:
                continue
            try:
                envelope = decode_as(record.value, PriceUpdate)
            except EnvelopeError:
                counts["skipped"] += 1
                continue
            tp = (record.topic, record.partition)
            state = self._parts.get(tp)
            if state is None:
                state = self._parts[tp] = _PartitionState()
            self._observe(state, envelope, record.offset)
            for rule_id, rule in self._by_pair.get(envelope.data.pair, ()):
                hit = self._evaluate(state, rule, envelope.data)
                if hit is _SKIP:
                    continue
                before = state.crossing.get(rule_id)
                state.crossing[rule_id] = (rule, hit is not None)
                if hit is None or before is None or before[0] != rule or before[1]:
                    continue
                counts["alerts"] += 1
                if outputs is not None:
                    outputs.append(self._alert(rule_id, rule, hit, envelope))

    def _index(self) -> None:
        """Rules by pair, rebuilt when the table changed; state of deleted or changed rules
        dropped (a changed rule starts over: its first evaluation arms it)."""
        if self.rules.version == self._indexed:
            return
        self._indexed = self.rules.version
        by_pair: dict[str, list[tuple[bytes, Rule]]] = {}
        for rule_id, rule in sorted(self.rules.items()):
            by_pair.setdefault(rule.pair, []).append((rule_id, rule))
        self._by_pair = by_pair
        windows = [r.window_ms or 0 for _, r in self.rules.items() if r.type == "move"]
        self._lookback_ms = max([self.config.stale_ms, *windows])
        for state in self._parts.values():
            for rule_id in list(state.crossing):
                current = self.rules.get(rule_id)
                if current is None or current != state.crossing[rule_id][0]:
                    del state.crossing[rule_id]

    def _observe(
        self, state: _PartitionState, envelope: Envelope[PriceUpdate], offset: int
    ) -> None:
        data, event_ms = envelope.data, envelope.header.event_time_ms
        venue = state.quotes.setdefault(data.pair, {})
        venue[data.exchange] = _Quote(event_ms, data.price, data.bid, data.ask)
        for _, rule in self._by_pair.get(data.pair, ()):
            if rule.type == "move" and rule.window_ms is not None:
                key = (data.pair, data.exchange, rule.window_ms)
                extremes = state.extremes.get(key)
                if extremes is None:
                    extremes = state.extremes[key] = _Extremes(rule.window_ms)
                extremes.add(event_ms, data.price)
        state.latest_ms = max(state.latest_ms, event_ms)
        state.span.append((event_ms, offset))
        cutoff = state.latest_ms - self._lookback_ms
        while state.span and state.span[0][0] < cutoff:
            state.span.popleft()

    def _evaluate(self, state: _PartitionState, rule: Rule, data: PriceUpdate) -> Any:
        """The hit if the rule's condition holds after this update, None if it does not,
        ``_SKIP`` if the update says nothing about it (another venue's quote)."""
        if rule.exchange is not None and rule.exchange != data.exchange:
            return _SKIP
        quotes = state.quotes[data.pair]
        now = quotes[data.exchange].event_ms
        stale = self.config.stale_ms
        venues = [data.exchange] if rule.exchange else _fresh(quotes, now, stale, data.exchange)
        if rule.type == "spread":
            return _spread(rule, quotes, venues)
        for venue in venues:
            hit = self._venue_hit(state, rule, data.pair, venue, quotes[venue])
            if hit is not None:
                return hit
        return None

    def _venue_hit(
        self, state: _PartitionState, rule: Rule, pair: str, venue: str, quote: _Quote
    ) -> _Hit | None:
        price, level = quote.price, rule.level
        if rule.type == "above":
            return _Hit(venue, price, level, "above", price) if price >= level else None
        if rule.type == "below":
            return _Hit(venue, price, level, "below", price) if price <= level else None
        extremes = state.extremes.get((pair, venue, rule.window_ms or 0))
        if extremes is None or not extremes.lows:
            return None
        low, high = extremes.lows[0][1], extremes.highs[0][1]
        up = (price - low) / low * 100.0 if low > 0 else 0.0
        down = (high - price) / high * 100.0 if high > 0 else 0.0
        if up >= level and up >= down:
            return _Hit(venue, price, low * (1 + level / 100), "above", up, low, venue)
        if down >= level:
            return _Hit(venue, price, high * (1 - level / 100), "below", -down, high, venue)
        return None

    def _alert(self, rule_id: bytes, rule: Rule, hit: _Hit, quote: Envelope[PriceUpdate]) -> Output:
        h = quote.header
        rule_text = rule_id.decode(errors="replace")
        alert = PriceAlert(
            rule_id=rule_text, user_id=rule.user_id, pair=rule.pair, exchange=hit.exchange,
            target_price=hit.target, direction=hit.direction,  # type: ignore[arg-type]
            price=hit.price, rule_type=rule.type, level=rule.level, value=hit.value,
            window_ms=rule.window_ms, reference_price=hit.reference_price,
            reference_exchange=hit.reference_exchange,
        )  # fmt: skip
        envelope = new_envelope(
            alert,
            source=SOURCE,
            event_time_ms=h.event_time_ms,
            received_time_ms=h.received_time_ms,
            message_id=message_id_for("price-alert", rule_text, h.message_id),
            correlation_id=h.message_id,
            latency_ms=float(self._clock_ms() - h.received_time_ms),
        )
        return Output(self.out_topic, rule.user_id.encode(), encode(envelope))


_SKIP: Any = object()


def _fresh(quotes: Mapping[str, _Quote], now_ms: int, stale_ms: int, first: str) -> list[str]:
    """Venues whose latest quote is fresh at ``now_ms``, ``first`` (the update's) first."""
    others = sorted(v for v, q in quotes.items() if v != first and q.event_ms >= now_ms - stale_ms)
    return [first, *others]


def _spread(rule: Rule, quotes: Mapping[str, _Quote], venues: list[str]) -> _Hit | None:
    bids: list[tuple[float, bool, str]] = []  # (price, is the update's venue, venue)
    asks: list[tuple[float, bool, str]] = []
    for v in venues:
        q = quotes[v]
        if q.bid is not None:
            bids.append((q.bid, v == venues[0], v))
        if q.ask is not None:
            asks.append((-q.ask, v == venues[0], v))
    if not bids or not asks:
        return None
    bid, _, bid_venue = max(bids)  # ties: the update's venue, then the last in name order
    neg_ask, _, ask_venue = max(asks)
    ask = -neg_ask
    if ask <= 0:
        return None
    bps = (bid - ask) / ask * 10_000.0
    if bps < rule.level:
        return None
    target = ask * (1 + rule.level / 10_000.0)
    return _Hit(bid_venue, bid, target, "above", bps, ask, ask_venue)
