"""Security settings: secrets read from ``LUCENT_X`` or a file named by ``LUCENT_X_FILE``, the
combinations that cannot work refused at startup, and Kafka's security as librdkafka keys.

``config.Settings`` calls these from its validators and from ``kafka_common`` (the one place
every librdkafka config is built). Messages name the variables to fix, never a secret's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

if TYPE_CHECKING:
    from lucent_platform.config import Settings

# Every secret setting that also reads from a file (``LUCENT_<NAME>_FILE``).
SECRET_FILES = (
    "kafka_sasl_password",
    "kafka_ssl_key_password",
    "nats_password",
    "nats_token",
    "clickhouse_password",
    "schema_registry_password",
    "eventstore_uri",
)

# Settings whose invalid value is never echoed back in an error message.
SECRET_WORDS = ("password", "token", "secret", "uri", "kafka_config")

# librdkafka keys that hold a secret: they have settings of their own, not the passthrough.
_PASSTHROUGH_SECRETS = {
    "sasl.password": "LUCENT_KAFKA_SASL_PASSWORD",
    "ssl.key.password": "LUCENT_KAFKA_SSL_KEY_PASSWORD",
    "ssl.keystore.password": "LUCENT_KAFKA_SSL_CA_LOCATION/_CERTIFICATE_LOCATION/_KEY_LOCATION",
    "sasl.oauthbearer.client.secret": "LUCENT_KAFKA_SASL_MECHANISM (PLAIN or SCRAM)",
}
_USER_MECHANISMS = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}


def _var(name: str) -> str:
    return f"LUCENT_{name.upper()}"


def read_secret_files(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (the raw settings) with each ``X_FILE``'s contents as ``X``; a file that cannot
    be read, or ``X`` and ``X_FILE`` both set (to different values), is a ``ValueError``."""
    data = dict(data)
    for name in SECRET_FILES:
        path = data.get(f"{name}_file")
        if path in (None, ""):
            continue
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(
                f"{_var(name)}_FILE: cannot read {path} ({exc.strerror or exc}) — "
                "point it at the file holding the secret, or unset it"
            ) from None
        given = data.get(name)
        if isinstance(given, SecretStr):
            given = given.get_secret_value()
        if given not in (None, "") and given != value:
            raise ValueError(f"{_var(name)} and {_var(name)}_FILE are both set — keep one of them")
        data[name] = value
    return data


def check_files(settings: Settings) -> None:
    """Every certificate, key and credentials file the settings name must exist."""
    for name in (
        "kafka_ssl_ca_location",
        "kafka_ssl_certificate_location",
        "kafka_ssl_key_location",
        "nats_creds_file",
        "nats_tls_ca",
        "clickhouse_ca_cert",
    ):
        path = getattr(settings, name)
        if path is not None and not Path(path).is_file():
            raise ValueError(f"{_var(name)}: no file at {path} — fix the path or unset it")
    url = settings.clickhouse_url
    if settings.clickhouse_ca_cert is not None and url and not url.startswith("https://"):
        raise ValueError(
            "LUCENT_CLICKHOUSE_CA_CERT is for TLS: LUCENT_CLICKHOUSE_URL must be https://…"
        )


def _effective(settings: Settings) -> tuple[str, str | None]:
    """The protocol and SASL mechanism in force: the setting, else the passthrough's."""
    passthrough = settings.kafka_config
    protocol: str = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        protocol = str(passthrough.get("security.protocol", "PLAINTEXT")).upper()
    mechanism = settings.kafka_sasl_mechanism or passthrough.get(
        "sasl.mechanisms", passthrough.get("sasl.mechanism")
    )
    return protocol, str(mechanism).upper() if mechanism else None


