"""``lucent up``'s supervisor: the back-off and give-up rules, then real child processes that
crash (restarted, then left down with the reason) or are stopped on purpose (never restarted).
The whole stack with a SIGKILLed worker coming back is in tests/test_status.py."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lucent_platform.config import Settings
from lucent_platform.stack.process import ServiceProcess
from lucent_platform.stack.supervise import (
    CrashHistory,
    RestartPolicy,
    WorkerSupervisor,
    restart_policy,
    stopped_on_purpose,
)
from lucent_platform.stack.worker_records import WorkerRecord, read_records, write_records


def test_back_off_doubles_from_one_second_up_to_the_cap() -> None:
    policy = RestartPolicy()
    assert [policy.delay_s(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_the_kth_crash_within_the_window_is_not_restarted() -> None:
    history = CrashHistory(RestartPolicy(max_crashes=3, window_s=100))
    first, second = history.crashed("sink", -9, 0.0), history.crashed("sink", -9, 10.0)
    assert (first.delay_s, second.delay_s) == (1, 2)
    third = history.crashed("sink", 1, 20.0)
    assert third.delay_s is None and "3 crash(es) within 100 s" in third.reason
    assert "LUCENT_RESTART_MAX_CRASHES=3" in third.reason
    # other workers have their own history; crashes older than the window are forgotten
    assert history.crashed("feed", -9, 20.0).delay_s == 1
    later = CrashHistory(RestartPolicy(max_crashes=3, window_s=100))
    for at in (0.0, 10.0, 150.0):
        decision = later.crashed("sink", -9, at)
    assert (decision.crashes, decision.delay_s) == (1, 1)


def test_max_crashes_zero_never_restarts() -> None:
    assert CrashHistory(RestartPolicy(max_crashes=0)).crashed("x", -9, 0).delay_s is None


def test_a_stop_on_purpose_is_told_from_a_crash() -> None:
    assert all(stopped_on_purpose(code) for code in (0, -15, -2, 130, 143))
    assert not any(stopped_on_purpose(code) for code in (-9, 1, -11, 137, None))


def test_the_policy_comes_from_the_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, restart_first_delay_s=0.5, restart_max_delay_s=10,
        restart_max_crashes=2, restart_window_s=30,
    )  # fmt: skip
    assert restart_policy(settings) == RestartPolicy(0.5, 10, 2, 30)
    with pytest.raises(ValueError, match="restart_max_crashes"):
        Settings(_env_file=None, restart_max_crashes=-1)  # type: ignore[call-arg]


def _child(name: str, code: str, tmp_path: Path) -> ServiceProcess:
    process = ServiceProcess(
        name=f"worker {name}",
        argv=[sys.executable, "-c", code],
        log_path=tmp_path / f"{name}.log",
    )
    process.start()
    return process


def _supervise(
    supervisor: WorkerSupervisor, processes: list[ServiceProcess], until: Callable[[], bool]
) -> bool:
    """Tick like ``lucent up`` until ``until`` holds (60 s at most); True if one stays down."""
    down = False
    deadline = time.monotonic() + 60
    while not until():
        assert time.monotonic() < deadline, supervisor.records
        down = supervisor.tick(processes, time.monotonic()) or down
        time.sleep(0.05)
    return down


def test_a_crashing_worker_is_restarted_then_left_down_and_a_stopped_one_stays_stopped(
    tmp_path: Path,
) -> None:
    crashing = _child(
        "crashing", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)", tmp_path
    )
    stopped = _child("stopped", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)", tmp_path)
    clean = _child("clean", "pass", tmp_path)
    processes = [crashing, stopped, clean]
    records = {
        p.name.removeprefix("worker "): WorkerRecord(p.pid or 0, str(p.log_path), 0)
        for p in processes
    }
    supervisor = WorkerSupervisor(
        RestartPolicy(first_delay_s=0.1, max_delay_s=0.3, max_crashes=4, window_s=60),
        records,
        lambda: write_records(tmp_path, records),
    )
    # crash 1 → 0.1 s, 2 → 0.2 s, 3 → 0.3 s (the cap), crash 4: left down
    ended = lambda: all(records[n].exit_code is not None for n in ("stopped", "clean"))  # noqa: E731
    given_up = lambda: "not restarted" in (records["crashing"].reason or "")  # noqa: E731
    assert _supervise(supervisor, processes, lambda: ended() and given_up())
    saved = read_records(tmp_path)
    assert saved["crashing"].restarts == 3
    assert saved["crashing"].exit_code == -9
    assert "4 crash(es) within 60 s" in (saved["crashing"].reason or "")
    assert (saved["stopped"].restarts, saved["stopped"].exit_code) == (0, -15)
    assert (saved["clean"].restarts, saved["clean"].exit_code) == (0, 0)
    assert saved["stopped"].reason is None
    assert saved["crashing"].pid == crashing.pid  # the last process started
