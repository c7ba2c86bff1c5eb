"""Envelope ``data`` payloads, one msgspec Struct per message kind, and the kind registry.

``MESSAGE_TYPES`` maps each ``header.messageType`` to its Struct; decoding, schema files and
tests all iterate it, so a new kind is added here and nowhere else.
"""

from __future__ import annotations

from lucent_platform.messages.base import Int64, MessageData, PriceLevel, WireStruct
from lucent_platform.messages.defi import GovernanceEvent, Liquidation, YieldRate
from lucent_platform.messages.enrichment import (
    BookDepth,
    CrossVenueSpread,
    MovingAverage,
    PriceEnrichment,
)
from lucent_platform.messages.market import (
    Liquidity,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceUpdate,
    Trade,
)
from lucent_platform.messages.monitoring import MonitoringAlert
from lucent_platform.messages.onchain import BridgeTransfer, PoolSwap
from lucent_platform.messages.predictions import ModelPrediction
from lucent_platform.messages.signals import (
    ArbitrageOpportunity,
    LiquidationCascade,
    PriceAlert,
    YieldOpportunity,
)

MESSAGE_TYPES: dict[str, type[MessageData]] = {
    kind.message_type: kind
    for kind in (
        PriceUpdate,
        Trade,
        OrderBookSnapshot,
        OrderBookDelta,
        YieldRate,
        Liquidation,
        GovernanceEvent,
        BridgeTransfer,
        PoolSwap,
        YieldOpportunity,
        PriceAlert,
        ArbitrageOpportunity,
        LiquidationCascade,
        ModelPrediction,
        MonitoringAlert,
    )
}

__all__ = [
    "MESSAGE_TYPES",
    "ArbitrageOpportunity",
    "BookDepth",
    "BridgeTransfer",
    "CrossVenueSpread",
    "GovernanceEvent",
    "Int64",
    "Liquidation",
    "LiquidationCascade",
    "Liquidity",
    "MessageData",
    "ModelPrediction",
    "MonitoringAlert",
    "MovingAverage",
    "OrderBookDelta",
    "OrderBookSnapshot",
    "PoolSwap",
    "PriceAlert",
    "PriceEnrichment",
    "PriceLevel",
    "PriceUpdate",
    "Trade",
    "WireStruct",
    "YieldOpportunity",
    "YieldRate",
]
