"""The sink's per-partition batching: cuts on offsets, recorded cuts repeated exactly."""

from __future__ import annotations

from lucent_platform.envelope import encode
from streaming.sink.batches import Cut, PartitionBuffer
from streaming.sink.mapping import Malformed, malformed_row, rows_of
from tests.message_samples import sample_envelope

ROW = ("trades", ("id",))


def fill(buffer: PartitionBuffer, offsets: range, now: float = 0.0, most: int = 50) -> None:
    for offset in offsets:
        buffer.add(offset, 1000 + offset, [ROW], now, most)


def cuts(buffer: PartitionBuffer) -> list[tuple[int, int]]:
    return [(b.first, b.last) for b in buffer.ready]


def test_size_cuts_fall_on_offsets_and_age_cuts_the_rest() -> None:
    buffer = PartitionBuffer("market.trades.all", 0, start=None)
    buffer.resolve([], 50)
    fill(buffer, range(130))
    assert cuts(buffer) == [(0, 49), (50, 99)]
    buffer.cut_due(0.5, max_age_s=1.0)
    assert cuts(buffer) == [(0, 49), (50, 99)]
    buffer.cut_due(1.0, max_age_s=1.0)
    assert cuts(buffer) == [(0, 49), (50, 99), (100, 129)]
    assert buffer.ready[2].token == "market.trades.all:0:100-129@1100"
    assert buffer.buffered == 130
    buffer.inserted()
    assert buffer.buffered == 80


def test_a_replay_repeats_the_recorded_cuts_then_cuts_as_usual() -> None:
    # First life: an age cut at 129 was recorded and inserted, never committed.
    buffer = PartitionBuffer("market.trades.all", 0, start=100)
    fill(buffer, range(90, 100))  # stale re-reads below the committed offset
    assert buffer.buffered == 0
    fill(buffer, range(100, 110))  # arrive before the ledger answered: held
    buffer.resolve([Cut(100, 129, 1100)], 50)
    fill(buffer, range(110, 250))
    assert cuts(buffer) == [(100, 129), (130, 179), (180, 229)]
    assert buffer.ready[0].recorded and not buffer.ready[1].recorded


def test_cuts_of_another_incarnation_of_the_topic_are_ignored() -> None:
    buffer = PartitionBuffer("market.trades.all", 0, start=None)
    buffer.resolve([Cut(0, 9, 999_999)], 50)  # same offsets, another first timestamp
    fill(buffer, range(60))
    assert cuts(buffer) == [(0, 49)]


def test_a_planned_batch_waits_for_its_records_whatever_its_age() -> None:
    buffer = PartitionBuffer("market.trades.all", 0, start=0)
    buffer.resolve([Cut(0, 79, 1000)], 50)
    fill(buffer, range(60))
    buffer.cut_due(100.0, max_age_s=1.0, force=True)
    assert cuts(buffer) == []
    fill(buffer, range(60, 80))
    assert cuts(buffer) == [(0, 79)]


def test_malformed_records_become_dead_letter_rows_of_the_sink() -> None:
    for value, reason in (
        (b"{not json", "undecodable"),
        (None, "undecodable"),
        (encode(sample_envelope("trade")).replace(b'"trade"', b'"nope"'), "unknown_kind"),
    ):
        try:
            rows_of("market.trades.all", value)
        except Malformed as problem:
            assert problem.reason == reason
            row = malformed_row(problem, "market.trades.all", 2, 41, 1000, 2000)
            assert row[0] == "market.trades.all/2/41"
            assert row[3] == "clickhouse-sink" and row[4] == reason
        else:
            raise AssertionError(f"{value!r} was not malformed")
