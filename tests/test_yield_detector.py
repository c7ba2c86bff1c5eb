"""The yield detector: scripted rates give exactly the expected opportunities, pure and on the
broker, and a stopped-and-restarted worker gives the same ones (by id) as the pure run."""

from __future__ import annotations

import msgspec
import pytest

from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as, encode, message_id_for, new_envelope
from lucent_platform.messages import YieldOpportunity, YieldRate
from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.processing.pipeline import InRecord
from lucent_platform.signals.apps.yields import YieldConfig, YieldDetector, yield_config
from lucent_platform.topics import TopicSpec
from tests.test_runtime_loop import EARLIEST, create_topics, read_values, run_until

T0 = 1_700_000_040_000  # a minute boundary
CONFIG = YieldConfig(window_ms=60_000, grace_ms=2_000, idle_ms=500)


def rate(protocol: str, pool: str, t: int, apy: float, tvl: float | None = 5e7) -> bytes:
    data = YieldRate(protocol=protocol, pool=pool, asset="USDC", chain="ethereum", apy=apy,
                     tvl_usd=tvl)  # fmt: skip
    envelope = new_envelope(data, source="test", event_time_ms=t, received_time_ms=t,
                            message_id=message_id_for("rate", protocol, pool, t))  # fmt: skip
    return encode(envelope)


def script() -> list[bytes]:
    """Rates of one minute (+ what closes it): only ``aave/usdc`` is an opportunity."""
    out = []
    for i in range(5):
        t = T0 + 5_000 + 10_000 * i
        out.append(rate("aave", "usdc", t, 6.0 + 0.1 * i))  # sustained: viable
        out.append(rate("aave", "thin", t, 7.0, tvl=1e5))  # TVL too low
        out.append(rate("aave", "jumpy", t, (6.0, 14.0)[i % 2]))  # unstable
        out.append(rate("aave", "blip", t, 9.0 if i == 2 else 4.5))  # one-tick outlier
    out.append(rate("aave", "other", T0 + 63_000, 1.0))  # the watermark passes the end
    out.append(rate("aave", "usdc", T0 + 30_000, 6.1))  # late: its window closed
    return out


def detector(clock: list[int]) -> YieldDetector:
    app = YieldDetector(CONFIG, clock_ms=lambda: clock[0], out_topic="out", late_topic="late")
    app.assigned([("in", 0)])
    return app


def opportunities(values: list[bytes]) -> dict[str, YieldOpportunity]:
    return {e.header.message_id: e.data for e in (decode_as(v, YieldOpportunity) for v in values)}


def test_only_the_sustained_stable_large_pool_is_an_opportunity_opening_then_final() -> None:
    app = detector([T0])
    batch = [InRecord("in", 0, i, 0, b"aave", v) for i, v in enumerate(script())]
    result = app.process(batch)
    out = [o for o in result.outputs if o.topic == "out"]
    envelopes = [decode_as(o.value, YieldOpportunity) for o in out]
    assert [(e.data.pool, e.data.phase) for e in envelopes] == [
        ("usdc", "opening"),
        ("usdc", "final"),
    ]
    opening, final = (e.data for e in envelopes)
    assert (opening.samples, opening.min_apy, opening.max_apy) == (3, 6.0, 6.2)
    assert (final.samples, final.window_samples, final.min_apy, final.max_apy) == (5, 5, 6.0, 6.4)
    assert final.avg_apy == pytest.approx(6.2) and final.apy_stdev == pytest.approx(0.158114, 1e-5)
    assert (final.window_start_ms, final.window_end_ms, final.tvl_usd) == (T0, T0 + 60_000, 5e7)
    # the opening's trigger is the third rate; ids differ per phase, fixed per window
    assert envelopes[0].header.correlation_id == message_id_for("rate", "aave", "usdc", T0 + 25_000)
    assert len({e.header.message_id for e in envelopes}) == 2
    late = [
        msgspec.json.decode(o.value, type=DeadLetter) for o in result.outputs if o.topic == "late"
    ]
    assert [(d.reason, d.source_offset) for d in late] == [("late_event", len(batch) - 1)]


def test_a_quiet_pool_closes_on_the_wall_clock() -> None:
    clock = [T0]
    app = detector(clock)
    values = [rate("curve", "3pool", T0 + 1_000 * i, 8.0) for i in range(3)]
    result = app.process([InRecord("in", 0, i, 0, b"curve", v) for i, v in enumerate(values)])
    assert [decode_as(o.value, YieldOpportunity).data.phase for o in result.outputs] == ["opening"]
    assert app.process([]).outputs == []  # the window is still open
    clock[0] += 60_000 + CONFIG.grace_ms + CONFIG.idle_ms
    closed = app.process([]).outputs
    assert [decode_as(o.value, YieldOpportunity).data.phase for o in closed] == ["final"]


def test_config_is_validated_with_the_field_named() -> None:
    assert yield_config({"min_apy": "6"}).min_apy == 6.0
    with pytest.raises(ValueError, match="min_samples"):
        yield_config({"min_samples": 0})
    with pytest.raises(ValueError, match="unknown yield config"):
        yield_config({"minapy": 6})
    with pytest.raises(ValueError):
        Settings(_env_file=None, yield_config={"hop_ms": 10**9})  # type: ignore[call-arg]


def reference() -> dict[str, YieldOpportunity]:
    app = detector([T0])
    batch = [InRecord("in", 0, i, 0, b"aave", v) for i, v in enumerate(script())]
    return opportunities([o.value for o in app.process(batch).outputs if o.topic == "out"])


def test_on_the_broker_and_across_a_restart_the_same_opportunities(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, late, cps = (f"y.{name}.{unique}" for name in ("in", "out", "late", "cp"))
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 1), TopicSpec(out, 1),
                  TopicSpec(late, 1), TopicSpec(cps, 1, compacted=True))  # fmt: skip
    from lucent_platform.adapters import kafka

    producer = kafka.producer(settings, kafka_bootstrap)
    values = script()
    half = 11  # the first run stops after these: the window is open, its opening not yet out
    for v in values[:half]:
        producer.produce(src, v, b"aave")
    assert producer.flush(30) == 0

    def run(until_in: int) -> None:
        app = YieldDetector(CONFIG, clock_ms=lambda: 0, out_topic=out, late_topic=late)
        run_until(
            lambda m: m.counts["in"] >= until_in, settings=settings, bootstrap=kafka_bootstrap,
            group_id=f"y-{unique}", subscribe=[src], processor=app, consumer_config=EARLIEST,
            checkpoint_topic=cps, checkpoint_every_s=0.1, idle_tick_s=None,
        )  # fmt: skip

    run(half)
    for v in values[half:]:
        producer.produce(src, v, b"aave")
    assert producer.flush(30) == 0
    run(len(values) - half)
    got = opportunities(read_values(settings, kafka_bootstrap, out, expect=2))
    assert got == reference()
    letters = read_values(settings, kafka_bootstrap, late, expect=1)
    assert len(letters) == 1
