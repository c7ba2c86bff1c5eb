"""The simulator's generator API: drive a simulated clock, get Kafka-ready messages.

    simulator = MarketSimulator(SimulatorConfig(seed=7), start_ms=1_756_809_000_000)
    for message in simulator.step(now_ms):      # everything received up to now_ms
        produce(message.topic, message.key, message.value)

The market moves in ticks of ``config.tick_ms``; each tick's events are generated whole, the
first time ``step`` reaches it, and handed out in the order our connector would have
received them (``received_time_ms``: event time plus a few ms of simulated network delay,
never out of order within one feed). So the output does not depend on how finely the caller
slices time: ``step(t)`` returns what ``step(t - 500)`` then ``step(t)`` would, byte for byte.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterator
from operator import itemgetter

import numpy as np

from lucent_platform.envelope import encode, new_envelope
from lucent_platform.messages import (
    GovernanceEvent,
    Liquidation,
    MessageData,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.simulator.anomalies import ANOMALIES, Anomaly, Injection, rates_per_tick
from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.draws import Draws
from lucent_platform.simulator.events import (
    DELTA,
    SHIFT,
    SNAPSHOT,
    TARGET_MASK,
    TICKER,
    TRADE,
    YIELD,
    Event,
    event,
)
from lucent_platform.simulator.injector import AnomalyInjector
from lucent_platform.simulator.onchain import ChainEvents
from lucent_platform.simulator.output import SimulatedMessage
from lucent_platform.simulator.prices import MarketModel
from lucent_platform.simulator.venues import VenueStream
from lucent_platform.simulator.yields import PoolStream

JITTER_MS = 2.0  # mean extra network delay on top of a venue's base delay
RECENT_FOR_DUPLICATES = 256
INJECTION_LOG = 10_000
CHAIN_ORDER = 1 << 62  # on-chain messages' own order numbers, apart from the market's

Feed = VenueStream | PoolStream
KINDS = tuple(
    kind.message_type
    for kind in (
        PriceUpdate,
        Trade,
        OrderBookSnapshot,
        OrderBookDelta,
        YieldRate,
        Liquidation,
        GovernanceEvent,
    )
)


class MarketSimulator:
    """A seeded, simulated crypto market: tickers, trades, books, yields, liquidations and
    governance, with anomalies.

    Same config, same ``start_ms``, same calls → byte-identical messages (message ids derive
    from the seed, ``start_ms`` and per-feed counts). ``stats`` counts the messages ``step``
    has returned (``messages``), per kind (``price_update``…, ``malformed``) and per injected
    anomaly (``injected.outlier``…), and the market events started so far
    (``events.arbitrage_gap``, ``events.apy_spike``, ``events.liquidation_cascade``);
    ``injections`` logs the latest
    injected anomalies (``INJECTION_LOG`` of them).
    """

    def __init__(self, config: SimulatorConfig, *, start_ms: int) -> None:
        self.config = config
        self.start_ms = start_ms
        self.now_ms = start_ms
        self.draws = Draws(config.seed)
        streams = [(exchange, pair) for exchange in config.exchanges for pair in config.pairs]
        self.model = MarketModel(config, self.draws, streams)
        run_id = f"lucent-simulator\x1f{config.seed}\x1f{start_ms}"
        self.venues = [
            VenueStream(i, exchange, pair, config, self.model, self.draws, run_id)
            for i, (exchange, pair) in enumerate(streams)
        ]
        self.pools = [PoolStream(spec, self.draws, run_id) for spec in config.pools]
        self.stats: dict[str, int] = dict.fromkeys(
            ["messages", *KINDS, "malformed"]
            + [f"injected.{kind}" for kind in (*ANOMALIES, "liquidation_cascade")]
            + ["events.arbitrage_gap", "events.apy_spike", "events.liquidation_cascade"],
            0,
        )
        self.injections: deque[Injection] = deque(maxlen=INJECTION_LOG)
        self.injected_total = 0  # every injection so far (the log keeps the latest)
        self.recent: list[tuple[SimulatedMessage, str]] = []  # (message, kind) to duplicate
        self._injector = AnomalyInjector(self)
        # Created after everything above: it draws from its own generator, not self.draws.
        self.chain = ChainEvents(config, self.model, run_id, start_ms, streams)
        self._chain_order = CHAIN_ORDER
        self._snapshot_due = [start_ms] * len(streams)
        self._snapshot_phase = [
            1 + int(self.draws.uniform() * config.snapshot_interval_ms) for _ in streams
        ]
        tick_s = config.tick_ms / 1000 * config.rate_multiplier
        venue_count, pool_count = len(self.venues), len(self.pools)
        # Expected events per tick: regular ones (codes below), then anomalies (ANOMALIES order).
        self._rates = np.array(
            [config.tickers_per_s * tick_s] * venue_count
            + [config.trades_per_s * tick_s] * venue_count
            + [config.book_deltas_per_s * tick_s] * venue_count
            + [config.yields_per_s * tick_s] * pool_count
            + rates_per_tick(config.anomalies, config.rate_multiplier, config.tick_ms)
        )
        self._regular_codes = np.array(
            [action << SHIFT | i for action in (TICKER, TRADE, DELTA) for i in range(venue_count)]
            + [YIELD << SHIFT | i for i in range(pool_count)]
        )
        self._handlers: list[Callable[[int, int], None]] = [
            self._ticker,
            self._trade,
            self._delta,
            self._yield,
            self._snapshot,
            self._injector.outlier,
            self._injector.late,
            self._injector.duplicate,
            self._injector.malformed,
        ]
        # (arrival, order, kind, message): generated, then sorted into pending by arrival
        self._arrivals: list[tuple[int, int, str, SimulatedMessage]] = []
        self._pending: list[tuple[int, int, str, SimulatedMessage]] = []
        self._order = 0
        self._generated_until = start_ms
        self._first_events = False

    @property
    def topics(self) -> tuple[str, ...]:
        """Every raw topic this simulator can write to."""
        venue_topics = [
            topic
            for venue in self.venues
            for topic in (venue.prices_topic, venue.trades_topic, venue.book_topic)
        ]
        chain_topics = [feed.topic for feed in self.chain.feeds]
        return (*venue_topics, *(pool.topic for pool in self.pools), *chain_topics)

    def step(self, now_ms: int) -> list[SimulatedMessage]:
        """Everything received by our simulated connector up to ``now_ms``, in that order."""
        if now_ms < self.now_ms:
            raise ValueError(f"the simulated clock cannot go back: {now_ms} < {self.now_ms}")
        self.now_ms = now_ms
        while self._generated_until <= now_ms:
            self._generate_tick()
        if self._arrivals:  # one sort per batch of ticks beats a heap operation per message
            self._pending = sorted(self._pending + self._arrivals)
            self._arrivals = []
        pending = self._pending
        cut = bisect.bisect_right(pending, now_ms, key=itemgetter(0))
        if not cut:
            return []
        self._pending = pending[cut:]
        ready, stats = [], self.stats
        for _, _, kind, message in pending[:cut]:
            stats[kind] += 1
            if message.injected is not None:
                stats["injected." + message.injected] += 1
            ready.append(message)
        stats["messages"] += cut
        return ready

    def run(self, duration_ms: int, tick_ms: int = 100) -> Iterator[SimulatedMessage]:
        """Drive ``step`` from the current clock for ``duration_ms``, ``tick_ms`` at a time."""
        if tick_ms <= 0:
            raise ValueError("tick_ms must be positive")
        end, now = self.now_ms + duration_ms, self.now_ms
        while now < end:
            now = min(now + tick_ms, end)
            yield from self.step(now)

    # --- one tick of the market ------------------------------------------------------------

    def _generate_tick(self) -> None:
        start = self._generated_until
        end = self._generated_until = start + self.config.tick_ms
        forced = self._snapshots(end)  # forced events go first among same-time events
        counts = self.draws.rng.poisson(self._rates)
        regular = len(self._regular_codes)
        anomalies = dict(zip(ANOMALIES, counts[regular:].tolist(), strict=True))
        first = self.config.anomalies.first_events_after_ms
        if first is not None and not self._first_events and start >= self.start_ms + first:
            self._first_events = True
            for kind in ("arbitrage_gap", "apy_spike"):
                if getattr(self.config.anomalies, kind) > 0:  # a rate of 0 turns it off
                    anomalies[kind] = max(1, anomalies[kind])
        forced += self._injector.events_for_tick(start, anomalies)
        forced += self.chain.crash_quotes(start, end)  # empty (and drawing nothing) but in a crash
        events = self._regular_events(start, end, counts[:regular])
        if forced:
            events = sorted(forced + events, key=itemgetter(0))
        handlers = self._handlers
        for time_ms, code in events:
            handlers[code >> SHIFT](code & TARGET_MASK, time_ms)
        self._chain_tick(start, end)
        dt_s = self.config.tick_ms / 1000
        self.model.advance(dt_s)
        for pool in self.pools:
            pool.advance(dt_s, self.draws)

    def _chain_tick(self, start: int, end: int) -> None:
        """The blocks of this tick: queued apart from the market's messages (own order
        numbers, never duplicated), so the market's sequence stays what it was."""
        for message, kind in self.chain.tick(start, end):
            self._chain_order += 1
            self._arrivals.append((message.received_time_ms, self._chain_order, kind, message))
        for cascade in self.chain.started_cascades():
            self.injections.append(cascade)
            self.injected_total += 1
            self.stats["events.liquidation_cascade"] += 1

    def _snapshots(self, end: int) -> list[Event]:
        """Book snapshots due before ``end``: every feed at the start, then each feed every
        ``snapshot_interval_ms`` from its own phase, so they do not all come at once."""
        snapshots = []
        for i, due in enumerate(self._snapshot_due):
            if due < end:
                snapshots.append(event(due, SNAPSHOT, i))
                self._snapshot_due[i] = (
                    self.start_ms + self._snapshot_phase[i]
                    if due == self.start_ms
                    else due + self.config.snapshot_interval_ms
                )
        return snapshots

    def _regular_events(self, start: int, end: int, counts: np.ndarray) -> list[Event]:
        codes = np.repeat(self._regular_codes, counts)
        times = self.draws.rng.integers(start, end, size=len(codes))
        order = np.argsort(times, kind="stable")
        return list(zip(times[order].tolist(), codes[order].tolist(), strict=True))

    # --- what each event publishes ---------------------------------------------------------

    def _ticker(self, index: int, time_ms: int) -> None:
        venue = self.venues[index]
        data = venue.price_update(self.model, self.draws)
        self.publish(venue, venue.prices_topic, data, time_ms, self._gap_flag(venue))

    def _trade(self, index: int, time_ms: int) -> None:
        venue = self.venues[index]
        data = venue.trade(self.model, self.draws)
        self.publish(venue, venue.trades_topic, data, time_ms, self._gap_flag(venue))

    def _delta(self, index: int, time_ms: int) -> None:
        venue = self.venues[index]
        data = venue.book_delta(self.model, self.draws)
        self.publish(venue, venue.book_topic, data, time_ms, self._gap_flag(venue))

    def _snapshot(self, index: int, time_ms: int) -> None:
        venue = self.venues[index]
        self.publish(venue, venue.book_topic, venue.book_snapshot(), time_ms, None)

    def _yield(self, index: int, time_ms: int) -> None:
        pool = self.pools[index]
        flag: Anomaly | None = "apy_spike" if pool.spike_apy is not None else None
        self.publish(pool, pool.topic, pool.rate(self.draws), time_ms, flag)

    @staticmethod
    def _gap_flag(venue: VenueStream) -> Anomaly | None:
        return "arbitrage_gap" if venue.gap_until_ms is not None else None

    # --- out ---------------------------------------------------------------------------------

    def arrival(self, feed: Feed, time_ms: int) -> int:
        """When our connector receives what ``feed`` sent at ``time_ms``: in order, a bit later."""
        received = time_ms + feed.delay_ms + int(self.draws.exponential() * JITTER_MS)
        received = max(received, feed.last_received_ms)
        feed.last_received_ms = received
        return received

    def publish(
        self,
        feed: Feed,
        topic: str,
        data: MessageData,
        time_ms: int,
        injected: Anomaly | None,
        *,
        event_time_ms: int | None = None,
    ) -> None:
        """Wrap ``data`` sent at ``time_ms`` in an envelope and queue it for its arrival."""
        event_ms = time_ms if event_time_ms is None else event_time_ms
        envelope = new_envelope(
            data,
            source=feed.source,
            event_time_ms=event_ms,
            received_time_ms=self.arrival(feed, time_ms),
            message_id=feed.next_message_id(),
        )
        message = SimulatedMessage(
            topic, feed.key, encode(envelope), event_ms, injected, envelope.header.received_time_ms
        )
        self.queue(message, data.message_type)

    def queue(self, message: SimulatedMessage, kind: str) -> None:
        """Hold ``message`` (of message type ``kind``) until the clock reaches its arrival."""
        if message.injected is None:
            recent = self.recent
            if len(recent) < RECENT_FOR_DUPLICATES:
                recent.append((message, kind))
            else:
                recent[self._order % RECENT_FOR_DUPLICATES] = (message, kind)
        self._order += 1
        self._arrivals.append((message.received_time_ms, self._order, kind, message))
