"""The chain feed over a node's websocket: ``eth_subscribe`` ``newHeads`` and ``logs``.

With ``ws_url`` set, a chain's logs arrive as the node sees them mined (no confirmations: a
reorg reaches us as the node's own ``removed: true`` logs, which pass through the connector
as retractions). A subscription notification, as a node sends it::

    {"jsonrpc": "2.0", "method": "eth_subscription",
     "params": {"subscription": "0x9cef…", "result": {"address": "0xb4e1…c9dc", "topics": [...],
                "blockNumber": "0xa81c7a", "logIndex": "0x38", "removed": false, …}}}

Each (re)connect subscribes first, then reads the blocks missed since the last one over HTTP
(``eth_getLogs`` to the head), so nothing falls between two connections; logs the
subscription repeats from those blocks are skipped. A node that refuses a subscription is
polled over HTTP instead. HTTP still serves the headers (a log whose block time is not known
yet fetches its header first), the polled ``eth_call``s and the pool metadata. No head for
``stale_seconds`` counts as ``stale`` and reconnects.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from streaming.feeds.jsonrpc import JsonRpcClient

if TYPE_CHECKING:
    from streaming.feeds.chain import ChainFeed

log = logging.getLogger(__name__)
REFUSED = "subscriptions refused"
"""What ``follow_subscriptions`` returns when the node refuses a subscription: the feed then
polls over HTTP on this connection."""


async def follow_subscriptions(
    feed: ChainFeed,
    session: aiohttp.ClientSession,
    rpc: JsonRpcClient,
    stopped: Callable[[], bool],
) -> str:
    """Subscribe, catch up over HTTP, then follow the notifications; why the connection ended."""
    url = feed.config.ws_url
    assert url is not None  # only called with a websocket configured
    async with session.ws_connect(url, heartbeat=30) as ws:
        query: dict[str, Any] = {"topics": [feed.config.topics]}
        if addresses := feed.config.log_addresses:
            query["address"] = addresses
        await ws.send_json(
            {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
        )
        await ws.send_json(
            {"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["logs", query]}
        )
        feed.counts["subscriptions"] += 1
        head = await feed.read_head(rpc)
        await feed.catch_up(rpc, head, stopped, confirmations=0)
        caught_up = feed.next_block if feed.next_block is not None else head + 1
        head_at = time.monotonic()
        while not stopped():
            try:
                message = await ws.receive(timeout=0.2)
            except TimeoutError:
                if time.monotonic() - head_at > feed.config.stale_seconds:
                    feed.counts["stale"] += 1
                    return f"stale websocket: no new head for {feed.config.stale_seconds:g}s"
                continue
            if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return "websocket closed by the node"
            if message.type == aiohttp.WSMsgType.ERROR:
                return f"websocket error: {ws.exception()}"
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                note = json.loads(message.data)
            except json.JSONDecodeError:
                feed.counts["rejected"] += 1
                continue
            if isinstance(note, dict) and note.get("id") in (1, 2) and note.get("error"):
                feed.counts["subscriptions_refused"] += 1
                kind = "newHeads" if note["id"] == 1 else "logs"
                log.error("chain %s: the node refused eth_subscribe %s (%s); polling over HTTP",
                          feed.chain, kind, note["error"])  # fmt: skip
                return REFUSED
            params = note.get("params") if isinstance(note, dict) else None
            if not isinstance(params, dict) or note.get("method") != "eth_subscription":
                continue  # a subscription's acknowledgement
            result = params.get("result")
            if isinstance(result, dict) and "topics" in result:
                await _log(feed, rpc, result, caught_up)
            elif isinstance(result, dict) and "number" in result:
                head_at = time.monotonic()
                await _head(feed, rpc, note, result)
            else:
                feed.receive(note)  # counted as rejected by the connector, with its reason
        return "stopped"


async def _head(feed: ChainFeed, rpc: JsonRpcClient, note: Any, header: dict[str, Any]) -> None:
    feed.receive(note)  # the connector learns the block's time and the head
    number = int(header["number"], 16)
    feed.gauges["head"] = max(number, feed.gauges.get("head", number))
    feed.gauges["processed_block"] = max(number, feed.gauges.get("processed_block", number))
    # Not number + 1: the head's own logs may still be on their way, so a reconnect (or a
    # restart from the checkpoint) reads this block again over HTTP — the same message ids at
    # worst, never a loss.
    feed.next_block = max(feed.next_block or 0, number)
    feed.update_lag()
    feed.save_checkpoint()
    await feed.poll_calls(rpc)


async def _log(feed: ChainFeed, rpc: JsonRpcClient, obj: dict[str, Any], caught_up: int) -> None:
    number = int(str(obj.get("blockNumber", "0x0")), 16)
    if not obj.get("removed") and number < caught_up:
        feed.counts["repeated_logs"] += 1  # already read over HTTP while catching up
        return
    if feed.connector.block_time_ms(number) is None:
        await feed.read_headers(rpc, [number])
    if obj.get("removed"):
        feed.counts["retracted_logs"] += 1
    await feed.receive_log(rpc, obj)
