"""Security settings (issue #11, item 4): Kafka SASL/TLS, NATS credentials/TLS, ClickHouse
user/password/TLS, secrets from variables or ``_FILE``s; wrong combinations stop startup naming
what to fix; no secret in repr, dumps, ``lucent settings``, logs, /metrics or error messages;
the Dagster UI and metrics endpoints on loopback by default.

The real runs: a bridge worker (its own process) against the real broker and a nats-server
that demands a user and password (and one that demands a token), every secret setting given a
known fake value, its output and endpoint grepped for them. Kafka's security is checked here
on the librdkafka config every client is built from (and librdkafka accepting it), plus a
SASL_SSL client against the plain broker whose errors are grepped; against servers that demand
TLS or SASL: tests/test_security_servers.py."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.errors import Error as NatsError
from pydantic import SecretStr

from lucent_platform.adapters import clickhouse, kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings, SettingsError, load_settings, with_overrides
from lucent_platform.redaction import redact_urls
from lucent_platform.stack import services
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.topics import YIELD_OPPORTUNITIES
from streaming.metrics_server import serve
from tests.domain_flow import produce, provision_topics, yield_signal

# Known fake secrets, one per secret setting: none may show up anywhere.
SECRETS = {
    "LUCENT_NATS_PASSWORD": "nats-pw-3f9a1c",
    "LUCENT_CLICKHOUSE_PASSWORD": "ch-pw-77b2e0",
    "LUCENT_SCHEMA_REGISTRY_PASSWORD": "sr-pw-a61d4b",
    "LUCENT_EVENTSTORE_URI": "esdb://admin:es-pw-0c8e55@127.0.0.1:1?tls=false",
    "LUCENT_KAFKA_SASL_PASSWORD": "kafka-pw-5e1f02",
    "LUCENT_KAFKA_SSL_KEY_PASSWORD": "key-pw-91aa3d",
    "LUCENT_NATS_TOKEN": "nats-token-4c2b7e",
}
NEEDLES = [
    "nats-pw-3f9a1c",
    "ch-pw-77b2e0",
    "sr-pw-a61d4b",
    "es-pw-0c8e55",
    "kafka-pw-5e1f02",
    "key-pw-91aa3d",
    "nats-token-4c2b7e",
    "url-pw-2d6c90",
]


def leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def settings_from_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name in list(os.environ):
        if name.startswith("LUCENT_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    """A file standing in for a certificate or key (only its existence is checked here)."""
    path = tmp_path / "cert.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


# --- Kafka: the one librdkafka config ------------------------------------------------------


def test_sasl_ssl_settings_reach_every_librdkafka_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pem: Path
) -> None:
    password_file = tmp_path / "kafka-password"
    password_file.write_text(SECRETS["LUCENT_KAFKA_SASL_PASSWORD"] + "\n")  # as a secret mount
    settings = settings_from_env(
        monkeypatch,
        {
            "LUCENT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LUCENT_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "LUCENT_KAFKA_SASL_USERNAME": "lucent",
            "LUCENT_KAFKA_SASL_PASSWORD_FILE": str(password_file),
            "LUCENT_KAFKA_SSL_CA_LOCATION": str(pem),
            "LUCENT_KAFKA_SSL_CERTIFICATE_LOCATION": str(pem),
            "LUCENT_KAFKA_SSL_KEY_LOCATION": str(pem),
            "LUCENT_KAFKA_SSL_KEY_PASSWORD": SECRETS["LUCENT_KAFKA_SSL_KEY_PASSWORD"],
        },
    )
    expected = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "lucent",
        "sasl.password": SECRETS["LUCENT_KAFKA_SASL_PASSWORD"],
        "ssl.ca.location": str(pem),
        "ssl.certificate.location": str(pem),
        "ssl.key.location": str(pem),
        "ssl.key.password": SECRETS["LUCENT_KAFKA_SSL_KEY_PASSWORD"],
    }
    for conf in (
        settings.kafka_common("b:9093"),
        settings.producer_config("b:9093"),
        settings.consumer_config("b:9093", "g"),
    ):
        assert {key: conf.get(key) for key in expected} == expected
    assert leaks(repr(settings)) == [] and leaks(settings.model_dump_json()) == []


def test_librdkafka_accepts_the_sasl_config() -> None:
    """Every key is one librdkafka knows (a client is built; it never reaches a broker)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="lucent",
        kafka_sasl_password=SECRETS["LUCENT_KAFKA_SASL_PASSWORD"],
    )
    producer = kafka.producer(settings, f"{LOOPBACK}:9")
    assert producer.flush(0) == 0
    consumer = kafka.consumer(settings, f"{LOOPBACK}:9", "g")
    consumer.close()


