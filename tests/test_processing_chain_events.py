"""The processor on the two raw on-chain kinds: bridge transfers and unknown pools' swaps.

Inputs are the decoders' own envelopes of recorded logs (the Optimism ETH deposit of block
17459684, the unregistered Uniswap V2 pair's swap of block 11017338), so what the chain worker
publishes is what is checked here.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from lucent_platform import topics
from lucent_platform.chains.bridges import bridge_envelopes
from lucent_platform.chains.logs import parse_log
from lucent_platform.envelope import Envelope, decode, encode
from lucent_platform.messages import BridgeTransfer, PoolSwap
from lucent_platform.processing import InRecord, MarketProcessor, ProcessorConfig, deadletter
from tests.chain_fixtures import recorded_logs
from tests.message_samples import SAMPLES

BLOCK_MS = 1_686_520_751_000  # block 17459684
RECEIVED_MS = BLOCK_MS + 86_400_000  # a day later: a backfill, still news for on-chain kinds


def deposit_envelope() -> Envelope[Any]:
    item = recorded_logs("bridges/logs_recorded.json")[0]
    (envelope,) = bridge_envelopes(
        parse_log(item["log"], chain_id=1), received_ms=RECEIVED_MS, block_time_ms=BLOCK_MS
    )
    return envelope


def swap_envelope(**changes: Any) -> Envelope[Any]:
    envelope = deposit_envelope()  # the same header rules; a swap's data
    data = msgspec.structs.replace(SAMPLES["pool_swap"], **changes)
    header = msgspec.structs.replace(
        envelope.header, message_type="pool_swap", message_id="swap-" + str(sorted(changes))
    )
    return Envelope(header, data, envelope.metadata)


def run(topic: str, *envelopes: Envelope[Any]) -> list[Any]:
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: RECEIVED_MS + 5)
    records = [
        InRecord(topic, 0, offset, RECEIVED_MS, None, encode(envelope))
        for offset, envelope in enumerate(envelopes)
    ]
    result = processor.process(records)
    counts = result.counts
    assert counts["in"] == counts["normalized"] + counts["dead_lettered"] + counts["duplicates"]
    return result.outputs


def with_data(envelope: Envelope[Any], **changes: Any) -> Envelope[Any]:
    header = msgspec.structs.replace(
        envelope.header, message_id=envelope.header.message_id + str(sorted(changes))
    )
    return Envelope(header, msgspec.structs.replace(envelope.data, **changes), envelope.metadata)


def test_a_bridge_transfer_is_normalized_keyed_by_its_l2() -> None:
    envelope = deposit_envelope()
    shouting = with_data(
        envelope,
        from_address=envelope.data.from_address.upper().replace("0X", "0x"),
        l2="Optimism",
        token="eth",
    )
    (out,) = run(topics.bridges("optimism"), shouting)
    assert (out.topic, out.key) == (topics.normalized(topics.Kind.BRIDGES), b"optimism")
    data = decode(out.value, BridgeTransfer).data
    assert data == envelope.data  # canonical: exactly as the decoder wrote it
    assert (data.l2, data.token, data.amount_raw) == ("optimism", "ETH", "100857001000000000000")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"to_address": "0x31e7b932"}, "invalid_address"),
        ({"tx_hash": "0xabc"}, "invalid_address"),
        ({"amount_raw": "100.857001"}, "invalid_amount"),
        ({"amount_raw": "-1"}, "invalid_amount"),
        ({"sequence_number": "0x504c"}, "invalid_amount"),
        ({"amount": -100.857001}, "invalid_volume"),
        ({"l2": "opti mism"}, "invalid_pair"),
    ],
)
def test_a_malformed_bridge_transfer_is_dead_lettered_with_its_reason(
    changes: dict[str, Any], reason: str
) -> None:
    (out,) = run(topics.bridges("optimism"), with_data(deposit_envelope(), **changes))
    assert out.topic == topics.DEADLETTER
    assert deadletter.decode(out.value).reason == reason


def test_the_same_log_through_two_rpc_nodes_is_one_transfer() -> None:
    envelope = deposit_envelope()
    other_node = Envelope(
        msgspec.structs.replace(envelope.header, message_id="from-the-second-node"),
        envelope.data,
        envelope.metadata,
    )
    outputs = run(topics.bridges("optimism"), envelope, other_node)
    assert [o.topic for o in outputs] == [topics.normalized(topics.Kind.BRIDGES)]


def test_an_unknown_pools_swap_is_normalized_keyed_by_pool_with_no_price() -> None:
    (out,) = run(topics.swaps("ethereum"), swap_envelope())
    pool = SAMPLES["pool_swap"].pool
    assert (out.topic, out.key) == (topics.normalized(topics.Kind.SWAPS), pool.encode())
    data = decode(out.value, PoolSwap).data
    assert (data.amount0, data.amount1, data.price) == (
        "-499000000000000000000",
        "664510977762648404",
        None,
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount1": None}, "invalid_amount"),
        ({"amount0": "1e21"}, "invalid_amount"),
        ({"event": "sync"}, "invalid_amount"),  # a sync without reserves
        ({"pool": "uniswap"}, "invalid_address"),
        ({"price": 0.0}, "invalid_price"),
        ({"chain": ""}, "invalid_pair"),
    ],
)
def test_a_malformed_pool_swap_is_dead_lettered_with_its_reason(
    changes: dict[str, Any], reason: str
) -> None:
    (out,) = run(topics.swaps("ethereum"), swap_envelope(**changes))
    assert out.topic == topics.DEADLETTER
    assert deadletter.decode(out.value).reason == reason


def test_a_sync_with_reserves_passes_and_a_transfer_on_the_swaps_topic_does_not() -> None:
    sync = swap_envelope(event="sync", amount0=None, amount1=None, reserve0="5", reserve1="7")
    (out,) = run(topics.swaps("ethereum"), sync)
    assert out.topic == topics.normalized(topics.Kind.SWAPS)
    (wrong,) = run(topics.swaps("ethereum"), deposit_envelope())
    assert deadletter.decode(wrong.value).reason == "wrong_topic"
