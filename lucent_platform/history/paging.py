"""Walking a day window through a REST API that pages by ``since``/``until``/``limit``.

Exchanges return at most ``limit`` rows per request, from ``since`` on. A pager says what to
ask for next and, given the times of the rows that came back, where the next page starts; the
REST client (``connectors.rest``) only sends the requests. Both pagers stop when the window is
covered, when a page brings nothing new, or after ``max_pages`` (a safety net against an API
that ignores ``since``: it raises instead of looping).

Candles: the next page starts one interval after the last candle received. A page shorter
than ``limit`` does not end the walk (Kraken answers at most 720 candles whatever the limit),
an empty one does, unless requests are ``bounded``: Coinbase refuses a time range holding more
candles than one answer, so each request covers ``limit`` intervals and an empty one (a quiet
stretch) moves on to the next range.

Trades: several trades share a millisecond, so a full page continues *at* its last trade's
time (the rows are de-duplicated by trade id afterwards) rather than after it. Venues whose API
bounds a request in time (``span_ms``: Binance serves aggregate trades one hour at a time) are
walked span by span; an empty or short page then moves on to the next span instead of ending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lucent_platform.history.days import Window

DEFAULT_MAX_PAGES = 10_000


class PagingError(RuntimeError):
    """The API kept answering without covering the window (it ignores ``since``?)."""


@dataclass(frozen=True)
class PageRequest:
    """One REST call: rows with time in ``[since, until]`` (both inclusive, ms), at most
    ``limit`` of them."""

    since: int
    until: int
    limit: int


class CandlePager:
    """Pages of ``limit`` candles of ``interval_ms`` over ``window``; ``bounded``: each request
    spans at most ``limit`` intervals."""

    def __init__(
        self,
        window: Window,
        interval_ms: int,
        limit: int,
        *,
        bounded: bool = False,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        if interval_ms <= 0 or limit <= 0:
            raise ValueError("interval_ms and limit must be positive")
        self.window, self.interval_ms, self.limit = window, interval_ms, limit
        self.bounded = bounded
        self._asked: PageRequest | None = None
        self.cursor = window.start_ms
        self.pages = 0
        self.max_pages = max_pages
        self.done = False

    def next_request(self) -> PageRequest | None:
        if self.done or self.cursor >= self.window.end_ms:
            return None
        if self.pages >= self.max_pages:
            raise PagingError(f"{self.pages} pages did not cover the window; stopping")
        self.pages += 1
        end = self.window.end_ms
        if self.bounded:
            end = min(end, self.cursor + self.limit * self.interval_ms)
        self._asked = PageRequest(self.cursor, end - 1, self.limit)
        return self._asked

    def advance(self, open_times: Sequence[int]) -> None:
        """Record a page's candle open times (ms)."""
        asked = self._asked
        if asked is None:
            raise RuntimeError("advance() before next_request()")
        ahead = [t for t in open_times if t >= self.cursor]
        if ahead:
            self.cursor = max(ahead) + self.interval_ms
        elif self.bounded:
            self.cursor = asked.until + 1
        else:
            self.done = True


class TradePager:
    """Pages of up to ``limit`` trades over ``window``; ``span_ms``: the longest time range one
    request may cover (None: unbounded, the API has no ``until``)."""

    def __init__(
        self,
        window: Window,
        limit: int,
        span_ms: int | None = None,
        *,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        if limit <= 0 or (span_ms is not None and span_ms <= 0):
            raise ValueError("limit and span_ms must be positive")
        self.window, self.limit, self.span_ms = window, limit, span_ms
        self.cursor = window.start_ms
        self.pages = 0
        self.max_pages = max_pages
        self.done = False
        self._asked: PageRequest | None = None

    def next_request(self) -> PageRequest | None:
        if self.done or self.cursor >= self.window.end_ms:
            return None
        if self.pages >= self.max_pages:
            raise PagingError(f"{self.pages} pages did not cover the window; stopping")
        self.pages += 1
        end = self.window.end_ms
        if self.span_ms is not None:
            end = min(end, self.cursor + self.span_ms)
        self._asked = PageRequest(self.cursor, end - 1, self.limit)
        return self._asked

    def advance(self, times: Sequence[int]) -> None:
        """Record a page's trade times (ms)."""
        asked = self._asked
        if asked is None:
            raise RuntimeError("advance() before next_request()")
        ahead = [t for t in times if t >= self.cursor]
        if len(ahead) >= self.limit:  # a full page: more may share its last millisecond
            last = max(ahead)
            # a page filled by one millisecond cannot be continued by time: move past it
            self.cursor = last if last > self.cursor else last + 1
        elif self.span_ms is not None:
            self.cursor = asked.until + 1
        else:
            self.done = True