def test_plaintext_by_default_and_the_passthrough_still_works() -> None:
    plain = Settings(_env_file=None).kafka_common("b:1")  # type: ignore[call-arg]
    assert plain == {"bootstrap.servers": "b:1"}
    passthrough = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_config={"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN"},
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    ).kafka_common("b:1")
    assert passthrough["security.protocol"] == "SASL_SSL" and passthrough["sasl.password"] == "p"


# --- wrong combinations stop startup ---------------------------------------------------------

WRONG = [
    ({"LUCENT_KAFKA_SASL_MECHANISM": "PLAIN"}, "LUCENT_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
    ({"LUCENT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs LUCENT_KAFKA_SASL_MECHANISM"),
    (
        {"LUCENT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "LUCENT_KAFKA_SASL_MECHANISM": "PLAIN"},
        "needs LUCENT_KAFKA_SASL_USERNAME and LUCENT_KAFKA_SASL_PASSWORD",
    ),
    (
        {
            "LUCENT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LUCENT_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "LUCENT_KAFKA_SASL_PASSWORD": SECRETS["LUCENT_KAFKA_SASL_PASSWORD"],
        },
        "needs LUCENT_KAFKA_SASL_USERNAME",
    ),
    (
        {"LUCENT_KAFKA_SASL_USERNAME": "u", "LUCENT_KAFKA_SASL_PASSWORD": "kafka-pw-5e1f02"},
        "the protocol is PLAINTEXT",
    ),
    ({"LUCENT_KAFKA_SECURITY_PROTOCOL": "SASL_TLS"}, "LUCENT_KAFKA_SECURITY_PROTOCOL"),
    ({"LUCENT_KAFKA_SASL_MECHANISM": "GSSAPI"}, "LUCENT_KAFKA_SASL_MECHANISM"),
    (
        {"LUCENT_KAFKA_CONFIG": '{"sasl.password": "kafka-pw-5e1f02"}'},
        "use LUCENT_KAFKA_SASL_PASSWORD",
    ),
    (
        {
            "LUCENT_KAFKA_CONFIG": '{"security.protocol": "SSL"}',
            "LUCENT_KAFKA_SECURITY_PROTOCOL": "SSL",
        },
        "keep one of the two",
    ),
    ({"LUCENT_KAFKA_SSL_CA_LOCATION": "{pem}"}, "is for TLS, but the protocol is PLAINTEXT"),
    (
        {"LUCENT_KAFKA_SECURITY_PROTOCOL": "SSL", "LUCENT_KAFKA_SSL_CA_LOCATION": "/no/ca.pem"},
        "LUCENT_KAFKA_SSL_CA_LOCATION: no file at /no/ca.pem",
    ),
    (
        {"LUCENT_KAFKA_SECURITY_PROTOCOL": "SSL", "LUCENT_KAFKA_SSL_CERTIFICATE_LOCATION": "{pem}"},
        "set both or neither",
    ),
    (
        {"LUCENT_KAFKA_SASL_PASSWORD_FILE": "/no/such/file"},
        "LUCENT_KAFKA_SASL_PASSWORD_FILE: cannot read /no/such/file",
    ),
    (
        {
            "LUCENT_CLICKHOUSE_PASSWORD": "ch-pw-77b2e0",
            "LUCENT_CLICKHOUSE_PASSWORD_FILE": "{secret}",
        },
        "LUCENT_CLICKHOUSE_PASSWORD and LUCENT_CLICKHOUSE_PASSWORD_FILE are both set",
    ),
    ({"LUCENT_NATS_USER": "u"}, "LUCENT_NATS_USER and LUCENT_NATS_PASSWORD (or _FILE) go together"),
    ({"LUCENT_NATS_PASSWORD": "nats-pw-3f9a1c"}, "go together"),
    (
        {
            "LUCENT_NATS_USER": "u",
            "LUCENT_NATS_PASSWORD": "nats-pw-3f9a1c",
            "LUCENT_NATS_TOKEN": "nats-token-4c2b7e",
        },
        "LUCENT_NATS_USER/_PASSWORD and LUCENT_NATS_TOKEN are set — use one",
    ),
    ({"LUCENT_NATS_TLS_CA": "/no/ca.pem"}, "LUCENT_NATS_TLS_CA: no file at /no/ca.pem"),
    (
        {"LUCENT_CLICKHOUSE_CA_CERT": "{pem}", "LUCENT_CLICKHOUSE_URL": "http://h:8123"},
        "LUCENT_CLICKHOUSE_URL must be https://",
    ),
    ({"LUCENT_EVENTSTORE_URI_FILE": "/no/uri"}, "LUCENT_EVENTSTORE_URI_FILE: cannot read"),
]


@pytest.mark.parametrize(("env", "message"), WRONG)
def test_a_wrong_combination_stops_startup_naming_what_to_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pem: Path, env: dict[str, str], message: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("other-secret-value")
    filled = {
        k: v.replace("{pem}", str(pem)).replace("{secret}", str(secret)) for k, v in env.items()
    }
    with pytest.raises(SettingsError) as raised:
        settings_from_env(monkeypatch, filled)
    text = str(raised.value)
    assert message in text
    assert leaks(text) == [] and "other-secret-value" not in text


# --- secrets: files, masking, redaction ------------------------------------------------------


def test_every_secret_reads_from_a_file_and_survives_a_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env: dict[str, str] = {"LUCENT_NATS_USER": "lucent"}
    for name, value in SECRETS.items():
        if name == "LUCENT_NATS_TOKEN":
            continue  # one NATS credential at a time: the password here
        path = tmp_path / name.lower()
        path.write_text(value + "\n")
        env[f"{name}_FILE"] = str(path)
    env.update(
        LUCENT_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        LUCENT_KAFKA_SASL_MECHANISM="PLAIN",
        LUCENT_KAFKA_SASL_USERNAME="lucent",
        LUCENT_KAFKA_SSL_CERTIFICATE_LOCATION=str(tmp_path / "lucent_nats_password"),
        LUCENT_KAFKA_SSL_KEY_LOCATION=str(tmp_path / "lucent_nats_password"),
    )
    settings = settings_from_env(monkeypatch, env)
    for name, value in SECRETS.items():
        field = getattr(settings, name.removeprefix("LUCENT_").lower())
        if name != "LUCENT_NATS_TOKEN":
            got = field.get_secret_value() if isinstance(field, SecretStr) else field
            assert got == value, name
    copy = with_overrides(settings, log_level="DEBUG")  # a CLI option: same secrets, no error
    assert copy.nats_password == settings.nats_password and copy.log_level == "DEBUG"
    assert leaks(repr(settings)) == [] and leaks(str(settings)) == []
    assert leaks(settings.model_dump_json()) == []


def test_urls_lose_their_credentials_in_repr_dumps_and_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from_env(
        monkeypatch,
        {
            "LUCENT_NATS_URL": "nats://lucent:url-pw-2d6c90@nats.internal:4222",
            "LUCENT_CLICKHOUSE_URL": "https://default:url-pw-2d6c90@ch.internal:8443",
            "LUCENT_SCHEMA_REGISTRY_URL": "https://key:url-pw-2d6c90@sr.internal/",
        },
    )
    assert settings.nats_url == "nats://lucent:url-pw-2d6c90@nats.internal:4222"  # still usable
    assert leaks(repr(settings)) == [] and leaks(settings.model_dump_json()) == []
    assert "nats://nats.internal:4222" in settings.model_dump_json()
    with pytest.raises(ValueError) as raised:
        clickhouse.connect("ftp://u:url-pw-2d6c90@ch.internal")
    assert leaks(str(raised.value)) == []


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("https://mainnet.infura.io/v3/abc", "https://mainnet.infura.io/…"),
        ("node https://u:p@rpc.example/x failed", "node https://rpc.example/… failed"),
        ("esdb://admin:pw@h1:2113,h2:2113?tls=false", "esdb://h1:2113,h2:2113/…"),
        ("nats://user:pw@127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("wss://stream.example:9443/ws?key=abc", "wss://stream.example:9443/…"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("kafka at b1:9092,b2:9092", "kafka at b1:9092,b2:9092"),
    ],
)
def test_redact_urls(text: str, redacted: str) -> None:
    assert redact_urls(text) == redacted


def test_nats_tls_ca_and_clickhouse_ca_reach_the_clients(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(_self_signed_pem())
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, nats_tls_ca=ca, nats_token="t", clickhouse_ca_cert=ca,
        clickhouse_url="https://ch.internal:8443", clickhouse_password="ch-pw-77b2e0",
    )  # fmt: skip
    options = nats_adapter.connect_options(settings)
    assert isinstance(options["tls"], ssl.SSLContext) and options["token"] == "t"
    assert clickhouse.credentials(settings) == {
        "username": "default",
        "password": "ch-pw-77b2e0",
        "ca_cert": str(ca),
    }


def _self_signed_pem() -> str:
    """A self-signed CA certificate (PEM) that Python's ssl module loads."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lucent-test-ca")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_the_stack_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """DATA_DIR/stack.json names the event store, whose URI may carry its password."""
    endpoints = Endpoints("b:1", "nats://n:1", "http://c:1", SECRETS["LUCENT_EVENTSTORE_URI"])
    path = endpoints.write(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600


# --- loopback by default -------------------------------------------------------------------


def test_dagster_ui_and_metrics_bind_to_loopback_by_default(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert ipaddress.ip_address(settings.dagster_host).is_loopback
    assert ipaddress.ip_address(settings.metrics_host).is_loopback
    ui = services.dagster(
        settings.dagster_host, settings.dagster_port, tmp_path / "dagster", tmp_path / "w.yaml",
        {}, tmp_path / "logs",
    )  # fmt: skip
    argv = list(ui.argv)
    assert argv[argv.index("-h") + 1] == "127.0.0.1"
    server = serve(settings.model_copy(update={"metrics_port": free_port()}), "processor")
    assert server is not None
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()


# --- real runs -------------------------------------------------------------------------------


def nats_requiring(root: Path, *auth: str) -> Iterator[str]:
    """A nats-server (JetStream) started with ``auth`` flags: it refuses other clients."""
    port = free_port()
    base = services.nats_server(port, root / "nats-store", root / "nats-logs")
    server = dataclasses.replace(base, argv=[*base.argv, *auth])
    server.start()
    try:
        server.wait_ready()
        yield f"nats://{LOOPBACK}:{port}"
    finally:
        server.stop()


@pytest.fixture
def nats_with_password(tmp_path: Path) -> Iterator[str]:
    yield from nats_requiring(
        tmp_path, "--user", "lucent", "--pass", SECRETS["LUCENT_NATS_PASSWORD"]
    )


@pytest.fixture
def nats_with_token(tmp_path: Path) -> Iterator[str]:
    yield from nats_requiring(tmp_path, "--auth", SECRETS["LUCENT_NATS_TOKEN"])


def test_nats_token_authentication_is_real(nats_with_token: str) -> None:
    good = Settings(_env_file=None, nats_token=SECRETS["LUCENT_NATS_TOKEN"])  # type: ignore[call-arg]
    bad = Settings(_env_file=None, nats_token="wrong-token")  # type: ignore[call-arg]

    async def attempt(settings: Settings) -> bool:
        try:
            client = await nats_adapter.connect(settings, nats_with_token)
        except (NatsError, OSError):
            return False
        await client.close()
        return True

    assert asyncio.run(attempt(good)) is True
    assert asyncio.run(attempt(bad)) is False


def worker_env(tmp_path: Path, bootstrap: str, nats_url: str, **extra: str) -> dict[str, str]:
    password_file = tmp_path / "nats-password"
    password_file.write_text(SECRETS["LUCENT_NATS_PASSWORD"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUCENT_")}
    env.update(
        LUCENT_DATA_DIR=str(tmp_path / "lucent"),
        LUCENT_LOG_LEVEL="DEBUG",
        LUCENT_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        LUCENT_NATS_URL=nats_url,
        LUCENT_NATS_USER="lucent",
        LUCENT_NATS_PASSWORD_FILE=str(password_file),
        LUCENT_CLICKHOUSE_URL="http://default:url-pw-2d6c90@127.0.0.1:9",
        LUCENT_CLICKHOUSE_PASSWORD=SECRETS["LUCENT_CLICKHOUSE_PASSWORD"],
        LUCENT_SCHEMA_REGISTRY_PASSWORD=SECRETS["LUCENT_SCHEMA_REGISTRY_PASSWORD"],
        LUCENT_EVENTSTORE_URI=SECRETS["LUCENT_EVENTSTORE_URI"],
    )
    env.update(extra)
    return env


def _lucent(*args: str) -> list[str]:
    return [sys.executable, "-m", "lucent_platform.cli", *args]


def test_a_worker_run_with_known_secrets_leaks_none(
    own_broker: str, nats_with_password: str, tmp_path: Path
) -> None:
    """The bridge, authenticated to NATS by user and password (from a file), forwards a record;
    its log (DEBUG), its /metrics and `lucent settings` hold none of the secrets."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    provision_topics(settings, own_broker)
    port = free_port()
    env = worker_env(tmp_path, own_broker, nats_with_password, LUCENT_METRICS_PORT=str(port))
    log = tmp_path / "bridge.log"
    worker = subprocess.Popen(_lucent("worker", "bridge"), env=env, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)  # fmt: skip
    metrics = ""
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            record, _ = yield_signal(f"pool-{time.monotonic_ns()}")
            produce(settings, own_broker, YIELD_OPPORTUNITIES, [record])
            try:
                url = f"http://{LOOPBACK}:{port}/metrics"
                metrics = urllib.request.urlopen(url, timeout=5).read().decode()
            except OSError:
                metrics = ""
            if _acks(metrics) >= 1:
                break
            time.sleep(1)
        assert _acks(metrics) >= 1, "the bridge never published to the authenticated NATS"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    shown = subprocess.run(_lucent("settings"), env=env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    output = log.read_text()
    assert "DEBUG" in output or "INFO" in output
    assert leaks(output) == [] and leaks(metrics) == []
    assert leaks(shown.stdout + shown.stderr) == []
    assert '"nats_password": "**********"' in shown.stdout
    assert '"clickhouse_url": "http://127.0.0.1:9"' in shown.stdout


def _acks(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("lucent_nats_publish_acks_total{")
    )


def test_refused_credentials_leak_nothing_in_the_errors(
    own_broker: str, nats_with_password: str, tmp_path: Path
) -> None:
    """A wrong NATS password (the server refuses it) and a SASL_SSL client against the plain
    broker: the errors name the problem, never a secret."""
    wrong = worker_env(tmp_path, own_broker, nats_with_password)
    wrong.pop("LUCENT_NATS_PASSWORD_FILE")
    wrong["LUCENT_NATS_PASSWORD"] = "nats-pw-3f9a1c-but-wrong"
    log = tmp_path / "refused.log"
    worker = subprocess.Popen(_lucent("worker", "bridge"), env=wrong, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "not reachable" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    refused = log.read_text()
    assert "not reachable" in refused and "uthorization" in refused
    assert leaks(refused) == []

    sasl = worker_env(
        tmp_path, own_broker, nats_with_password,
        LUCENT_KAFKA_SECURITY_PROTOCOL="SASL_SSL", LUCENT_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        LUCENT_KAFKA_SASL_USERNAME="lucent",
        LUCENT_KAFKA_SASL_PASSWORD=SECRETS["LUCENT_KAFKA_SASL_PASSWORD"],
    )  # fmt: skip
    listed = subprocess.run(_lucent("topics", "list"), env=sasl, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert listed.returncode != 0
    assert leaks(listed.stdout + listed.stderr) == []


# --- dependency audit ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_make_audit_is_strict_and_reads_the_allow_list() -> None:
    """`make audit` fails when a package cannot be checked (no silent pass offline) and skips
    only what audit-allowlist.txt accepts, each entry with its reason and review date."""
    makefile = (ROOT / "Makefile").read_text()
    target = makefile.split("\naudit:", 1)[1].split("\n\n", 1)[0]
    assert "pip-audit --strict" in target and "-r requirements.lock" in target
    assert "audit-allowlist.txt" in target
    for line in (ROOT / "audit-allowlist.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            ident, _, reason = line.strip().partition(" ")
            assert ident.split("-")[0] in {"PYSEC", "GHSA", "CVE", "OSV"}, line
            assert "review by" in reason, line
