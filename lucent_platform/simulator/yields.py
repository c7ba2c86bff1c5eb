"""Yields: each pool's APY drifts around its base rate, TVL wanders, and APYs sometimes spike.

A pool's APY is an Ornstein-Uhlenbeck process around ``base_apy`` kept below
``NORMAL_APY_CEILING`` (so above 5 % means an injected spike); during a spike it holds near
the spike level, always above ``SPIKE_APY_FLOOR``. Lending pools quote a borrow APY above the
supply APY; AMM pools (Curve) have none.
"""

from __future__ import annotations

import math

from lucent_platform import topics
from lucent_platform.envelope import message_id_for
from lucent_platform.messages import YieldRate
from lucent_platform.simulator.config import PoolSpec
from lucent_platform.simulator.draws import Draws

NORMAL_APY_CEILING = 4.8
NORMAL_APY_FLOOR = 0.05
SPIKE_APY_FLOOR = 5.2
APY_HALF_LIFE_S = 600.0
APY_STD = 0.3  # stationary spread of the APY around its base, percentage points
SPIKE_NOISE = 0.15
TVL_VOL_PER_S = 1e-4  # log-space, about 0.6 % an hour
BORROW_MARKUP = (1.25, 0.8)  # borrow APY = supply × 1.25 + 0.8 points
DELAY_MS = 5  # from the node's answer to our connector


class PoolStream:
    """The state of one pool's yield feed."""

    def __init__(self, spec: PoolSpec, draws: Draws, run_id: str) -> None:
        self.spec = spec
        self.topic = topics.yields(spec.protocol, spec.pool)
        self.key = spec.protocol.encode()
        self.source = f"{spec.protocol}-simulator"
        self.apy = _clamp(spec.base_apy + APY_STD * draws.normal())
        self.tvl_usd = spec.tvl_usd
        self.spike_apy: float | None = None
        self.spike_until_ms: int | None = None
        self.delay_ms = DELAY_MS
        self.last_received_ms = 0
        self._id_prefix = f"{run_id}\x1f{spec.protocol}\x1f{spec.pool}"
        self._sent = 0

    def next_message_id(self) -> str:
        self._sent += 1
        return message_id_for(self._id_prefix, self._sent)

    def advance(self, dt_s: float, draws: Draws) -> None:
        """Drift APY and TVL forward by ``dt_s`` simulated seconds."""
        decay = math.exp(-dt_s * math.log(2) / APY_HALF_LIFE_S)
        noise = APY_STD * math.sqrt(1 - decay * decay) * draws.normal()
        self.apy = _clamp(self.spec.base_apy + (self.apy - self.spec.base_apy) * decay + noise)
        self.tvl_usd *= math.exp(TVL_VOL_PER_S * math.sqrt(dt_s) * draws.normal())

    def rate(self, draws: Draws) -> YieldRate:
        """The pool's yield now (the spike level while a spike lasts)."""
        apy = self.apy
        if self.spike_apy is not None:
            apy = max(self.spike_apy + SPIKE_NOISE * draws.normal(), SPIKE_APY_FLOOR)
        markup, spread = BORROW_MARKUP
        return YieldRate(
            protocol=self.spec.protocol,
            pool=self.spec.pool,
            asset=self.spec.asset,
            chain=self.spec.chain,
            apy=round(apy, 4),
            tvl_usd=round(self.tvl_usd, 2),
            supply_apy=round(apy, 4),
            borrow_apy=round(apy * markup + spread, 4) if self.spec.lending else None,
        )


def _clamp(apy: float) -> float:
    return min(max(apy, NORMAL_APY_FLOOR), NORMAL_APY_CEILING)
