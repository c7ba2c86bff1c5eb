"""Lending yields → ``YieldRate``: Aave v2/v3 ``ReserveDataUpdated`` logs, Compound v3 rates.

Aave v2 and v3 (and forks such as RealT's RMM) emit the same event,
``ReserveDataUpdated(address indexed reserve, uint256 liquidityRate, uint256 stableBorrowRate,
uint256 variableBorrowRate, uint256 liquidityIndex, uint256 variableBorrowIndex)``, rates in ray;
Aave v1's LendingPoolCore emits the same fields as ``ReserveUpdated``, read too.
The recorded RMM v2 WXDAI update on Gnosis (block 28067558, log 20)::

    {"address": "0x5b8d36de471880ee21936f328aab2383a280cb2a",
     "topics": ["0x804c9b84…", "0x…e91d153e0b41518a2ce8dd3d7944fa863463a97d"],   # WXDAI
     "data": "0x…2ca640c476a19025a4c05f"      # liquidityRate 0.05396… ray (5.40 % APR)
             "…5efd92ec4bf7d8de9a5e9b"        # stableBorrowRate
             "…420b15243ea73a65479e3d"        # variableBorrowRate 0.07990… ray
             "…036004fa8476a2a3302a6695…",    # the two indexes
     "blockNumber": "0x1ac46e6", "logIndex": "0x14", "removed": false, …}

Compound v3 (Comet) quotes per-second rates from ``getSupplyRate(utilization)`` and
``getBorrowRate(utilization)`` (``uint64``, 1e18 scale); ``getUtilization()`` gives the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lucent_platform.chains.abi import ChainDecodeError, decode_words, event_topic, topic_address
from lucent_platform.chains.logs import CONFIDENCE, Log, wrap_log
from lucent_platform.chains.rates import per_second_to_apy, ray_apr_to_apy
from lucent_platform.chains.registry import market_at, token_at
from lucent_platform.envelope import Envelope, message_id_for, new_envelope
from lucent_platform.messages import YieldRate

RESERVE_DATA_UPDATED = event_topic(
    "ReserveDataUpdated(address,uint256,uint256,uint256,uint256,uint256)"
)

RESERVE_UPDATED_V1 = event_topic("ReserveUpdated(address,uint256,uint256,uint256,uint256,uint256)")


@dataclass(frozen=True, slots=True)
class ReserveRates:
    """An Aave reserve's rates (ray: 1e27 = 100 % a year) and indexes after an update."""

    reserve: str
    liquidity_rate: int
    stable_borrow_rate: int
    variable_borrow_rate: int
    liquidity_index: int
    variable_borrow_index: int


def decode_reserve_data_updated(topics: Sequence[bytes], data: bytes) -> ReserveRates:
    if len(topics) != 2 or topics[0] not in (RESERVE_DATA_UPDATED, RESERVE_UPDATED_V1):
        raise ChainDecodeError("not a ReserveDataUpdated log (topic0 and 2 topics expected)")
    words = decode_words(["uint256"] * 5, data, "ReserveDataUpdated")
    return ReserveRates(topic_address(topics[1]), *words)


def reserve_rate_envelopes(
    log: Log, *, received_ms: int, block_time_ms: int | None
) -> list[Envelope[Any]]:
    """A ``ReserveDataUpdated`` (or v1 ``ReserveUpdated``) log → one ``YieldRate``.

    The pool is ``{asset}-lending`` (``wxdai-lending``) of the registry's protocol.

    ``apy``/``supplyApy`` come from ``liquidityRate``, ``borrowApy`` from ``variableBorrowRate``
    (percent). The rates need no metadata, so an unknown pool or reserve still has its APYs:
    the protocol is then ``unknown`` (flag ``unknown_pool``), the asset the reserve's address
    (flag ``unknown_token``).
    """
    rates = decode_reserve_data_updated(log.topics, log.data)
    flags: list[str] = []
    market = market_at(log.chain, log.address)
    if market is None:
        flags.append("unknown_pool")
    token = token_at(log.chain, rates.reserve)
    if token is None:
        flags.append("unknown_token")
    asset = token.symbol if token is not None else rates.reserve
    supply, borrow = _apys(ray_apr_to_apy, rates.liquidity_rate, rates.variable_borrow_rate)
    data = YieldRate(
        protocol=market.protocol if market is not None else "unknown",
        pool=f"{asset.lower()}-lending",
        asset=asset,
        chain=log.chain,
        apy=supply,
        supply_apy=supply,
        borrow_apy=borrow,
        block_number=log.block_number,
        tx_hash=log.tx_hash,
        log_index=log.log_index,
    )
    return [
        wrap_log(
            data,
            log,
            key="yield",
            received_ms=received_ms,
            block_time_ms=block_time_ms,
            quality_flags=tuple(flags),
        )
    ]


