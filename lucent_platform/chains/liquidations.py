"""Liquidations → ``Liquidation``: Aave ``LiquidationCall``, Compound v3 ``AbsorbCollateral``.

Aave v2/v3: ``LiquidationCall(address indexed collateralAsset, address indexed debtAsset,
address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address
liquidator, bool receiveAToken)``; Aave v1's event adds ``accruedBorrowInterest`` after the
amounts and a ``timestamp`` at the end. Compound v3: ``AbsorbCollateral(address indexed
absorber, address indexed borrower, address indexed asset, uint256 collateralAbsorbed, uint256
usdValue)``, the USD value with 8 decimals (Comet's price scale); the debt the protocol took
over is in the same transaction's ``AbsorbDebt`` log, so ``debtAmount`` is ``0.0`` with the
flag ``debt_in_absorb_debt``. The recorded Aave v1 liquidation (block 10673175, log 132)::

    {"address": "0x398ec7346dcd622edc5ae82352f02be94c62d119",
     "topics": ["0x56864757…", "0x…6b175474…",   # collateral DAI, debt BAT, user 0xcf11…26f6
                "0x…0d8775f6…", "0x…cf110759…"],
     "data": "0x…4ce85dd276f9e80000"             # purchaseAmount 1418.69632 BAT repaid
             "…19727a22c19745e25c…",            # 469.4175 DAI seized, interest, liquidator, …
     "transactionHash": "0x97afae49…", "logIndex": "0x84", "removed": false, …}

Amounts of tokens missing from the registry stay raw integers (as floats) with the flag
``unknown_token``; the asset is then its address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lucent_platform.chains.abi import ChainDecodeError, decode_words, event_topic, topic_address
from lucent_platform.chains.logs import Log, wrap_log
from lucent_platform.chains.registry import market_at, token_at
from lucent_platform.envelope import Envelope
from lucent_platform.messages import Liquidation

LIQUIDATION_CALL = event_topic(
    "LiquidationCall(address,address,address,uint256,uint256,address,bool)"
)
LIQUIDATION_CALL_V1 = event_topic(
    "LiquidationCall(address,address,address,uint256,uint256,uint256,address,bool,uint256)"
)
ABSORB_COLLATERAL = event_topic("AbsorbCollateral(address,address,address,uint256,uint256)")
COMET_USD_DECIMALS = 8


@dataclass(frozen=True, slots=True)
class AaveLiquidation:
    collateral_asset: str
    debt_asset: str
    user: str
    debt_to_cover: int
    liquidated_collateral: int
    liquidator: str
    receive_a_token: bool


@dataclass(frozen=True, slots=True)
class CometAbsorb:
    absorber: str
    borrower: str
    asset: str
    collateral_absorbed: int
    usd_value: int


_LIQUIDATION_LAYOUTS: dict[bytes, tuple[str, list[str]]] = {
    # topic0 → (name, data words); the first two words are the debt repaid and the collateral
    # taken, then the liquidator and whether aTokens were received.
    LIQUIDATION_CALL: ("LiquidationCall", ["uint256", "uint256", "address", "bool"]),
    # Aave v1: ``_purchaseAmount`` is the debt repaid; an accrued-interest word sits before the
    # liquidator, a timestamp after the flag.
    LIQUIDATION_CALL_V1: (
        "Aave v1 LiquidationCall",
        ["uint256", "uint256", "uint256", "address", "bool", "uint256"],
    ),
}


def decode_liquidation_call(topics: Sequence[bytes], data: bytes) -> AaveLiquidation:
    """Aave's ``LiquidationCall``, v1 to v3 (by topic0)."""
    layout = _LIQUIDATION_LAYOUTS.get(topics[0]) if topics else None
    if layout is None or len(topics) != 4:
        raise ChainDecodeError("not a LiquidationCall log (topic0 and 4 topics expected)")
    name, types = layout
    words = decode_words(types, data, name)
    debt, collateral = words[0], words[1]
    liquidator, receive = (words[3], words[4]) if len(words) == 6 else (words[2], words[3])
    return AaveLiquidation(
        collateral_asset=topic_address(topics[1]),
        debt_asset=topic_address(topics[2]),
        user=topic_address(topics[3]),
        debt_to_cover=debt,
        liquidated_collateral=collateral,
        liquidator=str(liquidator).lower(),
        receive_a_token=bool(receive),
    )


def decode_absorb_collateral(topics: Sequence[bytes], data: bytes) -> CometAbsorb:
    if len(topics) != 4 or topics[0] != ABSORB_COLLATERAL:
        raise ChainDecodeError("not an AbsorbCollateral log (topic0 and 4 topics expected)")
    absorbed, usd = decode_words(["uint256", "uint256"], data, "AbsorbCollateral")
    return CometAbsorb(
        absorber=topic_address(topics[1]),
        borrower=topic_address(topics[2]),
        asset=topic_address(topics[3]),
        collateral_absorbed=absorbed,
        usd_value=usd,
    )


def liquidation_envelopes(
    log: Log, *, received_ms: int, block_time_ms: int | None
) -> list[Envelope[Any]]:
    """A ``LiquidationCall`` (Aave v1–v3) or ``AbsorbCollateral`` log → one ``Liquidation``."""
    flags: list[str] = []
    market = market_at(log.chain, log.address)
    if market is None:
        flags.append("unknown_pool")
    if log.topics and log.topics[0] == ABSORB_COLLATERAL:
        absorb = decode_absorb_collateral(log.topics, log.data)
        collateral_asset, collateral = _amount(log.chain, absorb.asset, absorb.collateral_absorbed)
        base = market.base.symbol if market is not None and market.base is not None else None
        flags.append("debt_in_absorb_debt")
        data = Liquidation(
            protocol=market.protocol if market is not None else "compound-v3",
            chain=log.chain,
            tx_hash=log.tx_hash,
            borrower=absorb.borrower,
            liquidator=absorb.absorber,
            collateral_asset=collateral_asset,
            debt_asset=base if base is not None else log.address,
            collateral_amount=collateral,
            debt_amount=0.0,
            value_usd=float(Decimal(absorb.usd_value).scaleb(-COMET_USD_DECIMALS)),
            block_number=log.block_number,
            log_index=log.log_index,
        )
    else:
        call = decode_liquidation_call(log.topics, log.data)
        collateral_asset, collateral = _amount(
            log.chain, call.collateral_asset, call.liquidated_collateral
        )
        debt_asset, debt = _amount(log.chain, call.debt_asset, call.debt_to_cover)
        data = Liquidation(
            protocol=market.protocol if market is not None else "unknown",
            chain=log.chain,
            tx_hash=log.tx_hash,
            borrower=call.user,
            liquidator=call.liquidator,
            collateral_asset=collateral_asset,
            debt_asset=debt_asset,
            collateral_amount=collateral,
            debt_amount=debt,
            block_number=log.block_number,
            log_index=log.log_index,
        )
    if data.collateral_asset.startswith("0x") or data.debt_asset.startswith("0x"):
        flags.append("unknown_token")
    return [
        wrap_log(
            data,
            log,
            key="liquidation",
            received_ms=received_ms,
            block_time_ms=block_time_ms,
            quality_flags=tuple(flags),
        )
    ]


def _amount(chain: str, address: str, raw: int) -> tuple[str, float]:
    """(symbol, whole tokens) for a registered token; (address, raw units) otherwise."""
    token = token_at(chain, address)
    if token is None:
        return address, float(raw)
    return token.symbol, float(Decimal(raw).scaleb(-token.decimals))
