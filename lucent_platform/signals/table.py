"""A table from a compacted topic: the latest value per key, a tombstone deletes.

The price-alert engine joins the price stream with the rules on ``user.alert-rules`` this way
(a stream–table join): every instance reads the whole compacted topic from its beginning on
start, then follows it (``streaming.runtime.tables``), so a rule added while running takes
effect with the next price. ``parse`` turns a record's value into the app's type; a value
it rejects (``ValueError``) deletes the key as a tombstone would and is counted, so a
malformed update never leaves a stale rule in force.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from lucent_platform.processing.pipeline import InRecord

V = TypeVar("V")


class Table(Generic[V]):
    """Latest value per key of one compacted topic; ``version`` counts applied changes."""

    def __init__(
        self,
        topic: str,
        parse: Callable[[bytes], V],
        check_key: Callable[[bytes], object] | None = None,
    ) -> None:
        self.topic = topic
        self._parse = parse
        self._check_key = check_key  # raises ValueError for a key the table must not hold
        self._rows: dict[bytes, V] = {}
        self.version = 0
        self.rejected = 0

    def apply(self, records: Sequence[InRecord]) -> list[bytes]:
        """Apply updates in order; returns the keys that changed. Records without a key
        (a compacted topic cannot keep them) and other topics' records are ignored."""
        changed: list[bytes] = []
        for record in records:
            if record.topic != self.topic or record.key is None:
                continue
            if record.value is None:
                removed = self._rows.pop(record.key, None) is not None
            else:
                try:
                    if self._check_key is not None:
                        self._check_key(record.key)
                    self._rows[record.key] = self._parse(record.value)
                    removed = True
                except ValueError:
                    self.rejected += 1
                    removed = self._rows.pop(record.key, None) is not None
            if removed:
                self.version += 1
                changed.append(record.key)
        return changed

    def get(self, key: bytes) -> V | None:
        return self._rows.get(key)

    def __contains__(self, key: bytes) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def items(self) -> Iterator[tuple[bytes, V]]:
        return iter(self._rows.items())
