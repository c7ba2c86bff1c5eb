"""Predictions online: normalized market envelopes in, one prediction per pair and bar out.

The features come from ``datasets.features.PairFeatures`` built from the model's own dataset
config (interval, windows), so a prediction at bar end ``t`` sees exactly the row a training
dataset holds for ``t``. Bars that close before ``live_from_ms`` (the worker's warm-up replay)
update state but predict nothing. Pure: no I/O, no clock.

A prediction on ``agents.predictions.{model}.{pair}``::

    {"model": "baseline", "version": "model-20261128T230102123456Z.joblib", "pair": "BTC-USDT",
     "time": 1795132860000, "interval": "1m", "horizon": 5, "probabilityUp": 0.534,
     "close": 60012.35}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from lucent_platform.datasets.features import (
    FeatureRow,
    PairFeatures,
    QuoteTick,
    TradeFlow,
    YieldTick,
)
from lucent_platform.envelope import Envelope
from lucent_platform.messages import PriceUpdate, Trade, YieldRate
from lucent_platform.models.baseline import TrainedModel


class Prediction(msgspec.Struct, rename="camel", frozen=True):
    model: str
    version: str
    pair: str
    time: int  # bar end, UTC ms: the prediction uses data before it
    interval: str
    horizon: int  # bars ahead
    probability_up: float
    close: float


def quote_tick(data: PriceUpdate, event_ms: int) -> QuoteTick:
    """A normalized price update as the features see it (sizes, the processor's depth)."""
    liquidity = data.liquidity
    depth = data.enrichment.depth if data.enrichment is not None else None
    return QuoteTick(
        data.exchange,
        event_ms,
        data.price,
        data.bid,
        data.ask,
        liquidity.bid_size if liquidity else None,
        liquidity.ask_size if liquidity else None,
        depth.bid_size if depth else None,
        depth.ask_size if depth else None,
    )


class Predictor:
    """``model``'s pairs' features fed from envelopes; ``add`` returns new predictions."""

    def __init__(self, model: TrainedModel, live_from_ms: int = 0) -> None:
        self.model = model
        self.config = model.config
        self.live_from_ms = live_from_ms
        self.pairs = {pair: PairFeatures(pair, self.config) for pair in self.config.pairs}

    def swap(self, model: TrainedModel) -> None:
        """Predict with ``model`` from now on, keeping the features' state: only a model of
        the same dataset config (same features, interval and windows) fits it."""
        if model.config != self.config:
            raise ValueError(
                f"{model.version} was trained on another dataset config than {self.model.version}"
                " (features, interval or windows differ): restart the worker to use it"
            )
        self.model = model

    def add(
        self, envelopes: Iterable[Envelope[Any]], until_ms: int | None = None
    ) -> list[Prediction]:
        """Feed ``envelopes`` (in event order: ``Reorder``); predictions of the bars they
        closed. ``until_ms``: every input up to that time is in (the reorder watermark), so
        bars ending by then close too, without waiting for the pair's next quote — the same
        rows, sooner, and a pair whose quotes stopped holds no trades forever."""
        rows: list[FeatureRow] = []
        for envelope in envelopes:
            data, event_ms = envelope.data, envelope.header.event_time_ms
            if isinstance(data, PriceUpdate):
                features = self.pairs.get(data.pair)
                if features is not None:
                    rows += features.add_quote(quote_tick(data, event_ms))
            elif isinstance(data, Trade):
                features = self.pairs.get(data.pair)
                if features is not None:
                    features.add_trades(TradeFlow(event_ms, data.amount, data.side))
            elif isinstance(data, YieldRate):
                tick = YieldTick(f"{data.protocol}/{data.chain}/{data.pool}", data.asset,
                                 event_ms, data.apy)  # fmt: skip
                for features in self.pairs.values():
                    if data.asset in (features.base, features.quote):
                        features.add_yield(tick)
        if until_ms is not None:
            for features in self.pairs.values():
                rows += features.advance(until_ms)
        live = [row for row in rows if int(row["time"]) >= self.live_from_ms]
        model = self.model
        return [
            Prediction(
                model.name,
                model.version,
                str(row["pair"]),
                int(row["time"]),
                self.config.interval,
                model.horizon,
                p,
                float(row["close"]),
            )
            for row, p in zip(live, model.probability_up(live), strict=True)
        ]

    @property
    def late(self) -> int:
        return sum(features.late for features in self.pairs.values())


_RANK: dict[type, int] = {PriceUpdate: 0, Trade: 1, YieldRate: 2}


def event_order(envelope: Envelope[Any]) -> tuple[int, int]:
    """The datasets' input order (``datasets.build.by_time``): event time, then quotes
    before trades before rates of the same millisecond."""
    return envelope.header.event_time_ms, _RANK.get(type(envelope.data), 3)


class Reorder:
    """Envelopes from several topics back into event-time order before the features see
    them. Each topic partition arrives in order, but partitions interleave as the consumer
    fetches them; a trade arriving after the quote that closed its bar would be late. So
    envelopes wait until ``release(until_ms)`` hands out, sorted, those at or before
    ``until_ms`` (the worker passes its clock minus a lateness allowance)."""

    def __init__(self) -> None:
        self._held: list[Envelope[Any]] = []

    def add(self, envelopes: Iterable[Envelope[Any]]) -> None:
        self._held.extend(envelopes)

    def release(self, until_ms: int | None = None) -> list[Envelope[Any]]:
        """Held envelopes with event time <= ``until_ms`` (all when None), in event order."""
        if until_ms is None:
            ready, self._held = self._held, []
        else:
            ready = [e for e in self._held if e.header.event_time_ms <= until_ms]
            self._held = [e for e in self._held if e.header.event_time_ms > until_ms]
        return sorted(ready, key=event_order)

    def __len__(self) -> int:
        return len(self._held)


def encode(prediction: Prediction) -> bytes:
    return msgspec.json.encode(prediction)
