"""Security settings against real servers (issue #11, item 4): the platform's clients, built
only from ``LUCENT_*`` settings, against servers that demand TLS or SASL.

What the local servers can prove (found by experiment with Tansu 0.6.0 and nats-server):
- NATS serves TLS itself: with LUCENT_NATS_TLS_CA a real publish goes through; without it, or
  with another CA, the connection fails at once naming the setting.
- Tansu's ``--authentication`` listener speaks SASL SCRAM-SHA-256 and -512 (not PLAIN), but
  0.6 cannot hold a user there: ``tansu user create`` is refused by the authenticating broker
  (NotAuthenticated), its memory storage lives and dies with one process, and on s3 storage
  the users it accepts are not stored. So a SCRAM login cannot succeed locally: these tests
  show our SCRAM exchange reaching the broker and being refused (``unknown-user``), with a
  clear error that holds no secret, and a client without SASL refused.
- Tansu 0.6 takes ``--cert``/``--key`` yet still answers in plaintext, and the embedded
  ClickHouse serves plain HTTP on loopback only: Kafka (SSL, SASL_SSL) and ClickHouse (https)
  are reached through a TLS terminator in front of them (tests/tls_terminator.py), which
  checks the clients' side: they trust exactly the CA their settings name.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from nats.errors import Error as NatsError

from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port
from tests.domain_flow import produce
from tests.fixtures.clickhouse import EmbeddedClickHouse
from tests.test_security import SECRETS, _lucent, leaks, settings_from_env
from tests.tls_terminator import tls_terminator

KAFKA_PASSWORD = SECRETS["LUCENT_KAFKA_SASL_PASSWORD"]
NATS_PASSWORD = SECRETS["LUCENT_NATS_PASSWORD"]


@dataclasses.dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed the servers' certificate
    other_ca: Path  # a CA that signed nothing here
    cert: Path  # the servers' certificate (for 127.0.0.1 and localhost)
    key: Path
    server: ssl.SSLContext  # the same certificate, for the TLS terminator


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    leaf = ca.issue_cert(LOOPBACK, "localhost")
    paths = {name: root / f"{name}.pem" for name in ("ca", "other_ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    trustme.CA().cert_pem.write_to_path(str(paths["other_ca"]))
    leaf.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    leaf.private_key_pem.write_to_path(str(paths["key"]))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(server)
    return Pki(server=server, **paths)


# --- Kafka -----------------------------------------------------------------------------------


@contextmanager
def tansu(logs: Path, port: int, *extra: str, advertised_port: int | None = None) -> Iterator[str]:
    """A Tansu broker as ``lucent up`` starts it, plus ``extra`` flags, advertising
    ``advertised_port`` (a TLS terminator's) when given; yields its bootstrap address."""
    base = services.kafka_broker(port, logs)
    argv = [*base.argv, *extra]
    if advertised_port is not None:
        at = argv.index("--advertised-listener-url") + 1
        argv[at] = f"tcp://{LOOPBACK}:{advertised_port}"
    broker = dataclasses.replace(base, argv=argv)
    broker.start()
    try:
        broker.wait_ready()
        yield f"{LOOPBACK}:{advertised_port or port}"
    finally:
        broker.stop()


@contextmanager
def authenticating_broker(logs: Path, pki: Pki, protocol: str) -> Iterator[str]:
    """Tansu with ``--authentication``; for SASL_SSL behind a TLS terminator."""
    port = free_port()
    if protocol == "SASL_PLAINTEXT":
        with tansu(logs, port, "--authentication") as bootstrap:
            yield bootstrap
        return
    with (
        tls_terminator(pki.server, port) as tls_port,
        tansu(logs, port, "--authentication", advertised_port=tls_port) as bootstrap,
    ):
        yield bootstrap


def refused(config: dict[str, object], timeout: float = 2.0) -> str:
    """The errors librdkafka reports for a metadata request that must fail."""
    errors: list[KafkaError] = []
    client = AdminClient({**config, "error_cb": errors.append, "log_level": 0})
    with pytest.raises(KafkaException):
        client.list_topics(timeout=timeout)
    client.poll(1)  # serves the error callbacks
    return " | ".join(error.str() for error in errors)


def lucent_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUCENT_")}
    return {**env, "LUCENT_DATA_DIR": str(tmp_path / "lucent"), **settings}


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256"])
def test_kafka_scram_reaches_the_authenticating_broker_and_is_refused_without_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pki: Pki, protocol: str, mechanism: str
) -> None:
    """Tansu 0.6 holds no user in this mode (module docstring): our SCRAM exchange, built
    from the settings alone, reaches the broker (over TLS for SASL_SSL) and is told the user
    is unknown; the errors hold no secret, and a client without SASL gets nothing either."""
    with authenticating_broker(tmp_path / "logs", pki, protocol) as bootstrap:
        env = {
            "LUCENT_KAFKA_SECURITY_PROTOCOL": protocol,
            "LUCENT_KAFKA_SASL_MECHANISM": mechanism,
            "LUCENT_KAFKA_SASL_USERNAME": "lucent",
            "LUCENT_KAFKA_SASL_PASSWORD": KAFKA_PASSWORD,
        }
        if protocol == "SASL_SSL":
            env["LUCENT_KAFKA_SSL_CA_LOCATION"] = str(pki.ca)
        settings = settings_from_env(monkeypatch, env)
        errors = refused(settings.kafka_common(bootstrap))
        assert "SASL SCRAM authentication failed" in errors, errors
        assert "unknown-user" in errors and leaks(errors) == []
        plain = settings_from_env(
            monkeypatch,
            {"LUCENT_KAFKA_SSL_CA_LOCATION": str(pki.ca),
             "LUCENT_KAFKA_SECURITY_PROTOCOL": "SSL"} if protocol == "SASL_SSL" else {},
        )  # fmt: skip
        refused(plain.kafka_common(bootstrap))  # no SASL: the broker answers nothing


