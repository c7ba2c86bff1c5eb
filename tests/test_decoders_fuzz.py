"""Hypothesis on the decoders that had no property test yet: dead letters, alert rules and
their keys, domain commands and the bridge's signal records, and every JSON settings parser
(``LUCENT_*_CONFIG``). Any input: a value or the decoder's documented error, never another
exception. (The envelope, the connectors and the chain decoders have theirs beside them.)"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucent_platform.chains.config import chains_config
from lucent_platform.datasets.config import dataset_config
from lucent_platform.domain import commands
from lucent_platform.domain.bridge import Rejected, command_for
from lucent_platform.domain.config import DomainConfig, domain_config
from lucent_platform.monitoring.config import MonitorConfig, monitor_config
from lucent_platform.processing import deadletter
from lucent_platform.processing.config import processor_config
from lucent_platform.processing.dedup import DedupConfig
from lucent_platform.processing.enrichment import EnrichmentConfig
from lucent_platform.processing.validation import ValidationConfig
from lucent_platform.quality.config import QualityConfig, quality_config
from lucent_platform.signals.apps.alert_rules import parse_rule, parse_rule_id
from lucent_platform.signals.apps.alerts import AlertsConfig, alerts_config
from lucent_platform.signals.apps.arbitrage import ArbitrageConfig, arbitrage_config
from lucent_platform.signals.apps.patterns import PatternsConfig, patterns_config
from lucent_platform.signals.apps.yields import YieldConfig, yield_config
from lucent_platform.topics import ARBITRAGE_OPPORTUNITIES, USER_ALERTS, YIELD_OPPORTUNITIES
from tests.fixtures.hostile import TEXTS, json_text, rule

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(max_size=12) | st.sampled_from([t[:300] for t in TEXTS.values()])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT
    | st.sampled_from([0, -1, 2**63, 1e400, "1e9", "NaN", "10m", [1000, 10], {"x": 1}]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def _fields(*kinds: type) -> list[str]:
    return sorted({f.name for kind in kinds for f in dataclasses.fields(kind)})


def objects(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects whose keys are mostly the real field names, with any values."""
    return st.dictionaries(st.sampled_from(keys) | TEXT, JSON, max_size=5)


# --- msgspec decoders: dead letters, domain commands ------------------------------------------
@pytest.mark.parametrize("decoder", [deadletter.decode, commands.decode], ids=["letter", "command"])
@FUZZ
@given(value=st.binary(max_size=400) | JSON.map(json_text))
def test_any_bytes_are_a_value_or_a_decode_error(
    decoder: Callable[[bytes], object], value: bytes
) -> None:
    with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
        decoder(value)


# --- dead letters -----------------------------------------------------------------------------


@FUZZ
@given(
    reason=TEXT, detail=st.text(max_size=3000), topic=TEXT, original=st.binary(max_size=300),
    message_id=st.none() | st.text(max_size=20), partition=st.integers(-(2**63), 2**63 - 1),
)  # fmt: skip
def test_any_dead_letter_encodes_and_reads_back(
    reason: str, detail: str, topic: str, original: bytes, message_id: str | None, partition: int
) -> None:
    """Lone surrogates from bad input in the reason, detail or id: escaped, never an error."""
    letter = deadletter.DeadLetter(
        reason=reason, detail=detail, source_topic=topic.encode("utf-8", "replace").decode(),
        source_partition=partition, source_offset=0, source_timestamp_ms=0,
        dead_lettered_at_ms=0, original_base64=original, message_id=message_id,
    )  # fmt: skip
    back = deadletter.decode(deadletter.encode(letter))
    assert back.original_base64 == original and back.source_partition == partition
    assert len(back.detail) <= deadletter.MAX_DETAIL_CHARS + 30


# --- alert rules ------------------------------------------------------------------------------
RULE_KEYS = ["userId", "pair", "type", "level", "exchange", "windowMs"]


@FUZZ
@given(
    st.binary(max_size=200)
    | objects(RULE_KEYS).map(json_text)
    | st.builds(lambda k, v: json_text({**rule(), k: v}), st.sampled_from(RULE_KEYS), JSON)
)  # fmt: skip
def test_any_rule_record_is_a_canonical_rule_or_a_value_error(value: bytes) -> None:
    try:
        parsed = parse_rule(value)
    except ValueError:
        return
    assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", parsed.pair)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,200}", parsed.user_id)
    assert math.isfinite(parsed.level) and parsed.level > 0
    assert parsed.exchange is None or re.fullmatch(r"[a-z0-9][a-z0-9._-]*", parsed.exchange)


@FUZZ
@given(st.binary(max_size=300) | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_rule_key_is_a_printable_id_or_a_value_error(key: bytes) -> None:
    try:
        text = parse_rule_id(key)
    except ValueError:
        return
    assert text.isprintable() and 0 < len(text) <= 200


# --- the bridge's signal records --------------------------------------------------------------
@FUZZ
@given(
    st.sampled_from([USER_ALERTS, YIELD_OPPORTUNITIES, ARBITRAGE_OPPORTUNITIES, "x"]),
    st.none() | st.binary(max_size=300) | JSON.map(json_text),
)
def test_any_signal_record_is_a_command_or_rejected(topic: str, value: bytes | None) -> None:
    try:
        command_for(topic, 0, 0, value, 0)
    except Rejected as exc:
        assert exc.reason


# --- JSON settings (LUCENT_*_CONFIG) ----------------------------------------------------------
PARSERS: dict[str, tuple[Callable[[Mapping[str, Any]], Any], list[str]]] = {
    "processor": (processor_config, ["validation", "dedup", "enrichment"]),
    "alerts": (alerts_config, _fields(AlertsConfig)),
    "arbitrage": (arbitrage_config, _fields(ArbitrageConfig)),
    "patterns": (patterns_config, _fields(PatternsConfig)),
    "yield": (yield_config, _fields(YieldConfig)),
    "monitor": (monitor_config, _fields(MonitorConfig)),
    "quality": (quality_config, _fields(QualityConfig)),
    "domain": (domain_config, _fields(DomainConfig)),
    "dataset": (dataset_config, []),
    "chains": (chains_config, ["ethereum", "arbitrum", "base"]),
}
SECTION_KEYS = _fields(ValidationConfig, DedupConfig, EnrichmentConfig)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_json_setting_is_a_config_or_a_value_error(name: str, data: st.DataObject) -> None:
    parse, keys = PARSERS[name]
    inner = objects(SECTION_KEYS if name == "processor" else ["url", "rpc_url", "poll_s"])
    value = data.draw(
        st.dictionaries(st.sampled_from(keys) | TEXT, JSON | inner, max_size=4)
        if keys
        else objects(["name", "pairs", "start", "end"]),
        label="settings",
    )
    try:
        parse(value)
    except ValueError as exc:
        assert str(exc)
