"""Data for the analytics query tests: envelopes with known answers, made into rows by
``rows.to_row`` and inserted with ``insert_rows``, and the same data as pandas frames for the
independent computations."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from lucent_platform.analytics.insert import insert_rows
from lucent_platform.analytics.rows import TABLE_FOR_TYPE, to_row
from lucent_platform.envelope import Envelope, new_envelope
from lucent_platform.messages import PriceUpdate, Trade, YieldRate

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

DAY_MS = 86_400_000
SYNTHETIC_START = 1_756_771_200_000 - 3 * 3_600_000  # 2025-09-01 21:00 UTC: spans midnight


def store(client: Client, envelopes: Iterable[Envelope[Any]], token: str | None = None) -> None:
    """Insert the envelopes' rows, one block per table."""
    by_table: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for envelope in envelopes:
        row = to_row(envelope)
        if row is not None:
            by_table[TABLE_FOR_TYPE[envelope.header.message_type]].append(row)
    for table, rows in by_table.items():
        insert_rows(client, client.database, table, rows, token=token)


def synthetic_trades(seed: int = 5, count: int = 3000, hours: int = 30) -> list[Envelope[Any]]:
    """Random trades over ``hours`` from ``SYNTHETIC_START`` on two venues and two pairs, with
    distinct times per venue and pair (so first and last are never a tie)."""
    rng = random.Random(seed)
    trades = []
    for exchange in ("binance", "kraken"):
        for pair, base in (("ETH-USDC", 3000.0), ("BTC-USDT", 60000.0)):
            times = sorted(rng.sample(range(hours * 3_600_000), count))
            for n, offset in enumerate(times):
                data = Trade(exchange, pair, round(base * rng.uniform(0.95, 1.05), 2),
                             round(rng.uniform(0.001, 3.0), 6), str(1000 + n))  # fmt: skip
                at = SYNTHETIC_START + offset
                trades.append(new_envelope(data, source=f"{exchange}-test", event_time_ms=at,
                                           received_time_ms=at + 5))  # fmt: skip
    return trades


def trades_frame(envelopes: Iterable[Envelope[Any]]) -> pd.DataFrame:
    """Trades as a frame: exchange, pair, time (UTC), price, amount, tid (numeric trade id)."""
    records = [
        (e.data.exchange, e.data.pair, e.header.event_time_ms, e.data.price, e.data.amount,
         int(e.data.trade_id) if (e.data.trade_id or "").isdigit() else 0, e.header.message_id)
        for e in envelopes
    ]  # fmt: skip
    df = pd.DataFrame(records, columns=["exchange", "pair", "ms", "price", "amount", "tid", "id"])
    df["time"] = pd.to_datetime(df["ms"], unit="ms", utc=True)
    return df.sort_values(["exchange", "pair", "time", "tid"], kind="stable")


def quotes(seed: int = 11, minutes: int = 12) -> list[Envelope[Any]]:
    """Bid/ask price updates of BTC-USDT on three venues, a few per minute at random times (one
    venue missing from some minutes), plus one ETH-USDC update that must not show up."""
    rng = random.Random(seed)
    out = []
    for exchange in ("binance", "coinbase", "kraken"):
        times = sorted(rng.sample(range(minutes * 60_000), minutes * 3))
        for at in times:
            if exchange == "kraken" and (at // 60_000) % 4 == 0:
                continue
            mid = 60000 + rng.uniform(-50, 50)
            half = rng.uniform(0.5, 20)
            data = PriceUpdate(exchange, "BTC-USDT", round(mid, 2), bid=round(mid - half, 2),
                               ask=round(mid + half, 2))  # fmt: skip
            t = SYNTHETIC_START + at
            out.append(new_envelope(data, source=exchange, event_time_ms=t,
                                    received_time_ms=t + 3))  # fmt: skip
    other = PriceUpdate("binance", "ETH-USDC", 3000.0, bid=2999.0, ask=3001.0)
    out.append(new_envelope(other, source="binance", event_time_ms=SYNTHETIC_START,
                            received_time_ms=SYNTHETIC_START))  # fmt: skip
    return out


def yield_rates(now_ms: int) -> list[Envelope[Any]]:
    """Pools with a history of rates: the latest decides (some fell below the thresholds,
    one has no TVL, one rose above them); the same pool id on two chains is two pools."""
    history = [
        # protocol, pool, chain, apy, tvl, minutes ago
        ("aave-v3", "usdc-lending", "ethereum", 9.0, 5e6, 30),
        ("aave-v3", "usdc-lending", "ethereum", 6.5, 6e6, 10),  # latest: in
        ("aave-v3", "usdc-lending", "arbitrum", 7.0, 2e6, 5),  # other chain: in
        ("aave-v3", "eth-lending", "ethereum", 12.0, 9e6, 40),
        ("aave-v3", "eth-lending", "ethereum", 4.0, 9e6, 2),  # latest below 5 %: out
        ("compound", "usdt-lending", "ethereum", 8.0, 9e5, 3),  # TVL under 1M: out
        ("compound", "dai-lending", "ethereum", 15.0, None, 3),  # no TVL: out
        ("compound", "wbtc-lending", "ethereum", 3.0, 4e8, 20),
        ("compound", "wbtc-lending", "ethereum", 5.5, 4e8, 1),  # rose above: in
        ("curve", "3pool", "ethereum", 5.0, 2e9, 1),  # exactly 5 %: out (APY > 5)
    ]
    out = []
    for protocol, pool, chain, apy, tvl, ago in history:
        data = YieldRate(protocol, pool, pool.split("-")[0].upper(), chain, apy, tvl_usd=tvl)
        at = now_ms - ago * 60_000
        out.append(new_envelope(data, source=f"{protocol}-test", event_time_ms=at,
                                received_time_ms=at + 100))  # fmt: skip
    return out
