"""How old each message is when the processor handles it, per source, from its envelope's times.

Two clocks per message, both the envelope's (``header``): ``eventTimeMs`` (when it happened
at the venue, or the block's time on chain) and ``receivedTimeMs`` (when our connector got
it). Against the processor's clock when it normalizes the message:

- ``exchange``: now − event time — the true exchange → application latency;
- ``received``: now − received time — our own part (feed → broker → processor).

Kept per ``header.source`` (``binance-websocket``, ``kraken-websocket``, ``ethereum-rpc`` …):
venue clocks differ, and on-chain sources carry block times (seconds to minutes old by
design), so one histogram over all would say nothing. A time later than the processor's
clock (a venue's clock ahead of ours, or ours behind) is not observed in its histogram but
counted in ``skewed`` (once per message), rather than observed as 0: a negative latency is a
clock problem to see, not a fast message.
"""

from __future__ import annotations

from collections import Counter

from lucent_platform.histogram import Histogram

MAX_SOURCES = 256
"""Distinct sources kept apart; later new ones are observed together as ``OTHER``. A source
is whatever text an envelope's header says: without a cap, garbage naming a new source per
message grew two histograms (~2 kB) and a metric label set per message."""
OTHER = "other"


class SourceLatency:
    """Per source: exchange → now and received → now histograms (ms), and skewed messages.

    Written by the processor's thread, read by a metrics endpoint's: histograms are only
    ever added to (a new source's before it is observed), so a reader sees whole figures.
    At most ``MAX_SOURCES`` sources, then ``OTHER``.
    """

    def __init__(self) -> None:
        self.exchange: dict[str, Histogram] = {}
        self.received: dict[str, Histogram] = {}
        self.skewed: Counter[str] = Counter()

    def observe(self, source: str, now_ms: int, event_ms: int, received_ms: int) -> None:
        exchange = self.exchange.get(source)
        if exchange is None:
            if len(self.exchange) >= MAX_SOURCES:
                source = OTHER
                exchange = self.exchange.get(OTHER)
            if exchange is None:
                exchange = self._add(source)
        if event_ms > now_ms:
            self.skewed[source] += 1
        else:
            exchange.observe(now_ms - event_ms)
        if received_ms > now_ms:
            if event_ms <= now_ms:  # counted once per message
                self.skewed[source] += 1
        else:
            self.received[source].observe(now_ms - received_ms)

    def _add(self, source: str) -> Histogram:
        self.received[source] = Histogram()
        exchange = self.exchange[source] = Histogram()
        return exchange
