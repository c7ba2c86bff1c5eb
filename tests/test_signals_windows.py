"""The signal apps' pure core: window assignment, grace, late routing, wall-clock closing,
rebuild from a mark, aggregations and tables — no services."""

from __future__ import annotations

import json
import statistics

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals import FirstLast, Stats, Table, Welford, Windows, WindowSpec
from tests.signal_apps import CountMean, event

OUT, LATE = "out", "late"


class Clock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def records(events: list[tuple[str, int, float]], partition: int = 0) -> list[InRecord]:
    return [
        InRecord("in", partition, i, t, k.encode(), event(k, t, v))
        for i, (k, t, v) in enumerate(events)
    ]


def app(spec: WindowSpec, clock: Clock | None = None) -> CountMean:
    a = CountMean(OUT, spec, clock_ms=clock or Clock(), late_topic=LATE)
    a.assigned([("in", 0)])
    return a


def windows(outputs: list[Output]) -> list[tuple[str, int, int]]:
    return [
        (b["key"], b["start"], b["count"])
        for b in map(json.loads, (o.value for o in outputs if o.topic == OUT))
    ]


def test_window_starts_tumbling_and_hopping() -> None:
    assert list(WindowSpec(5000).starts(12_345)) == [10_000]
    assert list(WindowSpec(5000).starts(-1)) == [-5000]
    assert list(WindowSpec(10_000, hop_ms=5000).starts(12_345)) == [5000, 10_000]
    assert list(WindowSpec(10_000, hop_ms=3000).starts(9000)) == [0, 3000, 6000, 9000]
    with pytest.raises(ValueError):
        WindowSpec(5000, hop_ms=6000)
    with pytest.raises(ValueError):
        WindowSpec(0)


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6), st.integers(1, 10**6))
def test_every_window_of_an_event_holds_it(t: int, size: int, hop: int) -> None:
    hop = min(hop, size)
    starts = WindowSpec(size, hop_ms=hop).starts(t)
    assert len(starts) == len([s for s in range(starts[0] - hop, t + 1, hop) if s <= t < s + size])
    assert all(s % hop == 0 and s <= t < s + size for s in starts)


def test_window_closes_when_watermark_passes_end_plus_grace() -> None:
    a = app(WindowSpec(5000, grace_ms=1000, idle_ms=10**9))
    out = a.process(records([("a", 1000, 1.0), ("a", 4999, 3.0), ("a", 5999, 0.0)])).outputs
    assert out == []  # watermark 4999: [0, 5000) still open
    out = a.process([InRecord("in", 0, 3, 0, b"a", event("a", 6000, 0.0))]).outputs
    body = json.loads(out[0].value)
    assert (body["start"], body["end"], body["count"], body["mean"]) == (0, 5000, 2, 2.0)
    assert (body["first"], body["last"]) == (1.0, 3.0)


def test_within_grace_counts_after_grace_is_late_and_routed() -> None:
    a = app(WindowSpec(5000, grace_ms=1000, idle_ms=10**9))
    result = a.process(records([
        ("a", 1000, 1.0),
        ("a", 5500, 1.0),   # watermark 4500
        ("b", 4000, 2.0),   # within grace: counts in [0, 5000)
        ("a", 6000, 1.0),   # watermark 5000: [0, 5000) closes for a and b
        ("b", 4500, 9.0),   # late
    ]))  # fmt: skip
    assert windows(result.outputs) == [("a", 0, 1), ("b", 0, 1)]
    late = [o for o in result.outputs if o.topic == LATE]
    assert len(late) == 1 and result.counts["late"] == 1
    letter = msgspec.json.decode(late[0].value, type=DeadLetter)
    assert (letter.reason, letter.source_offset) == ("late_event", 4)
    assert letter.original_base64 == event("b", 4500, 9.0)
    assert dict(late[0].headers)["reason"] == b"late_event"


def test_quiet_key_closes_on_other_keys_event_time() -> None:
    a = app(WindowSpec(5000, idle_ms=10**9))
    out = a.process(records([("quiet", 100, 1.0), ("busy", 200, 1.0), ("busy", 7000, 1.0)]))
    assert windows(out.outputs) == [("busy", 0, 1), ("quiet", 0, 1)]  # by end, then key


def test_quiet_partition_closes_on_wall_clock() -> None:
    clock = Clock()
    a = app(WindowSpec(5000, grace_ms=1000, idle_ms=2000), clock)
    a.process(records([("a", 4000, 1.0)]))  # watermark 3000; closes at 5000
    clock.now += 3999  # idle 2000 + 1999 of clock progress: watermark 4999
    assert a.process([]).outputs == []
    clock.now += 1
    assert windows(a.process([]).outputs) == [("a", 0, 1)]
    # the window closed by the clock is closed: its late event is routed, not counted
    late = a.process([InRecord("in", 0, 1, 0, b"a", event("a", 4500, 1.0))])
    assert late.counts["late"] == 1 and [o.topic for o in late.outputs] == [LATE]


def test_hopping_windows_count_an_event_in_each() -> None:
    a = app(WindowSpec(10_000, hop_ms=5000, idle_ms=10**9))
    out = a.process(records([("a", 7000, 1.0), ("a", 12_000, 3.0), ("a", 30_000, 0.0)]))
    assert windows(out.outputs) == [("a", 0, 1), ("a", 5000, 2), ("a", 10_000, 1)]


