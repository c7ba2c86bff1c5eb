"""The envelope: every kind round-trips, the design record's example decodes, bad bytes fail."""

from __future__ import annotations

import json
import uuid

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucent_platform.envelope import (
    Envelope,
    EnvelopeError,
    decode,
    decode_as,
    encode,
    iso_to_ms,
    message_id_for,
    ms_to_iso,
    new_envelope,
)
from lucent_platform.messages import MESSAGE_TYPES, Liquidity, PriceUpdate, Trade
from tests.message_samples import DESIGN_RECORD_EXAMPLE, SAMPLES, sample_envelope

KINDS = sorted(MESSAGE_TYPES)


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(MESSAGE_TYPES)
    assert all(type(SAMPLES[name]) is kind for name, kind in MESSAGE_TYPES.items())


@pytest.mark.parametrize("message_type", KINDS)
def test_round_trip(message_type: str) -> None:
    envelope = sample_envelope(message_type)
    kind = MESSAGE_TYPES[message_type]
    frame = encode(envelope)

    assert decode(frame) == envelope
    assert decode(frame, likely=kind) == envelope
    assert decode(frame, likely=PriceUpdate if kind is not PriceUpdate else Trade) == envelope
    assert decode_as(frame, kind) == envelope
    assert type(decode(frame).data) is kind


@pytest.mark.parametrize("message_type", KINDS)
def test_minimal_envelope_round_trips_without_optional_fields(message_type: str) -> None:
    envelope = sample_envelope(message_type)
    required = {
        f.name: getattr(envelope.data, f.name)
        for f in msgspec.structs.fields(envelope.data)
        if f.required
    }
    minimal = new_envelope(
        MESSAGE_TYPES[message_type](**required),
        source="s",
        event_time_ms=0,
        received_time_ms=1,
    )
    frame = encode(minimal)
    assert b"null" not in frame  # unset optionals are left out, not sent as null
    assert decode(frame) == minimal


def test_design_record_example_decodes_to_exactly_its_values() -> None:
    envelope = decode(DESIGN_RECORD_EXAMPLE)

    assert envelope.data == PriceUpdate(
        exchange="binance",
        pair="ETH-USDC",
        price=2847.52,
        volume24h=1234567.89,
        change24h=2.45,
        bid=2847.40,
        ask=2847.60,
        spread=0.20,
        liquidity=Liquidity(bid_size=100.5, ask_size=85.3),
    )
    header = envelope.header
    assert (header.message_id, header.timestamp, header.source) == (
        "uuid",
        "2025-09-02T10:30:00.123Z",
        "binance-websocket",
    )
    assert (header.message_type, header.version) == ("price_update", "1.0")
    assert header.correlation_id is None and header.causation_id is None
    # The record has no integer times: they are derived from its timestamp and latency.
    assert header.event_time_ms == 1756809000123
    assert header.received_time_ms == 1756809000123 + 15
    metadata = envelope.metadata
    assert (metadata.latency_ms, metadata.confidence_score, metadata.data_quality) == (
        15.0,
        0.98,
        "high",
    )
    assert decode_as(DESIGN_RECORD_EXAMPLE, PriceUpdate) == envelope


def test_unknown_fields_are_ignored_everywhere() -> None:
    frame = json.loads(encode(sample_envelope("price_update")))
    frame["routing"] = {"hops": [1, 2]}
    frame["header"]["traceparent"] = "00-abc-def-01"
    frame["data"]["vwap"] = 2846.9
    frame["data"]["liquidity"]["depth10"] = [1, 2, 3]
    frame["metadata"]["enrichedBy"] = "enricher-v2"

    assert decode(json.dumps(frame).encode()) == sample_envelope("price_update")


def _with(frame: bytes, path: tuple[str, ...], value: object) -> bytes:
    obj = json.loads(frame)
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(obj).encode()


_DELETE = object()
_GOOD = encode(sample_envelope("price_update"))


