"""Raw on-chain events: canonical-bridge transfers and swaps of pools the registry does not know.

Both keep the chain's exact integers as decimal text (``amountRaw``, ``amount0``): a token
amount is a uint256 and a pool's change an int256, neither of which fits an Avro ``long`` or a
float without loss. Addresses are lower-case ``0x`` hex; ``(chain, txHash, logIndex)``
identifies the log each message was decoded from.
"""

from __future__ import annotations

from typing import Literal

from lucent_platform.messages.base import Int64, MessageData

ETH_ADDRESS = "0x0000000000000000000000000000000000000000"
"""Native ether as a token address: the zero address, as the OP Stack bridges emit it for L1."""

OP_LEGACY_ETH = "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0000"
"""Ether's L2 token address on OP Stack chains (``Predeploys.LEGACY_ERC20_ETH``)."""


class BridgeTransfer(MessageData, frozen=True):
    """A deposit or withdrawal through an L2's canonical bridge (``messageType``
    ``bridge_transfer``).

    ``chain`` is where the event was emitted (``ethereum`` for the L1 side), ``l2`` the rollup
    the bridge serves (``arbitrum``, ``optimism``, ``base``). ``direction`` is ``deposit``
    (L1 → L2) or ``withdrawal`` (L2 → L1); ``stage`` is ``initiated`` on the source chain and
    ``finalized`` on the destination. Ether is ``ETH_ADDRESS`` as ``l1Token`` (and
    ``OP_LEGACY_ETH`` as an OP Stack ``l2Token``); Arbitrum's gateway events carry no L2 token,
    so ``l2Token`` is then ``None``. ``amount`` is in whole tokens when the token's decimals are
    known, else ``None``; ``amountRaw`` is always the exact integer. ``sequenceNumber`` is
    Arbitrum's deposit sequence number or withdrawal exit number. ``bridge`` is the contract
    that emitted the event. The recorded ETH deposit into Optimism of tx ``0x3da542a1…``
    (block 17459684, log 260)::

        {"chain": "ethereum", "l2": "optimism", "direction": "deposit", "stage": "initiated",
         "l1Token": "0x0000000000000000000000000000000000000000",
         "l2Token": "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0000", "token": "ETH",
         "amount": 100.857001, "amountRaw": "100857001000000000000",
         "fromAddress": "0x31e7b932c655628fda6f22f063d550d990dba726",
         "toAddress": "0x31e7b932c655628fda6f22f063d550d990dba726",
         "bridge": "0x99c9fc46f92e8a1c0dec1b1747d010903e884be1", "blockNumber": 17459684,
         "txHash": "0x3da542a1670a828838d2916d33be51de1b505e8700ffbb4ef26f31abc4184bc1",
         "logIndex": 260}
    """

    message_type = "bridge_transfer"

    chain: str
    l2: str
    direction: Literal["deposit", "withdrawal"]
    stage: Literal["initiated", "finalized"]
    l1_token: str
    amount_raw: str
    from_address: str
    to_address: str
    bridge: str
    block_number: Int64
    tx_hash: str
    log_index: Int64
    l2_token: str | None = None
    token: str | None = None
    amount: float | None = None
    sequence_number: str | None = None


class PoolSwap(MessageData, frozen=True):
    """A swap or reserve sync of a DEX pool the registry does not know (``messageType``
    ``pool_swap``).

    Without the pool's tokens and decimals no price can be computed, so ``price`` stays
    ``None`` and the envelope carries the quality flag ``unknown_pool``; everything the log
    itself says is kept exact. ``event`` is ``swap`` or ``sync``. A swap's ``amount0``/
    ``amount1`` are the pool's signed net changes in raw token units (positive: the pool
    received the token; V2's in/out amounts netted); a sync's ``reserve0``/``reserve1`` are the
    reserves after it. V3 swaps add ``sqrtPriceX96``, ``liquidity`` and ``tick``. ``dex`` is set
    when the event itself names the DEX (PancakeSwap V3's nine-field ``Swap``), ``token0``/
    ``token1`` when known (a pool whose tokens and decimals are known gets a ``Trade`` and a
    ``PriceUpdate`` instead). The recorded Uniswap V2 ``Swap`` of the
    unregistered pair ``0xffa9…2405`` in block 11017338 (log 17; 499 of token0 out, about 0.66
    of token1 in)::

        {"chain": "ethereum", "pool": "0xffa98a091331df4600f87c9164cd27e8a5cd2405",
         "event": "swap", "amount0": "-499000000000000000000",
         "amount1": "664510977762648404",
         "sender": "0x7a250d5630b4cf539739df2c5dacb4c659f2488d",
         "recipient": "0xd04177cfec0459c29b8795577b9d1d384a9d8555", "blockNumber": 11017338,
         "txHash": "0x46909832db6ca33317c43436c76eef4b654d7f9cbc5e64cf47079aa7ea8be845",
         "logIndex": 17}
    """

    message_type = "pool_swap"

    chain: str
    pool: str
    event: Literal["swap", "sync"]
    block_number: Int64
    tx_hash: str
    log_index: Int64
    dex: str | None = None
    token0: str | None = None
    token1: str | None = None
    amount0: str | None = None
    amount1: str | None = None
    reserve0: str | None = None
    reserve1: str | None = None
    sqrt_price_x96: str | None = None
    liquidity: str | None = None
    tick: Int64 | None = None
    sender: str | None = None
    recipient: str | None = None
    price: float | None = None
