"""How a worker learns it must stop (SIGTERM/SIGINT set an event the loop checks), and how it
makes sure it runs once on this machine (``InstanceLock``)."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


class InstanceLock:
    """An exclusive ``flock`` on ``path`` for as long as the process holds it: the kernel
    releases it when the process ends, however (a SIGKILLed holder leaves no stale lock).
    The file keeps the holder's pid, for the message of the one refused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> int | None:
        """Take the lock; None if taken, else the pid written by its holder (0: unknown)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            return int(holder) if holder.isdigit() else 0
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None
