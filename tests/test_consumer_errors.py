"""What a worker does with an error its consumer hands over instead of a record."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from confluent_kafka import KafkaError, KafkaException

from streaming.runtime.consume import consumer_error


def test_a_pattern_matching_no_topic_yet_is_no_error(caplog: pytest.LogCaptureFixture) -> None:
    counts: Counter[str] = Counter()
    error = KafkaError(
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        "Subscribed topic not available: ^market\\.bridges\\..+$: Broker: Unknown topic",
    )
    with caplog.at_level(logging.INFO, logger="streaming.runtime.consume"):
        consumer_error(error, counts)
    assert counts == Counter(unmatched_subscriptions=1)
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_a_missing_literal_topic_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    counts: Counter[str] = Counter()
    error = KafkaError(
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        "Subscribed topic not available: market.prices.nowhere: Broker: Unknown topic",
    )
    with caplog.at_level(logging.INFO, logger="streaming.runtime.consume"):
        consumer_error(error, counts)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_other_errors_are_counted_and_a_fatal_one_raised() -> None:
    counts: Counter[str] = Counter()
    consumer_error(KafkaError(KafkaError._TRANSPORT, "broker down"), counts)
    assert counts == Counter(consume_errors=1)
    with pytest.raises(KafkaException):
        consumer_error(KafkaError(KafkaError._FENCED, "fenced", fatal=True), counts)
    assert counts["consume_errors"] == 2
