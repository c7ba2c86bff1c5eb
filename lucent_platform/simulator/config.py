"""What the market simulator simulates: venues, pairs, pools, message rates and anomaly rates.

Everything is a frozen value, so one ``SimulatorConfig`` plus a start time fully determines the
output. Rates are per simulated second (messages) or per simulated minute (anomalies); prices
are in quote-asset units, sizes in base-asset units, APYs in percent, durations in ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lucent_platform.topics import TopicNameError, segment


@dataclass(frozen=True)
class AssetSpec:
    """One asset's USD price process: ``beta`` to the market factor plus its own noise.

    Volatilities are annualised (``0.5`` is 50 %/year, about 0.9 bp per second). Stablecoins
    set ``mean_reversion_per_s`` so they stay near their peg instead of wandering.
    """

    symbol: str
    price_usd: float
    beta: float
    idio_vol: float
    daily_volume_usd: float = 0.0
    spread_factor: float = 1.0
    mean_reversion_per_s: float = 0.0


@dataclass(frozen=True)
class VenueProfile:
    """How an exchange quotes: half-spread and price noise (bps), share of volume, delay (ms)."""

    half_spread_bps: float
    basis_bps: float
    volume_share: float
    delay_ms: int


@dataclass(frozen=True)
class PoolSpec:
    """A DeFi pool whose yield is simulated; ``base_apy`` (percent) is where its APY drifts."""

    protocol: str
    pool: str
    asset: str
    base_apy: float
    tvl_usd: float
    chain: str = "ethereum"
    lending: bool = True


DEFAULT_ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("BTC", 60_000.0, beta=1.0, idio_vol=0.20, daily_volume_usd=2.0e9),
    AssetSpec("ETH", 3_000.0, beta=1.2, idio_vol=0.30, daily_volume_usd=1.2e9, spread_factor=1.2),
    AssetSpec("SOL", 150.0, beta=1.5, idio_vol=0.55, daily_volume_usd=4.0e8, spread_factor=2.0),
    # Pegged: stationary deviation from $1 of about 3 bps.
    AssetSpec("USDT", 1.0, beta=0.0, idio_vol=0.30, mean_reversion_per_s=1 / 60),
    AssetSpec("USDC", 1.0, beta=0.0, idio_vol=0.30, mean_reversion_per_s=1 / 60),
    AssetSpec("USD", 1.0, beta=0.0, idio_vol=0.0),
)

VENUE_PROFILES: dict[str, VenueProfile] = {
    "binance": VenueProfile(half_spread_bps=0.5, basis_bps=1.0, volume_share=1.0, delay_ms=3),
    "coinbase": VenueProfile(half_spread_bps=1.0, basis_bps=1.5, volume_share=0.4, delay_ms=5),
    "kraken": VenueProfile(half_spread_bps=1.5, basis_bps=2.0, volume_share=0.15, delay_ms=7),
}
OTHER_VENUE = VenueProfile(half_spread_bps=2.0, basis_bps=2.0, volume_share=0.1, delay_ms=8)


@dataclass(frozen=True)
class LendingMarketSpec:
    """A lending market whose liquidations are simulated, in Aave v3 or Compound v3 style.

    ``collateral`` pairs each collateral's on-chain symbol with the simulated asset that
    prices it (``("WETH", "ETH")``); ``debt`` lists the borrowed assets (simulated assets),
    ``bonus_pct`` is the liquidation bonus the liquidator earns on the collateral.
    """

    protocol: str
    style: Literal["aave", "compound"]
    collateral: tuple[tuple[str, str], ...]
    debt: tuple[str, ...]
    chain: str = "ethereum"
    bonus_pct: float = 5.0


@dataclass(frozen=True)
class GovernorSpec:
    """A protocol governor whose proposals and votes are simulated (GovernorBravo style):
    proposal ids count up from ``first_proposal_id``."""

    protocol: str
    first_proposal_id: int
    chain: str = "ethereum"


DEFAULT_LENDING_MARKETS: tuple[LendingMarketSpec, ...] = (
    LendingMarketSpec(
        "aave-v3", "aave", (("WETH", "ETH"), ("WBTC", "BTC")), ("USDC", "USDT"), bonus_pct=5.0
    ),
    # Compound v3's cUSDCv3: USDC is the one borrowable (base) asset.
    LendingMarketSpec("compound-v3", "compound", (("WETH", "ETH"), ("WBTC", "BTC")), ("USDC",)),
)
DEFAULT_GOVERNORS: tuple[GovernorSpec, ...] = (
    GovernorSpec("compound", first_proposal_id=380),
    GovernorSpec("uniswap", first_proposal_id=75),
)

DEFAULT_POOLS: tuple[PoolSpec, ...] = (
    PoolSpec("aave", "usdc-lending", "USDC", base_apy=4.1, tvl_usd=1.2e9),
    PoolSpec("aave", "eth-lending", "ETH", base_apy=2.1, tvl_usd=2.5e9),
    PoolSpec("compound", "usdc-lending", "USDC", base_apy=3.6, tvl_usd=4.0e8),
    PoolSpec("curve", "3pool", "3CRV", base_apy=2.4, tvl_usd=1.8e8, lending=False),
)


@dataclass(frozen=True)
class AnomalyRates:
    """How often each injected anomaly happens, per simulated minute, and how big it is.

    Market events (arbitrage gaps, APY spikes) happen at these rates whatever the message rate;
    message-level anomalies (outliers, duplicates, late, malformed) scale with
    ``SimulatorConfig.rate_multiplier`` so their share of the traffic stays the same.
    A rate of 0 turns that anomaly off.
    """

    arbitrage_gap: float = 1.0
    apy_spike: float = 0.6
    outlier: float = 2.0
    duplicate: float = 6.0
    late: float = 3.0
    malformed: float = 3.0
    gap_pct: tuple[float, float] = (0.7, 1.5)
    gap_duration_ms: tuple[int, int] = (3_000, 8_000)
    spike_apy: tuple[float, float] = (6.0, 14.0)
    spike_duration_ms: tuple[int, int] = (120_000, 300_000)
    late_by_ms: tuple[int, int] = (120_000, 600_000)
    liquidation_cascade: float = 0.05
    cascade_liquidations: tuple[int, int] = (4, 8)
    cascade_drop_pct: tuple[float, float] = (5.8, 6.5)
    cascade_duration_ms: tuple[int, int] = (52_000, 56_000)
    cascade_recovery_half_life_ms: int = 300_000
    first_events_after_ms: int | None = 10_000
    """One arbitrage gap and one APY spike open this long into every run (beside the random
    ones), so a short run — a demo, the first minute of ``make run`` — shows both detectors
    working; ``None``: only at the random rates above. Ten seconds, not two: the workers
    start with the feed and their consumer groups take a few seconds to join on the local
    broker, and a gap opened before then is found in the catch-up (measured: 2.9 s after the
    quote at 2 s), which measures start-up, not detection."""


@dataclass(frozen=True)
class SimulatorConfig:
    """The simulated market. At ``rate_multiplier=1`` and the defaults, about 85 msg/s.

    Per exchange × pair and simulated second: ``tickers_per_s`` price updates, ``trades_per_s``
    trades, ``book_deltas_per_s`` order-book deltas, plus a snapshot every
    ``snapshot_interval_ms``; each pool publishes ``yields_per_s`` yield updates. On chain
    (simulated Ethereum blocks, every 12 s): ``liquidations_per_s`` liquidations across the
    ``lending_markets`` (besides cascades, see ``AnomalyRates``) and ``proposals_per_s``
    governance proposals across the ``governors``, each followed by ``votes_per_proposal``
    votes and, if it passes, its queueing and execution. These rates scale with
    ``rate_multiplier`` like the others. The market itself moves every ``tick_ms`` (the
    simulation's time step).
    """

    seed: int = 7
    exchanges: tuple[str, ...] = ("binance", "coinbase", "kraken")
    pairs: tuple[str, ...] = ("BTC-USDT", "ETH-USDT", "ETH-USDC", "SOL-USDT")
    pools: tuple[PoolSpec, ...] = DEFAULT_POOLS
    assets: tuple[AssetSpec, ...] = DEFAULT_ASSETS
    rate_multiplier: float = 1.0
    tickers_per_s: float = 1.0
    trades_per_s: float = 3.0
    book_deltas_per_s: float = 3.0
    yields_per_s: float = 0.2
    liquidations_per_s: float = 0.02
    proposals_per_s: float = 0.002
    votes_per_proposal: tuple[int, int] = (8, 40)
    lending_markets: tuple[LendingMarketSpec, ...] = DEFAULT_LENDING_MARKETS
    governors: tuple[GovernorSpec, ...] = DEFAULT_GOVERNORS
    snapshot_interval_ms: int = 30_000
    book_depth: int = 20
    tick_ms: int = 100
    market_vol: float = 0.45
    anomalies: AnomalyRates = field(default_factory=AnomalyRates)

    def __post_init__(self) -> None:
        if not self.exchanges or not self.pairs:
            raise ValueError("the simulator needs at least one exchange and one pair")
        known = {asset.symbol for asset in self.assets}
        for pair in self.pairs:
            base, _, quote = pair.partition("-")
            if pair != pair.upper() or not quote or {base, quote} - known:
                raise ValueError(
                    f"pair {pair!r} must be BASE-QUOTE of simulated assets {sorted(known)}"
                )
        for market in self.lending_markets:
            for symbol in (*(underlying for _, underlying in market.collateral), *market.debt):
                if symbol not in known:
                    raise ValueError(
                        f"{market.protocol} lends {symbol!r}: not a simulated asset {sorted(known)}"
                    )
        chain_names = [m.protocol for m in self.lending_markets] + [
            g.protocol for g in self.governors
        ]
        for name in (*self.exchanges, *self.pairs, *self.pool_names(), *chain_names):
            try:
                segment(name)
            except TopicNameError as exc:
                raise ValueError(f"cannot simulate {name!r}: {exc}") from None
        if self.rate_multiplier <= 0 or self.tick_ms <= 0 or self.snapshot_interval_ms <= 0:
            raise ValueError("rate_multiplier, tick_ms and snapshot_interval_ms must be positive")
        if self.book_depth < 1:
            raise ValueError("book_depth must be at least 1")

    def pool_names(self) -> list[str]:
        return [name for spec in self.pools for name in (spec.protocol, spec.pool)]

    def asset(self, symbol: str) -> AssetSpec:
        return next(asset for asset in self.assets if asset.symbol == symbol)

    def venue(self, exchange: str) -> VenueProfile:
        return VENUE_PROFILES.get(exchange, OTHER_VENUE)
