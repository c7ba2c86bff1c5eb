"""Canonical L2 bridges' deposit and withdrawal events (Arbitrum, Optimism, Base) → transfers.

Events, with where each signature was checked (search corpus, 2026-11-28):

- OP Stack ``L1StandardBridge`` (ethereum-optimism/optimism, ``IL1StandardBridge`` /
  ``L1StandardBridge.sol``, legacy events kept for compatibility): ``ETHDepositInitiated(address
  indexed from, address indexed to, uint256 amount, bytes extraData)``,
  ``ETHWithdrawalFinalized`` (same fields), ``ERC20DepositInitiated(address indexed l1Token,
  address indexed l2Token, address indexed from, address to, uint256 amount, bytes
  extraData)``, ``ERC20WithdrawalFinalized`` (same fields). The bridge also emits the newer
  ``ETHBridgeInitiated``/``ERC20BridgeInitiated`` for the same transfer; only the legacy
  events are decoded, so one transfer is one message.
- OP Stack ``L2StandardBridge`` predeploy ``0x4200…0010``
  (``packages/contracts-bedrock/src/L2/L2StandardBridge.sol``): ``WithdrawalInitiated`` and
  ``DepositFinalized`` with the ERC-20 fields above; ether is ``l1Token`` ``address(0)`` and
  ``l2Token`` ``Predeploys.LEGACY_ERC20_ETH`` (``0xdead…0000``).
- Arbitrum L1 gateways (OffchainLabs/token-bridge-contracts, ``IL1TokenGateway``):
  ``DepositInitiated(address l1Token, address indexed from, address indexed to, uint256 indexed
  sequenceNumber, uint256 amount)`` and ``WithdrawalFinalized(address l1Token, address indexed
  from, address indexed to, uint256 indexed exitNum, uint256 amount)``; L2 gateways
  (``L2ArbitrumGateway.sol``): ``DepositFinalized(address indexed l1Token, address indexed
  from, address indexed to, uint256 amount)`` and ``WithdrawalInitiated(address l1Token,
  address indexed from, address indexed to, uint256 indexed l2ToL1Id, uint256 exitNum, uint256
  amount)``. ETH sent through Arbitrum's Inbox (a retryable ticket's ``MessageDelivered``) is
  not decoded: the amount is inside the Bridge's packed message data, not an event field.

Contract addresses (``BRIDGES``): Optimism's L1StandardBridge proxy ``0x99C9…4bE1`` (RSS3
Node's Optimism worker, several bridge monitors), Base's ``0x3154…2C35`` (viem's chain
definition and Base's docs as quoted in the corpus), the L2 predeploy on both L2s, and
Arbitrum One's gateways as the Arbitrum SDK's network table lists them (L1/L2 standard ERC-20,
custom and WETH gateways). Logs of the same events from any other contract (other OP Stack
chains' bridges, other token gateways) are not canonical transfers of our L2s: they decode to
no envelope. The recorded logs the tests decode are described in
``tests/fixtures/chain/bridges/PROVENANCE.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from eth_abi import decode as abi_decode

from lucent_platform.chains.abi import ChainDecodeError, event_topic, topic_address, topic_int
from lucent_platform.chains.logs import Log, wrap_log
from lucent_platform.chains.registry import Token, token_at
from lucent_platform.envelope import Envelope
from lucent_platform.messages.onchain import ETH_ADDRESS, OP_LEGACY_ETH, BridgeTransfer

OP_ETH_DEPOSIT_INITIATED = event_topic("ETHDepositInitiated(address,address,uint256,bytes)")
OP_ETH_WITHDRAWAL_FINALIZED = event_topic("ETHWithdrawalFinalized(address,address,uint256,bytes)")
OP_ERC20_DEPOSIT_INITIATED = event_topic(
    "ERC20DepositInitiated(address,address,address,address,uint256,bytes)"
)
OP_ERC20_WITHDRAWAL_FINALIZED = event_topic(
    "ERC20WithdrawalFinalized(address,address,address,address,uint256,bytes)"
)
OP_WITHDRAWAL_INITIATED = event_topic(
    "WithdrawalInitiated(address,address,address,address,uint256,bytes)"
)
OP_DEPOSIT_FINALIZED = event_topic(
    "DepositFinalized(address,address,address,address,uint256,bytes)"
)
ARB_DEPOSIT_INITIATED = event_topic("DepositInitiated(address,address,address,uint256,uint256)")
ARB_WITHDRAWAL_FINALIZED = event_topic(
    "WithdrawalFinalized(address,address,address,uint256,uint256)"
)
ARB_DEPOSIT_FINALIZED = event_topic("DepositFinalized(address,address,address,uint256)")
ARB_WITHDRAWAL_INITIATED = event_topic(
    "WithdrawalInitiated(address,address,address,uint256,uint256,uint256)"
)

Direction = Literal["deposit", "withdrawal"]
Stage = Literal["initiated", "finalized"]


@dataclass(frozen=True, slots=True)
class Bridge:
    """A canonical bridge contract: the chain it lives on and the L2 it serves."""

    address: str
    chain: str
    l2: str
    name: str


L2_STANDARD_BRIDGE = "0x4200000000000000000000000000000000000010"
OPTIMISM_L1_BRIDGE = "0x99c9fc46f92e8a1c0dec1b1747d010903e884be1"
BASE_L1_BRIDGE = "0x3154cf16ccdb4c6d922629664174b904d80f2c35"

BRIDGES: tuple[Bridge, ...] = (
    Bridge(
        "0x99c9fc46f92e8a1c0dec1b1747d010903e884be1", "ethereum", "optimism", "L1StandardBridge"
    ),
    Bridge("0x3154cf16ccdb4c6d922629664174b904d80f2c35", "ethereum", "base", "L1StandardBridge"),
    Bridge(L2_STANDARD_BRIDGE, "optimism", "optimism", "L2StandardBridge"),
    Bridge(L2_STANDARD_BRIDGE, "base", "base", "L2StandardBridge"),
    Bridge("0xa3a7b6f88361f48403514059f1f16c8e78d60eec", "ethereum", "arbitrum", "L1ERC20Gateway"),
    Bridge("0xcee284f754e854890e311e3280b767f80797180d", "ethereum", "arbitrum", "L1CustomGateway"),
    Bridge("0xd92023e9d9911199a6711321d1277285e6d4e2db", "ethereum", "arbitrum", "L1WethGateway"),
    Bridge("0x09e9222e96e7b4ae2a407b98d48e330053351eee", "arbitrum", "arbitrum", "L2ERC20Gateway"),
    Bridge("0x096760f208390250649e3e8763348e783aef5562", "arbitrum", "arbitrum", "L2CustomGateway"),
    Bridge("0x6c411ad3e74de3e7bd422b94a27770f5b86c623b", "arbitrum", "arbitrum", "L2WethGateway"),
)
_BY_KEY = {(bridge.chain, bridge.address): bridge for bridge in BRIDGES}

ETH = Token("ETH", ETH_ADDRESS, 18)
CRV = Token("CRV", "0xd533a949740bb3306d119cc777fa900ba034cd52", 18)
_EXTRA_TOKENS = {ETH.address: ETH, OP_LEGACY_ETH: ETH, CRV.address: CRV}
"""L1 tokens the shared registry does not list, by L1 address (ether as both sentinels)."""


def bridge_at(chain: str, address: str) -> Bridge | None:
    """The canonical bridge contract at ``address`` on ``chain``, ``None`` for any other."""
    return _BY_KEY.get((chain, address.lower()))


@dataclass(frozen=True, slots=True)
class Transfer:
    """One decoded bridge event, token amounts raw."""

    direction: Direction
    stage: Stage
    l1_token: str
    l2_token: str | None
    from_address: str
    to_address: str
    amount: int
    sequence_number: int | None = None


@dataclass(frozen=True, slots=True)
class _Layout:
    name: str
    direction: Direction
    stage: Stage
    family: Literal["op_eth", "op_erc20", "arb_l1", "arb_l2_deposit", "arb_l2_withdrawal"]


_LAYOUTS: dict[bytes, _Layout] = {
    OP_ETH_DEPOSIT_INITIATED: _Layout("ETHDepositInitiated", "deposit", "initiated", "op_eth"),
    OP_ETH_WITHDRAWAL_FINALIZED: _Layout(
        "ETHWithdrawalFinalized", "withdrawal", "finalized", "op_eth"
    ),
    OP_ERC20_DEPOSIT_INITIATED: _Layout(
        "ERC20DepositInitiated", "deposit", "initiated", "op_erc20"
    ),
    OP_ERC20_WITHDRAWAL_FINALIZED: _Layout(
        "ERC20WithdrawalFinalized", "withdrawal", "finalized", "op_erc20"
    ),
    OP_WITHDRAWAL_INITIATED: _Layout("WithdrawalInitiated", "withdrawal", "initiated", "op_erc20"),
    OP_DEPOSIT_FINALIZED: _Layout("DepositFinalized", "deposit", "finalized", "op_erc20"),
    ARB_DEPOSIT_INITIATED: _Layout("DepositInitiated", "deposit", "initiated", "arb_l1"),
    ARB_WITHDRAWAL_FINALIZED: _Layout("WithdrawalFinalized", "withdrawal", "finalized", "arb_l1"),
    ARB_DEPOSIT_FINALIZED: _Layout("DepositFinalized", "deposit", "finalized", "arb_l2_deposit"),
    ARB_WITHDRAWAL_INITIATED: _Layout(
        "WithdrawalInitiated", "withdrawal", "initiated", "arb_l2_withdrawal"
    ),
}

BRIDGE_TOPICS: tuple[bytes, ...] = tuple(_LAYOUTS)
"""topic0 of every bridge event decoded here, for a connector's routing table."""


