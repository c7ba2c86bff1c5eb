"""The liquidation-cascade pattern: scripted liquidations and prices give exactly the expected
cascades; a rebuilt detector (checkpoint marks, re-read input) gives the same as one run; and
the worker wiring on the broker."""

from __future__ import annotations

import dataclasses

from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as, encode, message_id_for, new_envelope
from lucent_platform.messages import Liquidation, LiquidationCascade, MessageData, PriceUpdate
from lucent_platform.processing.pipeline import InRecord
from lucent_platform.signals.apps.patterns import (
    CascadeDetector,
    PatternsConfig,
    patterns_config,
)
from lucent_platform.topics import TopicSpec
from tests.test_runtime_loop import EARLIEST, create_topics, read_values, run_until

T0 = 1_700_000_040_000
CONFIG = PatternsConfig(window_ms=60_000, grace_ms=2_000, min_liquidations=3, min_drop_pct=5.0)
LIQ, PX = "liq", "px"


def envelope(data: MessageData, t: int, *key: object) -> bytes:
    return encode(new_envelope(data, source="test", event_time_ms=t, received_time_ms=t,
                               message_id=message_id_for(*key, t)))  # fmt: skip


def liquidation(protocol: str, asset: str, t: int) -> bytes:
    data = Liquidation(protocol=protocol, chain="ethereum", tx_hash=f"0x{t}", borrower="b",
                       liquidator="l", collateral_asset=asset, debt_asset="USDC",
                       collateral_amount=10.0, debt_amount=25e3, value_usd=27e3)  # fmt: skip
    return envelope(data, t, "liq", protocol, asset)


def price(pair: str, t: int, p: float) -> bytes:
    return envelope(PriceUpdate(exchange="binance", pair=pair, price=p), t, "px", pair)


def script() -> list[tuple[str, bytes]]:
    """ETH falls 3000 → 2790 (7 %) while aave sees 4 ETH liquidations: a cascade. Compound's
    3 WBTC liquidations see BTC fall 2 %: none; maker's 2 ETH liquidations: too few."""
    out: list[tuple[str, bytes]] = []
    for i in range(12):
        t = T0 + 5_000 * i
        out.append((PX, price("ETH-USDT", t, 3000.0 - 20.0 * max(0, i - 1))))  # … 2800 at i=11
        out.append((PX, price("BTC-USDT", t, 60_000.0 - 100.0 * i)))
        if i in (3, 5, 7, 9):
            out.append((LIQ, liquidation("aave", "ETH", t + 1)))
        if i in (2, 4, 6):
            out.append((LIQ, liquidation("compound", "BTC", t + 1)))
        if i in (8, 10):
            out.append((LIQ, liquidation("maker", "ETH", t + 1)))
    for topic in (PX, LIQ):  # event time moves past the window on both inputs
        out.append((topic, price("SOL-USDT", T0 + 70_000, 150.0)))
    return out


def records(items: list[tuple[str, bytes]], start: int = 0) -> list[InRecord]:
    offsets: dict[str, int] = {}
    out = []
    for topic, value in items:
        n = offsets[topic] = offsets.get(topic, -1) + 1
        out.append(InRecord(topic, 0, n, 0, None, value))
    return out[start:]


def cascades(app: CascadeDetector, batch: list[InRecord]) -> list[LiquidationCascade]:
    return [decode_as(o.value, LiquidationCascade).data
            for o in app.process(batch).outputs if o.topic == "out"]  # fmt: skip


def detector() -> CascadeDetector:
    app = CascadeDetector(CONFIG, clock_ms=lambda: 0, out_topic="out", late_topic="late")
    app.assigned([(LIQ, 0), (PX, 0)])
    return app


def test_a_cascade_needs_enough_liquidations_and_a_deep_enough_fall() -> None:
    found = cascades(detector(), records(script()))
    assert len(found) == 1
    c = found[0]
    assert (c.protocol, c.collateral_asset, c.liquidations, c.price_pair) == (
        "aave",
        "ETH",
        3,
        "ETH-USDT",
    )
    assert (c.window_start_ms, c.window_end_ms) == (T0, T0 + 60_000)
    assert c.price_high == 3000.0 and c.drop_pct >= 5.0


