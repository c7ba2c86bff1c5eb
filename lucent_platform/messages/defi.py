"""On-chain protocol data: lending/pool yields, liquidations and governance events.

Protocols are lower-case ids (``aave-v1``, ``compound``), chains lower-case names
(``ethereum``), assets token symbols (``DAI``). Token amounts are in whole tokens (already
divided by the token's decimals), percentages in percent, USD values in US dollars.
"""

from __future__ import annotations

from lucent_platform.messages.base import Int64, MessageData


class YieldRate(MessageData, frozen=True):
    """A pool's current yield (``messageType`` ``yield_rate``).

    ``apy`` is what a depositor earns, in percent; ``supplyApy``/``borrowApy`` are given where the
    protocol quotes both sides, ``tvlUsd`` where known. ``blockNumber``/``txHash``/``logIndex``
    (schema v2) locate a rate decoded from a chain log. From the recorded Aave v1
    ``ReserveUpdated`` log of the ETH reserve at block 11017338 (ray-unit APRs compounded per
    second)::

        {"protocol": "aave-v1", "pool": "eth-lending", "asset": "ETH", "chain": "ethereum",
         "apy": 0.9481, "supplyApy": 0.9481, "borrowApy": 3.0406}
    """

    message_type = "yield_rate"
    schema_version = 2

    protocol: str
    pool: str
    asset: str
    chain: str
    apy: float
    tvl_usd: float | None = None
    supply_apy: float | None = None
    borrow_apy: float | None = None
    block_number: Int64 | None = None
    tx_hash: str | None = None
    log_index: Int64 | None = None


class Liquidation(MessageData, frozen=True):
    """A lending position liquidated on chain (``messageType`` ``liquidation``).

    ``debtAmount`` is the debt repaid by the liquidator, ``collateralAmount`` the collateral it
    seized; ``(chain, txHash, logIndex)`` identifies the event. From the recorded Aave v1
    ``LiquidationCall`` in tx ``0x97afae49…`` (block 10673175, log 132)::

        {"protocol": "aave-v1", "chain": "ethereum",
         "txHash": "0x97afae49a25201dbb34502d36a7903b51754362ceb231ff775c07db540f4a3d6",
         "borrower": "0xcf110759776ea0851565b6db1572212e9d2926f6",
         "liquidator": "0xf45394706522f060ba5d8982ddef41c22967f928",
         "collateralAsset": "DAI", "debtAsset": "BAT", "collateralAmount": 469.417545725083,
         "debtAmount": 1418.69632, "blockNumber": 10673175, "logIndex": 132}
    """

    message_type = "liquidation"

    protocol: str
    chain: str
    tx_hash: str
    borrower: str
    liquidator: str
    collateral_asset: str
    debt_asset: str
    collateral_amount: float
    debt_amount: float
    value_usd: float | None = None
    block_number: Int64 | None = None
    log_index: Int64 | None = None


class GovernanceEvent(MessageData, frozen=True):
    """A step in a protocol's governance (``messageType`` ``governance_event``).

    ``eventType`` is the lifecycle step: ``proposal_created``, ``vote_cast``, ``queued``,
    ``executed``, ``canceled`` (new steps may appear; consumers ignore ones they do not know).
    Vote fields are set on ``vote_cast`` only; ``votes`` is the voting weight in governance
    tokens. ``logIndex`` (schema v2) completes the chain location ``(chain, txHash, logIndex)``.
    A proposal being queued looks like::

        {"protocol": "compound", "proposalId": "117", "eventType": "queued",
         "title": "Reduce DAI reserve factor", "chain": "ethereum", "blockNumber": 16000000}
    """

    message_type = "governance_event"
    schema_version = 2

    protocol: str
    proposal_id: str
    event_type: str
    title: str | None = None
    chain: str | None = None
    proposer: str | None = None
    voter: str | None = None
    support: str | None = None
    votes: float | None = None
    tx_hash: str | None = None
    block_number: Int64 | None = None
    log_index: Int64 | None = None