def decode_transfer(topics: Sequence[bytes], data: bytes) -> Transfer:
    """A bridge event's fields by its topic0; ``ChainDecodeError`` for anything else."""
    layout = _LAYOUTS.get(topics[0]) if topics else None
    if layout is None:
        raise ChainDecodeError("not a canonical bridge event (unknown topic0)")
    name, family = layout.name, layout.family
    if family == "op_eth":
        _topics(topics, 3, name)
        amount, _extra = _decode(["uint256", "bytes"], data, name)
        return Transfer(
            layout.direction,
            layout.stage,
            ETH_ADDRESS,
            OP_LEGACY_ETH,
            topic_address(topics[1]),
            topic_address(topics[2]),
            amount,
        )
    if family == "op_erc20":
        _topics(topics, 4, name)
        to, amount, _extra = _decode(["address", "uint256", "bytes"], data, name)
        return Transfer(
            layout.direction,
            layout.stage,
            topic_address(topics[1]),
            topic_address(topics[2]),
            topic_address(topics[3]),
            to.lower(),
            amount,
        )
    if family == "arb_l2_deposit":
        _topics(topics, 4, name)
        (amount,) = _decode(["uint256"], data, name)
        return Transfer(
            layout.direction,
            layout.stage,
            topic_address(topics[1]),
            None,
            topic_address(topics[2]),
            topic_address(topics[3]),
            amount,
        )
    _topics(topics, 4, name)
    if family == "arb_l1":
        l1_token, amount = _decode(["address", "uint256"], data, name)
        number = topic_int(topics[3])  # the deposit's sequence number or withdrawal's exitNum
    else:
        l1_token, number, amount = _decode(["address", "uint256", "uint256"], data, name)
    return Transfer(
        layout.direction,
        layout.stage,
        l1_token.lower(),
        None,
        topic_address(topics[1]),
        topic_address(topics[2]),
        amount,
        number,
    )


