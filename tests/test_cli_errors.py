"""A command that cannot reach a service says so in one line (exit 2), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from lucent_platform.stack.ports import free_port


def test_a_command_against_a_broker_that_is_not_there_says_what_to_check() -> None:
    port = free_port()  # nothing listens there
    env = {**os.environ, "LUCENT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
    done = subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "topics", "list"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "LUCENT_KAFKA_BOOTSTRAP_SERVERS" in errors[0], done.stderr
