"""``lucent worker feed``: the configured feed (``LUCENT_FEED``) publishing to Kafka."""

from __future__ import annotations

import logging
from pathlib import Path

from lucent_platform.config import Settings
from lucent_platform.recordings import read_recordings
from lucent_platform.stack.endpoints import Endpoints
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.publisher import Publisher

log = logging.getLogger(__name__)


def main(settings: Settings, endpoints: Endpoints) -> None:
    stop = StopSignal().install()
    publisher = Publisher(settings, endpoints.kafka_bootstrap_servers)
    expose("publisher", "feed", publisher)
    feed = settings.feed
    log.info("feed %s publishing to %s", feed, endpoints.kafka_bootstrap_servers)
    try:
        if feed == "simulate":
            from streaming.feeds import simulate

            simulate.run(settings, publisher, stop)
        elif feed.startswith("replay:"):
            from streaming.feeds.replay import Replayer

            path = Path(feed.removeprefix("replay:"))
            stats = Replayer(publisher.publish_envelope, speed=settings.replay_speed).run(
                read_recordings(path), stop=lambda: stop.stopped
            )
            log.info("replay of %s done: %s; idle until stopped", path, stats)
            stop.event.wait()  # stay up like any worker, so the supervisor sees no crash
        elif feed == "live":
            from streaming.feeds import live

            live.run(settings, publisher, stop)
    finally:
        undelivered = publisher.flush()
        log.info("feed stopped: %s, %d undelivered", dict(publisher.counts), undelivered)
