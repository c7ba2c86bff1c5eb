"""``lucent worker feed`` (``LUCENT_FEED=live``) SIGKILLed while it publishes, and restarted, as
the real process on a broker of its own, connected to a local exchange that replays recorded
Binance BTC-USDT trades as a live venue does: on a timeline (one frame every 70 ms), each sent
to whoever is connected when it falls due.

The feed's promise (docs/reliability.md, "Feed down"): it reconnects and resumes writing;
what the venue sends while the feed process is down is not recovered (a venue is no
replayable source). So: the raw topics hold every record whole (each decodes, each trade is
the recorded one), the first life's trades are the recording from its start (the tail still
in the killed producer's queue is lost with the process), the second life's are the
recording from where the venue was when it reconnected, and nothing is written twice except
the Binance REST book snapshot that starts every connection (the same recorded body, so the
same message id; a real venue's would be a newer one).
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lucent_platform.adapters import kafka, kafka_groups
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope, decode
from lucent_platform.messages import Trade
from lucent_platform.topics import orderbook, trades
from tests.domain_flow import wait_until
from tests.exchange_server import ExchangeServer, Script
from tests.market_fixtures import jsonl
from tests.test_live_feed import DEPTH_BODY, binance_ack
from tests.worker_process import start_worker, stop_workers, worker_env

RECORDED = [m for m in jsonl("binance/ws_aggTrade.jsonl") if m["data"]["s"] == "BTCUSDT"]
INTERVAL = 0.07  # s between frames: the 346 recorded trades last 24 s
TRADES, BOOK = trades("binance", "BTC-USDT"), orderbook("binance", "BTC-USDT")
PER_LIFE = 30  # trades each life writes at least


def _read(settings: Settings, broker: str, topic: str) -> list[tuple[int, Envelope[Any]]]:
    """Every record of ``topic`` as (its producer's time, the envelope), in offset order;
    raises on a corrupt one."""
    records = kafka.read_topic(settings, broker, topic, limit=100_000, idle_timeout=1.0)
    return [(r.timestamp_ms, decode(r.value or b"")) for r in records]


def _written(settings: Settings, broker: str) -> int:
    """Trades on the topic, about (a short look: the feed keeps writing)."""
    if (TRADES, 0) not in kafka_groups.partitions(settings, broker):
        return 0
    return kafka_groups.ends(settings, broker, [(TRADES, 0)], timeout=0.3)[(TRADES, 0)][1]


@pytest.mark.slow
def test_a_killed_feed_reconnects_and_resumes_writing(own_broker: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    frames = [json.dumps(m) for m in RECORDED]
    script = Script(frames, interval=INTERVAL, live=True, ack=binance_ack)
    log = tmp_path / "feed.log"
    with ExchangeServer(script, rest={"/depth": DEPTH_BODY}) as venue:
        urls = {"binance": {"ws": venue.ws_url, "rest": f"{venue.http_url}/api/v3"}}
        env = worker_env(
            tmp_path, own_broker, LUCENT_FEED="live", LUCENT_EXCHANGES="binance",
            LUCENT_PAIRS="BTC-USDT", LUCENT_EXCHANGE_URLS=json.dumps(urls),
            LUCENT_FEED_STALE_SECONDS="600",  # no ticker nor depth frames: never stale here
        )  # fmt: skip
        first = start_worker("feed", env, log)
        second = None
        try:
            wait_until(lambda: _written(settings, own_broker) >= PER_LIFE, 120,
                       "the first life's trades", every=0.25)  # fmt: skip
            first.send_signal(signal.SIGKILL)
            assert first.wait(30) == -signal.SIGKILL
            killed_at, killed_ms = time.monotonic(), time.time_ns() // 1_000_000
            assert venue.live_since is not None
            due_at_kill = int((killed_at - venue.live_since) / INTERVAL)
            before = _written(settings, own_broker)
            second = start_worker("feed", env, log)
            wait_until(lambda: _written(settings, own_broker) >= before + PER_LIFE, 120,
                       "the second life's trades", every=0.25)  # fmt: skip
            assert second.poll() is None, log.read_text()[-3000:]
        finally:
            stop_workers(first, second)
        assert venue.connections == 2, log.read_text()[-3000:]
    assert second.returncode == 0, log.read_text()[-3000:]

    timed = _read(settings, own_broker, TRADES)
    written = [e for _, e in timed]
    lives = [
        [e for e in written if e.header.received_time_ms < killed_ms],
        [e for e in written if e.header.received_time_ms >= killed_ms],
    ]
    assert written == lives[0] + lives[1]  # the first life's, then the second's
    recorded = [(str(m["data"]["a"]), float(m["data"]["p"]), float(m["data"]["q"]))
                for m in RECORDED]  # fmt: skip
    got = [[(e.data.trade_id, e.data.price, e.data.amount) for e in life] for life in lives]
    assert all(isinstance(e.data, Trade) for e in written)
    resumed = recorded.index(got[1][0])
    lost = resumed - len(got[0])
    ids = Counter(e.header.message_id for e in written)
    recovery = (timed[len(lives[0])][0] - killed_ms) / 1000  # the second life's first trade
    book = [e for _, e in _read(settings, own_broker, BOOK)]
    book_ids = Counter(e.header.message_id for e in book)
    print(
        f"\nfeed SIGKILL + restart: {len(recorded)} trades on the venue's timeline; first life "
        f"wrote {len(got[0])} (killed with {due_at_kill} due), second life {len(got[1])} from "
        f"recorded trade {resumed}: {lost} not written (the killed producer's queue and the "
        f"downtime); {sum(ids.values()) - len(ids)} repeated trade ids; book snapshots "
        f"{len(book)} ({len(book_ids)} distinct ids); first new trade on the topic "
        f"{recovery:.1f} s after the kill"
    )
    assert got[0] == recorded[: len(got[0])]  # the recording from its start, nothing skipped
    assert got[1] == recorded[resumed : resumed + len(got[1])]  # from where the venue was
    assert resumed > due_at_kill  # the venue went on meanwhile: nothing sent again
    assert max(ids.values()) == 1  # no trade written twice
    # one REST snapshot per connection, the same recorded body: the only repeat
    assert [e.header.message_type for e in book] == ["orderbook_snapshot"] * 2
    assert len(book_ids) == 1