def check_kafka(settings: Settings) -> None:
    """Refuse the Kafka security combinations that cannot connect, naming what to set."""
    for key, instead in _PASSTHROUGH_SECRETS.items():
        if key in settings.kafka_config:
            raise ValueError(
                f"LUCENT_KAFKA_CONFIG holds {key!r}, a secret — remove it and use {instead} "
                "(or its _FILE form), which is never printed"
            )
    overlap = sorted(set(kafka_security(settings)) & set(settings.kafka_config))
    if overlap:
        raise ValueError(
            f"LUCENT_KAFKA_CONFIG sets {', '.join(overlap)}, which the LUCENT_KAFKA_SECURITY_* "
            "/ _SASL_* / _SSL_* settings also set — keep one of the two"
        )
    protocol, mechanism = _effective(settings)
    sasl = protocol.startswith("SASL_")
    if mechanism and not sasl:
        raise ValueError(
            "LUCENT_KAFKA_SASL_MECHANISM needs LUCENT_KAFKA_SECURITY_PROTOCOL=SASL_SSL "
            f"(or SASL_PLAINTEXT), not {protocol}"
        )
    if sasl and not mechanism:
        raise ValueError(
            f"LUCENT_KAFKA_SECURITY_PROTOCOL={protocol} needs LUCENT_KAFKA_SASL_MECHANISM "
            "(SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN)"
        )
    user, password = settings.kafka_sasl_username, settings.kafka_sasl_password
    if mechanism in _USER_MECHANISMS and (not user or password is None):
        missing = " and ".join(
            v
            for v, absent in (
                ("LUCENT_KAFKA_SASL_USERNAME", not user),
                ("LUCENT_KAFKA_SASL_PASSWORD (or _FILE)", password is None),
            )
            if absent
        )
        raise ValueError(f"LUCENT_KAFKA_SASL_MECHANISM={mechanism} needs {missing}")
    if (user or password is not None) and not sasl:
        raise ValueError(
            "LUCENT_KAFKA_SASL_USERNAME/_PASSWORD are set but the protocol is "
            f"{protocol} — set LUCENT_KAFKA_SECURITY_PROTOCOL=SASL_SSL and "
            "LUCENT_KAFKA_SASL_MECHANISM, or unset them"
        )
    tls_files = [
        name
        for name in ("ssl_ca_location", "ssl_certificate_location", "ssl_key_location")
        if getattr(settings, f"kafka_{name}") is not None
    ]
    if tls_files and protocol not in {"SSL", "SASL_SSL"}:
        raise ValueError(
            f"{_var('kafka_' + tls_files[0])} is for TLS, but the protocol is {protocol} — "
            "set LUCENT_KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL"
        )
    tls_cert, tls_key = settings.kafka_ssl_certificate_location, settings.kafka_ssl_key_location
    if (tls_cert is None) != (tls_key is None):
        raise ValueError(
            "LUCENT_KAFKA_SSL_CERTIFICATE_LOCATION and LUCENT_KAFKA_SSL_KEY_LOCATION go "
            "together (mutual TLS) — set both or neither"
        )
    if settings.kafka_ssl_key_password is not None and tls_key is None:
        raise ValueError(
            "LUCENT_KAFKA_SSL_KEY_PASSWORD is set without LUCENT_KAFKA_SSL_KEY_LOCATION"
        )


def check_nats(settings: Settings) -> None:
    """One way to authenticate to NATS: user and password, a token, or a creds file."""
    user, password = settings.nats_user, settings.nats_password
    if bool(user) != (password is not None):
        raise ValueError(
            "LUCENT_NATS_USER and LUCENT_NATS_PASSWORD (or _FILE) go together — set both"
        )
    ways = [
        name
        for name, given in (
            ("LUCENT_NATS_USER/_PASSWORD", bool(user)),
            ("LUCENT_NATS_TOKEN", settings.nats_token is not None),
            ("LUCENT_NATS_CREDS_FILE", settings.nats_creds_file is not None),
        )
        if given
    ]
    if len(ways) > 1:
        raise ValueError(f"NATS credentials: {' and '.join(ways)} are set — use one")


def kafka_security(settings: Settings) -> dict[str, Any]:
    """The librdkafka keys of the security settings that are set."""
    conf: dict[str, Any] = {}
    if settings.kafka_security_protocol != "PLAINTEXT":
        conf["security.protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism is not None:
        conf["sasl.mechanisms"] = settings.kafka_sasl_mechanism
    if settings.kafka_sasl_username is not None:
        conf["sasl.username"] = settings.kafka_sasl_username
    if settings.kafka_sasl_password is not None:
        conf["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    paths: Mapping[str, Path | None] = {
        "ssl.ca.location": settings.kafka_ssl_ca_location,
        "ssl.certificate.location": settings.kafka_ssl_certificate_location,
        "ssl.key.location": settings.kafka_ssl_key_location,
    }
    conf.update({key: str(path) for key, path in paths.items() if path is not None})
    if settings.kafka_ssl_key_password is not None:
        conf["ssl.key.password"] = settings.kafka_ssl_key_password.get_secret_value()
    return conf
