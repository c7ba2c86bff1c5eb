"""The embedded local stack: start, health, endpoints, clear errors, clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lucent_platform import topics
from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.simulator.config import (
    DEFAULT_GOVERNORS,
    DEFAULT_LENDING_MARKETS,
    DEFAULT_POOLS,
)
from lucent_platform.stack import StackError
from lucent_platform.stack.endpoints import read_stack_file, resolve
from lucent_platform.stack.local import LocalStack
from lucent_platform.stack.ports import free_port
from lucent_platform.stack.process import alive
from lucent_platform.subjects import STREAMS
from lucent_platform.topics import fixed_topics, instrument_topics


def test_headless_stack_starts_every_data_service_and_stops_clean(settings: Settings) -> None:
    stack = LocalStack(settings, with_dagster=False)
    endpoints = stack.start()
    try:
        names = {
            info.topic
            for info in kafka.describe_topics(settings, endpoints.kafka_bootstrap_servers)
        }
        assert {spec.name for spec in fixed_topics()} <= names
        # the configured instruments' raw topics exist before any worker subscribes
        assert {
            spec.name for spec in instrument_topics(settings.exchanges, settings.pairs)
        } <= names
        # and, for the simulated feed (the default), its pools' yields topics
        assert settings.feed == "simulate"
        assert {topics.yields(pool.protocol, pool.pool) for pool in DEFAULT_POOLS} <= names
        # and its lending markets' liquidations and governors' events
        assert {topics.liquidations(m.protocol) for m in DEFAULT_LENDING_MARKETS} <= names
        assert {topics.governance(g.protocol) for g in DEFAULT_GOVERNORS} <= names
        with urllib.request.urlopen(f"{endpoints.clickhouse_url}/ping", timeout=5) as r:
            assert r.read().strip() == b"Ok."
        host, port = endpoints.nats_url.removeprefix("nats://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            assert conn.recv(4096).startswith(b"INFO ")
        assert _jetstream_streams(settings, endpoints.nats_url) == {sp.name for sp in STREAMS}
        assert Path(endpoints.eventstore).exists()
        # Any other command finds the same services through the stack file.
        assert read_stack_file(settings.data_dir) == endpoints
        assert resolve(settings) == endpoints
        with pytest.raises(StackError, match="already runs"):
            LocalStack(settings, with_dagster=False).start()
        pids = [p.pid for p in stack.processes]
    finally:
        stack.stop()
    assert read_stack_file(settings.data_dir) is None
    for pid in pids:
        assert not alive(pid)


def test_a_busy_port_stops_startup_with_the_setting_to_change(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        settings = Settings(_env_file=None, data_dir=tmp_path, kafka_port=busy)  # type: ignore[call-arg]
        with pytest.raises(StackError, match=f"port {busy} .*LUCENT_KAFKA_PORT"):
            LocalStack(settings, with_dagster=False).start()


def test_an_unreachable_external_service_is_named(tmp_path: Path, kafka_bootstrap: str) -> None:
    nats = f"nats://127.0.0.1:{free_port()}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, kafka_bootstrap_servers=kafka_bootstrap, nats_url=nats
    )
    with pytest.raises(
        StackError, match=f"NATS at {nats} is not reachable — check LUCENT_NATS_URL"
    ):
        LocalStack(settings, with_dagster=False).start()


def test_commands_without_a_stack_say_how_to_start_one(settings: Settings) -> None:
    with pytest.raises(StackError, match="lucent up"):
        resolve(settings)


@pytest.mark.slow
def test_lucent_up_serves_dagster_and_ctrl_c_leaves_no_child(tmp_path: Path) -> None:
    """`make run` as a user runs it: the UI answers with the catalog asset; Ctrl-C cleans up."""
    port = free_port()
    env = {**os.environ, "LUCENT_DATA_DIR": str(tmp_path), "LUCENT_DAGSTER_PORT": str(port)}
    up = subprocess.Popen(
        [sys.executable, "-m", "lucent_platform.cli", "up"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while read_stack_file(tmp_path) is None:
            assert up.poll() is None, up.stdout.read().decode() if up.stdout else ""
            assert time.monotonic() < deadline, "lucent up did not come up in time"
            time.sleep(0.5)
        query = {"query": "{ assetNodes { assetKey { path } } }"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps(query).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            nodes = json.load(response)["data"]["assetNodes"]
        assert ["kafka_topics"] in [node["assetKey"]["path"] for node in nodes]
        descendants = _descendants(up.pid)
        assert len(descendants) >= 5  # broker, nats, clickhouse, dagster (+ its children)
    finally:
        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode()
    assert up.returncode == 0, output
    assert "stopped" in output
    time.sleep(0.5)
    assert [pid for pid in descendants if alive(pid)] == []


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_a_missing_binary_says_how_to_fix_it(tmp_path: Path) -> None:
    from lucent_platform.stack import services
    from lucent_platform.stack.process import ServiceProcess

    with pytest.raises(StackError, match="make install"):
        services._venv_binary("no-such-server", "from a wheel")
    process = ServiceProcess("ghost", ["/nonexistent/ghost-server"], tmp_path / "ghost.log")
    with pytest.raises(StackError, match=r"ghost.*not found.*make install"):
        process.start()


def test_a_child_that_dies_during_startup_shows_its_last_words(tmp_path: Path) -> None:
    from lucent_platform.stack.process import ServiceProcess

    process = ServiceProcess(
        "flaky",
        [sys.executable, "-c", "import sys; print('cannot open data dir'); sys.exit(3)"],
        tmp_path / "flaky.log",
        ready=lambda: False,
    )
    process.start()
    with pytest.raises(StackError, match="flaky exited during startup \\(code 3\\): cannot open"):
        process.wait_ready()


def _jetstream_streams(settings: Settings, url: str) -> set[str]:
    async def names() -> set[str]:
        client = await nats_adapter.connect(settings, url)
        try:
            return {info.config.name or "" for info in await client.jetstream().streams_info()}
        finally:
            await client.close()

    return asyncio.run(names())


@pytest.mark.slow
def test_a_code_location_that_fails_to_load_names_its_root_cause(tmp_path: Path) -> None:
    """Not Dagster's "Error occurred during the loading of Dagster definitions": the cause."""
    from lucent_platform.stack.process import ServiceProcess
    from lucent_platform.stack.services import code_location_loaded

    (tmp_path / "broken_location.py").write_text(
        "import dagster as dg\n\n"
        "def pairs() -> list[str]:\n"
        "    raise ValueError(\"LUCENT_PAIRS: 'BTCUSDT' is not BASE-QUOTE\")\n\n"
        "defs = dg.Definitions(assets=[dg.AssetSpec(p) for p in pairs()])\n"
    )
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: broken_location\n"
        "      working_directory: .\n      location_name: broken\n"
    )
    (tmp_path / "home").mkdir()
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp_path / "webserver.log"
    argv = [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml"]
    process = ServiceProcess(
        "dagster-webserver",
        [*argv, "-h", "127.0.0.1", "-p", url.rsplit(":", 1)[1]],
        log,
        ready=lambda: code_location_loaded(url, log),
        env={"DAGSTER_HOME": str(tmp_path / "home")},
        cwd=tmp_path,
        ready_timeout=180,
    )
    process.start()
    try:
        with pytest.raises(StackError) as failed:
            process.wait_ready()
    finally:
        process.stop()
    message = str(failed.value)
    assert message.startswith("the Dagster code location 'broken' failed to load:\n"), message
    assert "ValueError: LUCENT_PAIRS: 'BTCUSDT' is not BASE-QUOTE" in message
    assert "Error occurred during the loading" not in message
    assert message.endswith(f"(full traceback in {log})")