def bridge_envelopes(
    log: Log, *, received_ms: int, block_time_ms: int | None, pools: Any = None
) -> list[Envelope[Any]]:
    """One ``BridgeTransfer`` for a canonical bridge's event; none for the same event from a
    contract that is no canonical bridge of ours; ``ChainDecodeError`` for a bad log.

    ``pools`` is ignored (the routing table's common signature). A token whose decimals are
    unknown keeps ``amount`` ``None`` with the flag ``unknown_token``.
    """
    bridge = bridge_at(log.chain, log.address)
    if bridge is None:  # another OP Stack chain's bridge, another token gateway: not ours
        return []
    transfer = decode_transfer(log.topics, log.data)
    token = _EXTRA_TOKENS.get(transfer.l1_token) or token_at("ethereum", transfer.l1_token)
    data = BridgeTransfer(
        chain=log.chain,
        l2=bridge.l2,
        direction=transfer.direction,
        stage=transfer.stage,
        l1_token=transfer.l1_token,
        l2_token=transfer.l2_token,
        token=None if token is None else token.symbol,
        amount=None if token is None else float(Decimal(transfer.amount).scaleb(-token.decimals)),
        amount_raw=str(transfer.amount),
        from_address=transfer.from_address,
        to_address=transfer.to_address,
        bridge=bridge.address,
        block_number=log.block_number,
        tx_hash=log.tx_hash,
        log_index=log.log_index,
        sequence_number=None if transfer.sequence_number is None else str(transfer.sequence_number),
    )
    return [
        wrap_log(
            data,
            log,
            key="bridge",
            received_ms=received_ms,
            block_time_ms=block_time_ms,
            quality_flags=() if token is not None else ("unknown_token",),
        )
    ]


def _topics(topics: Sequence[bytes], count: int, name: str) -> None:
    if len(topics) != count:
        raise ChainDecodeError(f"{name}: expected {count} topics, got {len(topics)}")


def _decode(types: list[str], data: bytes, name: str) -> tuple[Any, ...]:
    """ABI-decode ``data`` that may hold dynamic values (``bytes extraData``)."""
    if len(data) % 32:
        raise ChainDecodeError(f"{name}: data is not whole 32-byte words ({len(data)} bytes)")
    try:
        return tuple(abi_decode(types, data, strict=True))
    except Exception as exc:  # eth-abi raises several unrelated types for bad words
        raise ChainDecodeError(f"{name}: bad ABI data: {exc}") from None
