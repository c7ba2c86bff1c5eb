"""Parsing eth_getLogs log objects: the recorded shape parses, anything else is ChainDecodeError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.logs import parse_log

BLOCK = Path(__file__).parent / "fixtures/chain/uniswap_v2/logs_block_11017338.json"


def _sync() -> dict[str, Any]:
    return json.loads(BLOCK.read_text())[2]  # a Uniswap V2 Sync, log index 2


def test_recorded_log_object_parses_to_ints_and_lower_hex() -> None:
    obj = _sync()
    log = parse_log(obj, chain_id=1)
    assert (log.chain, log.block_number, log.log_index, log.tx_index) == (
        "ethereum",
        11017338,
        2,
        1,
    )
    assert log.address == obj["address"] and log.tx_hash == obj["transactionHash"]
    assert log.topics == (bytes.fromhex(obj["topics"][0][2:]),)
    assert log.data == bytes.fromhex(obj["data"][2:])
    assert log.removed is False


def test_a_chain_without_a_name_keeps_its_id() -> None:
    assert parse_log(_sync(), chain_id=999_999).chain == "999999"


@pytest.mark.parametrize(
    "change",
    [
        {"blockNumber": None},  # pending
        {"logIndex": None},  # pending
        {"address": "0x1234"},
        {"topics": ["0x1234"]},
        {"topics": "0x" + "00" * 32},
        {"topics": ["0x" + "00" * 32] * 5},
        {"data": "deadbeef"},
        {"data": "0xzz"},
        {"removed": "false"},
        {"transactionHash": 7},
    ],
)
def test_malformed_log_objects_are_a_chain_decode_error(change: dict[str, Any]) -> None:
    with pytest.raises(ChainDecodeError):
        parse_log({**_sync(), **change}, chain_id=1)


def test_a_non_object_is_a_chain_decode_error() -> None:
    with pytest.raises(ChainDecodeError):
        parse_log([], chain_id=1)  # type: ignore[arg-type]
