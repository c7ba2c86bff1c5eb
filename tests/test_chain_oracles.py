"""Chainlink and Band decoders: the recorded YFI/ETH ``AnswerUpdated`` logs (block 11017338) and
call returns built from documented ABI layouts, checked against plain-int arithmetic."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.logs import parse_log
from lucent_platform.chains.oracles import (
    ANSWER_UPDATED,
    answer_updated_envelopes,
    decode_answer_updated,
    decode_band_reference,
    decode_latest_round_data,
)
from tests.chain_fixtures import recorded_logs

LOGS = recorded_logs("chainlink/logs_AnswerUpdated.json")
RECEIVED_MS = 1_602_193_400_000


def test_recorded_answers_are_yfi_eth_prices_with_their_location() -> None:
    for obj in LOGS:
        (envelope,) = answer_updated_envelopes(
            parse_log(obj, chain_id=1), received_ms=RECEIVED_MS, block_time_ms=None
        )
        answer = int(obj["topics"][1], 16)
        assert envelope.data.pair == "YFI-ETH"
        assert envelope.data.exchange == "chainlink"
        assert envelope.data.price == float(Decimal(answer) / Decimal(10**18))
        assert envelope.data.block_number == int(obj["blockNumber"], 16) == 11017338
        assert envelope.data.log_index == int(obj["logIndex"], 16)
        assert envelope.data.tx_hash == obj["transactionHash"]
        assert envelope.header.source == "ethereum-rpc"
        assert envelope.metadata.quality_flags == ["no_event_time"]
    first = decode_answer_updated(
        parse_log(LOGS[0], chain_id=1).topics, bytes.fromhex(LOGS[0]["data"][2:])
    )
    assert (first.answer, first.round_id, first.updated_at_s) == (
        48564850663303835000,
        168,
        1602193349,
    )


def test_an_answer_older_than_its_max_age_is_stale() -> None:
    log = parse_log(LOGS[0], chain_id=1)
    updated_ms = int(LOGS[0]["data"], 16) * 1000
    (fresh,) = answer_updated_envelopes(
        log, received_ms=RECEIVED_MS, block_time_ms=updated_ms + 60_000
    )
    (stale,) = answer_updated_envelopes(
        log, received_ms=RECEIVED_MS, block_time_ms=updated_ms + 3_601_000
    )
    assert fresh.metadata.quality_flags is None
    assert stale.metadata.quality_flags == ["stale"] and stale.metadata.data_quality == "low"


def test_an_unknown_aggregator_still_yields_an_envelope_marked_unknown_feed() -> None:
    obj = {**LOGS[0], "address": "0x" + "11" * 20}
    (envelope,) = answer_updated_envelopes(
        parse_log(obj, chain_id=1), received_ms=RECEIVED_MS, block_time_ms=None
    )
    assert envelope.data.price == 0.0
    assert envelope.data.pair == "UNKNOWN-0x" + "11" * 20
    assert "unknown_feed" in (envelope.metadata.quality_flags or [])


def test_a_removed_log_retracts_the_same_message_id() -> None:
    log = parse_log(LOGS[0], chain_id=1)
    removed = parse_log({**LOGS[0], "removed": True}, chain_id=1)
    (kept,) = answer_updated_envelopes(log, received_ms=RECEIVED_MS, block_time_ms=None)
    (gone,) = answer_updated_envelopes(removed, received_ms=RECEIVED_MS + 5, block_time_ms=None)
    assert gone.header.message_id == kept.header.message_id
    assert "retracted" in (gone.metadata.quality_flags or [])


def test_latest_round_data_and_band_reference_returns() -> None:
    # Built with eth-abi from the documented return layouts (not recorded: see PROVENANCE.md).
    result = encode(
        ["uint80", "int256", "uint256", "uint256", "uint80"],
        [168, 48564850663303835000, 1602193300, 1602193349, 168],
    )
    round_ = decode_latest_round_data(result)
    assert (round_.round_id, round_.answer, round_.updated_at_s) == (
        168,
        48564850663303835000,
        1602193349,
    )
    assert round_.price(18) == Decimal("48.564850663303835")
    band = decode_band_reference(
        encode(["uint256"] * 3, [3_412_500_000_000_000_000_000, 1700000060, 1700000000])
    )
    assert band.price() == Decimal("3412.5")
    assert band.updated_at_s == 1700000000
    with pytest.raises(ChainDecodeError):
        decode_latest_round_data(result[:-1])


@given(
    topics=st.lists(st.one_of(st.just(ANSWER_UPDATED), st.binary(max_size=40)), max_size=5),
    data=st.binary(max_size=200),
)
def test_any_topics_and_bytes_fail_only_with_chain_decode_error(
    topics: list[bytes], data: bytes
) -> None:
    for decode in (decode_answer_updated,):
        with contextlib.suppress(ChainDecodeError):
            decode(topics, data)
    for call in (decode_latest_round_data, decode_band_reference):
        with contextlib.suppress(ChainDecodeError):
            call(data)
