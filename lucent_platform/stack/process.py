"""A supervised child process: started in its own process group, health-checked, stopped whole.

Each child gets its own session so Ctrl-C in the terminal reaches only the supervisor, which
then stops the children in reverse order (a stop signal to the whole group, SIGKILL after a grace
period) — so nothing a child spawned itself (Dagster's code server, daemon) is left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lucent_platform.stack.errors import StackError

log = logging.getLogger(__name__)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a child its parent has not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True  # no /proc (macOS): the signal check is all there is
    return state not in ("Z", "X")


def _default_signals() -> None:
    """Give the child default SIGINT/SIGTERM handling, whatever its parent inherited.

    A supervisor started in the background by a shell inherits SIGINT as *ignored*, and so
    would every child; Python then never raises KeyboardInterrupt, and `dagster dev` would
    sleep through its stop signal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class ServiceProcess:
    """One child process of the local stack."""

    name: str
    argv: Sequence[str]
    log_path: Path
    ready: Callable[[], bool] = lambda: True
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_timeout: float = 30.0
    stop_timeout: float = 10.0
    stop_signal: signal.Signals = signal.SIGTERM
    popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            try:
                self.popen = subprocess.Popen(
                    list(self.argv),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **self.env},
                    cwd=self.cwd,
                    start_new_session=True,
                    preexec_fn=_default_signals,
                )
            except FileNotFoundError:
                raise StackError(
                    f"{self.name}: cannot run {self.argv[0]!r} (not found) — "
                    "reinstall the environment with `make install`"
                ) from None

    def wait_ready(self) -> None:
        """Block until the health check passes; a child that dies or hangs is an error."""
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise StackError(
                    f"{self.name} exited during startup (code {self.returncode}): "
                    f"{self.last_log_line()} — full log: {self.log_path}"
                )
            if self.ready():
                return
            time.sleep(0.1)
        raise StackError(
            f"{self.name} did not become healthy within {self.ready_timeout:.0f}s — "
            f"see {self.log_path}"
        )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def stop(self) -> None:
        """Signal the process group, then SIGKILL whatever is left after the grace period."""
        if self.popen is None or self.popen.poll() is not None:
            self._reap_group()
            return
        self._signal_group(self.stop_signal)
        try:
            self.popen.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0fs; killing it", self.name, self.stop_timeout)
            self._signal_group(signal.SIGKILL)
            self.popen.wait(timeout=5)
        self._reap_group()

    def _reap_group(self) -> None:
        # Grandchildren that outlived their parent still belong to the group: end them too.
        if self.popen is not None:
            self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def last_log_line(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln]
        except FileNotFoundError:
            return "(no output)"
        return lines[-1].strip() if lines else "(no output)"
