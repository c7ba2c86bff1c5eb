"""The domain handlers' work on the event store: append what ``domain/handling.py`` plans.

Every append is idempotent and guarded by optimistic concurrency:

- an opportunity or alert event goes to its own stream at the version just read; if the
  stream already holds the event (the command was handled before) it is returned as it is,
  to be announced again;
- the portfolio is kept in memory and brought up to date from its stream (the events after
  the version held) before each decision; the append expects that version, and a
  ``WrongExpectedVersion`` (another handler appended meanwhile) means: read what it
  appended, decide again, append again — up to ``conflict_retries`` times.

``Appended`` values come back for the announcements (``events.announcement``), new or not.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from lucent_platform.domain import events
from lucent_platform.domain.commands import Command
from lucent_platform.domain.config import DomainConfig
from lucent_platform.domain.handling import Planned, portfolio_check, recommendation, signal_event
from lucent_platform.domain.portfolio import Portfolio
from lucent_platform.domain.prices import Valuation
from lucent_platform.eventstore import (
    EventStore,
    RecordedEvent,
    StreamNotFound,
    WrongExpectedVersion,
)

log = logging.getLogger(__name__)


class ConflictsExhausted(RuntimeError):
    """Other writers kept winning the race for a stream: the command is retried later."""


@dataclass(frozen=True, slots=True)
class Appended:
    """An event in the store (``new``: appended by this call) as it is announced."""

    stream: str
    id: uuid.UUID
    type: str
    stream_position: int
    data: events.Event
    data_json: bytes
    metadata_json: bytes
    new: bool

    @classmethod
    def planned(cls, plan: Planned, position: int) -> Appended:
        new = plan.new_event()
        return cls(
            plan.stream, plan.id, plan.type, position, plan.data, new.data, new.metadata, True
        )

    @classmethod
    def recorded(cls, event: RecordedEvent) -> Appended:
        data = events.decode_data(event.type, event.data)
        return cls(
            event.stream_name, event.id, event.type, event.stream_position, data, event.data,
            event.metadata, False,
        )  # fmt: skip

    def body(self) -> bytes:
        return events.announcement(
            str(self.id), self.type, self.stream, self.stream_position, self.data_json,
            self.metadata_json,
        )  # fmt: skip


class DomainHandler:
    """Handles commands and portfolio checks for one portfolio against one event store."""

    def __init__(
        self,
        store: EventStore,
        config: DomainConfig,
        clock_ms: Callable[[], int],
        counts: Counter[str] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock_ms = clock_ms
        self.counts: Counter[str] = counts if counts is not None else Counter()
        self.portfolio = Portfolio(config.portfolio)
        self.portfolio_stream = events.portfolio_stream(config.portfolio)

    def handle(self, command: Command) -> list[Appended]:
        """The command's event, then its position recommendation if it is an opportunity
        the portfolio takes. Raises ``CommandInvalid`` (never retry), ``ConflictsExhausted``
        or an ``EventStoreError`` (retry later)."""
        cause = signal_event(command)
        out = [self._append_once(cause)]
        recommended = self._decide(lambda p, now: recommendation(self.config, p, cause, now))
        if recommended is None:
            # Handled before? Then announce the recommendation it made again.
            existing = self._existing(events.derived_id(str(cause.id), events.POSITION_RECOMMENDED))
            if existing is not None:
                out.append(existing)
        else:
            out.append(recommended)
        return out

    def check_portfolio(self, valuation: Valuation) -> list[Appended]:
        """Open the portfolio, or rebalance it if it drifted, at these prices."""
        checked = self._decide(lambda p, now: portfolio_check(self.config, p, valuation, now))
        return [] if checked is None else [checked]

    # --- appends -------------------------------------------------------------------------
    def _append_once(self, plan: Planned) -> Appended:
        for _ in range(self.config.conflict_retries):
            try:
                recorded = self.store.get_stream(plan.stream)
            except StreamNotFound:
                recorded = ()
            for event in recorded:
                if event.id == plan.id:
                    self.counts["already_recorded"] += 1
                    return Appended.recorded(event)
            version = recorded[-1].stream_position if recorded else None
            try:
                self.store.append_to_stream(
                    plan.stream, current_version=version, events=[plan.new_event()]
                )
            except WrongExpectedVersion:
                self.counts["version_conflicts"] += 1
                continue
            self.counts[f"appended.{plan.type}"] += 1
            return Appended.planned(plan, 0 if version is None else version + 1)
        raise ConflictsExhausted(
            f"{plan.stream}: {self.config.conflict_retries} conflicts in a row"
        )

    def _decide(self, plan_for: Callable[[Portfolio, int], Planned | None]) -> Appended | None:
        for _ in range(self.config.conflict_retries):
            self._refresh()
            version = self.portfolio.version
            plan = plan_for(self.portfolio, self.clock_ms())
            if plan is None:
                return None
            try:
                self.store.append_to_stream(
                    plan.stream, current_version=version, events=[plan.new_event()]
                )
            except WrongExpectedVersion:
                self.counts["version_conflicts"] += 1
                log.debug("%s moved past version %s: deciding again", plan.stream, version)
                continue
            self.counts[f"appended.{plan.type}"] += 1
            return Appended.planned(plan, 0 if version is None else version + 1)
        raise ConflictsExhausted(
            f"{self.portfolio_stream}: {self.config.conflict_retries} conflicts in a row"
        )

    def _refresh(self) -> None:
        """Apply the portfolio's events after the version held."""
        start = 0 if self.portfolio.version is None else self.portfolio.version + 1
        try:
            recorded = self.store.get_stream(self.portfolio_stream, stream_position=start)
        except StreamNotFound:
            return
        for event in recorded:
            self.portfolio.apply(event)

    def _existing(self, event_id: uuid.UUID) -> Appended | None:
        for event in self.portfolio.recommendations.values():
            if event.id == event_id:
                return Appended.recorded(event)
        return None
