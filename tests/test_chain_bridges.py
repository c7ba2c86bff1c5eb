"""Canonical bridge decoders: OP Stack standard bridges and Arbitrum's token gateways.

Seven logs are recorded mainnet logs (``tests/fixtures/chain/bridges/PROVENANCE.md``): amounts and
addresses are recomputed here from the hex with plain integer arithmetic, independently of the
decoder. The events no recording was found for (Base's L2 side, withdrawal finalization on L1,
Arbitrum's L2 gateways) are BUILT with eth-abi; their values are said where they are built.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import pytest
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform import envelope as wire
from lucent_platform.chains import bridges
from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.bridges import bridge_envelopes, decode_transfer
from lucent_platform.chains.config import chains_config
from lucent_platform.chains.connector import ChainConnector, ChainFrame
from lucent_platform.chains.logs import parse_log
from lucent_platform.messages import BridgeTransfer
from lucent_platform.messages.onchain import ETH_ADDRESS, OP_LEGACY_ETH
from tests.chain_fixtures import recorded_logs

CHAIN_IDS = {"ethereum": 1, "optimism": 10, "base": 8453, "arbitrum": 42161}
RECORDED = recorded_logs("bridges/logs_recorded.json")
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
CRV = "0xd533a949740bb3306d119cc777fa900ba034cd52"

KNOWN_TOPIC0 = {
    # topic0 as block explorers and other projects print them (the search corpus: RSS3 Node,
    # Arbitrum SDK bindings, bridge monitors), against ours computed from the signatures.
    bridges.OP_ETH_DEPOSIT_INITIATED: (
        "35d79ab81f2b2017e19afb5c5571778877782d7a8786f5907f93b0f4702f4f23"
    ),
    bridges.OP_ETH_WITHDRAWAL_FINALIZED: (
        "2ac69ee804d9a7a0984249f508dfab7cb2534b465b6ce1580f99a38ba9c5e631"
    ),
    bridges.OP_ERC20_DEPOSIT_INITIATED: (
        "718594027abd4eaed59f95162563e0cc6d0e8d5b86b1c7be8b1b0ac3343d0396"
    ),
    bridges.OP_ERC20_WITHDRAWAL_FINALIZED: (
        "3ceee06c1e37648fcbb6ed52e17b3e1f275a1f8c7b22a84b2b84732431e046b3"
    ),
    bridges.OP_WITHDRAWAL_INITIATED: (
        "73d170910aba9e6d50b102db522b1dbcd796216f5128b445aa2135272886497e"
    ),
    bridges.OP_DEPOSIT_FINALIZED: (
        "b0444523268717a02698be47d0803aa7468c00acbed2f8bd93a0459cde61dd89"
    ),
    bridges.ARB_DEPOSIT_INITIATED: (
        "b8910b9960c443aac3240b98585384e3a6f109fbf6969e264c3f183d69aba7e1"
    ),
    bridges.ARB_WITHDRAWAL_FINALIZED: (
        "891afe029c75c4f8c5855fc3480598bc5a53739344f6ae575bdb7ea2a79f56b3"
    ),
    bridges.ARB_DEPOSIT_FINALIZED: (
        "c7f2e9c55c40a50fbc217dfc70cd39a222940dfa62145aa0ca49eb9535d4fcb2"
    ),
    bridges.ARB_WITHDRAWAL_INITIATED: (
        "3073a74ecb728d10be779fe19a74a1428e20468f5b4d167bf9c73d9067847d73"
    ),
}


def recorded(index: int) -> tuple[str, dict[str, Any]]:
    item = RECORDED[index]
    return item["chain"], item["log"]


def transfer_of(chain: str, obj: dict[str, Any], block_time_ms: int | None = 1) -> Any:
    (envelope,) = bridge_envelopes(
        parse_log(obj, chain_id=CHAIN_IDS[chain]), received_ms=2, block_time_ms=block_time_ms
    )
    return envelope


def word(obj: dict[str, Any], n: int) -> int:
    """The n-th 32-byte data word of a log object, straight from its hex."""
    return int(obj["data"][2 + 64 * n : 2 + 64 * (n + 1)], 16)


def address_in(hex_word: str) -> str:
    return "0x" + hex_word[-40:]


def test_topic0_computed_from_signatures_matches_the_published_hashes() -> None:
    for topic0, published in KNOWN_TOPIC0.items():
        assert topic0.hex() == published
    assert set(bridges.BRIDGE_TOPICS) == set(KNOWN_TOPIC0)


def test_recorded_optimism_eth_deposit() -> None:
    chain, obj = recorded(0)
    envelope = transfer_of(chain, obj, block_time_ms=1686520751000)
    data = envelope.data
    assert isinstance(data, BridgeTransfer)
    assert (data.chain, data.l2, data.direction, data.stage) == (
        "ethereum",
        "optimism",
        "deposit",
        "initiated",
    )
    assert (data.l1_token, data.l2_token, data.token) == (ETH_ADDRESS, OP_LEGACY_ETH, "ETH")
    assert int(data.amount_raw) == word(obj, 0) == 100_857_001_000_000_000_000
    assert data.amount == 100.857001
    assert data.from_address == address_in(obj["topics"][1]) == data.to_address
    assert data.from_address == "0x31e7b932c655628fda6f22f063d550d990dba726"
    assert (data.block_number, data.log_index) == (17459684, 260)
    assert data.tx_hash == obj["transactionHash"]
    assert data.bridge == obj["address"]
    assert envelope.header.source == "ethereum-rpc"
    assert envelope.header.event_time_ms == 1686520751000
    assert envelope.metadata.quality_flags is None


def test_recorded_optimism_usdc_deposit() -> None:
    chain, obj = recorded(1)
    data = transfer_of(chain, obj).data
    assert (data.direction, data.stage, data.token) == ("deposit", "initiated", "USDC")
    assert data.l1_token == address_in(obj["topics"][1]) == USDC
    assert (
        data.l2_token
        == address_in(obj["topics"][2])
        == "0x7f5c764cbc14f9669b88837ca1490cca17c31607"
    )
    assert data.from_address == address_in(obj["topics"][3])
    assert data.to_address == "0x" + obj["data"][2 + 24 : 2 + 64]
    assert int(data.amount_raw) == word(obj, 1) == 11_590_000_000
    assert data.amount == float(Decimal(word(obj, 1)) / 10**6) == 11590.0


def test_recorded_optimism_crv_withdrawal_on_l2() -> None:
    chain, obj = recorded(2)
    data = transfer_of(chain, obj).data
    assert (data.chain, data.l2, data.direction, data.stage) == (
        "optimism",
        "optimism",
        "withdrawal",
        "initiated",
    )
    assert (data.l1_token, data.token) == (CRV, "CRV")
    assert data.l2_token == "0x0994206dfe8de6ec6920ff4d779b0d950605fb53"
    assert data.amount_raw == str(word(obj, 1)) == "3690872887087038569213"
    assert data.amount == float(Decimal("3690.872887087038569213"))


def test_recorded_optimism_eth_deposit_finalized_on_l2() -> None:
    chain, obj = recorded(3)
    data = transfer_of(chain, obj).data
    assert (data.direction, data.stage) == ("deposit", "finalized")
    assert (data.l1_token, data.l2_token, data.token) == (ETH_ADDRESS, OP_LEGACY_ETH, "ETH")
    assert data.amount == word(obj, 1) / 10**18 == 12.0
    assert data.to_address == "0xdc548196ba87b19e55d2570d1dc8d4a1dc86238c"


def test_recorded_arbitrum_weth_and_usdt_deposits() -> None:
    chain, obj = recorded(4)
    weth = transfer_of(chain, obj).data
    assert (weth.l2, weth.direction, weth.stage, weth.token) == (
        "arbitrum",
        "deposit",
        "initiated",
        "WETH",
    )
    assert weth.l1_token == "0x" + obj["data"][2 + 24 : 2 + 64] == WETH
    assert weth.l2_token is None  # the gateway event names only the L1 token
    assert weth.amount == word(obj, 1) / 10**18 == 0.6
    assert weth.sequence_number == str(int(obj["topics"][3], 16)) == str(0x504C)
    chain, obj = recorded(5)
    usdt = transfer_of(chain, obj).data
    assert (usdt.token, usdt.amount, usdt.amount_raw) == ("USDT", 20.0, str(word(obj, 1)))
    assert usdt.bridge == "0xcee284f754e854890e311e3280b767f80797180d"
    assert usdt.sequence_number == str(0x16E738)


def test_recorded_base_eth_deposit() -> None:
    chain, obj = recorded(6)
    envelope = transfer_of(chain, obj, block_time_ms=1691738363000)
    data = envelope.data
    assert (data.chain, data.l2, data.direction, data.stage, data.token) == (
        "ethereum",
        "base",
        "deposit",
        "initiated",
        "ETH",
    )
    assert data.bridge == bridges.BASE_L1_BRIDGE == obj["address"]
    assert int(data.amount_raw) == word(obj, 0) == 4 * 10**17
    assert data.amount == 0.4
    assert data.from_address == address_in(obj["topics"][1]) == address_in(obj["topics"][2])


# --- built logs ----------------------------------------------------------------------------


def topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:]


def built(address: str, topics: list[str], data: bytes, **extra: Any) -> dict[str, Any]:
    """A log object around built topics and data; block, tx hash and log index made up."""
    return {
        "address": address,
        "topics": topics,
        "data": "0x" + data.hex(),
        "blockNumber": "0x1",
        "transactionHash": "0x" + "be" * 32,
        "logIndex": "0x2",
        "removed": False,
        **extra,
    }


USER = "0x31e7b932c655628fda6f22f063d550d990dba726"  # the recorded ETH depositor


def test_built_base_eth_withdrawal_finalized_on_l1() -> None:
    # Base's L1StandardBridge, the recorded deposit's user and amount reused.
    data = encode(["uint256", "bytes"], [100_857_001_000_000_000_000, b""])
    topics = ["0x" + bridges.OP_ETH_WITHDRAWAL_FINALIZED.hex(), topic(USER), topic(USER)]
    transfer = transfer_of("ethereum", built(bridges.BASE_L1_BRIDGE, topics, data)).data
    assert (transfer.l2, transfer.direction, transfer.stage) == ("base", "withdrawal", "finalized")
    assert (transfer.token, transfer.amount) == ("ETH", 100.857001)


def test_built_erc20_withdrawal_finalized_and_arbitrum_l2_events() -> None:
    # Optimism L1: 11590 USDC back to the recorded USDC depositor.
    depositor = "0x98389ca467c0199d7379fa1b6992a389b56bcc15"
    l2_usdc = "0x7f5c764cbc14f9669b88837ca1490cca17c31607"
    data = encode(["address", "uint256", "bytes"], [depositor, 11_590_000_000, b"\x01"])
    topics = [
        "0x" + bridges.OP_ERC20_WITHDRAWAL_FINALIZED.hex(),
        topic(USDC),
        topic(l2_usdc),
        topic(depositor),
    ]
    usdc = transfer_of("ethereum", built(bridges.OPTIMISM_L1_BRIDGE, topics, data)).data
    assert (usdc.direction, usdc.stage, usdc.amount, usdc.to_address) == (
        "withdrawal",
        "finalized",
        11590.0,
        depositor,
    )
    # Arbitrum L2 WETH gateway: the recorded 0.6 WETH deposit finalized on L2.
    user = "0xa2e06c19ee14255889f0ec0ca37f6d0778d06754"
    topics = ["0x" + bridges.ARB_DEPOSIT_FINALIZED.hex(), topic(WETH), topic(user), topic(user)]
    gateway = "0x6c411ad3e74de3e7bd422b94a27770f5b86c623b"
    weth = transfer_of("arbitrum", built(gateway, topics, encode(["uint256"], [6 * 10**17]))).data
    assert (weth.chain, weth.l2, weth.direction, weth.stage) == (
        "arbitrum",
        "arbitrum",
        "deposit",
        "finalized",
    )
    assert (weth.token, weth.amount, weth.l1_token) == ("WETH", 0.6, WETH)
    # Arbitrum L2 ERC-20 gateway withdrawal (exit number 7, l2ToL1Id 99) and its L1 end.
    data = encode(["address", "uint256", "uint256"], [USDT, 7, 20_000_000])
    topics = [
        "0x" + bridges.ARB_WITHDRAWAL_INITIATED.hex(),
        topic(user),
        topic(user),
        "0x" + f"{99:064x}",
    ]
    gateway = "0x09e9222e96e7b4ae2a407b98d48e330053351eee"
    out = transfer_of("arbitrum", built(gateway, topics, data)).data
    assert (out.direction, out.stage, out.token, out.amount, out.sequence_number) == (
        "withdrawal",
        "initiated",
        "USDT",
        20.0,
        "7",
    )
    topics = [
        "0x" + bridges.ARB_WITHDRAWAL_FINALIZED.hex(),
        topic(user),
        topic(user),
        "0x" + f"{7:064x}",
    ]
    data = encode(["address", "uint256"], [USDT, 20_000_000])
    gateway = "0xa3a7b6f88361f48403514059f1f16c8e78d60eec"
    back = transfer_of("ethereum", built(gateway, topics, data)).data
    assert (back.direction, back.stage, back.sequence_number) == ("withdrawal", "finalized", "7")


def test_unknown_token_keeps_the_raw_amount_and_says_so() -> None:
    token = "0x" + "11" * 20
    data = encode(["address", "uint256"], [token, 12345])
    topics = [
        "0x" + bridges.ARB_DEPOSIT_INITIATED.hex(),
        topic(USER),
        topic(USER),
        "0x" + "00" * 32,
    ]
    envelope = transfer_of(
        "ethereum", built("0xa3a7b6f88361f48403514059f1f16c8e78d60eec", topics, data)
    )
    assert (envelope.data.token, envelope.data.amount, envelope.data.amount_raw) == (
        None,
        None,
        "12345",
    )
    assert envelope.data.l1_token == token
    assert envelope.metadata.quality_flags == ["unknown_token"]
    assert envelope.metadata.data_quality == "low"


def test_the_same_event_from_another_contract_is_no_transfer_of_ours() -> None:
    _, obj = recorded(0)
    other = {**obj, "address": "0x" + "42" * 20}  # another OP Stack chain's bridge
    assert bridge_envelopes(parse_log(other, chain_id=1), received_ms=2, block_time_ms=1) == []
    # the L2 predeploy address on Ethereum is not a bridge either
    l2 = {**obj, "address": bridges.L2_STANDARD_BRIDGE}
    assert bridge_envelopes(parse_log(l2, chain_id=1), received_ms=2, block_time_ms=1) == []


def test_a_removed_log_is_retracted_under_the_same_id() -> None:
    chain, obj = recorded(1)
    kept = transfer_of(chain, obj)
    gone = transfer_of(chain, {**obj, "removed": True})
    assert gone.header.message_id == kept.header.message_id
    assert gone.metadata.quality_flags == ["retracted"]


def test_envelope_round_trips_through_the_wire_format() -> None:
    chain, obj = recorded(2)
    envelope = transfer_of(chain, obj)
    again = wire.decode(wire.encode(envelope), BridgeTransfer)
    assert again.data == envelope.data


@pytest.mark.parametrize(("index", "cut"), [(0, 64), (1, 32), (4, 32), (2, 2)])
def test_truncated_data_is_a_chain_decode_error(index: int, cut: int) -> None:
    chain, obj = recorded(index)
    bad = {**obj, "data": obj["data"][: len(obj["data"]) - cut]}
    with pytest.raises(ChainDecodeError):
        bridge_envelopes(parse_log(bad, chain_id=CHAIN_IDS[chain]), received_ms=2, block_time_ms=1)


@given(
    topics=st.lists(
        st.one_of(st.sampled_from(bridges.BRIDGE_TOPICS), st.binary(min_size=32, max_size=32)),
        max_size=4,
    ),
    data=st.binary(max_size=300),
)
def test_any_topics_and_bytes_fail_only_with_chain_decode_error(
    topics: list[bytes], data: bytes
) -> None:
    with contextlib.suppress(ChainDecodeError):
        decode_transfer(topics, data)


def test_the_connector_routes_bridge_logs_and_the_feed_asks_for_the_bridges() -> None:
    item = RECORDED[3]  # Optimism's L2 DepositFinalized of 12 ETH, block 114344502
    connector = ChainConnector("optimism")
    connector.learn_block(114344502, 1704287781)
    (envelope,) = connector.parse(
        ChainFrame("optimism", 1_704_287_790_000_000_000, item["log"])
    ).envelopes
    assert isinstance(envelope.data, BridgeTransfer)
    assert (envelope.data.l2, envelope.data.amount) == ("optimism", 12.0)
    assert envelope.header.event_time_ms == 1704287781000
    config = chains_config({"base": {"rpc_url": "http://127.0.0.1:8545", "sources": ["bridges"]}})
    assert config["base"].log_addresses == [bridges.L2_STANDARD_BRIDGE]
    assert set(config["base"].topics) == {"0x" + t.hex() for t in bridges.BRIDGE_TOPICS}
