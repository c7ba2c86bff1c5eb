"""The simulator's rate multiplier for a wanted message rate, measured rather than assumed.

Messages per simulated second grow with the exchanges × pairs, the pools and the anomaly rates
(``SimulatorConfig``'s docstring), and not all of them scale with ``rate_multiplier`` (book
snapshots come every ``snapshot_interval_ms`` whatever the rate). So the base rate is counted:
a minute and a half of the configured market at multiplier 1, a fraction of a second of CPU.
"""

from __future__ import annotations

from dataclasses import replace

from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.stream import MarketSimulator

CALIBRATION_MS = 90_000
CALIBRATION_START_MS = 1_767_225_600_000  # 2026-01-01 UTC: any fixed instant will do


def base_rate(config: SimulatorConfig, duration_ms: int = CALIBRATION_MS) -> float:
    """Messages per simulated second of ``config``'s market at ``rate_multiplier`` 1."""
    simulator = MarketSimulator(replace(config, rate_multiplier=1.0), start_ms=CALIBRATION_START_MS)
    count = sum(1 for _ in simulator.run(duration_ms))
    return count / (duration_ms / 1000)


def multiplier_for(rate: float, config: SimulatorConfig) -> float:
    """The ``rate_multiplier`` (``LUCENT_SIMULATOR_RATE``) at which ``config``'s market
    produces about ``rate`` messages per second."""
    if rate <= 0:
        raise ValueError(f"the rate must be positive, got {rate}")
    return rate / base_rate(config)
