"""The baseline model and the predictions worker: out-of-sample metrics against the naive
forecast, the online features equal to the dataset's, and predictions published on NATS from
prices produced to the real broker."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import msgspec
import numpy as np
import pandas as pd
import pytest

from assets.models import baseline
from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings, with_overrides
from lucent_platform.datasets import store
from lucent_platform.datasets.build import build_rows, by_time, columns
from lucent_platform.datasets.config import dataset_config
from lucent_platform.datasets.features import QuoteTick, TradeFlow, feature_names
from lucent_platform.envelope import Envelope, encode, new_envelope
from lucent_platform.messages import (
    BookDepth,
    Liquidity,
    PriceEnrichment,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.models.baseline import load_latest, save, train
from lucent_platform.models.predictor import Predictor, Reorder, event_order
from lucent_platform.topics import TopicSpec
from resources import StorageResource
from streaming.apps.predictions import _reload, model_available, run
from streaming.lifecycle import StopSignal
from streaming.registry import startable
from tests.dataset_ticks import Ticks, random_ticks
from tests.test_runtime_loop import create_topics

CONFIG = dataset_config(
    {"pairs": ["BTC-USDT"], "interval": "1s", "horizons": [1, 3], "return_lags": [1, 3],
     "spans": [3, 5], "volatility_window": 4, "volume_window": 3, "warmup_bars": 5,
     "quote_ttl_ms": 800}
)  # fmt: skip


def envelopes(ticks: Ticks) -> list[Envelope[Any]]:
    """The ticks as the normalized topics carry them."""
    out = []
    for t in by_time(*ticks):
        data: Any
        if isinstance(t, QuoteTick):
            sizes = Liquidity(t.bid_size, t.ask_size) if t.bid_size is not None else None
            depth = None
            if t.depth_bid is not None and t.depth_ask is not None:
                depth = PriceEnrichment(depth=BookDepth(10.0, t.price, t.depth_bid, t.depth_ask, 0))
            data = PriceUpdate(t.exchange, "BTC-USDT", t.price, bid=t.bid, ask=t.ask,
                               liquidity=sizes, enrichment=depth)  # fmt: skip
        elif isinstance(t, TradeFlow):
            data = Trade("binance", "BTC-USDT", 100.0, t.amount, side=t.side)  # type: ignore[arg-type]
        else:
            protocol, chain, pool = t.pool.split("/")
            data = YieldRate(protocol, pool, t.asset, chain, t.apy)
        out.append(new_envelope(data, source="test", event_time_ms=t.event_ms,
                                received_time_ms=t.event_ms))  # fmt: skip
    return out


def dataset(ticks: Ticks, end_ms: int) -> pd.DataFrame:
    return build_rows(CONFIG, "BTC-USDT", by_time(*ticks), start_ms=0, end_ms=end_ms,
                      label_end_ms=end_ms)  # fmt: skip


def planted(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    """A dataset whose next move follows ret_1 (momentum) 75 % of the time."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(size=n) for c in feature_names(CONFIG)})
    agree = rng.random(n) < 0.75
    frame["up_1"] = np.where(agree, frame["ret_1"] > 0, frame["ret_1"] <= 0).astype(float)
    frame["up_3"] = frame["up_1"]
    frame["ret_fwd_1"] = frame["ret_fwd_3"] = np.where(frame["up_1"] > 0, 0.001, -0.001)
    frame["time"] = np.arange(n) * 1000
    frame["pair"], frame["interval"], frame["close"] = "BTC-USDT", "1s", 100.0
    return frame[columns(CONFIG)]


def test_the_baseline_beats_the_naive_forecast_out_of_sample_and_round_trips(
    tmp_path: Path,
) -> None:
    model = train(planted(), CONFIG, 1, name="baseline")
    test = model.test
    assert test is not None and model.validation is not None
    assert test.rows == model.split["test"] == 450
    assert test.accuracy > 0.7 and test.auc > 0.7  # the planted 75 %
    assert test.naive_accuracy < 0.6 and test.log_loss < test.naive_log_loss
    assert model.split["embargo"] == 6  # the largest horizon (3) before both boundaries
    path = save(model, tmp_path)
    loaded = load_latest(tmp_path, "baseline")
    assert loaded.version == path.name and loaded.config == CONFIG
    rows = planted().head(5).to_dict("records")
    assert loaded.probability_up(rows) == model.probability_up(rows)


