"""One realistic ``data`` value per message kind (the models' docstring examples), for tests."""

from __future__ import annotations

from lucent_platform.envelope import Envelope, new_envelope
from lucent_platform.messages import (
    ArbitrageOpportunity,
    GovernanceEvent,
    Liquidation,
    LiquidationCascade,
    Liquidity,
    MessageData,
    ModelPrediction,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceAlert,
    PriceUpdate,
    Trade,
    YieldOpportunity,
    YieldRate,
)

DESIGN_RECORD_EXAMPLE = b"""{
  "header": {
    "messageId": "uuid",
    "timestamp": "2025-09-02T10:30:00.123Z",
    "source": "binance-websocket",
    "messageType": "price_update",
    "version": "1.0"
  },
  "data": {
    "exchange": "binance",
    "pair": "ETH-USDC",
    "price": 2847.52,
    "volume24h": 1234567.89,
    "change24h": 2.45,
    "bid": 2847.40,
    "ask": 2847.60,
    "spread": 0.20,
    "liquidity": {
      "bidSize": 100.5,
      "askSize": 85.3
    }
  },
  "metadata": {
    "latencyMs": 15,
    "confidenceScore": 0.98,
    "dataQuality": "high"
  }
}"""

SAMPLES: dict[str, MessageData] = {
    "price_update": PriceUpdate(
        exchange="binance",
        pair="ETH-USDC",
        price=2847.52,
        volume24h=1234567.89,
        change24h=2.45,
        bid=2847.40,
        ask=2847.60,
        spread=0.20,
        liquidity=Liquidity(bid_size=100.5, ask_size=85.3),
    ),
    "trade": Trade(
        exchange="binance",
        pair="BTC-USDT",
        price=58001.03,
        amount=0.086205,
        trade_id="665076760",
        side="sell",
    ),
    "orderbook_snapshot": OrderBookSnapshot(
        exchange="binance",
        pair="DOT-USDT",
        bids=[(43.5224, 0.28), (43.522, 4.59)],
        asks=[(43.5225, 625.7), (43.5257, 22.08)],
        sequence=1513939277,
    ),
    "orderbook_delta": OrderBookDelta(
        exchange="binance",
        pair="ETH-USDT",
        bids=[(2033.0, 175.43634)],
        asks=[(2066.07, 0.0), (2066.66, 55.41648)],
        first_sequence=6591598764,
        sequence=6591598769,
    ),
    "yield_rate": YieldRate(
        protocol="aave-v1",
        pool="eth-lending",
        asset="ETH",
        chain="ethereum",
        apy=0.9481,
        supply_apy=0.9481,
        borrow_apy=3.0406,
    ),
    "liquidation": Liquidation(
        protocol="aave-v1",
        chain="ethereum",
        tx_hash="0x97afae49a25201dbb34502d36a7903b51754362ceb231ff775c07db540f4a3d6",
        borrower="0xcf110759776ea0851565b6db1572212e9d2926f6",
        liquidator="0xf45394706522f060ba5d8982ddef41c22967f928",
        collateral_asset="DAI",
        debt_asset="BAT",
        collateral_amount=469.417545725083,
        debt_amount=1418.69632,
        block_number=10673175,
        log_index=132,
    ),
    "governance_event": GovernanceEvent(
        protocol="compound",
        proposal_id="117",
        event_type="queued",
        title="Reduce DAI reserve factor",
        chain="ethereum",
        block_number=16000000,
    ),
    "yield_opportunity": YieldOpportunity(
        protocol="aave-v2",
        pool="usdc-lending",
        asset="USDC",
        chain="ethereum",
        window_start_ms=1756809000000,
        window_end_ms=1756809300000,
        max_apy=8.5,
        avg_apy=7.9,
        samples=12,
        tvl_usd=1250000000.0,
        min_apy=7.1,
        apy_stdev=0.4,
        window_samples=15,
        phase="final",
    ),
    "price_alert": PriceAlert(
        rule_id="r-42",
        user_id="u-7",
        pair="ETH-USDC",
        exchange="binance",
        target_price=2800.0,
        direction="above",
        price=2847.52,
    ),
    "arbitrage_opportunity": ArbitrageOpportunity(
        pair="ETH-USDC",
        buy_exchange="kraken",
        sell_exchange="binance",
        buy_price=2840.1,
        sell_price=2847.4,
        spread_bps=25.7,
        fees_bps=20.0,
        net_profit_bps=5.7,
        window_start_ms=1756809000000,
        window_end_ms=1756809010000,
        size=3.2,
        estimated_profit=5.16,
        buy_size=3.2,
        sell_size=4.5,
        detection_latency_ms=41.7,
    ),
    "liquidation_cascade": LiquidationCascade(
        protocol="aave",
        chain="ethereum",
        collateral_asset="ETH",
        window_start_ms=1756809000000,
        window_end_ms=1756809060000,
        liquidations=4,
        collateral_amount=182.5,
        price_pair="ETH-USDT",
        price_high=3000.0,
        price_low=2790.0,
        drop_pct=7.0,
        value_usd=480100.0,
    ),
    "model_prediction": ModelPrediction(
        model="baseline",
        pair="BTC-USDT",
        time=1795132860000,
        horizon=5,
        version="model-20261128T230102123456Z.joblib",
        interval="1m",
        probability_up=0.534,
        close=60012.35,
        published_at_ms=1795132860412,
    ),
}


def sample_envelope(message_type: str) -> Envelope[MessageData]:
    """The sample of ``message_type`` in an envelope, with every optional header field set."""
    return new_envelope(
        SAMPLES[message_type],
        source="test-source",
        event_time_ms=1756809000123,
        received_time_ms=1756809000138,
        message_id="0f8e4c1a-3b7d-4f43-9a43-2f4d0b6c1e55",
        correlation_id="c0ffee00-0000-4000-8000-000000000001",
        causation_id="c0ffee00-0000-4000-8000-000000000002",
        confidence_score=0.98,
        quality_flags=["wide_spread"],
    )
