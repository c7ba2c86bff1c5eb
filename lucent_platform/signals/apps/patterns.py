"""Liquidation cascades (issue #6 item 5): many liquidations while the collateral's price falls.

A cascade on ``(protocol, chain, collateral asset)`` in an event-time window (1 minute,
tumbling, by default) is at least ``min_liquidations`` liquidations seizing that asset while
its price fell at least ``min_drop_pct`` percent within the window: the largest fall from a
peak to a later low of any pair pricing the asset in ``quotes`` (``ETH-USDT``, ``ETH-USD``…),
at ``bucket_ms`` resolution (a wrapped collateral, ``WETH``, falls with its ``underlying``
asset's pairs, ``ETH-USDT``). It is emitted once per window, as soon as both hold — on the
liquidation that completes the count, on the price that deepens the fall, or at the latest
when the window closes — as a ``LiquidationCascade`` on ``market.patterns`` keyed by protocol,
with the window's deterministic id and ``correlationId`` = the triggering message.

**The join.** Liquidations are keyed by protocol, prices by pair: they never share a
partition. The app reads both topics and keeps a small price table of its own (per pair,
per bucket: high and low) fed from every price partition it owns; liquidation windows look
the asset's fall up there. Price records also open (silent) windows per asset, so a restart
re-reads prices back to the oldest open one and the table comes back with the windows.
Trade-off: one instance must own every price partition, so the group runs one instance
(more instances would each see only some pairs' prices); scaling out means following the
price topic as a global table on every instance (like the alert rules), at the cost of
every instance reading every quote. Which of a liquidation and a price arrives first across
partitions is not fixed, so the trigger (and ``correlationId``) of a cascade may differ
between runs; whether a window is a cascade does not. A liquidation window closes on its own
partition's watermark, which may run ahead of the prices' (a worker catching up after a
restart reads whichever partition the broker answers first): a window closed with enough
liquidations but no price of its asset at or after its end yet **waits** for those prices
and is decided when they come (at most ``WAITING_LIMIT`` windows, each for as long as the
price table keeps its prices). The price table keeps 2 × (window + grace) of prices behind
the slowest input partition (but no more than ``HOLD_MS``, 30 minutes, behind the newest),
so one input read ahead of the others does not prune prices they have yet to join. A
waiting window is not in the checkpoint: a restart in that moment forgets it, as it would
any closed window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.envelope import Envelope, decode, encode, new_envelope
from lucent_platform.json_config import from_json
from lucent_platform.messages import Liquidation, LiquidationCascade, PriceUpdate
from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals.app import Event, Partition, WindowedApp
from lucent_platform.signals.windows import Closed, Window, WindowSpec
from lucent_platform.topics import DEADLETTER, PATTERNS

APP = "liquidation-cascade"
SOURCE = "lucent-patterns"
PRICE_KEY = "price/"


@dataclass(frozen=True)
class PatternsConfig:
    """``LUCENT_PATTERNS_CONFIG``: cascade thresholds (count, percent), windows (ms), and
    which asset's prices a wrapped collateral falls with."""

    min_liquidations: int = 3
    min_drop_pct: float = 5.0
    window_ms: int = 60_000
    hop_ms: int = 0
    grace_ms: int = 5_000
    idle_ms: int = 1_000
    bucket_ms: int = 1_000
    quotes: tuple[str, ...] = ("USD", "USDT", "USDC")
    underlying: Mapping[str, str] = field(
        default_factory=lambda: {"WETH": "ETH", "WBTC": "BTC", "cbBTC": "BTC"}
    )
    """Wrapped collateral priced by its underlying asset's pairs: an Aave ``WETH``
    liquidation falls with ``ETH-USDT``."""

    def __post_init__(self) -> None:
        if self.min_liquidations < 1 or self.bucket_ms < 1:
            raise ValueError("min_liquidations and bucket_ms must be at least 1")
        if not 0.0 < self.min_drop_pct < 100.0:
            raise ValueError("min_drop_pct must be within (0, 100)")

    @property
    def spec(self) -> WindowSpec:
        return WindowSpec(self.window_ms, self.hop_ms, self.grace_ms, self.idle_ms)


def patterns_config(overrides: Mapping[str, Any]) -> PatternsConfig:
    """A ``PatternsConfig`` from JSON like ``{"min_liquidations": 5}``; ``ValueError`` names an
    unknown field or a bad value. ``underlying`` entries are added to the default ones."""
    # The window fields must make a valid window.
    default = {"underlying": dict(PatternsConfig().underlying)}
    return from_json(PatternsConfig, overrides, "patterns", merged=default, check=lambda c: c.spec)


@dataclass(frozen=True)
class Fall:
    pair: str
    high: float
    low: float

    @property
    def pct(self) -> float:
        return (self.high - self.low) / self.high * 100 if self.high > 0 else 0.0


