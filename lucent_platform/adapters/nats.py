"""The NATS adapter: connections with the configured credentials, and JetStream streams
provisioned from the subject catalog. The only core module that imports ``nats``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import NoServersError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from lucent_platform.config import Settings
from lucent_platform.redaction import redact_urls
from lucent_platform.subjects import StreamSpec

log = logging.getLogger(__name__)


def connect_options(settings: Settings) -> dict[str, Any]:
    """Credentials (user/password, token or creds file) and the TLS CA from the settings, as
    ``nats.connect`` keyword arguments."""
    options: dict[str, Any] = {}
    if settings.nats_user:
        options["user"] = settings.nats_user
    if settings.nats_password is not None:
        options["password"] = settings.nats_password.get_secret_value()
    if settings.nats_token is not None:
        options["token"] = settings.nats_token.get_secret_value()
    if settings.nats_creds_file is not None:
        options["user_credentials"] = str(settings.nats_creds_file)
    if settings.nats_tls_ca is not None:
        options["tls"] = ssl.create_default_context(cafile=str(settings.nats_tls_ca))
    return options


class TlsRefused(NatsError):
    """The TLS handshake with the server failed (an untrusted certificate, or no TLS there):
    retrying cannot help, the settings must change."""


async def connect(
    settings: Settings, url: str, *, name: str = "lucent", reconnect_forever: bool = False
) -> Client:
    """An open connection; fails fast when the server is absent. Once connected it reconnects
    a few times (commands), or for ever every half second (``reconnect_forever``: always-on
    workers, which must ride out a NATS restart; their connection errors are logged as one
    line each, not a traceback). A failed TLS handshake raises ``TlsRefused`` at once; when
    every attempt fails, the server's last answer (e.g. an authorization violation) is raised,
    not nats-py's bare "no servers available"."""
    failures: list[Exception] = []
    tls_failed = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        failures.append(exc)
        if isinstance(exc, ssl.SSLError):
            tls_failed.set()
        if reconnect_forever:
            await _log_error(exc)
        else:
            log.debug("NATS: %s", exc or type(exc).__name__)

    extra: dict[str, Any] = {}
    if reconnect_forever:
        extra = {
            "disconnected_cb": _log_event("disconnected from NATS"),
            "reconnected_cb": _log_event("reconnected to NATS"),
        }
    connecting = asyncio.ensure_future(
        nats.connect(
            servers=[url],
            name=name,
            connect_timeout=5,
            # nats-py also applies an unlimited count to the first connection (it would retry
            # a server that is down for ever): connect with a finite one, then lift it.
            max_reconnect_attempts=1 if reconnect_forever else 5,
            reconnect_time_wait=0.5 if reconnect_forever else 2,
            allow_reconnect=True,
            error_cb=on_error,
            **extra,
            **connect_options(settings),
        )
    )
    refused = asyncio.ensure_future(tls_failed.wait())
    try:
        await asyncio.wait({connecting, refused}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # the caller gave up (cancelled): no orphaned connection attempt
        connecting.cancel()
        raise
    finally:
        refused.cancel()
    if not connecting.done():
        # nats-py (2.16) then waits for ever to close the socket of the failed handshake
        connecting.cancel()
        with contextlib.suppress(BaseException):
            await connecting
        raise TlsRefused(
            f"NATS at {redact_urls(url)}: TLS handshake failed ({failures[-1]}) — set "
            "LUCENT_NATS_TLS_CA to the CA (PEM) that signed the server's certificate"
        )
    try:
        client = connecting.result()
    except NoServersError:
        answers = [exc for exc in failures if isinstance(exc, NatsError)]  # not broken pipes
        if answers:  # the server answered, and said no
            raise answers[-1] from None
        raise
    if reconnect_forever:
        client.options["max_reconnect_attempts"] = -1
    return client


async def _log_error(exc: Exception) -> None:
    log.warning("NATS: %s", exc or type(exc).__name__)


def _log_event(text: str) -> Any:
    async def callback() -> None:
        log.warning(text)

    return callback


def jetstream(client: Client) -> JetStreamContext:
    return client.jetstream()


@dataclass(frozen=True)
class StreamResult:
    stream: str
    status: str  # "created" | "updated" | "unchanged" | "failed: <reason>"
    changed: tuple[str, ...] = ()  # the fields an update changed


def stream_config(spec: StreamSpec, replicas: int) -> StreamConfig:
    """The JetStream config of a catalog stream (file storage, limits retention)."""
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        max_age=float(spec.max_age_s),
        duplicate_window=float(spec.duplicate_window_s),
        num_replicas=replicas,
    )


_COMPARED = ("description", "subjects", "max_age", "duplicate_window", "num_replicas")


async def provision_streams(
    js: JetStreamContext, specs: Iterable[StreamSpec], *, replicas: int
) -> list[StreamResult]:
    """Create each missing stream; update one whose subjects, retention, de-duplication
    window, description or replicas differ from the catalog. Idempotent."""
    results = []
    for spec in specs:
        wanted = stream_config(spec, replicas)
        try:
            try:
                current = (await js.stream_info(spec.name)).config
            except NotFoundError:
                await js.add_stream(wanted)
                results.append(StreamResult(spec.name, "created"))
                continue
            changed = tuple(
                name
                for name in _COMPARED
                if _comparable(getattr(current, name)) != _comparable(getattr(wanted, name))
            )
            if changed:
                await js.update_stream(wanted)
                results.append(StreamResult(spec.name, "updated", changed))
            else:
                results.append(StreamResult(spec.name, "unchanged"))
        except NatsError as exc:
            results.append(StreamResult(spec.name, f"failed: {exc}"))
    return results


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(value)
    if isinstance(value, float):
        return round(value, 3)  # the server answers in nanoseconds
    return value


async def publish_once(
    js: JetStreamContext, subject: str, payload: bytes, msg_id: str, *, timeout: float = 2.0
) -> bool:
    """Publish to JetStream and wait for the stream's acknowledgement; ``msg_id`` goes out as
    ``Nats-Msg-Id``, so a repeat within the stream's duplicate window is dropped. Returns True
    when the stream reports it a duplicate. Raises ``nats.errors.Error`` (timeouts, no
    stream, connection lost) for the caller to retry."""
    ack = await js.publish(subject, payload, timeout=timeout, headers={"Nats-Msg-Id": msg_id})
    return bool(ack.duplicate)


async def durable_pull(
    js: JetStreamContext,
    stream: str,
    durable: str,
    *,
    ack_wait_s: float = 30.0,
    max_ack_pending: int = 1000,
) -> JetStreamContext.PullSubscription:
    """A durable pull consumer over the whole ``stream``, explicit acks (created once, then
    bound to by every instance: they share its messages)."""
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_ack_pending=max_ack_pending,
    )
    await js.add_consumer(stream, config)
    return await js.pull_subscribe_bind(durable=durable, stream=stream)
