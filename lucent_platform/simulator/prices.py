"""Prices: correlated random walks for the assets, and each venue's quote around them.

Each asset's log USD price moves every tick by a common market factor (times the asset's
``beta``) plus its own noise, GBM-like (stablecoins mean-revert to their peg). A pair's true
price is base / quote. Each exchange × pair quotes around it with its own slowly varying
basis (an Ornstein-Uhlenbeck noise of a few bps) and half-spread, on a price grid of one
"step" per pair; an injected arbitrage gap shifts one venue's quote on top of that.
Quotes are kept in integer steps (``price = steps * step``), which makes books exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.draws import Draws

SECONDS_PER_YEAR = 365 * 24 * 3600
BASIS_HALF_LIFE_S = 5.0
STEP_BPS = 0.3  # the price grid: about 0.3 bp of the start price, rounded to 1, 2 or 5


@dataclass(frozen=True, slots=True)
class PriceGrid:
    """A pair's price grid: prices are whole multiples of ``step``, shown with ``decimals``."""

    step: float
    decimals: int

    @classmethod
    def around(cls, price: float) -> PriceGrid:
        """A round step (1, 2 or 5 × 10^k) of about ``STEP_BPS`` of ``price``.

        ``PriceGrid.around(60_000.0)`` has step 1.0; ``PriceGrid.around(3_000.0)`` step 0.05.
        """
        target = price * STEP_BPS * 1e-4
        exponent = math.floor(math.log10(target))
        mantissa = max(m for m in (1, 2, 5) if m <= target / 10**exponent)
        decimals = max(0, -exponent)
        return cls(round(mantissa * 10.0**exponent, decimals), decimals)

    def price(self, steps: int) -> float:
        return round(steps * self.step, self.decimals)


class MarketModel:
    """True prices per pair and the current quote of every venue × pair stream.

    ``streams`` lists ``(exchange, pair)`` in the simulator's order; after each ``advance``
    the lists ``mid``, ``bid_steps`` and ``ask_steps`` hold each stream's current quote.
    """

    def __init__(
        self, config: SimulatorConfig, draws: Draws, streams: list[tuple[str, str]]
    ) -> None:
        self._draws = draws
        assets = list(config.assets)
        symbols = [asset.symbol for asset in assets]
        per_s = 1.0 / math.sqrt(SECONDS_PER_YEAR)
        self._log_peg = [math.log(asset.price_usd) for asset in assets]
        self._log_price = list(self._log_peg)
        self._beta_vol = [a.beta * config.market_vol * per_s for a in assets]
        self._idio_vol = [a.idio_vol * per_s for a in assets]
        self._reversion = [a.mean_reversion_per_s for a in assets]
        self._symbols = {symbol: k for k, symbol in enumerate(symbols)}
        self._shock = [0.0] * len(assets)  # log-space, set by a cascade's crash
        self._base = [symbols.index(pair.split("-")[0]) for pair in config.pairs]
        self._quote = [symbols.index(pair.split("-")[1]) for pair in config.pairs]
        self.pair_price: list[float] = []
        self._set_pair_prices()

        pair_index = {pair: i for i, pair in enumerate(config.pairs)}
        self.stream_pair = [pair_index[pair] for _, pair in streams]
        grids = [PriceGrid.around(price) for price in self.pair_price]
        self.grid = [grids[p] for p in self.stream_pair]
        self._step = [grid.step for grid in self.grid]
        self._half_spread = [
            config.venue(exchange).half_spread_bps
            * config.asset(pair.split("-")[0]).spread_factor
            * 1e-4
            for exchange, pair in streams
        ]
        self._basis_std = [config.venue(exchange).basis_bps for exchange, _ in streams]
        self._basis_bps = [std * draws.normal() for std in self._basis_std]
        self.gap = [0.0] * len(streams)
        self.mid: list[float] = []
        self.bid_steps: list[int] = []
        self.ask_steps: list[int] = []
        self._quote_all()

    def advance(self, dt_s: float) -> None:
        """Move every asset, basis and quote forward by ``dt_s`` simulated seconds."""
        normal, root_dt = self._draws.normal, math.sqrt(dt_s)
        market = normal()
        log_price = self._log_price
        for k, (peg, beta_vol, idio_vol, reversion) in enumerate(
            zip(self._log_peg, self._beta_vol, self._idio_vol, self._reversion, strict=True)
        ):
            log_price[k] += (
                -reversion * (log_price[k] - peg) * dt_s
                + (beta_vol * market + idio_vol * normal()) * root_dt
                - 0.5 * (beta_vol * beta_vol + idio_vol * idio_vol) * dt_s  # GBM drift term
            )
        # Exact Ornstein-Uhlenbeck step: the basis keeps its stationary spread for any dt.
        decay = math.exp(-dt_s * math.log(2) / BASIS_HALF_LIFE_S)
        refresh = math.sqrt(1 - decay * decay)
        self._basis_bps = [
            basis * decay + std * refresh * normal()
            for basis, std in zip(self._basis_bps, self._basis_std, strict=True)
        ]
        self._set_pair_prices()
        self._quote_all()

    def set_gap(self, stream: int, gap: float) -> None:
        """Shift one stream's quotes by ``gap`` (``0.01`` is +1 %); ``0.0`` closes the gap."""
        self.gap[stream] = gap
        self._quote_all()

    def usd_price(self, symbol: str) -> float:
        """An asset's true USD price now (the venues quote around it)."""
        k = self._symbols[symbol]
        return math.exp(self._log_price[k] + self._shock[k])

    def set_shock(self, symbol: str, log_shock: float) -> None:
        """Shift an asset's price by ``exp(log_shock)`` from the next ``advance`` on (a crash;
        ``0.0`` ends it). The random walk itself is untouched, so it draws the same numbers."""
        self._shock[self._symbols[symbol]] = log_shock

    def _set_pair_prices(self) -> None:
        usd = [math.exp(lp + shock) for lp, shock in zip(self._log_price, self._shock, strict=True)]
        self.pair_price = [usd[b] / usd[q] for b, q in zip(self._base, self._quote, strict=True)]

    def _quote_all(self) -> None:
        self.mid = [
            self.pair_price[p] * (1.0 + b * 1e-4) * (1.0 + gap)
            for p, b, gap in zip(self.stream_pair, self._basis_bps, self.gap, strict=True)
        ]
        bids, asks = [], []
        for mid, half, step in zip(self.mid, self._half_spread, self._step, strict=True):
            bid = math.floor(mid * (1.0 - half) / step)
            bids.append(bid)
            asks.append(max(math.ceil(mid * (1.0 + half) / step), bid + 1))
        self.bid_steps, self.ask_steps = bids, asks
