"""The stages after decoding, per message kind: validate, update state, enrich.

``Stages.run`` takes a decoded message with canonical names that is no duplicate and returns
either the ``data`` to publish (enriched where the kind is) or a ``Failure``. State that
belongs to one input partition (outlier windows, price series, de-duplication windows) is a
``PartitionState``; state read across partitions (books, quotes) is the ``Enricher``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from lucent_platform.messages import OrderBookDelta, OrderBookSnapshot, PriceUpdate, Trade
from lucent_platform.processing.config import ProcessorConfig
from lucent_platform.processing.deadletter import Reason
from lucent_platform.processing.dedup import Deduplicator
from lucent_platform.processing.enrichment import Enricher, Owner
from lucent_platform.processing.outliers import RollingMedian
from lucent_platform.processing.rolling import PriceSeries
from lucent_platform.processing.validation import (
    CHECKS,
    Failure,
    ValidationConfig,
    check_delta,
    check_price_update,
    check_snapshot,
    check_trade,
)

Key = tuple[str, str]


class PartitionState:
    """What one raw input partition's messages have built (DESIGN.md decision 4): its
    de-duplication windows, and per venue × pair an outlier window and a price series (and a
    book in the enricher); ``instruments`` are the venue × pairs it holds state for, at most
    ``max_instruments``."""

    __slots__ = ("dedup", "instruments", "outliers", "owner", "series")

    def __init__(self, owner: Owner, config: ProcessorConfig) -> None:
        self.owner = owner
        self.dedup = Deduplicator(config.dedup)
        self.instruments: set[Key] = set()
        self.outliers: dict[Key, RollingMedian] = {}
        self.series: dict[Key, PriceSeries] = {}


class Stages:
    """Validation, state updates and enrichment for each raw market kind."""

    def __init__(self, config: ProcessorConfig, enricher: Enricher) -> None:
        self.config = config
        self.validation = config.validation
        self.enricher = enricher
        checks = {message_type: self._checked(check) for message_type, check in CHECKS.items()}
        self.by_kind: dict[str, Callable[[PartitionState, Any, int], Any]] = {
            **checks,
            "price_update": self._price_update,
            "trade": self._trade,
            "orderbook_snapshot": self._snapshot,
            "orderbook_delta": self._delta,
        }
        """Per raw market kind: (partition state, ``data`` with canonical names that is no
        duplicate, event time) → the ``data`` to publish, or a ``Failure`` (a tuple)."""

    def run(self, message_type: str, state: PartitionState, data: Any, event_ms: int) -> Any:
        """``data`` to publish, or a ``Failure`` (a tuple) saying why not."""
        return self.by_kind[message_type](state, data, event_ms)

    def _checked(
        self, check: Callable[[Any, ValidationConfig], Failure | None]
    ) -> Callable[[PartitionState, Any, int], Any]:
        validation = self.validation

        def stage(state: PartitionState, data: Any, event_ms: int) -> Any:
            return check(data, validation) or data

        return stage

    def _price_update(self, state: PartitionState, data: PriceUpdate, event_ms: int) -> Any:
        failure = check_price_update(data, self.validation)
        if failure is not None:
            return failure
        key = (data.exchange, data.pair)
        failure = self._admit(state, key) or self._outlier(state, key, data.price)
        if failure is not None:
            return failure
        series = state.series.get(key)
        if series is None:
            series = state.series[key] = self.enricher.new_series()
        enrichment = self.enricher.price(state.owner, series, data, event_ms)
        return msgspec.structs.replace(data, enrichment=enrichment)

    def _trade(self, state: PartitionState, data: Trade, event_ms: int) -> Any:
        failure = check_trade(data, self.validation) or self._admit(
            state, (data.exchange, data.pair)
        )
        if failure is not None:
            return failure
        detector = state.outliers.get((data.exchange, data.pair))
        if detector is None:
            return self._outlier(state, (data.exchange, data.pair), data.price) or data
        verdict = detector.observe(data.price)
        return data if verdict is None else (Reason.OUTLIER, verdict)

    def _snapshot(self, state: PartitionState, data: OrderBookSnapshot, event_ms: int) -> Any:
        failure = check_snapshot(data, self.validation) or self._admit(
            state, (data.exchange, data.pair)
        )
        if failure is not None:
            return failure
        self.enricher.snapshot(state.owner, data, event_ms)
        return data

    def _delta(self, state: PartitionState, data: OrderBookDelta, event_ms: int) -> Any:
        failure = check_delta(data, self.validation) or self._admit(
            state, (data.exchange, data.pair)
        )
        if failure is not None:
            return failure
        self.enricher.delta(state.owner, data, event_ms)
        return data

    def _admit(self, state: PartitionState, key: Key) -> Failure | None:
        """``None`` when ``state`` holds ``key`` or has room for it; garbage inventing pairs
        on one topic would otherwise grow the processor's state without bound."""
        instruments = state.instruments
        if key in instruments:
            return None
        limit = self.validation.max_instruments
        if len(instruments) >= limit:
            return Reason.TOO_MANY_INSTRUMENTS, (
                f"{key[0]} {key[1]}: this partition holds state for {limit} instruments "
                "already (validation max_instruments)"
            )
        instruments.add(key)
        return None

    def _outlier(self, state: PartitionState, key: Key, price: float) -> Failure | None:
        detector = state.outliers.get(key)
        if detector is None:
            v = self.validation
            detector = state.outliers[key] = RollingMedian(
                v.outlier_window,
                v.outlier_threshold,
                v.outlier_min_scale_bps,
                v.outlier_reset_after,
            )
        verdict = detector.observe(price)
        return None if verdict is None else (Reason.OUTLIER, verdict)