def decode_rate_result(result: bytes, what: str = "getSupplyRate") -> int:
    """A Compound v3 ``getSupplyRate``/``getBorrowRate`` return: one ``uint64`` per-second rate."""
    (rate,) = decode_words(["uint64"], result, what)
    return int(rate)


def comet_rate_envelope(
    *,
    chain: str,
    comet: str,
    block_number: int,
    supply_result: bytes,
    borrow_result: bytes,
    received_ms: int,
    block_time_ms: int | None,
) -> Envelope[Any]:
    """Compound v3 rates read by ``eth_call`` at ``block_number`` → one ``YieldRate``.

    The pool is ``{base}-comet`` (``usdc-comet``). The message id is the market and block, so
    polling the same block twice yields one message. An unregistered Comet keeps its APYs
    with asset = its address and the ``unknown_pool`` flag.
    """
    supply, borrow = _apys(
        per_second_to_apy,
        decode_rate_result(supply_result, "getSupplyRate"),
        decode_rate_result(borrow_result, "getBorrowRate"),
    )
    market = market_at(chain, comet)
    comet = comet.lower()
    flags = []
    if market is None or market.base is None:
        asset = comet
        flags.append("unknown_pool")
    else:
        asset = market.base.symbol
    if block_time_ms is None:
        flags.append("no_event_time")
    data = YieldRate(
        protocol="compound-v3",
        pool=f"{asset.lower()}-comet",
        asset=asset,
        chain=chain,
        apy=supply,
        supply_apy=supply,
        borrow_apy=borrow,
        block_number=block_number,
    )
    grade = "low" if set(flags) - {"no_event_time"} else "high"
    return new_envelope(
        data,
        source=f"{chain}-rpc",
        event_time_ms=block_time_ms if block_time_ms is not None else received_ms,
        received_time_ms=received_ms,
        message_id=message_id_for(chain, comet, block_number, data.message_type, "rates"),
        confidence_score=CONFIDENCE[grade],
        data_quality=grade,
        quality_flags=flags or None,
    )


_RESERVE_DATA_V3 = ["uint256", "uint128", "uint128", "uint128", "uint128", "uint128", "uint40",
                    "uint16", "address", "address", "address", "address", "uint128", "uint128",
                    "uint128"]  # fmt: skip
"""Aave v3 ``getReserveData(asset)``'s ``ReserveDataLegacy`` (v3.0-v3.4): configuration,
liquidityIndex, currentLiquidityRate, variableBorrowIndex, currentVariableBorrowRate,
currentStableBorrowRate, lastUpdateTimestamp, id, the aToken, stable and variable debt tokens,
the rate strategy, accruedToTreasury, unbacked, isolationModeTotalDebt — static, 15 words."""


def reserve_data_envelope(
    *,
    chain: str,
    pool: str,
    reserve: str,
    block_number: int,
    result: bytes,
    received_ms: int,
    block_time_ms: int | None,
) -> Envelope[Any]:
    """An Aave v3 ``getReserveData(reserve)`` return (by ``eth_call`` at ``block_number``) →
    one ``YieldRate``, as ``reserve_rate_envelopes`` makes from the ``ReserveDataUpdated`` log
    (same pool naming, APYs and flags); the message id is the pool, reserve and block.
    """
    words = decode_words(_RESERVE_DATA_V3, result, "getReserveData")
    liquidity_rate, variable_borrow_rate = words[2], words[4]
    pool, reserve = pool.lower(), reserve.lower()
    flags: list[str] = []
    market = market_at(chain, pool)
    if market is None:
        flags.append("unknown_pool")
    token = token_at(chain, reserve)
    if token is None:
        flags.append("unknown_token")
    asset = token.symbol if token is not None else reserve
    supply, borrow = _apys(ray_apr_to_apy, liquidity_rate, variable_borrow_rate)
    data = YieldRate(
        protocol=market.protocol if market is not None else "unknown",
        pool=f"{asset.lower()}-lending",
        asset=asset,
        chain=chain,
        apy=supply,
        supply_apy=supply,
        borrow_apy=borrow,
        block_number=block_number,
    )
    grade = "low" if flags else "high"
    if block_time_ms is None:
        flags.append("no_event_time")
    return new_envelope(
        data,
        source=f"{chain}-rpc",
        event_time_ms=block_time_ms if block_time_ms is not None else received_ms,
        received_time_ms=received_ms,
        message_id=message_id_for(chain, pool, reserve, block_number, data.message_type, "rates"),
        confidence_score=CONFIDENCE[grade],
        data_quality=grade,
        quality_flags=flags or None,
    )


def _apys(to_apy: Callable[[int], float], supply: int, borrow: int) -> tuple[float, float]:
    """Supply and borrow APY in percent; an impossible rate is the log's fault, not ours."""
    try:
        return to_apy(supply) * 100, to_apy(borrow) * 100
    except ValueError as exc:
        raise ChainDecodeError(str(exc)) from None
