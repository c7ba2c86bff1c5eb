"""``lucent up``'s supervisor: a crashed worker is started again after a back-off, one that
crashes too often is left down, one stopped on purpose is never restarted.

The rules are pure (``RestartPolicy``, ``CrashHistory``): the n-th crash within the window is
followed by a restart after ``first_delay_s * 2**(n-1)`` seconds, capped at ``max_delay_s``
(1 s, 2 s, 4 s … 60 s); the ``max_crashes``-th crash within ``window_s`` seconds is the last —
the worker stays ``crashed`` with the reason in ``workers.json`` (so in ``lucent status``) and
in the stack log. A worker that exits 0 or by SIGTERM/SIGINT was stopped on purpose (an
operator, Ctrl-C, ``lucent up`` itself): it stays stopped. ``WorkerSupervisor`` applies the
rules to ``lucent up``'s child processes once per tick of its loop.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from lucent_platform.config import Settings
from lucent_platform.stack.process import ServiceProcess
from lucent_platform.stack.worker_records import STOPPED_ON_PURPOSE, WorkerRecord

log = logging.getLogger("lucent.stack")


def stopped_on_purpose(exit_code: int | None) -> bool:
    return exit_code in STOPPED_ON_PURPOSE


@dataclass(frozen=True)
class RestartPolicy:
    """How ``lucent up`` restarts crashed workers (``LUCENT_RESTART_*``)."""

    first_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_crashes: int = 5  # the max_crashes-th crash within window_s is not restarted (0: never)
    window_s: float = 300.0

    def delay_s(self, crashes: int) -> float:
        """Back-off before the restart that follows the ``crashes``-th crash in the window."""
        return min(self.max_delay_s, self.first_delay_s * 2 ** max(0, crashes - 1))


def restart_policy(settings: Settings) -> RestartPolicy:
    return RestartPolicy(
        first_delay_s=settings.restart_first_delay_s,
        max_delay_s=settings.restart_max_delay_s,
        max_crashes=settings.restart_max_crashes,
        window_s=settings.restart_window_s,
    )


@dataclass(frozen=True)
class Decision:
    """After a crash: restart in ``delay_s`` seconds, or (``delay_s`` is None) give up."""

    crashes: int  # within the window, this one included
    delay_s: float | None
    reason: str


@dataclass
class CrashHistory:
    """The crash times of each worker within the policy's window (monotonic seconds)."""

    policy: RestartPolicy
    _times: dict[str, deque[float]] = field(default_factory=dict)

    def crashed(self, name: str, exit_code: int | None, now: float) -> Decision:
        times = self._times.setdefault(name, deque())
        times.append(now)
        while times and times[0] < now - self.policy.window_s:
            times.popleft()
        n, p = len(times), self.policy
        if p.max_crashes <= 0 or n >= p.max_crashes:
            return Decision(
                n, None,
                f"exit {exit_code}: {n} crash(es) within {p.window_s:g} s, not restarted "
                f"(LUCENT_RESTART_MAX_CRASHES={p.max_crashes})",
            )  # fmt: skip
        delay = p.delay_s(n)
        return Decision(
            n, delay, f"exit {exit_code}: restarting in {delay:g} s (crash {n} within "
            f"{p.window_s:g} s)"
        )  # fmt: skip


@dataclass
class WorkerSupervisor:
    """Watches ``lucent up``'s children; restarts crashed workers as the policy says.

    ``records`` is ``workers.json``'s content, updated in place; ``save`` writes it.
    """

    policy: RestartPolicy
    records: dict[str, WorkerRecord]
    save: Callable[[], None]
    history: CrashHistory = field(init=False)
    _due: dict[str, float] = field(default_factory=dict)  # worker → when to restart it
    _down: set[str] = field(default_factory=set)  # children seen ended and left ended

    def __post_init__(self) -> None:
        self.history = CrashHistory(self.policy)

    def tick(self, processes: Sequence[ServiceProcess], now: float) -> bool:
        """Look at every child once; True when one ended and stays down (the stack's exit
        code becomes 1)."""
        stays_down = False
        for process in processes:
            name = process.name
            if process.running or name in self._down:
                continue
            worker = name.removeprefix("worker ") if name.startswith("worker ") else None
            if worker is not None and worker in self._due:
                if now >= self._due[worker]:
                    self._restart(process, worker)
                continue
            code = process.returncode
            log.error(
                "%s exited with code %s: %s (log: %s)",
                name, code, process.last_log_line(), process.log_path,
            )  # fmt: skip
            if worker is None or stopped_on_purpose(code):
                self._down.add(name)
                stays_down = True
                if worker is not None:
                    self._ended(worker, code, None)
                continue
            decision = self.history.crashed(worker, code, now)
            self._ended(worker, code, decision.reason)
            if decision.delay_s is None:
                log.error("%s: %s", name, decision.reason)
                self._down.add(name)
                stays_down = True
            else:
                log.warning("%s: %s", name, decision.reason)
                self._due[worker] = now + decision.delay_s
        return stays_down

    def _restart(self, process: ServiceProcess, worker: str) -> None:
        del self._due[worker]
        process.stop()  # reaps whatever the crashed worker left in its process group
        process.start()
        record = self.records.get(worker)
        if record is not None:
            self._save(worker, replace(
                record, pid=process.pid or 0, started_at_ms=int(time.time() * 1000),
                exit_code=None, reason=None, restarts=record.restarts + 1,
            ))  # fmt: skip
        log.warning("%s restarted (pid %s)", process.name, process.pid)

    def _ended(self, worker: str, exit_code: int | None, reason: str | None) -> None:
        record = self.records.get(worker)
        if record is not None:
            self._save(worker, replace(record, exit_code=exit_code, reason=reason))

    def _save(self, worker: str, record: WorkerRecord) -> None:
        self.records[worker] = record
        self.save()