def test_hopping_event_late_for_old_window_counts_in_open_one() -> None:
    a = app(WindowSpec(10_000, hop_ms=5000, idle_ms=10**9))
    out = a.process(records([("a", 1000, 1.0), ("a", 10_000, 1.0), ("a", 9000, 5.0)]))
    # [0, 10000) closed at 10000; 9000 still lands in [5000, 15000)
    assert windows(out.outputs) == [("a", -5000, 1), ("a", 0, 1)]
    assert out.counts["late"] == 0


def test_undecodable_record_is_dead_lettered() -> None:
    a = app(WindowSpec(5000))
    result = a.process([InRecord("in", 0, 0, 0, None, b"{not json")])
    assert result.counts["dead.undecodable"] == 1
    assert msgspec.json.decode(result.outputs[0].value, type=DeadLetter).reason == "undecodable"


def test_output_is_the_same_whatever_the_batching() -> None:
    script = [(f"k{i % 3}", 1000 * i - (2500 if i % 7 == 0 else 0), float(i)) for i in range(40)]
    whole = app(WindowSpec(5000, grace_ms=1500, idle_ms=10**9)).process(records(script)).outputs
    split = app(WindowSpec(5000, grace_ms=1500, idle_ms=10**9))
    recs = records(script)
    pieces = [split.process(recs[i : i + 3]).outputs for i in range(0, len(recs), 3)]
    assert [o.value for o in whole if o.topic == OUT] == [
        o.value for p in pieces for o in p if o.topic == OUT
    ]


def test_rebuild_from_mark_gives_the_same_output() -> None:
    """Stop after any record; rebuild from the mark by replaying from its start offset;
    the rest of the output equals an uninterrupted run's."""
    script = [(f"k{i % 4}", 700 * i - (3000 if i % 5 == 0 else 0), float(i)) for i in range(60)]
    recs = records(script)
    spec = WindowSpec(5000, grace_ms=2000, idle_ms=10**9)
    reference = app(spec).process(recs).outputs
    for stop in range(1, len(recs)):
        first = app(spec)
        before = first.process(recs[:stop]).outputs
        mark = first.checkpoint(("in", 0))
        assert mark is not None
        second = app(spec)
        second.restore(("in", 0), mark)
        if mark.start is not None:
            second.warm(recs[mark.start : stop])
        after = second.process(recs[stop:]).outputs
        got = [(o.topic, o.value) for o in before + after if o.topic == OUT]
        assert got == [(o.topic, o.value) for o in reference if o.topic == OUT], stop
        late = [o for o in before + after if o.topic == LATE]
        assert len(late) == len([o for o in reference if o.topic == LATE])


def test_revoked_partition_state_is_dropped() -> None:
    a = app(WindowSpec(5000))
    a.process(records([("a", 100, 1.0)]))
    assert a.open_windows(("in", 0)) == 1
    a.revoked([("in", 0)])
    assert a.open_windows(("in", 0)) == 0 and a.checkpoint(("in", 0)) is None


def test_windows_mark_is_oldest_open_offset() -> None:
    w: Windows[list[int]] = Windows(WindowSpec(1000), list)
    assert w.add("a", 100, 7) is not None
    assert w.add("b", 900, 9) is not None
    w.advance(900)
    assert w.add("a", 1100, 12) is not None
    assert [c.window.key for c in w.advance(1100)] == ["a", "b"]
    assert w.mark().start == 12 and w.mark().watermark_ms == 1100


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_welford_and_stats_agree_with_statistics(values: list[float]) -> None:
    s, w = Stats(), Welford()
    for v in values:
        s.add(v)
        w.add(v)
    assert s.count == len(values) and s.min == min(values) and s.max == max(values)
    assert s.mean == pytest.approx(statistics.fmean(values), abs=1e-6)
    if len(values) > 1:
        assert w.variance == pytest.approx(statistics.variance(values), rel=1e-6, abs=1e-3)


def test_first_last_by_event_time_not_arrival() -> None:
    fl: FirstLast[str] = FirstLast()
    for value, t, offset in [
        ("b", 20, 0),
        ("a", 10, 1),
        ("c", 30, 2),
        ("c2", 30, 3),
        ("a2", 10, 4),
    ]:
        fl.add(value, t, offset)
    assert (fl.first, fl.last, fl.first_ms, fl.last_ms) == ("a", "c2", 10, 30)


def test_table_latest_per_key_and_tombstones() -> None:
    table: Table[dict[str, object]] = Table("rules", lambda raw: json.loads(raw))

    def rec(key: bytes | None, value: bytes | None, topic: str = "rules") -> InRecord:
        return InRecord(topic, 0, 0, 0, key, value)

    updates = [
        rec(b"r1", b'{"above": 1}'),
        rec(b"r2", b'{"below": 2}'),
        rec(b"r1", b'{"above": 3}'),
        rec(None, b"{}"),
        rec(b"x", b"{}", "other"),
    ]
    changed = table.apply(updates)
    assert changed == [b"r1", b"r2", b"r1"] and len(table) == 2
    assert table.get(b"r1") == {"above": 3}
    assert table.apply([rec(b"r1", None)]) == [b"r1"]
    assert b"r1" not in table and table.get(b"r1") is None
    assert table.apply([rec(b"gone", None)]) == []  # deleting the absent changes nothing
    assert table.apply([rec(b"r2", b"{bad")]) == [b"r2"]  # a bad update deletes, counted
    assert table.rejected == 1 and len(table) == 0
