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
from tests.fixtures.hostile import DEPTH, MB, T0, Case, envelopes, frames, price_update
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
