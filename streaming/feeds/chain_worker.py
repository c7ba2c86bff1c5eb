"""``lucent worker chain``: every chain of ``LUCENT_CHAINS`` into the raw topics.

``lucent up`` starts it when ``LUCENT_CHAINS`` names a chain. Each chain's feed runs on its
own (a failing node never stops the others); every minute, and at the end, the worker logs
each chain's gauges and counts, e.g.
``chain ethereum: head 21000000, processed 20999988, lag 12 blocks; {'logs': 412, …}``.
A node serving another chain stops the worker with that error (a configuration to fix).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from lucent_platform.chains.config import chains_config
from lucent_platform.config import Settings
from lucent_platform.stack.endpoints import Endpoints
from streaming.exposed import expose
from streaming.feeds.chain import ChainFeed, ChainFrameHook, ChainMismatch, EnvelopeSink
from streaming.lifecycle import StopSignal
from streaming.publisher import Publisher

log = logging.getLogger(__name__)
REPORT_SECONDS = 60.0


def feeds_from(
    settings: Settings,
    sink: EnvelopeSink | None,
    on_frame: ChainFrameHook | None = None,
    *,
    checkpoints: bool = False,
) -> list[ChainFeed]:
    """One ``ChainFeed`` per configured chain; with ``checkpoints``, each keeps its position in
    ``DATA_DIR/chains/<chain>.json`` and resumes there after a restart."""
    configs = chains_config(settings.chains)
    folder = settings.data_dir / "chains"
    return [
        ChainFeed(
            c,
            sink=sink,
            on_frame=on_frame,
            checkpoint=folder / f"{name}.json" if checkpoints else None,
        )
        for name, c in configs.items()
    ]


def report(feed: ChainFeed) -> None:
    gauges = feed.gauges
    log.info(
        "chain %s: head %s, processed %s, lag %s blocks; %s",
        feed.chain,
        gauges.get("head", "?"),
        gauges.get("processed_block", "?"),
        gauges.get("block_lag", "?"),
        dict(feed.counts),
    )


async def run_chains(
    feeds: list[ChainFeed], stopped: Callable[[], bool], report_seconds: float = REPORT_SECONDS
) -> None:
    """Every chain side by side, with a report of each every ``report_seconds``."""

    async def reports() -> None:
        last = time.monotonic()
        while not stopped():
            await asyncio.sleep(0.2)
            if time.monotonic() - last >= report_seconds:
                last = time.monotonic()
                for feed in feeds:
                    report(feed)

    await asyncio.gather(reports(), *(feed.run(stopped) for feed in feeds))


def record_chains(
    settings: Settings, chains: list[str], write: ChainFrameHook, stopped: Callable[[], bool]
) -> list[ChainFeed]:
    """``lucent record --chains``: the named chains' node traffic to ``write``, until stopped.

    Every received item (each log, each response with its request) is written; nothing is
    published. Raises ``ValueError`` for a chain ``LUCENT_CHAINS`` does not configure.
    """
    feeds = {feed.chain: feed for feed in feeds_from(settings, sink=None, on_frame=write)}
    if missing := [name for name in chains if name not in feeds]:
        raise ValueError(
            f"chain(s) {missing} not in LUCENT_CHAINS (configured: {sorted(feeds) or 'none'})"
        )
    chosen = [feeds[name] for name in chains]
    asyncio.run(run_chains(chosen, stopped))
    return chosen


def main(settings: Settings, endpoints: Endpoints) -> None:
    stop = StopSignal().install()
    publisher = Publisher(settings, endpoints.kafka_bootstrap_servers)
    feeds = feeds_from(settings, publisher.publish_envelope, checkpoints=True)
    expose("publisher", "chain", publisher)
    for feed in feeds:
        expose("chain", feed.chain, feed)
    log.info("chains %s publishing to %s", [f.chain for f in feeds], publisher.bootstrap_servers)
    try:
        asyncio.run(run_chains(feeds, lambda: stop.stopped))
    except ChainMismatch as exc:
        log.error("%s", exc)
        raise
    finally:
        for feed in feeds:
            report(feed)
        undelivered = publisher.flush()
        log.info("chain feed stopped: %s, %d undelivered", dict(publisher.counts), undelivered)
