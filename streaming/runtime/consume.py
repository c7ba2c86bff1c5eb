"""One batch off a plain consumer, for the workers that run their own loop (bridge, monitor).

``next_batch`` polls for the first record (so an idle worker sleeps in librdkafka, not in
Python), takes whatever else is already fetched, and returns the records without errors:
end-of-partition events are dropped (or noted in ``at_end``), other errors counted as
``consume_errors`` and logged, and a fatal one raised. (The micro-batch runtime has its own,
which also re-reads after a rebalance.)
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

log = logging.getLogger(__name__)


def next_batch(
    consumer: Any,
    size: int,
    counts: Counter[str],
    *,
    idle_timeout: float = 0.1,
    at_end: set[tuple[str, int]] | None = None,
) -> list[Message]:
    """Up to ``size`` records: the first within ``idle_timeout`` s, then those already fetched.
    ``at_end`` collects the (topic, partition) of end-of-partition events (a consumer with
    ``enable.partition.eof``: the monitor's catch-up)."""
    first = consumer.poll(idle_timeout)
    if first is None:
        return []
    rest = consumer.consume(size - 1, 0) if size > 1 else []
    good = []
    for message in [first, *rest]:
        error = message.error()
        if error is None:
            good.append(message)
        elif error.code() == KafkaError._PARTITION_EOF:
            if at_end is not None:
                at_end.add((message.topic() or "", message.partition() or 0))
        else:
            consumer_error(error, counts)
    return good


def consumer_error(error: KafkaError, counts: Counter[str]) -> None:
    """Count and log one error a consumer handed over instead of a record; raise a fatal one.

    A pattern subscription that matches no topic yet (``^market\\.bridges\\..+$`` while no
    chain is configured) is how librdkafka says "nothing to read there yet", not a failure:
    logged at info and counted as ``unmatched_subscriptions``, so a normal start of the stack
    logs no ERROR. A missing literal topic is a warning (a name that may be wrong).
    """
    if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART and not error.fatal():
        counts["unmatched_subscriptions"] += 1
        pattern = "Subscribed topic not available: ^" in error.str()
        (log.info if pattern else log.warning)(
            "no topic matches the subscription yet (read once created): %s", error.str()
        )
        return
    counts["consume_errors"] += 1
    log.error("consumer error: %s", error)
    if error.fatal():
        raise KafkaException(error)
