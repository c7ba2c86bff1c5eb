"""The domain's pure core: commands from signal records, sizing, portfolio state, drift."""

from __future__ import annotations

import uuid

import pytest

from lucent_platform.domain import events, handling, rebalance, sizing
from lucent_platform.domain.bridge import Rejected, command_for
from lucent_platform.domain.commands import command_id_for
from lucent_platform.domain.config import DomainConfig, domain_config
from lucent_platform.domain.events import SourceRecord
from lucent_platform.domain.portfolio import Portfolio, rebuild
from lucent_platform.domain.prices import PriceBoard, Quote
from lucent_platform.eventstore import RecordedEvent
from lucent_platform.topics import ARBITRAGE_OPPORTUNITIES, USER_ALERTS, YIELD_OPPORTUNITIES
from tests.domain_flow import NOW, alert_signal, price_update, yield_signal

CONFIG = DomainConfig(portfolio="p", capital_usd=100_000.0)


def opportunity(edge: float, venues: tuple[str, ...] = ("aave",), liquidity: float | None = None):
    return sizing.Opportunity("o", "yield", venues, "pool", edge, 0.1, 1000, liquidity)


# --- the bridge's decision -------------------------------------------------------------------
def test_a_signal_record_becomes_a_command_with_its_ids() -> None:
    value, signal_id = yield_signal("eth-lending", market_id="m-1")
    command = command_for(YIELD_OPPORTUNITIES, 2, 41, value, 123)
    assert command.command_id == command_id_for(signal_id)
    assert (command.correlation_id, command.causation_id) == ("m-1", signal_id)
    assert command.type == "yield.opportunity.detected" and command.issued_at_ms == 123
    assert (command.source.partition, command.source.offset) == (2, 41)
    assert bytes(command.signal) == value
    alert, alert_id = alert_signal("u-1")
    # no correlation id on the signal: it starts the chain itself
    assert command_for(USER_ALERTS, 0, 0, alert, 0).correlation_id == alert_id


@pytest.mark.parametrize(
    ("topic", "value", "reason"),
    [
        (YIELD_OPPORTUNITIES, b"{not json", "undecodable"),
        (YIELD_OPPORTUNITIES, None, "undecodable"),
        (ARBITRAGE_OPPORTUNITIES, yield_signal("x")[0], "wrong_topic"),
        ("market.prices.all", yield_signal("x")[0], "wrong_topic"),
    ],
)
def test_records_that_are_no_signal_are_rejected_with_a_reason(
    topic: str, value: bytes | None, reason: str
) -> None:
    with pytest.raises(Rejected) as caught:
        command_for(topic, 0, 0, value, 0)
    assert caught.value.reason == reason


# --- sizing ---------------------------------------------------------------------------------
def test_fractional_kelly_below_every_cap() -> None:
    config = DomainConfig(kelly_fraction=0.25, max_share_per_venue=1.0, risk_budget=1.0)
    # edge 0.004 a year, volatility 0.1: Kelly 0.4, a quarter of it 0.1 of capital
    sized = sizing.size_position(config, opportunity(0.004), {}, 0.0)
    assert sized is not None and sized.limited_by == "kelly"
    assert sized.share == pytest.approx(0.1) and sized.notional_usd == pytest.approx(10_000.0)


def test_caps_per_venue_budget_and_liquidity() -> None:
    rich = opportunity(0.05)  # Kelly share 1.25: always capped
    by_venue = sizing.size_position(CONFIG, rich, {"aave": 0.15}, 0.15)
    assert by_venue is not None and by_venue.limited_by == "venue_cap"
    assert by_venue.share == pytest.approx(0.05)
    by_budget = sizing.size_position(CONFIG, rich, {}, 0.45)
    assert by_budget is not None and by_budget.limited_by == "risk_budget"
    assert by_budget.share == pytest.approx(0.05)
    thin = sizing.size_position(CONFIG, opportunity(0.05, liquidity=1234.0), {}, 0.0)
    assert thin is not None and (thin.limited_by, thin.notional_usd) == ("liquidity", 1234.0)


def test_no_recommendation_without_edge_or_room() -> None:
    assert sizing.size_position(CONFIG, opportunity(-0.01), {}, 0.0) is None
    assert sizing.size_position(CONFIG, opportunity(0.05), {"aave": 0.2}, 0.2) is None
    assert sizing.size_position(CONFIG, opportunity(0.05), {}, 0.5) is None


def test_arbitrage_counts_against_both_venues() -> None:
    data = events.ArbitrageOpportunityDetected(
        opportunity_id="a", pair="ETH-USDT", buy_exchange="kraken", sell_exchange="binance",
        buy_price=3000.0, sell_price=3003.0, spread_bps=10.0, fees_bps=4.0, net_profit_bps=6.0,
        window_start_ms=0, window_end_ms=1, detected_at_ms=0, size=10.0,
    )  # fmt: skip
    opp = sizing.arbitrage_opportunity(CONFIG, data)
    assert opp.venues == ("kraken", "binance") and opp.liquidity_usd == 30_000.0
    assert opp.edge == pytest.approx(0.0006) and opp.volatility == pytest.approx(0.002)
    sized = sizing.size_position(CONFIG, opp, {"binance": 0.19}, 0.19)
    assert sized is not None and sized.share == pytest.approx(0.01)