def test_wrapped_collateral_falls_with_its_underlying_pairs() -> None:
    """Aave and Compound liquidate ``WETH``; quotes are ``ETH-USDT``: the ``underlying`` map
    joins them (the chain decoders and the simulator both name the real token)."""
    wrapped = [(t, v.replace(b'"ETH"', b'"WETH"')) if t == LIQ else (t, v) for t, v in script()]
    found = cascades(detector(), records(wrapped))
    assert [(c.protocol, c.collateral_asset, c.price_pair) for c in found] == [
        ("aave", "WETH", "ETH-USDT")
    ]
    unmapped = CascadeDetector(dataclasses.replace(CONFIG, underlying={}), clock_ms=lambda: 0,
                               out_topic="out", late_topic="late")  # fmt: skip
    unmapped.assigned([(LIQ, 0), (PX, 0)])
    assert cascades(unmapped, records(wrapped)) == []
    # The setting adds to the defaults.
    assert patterns_config({"underlying": {"stETH": "ETH"}}).underlying == {
        "WETH": "ETH",
        "WBTC": "BTC",
        "cbBTC": "BTC",
        "stETH": "ETH",
    }


def test_a_rebuilt_detector_finds_the_same_cascades() -> None:
    items = script()
    whole = cascades(detector(), records(items))
    cut = len(items) // 3  # before the cascade: windows open on both inputs
    first = detector()
    before = cascades(first, records(items)[:cut])
    marks = {tp: first.checkpoint(tp) for tp in [(LIQ, 0), (PX, 0)]}
    second = detector()
    done = records(items)[:cut]
    for tp, mark in marks.items():
        assert mark is not None and mark.start is not None
        second.restore(tp, mark)
    second.warm([r for r in done if r.offset >= marks[(r.topic, 0)].start])  # type: ignore[operator]
    after = cascades(second, records(items)[cut:])
    assert before + after == whole


def test_the_cascade_does_not_depend_on_which_topic_is_read_first() -> None:
    """A worker catching up (after a restart, or behind) may read the liquidations' partition
    ahead of the prices': the window waits for its prices and comes out the same cascade (its
    count and fall say when it was found, so windows are compared)."""
    items = script()
    liquidations_first = [i for i in items if i[0] == LIQ] + [i for i in items if i[0] == PX]
    app = detector()
    found = cascades(app, records(liquidations_first))
    assert windows_of(found) == windows_of(cascades(detector(), records(items)))
    assert found[0].liquidations == 4  # decided at the close, with every liquidation


def test_a_window_waiting_for_prices_is_decided_once_they_pass_its_end() -> None:
    items = script()
    liquidations = [i for i in items if i[0] == LIQ]
    app = detector()
    assert cascades(app, records(liquidations)) == []  # closed, nothing priced yet: waiting
    assert {w.key for w in app.waiting()} == {
        "aave/ethereum/ETH", "compound/ethereum/BTC"}  # fmt: skip
    late_prices = [InRecord(PX, 0, n, 0, None, value)
                   for n, (topic, value) in enumerate(i for i in items if i[0] == PX)]  # fmt: skip
    found = cascades(app, late_prices)
    assert [(c.protocol, c.collateral_asset) for c in found] == [("aave", "ETH")]
    # ETH's decided (a cascade); BTC's has no price at or after its end yet: still waiting
    assert [w.key for w in app.waiting()] == ["compound/ethereum/BTC"]
    after_end = InRecord(PX, 0, len(late_prices), 0, None,
                         price("BTC-USDT", T0 + 61_000, 58_000.0))  # fmt: skip
    assert cascades(app, [after_end]) == []  # the 60,000 → 58,900 fall is 1.8 %: none
    assert app.waiting() == []  # decided: forgotten


def windows_of(found: list[LiquidationCascade]) -> list[tuple[str, str, int, int]]:
    return sorted((c.protocol, c.collateral_asset, c.window_start_ms, c.window_end_ms)
                  for c in found)  # fmt: skip


def test_the_worker_reads_both_topics_and_writes_the_cascade(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    from lucent_platform.adapters import kafka

    liq, px, out, cps = (f"p.{name}.{unique}" for name in ("liq", "px", "out", "cp"))
    create_topics(settings, kafka_bootstrap, TopicSpec(liq, 1), TopicSpec(px, 1),
                  TopicSpec(out, 1), TopicSpec(cps, 1, compacted=True))  # fmt: skip
    producer = kafka.producer(settings, kafka_bootstrap)
    items = script()[:-1]  # the liquidations' window stays open: the order across topics is free
    for topic, value in items:
        producer.produce(liq if topic == LIQ else px, value, b"k")
    assert producer.flush(30) == 0
    app = CascadeDetector(CONFIG, clock_ms=lambda: 0, out_topic=out, late_topic=out)
    run_until(
        lambda m: m.counts["in"] >= len(items), settings=settings, bootstrap=kafka_bootstrap,
        group_id=f"p-{unique}", subscribe=[liq, px], processor=app, consumer_config=EARLIEST,
        checkpoint_topic=cps, idle_tick_s=None,
    )  # fmt: skip
    values = read_values(settings, kafka_bootstrap, out, expect=1)
    found = [decode_as(v, LiquidationCascade).data for v in values]
    assert [(c.protocol, c.collateral_asset) for c in found] == [("aave", "ETH")]