def test_one_class_cannot_be_learnt() -> None:
    frame = planted()
    frame["up_1"] = 1.0
    with pytest.raises(ValueError, match="training rows labelled up_1 are all up moves"):
        train(frame, CONFIG, 1, name="baseline")


def test_a_range_shorter_than_the_embargo_says_how_long_training_needs() -> None:
    """A few minutes of a fresh `lucent up` at 1m bars: the embargo leaves nothing to train."""
    with pytest.raises(ValueError) as short:
        train(planted(n=4), CONFIG, 1, name="baseline")
    message = str(short.value)
    assert message.startswith("no training rows: the 4 rows span 4 s (train 0, validation 0, ")
    # the largest horizon (3 bars of 1 s) before each boundary, over the training share (0.7)
    assert "(3 bars of 1s = 3 s)" in message and "well beyond 4 s" in message
    assert "shorter interval or horizons" in message
    assert train(planted(n=40), CONFIG, 1, name="baseline").split["train"] > 0


def test_training_on_days_never_built_says_to_build_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="materialize datasets/features for them first"):
        store.read_days(tmp_path, "1m", [date(2026, 11, 28)])


def test_online_predictions_see_the_rows_of_the_dataset() -> None:
    ticks = random_ticks(5, seconds=300)
    model = train(dataset(ticks, 300_000), CONFIG, 1, name="baseline")
    later = random_ticks(6, seconds=60, start_ms=300_000)
    predictor = Predictor(model, live_from_ms=0)
    online = []
    stream = envelopes(later)
    for i in range(0, len(stream), 37):  # in batches, each closing the bars it completes
        batch = stream[i : i + 37]
        online += predictor.add(batch, until_ms=batch[-1].header.event_time_ms)
    offline = dataset(later, 400_000).set_index("time")
    assert len(online) >= 55 and predictor.late == 0
    assert len({p.time for p in online}) == len(online)  # each bar once
    for p in online:
        row = offline.loc[p.time].to_dict() | {"time": p.time}
        assert p.probability_up == pytest.approx(model.probability_up([row])[0], rel=1e-9)
        assert (p.pair, p.horizon, p.interval, p.close) == ("BTC-USDT", 1, "1s", row["close"])