def test_domain_config_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="unknown domain config field"):
        domain_config({"capital": 1})
    with pytest.raises(ValueError, match="sum to 1"):
        domain_config({"target_weights": {"BTC": 0.5}})
    with pytest.raises(ValueError, match="risk_budget"):
        domain_config({"risk_budget": 1.5})
    assert domain_config({"capital_usd": "5000"}).capital_usd == 5000.0


# --- handling: events, metadata, the portfolio ----------------------------------------------
def recorded(plan: handling.Planned, position: int) -> RecordedEvent:
    new = plan.new_event()
    return RecordedEvent(
        new.id, new.type, new.data, new.metadata, plan.stream, position, position, 0
    )


def test_one_recommendation_per_opportunity_and_expiry_frees_the_caps() -> None:
    value, _ = yield_signal("pool-a", apy=9.0, market_id="m-1")
    cause = handling.signal_event(command_for(YIELD_OPPORTUNITIES, 0, 0, value, 0))
    assert cause.stream == events.yield_opportunity_stream(
        events.opportunity_id("aave-v3", "pool-a", NOW)
    )
    portfolio = Portfolio("p")
    plan = handling.recommendation(CONFIG, portfolio, cause, now_ms=1_000)
    assert plan is not None and plan.stream == "portfolio-p"
    assert plan.id == events.derived_id(str(cause.id), events.POSITION_RECOMMENDED)
    assert plan.metadata.causation_id == str(cause.id) and plan.metadata.causation_kind == "event"
    assert plan.metadata.correlation_id == "m-1"
    portfolio.apply(recorded(plan, 0))
    assert handling.recommendation(CONFIG, portfolio, cause, now_ms=2_000) is None
    assert portfolio.open_shares(2_000) == ({"aave-v3": 0.2}, 0.2)
    horizon_ms = int(CONFIG.yield_horizon_s * 1000)
    assert portfolio.open_shares(1_000 + horizon_ms) == ({}, 0.0)


def test_portfolio_state_is_rebuilt_from_its_events_in_order() -> None:
    opened = events.PortfolioOpened("p", 100.0, {"BTC": 1.0, "USDT": 50.0}, {"BTC": 50.0}, 0)
    plan = handling.Planned(
        "portfolio-p", uuid.uuid4(), events.PORTFOLIO_OPENED, opened,
        events.EventMetadata("c", "c", "market"),
    )  # fmt: skip
    state = rebuild("p", [recorded(plan, 0)])
    assert state.version == 0 and state.holdings == {"BTC": 1.0, "USDT": 50.0}
    with pytest.raises(ValueError, match="after version 0"):
        state.apply(recorded(plan, 2))


# --- prices and drift -----------------------------------------------------------------------
def test_prices_are_the_median_of_fresh_venue_quotes() -> None:
    board = PriceBoard(["USDT", "USDC"])
    source = SourceRecord("market.prices.all", 0, 0)
    for exchange, pair, price, at in [
        ("binance", "BTC-USDT", 100.0, 1_000), ("kraken", "BTC-USDC", 102.0, 1_500),
        ("coinbase", "BTC-USDT", 500.0, 1_200), ("binance", "BTC-EUR", 90.0, 1_900),
        ("old", "BTC-USDT", 1.0, -100_000),
    ]:  # fmt: skip
        assert board.update_from(price_update(exchange, pair, price, at), source)
    assert not board.update_from(b"junk", source)
    valued = board.valuation(["BTC", "USDT"], now_ms=2_000, max_age_ms=10_000)
    assert valued is not None and valued.prices == {"BTC": 102.0, "USDT": 1.0}
    assert valued.newest is not None and valued.newest.at_ms == 1_500
    assert board.valuation(["ETH"], now_ms=2_000, max_age_ms=10_000) is None
    board.update("binance", "ETH-USDT", Quote(10.0, 0, "id", source))
    assert board.valuation(["ETH"], now_ms=20_000, max_age_ms=10_000) is None  # stale


def test_drift_over_the_threshold_rebalances_to_the_targets() -> None:
    config = DomainConfig(target_weights={"BTC": 0.5, "USDT": 0.5}, drift_threshold=0.05)
    opened = rebalance.open_at_targets(config, {"BTC": 100.0, "USDT": 1.0}, 0)
    assert opened.holdings == {"BTC": 500.0, "USDT": 50_000.0}
    # BTC +20 %: 60k / 110k = 54.5 % → 4.5 points: within the threshold
    assert rebalance.check_drift(config, opened.holdings, {"BTC": 120.0, "USDT": 1.0}, 1) is None
    # BTC +25 %: 62.5k / 112.5k = 55.6 % → 5.6 points: rebalance
    moved = rebalance.check_drift(config, opened.holdings, {"BTC": 125.0, "USDT": 1.0}, 2)
    assert moved is not None and moved.drift == pytest.approx(62.5 / 112.5 - 0.5)
    assert moved.value_usd == pytest.approx(112_500.0)
    assert moved.holdings_after["BTC"] == pytest.approx(450.0)
    assert moved.trades == pytest.approx({"BTC": -50.0, "USDT": 6_250.0})
    _, after = rebalance.weights(moved.holdings_after, moved.prices)
    assert after == pytest.approx({"BTC": 0.5, "USDT": 0.5})