class PriceTable:
    """High and low per pair per bucket, pairs per base asset; the owner prunes old buckets."""

    def __init__(self, bucket_ms: int) -> None:
        self.bucket_ms = bucket_ms
        self._buckets: dict[str, dict[int, list[float]]] = {}
        self._pairs: dict[str, set[str]] = {}
        self._latest: dict[str, int] = {}  # asset → its newest price's event time

    def seen_until(self, asset: str) -> int | None:
        """Event time of ``asset``'s newest price; None before its first."""
        return self._latest.get(asset)

    def add(self, asset: str, pair: str, event_ms: int, price: float) -> None:
        self._pairs.setdefault(asset, set()).add(pair)
        if event_ms > self._latest.get(asset, -1):
            self._latest[asset] = event_ms
        buckets = self._buckets.setdefault(pair, {})
        at = event_ms - event_ms % self.bucket_ms
        slot = buckets.get(at)
        if slot is None:
            buckets[at] = [price, price]
        else:
            slot[0], slot[1] = max(slot[0], price), min(slot[1], price)

    def prune(self, oldest_ms: int) -> None:
        """Forget the buckets before ``oldest_ms``."""
        for held in self._buckets.values():
            for old in [b for b in held if b < oldest_ms]:
                del held[old]

    def fall(self, asset: str, start_ms: int, end_ms: int) -> Fall | None:
        """The largest peak-to-later-low fall of any pair of ``asset`` in ``[start, end)``."""
        worst: Fall | None = None
        for pair in sorted(self._pairs.get(asset, ())):
            buckets = self._buckets.get(pair, {})
            peak: float | None = None
            for at in sorted(b for b in buckets if start_ms <= b < end_ms):
                high, low = buckets[at]
                peak = high if peak is None else max(peak, high)
                fall = Fall(pair, peak, low)
                if worst is None or fall.pct > worst.pct:
                    worst = fall
        return worst


class ProtocolWindow:
    """A window's liquidations (or, for a price key, nothing: price windows are silent)."""

    __slots__ = ("amount", "chain", "count", "fired", "last_id", "value_usd")

    def __init__(self) -> None:
        self.count = 0
        self.amount = 0.0
        self.value_usd: float | None = None
        self.chain = ""
        self.last_id = ""
        self.fired = False


Armed = tuple[Partition, Window, ProtocolWindow]
WAITING_LIMIT = 10_000  # closed windows waiting for their prices, at most
HOLD_MS = 30 * 60_000  # how far behind the newest input a slow partition holds the prices


