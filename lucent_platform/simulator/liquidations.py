"""Liquidations: a few a minute across the lending markets, and now and then a cascade.

A single liquidation repays a debt of about $8k (log-normal, $100 to $5M) at the simulated
prices of the moment: Aave v3 style, the liquidator repays ``debtAmount`` of the debt asset
and seizes that value plus the market's bonus in collateral (``valueUsd`` is the debt
repaid); Compound v3 style (``AbsorbCollateral``), the protocol absorbs the whole position:
``collateralAmount`` is all of it, ``valueUsd`` its USD value, ``debtAmount`` the debt taken
over. Borrowers are fresh fake addresses, liquidators a handful of bots.

A **cascade** crashes one collateral asset (``WETH`` → the simulated ``ETH``) by 5.8-6.5 %
over 52-56 s, then lets it recover, while 4-8 larger liquidations of that collateral hit one
market in the crash's second half, a few per block. It starts 1 s into the next whole minute,
so the fall and the liquidations share one of the pattern app's (default, epoch-aligned)
1-minute windows. The crash shifts the asset's price (``MarketModel.set_shock``) without
drawing from the market's random numbers, and every venue quotes it, so venues stay in line;
meanwhile they quote faster (``onchain.CRASH_TICKERS_PER_S``), so the processor's outlier
check — the rolling median of a venue's last 50 quotes — follows the fall instead of
rejecting fair quotes 4 % below a median half a minute old (24 seeds tried: every cascade
found by the pattern app, no fair quote dead-lettered).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from lucent_platform import topics
from lucent_platform.messages import Liquidation
from lucent_platform.simulator.anomalies import Injection
from lucent_platform.simulator.chain import BLOCK_MS, ChainFeed, block_at, fake_hex
from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.draws import Draws
from lucent_platform.simulator.prices import MarketModel

DEBT_USD_MEDIAN = 8_000.0
CASCADE_DEBT_USD_MEDIAN = 60_000.0
DEBT_USD_SIGMA = 1.2
DEBT_USD_RANGE = (100.0, 5_000_000.0)
LIQUIDATOR_BOTS = 6
CASCADE_OFFSET_MS = 1_000  # into the next whole minute
LIQUIDATIONS_FROM = 0.4  # share of the crash gone before positions start to fail
SHOCK_DONE = 1e-5  # a recovering crash this small is over
DECIMALS = {"WETH": 18, "WBTC": 8, "USDC": 6, "USDT": 6}
QUOTES = ("USD", "USDT", "USDC")

Emitted = tuple[ChainFeed, Liquidation, bool]
"""(feed, data, part of a cascade)."""


@dataclass(frozen=True, slots=True)
class Crash:
    """An asset's crash: ``depth`` (log-space) reached linearly over ``[start, end)``."""

    start_ms: int
    end_ms: int
    depth: float
    half_life_ms: int

    def shock(self, now_ms: int) -> float:
        if now_ms <= self.start_ms:
            return 0.0
        if now_ms < self.end_ms:
            return -self.depth * (now_ms - self.start_ms) / (self.end_ms - self.start_ms)
        return -self.depth * 0.5 ** ((now_ms - self.end_ms) / self.half_life_ms)


@dataclass(frozen=True, slots=True)
class Planned:
    """A cascade's liquidation due in a later block."""

    market: int
    collateral: int
    debt: int


