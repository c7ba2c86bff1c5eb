"""``WindowedApp``: the processor every windowed signal app is — read, window, emit.

An app says four things: how to ``read`` a record into an ``Event`` (key, event time,
value), a window's empty state (``new_state``), how an event ``update``s it, and what to
``emit`` when a window closes; optionally a fifth, what to say at once (``react``: early
outputs while the window is open). ``WindowedApp`` does the rest, as the runtime expects of a
processor (``streaming.runtime.records``): one ``Windows`` per input partition, made on
assignment and dropped on revocation; late events and undecodable records become dead
letters (reasons ``late_event``, ``undecodable``); the wall clock closes quiet partitions'
windows on idle batches; and the rebuild hooks (``checkpoint``, ``restore``, ``warm``) with
which the runtime restores state after a restart or a rebalance.

Pure: no I/O; ``clock_ms`` (UTC ms) is the only clock and is injectable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from lucent_platform.processing import deadletter
from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.processing.pipeline import InRecord, Output, Result
from lucent_platform.signals.windows import Closed, Mark, Window, Windows, WindowSpec
from lucent_platform.topics import DEADLETTER

S = TypeVar("S")
V = TypeVar("V")
Partition = tuple[str, int]

LATE_EVENT = "late_event"
UNDECODABLE = "undecodable"


@dataclass(frozen=True)
class Event(Generic[V]):
    """What an app reads from a record: the key it windows by, the event time (UTC ms)."""

    key: str
    event_ms: int
    value: V


class WindowedApp(Generic[S, V]):
    """Base of windowed signal apps; subclasses implement ``read``, ``new_state``,
    ``update`` and ``emit``. ``name`` is part of every window's output id."""

    def __init__(
        self,
        name: str,
        spec: WindowSpec,
        *,
        clock_ms: Callable[[], int],
        late_topic: str = DEADLETTER,
    ) -> None:
        self.name = name
        self.spec = spec
        self.late_topic = late_topic
        self._clock_ms = clock_ms
        self._windows: dict[Partition, Windows[S]] = {}

    # --- what an app defines -------------------------------------------------------------
    def read(self, record: InRecord) -> Event[V] | None:
        """The record's event, None to skip it (not for this app); ValueError if bad."""
        raise NotImplementedError

    def new_state(self) -> S:
        raise NotImplementedError

    def update(self, state: S, event: Event[V], record: InRecord) -> None:
        raise NotImplementedError

    def react(
        self, windows: Sequence[Window], states: Sequence[S], event: Event[V], record: InRecord
    ) -> Sequence[Output]:
        """Outputs right after ``event`` updated its open ``windows`` (their ``states``), for
        apps that speak before a window closes (an opportunity as soon as the evidence
        suffices); none by default. Also called while warming, outputs discarded, so a
        restarted app knows what it already said."""
        return ()

    def emit(self, closed: Closed[S]) -> Sequence[Output]:
        """Outputs for a closed window; use ``closed.window.message_id(self.name)`` as
        their message id so a repeat after a restart is recognisable."""
        raise NotImplementedError

    # --- the processor -------------------------------------------------------------------
    def process(self, batch: Sequence[InRecord]) -> Result:
        """Each record windowed in order; windows that close on the way emitted; on an
        empty (idle) batch, only the wall clock's closing."""
        counts: Counter[str] = Counter({"in": len(batch)})
        outputs: list[Output] = []
        now = self._clock_ms()
        for tp in sorted(self._windows):
            self._emit(self._windows[tp].tick(now), outputs, counts)
        self._run(batch, now, outputs, counts)
        counts["out"] = len(outputs)
        return Result(outputs, counts)

    def warm(self, records: Sequence[InRecord]) -> None:
        """Replay records already processed before a restart or rebalance: state only, every
        output (closed windows, late events) discarded."""
        self._run(records, self._clock_ms(), None, Counter())

    def assigned(self, partitions: Iterable[Partition]) -> None:
        for tp in partitions:
            self._windows[tp] = Windows(self.spec, self.new_state)

    def revoked(self, partitions: Iterable[Partition]) -> None:
        """Drop the lost partitions' open windows: their new owner rebuilds them from the
        checkpoint; everything already closed was produced and committed."""
        for tp in partitions:
            self._windows.pop(tp, None)

    def checkpoint(self, partition: Partition) -> Mark | None:
        windows = self._windows.get(partition)
        return None if windows is None else windows.mark()

    def restore(self, partition: Partition, mark: Mark) -> None:
        """Start the partition's windows from a checkpoint, before ``warm``."""
        self._windows[partition] = Windows(self.spec, self.new_state, mark)

    def open_windows(self, partition: Partition) -> int:
        windows = self._windows.get(partition)
        return 0 if windows is None else len(windows)

    # --- internals -----------------------------------------------------------------------
    def _run(
        self,
        records: Sequence[InRecord],
        now: int,
        outputs: list[Output] | None,
        counts: Counter[str],
    ) -> None:
        for record in records:
            tp = (record.topic, record.partition)
            windows = self._windows.get(tp)
            if windows is None:
                windows = self._windows[tp] = Windows(self.spec, self.new_state)
            try:
                event = self.read(record)
            except ValueError as exc:
                counts["dead.undecodable"] += 1
                if outputs is not None:
                    outputs.append(self._dead_letter(record, UNDECODABLE, str(exc), now))
                continue
            if event is None:
                counts["skipped"] += 1
                continue
            states = windows.add(event.key, event.event_ms, record.offset)
            if states is None:
                counts["late"] += 1
                if outputs is not None:
                    detail = (
                        f"event time {event.event_ms} of key {event.key!r}: every window "
                        f"ended at or before the watermark {windows.watermark_ms}"
                    )
                    outputs.append(self._dead_letter(record, LATE_EVENT, detail, now))
            else:
                for state in states:
                    self.update(state, event, record)
                early = self.react(windows.last_added, states, event, record)
                if early and outputs is not None:
                    counts["early"] += len(early)
                    outputs.extend(early)
            closed = windows.advance(event.event_ms, now)
            if outputs is not None:
                self._emit(closed, outputs, counts)

    def _emit(self, closed: list[Closed[S]], outputs: list[Output], counts: Counter[str]) -> None:
        for c in closed:
            counts["windows_closed"] += 1
            outputs.extend(self.emit(c))

    def _dead_letter(self, record: InRecord, reason: str, detail: str, now: int) -> Output:
        letter = DeadLetter(
            reason=reason,
            detail=detail,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            source_timestamp_ms=record.timestamp_ms,
            dead_lettered_at_ms=now,
            original_base64=record.value or b"",
            original_null=record.value is None,
        )
        return Output(
            self.late_topic,
            record.topic.encode(),
            deadletter.encode(letter),
            (("reason", reason.encode()),),
        )
