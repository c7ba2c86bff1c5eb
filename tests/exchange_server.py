"""A local exchange: replays recorded websocket frames and REST responses on loopback.

ccxt's URLs are plain settings, so pointing ``urls['api']['ws']``/``['rest']`` here makes
ccxt (and our connectors) run their real code against recorded exchange traffic. Each
websocket connection gets the scripted frames in order; a script can drop the connection
after N frames, go silent, or have garbage interleaved — the faults the live feed must
survive. Or the frames are a venue's timeline (``live``): due one every ``interval`` from the
first connection on, each sent to whoever is connected when it falls due, so a client that
was away misses what was sent meanwhile, as on a real venue. A REST body can also be a
function of the request's query (``Responder``), so a recorded answer can be served the way
the exchange pages it (only the rows from ``startTime`` on, at most ``limit``): still the
recorded rows, selected as the venue would.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fixtures.threaded_app import ServedApp, serve_in_thread

Responder = Callable[[dict[str, str]], Any]
"""A REST body computed from the request's query parameters."""


@dataclass
class Script:
    """What each websocket connection receives, in order."""

    frames: list[str]
    interval: float = 0.0  # seconds between frames
    drop_after: int | None = None  # close the connection after this many frames (per connection)
    silent_after: int | None = None  # stop sending (connection stays open) after this many
    ack: Callable[[dict[str, Any]], str | None] = lambda _request: None  # reply to a subscribe
    first_connection_only: bool = True  # faults apply to the first connection only
    live: bool = False  # a timeline: a connection gets the frames due after it connected


@dataclass
class ExchangeServer:
    """An aiohttp server on 127.0.0.1:<free port> in a background thread."""

    script: Script
    rest: dict[str, Any] = field(default_factory=dict)  # path → JSON body or Responder
    connections: int = 0
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    rest_requests: list[str] = field(default_factory=list)
    rest_times: list[float] = field(default_factory=list)  # time.monotonic() of each request
    port: int = 0
    live_since: float | None = None  # time.monotonic() of the live timeline's first frame
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _served: ServedApp | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ExchangeServer:
        served = self._served = serve_in_thread(self._app, "local exchange server")
        self._loop, self._runner, self.port = served.loop, served.runner, served.port
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
            assert self._served is not None
            self._served.stop()

    def _app(self) -> web.Application:
        self._closing = asyncio.Event()  # in the server's loop: its websockets wait on it
        app = web.Application()
        app.router.add_get("/ws{tail:.*}", self._websocket)
        app.router.add_get("/{tail:.*}", self._http)
        return app

    async def _http(self, request: web.Request) -> web.Response:
        self.rest_requests.append(request.path_qs)
        self.rest_times.append(time.monotonic())
        for path, body in self.rest.items():
            if request.path.endswith(path):
                if callable(body):
                    body = body(dict(request.query))
                return web.json_response(body)
        return web.json_response({"error": f"no recorded response for {request.path}"}, status=404)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        faulty = self.connections == 1 or not self.script.first_connection_only
        reader = asyncio.create_task(self._read_subscriptions(ws))
        sent = 0
        try:
            if self.script.live:
                await self._live(ws)
                return ws
            for frame in self.script.frames:
                if faulty and self.script.drop_after is not None and sent >= self.script.drop_after:
                    await ws.close()
                    return ws
                if (
                    faulty
                    and self.script.silent_after is not None
                    and sent >= self.script.silent_after
                ):
                    await self._closing.wait()
                    return ws
                await ws.send_str(frame)
                sent += 1
                await asyncio.sleep(self.script.interval)
            await self._closing.wait()  # the recording is over: stay connected, quietly
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            reader.cancel()
            if not ws.closed:
                await ws.close()
        return ws

    async def _live(self, ws: web.WebSocketResponse) -> None:
        """The frames due from now on, each at its time on the timeline."""
        now = time.monotonic()
        if self.live_since is None:
            self.live_since = now
        interval = max(self.script.interval, 1e-3)
        due = math.ceil((now - self.live_since) / interval)
        for i in range(due, len(self.script.frames)):
            await asyncio.sleep(max(0.0, self.live_since + i * interval - time.monotonic()))
            if ws.closed:
                return
            await ws.send_str(self.script.frames[i])
        await self._closing.wait()

    async def _read_subscriptions(self, ws: web.WebSocketResponse) -> None:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                request = json.loads(message.data)
            except json.JSONDecodeError:
                continue
            self.subscriptions.append(request)
            reply = self.script.ack(request)
            if reply is not None:
                await ws.send_str(reply)
