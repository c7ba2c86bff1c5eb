"""A Confluent-compatible Schema Registry over its REST API (stdlib HTTP, no client library).

confluent-kafka's own ``SchemaRegistryClient`` needs authlib, httpx and cachetools, which are
not in our dependencies; four REST calls do not justify them. The calls, as documented for
Confluent Schema Registry (and implemented by Karapace, Redpanda and Apicurio's ccompat API):

    PUT  /config/{subject}                  {"compatibility": "BACKWARD"}
    POST /subjects/{subject}/versions       {"schema": "<avro json>"}   → {"id": 7}
    GET  /subjects/{subject}/versions/latest, GET /config/{subject}, GET /config

Errors raise ``SchemaRegistryError`` with the registry's own message (409 = incompatible).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(RuntimeError):
    """The registry refused a request or could not be reached; the message says which."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SchemaRegistry:
    """A registry at ``url``; ``username``/``password`` for basic auth when set."""

    url: str
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def config(self) -> dict[str, Any]:
        """The registry's global config (a cheap call that proves it answers)."""
        return self._call("GET", "/config")

    def set_compatibility(self, subject: str, level: str) -> None:
        self._call("PUT", f"/config/{_quote(subject)}", {"compatibility": level})

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` (Avro JSON text) under ``subject``; its global id. Registering
        a schema the subject already holds returns the existing id."""
        answer = self._call("POST", f"/subjects/{_quote(subject)}/versions", {"schema": schema})
        return int(answer["id"])

    def latest(self, subject: str) -> tuple[int, str]:
        """The subject's newest registered schema: (its global id, its text)."""
        answer = self._call("GET", f"/subjects/{_quote(subject)}/versions/latest")
        return int(answer["id"]), str(answer["schema"])

    def compatibility(self, subject: str) -> str:
        """The compatibility level set on ``subject`` itself."""
        answer = self._call("GET", f"/config/{_quote(subject)}")
        return str(answer.get("compatibilityLevel") or answer.get("compatibility"))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.url.rstrip("/") + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE, **self._auth()},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = _error_message(exc.read())
            raise SchemaRegistryError(
                f"schema registry {method} {path}: HTTP {exc.code}: {detail}", exc.code
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SchemaRegistryError(
                f"schema registry at {self.url} did not answer ({reason}) — "
                "check LUCENT_SCHEMA_REGISTRY_URL"
            ) from None

    def _auth(self) -> dict[str, str]:
        if self.username is None:
            return {}
        token = f"{self.username}:{self.password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(token).decode()}


def _quote(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")


def _error_message(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:500]
    if isinstance(payload, dict) and "message" in payload:
        return str(payload["message"])
    return str(payload)[:500]