class CascadeDetector(WindowedApp[ProtocolWindow, Envelope[Any]]):
    """``lucent worker patterns``'s processor: liquidations and prices in, cascades out."""

    def __init__(
        self,
        config: PatternsConfig,
        *,
        clock_ms: Callable[[], int],
        out_topic: str = PATTERNS,
        late_topic: str = DEADLETTER,
    ) -> None:
        super().__init__(APP, config.spec, clock_ms=clock_ms, late_topic=late_topic)
        self.config = config
        self.out_topic = out_topic
        self.prices = PriceTable(config.bucket_ms)
        self._armed: dict[str, dict[Window, Armed]] = {}  # asset → windows counting enough
        # asset → windows closed with enough liquidations before the asset's prices reached
        # their end (the liquidations' partition read ahead of the prices'): decided when
        # those prices come, or dropped once the price table no longer holds the window
        self._waiting: dict[str, dict[Window, Armed]] = {}
        self._keep_ms = 2 * (config.window_ms + config.grace_ms)
        self._progress: dict[Partition, int] = {}  # input partition → newest event time
        self._newest_ms = self._pruned_ms = 0

    def read(self, record: InRecord) -> Event[Envelope[Any]] | None:
        if record.value is None:
            return None
        envelope = decode(record.value)
        d, t = envelope.data, envelope.header.event_time_ms
        if isinstance(d, Liquidation):
            return Event(f"{d.protocol}/{d.chain}/{d.collateral_asset}", t, envelope)
        if isinstance(d, PriceUpdate):
            base, _, quote = d.pair.partition("-")
            return Event(PRICE_KEY + base, t, envelope) if quote in self.config.quotes else None
        return None

    def new_state(self) -> ProtocolWindow:
        return ProtocolWindow()

    def update(self, state: ProtocolWindow, event: Event[Envelope[Any]], record: InRecord) -> None:
        d = event.value.data
        if isinstance(d, Liquidation):
            state.count += 1
            state.amount += d.collateral_amount
            if d.value_usd is not None:
                state.value_usd = (state.value_usd or 0.0) + d.value_usd
            state.chain, state.last_id = d.chain, event.value.header.message_id

    def react(
        self,
        windows: Sequence[Window],
        states: Sequence[ProtocolWindow],
        event: Event[Envelope[Any]],
        record: InRecord,
    ) -> Sequence[Output]:
        d, cause = event.value.data, event.value.header.message_id
        tp = (record.topic, record.partition)
        if event.event_ms > self._progress.get(tp, -1):
            self._progress[tp] = event.event_ms
            self._prune(event.event_ms)
        if isinstance(d, PriceUpdate):  # once per event, not per (hopping) window
            asset = event.key.removeprefix(PRICE_KEY)
            self.prices.add(asset, d.pair, event.event_ms, d.price)
            armed = self._armed.get(asset, {})
            found = [o for w, s in list(armed.items()) for o in self._check(w, s[2], cause)]
            return found + self._decide_waiting(asset, cause)
        outputs: list[Output] = []
        for window, state in zip(windows, states, strict=True):
            if not state.fired and state.count >= self.config.min_liquidations:
                self._armed.setdefault(self._priced(window), {})[window] = (tp, window, state)
                outputs += self._check(window, state, cause)
        return outputs

    def emit(self, closed: Closed[ProtocolWindow]) -> Sequence[Output]:
        window, state = closed.window, closed.state
        if window.key.startswith(PRICE_KEY):
            return ()
        asset = self._priced(window)
        armed = self._armed.get(asset, {}).pop(window, None)
        outputs = self._check(window, state, state.last_id)
        seen = self.prices.seen_until(asset)
        if armed is not None and not outputs and (seen is None or seen < window.end_ms):
            self._wait(asset, armed)
        return outputs

    def assigned(self, partitions: Iterable[Partition]) -> None:
        """Every owned partition holds the price table back, even before its first record:
        a partition not read yet may still need the oldest prices."""
        owned = list(partitions)
        super().assigned(owned)
        for tp in owned:
            self._progress.setdefault(tp, -1)

    def revoked(self, partitions: Any) -> None:
        lost = set(partitions)
        super().revoked(lost)
        for tp in lost:
            self._progress.pop(tp, None)
        for held in (*self._armed.values(), *self._waiting.values()):
            for window in [w for w, (tp, _, _) in held.items() if tp in lost]:
                del held[window]

    def waiting(self) -> list[Window]:
        """The closed windows waiting for their asset's prices, by end."""
        held = (w for windows in self._waiting.values() for w in windows)
        return sorted(held, key=lambda w: (w.end_ms, w.key))

    def _wait(self, asset: str, armed: Armed) -> None:
        """Hold a closed window until its asset's prices pass its end (bounded)."""
        waiting = self._waiting.setdefault(asset, {})
        waiting[armed[1]] = armed
        if sum(len(w) for w in self._waiting.values()) > WAITING_LIMIT:
            oldest = self.waiting()[0]
            self._waiting[self._priced(oldest)].pop(oldest, None)

    def _decide_waiting(self, asset: str, cause: str) -> list[Output]:
        """On a price of ``asset``: fire the waiting windows its fall now makes cascades;
        forget those its prices have passed the end of (decided: none)."""
        outputs: list[Output] = []
        waiting = self._waiting.get(asset)
        seen = self.prices.seen_until(asset)
        if waiting:
            for window, (_, _, state) in list(waiting.items()):
                outputs += self._check(window, state, cause)
                if state.fired or (seen is not None and seen >= window.end_ms):
                    del waiting[window]
        return outputs

    def _prune(self, event_ms: int) -> None:
        """Now and then (every quarter of ``keep``), forget prices no input still needs:
        older than ``keep`` (2 × (window + grace)) before the slowest input partition, one
        read ahead of the others not pruning what the others have yet to join (but a
        partition more than ``HOLD_MS`` behind the newest holds nothing back: memory stays
        bounded); waiting windows ending before that are forgotten too."""
        if event_ms <= self._newest_ms + self._keep_ms // 4:
            return
        self._newest_ms = event_ms
        slowest = max(min(self._progress.values()), event_ms - HOLD_MS)
        horizon = slowest - self._keep_ms
        if horizon <= self._pruned_ms:
            return
        self._pruned_ms = horizon
        self.prices.prune(horizon)
        for held in self._waiting.values():
            for window in [w for w in held if w.end_ms < horizon]:
                del held[window]

    def _check(self, window: Window, state: ProtocolWindow, cause: str) -> list[Output]:
        c = self.config
        if state.fired or state.count < c.min_liquidations:
            return []
        fall = self.prices.fall(self._priced(window), window.start_ms, window.end_ms)
        if fall is None or fall.pct < c.min_drop_pct:
            return []
        state.fired = True
        self._armed.get(self._priced(window), {}).pop(window, None)
        protocol = window.key.split("/", 1)[0]
        cascade = LiquidationCascade(
            protocol=protocol,
            chain=state.chain,
            collateral_asset=_asset(window),
            window_start_ms=window.start_ms,
            window_end_ms=window.end_ms,
            liquidations=state.count,
            collateral_amount=round(state.amount, 9),
            price_pair=fall.pair,
            price_high=fall.high,
            price_low=fall.low,
            drop_pct=round(fall.pct, 6),
            value_usd=state.value_usd,
        )
        envelope = new_envelope(
            cascade,
            source=SOURCE,
            event_time_ms=window.start_ms,
            received_time_ms=self._clock_ms(),
            message_id=window.message_id(self.name),
            correlation_id=cause,
        )
        return [Output(self.out_topic, protocol.encode(), encode(envelope))]

    def _priced(self, window: Window) -> str:
        """The asset whose prices a window's collateral falls with (``WETH`` → ``ETH``)."""
        collateral = _asset(window)
        return self.config.underlying.get(collateral, collateral)


def _asset(window: Window) -> str:
    return window.key.rsplit("/", 1)[1]
