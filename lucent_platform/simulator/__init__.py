"""The market simulator: a deterministic, seeded crypto market for every raw topic.

Prices for several pairs on several exchanges (correlated random walks, per-venue noise and
spreads), trades, order books (snapshots and sequenced deltas), DeFi yields, on-chain
liquidations (with cascades) and governance events, and injected anomalies (arbitrage gaps,
APY spikes, outliers, duplicates, late and malformed messages), so
that every downstream feature visibly does something without the internet. Pure: no I/O; the
feed worker publishes what ``MarketSimulator.step`` returns.
"""

from __future__ import annotations

from lucent_platform.simulator.anomalies import ANOMALIES, Anomaly, Injection
from lucent_platform.simulator.config import (
    AnomalyRates,
    AssetSpec,
    PoolSpec,
    SimulatorConfig,
    VenueProfile,
)
from lucent_platform.simulator.output import SimulatedMessage
from lucent_platform.simulator.stream import MarketSimulator

__all__ = [
    "ANOMALIES",
    "Anomaly",
    "AnomalyRates",
    "AssetSpec",
    "Injection",
    "MarketSimulator",
    "PoolSpec",
    "SimulatedMessage",
    "SimulatorConfig",
    "VenueProfile",
]
