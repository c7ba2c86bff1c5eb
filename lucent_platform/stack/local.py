"""``lucent up``: start, health-check and supervise the whole platform on this machine.

Order matters: data services first (Kafka, NATS, ClickHouse, the event store), then topic
provisioning, then Dagster and the streaming workers, which all need the data services.
A service whose address is set in the settings is used as it is (after a reachability
check) instead of starting the embedded one. Stop is the reverse order.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from lucent_platform.config import Settings
from lucent_platform.redaction import redact_urls
from lucent_platform.stack import services
from lucent_platform.stack.endpoints import STACK_FILE, Endpoints, read_stack_file
from lucent_platform.stack.errors import StackError
from lucent_platform.stack.ports import LOOPBACK, claim_port, is_listening, metrics_ports
from lucent_platform.stack.process import ServiceProcess
from lucent_platform.stack.supervise import WorkerSupervisor, restart_policy
from lucent_platform.stack.worker_records import WORKERS_FILE, WorkerRecord, write_records

log = logging.getLogger("lucent.stack")

WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"


class LocalStack:
    """The set of child processes behind one ``lucent up``."""

    def __init__(
        self,
        settings: Settings,
        *,
        with_dagster: bool = True,
        workers: Sequence[str] = (),
        worker_env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.with_dagster = with_dagster
        self.workers = list(workers)
        self.worker_env = worker_env or {}
        self.processes: list[ServiceProcess] = []
        self.endpoints: Endpoints | None = None
        self._stopping = threading.Event()
        self._owns_stack_file = False
        self.worker_records: dict[str, WorkerRecord] = {}
        self._supervisor = WorkerSupervisor(
            restart_policy(settings), self.worker_records, self._save_records
        )

    @property
    def logs(self) -> Path:
        return self.settings.data_dir / "logs"

    def start(self) -> Endpoints:
        """Bring everything up; on any failure stop what started and raise ``StackError``."""
        data_dir = self.settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        if read_stack_file(data_dir) is not None:
            raise StackError(
                f"another `lucent up` already runs on {data_dir} (see {data_dir / STACK_FILE}) "
                "— stop it first, or use another LUCENT_DATA_DIR"
            )
        try:
            self.endpoints = self._start_data_services()
            self._provision_topics(self.endpoints)
            self._provision_streams(self.endpoints)
            self._start_control_and_workers(self.endpoints)
        except BaseException:
            self.stop()
            raise
        self.worker_records.update(
            (p.name.removeprefix("worker "), _record(p))
            for p in self.processes
            if p.name.startswith("worker ") and p.pid is not None
        )  # in place: the supervisor holds this dict
        write_records(data_dir, self.worker_records)
        self.endpoints.write(data_dir)
        self._owns_stack_file = True
        return self.endpoints

    def _launch(self, process: ServiceProcess) -> ServiceProcess:
        log.info("starting %s", process.name)
        self.processes.append(process)
        process.start()
        process.wait_ready()
        log.info("%s is up (pid %s)", process.name, process.pid)
        return process

    def _start_data_services(self) -> Endpoints:
        s = self.settings
        # Claim every configured port before starting anything, so a busy port fails fast.
        ports = {
            "kafka": None
            if s.kafka_bootstrap_servers
            else claim_port(s.kafka_port, what="Kafka", setting="LUCENT_KAFKA_PORT"),
            "nats": None
            if s.nats_url
            else claim_port(s.nats_port, what="NATS", setting="LUCENT_NATS_PORT"),
            "clickhouse": None
            if s.clickhouse_url
            else claim_port(s.clickhouse_port, what="ClickHouse", setting="LUCENT_CLICKHOUSE_PORT"),
        }
        if self.with_dagster:
            claim_port(
                s.dagster_port, what="the Dagster UI", setting="LUCENT_DAGSTER_PORT",
                host=s.dagster_host,
            )  # fmt: skip

        if ports["kafka"] is not None:
            self._launch(services.kafka_broker(ports["kafka"], self.logs))
            kafka = f"{LOOPBACK}:{ports['kafka']}"
        else:
            kafka = str(s.kafka_bootstrap_servers)
        from lucent_platform.adapters.kafka import KafkaUnavailable, check_reachable

        try:
            check_reachable(s, kafka)
        except KafkaUnavailable as exc:
            raise StackError(str(exc)) from None

        if ports["nats"] is not None:
            self._launch(services.nats_server(ports["nats"], s.data_dir / "nats", self.logs))
            nats = f"nats://{LOOPBACK}:{ports['nats']}"
        else:
            nats = str(s.nats_url)
            _check_tcp(nats, "NATS", "LUCENT_NATS_URL")

        if ports["clickhouse"] is not None:
            self._launch(
                services.clickhouse_server(
                    ports["clickhouse"], s.resolved_clickhouse_data_dir, self.logs
                )
            )
            clickhouse = f"http://{LOOPBACK}:{ports['clickhouse']}"
        else:
            clickhouse = str(s.clickhouse_url)
            _check_tcp(clickhouse, "ClickHouse", "LUCENT_CLICKHOUSE_URL")

        if s.eventstore_uri:
            eventstore = s.eventstore_uri
            _check_tcp(eventstore, "the event store", "LUCENT_EVENTSTORE_URI")
        else:
            from lucent_platform.eventstore import open_event_store

            path = s.resolved_eventstore_path
            path.parent.mkdir(parents=True, exist_ok=True)
            store = open_event_store(str(path))
            store.get_current_version("lucent-health")  # creates the schema, proves it opens
            store.close()
            eventstore = str(path.resolve())  # children may run in another directory
        return Endpoints(kafka, nats, clickhouse, eventstore)

    def _provision_topics(self, endpoints: Endpoints) -> None:
        from lucent_platform.adapters import kafka
        from lucent_platform.simulator.config import (
            DEFAULT_GOVERNORS,
            DEFAULT_LENDING_MARKETS,
            DEFAULT_POOLS,
        )
        from lucent_platform.topics import (
            RAW_PARTITIONS,
            TopicSpec,
            fixed_topics,
            governance,
            instrument_topics,
            liquidations,
            pool_topics,
        )

        # The configured instruments' raw topics too (and the simulator's pools): a regex
        # subscriber (the processor) then gets them in its first assignment instead of one
        # rebalance per new topic — a pool topic created by its first rate was seen only at
        # the next metadata refresh, and an APY spike 3.4 s late.
        specs = fixed_topics() + instrument_topics(self.settings.exchanges, self.settings.pairs)
        if self.settings.feed == "simulate":
            specs += pool_topics([(pool.protocol, pool.pool) for pool in DEFAULT_POOLS])
            # and its lending markets' liquidations and governors' events, for the same reason
            specs += tuple(
                TopicSpec(liquidations(m.protocol), RAW_PARTITIONS, key="protocol",
                          description="raw liquidations")
                for m in DEFAULT_LENDING_MARKETS
            ) + tuple(
                TopicSpec(governance(g.protocol), RAW_PARTITIONS, key="protocol",
                          description="raw governance events")
                for g in DEFAULT_GOVERNORS
            )  # fmt: skip
        results = kafka.provision(
            kafka.admin(self.settings, endpoints.kafka_bootstrap_servers),
            specs,
            replication_factor=self.settings.replication_factor,
            min_insync_replicas=self.settings.min_insync_replicas,
        )
        failed = [r for r in results if r.status.startswith("failed")]
        if failed:
            raise StackError(f"topic provisioning failed: {failed[0].topic}: {failed[0].status}")
        log.info("topics ready (%d in the catalog)", len(results))

    def _provision_streams(self, endpoints: Endpoints) -> None:
        """The JetStream streams of the subject catalog (the bridge's commands, the domain
        events' announcements), before any worker publishes to them."""
        import asyncio

        from lucent_platform.adapters import nats as nats_adapter
        from lucent_platform.subjects import STREAMS

        async def provision() -> list[nats_adapter.StreamResult]:
            client = await nats_adapter.connect(self.settings, endpoints.nats_url)
            try:
                js = nats_adapter.jetstream(client)
                return await nats_adapter.provision_streams(
                    js, STREAMS, replicas=self.settings.nats_replicas
                )
            finally:
                await client.close()

        results = asyncio.run(provision())
        failed = [r for r in results if r.status.startswith("failed")]
        if failed:
            raise StackError(f"stream provisioning failed: {failed[0].stream}: {failed[0].status}")
        log.info("JetStream streams ready (%d in the catalog)", len(results))

    def _start_control_and_workers(self, endpoints: Endpoints) -> None:
        env = {**endpoints.as_env(), "LUCENT_DATA_DIR": str(self.settings.data_dir.resolve())}
        if self.with_dagster:
            s = self.settings
            self._launch(
                services.dagster(
                    s.dagster_host, s.dagster_port, s.data_dir / "dagster", WORKSPACE, env,
                    self.logs,
                )
            )  # fmt: skip
            self.endpoints = endpoints = Endpoints(
                **{**endpoints.__dict__, "dagster_url": f"http://{s.dagster_host}:{s.dagster_port}"}
            )
        # Each worker serves its metrics on a port of its own (``workers.json`` records it).
        host = self.settings.metrics_host
        ports = metrics_ports(self.settings.metrics_port, self.workers, host)
        for name in self.workers:
            metrics = {"LUCENT_METRICS_HOST": host, "LUCENT_METRICS_PORT": str(ports[name])}
            env_of = {**env, **metrics, **self.worker_env}
            self._launch(services.worker(name, env_of, self.logs))

    def supervise(self, seconds: float | None = None) -> int:
        """Wait for Ctrl-C/SIGTERM (or ``seconds``), restarting crashed workers as
        ``LUCENT_RESTART_*`` says (``supervise.WorkerSupervisor``). Returns the exit code: 1
        when a child ended and stays down."""

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            self._stopping.set()

        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        deadline = None if seconds is None else time.monotonic() + seconds
        code = 0
        try:
            while not self._stopping.wait(0.5):
                if self._supervisor.tick(self.processes, time.monotonic()):
                    code = 1
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _save_records(self) -> None:
        """``workers.json`` as the supervisor last changed it: ``lucent status`` tells running,
        restarted, crashed and stopped workers apart by it."""
        if self._owns_stack_file:
            write_records(self.settings.data_dir, self.worker_records)

    def stop_workers(self) -> None:
        """Stop the streaming workers only (they flush and commit), leaving the services up."""
        for process in reversed(self.processes):
            if process.name.startswith("worker "):
                log.info("stopping %s", process.name)
                process.stop()

    def stop(self) -> None:
        """Stop every child, last started first, and forget the stack file."""
        for process in reversed(self.processes):
            log.info("stopping %s", process.name)
            process.stop()
        self.processes.clear()
        if self._owns_stack_file:
            (self.settings.data_dir / STACK_FILE).unlink(missing_ok=True)
            (self.settings.data_dir / WORKERS_FILE).unlink(missing_ok=True)
            self._owns_stack_file = False


def _record(process: ServiceProcess) -> WorkerRecord:
    port = process.env.get("LUCENT_METRICS_PORT")
    return WorkerRecord(
        pid=process.pid or 0,
        log=str(process.log_path),
        started_at_ms=int(time.time() * 1000),
        metrics_port=int(port) if port and port.isdigit() else None,
    )


def _check_tcp(url: str, what: str, setting: str) -> None:
    """A quick reachability check of an external service given by URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    host = parts.hostname or LOOPBACK
    default = {"https": 443, "http": 8123, "nats": 4222, "tls": 4222, "esdb": 2113}
    port = parts.port or default.get(parts.scheme, 0)
    if not is_listening(host, port, timeout=3.0):
        raise StackError(f"{what} at {redact_urls(url)} is not reachable — check {setting}")
