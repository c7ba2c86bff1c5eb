"""The request/reply service: ``agents.query.>`` answered from the live market state.

A core NATS subscription in queue group ``lucent-agents``: run more instances and NATS hands
each request to one of them (each follows every partition, so any can answer). A request
without a reply subject is ignored; every other one gets an answer or ``{"error": ...}``.

    reply = await nc.request("agents.query.price.BTC-USDT", b"", timeout=2)
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from lucent_platform.agents.market import LiveMarket
from lucent_platform.agents.queries import PREFIX, answer

log = logging.getLogger(__name__)

QUEUE = "lucent-agents"
SUBJECT = PREFIX + ">"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def serve(
    client: Client,
    market: LiveMarket,
    counts: Counter[str],
    *,
    stale_ms: int,
    clock_ms: Callable[[], int] = wall_ms,
) -> Subscription:
    """Subscribe and answer until the subscription is drained."""

    async def on_request(msg: Msg) -> None:
        if not msg.reply:
            counts["queries_without_reply"] += 1
            return
        reply = answer(market, msg.subject, clock_ms(), stale_ms=stale_ms)
        counts["queries"] += 1
        if reply.startswith(b'{"error"'):
            counts["query_errors"] += 1
        await msg.respond(reply)

    return await client.subscribe(SUBJECT, queue=QUEUE, cb=on_request)