@pytest.mark.parametrize(
    ("frame", "reason_part"),
    [
        (b"", "truncated"),
        (b"not json", "malformed"),
        (b"[1, 2]", "Expected `object`, got `array`"),
        (b"\xff\xfe{}", "malformed"),
        (b'{"header": {"source": "\x80"}}', "utf-8"),
        (b'{"data": ' + b"[" * 100_000, "recursion"),
        (_GOOD[:-1], "truncated"),
        (_with(_GOOD, ("header", "messageType"), "candle"), "unknown messageType 'candle'"),
        (_with(_GOOD, ("header", "messageType"), 7), "`$.header.messageType`"),
        (_with(_GOOD, ("data", "price"), "2847.52"), "`$.data.price`"),
        (_with(_GOOD, ("data", "liquidity", "bidSize"), None), "`$.data.liquidity.bidSize`"),
        (_with(_GOOD, ("data", "pair"), _DELETE), "missing required field `pair`"),
        (_with(_GOOD, ("data",), [1]), "invalid price_update data"),
        (_with(_GOOD, ("metadata", "confidenceScore"), 1.5), "`$.metadata.confidenceScore`"),
        (_with(_GOOD, ("metadata",), _DELETE), "missing required field `metadata`"),
        (_with(_GOOD, ("header", "eventTimeMs"), "soon"), "`$.header.eventTimeMs`"),
        (_with(_GOOD, ("header", "eventTimeMs"), 2**70), "`$.header.eventTimeMs`"),
        (
            _with(_with(_GOOD, ("header", "eventTimeMs"), _DELETE), ("header", "timestamp"), "x"),
            "header.timestamp",
        ),
        (
            _with(
                _with(_GOOD, ("header", "eventTimeMs"), _DELETE),
                ("header", "timestamp"),
                "2025-09-02T10:30:00",
            ),
            "no UTC offset",
        ),
        (
            _with(
                _with(_GOOD, ("header", "receivedTimeMs"), _DELETE),
                ("metadata", "latencyMs"),
                1e300,
            ),
            "latencyMs",
        ),
    ],
)
def test_bad_frames_raise_envelope_error_with_a_reason(frame: bytes, reason_part: str) -> None:
    for attempt in (lambda: decode(frame), lambda: decode(frame, likely=PriceUpdate)):
        with pytest.raises(EnvelopeError) as raised:
            attempt()
        assert reason_part in raised.value.reason


def test_data_errors_name_the_message_type() -> None:
    with pytest.raises(EnvelopeError) as raised:
        decode(_with(_GOOD, ("data", "price"), "x"))
    assert raised.value.message_type == "price_update"


def test_decode_as_rejects_another_kind() -> None:
    with pytest.raises(EnvelopeError, match="expected messageType 'trade', got 'price_update'"):
        decode_as(_GOOD, Trade)


def test_every_truncation_of_a_frame_is_an_envelope_error() -> None:
    for end in range(len(_GOOD)):
        with pytest.raises(EnvelopeError):
            decode(_GOOD[:end])


def _decodes_or_envelope_error(frame: bytes) -> None:
    for likely in (None, PriceUpdate):
        try:
            assert isinstance(decode(frame, likely=likely), Envelope)
        except EnvelopeError as error:
            assert error.reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_decode_or_raise_envelope_error(frame: bytes) -> None:
    _decodes_or_envelope_error(frame)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_GOOD) - 1), st.binary(min_size=1, max_size=4))
def test_corrupted_frames_decode_or_raise_envelope_error(at: int, noise: bytes) -> None:
    _decodes_or_envelope_error(_GOOD[:at] + noise + _GOOD[at + len(noise) :])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_PATHS = [
    (part, field) for part in ("header", "data", "metadata") for field in json.loads(_GOOD)[part]
] + [("header",), ("data",), ("metadata",), ("data", "liquidity", "askSize")]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_PATHS), _JSON | st.just(_DELETE))
def test_any_json_value_in_any_field_decodes_or_raises_envelope_error(
    path: tuple[str, ...], value: object
) -> None:
    _decodes_or_envelope_error(_with(_GOOD, path, value))


def test_new_envelope_fills_the_header_and_latency() -> None:
    envelope = new_envelope(
        SAMPLES["trade"],
        source="binance-websocket",
        event_time_ms=1617566591314,
        received_time_ms=1617566591330,
    )

    assert envelope.header.timestamp == "2021-04-04T20:03:11.314Z"
    assert envelope.header.message_type == "trade"
    assert envelope.header.version == f"{type(SAMPLES['trade']).schema_version}.0"
    assert uuid.UUID(envelope.header.message_id).version == 4
    assert envelope.metadata.latency_ms == 16.0
    assert (envelope.metadata.confidence_score, envelope.metadata.data_quality) == (1.0, "high")


def test_new_envelope_rejects_a_confidence_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="confidence_score"):
        new_envelope(
            SAMPLES["trade"], source="s", event_time_ms=0, received_time_ms=0, confidence_score=1.2
        )


def test_message_ids_from_a_natural_key_are_stable_uuids() -> None:
    key = ("binance", "trade", "BTC-USDT", "665076760")
    assert message_id_for(*key) == message_id_for(*key)
    assert message_id_for(*key) != message_id_for("binance", "trade", "BTC-USDT", "665076761")
    assert message_id_for("a-b", "c") != message_id_for("a", "b-c")
    assert uuid.UUID(message_id_for(*key)).version == 5


@given(st.integers(-62135596800000, 253402300799999))
def test_iso_text_round_trips_epoch_ms(epoch_ms: int) -> None:
    text = ms_to_iso(epoch_ms)
    assert len(text) == 24 and text.endswith("Z")
    assert iso_to_ms(text) == epoch_ms


def test_iso_to_ms_accepts_offsets() -> None:
    assert iso_to_ms("2025-09-02T12:30:00.123+02:00") == 1756809000123
