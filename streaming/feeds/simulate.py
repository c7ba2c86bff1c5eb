"""The market simulator as a feed: simulated exchanges on the wall clock, into the raw topics.

Deterministic from ``LUCENT_SIMULATOR_SEED`` for a given start time; the default feed of
``make run`` so every downstream stage visibly has something to do (arbitrage gaps, APY
spikes, outliers, duplicates, late and malformed messages included), and liquidations
(cascades too) and governance events on chain.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from lucent_platform.config import Settings
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from streaming.lifecycle import StopSignal
from streaming.publisher import Publisher

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def simulator_for(settings: Settings, start_ms: int) -> MarketSimulator:
    config = SimulatorConfig(
        seed=settings.simulator_seed,
        exchanges=tuple(settings.exchanges),
        pairs=tuple(settings.pairs),
        rate_multiplier=settings.simulator_rate,
    )
    return MarketSimulator(config, start_ms=start_ms)


def run(
    settings: Settings,
    publisher: Publisher,
    stop: StopSignal,
    *,
    seconds: float | None = None,
) -> Counter[str]:
    """Publish simulated market data until stopped (or for ``seconds``); returns counts."""
    simulator = simulator_for(settings, now_ms())
    deadline = None if seconds is None else time.monotonic() + seconds
    counts: Counter[str] = Counter()
    last_report = time.monotonic()
    logged = 0  # injections already logged (the log is a bounded deque: count them)
    while not stop.stopped:
        for message in simulator.step(now_ms()):
            publisher.publish(message.topic, message.key, message.value)
            counts["messages"] += 1
            if message.injected:
                counts[message.injected] += 1
        logged = _log_signal_injections(simulator, logged)
        if deadline is not None and time.monotonic() >= deadline:
            break
        if time.monotonic() - last_report >= 30:
            log.info("simulated %d messages so far (%s)", counts["messages"], dict(counts))
            last_report = time.monotonic()
        stop.wait(TICK_SECONDS)
    return counts


_SIGNAL_ANOMALIES = ("arbitrage_gap", "apy_spike", "liquidation_cascade")


def _log_signal_injections(simulator: MarketSimulator, logged: int) -> int:
    """Log each injected gap, APY spike and liquidation cascade, so its detection (``lucent
    tail arbitrage.opportunities`` / ``yield.opportunities`` / ``market.patterns``) can be
    timed against it."""
    total = simulator.injected_total
    fresh = list(simulator.injections)[-(total - logged) :] if total > logged else []
    for injection in fresh:
        if injection.kind in _SIGNAL_ANOMALIES:
            log.info("injected %s at %d on %s: %s", injection.kind, injection.start_ms,
                     injection.topic, injection.detail)  # fmt: skip
    return total