def test_lucent_topics_list_against_the_authenticating_broker_names_sasl_not_the_secret(
    tmp_path: Path, pki: Pki
) -> None:
    """The CLI, configured by LUCENT_* variables only (the password from a file), against
    the SASL broker: it fails, says SASL authentication failed, and never prints the password."""
    password_file = tmp_path / "kafka-password"
    password_file.write_text(KAFKA_PASSWORD + "\n")
    with authenticating_broker(tmp_path / "logs", pki, "SASL_PLAINTEXT") as bootstrap:
        env = lucent_env(
            tmp_path,
            LUCENT_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
            LUCENT_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
            LUCENT_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
            LUCENT_KAFKA_SASL_USERNAME="lucent",
            LUCENT_KAFKA_SASL_PASSWORD_FILE=str(password_file),
        )
        listed = subprocess.run(_lucent("topics", "list"), env=env, capture_output=True,
                                text=True, timeout=120)  # fmt: skip
    output = listed.stdout + listed.stderr
    assert listed.returncode != 0
    assert "SASL authentication error" in output and "unknown-user" in output
    error = [line for line in listed.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "LUCENT_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT" in error[0]
    assert "LUCENT_KAFKA_SASL_PASSWORD (or _FILE)" in error[0]  # not only "is the broker up?"
    assert leaks(output) == []


@pytest.mark.parametrize("trusted", [True, False], ids=["configured-ca", "other-ca"])
def test_kafka_over_tls_produces_and_consumes_only_with_the_configured_ca(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pki: Pki, trusted: bool
) -> None:
    """LUCENT_KAFKA_SECURITY_PROTOCOL=SSL and LUCENT_KAFKA_SSL_CA_LOCATION: a record produced
    and consumed through TLS (broker hostname verified, librdkafka's default); with a CA that
    did not sign the certificate, no connection, and the error says why."""
    port = free_port()
    with (
        tls_terminator(pki.server, port) as tls_port,
        tansu(tmp_path / "logs", port, advertised_port=tls_port) as bootstrap,
    ):
        settings = settings_from_env(
            monkeypatch,
            {
                "LUCENT_KAFKA_SECURITY_PROTOCOL": "SSL",
                "LUCENT_KAFKA_SSL_CA_LOCATION": str(pki.ca if trusted else pki.other_ca),
            },
        )
        if not trusted:
            errors = refused(settings.kafka_common(bootstrap))
            assert "certificate verify failed" in errors, errors
            return
        admin = kafka.admin(settings, bootstrap)
        for future in admin.create_topics([NewTopic("tls-check", 1, 1)]).values():
            future.result(timeout=30)
        produce(settings, bootstrap, "tls-check", [b"over-tls"])
        records = kafka.read_topic(settings, bootstrap, "tls-check")
    assert [record.value for record in records] == [b"over-tls"]


# --- NATS ------------------------------------------------------------------------------------


@pytest.fixture
def nats_with_tls(tmp_path: Path, pki: Pki) -> Iterator[int]:
    """A nats-server (JetStream) that speaks TLS only and demands a user and password."""
    port = free_port()
    base = services.nats_server(port, tmp_path / "nats-store", tmp_path / "nats-logs")
    tls = ["--tls", "--tlscert", str(pki.cert), "--tlskey", str(pki.key)]
    auth = ["--user", "lucent", "--pass", NATS_PASSWORD]
    server = dataclasses.replace(base, argv=[*base.argv, *tls, *auth])
    server.start()
    try:
        server.wait_ready()
        yield port
    finally:
        server.stop()


def nats_settings(monkeypatch: pytest.MonkeyPatch, ca: Path | None, password: str) -> Settings:
    env = {"LUCENT_NATS_USER": "lucent", "LUCENT_NATS_PASSWORD": password}
    if ca is not None:
        env["LUCENT_NATS_TLS_CA"] = str(ca)
    return settings_from_env(monkeypatch, env)


@pytest.mark.parametrize("scheme", ["tls", "nats"])
def test_nats_tls_with_the_configured_ca_publishes(
    monkeypatch: pytest.MonkeyPatch, nats_with_tls: int, pki: Pki, scheme: str
) -> None:
    """A publish through the server's TLS, with LUCENT_NATS_TLS_CA (a tls:// URL, or a
    nats:// one upgraded because the server requires TLS)."""
    settings = nats_settings(monkeypatch, pki.ca, NATS_PASSWORD)

    async def round_trip() -> bytes:
        client = await nats_adapter.connect(settings, f"{scheme}://{LOOPBACK}:{nats_with_tls}")
        try:
            subscription = await client.subscribe("lucent.tls.check")
            await client.publish("lucent.tls.check", b"over-tls")
            return (await subscription.next_msg(timeout=10)).data
        finally:
            await client.close()

    assert asyncio.run(round_trip()) == b"over-tls"


@pytest.mark.parametrize(
    ("ca", "password", "message"),
    [
        ("none", NATS_PASSWORD, "LUCENT_NATS_TLS_CA"),
        ("other", NATS_PASSWORD, "LUCENT_NATS_TLS_CA"),
        ("right", "nats-pw-3f9a1c-but-wrong", "uthorization"),
    ],
    ids=["no-ca", "other-ca", "wrong-password"],
)
def test_nats_tls_refusals_are_clear_and_hold_no_secret(
    monkeypatch: pytest.MonkeyPatch,
    nats_with_tls: int,
    pki: Pki,
    ca: str,
    password: str,
    message: str,
) -> None:
    """Without the CA, or with another, the connection fails at once (nats-py alone would
    hang closing the failed handshake) naming LUCENT_NATS_TLS_CA; a wrong password over good
    TLS is refused by the server. No error holds the password."""
    path = {"none": None, "other": pki.other_ca, "right": pki.ca}[ca]
    settings = nats_settings(monkeypatch, path, password)

    async def attempt() -> None:
        await asyncio.wait_for(
            nats_adapter.connect(settings, f"tls://{LOOPBACK}:{nats_with_tls}"),
            timeout=60,  # TlsRefused comes at the first handshake; this only bounds a hang
        )

    with pytest.raises(NatsError) as raised:
        asyncio.run(attempt())
    text = f"{raised.value} {raised.value!r}"
    assert message in text, text
    if ca != "right":
        assert isinstance(raised.value, nats_adapter.TlsRefused)
        assert "certificate verify failed" in text
    assert NATS_PASSWORD not in text and leaks(text) == []


# --- ClickHouse ------------------------------------------------------------------------------


@pytest.mark.parametrize("trusted", [True, False], ids=["configured-ca", "other-ca"])
def test_clickhouse_over_https_answers_only_with_the_configured_ca(
    tmp_path: Path, clickhouse_server: EmbeddedClickHouse, pki: Pki, trusted: bool
) -> None:
    """``lucent clickhouse status`` with LUCENT_CLICKHOUSE_URL=https://… and
    LUCENT_CLICKHOUSE_CA_CERT (the embedded server behind a TLS terminator); with another CA
    it fails saying the certificate was not verified, and prints no password."""
    upstream = int(clickhouse_server.url.rsplit(":", 1)[1])
    with tls_terminator(pki.server, upstream) as tls_port:
        env = lucent_env(
            tmp_path,
            LUCENT_CLICKHOUSE_URL=f"https://{LOOPBACK}:{tls_port}",
            LUCENT_CLICKHOUSE_CA_CERT=str(pki.ca if trusted else pki.other_ca),
            LUCENT_CLICKHOUSE_PASSWORD=SECRETS["LUCENT_CLICKHOUSE_PASSWORD"],
            LUCENT_CLICKHOUSE_DATABASE="tls_check",
        )
        shown = subprocess.run(_lucent("clickhouse", "status"), env=env, capture_output=True,
                               text=True, timeout=120)  # fmt: skip
    output = shown.stdout + shown.stderr
    assert leaks(output) == []
    if trusted:
        assert shown.returncode == 0, output
        assert "database tls_check" in shown.stdout
    else:
        assert shown.returncode == 2 and "Traceback" not in output
        assert "error: ClickHouse:" in output and "certificate verify failed" in output