class LiquidationEngine:
    """Liquidations and cascades of ``config.lending_markets``, from its own ``draws``."""

    def __init__(
        self, config: SimulatorConfig, model: MarketModel, draws: Draws, run_id: str
    ) -> None:
        self.config = config
        self.model = model
        self.draws = draws
        self.run_id = run_id
        self.markets = config.lending_markets
        self.feeds = [
            ChainFeed(topics.liquidations(m.protocol), m.protocol, run_id) for m in self.markets
        ]
        block_s = BLOCK_MS / 1000
        self.per_block = config.liquidations_per_s * config.rate_multiplier * block_s
        self.cascades_per_block = config.anomalies.liquidation_cascade * block_s / 60
        priced = {p.split("-")[0] for p in config.pairs if p.split("-")[1] in QUOTES}
        # (market, collateral) a cascade can hit: its asset is quoted, so the fall is seen.
        self.cascade_targets = [
            (i, j)
            for i, market in enumerate(self.markets)
            for j, (_, underlying) in enumerate(market.collateral)
            if underlying in priced
        ]
        self.crashes: dict[str, Crash] = {}
        self.planned: dict[int, list[Planned]] = {}
        self.injections: list[Injection] = []  # cascades started, for the simulator to log
        self._count = 0

    def block(
        self, block: int, time_ms: int, first: bool, log_index: Callable[[], int]
    ) -> list[Emitted]:
        """This block's liquidations (``log_index`` numbers the block's logs); ``first``: the
        run's first cascade is due now."""
        out: list[Emitted] = []
        draws = self.draws
        for plan in self.planned.pop(block, []):
            data = self._liquidation(plan, block, log_index(), CASCADE_DEBT_USD_MEDIAN)
            out.append((self.feeds[plan.market], data, True))
        if self.markets and self.per_block > 0:
            for _ in range(int(draws.rng.poisson(self.per_block))):
                market = draws.index(len(self.markets))
                spec = self.markets[market]
                plan = Planned(
                    market, draws.index(len(spec.collateral)), draws.index(len(spec.debt))
                )
                data = self._liquidation(plan, block, log_index(), DEBT_USD_MEDIAN)
                out.append((self.feeds[market], data, False))
        if (
            self.cascade_targets
            and self.cascades_per_block > 0  # a rate of 0 turns cascades off, the first too
            and (first or draws.rng.poisson(self.cascades_per_block))
        ):
            self._plan_cascade(time_ms)
        return out

    def crashing(self, now_ms: int) -> list[str]:
        """The assets falling at ``now_ms`` (between a crash's start and end)."""
        return [a for a, c in self.crashes.items() if c.start_ms <= now_ms < c.end_ms]

    def move_prices(self, now_ms: int) -> None:
        """Set each crashing asset's price shift for the market's next step (to ``now_ms``)."""
        for asset, crash in list(self.crashes.items()):
            shock = crash.shock(now_ms)
            if now_ms >= crash.end_ms and -shock < SHOCK_DONE:
                shock = 0.0
                del self.crashes[asset]
            self.model.set_shock(asset, shock)

    def _plan_cascade(self, now_ms: int) -> None:
        draws, rates = self.draws, self.config.anomalies
        market, collateral = self.cascade_targets[draws.index(len(self.cascade_targets))]
        spec = self.markets[market]
        symbol, asset = spec.collateral[collateral]
        if asset in self.crashes:
            return  # one crash per asset at a time
        start = now_ms - now_ms % 60_000 + 60_000 + CASCADE_OFFSET_MS
        duration = int(draws.between(*rates.cascade_duration_ms))
        drop_pct = draws.between(*rates.cascade_drop_pct)
        self.crashes[asset] = Crash(
            start,
            start + duration,
            -math.log(1 - drop_pct / 100),
            rates.cascade_recovery_half_life_ms,
        )
        low, high = rates.cascade_liquidations
        count = low + draws.index(high - low + 1)
        for _ in range(count):
            at = start + int(duration * draws.between(LIQUIDATIONS_FROM, 1.0))
            plan = Planned(market, collateral, draws.index(len(spec.debt)))
            self.planned.setdefault(block_at(at), []).append(plan)
        detail = f"{count} {symbol} liquidations while {asset} falls {drop_pct:.1f} %"
        self.injections.append(
            Injection("liquidation_cascade", start, start + duration, self.feeds[market].topic,
                      detail)
        )  # fmt: skip

    def _liquidation(self, plan: Planned, block: int, log_index: int, median: float) -> Liquidation:
        draws, model = self.draws, self.model
        spec = self.markets[plan.market]
        symbol, asset = spec.collateral[plan.collateral]
        debt_asset = spec.debt[plan.debt]
        debt_usd = min(max(draws.lognormal(median, DEBT_USD_SIGMA), DEBT_USD_RANGE[0]),
                       DEBT_USD_RANGE[1])  # fmt: skip
        collateral = debt_usd * (1 + spec.bonus_pct / 100) / model.usd_price(asset)
        debt = debt_usd / model.usd_price(debt_asset)
        self._count += 1
        n = self._count
        bot = draws.index(LIQUIDATOR_BOTS)
        data = Liquidation(
            protocol=spec.protocol,
            chain=spec.chain,
            tx_hash=fake_hex(self.run_id, "liquidation-tx", n, 32),
            borrower=fake_hex(self.run_id, "borrower", n, 20),
            liquidator=fake_hex("lucent-simulator", "liquidator", bot, 20),
            collateral_asset=symbol,
            debt_asset=debt_asset,
            collateral_amount=_round(collateral, symbol),
            debt_amount=_round(debt, debt_asset),
            value_usd=round(
                debt_usd if spec.style == "aave" else collateral * model.usd_price(asset), 2
            ),
            block_number=block,
            log_index=log_index,
        )
        return data


def _round(amount: float, symbol: str) -> float:
    """To the token's decimals (at most 9: a float carries no more anyway)."""
    return round(amount, min(DECIMALS.get(symbol, 18), 9))
