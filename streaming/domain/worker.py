"""``lucent worker domain``: commands from JetStream → domain events → announcements.

A durable pull consumer (``lucent-domain``) over the ``SIGNALS`` stream, explicit acks; more
instances bind to the same consumer and share its messages. For each command:

1. append its event (``YieldOpportunityDetected``, ``ArbitrageOpportunityDetected``,
   ``PriceAlertTriggered``) to the opportunity's (or alert rule's) stream, and size a
   position: ``PositionRecommendationEvent`` on ``portfolio-{name}`` (``handler.py``);
2. announce each event on NATS (``events.announcement_subjects``: trading engine, agents,
   the user) with ``Nats-Msg-Id`` = the event id;
3. ack. Only then: a crash anywhere before it means redelivery, and the handler finds the
   events already recorded (same ids) and announces them again (JetStream drops the repeats).

A command that is not one (undecodable, or a signal that does not fit its type) is
terminated (``term``: never redelivered) and counted ``malformed``; a store failure
(``EventStoreError``, conflicts exhausted) is nak'ed with a delay and tried again.

Every ``rebalance_check_s`` the portfolio is valued at live prices (``market.prices.all``,
followed by ``prices.PriceFollower``, median of the venues' latest quotes): the first time it
is opened at the target weights (``PortfolioOpened``), afterwards a drift over the threshold
appends ``RebalanceTriggered``. Those are announced the same way; if NATS is down the
announcement is retried at the next check (an announcement owed when the process dies is
lost; the event is in the store).

NATS down: fetches and publishes fail, the client reconnects every half second, the loop
backs off; the durable consumer lives on the server (file store), so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout

from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain import commands, events
from lucent_platform.domain.config import DomainConfig, domain_config
from lucent_platform.domain.handling import CommandInvalid
from lucent_platform.domain.prices import PriceBoard
from lucent_platform.eventstore import EventStore, EventStoreError, open_event_store
from lucent_platform.stack.endpoints import Endpoints
from streaming.domain.connection import connect_until_up, provision
from streaming.domain.handler import Appended, ConflictsExhausted, DomainHandler
from streaming.domain.prices import PriceFollower
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

DURABLE = "lucent-domain"
COMMANDS_STREAM = "SIGNALS"


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


class DomainWorker:
    """``metrics.counts``: ``consumed`` (commands fetched), ``acked``, ``malformed``,
    ``retried`` (nak'ed), ``announced``, ``announce_failures``, ``appended.{EventType}``,
    ``already_recorded``, ``version_conflicts``, ``fetch_errors``; ``end_to_end_ms``: the
    command issued by the bridge → acked here (all its events appended and announced);
    ``lag``: commands still pending on the durable consumer after the last fetch. Both are
    on the metrics endpoint (stage = the durable consumer's name)."""

    def __init__(
        self,
        settings: Settings,
        nats_url: str,
        store: EventStore,
        stop: StopSignal,
        *,
        config: DomainConfig | None = None,
        prices: PriceFollower | None = None,
        durable: str = DURABLE,
        batch: int = 100,
        fetch_timeout_s: float = 0.5,
        log_every_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.nats_url = nats_url
        self.stop = stop
        self.config = config or domain_config(settings.domain_config)
        self.prices = prices
        self.durable = durable
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s
        self.log_every_s = log_every_s
        self.metrics = WorkerMetrics()
        self.handler = DomainHandler(store, self.config, clock_ms, self.metrics.counts)
        self.lag: dict[tuple[str, int], int] = {}  # read by the metrics endpoint
        expose("stage", durable, self.metrics)
        expose("lag", durable, self)
        self._owed: list[Appended] = []  # portfolio-check events whose announcement failed

    def run(self) -> WorkerMetrics:
        asyncio.run(self._run())
        return self.metrics

    async def _run(self) -> None:
        client = await connect_until_up(self.settings, self.nats_url, self.stop, name="domain")
        if client is None:
            return
        js = nats_adapter.jetstream(client)
        counts = self.metrics.counts
        try:
            await provision(self.settings, js)
            sub = await nats_adapter.durable_pull(js, COMMANDS_STREAM, self.durable)
            log.info("domain handlers following %s as %s", COMMANDS_STREAM, self.durable)
            next_check = next_log = time.monotonic()
            backoff = 0.1
            while not self.stop.stopped:
                try:
                    messages = await self._fetch(sub)
                except (NatsTimeout, TimeoutError):  # nats-py raises both kinds
                    messages = []
                except NatsError as exc:  # disconnected: the client is reconnecting
                    counts["fetch_errors"] += 1
                    log.warning("fetching commands failed (%s); retrying in %.1fs", exc, backoff)
                    await asyncio.to_thread(self.stop.wait, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.1
                # JetStream's count of what is left after the newest message fetched (none
                # fetched within the timeout: nothing left).
                pending = messages[-1].metadata.num_pending if messages else 0
                self.lag = {(COMMANDS_STREAM, 0): pending}
                for message in messages:
                    await self._handle(js, message)
                now = time.monotonic()
                if now >= next_check:
                    await self._check_portfolio(js)
                    next_check = now + self.config.rebalance_check_s
                if now >= next_log:
                    log.info("domain: %s", self._log_line())
                    next_log = now + self.log_every_s
        finally:
            await client.close()
            log.info("domain handlers stopped: %s", self._log_line())

    async def _handle(self, js: Any, message: Any) -> None:
        counts = self.metrics.counts
        counts["consumed"] += 1
        try:
            command = commands.decode(message.data)
            appended = self.handler.handle(command)
        except (msgspec.DecodeError, msgspec.ValidationError, CommandInvalid) as exc:
            counts["malformed"] += 1
            log.error("dropping a malformed command on %s: %s", message.subject, exc)
            await self._settle(message.term())
            return
        except (EventStoreError, ConflictsExhausted) as exc:
            counts["retried"] += 1
            log.warning("command %s not recorded (%s): redelivered in 1s", command.command_id, exc)
            await self._settle(message.nak(delay=1.0))
            return
        if not await self._announce(js, appended):
            return  # not acked: redelivered after ack_wait, announced again then
        if await self._settle(message.ack()):
            counts["acked"] += 1
            self.metrics.end_to_end_ms.observe(max(clock_ms() - command.issued_at_ms, 0))

    async def _check_portfolio(self, js: Any) -> None:
        if self._owed and await self._announce(js, self._owed):
            self._owed = []
        if self.prices is None:
            return
        assets = list(self.config.target_weights)
        max_age_ms = int(self.config.price_max_age_s * 1000)
        now = clock_ms()
        valuation = self.prices.read(lambda board: board.valuation(assets, now, max_age_ms))
        if valuation is None:
            return
        try:
            appended = self.handler.check_portfolio(valuation)
        except (EventStoreError, ConflictsExhausted) as exc:
            log.warning(
                "portfolio check failed (%s); next check in %.0fs",
                exc,
                self.config.rebalance_check_s,
            )
            return
        if appended and not await self._announce(js, appended):
            self._owed.extend(appended)

    async def _fetch(self, sub: Any) -> list[Any]:
        """The next commands: wait up to ``fetch_timeout_s`` for one, then take what else is
        already there. (One ``fetch(batch, timeout)`` would hold a lone command until the
        timeout, waiting for the batch to fill.)"""
        first = await sub.fetch(1, timeout=self.fetch_timeout_s)
        if self.batch <= 1:
            return list(first)
        try:
            rest = await sub.fetch(self.batch - 1, timeout=0.005)
        except (NatsTimeout, TimeoutError):
            rest = []
        return [*first, *rest]

    async def _announce(self, js: Any, appended: list[Appended]) -> bool:
        """Publish every announcement of ``appended`` concurrently; True once all are
        acknowledged by their streams."""
        publishes = [
            nats_adapter.publish_once(js, subject, event.body(), str(event.id))
            for event in appended
            for subject in events.announcement_subjects(event.type, event.data, self.config.owner)
        ]
        results = await asyncio.gather(*publishes, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        self.metrics.counts["announced"] += len(results) - len(failed)
        if failed:
            self.metrics.counts["announce_failures"] += 1
            log.warning("announcing failed (%s): will be repeated", failed[0])
            return False
        return True

    async def _settle(self, ack: Any) -> bool:
        try:
            await ack
        except (
            NatsError,
            TimeoutError,
        ) as exc:  # the server will redeliver; the handler is idempotent
            log.warning("ack failed (%s): the command will be redelivered", exc)
            return False
        return True

    def _log_line(self) -> str:
        c, e2e = self.metrics.counts, self.metrics.end_to_end_ms
        recommended = c[f"appended.{events.POSITION_RECOMMENDED}"]
        rebalances = c[f"appended.{events.REBALANCE_TRIGGERED}"]
        return (
            f"commands={c['consumed']} acked={c['acked']} malformed={c['malformed']} "
            f"recommendations={recommended} rebalances={rebalances} "
            f"conflicts={c['version_conflicts']} announced={c['announced']} "
            f"e2e_p50={e2e.quantile(0.5):.1f}ms e2e_p99={e2e.quantile(0.99):.1f}ms"
        )


def run(
    settings: Settings,
    nats_url: str,
    store: EventStore,
    stop: StopSignal,
    *,
    bootstrap: str | None = None,
    **options: Any,
) -> WorkerMetrics:
    """The domain handlers as ``lucent worker domain`` runs them, until ``stop``; prices
    followed from ``bootstrap``'s ``market.prices.all`` when given."""
    config = options.pop("config", None) or domain_config(settings.domain_config)
    follower = None
    if bootstrap is not None:
        follower = PriceFollower(settings, bootstrap, PriceBoard(config.stablecoins)).start()
    try:
        return DomainWorker(
            settings, nats_url, store, stop, config=config, prices=follower, **options
        ).run()
    finally:
        if follower is not None:
            follower.stop()


def main(settings: Settings, endpoints: Endpoints) -> None:
    store = open_event_store(endpoints.eventstore)
    try:
        run(
            settings,
            endpoints.nats_url,
            store,
            StopSignal().install(),
            bootstrap=endpoints.kafka_bootstrap_servers,
        )
    finally:
        store.close()
