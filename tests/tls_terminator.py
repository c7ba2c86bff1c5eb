"""TLS in front of a plaintext service on loopback, as a TLS-terminating proxy does.

The local broker (Tansu 0.6) takes ``--cert``/``--key`` but still answers in plaintext, and the
embedded ClickHouse serves plain HTTP on loopback only: to check that the platform's clients
trust exactly the CA their settings name, the tests put this in front of them. Every byte is
passed on unchanged both ways; a client that refuses the certificate never reaches the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator

from lucent_platform.stack.ports import LOOPBACK


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@contextlib.contextmanager
def tls_terminator(context: ssl.SSLContext, upstream_port: int) -> Iterator[int]:
    """Serve TLS (``context``: the server certificate) on a free loopback port, forwarding
    each connection to ``LOOPBACK:upstream_port`` (connected when a client arrives, so the
    service may start later); yields the TLS port."""
    loop = asyncio.new_event_loop()
    # a client that refuses the certificate is what some tests expect: not worth a traceback
    loop.set_exception_handler(lambda _loop, _context: None)

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            service_r, service_w = await asyncio.open_connection(LOOPBACK, upstream_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, service_w), _pipe(service_r, client_w))

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    start = asyncio.start_server(handle, LOOPBACK, 0, ssl=context)
    server = asyncio.run_coroutine_threadsafe(start, loop).result(timeout=10)

    async def shutdown() -> None:
        server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
