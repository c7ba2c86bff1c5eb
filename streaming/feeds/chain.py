"""The chain feed: one node per chain over JSON-RPC, every received item through the connector.

Per chain (``LUCENT_CHAINS``), supervised like the exchanges' ``VenueFeed``:

- at (re)connect, ``eth_chainId`` must be the configured chain's id, else the feed stops with
  ``ChainMismatch`` (a wrong URL is a configuration error, not something to retry);
- every ``poll_seconds``: ``eth_blockNumber``; ``eth_getLogs`` over ``[last + 1, head −
  confirmations]`` in ranges of ``max_block_range`` blocks (halved while the node answers "too
  many results"), filtered by the sources' topic0 values and the contracts; the headers
  (``eth_getBlockByNumber``, one batch) of the range's first and last blocks and of every
  block with logs, for their times and hashes; then, once per new confirmed block, ``eth_call``
  Chainlink ``latestRoundData()`` of the registry's feeds and Compound v3 rates
  (``getUtilization`` → ``getSupplyRate``/``getBorrowRate``) at that block;
- a log whose pool the connector does not know (``unknown_pools``) waits for the pool's
  metadata calls (``token0``/``token1``/``factory``, then each token's ``decimals``/``symbol``)
  and is parsed again, so it leaves priced;
- reorgs: the hashes and logs of the last ``reorg_depth`` processed blocks are kept
  (``chains.reorgs.BlockWindow``); a remembered block whose hash changed (or a new block whose
  parent is not the remembered one) makes the logs of the orphaned blocks go through the
  connector again with ``removed: true`` (retractions: same message ids, ``retracted`` flag),
  and the feed re-reads from the fork point;
- errors back off (``live.Backoff``) and reconnect, keeping the position (per block, and the
  logs already sent of an interrupted block): nothing is lost and nothing is sent twice; a
  head that has not moved for ``stale_seconds`` counts as ``stale`` and reconnects; with a
  ``checkpoint`` file the position also survives a restart;
- ``counts`` (events) and ``gauges`` (``head``, ``processed_block``, ``block_lag`` = node
  head − last processed block) are the feed's figures, in one place (``figures()``) for logs
  and metrics.

With ``ws_url``, ``chain_ws.follow_subscriptions`` takes over the logs and heads.

Every received item — each log, each response with its request — goes to ``on_frame`` (the
recorder) and through ``ChainConnector.parse``: one path for live, replay and tests.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from lucent_platform.chains import connector as calls
from lucent_platform.chains.config import ChainConfig
from lucent_platform.chains.connector import ChainConnector, ChainFrame, ChainParseResult
from lucent_platform.chains.registry import token_at
from lucent_platform.chains.reorgs import Block, BlockWindow
from lucent_platform.envelope import Envelope
from lucent_platform.redaction import redact_urls
from streaming.feeds.jsonrpc import JsonRpcClient, Request, RpcError
from streaming.feeds.live import Backoff, _sleep_unless

log = logging.getLogger(__name__)

ChainFrameHook = Callable[[ChainFrame], None]
EnvelopeSink = Callable[[Envelope[Any]], None]


class ChainMismatch(RuntimeError):
    """The node serves another chain than the one configured: a configuration error."""


@dataclass
class ChainFeed:
    """One chain's node, polled; position, block window and connector survive reconnects."""

    config: ChainConfig
    sink: EnvelopeSink | None = None
    on_frame: ChainFrameHook | None = None
    backoff: Backoff = field(default_factory=Backoff)
    counts: Counter[str] = field(default_factory=Counter)
    gauges: dict[str, int] = field(default_factory=dict)
    next_block: int | None = None
    checkpoint: Path | None = None  # where the position survives a restart (the worker's)

    def __post_init__(self) -> None:
        self.chain = self.config.name
        self.connector = ChainConnector(self.chain)
        self.window = BlockWindow(self.config.reorg_depth)
        self.block_range = self.config.max_block_range
        self._calls_at: int | None = None  # the confirmed block the eth_calls last ran at
        self._emitted: set[tuple[str, int]] = set()  # (block hash, log index) of a partial block
        self._metadata_due: set[str] = set()  # pools whose metadata calls failed in transport
        self._saved_at = 0.0

    # --- supervision -----------------------------------------------------------------------
    async def run(self, stopped: Callable[[], bool]) -> None:
        """Poll until ``stopped()``; reconnect with back-off on errors. ``ChainMismatch``
        propagates: retrying a node of another chain would never succeed."""
        self._restore()
        try:
            await self._supervise(stopped)
        finally:
            self.save_checkpoint(force=True)

    async def _supervise(self, stopped: Callable[[], bool]) -> None:
        while not stopped():
            try:
                reason = await self._connect_once(stopped)
            except ChainMismatch:
                raise
            except Exception as exc:  # a node's failure is logged and retried, never fatal
                reason = f"{type(exc).__name__}: {exc}"
            if stopped():
                break
            self.counts["reconnects"] += 1
            delay = self.backoff.next_delay()
            reason = redact_urls(reason)  # an aiohttp error names the URL, API key included
            log.warning("chain %s: %s; reconnecting in %.1fs", self.chain, reason, delay)
            await _sleep_unless(stopped, delay)

    async def _connect_once(self, stopped: Callable[[], bool]) -> str:
        timeout = aiohttp.ClientTimeout(total=self.config.request_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            rpc = JsonRpcClient(session, self.config.rpc_url)
            await self._check_chain(rpc)
            self.counts["connections"] += 1
            if self.config.ws_url is not None:
                from streaming.feeds.chain_ws import REFUSED, follow_subscriptions

                ended = await follow_subscriptions(self, session, rpc, stopped)
                if ended != REFUSED:
                    return ended
            head_seen, head_at = -1, time.monotonic()
            while not stopped():
                head = await self.read_head(rpc)
                if head != head_seen:
                    head_seen, head_at = head, time.monotonic()
                elif time.monotonic() - head_at > self.config.stale_seconds:
                    self.counts["stale"] += 1
                    return f"stale node: head {head} unchanged for {self.config.stale_seconds:g}s"
                await self.catch_up(rpc, head, stopped)
                await self.poll_calls(rpc)
                self.backoff.reset()
                await _sleep_unless(stopped, self.config.poll_seconds)
            return "stopped"

    async def _check_chain(self, rpc: JsonRpcClient) -> None:
        request, response = await rpc.call("eth_chainId", [])
        self.receive(response, request)  # recorded: a recording says which node it came from
        got = int(str(response.get("result")), 16)
        if got != self.config.chain_id:
            raise ChainMismatch(
                f"chain {self.chain}: the node at {redact_urls(self.config.rpc_url)} serves "
                f"chain id {got}, "
                f"not {self.config.chain_id} ({self.chain}); fix rpc_url in LUCENT_CHAINS"
            )

    # --- position across restarts --------------------------------------------------------------
    def _restore(self) -> None:
        """Resume from the checkpoint when there is one (``start_block`` is for a first start)."""
        if self.checkpoint is None or not self.checkpoint.exists():
            return
        try:
            saved = json.loads(self.checkpoint.read_text())
            next_block = int(saved["next_block"])
            self.window.restore(saved.get("blocks", []))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"chain {self.chain}: unreadable checkpoint {self.checkpoint} ({exc}); delete it "
                "to start from start_block or the head"
            ) from None
        self.next_block = next_block
        self.gauges["processed_block"] = next_block - 1
        log.info("chain %s: resuming at block %d (%s)", self.chain, next_block, self.checkpoint)

    def save_checkpoint(self, *, force: bool = False) -> None:
        """Write the position (and the remembered hashes) at most once a second, atomically."""
        if self.checkpoint is None or self.next_block is None:
            return
        if not force and time.monotonic() - self._saved_at < 1.0:
            return
        saved = {
            "chain": self.chain,
            "next_block": self.next_block,
            "blocks": self.window.snapshot(),
        }
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        partial = self.checkpoint.with_name(self.checkpoint.name + ".partial")
        partial.write_text(json.dumps(saved))
        os.replace(partial, self.checkpoint)
        self._saved_at = time.monotonic()

    def figures(self) -> dict[str, int]:
        """Every figure of the feed in one flat mapping (counts and gauges), for reports and a
        metrics exporter: ``{"logs": 412, "reorgs": 1, "head": …, "block_lag": 12, …}``."""
        return {**self.counts, **self.gauges}

    # --- items -------------------------------------------------------------------------------
    def receive(self, message: Any, request: Request | None = None) -> ChainParseResult:
        """One received item: recorded, parsed, its envelopes sent; the parse result."""
        frame = ChainFrame(self.chain, time.time_ns(), message, request)
        result = self.connector.parse(frame)
        self._emit(frame, result)
        return result

    def _emit(self, frame: ChainFrame, result: ChainParseResult) -> None:
        if self.on_frame is not None:
            self.on_frame(frame)
        self.counts["items"] += 1
        if result.rejected:
            self.counts["rejected"] += 1
            # debug, as the exchange feed does: a call that reverts would log every block;
            # the count is in the worker's minute report
            log.debug("chain %s: rejected item: %s", self.chain, result.rejected)
        for envelope in result.envelopes:
            self.counts["envelopes"] += 1
            if self.sink is not None:
                self.sink(envelope)

    async def receive_log(self, rpc: JsonRpcClient, obj: dict[str, Any]) -> None:
        """A log; one of an unknown pool waits for the pool's metadata and is parsed again.

        Only the final parse is recorded, after the metadata answers and with its own receive
        time, so a replay of the recording meets the answers first and prices the log too."""
        frame = ChainFrame(self.chain, time.time_ns(), obj)
        result = self.connector.parse(frame)
        pools = list(result.unknown_pools)
        address = str(obj.get("address", "")).lower()
        if address in self._metadata_due and self.connector.pool(self.chain, address) is None:
            pools.append(address)  # its metadata calls failed last time: ask again
        if pools:
            pools = list(dict.fromkeys(pools))
            self._metadata_due.update(pools)
            await self._learn_pools(rpc, pools)  # raises on a node failure: retried after
            self._metadata_due.difference_update(pools)
            frame = ChainFrame(self.chain, time.time_ns(), obj)
            result = self.connector.parse(frame)
        self.counts["logs"] += 1
        self._emit(frame, result)

    async def _learn_pools(self, rpc: JsonRpcClient, pools: list[str]) -> None:
        selectors = (calls.TOKEN0, calls.TOKEN1, calls.FACTORY)
        answers = await rpc.batch(
            [("eth_call", [{"to": p, "data": s}, "latest"]) for p in pools for s in selectors]
        )
        tokens: list[str] = []
        for request, response in answers:
            self.receive(response, request)
            self.counts["metadata_calls"] += 1
            data = request["params"][0]["data"]
            result = response.get("result")
            if data in (calls.TOKEN0, calls.TOKEN1) and isinstance(result, str):
                token = "0x" + result[-40:]
                if len(result) == 66 and token not in tokens:
                    tokens.append(token)
        unknown = [t for t in tokens if token_at(self.chain, t) is None]
        token_calls = [
            ("eth_call", [{"to": t, "data": s}, "latest"])
            for t in unknown
            for s in (calls.DECIMALS, calls.SYMBOL)
        ]
        for request, response in await rpc.batch(token_calls):
            self.receive(response, request)
            self.counts["metadata_calls"] += 1

    # --- blocks ------------------------------------------------------------------------------
    async def read_head(self, rpc: JsonRpcClient) -> int:
        request, response = await rpc.call("eth_blockNumber", [])
        result = self.receive(response, request)
        head = result.head if result.head is not None else int(response["result"], 16)
        self.gauges["head"] = head
        self.update_lag()
        return head

    def update_lag(self) -> None:
        if "head" in self.gauges and "processed_block" in self.gauges:
            self.gauges["block_lag"] = self.gauges["head"] - self.gauges["processed_block"]

    async def read_headers(
        self, rpc: JsonRpcClient, numbers: list[int]
    ) -> dict[int, dict[str, Any]]:
        answers = await rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        headers: dict[int, dict[str, Any]] = {}
        for request, response in answers:
            self.receive(response, request)  # the connector learns the block's time
            header = response.get("result")
            if isinstance(header, dict) and isinstance(header.get("hash"), str):
                headers[int(header["number"], 16)] = header
        return headers

    async def catch_up(
        self,
        rpc: JsonRpcClient,
        head: int,
        stopped: Callable[[], bool],
        confirmations: int | None = None,
    ) -> None:
        """Read the logs of the blocks from ``next_block`` to ``head − confirmations``."""
        buried = self.config.confirmations if confirmations is None else confirmations
        target = head - buried
        if self.next_block is None:
            start = self.config.start_block
            self.next_block = start if start is not None else max(target, 0)
        if await self._check_reorg(rpc):
            return
        while self.next_block <= target and not stopped():
            first = self.next_block
            last = min(target, first + self.block_range - 1)
            try:
                _request, response = await rpc.call("eth_getLogs", [self._filter(first, last)])
            except RpcError as exc:
                if not exc.too_many_results or last == first:
                    raise
                self.block_range = max(1, (last - first + 1) // 2)
                self.counts["range_halved"] += 1
                log.info("chain %s: %s; block range now %d", self.chain, exc, self.block_range)
                continue
            if not await self._process_range(rpc, first, last, response.get("result") or []):
                return
            if last - first + 1 == self.block_range < self.config.max_block_range:
                self.block_range = min(self.config.max_block_range, self.block_range * 2)

    def _filter(self, first: int, last: int) -> dict[str, Any]:
        query: dict[str, Any] = {
            "fromBlock": hex(first),
            "toBlock": hex(last),
            "topics": [self.config.topics],
        }
        if addresses := self.config.log_addresses:
            query["address"] = addresses
        return query

    async def _process_range(
        self, rpc: JsonRpcClient, first: int, last: int, logs: list[dict[str, Any]]
    ) -> bool:
        """Emit one range's logs block by block; ``False`` if the chain moved under us."""
        by_block: dict[int, list[dict[str, Any]]] = {}
        for obj in logs:
            by_block.setdefault(int(obj["blockNumber"], 16), []).append(obj)
        numbers = sorted({first, last, *by_block})
        headers = await self.read_headers(rpc, numbers)
        lowest = headers.get(first)
        moved = any(n not in headers for n in numbers) or any(
            (o.get("blockHash") or "").lower() != headers[n]["hash"].lower()
            for n, objs in by_block.items()
            if n in headers
            for o in objs
        )
        if lowest is not None and self.window.parent_mismatch(first, lowest.get("parentHash")):
            moved = True
        if moved:  # a reorg between our calls: undo what it orphaned, read again next poll
            self.counts["inconsistent_ranges"] += 1
            await self._check_reorg(rpc)
            return False
        for number in numbers:  # progress is kept per block: a failure repeats no block
            block_logs = sorted(by_block.get(number, []), key=lambda o: int(o["logIndex"], 16))
            header = headers[number]
            block_hash = header["hash"].lower()
            for obj in block_logs:
                key = (block_hash, int(obj["logIndex"], 16))
                if key in self._emitted:  # sent before a failure inside this block
                    continue
                await self.receive_log(rpc, obj)
                self._emitted.add(key)
            self._emitted.clear()
            self.window.remember(Block(number, block_hash, header.get("parentHash"), block_logs))
            self.counts["blocks"] += number - (self.next_block or first) + 1
            self.next_block = number + 1
            self.gauges["processed_block"] = number
        self.update_lag()
        self.save_checkpoint()
        return True

    async def _check_reorg(self, rpc: JsonRpcClient) -> bool:
        """Compare the remembered tip with the node; on a fork, retract and rewind. ``True``
        when a reorg was handled."""
        tip = self.window.tip()
        if tip is None:
            return False
        current = await self.read_headers(rpc, [tip.number])
        if tip.number in current and current[tip.number]["hash"].lower() == tip.hash:
            return False
        heights = self.window.heights()
        headers = await self.read_headers(rpc, heights)
        hashes = {n: (headers[n]["hash"].lower() if n in headers else None) for n in heights}
        fork = self.window.fork_point(hashes)
        if fork is None:
            return False
        if fork == heights[0] and len(heights) == self.window.depth:
            log.error("chain %s: reorg deeper than the %d remembered blocks", self.chain, fork)
            self.counts["reorg_beyond_window"] += 1
        retracted = self.window.orphan_from(fork)
        for obj in retracted:
            self.receive(obj)
        self.counts["reorgs"] += 1
        self.counts["retracted_logs"] += len(retracted)
        log.warning(
            "chain %s: reorg from block %d: %d logs retracted, re-reading",
            self.chain,
            fork,
            len(retracted),
        )
        self.next_block = fork
        self._emitted.clear()
        self.save_checkpoint(force=True)
        self.gauges["processed_block"] = fork - 1
        self._calls_at = None
        return True

    # --- polled calls ------------------------------------------------------------------------
    async def poll_calls(self, rpc: JsonRpcClient) -> None:
        """Oracle rounds and Comet rates at the last processed block, once per new block."""
        block = self.gauges.get("processed_block")
        if block is None or block < 0 or block == self._calls_at:
            return
        tag = hex(block)
        feed_calls = [
            ("eth_call", [{"to": f, "data": calls.LATEST_ROUND_DATA}, tag])
            for f in self.config.feeds
        ]
        util_calls = [
            ("eth_call", [{"to": c, "data": calls.GET_UTILIZATION}, tag])
            for c in self.config.comets
        ]
        rate_calls: list[tuple[str, list[Any]]] = []
        for request, response in await rpc.batch(feed_calls + util_calls):
            self.receive(response, request)
            self.counts["polled_calls"] += 1
            call = request["params"][0]
            result = response.get("result")
            if call["data"] == calls.GET_UTILIZATION and isinstance(result, str) and result[2:]:
                word = result[2:].rjust(64, "0")[-64:]
                for selector in (calls.GET_SUPPLY_RATE, calls.GET_BORROW_RATE):
                    rate_calls.append(
                        ("eth_call", [{"to": call["to"], "data": selector + word}, tag])
                    )
        for request, response in await rpc.batch(rate_calls):
            self.receive(response, request)
            self.counts["polled_calls"] += 1
        self._calls_at = block
