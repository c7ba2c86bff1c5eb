"""The hostile-input corpus (``tests/fixtures/hostile``) through the processor's pure pipeline.

Every case gets its one right answer (a dead letter with that reason, or normalized where the
hostile text is only ever a value), never an exception; the whole corpus in one batch balances
exactly; the 10 MB and 10,000-deep cases cost a bounded amount of memory (tracemalloc).
"""

from __future__ import annotations

import tracemalloc
from collections import Counter

import pytest

from lucent_platform import topics
from lucent_platform.processing import InRecord, MarketProcessor, ProcessorConfig, deadletter
from lucent_platform.processing.deadletter import MAX_RECORD_BYTES
from lucent_platform.processing.latency import MAX_SOURCES, OTHER, SourceLatency
from tests.fixtures.hostile import DEPTH, MB, T0, Case, envelopes, frames, json_text, price_update
from tests.test_processing_properties import check

TOPIC = topics.prices("binance", "ETH-USDC")
SMALL = [*frames(big=False), *envelopes()]
MESSAGE_ID = price_update()["header"]["messageId"].encode()
EVENT_MS = str(price_update()["header"]["eventTimeMs"]).encode()
PEAK_BYTES = 4 * MB
"""The most a 10 MB record may cost the processor (its letter carries 512 KiB as base64,
683 KiB, and the hash; measured peak 1.57 MB)."""


def _answer(case: Case, offset: int = 1) -> str:
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: T0)
    batch = [InRecord(TOPIC, 0, offset, T0, b"ETH-USDC", case.value)]
    result = processor.process(batch)
    check(result, batch)
    (out,) = result.outputs
    if out.topic != topics.DEADLETTER:
        return "normalized"
    letter = deadletter.decode(out.value)
    assert letter.detail and letter.source_offset == offset
    return letter.reason


@pytest.mark.parametrize("case", SMALL, ids=lambda c: c.name)
def test_every_case_gets_its_answer(case: Case) -> None:
    assert case.expect is not None, case
    assert _answer(case) == case.expect


def test_the_whole_corpus_in_one_batch_balances_exactly() -> None:
    corpus = [*frames(), *envelopes()]
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: T0)
    # each its own message id and event time, or valid ones after the first are duplicates
    batch = [
        InRecord(TOPIC, 0, i, T0, None, case.value.replace(MESSAGE_ID, f"m-{i}".encode())
                 .replace(EVENT_MS, str(T0 - 1000 - i).encode()))
        for i, case in enumerate(corpus)
    ]  # fmt: skip
    result = processor.process(batch)
    check(result, batch)
    expected = Counter(case.expect for case in corpus)
    assert result.counts["normalized"] == expected.pop("normalized")
    assert result.counts["duplicates"] == 0
    assert result.counts["dead_lettered"] == expected.total()
    for reason, n in expected.items():
        assert result.counts[f"dead.{reason}"] == n, reason
    assert expected["too_large"] >= 6


@pytest.mark.parametrize(
    "case",
    [c for c in frames() if len(c.value) > MAX_RECORD_BYTES or c.name.startswith("deep")],
    ids=lambda c: c.name,
)
def test_huge_and_deep_records_cost_bounded_memory(case: Case) -> None:
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: T0)
    record = InRecord(TOPIC, 0, 1, T0, None, case.value)
    tracemalloc.start()
    try:
        result = processor.process([record])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, (case, peak)
    letter = deadletter.decode(result.outputs[0].value)
    assert letter.reason == case.expect
    if len(case.value) > MAX_RECORD_BYTES:
        assert letter.original_truncated and letter.original_size == len(case.value)
        assert len(result.outputs[0].value) < 1_000_000  # the producers' limit


def test_the_corpus_has_what_the_issue_names() -> None:
    names = {case.name for case in [*frames(), *envelopes()]}
    for wanted in ("invalid_utf8", "pair lone_surrogate", "deep_array", "price_400_digits",
                   "nan_token", "infinity_token", "price minus_zero", "price negative",
                   "price zero", "time year_1", "time year_9999", "time negative",
                   "time both_in_ns", "garbage_10mb", "data.price=\"2847.52\"",
                   "pair sql_quote", "exchange shell", "pair path_traversal", "pair regex",
                   "pair nul", "utf8_bom", "duplicate_key_last_negative"):  # fmt: skip
        assert wanted in names, wanted
    assert DEPTH == 10_000 and max(len(case.value) for case in frames()) >= 10 * MB


def test_invented_pairs_on_one_partition_hold_bounded_state() -> None:
    """Garbage inventing a new pair per message on one raw topic: the first
    ``max_instruments`` (1,000) get state, every later new one is ``too_many_instruments``,
    and the pairs already held go on as before. Without the bound, 100k such pairs held 386 MB
    (tracemalloc); with it, the state stops growing at about 4 MB."""
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: T0)

    def batch(start: int, pairs: range, price: float = 2847.52) -> list[InRecord]:
        return [
            InRecord(TOPIC, 0, start + i, T0, None,
                     json_text(_update(f"m-{start + i}", f"A{n}-USDT", price)))
            for i, n in enumerate(pairs)
        ]  # fmt: skip

    tracemalloc.start()
    try:
        first = processor.process(batch(0, range(3_000))).counts
        held = tracemalloc.get_traced_memory()[0]
        more = processor.process(batch(3_000, range(3_000, 6_000))).counts  # outputs dropped
        grown = tracemalloc.get_traced_memory()[0] - held
    finally:
        tracemalloc.stop()
    assert first["normalized"] == 1_000 and first["dead.too_many_instruments"] == 2_000
    assert more["dead.too_many_instruments"] == 3_000
    assert grown < 2 * MB, grown  # the dedup windows' ids only, no instrument state
    again = processor.process(batch(6_000, range(10), 2847.53))  # pairs held already
    assert again.counts["normalized"] == 10


def _update(message_id: str, pair: str, price: float) -> dict[str, object]:
    update = price_update(pair=pair, price=price)
    update["header"]["messageId"] = message_id  # type: ignore[index]
    return update


def test_invented_sources_share_one_latency_entry_past_the_cap() -> None:
    """A new header.source per message: the per-source latency (histograms and metric labels)
    keeps ``MAX_SOURCES`` apart and observes the rest together as ``other`` (uncapped, 7,000
    invented sources held 14 MB more)."""
    latency = SourceLatency()
    for i in range(MAX_SOURCES + 100):
        latency.observe(f"src-{i}", 10_000, 9_000, 9_500)
    assert len(latency.exchange) == len(latency.received) == MAX_SOURCES + 1
    assert latency.exchange[OTHER].count == latency.received[OTHER].count == 100
