"""Rebalancing on live prices: the domain worker follows ``market.prices.all`` on the broker,
opens the portfolio at its targets, and triggers a rebalance once prices move it past the
threshold — announced to the trading engine, the agents and the owner."""

from __future__ import annotations

import time
from pathlib import Path

from lucent_platform.config import Settings
from lucent_platform.domain import events
from lucent_platform.domain.config import DomainConfig
from lucent_platform.envelope import decode
from lucent_platform.eventstore import SQLiteEventStore
from lucent_platform.topics import Kind, normalized
from tests.domain_flow import Listener, domain_in_thread, price_update, produce, provision_topics
from tests.fixtures.nats import RestartableNats

CONFIG = DomainConfig(
    portfolio="rebal", owner="u-1", capital_usd=10_000.0, drift_threshold=0.05,
    target_weights={"BTC": 0.5, "ETH": 0.3, "USDT": 0.2}, rebalance_check_s=0.2,
)  # fmt: skip
PRICES = normalized(Kind.PRICES)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_drift_at_live_prices_triggers_one_rebalance(
    settings: Settings, own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    provision_topics(settings, own_broker)
    t = now_ms()
    opening = [
        price_update("binance", "BTC-USDT", 100_000.0, t),
        price_update("kraken", "BTC-USDT", 100_010.0, t),
        price_update("binance", "ETH-USDT", 3_000.0, t),
    ]
    produce(settings, own_broker, PRICES, opening)
    subjects = ["trading.rebalance.triggered", "agents.signals.>", "notify.user.u-1"]
    with (
        Listener(settings, own_nats.url, subjects) as listener,
        domain_in_thread(
            settings, own_nats.url, tmp_path / "events.sqlite3", CONFIG, bootstrap=own_broker
        ),
    ):
        listener.wait_for(lambda seen: len(seen.on("agents.signals.PortfolioOpened")) == 1)
        (opened,) = listener.on("agents.signals.PortfolioOpened")
        assert opened["data"]["prices"] == {"BTC": 100_005.0, "ETH": 3_000.0, "USDT": 1.0}
        time.sleep(0.5)  # a few checks at unchanged prices: no rebalance
        assert listener.on("trading.rebalance.triggered") == []
        # BTC +30 % on both venues: BTC weighs 0.565, 6.5 points over its target
        moved = [price_update(x, "BTC-USDT", 130_006.5, now_ms()) for x in ("binance", "kraken")]
        produce(settings, own_broker, PRICES, moved)
        listener.wait_for(lambda seen: len(seen.on("trading.rebalance.triggered")) == 1)
        time.sleep(0.5)  # the holdings after it are on target again: no second one
    (rebalanced,) = listener.on("trading.rebalance.triggered")
    data = rebalanced["data"]
    assert abs(data["drift"] - (0.5 * 1.3 / (0.5 * 1.3 + 0.5) - 0.5)) < 1e-9
    assert data["trades"]["BTC"] < 0 < data["trades"]["ETH"]
    assert rebalanced["metadata"]["causationKind"] == "market"
    newest = {decode(v).header.message_id for v in moved}
    assert rebalanced["metadata"]["causationId"] in newest
    assert rebalanced["metadata"]["source"]["topic"] == PRICES
    assert [b["type"] for b in listener.on("notify.user.u-1")] == [
        events.PORTFOLIO_OPENED, events.REBALANCE_TRIGGERED,
    ]  # fmt: skip
    with SQLiteEventStore(tmp_path / "events.sqlite3") as store:
        types = [e.type for e in store.get_stream(events.portfolio_stream("rebal"))]
    assert types == [events.PORTFOLIO_OPENED, events.REBALANCE_TRIGGERED]