def test_reorder_releases_in_event_order_up_to_a_time() -> None:
    stream = envelopes(random_ticks(4, seconds=3))
    by_topic = sorted(stream, key=lambda e: (type(e.data).__name__, e.header.event_time_ms))
    held = Reorder()
    held.add(by_topic[: len(stream) // 2])
    first = held.release(1500)
    held.add(by_topic[len(stream) // 2 :])
    rest = held.release(1500) + held.release()
    assert all(e.header.event_time_ms <= 1500 for e in first) and len(held) == 0
    assert first + rest != sorted(stream, key=event_order)  # half of it came too late
    held.add(by_topic)
    assert held.release(1500) + held.release() == sorted(stream, key=event_order)


def test_the_worker_publishes_predictions_on_nats_from_prices_on_the_broker(
    kafka_bootstrap: str, nats_url: str, settings: Settings, unique: str, tmp_path: Path
) -> None:
    name = f"m{unique}"
    settings = with_overrides(settings, predictions_model=name)
    assert not model_available(settings) and "predictions" not in startable(settings)
    model = train(dataset(random_ticks(5, seconds=300), 300_000), CONFIG, 1, name=name)
    save(model, settings.data_dir)
    assert "predictions" in startable(settings)
    topics = [f"pr.prices.{unique}", f"pr.trades.{unique}", f"pr.yields.{unique}"]
    create_topics(settings, kafka_bootstrap, *(TopicSpec(t, 2) for t in topics))
    now = (time.time_ns() // 1_000_000) // 1000 * 1000
    started = time.monotonic_ns()
    clock = lambda: now + (time.monotonic_ns() - started) // 1_000_000  # noqa: E731
    history = envelopes(random_ticks(8, seconds=20, start_ms=now - 22_000))  # for the warm-up
    stream = envelopes(random_ticks(9, seconds=4, start_ms=now + 100))  # live
    last = max(e.header.event_time_ms for e in stream)
    expected = Predictor(load_latest(settings.data_dir, name), live_from_ms=now - 999).add(
        sorted(history + stream, key=event_order), until_ms=last + 1000
    )  # the last bar too: the worker closes it once its watermark passes
    assert len(expected) >= 3
    producer = kafka.producer(settings, kafka_bootstrap)
    topic_of = {PriceUpdate: topics[0], Trade: topics[1], YieldRate: topics[2]}

    def produce(envelopes: list[Envelope[Any]]) -> None:
        for envelope in envelopes:  # each topic in event order, the topics interleaved anyhow
            producer.produce(topic_of[type(envelope.data)], encode(envelope), b"BTC-USDT")
        assert producer.flush(30) == 0

    produce(history)
    stop = StopSignal()
    counts: list[Any] = []
    worker = threading.Thread(target=lambda: counts.append(run(
        settings, kafka_bootstrap, nats_url, stop, topics=topics, lateness_ms=1000,
        clock_ms=clock)), daemon=True)  # fmt: skip

    async def scenario() -> list[tuple[str, dict[str, Any]]]:
        client = await nats_adapter.connect(settings, nats_url)
        got: list[tuple[str, dict[str, Any]]] = []

        async def received(msg: Any) -> None:
            got.append((msg.subject, msgspec.json.decode(msg.data)))

        await client.subscribe(f"agents.predictions.{name}.>", cb=received)
        await client.flush()
        worker.start()
        await asyncio.to_thread(produce, stream)
        deadline = time.monotonic() + 30
        while len(got) < len(expected) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # nothing more comes
        stop.set()
        await asyncio.to_thread(worker.join, 30)
        await client.drain()
        return got

    got = asyncio.run(scenario())
    assert [subject for subject, _ in got] == [f"agents.predictions.{name}.BTC-USDT"] * len(
        expected
    )
    assert [(m["time"], m["probabilityUp"]) for _, m in got] == [
        (p.time, pytest.approx(p.probability_up)) for p in expected
    ]
    assert got[0][1]["model"] == name and got[0][1]["version"].startswith("model-")
    assert counts[0]["predictions"] == len(expected) and counts[0]["late"] == 0
    assert counts[0]["in"] == len(history) + len(stream)
    assert counts[0]["warm-up"] >= len(history)  # and what of the live input was there already


def test_the_baseline_asset_trains_on_a_range_of_built_days(tmp_path: Path) -> None:
    frame = planted(n=2000)
    for day, part in (
        (date(2026, 11, 26), frame.iloc[:1000]),
        (date(2026, 11, 27), frame.iloc[1000:]),
    ):
        store.write_parquet(part, store.parquet_path(tmp_path, "1s", day), CONFIG)
    run_config = {"ops": {"models__baseline": {"config": {
        "last_day": "2026-11-28", "days": 3, "interval": "1s", "horizon": 1}}}}  # fmt: skip
    storage = StorageResource(data_dir=str(tmp_path))
    result = dg.materialize([baseline], resources={"storage": storage}, run_config=run_config)
    assert result.success
    meta = result.asset_materializations_for_node("models__baseline")[0].metadata
    assert meta["rows"].value == 2000 and meta["split"].value["test"] == 300
    assert meta["test accuracy"].value > meta["test naive accuracy"].value
    assert load_latest(tmp_path, "baseline").version == Path(meta["path"].value).name


def test_a_newer_model_of_the_same_dataset_config_is_swapped_in_another_is_refused(
    settings: Settings,
) -> None:
    first = train(planted(), CONFIG, 1, name="baseline")
    first_path = save(first, settings.data_dir)
    predictor = Predictor(load_latest(settings.data_dir, "baseline"))
    counts: Counter[str] = Counter()
    _reload(settings, predictor, counts)  # nothing newer
    assert counts == Counter() and predictor.model.version == first_path.name
    second = train(planted(seed=4), CONFIG, 1, name="baseline")
    path = save(second, settings.data_dir)
    _reload(settings, predictor, counts)
    assert predictor.model.version == path.name and counts["reloads"] == 1
    other = dataset_config({**CONFIG.as_json(), "interval": "2s"})
    save(train(planted().assign(interval="2s"), other, 1, name="baseline"), settings.data_dir)
    _reload(settings, predictor, counts)
    assert predictor.model.version == path.name and counts["reload refused"] == 1
