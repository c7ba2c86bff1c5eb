"""How a worker learns it must stop: SIGTERM/SIGINT set an event the loop checks."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


class StopSignal:
    """A ``threading.Event`` set by SIGTERM/SIGINT (installed only in the main thread)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
        return self

    @contextmanager
    def installed(self) -> Iterator[StopSignal]:
        """``install`` for the length of a block, then the previous handlers again: for a
        command that runs a worker and carries on afterwards (``lucent reprocess --until``)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.install()
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s: finishing the current batch, then stopping", signal.Signals(signum).name
        )
        self.event.set()

    def set(self) -> None:
        self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if asked to stop meanwhile."""
        return self.event.wait(seconds)
