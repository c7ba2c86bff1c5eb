"""Registering the message schemas in a Confluent-compatible Schema Registry.

No such registry can run on these machines (none ships as a Python package we can install;
Karapace is not on the package index here), so the registration against a real registry runs
only when ``LUCENT_TEST_SCHEMA_REGISTRY_URL`` points at one — the same gap as the
EventStoreDB contract tests. Always run: the asset's failure against an address where nothing
listens, and what the adapter sends (subject quoting, basic auth) checked on the request
objects urllib builds — no fake registry answers anything.
"""

from __future__ import annotations

import json
import os
import urllib.request

import dagster as dg
import pytest

from assets.schemas import message_schemas
from lucent_platform.adapters import schema_registry
from lucent_platform.adapters.schema_registry import SchemaRegistry, SchemaRegistryError
from lucent_platform.schema_subjects import COMPATIBILITY, registrations
from resources.schema_registry import SchemaRegistryResource

REGISTRY = os.environ.get("LUCENT_TEST_SCHEMA_REGISTRY_URL")


def test_unreachable_registry_names_the_setting() -> None:
    registry = SchemaRegistry("http://127.0.0.1:9", timeout=2)
    with pytest.raises(SchemaRegistryError, match="check LUCENT_SCHEMA_REGISTRY_URL"):
        registry.config()


def test_requests_quote_record_name_subjects_and_carry_basic_auth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[urllib.request.Request] = []

    def refuse(request: urllib.request.Request, timeout: float) -> None:
        sent.append(request)
        raise ConnectionRefusedError("not sent: inspected only")

    monkeypatch.setattr(schema_registry.urllib.request, "urlopen", refuse)
    registry = SchemaRegistry("http://registry.invalid/", username="key", password="secret")
    with pytest.raises(SchemaRegistryError):
        registry.register("lucent.market.PriceUpdateEnvelope", '{"type": "string"}')
    [request] = sent
    assert request.full_url == (
        "http://registry.invalid/subjects/lucent.market.PriceUpdateEnvelope/versions"
    )
    assert request.get_method() == "POST"
    assert request.get_header("Authorization") == "Basic a2V5OnNlY3JldA=="
    assert request.get_header("Content-type") == schema_registry.CONTENT_TYPE
    assert json.loads(request.data or b"") == {"schema": '{"type": "string"}'}


@pytest.mark.skipif(REGISTRY is None, reason="LUCENT_TEST_SCHEMA_REGISTRY_URL not set")
def test_message_schemas_registers_every_version_in_a_real_registry() -> None:
    assert REGISTRY is not None
    resources = {"schema_registry": SchemaRegistryResource(url=REGISTRY)}
    first = dg.materialize([message_schemas], resources=resources)
    second = dg.materialize([message_schemas], resources=resources)  # same ids again
    for result in (first, second):
        [materialization] = result.asset_materializations_for_node("message_schemas")
        assert materialization.metadata["versions"].value == len(registrations())
    registry = SchemaRegistry(REGISTRY)
    newest = {step.subject: step for step in registrations()}
    for subject, step in newest.items():
        _, text = registry.latest(subject)
        assert json.loads(text) == json.loads(step.schema)
        assert registry.compatibility(subject) == COMPATIBILITY
